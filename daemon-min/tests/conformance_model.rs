//! The proptest model of the domain life cycle (`spec_tests::conformance::model`, the
//! `conformance model` command) against a fresh Debian libvirtd 9.0 (which shows the model is
//! libvirt's) and against daemon-min on both runtimes, with a fixed seed and case count: every
//! case passes. `CONFORMANCE_MODEL_SEED` / `CONFORMANCE_MODEL_CASES` change them.

mod common;

use common::daemon_bin;
use spec_tests::conformance::model::{run, Outcome};
use spec_tests::conformance::Target;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn check(who: &str, uri: &str) {
    let (seed, cases) = (env_or("CONFORMANCE_MODEL_SEED", 12), env_or("CONFORMANCE_MODEL_CASES", 24) as u32);
    match run(&Target::new(uri), seed, cases, 12).unwrap() {
        Outcome::Passed { cases: n } => {
            assert_eq!(n, cases);
            println!("{who}: model: {n} cases passed (seed {seed})");
        }
        Outcome::Failed { ops, why } => panic!("{who}: {why}\nminimal sequence: {ops:?}"),
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
