//! State-machine property test of a client core wired to a server core through memory, with a
//! virtual clock and random chunk sizes (proptest-state-machine).
//!
//! Transitions: calls (plain and stream-opening, with or without deadline), delivery of the
//! bytes in flight each way split at random points, server replies and error replies in any
//! order, server events, server stream data, cancels, time ticks and EOF. After every step the
//! client's in-flight serials must equal the model's, and every reply, error, event, stream
//! packet, timeout and close the model expects must have been seen: nothing lost, nothing
//! confused.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use proto_core::client::CallSpec;
use proto_core::server::ServerConfig;
use proto_core::{
    CallError, CallId, ClientConfig, ClientConnection, ClientEvent, ConnectionError, RemoteError, ServerConnection,
    ServerEvent, StreamDirection, XdrString,
};

#[derive(Debug, Clone)]
enum Op {
    Call { stream: bool, deadline_ms: Option<u64> },
    DeliverToServer { chunk: usize },
    Reply { pick: usize, error: bool },
    ServerEvent,
    StreamData { pick: usize },
    DeliverToClient { chunk: usize },
    Cancel { pick: usize },
    Tick { ms: u64 },
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    Error,
    Data,
}

#[derive(Debug, Clone, Default)]
struct Model {
    now_ms: u64,
    next_serial: u32,
    /// Calls the client waits for: serial → deadline.
    in_flight: BTreeMap<u32, Option<u64>>,
    /// Stream calls the client still accepts packets for.
    client_streams: BTreeSet<u32>,
    /// Calls written by the client, not yet delivered: (serial, is_stream).
    c2s: Vec<(u32, bool)>,
    /// Calls the server holds unanswered: (serial, is_stream).
    at_server: Vec<(u32, bool)>,
    /// Streams the server opened (answered OK).
    server_streams: Vec<u32>,
    /// What the server sent, not yet delivered, in order.
    s2c: Vec<(u32, Answer)>,
    events_in_transit: u32,
    closed: bool,
    // What the client must have reported so far.
    replies: u32,
    errors: u32,
    timeouts: u32,
    events: u32,
    stream_data: u32,
    closed_failures: u32,
}

struct ModelMachine;

impl ReferenceStateMachine for ModelMachine {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let _ = state;
        prop_oneof![
            4 => (any::<bool>(), proptest::option::of(1u64..200)).prop_map(|(stream, deadline_ms)| Op::Call { stream, deadline_ms }),
            3 => (1usize..40).prop_map(|chunk| Op::DeliverToServer { chunk }),
            4 => (any::<usize>(), any::<bool>()).prop_map(|(pick, error)| Op::Reply { pick, error }),
            1 => Just(Op::ServerEvent),
            2 => any::<usize>().prop_map(|pick| Op::StreamData { pick }),
            3 => (1usize..40).prop_map(|chunk| Op::DeliverToClient { chunk }),
            1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
            2 => (0u64..100).prop_map(|ms| Op::Tick { ms }),
            1 => Just(Op::Eof),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::Eof => !state.closed,
            Op::Reply { .. } => !state.at_server.is_empty(),
            Op::StreamData { .. } => !state.server_streams.is_empty(),
            Op::Cancel { .. } => !state.in_flight.is_empty(),
            _ => true,
        }
    }

    fn apply(mut s: Model, op: &Op) -> Model {
        match *op {
            Op::Call { stream, deadline_ms } => {
                if !s.closed {
                    let serial = s.next_serial;
                    s.next_serial += 1;
                    s.in_flight.insert(serial, deadline_ms.map(|d| s.now_ms + d));
                    if stream {
                        s.client_streams.insert(serial);
                    }
                    s.c2s.push((serial, stream));
                }
            }
            Op::DeliverToServer { .. } => {
                // The server lives on after the client saw EOF; it still gets what was written.
                let c2s = std::mem::take(&mut s.c2s);
                s.at_server.extend(c2s);
            }
            Op::Reply { pick, error } => {
                let (serial, stream) = s.at_server.remove(pick % s.at_server.len());
                if error {
                    s.s2c.push((serial, Answer::Error));
                } else {
                    if stream {
                        s.server_streams.push(serial);
                    }
                    s.s2c.push((serial, Answer::Ok));
                }
            }
            Op::ServerEvent => s.events_in_transit += 1,
            Op::StreamData { pick } => {
                let serial = s.server_streams[pick % s.server_streams.len()];
                s.s2c.push((serial, Answer::Data));
            }
            Op::DeliverToClient { .. } => {
                if s.closed {
                    s.s2c.clear();
                    s.events_in_transit = 0;
                } else {
                    // Events and answers are delivered together; only their counts matter.
                    s.events += s.events_in_transit;
                    s.events_in_transit = 0;
                    for (serial, answer) in std::mem::take(&mut s.s2c) {
                        match answer {
                            Answer::Ok | Answer::Error if s.in_flight.remove(&serial).is_some() => {
                                if answer == Answer::Ok {
                                    s.replies += 1;
                                } else {
                                    s.errors += 1;
                                    s.client_streams.remove(&serial);
                                }
                            }
                            Answer::Ok | Answer::Error => {} // late reply: dropped
                            Answer::Data => {
                                if s.client_streams.contains(&serial) {
                                    s.stream_data += 1;
                                }
                            }
                        }
                    }
                }
            }
            Op::Cancel { pick } => {
                let serial = *s.in_flight.keys().nth(pick % s.in_flight.len()).unwrap();
                s.in_flight.remove(&serial);
                s.client_streams.remove(&serial);
            }
            Op::Tick { ms } => {
                s.now_ms += ms;
                if !s.closed {
                    let now = s.now_ms;
                    let due: Vec<u32> =
                        s.in_flight.iter().filter(|(_, d)| d.is_some_and(|d| d <= now)).map(|(k, _)| *k).collect();
                    for serial in due {
                        s.in_flight.remove(&serial);
                        s.client_streams.remove(&serial);
                        s.timeouts += 1;
                    }
                }
            }
            Op::Eof => {
                s.closed_failures += s.in_flight.len() as u32;
                s.in_flight.clear();
                s.client_streams.clear();
                s.closed = true;
            }
        }
        s
    }
}

struct Sut {
    t0: Instant,
    client: ClientConnection,
    server: ServerConnection,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    /// Server-side calls unanswered, in arrival order: (serial, id, is_stream).
    at_server: Vec<(u32, CallId, bool)>,
    server_streams: Vec<u32>,
    stream_serials: BTreeSet<u32>,
    replies: u32,
    errors: u32,
    timeouts: u32,
    events: u32,
    stream_data: u32,
    closed_failures: u32,
    closed_events: u32,
    last_event: Option<ClientEvent>,
}

impl Sut {
    fn now(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn drain(&mut self) {
        while let Some(b) = self.client.poll_transmit() {
            self.c2s.extend_from_slice(&b);
        }
        while let Some(b) = self.server.poll_transmit() {
            self.s2c.extend_from_slice(&b);
        }
        while let Some(ev) = self.server.poll_event() {
            match ev {
                ServerEvent::Call { id, header, .. } => {
                    let stream = self.stream_serials.contains(&header.serial);
                    self.at_server.push((header.serial, id, stream));
                }
                other => panic!("unexpected server event {other:?}"),
            }
        }
        while let Some(ev) = self.client.poll_event() {
            assert!(self.closed_events == 0, "no event after Closed: {ev:?}");
            match &ev {
                ClientEvent::Reply { body, .. } => {
                    assert_eq!(&body[..], &[0, 0, 0, 7], "the reply body is the server's");
                    self.replies += 1;
                }
                ClientEvent::CallFailed { error: CallError::Remote(e), .. } => {
                    assert_eq!(e.to_string(), "refused");
                    self.errors += 1;
                }
                ClientEvent::CallFailed { error: CallError::TimedOut, .. } => self.timeouts += 1,
                ClientEvent::CallFailed { error: CallError::Closed(ConnectionError::PeerClosed), .. } => {
                    self.closed_failures += 1;
                }
                ClientEvent::Event { proc_: 318, .. } => self.events += 1,
                ClientEvent::StreamData { data, .. } => {
                    assert_eq!(&data[..], b"data");
                    self.stream_data += 1;
                }
                ClientEvent::Closed { reason: ConnectionError::PeerClosed } => self.closed_events += 1,
                other => panic!("unexpected client event {other:?}"),
            }
            self.last_event = Some(ev);
        }
    }

    fn deliver(from: &mut Vec<u8>, chunk: usize, mut to: impl FnMut(&[u8])) {
        let bytes = std::mem::take(from);
        // Vary the chunk size along the way so frames split at every kind of offset.
        let mut pos = 0;
        let mut n = chunk;
        while pos < bytes.len() {
            let end = (pos + n).min(bytes.len());
            to(&bytes[pos..end]);
            pos = end;
            n = n % 37 + 1 + (n * 7) % 13;
        }
    }
}

struct PairTest;

impl StateMachineTest for PairTest {
    type SystemUnderTest = Sut;
    type Reference = ModelMachine;

    fn init_test(_: &Model) -> Sut {
        let t0 = Instant::now();
        Sut {
            t0,
            client: ClientConnection::new(ClientConfig::default(), t0),
            server: ServerConnection::new(ServerConfig::default().with_max_client_requests(1 << 20), t0),
            c2s: Vec::new(),
            s2c: Vec::new(),
            at_server: Vec::new(),
            server_streams: Vec::new(),
            stream_serials: BTreeSet::new(),
            replies: 0,
            errors: 0,
            timeouts: 0,
            events: 0,
            stream_data: 0,
            closed_failures: 0,
            closed_events: 0,
            last_event: None,
        }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        // proptest-state-machine applies the reference first: `model` is the state after `op`.
        let now = sut.now(model.now_ms);
        match op {
            Op::Call { stream, deadline_ms } => {
                let mut spec = CallSpec::remote(59);
                if stream {
                    spec = spec.with_stream(StreamDirection::Read);
                }
                if let Some(d) = deadline_ms {
                    spec = spec.with_deadline(now + Duration::from_millis(d));
                }
                match sut.client.call(now, spec, &()) {
                    Ok(serial) => {
                        if stream {
                            sut.stream_serials.insert(serial);
                        }
                    }
                    Err(CallError::Closed(_)) => assert!(model.closed),
                    Err(e) => panic!("{e}"),
                }
            }
            Op::DeliverToServer { chunk } => {
                let server = &mut sut.server;
                Sut::deliver(&mut sut.c2s, chunk, |b| server.handle_input(now, b));
            }
            Op::Reply { pick, error } => {
                let (serial, id, stream) = sut.at_server.remove(pick % sut.at_server.len());
                if error {
                    sut.server
                        .reply_error(
                            id,
                            &RemoteError::new(
                                proto_core::ErrorCode::VIR_ERR_OPERATION_FAILED,
                                proto_core::ErrorDomain::VIR_FROM_TEST,
                                "refused",
                            ),
                        )
                        .unwrap();
                } else {
                    if stream {
                        assert_eq!(sut.server.open_stream(id).unwrap(), serial);
                        sut.server_streams.push(serial);
                    }
                    sut.server.reply(id, &7u32).unwrap();
                }
            }
            Op::ServerEvent => {
                let msg = XdrString::from("evt");
                sut.server.send_event(0x2000_8086, 1, 318, &msg).unwrap();
            }
            Op::StreamData { pick } => {
                let serial = sut.server_streams[pick % sut.server_streams.len()];
                sut.server.stream(serial).unwrap().send(Bytes::from_static(b"data")).unwrap();
            }
            Op::DeliverToClient { chunk } => {
                let client = &mut sut.client;
                Sut::deliver(&mut sut.s2c, chunk, |b| client.handle_input(now, b));
            }
            Op::Cancel { pick } => {
                let mut serials: Vec<u32> = sut.client.in_flight_serials().collect();
                serials.sort_unstable();
                let serial = serials[pick % serials.len()];
                assert!(sut.client.cancel(serial));
                assert!(!sut.client.cancel(serial), "a second cancel finds nothing");
            }
            Op::Tick { .. } => {
                // `model` is the state after this transition: `now` already includes the tick.
                sut.client.handle_timeout(now);
                sut.server.handle_timeout(now);
            }
            Op::Eof => sut.client.handle_eof(now),
        }
        sut.drain();
        sut
    }

    fn check_invariants(sut: &Sut, m: &Model) {
        let mut serials: Vec<u32> = sut.client.in_flight_serials().collect();
        serials.sort_unstable();
        let expected: Vec<u32> = m.in_flight.keys().copied().collect();
        assert_eq!(serials, expected, "in-flight serials");
        assert_eq!(sut.replies, m.replies, "replies");
        assert_eq!(sut.errors, m.errors, "error replies");
        assert_eq!(sut.timeouts, m.timeouts, "timeouts");
        assert_eq!(sut.events, m.events, "events");
        assert_eq!(sut.stream_data, m.stream_data, "stream packets");
        assert_eq!(sut.closed_failures, m.closed_failures, "calls failed by close");
        assert_eq!(sut.closed_events, u32::from(m.closed), "one Closed event");
        if m.closed {
            assert!(matches!(sut.last_event, Some(ClientEvent::Closed { .. })), "Closed comes last");
            assert_eq!(sut.client.poll_timeout(), None);
        } else {
            // Every call the client made is accounted for exactly once.
            assert_eq!(sut.client.next_serial(), m.next_serial);
            let at_server: Vec<u32> = sut.at_server.iter().map(|c| c.0).collect();
            let model_at_server: Vec<u32> = m.at_server.iter().map(|c| c.0).collect();
            assert_eq!(at_server, model_at_server, "calls held by the server");
            let next_deadline = m.in_flight.values().flatten().min().map(|&ms| sut.now(ms));
            assert_eq!(sut.client.poll_timeout(), next_deadline, "the next timer is the nearest deadline");
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn client_server_pair(sequential 1..80 => PairTest);
}
