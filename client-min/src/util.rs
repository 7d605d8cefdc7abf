//! Small helpers with libvirt's exact semantics: number parsing (`virStrToLong_*`), UUIDs,
//! capacities (`vshPrettyCapacity`, `virScaleInteger`) and system error texts.

/// `strtoull`'s view of `s`: leading blanks, an optional sign, decimal digits, all of `s`
/// consumed. Returns the sign and the magnitude.
fn strtoul_parts(s: &str) -> Option<(bool, u64)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().map(|v| (neg, v))
}

/// `virStrToLong_i(s, NULL, 10, …)`: the whole string is an `int`.
pub(crate) fn strtol_i32(s: &str) -> Option<i32> {
    let (neg, v) = strtoul_parts(s)?;
    let v = i64::try_from(v).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// `virStrToLong_ullp`: unsigned, negative numbers refused (except `-0`).
pub(crate) fn strtoul_positive(s: &str) -> Option<u64> {
    match strtoul_parts(s)? {
        (true, 0) | (false, _) => strtoul_parts(s).map(|(_, v)| v),
        (true, _) => None,
    }
}

/// `virStrToLong_ull`: unsigned, negative numbers wrap as `strtoull` does.
pub(crate) fn strtoul_wrap(s: &str) -> Option<u64> {
    let (neg, v) = strtoul_parts(s)?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `virStrToLong_ullp` on a leading number followed by a suffix: the number and the rest.
fn leading_number(s: &str) -> Option<(u64, &str)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = body.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(body.len());
    if end == 0 {
        return None;
    }
    let v: u64 = body[..end].parse().ok()?;
    if neg && v != 0 {
        return None;
    }
    Some((v, &body[end..]))
}

/// Why a scaled size was refused: the libvirt error that `virScaleInteger` raises, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScaleError {
    /// Not a number at all (no libvirt error is raised).
    Malformed,
    /// `VIR_ERR_INVALID_ARG`: "unknown suffix '…'".
    UnknownSuffix(String),
    /// `VIR_ERR_OVERFLOW`: "value too large: …".
    TooLarge(String),
}

/// `virshVolSize`: a number with an optional unit suffix (`k`, `KiB`, `KB`, `M`, … `E`,
/// `b`/`byte`/`bytes`), in bytes.
pub(crate) fn scaled_size(s: &str) -> Result<u64, ScaleError> {
    let (value, suffix) = leading_number(s).ok_or(ScaleError::Malformed)?;
    let scale: u64 = if suffix.is_empty() || ["b", "byte", "bytes"].iter().any(|b| suffix.eq_ignore_ascii_case(b)) {
        1
    } else {
        let bytes = suffix.as_bytes();
        let base: u64 = if bytes.len() == 1 || suffix[1..].eq_ignore_ascii_case("iB") {
            1024
        } else if bytes.len() == 2 && bytes[1].eq_ignore_ascii_case(&b'b') {
            1000
        } else {
            return Err(ScaleError::UnknownSuffix(suffix.to_owned()));
        };
        let power = match bytes[0].to_ascii_lowercase() {
            b'k' => 1,
            b'm' => 2,
            b'g' => 3,
            b't' => 4,
            b'p' => 5,
            b'e' => 6,
            _ => return Err(ScaleError::UnknownSuffix(suffix.to_owned())),
        };
        base.pow(power)
    };
    if value != 0 && value > u64::MAX / scale {
        return Err(ScaleError::TooLarge(format!("{value}{suffix}")));
    }
    Ok(value * scale)
}

/// `vshPrettyCapacity`: the value in the largest binary unit under which it stays ≥ 1.
pub(crate) fn pretty_capacity(val: u64) -> (f64, &'static str) {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut limit = 1024.0_f64;
    #[allow(clippy::cast_precision_loss)]
    let v = val as f64;
    if v < limit {
        return (v, UNITS[0]);
    }
    for unit in &UNITS[1..6] {
        limit *= 1024.0;
        if v < limit {
            return (v / (limit / 1024.0), unit);
        }
    }
    limit *= 1024.0;
    (v / (limit / 1024.0), UNITS[6])
}

/// A UUID as libvirt prints it (`virUUIDFormat`).
pub(crate) fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The system error text of `e` as `strerror` gives it (Rust appends " (os error N)").
pub(crate) fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_owned(),
        _ => s,
    }
}

/// `g_ascii_strcasecmp` ordering, as virsh sorts names.
pub(crate) fn ascii_casecmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(strtol_i32(" 12"), Some(12));
        assert_eq!(strtol_i32("-1"), Some(-1));
        assert_eq!(strtol_i32("1x"), None);
        assert_eq!(strtol_i32(""), None);
        assert_eq!(strtol_i32("99999999999"), None);
        assert_eq!(strtoul_positive("-0"), Some(0));
        assert_eq!(strtoul_positive("-1"), None);
        assert_eq!(strtoul_wrap("-1"), Some(u64::MAX));
    }

    #[test]
    fn sizes() {
        assert_eq!(scaled_size("10"), Ok(10));
        assert_eq!(scaled_size("1k"), Ok(1024));
        assert_eq!(scaled_size("1KiB"), Ok(1024));
        assert_eq!(scaled_size("1KB"), Ok(1000));
        assert_eq!(scaled_size("2G"), Ok(2 << 30));
        assert_eq!(scaled_size("5bytes"), Ok(5));
        assert_eq!(scaled_size("1x"), Err(ScaleError::UnknownSuffix("x".into())));
        assert_eq!(scaled_size("x"), Err(ScaleError::Malformed));
        assert_eq!(scaled_size("99999999999E"), Err(ScaleError::TooLarge("99999999999E".into())));
        assert_eq!(pretty_capacity(0), (0.0, "B"));
        assert_eq!(pretty_capacity(100 << 30), (100.0, "GiB"));
        assert_eq!(pretty_capacity(1536), (1.5, "KiB"));
    }

    #[test]
    fn uuids() {
        let u = [0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e, 0x19, 0x3f];
        assert_eq!(format_uuid(&u), "6695eb01-f6a4-8304-79aa-97f2502e193f");
    }
}
