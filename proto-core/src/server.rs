//! `ServerConnection`: the daemon side of one libvirt RPC connection, as a pure state machine
//! (`src/rpc/virnetserverclient.c`, `src/rpc/virnetserverprogram.c`, `src/rpc/virkeepalive.c`,
//! `src/remote/remote_daemon_stream.c`; `protocol-facts.md` §2, §4, §5, §11).
//!
//! # The drive loop
//!
//! The core never reads a clock and stores no "now": every piece of processing happens in a
//! `handle_*` call with the time the adapter passes in; commands (`reply`, `open_stream`,
//! `send_event`, …) only queue bytes and free slots, and the `poll_*` calls only drain. An
//! adapter owns the socket and the clock and runs, after every change:
//!
//! 1. apply what the daemon decided: [`ServerConnection::reply`] and the other commands (or
//!    [`ServerConnection::apply`] for queued [`ServerCommand`]s);
//! 2. feed what it read, reading only while [`ServerConnection::wants_read`] says so (that is
//!    how libvirt's `max_client_requests` bound works: the daemon stops reading instead of
//!    dropping anything): [`ServerConnection::handle_input`], or
//!    [`ServerConnection::handle_eof`];
//! 3. when [`ServerConnection::poll_timeout`] has passed, [`ServerConnection::handle_timeout`]
//!    with the *current* time. Besides keepalive, this is where messages held back by the bound
//!    are processed once answers made room: `poll_timeout` then returns an instant that has
//!    already passed;
//! 4. write everything [`ServerConnection::poll_transmit`] returns, in order;
//! 5. take every [`ServerEvent`] from [`ServerConnection::poll_event`] and hand calls to the
//!    daemon (whose answers are step 1 of the next round);
//! 6. arm one timer at [`ServerConnection::poll_timeout`], then wait for the socket, the timer
//!    or an answer.
//!
//! Draining events never queues bytes, so the output of step 4 is complete until the next
//! command or `handle_*` call. Time passed in must never go backwards.
//!
//! What the core decides, as libvirtd 9.0 does:
//! - keepalive PINGs are answered at once and never reach the daemon; keepalive starts when the
//!   client calls `REMOTE_PROC_CONNECT_SUPPORTS_FEATURE` with `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`;
//! - a CALL for a program or version not served, a CALL with a status other than OK and a CALL
//!   of an unknown procedure get libvirtd's error replies;
//! - messages of a type a server never accepts (REPLY, MESSAGE, an undefined type) and stream
//!   packets for no open stream are dropped without a reply, reported as
//!   [`ServerEvent::Ignored`];
//! - a bad length word, a short header or too many fds closes the connection with a reason.
//!
//! Policy (which procedures a connection may call, authentication, read-only) is the daemon's.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use crate::error::RemoteError;
use crate::frame::{
    encode_frame, encode_frame_with, FrameDecoder, Header, MessageStatus, MessageType, RawHeader, StreamHole,
    VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX, VIR_NET_MESSAGE_NUM_FDS_MAX,
};
use crate::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::program::{
    KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, LXC_PROGRAM,
    LXC_PROTOCOL_VERSION, QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, REMOTE_PROGRAM,
    REMOTE_PROTOCOL_VERSION, VIR_DRV_FEATURE_PROGRAM_KEEPALIVE,
};
use crate::transmit::Outgoing;
use crate::xdr::{self, DecodeError, DecodeErrorKind, EncodeError, XdrEncode};
use crate::{ConnectionError, ProtocolError};

/// A program the server serves, and which of its procedure numbers exist.
#[derive(Debug, Clone, Copy)]
pub struct ServedProgram {
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Whether a procedure number can be called (events and unknown numbers cannot). Calls of
    /// other numbers get libvirtd's "unknown procedure: N" error from the core.
    pub is_procedure: fn(i32) -> bool,
}

fn any_positive(p: i32) -> bool {
    p > 0
}

impl ServedProgram {
    /// A program whose every positive procedure number is passed to the daemon.
    #[must_use]
    pub const fn new(prog: u32, vers: u32) -> Self {
        Self { prog, vers, is_procedure: any_positive }
    }
}

/// Settings of a [`ServerConnection`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Programs served on this connection.
    pub programs: Vec<ServedProgram>,
    /// libvirt's `max_client_requests`: calls (and incoming stream packets) read but not yet
    /// answered. At the bound the connection stops reading.
    pub max_client_requests: usize,
    /// libvirt's `keepalive_interval` / `keepalive_count`, used once the client asks for
    /// keepalive; `None` is libvirt's `keepalive_interval = -1` (PINGs are still answered).
    pub keepalive: Option<KeepaliveConfig>,
    /// Audit the client: report every deviation from the protocol it makes as a
    /// [`ServerEvent::Deviation`] (see [`crate::audit`]). Off by default; off costs nothing.
    pub audit: bool,
}

impl Default for ServerConfig {
    /// libvirtd's defaults: REMOTE, QEMU and LXC programs, `max_client_requests = 5`,
    /// keepalive 5 s × 5.
    fn default() -> Self {
        Self {
            programs: vec![
                ServedProgram::new(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION),
                ServedProgram::new(QEMU_PROGRAM, QEMU_PROTOCOL_VERSION),
                ServedProgram::new(LXC_PROGRAM, LXC_PROTOCOL_VERSION),
            ],
            max_client_requests: 5,
            keepalive: Some(KeepaliveConfig::DAEMON_DEFAULT),
            audit: false,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::max_client_requests`] (at least 1).
    #[must_use]
    pub fn with_max_client_requests(mut self, n: usize) -> Self {
        self.max_client_requests = n.max(1);
        self
    }

    /// Sets [`ServerConfig::keepalive`].
    #[must_use]
    pub fn with_keepalive(mut self, k: Option<KeepaliveConfig>) -> Self {
        self.keepalive = k;
        self
    }

    /// Sets [`ServerConfig::audit`].
    #[must_use]
    pub fn with_audit(mut self, audit: bool) -> Self {
        self.audit = audit;
        self
    }

    /// Sets [`ServerConfig::programs`].
    #[must_use]
    pub fn with_programs(mut self, programs: Vec<ServedProgram>) -> Self {
        self.programs = programs;
        self
    }
}

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

/// What a [`ServerConnection`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A call to dispatch; answer it with [`ServerConnection::reply`] or
    /// [`ServerConnection::reply_error`].
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
    /// The client finished the stream (`STREAM`/`OK`); confirm with [`ServerStream::finish`] or
    /// fail with [`ServerStream::error`].
    StreamFinish {
        /// The stream's serial.
        serial: u32,
    },
    /// The client aborted the stream (`STREAM`/`ERROR`); confirm with [`ServerStream::finish`].
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
    /// The client deviated from the protocol (only with [`ServerConfig::audit`]); the message
    /// is handled as usual, as libvirtd handles it.
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

#[derive(Debug, Clone, Copy)]
struct ServerStreamState {
    header: Header,
    /// The client finished or aborted: later packets of this stream are dropped, as libvirtd
    /// drops them once it marked the stream closed.
    client_done: bool,
}

/// The server side of a libvirt RPC connection.
#[derive(Debug)]
pub struct ServerConnection {
    config: ServerConfig,
    decoder: FrameDecoder,
    out: Outgoing,
    events: VecDeque<ServerEvent>,
    calls: HashMap<u64, Header>,
    next_call: u64,
    streams: HashMap<u32, ServerStreamState>,
    queued_stream_packets: usize,
    keepalive: Keepalive,
    closed: Option<ConnectionError>,
    /// When the bytes still buffered in the decoder arrived: the deadline (always already
    /// passed) at which whole messages held back by `max_client_requests` become due once a slot
    /// is free. Never used as the current time: they are processed by the next `handle_*` call
    /// with that call's `now`.
    backlog_since: Option<Instant>,
    /// [`ServerConnection::drain`] was called: no new calls, close once none is in flight.
    draining: bool,
    /// The client audit, when [`ServerConfig::audit`] is on.
    auditor: Option<crate::audit::Auditor>,
}

impl ServerConnection {
    /// A new connection (keepalive starts only when the client asks for it).
    #[must_use]
    pub fn new(config: ServerConfig, _now: Instant) -> Self {
        let auditor = config.audit.then(crate::audit::Auditor::default);
        Self {
            config,
            decoder: FrameDecoder::new(),
            out: Outgoing::default(),
            events: VecDeque::new(),
            calls: HashMap::new(),
            next_call: 0,
            streams: HashMap::new(),
            queued_stream_packets: 0,
            keepalive: Keepalive::default(),
            closed: None,
            backlog_since: None,
            draining: false,
            auditor,
        }
    }

    // ----------------------------------------------------------------------------------------
    // Inputs

    /// Feeds bytes read from the socket. Whole messages are processed while the
    /// `max_client_requests` bound allows; the rest waits in the buffer until answers free
    /// slots (read only while [`ServerConnection::wants_read`]).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.closed.is_some() || data.is_empty() {
            return;
        }
        self.keepalive.on_input(now);
        self.decoder.push(data);
        self.process(now);
        if self.decoder.buffered() > 0 {
            self.backlog_since.get_or_insert(now);
        }
    }

    /// Tells the connection that time passed: processes messages held back by
    /// `max_client_requests` once answers freed slots (with this `now`), and fires keepalive.
    /// Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if self.backlog_due() {
            self.process(now);
        }
        match self.keepalive.on_timeout(now) {
            KeepaliveAction::Nothing => {}
            KeepaliveAction::SendPing => self.send_keepalive(KEEPALIVE_PROC_PING),
            KeepaliveAction::Dead => self.fail(ConnectionError::KeepaliveTimeout),
        }
    }

    /// The client closed its end.
    pub fn handle_eof(&mut self, _now: Instant) {
        if self.closed.is_some() {
            return;
        }
        let reason = crate::eof_reason(&self.decoder);
        self.fail(reason);
    }

    // ----------------------------------------------------------------------------------------
    // Commands

    /// Answers a call with its return value (`REPLY`/`OK`).
    ///
    /// # Errors
    /// When the call is unknown or the connection closed; when `ret` cannot be encoded the
    /// client gets libvirt's "Unable to encode message payload" error and this returns
    /// [`ReplyError::Encode`].
    pub fn reply<R: XdrEncode + ?Sized>(&mut self, id: CallId, ret: &R) -> Result<(), ReplyError> {
        self.reply_with(id, None, |out| ret.encode(out))
    }

    /// Answers a call with an already encoded body.
    ///
    /// # Errors
    /// As [`ServerConnection::reply`].
    pub fn reply_raw(&mut self, id: CallId, body: &[u8]) -> Result<(), ReplyError> {
        self.reply_with(id, None, |out| {
            out.extend_from_slice(body);
            Ok(())
        })
    }

    /// Answers a call with `VIR_NET_REPLY_WITH_FDS`, announcing `nfds` descriptors that the
    /// adapter sends after the message.
    ///
    /// # Errors
    /// As [`ServerConnection::reply`].
    pub fn reply_with_fds<R: XdrEncode + ?Sized>(&mut self, id: CallId, nfds: u32, ret: &R) -> Result<(), ReplyError> {
        self.reply_with(id, Some(nfds), |out| ret.encode(out))
    }

    fn reply_with(
        &mut self,
        id: CallId,
        fds: Option<u32>,
        encode: impl FnOnce(&mut bytes::BytesMut) -> Result<(), EncodeError>,
    ) -> Result<(), ReplyError> {
        let header = self.take_call(id)?;
        let (ty, fds) = match fds {
            Some(n) => (MessageType::ReplyWithFds, Some(n)),
            None => (MessageType::Reply, None),
        };
        let h = header.with(ty, MessageStatus::Ok);
        let result = encode_frame_with(self.out.buf(), &h, |out| {
            if let Some(n) = fds {
                n.encode(out)?;
            }
            encode(out)
        });
        let outcome = match result {
            Ok(()) => Ok(()),
            Err(e) => {
                self.push_error(header.with(MessageType::Reply, MessageStatus::Error), &encode_failure());
                Err(ReplyError::Encode(e))
            }
        };
        self.after_answer();
        outcome
    }

    /// Answers a call with an error (`REPLY`/`ERROR`, body `remote_error`).
    ///
    /// # Errors
    /// When the call is unknown or the connection closed.
    pub fn reply_error(&mut self, id: CallId, error: &RemoteError) -> Result<(), ReplyError> {
        let header = self.take_call(id)?;
        self.push_error(header.with(MessageType::Reply, MessageStatus::Error), error);
        self.after_answer();
        Ok(())
    }

    /// Registers the stream the call `id` opens, before the call is answered: stream packets
    /// with its serial are accepted from then on. Returns the stream's serial.
    ///
    /// # Errors
    /// When the call is unknown or the connection closed.
    pub fn open_stream(&mut self, id: CallId) -> Result<u32, ReplyError> {
        if let Some(r) = &self.closed {
            return Err(ReplyError::Closed(r.clone()));
        }
        let header = *self.calls.get(&id.0).ok_or(ReplyError::UnknownCall(id))?;
        if self.streams.contains_key(&header.serial) {
            return Err(ReplyError::StreamInUse(header.serial));
        }
        self.streams.insert(header.serial, ServerStreamState { header, client_done: false });
        Ok(header.serial)
    }

    /// The open stream with this serial, to send on it.
    #[must_use]
    pub fn stream(&mut self, serial: u32) -> Option<ServerStream<'_>> {
        if self.closed.is_none() && self.streams.contains_key(&serial) {
            Some(ServerStream { conn: self, serial })
        } else {
            None
        }
    }

    /// Sends an event (`MESSAGE`/`OK`) with serial 1, as libvirtd does.
    ///
    /// # Errors
    /// When the body cannot be encoded or the connection is closed.
    pub fn send_event<M: XdrEncode + ?Sized>(
        &mut self,
        prog: u32,
        vers: u32,
        proc_: i32,
        msg: &M,
    ) -> Result<(), ReplyError> {
        if let Some(r) = &self.closed {
            return Err(ReplyError::Closed(r.clone()));
        }
        let h = Header { prog, vers, proc_, ty: MessageType::Message, serial: 1, status: MessageStatus::Ok };
        encode_frame(self.out.buf(), &h, msg).map_err(ReplyError::Encode)
    }

    /// Closes the connection locally (e.g. after answering `REMOTE_PROC_CONNECT_CLOSE`): queued
    /// bytes can still be transmitted, then the adapter closes the socket.
    pub fn close(&mut self, _now: Instant) {
        if self.closed.is_none() {
            self.fail(ConnectionError::LocallyClosed);
        }
    }

    /// Starts a graceful close (a daemon shutting down): nothing more is read or taken in as a
    /// call, the calls already taken in are still answered, and the connection closes
    /// ([`ConnectionError::LocallyClosed`]) as soon as none is in flight. Queued bytes can still
    /// be transmitted.
    pub fn drain(&mut self, _now: Instant) {
        if self.closed.is_none() {
            self.draining = true;
            self.close_if_drained();
        }
    }

    /// Whether [`ServerConnection::drain`] was called.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    fn close_if_drained(&mut self) {
        if self.draining && self.calls.is_empty() {
            self.fail(ConnectionError::LocallyClosed);
        }
    }

    /// Closes the connection because the client does not read what it is sent: the adapter's
    /// bound on unsent output (for example on [`ServerConnection::transmit_buffered`]) was
    /// exceeded. The reason is [`ConnectionError::PeerNotReading`]; the adapter drops the socket
    /// without flushing. Resource policy (the bound) is the adapter's, the state change the core's.
    pub fn close_not_reading(&mut self, _now: Instant, buffered: usize) {
        if self.closed.is_none() {
            self.fail(ConnectionError::PeerNotReading { buffered });
        }
    }

    // ----------------------------------------------------------------------------------------
    // Outputs

    /// The next bytes to write, in order. Small frames are batched into one buffer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let ev = self.events.pop_front()?;
        if is_stream_packet(&ev) {
            // Frees a slot; held-back messages become due (see `poll_timeout`), they are not
            // processed here.
            self.queued_stream_packets -= 1;
        }
        Some(ev)
    }

    /// When [`ServerConnection::handle_timeout`] must be called next: the keepalive timer, or
    /// (already passed) the arrival of whole messages that `max_client_requests` held back and
    /// that answers have since made room for.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        let keepalive = self.keepalive.poll_timeout();
        let backlog = self.backlog_since.filter(|_| self.backlog_due());
        match (keepalive, backlog) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Getters

    /// Whether the adapter should read more from the socket: false while
    /// `max_client_requests` calls and stream packets are outstanding, while a whole message
    /// already read waits to be processed (by the next `handle_*` call, see `poll_timeout`), and
    /// once closed. So what the core holds unprocessed stays bounded by one read.
    #[must_use]
    pub fn wants_read(&self) -> bool {
        self.closed.is_none()
            && !self.draining
            && self.slots_used() < self.config.max_client_requests
            && !self.decoder.has_message()
    }

    /// Whether bytes are waiting in [`ServerConnection::poll_transmit`].
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Bytes waiting to be transmitted.
    #[must_use]
    pub fn transmit_buffered(&self) -> usize {
        self.out.len()
    }

    /// Calls received and not yet answered.
    #[must_use]
    pub fn calls_in_flight(&self) -> usize {
        self.calls.len()
    }

    /// Whether keepalive was started (the client asked for it and the config allows it).
    #[must_use]
    pub fn keepalive_active(&self) -> bool {
        self.keepalive.is_active()
    }

    /// Whether the connection is closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Why the connection closed, if it did.
    #[must_use]
    pub fn close_reason(&self) -> Option<&ConnectionError> {
        self.closed.as_ref()
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    fn slots_used(&self) -> usize {
        self.calls.len() + self.queued_stream_packets
    }

    fn take_call(&mut self, id: CallId) -> Result<Header, ReplyError> {
        if let Some(r) = &self.closed {
            return Err(ReplyError::Closed(r.clone()));
        }
        self.calls.remove(&id.0).ok_or(ReplyError::UnknownCall(id))
    }

    /// An answer frees a slot: held-back messages become due (see `poll_timeout`); they are
    /// processed by the next `handle_*` call, with its time.
    fn after_answer(&mut self) {
        self.close_if_drained();
    }

    /// Whether a whole message waits in the decoder and a slot is free for it.
    fn backlog_due(&self) -> bool {
        self.closed.is_none()
            && !self.draining
            && self.slots_used() < self.config.max_client_requests
            && self.decoder.has_message()
    }

    fn push_error(&mut self, header: Header, error: &RemoteError) {
        if encode_frame(self.out.buf(), &header, error).is_err() {
            // Only a message over 32 MiB fails; libvirt then sends its fixed text.
            let _ = encode_frame(self.out.buf(), &header, &encode_failure());
        }
    }

    fn fail(&mut self, reason: ConnectionError) {
        if self.closed.is_some() {
            return;
        }
        self.calls.clear();
        self.streams.clear();
        self.events.push_back(ServerEvent::Closed { reason: reason.clone() });
        self.closed = Some(reason);
    }

    fn send_keepalive(&mut self, proc_: i32) {
        self.out.push_keepalive(proc_);
    }

    fn process(&mut self, now: Instant) {
        while self.closed.is_none() && !self.draining && self.slots_used() < self.config.max_client_requests {
            match self.decoder.next_message() {
                Ok(Some(msg)) => {
                    if let Err(e) = self.handle_message(now, msg) {
                        self.fail(ConnectionError::Protocol(e));
                    }
                }
                Ok(None) => break,
                Err(e) => self.fail(ConnectionError::Protocol(e.into())),
            }
        }
        if self.decoder.buffered() == 0 {
            self.backlog_since = None;
        }
    }

    fn ignore(&mut self, header: RawHeader, reason: IgnoredReason) {
        self.events.push_back(ServerEvent::Ignored { header, reason });
    }

    fn handle_message(&mut self, now: Instant, msg: Bytes) -> Result<(), ProtocolError> {
        let raw = RawHeader::decode(&msg)?;
        let body = msg.slice(VIR_NET_MESSAGE_HEADER_MAX..);
        if let Some(auditor) = self.auditor.as_mut() {
            let known = crate::audit::SerialState {
                call_in_flight: self.calls.values().any(|h| h.serial == raw.serial && h.prog == raw.prog),
                stream: self.streams.get(&raw.serial).map(|s| s.client_done),
            };
            for d in auditor.check(raw, &body, known) {
                self.events.push_back(ServerEvent::Deviation(d));
            }
        }
        let Some(ty) = MessageType::from_wire(raw.ty) else {
            self.ignore(raw, IgnoredReason::UnexpectedType);
            return Ok(());
        };
        if raw.prog == KEEPALIVE_PROGRAM && raw.vers == KEEPALIVE_PROTOCOL_VERSION && ty == MessageType::Message {
            if raw.proc_ == KEEPALIVE_PROC_PING {
                self.send_keepalive(KEEPALIVE_PROC_PONG);
            }
            return Ok(());
        }
        let is_call = matches!(ty, MessageType::Call | MessageType::CallWithFds);
        let Some(program) = self.config.programs.iter().find(|p| p.prog == raw.prog && p.vers == raw.vers).copied()
        else {
            if is_call {
                self.answer_raw_error(raw, ty, &RemoteError::unknown_program(raw.prog, raw.vers));
            } else {
                self.ignore(raw, IgnoredReason::UnknownProgram);
            }
            return Ok(());
        };
        let Some(status) = MessageStatus::from_wire(raw.status) else {
            if is_call {
                self.answer_raw_error(raw, ty, &RemoteError::unexpected_status(raw.status));
            } else {
                self.ignore(raw, IgnoredReason::UnexpectedType);
            }
            return Ok(());
        };
        let header = Header { prog: raw.prog, vers: raw.vers, proc_: raw.proc_, ty, serial: raw.serial, status };
        match ty {
            MessageType::Call | MessageType::CallWithFds => {
                let (fds, args) = if ty == MessageType::CallWithFds {
                    let mut r = xdr::XdrReader::with_base(body, crate::frame::MIN_FRAME_LEN as usize);
                    let n = r.u32()?;
                    if n > VIR_NET_MESSAGE_NUM_FDS_MAX {
                        return Err(DecodeError { offset: r.offset() - 4, kind: DecodeErrorKind::TooManyFds(n) }.into());
                    }
                    (n, r.take_rest())
                } else {
                    (0, body)
                };
                if status != MessageStatus::Ok {
                    self.answer_raw_error(raw, ty, &RemoteError::unexpected_status(raw.status));
                    return Ok(());
                }
                if !(program.is_procedure)(raw.proc_) {
                    self.answer_raw_error(raw, ty, &RemoteError::unknown_procedure(raw.proc_));
                    return Ok(());
                }
                if header.prog == REMOTE_PROGRAM
                    && header.proc_ == REMOTE_PROC_CONNECT_SUPPORTS_FEATURE
                    && args.len() >= 4
                    && i32::from_be_bytes([args[0], args[1], args[2], args[3]]) == VIR_DRV_FEATURE_PROGRAM_KEEPALIVE
                    && !self.keepalive.is_active()
                {
                    self.keepalive.set(now, self.config.keepalive);
                }
                let id = CallId(self.next_call);
                self.next_call += 1;
                self.calls.insert(id.0, header);
                self.events.push_back(ServerEvent::Call { id, header, fds, args });
            }
            MessageType::Stream | MessageType::StreamHole => self.handle_stream(raw, header, body)?,
            MessageType::Reply | MessageType::ReplyWithFds | MessageType::Message => {
                self.ignore(raw, IgnoredReason::UnexpectedType);
            }
        }
        Ok(())
    }

    /// An error reply to a CALL the core itself refuses (no slot is taken).
    fn answer_raw_error(&mut self, raw: RawHeader, _ty: MessageType, error: &RemoteError) {
        let header = Header {
            prog: raw.prog,
            vers: raw.vers,
            proc_: raw.proc_,
            ty: MessageType::Reply,
            serial: raw.serial,
            status: MessageStatus::Error,
        };
        self.push_error(header, error);
    }

    fn handle_stream(&mut self, raw: RawHeader, header: Header, body: Bytes) -> Result<(), ProtocolError> {
        let serial = header.serial;
        let known = self.streams.get(&serial).is_some_and(|s| {
            !s.client_done
                && s.header.prog == header.prog
                && s.header.vers == header.vers
                && s.header.proc_ == header.proc_
        });
        if !known {
            self.ignore(raw, IgnoredReason::NoSuchStream);
            return Ok(());
        }
        let event = match (header.ty, header.status) {
            (MessageType::StreamHole, _) => ServerEvent::StreamHole { serial, hole: xdr::from_bytes(body)? },
            (_, MessageStatus::Continue) if body.is_empty() => {
                self.ignore(raw, IgnoredReason::NoSuchStream);
                return Ok(());
            }
            (_, MessageStatus::Continue) => ServerEvent::StreamData { serial, data: body },
            (_, MessageStatus::Ok) => ServerEvent::StreamFinish { serial },
            (_, MessageStatus::Error) => ServerEvent::StreamAbort { serial },
        };
        if matches!(event, ServerEvent::StreamFinish { .. } | ServerEvent::StreamAbort { .. }) {
            if let Some(s) = self.streams.get_mut(&serial) {
                s.client_done = true;
            }
        }
        self.queued_stream_packets += 1;
        self.events.push_back(event);
        Ok(())
    }
}

fn is_stream_packet(ev: &ServerEvent) -> bool {
    matches!(
        ev,
        ServerEvent::StreamData { .. }
            | ServerEvent::StreamHole { .. }
            | ServerEvent::StreamFinish { .. }
            | ServerEvent::StreamAbort { .. }
    )
}

fn encode_failure() -> RemoteError {
    RemoteError::rpc("Unable to encode message payload")
}

/// One thing to do on a connection, as a value: what a daemon's handler asks of a connection
/// it does not own (the runtime's driver owns it) is queued as `ServerCommand`s and applied in
/// order with [`ServerConnection::apply`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerCommand {
    /// [`ServerConnection::reply_raw`].
    Reply {
        /// The call.
        id: CallId,
        /// The encoded return value.
        body: Bytes,
    },
    /// [`ServerConnection::reply_error`].
    ReplyError {
        /// The call.
        id: CallId,
        /// The error.
        error: Box<RemoteError>,
    },
    /// [`ServerConnection::open_stream`].
    OpenStream(CallId),
    /// [`ServerStream::send`].
    StreamSend {
        /// The stream.
        serial: u32,
        /// The data.
        data: Bytes,
    },
    /// [`ServerStream::send_hole`].
    StreamHole {
        /// The stream.
        serial: u32,
        /// The hole.
        hole: StreamHole,
    },
    /// [`ServerStream::send_eof`].
    StreamEof(u32),
    /// [`ServerStream::finish`].
    StreamFinish(u32),
    /// [`ServerStream::error`].
    StreamError {
        /// The stream.
        serial: u32,
        /// The error.
        error: Box<RemoteError>,
    },
    /// [`ServerConnection::send_event`] with an encoded body.
    SendEvent {
        /// Program.
        prog: u32,
        /// Version.
        vers: u32,
        /// Event procedure.
        proc_: i32,
        /// Encoded `_msg`.
        body: Bytes,
    },
    /// [`ServerConnection::close`].
    Close,
}

impl ServerConnection {
    /// Applies a queued command.
    ///
    /// # Errors
    /// As the method the command stands for (an unknown call or stream, a closed connection).
    pub fn apply(&mut self, now: Instant, command: ServerCommand) -> Result<(), ReplyError> {
        fn stream(c: &mut ServerConnection, serial: u32) -> Result<ServerStream<'_>, ReplyError> {
            c.stream(serial).ok_or(ReplyError::UnknownStream(serial))
        }
        match command {
            ServerCommand::Reply { id, body } => self.reply_raw(id, &body),
            ServerCommand::ReplyError { id, error } => self.reply_error(id, &error),
            ServerCommand::OpenStream(id) => self.open_stream(id).map(drop),
            ServerCommand::StreamSend { serial, data } => stream(self, serial)?.send(data),
            ServerCommand::StreamHole { serial, hole } => stream(self, serial)?.send_hole(hole),
            ServerCommand::StreamEof(serial) => stream(self, serial)?.send_eof(),
            ServerCommand::StreamFinish(serial) => stream(self, serial)?.finish(),
            ServerCommand::StreamError { serial, error } => stream(self, serial)?.error(&error),
            ServerCommand::SendEvent { prog, vers, proc_, body } => {
                self.send_event(prog, vers, proc_, &crate::xdr::Raw(body))
            }
            ServerCommand::Close => {
                self.close(now);
                Ok(())
            }
        }
    }
}

/// The answering half of a runtime's connection handle: everything is queued as a
/// [`ServerCommand`] for the connection's driver, which applies it in order. A runtime
/// implements [`CommandSink::submit`]; the rest is shared.
pub trait CommandSink {
    /// Queues a command (dropped if the connection is gone).
    fn submit(&self, command: ServerCommand);

    /// Answers a call with an encoded return value.
    fn reply_raw(&self, id: CallId, body: Bytes) {
        self.submit(ServerCommand::Reply { id, body });
    }

    /// Answers a call with a return value (or libvirt's "Unable to encode message payload").
    fn reply<T: XdrEncode + ?Sized>(&self, id: CallId, ret: &T) {
        match xdr::to_bytes(ret) {
            Ok(body) => self.reply_raw(id, body),
            Err(_) => self.reply_error(id, encode_failure()),
        }
    }

    /// Answers a call with an error.
    fn reply_error(&self, id: CallId, error: RemoteError) {
        self.submit(ServerCommand::ReplyError { id, error: Box::new(error) });
    }

    /// Registers the stream the call `id` opens; call it before the reply.
    fn open_stream(&self, id: CallId) {
        self.submit(ServerCommand::OpenStream(id));
    }

    /// Sends stream data (chunked as libvirt does, sharing `data`'s memory).
    fn stream_send(&self, serial: u32, data: Bytes) {
        self.submit(ServerCommand::StreamSend { serial, data });
    }

    /// Sends a sparse hole.
    fn stream_hole(&self, serial: u32, hole: StreamHole) {
        self.submit(ServerCommand::StreamHole { serial, hole });
    }

    /// Sends the end-of-data marker of a read stream.
    fn stream_eof(&self, serial: u32) {
        self.submit(ServerCommand::StreamEof(serial));
    }

    /// Confirms the client's finish or abort.
    fn stream_finish(&self, serial: u32) {
        self.submit(ServerCommand::StreamFinish(serial));
    }

    /// Fails the stream.
    fn stream_error(&self, serial: u32, error: RemoteError) {
        self.submit(ServerCommand::StreamError { serial, error: Box::new(error) });
    }

    /// Sends an event (`MESSAGE`) with an encoded body.
    fn send_event(&self, prog: u32, vers: u32, proc_: i32, body: Bytes) {
        self.submit(ServerCommand::SendEvent { prog, vers, proc_, body });
    }

    /// Closes the connection once everything queued before is sent.
    fn close(&self) {
        self.submit(ServerCommand::Close);
    }
}

/// Sending side of one server stream, borrowed from its [`ServerConnection`].
#[derive(Debug)]
pub struct ServerStream<'a> {
    conn: &'a mut ServerConnection,
    serial: u32,
}

impl ServerStream<'_> {
    fn header(&self) -> Result<Header, ReplyError> {
        self.conn.streams.get(&self.serial).map(|s| s.header).ok_or(ReplyError::UnknownStream(self.serial))
    }

    /// Sends data (`STREAM`/`CONTINUE`) in chunks of at most 262120 bytes, sharing `data`'s
    /// memory.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn send(&mut self, data: Bytes) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Continue);
        let mut data = data;
        while !data.is_empty() {
            let chunk = data.split_to(data.len().min(VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX));
            self.conn.out.push_frame_shared(&header, chunk);
        }
        Ok(())
    }

    /// Sends a sparse hole (`STREAM_HOLE`/`CONTINUE`).
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn send_hole(&mut self, hole: StreamHole) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::StreamHole, MessageStatus::Continue);
        encode_frame(self.conn.out.buf(), &header, &hole).map_err(ReplyError::Encode)
    }

    /// Sends the end-of-stream marker of a read stream (an empty `STREAM`/`CONTINUE`). The
    /// stream stays open until the client finishes it.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn send_eof(&mut self) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Continue);
        self.conn.out.push_frame(&header, &[]);
        Ok(())
    }

    /// Confirms the client's finish or abort (`STREAM`/`OK`, empty) and forgets the stream.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn finish(self) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Ok);
        self.conn.out.push_frame(&header, &[]);
        self.conn.streams.remove(&self.serial);
        Ok(())
    }

    /// Fails the stream (`STREAM`/`ERROR` with `remote_error`) and forgets it.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn error(self, error: &RemoteError) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Error);
        self.conn.push_error(header, error);
        self.conn.streams.remove(&self.serial);
        Ok(())
    }
}
