//! The reader: a bounded cursor that decodes XDR items from one frame.

use bytes::Bytes;
use nom::number::complete::{be_f64, be_i32, be_i64, be_u32, be_u64};
use nom::IResult;

use super::{
    pad_len, DecodeError, DecodeErrorKind, Deviation, DeviationKind, XdrDecode, XdrString, MAX_NOTED_DEVIATIONS,
};

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

#[cfg(test)]
mod tests {
    use crate::xdr::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    proptest! {
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
    fn strings_are_zero_copy() {
        let frame = Bytes::from_static(&[0, 0, 0, 4, b't', b'e', b's', b't']);
        let mut r = XdrReader::new(frame.clone());
        let s = r.string(STRING_MAX).unwrap();
        assert_eq!(s, "test");
        assert_eq!(s.0.as_ptr(), frame[4..].as_ptr(), "the string is a slice of the frame");
    }
}
