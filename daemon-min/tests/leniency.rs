//! "Accept what libvirtd accepts": libvirt's XDR is libtirpc's, which reads any non-zero
//! optional-data flag as present and skips padding bytes unread. Each frame here is sent, byte
//! for byte, to a fresh Debian libvirtd 9.0 and to daemon-min (both runtimes), and the answers
//! must be the same: the lenient frames are served, and what libvirtd refuses (lengths over the
//! bound, truncation) is still refused with the same error.

mod common;

use bytes::BytesMut;
use common::daemon_bin;
use proto_core::programs::remote::{
    RemoteDomainLookupByNameRet, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
    REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, REMOTE_PROC_CONNECT_GET_URI, REMOTE_PROC_CONNECT_OPEN,
    REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, REMOTE_PROC_NETWORK_LOOKUP_BY_NAME,
};
use proto_core::xdr::{from_bytes, to_bytes, XdrEncode};
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;
use spec_tests::wire::{open_body, string_padded_with, Answer, Wire};

/// The calls of a case, (procedure, raw body), built from the encoded domain `test`.
type Calls = fn(&[u8]) -> Vec<(i32, Vec<u8>)>;

/// One case: what it sends after an optional canonical open, and whether the answer's body is
/// compared byte for byte (false where it holds a per-daemon counter).
struct Case {
    name: &'static str,
    open_first: bool,
    exact_body: bool,
    /// Builds the calls (procedure, body) from the reply to a lookup of domain `test`.
    calls: Calls,
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "CONNECT_OPEN with optional-data flag 2, then CONNECT_GET_URI",
            open_first: false,
            exact_body: true,
            calls: |_| {
                vec![
                    (REMOTE_PROC_CONNECT_OPEN, open_body(2, "test:///default", 0)),
                    (REMOTE_PROC_CONNECT_GET_URI, vec![]),
                ]
            },
        },
        Case {
            name: "CONNECT_OPEN with optional-data flag 0xffffffff, then CONNECT_GET_URI",
            open_first: false,
            exact_body: true,
            calls: |_| {
                vec![
                    (REMOTE_PROC_CONNECT_OPEN, open_body(u32::MAX, "test:///default", 0)),
                    (REMOTE_PROC_CONNECT_GET_URI, vec![]),
                ]
            },
        },
        Case {
            name: "CONNECT_OPEN whose name has padding 0xaa, then CONNECT_GET_URI",
            open_first: false,
            exact_body: true,
            calls: |_| {
                let mut b = words(&[1]);
                b.extend(string_padded_with("test:///default", 0xaa));
                b.extend(words(&[0]));
                vec![(REMOTE_PROC_CONNECT_OPEN, b), (REMOTE_PROC_CONNECT_GET_URI, vec![])]
            },
        },
        Case {
            name: "NETWORK_LOOKUP_BY_NAME whose name has padding 0xff",
            open_first: true,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, string_padded_with("default", 0xff))],
        },
        Case {
            name: "DOMAIN_LOOKUP_BY_NAME of a missing domain whose name has padding 0x01",
            open_first: true,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, string_padded_with("testx", 1))],
        },
        Case {
            name: "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY whose remote_domain flag is 7",
            open_first: true,
            exact_body: false,
            calls: |test| {
                // eventID 0 (lifecycle), dom = flag 7 + the domain `test` as looked up
                let mut b = words(&[0, 7]);
                b.extend_from_slice(test);
                vec![(REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, b)]
            },
        },
        Case {
            name: "refused: CONNECT_OPEN with flag 2 and a truncated name",
            open_first: false,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_CONNECT_OPEN, [words(&[2, 15]), b"test".to_vec()].concat())],
        },
        Case {
            name: "refused: NETWORK_LOOKUP_BY_NAME with a name longer than REMOTE_STRING_MAX",
            open_first: true,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, [words(&[4_194_305]), b"defa".to_vec()].concat())],
        },
        Case {
            name: "refused: CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY with no body",
            open_first: true,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, vec![])],
        },
    ]
}

/// Runs every case on fresh connections to `uri`: the answers, one list per case.
fn run(uri: &str) -> Vec<Vec<Answer>> {
    // The domain `test` as `remote_nonnull_domain`, for the registration case.
    let mut w = Wire::connect(uri).expect("connect");
    assert!(matches!(w.open(1).unwrap(), Answer::Ok(_)));
    let lookup = to_bytes(&proto_core::XdrString::from("test")).unwrap();
    w.call_raw(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 2, &lookup).unwrap();
    let Answer::Ok(body) = w.answer(2) else { panic!("lookup of test failed on {uri}") };
    let dom = from_bytes::<RemoteDomainLookupByNameRet>(body).unwrap().dom;
    let mut test = BytesMut::new();
    dom.encode(&mut test).unwrap();
    drop(w);

    cases()
        .iter()
        .map(|case| {
            let mut w = Wire::connect(uri).expect("connect");
            let mut serial = 1;
            if case.open_first {
                assert!(matches!(w.open(serial).unwrap(), Answer::Ok(_)), "{}: open", case.name);
                serial += 1;
            }
            let mut answers = vec![];
            for (proc_, body) in (case.calls)(&test) {
                w.call_raw(proc_, serial, &body).unwrap();
                let a = w.answer(serial);
                answers.push(if case.exact_body { a } else { a.shape() });
                serial += 1;
            }
            answers
        })
        .collect()
}

fn same_answers_as_libvirtd(runtime: &[&str]) {
    let Some(libvirtd) = Libvirtd::start_or_skip() else { return };
    let reference = run(&format!("test+unix:///default?socket={}", libvirtd.unix_socket_path().display()));
    drop(libvirtd);
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let ours = run(&d.unix_uri());
    for ((case, theirs), ours) in cases().iter().zip(&reference).zip(&ours) {
        let shown: Vec<String> = theirs.iter().map(ToString::to_string).collect();
        println!("{}: libvirtd {}", case.name, shown.join(", "));
        assert_eq!(ours, theirs, "{}: daemon-min answers differently from libvirtd", case.name);
    }
    // The lenient cases were served, the refused ones refused (so the comparison is not vacuous).
    for (case, answers) in cases().iter().zip(&reference) {
        let served = answers.iter().all(|a| matches!(a, Answer::Ok(_)));
        let refused = case.name.starts_with("refused");
        if case.name.starts_with("DOMAIN_LOOKUP_BY_NAME") {
            // VIR_ERR_NO_DOMAIN: the name was decoded, and looked up
            assert!(matches!(answers[0], Answer::Error { code: 42, .. }), "{}: {answers:?}", case.name);
        } else {
            assert_eq!(served, !refused, "{}: {answers:?}", case.name);
        }
    }
    let uri = &reference[0][1];
    let Answer::Ok(b) = uri else { panic!() };
    assert_eq!(from_bytes::<proto_core::XdrString>(b.clone()).unwrap(), "test:///default", "flag 2 read as present");
}

on_both_runtimes!(same_answers_as_libvirtd);
