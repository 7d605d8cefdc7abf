//! Percent-encoding: which characters each URI component allows, decoding `%XX`, and encoding
//! the `name` sent in `CONNECT_OPEN`.

use std::fmt::Write as _;

use super::UriError;

/// RFC 3986 characters of one component: unreserved, sub-delims, `extra`, `%XX`; any non-ASCII.
pub(super) fn check_chars(s: &str, component: &'static str, extra: &[u8]) -> Result<(), UriError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)) {
                return Err(UriError::BadPercentEncoding(component));
            }
            i += 3;
            continue;
        }
        if c.is_ascii() && !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) || extra.contains(&c)) {
            return Err(UriError::InvalidCharacter { ch: char::from(c), component });
        }
        i += 1;
    }
    Ok(())
}

pub(super) fn decode(s: &str, component: &'static str) -> Result<String, UriError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let hex = |c: Option<&u8>| c.and_then(|c| char::from(*c).to_digit(16)).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (Some(hi), Some(lo)) = (hex(b.get(i + 1)), hex(b.get(i + 2))) else {
                return Err(UriError::BadPercentEncoding(component));
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UriError::InvalidUtf8(component))
}

/// libxml2's "unreserved": alphanumerics and `-_.!~*'()`.
pub(super) fn is_mark_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c)
}

pub(super) fn encode_into(out: &mut String, s: &str, keep: impl Fn(u8) -> bool) {
    for c in s.bytes() {
        if keep(c) {
            out.push(char::from(c));
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
}
