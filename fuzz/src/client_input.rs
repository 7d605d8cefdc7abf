//! `client_handle_input`: a client connection making calls and fed a peer's wire bytes in chunks.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proto_core::client::{CallSpec, StreamError};
use proto_core::frame::{FrameDecoder, MessageType};
use proto_core::program::{KEEPALIVE_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM};
use proto_core::xdr;
use proto_core::{
    CallError, ClientConfig, ClientConnection, ClientEvent, KeepaliveConfig, StreamDirection, StreamHole, XdrString,
};

use crate::{
    t, tracing, Ctrl, OutputCheck, Split, PROC_CONNECT_GET_HOSTNAME, PROC_CONNECT_OPEN, PROC_CREATE_XML_WITH_FILES,
    PROC_OPEN_GRAPHICS_FD, PROC_SUPPORTS_FEATURE, PROC_VOL_DOWNLOAD, PROC_VOL_UPLOAD, QEMU_PROC_MONITOR_COMMAND,
};

/// One call the client harness can make.
#[derive(Debug, Clone, Copy)]
pub struct ClientCall {
    /// Program.
    pub prog: u32,
    /// Version.
    pub vers: u32,
    /// Procedure.
    pub proc_: i32,
    /// Stream it opens.
    pub stream: StreamDirection,
    /// Deadline after the start, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// `CALL_WITH_FDS` count.
    pub fds: Option<u32>,
}

const fn call(prog: u32, proc_: i32) -> ClientCall {
    ClientCall { prog, vers: 1, proc_, stream: StreamDirection::None, deadline_ms: None, fds: None }
}

/// The calls the client harness makes at the start, in order: serial `i` is `CLIENT_CALLS[i]`.
/// Command 0 makes more of them (serials go on from `CLIENT_CALLS.len()`).
pub const CLIENT_CALLS: [ClientCall; 7] = [
    call(REMOTE_PROGRAM, PROC_CONNECT_OPEN),
    ClientCall { deadline_ms: Some(30_000), ..call(REMOTE_PROGRAM, PROC_SUPPORTS_FEATURE) },
    ClientCall { stream: StreamDirection::Read, ..call(REMOTE_PROGRAM, PROC_VOL_DOWNLOAD) },
    ClientCall { stream: StreamDirection::Write, deadline_ms: Some(60_000), ..call(REMOTE_PROGRAM, PROC_VOL_UPLOAD) },
    call(QEMU_PROGRAM, QEMU_PROC_MONITOR_COMMAND),
    call(REMOTE_PROGRAM, PROC_OPEN_GRAPHICS_FD),
    ClientCall { fds: Some(2), ..call(REMOTE_PROGRAM, PROC_CREATE_XML_WITH_FILES) },
];

/// The client's in-flight bound in the harness (low, so that command 0 can reach it).
pub const CLIENT_MAX_IN_FLIGHT: usize = 10;

/// The client's in-flight bound in mirror mode (captured sessions make dozens of calls).
pub const MIRROR_MAX_IN_FLIGHT: usize = 64;

/// Keepalive of both harnesses: short, so that ticks reach the dead-peer path.
pub const HARNESS_KEEPALIVE: KeepaliveConfig = KeepaliveConfig { interval: Duration::from_secs(5), count: 2 };

struct ClientHarness {
    conn: ClientConnection,
    max_in_flight: usize,
    start: Instant,
    now: Instant,
    calls_made: usize,
    issued: BTreeSet<u32>,
    stream_serials: BTreeSet<u32>,
    completed: HashSet<u32>,
    cancelled: HashSet<u32>,
    closed_seen: bool,
    out: OutputCheck,
    /// Descriptors the core kept (the adapter's queue), not yet taken by a reply.
    fd_queue: usize,
}

impl ClientHarness {
    fn make_call(&mut self, c: ClientCall) {
        let mut spec = CallSpec::new(c.prog, c.vers, c.proc_).with_stream(c.stream);
        if let Some(ms) = c.deadline_ms {
            spec = spec.with_deadline(self.start + t(ms));
        }
        if let Some(n) = c.fds {
            spec = spec.with_fds(n);
        }
        let args = OpenArgs { name: Some(XdrString::from("qemu:///system")), flags: 0 };
        let before = self.conn.next_serial();
        match self.conn.call(self.now, spec, &args) {
            Ok(serial) => {
                assert_eq!(serial, before, "serials are handed out in order");
                self.calls_made += 1;
                assert!(self.issued.insert(serial), "serial {serial} handed out twice");
                if c.stream != StreamDirection::None {
                    self.stream_serials.insert(serial);
                }
            }
            Err(CallError::TooManyInFlight(n)) => assert_eq!(n, self.max_in_flight),
            Err(CallError::Closed(_)) => assert!(self.conn.is_closed()),
            Err(e) => panic!("call failed unexpectedly: {e}"),
        }
    }

    fn drain(&mut self) {
        while let Some(tx) = self.conn.poll_transmit() {
            let issued = &self.issued;
            let streams = &self.stream_serials;
            self.out.feed(&tx, |h, _body| match h.ty {
                MessageType::Call | MessageType::CallWithFds => {
                    assert!(issued.contains(&h.serial), "transmitted a call with unknown serial {}", h.serial);
                }
                MessageType::Message => assert_eq!(h.prog, KEEPALIVE_PROGRAM, "client sent a non-keepalive MESSAGE"),
                MessageType::Stream | MessageType::StreamHole => {
                    assert!(streams.contains(&h.serial), "stream packet for serial {} that opened none", h.serial);
                }
                ty => panic!("client transmitted a {ty:?}"),
            });
        }
        assert!(!self.conn.wants_write());
        assert!(!self.out.has_partial(), "client transmitted a partial frame");
        while let Some(ev) = self.conn.poll_event() {
            if tracing() {
                eprintln!("client event: {ev:?}");
            }
            assert!(!self.closed_seen, "event after Closed: {ev:?}");
            if let ClientEvent::Reply { serial, fds, .. } = ev {
                // A reply takes its descriptors from the adapter's queue: never more than came.
                let fds = fds as usize;
                assert!(fds <= self.fd_queue, "reply {serial} takes {fds} descriptors, {} queued", self.fd_queue);
                self.fd_queue -= fds;
            }
            match ev {
                ClientEvent::Reply { serial, .. } | ClientEvent::CallFailed { serial, .. } => {
                    assert!(self.issued.contains(&serial), "completion for serial {serial} never issued");
                    assert!(!self.cancelled.contains(&serial), "completion for cancelled serial {serial}");
                    assert!(self.completed.insert(serial), "serial {serial} completed twice");
                }
                ClientEvent::StreamData { serial, .. }
                | ClientEvent::StreamHole { serial, .. }
                | ClientEvent::StreamEof { serial }
                | ClientEvent::StreamFinished { serial }
                | ClientEvent::StreamError { serial, .. } => {
                    assert!(self.stream_serials.contains(&serial), "stream event for {serial} that opened none");
                }
                ClientEvent::Event { prog, .. } => assert_ne!(prog, KEEPALIVE_PROGRAM),
                ClientEvent::Closed { .. } => self.closed_seen = true,
                _ => {}
            }
        }
        // Invariants after a full drain.
        assert_eq!(self.closed_seen, self.conn.is_closed(), "Closed event and is_closed disagree");
        assert!(self.conn.in_flight() <= self.calls_made, "more in flight than calls made");
        assert!(self.conn.in_flight() <= self.max_in_flight);
        for s in self.conn.in_flight_serials() {
            assert!(self.issued.contains(&s) && !self.completed.contains(&s) && !self.cancelled.contains(&s));
        }
        if self.conn.is_closed() {
            assert_eq!(self.conn.in_flight(), 0);
            assert_eq!(self.conn.poll_timeout(), None);
        }
    }

    fn stream_op(&mut self, op: u8, arg: u8) {
        let serials: Vec<u32> = self.stream_serials.iter().copied().collect();
        for s in serials {
            let Some(mut st) = self.conn.stream(s) else { continue };
            let r = match op {
                2 if arg == 7 => st.send(Bytes::from(vec![0x5a; 300_000])),
                2 => st.send(Bytes::from_static(b"stream data from the client")),
                3 => st.send_hole(StreamHole { length: 1 << 20, flags: 0 }),
                4 => st.finish(),
                _ => st.abort(),
            };
            match r {
                Ok(()) | Err(StreamError::NotOpen | StreamError::AlreadyFinished | StreamError::Closed(_)) => {}
                Err(e) => panic!("stream op failed unexpectedly: {e}"),
            }
        }
    }
}

/// `remote_connect_open_args`: `remote_string name; unsigned int flags;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenArgs {
    /// The URI.
    pub name: Option<XdrString>,
    /// Flags.
    pub flags: u32,
}

impl xdr::XdrEncode for OpenArgs {
    fn encode(&self, out: &mut BytesMut) -> Result<(), xdr::EncodeError> {
        self.name.encode(out)?;
        self.flags.encode(out)
    }
}

/// The calls a captured server-to-client byte stream answers: for serial 0, 1, … (as long as
/// replies or stream packets name them, at most [`CLIENT_MAX_IN_FLIGHT`]), a call of the
/// procedure its reply names, opening a stream when stream packets carry its serial. At most
/// [`MIRROR_MAX_IN_FLIGHT`] calls.
#[must_use]
pub fn mirror_calls(wire: &[u8]) -> Vec<ClientCall> {
    let mut d = FrameDecoder::new();
    d.push(wire);
    let mut calls: Vec<Option<ClientCall>> = vec![None; MIRROR_MAX_IN_FLIGHT];
    while let Ok(Some(msg)) = d.next_message() {
        let Ok(raw) = proto_core::frame::RawHeader::decode(&msg) else { break };
        let stream = match MessageType::from_wire(raw.ty) {
            Some(MessageType::Stream | MessageType::StreamHole) => true,
            Some(MessageType::Reply | MessageType::ReplyWithFds) => false,
            _ => continue,
        };
        let Some(slot) = calls.get_mut(raw.serial as usize) else { continue };
        let c = slot.get_or_insert(ClientCall { vers: raw.vers, ..call(raw.prog, raw.proc_) });
        if stream {
            c.stream = StreamDirection::Read;
        }
    }
    let n = calls.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    calls.truncate(n);
    calls.into_iter().map(|c| c.unwrap_or(call(REMOTE_PROGRAM, PROC_CONNECT_GET_HOSTNAME))).collect()
}

/// `client_handle_input`: a client with [`CLIENT_CALLS`] in flight (or, in mirror mode, the
/// [`mirror_calls`] of the wire) is fed the wire bytes in the chunks the control bytes choose,
/// with time passing and commands in between. The connection is a unix socket's: a chunk of `n`
/// bytes comes with `n % 3` descriptors, and replies never take more than the core kept.
///
/// Control commands (`Ctrl::cmd(op, arg)`): 0 call `CLIENT_CALLS[arg % 7]`; 1 cancel the
/// `arg`-th issued serial; 2 send data on every stream (300 kB when `arg` = 7); 3 send a hole;
/// 4 finish; 5 abort; 6 jump to `poll_timeout` and fire it; 7 feed `(arg + 1) KiB`, or EOF when
/// `arg` = 7.
pub fn run_client(data: &[u8]) {
    let Split { mirror, ctrl, wire } = Split::parse(data);
    let start = Instant::now();
    let max_in_flight = if mirror { MIRROR_MAX_IN_FLIGHT } else { CLIENT_MAX_IN_FLIGHT };
    // A unix socket: descriptors may come with any read (`Ctrl::Feed(n)` brings `n % 3`).
    let config = ClientConfig::default()
        .with_max_in_flight(max_in_flight)
        .with_keepalive(Some(HARNESS_KEEPALIVE))
        .with_fd_passing(true);
    let mut h = ClientHarness {
        conn: ClientConnection::new(config, start),
        max_in_flight,
        start,
        now: start,
        calls_made: 0,
        issued: BTreeSet::new(),
        stream_serials: BTreeSet::new(),
        completed: HashSet::new(),
        cancelled: HashSet::new(),
        closed_seen: false,
        out: OutputCheck::default(),
        fd_queue: 0,
    };
    let first = if mirror { mirror_calls(wire) } else { CLIENT_CALLS.to_vec() };
    let n = first.len();
    for c in first {
        h.make_call(c);
    }
    assert_eq!(h.conn.in_flight(), n);
    h.drain();

    let mut wire = wire;
    let mut feed = |h: &mut ClientHarness, n: usize, fds: usize| {
        let n = n.min(wire.len());
        let (chunk, rest) = wire.split_at(n);
        wire = rest;
        let kept = h.conn.handle_input_fds(h.now, chunk, fds);
        assert!(kept <= fds, "keep {kept} of {fds} descriptors");
        h.fd_queue += kept;
    };
    for &b in ctrl {
        match Ctrl::from_byte(b) {
            Ctrl::Feed(n) => feed(&mut h, n, n % 3),
            Ctrl::Tick(d) => {
                h.now += d;
                h.conn.handle_timeout(h.now);
            }
            Ctrl::Cmd { op: 0, arg } => h.make_call(CLIENT_CALLS[usize::from(arg) % CLIENT_CALLS.len()]),
            Ctrl::Cmd { op: 1, arg } => {
                if let Some(&s) = h.issued.iter().nth(usize::from(arg) % h.issued.len().max(1)) {
                    let was = h.conn.is_in_flight(s);
                    assert_eq!(h.conn.cancel(s), was);
                    if was {
                        assert!(!h.completed.contains(&s));
                        h.cancelled.insert(s);
                    }
                }
            }
            Ctrl::Cmd { op: op @ 2..=5, arg } => h.stream_op(op, arg),
            Ctrl::Cmd { op: 6, .. } => {
                if let Some(at) = h.conn.poll_timeout() {
                    h.now = h.now.max(at);
                    h.conn.handle_timeout(h.now);
                }
            }
            Ctrl::Cmd { arg: 7, .. } => h.conn.handle_eof(h.now),
            Ctrl::Cmd { arg, .. } => feed(&mut h, (usize::from(arg) + 1) * 1024, 0),
        }
        h.drain();
    }
    h.conn.handle_input(h.now, wire);
    h.drain();
    if let Some(at) = h.conn.poll_timeout() {
        h.now = h.now.max(at);
        h.conn.handle_timeout(h.now);
        h.drain();
    }
    h.conn.handle_eof(h.now);
    h.drain();
    assert!(h.closed_seen);
    // Sticky: nothing more happens after Closed.
    h.conn.handle_input(h.now, b"\0\0\0\x1c");
    h.conn.handle_timeout(h.now + t(3_600_000));
    h.drain();
}
