//! The writer: appending XDR items to a [`BytesMut`].

use bytes::{BufMut, Bytes, BytesMut};

use super::{pad_len, EncodeError, XdrEncode};

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

/// Already encoded XDR, written as is (e.g. a body encoded elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw(pub Bytes);

impl XdrEncode for Raw {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::xdr::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    proptest! {
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
    }
}
