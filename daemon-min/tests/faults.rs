//! Faults on the client's side of the daemon, each on both runtimes: peers that close in the
//! middle of the length word, the header or the body; bytes that are not libvirt's protocol (an
//! HTTP request, noise, a TLS ClientHello on the TCP port); clients that send one byte a
//! second; a client that never reads its replies. In every case the daemon drops or throttles
//! only that connection, keeps serving the others at their usual speed, holds bounded memory,
//! and its descriptors come back to where they were.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions};
use bytes::BytesMut;
use common::{call, daemon_bin, eventually, fds, open_call, rss_kib, serial, unix};
use proto_core::programs::remote::*;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;

fn addr_of(uri: &str) -> String {
    uri.trim_start_matches("test+tcp://").trim_end_matches("/default").to_owned()
}

/// "Not slowed": a median at most twice the one measured alone, give or take 100 µs of
/// scheduler noise (the medians themselves are 40–130 µs).
fn not_slowed(alone: Duration, beside: Duration) -> bool {
    beside <= alone * 2 + Duration::from_micros(100)
}

/// Median latency of `n` `DOMAIN_GET_STATE` calls.
fn get_state_median(c: &Client, n: usize) -> Duration {
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let args = RemoteDomainGetStateArgs { dom, flags: 0 };
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            c.call::<DomainGetState>(&args).unwrap();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[n / 2]
}

/// Reads until the peer closes; true if it did within `timeout` (false if it kept the
/// connection open, or answered with a frame).
fn closed_without_answer(s: &mut TcpStream, timeout: Duration) -> bool {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    matches!(s.read(&mut buf), Ok(0)) || matches!(s.read(&mut buf), Ok(0))
}

/// The start of a TLS 1.2/1.3 ClientHello record as any TLS client sends it first.
const CLIENT_HELLO: [u8; 16] =
    [0x16, 0x03, 0x01, 0x00, 0xf1, 0x01, 0x00, 0x00, 0xed, 0x03, 0x03, 0x5a, 0x11, 0x9e, 0x3c, 0x44];

fn not_libvirt(runtime: &[&str]) {
    let _one = serial();
    let d = DaemonMin::start_logged(daemon_bin(), "", runtime);
    let addr = addr_of(&d.tcp_uri());
    let good = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let fds_before = fds(d.pid());
    let mut noise = [0u8; 256];
    let mut x: u32 = 0x9e37_79b9;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let inputs: [(&str, &[u8]); 3] =
        [("HTTP", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), ("noise", &noise), ("TLS ClientHello", &CLIENT_HELLO)];
    for (i, (what, bytes)) in inputs.iter().enumerate() {
        let lines_before = d.log().lines().count();
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(bytes).unwrap();
        assert!(closed_without_answer(&mut s, Duration::from_secs(5)), "{what}: the daemon kept the connection");
        assert!(
            eventually(Duration::from_secs(5), || d.log().lines().count() == lines_before + 1),
            "{what}: expected one log line, the log is:\n{}",
            d.log()
        );
        let line = d.log().lines().nth(lines_before).unwrap_or_default().to_owned();
        assert!(line.contains("dropped: protocol error"), "{what}: {line}");
        eprintln!("{runtime:?} {what}: {line}");
        assert!(!good.call::<ConnectGetHostname>(&()).unwrap().hostname.is_empty(), "after input {i}");
    }
    assert!(eventually(Duration::from_secs(5), || fds(d.pid()) == fds_before), "descriptors leaked");
}

/// libvirtd, for comparison: the same three inputs also end the connection without an answer.
#[test]
fn libvirtd_drops_the_same_inputs() {
    let _one = serial();
    let Some(l) = Libvirtd::start_or_skip() else { return };
    for bytes in [&b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"[..], &CLIENT_HELLO[..]] {
        let mut s = TcpStream::connect(l.tcp_addr()).unwrap();
        s.write_all(bytes).unwrap();
        assert!(closed_without_answer(&mut s, Duration::from_secs(5)));
    }
}

fn closes_mid_frame(runtime: &[&str]) {
    let _one = serial();
    let d = DaemonMin::start_logged(daemon_bin(), "", runtime);
    let path = d.unix_socket_path();
    let good = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let fds_before = fds(d.pid());
    let mut frame = BytesMut::new();
    let xml = "<domain type='test'><name>cut</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    call(&mut frame, REMOTE_PROC_DOMAIN_DEFINE_XML, 1, &RemoteDomainDefineXmlArgs { xml: xml.into() });
    // Mid-length, mid-header, mid-body, and a whole frame less its last byte.
    for cut in [2, 10, 40, frame.len() - 1] {
        for _ in 0..20 {
            let mut c = unix(&path);
            let mut open = BytesMut::new();
            open_call(&mut open, 0);
            c.send(&open).unwrap();
            c.reply();
            c.send(&frame[..cut]).unwrap();
            drop(c);
        }
    }
    assert!(eventually(Duration::from_secs(5), || fds(d.pid()) == fds_before), "descriptors leaked");
    // Nothing half-read was acted on; the daemon serves on, and logged nothing for clean cuts.
    let names = good.call::<ConnectListDefinedDomains>(&RemoteConnectListDefinedDomainsArgs { maxnames: 100 }).unwrap();
    assert!(names.names.iter().all(|n| *n != "cut"));
    assert!(!d.log().contains("dropped"), "{}", d.log());
}

fn one_byte_a_second(runtime: &[&str]) {
    let _one = serial();
    const SLOW: usize = 50;
    const SECONDS: u64 = 4;
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let path = d.unix_socket_path();
    let good = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let baseline = get_state_median(&good, 2000);
    let rss_before = rss_kib(d.pid());
    let stop = Arc::new(AtomicBool::new(false));
    let mut frame = BytesMut::new();
    open_call(&mut frame, 0);
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let frame = frame.clone();
            let stop = stop.clone();
            let path = path.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&path).unwrap();
                for b in frame.iter().take(SECONDS as usize) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    s.write_all(&[*b]).unwrap();
                    std::thread::sleep(Duration::from_secs(1));
                }
                s
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = get_state_median(&good, 2000);
    let rss_during = rss_kib(d.pid());
    stop.store(true, Ordering::Relaxed);
    for t in slow {
        drop(t.join().unwrap());
    }
    eprintln!(
        "{runtime:?}: {SLOW} clients at one byte a second: GET_STATE median {baseline:?} → {during:?}, RSS {rss_before} → {rss_during} KiB"
    );
    assert!(not_slowed(baseline, during), "GET_STATE median {baseline:?} alone, {during:?} beside the slow clients");
    assert!(rss_during < rss_before + 8 * 1024, "RSS {rss_before} → {rss_during} KiB");
}

fn never_reads(runtime: &[&str]) {
    let _one = serial();
    let d = DaemonMin::start_logged(daemon_bin(), "", runtime);
    let path = d.unix_socket_path();
    let good = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let fds_before = fds(d.pid());
    let baseline = get_state_median(&good, 1000);
    let rss_before = rss_kib(d.pid());
    // Pipelines capabilities calls (a few KiB each) and never reads an answer.
    let s = UnixStream::connect(&path).unwrap();
    let writer_sock = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut w = writer_sock;
        let mut out = BytesMut::new();
        open_call(&mut out, 0);
        let mut sent = 0u32;
        for serial in 1..=50_000u32 {
            call(&mut out, REMOTE_PROC_CONNECT_GET_CAPABILITIES, serial, &());
            if out.len() > 16 * 1024 {
                if w.write_all(&out).is_err() {
                    break;
                }
                out.clear();
            }
            sent = serial;
        }
        sent
    });
    std::thread::sleep(Duration::from_secs(2));
    let during = get_state_median(&good, 1000);
    let rss_during = rss_kib(d.pid());
    eprintln!("{runtime:?}: beside a client that never reads: GET_STATE {baseline:?} → {during:?}, RSS {rss_before} → {rss_during} KiB");
    assert!(not_slowed(baseline, during), "GET_STATE median {baseline:?} alone, {during:?} beside it");
    // The daemon stopped reading it (max_client_requests): its queued output stays bounded.
    assert!(rss_during < rss_before + 16 * 1024, "RSS {rss_before} → {rss_during} KiB");
    s.shutdown(std::net::Shutdown::Both).unwrap();
    let sent = writer.join().unwrap();
    assert!(sent < 50_000, "the daemon read all {sent} calls of a client that never read");
    assert!(eventually(Duration::from_secs(5), || fds(d.pid()) == fds_before), "descriptors leaked");
    assert!(good.call::<ConnectGetHostname>(&()).is_ok());
}

on_both_runtimes!(not_libvirt, closes_mid_frame, one_byte_a_second, never_reads);
