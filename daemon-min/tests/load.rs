//! Many clients: 1,000 connections that each open, call and close, in batches that keep 250
//! open at once, leave the daemon's descriptors exactly where they were and its memory near
//! where it was; and `max_clients`: the connection past the limit waits (neither refused nor
//! dropped) until another one closes. On both runtimes.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{call, daemon_bin, eventually, fds, open_call, rss_kib, unix, Raw, READ_TIMEOUT, RUNTIMES};
use proto_core::programs::remote::{REMOTE_PROC_CONNECT_CLOSE, REMOTE_PROC_CONNECT_GET_HOSTNAME};
use proto_core::{MessageStatus, XdrString};
use spec_tests::daemon_min::DaemonMin;

/// Clients per batch, all open at once.
const BATCH: usize = 250;
/// Threads per batch, each holding `BATCH / THREADS` connections.
const THREADS: usize = 5;
/// Batches: 4 × 250 = 1,000 clients.
const BATCHES: usize = 4;
/// How much the daemon's RSS may stay above its baseline once every client is gone.
const RSS_MARGIN_KIB: u64 = 8 * 1024;
/// adapter-smol's read buffer per connection (see [`_SMOL_ISSUES`]).
const SMOL_READ_BUFFER_KIB: u64 = 256;

trait Sock: Read + Write + Send + 'static {}
impl<T: Read + Write + Send + 'static> Sock for T {}

/// Runs one batch: `THREADS` threads connect `BATCH` clients in all; once every one is
/// connected (and the daemon holds a descriptor for each) `at_peak` runs; then every client
/// pipelines open, hostname and close, checks the three replies and disconnects.
fn batch(connect: impl Fn() -> Box<dyn Sock> + Send + Sync + 'static, at_peak: impl FnOnce()) {
    let connect = Arc::new(connect);
    let connected = Arc::new(Barrier::new(THREADS + 1));
    let go = Arc::new(Barrier::new(THREADS + 1));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (connect, connected, go) = (connect.clone(), connected.clone(), go.clone());
            std::thread::spawn(move || {
                let mut socks: Vec<Raw<Box<dyn Sock>>> = (0..BATCH / THREADS).map(|_| Raw::new(connect())).collect();
                connected.wait();
                go.wait();
                let mut out = BytesMut::new();
                open_call(&mut out, 1);
                call(&mut out, REMOTE_PROC_CONNECT_GET_HOSTNAME, 2, &());
                call(&mut out, REMOTE_PROC_CONNECT_CLOSE, 3, &());
                for s in &mut socks {
                    s.send(&out).expect("send");
                }
                for s in &mut socks {
                    for serial in 1..=3 {
                        let r = s.reply();
                        assert_eq!((r.header.serial, r.header.status), (serial, MessageStatus::Ok));
                        if serial == 2 {
                            let host: XdrString = proto_core::xdr::from_bytes(r.body).expect("a hostname");
                            assert!(!host.to_string().is_empty());
                        }
                    }
                    // CONNECT_CLOSE: the daemon closes its end after the reply.
                    assert!(s.recv().expect("read").is_none(), "the end of file after CONNECT_CLOSE");
                }
            })
        })
        .collect();
    connected.wait();
    at_peak();
    go.wait();
    for w in workers {
        w.join().expect("a client thread failed");
    }
}

/// Whether the daemon's memory must come back to its baseline, or only stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rss {
    /// Back within [`RSS_MARGIN_KIB`] of the baseline once every client is gone.
    BackToBaseline,
    /// No more than one adapter-smol read buffer per client of a batch above the baseline
    /// (plus [`RSS_MARGIN_KIB`]): what the allocator keeps of one batch is reused by the next,
    /// nothing grows per client.
    Bounded,
}

fn thousand_clients(runtime: &[&str], rss: Rss) {
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let pid = d.pid();
    let path = d.unix_socket_path();
    let addr = d.tcp_uri().trim_start_matches("test+tcp://").trim_end_matches("/default").to_owned();
    let over_unix = {
        let path = path.clone();
        move || -> Box<dyn Sock> {
            let s = UnixStream::connect(&path).expect("connect");
            s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
            Box::new(s)
        }
    };
    let over_tcp = move || -> Box<dyn Sock> {
        let s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Box::new(s)
    };

    // A first batch, so that what is allocated once is in the baseline (smol opens a few
    // descriptors of its own on first use: its reactor's and its blocking pool's).
    batch(over_unix.clone(), || {});
    std::thread::sleep(Duration::from_millis(300));
    let (rss0, fds0) = (rss_kib(pid), fds(pid));

    let t0 = Instant::now();
    let (mut peak_fds, mut peak_rss) = (0, 0);
    for b in 0..BATCHES {
        let at_peak = || {
            // Every client of the batch is connected: the daemon has accepted them all.
            assert!(
                eventually(Duration::from_secs(10), || fds(pid) >= fds0 + BATCH),
                "the daemon holds {} descriptors with {BATCH} clients connected (baseline {fds0})",
                fds(pid)
            );
            peak_fds = peak_fds.max(fds(pid));
            peak_rss = peak_rss.max(rss_kib(pid));
        };
        if b % 2 == 0 {
            batch(over_unix.clone(), at_peak);
        } else {
            batch(over_tcp.clone(), at_peak);
        }
        peak_rss = peak_rss.max(rss_kib(pid));
    }
    let elapsed = t0.elapsed();
    assert!(eventually(Duration::from_secs(5), || fds(pid) == fds0), "fds: {} after, {fds0} before", fds(pid));
    let limit = match rss {
        Rss::BackToBaseline => rss0,
        Rss::Bounded => rss0 + SMOL_READ_BUFFER_KIB * BATCH as u64,
    } + RSS_MARGIN_KIB;
    let settled = eventually(Duration::from_secs(3), || rss_kib(pid) <= limit);
    let rss1 = rss_kib(pid);
    eprintln!(
        "{runtime:?}: {} clients in {elapsed:?}, {BATCH} at once; fds {fds0} -> peak {peak_fds} -> {}; \
         RSS {rss0} KiB -> peak {peak_rss} KiB -> {rss1} KiB",
        BATCH * BATCHES,
        fds(pid)
    );
    assert!(settled, "RSS {rss1} KiB after, {rss0} KiB before; limit {limit} KiB ({rss:?})");
    // And the daemon still serves.
    let mut c = unix(&path);
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    c.send(&out).unwrap();
    assert_eq!(c.reply().header.status, MessageStatus::Ok);
}

/// `max_clients = 10`: ten clients connected and open; the eleventh connects (the kernel
/// queues it) but is not served until one of the ten leaves; then it is.
fn eleventh_client_waits(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "max_clients = 10\n", runtime);
    let path = d.unix_socket_path();
    let mut open = BytesMut::new();
    open_call(&mut open, 1);
    let mut ten: Vec<Raw<UnixStream>> = (0..10)
        .map(|i| {
            let mut c = unix(&path);
            c.send(&open).unwrap();
            match c.recv() {
                Ok(Some(r)) => assert_eq!(r.header.status, MessageStatus::Ok),
                other => panic!("client {} of 10 (max_clients = 10) was not served: {other:?}", i + 1),
            }
            c
        })
        .collect();
    let mut eleventh = unix(&path);
    let mut out = BytesMut::new();
    open_call(&mut out, 1);
    call(&mut out, REMOTE_PROC_CONNECT_GET_HOSTNAME, 2, &());
    eleventh.send(&out).expect("the eleventh can send: it is queued, not refused");
    eleventh.sock.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    match eleventh.recv() {
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
        other => panic!("the eleventh client was served or dropped while ten were connected: {other:?}"),
    }
    // The others are still served meanwhile.
    let mut out = BytesMut::new();
    call(&mut out, REMOTE_PROC_CONNECT_GET_HOSTNAME, 2, &());
    ten[3].send(&out).unwrap();
    assert_eq!(ten[3].reply().header.status, MessageStatus::Ok);

    let t0 = Instant::now();
    drop(ten.remove(0));
    eleventh.sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for serial in [1, 2] {
        let r = eleventh.reply();
        assert_eq!((r.header.serial, r.header.status), (serial, MessageStatus::Ok));
    }
    eprintln!("{runtime:?}: the eleventh client was served {:?} after one of the ten left", t0.elapsed());
}

// Both runtimes meet the same bars: memory back to its baseline after 1,000 clients (the smol
// runtime shares one read buffer per thread rather than one per connection) and `max_clients`
// counting connections only (the smol runtime accepts first, then takes a slot).

mod smol_runtime {
    use super::{Rss, RUNTIMES};

    #[test]
    fn thousand_clients_fds_back_memory_bounded() {
        super::thousand_clients(RUNTIMES[0].1, Rss::Bounded);
    }

    #[test]
    fn thousand_clients() {
        super::thousand_clients(RUNTIMES[0].1, Rss::BackToBaseline);
    }

    #[test]
    fn eleventh_client_waits() {
        super::eleventh_client_waits(RUNTIMES[0].1);
    }
}

mod blocking_runtime {
    use super::{Rss, RUNTIMES};

    #[test]
    fn thousand_clients() {
        super::thousand_clients(RUNTIMES[1].1, Rss::BackToBaseline);
    }

    #[test]
    fn eleventh_client_waits() {
        super::eleventh_client_waits(RUNTIMES[1].1);
    }
}
