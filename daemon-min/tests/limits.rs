//! Per-connection limits: `max_client_requests` throttles reading, it never drops a call; and
//! the server's keepalive drops a client that asked for keepalive and then went silent, after
//! `keepalive_interval × (keepalive_count + 1)` seconds, as Debian's libvirtd 9.0 does. On
//! both runtimes.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{call, daemon_bin, open_call, Raw, READ_TIMEOUT};
use proto_core::frame::encode_frame;
use proto_core::program::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM};
use proto_core::programs::remote::{
    RemoteConnectSupportsFeatureArgs, RemoteDomainLookupByNameArgs, REMOTE_PROC_CONNECT_GET_HOSTNAME,
    REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
};
use proto_core::{Header, MessageStatus, MessageType, XdrString};
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
const FEATURE_KEEPALIVE: i32 = 10;

fn tcp(addr: &str) -> Raw<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    Raw::new(s)
}

fn addr_of(uri: &str) -> String {
    uri.trim_start_matches("test+tcp://").trim_end_matches("/default").to_owned()
}

/// Open, then `n` calls in one write (hostname and domain lookups by turns, some failing);
/// every one is answered, once.
fn pipelined<S: Read + Write>(c: &mut Raw<S>, n: u32) {
    // Open first: libvirtd runs pipelined calls in parallel, a call could overtake the open.
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    c.send(&out).unwrap();
    assert_eq!(c.reply().header.status, MessageStatus::Ok);
    out.clear();
    for i in 0..n {
        let serial = 2 + i;
        match i % 3 {
            0 => call(&mut out, REMOTE_PROC_CONNECT_GET_HOSTNAME, serial, &()),
            1 => call(
                &mut out,
                REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
                serial,
                &RemoteDomainLookupByNameArgs { name: XdrString::from("test") },
            ),
            _ => call(
                &mut out,
                REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
                serial,
                &RemoteDomainLookupByNameArgs { name: XdrString::from("nope") },
            ),
        }
    }
    c.send(&out).unwrap();
    // libvirtd's workers may answer out of order: each serial once, with the right status.
    let mut answered = std::collections::BTreeMap::from([(1, MessageStatus::Ok)]);
    for _ in 0..n {
        let r = c.reply();
        assert!(answered.insert(r.header.serial, r.header.status).is_none(), "{} answered twice", r.header.serial);
    }
    for serial in 1..=n + 1 {
        let expected = if serial >= 2 && (serial - 2) % 3 == 2 { MessageStatus::Error } else { MessageStatus::Ok };
        assert_eq!(answered.get(&serial), Some(&expected), "call {serial} of {}", n + 1);
    }
}

fn max_client_requests_queues_and_answers_everything(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "max_client_requests = 2\n", runtime);
    let mut c = tcp(&addr_of(&d.tcp_uri()));
    pipelined(&mut c, 10);
    // And a longer pipeline on another connection.
    let mut c = tcp(&addr_of(&d.tcp_uri()));
    pipelined(&mut c, 1000);
}

/// Asks for keepalive, then never writes again (so never answers a PING), reading only to see
/// the PINGs and the end. Returns the PINGs seen and when the connection ended, counted from
/// the last message the client sent.
fn silent_client(addr: &str) -> (usize, Duration) {
    let mut c = tcp(addr);
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    call(
        &mut out,
        REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
        2,
        &RemoteConnectSupportsFeatureArgs { feature: FEATURE_KEEPALIVE },
    );
    c.send(&out).unwrap();
    // libvirtd's workers may answer the two calls in either order: match them by serial.
    let (a, b) = (c.reply(), c.reply());
    assert_eq!((a.header.status, b.header.status), (MessageStatus::Ok, MessageStatus::Ok));
    let feature = if a.header.serial == 2 { a } else { b };
    assert_eq!(feature.header.serial, 2);
    assert_eq!(proto_core::xdr::from_bytes::<i32>(feature.body).unwrap(), 1, "keepalive supported");
    let t0 = Instant::now();
    let mut pings = 0;
    loop {
        match c.recv() {
            Ok(Some(f)) if f.header.prog == KEEPALIVE_PROGRAM && f.header.proc_ == KEEPALIVE_PROC_PING => pings += 1,
            Ok(Some(f)) => panic!("unexpected message {:?}", f.header),
            Ok(None) => return (pings, t0.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (pings, t0.elapsed()),
            Err(e) => panic!("not dropped after {:?}: {e}", t0.elapsed()),
        }
    }
}

/// Asks for keepalive and answers every PING with a PONG: not dropped in `hold`.
fn answering_client(addr: &str, hold: Duration) -> usize {
    let mut c = tcp(addr);
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    call(
        &mut out,
        REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
        2,
        &RemoteConnectSupportsFeatureArgs { feature: FEATURE_KEEPALIVE },
    );
    c.send(&out).unwrap();
    c.reply();
    c.reply();
    c.sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let t0 = Instant::now();
    let mut pongs = 0;
    while t0.elapsed() < hold {
        match c.recv() {
            Ok(Some(f)) if f.header.proc_ == KEEPALIVE_PROC_PING => {
                let pong = Header {
                    prog: KEEPALIVE_PROGRAM,
                    vers: 1,
                    proc_: KEEPALIVE_PROC_PONG,
                    ty: MessageType::Message,
                    serial: 0,
                    status: MessageStatus::Ok,
                };
                let mut out = BytesMut::new();
                encode_frame(&mut out, &pong, &()).unwrap();
                c.send(&out).unwrap();
                pongs += 1;
            }
            Ok(Some(f)) => panic!("unexpected message {:?}", f.header),
            Ok(None) => panic!("dropped after {:?} though it answered {pongs} PINGs", t0.elapsed()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    pongs
}

/// Never asks for keepalive and stays silent: not dropped in `hold`.
fn quiet_client_without_keepalive(addr: &str, hold: Duration) {
    let mut c = tcp(addr);
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    c.send(&out).unwrap();
    c.reply();
    c.sock.set_read_timeout(Some(hold)).unwrap();
    match c.recv() {
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
        other => panic!("a client that never asked for keepalive got {other:?}"),
    }
}

const KEEPALIVE_CONF: &str = "keepalive_interval = 1\nkeepalive_count = 1\n";

fn keepalive_drops_a_silent_client(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), KEEPALIVE_CONF, runtime);
    let addr = addr_of(&d.tcp_uri());
    std::thread::scope(|s| {
        let answering = s.spawn(|| answering_client(&addr, Duration::from_millis(3500)));
        let quiet = s.spawn(|| quiet_client_without_keepalive(&addr, Duration::from_millis(3500)));
        let (pings, after) = silent_client(&addr);
        eprintln!("{runtime:?}: the silent client was dropped after {after:?} and {pings} PING(s)");
        assert!(pings >= 1, "dropped without a PING first");
        assert!(after >= Duration::from_millis(1500) && after <= Duration::from_millis(3500), "{after:?}");
        assert!(answering.join().unwrap() >= 2, "the answering client saw too few PINGs");
        quiet.join().unwrap();
    });
}

/// The same silent client against Debian's libvirtd with the same settings.
#[test]
fn keepalive_drops_a_silent_client_like_libvirtd() {
    if spec_tests::libvirtd::require_peer("libvirtd").is_none() {
        return;
    }
    let theirs = Libvirtd::start_with_config(KEEPALIVE_CONF).expect("start libvirtd");
    let ours = DaemonMin::start(daemon_bin(), KEEPALIVE_CONF, &[]);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| silent_client(&theirs.tcp_addr().to_string()));
        let b = s.spawn(|| silent_client(&addr_of(&ours.tcp_uri())));
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!(
        "libvirtd dropped the silent client after {:?} ({} PINGs), daemon-min after {:?} ({})",
        a.1, a.0, b.1, b.0
    );
    assert_eq!(a.0, b.0, "PINGs before the drop");
    assert!(a.1.abs_diff(b.1) < Duration::from_millis(1200), "libvirtd {:?}, daemon-min {:?}", a.1, b.1);
}

/// The same pipeline against libvirtd with `max_client_requests = 2`.
#[test]
fn max_client_requests_like_libvirtd() {
    if spec_tests::libvirtd::require_peer("libvirtd").is_none() {
        return;
    }
    let theirs = Libvirtd::start_with_config("max_client_requests = 2\n").expect("start libvirtd");
    let mut c = tcp(&theirs.tcp_addr().to_string());
    pipelined(&mut c, 10);
}

on_both_runtimes!(max_client_requests_queues_and_answers_everything, keepalive_drops_a_silent_client);
