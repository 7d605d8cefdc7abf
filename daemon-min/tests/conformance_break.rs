//! Known to fail: daemon-min started with the test-only `--conformance-break TIER` is wrong in
//! one way (a wrong error code, a dropped event, a mis-padded string), and the conformance
//! suite catches it in exactly that tier: compared with an unbroken daemon-min, the checks that
//! fail in addition are all in TIER, and there is at least one. No reference daemon is needed:
//! each check knows libvirtd's behaviour.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::daemon_bin;
use spec_tests::conformance::{run, Report, Target, Tier};
use spec_tests::daemon_min::DaemonMin;

const CONF: &str = "keepalive_interval = 1\nkeepalive_count = 1\n";

fn failing(extra_args: &[&str]) -> (BTreeSet<String>, Report) {
    let d = DaemonMin::start(daemon_bin(), CONF, extra_args);
    let t = Target { keepalive_interval: Duration::from_secs(1), keepalive_count: 1, ..Target::new(&d.unix_uri()) };
    let report = run(&Tier::ALL, &t, None);
    let failed = report
        .results
        .iter()
        .filter(|r| r.failure.is_some())
        .map(|r| format!("{}/{}", r.tier.name(), r.name))
        .collect();
    (failed, report)
}

#[test]
fn each_break_fails_exactly_its_tier() {
    let (baseline, _) = failing(&[]);
    for tier in Tier::ALL {
        let (failed, report) = failing(&["--conformance-break", tier.name()]);
        println!("--conformance-break {}:\n{}{}", tier.name(), report.summary(), report.failures());
        let new: Vec<&String> = failed.difference(&baseline).collect();
        assert!(!new.is_empty(), "breaking {} went unnoticed", tier.name());
        for id in &new {
            assert!(id.starts_with(&format!("{}/", tier.name())), "breaking {} failed {id} too", tier.name());
        }
        // Every other tier's counts are as on the unbroken daemon.
        for other in Tier::ALL.into_iter().filter(|t| *t != tier) {
            let prefix = format!("{}/", other.name());
            assert_eq!(
                failed.iter().filter(|f| f.starts_with(&prefix)).count(),
                baseline.iter().filter(|f| f.starts_with(&prefix)).count(),
                "breaking {} changed the {} tier",
                tier.name(),
                other.name()
            );
        }
    }
}
