//! libvirt's client offers keepalive (`VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`) in `doRemoteOpen`
//! only when the program registered an event loop; otherwise the open has no keepalive probe and
//! the daemon never pings the connection. `Connect::open*` does the same: a program that calls
//! `virt::event::event_register_default_impl` gets keepalive, one that does not gets libvirt.so's
//! plain open. (One test: the registration is process-wide.)

use virt::connect::Connect;

#[test]
fn keepalive_is_offered_once_an_event_loop_is_registered() {
    let binary = spec_tests::differential::daemon_min_binary();
    let daemon = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uri = daemon.unix_uri();
    let plain = Connect::open(Some(&uri)).unwrap();
    let ro = Connect::open_read_only(Some(&uri)).unwrap();
    assert!(!plain.client().features().keepalive, "no event loop: no keepalive probe");
    assert!(!ro.client().features().keepalive, "no event loop: no keepalive probe (read-only)");
    assert_eq!(plain.hostname().unwrap(), ro.hostname().unwrap(), "both work without keepalive");
    virt::event::event_register_default_impl().unwrap();
    let with_loop = Connect::open(Some(&uri)).unwrap();
    assert!(with_loop.client().features().keepalive, "an event loop: keepalive offered and accepted");
}
