//! Two things the other tests do not reach: daemon-min started with no options at all (its
//! per-user socket pair and the URIs it prints), and old-style domain event registration
//! (`REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY` 167 → `REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE`
//! 107 messages, without a callback id), which clients use when feature 14 is missing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use adapter_blocking::{Client, ConnectOptions};
use proto_core::client::CallSpec;
use proto_core::programs::remote::*;
use spec_tests::daemon_min::DaemonMin;

#[test]
fn no_options_serves_a_per_user_socket_pair_and_prints_the_uris() {
    let runtime = std::env::temp_dir().join(format!("dm-defaults-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_daemon-min"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap()).lines().take(3).map(Result::unwrap).collect();
    let rw = runtime.join("daemon-min/libvirt-sock");
    let ro = runtime.join("daemon-min/libvirt-sock-ro");
    assert!(lines[1].contains(&format!("test+unix:///default?socket={}", rw.display())), "{lines:?}");
    assert!(lines[2].contains(&format!("socket={}", ro.display())) && lines[2].contains(" -r "), "{lines:?}");
    // Not libvirtd's paths, and both sockets answer.
    assert!(!rw.starts_with("/run/libvirt") && !rw.starts_with("/var/run/libvirt"));
    let c =
        Client::connect(&format!("test+unix:///default?socket={}", rw.display()), &ConnectOptions::default()).unwrap();
    assert_eq!(c.call::<ConnectGetType>(&()).unwrap().type_, "TEST");
    let ro_uri = format!("test+unix:///default?socket={}", ro.display());
    let r = Client::connect(&ro_uri, &ConnectOptions::default()).unwrap();
    let dom = r.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let e = r.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom }).unwrap_err();
    assert_eq!(e.remote().unwrap().code.0, 29, "the read-only socket refuses writes");
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success());
    assert!(!rw.exists() && !ro.exists(), "sockets removed at exit");
    let _ = std::fs::remove_dir_all(&runtime);
}

#[test]
fn old_style_domain_events() {
    let d = DaemonMin::start(std::path::Path::new(env!("CARGO_BIN_EXE_daemon-min")), "", &[]);
    let watcher = Client::connect(&d.tcp_uri(), &ConnectOptions::default()).unwrap();
    let events = watcher.subscribe();
    // VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0, the old way: no callback id, no domain filter.
    watcher.call_raw(CallSpec::remote(REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY), &0i32.to_be_bytes()).unwrap();
    let actor = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let dom = actor.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    actor.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom }).unwrap();
    let ev = events.recv_timeout(Duration::from_secs(10)).expect("an event").unwrap();
    assert_eq!(ev.proc_, REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE);
    let msg: RemoteDomainEventLifecycleMsg = ev.decode().unwrap();
    assert_eq!((msg.dom.name.to_string().as_str(), msg.event, msg.detail), ("test", 3, 0));
    // Registering the same event id twice is refused; deregistering stops the events.
    assert!(watcher
        .call_raw(CallSpec::remote(REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY), &0i32.to_be_bytes())
        .is_err());
    watcher.call_raw(CallSpec::remote(REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY), &0i32.to_be_bytes()).unwrap();
    let dom = actor.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    actor.call::<DomainResume>(&RemoteDomainResumeArgs { dom }).unwrap();
    assert!(events.recv_timeout(Duration::from_millis(500)).is_none(), "no event after deregistering");
}
