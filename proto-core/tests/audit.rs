//! The client audit (`ServerConfig::audit`): every hand-made deviant frame is reported with its
//! serial, procedure and rule, and handled as usual; canonical traffic reports nothing; with the
//! audit off nothing is reported.

use std::time::Instant;

use proto_core::audit::{ProtocolDeviation, Rule};
use proto_core::program::{KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use proto_core::programs::remote::{
    REMOTE_PROC_AUTH_LIST, REMOTE_PROC_CONNECT_GET_HOSTNAME, REMOTE_PROC_CONNECT_OPEN,
    REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, REMOTE_PROC_STORAGE_VOL_UPLOAD,
};
use proto_core::xdr::DeviationKind;
use proto_core::{ServerConfig, ServerConnection, ServerEvent};

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn frame(prog: u32, proc_: i32, ty: u32, serial: u32, status: u32, body: &[u8]) -> Vec<u8> {
    let mut v = words(&[(28 + body.len()) as u32, prog, 1, proc_ as u32, ty, serial, status]);
    v.extend_from_slice(body);
    v
}

fn call(proc_: i32, serial: u32, body: &[u8]) -> Vec<u8> {
    frame(REMOTE_PROGRAM, proc_, 0, serial, 0, body)
}

fn string(s: &str, pad: u8) -> Vec<u8> {
    let mut v = words(&[s.len() as u32]);
    v.extend_from_slice(s.as_bytes());
    v.extend(std::iter::repeat_n(pad, (4 - s.len() % 4) % 4));
    v
}

fn open(flag: u32, pad: u8) -> Vec<u8> {
    [words(&[flag]), string("test:///default", pad), words(&[0])].concat()
}

/// Feeds `input` to an audited connection (calls left unanswered): the deviations, and how
/// many calls were dispatched.
fn audit(input: &[u8], audit_on: bool) -> (Vec<ProtocolDeviation>, usize) {
    let cfg = ServerConfig::default().with_audit(audit_on).with_max_client_requests(100);
    let mut s = ServerConnection::new(cfg, Instant::now());
    s.handle_input(Instant::now(), input);
    let mut devs = vec![];
    let mut calls = 0;
    while let Some(ev) = s.poll_event() {
        match ev {
            ServerEvent::Deviation(d) => devs.push(d),
            ServerEvent::Call { .. } => calls += 1,
            _ => {}
        }
    }
    (devs, calls)
}

fn rules(devs: &[ProtocolDeviation]) -> Vec<(u32, String, Rule)> {
    devs.iter().map(|d| (d.header.serial, d.procedure_name(), d.rule)).collect()
}

#[test]
fn canonical_traffic_reports_nothing() {
    // What virsh sends first (corpus/frames 001-009): AUTH_LIST, SUPPORTS_FEATURE(keepalive),
    // CONNECT_OPEN, then calls.
    let input = [
        call(REMOTE_PROC_AUTH_LIST, 0, &[]),
        call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 1, &words(&[10])),
        call(REMOTE_PROC_CONNECT_OPEN, 2, &open(1, 0)),
        call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 3, &string("abcde", 0)),
        frame(KEEPALIVE_PROGRAM, 2, 2, 0, 0, &[]),
    ]
    .concat();
    let (devs, calls) = audit(&input, true);
    assert_eq!(rules(&devs), vec![]);
    assert_eq!(calls, 4);
}

#[test]
fn each_deviant_frame_is_reported() {
    let input = [
        call(REMOTE_PROC_CONNECT_GET_HOSTNAME, 1, &[]),
        call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 2, &words(&[9])),
        call(REMOTE_PROC_CONNECT_OPEN, 3, &open(2, 0)),
        call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 4, &string("abcde", 0xaa)),
        call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 4, &string("test", 0)),
        call(REMOTE_PROC_CONNECT_GET_HOSTNAME, 5, &words(&[7])),
        call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 6, &words(&[100])),
        frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 0, 7, 3, &[]),
        frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 1, 8, 0, &[]),
        frame(KEEPALIVE_PROGRAM, 1, 0, 9, 0, &[]),
        frame(KEEPALIVE_PROGRAM, 1, 2, 0, 0, &words(&[1])),
        frame(REMOTE_PROGRAM, REMOTE_PROC_STORAGE_VOL_UPLOAD, 3, 10, 2, b"data"),
    ]
    .concat();
    let (devs, _) = audit(&input, true);
    let lookup = "REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME".to_owned();
    let want = vec![
        (1, "REMOTE_PROC_CONNECT_GET_HOSTNAME".into(), Rule::CallBeforeOpen),
        (2, "REMOTE_PROC_CONNECT_SUPPORTS_FEATURE".into(), Rule::CallBeforeOpen),
        (3, "REMOTE_PROC_CONNECT_OPEN".into(), Rule::NonCanonicalXdr(DeviationKind::OptionalFlag(2))),
        (4, lookup.clone(), Rule::NonCanonicalXdr(DeviationKind::Padding([0xaa, 0xaa, 0xaa]))),
        (4, lookup.clone(), Rule::SerialInFlight),
        (5, "REMOTE_PROC_CONNECT_GET_HOSTNAME".into(), Rule::TrailingBytes(4)),
        (6, lookup, Rule::UndecodableArguments),
        (7, "REMOTE_PROC_AUTH_LIST".into(), Rule::CallStatusNotOk(3)),
        (8, "REMOTE_PROC_AUTH_LIST".into(), Rule::UnexpectedMessageType(1)),
        (9, "KEEPALIVE_PROC_PING".into(), Rule::KeepaliveMisuse),
        (0, "KEEPALIVE_PROC_PING".into(), Rule::KeepaliveMisuse),
        (10, "REMOTE_PROC_STORAGE_VOL_UPLOAD".into(), Rule::StreamPacketWithoutStream),
    ];
    assert_eq!(rules(&devs), want);
    // The report names the offset of non-canonical bytes and cites libvirt.
    let padding = devs[3].to_string();
    assert!(padding.starts_with("serial 4 REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME byte 37: non-canonical XDR"), "{padding}");
    assert!(padding.contains("RFC 4506"), "{padding}");
    assert!(devs[0].to_string().contains("remote_daemon_dispatch.c"), "{}", devs[0]);
}

#[test]
fn audit_off_reports_nothing_and_serves_the_same() {
    let input =
        [call(REMOTE_PROC_CONNECT_GET_HOSTNAME, 1, &[]), call(REMOTE_PROC_CONNECT_OPEN, 3, &open(2, 0x55))].concat();
    let (devs, calls) = audit(&input, false);
    assert!(devs.is_empty());
    let (devs_on, calls_on) = audit(&input, true);
    assert_eq!(calls, calls_on, "the audit changes nothing about dispatch");
    assert_eq!(devs_on.len(), 3);
}
