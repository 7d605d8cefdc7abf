//! The XDR forms of Rust's primitive types, `()`, `Option`, `Box` and byte arrays.

use bytes::{BufMut, BytesMut};

use super::{put_opaque_fixed, put_optional, DecodeError, EncodeError, XdrDecode, XdrEncode, XdrReader};

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
    use crate::xdr::*;
    use bytes::Bytes;
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
    }
}
