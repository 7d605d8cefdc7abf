//! python3-libvirt against daemon-min and against Debian's libvirtd 9.0 (test driver): the
//! script `tests/python/conformance.py` (lookups, define, life cycle, undefine, errors, events
//! through libvirt's default event loop, and volume streams) prints the same transcript for
//! both. The volume stream part runs on daemon-min only: libvirt's test driver has no volume
//! streams, so on libvirtd the script checks that an upload is refused as not supported.
//!
//! Fails under `CI=true` when libvirtd or python3-libvirt is missing; skips loudly otherwise.

mod common;

use std::path::Path;

use common::daemon_bin;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_python_libvirt, run_python_script, Libvirtd};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/conformance.py");
/// Runs the script; returns its stdout, panicking with its stderr when it fails.
fn run(python: &str, uri: &str, streams: bool) -> String {
    let args: &[&str] = if streams { &[uri, "--streams"] } else { &[uri] };
    run_python_script(python, Path::new(SCRIPT), args)
}

/// The transcript before and after the `== streams` line.
fn split(transcript: &str) -> (&str, &str) {
    transcript.split_once("== streams\n").unwrap_or_else(|| panic!("no streams section in:\n{transcript}"))
}

#[test]
fn python_libvirt_sees_the_same_daemon() {
    let Some(python) = require_python_libvirt() else { return };
    let Some(theirs) = Libvirtd::start_or_skip() else { return };
    let ours = DaemonMin::start(daemon_bin(), "", &[]);

    let a = run(python, &theirs.tcp_uri(), false);
    let b = run(python, &ours.tcp_uri(), true);
    let (a_common, a_streams) = split(&a);
    let (b_common, b_streams) = split(&b);
    assert!(a_common.contains("\nevents:\n  all: py1 event=0 detail=0\n"), "libvirtd's transcript:\n{a}");
    assert_eq!(a_common, b_common, "python3-libvirt saw different things:\n--- libvirtd\n{a}\n--- daemon-min\n{b}");

    // libvirtd's test driver has no volume streams.
    assert!(
        a_streams.contains("upload: error code=3 domain=18: this function is not supported by the connection driver: virStorageVolUpload"),
        "{a_streams}"
    );
    // daemon-min's: the bytes come back, and holes come back as holes.
    let expected = "\
dense upload 536633 bytes
dense download 536633 bytes same
ranged download 5000 bytes same
sparse upload 1218581 bytes: data 70000 hole 786432 data 262149 hole 100000
sparse download: data 70000 hole 786432 data 262149 hole 100000
sparse download bytes 1218581 same
holes as holes True
dense download of sparse 1218581 bytes same
volumes ['sparse.img', 'up.img']
volumes after delete []
";
    assert_eq!(b_streams, expected, "daemon-min's stream transcript");
}

/// Over the unix socket, on both runtimes: the whole transcript, streams included, is the same.
#[test]
fn python_libvirt_over_the_unix_socket_on_both_runtimes() {
    let Some(python) = require_python_libvirt() else { return };
    let smol = DaemonMin::start(daemon_bin(), "", &[]);
    let blocking = DaemonMin::start(daemon_bin(), "", &["--runtime", "blocking"]);
    let a = run(python, &smol.unix_uri(), true);
    let b = run(python, &blocking.unix_uri(), true);
    assert!(a.contains("holes as holes True"), "{a}");
    assert_eq!(a, b, "the runtimes differ");
}
