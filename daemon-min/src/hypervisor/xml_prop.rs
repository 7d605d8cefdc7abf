//! How libvirt reads numbers and attributes, for the parsers that check documents as libvirt
//! does: the `virStrToLong_*` family (`src/util/virstring.c`: `strtol`/`strtoul` with
//! nothing after the number) and the `virXMLProp*` helpers (`src/util/virxml.c`), with
//! their errors (`VIR_FROM_XML`).

use super::error::{xml_util_error, Error, Result};
use super::xml::Element;

/// The blanks `strtol` skips before a number.
const BLANKS: [char; 6] = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];

/// `virStrToLong_uip` in `base` (0: `0x` hex, `0` octal, else decimal; 16 takes an optional
/// `0x`): blanks, an optional `+`, digits, nothing after; no minus sign; fits 32 bits.
pub(super) fn strtoul(s: &str, base: u32) -> Option<u32> {
    let t = s.trim_start_matches(BLANKS);
    let t = t.strip_prefix('+').unwrap_or(t);
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"));
    let (digits, radix) = match (base, hex) {
        (0 | 16, Some(h)) => (h, 16),
        (0, None) if t.len() > 1 && t.starts_with('0') => (&t[1..], 8),
        (0, None) => (t, 10),
        (b, _) => (t, b),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// `virStrToLong_uip` in base 10.
pub(super) fn uip(s: &str) -> Option<u32> {
    strtoul(s, 10)
}

/// `virStrToLong_ullp` in base 10: as [`uip`], 64 bits.
pub(super) fn ullp(s: &str) -> Option<u64> {
    let t = s.trim_start_matches(BLANKS);
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `virStrToLong_i` in base 10: blanks, a sign, digits, nothing after; fits `int`.
pub(super) fn int(s: &str) -> Option<i32> {
    let t = s.trim_start_matches(BLANKS);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = i64::try_from(digits.parse::<u64>().ok()?).ok()?;
    i32::try_from(if negative { -v } else { v }).ok()
}

/// A required attribute that is missing.
pub(super) fn missing(node: &Element, attr: &str) -> Error {
    xml_util_error(&format!("Missing required attribute '{attr}' in element '{}'", node.name))
}

/// An attribute whose value `virXMLProp*` refuses; `expected` follows the value (" Expected
/// integer value", or nothing).
pub(super) fn invalid(node: &Element, attr: &str, value: &str, expected: &str) -> Error {
    xml_util_error(&format!("Invalid value for attribute '{attr}' in element '{}': '{value}'.{expected}", node.name))
}

/// `virXMLPropUInt` (base 10, `VIR_XML_PROP_NONZERO` when `nonzero`): the value, if present.
pub(super) fn prop_uint(node: &Element, attr: &str, required: bool, nonzero: bool) -> Result<Option<u32>> {
    let Some(v) = node.attr(attr) else {
        return if required { Err(missing(node, attr)) } else { Ok(None) };
    };
    match uip(v) {
        None => Err(invalid(node, attr, v, " Expected non-negative integer value")),
        Some(0) if nonzero => Err(xml_util_error(&format!(
            "Invalid value for attribute '{attr}' in element '{}': Zero is not permitted",
            node.name
        ))),
        Some(n) => Ok(Some(n)),
    }
}

/// `virXMLPropInt` (base 10, non-negative): the value, if present.
pub(super) fn prop_int(node: &Element, attr: &str) -> Result<Option<i32>> {
    let Some(v) = node.attr(attr) else { return Ok(None) };
    match int(v) {
        None => Err(invalid(node, attr, v, " Expected integer value")),
        Some(n) if n < 0 => Err(invalid(node, attr, v, " Expected non-negative value")),
        Some(n) => Ok(Some(n)),
    }
}

/// `virXMLPropEnum` and the tristate helpers: the index of the value among `values`, if present.
pub(super) fn prop_enum(node: &Element, attr: &str, values: &[&str], required: bool) -> Result<Option<usize>> {
    let Some(v) = node.attr(attr) else {
        return if required { Err(missing(node, attr)) } else { Ok(None) };
    };
    values.iter().position(|x| *x == v).map(Some).ok_or_else(|| invalid(node, attr, v, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_c_reads_them() {
        assert_eq!(uip(" 7"), Some(7));
        assert_eq!(uip("-0"), None);
        assert_eq!(uip("4294967296"), None);
        assert_eq!(int("-3"), Some(-3));
        assert_eq!(int("7x"), None);
    }
}
