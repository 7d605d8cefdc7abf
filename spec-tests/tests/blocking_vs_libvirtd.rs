//! adapter-blocking against a real libvirtd 9.0 (test driver): transports, typed calls compared
//! with virsh, events, concurrency, a read stream, keepalive and EOF.
//!
//! Skips loudly when libvirtd or virsh is missing; fails instead under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions, StreamItem};
use proto_core::client::CallSpec;
use proto_core::programs::remote::*;
use proto_core::{CallError, ConnectionError, KeepaliveConfig, XdrString};
use spec_tests::libvirtd::{require_peer, Libvirtd};

fn virsh(virsh: &Path, uri: &str, cmd: &[&str]) -> String {
    let out = Command::new(virsh).arg("-c").arg(uri).args(cmd).output().expect("run virsh");
    assert!(out.status.success(), "virsh {cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn setup() -> Option<(Libvirtd, PathBuf)> {
    let daemon = Libvirtd::start_or_skip()?;
    let virsh = require_peer("virsh")?;
    Some((daemon, virsh))
}

fn lookup(c: &Client, name: &str) -> RemoteNonnullDomain {
    c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: name.into() }).unwrap().dom
}

fn state(c: &Client, dom: &RemoteNonnullDomain) -> i32 {
    c.call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 }).unwrap().state
}

fn names(c: &Client) -> Vec<String> {
    let r = c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 3 }).unwrap();
    let mut v: Vec<String> = r.domains.iter().map(|d| d.name.to_string()).collect();
    v.sort();
    v
}

#[test]
fn transports_tcp_unix_and_ext() {
    let Some((daemon, _)) = setup() else { return };
    let opts = ConnectOptions::default();
    let tcp = Client::connect(&daemon.tcp_uri(), &opts).unwrap();
    assert!(tcp.features().keepalive && tcp.features().event_callbacks);
    let unix = Client::connect(&daemon.unix_uri(), &opts).unwrap();
    // ext: a command speaking RPC on its stdin/stdout (`command=` is run as is, not split).
    let Some(nc) = require_peer("nc") else { return };
    let script = daemon.dir().join("ext-nc.sh");
    std::fs::write(&script, format!("#!/bin/sh\nexec {} -U {}\n", nc.display(), daemon.unix_socket_path().display()))
        .unwrap();
    Command::new("chmod").arg("755").arg(&script).status().unwrap();
    let ext = Client::connect(&format!("test+ext:///default?command={}", script.display()), &opts).unwrap();
    for c in [&tcp, &unix, &ext] {
        let host = c.call::<ConnectGetHostname>(&()).unwrap().hostname;
        assert!(!host.is_empty());
        assert_eq!(names(c), vec!["test".to_owned()]);
    }
    for c in [tcp, unix, ext] {
        c.close().unwrap();
    }
}

#[test]
fn domain_lifecycle_matches_virsh() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    let c = Client::connect(&uri, &ConnectOptions::default()).unwrap();
    let xml = "<domain type='test'><name>rs1</name><memory>8192</memory><os><type>hvm</type></os></domain>";
    let dom = c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: xml.into() }).unwrap().dom;
    assert_eq!(dom.id, -1, "inactive domains have id -1");
    // The same daemon, seen by virsh while our connection keeps the test driver's state alive.
    let listed = virsh(&virsh_bin, &uri, &["list", "--all", "--name"]);
    let mut vnames: Vec<&str> = listed.lines().filter(|l| !l.is_empty()).collect();
    vnames.sort_unstable();
    assert_eq!(vnames, names(&c));
    assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "shut off");
    assert_eq!(state(&c, &dom), 5);

    c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom: dom.clone() }).unwrap();
    let dom = lookup(&c, "rs1");
    assert!(dom.id > 0);
    assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "running");
    assert_eq!(virsh(&virsh_bin, &uri, &["domid", "rs1"]).trim(), dom.id.to_string());
    c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: dom.clone() }).unwrap();
    assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "paused");
    assert_eq!(state(&c, &dom), 3);
    c.call::<DomainResume>(&RemoteDomainResumeArgs { dom: dom.clone() }).unwrap();
    assert_eq!(state(&c, &dom), 1);
    c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: dom.clone() }).unwrap();
    assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "shut off");
    c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom: dom.clone() }).unwrap();
    assert_eq!(names(&c), vec!["test".to_owned()]);

    // Errors arrive typed, with libvirt's code, domain and message.
    let e = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "nope".into() }).unwrap_err();
    let r = e.remote().expect("a remote error");
    assert_eq!((r.code.0, r.domain.0), (42, 12));
    assert_eq!(r.to_string(), "Domain not found");
    // A procedure the server does not know, through the raw escape hatch.
    let e = c.call_raw(CallSpec::remote(9999), &[]).unwrap_err();
    assert_eq!(e.remote().unwrap().effective_code(), proto_core::ErrorCode::VIR_ERR_NO_SUPPORT);
}

#[test]
fn lifecycle_events_arrive_typed_and_in_order() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    let c = Client::connect(&uri, &ConnectOptions::default()).unwrap();
    let sub = c.subscribe();
    let cb = c
        .call::<ConnectDomainEventCallbackRegisterAny>(&RemoteConnectDomainEventCallbackRegisterAnyArgs {
            event_id: 0,
            dom: None,
        })
        .unwrap()
        .callback_id;
    for cmd in ["suspend", "resume", "suspend", "resume"] {
        virsh(&virsh_bin, &uri, &[cmd, "test"]);
    }
    let mut seen = vec![];
    while seen.len() < 4 {
        let ev = sub.recv_timeout(Duration::from_secs(10)).expect("an event within 10 s").unwrap();
        assert_eq!(ev.proc_, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE);
        let msg: RemoteDomainEventCallbackLifecycleMsg = ev.decode().unwrap();
        assert_eq!(msg.callback_id, cb);
        assert_eq!(msg.msg.dom.name, "test");
        seen.push(msg.msg.event);
    }
    assert_eq!(seen, vec![3, 4, 3, 4], "SUSPENDED, RESUMED, in order");
    assert_eq!(sub.missed(), 0);
    c.call::<ConnectDomainEventCallbackDeregisterAny>(&RemoteConnectDomainEventCallbackDeregisterAnyArgs {
        callback_id: cb,
    })
    .unwrap();
}

#[test]
fn thirty_two_threads_ten_thousand_calls_each_reply_to_its_caller() {
    let Some((daemon, _)) = setup() else { return };
    let c = Client::connect(&daemon.unix_uri(), &ConnectOptions::default()).unwrap();
    let test = lookup(&c, "test");
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..32usize {
            let c = c.clone();
            let test = test.clone();
            let done = &done;
            s.spawn(move || {
                for i in 0..313usize {
                    // Alternate procedures so that a misrouted reply could not decode as ours.
                    if (t + i) % 2 == 0 {
                        let r = c
                            .call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: test.clone(), flags: 0 })
                            .unwrap();
                        assert_eq!(r.state, 1);
                    } else {
                        let d = lookup(&c, "test");
                        assert_eq!(d.uuid, test.uuid);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(done.load(Ordering::Relaxed), 32 * 313);
}

#[test]
fn screenshot_stream_matches_virsh() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    let c = Client::connect(&uri, &ConnectOptions::default()).unwrap();
    let args = RemoteDomainScreenshotArgs { dom: lookup(&c, "test"), screen: 0, flags: 0 };
    let bytes = proto_core::xdr::to_bytes(&args).unwrap();
    let (body, mut stream) = c.call_stream(CallSpec::of::<DomainScreenshot>(), &bytes).unwrap();
    let ret: RemoteDomainScreenshotRet = proto_core::xdr::from_bytes(body).unwrap();
    assert!(ret.mime.is_some());
    let mut ours = Vec::new();
    let mut eof = false;
    while let Some(item) = stream.recv() {
        match item {
            StreamItem::Data(d) => {
                assert!(d.len() <= 262_120, "libvirt's chunk size");
                ours.extend_from_slice(&d);
            }
            StreamItem::Eof => {
                eof = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(eof);
    stream.finish().unwrap();
    let file = daemon.dir().join("virsh-shot");
    virsh(&virsh_bin, &uri, &["screenshot", "test", file.to_str().unwrap()]);
    let theirs = std::fs::read(&file).unwrap();
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs, "the same bytes virsh saves");
}

#[test]
fn frozen_daemon_fails_calls_by_keepalive_and_killed_daemon_by_eof() {
    let Some((daemon, _)) = setup() else { return };
    let ka = KeepaliveConfig { interval: Duration::from_secs(1), count: 2 };
    let opts = ConnectOptions { keepalive: Some(ka), ..ConnectOptions::default() };
    let c = Client::connect(&daemon.tcp_uri(), &opts).unwrap();
    daemon.sigstop().unwrap();
    let t0 = Instant::now();
    let e = c.call::<ConnectGetHostname>(&()).unwrap_err();
    let took = t0.elapsed();
    daemon.sigcont().unwrap();
    assert!(matches!(e, adapter_blocking::Error::Call(CallError::Closed(ConnectionError::KeepaliveTimeout))), "{e}");
    assert!(took <= ka.dead_after() + Duration::from_secs(2), "failed after {took:?}");
    assert_eq!(c.close_reason(), Some(ConnectionError::KeepaliveTimeout));

    // A second connection; the daemon is killed while a call waits: EOF, at once.
    let c2 = Client::connect(&daemon.tcp_uri(), &ConnectOptions::default()).unwrap();
    let name: XdrString = c2.call::<ConnectGetHostname>(&()).unwrap().hostname;
    assert!(!name.is_empty());
    daemon.sigstop().unwrap();
    let waiter = {
        let c2 = c2.clone();
        std::thread::spawn(move || (Instant::now(), c2.call::<ConnectGetHostname>(&())))
    };
    std::thread::sleep(Duration::from_millis(200));
    let killed_at = Instant::now();
    drop(daemon); // SIGKILL, then reap
    let (_, r) = waiter.join().unwrap();
    assert!(killed_at.elapsed() < Duration::from_secs(3), "EOF must fail the call at once");
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            adapter_blocking::Error::Call(CallError::Closed(
                ConnectionError::PeerClosed | ConnectionError::TruncatedByPeer { .. }
            ))
        ),
        "{e}"
    );
}

#[test]
fn registrations_receive_typed_events_and_deregister_on_drop() {
    use proto_core::events::{EventFamily, TypedEvent};
    use proto_core::programs::remote::Event as RemoteEvent;
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    let c = Client::connect(&uri, &ConnectOptions::default()).unwrap();
    let test = lookup(&c, "test");
    // VIR_DOMAIN_EVENT_ID_LIFECYCLE for domain `test` only, and network lifecycle for all.
    let doms = c.register_events(EventFamily::Domain, 0, Some(&test)).unwrap();
    let nets = c.register_events::<RemoteNonnullNetwork>(EventFamily::Network, 0, None).unwrap();
    let raw = c.subscribe();
    virsh(&virsh_bin, &uri, &["suspend", "test"]);
    virsh(&virsh_bin, &uri, &["net-destroy", "default"]);
    let ev = doms.recv_timeout(Duration::from_secs(10)).expect("a domain event").unwrap();
    match ev {
        TypedEvent::Remote(RemoteEvent::DomainEventCallbackLifecycle(m)) => {
            assert_eq!(m.callback_id, doms.callback_id().unwrap());
            assert_eq!((m.msg.dom.name.to_string().as_str(), m.msg.event), ("test", 3));
        }
        other => panic!("{other:?}"),
    }
    let ev = nets.recv_timeout(Duration::from_secs(10)).expect("a network event").unwrap();
    match ev {
        TypedEvent::Remote(RemoteEvent::NetworkEventLifecycle(m)) => {
            assert_eq!(m.net.name, "default");
            assert_eq!(m.event, 3, "VIR_NETWORK_EVENT_STOPPED");
        }
        other => panic!("{other:?}"),
    }
    // Dropping the domain registration deregisters it on the server: no more domain events.
    let cb = doms.callback_id().unwrap();
    drop(doms);
    while raw.recv_timeout(Duration::from_millis(300)).is_some() {}
    virsh(&virsh_bin, &uri, &["resume", "test"]);
    std::thread::sleep(Duration::from_millis(500));
    while let Some(Ok(ev)) = raw.recv_timeout(Duration::from_millis(300)) {
        let typed = ev.typed().unwrap().unwrap();
        assert_ne!(typed.callback_id(), Some(cb), "an event for a dropped registration: {typed:?}");
    }
}

/// The ssh transport end to end: `command=` replaces the ssh binary with a stand-in that runs
/// the remote command libvirt builds (`sh -c '… nc -q0 -U SOCKET'`) on this machine, so the
/// argv, the remote command and the netcat proxy chosen by `socket=` are exercised for real.
#[test]
fn ssh_transport_runs_the_remote_netcat_command() {
    let Some((daemon, _)) = setup() else { return };
    let Some(_) = require_peer("nc") else { return };
    let fake = daemon.dir().join("fake-ssh.sh");
    // The last argument is the remote command; everything before it is ssh's own options.
    std::fs::write(&fake, "#!/bin/sh\nfor a; do last=\"$a\"; done\nexec sh -c \"$last\"\n").unwrap();
    Command::new("chmod").arg("755").arg(&fake).status().unwrap();
    let uri = format!(
        "test+ssh://nobody@localhost/default?command={}&socket={}&no_tty=1",
        fake.display(),
        daemon.unix_socket_path().display()
    );
    let c = Client::connect(&uri, &ConnectOptions::default()).unwrap();
    assert_eq!(names(&c), vec!["test".to_owned()]);
    assert!(!c.call::<ConnectGetHostname>(&()).unwrap().hostname.is_empty());
    c.close().unwrap();
}
