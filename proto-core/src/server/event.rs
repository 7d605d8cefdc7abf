//! What a server connection reports to the daemon ([`ServerEvent`]), the handle of a call it
//! must answer ([`CallId`]), and why an answer could not be sent ([`ReplyError`]).

use bytes::Bytes;

use crate::frame::{Header, RawHeader, StreamHole};
use crate::xdr::EncodeError;
use crate::ConnectionError;

/// Identifies one received call until it is answered. (Serials cannot: libvirt's daemon
/// accepts duplicate serials and answers each call.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// Why a message was dropped without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IgnoredReason {
    /// A message type a server does not accept from a client (REPLY, REPLY_WITH_FDS, a
    /// non-keepalive MESSAGE) or an undefined type number.
    UnexpectedType,
    /// A non-CALL message for a program that is not served.
    UnknownProgram,
    /// A stream packet for no open stream, or one a stream does not take.
    NoSuchStream,
}

/// What a [`ServerConnection`](super::ServerConnection) reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A call to dispatch; answer it with [`ServerConnection::reply`](super::ServerConnection::reply) or
    /// [`ServerConnection::reply_error`](super::ServerConnection::reply_error).
    Call {
        /// Handle for the answer.
        id: CallId,
        /// The call's header (program, version, procedure, serial).
        header: Header,
        /// Descriptors the client announced (`VIR_NET_CALL_WITH_FDS`); the adapter receives them.
        fds: u32,
        /// The encoded arguments, a slice of the received frame.
        args: Bytes,
    },
    /// Stream data from the client.
    StreamData {
        /// The serial of the call that opened the stream.
        serial: u32,
        /// The bytes, a slice of the received frame.
        data: Bytes,
    },
    /// A sparse hole from the client.
    StreamHole {
        /// The stream's serial.
        serial: u32,
        /// The hole.
        hole: StreamHole,
    },
    /// The client finished the stream (`STREAM`/`OK`); confirm with
    /// [`ServerStream::finish`](super::ServerStream::finish) or fail with
    /// [`ServerStream::error`](super::ServerStream::error).
    StreamFinish {
        /// The stream's serial.
        serial: u32,
    },
    /// The client aborted the stream (`STREAM`/`ERROR`); confirm with
    /// [`ServerStream::finish`](super::ServerStream::finish).
    StreamAbort {
        /// The stream's serial.
        serial: u32,
    },
    /// A message was dropped without a reply, as libvirtd drops it (for logging).
    Ignored {
        /// Its header words.
        header: RawHeader,
        /// Why.
        reason: IgnoredReason,
    },
    /// The client deviated from the protocol (only with
    /// [`ServerConfig::audit`](super::ServerConfig::audit)); the message is handled as usual, as
    /// libvirtd handles it.
    Deviation(crate::audit::ProtocolDeviation),
    /// The connection is closed; this is the last event.
    Closed {
        /// Why.
        reason: ConnectionError,
    },
}

/// Why an answer could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// No call with this id awaits an answer (answered already, or never received).
    #[error("no call {0:?} awaits an answer")]
    UnknownCall(CallId),
    /// No stream with this serial is open.
    #[error("no open stream with serial {0}")]
    UnknownStream(u32),
    /// A stream with this serial is already open (the client reused a serial): its packets
    /// could not be told apart, so the second stream is not opened.
    #[error("a stream with serial {0} is already open")]
    StreamInUse(u32),
    /// The return value could not be encoded; the client was sent libvirt's
    /// "Unable to encode message payload" error instead.
    #[error("cannot encode the reply: {0}")]
    Encode(EncodeError),
    /// The connection is closed.
    #[error("connection closed: {0}")]
    Closed(ConnectionError),
}
