//! The harnesses behind the fuzz targets, kept in a library so that `gen_seeds` can run every
//! seed through them in a plain (non-libFuzzer) build, and so that a crash found by a target can
//! be replayed with a normal debugger.
//!
//! # Input layout
//!
//! `decode_frame`: `[split: u16 BE] [wire bytes…]`.
//!
//! `client_handle_input` / `server_handle_input`: `[mirror: 1 bit, n: 7 bits] [n control bytes]
//! [wire bytes…]`. The wire bytes are what the peer sends; the control bytes decide how they are
//! chunked and what happens between chunks (time passing, commands on the connection). See
//! [`Ctrl`] and [`Split`].

pub mod targets;

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proto_core::client::{CallSpec, StreamError};
use proto_core::frame::{encode_frame_raw, FrameDecoder, Header, MessageStatus, MessageType};
use proto_core::program::{KEEPALIVE_PROGRAM, QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, REMOTE_PROGRAM};
use proto_core::server::ReplyError;
use proto_core::xdr::{self, XdrReader};
use proto_core::{
    CallError, ClientConfig, ClientConnection, ClientEvent, ErrorCode, ErrorDomain, KeepaliveConfig, RemoteError,
    ServerConfig, ServerConnection, ServerEvent, StreamDirection, StreamHole, XdrString,
};

// ---------------------------------------------------------------------------------------------
// Shared bits

/// `REMOTE_PROC_CONNECT_OPEN`.
pub const PROC_CONNECT_OPEN: i32 = 1;
/// `REMOTE_PROC_CONNECT_GET_HOSTNAME`.
pub const PROC_CONNECT_GET_HOSTNAME: i32 = 59;
/// `REMOTE_PROC_CONNECT_SUPPORTS_FEATURE`.
pub const PROC_SUPPORTS_FEATURE: i32 = 60;
/// `REMOTE_PROC_STORAGE_VOL_UPLOAD` (`@writestream`).
pub const PROC_VOL_UPLOAD: i32 = 208;
/// `REMOTE_PROC_STORAGE_VOL_DOWNLOAD` (`@readstream`).
pub const PROC_VOL_DOWNLOAD: i32 = 209;
/// `REMOTE_PROC_DOMAIN_GET_STATE`.
pub const PROC_DOMAIN_GET_STATE: i32 = 212;
/// `REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES` (sent as `CALL_WITH_FDS`).
pub const PROC_CREATE_XML_WITH_FILES: i32 = 309;
/// `REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE`.
pub const PROC_EVENT_LIFECYCLE: i32 = 318;
/// `REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD` (answered with `REPLY_WITH_FDS`).
pub const PROC_OPEN_GRAPHICS_FD: i32 = 343;
/// `QEMU_PROC_DOMAIN_MONITOR_COMMAND`.
pub const QEMU_PROC_MONITOR_COMMAND: i32 = 1;

/// A fuzz input split into a mode flag, control bytes and wire bytes.
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// Bit 7 of the first byte: the target's alternative mode (the client mirrors the calls the
    /// wire's replies answer; the server opens a stream for every call).
    pub mirror: bool,
    /// The control bytes.
    pub ctrl: &'a [u8],
    /// The bytes the peer sends.
    pub wire: &'a [u8],
}

impl<'a> Split<'a> {
    /// `[mirror:1 n:7] [n control bytes] [wire…]`; a short input gives fewer control bytes.
    #[must_use]
    pub fn parse(data: &'a [u8]) -> Self {
        let Some((&b, rest)) = data.split_first() else {
            return Self { mirror: false, ctrl: &[], wire: &[] };
        };
        let n = usize::from(b & 0x7f).min(rest.len());
        Self { mirror: b & 0x80 != 0, ctrl: &rest[..n], wire: &rest[n..] }
    }

    /// The inverse of [`Split::parse`] (for the seed generator).
    #[must_use]
    pub fn build(mirror: bool, ctrl: &[u8], wire: &[u8]) -> Vec<u8> {
        assert!(ctrl.len() <= 127);
        let mut v = Vec::with_capacity(1 + ctrl.len() + wire.len());
        v.push(ctrl.len() as u8 | if mirror { 0x80 } else { 0 });
        v.extend_from_slice(ctrl);
        v.extend_from_slice(wire);
        v
    }
}

/// What one control byte asks for.
///
/// - `0b0xxx_xxxx`: feed the next `x + 1` wire bytes (1..=128);
/// - `0b10tt_tttt`: let `t × 200 ms` pass, then `handle_timeout`;
/// - `0b11aa_aooo`: command `o` with argument `a` (0..=7), target-specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctrl {
    /// Feed this many wire bytes.
    Feed(usize),
    /// Advance the clock by this much and call `handle_timeout`.
    Tick(Duration),
    /// A target-specific command.
    Cmd {
        /// Which command (0..=7).
        op: u8,
        /// Its argument (0..=7).
        arg: u8,
    },
}

impl Ctrl {
    /// Decodes one control byte.
    #[must_use]
    pub fn from_byte(b: u8) -> Self {
        match b >> 6 {
            0 | 1 => Self::Feed(usize::from(b & 0x7f) + 1),
            2 => Self::Tick(Duration::from_millis(200) * u32::from(b & 0x3f)),
            _ => Self::Cmd { op: b & 7, arg: (b >> 3) & 7 },
        }
    }

    /// Encodes a feed of `n` (1..=128) bytes.
    #[must_use]
    pub fn feed(n: usize) -> u8 {
        assert!((1..=128).contains(&n));
        (n - 1) as u8
    }

    /// Encodes a tick of `t × 200 ms` (t ≤ 63).
    #[must_use]
    pub fn tick(t: u8) -> u8 {
        0x80 | (t & 0x3f)
    }

    /// Encodes a command.
    #[must_use]
    pub fn cmd(op: u8, arg: u8) -> u8 {
        0xc0 | ((arg & 7) << 3) | (op & 7)
    }
}

/// Checks that everything a connection transmits deframes into well-formed messages.
#[derive(Debug, Default)]
pub struct OutputCheck {
    dec: FrameDecoder,
    /// Whole messages seen.
    pub frames: usize,
}

impl OutputCheck {
    /// Feeds transmitted bytes; `check` is called on every whole frame.
    pub fn feed(&mut self, bytes: &[u8], mut check: impl FnMut(&Header, &Bytes)) {
        self.dec.push(bytes);
        loop {
            match self.dec.next_frame() {
                Ok(Some(f)) => {
                    self.frames += 1;
                    check(&f.header, &f.body);
                }
                Ok(None) => return,
                Err(e) => panic!("the core transmitted an undecodable frame: {e}"),
            }
        }
    }

    /// Whether a partial message is left over.
    #[must_use]
    pub fn has_partial(&self) -> bool {
        self.dec.has_partial()
    }
}

fn assert_error_body(h: &Header, body: &Bytes) {
    if let Err(e) = xdr::from_bytes_exact::<RemoteError>(body.clone()) {
        panic!("{h:?}: error body is not exactly one remote_error: {e}");
    }
}

/// Whether `FUZZ_TRACE` is set: the harnesses then print every event (for replaying a crash).
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

fn t(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

// ---------------------------------------------------------------------------------------------
// decode_frame

/// Everything a deframer hands out for one split of the input.
#[derive(Debug, PartialEq, Eq)]
struct Deframed {
    items: Vec<Result<proto_core::Frame, proto_core::DecodeError>>,
    buffered: usize,
}

fn deframe(chunks: &[&[u8]]) -> Deframed {
    let mut d = FrameDecoder::new();
    let mut items = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => items.push(Ok(f)),
                Ok(None) => break,
                Err(e) => {
                    // The error is sticky; what is still buffered then depends on the split.
                    items.push(Err(e));
                    return Deframed { items, buffered: 0 };
                }
            }
        }
    }
    Deframed { items, buffered: d.buffered() }
}

/// `decode_frame`: the deframer must give the same frames and errors for any split of the input,
/// and every body is tried as a `remote_error`, a stream hole and a few XDR shapes, whose
/// decodings must re-encode and decode to the same value.
pub fn run_decode_frame(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let split = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let wire = &data[2..];
    let split = split % (wire.len() + 1);

    let whole = deframe(&[wire]);
    let parts = deframe(&[&wire[..split], &wire[split..]]);
    assert_eq!(whole, parts, "deframing depends on the split at {split}");
    if wire.len() <= 256 {
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(whole, deframe(&bytes), "deframing byte by byte differs");
    }

    // The raw path (next_message + RawHeader) agrees with next_frame.
    let mut d = FrameDecoder::new();
    d.push(wire);
    let mut i = 0;
    while let Ok(Some(msg)) = d.next_message() {
        let raw = proto_core::frame::RawHeader::decode(&msg);
        match (whole.items.get(i), raw.and_then(|r| r.check())) {
            (Some(Ok(f)), Ok(h)) => assert_eq!(f.header, h),
            (Some(Err(_)), Err(_)) => break,
            (other, h) => panic!("next_message/RawHeader disagrees with next_frame: {other:?} vs {h:?}"),
        }
        i += 1;
    }

    for item in &whole.items {
        let Ok(f) = item else { continue };
        examine_frame(f);
    }
}

fn roundtrip<T: xdr::XdrEncode + xdr::XdrDecode + PartialEq + std::fmt::Debug>(v: &T) {
    let b = xdr::to_bytes(v).unwrap_or_else(|e| panic!("{v:?} decoded but does not encode: {e}"));
    assert_eq!(b.len() % 4, 0);
    let back: T = xdr::from_bytes_exact(b).unwrap_or_else(|e| panic!("{v:?} re-encoded does not decode: {e}"));
    assert_eq!(&back, v);
}

fn examine_frame(f: &proto_core::Frame) {
    // Re-encoding gives the same frame back.
    let wire = f.to_bytes();
    assert_eq!(wire.len(), 28 + f.body.len());
    let mut d = FrameDecoder::new();
    d.push(&wire);
    assert_eq!(d.next_frame().expect("re-encoded frame decodes").as_ref(), Some(f));
    let mut h = BytesMut::new();
    f.header.encode(&mut h);
    assert_eq!(Header::decode(&h).unwrap(), f.header);

    if let Ok((n, rest)) = f.split_fds() {
        assert!(n <= 32);
        if f.header.ty.has_fds() {
            assert_eq!(rest.len() + 4, f.body.len());
        } else {
            assert_eq!(n, 0);
            assert_eq!(rest, f.body);
        }
    }

    let body = f.body.clone();
    if let Ok(e) = xdr::from_bytes::<RemoteError>(body.clone()) {
        roundtrip(&e);
        let _ = e.to_string();
        let _ = e.effective_code();
        let _ = e.is_unknown_procedure();
    }
    if let Ok(hole) = xdr::from_bytes::<StreamHole>(body.clone()) {
        roundtrip(&hole);
    }
    if let Ok(s) = xdr::from_bytes::<Option<XdrString>>(body.clone()) {
        roundtrip(&s);
        if let Some(s) = s {
            let _ = s.to_string_lossy();
        }
    }
    let mut r = XdrReader::new(body.clone());
    if let Ok(v) = r.array_with(256, |r| r.string(4096)) {
        let total: usize = v.iter().map(XdrString::len).sum();
        assert!(total <= body.len());
    }
    let mut r = XdrReader::new(body);
    let _ = r.opaque(1 << 20);
    let _ = r.bool();
    let _ = r.short();
    let _ = r.uchar();
    let _ = r.f64();
    let _ = r.finish();
}

// ---------------------------------------------------------------------------------------------
// client_handle_input

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
/// with time passing and commands in between.
///
/// Control commands (`Ctrl::cmd(op, arg)`): 0 call `CLIENT_CALLS[arg % 7]`; 1 cancel the
/// `arg`-th issued serial; 2 send data on every stream (300 kB when `arg` = 7); 3 send a hole;
/// 4 finish; 5 abort; 6 jump to `poll_timeout` and fire it; 7 feed `(arg + 1) KiB`, or EOF when
/// `arg` = 7.
pub fn run_client(data: &[u8]) {
    let Split { mirror, ctrl, wire } = Split::parse(data);
    let start = Instant::now();
    let max_in_flight = if mirror { MIRROR_MAX_IN_FLIGHT } else { CLIENT_MAX_IN_FLIGHT };
    let config = ClientConfig::default().with_max_in_flight(max_in_flight).with_keepalive(Some(HARNESS_KEEPALIVE));
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
    };
    let first = if mirror { mirror_calls(wire) } else { CLIENT_CALLS.to_vec() };
    let n = first.len();
    for c in first {
        h.make_call(c);
    }
    assert_eq!(h.conn.in_flight(), n);
    h.drain();

    let mut wire = wire;
    let mut feed = |h: &mut ClientHarness, n: usize| {
        let n = n.min(wire.len());
        let (chunk, rest) = wire.split_at(n);
        wire = rest;
        h.conn.handle_input(h.now, chunk);
    };
    for &b in ctrl {
        match Ctrl::from_byte(b) {
            Ctrl::Feed(n) => feed(&mut h, n),
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
            Ctrl::Cmd { arg, .. } => feed(&mut h, (usize::from(arg) + 1) * 1024),
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

// ---------------------------------------------------------------------------------------------
// server_handle_input

/// The server's `max_client_requests` in the harness (libvirtd's default).
pub const SERVER_MAX_REQUESTS: usize = 5;

/// Whether the server harness opens a stream for a call (before answering it).
#[must_use]
pub fn server_opens_stream(h: &Header, id: u64) -> bool {
    (h.prog == REMOTE_PROGRAM && matches!(h.proc_, PROC_VOL_UPLOAD | PROC_VOL_DOWNLOAD)) || id % 4 == 3
}

struct ServerHarness {
    conn: ServerConnection,
    now: Instant,
    answered: u64,
    defer: bool,
    stream_every_call: bool,
    held: Vec<proto_core::CallId>,
    open_streams: BTreeSet<u32>,
    /// Streams the client finished or aborted (and the harness confirmed).
    client_ended: BTreeSet<u32>,
    closed_seen: bool,
    out: OutputCheck,
}

fn reply_ok(r: Result<(), ReplyError>, closed: bool) {
    match r {
        Ok(()) => {}
        Err(ReplyError::Closed(_)) if closed => {}
        Err(e) => panic!("answer failed unexpectedly: {e}"),
    }
}

impl ServerHarness {
    fn answer(&mut self, id: proto_core::CallId) {
        let k = self.answered;
        self.answered += 1;
        let r = match k % 5 {
            0 | 2 => self.conn.reply(id, &XdrString::from("ok")),
            1 => self.conn.reply_error(
                id,
                &RemoteError::new(ErrorCode::VIR_ERR_NO_DOMAIN, ErrorDomain::VIR_FROM_QEMU, "no domain"),
            ),
            3 => self.conn.reply_with_fds(id, 1, &()),
            _ => self.conn.reply_raw(id, &[0, 0, 0, 1]),
        };
        reply_ok(r, self.conn.is_closed());
    }

    fn drain(&mut self) {
        loop {
            while let Some(tx) = self.conn.poll_transmit() {
                self.out.feed(&tx, |h, body| match (h.ty, h.status) {
                    (MessageType::Reply | MessageType::Stream, MessageStatus::Error) => assert_error_body(h, body),
                    (MessageType::Reply | MessageType::ReplyWithFds, MessageStatus::Ok) => {}
                    (MessageType::Stream | MessageType::StreamHole, _) => {}
                    (MessageType::Message, MessageStatus::Ok) => {}
                    (ty, st) => panic!("server transmitted {ty:?}/{st:?}"),
                });
            }
            assert!(!self.out.has_partial(), "server transmitted a partial frame");
            let Some(ev) = self.conn.poll_event() else { break };
            if tracing() {
                eprintln!("server event: {ev:?}");
            }
            assert!(!self.closed_seen, "event after Closed: {ev:?}");
            match ev {
                ServerEvent::Call { id, header, fds, .. } => {
                    assert!(matches!(header.ty, MessageType::Call | MessageType::CallWithFds));
                    assert_eq!(header.status, MessageStatus::Ok);
                    assert!(fds <= 32);
                    assert!(self.conn.calls_in_flight() <= SERVER_MAX_REQUESTS);
                    if self.stream_every_call || server_opens_stream(&header, id.0) {
                        match self.conn.open_stream(id) {
                            Ok(serial) => {
                                assert_eq!(serial, header.serial);
                                self.open_streams.insert(serial);
                                self.client_ended.remove(&serial);
                            }
                            Err(ReplyError::Closed(_)) if self.conn.is_closed() => {}
                            // The client reused the serial of a stream still open.
                            Err(ReplyError::StreamInUse(serial)) => {
                                assert_eq!(serial, header.serial);
                                assert!(self.open_streams.contains(&serial));
                            }
                            Err(e) => panic!("open_stream failed: {e}"),
                        }
                    }
                    if self.defer {
                        self.held.push(id);
                    } else {
                        self.answer(id);
                    }
                }
                ServerEvent::StreamData { serial, .. } | ServerEvent::StreamHole { serial, .. } => {
                    self.check_stream_event(serial);
                }
                ServerEvent::StreamFinish { serial } | ServerEvent::StreamAbort { serial }
                    if self.check_stream_event(serial) =>
                {
                    self.client_ended.insert(serial);
                    if let Some(st) = self.conn.stream(serial) {
                        reply_ok(st.finish(), false);
                        self.open_streams.remove(&serial);
                    } else {
                        assert!(self.conn.is_closed());
                    }
                }
                ServerEvent::Closed { .. } => self.closed_seen = true,
                _ => {}
            }
        }
        if self.conn.is_closed() {
            self.open_streams.clear();
        }
        // Invariants after a full drain (no stream packet is queued any more).
        assert_eq!(self.closed_seen, self.conn.is_closed(), "Closed event and is_closed disagree");
        if self.conn.is_closed() {
            assert!(!self.conn.wants_read(), "closed but wants_read");
            assert_eq!(self.conn.calls_in_flight(), 0);
            assert_eq!(self.conn.poll_timeout(), None);
        } else {
            assert_eq!(self.conn.calls_in_flight(), self.held.len(), "calls in flight != calls held");
            assert_eq!(
                self.conn.wants_read(),
                self.held.len() < SERVER_MAX_REQUESTS,
                "wants_read inconsistent with {} calls held",
                self.held.len()
            );
        }
        assert!(!self.conn.wants_write());
    }

    /// Checks that a stream event names a stream the harness opened and the client has not
    /// ended (packets after the client's finish/abort are dropped by the core, as libvirtd drops
    /// them: proto-core/tests/fuzz_regressions.rs); returns whether it is still open.
    fn check_stream_event(&self, serial: u32) -> bool {
        if self.open_streams.contains(&serial) {
            return true;
        }
        assert!(self.conn.is_closed(), "stream event for {serial}, never opened or already ended by the client");
        false
    }

    fn answer_held(&mut self) {
        for id in std::mem::take(&mut self.held) {
            self.answer(id);
        }
        self.drain();
    }

    fn stream_op(&mut self, op: u8, arg: u8) {
        let serials: Vec<u32> = self.open_streams.iter().copied().collect();
        for s in serials {
            let Some(mut st) = self.conn.stream(s) else { continue };
            let r = match op {
                2 if arg == 7 => st.send(Bytes::from(vec![0xa5; 300_000])),
                2 => st.send(Bytes::from_static(b"stream data from the server")),
                3 => st.send_hole(StreamHole { length: 4096, flags: 0 }),
                _ => st.send_eof(),
            };
            reply_ok(r, false);
        }
    }
}

/// `server_handle_input`: a libvirtd-like server (`max_client_requests` 5) is fed the wire bytes
/// in chunks; every CALL is answered (reply, error, reply with fds, raw reply in turn), streams
/// are opened for upload/download calls and every fourth call, and stream ends are confirmed.
///
/// Control commands: 0 toggle holding answers back (answering the held calls when turned off);
/// 1 answer held calls; 2 send data on every open stream (300 kB when `arg` = 7); 3 send a hole;
/// 4 send EOF; 5 send an event; 6 jump to `poll_timeout` and fire it; 7 feed `(arg + 1) KiB`,
/// close locally when `arg` = 6, EOF when `arg` = 7. In mirror mode every call opens a stream.
pub fn run_server(data: &[u8]) {
    let Split { mirror, ctrl, wire } = Split::parse(data);
    let start = Instant::now();
    let config =
        ServerConfig::default().with_max_client_requests(SERVER_MAX_REQUESTS).with_keepalive(Some(HARNESS_KEEPALIVE));
    let mut h = ServerHarness {
        conn: ServerConnection::new(config, start),
        now: start,
        answered: 0,
        defer: false,
        stream_every_call: mirror,
        held: Vec::new(),
        open_streams: BTreeSet::new(),
        client_ended: BTreeSet::new(),
        closed_seen: false,
        out: OutputCheck::default(),
    };
    assert!(h.conn.wants_read());
    let mut wire = wire;
    let mut feed = |h: &mut ServerHarness, n: usize| {
        let n = n.min(wire.len());
        let (chunk, rest) = wire.split_at(n);
        wire = rest;
        // An adapter reads only while wants_read; the harness feeds anyway when it does not, to
        // show that bytes are buffered, not lost or processed beyond the bound.
        h.conn.handle_input(h.now, chunk);
    };
    for &b in ctrl {
        match Ctrl::from_byte(b) {
            Ctrl::Feed(n) => feed(&mut h, n),
            Ctrl::Tick(d) => {
                h.now += d;
                h.conn.handle_timeout(h.now);
            }
            Ctrl::Cmd { op: 0, .. } => {
                h.defer = !h.defer;
                if !h.defer {
                    h.answer_held();
                }
            }
            Ctrl::Cmd { op: 1, .. } => h.answer_held(),
            Ctrl::Cmd { op: op @ 2..=4, arg } => h.stream_op(op, arg),
            Ctrl::Cmd { op: 5, .. } => {
                let r = h.conn.send_event(REMOTE_PROGRAM, 1, PROC_EVENT_LIFECYCLE, &XdrString::from("dom"));
                reply_ok(r, h.conn.is_closed());
            }
            Ctrl::Cmd { op: 6, .. } => {
                if let Some(at) = h.conn.poll_timeout() {
                    h.now = h.now.max(at);
                    h.conn.handle_timeout(h.now);
                }
            }
            Ctrl::Cmd { arg: 7, .. } => h.conn.handle_eof(h.now),
            Ctrl::Cmd { arg: 6, .. } => h.conn.close(h.now),
            Ctrl::Cmd { arg, .. } => feed(&mut h, (usize::from(arg) + 1) * 1024),
        }
        h.drain();
    }
    h.conn.handle_input(h.now, wire);
    h.drain();
    h.defer = false;
    h.answer_held();
    h.drain();
    if let Some(at) = h.conn.poll_timeout() {
        h.now = h.now.max(at);
        h.conn.handle_timeout(h.now);
        h.drain();
    }
    h.conn.handle_eof(h.now);
    h.drain();
    assert!(h.closed_seen);
    h.conn.handle_input(h.now, b"\0\0\0\x1c");
    h.conn.handle_timeout(h.now + t(3_600_000));
    h.drain();
}

// ---------------------------------------------------------------------------------------------
// Frame builders for seeds

/// Encodes one frame.
#[must_use]
pub fn frame(prog: u32, proc_: i32, ty: MessageType, serial: u32, status: MessageStatus, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame_raw(&mut out, &Header { prog, vers: 1, proc_, ty, serial, status }, body);
    out.to_vec()
}

/// Encodes an XDR value.
#[must_use]
pub fn xdr_of<T: xdr::XdrEncode + ?Sized>(v: &T) -> Vec<u8> {
    xdr::to_bytes(v).expect("encodable").to_vec()
}

/// QEMU program constant for the seed generator.
pub const QEMU: (u32, u32) = (QEMU_PROGRAM, QEMU_PROTOCOL_VERSION);
