//! Property tests as a product: a proptest model of the test driver's domain life cycle run
//! against any daemon. Proptest picks sequences of calls (define, start, suspend, resume,
//! destroy, undefine on a few domains of its own, `prop-0`…), the model predicts each answer
//! (success, or libvirt's error code) and the domain's state and persistence after it, and the
//! daemon's answers must match; a failing sequence is shrunk to a minimal one. The seed and the
//! number of cases are given, so a run is reproducible.
//!
//! The rules are libvirt 9.0's test driver (`src/test/test_driver.c`: `testDomainSuspend`,
//! `testDomainResume`, `testDomainCreateWithFlags`, `testDomainDestroyFlags`,
//! `testDomainUndefineFlags`, `testDomainDefineXMLFlags`).

use std::collections::BTreeMap;
use std::time::Duration;

use adapter_blocking::{Client, ConnectOptions, Error};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use proto_core::programs::remote::*;
use proto_core::CallError;

use super::Target;

/// How many domains the model plays with.
const DOMAINS: usize = 3;

/// One call the model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `DOMAIN_DEFINE_XML` of `prop-N`.
    Define(usize),
    /// `DOMAIN_CREATE`.
    Start(usize),
    /// `DOMAIN_SUSPEND`.
    Suspend(usize),
    /// `DOMAIN_RESUME`.
    Resume(usize),
    /// `DOMAIN_DESTROY`.
    Destroy(usize),
    /// `DOMAIN_UNDEFINE`.
    Undefine(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..DOMAINS;
    prop_oneof![
        2 => i.clone().prop_map(Op::Define),
        2 => i.clone().prop_map(Op::Start),
        1 => i.clone().prop_map(Op::Suspend),
        1 => i.clone().prop_map(Op::Resume),
        1 => i.clone().prop_map(Op::Destroy),
        1 => i.prop_map(Op::Undefine),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Shutoff,
    Running,
    Paused,
}

impl State {
    /// `virDomainState`.
    const fn wire(self) -> i32 {
        match self {
            Self::Running => 1,
            Self::Paused => 3,
            Self::Shutoff => 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dom {
    persistent: bool,
    state: State,
}

/// `VIR_ERR_INTERNAL_ERROR`, `VIR_ERR_OPERATION_INVALID`, `VIR_ERR_NO_DOMAIN`.
const INTERNAL: i32 = 1;
const INVALID: i32 = 55;
const NO_DOMAIN: i32 = 42;

/// The model: applies `op` and returns the predicted outcome (`Err(code)` on an error).
fn predict(doms: &mut BTreeMap<usize, Dom>, op: Op) -> Result<(), i32> {
    let i = match op {
        Op::Define(i) => {
            doms.entry(i).or_insert(Dom { persistent: true, state: State::Shutoff }).persistent = true;
            return Ok(());
        }
        Op::Start(i) | Op::Suspend(i) | Op::Resume(i) | Op::Destroy(i) | Op::Undefine(i) => i,
    };
    let Some(d) = doms.get_mut(&i) else { return Err(NO_DOMAIN) };
    match (op, d.state) {
        (Op::Start(_), State::Shutoff) => d.state = State::Running,
        (Op::Start(_), _) => return Err(INTERNAL),
        (Op::Suspend(_), State::Running) => d.state = State::Paused,
        (Op::Suspend(_), _) => return Err(INTERNAL),
        (Op::Resume(_), State::Paused) => d.state = State::Running,
        (Op::Resume(_), _) => return Err(INTERNAL),
        (Op::Destroy(_), State::Shutoff) => return Err(INVALID),
        (Op::Destroy(_), _) => {
            d.state = State::Shutoff;
            if !d.persistent {
                doms.remove(&i);
            }
        }
        (Op::Undefine(_), State::Shutoff) => {
            doms.remove(&i);
        }
        (Op::Undefine(_), _) => d.persistent = false,
        (Op::Define(_), _) => {}
    }
    Ok(())
}

fn name(i: usize) -> String {
    format!("prop-{i}")
}

fn xml(i: usize) -> String {
    format!(
        "<domain type='test'><name>{}</name><uuid>00000000-0000-4000-8000-{i:012}</uuid><memory>8192</memory>\
         <os><type>hvm</type></os></domain>",
        name(i)
    )
}

fn code(e: &Error) -> Result<i32, String> {
    match e {
        Error::Call(CallError::Remote(r)) => Ok(r.code.0),
        other => Err(format!("the call failed: {other}")),
    }
}

fn lookup(c: &Client, i: usize) -> Result<Result<RemoteNonnullDomain, i32>, String> {
    match c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: name(i).into() }) {
        Ok(r) => Ok(Ok(r.dom)),
        Err(e) => code(&e).map(Err),
    }
}

/// Runs `op` on the daemon: its outcome as the model states outcomes.
fn apply(c: &Client, op: Op) -> Result<Result<(), i32>, String> {
    let r = match op {
        Op::Define(i) => c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: xml(i).into() }).map(drop),
        Op::Start(i) | Op::Suspend(i) | Op::Resume(i) | Op::Destroy(i) | Op::Undefine(i) => {
            let dom = match lookup(c, i)? {
                Ok(d) => d,
                Err(code) => return Ok(Err(code)),
            };
            match op {
                Op::Start(_) => c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom }),
                Op::Suspend(_) => c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom }),
                Op::Resume(_) => c.call::<DomainResume>(&RemoteDomainResumeArgs { dom }),
                Op::Destroy(_) => c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom }),
                _ => c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom }),
            }
        }
    };
    match r {
        Ok(()) => Ok(Ok(())),
        Err(e) => code(&e).map(Err),
    }
}

/// What the daemon says about domain `i`: absent, or (persistent, state).
fn observe(c: &Client, i: usize) -> Result<Option<(bool, i32)>, String> {
    let dom = match lookup(c, i)? {
        Ok(d) => d,
        Err(NO_DOMAIN) => return Ok(None),
        Err(code) => return Err(format!("lookup of {} failed with {code}", name(i))),
    };
    let st = c
        .call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 })
        .map_err(|e| format!("DOMAIN_GET_STATE: {e}"))?;
    let p = c
        .call::<DomainIsPersistent>(&RemoteDomainIsPersistentArgs { dom })
        .map_err(|e| format!("DOMAIN_IS_PERSISTENT: {e}"))?;
    Ok(Some((p.persistent != 0, st.state)))
}

/// Removes the model's domains from the daemon.
fn clean(c: &Client) -> Result<(), String> {
    for i in 0..DOMAINS {
        if let Ok(dom) = lookup(c, i)? {
            let _ = c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: dom.clone() });
            let _ = c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom });
        }
    }
    Ok(())
}

fn run_case(c: &Client, ops: &[Op]) -> Result<(), String> {
    clean(c)?;
    let mut doms = BTreeMap::new();
    for (n, &op) in ops.iter().enumerate() {
        let want = predict(&mut doms, op);
        let got = apply(c, op)?;
        if got != want {
            return Err(format!("step {n} {op:?}: the daemon answered {got:?}, the model predicts {want:?}"));
        }
        for i in 0..DOMAINS {
            let want = doms.get(&i).map(|d| (d.persistent, d.state.wire()));
            let got = observe(c, i)?;
            if got != want {
                return Err(format!(
                    "after step {n} {op:?}: {} is {got:?} (persistent, state), the model says {want:?}",
                    name(i)
                ));
            }
        }
    }
    clean(c)
}

/// The result of a model run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every case passed.
    Passed {
        /// Cases run.
        cases: u32,
    },
    /// A case failed; the minimal sequence found by shrinking, and why it fails.
    Failed {
        /// The shrunk sequence of calls (`Debug`).
        sequence: String,
        /// What differed.
        why: String,
    },
}

/// Runs `cases` random sequences of at most `steps` calls, from `seed`, against the target.
///
/// # Errors
/// When the daemon cannot be reached.
pub fn run(t: &Target, seed: u64, cases: u32, steps: usize) -> Result<Outcome, String> {
    let opts = ConnectOptions { call_timeout: Some(Duration::from_secs(20)), ..ConnectOptions::default() };
    let c = Client::connect(&t.uri, &opts).map_err(|e| format!("cannot connect to {}: {e}", t.uri))?;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let strategy = proptest::collection::vec(op(), 1..=steps.max(1));
    let result = runner.run(&strategy, |ops| run_case(&c, &ops).map_err(TestCaseError::fail));
    let _ = clean(&c);
    match result {
        Ok(()) => Ok(Outcome::Passed { cases }),
        Err(TestError::Fail(why, ops)) => Ok(Outcome::Failed { sequence: format!("{ops:?}"), why: why.to_string() }),
        Err(TestError::Abort(why)) => Err(format!("aborted: {why}")),
    }
}
