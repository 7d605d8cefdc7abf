//! Our side of `bench/compare` (see `BENCHMARKS.md`): one workload with one of our clients,
//! timed like `bench/libvirt_client.c` times libvirt's, printing the same `RESULT` line.
//!
//! ```text
//! bench_client blocking|smol|core URI seq N        N x REMOTE_PROC_DOMAIN_GET_STATE("test")
//! bench_client blocking|smol URI threads T N       the N calls from T threads (smol: T tasks) on one connection
//! bench_client blocking|smol URI connect N         N x (connect + REMOTE_PROC_CONNECT_CLOSE)
//! bench_client raw - seq N                          N x 60-byte request / 36-byte reply over a socketpair
//!                                                   to a child process (the ceiling)
//! ```
//!
//! `BENCH_BUSY_POLL_US=N` sets the clients' `ConnectOptions::busy_poll` to N µs (0: off);
//! `BENCH_OFFER_KEEPALIVE=0` opens without the keepalive probe (`offer_keepalive`).
//!
//! `core` drives `proto_core::ClientConnection` from this one thread straight on the socket:
//! what the core costs without an adapter.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use adapter_blocking::transport::{self, Channel};
use proto_core::client::CallSpec;
use proto_core::connect::ConnectSequence;
use proto_core::programs::remote::{
    DomainGetState, DomainLookupByName, RemoteDomainGetStateArgs, RemoteDomainLookupByNameArgs, RemoteNonnullDomain,
};
use proto_core::uri::LibvirtUri;
use proto_core::{ClientConfig, ClientConnection, ClientEvent, Procedure};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = match a.as_slice() {
        ["pong"] => pong(),
        ["raw", _, "seq", n] => raw(num(n)),
        [client, uri, "seq", n] => run(client, uri, 1, num(n), false),
        [client, uri, "threads", t, n] => run(client, uri, num(t), num(n), false),
        [client, uri, "connect", n] => run(client, uri, 1, num(n), true),
        _ => Err("usage: bench_client blocking|smol|core|raw URI seq N | threads T N | connect N".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn num(s: &str) -> usize {
    s.parse().unwrap_or(0)
}

fn result(calls: usize, t0: Instant) {
    let secs = t0.elapsed().as_secs_f64();
    println!("RESULT rate={:.1} rss_kb={}", calls as f64 / secs, peak_rss_kb());
}

/// `VmHWM` of this process (what `getrusage`'s `ru_maxrss` reports for the C client).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Both clients' options (`adapter_io::ConnectOptions`): the defaults, except that
/// `BENCH_BUSY_POLL_US=N` sets `busy_poll` to N µs (0: off) and `BENCH_OFFER_KEEPALIVE=0` opens
/// without the keepalive probe.
fn options() -> adapter_blocking::ConnectOptions {
    let env = |k: &str| std::env::var(k).ok();
    let mut o = adapter_blocking::ConnectOptions::default();
    match env("BENCH_BUSY_POLL_US").and_then(|v| v.parse().ok()) {
        Some(0) => o.busy_poll = None,
        Some(us) => o.busy_poll = Some(std::time::Duration::from_micros(us)),
        None => {}
    }
    o.offer_keepalive = env("BENCH_OFFER_KEEPALIVE").as_deref() != Some("0");
    o
}

fn get_state_args(dom: RemoteNonnullDomain) -> RemoteDomainGetStateArgs {
    RemoteDomainGetStateArgs { dom, flags: 0 }
}

type R = Result<(), String>;

fn run(client: &str, uri: &str, threads: usize, n: usize, connect: bool) -> R {
    let threads = threads.max(1);
    match client {
        "blocking" => blocking(uri, threads, n, connect),
        "smol" => smol::block_on(smol_client(uri, threads, n, connect)),
        "core" if threads == 1 && !connect => core(uri, n),
        _ => Err(format!("no workload for client '{client}'")),
    }
}

fn blocking(uri: &str, threads: usize, n: usize, connect: bool) -> R {
    use adapter_blocking::Client;
    let opts = options();
    let e = |e: adapter_blocking::Error| e.to_string();
    if connect {
        let t0 = Instant::now();
        for _ in 0..n {
            Client::connect(uri, &opts).map_err(e)?.close().map_err(e)?;
        }
        result(n, t0);
        return Ok(());
    }
    let c = Client::connect(uri, &opts).map_err(e)?;
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).map_err(e)?.dom;
    let per = n / threads;
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (c, args) = (c.clone(), get_state_args(dom.clone()));
                s.spawn(move || (0..per).try_for_each(|_| c.call::<DomainGetState>(&args).map(drop).map_err(e)))
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
    })?;
    result(per * threads, t0);
    c.close().map_err(e)
}

async fn smol_client(uri: &str, tasks: usize, n: usize, connect: bool) -> R {
    use adapter_smol::Client;
    let opts = options();
    let e = |e: adapter_smol::Error| e.to_string();
    if connect {
        let t0 = Instant::now();
        for _ in 0..n {
            Client::connect(uri, &opts).await.map_err(e)?.close().await.map_err(e)?;
        }
        result(n, t0);
        return Ok(());
    }
    let c = Client::connect(uri, &opts).await.map_err(e)?;
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).await.map_err(e)?.dom;
    let per = n / tasks;
    let args = Arc::new(get_state_args(dom));
    let t0 = Instant::now();
    if tasks == 1 {
        // Sequential calls as a program makes them: on the task that runs them.
        for _ in 0..per {
            c.call::<DomainGetState>(&args).await.map_err(e)?;
        }
        result(per, t0);
        return c.close().await.map_err(e);
    }
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (c, args) = (c.clone(), args.clone());
            smol::spawn(async move {
                for _ in 0..per {
                    c.call::<DomainGetState>(&args).await.map_err(e)?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for h in handles {
        h.await?;
    }
    result(per * tasks, t0);
    c.close().await.map_err(e)
}

/// The core on this thread, on a unix socket: call, write, read until the reply.
struct CoreClient {
    conn: ClientConnection,
    sock: UnixStream,
    buf: Vec<u8>,
}

impl CoreClient {
    fn call_raw(&mut self, spec: CallSpec, args: &[u8]) -> Result<bytes::Bytes, String> {
        let serial = self.conn.call_raw(Instant::now(), spec, args).map_err(|e| e.to_string())?;
        loop {
            while let Some(b) = self.conn.poll_transmit() {
                self.sock.write_all(&b).map_err(|e| e.to_string())?;
            }
            while let Some(ev) = self.conn.poll_event() {
                match ev {
                    ClientEvent::Reply { serial: s, body, .. } if s == serial => return Ok(body),
                    ClientEvent::CallFailed { serial: s, error } if s == serial => return Err(error.to_string()),
                    ClientEvent::Closed { reason } => return Err(reason.to_string()),
                    _ => {}
                }
            }
            let n = self.sock.read(&mut self.buf).map_err(|e| e.to_string())?;
            if n == 0 {
                self.conn.handle_eof(Instant::now());
            } else {
                self.conn.handle_input(Instant::now(), &self.buf[..n]);
            }
        }
    }

    fn call<P: Procedure>(&mut self, args: &P::Args) -> Result<P::Ret, String> {
        let bytes = proto_core::xdr::to_bytes(args).map_err(|e| e.to_string())?;
        let body = self.call_raw(CallSpec::of::<P>(), &bytes)?;
        proto_core::xdr::from_bytes(body).map_err(|e| e.to_string())
    }
}

fn core(uri: &str, n: usize) -> R {
    let target =
        LibvirtUri::parse(uri).and_then(|u| u.resolve(&transport::client_env(), false)).map_err(|e| e.to_string())?;
    let Channel::Unix(sock) = transport::open(&target).map_err(|e| e.to_string())? else {
        return Err("the core client runs on unix sockets only".into());
    };
    let conn = ClientConnection::new(ClientConfig::default(), Instant::now());
    let mut c = CoreClient { conn, sock, buf: vec![0; 64 * 1024] };
    let mut seq = ConnectSequence::new(Some(target.name.clone()), target.connect_open_flags());
    while let Some((spec, args)) = seq.next_call() {
        let body = c.call_raw(spec, &args)?;
        seq.on_reply(Ok(body)).map_err(|e| e.to_string())?;
    }
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() })?.dom;
    let args = get_state_args(dom);
    let t0 = Instant::now();
    for _ in 0..n {
        c.call::<DomainGetState>(&args)?;
    }
    result(n, t0);
    Ok(())
}

/// The ceiling: a request/reply ping-pong of GET_STATE's frame sizes with a child process.
fn raw(n: usize) -> R {
    let (mut ours, theirs) = UnixStream::pair().map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child =
        Command::new(exe).arg("pong").stdin(Stdio::from(OwnedFd::from(theirs))).spawn().map_err(|e| e.to_string())?;
    let (req, mut rep) = ([7u8; 60], [0u8; 36]);
    let t0 = Instant::now();
    for _ in 0..n {
        ours.write_all(&req).map_err(|e| e.to_string())?;
        ours.read_exact(&mut rep).map_err(|e| e.to_string())?;
    }
    result(n, t0);
    drop(ours);
    let _ = child.wait();
    Ok(())
}

/// The child of [`raw`]: answers each 60-byte request with 36 bytes on its stdin socket.
fn pong() -> R {
    let fd = std::os::fd::AsFd::as_fd(&std::io::stdin()).try_clone_to_owned().map_err(|e| e.to_string())?;
    let mut sock = UnixStream::from(fd);
    let (mut req, rep) = ([0u8; 60], [1u8; 36]);
    while sock.read_exact(&mut req).is_ok() {
        sock.write_all(&rep).map_err(|e| e.to_string())?;
    }
    Ok(())
}
