//! `ClientConnection`: the client side of one libvirt RPC connection, as a pure state machine
//! (`src/rpc/virnetclient.c`, `src/rpc/virnetclientstream.c`, `src/remote/remote_driver.c`;
//! `protocol-facts.md` §2, §4, §5).
//!
//! # The drive loop
//!
//! An adapter owns the socket and the clock and runs, after every change:
//!
//! 1. feed what it read: [`ClientConnection::handle_input`] (or [`ClientConnection::handle_eof`]);
//!    when [`ClientConnection::poll_timeout`] has passed, [`ClientConnection::handle_timeout`]
//!    with the *current* time (keepalive, call deadlines);
//! 2. write everything [`ClientConnection::poll_transmit`] returns, in order;
//! 3. take every [`ClientEvent`] from [`ClientConnection::poll_event`];
//! 4. arm one timer at [`ClientConnection::poll_timeout`], then wait for the socket or the timer.
//!
//! Processing happens only in the `handle_*` calls, with the time passed in; the `poll_*` calls
//! only drain (taking an event never queues bytes), so the order above leaves nothing unsent.
//! Time passed in must never go backwards. Calls ([`ClientConnection::call`]) may be made at
//! any point; they only queue bytes (and take their `now` for the call's deadline).
//!
//! ```
//! use std::time::Instant;
//! use proto_core::{ClientConfig, ClientConnection, ClientEvent, ServerConfig, ServerConnection, ServerEvent};
//! use proto_core::client::CallSpec;
//!
//! let now = Instant::now();
//! let mut client = ClientConnection::new(ClientConfig::default(), now);
//! let mut server = ServerConnection::new(ServerConfig::default(), now);
//! // REMOTE_PROC_CONNECT_GET_HOSTNAME (59): void args.
//! let serial = client.call(now, CallSpec::remote(59), &()).unwrap();
//! while let Some(bytes) = client.poll_transmit() {
//!     server.handle_input(now, &bytes);
//! }
//! let Some(ServerEvent::Call { id, .. }) = server.poll_event() else { panic!() };
//! server.reply(id, &proto_core::XdrString::from("host")).unwrap();
//! while let Some(bytes) = server.poll_transmit() {
//!     client.handle_input(now, &bytes);
//! }
//! let Some(ClientEvent::Reply { serial: s, body, .. }) = client.poll_event() else { panic!() };
//! assert_eq!(s, serial);
//! let host: proto_core::XdrString = proto_core::xdr::from_bytes(body).unwrap();
//! assert_eq!(host, "host");
//! ```

mod fds;
mod stream;

pub use stream::{ClientStream, StreamError};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::error::RemoteError;
use crate::frame::{encode_frame_with, Frame, FrameDecoder, Header, MessageStatus, MessageType, StreamHole};
use crate::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::program::{
    Procedure, StreamDirection, KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, REMOTE_PROGRAM,
    REMOTE_PROTOCOL_VERSION,
};
use crate::transmit::Outgoing;
use crate::xdr::{self, XdrEncode};
use crate::{CallError, ConnectionError, ProtocolError};

/// Settings of a [`ClientConnection`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Most calls awaiting a reply at once; [`ClientConnection::call`] refuses more.
    pub max_in_flight: usize,
    /// Keepalive from the start. Usually `None` here and turned on with
    /// [`ClientConnection::set_keepalive`] once the server accepted
    /// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`, as libvirt's client does.
    pub keepalive: Option<KeepaliveConfig>,
    /// Whether the transport passes descriptors (a unix socket): the adapter reads with
    /// [`ClientConnection::handle_input_fds`]. Elsewhere a reply announcing descriptors fails
    /// the connection, as libvirt's client does.
    pub fd_passing: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self { max_in_flight: 4096, keepalive: None, fd_passing: false }
    }
}

impl ClientConfig {
    /// Sets [`ClientConfig::max_in_flight`].
    #[must_use]
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// Sets [`ClientConfig::keepalive`].
    #[must_use]
    pub fn with_keepalive(mut self, k: Option<KeepaliveConfig>) -> Self {
        self.keepalive = k;
        self
    }

    /// Sets [`ClientConfig::fd_passing`].
    #[must_use]
    pub fn with_fd_passing(mut self, on: bool) -> Self {
        self.fd_passing = on;
        self
    }
}

/// What to call: program, version, procedure, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSpec {
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number.
    pub proc_: i32,
    /// The stream this call opens, if any: stream packets with its serial are then accepted.
    pub stream: StreamDirection,
    /// When set, the call fails with [`CallError::TimedOut`] if no reply came by then.
    pub deadline: Option<Instant>,
    /// For `VIR_NET_CALL_WITH_FDS`: how many descriptors the adapter sends after the message.
    pub fds: Option<u32>,
}

impl CallSpec {
    /// A plain call of any program's procedure.
    #[must_use]
    pub const fn new(prog: u32, vers: u32, proc_: i32) -> Self {
        Self { prog, vers, proc_, stream: StreamDirection::None, deadline: None, fds: None }
    }

    /// A plain call of a `REMOTE_PROGRAM` procedure.
    #[must_use]
    pub const fn remote(proc_: i32) -> Self {
        Self::new(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc_)
    }

    /// The call of a generated procedure, with its stream direction.
    #[must_use]
    pub const fn of<P: Procedure>() -> Self {
        Self { stream: P::STREAM, ..Self::new(P::PROGRAM, P::VERSION, P::NUMBER) }
    }

    /// Sets a deadline.
    #[must_use]
    pub const fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Marks the call as opening a stream.
    #[must_use]
    pub const fn with_stream(mut self, stream: StreamDirection) -> Self {
        self.stream = stream;
        self
    }

    /// Sends the call as `VIR_NET_CALL_WITH_FDS` announcing `n` descriptors.
    #[must_use]
    pub const fn with_fds(mut self, n: u32) -> Self {
        self.fds = Some(n);
        self
    }
}

/// What a [`ClientConnection`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A successful reply: the procedure's `_ret` body, a slice of the received frame.
    Reply {
        /// The call's serial.
        serial: u32,
        /// Descriptors the reply carried (`VIR_NET_REPLY_WITH_FDS`): the first `fds` of the
        /// adapter's queue (see [`ClientConnection::handle_input_fds`]).
        fds: u32,
        /// The encoded return value.
        body: Bytes,
    },
    /// A call failed: the server's error reply, a deadline, or the connection closing.
    CallFailed {
        /// The call's serial.
        serial: u32,
        /// Why.
        error: CallError,
    },
    /// An asynchronous event (a `VIR_NET_MESSAGE` that is not keepalive), never a reply.
    Event {
        /// Program (`REMOTE_PROGRAM` for domain events, `QEMU_PROGRAM` for monitor events).
        prog: u32,
        /// Version.
        vers: u32,
        /// The event procedure, e.g. 318 `REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE`.
        proc_: i32,
        /// The encoded `_msg` body.
        body: Bytes,
    },
    /// Stream data from the server.
    StreamData {
        /// The serial of the call that opened the stream.
        serial: u32,
        /// The bytes, a slice of the received frame.
        data: Bytes,
    },
    /// A sparse hole from the server.
    StreamHole {
        /// The stream's serial.
        serial: u32,
        /// The hole.
        hole: StreamHole,
    },
    /// The server's end-of-stream marker (an empty `CONTINUE` packet); finish the stream next.
    StreamEof {
        /// The stream's serial.
        serial: u32,
    },
    /// The server confirmed this side's finish or abort (`STREAM`/`OK`); the stream is gone.
    StreamFinished {
        /// The stream's serial.
        serial: u32,
    },
    /// The stream failed on the server; the stream is gone.
    StreamError {
        /// The stream's serial.
        serial: u32,
        /// The server's error (boxed: it is large and rare).
        error: Box<RemoteError>,
    },
    /// The connection is closed; this is the last event. Every pending call was failed first.
    Closed {
        /// Why.
        reason: ConnectionError,
    },
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    prog: u32,
    vers: u32,
    proc_: i32,
    deadline: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct StreamState {
    header: Header,
    /// The opening call was answered with OK: packets may be sent.
    open: bool,
    /// This side sent finish or abort: nothing more may be sent.
    local_done: bool,
}

/// The client side of a libvirt RPC connection. See the [module docs](self) for the drive loop.
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    decoder: FrameDecoder,
    out: Outgoing,
    events: VecDeque<ClientEvent>,
    next_serial: u32,
    issued: u64,
    pending: HashMap<u32, Pending>,
    deadlines: BTreeSet<(Instant, u32)>,
    streams: HashMap<u32, StreamState>,
    keepalive: Keepalive,
    closed: Option<ConnectionError>,
    late_replies: u64,
    fds: fds::ReplyFds,
}

impl ClientConnection {
    /// A new connection. `now` starts the keepalive timer when the config enables it.
    #[must_use]
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        let mut keepalive = Keepalive::default();
        keepalive.set(now, config.keepalive);
        let fds = fds::ReplyFds::new(config.fd_passing);
        Self {
            config,
            decoder: FrameDecoder::new(),
            out: Outgoing::default(),
            events: VecDeque::new(),
            next_serial: 0,
            issued: 0,
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            streams: HashMap::new(),
            keepalive,
            closed: None,
            late_replies: 0,
            fds,
        }
    }

    // ----------------------------------------------------------------------------------------
    // Inputs

    /// Feeds bytes read from the transport.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.handle_input_fds(now, data, 0);
    }

    /// Feeds bytes read from a unix socket with the `fds` descriptors that came with them
    /// (`SCM_RIGHTS`), which the adapter appended to its queue of descriptors. Returns how
    /// many of them to keep: the adapter closes the others (the last it appended). A
    /// [`ClientEvent::Reply`] takes the first `fds` of the queue.
    pub fn handle_input_fds(&mut self, now: Instant, data: &[u8], fds: usize) -> usize {
        self.fds.begin(fds);
        if self.closed.is_none() && !data.is_empty() {
            self.decoder.push(data);
            self.read_messages(now);
        }
        self.fds.end()
    }

    fn read_messages(&mut self, now: Instant) {
        loop {
            let carriers = self.decoder.fd_carriers_left();
            let next = self.decoder.next_message();
            match self.fds.carriers(carriers - self.decoder.fd_carriers_left()) {
                Ok(reply) => reply.into_iter().for_each(|ev| self.deliver(ev)),
                Err(e) => return self.fail(ConnectionError::Protocol(e)),
            }
            match next {
                Ok(Some(msg)) => {
                    self.keepalive.on_input(now);
                    if let Err(e) = self.handle_message(msg) {
                        self.fail(ConnectionError::Protocol(e));
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.fail(ConnectionError::Protocol(e.into()));
                    return;
                }
            }
        }
    }

    /// Tells the connection that time passed; fires due keepalive and call deadlines. Calling it
    /// early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        while let Some(&(at, serial)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if self.pending.remove(&serial).is_some() {
                self.fds.forget(Some(serial));
                self.streams.remove(&serial);
                self.events.push_back(ClientEvent::CallFailed { serial, error: CallError::TimedOut });
            }
        }
        match self.keepalive.on_timeout(now) {
            KeepaliveAction::Nothing => {}
            KeepaliveAction::SendPing => self.send_keepalive(KEEPALIVE_PROC_PING),
            KeepaliveAction::Dead => self.fail(ConnectionError::KeepaliveTimeout),
        }
    }

    /// The transport reached end of file.
    pub fn handle_eof(&mut self, _now: Instant) {
        if self.closed.is_some() {
            return;
        }
        let reason = crate::eof_reason(&self.decoder);
        self.fail(reason);
    }

    // ----------------------------------------------------------------------------------------
    // Commands

    /// Starts a call: assigns the next serial (libvirt's: from 0, +1 per call), encodes the frame
    /// into the transmit queue, and records the call as in flight.
    ///
    /// # Errors
    /// When the connection is closed, too many calls are in flight, or `args` cannot be encoded.
    pub fn call<A: XdrEncode + ?Sized>(&mut self, _now: Instant, spec: CallSpec, args: &A) -> Result<u32, CallError> {
        self.call_with(spec, |out| args.encode(out))
    }

    /// Starts a call whose arguments are already encoded (the raw escape hatch: any procedure,
    /// known or not).
    ///
    /// # Errors
    /// As [`ClientConnection::call`].
    pub fn call_raw(&mut self, _now: Instant, spec: CallSpec, args: &[u8]) -> Result<u32, CallError> {
        self.call_with(spec, |out| {
            out.extend_from_slice(args);
            Ok(())
        })
    }

    /// Starts a call of a generated procedure.
    ///
    /// # Errors
    /// As [`ClientConnection::call`].
    pub fn call_procedure<P: Procedure>(
        &mut self,
        now: Instant,
        args: &P::Args,
        deadline: Option<Instant>,
    ) -> Result<u32, CallError> {
        let mut spec = CallSpec::of::<P>();
        spec.deadline = deadline;
        self.call(now, spec, args)
    }

    fn call_with(
        &mut self,
        spec: CallSpec,
        encode: impl FnOnce(&mut BytesMut) -> Result<(), xdr::EncodeError>,
    ) -> Result<u32, CallError> {
        if let Some(reason) = &self.closed {
            return Err(CallError::Closed(reason.clone()));
        }
        if self.pending.len() >= self.config.max_in_flight {
            return Err(CallError::TooManyInFlight(self.pending.len()));
        }
        let mut serial = self.next_serial;
        // After 2^32 calls a serial could still be waiting; skip it rather than confuse replies.
        while self.pending.contains_key(&serial) || self.streams.contains_key(&serial) {
            serial = serial.wrapping_add(1);
        }
        let (ty, fds) = match spec.fds {
            Some(n) => (MessageType::CallWithFds, Some(n)),
            None => (MessageType::Call, None),
        };
        let header =
            Header { prog: spec.prog, vers: spec.vers, proc_: spec.proc_, ty, serial, status: MessageStatus::Ok };
        encode_frame_with(self.out.buf(), &header, |out| {
            if let Some(n) = fds {
                n.encode(out)?;
            }
            encode(out)
        })?;
        self.next_serial = serial.wrapping_add(1);
        self.issued += 1;
        self.pending
            .insert(serial, Pending { prog: spec.prog, vers: spec.vers, proc_: spec.proc_, deadline: spec.deadline });
        if let Some(d) = spec.deadline {
            self.deadlines.insert((d, serial));
        }
        if spec.stream != StreamDirection::None {
            let header = header.with(MessageType::Stream, MessageStatus::Continue);
            self.streams.insert(serial, StreamState { header, open: false, local_done: false });
        }
        Ok(serial)
    }

    /// Cancels a call: its slot is freed at once and its reply, should it come, is dropped.
    /// Returns whether the call was in flight.
    pub fn cancel(&mut self, serial: u32) -> bool {
        let Some(p) = self.pending.remove(&serial) else {
            return false;
        };
        if let Some(d) = p.deadline {
            self.deadlines.remove(&(d, serial));
        }
        self.streams.remove(&serial);
        self.fds.forget(Some(serial));
        true
    }

    /// The stream opened by the call with this serial, to send on it.
    #[must_use]
    pub fn stream(&mut self, serial: u32) -> Option<ClientStream<'_>> {
        if self.streams.contains_key(&serial) {
            Some(ClientStream { conn: self, serial })
        } else {
            None
        }
    }

    /// Turns keepalive on (or off with `None`), as `virConnectSetKeepAlive` does; only
    /// meaningful once the server accepted `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
    pub fn set_keepalive(&mut self, now: Instant, config: Option<KeepaliveConfig>) {
        self.keepalive.set(now, config);
    }

    /// Closes the connection locally: pending calls fail with
    /// [`ConnectionError::LocallyClosed`]; bytes already queued can still be transmitted.
    pub fn close(&mut self, _now: Instant) {
        if self.closed.is_none() {
            self.fail(ConnectionError::LocallyClosed);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Outputs

    /// The next bytes to write, in order. Small frames are batched into one buffer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop()
    }

    /// Everything queued to write, in order (what [`ClientConnection::poll_transmit`] gives
    /// until it gives nothing).
    pub fn drain_transmit(&mut self) -> impl Iterator<Item = Bytes> + '_ {
        std::iter::from_fn(|| self.out.pop())
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`ClientConnection::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        let call = self.deadlines.first().map(|&(at, _)| at);
        match (call, self.keepalive.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Getters

    /// Whether bytes are waiting in [`ClientConnection::poll_transmit`].
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Bytes waiting to be transmitted (for backpressure on stream senders).
    #[must_use]
    pub fn transmit_buffered(&self) -> usize {
        self.out.len()
    }

    /// Calls awaiting a reply.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Whether a call with this serial awaits its reply.
    #[must_use]
    pub fn is_in_flight(&self, serial: u32) -> bool {
        self.pending.contains_key(&serial)
    }

    /// The serials awaiting a reply, in no particular order.
    pub fn in_flight_serials(&self) -> impl Iterator<Item = u32> + '_ {
        self.pending.keys().copied()
    }

    /// The serial the next call will get.
    #[must_use]
    pub fn next_serial(&self) -> u32 {
        self.next_serial
    }

    /// Whether the connection is closed (a `Closed` event was queued).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Why the connection closed, if it did.
    #[must_use]
    pub fn close_reason(&self) -> Option<&ConnectionError> {
        self.closed.as_ref()
    }

    /// Replies that came after their call was cancelled or timed out, and were dropped.
    #[must_use]
    pub fn late_replies(&self) -> u64 {
        self.late_replies
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    fn fail(&mut self, reason: ConnectionError) {
        if self.closed.is_some() {
            return;
        }
        self.fds.forget(None);
        let mut serials: Vec<u32> = self.pending.keys().copied().collect();
        serials.sort_unstable();
        for serial in serials {
            self.events.push_back(ClientEvent::CallFailed { serial, error: CallError::Closed(reason.clone()) });
        }
        self.pending.clear();
        self.deadlines.clear();
        self.streams.clear();
        self.events.push_back(ClientEvent::Closed { reason: reason.clone() });
        self.closed = Some(reason);
    }

    fn send_keepalive(&mut self, proc_: i32) {
        self.out.push_keepalive(proc_);
    }

    /// Whether `serial` was handed out by this connection (within the last 2^31 calls).
    fn was_issued(&self, serial: u32) -> bool {
        let age = self.next_serial.wrapping_sub(serial);
        age >= 1 && u64::from(age) <= self.issued.min(1 << 31)
    }

    fn handle_message(&mut self, msg: Bytes) -> Result<(), ProtocolError> {
        let Frame { header, body } = {
            let header = Header::decode(&msg)?;
            Frame { header, body: msg.slice(crate::frame::VIR_NET_MESSAGE_HEADER_MAX..) }
        };
        match header.ty {
            MessageType::Reply | MessageType::ReplyWithFds => self.handle_reply(header, body),
            MessageType::Message => {
                if header.prog == KEEPALIVE_PROGRAM {
                    // PING is answered at once; PONG and unknown keepalive procs only count as
                    // input, which the caller already recorded.
                    if header.proc_ == KEEPALIVE_PROC_PING {
                        self.send_keepalive(KEEPALIVE_PROC_PONG);
                    }
                } else {
                    self.events.push_back(ClientEvent::Event {
                        prog: header.prog,
                        vers: header.vers,
                        proc_: header.proc_,
                        body,
                    });
                }
                Ok(())
            }
            MessageType::Stream | MessageType::StreamHole => self.handle_stream(header, body),
            MessageType::Call | MessageType::CallWithFds => Err(ProtocolError::UnexpectedMessageType { ty: header.ty }),
        }
    }

    fn handle_reply(&mut self, header: Header, body: Bytes) -> Result<(), ProtocolError> {
        let serial = header.serial;
        let matches = self
            .pending
            .get(&serial)
            .is_some_and(|p| p.prog == header.prog && p.vers == header.vers && p.proc_ == header.proc_);
        if !matches && (self.pending.contains_key(&serial) || !self.was_issued(serial)) {
            return Err(ProtocolError::UnexpectedReply { serial });
        }
        let (fds, body) = (Frame { header, body }).split_fds().map_err(ProtocolError::Decode)?;
        // The descriptors' one-byte carriers follow the message on the stream: not a message.
        self.decoder.skip_fd_carriers(fds as usize);
        if !matches {
            // A cancelled or timed-out call's reply: dropped, and its descriptors closed.
            self.late_replies += 1;
            return self.fds.announce(fds, None).map(drop);
        }
        let event = match header.status {
            MessageStatus::Ok => {
                if let Some(s) = self.streams.get_mut(&serial) {
                    s.open = true;
                }
                // Delivered once its descriptors came, as libvirt dispatches it: the call is in
                // flight until then.
                self.fds.announce(fds, Some(ClientEvent::Reply { serial, fds, body }))?
            }
            MessageStatus::Error => {
                self.streams.remove(&serial);
                let error = match xdr::from_bytes::<RemoteError>(body) {
                    Ok(e) => CallError::Remote(Box::new(e)),
                    Err(e) => CallError::Decode(e),
                };
                self.fds.announce(fds, None)?;
                Some(ClientEvent::CallFailed { serial, error })
            }
            MessageStatus::Continue => return Err(ProtocolError::UnexpectedStatus { status: header.status }),
        };
        event.into_iter().for_each(|ev| self.deliver(ev));
        Ok(())
    }

    /// Hands out a call's outcome: the call is no longer in flight.
    fn deliver(&mut self, event: ClientEvent) {
        if let ClientEvent::Reply { serial, .. } | ClientEvent::CallFailed { serial, .. } = &event {
            if let Some(p) = self.pending.remove(serial) {
                if let Some(d) = p.deadline {
                    self.deadlines.remove(&(d, *serial));
                }
            }
        }
        self.events.push_back(event);
    }

    fn handle_stream(&mut self, header: Header, body: Bytes) -> Result<(), ProtocolError> {
        let serial = header.serial;
        let known = self.streams.get(&serial).is_some_and(|s| {
            s.header.prog == header.prog && s.header.vers == header.vers && s.header.proc_ == header.proc_
        });
        if !known {
            // libvirt's client ignores packets for streams it does not know.
            return Ok(());
        }
        let event = match (header.ty, header.status) {
            (MessageType::StreamHole, _) => {
                let hole = xdr::from_bytes::<StreamHole>(body)?;
                ClientEvent::StreamHole { serial, hole }
            }
            (_, MessageStatus::Continue) if body.is_empty() => ClientEvent::StreamEof { serial },
            (_, MessageStatus::Continue) => ClientEvent::StreamData { serial, data: body },
            (_, MessageStatus::Ok) => {
                self.streams.remove(&serial);
                ClientEvent::StreamFinished { serial }
            }
            (_, MessageStatus::Error) => {
                self.streams.remove(&serial);
                let error = Box::new(xdr::from_bytes::<RemoteError>(body)?);
                ClientEvent::StreamError { serial, error }
            }
        };
        self.events.push_back(event);
        Ok(())
    }
}
