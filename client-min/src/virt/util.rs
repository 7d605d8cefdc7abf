//! Small conversions between the API's Rust types and the protocol's.

use proto_core::programs::remote::{RemoteNonnullString, RemoteString};

/// A `remote_nonnull_string`.
pub(crate) fn s(x: &str) -> RemoteNonnullString {
    x.into()
}

/// A `remote_string` (NULL for `None`).
pub(crate) fn opt(x: Option<&str>) -> RemoteString {
    x.map(Into::into)
}

/// Names as Rust strings.
pub(crate) fn strings(v: &[RemoteNonnullString]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

/// A count or id the protocol sends signed; negative values (never sent on success) read 0.
pub(crate) fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// A `virUUIDFormat`ted UUID.
pub(crate) fn uuid_string(raw: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*raw).hyphenated().to_string()
}

/// `virUUIDParse`: 32 hex digits, dashes anywhere between bytes, blanks around.
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let mut out = [0u8; 16];
    for slot in &mut out {
        while i < b.len() && b[i] == b'-' {
            i += 1;
        }
        let hi = (*b.get(i)? as char).to_digit(16)?;
        let lo = (*b.get(i + 1)? as char).to_digit(16)?;
        *slot = u8::try_from(hi * 16 + lo).ok()?;
        i += 2;
    }
    while i < b.len() {
        if !b[i].is_ascii_whitespace() {
            return None;
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_parse_as_vir_uuid_parse_does() {
        let u = parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193f").unwrap();
        assert_eq!(uuid_string(&u), "6695eb01-f6a4-8304-79aa-97f2502e193f");
        assert_eq!(parse_uuid("6695eb01f6a4830479aa97f2502e193f"), Some(u));
        assert_eq!(parse_uuid(" 6695-eb01f6a4830479aa97f2502e193f "), Some(u));
        assert_eq!(parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193"), None);
        assert_eq!(parse_uuid("zz95eb01-f6a4-8304-79aa-97f2502e193f"), None);
    }
}
