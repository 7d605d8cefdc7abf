//! The leniency rules: the non-canonical encodings the decoder accepts as libtirpc does, and
//! the [`Deviation`] a noting reader records for each.

/// A non-canonical encoding that the decoder accepted as libtirpc does (see the `xdr` module docs).
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

#[cfg(test)]
mod tests {
    use crate::xdr::*;
    use bytes::Bytes;

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
}
