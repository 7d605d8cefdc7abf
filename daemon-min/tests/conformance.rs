//! The server conformance tiers (`spec_tests::conformance`, the `conformance` binary's code) run
//! against a fresh Debian libvirtd 9.0 on its own, and against daemon-min on both runtimes
//! with a fresh libvirtd as the reference: every tier passes, and prints its line — but for
//! the differences listed in [`KNOWN_DIFFERENCES`], which belong to other issues' work on the
//! hypervisor; a check listed there that passes is reported, one that is not listed fails.

mod common;

use std::time::Duration;

use common::daemon_bin;
use spec_tests::conformance::{junit, run, Report, Target, Tier};
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_peer, Libvirtd};

/// Short keepalive settings, so that "drops a silent peer" takes seconds, not half a minute.
const CONF: &str = "keepalive_interval = 1\nkeepalive_count = 1\n";

/// Checks daemon-min fails today against libvirtd, and why (`tier/name`, reason). None today:
/// every tier passes on daemon-min as on libvirtd.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn target(uri: String) -> Target {
    Target { keepalive_interval: Duration::from_secs(1), keepalive_count: 1, ..Target::new(&uri) }
}

fn libvirtd() -> Option<Libvirtd> {
    require_peer("libvirtd")?;
    Some(Libvirtd::start_with_config(CONF).unwrap_or_else(|e| panic!("{e}")))
}

fn libvirtd_uri(d: &Libvirtd) -> String {
    format!("test+unix:///default?socket={}", d.unix_socket_path().display())
}

fn assert_all_pass(who: &str, report: &Report, known: &[(&str, &str)]) {
    println!("{who}:\n{}", report.summary());
    assert_eq!(report.tiers(), Tier::ALL.to_vec());
    let mut unexpected = String::new();
    for r in &report.results {
        let id = format!("{}/{}", r.tier.name(), r.name);
        let why = known.iter().find(|(k, _)| *k == id).map(|(_, why)| *why);
        match (&r.failure, why) {
            (Some(f), None) => unexpected.push_str(&format!("FAILED {id}: {f}\n")),
            (Some(_), Some(why)) => println!("known difference {id}: {why}"),
            (None, Some(_)) => println!("{id} passes now: remove it from KNOWN_DIFFERENCES"),
            (None, None) => {}
        }
    }
    assert!(unexpected.is_empty(), "{who}:\n{unexpected}");
    // The JUnit report counts the same failures.
    let xml = junit::to_xml(report, who);
    let failed = report.results.iter().filter(|r| r.failure.is_some()).count();
    assert_eq!(xml.matches("<failure ").count(), failed, "{xml}");
}

#[test]
fn libvirtd_passes_every_tier() {
    let Some(d) = libvirtd() else { return };
    let report = run(&Tier::ALL, &target(libvirtd_uri(&d)), None);
    assert_all_pass("libvirtd", &report, &[]);
}

fn daemon_min_passes_every_tier_against_libvirtd(runtime: &[&str]) {
    let Some(reference) = libvirtd() else { return };
    let d = DaemonMin::start(daemon_bin(), CONF, runtime);
    let report = run(&Tier::ALL, &target(d.unix_uri()), Some(&target(libvirtd_uri(&reference))));
    assert_all_pass(&format!("daemon-min {runtime:?}"), &report, KNOWN_DIFFERENCES);
}

on_both_runtimes!(daemon_min_passes_every_tier_against_libvirtd);
