//! Strings as they come off the wire.

use bytes::{Bytes, BytesMut};

use super::{put_string, DecodeError, EncodeError, XdrDecode, XdrEncode, XdrReader, STRING_MAX};

/// An XDR `string<max>` as it came off the wire: raw bytes (libvirt sends UTF-8 without a NUL,
/// but nothing on the wire guarantees it), sharing the frame's memory.
///
/// The encoders of this type's users check the declared bound; [`XdrEncode`] and [`XdrDecode`]
/// on `XdrString` itself use [`STRING_MAX`], the bound of `remote_nonnull_string`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XdrString(pub Bytes);

impl XdrString {
    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The string, when it is valid UTF-8.
    ///
    /// # Errors
    /// When it is not.
    pub fn as_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.0)
    }

    /// The string with invalid UTF-8 replaced.
    #[must_use]
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A string from a static literal, without copying.
    #[must_use]
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }
}

impl std::fmt::Debug for XdrString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl std::fmt::Display for XdrString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl From<&str> for XdrString {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for XdrString {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<Bytes> for XdrString {
    fn from(b: Bytes) -> Self {
        Self(b)
    }
}

impl PartialEq<str> for XdrString {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for XdrString {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl XdrEncode for XdrString {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_string(out, &self.0, STRING_MAX)
    }
}

impl XdrDecode for XdrString {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        r.string(STRING_MAX)
    }
}
