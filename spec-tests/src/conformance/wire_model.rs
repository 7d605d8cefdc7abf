//! The client/server pair model of `proto-core/tests/state_machine.rs`, with the server half
//! replaced by an external daemon: proto-core's client core ([`ClientConnection`]) talks to the
//! daemon over a real socket. Proptest picks the transitions — calls (a URI query, lookups that
//! succeed and fail, an unknown procedure), writing the client's bytes to the socket in chunks
//! of varying size (frames split anywhere), reading the daemon's answers and feeding them to
//! the core in varying chunks, cancelling calls in flight — and the model predicts every answer.
//! After each step the core's calls in flight must be the model's, and every reply and error it
//! reported must be the one the model predicts for that serial: nothing lost, nothing
//! confused, nothing reported for a cancelled call.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use proto_core::client::CallSpec;
use proto_core::programs::remote::{
    RemoteConnectOpenArgs, RemoteDomainLookupByNameArgs, REMOTE_PROC_CONNECT_GET_URI, REMOTE_PROC_CONNECT_OPEN,
    REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
};
use proto_core::{CallError, ClientConfig, ClientConnection, ClientEvent, XdrString};

use super::model::Outcome;
use super::Target;
use crate::wire::Wire;

/// A call the model can make, and what the test driver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `CONNECT_GET_URI`: OK.
    GetUri,
    /// `DOMAIN_LOOKUP_BY_NAME("test")`: OK.
    LookupTest,
    /// `DOMAIN_LOOKUP_BY_NAME("nope")`: error 42 (`VIR_ERR_NO_DOMAIN`).
    LookupMissing,
    /// Procedure 9999: error 39 "unknown procedure".
    Unknown,
}

impl Kind {
    fn expected(self) -> Result<(), i32> {
        match self {
            Self::GetUri | Self::LookupTest => Ok(()),
            Self::LookupMissing => Err(42),
            Self::Unknown => Err(39),
        }
    }
}

/// A transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The client core makes a call (queued in its transmit buffer).
    Call(Kind),
    /// Writes up to this many of the client's bytes to the socket.
    Send(usize),
    /// Waits for the answers to every call fully written, feeding them to the core in chunks
    /// starting at this size.
    Receive(usize),
    /// Cancels the call in flight picked by this index.
    Cancel(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(Kind::GetUri), Just(Kind::LookupTest), Just(Kind::LookupMissing), Just(Kind::Unknown)];
    prop_oneof![
        4 => kind.prop_map(Op::Call),
        3 => (1usize..64).prop_map(Op::Send),
        2 => (1usize..64).prop_map(Op::Receive),
        1 => any::<usize>().prop_map(Op::Cancel),
    ]
}

struct Case {
    wire: Wire,
    client: ClientConnection,
    t0: Instant,
    /// Bytes the core produced, not yet written.
    c2s: Vec<u8>,
    // The model.
    /// serial → (kind, frame bytes still unwritten).
    in_flight: BTreeMap<u32, (Kind, usize)>,
    cancelled: BTreeSet<u32>,
    /// Calls whose frame is in the queue, in order: (serial, frame length).
    queue: Vec<(u32, usize)>,
}

fn io(e: io::Error) -> String {
    format!("socket: {e}")
}

impl Case {
    fn new(t: &Target) -> Result<Self, String> {
        let wire = Wire::connect(&t.uri).map_err(|e| format!("cannot connect: {e}"))?;
        let t0 = Instant::now();
        let mut c = Self {
            wire,
            client: ClientConnection::new(ClientConfig::default(), t0),
            t0,
            c2s: vec![],
            in_flight: BTreeMap::new(),
            cancelled: BTreeSet::new(),
            queue: vec![],
        };
        // Open first (canonically, all at once), so that every later call is served.
        let name = XdrString::from(c.wire.open_name.as_str());
        let args = RemoteConnectOpenArgs { name: Some(name), flags: 0 };
        let serial = c.client.call(t0, CallSpec::remote(REMOTE_PROC_CONNECT_OPEN), &args).map_err(|e| e.to_string())?;
        c.flush_core();
        let all = std::mem::take(&mut c.c2s);
        c.wire.send(&all).map_err(io)?;
        c.queue.clear();
        c.in_flight.insert(serial, (Kind::GetUri, 0));
        c.receive(17)?;
        Ok(c)
    }

    fn flush_core(&mut self) {
        while let Some(b) = self.client.poll_transmit() {
            self.c2s.extend_from_slice(&b);
        }
    }

    fn call(&mut self, kind: Kind) -> Result<(), String> {
        let now = self.t0;
        let before = self.c2s.len();
        let serial = match kind {
            Kind::GetUri => self.client.call(now, CallSpec::remote(REMOTE_PROC_CONNECT_GET_URI), &()),
            Kind::LookupTest | Kind::LookupMissing => {
                let name = if kind == Kind::LookupTest { "test" } else { "nope" };
                let args = RemoteDomainLookupByNameArgs { name: name.into() };
                self.client.call(now, CallSpec::remote(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME), &args)
            }
            Kind::Unknown => self.client.call(now, CallSpec::remote(9999), &()),
        }
        .map_err(|e| format!("the core refused a call: {e}"))?;
        self.flush_core();
        let len = self.c2s.len() - before;
        self.queue.push((serial, len));
        self.in_flight.insert(serial, (kind, len));
        Ok(())
    }

    fn send(&mut self, mut n: usize) -> Result<(), String> {
        n = n.min(self.c2s.len());
        let bytes: Vec<u8> = self.c2s.drain(..n).collect();
        self.wire.send(&bytes).map_err(io)?;
        // The model: n bytes of the queued frames are written.
        let mut left = n;
        while left > 0 {
            let Some((serial, len)) = self.queue.first_mut() else { break };
            let take = left.min(*len);
            *len -= take;
            left -= take;
            let serial = *serial;
            let done = *len == 0;
            if let Some(e) = self.in_flight.get_mut(&serial) {
                e.1 -= take;
            }
            if done {
                self.queue.remove(0);
            }
        }
        Ok(())
    }

    /// Reads until every call fully written is answered, feeding the core in varying chunks.
    fn receive(&mut self, chunk: usize) -> Result<(), String> {
        let mut buf = vec![0u8; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.check_events()?;
            if !self.in_flight.values().any(|(_, unwritten)| *unwritten == 0) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no answer within 10 s to calls {:?}", self.in_flight));
            }
            let n = self.wire.read_raw(&mut buf).map_err(io)?;
            if n == 0 {
                return Err("the daemon closed the connection".into());
            }
            let mut pos = 0;
            let mut size = chunk;
            while pos < n {
                let end = (pos + size).min(n);
                self.client.handle_input(self.t0, &buf[pos..end]);
                pos = end;
                size = size % 37 + 1 + (size * 7) % 13;
            }
        }
    }

    fn check_events(&mut self) -> Result<(), String> {
        while let Some(ev) = self.client.poll_event() {
            let (serial, got) = match ev {
                ClientEvent::Reply { serial, .. } => (serial, Ok(())),
                ClientEvent::CallFailed { serial, error: CallError::Remote(e) } => (serial, Err(e.code.0)),
                other => return Err(format!("unexpected client event {other:?}")),
            };
            if self.cancelled.contains(&serial) {
                return Err(format!("an answer to the cancelled call {serial} was reported"));
            }
            let Some((kind, unwritten)) = self.in_flight.remove(&serial) else {
                return Err(format!("an answer to serial {serial}, which is not in flight"));
            };
            if unwritten != 0 {
                return Err(format!("serial {serial} answered before its call was fully written"));
            }
            if got != kind.expected() {
                return Err(format!("serial {serial} {kind:?}: got {got:?}, the model predicts {:?}", kind.expected()));
            }
        }
        let mut core: Vec<u32> = self.client.in_flight_serials().collect();
        core.sort_unstable();
        let model: Vec<u32> = self.in_flight.keys().copied().collect();
        if core != model {
            return Err(format!("calls in flight: the core has {core:?}, the model {model:?}"));
        }
        Ok(())
    }

    fn step(&mut self, op: Op) -> Result<(), String> {
        match op {
            Op::Call(kind) => self.call(kind)?,
            Op::Send(n) => self.send(n)?,
            Op::Receive(chunk) => self.receive(chunk)?,
            Op::Cancel(pick) => {
                let serials: Vec<u32> = self.in_flight.keys().copied().collect();
                if let Some(&serial) = serials.get(pick % serials.len().max(1)) {
                    if !self.client.cancel(serial) {
                        return Err(format!("the core could not cancel serial {serial}"));
                    }
                    self.in_flight.remove(&serial);
                    self.cancelled.insert(serial);
                }
            }
        }
        self.check_events()
    }
}

fn run_case(t: &Target, ops: &[Op]) -> Result<(), String> {
    let mut c = Case::new(t)?;
    for (n, &op) in ops.iter().enumerate() {
        c.step(op).map_err(|e| format!("step {n} {op:?}: {e}"))?;
    }
    // Finally everything is written and answered.
    let rest = c.c2s.len();
    c.send(rest)?;
    c.receive(5).map_err(|e| format!("at the end: {e}"))
}

/// Runs `cases` random sequences of at most `steps` transitions, from `seed`.
///
/// # Errors
/// When proptest aborts (e.g. too many rejected cases).
pub fn run(t: &Target, seed: u64, cases: u32, steps: usize) -> Result<Outcome, String> {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8] = 1; // not the life-cycle model's stream
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let strategy = proptest::collection::vec(op(), 1..=steps.max(1));
    match runner.run(&strategy, |ops| run_case(t, &ops).map_err(TestCaseError::fail)) {
        Ok(()) => Ok(Outcome::Passed { cases }),
        Err(TestError::Fail(why, ops)) => Ok(Outcome::Failed { sequence: format!("{ops:?}"), why: why.to_string() }),
        Err(TestError::Abort(why)) => Err(format!("aborted: {why}")),
    }
}
