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

mod command;
mod config;
mod event;
mod incoming;
mod stream;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use crate::error::RemoteError;
use crate::frame::{encode_frame, encode_frame_with, FrameDecoder, Header, MessageStatus, MessageType};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::program::KEEPALIVE_PROC_PING;
use crate::transmit::Outgoing;
use crate::xdr::{EncodeError, XdrEncode};
use crate::ConnectionError;

pub use command::{CommandSink, ServerCommand};
pub use config::{ServedProgram, ServerConfig};
pub use event::{CallId, IgnoredReason, ReplyError, ServerEvent};
use incoming::is_stream_packet;
pub use stream::ServerStream;
use stream::ServerStreamState;

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
}

fn encode_failure() -> RemoteError {
    RemoteError::rpc("Unable to encode message payload")
}
