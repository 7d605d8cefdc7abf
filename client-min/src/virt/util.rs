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
