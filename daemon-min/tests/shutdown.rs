//! Stopping the daemon: SIGTERM stops accepting, answers the calls in flight, closes every
//! connection (clients that registered a close callback hear the end of file, as with
//! libvirtd), keeps what it acknowledged and exits 0; `--timeout N` exits after N seconds without
//! clients. On both runtimes.

mod common;

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions};
use bytes::BytesMut;
use common::{call, daemon_bin, open_call, unix};
use proto_core::programs::remote::{
    ConnectListAllDomains, RemoteConnectListAllDomainsArgs, RemoteDomainDefineXmlArgs,
    REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, REMOTE_PROC_DOMAIN_DEFINE_XML,
};
use proto_core::{ConnectionError, MessageStatus, MessageType, XdrString};
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::process::Lines;

/// What a raw client that registered a close callback reads once the daemon got SIGTERM:
/// the frames before the end of file (procedure numbers), as `(type, proc)`.
fn raw_close_callback_client_sees(socket: &std::path::Path, terminate: impl FnOnce()) -> Vec<(MessageType, i32)> {
    let mut c = unix(socket);
    // One call at a time: libvirtd's workers may run pipelined calls out of order (the
    // registration before the open).
    for (serial, proc_) in [(1, None), (2, Some(REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK))] {
        let mut out = BytesMut::new();
        match proc_ {
            None => open_call(&mut out, serial),
            Some(p) => call(&mut out, p, serial, &()),
        }
        c.send(&out).unwrap();
        let r = c.reply();
        assert_eq!((r.header.serial, r.header.status), (serial, MessageStatus::Ok));
    }
    terminate();
    let mut frames = Vec::new();
    while let Some(f) = c.recv().expect("read until the end of file") {
        frames.push((f.header.ty, f.header.proc_));
    }
    frames
}

/// Clients learn of the shutdown as libvirtd's do: the connection ends (EOF), and a client
/// that registered a close callback hears that end, with nothing sent before it (libvirtd
/// sends no `REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED` when it stops; a daemon that did
/// would race virsh's own reaction to the event against its next call).
fn close_callbacks_hear_the_shutdown(runtime: &[&str]) {
    let mut d = DaemonMin::start(daemon_bin(), "", runtime);
    let options = ConnectOptions::default();
    // a registers a close callback, b does not.
    let a = Client::connect(&d.unix_uri(), &options).expect("connect a");
    let closed = a.register_close_callback().expect("register");
    let b = Client::connect(&d.tcp_uri(), &options).expect("connect b");
    let b_events = b.subscribe();
    let socket = d.unix_socket_path();
    let raw = raw_close_callback_client_sees(&socket, || {
        d.signal("TERM");
        let status = d.wait_exit(Duration::from_secs(10)).expect("the daemon exits after SIGTERM");
        assert!(status.success(), "{status}");
    });
    assert_eq!(raw, vec![], "nothing before the end of file");

    match closed.recv_timeout(Duration::from_secs(5)) {
        Some(Err(ConnectionError::PeerClosed)) => {}
        other => panic!("a's close callback registration should end with the EOF, got {other:?}"),
    }
    assert_eq!(a.close_reason(), Some(ConnectionError::PeerClosed));
    match b_events.recv_timeout(Duration::from_secs(5)) {
        Some(Err(ConnectionError::PeerClosed)) => {}
        other => panic!("b should see the EOF, got {other:?}"),
    }
    // It accepts no more: the sockets are gone.
    assert!(UnixStream::connect(&socket).is_err());
    assert!(std::net::TcpStream::connect(d.tcp_uri().trim_start_matches("test+tcp://").trim_end_matches("/default"))
        .is_err());
}

/// The same raw client against Debian's libvirtd: the end of file, nothing before it.
#[test]
fn libvirtd_sends_nothing_before_the_end_of_file_either() {
    let Some(theirs) = Libvirtd::start_or_skip() else { return };
    let pid = theirs.pid();
    let raw = raw_close_callback_client_sees(theirs.unix_socket_path(), || {
        assert!(Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
    });
    assert_eq!(raw, vec![], "libvirtd sent frames before closing");
}

fn domain_xml(i: u32) -> String {
    format!(
        "<domain type='test'><name>burst-{i}</name><uuid>5eed0000-0000-4000-8000-{i:012}</uuid>\
         <memory>1024</memory><os><type>hvm</type></os></domain>"
    )
}

/// A burst of pipelined defines, SIGTERM after the first answer: every call the daemon read is
/// answered before it closes, each answer is a success, the daemon exits 0, and a restart on
/// the same state directory has exactly the acknowledged domains.
fn calls_in_flight_are_answered_and_kept(runtime: &[&str]) {
    const N: u32 = 3000;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let args: Vec<&str> = runtime.iter().copied().chain(["--state-dir", state_dir]).collect();
    let mut d = DaemonMin::start(daemon_bin(), "", &args);
    let mut c = unix(&d.unix_socket_path());
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    c.send(&out).unwrap();
    assert_eq!(c.reply().header.status, MessageStatus::Ok);

    let mut burst = BytesMut::new();
    for i in 0..N {
        call(
            &mut burst,
            REMOTE_PROC_DOMAIN_DEFINE_XML,
            2 + i,
            &RemoteDomainDefineXmlArgs { xml: XdrString::from(domain_xml(i).as_str()) },
        );
    }
    // The daemon stops reading when it stops: write from another thread, which then fails.
    let mut writer = c.sock.try_clone().unwrap();
    let w = std::thread::spawn(move || std::io::Write::write_all(&mut writer, &burst).is_ok());
    let first = c.reply();
    let t0 = Instant::now();
    d.signal("TERM");
    let mut answered = 1;
    assert_eq!((first.header.serial, first.header.status), (2, MessageStatus::Ok));
    // The daemon closes with the rest of the burst unread, so the end may come as a reset
    // (after every reply it sent) rather than an end of file.
    let next = |c: &mut common::Raw<UnixStream>| match c.recv() {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
        r => r.expect("read"),
    };
    while let Some(f) = next(&mut c) {
        assert_eq!(f.header.ty, MessageType::Reply);
        assert_eq!((f.header.serial, f.header.status), (2 + answered, MessageStatus::Ok), "in order, all successes");
        answered += 1;
    }
    let status = d.wait_exit(Duration::from_secs(10)).expect("the daemon exits after SIGTERM");
    assert!(status.success(), "{status}");
    eprintln!("{runtime:?}: {answered} of {N} defines answered; exited {:?} after SIGTERM", t0.elapsed());
    let _ = w.join();
    drop(c);

    let d = DaemonMin::start(daemon_bin(), "", &args);
    let client = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let all =
        client.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }).unwrap();
    let mut burst: Vec<u32> = all
        .domains
        .iter()
        .filter_map(|dom| dom.name.to_string().strip_prefix("burst-").and_then(|n| n.parse().ok()))
        .collect();
    burst.sort_unstable();
    assert_eq!(burst, (0..answered).collect::<Vec<_>>(), "exactly the acknowledged defines survive");
}

/// `--timeout N`: exits 0 after N seconds with no client, not while one is connected.
fn timeout_exits_when_idle(runtime: &[&str]) {
    let args: Vec<&str> = runtime.iter().copied().chain(["--timeout", "1"]).collect();
    let t0 = Instant::now();
    let mut d = DaemonMin::start(daemon_bin(), "", &args);
    let status = d.wait_exit(Duration::from_secs(5)).expect("exits when idle");
    assert!(status.success(), "{status}");
    let idle_exit = t0.elapsed();
    assert!(idle_exit >= Duration::from_millis(900), "{idle_exit:?}");

    let mut d = DaemonMin::start(daemon_bin(), "", &args);
    let client = Client::connect(&d.unix_uri(), &ConnectOptions::default()).expect("connect");
    assert!(d.wait_exit(Duration::from_millis(2500)).is_none(), "exited with a client connected");
    client.close().unwrap();
    drop(client);
    let t0 = Instant::now();
    let status = d.wait_exit(Duration::from_secs(5)).expect("exits once the client left");
    assert!(status.success(), "{status}");
    eprintln!("{runtime:?}: idle exit after {idle_exit:?}; {:?} after the last client left", t0.elapsed());
}

on_both_runtimes!(close_callbacks_hear_the_shutdown, calls_in_flight_are_answered_and_kept, timeout_exits_when_idle);

/// virsh registers a close callback on every connection: `virsh event --loop` stopped by
/// SIGTERM prints what it prints when Debian's libvirtd is stopped, and exits as soon.
#[test]
fn virsh_event_loop_sees_the_shutdown_as_with_libvirtd() {
    let Some(theirs) = Libvirtd::start_or_skip() else { return };
    let Some(virsh) = require_peer("virsh") else { return };
    // Returns virsh's standard error (the URI masked), its exit status, and how long it took
    // to exit after the SIGTERM.
    let watch = |uri: &str, pid: u32| {
        let mut child = Command::new(&virsh)
            .args(["-c", uri, "event --event lifecycle --loop --timeout 20"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Lines::read(child.stdout.take().unwrap());
        // The watcher is registered once it reports an event. One event type only: with
        // `--all` virsh is still registering the other types when the first event prints, and a
        // SIGTERM then makes its next registration write into a closed socket (SIGPIPE), with
        // libvirtd as with daemon-min.
        let registered = (0..20).any(|_| {
            let _ = Command::new(&virsh).args(["-c", uri, "suspend test; resume test"]).output();
            stdout.wait_for(Duration::from_secs(1), |l| l.contains("Resumed"))
        });
        assert!(registered, "virsh event never reported an event from {uri}");
        let t0 = Instant::now();
        assert!(Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        let took = t0.elapsed();
        let printed = stdout.finish();
        assert!(
            printed.lines().rev().find(|l| !l.is_empty()).is_some_and(|l| l.starts_with("events received:")),
            "{uri}: virsh printed {printed:?}, exited with {}, stderr {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        (String::from_utf8_lossy(&out.stderr).replace(uri, "<uri>"), out.status.code(), took)
    };
    let a = watch(&theirs.unix_uri(), theirs.pid());
    let ours = DaemonMin::start(daemon_bin(), "", &[]);
    let b = watch(&ours.unix_uri(), ours.pid());
    assert!(a.0.contains("Disconnected from <uri> due to end of file"), "libvirtd: {a:?}");
    assert_eq!((&a.0, a.1), (&b.0, b.1), "virsh saw the shutdown differently");
    assert!(b.2 < Duration::from_secs(3), "virsh took {:?} to notice", b.2);
}
