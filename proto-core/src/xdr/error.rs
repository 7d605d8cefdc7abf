//! What can go wrong: a value that cannot be decoded ([`DecodeError`]) or encoded
//! ([`EncodeError`]).

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
