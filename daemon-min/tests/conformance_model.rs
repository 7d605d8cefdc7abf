//! The proptest models (`spec_tests::conformance::model`, the domain life cycle, and
//! `wire_model`, proto-core's client core with the daemon as its server; the `conformance
//! model` command) against a fresh Debian libvirtd 9.0 (which shows the models are libvirt's)
//! and against daemon-min on both runtimes, with a fixed seed and case count: every case
//! passes. `CONFORMANCE_MODEL_SEED` / `CONFORMANCE_MODEL_CASES` change them.

mod common;

use common::daemon_bin;
use spec_tests::conformance::model::{run, Outcome};
use spec_tests::conformance::wire_model;
use spec_tests::conformance::Target;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn check(who: &str, uri: &str) {
    let (seed, cases) = (env_or("CONFORMANCE_MODEL_SEED", 12), env_or("CONFORMANCE_MODEL_CASES", 24) as u32);
    let t = Target::new(uri);
    for (name, outcome) in [("model", run(&t, seed, cases, 12)), ("wire model", wire_model::run(&t, seed, cases, 24))] {
        match outcome.unwrap() {
            Outcome::Passed { cases: n } => {
                assert_eq!(n, cases);
                println!("{who}: {name}: {n} cases passed (seed {seed})");
            }
            Outcome::Failed { sequence, why } => panic!("{who}: {name}: {why}\nminimal sequence: {sequence}"),
        }
    }
}

#[test]
fn libvirtd_follows_the_model() {
    let Some(d) = Libvirtd::start_or_skip() else { return };
    check("libvirtd", &format!("test+unix:///default?socket={}", d.unix_socket_path().display()));
}

fn daemon_min_follows_the_model(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    check(&format!("daemon-min {runtime:?}"), &d.unix_uri());
}

on_both_runtimes!(daemon_min_follows_the_model);
