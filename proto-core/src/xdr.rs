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

use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{be_f64, be_i32, be_i64, be_u32, be_u64};
use nom::IResult;

/// `VIR_NET_MESSAGE_STRING_MAX` / `REMOTE_STRING_MAX`: the bound of every `remote_nonnull_string`.
pub const STRING_MAX: u32 = 4_194_304;

/// Why a value could not be decoded. Carried inside [`DecodeError`] with the byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the value did.
    #[error("truncated: {needed} more bytes needed, {left} left")]
    Truncated {
        /// Bytes the value needs from this offset.
        needed: u64,
        /// Bytes that were left.
        left: usize,
    },
    /// A variable-length item declared more elements than its maximum.
    #[error("length {len} exceeds the maximum {max}")]
    LengthOverMax {
        /// The declared length.
        len: u32,
        /// The declared maximum.
        max: u32,
    },
    /// A union's discriminant selects no arm and the union has no default arm.
    #[error("invalid union discriminant {0}")]
    InvalidDiscriminant(i64),
    /// The frame's length word is outside libvirt's limits.
    #[error("frame length {len} outside {min}..={max}")]
    FrameLength {
        /// The length word (it counts itself).
        len: u32,
        /// Smallest acceptable length word.
        min: u32,
        /// Largest acceptable length word.
        max: u32,
    },
    /// The header names a message type outside `virNetMessageType`.
    #[error("unknown message type {0}")]
    UnknownMessageType(i32),
    /// The header names a status outside `virNetMessageStatus`.
    #[error("unknown message status {0}")]
    UnknownMessageStatus(i32),
    /// `*_WITH_FDS` declared more descriptors than `VIR_NET_MESSAGE_NUM_FDS_MAX`.
    #[error("{0} file descriptors exceed the maximum 32")]
    TooManyFds(u32),
    /// Decoding left bytes behind where a whole-body decode needs none.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
}

/// A value could not be decoded: what went wrong and at which byte offset of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("XDR decode error at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Offset from the start of the decoded buffer.
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

/// A non-canonical encoding that the decoder accepted as libtirpc does (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deviation {
    /// Offset of the offending word or bytes from the start of the decoded buffer.
    pub offset: usize,
    /// What was not canonical.
    pub kind: DeviationKind,
}

/// What a [`Deviation`] broke. Each names the XDR rule (RFC 4506) and how libtirpc reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviationKind {
    /// A `bool` word other than 0 or 1 (RFC 4506 §4.4), read as TRUE as libtirpc's `xdr_bool`
    /// reads it.
    #[error("bool word {0} is neither 0 nor 1 (RFC 4506 4.4; libtirpc's xdr_bool reads it as TRUE)")]
    Bool(u32),
    /// An optional-data flag other than 0 or 1 (RFC 4506 §4.19), read as present as
    /// libtirpc's `xdr_pointer` reads it.
    #[error("optional-data flag {0} is neither 0 nor 1 (RFC 4506 4.19; libtirpc's xdr_pointer reads it as present)")]
    OptionalFlag(u32),
    /// Padding bytes that are not zero (RFC 4506 §4.9-4.11), skipped as libtirpc's `xdr_opaque`
    /// skips them.
    #[error("padding bytes {0:02x?} are not zero (RFC 4506 4.10; libtirpc's xdr_opaque skips them unread)")]
    Padding([u8; 3]),
    /// A `char` or `short` word outside its type, cut to the type's width as libtirpc's
    /// `xdr_char` / `xdr_short` cut it.
    #[error("value {value} does not fit {ty} (rpcgen's 4-byte {ty}; libtirpc cuts it to the type's width)")]
    OutOfRange {
        /// The 4-byte value on the wire.
        value: i64,
        /// The XDR type it was declared as.
        ty: &'static str,
    },
}

impl std::fmt::Display for Deviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

/// How many deviations one reader records; later ones are only counted.
pub const MAX_NOTED_DEVIATIONS: usize = 32;

/// A value could not be encoded because it breaks a bound of its XDR declaration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A variable-length item is longer than its declared maximum.
    #[error("length {len} exceeds the maximum {max}")]
    LengthOverMax {
        /// The item's length.
        len: usize,
        /// The declared maximum.
        max: u32,
    },
    /// The encoded message would exceed `VIR_NET_MESSAGE_MAX`.
    #[error("message of {len} bytes exceeds the maximum {max}")]
    MessageTooLarge {
        /// The encoded length (header and payload).
        len: usize,
        /// The maximum.
        max: usize,
    },
}

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

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes an `unsigned int`.
#[inline]
pub fn put_u32(out: &mut BytesMut, v: u32) {
    out.put_u32(v);
}

/// Writes an `int`.
#[inline]
pub fn put_i32(out: &mut BytesMut, v: i32) {
    out.put_i32(v);
}

/// Writes variable opaque data `opaque<max>`: count, bytes, padding.
///
/// # Errors
/// When `data` is longer than `max`.
pub fn put_opaque(out: &mut BytesMut, data: &[u8], max: u32) -> Result<(), EncodeError> {
    check_len(data.len(), max)?;
    out.reserve(4 + data.len() + 3);
    out.put_u32(data.len() as u32);
    put_opaque_fixed(out, data);
    Ok(())
}

/// Writes fixed opaque data `opaque[n]`: the bytes and their padding, no count.
pub fn put_opaque_fixed(out: &mut BytesMut, data: &[u8]) {
    out.put_slice(data);
    out.put_bytes(0, pad_len(data.len()));
}

/// Writes `string<max>` from raw bytes.
///
/// # Errors
/// When `s` is longer than `max`.
#[inline]
pub fn put_string(out: &mut BytesMut, s: &[u8], max: u32) -> Result<(), EncodeError> {
    put_opaque(out, s, max)
}

/// Writes a variable array `T x<max>`: count, then each element.
///
/// # Errors
/// When the slice is longer than `max`, or an element fails.
pub fn put_array<T: XdrEncode>(out: &mut BytesMut, items: &[T], max: u32) -> Result<(), EncodeError> {
    check_len(items.len(), max)?;
    out.put_u32(items.len() as u32);
    for it in items {
        it.encode(out)?;
    }
    Ok(())
}

/// Writes a fixed array `T x[n]`: each element, no count.
///
/// # Errors
/// When an element fails.
pub fn put_array_fixed<T: XdrEncode>(out: &mut BytesMut, items: &[T]) -> Result<(), EncodeError> {
    for it in items {
        it.encode(out)?;
    }
    Ok(())
}

/// Writes optional data `T *`: flag 0, or flag 1 and the value.
///
/// # Errors
/// When the value fails.
pub fn put_optional<T: XdrEncode>(out: &mut BytesMut, v: Option<&T>) -> Result<(), EncodeError> {
    match v {
        None => {
            out.put_u32(0);
            Ok(())
        }
        Some(v) => {
            out.put_u32(1);
            v.encode(out)
        }
    }
}

fn check_len(len: usize, max: u32) -> Result<(), EncodeError> {
    if len > max as usize {
        Err(EncodeError::LengthOverMax { len, max })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// A bounded XDR cursor over one frame.
///
/// Slices it hands out ([`XdrReader::opaque`], [`XdrReader::string`]) share the frame's memory.
#[derive(Debug, Clone)]
pub struct XdrReader {
    buf: Bytes,
    pos: usize,
    base: usize,
    /// Only for a reader made with [`XdrReader::noting`]: a plain reader carries one null
    /// pointer and tests it on the rare non-canonical paths and on padding.
    notes: Option<Box<Notes>>,
}

#[derive(Debug, Clone, Default)]
struct Notes {
    count: usize,
    list: Vec<Deviation>,
}

impl XdrReader {
    /// A reader over the whole of `buf`.
    #[must_use]
    pub fn new(buf: Bytes) -> Self {
        Self::with_base(buf, 0)
    }

    /// A reader whose error offsets start at `base` (the offset of `buf` in a larger frame).
    #[must_use]
    pub fn with_base(buf: Bytes, base: usize) -> Self {
        Self { buf, pos: 0, base, notes: None }
    }

    /// A reader that also records every non-canonical encoding it accepts ([`Self::deviations`]);
    /// offsets start at `base`. It decodes exactly what a plain reader decodes.
    #[must_use]
    pub fn noting(buf: Bytes, base: usize) -> Self {
        Self { notes: Some(Box::default()), ..Self::with_base(buf, base) }
    }

    /// The deviations recorded so far (at most [`MAX_NOTED_DEVIATIONS`]; always empty for a
    /// reader not made with [`Self::noting`]).
    #[must_use]
    pub fn deviations(&self) -> &[Deviation] {
        self.notes.as_ref().map_or(&[], |n| &n.list)
    }

    /// How many deviations were seen, including those past [`MAX_NOTED_DEVIATIONS`].
    #[must_use]
    pub fn deviation_count(&self) -> usize {
        self.notes.as_ref().map_or(0, |n| n.count)
    }

    #[cold]
    #[inline(never)]
    fn note(&mut self, at: usize, kind: DeviationKind) {
        let offset = self.base + at;
        if let Some(n) = self.notes.as_mut() {
            n.count += 1;
            if n.list.len() < MAX_NOTED_DEVIATIONS {
                n.list.push(Deviation { offset, kind });
            }
        }
    }

    /// Skips `n` padding bytes (already known to be there); a noting reader checks them.
    #[inline]
    fn skip_padding(&mut self, n: usize) {
        if self.notes.is_some() && self.buf[self.pos..self.pos + n].iter().any(|&b| b != 0) {
            let mut pad = [0u8; 3];
            pad[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.note(self.pos, DeviationKind::Padding(pad));
        }
        self.pos += n;
    }

    /// Bytes not yet read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Offset of the cursor from the start of the input (plus the base).
    #[must_use]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The unread rest of the input, without consuming it.
    #[must_use]
    pub fn rest(&self) -> Bytes {
        self.buf.slice(self.pos..)
    }

    /// Consumes and returns the unread rest of the input.
    pub fn take_rest(&mut self) -> Bytes {
        let rest = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        rest
    }

    /// Fails unless every byte was read.
    ///
    /// # Errors
    /// [`DecodeErrorKind::TrailingBytes`].
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(DecodeErrorKind::TrailingBytes(n))),
        }
    }

    /// An error of `kind` at the current offset.
    #[must_use]
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset: self.offset(), kind }
    }

    fn truncated(&self, needed: u64) -> DecodeError {
        self.error(DecodeErrorKind::Truncated { needed, left: self.remaining() })
    }

    #[inline]
    fn run<T>(&mut self, width: usize, p: impl FnOnce(&[u8]) -> IResult<&[u8], T>) -> Result<T, DecodeError> {
        let input = &self.buf[self.pos..];
        match p(input) {
            Ok((_, v)) => {
                self.pos += width;
                Ok(v)
            }
            Err(_) => Err(self.truncated(width as u64)),
        }
    }

    /// Reads an `unsigned int`.
    ///
    /// # Errors
    /// When fewer than 4 bytes are left.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.run(4, |i| be_u32(i))
    }

    /// Reads an `int` (also an enum's wire value).
    ///
    /// # Errors
    /// When fewer than 4 bytes are left.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.run(4, |i| be_i32(i))
    }

    /// Reads an `unsigned hyper`.
    ///
    /// # Errors
    /// When fewer than 8 bytes are left.
    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        self.run(8, |i| be_u64(i))
    }

    /// Reads a `hyper`.
    ///
    /// # Errors
    /// When fewer than 8 bytes are left.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.run(8, |i| be_i64(i))
    }

    /// Reads a `double`.
    ///
    /// # Errors
    /// When fewer than 8 bytes are left.
    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.run(8, |i| be_f64(i))
    }

    /// Reads a `bool`: 0 is FALSE, any other word TRUE (as libtirpc's `xdr_bool`; a word other
    /// than 1 is a [`DeviationKind::Bool`]).
    ///
    /// # Errors
    /// When truncated.
    #[inline]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => {
                self.note(at, DeviationKind::Bool(v));
                Ok(true)
            }
        }
    }

    /// Reads a 4-byte word declared as a narrower type; a value outside `lo..=hi` is cut to the
    /// type's width by the caller's `as`, as libtirpc does, and noted.
    #[inline]
    fn narrow(&mut self, lo: i64, hi: i64, ty: &'static str, signed: bool) -> Result<i64, DecodeError> {
        let at = self.pos;
        let v = if signed { i64::from(self.i32()?) } else { i64::from(self.u32()?) };
        if v < lo || v > hi {
            self.note(at, DeviationKind::OutOfRange { value: v, ty });
        }
        Ok(v)
    }

    /// Reads a `char` (4 bytes on the wire; a value outside `i8` is cut to its low byte, as
    /// libtirpc's `xdr_char`).
    ///
    /// # Errors
    /// When truncated.
    #[allow(clippy::cast_possible_truncation)]
    pub fn char(&mut self) -> Result<i8, DecodeError> {
        self.narrow(i8::MIN.into(), i8::MAX.into(), "char", true).map(|v| v as i8)
    }

    /// Reads an `unsigned char` (4 bytes on the wire; cut to its low byte, as `xdr_u_char`).
    ///
    /// # Errors
    /// When truncated.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn uchar(&mut self) -> Result<u8, DecodeError> {
        self.narrow(0, u8::MAX.into(), "unsigned char", false).map(|v| v as u8)
    }

    /// Reads a `short` (4 bytes on the wire; cut to its low 16 bits, as `xdr_short`).
    ///
    /// # Errors
    /// When truncated.
    #[allow(clippy::cast_possible_truncation)]
    pub fn short(&mut self) -> Result<i16, DecodeError> {
        self.narrow(i16::MIN.into(), i16::MAX.into(), "short", true).map(|v| v as i16)
    }

    /// Reads an `unsigned short` (4 bytes on the wire; cut to its low 16 bits, as `xdr_u_short`).
    ///
    /// # Errors
    /// When truncated.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn ushort(&mut self) -> Result<u16, DecodeError> {
        self.narrow(0, u16::MAX.into(), "unsigned short", false).map(|v| v as u16)
    }

    /// Reads a length word and checks it against `max` and against what is left, assuming each
    /// element takes at least `min_elem` bytes. Nothing is allocated before this check passes.
    fn count(&mut self, max: u32, min_elem: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.u32()?;
        if n > max {
            self.pos = at;
            return Err(self.error(DecodeErrorKind::LengthOverMax { len: n, max }));
        }
        let need = u64::from(n) * min_elem as u64;
        if need > self.remaining() as u64 {
            return Err(self.truncated(need));
        }
        Ok(n as usize)
    }

    /// Reads fixed opaque data `opaque[N]` and its padding.
    ///
    /// # Errors
    /// When truncated.
    pub fn opaque_fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let padded = N + pad_len(N);
        if self.remaining() < padded {
            return Err(self.truncated(padded as u64));
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        self.skip_padding(padded - N);
        Ok(out)
    }

    /// Reads `n` bytes of fixed opaque data as a slice of the frame (for large `opaque[n]`).
    ///
    /// # Errors
    /// When truncated.
    pub fn opaque_fixed_bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let padded = n as u64 + pad_len(n) as u64;
        if padded > self.remaining() as u64 {
            return Err(self.truncated(padded));
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        self.skip_padding(pad_len(n));
        Ok(out)
    }

    /// Reads variable opaque data `opaque<max>` as a zero-copy slice of the frame.
    ///
    /// # Errors
    /// When the count exceeds `max` or the input is truncated.
    pub fn opaque(&mut self, max: u32) -> Result<Bytes, DecodeError> {
        let n = self.count(max, 1)?;
        self.opaque_fixed_bytes(n)
    }

    /// Reads `string<max>` as a zero-copy slice of the frame.
    ///
    /// # Errors
    /// When the count exceeds `max` or the input is truncated.
    pub fn string(&mut self, max: u32) -> Result<XdrString, DecodeError> {
        self.opaque(max).map(XdrString)
    }

    /// Reads a variable array `T x<max>` with `T`'s own decoder.
    ///
    /// # Errors
    /// When the count exceeds `max`, the input is truncated, or an element fails.
    pub fn array<T: XdrDecode>(&mut self, max: u32) -> Result<Vec<T>, DecodeError> {
        self.array_with(max, T::decode)
    }

    /// Reads a variable array `T x<max>`, each element with `f` (for elements whose decoder
    /// needs a bound, e.g. `string<N> x<M>`). Every XDR element takes at least 4 bytes; the count
    /// is checked against that before the vector is allocated.
    ///
    /// # Errors
    /// When the count exceeds `max`, the input is truncated, or an element fails.
    pub fn array_with<T>(
        &mut self,
        max: u32,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.count(max, 4)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(f(self)?);
        }
        Ok(v)
    }

    /// Reads a fixed array `T x[N]`.
    ///
    /// # Errors
    /// When the input is truncated or an element fails.
    pub fn array_fixed<T: XdrDecode, const N: usize>(&mut self) -> Result<[T; N], DecodeError> {
        self.array_fixed_with(T::decode)
    }

    /// Reads a fixed array `T x[N]`, each element with `f`.
    ///
    /// # Errors
    /// When the input is truncated or an element fails.
    pub fn array_fixed_with<T, const N: usize>(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<[T; N], DecodeError> {
        let need = N as u64 * 4;
        if need > self.remaining() as u64 {
            return Err(self.truncated(need));
        }
        let mut v = Vec::with_capacity(N);
        for _ in 0..N {
            v.push(f(self)?);
        }
        match <[T; N]>::try_from(v) {
            Ok(a) => Ok(a),
            // The loop pushed exactly N elements.
            Err(_) => Err(self.truncated(need)),
        }
    }

    /// Reads the presence flag of optional data `T *`: 0 is absent, any other word present (as
    /// libtirpc's `xdr_pointer`; a word other than 1 is a [`DeviationKind::OptionalFlag`]).
    ///
    /// # Errors
    /// When truncated.
    #[inline]
    pub fn present(&mut self) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => {
                self.note(at, DeviationKind::OptionalFlag(v));
                Ok(true)
            }
        }
    }

    /// Reads optional data `T *`.
    ///
    /// # Errors
    /// When truncated or the value fails.
    pub fn optional<T: XdrDecode>(&mut self) -> Result<Option<T>, DecodeError> {
        self.optional_with(T::decode)
    }

    /// Reads optional data `T *`, the value with `f`.
    ///
    /// # Errors
    /// When truncated or the value fails.
    pub fn optional_with<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        if self.present()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Already encoded XDR, written as is (e.g. a body encoded elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw(pub Bytes);

impl XdrEncode for Raw {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Strings

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

// ---------------------------------------------------------------------------------------------
// Primitive impls

macro_rules! prim {
    ($t:ty, $put:ident, $get:ident) => {
        impl XdrEncode for $t {
            #[inline]
            fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
                out.$put(*self);
                Ok(())
            }
        }
        impl XdrDecode for $t {
            #[inline]
            fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
                r.$get()
            }
        }
    };
}

prim!(u32, put_u32, u32);
prim!(i32, put_i32, i32);
prim!(u64, put_u64, u64);
prim!(i64, put_i64, i64);
prim!(f64, put_f64, f64);

macro_rules! small {
    ($t:ty, $get:ident, $wide:ty, $put:ident) => {
        impl XdrEncode for $t {
            #[inline]
            fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
                out.$put(<$wide>::from(*self));
                Ok(())
            }
        }
        impl XdrDecode for $t {
            #[inline]
            fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
                r.$get()
            }
        }
    };
}

small!(i8, char, i32, put_i32);
small!(u8, uchar, u32, put_u32);
small!(i16, short, i32, put_i32);
small!(u16, ushort, u32, put_u32);

impl XdrEncode for bool {
    #[inline]
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u32(u32::from(*self));
        Ok(())
    }
}

impl XdrDecode for bool {
    #[inline]
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        r.bool()
    }
}

/// `void`: nothing on the wire.
impl XdrEncode for () {
    #[inline]
    fn encode(&self, _out: &mut BytesMut) -> Result<(), EncodeError> {
        Ok(())
    }
}

/// `void`: nothing on the wire.
impl XdrDecode for () {
    #[inline]
    fn decode(_r: &mut XdrReader) -> Result<Self, DecodeError> {
        Ok(())
    }
}

/// Optional data `T *`.
impl<T: XdrEncode> XdrEncode for Option<T> {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_optional(out, self.as_ref())
    }
}

/// Optional data `T *`.
impl<T: XdrDecode> XdrDecode for Option<T> {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        r.optional()
    }
}

/// Optional data behind a box (recursive types).
impl<T: XdrEncode> XdrEncode for Box<T> {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        (**self).encode(out)
    }
}

/// Optional data behind a box (recursive types).
impl<T: XdrDecode> XdrDecode for Box<T> {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        T::decode(r).map(Self::new)
    }
}

/// Fixed opaque `opaque[N]` (e.g. `remote_uuid`, N = 16).
impl<const N: usize> XdrEncode for [u8; N] {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_opaque_fixed(out, self);
        Ok(())
    }
}

/// Fixed opaque `opaque[N]`.
impl<const N: usize> XdrDecode for [u8; N] {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        r.opaque_fixed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt<T: XdrEncode + XdrDecode + PartialEq + std::fmt::Debug>(v: &T) -> Bytes {
        let b = to_bytes(v).unwrap();
        assert_eq!(b.len() % 4, 0, "XDR output is 4-aligned");
        let back: T = from_bytes_exact(b.clone()).unwrap();
        assert_eq!(&back, v);
        b
    }

    proptest! {
        #[test]
        fn prim_roundtrips(a: u32, b: i32, c: u64, d: i64, e: bool, f: i8, g: u8, h: i16, i: u16) {
            rt(&a); rt(&b); rt(&c); rt(&d); rt(&e); rt(&f); rt(&g); rt(&h); rt(&i);
            prop_assert_eq!(rt(&f).len(), 4);
            prop_assert_eq!(rt(&i).len(), 4);
        }

        #[test]
        fn double_roundtrips(x: f64) {
            let b = to_bytes(&x).unwrap();
            let y: f64 = from_bytes_exact(b).unwrap();
            prop_assert_eq!(x.to_bits(), y.to_bits());
        }

        #[test]
        fn opaque_and_string_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..64), max in 0u32..80) {
            let mut out = BytesMut::new();
            let r = put_opaque(&mut out, &data, max);
            if data.len() > max as usize {
                prop_assert!(r.is_err());
            } else {
                r.unwrap();
                prop_assert_eq!(out.len(), 4 + data.len() + pad_len(data.len()));
                let mut rd = XdrReader::new(out.freeze());
                prop_assert_eq!(&rd.opaque(max).unwrap()[..], &data[..]);
                rd.finish().unwrap();
            }
        }

        #[test]
        fn arrays_optionals_fixed(v in proptest::collection::vec(any::<i64>(), 0..20),
                                  o in proptest::option::of(any::<u32>()),
                                  u in any::<[u8; 16]>()) {
            let mut out = BytesMut::new();
            put_array(&mut out, &v, 20).unwrap();
            o.encode(&mut out).unwrap();
            u.encode(&mut out).unwrap();
            let mut r = XdrReader::new(out.freeze());
            prop_assert_eq!(r.array::<i64>(20).unwrap(), v);
            prop_assert_eq!(r.optional::<u32>().unwrap(), o);
            prop_assert_eq!(r.opaque_fixed::<16>().unwrap(), u);
            r.finish().unwrap();
        }

        #[test]
        fn truncation_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let b = Bytes::from(data);
            let mut r = XdrReader::new(b.clone());
            let _ = r.string(16);
            let mut r = XdrReader::new(b.clone());
            let _ = r.array::<XdrString>(1000);
            let mut r = XdrReader::new(b);
            let _ = r.optional::<[u8; 16]>();
        }
    }

    #[test]
    fn char_is_four_bytes_and_cut_like_libtirpc() {
        assert_eq!(&to_bytes(&(-1i8)).unwrap()[..], &[0xff, 0xff, 0xff, 0xff]);
        // libtirpc's xdr_char keeps the low byte of the word; a noting reader records it
        let mut r = XdrReader::noting(Bytes::from_static(&[0, 0, 1, 0x41]), 28);
        assert_eq!(r.char().unwrap(), 0x41);
        assert_eq!(
            r.deviations(),
            &[Deviation { offset: 28, kind: DeviationKind::OutOfRange { value: 0x141, ty: "char" } }]
        );
        let mut r = XdrReader::new(Bytes::from_static(&[0, 1, 0, 7]));
        assert_eq!(r.ushort().unwrap(), 7);
        assert!(r.deviations().is_empty(), "a plain reader records nothing");
        let mut r = XdrReader::noting(Bytes::from_static(&[0, 0, 0, 0xff]), 0);
        assert_eq!(r.uchar().unwrap(), 255);
        assert!(r.deviations().is_empty(), "255 fits an unsigned char");
    }

    #[test]
    fn any_nonzero_bool_is_true_like_libtirpc() {
        for (word, canonical) in [(1u32, true), (2, false), (0x8000_0000, false), (u32::MAX, false)] {
            let mut r = XdrReader::noting(Bytes::copy_from_slice(&word.to_be_bytes()), 0);
            assert!(r.bool().unwrap(), "{word} is TRUE");
            assert_eq!(r.deviations().is_empty(), canonical, "{word}");
            assert!(from_bytes::<bool>(Bytes::copy_from_slice(&word.to_be_bytes())).unwrap());
        }
        assert!(!from_bytes::<bool>(Bytes::from_static(&[0, 0, 0, 0])).unwrap());
    }

    #[test]
    fn padding_is_not_checked_but_noted() {
        // "abcde" with padding 1, 2, 3
        let wire = Bytes::from_static(&[0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 1, 2, 3, 0, 0, 0, 9]);
        let mut r = XdrReader::new(wire.clone());
        assert_eq!(r.string(16).unwrap(), "abcde");
        assert_eq!(r.u32().unwrap(), 9);
        let mut r = XdrReader::noting(wire, 0);
        assert_eq!(r.string(16).unwrap(), "abcde");
        assert_eq!(r.deviations(), &[Deviation { offset: 9, kind: DeviationKind::Padding([1, 2, 3]) }]);
        assert_eq!(r.u32().unwrap(), 9);
        // fixed opaque[5] padded with one non-zero byte
        let mut r = XdrReader::noting(Bytes::from_static(&[1, 2, 3, 4, 5, 0, 0, 0xee]), 0);
        assert_eq!(r.opaque_fixed::<5>().unwrap(), [1, 2, 3, 4, 5]);
        assert_eq!(r.deviations(), &[Deviation { offset: 5, kind: DeviationKind::Padding([0, 0, 0xee]) }]);
    }

    #[test]
    fn noted_deviations_are_bounded() {
        let words: Vec<u8> = std::iter::repeat_n([0u8, 0, 0, 2], 1000).flatten().collect();
        let mut r = XdrReader::noting(Bytes::from(words), 0);
        for _ in 0..1000 {
            assert!(r.bool().unwrap());
        }
        assert_eq!(r.deviations().len(), MAX_NOTED_DEVIATIONS);
        assert_eq!(r.deviation_count(), 1000);
    }

    #[test]
    fn string_over_max_and_past_end() {
        // declared 5, max 4
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]));
        assert_eq!(r.string(4).unwrap_err().kind, DecodeErrorKind::LengthOverMax { len: 5, max: 4 });
        // declared 4 GiB - 1 with 0 bytes left: refused before allocation
        let mut r = XdrReader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]));
        assert!(matches!(r.opaque(u32::MAX).unwrap_err().kind, DecodeErrorKind::Truncated { .. }));
        // declared 8 with 4 left
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0, 8, 1, 2, 3, 4]));
        let e = r.string(100).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { needed: 8, left: 4 }));
    }

    #[test]
    fn array_count_over_max_and_huge_count() {
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]));
        assert_eq!(r.array::<u32>(2).unwrap_err().kind, DecodeErrorKind::LengthOverMax { len: 3, max: 2 });
        // a count of 16384 with no elements behind it allocates nothing and fails
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0x40, 0]));
        assert!(matches!(r.array::<u32>(16384).unwrap_err().kind, DecodeErrorKind::Truncated { .. }));
    }

    #[test]
    fn any_nonzero_optional_flag_is_present_like_libtirpc() {
        let mut r =
            XdrReader::noting(Bytes::from_static(&[0, 0, 0, 2, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 8]), 4);
        assert_eq!(r.optional::<u32>().unwrap(), Some(7));
        assert_eq!(r.optional::<u32>().unwrap(), Some(8));
        assert_eq!(
            r.deviations(),
            &[
                Deviation { offset: 4, kind: DeviationKind::OptionalFlag(2) },
                Deviation { offset: 12, kind: DeviationKind::OptionalFlag(u32::MAX) }
            ]
        );
        // truncation after a flag is still refused
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0, 2]));
        assert!(matches!(r.optional::<u32>().unwrap_err().kind, DecodeErrorKind::Truncated { .. }));
    }

    #[test]
    fn strings_are_zero_copy() {
        let frame = Bytes::from_static(&[0, 0, 0, 4, b't', b'e', b's', b't']);
        let mut r = XdrReader::new(frame.clone());
        let s = r.string(STRING_MAX).unwrap();
        assert_eq!(s, "test");
        assert_eq!(s.0.as_ptr(), frame[4..].as_ptr(), "the string is a slice of the frame");
    }
}
