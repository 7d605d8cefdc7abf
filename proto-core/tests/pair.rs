//! Client core and server core wired through memory with a virtual clock: keepalive, the
//! `max_client_requests` bound, out-of-order replies, deadlines, cancels and streams.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::server::ServerConfig;
use proto_core::{
    CallError, CallId, ClientConfig, ClientConnection, ClientEvent, ConnectionError, Header, KeepaliveConfig,
    MessageType, RemoteError, ServerConnection, ServerEvent, StreamDirection, StreamHole,
};

struct Pair {
    t0: Instant,
    now: Instant,
    client: ClientConnection,
    server: ServerConnection,
    /// Bytes the server wrote, for inspection.
    s2c_log: Vec<Header>,
}

impl Pair {
    fn new(client: ClientConfig, server: ServerConfig) -> Self {
        let t0 = Instant::now();
        Self {
            t0,
            now: t0,
            client: ClientConnection::new(client, t0),
            server: ServerConnection::new(server, t0),
            s2c_log: Vec::new(),
        }
    }

    /// Moves bytes both ways until nothing moves (respecting the server's `wants_read`).
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(b) = self.client.poll_transmit() {
                self.server.handle_input(self.now, &b);
                moved = true;
            }
            while let Some(b) = self.server.poll_transmit() {
                log_headers(&b, &mut self.s2c_log);
                self.client.handle_input(self.now, &b);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// The server's events, after firing its due timer as the drive loop does (messages
    /// `max_client_requests` held back are processed there, with the current time).
    fn server_events(&mut self) -> Vec<ServerEvent> {
        let mut events = Vec::new();
        loop {
            if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
                self.server.handle_timeout(self.now);
            }
            let before = events.len();
            events.extend(std::iter::from_fn(|| self.server.poll_event()));
            if events.len() == before {
                return events;
            }
        }
    }

    fn client_events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.client.poll_event()).collect()
    }

    fn calls(&mut self) -> Vec<(CallId, Header, Bytes)> {
        self.server_events()
            .into_iter()
            .map(|e| match e {
                ServerEvent::Call { id, header, args, .. } => (id, header, args),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    /// Advances time to the earliest timer of either side (at most `limit` from t0).
    fn advance(&mut self, limit: Duration) -> bool {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min();
        match next {
            Some(t) if t <= self.t0 + limit => {
                self.now = t;
                self.client.handle_timeout(t);
                self.server.handle_timeout(t);
                true
            }
            _ => false,
        }
    }
}

fn log_headers(bytes: &[u8], log: &mut Vec<Header>) {
    // Only whole frames starting at the chunk start are logged (enough for small frames).
    let mut pos = 0;
    while pos + 28 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        log.push(Header::decode(&bytes[pos + 4..pos + 28]).unwrap());
        pos += len;
    }
}

#[test]
fn out_of_order_replies_route_by_serial() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    let serials: Vec<u32> = (0..3).map(|_| p.client.call(p.now, CallSpec::remote(59), &()).unwrap()).collect();
    assert_eq!(serials, vec![0, 1, 2], "serials start at 0 and count up");
    p.pump();
    let calls = p.calls();
    for i in [2usize, 0, 1] {
        p.server.reply(calls[i].0, &(i as u32 * 10)).unwrap();
    }
    p.pump();
    let got: Vec<(u32, Vec<u8>)> = p
        .client_events()
        .into_iter()
        .map(|e| match e {
            ClientEvent::Reply { serial, body, .. } => (serial, body.to_vec()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, vec![(2, vec![0, 0, 0, 20]), (0, vec![0, 0, 0, 0]), (1, vec![0, 0, 0, 10])]);
    assert_eq!(p.client.in_flight(), 0);
}

#[test]
fn events_are_never_replies() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    let serial = p.client.call(p.now, CallSpec::remote(316), &0i32).unwrap();
    p.pump();
    let calls = p.calls();
    // An event sent before the reply, with serial 1 as libvirtd sends it, even though a call
    // with serial 1 could exist.
    p.server.send_event(0x2000_8086, 1, 318, &5i32).unwrap();
    p.server.reply(calls[0].0, &0i32).unwrap();
    p.pump();
    let ev = p.client_events();
    assert!(matches!(&ev[0], ClientEvent::Event { proc_: 318, body, .. } if body[..] == [0, 0, 0, 5]));
    assert!(matches!(&ev[1], ClientEvent::Reply { serial: s, .. } if *s == serial));
}

#[test]
fn error_reply_is_typed() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    p.client.call(p.now, CallSpec::remote(23), &proto_core::XdrString::from("nope")).unwrap();
    p.pump();
    let calls = p.calls();
    let err = RemoteError::new(
        proto_core::ErrorCode::VIR_ERR_NO_DOMAIN,
        proto_core::ErrorDomain::VIR_FROM_TEST,
        "Domain not found",
    );
    p.server.reply_error(calls[0].0, &err).unwrap();
    p.pump();
    assert_eq!(p.client_events(), vec![ClientEvent::CallFailed { serial: 0, error: CallError::Remote(Box::new(err)) }]);
}

#[test]
fn max_client_requests_stops_reading_and_loses_nothing() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default().with_max_client_requests(5));
    for _ in 0..12 {
        p.client.call(p.now, CallSpec::remote(59), &()).unwrap();
    }
    p.pump();
    let mut calls = p.calls();
    assert_eq!(calls.len(), 5, "only max_client_requests calls are taken in");
    assert!(!p.server.wants_read(), "the adapter must stop reading");
    let mut answered = 0;
    while !calls.is_empty() {
        let (id, h, _) = calls.remove(0);
        p.server.reply(id, &h.serial).unwrap();
        answered += 1;
        // Held-back calls are processed at the drive loop's timer step (`calls` runs it).
        calls.extend(p.calls());
        assert!(p.server.wants_read() || p.server.calls_in_flight() == 5);
        assert!(p.server.calls_in_flight() <= 5);
    }
    assert_eq!(answered, 12);
    p.pump();
    let replies = p.client_events().into_iter().filter(|e| matches!(e, ClientEvent::Reply { .. })).count();
    assert_eq!(replies, 12);
}

#[test]
fn server_answers_ping_at_once_even_unnegotiated() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    let ping = [0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0];
    p.server.handle_input(p.now, &ping);
    let pong = p.server.poll_transmit().unwrap();
    let mut expected = ping;
    expected[15] = 2;
    assert_eq!(&pong[..], &expected[..], "PONG: keepalive program, proc 2, MESSAGE, serial 0");
    assert!(p.server_events().is_empty(), "keepalive never reaches the daemon");
    assert!(!p.server.keepalive_active(), "a PING does not start the server's own timer");
}

#[test]
fn feature_10_starts_server_keepalive_and_silent_client_dies_at_30s() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    // REMOTE_PROC_CONNECT_SUPPORTS_FEATURE(VIR_DRV_FEATURE_PROGRAM_KEEPALIVE)
    p.client.call(p.now, CallSpec::remote(60), &10i32).unwrap();
    p.pump();
    assert!(p.server.keepalive_active());
    let calls = p.calls();
    p.server.reply(calls[0].0, &1i32).unwrap();
    let _ = p.server.poll_transmit(); // the client never hears anything again
    let mut pings = vec![];
    while let Some(t) = p.server.poll_timeout() {
        p.server.handle_timeout(t);
        while let Some(b) = p.server.poll_transmit() {
            assert_eq!(b.len(), 28);
            pings.push((t - p.t0).as_secs());
        }
    }
    assert_eq!(pings, vec![5, 10, 15, 20, 25]);
    assert!(matches!(
        p.server_events().as_slice(),
        [ServerEvent::Closed { reason: ConnectionError::KeepaliveTimeout }]
    ));
}

#[test]
fn answered_pings_keep_both_sides_alive() {
    let ka = KeepaliveConfig { interval: Duration::from_secs(5), count: 6 };
    let mut p = Pair::new(ClientConfig::default().with_keepalive(Some(ka)), ServerConfig::default());
    p.client.call(p.now, CallSpec::remote(60), &10i32).unwrap();
    p.pump();
    let calls = p.calls();
    p.server.reply(calls[0].0, &1i32).unwrap();
    p.pump();
    let _ = p.client_events();
    // Ten minutes of idle time: PINGs flow both ways and are answered; nobody dies.
    while p.advance(Duration::from_secs(600)) {
        p.pump();
    }
    assert!(!p.client.is_closed() && !p.server.is_closed());
    let pongs_to_client = p.s2c_log.iter().filter(|h| h.prog == 0x6b65_6570 && h.proc_ == 2).count();
    assert!(pongs_to_client > 50, "the server answered the client's PINGs ({pongs_to_client})");
}

#[test]
fn client_keepalive_fails_pending_calls_within_interval_times_count_plus_one() {
    let ka = KeepaliveConfig { interval: Duration::from_secs(5), count: 6 };
    let t0 = Instant::now();
    let mut c = ClientConnection::new(ClientConfig::default().with_keepalive(Some(ka)), t0);
    c.call(t0, CallSpec::remote(59), &()).unwrap();
    let _ = c.poll_transmit();
    let mut t = t0;
    let mut pings = 0;
    while let Some(next) = c.poll_timeout() {
        t = next;
        c.handle_timeout(t);
        while let Some(b) = c.poll_transmit() {
            if b.len() == 28 && b[4..8] == [0x6b, 0x65, 0x65, 0x70] {
                pings += 1;
            }
        }
    }
    assert_eq!(pings, 6);
    assert_eq!(t - t0, ka.dead_after());
    let ev: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert_eq!(
        ev,
        vec![
            ClientEvent::CallFailed { serial: 0, error: CallError::Closed(ConnectionError::KeepaliveTimeout) },
            ClientEvent::Closed { reason: ConnectionError::KeepaliveTimeout },
        ]
    );
}

#[test]
fn early_timeout_calls_do_nothing() {
    let t0 = Instant::now();
    let mut c = ClientConnection::new(ClientConfig::default().with_keepalive(Some(KeepaliveConfig::VIRSH_DEFAULT)), t0);
    let s = c.call(t0, CallSpec::remote(59).with_deadline(t0 + Duration::from_secs(1)), &()).unwrap();
    let _ = c.poll_transmit();
    c.handle_timeout(t0 + Duration::from_millis(999));
    assert!(c.poll_event().is_none());
    assert!(c.poll_transmit().is_none());
    assert!(c.is_in_flight(s));
    c.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(c.poll_event(), Some(ClientEvent::CallFailed { serial: s, error: CallError::TimedOut }));
}

#[test]
fn cancel_frees_the_slot_and_the_late_reply_is_dropped() {
    let mut p = Pair::new(ClientConfig::default().with_max_in_flight(1), ServerConfig::default());
    let s = p.client.call(p.now, CallSpec::remote(59), &()).unwrap();
    assert!(matches!(p.client.call(p.now, CallSpec::remote(59), &()), Err(CallError::TooManyInFlight(1))));
    p.pump();
    assert!(p.client.cancel(s));
    let s2 = p.client.call(p.now, CallSpec::remote(59), &()).unwrap();
    p.pump();
    let calls = p.calls();
    assert_eq!(calls.len(), 2);
    for (id, h, _) in calls {
        p.server.reply(id, &h.serial).unwrap();
    }
    p.pump();
    assert_eq!(p.client.late_replies(), 1);
    assert!(matches!(p.client_events().as_slice(), [ClientEvent::Reply { serial, .. }] if *serial == s2));
    assert!(!p.client.is_closed());
}

#[test]
fn write_stream_with_holes_and_finish() {
    // STORAGE_VOL_UPLOAD (208) style: reply first, then data, holes and finish from the client.
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    let s = p.client.call(p.now, CallSpec::remote(208).with_stream(StreamDirection::Write), &()).unwrap();
    assert!(matches!(
        p.client.stream(s).unwrap().send(Bytes::from_static(b"x")),
        Err(proto_core::client::StreamError::NotOpen)
    ));
    p.pump();
    let calls = p.calls();
    assert_eq!(p.server.open_stream(calls[0].0).unwrap(), s);
    p.server.reply(calls[0].0, &()).unwrap();
    p.pump();
    assert!(matches!(p.client_events().as_slice(), [ClientEvent::Reply { .. }]));

    let big = Bytes::from(vec![7u8; 600_000]);
    let mut st = p.client.stream(s).unwrap();
    st.send(big.clone()).unwrap();
    st.send_hole(StreamHole { length: 1 << 30, flags: 0 }).unwrap();
    st.send(Bytes::from_static(b"tail")).unwrap();
    st.finish().unwrap();
    assert!(p.client.stream(s).unwrap().send(Bytes::from_static(b"late")).is_err(), "nothing after finish");
    p.pump();
    let ev = p.server_events();
    let sizes: Vec<usize> = ev
        .iter()
        .filter_map(|e| match e {
            ServerEvent::StreamData { data, .. } => Some(data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, vec![262_120, 262_120, 75_760, 4], "chunks of at most 262120 bytes");
    assert!(ev.contains(&ServerEvent::StreamHole { serial: s, hole: StreamHole { length: 1 << 30, flags: 0 } }));
    assert_eq!(ev.last(), Some(&ServerEvent::StreamFinish { serial: s }));
    p.server.stream(s).unwrap().finish().unwrap();
    p.pump();
    assert_eq!(p.client_events(), vec![ClientEvent::StreamFinished { serial: s }]);
    assert!(p.client.stream(s).is_none());
}

#[test]
fn read_stream_with_eof_and_abort() {
    // STORAGE_VOL_DOWNLOAD (209) style: the server sends data, a hole, and the empty CONTINUE
    // end marker; the client then finishes. A second stream is aborted by the client.
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    let a = p.client.call(p.now, CallSpec::remote(209).with_stream(StreamDirection::Read), &()).unwrap();
    let b = p.client.call(p.now, CallSpec::remote(209).with_stream(StreamDirection::Read), &()).unwrap();
    p.pump();
    for (id, _, _) in p.calls() {
        p.server.open_stream(id).unwrap();
        p.server.reply(id, &()).unwrap();
    }
    {
        let mut st = p.server.stream(a).unwrap();
        st.send(Bytes::from_static(b"abc")).unwrap();
        st.send_hole(StreamHole { length: 4096, flags: 0 }).unwrap();
        st.send_eof().unwrap();
    }
    p.server.stream(b).unwrap().send(Bytes::from_static(b"zzz")).unwrap();
    p.pump();
    let ev = p.client_events();
    assert_eq!(
        &ev[2..],
        &[
            ClientEvent::StreamData { serial: a, data: Bytes::from_static(b"abc") },
            ClientEvent::StreamHole { serial: a, hole: StreamHole { length: 4096, flags: 0 } },
            ClientEvent::StreamEof { serial: a },
            ClientEvent::StreamData { serial: b, data: Bytes::from_static(b"zzz") },
        ]
    );
    p.client.stream(a).unwrap().finish().unwrap();
    p.client.stream(b).unwrap().abort().unwrap();
    p.pump();
    let ev = p.server_events();
    assert_eq!(ev, vec![ServerEvent::StreamFinish { serial: a }, ServerEvent::StreamAbort { serial: b }]);
    p.server.stream(a).unwrap().finish().unwrap();
    let err = RemoteError::new(
        proto_core::ErrorCode::VIR_ERR_OPERATION_ABORTED,
        proto_core::ErrorDomain::VIR_FROM_STREAMS,
        "aborted",
    );
    p.server.stream(b).unwrap().error(&err).unwrap();
    p.pump();
    assert_eq!(
        p.client_events(),
        vec![ClientEvent::StreamFinished { serial: a }, ClientEvent::StreamError { serial: b, error: Box::new(err) }]
    );
    assert!(p.s2c_log.iter().any(|h| h.ty == MessageType::StreamHole));
}

#[test]
fn big_stream_payload_is_not_copied() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    let s = p.client.call(p.now, CallSpec::remote(209).with_stream(StreamDirection::Read), &()).unwrap();
    p.pump();
    let (id, _, _) = p.calls().remove(0);
    p.server.open_stream(id).unwrap();
    p.server.reply(id, &()).unwrap();
    let data = Bytes::from(vec![1u8; 100_000]);
    p.server.stream(s).unwrap().send(data.clone()).unwrap();
    let chunks: Vec<Bytes> = std::iter::from_fn(|| p.server.poll_transmit()).collect();
    assert!(chunks.iter().any(|c| c.as_ptr() == data.as_ptr()), "the payload is queued by reference");
}

#[test]
fn local_close_and_eof_fail_every_pending_call_once() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default());
    for _ in 0..3 {
        p.client.call(p.now, CallSpec::remote(59), &()).unwrap();
    }
    p.client.close(p.now);
    p.client.handle_eof(p.now);
    let ev = p.client_events();
    assert_eq!(ev.len(), 4);
    assert!(ev[..3].iter().all(|e| matches!(
        e,
        ClientEvent::CallFailed { error: CallError::Closed(ConnectionError::LocallyClosed), .. }
    )));
    assert_eq!(ev[3], ClientEvent::Closed { reason: ConnectionError::LocallyClosed });
    assert!(p.client.poll_transmit().is_some(), "queued calls can still be flushed");
}

#[test]
fn keepalive_count_zero_closes_after_one_interval_without_ping() {
    let t0 = Instant::now();
    let ka = KeepaliveConfig { interval: Duration::from_secs(5), count: 0 };
    let mut c = ClientConnection::new(ClientConfig::default().with_keepalive(Some(ka)), t0);
    // Input at 4 s restarts the interval.
    c.handle_input(
        t0 + Duration::from_secs(4),
        &[0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(9)));
    c.handle_timeout(t0 + Duration::from_secs(9));
    assert!(c.poll_transmit().is_none(), "no PING with count 0");
    assert_eq!(c.poll_event(), Some(ClientEvent::Closed { reason: ConnectionError::KeepaliveTimeout }));
}

#[test]
fn drain_answers_what_was_taken_in_then_closes() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default().with_max_client_requests(2));
    for _ in 0..4 {
        p.client.call(p.now, CallSpec::remote(59), &()).unwrap();
    }
    p.pump();
    let calls = p.calls();
    assert_eq!(calls.len(), 2, "two taken in, two still in the buffer");
    p.server.drain(p.now);
    assert!(p.server.is_draining() && !p.server.wants_read() && !p.server.is_closed());
    p.server.reply(calls[0].0, &()).unwrap();
    assert!(!p.server.is_closed(), "one call still in flight");
    assert!(p.calls().is_empty(), "no new call is taken in while draining");
    p.server.reply(calls[1].0, &()).unwrap();
    assert!(p.server.is_closed());
    assert_eq!(p.server_events(), vec![ServerEvent::Closed { reason: ConnectionError::LocallyClosed }]);
    // Both answers still go out.
    p.pump();
    let replies = p.client_events().into_iter().filter(|e| matches!(e, ClientEvent::Reply { .. })).count();
    assert_eq!(replies, 2);
    // With nothing in flight, drain closes at once.
    let mut idle = ServerConnection::new(ServerConfig::default(), Instant::now());
    idle.drain(Instant::now());
    assert!(idle.is_closed());
}

/// The server core is time-pure: messages held back by `max_client_requests` are processed by
/// the next `handle_*` call with that call's time, not with the time their bytes arrived (with a
/// stale clock the keepalive that the held-back SUPPORTS_FEATURE starts would be 20 s late and
/// fire at once).
#[test]
fn held_back_messages_are_processed_with_the_current_time() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default().with_max_client_requests(1));
    p.client.call(p.now, CallSpec::remote(59), &()).unwrap();
    // REMOTE_PROC_CONNECT_SUPPORTS_FEATURE(VIR_DRV_FEATURE_PROGRAM_KEEPALIVE), held back.
    p.client.call(p.now, CallSpec::remote(60), &10i32).unwrap();
    p.pump();
    let calls = p.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(p.server.poll_timeout(), None, "nothing is due while the slot is taken");
    p.now = p.t0 + Duration::from_secs(20);
    p.server.reply(calls[0].0, &()).unwrap();
    assert!(!p.server.keepalive_active(), "an answer does not process input (it has no clock)");
    assert!(!p.server.wants_read(), "nothing more is read while a whole message waits");
    let due = p.server.poll_timeout().expect("the held-back call is due");
    assert!(due <= p.now, "due at once");
    let calls = p.calls();
    assert_eq!(calls[0].1.proc_, 60);
    assert!(p.server.keepalive_active());
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(5)),
        "keepalive runs from when the call was processed, not from when its bytes arrived"
    );
}

/// `poll_event` only drains: taking a stream packet frees a slot but does not process the
/// message behind it, so draining events never queues bytes after `poll_transmit` was drained
/// (here the PONG to a PING held behind the packet).
#[test]
fn poll_event_never_queues_bytes() {
    let mut p = Pair::new(ClientConfig::default(), ServerConfig::default().with_max_client_requests(1));
    let s = p.client.call(p.now, CallSpec::remote(208).with_stream(StreamDirection::Write), &()).unwrap();
    p.pump();
    let (id, _, _) = p.calls().remove(0);
    p.server.open_stream(id).unwrap();
    p.server.reply(id, &()).unwrap();
    p.pump();
    let _ = p.client_events();
    p.client.stream(s).unwrap().send(Bytes::from_static(b"data")).unwrap();
    let ping = [0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut input: Vec<u8> = std::iter::from_fn(|| p.client.poll_transmit()).flat_map(|b| b.to_vec()).collect();
    input.extend_from_slice(&ping);
    p.server.handle_input(p.now, &input);
    assert!(p.server.poll_transmit().is_none(), "the PING waits behind the stream packet");
    assert_eq!(p.server.poll_event(), Some(ServerEvent::StreamData { serial: s, data: Bytes::from_static(b"data") }));
    assert!(p.server.poll_event().is_none());
    assert!(!p.server.wants_write(), "draining events queued no bytes");
    let due = p.server.poll_timeout().expect("the PING is due");
    p.now += Duration::from_millis(1);
    assert!(due < p.now);
    p.server.handle_timeout(p.now);
    let pong = p.server.poll_transmit().expect("PONG");
    assert_eq!(&pong[12..16], &[0, 0, 0, 2], "keepalive PONG");
    assert_eq!(p.server.poll_timeout(), None, "nothing left to do");
}
