//! The sans-IO core of libvirt's remote (RPC) protocol.
//!
//! It parses and emits libvirt RPC frames and runs the client and server connection state
//! machines with no I/O at all: bytes come in through `handle_input`, time through `Instant`
//! arguments, and bytes and events go out through `poll_transmit` and `poll_event`. Sockets,
//! threads and clocks belong to the adapter crates.
//!
//! - [`xdr`]: the XDR codec (bounded, zero-copy decoding over [`bytes::Bytes`]).
//! - [`frame`]: the length word, `virNetMessageHeader`, limits and the incremental deframer.
//! - [`error`]: `remote_error` (`virNetMessageError`) and libvirt's error enums.
//! - [`program`]: program numbers and the [`program::Procedure`] trait.
//! - [`client`] / [`server`]: `ClientConnection` and `ServerConnection`.
//! - [`uri`]: libvirt connection URIs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod client;
pub mod connect;
pub mod error;
pub mod events;
pub mod frame;
pub mod handler;
mod keepalive;
pub mod program;
pub mod programs;
pub mod server;
mod transmit;
pub mod uri;
pub mod xdr;

pub use client::{ClientConfig, ClientConnection, ClientEvent};
pub use error::{ErrorCode, ErrorDomain, ErrorLevel, RemoteError};
pub use frame::{Frame, FrameDecoder, Header, MessageStatus, MessageType, StreamHole};
pub use keepalive::KeepaliveConfig;
pub use program::{Priority, Procedure, StreamDirection};
pub use server::{CallId, ServerConfig, ServerConnection, ServerEvent};

pub use xdr::{
    DecodeError, DecodeErrorKind, Deviation, DeviationKind, EncodeError, XdrDecode, XdrEncode, XdrReader, XdrString,
};

/// Why a connection closed. Surfaces once, in the final `Closed` event, and is then sticky:
/// every pending call fails with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer closed its end (EOF), cleanly between messages.
    #[error("connection closed by peer")]
    PeerClosed,
    /// The peer closed its end in the middle of a message.
    #[error("connection closed by peer in the middle of a message ({buffered} bytes buffered)")]
    TruncatedByPeer {
        /// Bytes of the partial message.
        buffered: usize,
    },
    /// The peer broke the protocol; the connection cannot continue.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// Keepalive declared the peer dead.
    #[error("keepalive timeout")]
    KeepaliveTimeout,
    /// This side closed the connection.
    #[error("connection closed locally")]
    LocallyClosed,
    /// The peer stopped reading: more output than the adapter allows waited to be sent, so the
    /// connection was dropped without flushing it (see `ServerConnection::close_not_reading`).
    #[error("the peer is not reading: {buffered} bytes were waiting to be sent")]
    PeerNotReading {
        /// Bytes waiting to be sent when the connection was dropped.
        buffered: usize,
    },
}

/// Why a connection ended at the transport's end of file: cleanly between messages, or in the
/// middle of one.
fn eof_reason(decoder: &FrameDecoder) -> ConnectionError {
    if decoder.has_partial() {
        ConnectionError::TruncatedByPeer { buffered: decoder.buffered() }
    } else {
        ConnectionError::PeerClosed
    }
}

/// A protocol violation by the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame, header or body did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A reply arrived for a serial this side never used.
    #[error("no call waiting for reply with serial {serial}")]
    UnexpectedReply {
        /// The reply's serial.
        serial: u32,
    },
    /// A message type the receiving side never accepts (e.g. a CALL sent to a client).
    #[error("unexpected message type {ty:?} from the peer")]
    UnexpectedMessageType {
        /// The type.
        ty: MessageType,
    },
    /// A reply carried a status a reply may not have (CONTINUE).
    #[error("unexpected status {status:?} in a reply")]
    UnexpectedStatus {
        /// The status.
        status: MessageStatus,
    },
    /// A reply announced descriptors on a transport that cannot pass them (libvirt's
    /// `virNetSocketRecvFD` on anything but a unix socket).
    #[error("Receiving file descriptors is not supported on this socket")]
    FdPassingUnsupported,
    /// A descriptor's carrier byte came without exactly one descriptor (`virSocketRecvFD`'s
    /// `EACCES`).
    #[error("Failed to recv file descriptor: a carrier byte came without exactly one")]
    FdNotReceived,
}

/// Why a call could not be started or did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The connection is closed, for the reason given.
    #[error("connection closed: {0}")]
    Closed(ConnectionError),
    /// The arguments could not be encoded.
    #[error("cannot encode the call: {0}")]
    Encode(#[from] EncodeError),
    /// The configured bound on calls in flight is reached.
    #[error("too many calls in flight ({0})")]
    TooManyInFlight(usize),
    /// The call's deadline passed before its reply arrived.
    #[error("call timed out")]
    TimedOut,
    /// The call was cancelled locally.
    #[error("call cancelled")]
    Cancelled,
    /// The server answered with an error (boxed: it is large and rare).
    #[error("{0}")]
    Remote(Box<RemoteError>),
    /// The reply did not decode as the procedure's return type.
    #[error("cannot decode the reply: {0}")]
    Decode(DecodeError),
}
