//! The protocol spoken by hand: a blocking socket to any daemon reachable by a libvirt URI
//! (unix, tcp, ssh, ext), frames written byte for byte (canonical or not) and answers read back
//! without a client library in the way. The conformance tiers and the leniency tests use it to
//! send the same bytes to two daemons and compare what comes back.

use std::io::{self, Read, Write};
use std::time::Duration;

use adapter_blocking::transport::{self, Channel, Stream};
use bytes::{Bytes, BytesMut};
use proto_core::error::RemoteError;
use proto_core::frame::{encode_frame_raw, MIN_FRAME_LEN};
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote::REMOTE_PROC_CONNECT_OPEN;
use proto_core::uri::LibvirtUri;
use proto_core::xdr::{from_bytes, put_string, to_bytes, XdrEncode};
use proto_core::{Frame, FrameDecoder, Header, MessageStatus, MessageType};

/// How long a read waits for any one message before it gives up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A raw protocol connection.
#[derive(Debug)]
pub struct Wire {
    stream: Stream,
    _channel: Channel,
    dec: FrameDecoder,
    buf: Box<[u8]>,
    timeout: Duration,
    /// The name CONNECT_OPEN sends for the URI it was made from (e.g. `test:///default`).
    pub open_name: String,
}

/// What a daemon did with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A REPLY with status OK, and its body.
    Ok(Bytes),
    /// A REPLY with status ERROR: libvirt's error triple (code, domain, message).
    Error {
        /// `virErrorNumber`.
        code: i32,
        /// `virErrorDomain`.
        domain: i32,
        /// The message, if any.
        message: Option<String>,
    },
    /// The daemon closed the connection without answering.
    Closed,
    /// No answer within the read timeout.
    Silent,
}

impl Answer {
    /// The answer without its body (for comparisons where the body is volatile).
    #[must_use]
    pub fn shape(&self) -> Self {
        match self {
            Self::Ok(_) => Self::Ok(Bytes::new()),
            other => other.clone(),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ok(b) => write!(f, "OK ({} bytes)", b.len()),
            Self::Error { code, domain, message } => {
                write!(f, "error {code}/{domain} {:?}", message.as_deref().unwrap_or(""))
            }
            Self::Closed => f.write_str("connection closed"),
            Self::Silent => f.write_str("no answer"),
        }
    }
}

impl Wire {
    /// Connects to the daemon `uri` names (TLS is not spoken here).
    ///
    /// # Errors
    /// When the URI is not understood or the daemon cannot be reached.
    pub fn connect(uri: &str) -> io::Result<Self> {
        let bad = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
        let parsed = LibvirtUri::parse(uri).map_err(|e| bad(format!("{uri}: {e}")))?;
        let target = parsed.resolve(&transport::client_env(), false).map_err(|e| bad(format!("{uri}: {e}")))?;
        if target.transport == proto_core::uri::Transport::Tls {
            return Err(bad(format!("{uri}: TLS is not supported by the raw wire client; use tcp, unix or ssh")));
        }
        let open_name = target.name.clone();
        let channel = transport::open(&target).map_err(|e| io::Error::other(e.to_string()))?;
        let stream = channel.try_clone_stream()?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Self {
            stream,
            _channel: channel,
            dec: FrameDecoder::new(),
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            timeout: READ_TIMEOUT,
            open_name,
        })
    }

    /// Sets how long a read waits.
    ///
    /// # Errors
    /// From the socket.
    pub fn set_read_timeout(&mut self, t: Duration) -> io::Result<()> {
        self.timeout = t;
        self.stream.set_read_timeout(Some(t))
    }

    /// Writes bytes as they are.
    ///
    /// # Errors
    /// From the socket.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Writes a CALL of `REMOTE_PROGRAM` procedure `proc_` with `body` as its raw payload.
    ///
    /// # Errors
    /// From the socket.
    pub fn call_raw(&mut self, proc_: i32, serial: u32, body: &[u8]) -> io::Result<()> {
        self.send(&call_frame(REMOTE_PROGRAM, proc_, serial, body))
    }

    /// Writes a CALL with typed arguments.
    ///
    /// # Errors
    /// From the socket.
    pub fn call<T: XdrEncode + ?Sized>(&mut self, proc_: i32, serial: u32, args: &T) -> io::Result<()> {
        let body = to_bytes(args).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.call_raw(proc_, serial, &body)
    }

    /// Reads raw bytes, bypassing the message decoder (for a caller that runs its own, e.g. a
    /// client core); do not mix with [`Wire::recv`]. `Ok(0)` at the end of file.
    ///
    /// # Errors
    /// A read timeout (kind `WouldBlock` or `TimedOut`) or another socket error.
    pub fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }

    /// The next message; `Ok(None)` at the end of file (or a reset).
    ///
    /// # Errors
    /// A read timeout (kind `WouldBlock` or `TimedOut`), an undecodable frame, or another
    /// socket error.
    pub fn recv(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(f) = self.dec.next_frame().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))? {
                return Ok(Some(f));
            }
            let n = match self.stream.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(None);
            }
            self.dec.push(&self.buf[..n]);
        }
    }

    /// What the daemon answered to the call with `serial`: messages other than that reply
    /// (events, keepalive, other replies) are skipped.
    #[must_use]
    pub fn answer(&mut self, serial: u32) -> Answer {
        loop {
            match self.recv() {
                Ok(Some(f)) if f.header.ty == MessageType::Reply && f.header.serial == serial => return answer_of(&f),
                Ok(Some(_)) => {}
                Ok(None) => return Answer::Closed,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Answer::Silent
                }
                Err(_) => return Answer::Closed,
            }
        }
    }

    /// Every message that arrives until the daemon closes the connection or is silent for
    /// `quiet`: the messages, and whether it closed.
    ///
    /// # Errors
    /// An undecodable frame or a socket error other than a reset.
    pub fn drain(&mut self, quiet: Duration) -> io::Result<(Vec<Frame>, bool)> {
        self.stream.set_read_timeout(Some(quiet))?;
        let mut frames = vec![];
        let closed = loop {
            match self.recv() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break true,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => break false,
                Err(e) => return Err(e),
            }
        };
        self.stream.set_read_timeout(Some(self.timeout))?;
        Ok((frames, closed))
    }

    /// CONNECT_OPEN of the URI's name with serial `serial`, and its answer.
    ///
    /// # Errors
    /// From the socket.
    pub fn open(&mut self, serial: u32) -> io::Result<Answer> {
        let body = open_body(1, &self.open_name, 0);
        self.call_raw(REMOTE_PROC_CONNECT_OPEN, serial, &body)?;
        Ok(self.answer(serial))
    }
}

/// The answer a reply frame carries.
#[must_use]
pub fn answer_of(f: &Frame) -> Answer {
    match f.header.status {
        MessageStatus::Ok => Answer::Ok(f.body.clone()),
        _ => match from_bytes::<RemoteError>(f.body.clone()) {
            Ok(e) => {
                Answer::Error { code: e.code.0, domain: e.domain.0, message: e.message.as_ref().map(|m| m.to_string()) }
            }
            Err(e) => Answer::Error { code: -1, domain: -1, message: Some(format!("undecodable error: {e}")) },
        },
    }
}

/// A whole CALL frame of `prog` version 1.
#[must_use]
pub fn call_frame(prog: u32, proc_: i32, serial: u32, body: &[u8]) -> Vec<u8> {
    let header = Header { prog, vers: 1, proc_, ty: MessageType::Call, serial, status: MessageStatus::Ok };
    let mut out = BytesMut::with_capacity(MIN_FRAME_LEN as usize + body.len());
    encode_frame_raw(&mut out, &header, body);
    out.to_vec()
}

/// `remote_connect_open_args` with the optional-data flag `flag` in front of `name`: 1 is
/// canonical, any other non-zero word is what libtirpc also reads as present.
#[must_use]
pub fn open_body(flag: u32, name: &str, flags: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.extend_from_slice(&flag.to_be_bytes());
    if flag != 0 {
        // A name longer than REMOTE_STRING_MAX is the caller's bug, not a wire case.
        let _ = put_string(&mut out, name.as_bytes(), u32::MAX);
    }
    out.extend_from_slice(&flags.to_be_bytes());
    out.to_vec()
}

/// `string<>` with its padding bytes set to `pad` instead of zeros.
#[must_use]
pub fn string_padded_with(s: &str, pad: u8) -> Vec<u8> {
    let mut out = BytesMut::new();
    let _ = put_string(&mut out, s.as_bytes(), u32::MAX);
    let mut v = out.to_vec();
    let n = proto_core::xdr::pad_len(s.len());
    let len = v.len();
    for b in &mut v[len - n..] {
        *b = pad;
    }
    v
}
