//! Hostile XML documents (issue: every byte a client sends is bounded): domains, networks, pools
//! and volumes nested 254 to 500,000 levels deep, internal and external entities, an entity loop,
//! "billion laughs", a DTD on the network, and `test:///dev/zero` as a node file (daemon-min read
//! it to the end of memory before); CPU definitions for `CONNECT_BASELINE_CPU` nested as deep,
//! with entity loops, 20,000 features (libvirt's duplicate check is quadratic, daemon-min's is
//! not: same answers) and the protocol's 256 CPUs each listing every feature of the map. python3-libvirt sends each to Debian's libvirtd 9.0
//! and to daemon-min (both runtimes); the transcripts (every error triple, then a listing that
//! shows the daemon still serves) must be identical. Before the parser was bounded, the 500,000
//! level domain overflowed daemon-min's stack and took every connection with it.
//!
//! Fails under `CI=true` when libvirtd or python3-libvirt is missing; skips loudly otherwise.

mod common;

use std::path::Path;

use common::daemon_bin;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_python_libvirt, run_python_script, Libvirtd};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/xml_limits.py");

fn transcript(python: &str, uri: &str) -> String {
    run_python_script(python, Path::new(SCRIPT), &[uri])
}

fn same_as_libvirtd(runtime: &[&str]) {
    let Some(python) = require_python_libvirt() else { return };
    let Some(theirs) = Libvirtd::start_or_skip() else { return };
    let ours = DaemonMin::start(daemon_bin(), "", runtime);
    let a = transcript(python, &theirs.tcp_uri());
    let b = transcript(python, &ours.tcp_uri());
    assert!(a.contains("domain depth 500000: 35 20 \"(domain_definition):1: Excessive depth"), "libvirtd said:\n{a}");
    assert!(a.contains("billion laughs: 35 20 'at line 1: Detected an entity reference loop"), "libvirtd said:\n{a}");
    assert_eq!(a, b, "different answers:\n--- libvirtd\n{a}\n--- daemon-min\n{b}");
}

on_both_runtimes!(same_as_libvirtd);
