//! Scaled integers (`<memory unit='MiB'>`, `<capacity unit='G'>`), as `virScaleInteger` reads them.

use super::error::{invalid_arg_none, Error};

/// Multiplies `value` by the unit `suffix` (`b`, `KiB`, `KB`, `k`, `MiB`, `MB`, ... `EiB`, `EB`);
/// `default_scale` applies when there is no suffix.
pub(crate) fn scale(value: u64, suffix: Option<&str>, default_scale: u64) -> Result<u64, Error> {
    let factor = match suffix {
        None | Some("") => default_scale,
        Some(s) => factor_of(s).ok_or_else(|| invalid_arg_none(format!("unknown suffix '{s}'")))?,
    };
    value
        .checked_mul(factor)
        .ok_or_else(|| invalid_arg_none(format!("value too large: {value}{}", suffix.unwrap_or(""))))
}

fn factor_of(s: &str) -> Option<u64> {
    let mut chars = s.chars();
    let first = chars.next()?.to_ascii_lowercase();
    let rest = chars.as_str();
    if first == 'b' {
        return matches!(rest, "" | "yte" | "ytes").then_some(1);
    }
    let power = match first {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    let base: u64 = if rest.is_empty() || rest.eq_ignore_ascii_case("ib") {
        1024
    } else if rest.eq_ignore_ascii_case("b") {
        1000
    } else {
        return None;
    };
    Some(base.pow(power))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(scale(5, Some("KB"), 1).unwrap(), 5000);
        assert_eq!(scale(10, Some("MiB"), 1).unwrap(), 10 << 20);
        assert_eq!(scale(1, Some("G"), 1).unwrap(), 1 << 30);
        assert_eq!(scale(7, None, 1024).unwrap(), 7168);
        assert_eq!(scale(7, Some("bytes"), 1024).unwrap(), 7);
        let e = scale(5, Some("Q"), 1).unwrap_err();
        assert_eq!(e.triple(), (8, 0, "invalid argument: unknown suffix 'Q'"));
    }
}
