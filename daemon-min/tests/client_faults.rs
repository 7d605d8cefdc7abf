//! Faults on the daemon's side, as our clients (blocking and smol) see them, against daemon-min
//! on both runtimes: replies that arrive one byte per write with pauses (through a loopback
//! proxy), a daemon that closes in the middle of a reply's length word, header or body, a
//! daemon frozen with SIGSTOP, and one killed during a call. Calls fail with the right reason
//! (`TruncatedByPeer`, `KeepaliveTimeout`, end of file) within the keepalive bound, and the
//! client connects again afterwards.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions};
use common::daemon_bin;
use proto_core::programs::remote::*;
use proto_core::{CallError, ConnectionError, KeepaliveConfig};
use spec_tests::daemon_min::DaemonMin;

/// How the proxy passes the daemon's bytes on to the client.
#[derive(Clone, Copy)]
enum Mode {
    /// One byte per write, with this pause after each.
    OneByte(Duration),
    /// Everything, until the limit in `Proxy::cut_at`; then both sides are closed.
    Cut,
}

/// A one-connection loopback proxy in front of the daemon's TCP port.
struct Proxy {
    port: u16,
    /// Bytes passed from the daemon to the client so far.
    passed: Arc<AtomicUsize>,
    /// In `Cut` mode: close once this many bytes have passed.
    cut_at: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(upstream: String, mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let passed = Arc::new(AtomicUsize::new(0));
        let cut_at = Arc::new(AtomicUsize::new(usize::MAX));
        let (p, c) = (passed.clone(), cut_at.clone());
        std::thread::spawn(move || {
            let Ok((client, _)) = listener.accept() else { return };
            let daemon = TcpStream::connect(&upstream).unwrap();
            let (mut c_in, mut d_out) = (client.try_clone().unwrap(), daemon.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut d_out);
                let _ = d_out.shutdown(Shutdown::Write);
            });
            let (mut d_in, mut c_out) = (daemon, client);
            let mut buf = [0u8; 65536];
            loop {
                let n = match d_in.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let chunk = &buf[..n];
                match mode {
                    Mode::OneByte(pause) => {
                        for b in chunk {
                            if c_out.write_all(&[*b]).is_err() {
                                return;
                            }
                            std::thread::sleep(pause);
                        }
                        p.fetch_add(n, Ordering::SeqCst);
                    }
                    Mode::Cut => {
                        let room = c.load(Ordering::SeqCst).saturating_sub(p.load(Ordering::SeqCst));
                        let k = room.min(n);
                        // Counted before the write: the client may act on these bytes at once.
                        p.fetch_add(k, Ordering::SeqCst);
                        let _ = c_out.write_all(&chunk[..k]);
                        if k < n {
                            let _ = c_out.shutdown(Shutdown::Both);
                            let _ = d_in.shutdown(Shutdown::Both);
                            return;
                        }
                    }
                }
            }
            let _ = c_out.shutdown(Shutdown::Both);
        });
        Self { port, passed, cut_at }
    }

    fn uri(&self) -> String {
        format!("test+tcp://127.0.0.1:{}/default", self.port)
    }
}

fn upstream(d: &DaemonMin) -> String {
    d.tcp_uri().trim_start_matches("test+tcp://").trim_end_matches("/default").to_owned()
}

/// A few calls of different shapes; what they return, as text.
fn session_blocking(c: &Client) -> String {
    let host = c.call::<ConnectGetHostname>(&()).unwrap().hostname;
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let xml = c.call::<DomainGetXmlDesc>(&RemoteDomainGetXmlDescArgs { dom, flags: 0 }).unwrap().xml;
    let all = c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }).unwrap();
    format!("{host:?} {xml:?} {:?}", all.domains)
}

async fn session_smol(c: &adapter_smol::Client) -> String {
    let host = c.call::<ConnectGetHostname>(&()).await.unwrap().hostname;
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).await.unwrap().dom;
    let xml = c.call::<DomainGetXmlDesc>(&RemoteDomainGetXmlDescArgs { dom, flags: 0 }).await.unwrap().xml;
    let all =
        c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }).await.unwrap();
    format!("{host:?} {xml:?} {:?}", all.domains)
}

fn one_byte_writes(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let direct = session_blocking(&Client::connect(&d.tcp_uri(), &ConnectOptions::default()).unwrap());
    let pause = Duration::from_micros(50);
    let p = Proxy::start(upstream(&d), Mode::OneByte(pause));
    let slow = session_blocking(&Client::connect(&p.uri(), &ConnectOptions::default()).unwrap());
    assert_eq!(direct, slow, "the blocking client read something else one byte at a time");
    let p = Proxy::start(upstream(&d), Mode::OneByte(pause));
    let slow = smol::block_on(async {
        let c = adapter_smol::Client::connect(&p.uri(), &adapter_smol::ConnectOptions::default()).await.unwrap();
        session_smol(&c).await
    });
    assert_eq!(direct, slow, "the smol client read something else one byte at a time");
    assert!(p.passed.load(Ordering::SeqCst) > 1000);
}

/// The daemon's reply to a dumpxml is cut after `k` of its bytes (2: inside the length word; 10:
/// inside the header; 200: inside the body).
fn cut_mid_reply(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    for k in [2, 10, 200] {
        let p = Proxy::start(upstream(&d), Mode::Cut);
        // A call deadline, so that a proxy that failed to cut fails the test instead of hanging it.
        let opts = ConnectOptions { call_timeout: Some(Duration::from_secs(10)), ..ConnectOptions::default() };
        let c = Client::connect(&p.uri(), &opts).unwrap();
        let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
        p.cut_at.store(p.passed.load(Ordering::SeqCst) + k, Ordering::SeqCst);
        let e = c.call::<DomainGetXmlDesc>(&RemoteDomainGetXmlDescArgs { dom, flags: 0 }).unwrap_err();
        assert!(
            matches!(e, adapter_blocking::Error::Call(CallError::Closed(ConnectionError::TruncatedByPeer { .. }))),
            "cut after {k} bytes: {e}"
        );
        assert!(matches!(c.close_reason(), Some(ConnectionError::TruncatedByPeer { buffered }) if buffered == k));
        // The smol client, the same.
        let p = Proxy::start(upstream(&d), Mode::Cut);
        smol::block_on(async {
            let opts = adapter_smol::ConnectOptions {
                call_timeout: Some(Duration::from_secs(10)),
                ..adapter_smol::ConnectOptions::default()
            };
            let c = adapter_smol::Client::connect(&p.uri(), &opts).await.unwrap();
            let args = RemoteDomainLookupByNameArgs { name: "test".into() };
            let dom = c.call::<DomainLookupByName>(&args).await.unwrap().dom;
            p.cut_at.store(p.passed.load(Ordering::SeqCst) + k, Ordering::SeqCst);
            let e = c.call::<DomainGetXmlDesc>(&RemoteDomainGetXmlDescArgs { dom, flags: 0 }).await.unwrap_err();
            assert!(
                matches!(c.close_reason(), Some(ConnectionError::TruncatedByPeer { buffered }) if buffered == k),
                "cut after {k} bytes: {e}"
            );
        });
    }
}

/// SIGSTOP, and wait until the kernel shows the daemon stopped (a call made a moment too early
/// could still be answered on a loaded machine).
fn stop(d: &DaemonMin) {
    d.signal("STOP");
    let stopped = || {
        std::fs::read_to_string(format!("/proc/{}/stat", d.pid()))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('T')))
            .unwrap_or(false)
    };
    assert!(common::eventually(Duration::from_secs(5), stopped), "the daemon did not stop");
}

fn frozen_then_killed(runtime: &[&str]) {
    let ka = KeepaliveConfig { interval: Duration::from_secs(1), count: 2 };
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let c =
        Client::connect(&d.tcp_uri(), &ConnectOptions { keepalive: Some(ka), ..ConnectOptions::default() }).unwrap();
    let s = smol::block_on(adapter_smol::Client::connect(
        &d.tcp_uri(),
        &adapter_smol::ConnectOptions { keepalive: Some(ka), ..adapter_smol::ConnectOptions::default() },
    ))
    .unwrap();
    stop(&d);
    let t0 = Instant::now();
    let smol_call = {
        let s = s.clone();
        std::thread::spawn(move || smol::block_on(s.call::<ConnectGetHostname>(&())).map(|_| ()))
    };
    let e = c.call::<ConnectGetHostname>(&()).unwrap_err();
    let blocking_took = t0.elapsed();
    let smol_result = smol_call.join().unwrap();
    let smol_took = t0.elapsed();
    d.signal("CONT");
    let bound = ka.dead_after() + Duration::from_secs(2);
    assert!(matches!(c.close_reason(), Some(ConnectionError::KeepaliveTimeout)), "{e}");
    assert!(smol_result.is_err() && matches!(s.close_reason(), Some(ConnectionError::KeepaliveTimeout)));
    assert!(blocking_took <= bound && smol_took <= bound, "{blocking_took:?} / {smol_took:?}");
    // The daemon thawed: both reconnect.
    let c = Client::connect(&d.tcp_uri(), &ConnectOptions::default()).unwrap();
    assert!(c.call::<ConnectGetHostname>(&()).is_ok());
    let s =
        smol::block_on(adapter_smol::Client::connect(&d.tcp_uri(), &adapter_smol::ConnectOptions::default())).unwrap();
    assert!(smol::block_on(s.call::<ConnectGetHostname>(&())).is_ok());
    // Killed while calls wait (frozen first, so that they are surely in flight): they fail at once.
    stop(&d);
    let waiting = {
        let (c, s) = (c.clone(), s.clone());
        std::thread::spawn(move || {
            let a = c.call::<ConnectGetHostname>(&()).map(|_| ());
            let b = smol::block_on(s.call::<ConnectGetHostname>(&())).map(|_| ());
            (a.is_err(), b.is_err())
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let killed = Instant::now();
    drop(d);
    assert_eq!(waiting.join().unwrap(), (true, true));
    assert!(killed.elapsed() < Duration::from_secs(2), "EOF must fail the calls at once");
    for reason in [c.close_reason(), s.close_reason()] {
        assert!(
            matches!(reason, Some(ConnectionError::PeerClosed | ConnectionError::TruncatedByPeer { .. })),
            "{reason:?}"
        );
    }
    // A daemon again: connecting works.
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    assert!(Client::connect(&d.tcp_uri(), &ConnectOptions::default()).unwrap().call::<ConnectGetHostname>(&()).is_ok());
}

/// A smol client whose daemon went away while it was idle: the next call fails with the close
/// reason, whenever it comes. (A call sent while the connection's task was ending used to wait in
/// the command channel forever: one round in about fifteen hung.)
fn call_after_the_daemon_died(runtime: &[&str]) {
    for round in 0..20 {
        let d = DaemonMin::start(daemon_bin(), "", runtime);
        let s = smol::block_on(adapter_smol::Client::connect(&d.tcp_uri(), &adapter_smol::ConnectOptions::default()))
            .unwrap();
        assert!(smol::block_on(s.call::<ConnectGetHostname>(&())).is_ok());
        drop(d);
        std::thread::sleep(Duration::from_millis(if round % 2 == 0 { 0 } else { 100 }));
        let call = async { Some(s.call::<ConnectGetHostname>(&()).await) };
        let hang = async {
            smol::Timer::after(Duration::from_secs(10)).await;
            None
        };
        let r = smol::block_on(smol::future::or(call, hang)).unwrap_or_else(|| panic!("round {round}: the call hung"));
        assert!(r.is_err(), "round {round}: a dead daemon answered");
        assert!(
            matches!(s.close_reason(), Some(ConnectionError::PeerClosed | ConnectionError::TruncatedByPeer { .. })),
            "round {round}: {:?}",
            s.close_reason()
        );
    }
}

/// Our clients start their background reader (blocking) or their connection's task (smol) only
/// when needed, at the latest once the connection has been idle for a second: a client that
/// makes no call still answers the daemon's keepalive (a PING every second, dropped after three
/// missed) and works after five idle seconds. Clients that do not offer keepalive (libvirt's
/// client without an event loop) make no probe, and the daemon then never pings nor drops them.
fn idle_clients_answer_keepalive(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "keepalive_interval = 1\nkeepalive_count = 3\n", runtime);
    let c = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let s =
        smol::block_on(adapter_smol::Client::connect(&d.unix_uri(), &adapter_smol::ConnectOptions::default())).unwrap();
    let quiet = ConnectOptions { offer_keepalive: false, ..ConnectOptions::default() };
    let c2 = Client::connect(&d.unix_uri(), &quiet).unwrap();
    let s2 = smol::block_on(adapter_smol::Client::connect(&d.unix_uri(), &quiet)).unwrap();
    assert!(c.features().keepalive && s.features().keepalive, "the default open offers keepalive");
    assert!(!c2.features().keepalive && !s2.features().keepalive, "no probe, no keepalive");
    std::thread::sleep(Duration::from_secs(6));
    for (name, c) in [("blocking", &c), ("blocking without keepalive", &c2)] {
        assert!(c.call::<ConnectGetHostname>(&()).is_ok(), "{name}: {:?}", c.close_reason());
    }
    for (name, s) in [("smol", &s), ("smol without keepalive", &s2)] {
        assert!(smol::block_on(s.call::<ConnectGetHostname>(&())).is_ok(), "{name}: {:?}", s.close_reason());
    }
}

on_both_runtimes!(
    one_byte_writes,
    cut_mid_reply,
    frozen_then_killed,
    call_after_the_daemon_died,
    idle_clients_answer_keepalive
);
