//! Server conformance, by URI: the tiers the `conformance` binary runs against any daemon that
//! speaks libvirt's remote protocol, optionally side by side with a reference daemon (Debian's
//! libvirtd 9.0 with the test driver).
//!
//! - [`protocol`]: framing limits, the bad-input and leniency frames sent over the wire,
//!   serials, keepalive, calls before `CONNECT_OPEN`, unknown program/version/procedure,
//!   pipelining (`max_client_requests` back-pressure);
//! - [`semantics`]: scenarios over the test driver (lifecycle, define/undefine, networks,
//!   pools and volumes, a volume stream, events, read-only refusals), replies decoded with the
//!   generated types;
//! - [`corpus`]: the calls and probes recorded in `corpus/` replayed, the answers compared
//!   structurally with the recorded ones.
//!
//! Apart from the tiers, two proptest models run against the daemon from a given seed: [`model`]
//! (the domain life cycle: calls chosen, answers and states predicted) and [`wire_model`]
//! (`proto-core`'s client/server pair model with the daemon as the server: calls, frames split
//! anywhere, cancels; every answer predicted).
//!
//! Each check observes the daemon (a list of lines: answers, decoded replies with volatile
//! fields masked) and fails when the observation breaks what libvirtd 9.0 does; with a
//! reference, the check also runs there and the two observations must be equal.

pub mod corpus;
pub mod junit;
pub mod model;
pub mod protocol;
pub mod semantics;
pub mod wire_model;

use std::time::{Duration, Instant};

/// The tiers, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Wire-level behaviour.
    Protocol,
    /// Test-driver scenarios.
    Semantics,
    /// The recorded corpus.
    Corpus,
}

impl Tier {
    /// Every tier.
    pub const ALL: [Self; 3] = [Self::Protocol, Self::Semantics, Self::Corpus];

    /// The tier's name as printed (`protocol`, `semantics`, `corpus`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Protocol => "protocol",
            Self::Semantics => "semantics",
            Self::Corpus => "corpus",
        }
    }

    /// The tier named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What a check saw: one line per observed fact.
pub type Observation = Vec<String>;

/// A check's verdict on one daemon: its observation, or why it broke libvirtd's behaviour.
pub type Verdict = Result<Observation, String>;

/// How a check reaches a daemon.
#[derive(Debug, Clone)]
pub struct Target {
    /// The daemon's URI (unix, tcp or ssh transport; `test:///default` behind it).
    pub uri: String,
    /// The daemon's `keepalive_interval` (libvirtd's default is 5).
    pub keepalive_interval: Duration,
    /// The daemon's `keepalive_count` (libvirtd's default is 5).
    pub keepalive_count: u32,
    /// The recorded corpus (`corpus/` of this repository).
    pub corpus_dir: std::path::PathBuf,
}

impl Target {
    /// A target with libvirtd's default keepalive settings.
    #[must_use]
    pub fn new(uri: &str) -> Self {
        Self {
            uri: uri.to_owned(),
            keepalive_interval: Duration::from_secs(5),
            keepalive_count: 5,
            corpus_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus"),
        }
    }
}

/// One named check of a tier.
#[derive(Clone, Copy)]
pub struct Check {
    /// Its name (unique in its tier).
    pub name: &'static str,
    /// Runs it against one daemon.
    pub run: fn(&Target) -> Verdict,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The checks of a tier.
#[must_use]
pub fn checks(tier: Tier) -> Vec<Check> {
    match tier {
        Tier::Protocol => protocol::checks(),
        Tier::Semantics => semantics::checks(),
        Tier::Corpus => corpus::checks(),
    }
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The tier.
    pub tier: Tier,
    /// The check's name.
    pub name: &'static str,
    /// `None` when it passed, else why it failed.
    pub failure: Option<String>,
    /// How long it took (on both daemons).
    pub time: Duration,
}

/// Every result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In the order the checks ran.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// `(passed, failed)` in `tier`.
    #[must_use]
    pub fn counts(&self, tier: Tier) -> (usize, usize) {
        let of_tier = self.results.iter().filter(|r| r.tier == tier);
        let failed = of_tier.clone().filter(|r| r.failure.is_some()).count();
        (of_tier.count() - failed, failed)
    }

    /// The tiers that ran, in order.
    #[must_use]
    pub fn tiers(&self) -> Vec<Tier> {
        Tier::ALL.into_iter().filter(|t| self.results.iter().any(|r| r.tier == *t)).collect()
    }

    /// One line per tier: `TIER: N passed, M failed`.
    #[must_use]
    pub fn summary(&self) -> String {
        self.tiers()
            .into_iter()
            .map(|t| {
                let (p, f) = self.counts(t);
                format!("{}: {p} passed, {f} failed\n", t.name())
            })
            .collect()
    }

    /// Whether every check passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.failure.is_none())
    }

    /// The failed checks, `tier/name: why`, one per line.
    #[must_use]
    pub fn failures(&self) -> String {
        self.results
            .iter()
            .filter_map(|r| r.failure.as_ref().map(|f| format!("FAILED {}/{}: {f}\n", r.tier.name(), r.name)))
            .collect()
    }
}

/// Runs one check on the target, and on the reference if there is one; compares.
#[must_use]
pub fn run_check(tier: Tier, check: &Check, target: &Target, reference: Option<&Target>) -> CaseResult {
    let t0 = Instant::now();
    let failure = match ((check.run)(target), reference.map(|r| (check.run)(r))) {
        (Err(e), _) => Some(e),
        (Ok(_), Some(Err(e))) => Some(format!("the reference daemon failed this check too: {e}")),
        (Ok(ours), Some(Ok(theirs))) if ours != theirs => Some(difference(&ours, &theirs)),
        (Ok(_), _) => None,
    };
    CaseResult { tier, name: check.name, failure, time: t0.elapsed() }
}

/// Runs the tiers against `target` (and `reference`).
#[must_use]
pub fn run(tiers: &[Tier], target: &Target, reference: Option<&Target>) -> Report {
    let mut report = Report::default();
    for &tier in tiers {
        for check in checks(tier) {
            report.results.push(run_check(tier, &check, target, reference));
        }
    }
    report
}

fn difference(ours: &Observation, theirs: &Observation) -> String {
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            return format!("differs from the reference at observation {}: got `{a}`, reference `{b}`", i + 1);
        }
    }
    format!(
        "differs from the reference: {} observations, reference {} (first extra: `{}`)",
        ours.len(),
        theirs.len(),
        ours.get(theirs.len()).or_else(|| theirs.get(ours.len())).map_or("", String::as_str)
    )
}

/// Fails a check with `why` unless `cond`.
///
/// # Errors
/// `why` when `cond` is false.
pub fn ensure(cond: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(why())
    }
}
