//! "Accept what libvirtd accepts": libvirt's XDR is libtirpc's, which reads any non-zero
//! optional-data flag as present and skips padding bytes unread. Each frame of the leniency
//! table (`spec_tests::conformance::protocol::xdr_cases`, also part of the conformance protocol
//! tier) is sent, byte for byte, to a fresh Debian libvirtd 9.0 and to daemon-min (both
//! runtimes), and the answers must be the same: the lenient frames are served, and what
//! libvirtd refuses (lengths over the bound, truncation) is still refused with the same error.

mod common;

use common::daemon_bin;
use spec_tests::conformance::protocol::{run_xdr_case, xdr_cases};
use spec_tests::conformance::Target;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;
use spec_tests::wire::Answer;

fn same_answers_as_libvirtd(runtime: &[&str]) {
    let Some(libvirtd) = Libvirtd::start_or_skip() else { return };
    let theirs = Target::new(&format!("test+unix:///default?socket={}", libvirtd.unix_socket_path().display()));
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let ours = Target::new(&d.unix_uri());
    for case in xdr_cases() {
        let reference = run_xdr_case(&theirs, &case).unwrap();
        let shown: Vec<String> = reference.iter().map(ToString::to_string).collect();
        println!("{}: libvirtd {}", case.name, shown.join(", "));
        // Not vacuous: libvirtd serves the lenient frames and refuses the others.
        let last = reference.last().unwrap();
        if case.served {
            assert!(!matches!(last, Answer::Closed | Answer::Silent), "{}: {last}", case.name);
            assert!(reference[..reference.len() - 1].iter().all(|a| matches!(a, Answer::Ok(_))), "{}", case.name);
        } else {
            assert!(matches!(last, Answer::Error { code: 39, domain: 7, .. }), "{}: {last}", case.name);
        }
        assert_eq!(run_xdr_case(&ours, &case).unwrap(), reference, "{}: daemon-min answers differently", case.name);
    }
}

on_both_runtimes!(same_answers_as_libvirtd);
