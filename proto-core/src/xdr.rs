//! The XDR codec (RFC 4506, as libvirt's rpcgen output speaks it).
//!
//! Encoding appends to a [`BytesMut`]; decoding reads from an [`XdrReader`], a cursor over a
//! [`Bytes`] frame, so that variable opaque data and strings come out as zero-copy slices of the
//! frame ([`Bytes`] and [`XdrString`]).
//!
//! Every decoder is bounded: a declared count is checked against its declared maximum and against
//! the bytes actually left in the frame *before* anything is allocated, so a peer can never make
//! us allocate more than the frame it already sent.
//!
//! Wire facts worth knowing (`../shared/protocol-facts.md` §3):
//! - `char`, `unsigned char`, `short` and `unsigned short` each take 4 bytes, like `int`;
//! - `bool` is 4 bytes holding 0 or 1;
//! - optional data (`T *`) is a 4-byte flag 0/1 followed by `T` when 1;
//! - padding bytes are written as zeros.
//!
//! We always encode canonically, and decode what libvirt decodes. libvirt's XDR is libtirpc's,
//! which is lenient in three ways, and so is this decoder: a `bool` or an optional-data flag is
//! TRUE for any non-zero word (`xdr_bool`), padding bytes are skipped unread (`xdr_opaque`), and
//! enums (newtypes over the wire `int` in the generated code) and `char`/`short` are not range
//! checked (`xdr_enum`; `xdr_char`, `xdr_short` and their unsigned kin cut the word to the
//! type's width). Lengths, string and array bounds, union discriminants and truncation are
//! refused as libtirpc refuses them. A reader made with [`XdrReader::noting`] also records every
//! such non-canonical encoding as a [`Deviation`] (the client audit reports them); a plain reader
//! does not look at padding at all and records nothing.

mod deviation;
mod error;
mod prim;
mod reader;
mod string;
mod write;

use bytes::{Bytes, BytesMut};

pub use deviation::{Deviation, DeviationKind, MAX_NOTED_DEVIATIONS};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use reader::XdrReader;
pub use string::XdrString;
pub use write::{
    put_array, put_array_fixed, put_i32, put_opaque, put_opaque_fixed, put_optional, put_string, put_u32, Raw,
};

/// `VIR_NET_MESSAGE_STRING_MAX` / `REMOTE_STRING_MAX`: the bound of every `remote_nonnull_string`.
pub const STRING_MAX: u32 = 4_194_304;

/// A value that can be written as XDR.
pub trait XdrEncode {
    /// Appends the XDR form of `self` to `out`.
    ///
    /// # Errors
    /// When a variable-length part is longer than its declared maximum.
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError>;
}

/// A value that can be read from XDR.
pub trait XdrDecode: Sized {
    /// Reads one value from the reader.
    ///
    /// # Errors
    /// When the input is truncated or breaks a bound or a value rule of the type.
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError>;
}

/// Encodes a value into a fresh buffer.
///
/// # Errors
/// As [`XdrEncode::encode`].
pub fn to_bytes<T: XdrEncode + ?Sized>(value: &T) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    value.encode(&mut out)?;
    Ok(out.freeze())
}

/// Decodes a whole buffer as one `T`. Trailing bytes are accepted, as libvirt accepts them
/// (`protocol-facts.md` §1); use [`from_bytes_exact`] to refuse them.
///
/// # Errors
/// As [`XdrDecode::decode`].
pub fn from_bytes<T: XdrDecode>(buf: Bytes) -> Result<T, DecodeError> {
    let mut r = XdrReader::new(buf);
    T::decode(&mut r)
}

/// Decodes a whole buffer as one `T` and refuses trailing bytes.
///
/// # Errors
/// As [`XdrDecode::decode`], and [`DecodeErrorKind::TrailingBytes`].
pub fn from_bytes_exact<T: XdrDecode>(buf: Bytes) -> Result<T, DecodeError> {
    let mut r = XdrReader::new(buf);
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// Number of zero bytes that pad `len` to a multiple of 4.
#[inline]
#[must_use]
pub const fn pad_len(len: usize) -> usize {
    (4 - (len & 3)) & 3
}
