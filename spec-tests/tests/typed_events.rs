//! Every event the generated programs know decodes into its typed `Event` variant, by number.

use proto_core::program::ProcedureInfo;
use proto_core::programs::{arbitrary, qemu, remote};

fn check(table: &[ProcedureInfo], decode: impl Fn(i32, bytes::Bytes) -> Option<i32>) -> usize {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut n = 0;
    for info in table.iter().filter(|p| p.is_event && p.ret != "void") {
        for _ in 0..8 {
            let body = arbitrary::encode_sample(info.ret, &mut runner).expect("a generated type").expect("encodes");
            assert_eq!(decode(info.number, body), Some(info.number), "{}", info.name);
        }
        n += 1;
    }
    n
}

#[test]
fn every_event_has_a_typed_variant() {
    let remote_events = check(remote::PROCEDURES, |p, b| remote::Event::decode(p, b).map(|r| r.unwrap().procedure()));
    assert_eq!(remote_events, 51);
    let qemu_events = check(qemu::PROCEDURES, |p, b| qemu::Event::decode(p, b).map(|r| r.unwrap().procedure()));
    assert_eq!(qemu_events, 1);
    // A call's number, or a newer libvirt's event, is not an event here: the caller keeps the body.
    assert!(remote::Event::decode(remote::REMOTE_PROC_DOMAIN_GET_STATE, bytes::Bytes::new()).is_none());
    assert!(remote::Event::decode(9999, bytes::Bytes::new()).is_none());
    // A truncated body is a typed error, not a panic.
    let e =
        remote::Event::decode(remote::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, bytes::Bytes::from_static(&[0, 0]));
    assert!(matches!(e, Some(Err(_))));
}
