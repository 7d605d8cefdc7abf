//! What both adapters of libvirt's remote protocol need that is not protocol, once: opening the
//! transports a URI names (unix, TCP, the ssh and ext commands: libvirt's `virnetsocket.c`),
//! loading libvirt's PKI files into TLS configurations (`virnettlscontext.c`), and the types both
//! clients return: [`Error`], [`ConnectOptions`], [`Event`], [`StreamItem`].
//!
//! adapter-blocking and adapter-smol both depend on this crate and neither on the other; the
//! protocol itself (what a frame means, what to send next) is proto-core's.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod busy_poll;
pub mod deferred;
pub mod fds;
pub mod queue;
pub mod transport;
pub mod wake;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use proto_core::connect::OpenError;
use proto_core::events::TypedEvent;
use proto_core::uri::UriError;
use proto_core::{CallError, KeepaliveConfig, RemoteError, StreamHole, XdrDecode};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URI is malformed or names something impossible.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The transport could not be opened.
    #[error("{what}: {source}")]
    Io {
        /// What was attempted.
        what: String,
        /// The system error.
        source: io::Error,
    },
    /// TLS setup or the handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Something this implementation does not support.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The open sequence failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A call failed (an error from the server, a timeout, the connection closing, …).
    #[error(transparent)]
    Call(#[from] CallError),
    /// The transport's command (ssh, `command=`) ended the connection while it opened; what
    /// it said on its standard error is the likely reason.
    #[error("{error}; the transport command said: {stderr}")]
    Command {
        /// How the connection failed.
        error: Box<Self>,
        /// The command's standard error (its last 4 KiB).
        stderr: String,
    },
}

impl Error {
    /// The server's error, when the failure is one.
    #[must_use]
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            Self::Call(CallError::Remote(e)) | Self::Open(OpenError::Call { error: CallError::Remote(e), .. }) => {
                Some(e)
            }
            _ => None,
        }
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Open read-only (`VIR_CONNECT_RO`), like `virsh -r`.
    pub read_only: bool,
    /// Keepalive once the server agrees (virsh's default: interval 5 s, count 6); `None` for off.
    pub keepalive: Option<KeepaliveConfig>,
    /// Whether the open offers keepalive to the server (`VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`),
    /// as libvirt's client does when it has an event loop; the server then pings the connection
    /// while it is idle. `false` opens as libvirt's client without an event loop: no probe, and
    /// no keepalive either way (`keepalive` then has no effect). Default `true`.
    pub offer_keepalive: bool,
    /// How long a call may wait for its reply before it is cancelled; `None` waits forever.
    pub call_timeout: Option<Duration>,
    /// Capacity of each event subscription's queue.
    pub event_queue: usize,
    /// How long a call waiting for its reply may look at the socket without sleeping, when
    /// that pays on this connection (adapter-io's `busy_poll` decides per wait from what waits
    /// cost; never on a machine with a single CPU); `None` always sleeps at once. Default 200 µs.
    pub busy_poll: Option<Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            keepalive: Some(KeepaliveConfig::VIRSH_DEFAULT),
            offer_keepalive: true,
            call_timeout: None,
            event_queue: 1024,
            busy_poll: Some(busy_poll::DEFAULT_WINDOW),
        }
    }
}

/// One item of a stream, as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// Data.
    Data(Bytes),
    /// A sparse hole.
    Hole(StreamHole),
    /// The server's end of data (read streams).
    Eof,
    /// The server confirmed finish or abort.
    Finished,
    /// The stream failed on the server.
    Error(Box<RemoteError>),
}

/// Runs a closure when dropped, unless defused first: what a future does when it is dropped
/// before it finished (a call cancelled by dropping its future).
pub struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    /// A guard that runs `f` when dropped.
    pub fn new(f: F) -> Self {
        Self(Some(f))
    }

    /// Drops the guard without running its closure.
    pub fn defuse(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Where a client connection's event goes: both clients hand out what their core produces by
/// this one routing (replies to their callers, stream packets to their stream, events to every
/// subscriber, the close to everyone).
#[derive(Debug)]
pub enum Delivery {
    /// A call's outcome: the reply body and the descriptors announced, or why it failed (a
    /// failed call's stream, if it opened one, is over too).
    Answer {
        /// The call's serial.
        serial: u32,
        /// The outcome.
        result: Result<(Bytes, u32), proto_core::CallError>,
    },
    /// A stream's packet; `last` when the stream is over after it.
    Stream {
        /// The stream's serial.
        serial: u32,
        /// The packet.
        item: StreamItem,
        /// Whether the stream ends with it.
        last: bool,
    },
    /// An event for every subscriber.
    Event(Event),
    /// The connection closed.
    Closed(proto_core::ConnectionError),
}

impl Delivery {
    /// Where `ev` goes; `None` for what no handle waits for.
    #[must_use]
    pub fn of(ev: proto_core::ClientEvent) -> Option<Self> {
        use proto_core::ClientEvent as E;
        let stream = |serial, item, last| Some(Self::Stream { serial, item, last });
        match ev {
            E::Reply { serial, fds, body } => Some(Self::Answer { serial, result: Ok((body, fds)) }),
            E::CallFailed { serial, error } => Some(Self::Answer { serial, result: Err(error) }),
            E::Event { prog, proc_, body, .. } => Some(Self::Event(Event { prog, proc_, body })),
            E::StreamData { serial, data } => stream(serial, StreamItem::Data(data), false),
            E::StreamHole { serial, hole } => stream(serial, StreamItem::Hole(hole), false),
            E::StreamEof { serial } => stream(serial, StreamItem::Eof, false),
            E::StreamFinished { serial } => stream(serial, StreamItem::Finished, true),
            E::StreamError { serial, error } => stream(serial, StreamItem::Error(error), true),
            E::Closed { reason } => Some(Self::Closed(reason)),
            _ => None,
        }
    }
}

/// Feeds a call's outcome to the open sequence: the server's reply or error is the sequence's to
/// judge; any other failure (the transport's) ends the open as it is. Both clients open so.
///
/// # Errors
/// The failure, or the sequence's verdict on the reply.
pub fn open_step(seq: &mut proto_core::connect::ConnectSequence, outcome: Result<Bytes, Error>) -> Result<(), Error> {
    let reply = match outcome {
        Ok(body) => Ok(body),
        Err(Error::Call(e)) => Err(e),
        Err(other) => return Err(other),
    };
    Ok(seq.on_reply(reply)?)
}

/// An event, decoded later by the subscriber with [`Event::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Program.
    pub prog: u32,
    /// Event procedure, e.g. 318 `REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE`.
    pub proc_: i32,
    /// The encoded `_msg`.
    pub body: Bytes,
}

impl Event {
    /// The event as a typed value, when libvirt 9.0 defines it (`None` for a newer libvirt's
    /// event: the raw body is still here).
    #[must_use]
    pub fn typed(&self) -> Option<Result<TypedEvent, proto_core::DecodeError>> {
        TypedEvent::decode(self.prog, self.proc_, self.body.clone())
    }

    /// Decodes the body as `T`.
    ///
    /// # Errors
    /// When the body is not a `T`.
    pub fn decode<T: XdrDecode>(&self) -> Result<T, proto_core::DecodeError> {
        proto_core::xdr::from_bytes(self.body.clone())
    }
}

/// What a stream's byte reader holds between reads: the rest of a data packet, or the rest of a
/// sparse hole, read as zeros. Both clients' `Read` / `AsyncRead` on a stream are this.
#[derive(Debug, Default)]
pub struct StreamCursor {
    pending: Bytes,
    hole_left: u64,
}

impl StreamCursor {
    /// Copies what is held into `buf`; `None` when nothing is held (take the next item).
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.hole_left > 0 {
            let n = usize::try_from(self.hole_left).unwrap_or(usize::MAX).min(buf.len());
            buf[..n].fill(0);
            self.hole_left -= n as u64;
            return Some(n);
        }
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Some(n)
    }

    /// Takes the stream's next item (`None`: the stream is over): whether there is more to
    /// read (`false` is the end of the data).
    ///
    /// # Errors
    /// The stream's error.
    pub fn take(&mut self, item: Option<StreamItem>) -> io::Result<bool> {
        match item {
            Some(StreamItem::Data(d)) => self.pending = d,
            Some(StreamItem::Hole(h)) => self.hole_left = u64::try_from(h.length).unwrap_or(0),
            Some(StreamItem::Eof | StreamItem::Finished) | None => return Ok(false),
            Some(StreamItem::Error(e)) => return Err(io::Error::other(e.to_string())),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_cursor_reads_data_and_holes_as_zeros_in_pieces() {
        let mut c = StreamCursor::default();
        let mut buf = [9u8; 4];
        assert_eq!(c.read(&mut buf), None, "nothing held");
        assert!(c.take(Some(StreamItem::Data(Bytes::from_static(b"abcdef")))).unwrap());
        assert_eq!(c.read(&mut buf), Some(4));
        assert_eq!(&buf, b"abcd");
        assert_eq!(c.read(&mut buf), Some(2));
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(c.read(&mut buf), None);
        assert!(c.take(Some(StreamItem::Hole(StreamHole { length: 6, flags: 0 }))).unwrap());
        assert_eq!((c.read(&mut buf), buf), (Some(4), [0; 4]));
        assert_eq!(c.read(&mut buf), Some(2));
        assert_eq!(c.read(&mut buf), None);
        assert!(!c.take(Some(StreamItem::Eof)).unwrap(), "end of data");
        assert!(!c.take(None).unwrap(), "stream over");
        let e = proto_core::RemoteError::rpc("broken");
        assert!(c.take(Some(StreamItem::Error(Box::new(e)))).unwrap_err().to_string().contains("broken"));
    }
}
