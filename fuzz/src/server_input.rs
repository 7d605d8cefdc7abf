//! `server_handle_input`: a libvirtd-like server connection fed a client's wire bytes in chunks.

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::Bytes;
use proto_core::frame::{Header, MessageStatus, MessageType};
use proto_core::program::REMOTE_PROGRAM;
use proto_core::server::ReplyError;
use proto_core::{
    ErrorCode, ErrorDomain, RemoteError, ServerConfig, ServerConnection, ServerEvent, StreamHole, XdrString,
};

use crate::{
    assert_error_body, t, tracing, Ctrl, OutputCheck, Split, HARNESS_KEEPALIVE, PROC_EVENT_LIFECYCLE,
    PROC_VOL_DOWNLOAD, PROC_VOL_UPLOAD,
};

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
            // Full: never reads. Not full: reads, unless a whole message already read waits to
            // be processed by the next handle_* call (then a timeout is due for it).
            if self.held.len() >= SERVER_MAX_REQUESTS {
                assert!(!self.conn.wants_read(), "wants_read with {} calls held", self.held.len());
            } else if !self.conn.wants_read() {
                assert!(
                    self.conn.poll_timeout().is_some(),
                    "not reading with {} calls held and nothing waiting to be processed",
                    self.held.len()
                );
            }
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
