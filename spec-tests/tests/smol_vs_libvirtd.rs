//! adapter-smol's client against a real libvirtd 9.0 (test driver), mirroring
//! `blocking_vs_libvirtd.rs`: transports, typed calls compared with virsh, events, concurrency,
//! a read stream, keepalive, EOF, and cancellation by dropping a call future.
//!
//! Skips loudly when libvirtd or virsh is missing; fails instead under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_smol::{Client, ConnectOptions, Error, StreamItem};
use proto_core::client::CallSpec;
use proto_core::programs::remote::*;
use proto_core::{CallError, ConnectionError, KeepaliveConfig, XdrString};
use smol::future::FutureExt;
use smol::io::AsyncReadExt;
use smol::Timer;
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::pki::{write_client_dir, Ca, ServerPki};

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

async fn lookup(c: &Client, name: &str) -> RemoteNonnullDomain {
    c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: name.into() }).await.unwrap().dom
}

async fn state(c: &Client, dom: &RemoteNonnullDomain) -> i32 {
    c.call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 }).await.unwrap().state
}

async fn names(c: &Client) -> Vec<String> {
    let args = RemoteConnectListAllDomainsArgs { need_results: 1, flags: 3 };
    let r = c.call::<ConnectListAllDomains>(&args).await.unwrap();
    let mut v: Vec<String> = r.domains.iter().map(|d| d.name.to_string()).collect();
    v.sort();
    v
}

/// Fails the test instead of hanging it.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    f.or(async {
        Timer::after(Duration::from_secs(secs)).await;
        panic!("no result within {secs} s")
    })
    .await
}

#[test]
fn transports_tcp_unix_and_ext() {
    let Some((daemon, _)) = setup() else { return };
    let Some(nc) = require_peer("nc") else { return };
    smol::block_on(within(60, async {
        let opts = ConnectOptions::default();
        let tcp = Client::connect(&daemon.tcp_uri(), &opts).await.unwrap();
        assert!(tcp.features().keepalive && tcp.features().event_callbacks);
        let unix = Client::connect(&daemon.unix_uri(), &opts).await.unwrap();
        // ext: a command speaking RPC on its stdin/stdout, through a socket pair.
        let script = daemon.dir().join("ext-nc-smol.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nexec {} -U {}\n", nc.display(), daemon.unix_socket_path().display()),
        )
        .unwrap();
        Command::new("chmod").arg("755").arg(&script).status().unwrap();
        let ext = Client::connect(&format!("test+ext:///default?command={}", script.display()), &opts).await.unwrap();
        for c in [&tcp, &unix, &ext] {
            let host = c.call::<ConnectGetHostname>(&()).await.unwrap().hostname;
            assert!(!host.is_empty());
            assert_eq!(names(c).await, vec!["test".to_owned()]);
        }
        for c in [tcp, unix, ext] {
            c.close().await.unwrap();
        }
    }));
}

#[test]
fn domain_lifecycle_matches_virsh() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    smol::block_on(within(120, async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        let xml = "<domain type='test'><name>rs1</name><memory>8192</memory><os><type>hvm</type></os></domain>";
        let dom = c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: xml.into() }).await.unwrap().dom;
        assert_eq!(dom.id, -1, "inactive domains have id -1");
        let listed = virsh(&virsh_bin, &uri, &["list", "--all", "--name"]);
        let mut vnames: Vec<&str> = listed.lines().filter(|l| !l.is_empty()).collect();
        vnames.sort_unstable();
        assert_eq!(vnames, names(&c).await);
        assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "shut off");
        assert_eq!(state(&c, &dom).await, 5);

        c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom: dom.clone() }).await.unwrap();
        let dom = lookup(&c, "rs1").await;
        assert!(dom.id > 0);
        assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "running");
        assert_eq!(virsh(&virsh_bin, &uri, &["domid", "rs1"]).trim(), dom.id.to_string());
        c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: dom.clone() }).await.unwrap();
        assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "paused");
        assert_eq!(state(&c, &dom).await, 3);
        c.call::<DomainResume>(&RemoteDomainResumeArgs { dom: dom.clone() }).await.unwrap();
        assert_eq!(state(&c, &dom).await, 1);
        c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: dom.clone() }).await.unwrap();
        assert_eq!(virsh(&virsh_bin, &uri, &["domstate", "rs1"]).trim(), "shut off");
        c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom: dom.clone() }).await.unwrap();
        assert_eq!(names(&c).await, vec!["test".to_owned()]);

        let e = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "nope".into() }).await.unwrap_err();
        let r = e.remote().expect("a remote error");
        assert_eq!((r.code.0, r.domain.0), (42, 12));
        assert_eq!(r.to_string(), "Domain not found");
        let e = c.call_raw(CallSpec::remote(9999), &[]).await.unwrap_err();
        assert_eq!(e.remote().unwrap().effective_code(), proto_core::ErrorCode::VIR_ERR_NO_SUPPORT);
    }));
}

#[test]
fn lifecycle_events_arrive_typed_and_in_order() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    smol::block_on(within(60, async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        let sub = c.subscribe();
        let args = RemoteConnectDomainEventCallbackRegisterAnyArgs { event_id: 0, dom: None };
        let cb = c.call::<ConnectDomainEventCallbackRegisterAny>(&args).await.unwrap().callback_id;
        for cmd in ["suspend", "resume", "suspend", "resume"] {
            virsh(&virsh_bin, &uri, &[cmd, "test"]);
        }
        let mut seen = vec![];
        while seen.len() < 4 {
            let ev = sub.recv().await.unwrap();
            assert_eq!(ev.proc_, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE);
            let msg: RemoteDomainEventCallbackLifecycleMsg = ev.decode().unwrap();
            assert_eq!(msg.callback_id, cb);
            assert_eq!(msg.msg.dom.name, "test");
            seen.push(msg.msg.event);
        }
        assert_eq!(seen, vec![3, 4, 3, 4], "SUSPENDED, RESUMED, in order");
        assert_eq!(sub.missed(), 0);
        let args = RemoteConnectDomainEventCallbackDeregisterAnyArgs { callback_id: cb };
        c.call::<ConnectDomainEventCallbackDeregisterAny>(&args).await.unwrap();
    }));
}

#[test]
fn a_slow_subscriber_drops_the_oldest_events() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    smol::block_on(within(60, async {
        let opts = ConnectOptions { event_queue: 2, ..ConnectOptions::default() };
        let c = Client::connect(&uri, &opts).await.unwrap();
        let sub = c.subscribe();
        let args = RemoteConnectDomainEventCallbackRegisterAnyArgs { event_id: 0, dom: None };
        c.call::<ConnectDomainEventCallbackRegisterAny>(&args).await.unwrap();
        for cmd in ["suspend", "resume", "suspend", "resume", "suspend"] {
            virsh(&virsh_bin, &uri, &[cmd, "test"]);
        }
        // A call after the last event: its reply comes after every event was delivered.
        c.call::<ConnectGetHostname>(&()).await.unwrap();
        let mut seen = vec![];
        for _ in 0..2 {
            let msg: RemoteDomainEventCallbackLifecycleMsg = sub.recv().await.unwrap().decode().unwrap();
            seen.push(msg.msg.event);
        }
        assert_eq!(seen, vec![4, 3], "the newest two: RESUMED, SUSPENDED");
        assert_eq!(sub.missed(), 3);
    }));
}

#[test]
fn thirty_two_tasks_ten_thousand_calls_each_reply_to_its_caller() {
    let Some((daemon, _)) = setup() else { return };
    let t0 = Instant::now();
    smol::block_on(within(300, async {
        let c = Client::connect(&daemon.unix_uri(), &ConnectOptions::default()).await.unwrap();
        let test = lookup(&c, "test").await;
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32usize)
            .map(|t| {
                let (c, test, done) = (c.clone(), test.clone(), done.clone());
                smol::spawn(async move {
                    for i in 0..313usize {
                        // Alternate procedures so that a misrouted reply could not decode as ours.
                        if (t + i) % 2 == 0 {
                            let args = RemoteDomainGetStateArgs { dom: test.clone(), flags: 0 };
                            assert_eq!(c.call::<DomainGetState>(&args).await.unwrap().state, 1);
                        } else {
                            assert_eq!(lookup(&c, "test").await.uuid, test.uuid);
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await;
        }
        assert_eq!(done.load(Ordering::Relaxed), 32 * 313);
    }));
    eprintln!("32 tasks x 313 calls: {:?}", t0.elapsed());
}

#[test]
fn screenshot_stream_matches_virsh() {
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    smol::block_on(within(60, async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        let args = RemoteDomainScreenshotArgs { dom: lookup(&c, "test").await, screen: 0, flags: 0 };
        let bytes = proto_core::xdr::to_bytes(&args).unwrap();
        let file = daemon.dir().join("virsh-shot-smol");
        virsh(&virsh_bin, &uri, &["screenshot", "test", file.to_str().unwrap()]);
        let theirs = std::fs::read(&file).unwrap();
        assert!(!theirs.is_empty());

        // Item by item.
        let (body, mut stream) = c.call_stream(CallSpec::of::<DomainScreenshot>(), &bytes).await.unwrap();
        let ret: RemoteDomainScreenshotRet = proto_core::xdr::from_bytes(body).unwrap();
        assert!(ret.mime.is_some());
        let mut ours = Vec::new();
        loop {
            match stream.recv().await {
                Some(StreamItem::Data(d)) => {
                    assert!(d.len() <= 262_120, "libvirt's chunk size");
                    ours.extend_from_slice(&d);
                }
                Some(StreamItem::Eof) => break,
                other => panic!("{other:?}"),
            }
        }
        stream.finish().await.unwrap();
        assert_eq!(ours, theirs, "the same bytes virsh saves");

        // Through AsyncRead.
        let (_, mut stream) = c.call_stream(CallSpec::of::<DomainScreenshot>(), &bytes).await.unwrap();
        let mut ours = Vec::new();
        stream.read_to_end(&mut ours).await.unwrap();
        stream.finish().await.unwrap();
        assert_eq!(ours, theirs);
        assert!(!c.call::<ConnectGetHostname>(&()).await.unwrap().hostname.is_empty());
    }));
}

#[test]
fn frozen_daemon_fails_calls_by_keepalive_and_killed_daemon_by_eof() {
    let Some((daemon, _)) = setup() else { return };
    smol::block_on(within(60, async {
        let ka = KeepaliveConfig { interval: Duration::from_secs(1), count: 2 };
        let opts = ConnectOptions { keepalive: Some(ka), ..ConnectOptions::default() };
        let c = Client::connect(&daemon.tcp_uri(), &opts).await.unwrap();
        daemon.sigstop().unwrap();
        let t0 = Instant::now();
        let e = c.call::<ConnectGetHostname>(&()).await.unwrap_err();
        let took = t0.elapsed();
        daemon.sigcont().unwrap();
        assert!(matches!(e, Error::Call(CallError::Closed(ConnectionError::KeepaliveTimeout))), "{e}");
        assert!(took <= ka.dead_after() + Duration::from_secs(2), "failed after {took:?}");
        assert_eq!(c.close_reason(), Some(ConnectionError::KeepaliveTimeout));

        // A second connection; the daemon is killed while a call waits: EOF, at once.
        let c2 = Client::connect(&daemon.tcp_uri(), &ConnectOptions::default()).await.unwrap();
        let name: XdrString = c2.call::<ConnectGetHostname>(&()).await.unwrap().hostname;
        assert!(!name.is_empty());
        daemon.sigstop().unwrap();
        let waiter = {
            let c2 = c2.clone();
            smol::spawn(async move { c2.call::<ConnectGetHostname>(&()).await })
        };
        Timer::after(Duration::from_millis(200)).await;
        let killed_at = Instant::now();
        drop(daemon); // SIGKILL, then reap
        let e = waiter.await.unwrap_err();
        assert!(killed_at.elapsed() < Duration::from_secs(3), "EOF must fail the call at once");
        assert!(
            matches!(
                e,
                Error::Call(CallError::Closed(ConnectionError::PeerClosed | ConnectionError::TruncatedByPeer { .. }))
            ),
            "{e}"
        );
    }));
}

#[test]
fn dropping_a_call_future_cancels_the_call() {
    let Some((daemon, _)) = setup() else { return };
    smol::block_on(within(60, async {
        let c = Client::connect(&daemon.tcp_uri(), &ConnectOptions::default()).await.unwrap();
        let test = lookup(&c, "test").await;
        daemon.sigstop().unwrap();
        // The call is sent, then its future is dropped while the daemon is frozen.
        let args = RemoteDomainLookupByNameArgs { name: "test".into() };
        let call = c.call::<DomainLookupByName>(&args);
        let dropped = async { Some(call.await) }
            .or(async {
                Timer::after(Duration::from_millis(300)).await;
                None
            })
            .await;
        assert!(dropped.is_none(), "the daemon is frozen");
        daemon.sigcont().unwrap();
        // The next calls get their own replies; the cancelled call's reply is dropped (libvirtd's
        // workers may answer in any order, so it may come after them).
        for _ in 0..3 {
            let args = RemoteDomainGetStateArgs { dom: test.clone(), flags: 0 };
            assert_eq!(c.call::<DomainGetState>(&args).await.unwrap().state, 1);
        }
        let t0 = Instant::now();
        while c.late_replies() == 0 && t0.elapsed() < Duration::from_secs(5) {
            Timer::after(Duration::from_millis(10)).await;
        }
        assert_eq!(c.late_replies(), 1);
        assert_eq!(c.close_reason(), None);

        // A call timeout cancels the same way.
        let opts = ConnectOptions { call_timeout: Some(Duration::from_millis(300)), ..ConnectOptions::default() };
        let c2 = Client::connect(&daemon.tcp_uri(), &opts).await.unwrap();
        daemon.sigstop().unwrap();
        let e = c2.call::<ConnectGetHostname>(&()).await.unwrap_err();
        daemon.sigcont().unwrap();
        assert!(matches!(e, Error::Call(CallError::TimedOut)), "{e}");
        assert!(!c2.call::<ConnectGetHostname>(&()).await.unwrap().hostname.is_empty());
        // libvirtd's workers may answer the two calls in either order.
        let t0 = Instant::now();
        while c2.late_replies() == 0 && t0.elapsed() < Duration::from_secs(5) {
            Timer::after(Duration::from_millis(10)).await;
        }
        assert_eq!(c2.late_replies(), 1);
    }));
}

#[test]
fn tls_with_a_client_certificate_and_refusal_without_one() {
    if require_peer("libvirtd").is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("smol-vs-libvirtd-tls-{}", std::process::id()));
    let ca = Ca::new("smol-test-ca");
    let pki = ServerPki::write(&dir.join("server"), &ca, &ca.server_cert(&["127.0.0.1"])).unwrap();
    let (daemon, port) = Libvirtd::start_tls(&pki, "").unwrap();
    let with_cert = write_client_dir(&dir.join("client"), &ca, Some(&ca.client_cert("smol-client"))).unwrap();
    let without = write_client_dir(&dir.join("nocert"), &ca, None).unwrap();
    let uri = |d: &Path| format!("test+tls://127.0.0.1:{port}/default?pkipath={}", d.display());
    smol::block_on(within(60, async {
        let c = Client::connect(&uri(&with_cert), &ConnectOptions::default()).await.unwrap();
        assert_eq!(names(&c).await, vec!["test".to_owned()]);
        let (_, mut shot) = c
            .call_stream(
                CallSpec::of::<DomainScreenshot>(),
                &proto_core::xdr::to_bytes(&RemoteDomainScreenshotArgs {
                    dom: lookup(&c, "test").await,
                    screen: 0,
                    flags: 0,
                })
                .unwrap(),
            )
            .await
            .unwrap();
        let mut png = Vec::new();
        shot.read_to_end(&mut png).await.unwrap();
        shot.finish().await.unwrap();
        assert!(!png.is_empty());
        c.close().await.unwrap();
        // libvirtd requires a client certificate: it never sends the check byte.
        let e = Client::connect(&uri(&without), &ConnectOptions::default()).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("TLS: server verification (of our certificate or IP address) failed"), "{msg}");
    }));
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn registrations_receive_typed_events_and_deregister_on_drop() {
    use proto_core::events::{EventFamily, TypedEvent};
    use proto_core::programs::remote::Event as RemoteEvent;
    let Some((daemon, virsh_bin)) = setup() else { return };
    let uri = daemon.tcp_uri();
    smol::block_on(async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        let test = lookup(&c, "test").await;
        let doms = c.register_events(EventFamily::Domain, 0, Some(&test)).await.unwrap();
        let raw = c.subscribe();
        virsh(&virsh_bin, &uri, &["suspend", "test"]);
        match within(10, doms.recv()).await.unwrap() {
            TypedEvent::Remote(RemoteEvent::DomainEventCallbackLifecycle(m)) => {
                assert_eq!(m.callback_id, doms.callback_id().unwrap());
                assert_eq!(m.msg.event, 3);
            }
            other => panic!("{other:?}"),
        }
        let cb = doms.callback_id().unwrap();
        drop(doms);
        // The deregistration runs on a detached task; a call after it is ordered after it.
        Timer::after(Duration::from_millis(300)).await;
        let _ = c.call::<ConnectGetHostname>(&()).await.unwrap();
        async fn next(raw: &adapter_smol::Subscription) -> Option<adapter_smol::Event> {
            async { raw.recv().await.ok() }
                .or(async {
                    Timer::after(Duration::from_millis(300)).await;
                    None
                })
                .await
        }
        while next(&raw).await.is_some() {}
        virsh(&virsh_bin, &uri, &["resume", "test"]);
        Timer::after(Duration::from_millis(500)).await;
        while let Some(ev) = next(&raw).await {
            let typed = ev.typed().unwrap().unwrap();
            assert_ne!(typed.callback_id(), Some(cb), "an event for a dropped registration: {typed:?}");
        }
    });
}

/// The ssh transport end to end, as in `blocking_vs_libvirtd.rs`: a stand-in for ssh runs the
/// remote netcat command libvirt builds on this machine.
#[test]
fn ssh_transport_runs_the_remote_netcat_command() {
    let Some((daemon, _)) = setup() else { return };
    let Some(_) = require_peer("nc") else { return };
    let fake = daemon.dir().join("fake-ssh-smol.sh");
    std::fs::write(&fake, "#!/bin/sh\nfor a; do last=\"$a\"; done\nexec sh -c \"$last\"\n").unwrap();
    Command::new("chmod").arg("755").arg(&fake).status().unwrap();
    let uri = format!(
        "test+ssh://nobody@localhost/default?command={}&socket={}&no_tty=1",
        fake.display(),
        daemon.unix_socket_path().display()
    );
    smol::block_on(within(20, async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        assert_eq!(names(&c).await, vec!["test".to_owned()]);
        c.close().await.unwrap();
    }));
}
