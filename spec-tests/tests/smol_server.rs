//! adapter-smol's server runtime with a tiny test [`Handler`], driven by adapter-smol's client
//! and by a real `virsh` (plain TCP and TLS): the open sequence, calls, upload and download
//! streams with holes, `max_client_requests` backpressure, `max_clients`, the bound on a
//! client that does not read, and shutdown.
//!
//! The virsh cases skip loudly when virsh is missing; fail instead under `CI=true`.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapter_smol::server::{serve, CommandSink, Handler, Link, PeerInfo, PeerTransport, ServeOptions, ServerGroup};
use adapter_smol::{Client, ConnectOptions, Error, StreamItem};
use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::programs::remote::ConnectGetHostname;
use proto_core::{
    CallError, CallId, ConnectionError, Header, RemoteError, ServerConfig, ServerEvent, StreamDirection, StreamHole,
    XdrString,
};
use smol::future::FutureExt;
use smol::{Async, Task, Timer};
use spec_tests::libvirtd::require_peer;
use spec_tests::pki::{write_client_dir, Ca, ServerPki};

const HOSTNAME: &str = "smol-test-host";
/// Test procedures (the default `ServerConfig` passes every positive REMOTE procedure on).
const UPLOAD: i32 = 9100;
const DOWNLOAD: i32 = 9101;
const SLOW: i32 = 9102;
const PACED_MIB: i32 = 9103;
const DUMP_MIB: i32 = 9104;

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Data(Bytes),
    Hole(i64),
}

#[derive(Default)]
struct TestHandler {
    /// What the last finished upload sent, replayed by DOWNLOAD.
    stored: Mutex<Vec<Item>>,
    /// SLOW calls waiting for [`TestHandler::release`].
    held: Mutex<Vec<(Link, CallId)>>,
    slow_seen: AtomicUsize,
    peers: Mutex<Vec<PeerInfo>>,
    disconnects: Mutex<Vec<ConnectionError>>,
}

#[derive(Default)]
struct Conn {
    uploads: HashMap<u32, Vec<Item>>,
}

fn int(v: i32) -> Bytes {
    Bytes::copy_from_slice(&v.to_be_bytes())
}

impl TestHandler {
    /// Answers the held SLOW calls; returns how many.
    fn release(&self) -> usize {
        let held = std::mem::take(&mut *self.held.lock().unwrap());
        for (link, id) in &held {
            link.reply_raw(*id, Bytes::new());
        }
        held.len()
    }
}

impl Handler<Link> for TestHandler {
    type Conn = Conn;

    fn connected(&self, peer: &PeerInfo, _link: Link) -> Conn {
        self.peers.lock().unwrap().push(peer.clone());
        Conn::default()
    }

    fn call(&self, _conn: &mut Conn, link: &Link, id: CallId, header: Header, _fds: u32, args: Bytes) {
        match header.proc_ {
            66 => link.reply_raw(id, Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0])), // AUTH_LIST: [none]
            60 => link.reply_raw(id, int(1)),                                        // SUPPORTS_FEATURE: every feature
            1 | 360 | 361 => link.reply_raw(id, Bytes::new()), // CONNECT_OPEN, (UN)REGISTER_CLOSE_CALLBACK
            2 => {
                link.reply_raw(id, Bytes::new()); // CONNECT_CLOSE: answer, flush, close
                link.close();
            }
            59 => link.reply(id, &XdrString::from(HOSTNAME)),
            UPLOAD => {
                link.open_stream(id);
                link.reply_raw(id, Bytes::new());
            }
            DOWNLOAD => {
                link.open_stream(id);
                link.reply_raw(id, Bytes::new());
                for item in self.stored.lock().unwrap().iter() {
                    match item {
                        Item::Data(d) => link.stream_send(header.serial, d.clone()),
                        Item::Hole(n) => link.stream_hole(header.serial, StreamHole { length: *n, flags: 0 }),
                    }
                }
                link.stream_eof(header.serial);
            }
            SLOW => {
                self.slow_seen.fetch_add(1, Ordering::SeqCst);
                self.held.lock().unwrap().push((link.clone(), id));
            }
            PACED_MIB | DUMP_MIB => {
                let mib = u32::from_be_bytes(args[..4].try_into().unwrap());
                link.open_stream(id);
                link.reply_raw(id, Bytes::new());
                let (link, serial, chunk) = (link.clone(), header.serial, Bytes::from(vec![7u8; 1 << 20]));
                let paced = header.proc_ == PACED_MIB;
                smol::spawn(async move {
                    for _ in 0..mib {
                        if paced {
                            link.drained(4 << 20).await;
                        }
                        link.stream_send(serial, chunk.clone());
                    }
                    link.stream_eof(serial);
                })
                .detach();
            }
            other => link.reply_error(id, RemoteError::unknown_procedure(other)),
        }
    }

    fn stream(&self, conn: &mut Conn, link: &Link, event: ServerEvent) {
        match event {
            ServerEvent::StreamData { serial, data } => conn.uploads.entry(serial).or_default().push(Item::Data(data)),
            ServerEvent::StreamHole { serial, hole } => {
                conn.uploads.entry(serial).or_default().push(Item::Hole(hole.length));
            }
            ServerEvent::StreamFinish { serial } => {
                if let Some(items) = conn.uploads.remove(&serial) {
                    *self.stored.lock().unwrap() = items;
                }
                link.stream_finish(serial);
            }
            ServerEvent::StreamAbort { serial } => {
                conn.uploads.remove(&serial);
                link.stream_finish(serial);
            }
            other => panic!("{other:?}"),
        }
    }

    fn disconnected(&self, _conn: Conn, reason: &ConnectionError) {
        self.disconnects.lock().unwrap().push(reason.clone());
    }
}

struct Server {
    addr: SocketAddr,
    handler: Arc<TestHandler>,
    group: ServerGroup,
    task: Task<()>,
}

impl Server {
    fn start(options: ServeOptions) -> Self {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let handler = Arc::new(TestHandler::default());
        let group = options.group.clone();
        let task = smol::spawn(serve(listener, options, handler.clone()));
        Self { addr, handler, group, task }
    }

    fn uri(&self) -> String {
        format!("test+tcp://{}/default", self.addr)
    }
}

/// Fails the test instead of hanging it.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    f.or(async {
        Timer::after(Duration::from_secs(secs)).await;
        panic!("no result within {secs} s")
    })
    .await
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        Timer::after(Duration::from_millis(10)).await;
    }
}

async fn hostname(c: &Client) -> String {
    c.call::<ConnectGetHostname>(&()).await.unwrap().hostname.to_string()
}

fn virsh_hostname(uri: &str) -> Option<String> {
    let virsh = require_peer("virsh")?;
    let out = Command::new(virsh).args(["-c", uri, "hostname"]).output().expect("run virsh");
    assert!(out.status.success(), "virsh -c {uri} hostname: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn smol_client_and_virsh_open_and_call_over_tcp_and_unix() {
    let server = Server::start(ServeOptions::default());
    let uri = server.uri();
    smol::block_on(within(60, async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        assert!(c.features().keepalive && c.features().close_callback);
        assert_eq!(hostname(&c).await, HOSTNAME);
        let e = c.call_raw(CallSpec::remote(9999), &[]).await.unwrap_err();
        assert_eq!(e.remote().unwrap().to_string(), RemoteError::unknown_procedure(9999).to_string());
        c.close().await.unwrap();
        wait_until("the disconnect", || !server.handler.disconnects.lock().unwrap().is_empty()).await;
    }));
    // The real client, in a thread of its own.
    if let Some(out) = virsh_hostname(&uri) {
        assert_eq!(out, HOSTNAME);
    }
    let peers = server.handler.peers.lock().unwrap().clone();
    assert!(peers.iter().all(|p| p.transport == PeerTransport::Tcp && p.addr.is_some() && !p.read_only_socket));

    // A read-only unix socket.
    let dir = std::env::temp_dir().join(format!("smol-server-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let _ = std::fs::remove_file(&path);
    let listener = Async::<UnixListener>::bind(&path).unwrap();
    let handler = Arc::new(TestHandler::default());
    let options = ServeOptions { read_only: true, ..ServeOptions::default() };
    let _task = smol::spawn(serve(listener, options, handler.clone()));
    let uri = format!("test+unix:///default?socket={}", path.display());
    smol::block_on(within(30, async {
        let c = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        assert_eq!(hostname(&c).await, HOSTNAME);
    }));
    let peer = handler.peers.lock().unwrap()[0].clone();
    let me = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap();
    assert_eq!((peer.transport, peer.read_only_socket, peer.uid), (PeerTransport::Unix, true, Some(me)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn upload_and_download_with_holes_round_trip() {
    let server = Server::start(ServeOptions::default());
    smol::block_on(within(60, async {
        let c = Client::connect(&server.uri(), &ConnectOptions::default()).await.unwrap();
        let big = Bytes::from((0..600_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let sent = vec![Item::Data(Bytes::from_static(b"head")), Item::Hole(1 << 20), Item::Data(big.clone())];
        let spec = CallSpec::remote(UPLOAD).with_stream(StreamDirection::Write);
        let (_, mut up) = c.call_stream(spec, &[]).await.unwrap();
        for item in &sent {
            match item {
                Item::Data(d) => up.send(d.clone()).await.unwrap(),
                Item::Hole(n) => up.send_hole(*n).await.unwrap(),
            }
        }
        up.finish().await.unwrap();
        // The server got the data in libvirt's chunks (at most 262120 bytes), in order.
        let stored = server.handler.stored.lock().unwrap().clone();
        assert_eq!(stored[..2], sent[..2]);
        let rest: Vec<u8> = stored[2..]
            .iter()
            .flat_map(|i| match i {
                Item::Data(d) => d.to_vec(),
                Item::Hole(_) => panic!("a hole"),
            })
            .collect();
        assert_eq!(rest, big);
        assert!(stored.len() >= 5);

        let spec = CallSpec::remote(DOWNLOAD).with_stream(StreamDirection::Read);
        let (_, mut down) = c.call_stream(spec, &[]).await.unwrap();
        let mut got = Vec::new();
        loop {
            match down.recv().await.unwrap() {
                StreamItem::Data(d) => got.push(Item::Data(d)),
                StreamItem::Hole(h) => got.push(Item::Hole(h.length)),
                StreamItem::Eof => break,
                other => panic!("{other:?}"),
            }
        }
        down.finish().await.unwrap();
        assert_eq!(got, stored);
        // Through AsyncRead the hole reads as zeros.
        let (_, mut down) = c.call_stream(spec, &[]).await.unwrap();
        let mut flat = Vec::new();
        smol::io::AsyncReadExt::read_to_end(&mut down, &mut flat).await.unwrap();
        down.finish().await.unwrap();
        assert_eq!(flat.len(), 4 + (1 << 20) + big.len());
        assert!(flat[4..4 + (1 << 20)].iter().all(|b| *b == 0));
        assert_eq!(hostname(&c).await, HOSTNAME);
    }));
}

#[test]
fn max_client_requests_stops_reading_until_calls_are_answered() {
    let config = ServerConfig::default().with_max_client_requests(2);
    let server = Server::start(ServeOptions { server_config: config, ..ServeOptions::default() });
    smol::block_on(within(60, async {
        let c = Client::connect(&server.uri(), &ConnectOptions::default()).await.unwrap();
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let c = c.clone();
                smol::spawn(async move { c.call_raw(CallSpec::remote(SLOW), &[]).await })
            })
            .collect();
        let h = &server.handler;
        let mut answered = 0;
        while answered < 6 {
            // At most two calls reach the handler until they are answered.
            wait_until("two calls", || h.held.lock().unwrap().len() == 2.min(6 - answered)).await;
            Timer::after(Duration::from_millis(100)).await;
            assert_eq!(h.slow_seen.load(Ordering::SeqCst), answered + 2.min(6 - answered));
            answered += h.release();
        }
        for t in calls {
            t.await.unwrap();
        }
    }));
}

#[test]
fn max_clients_stops_accepting_until_one_leaves() {
    let server = Server::start(ServeOptions { max_clients: 2, ..ServeOptions::default() });
    let uri = server.uri();
    smol::block_on(within(60, async {
        let a = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        let b = Client::connect(&uri, &ConnectOptions::default()).await.unwrap();
        assert_eq!(server.group.clients(), 2);
        let third = smol::spawn({
            let uri = uri.clone();
            async move { Client::connect(&uri, &ConnectOptions::default()).await }
        });
        Timer::after(Duration::from_millis(500)).await;
        assert!(!third.is_finished(), "a third client must wait");
        b.close().await.unwrap();
        drop(b);
        let c = third.await.unwrap();
        assert_eq!(hostname(&c).await, HOSTNAME);
        assert_eq!(hostname(&a).await, HOSTNAME);
        assert_eq!(server.group.clients(), 2);
    }));
}

#[test]
fn a_paced_download_completes_and_a_client_that_stops_reading_is_dropped() {
    let server = Server::start(ServeOptions::default());
    smol::block_on(within(120, async {
        let c = Client::connect(&server.uri(), &ConnectOptions::default()).await.unwrap();
        // 100 MiB paced with Link::drained: well past the bound, and never dropped.
        let spec = CallSpec::remote(PACED_MIB).with_stream(StreamDirection::Read);
        let (_, mut s) = c.call_stream(spec, &100u32.to_be_bytes()).await.unwrap();
        let mut total = 0;
        while let Some(StreamItem::Data(d)) = s.recv().await {
            total += d.len();
        }
        assert_eq!(total, 100 << 20);
        s.finish().await.unwrap();

        // 100 MiB queued at once while the client does not read: dropped at the bound.
        let spec = CallSpec::remote(DUMP_MIB).with_stream(StreamDirection::Read);
        let (_, _unread) = c.call_stream(spec, &100u32.to_be_bytes()).await.unwrap();
        wait_until("the disconnect", || !server.handler.disconnects.lock().unwrap().is_empty()).await;
        let reason = server.handler.disconnects.lock().unwrap()[0].clone();
        assert!(matches!(reason, ConnectionError::PeerNotReading { buffered } if buffered > 64 << 20), "{reason}");
    }));
}

#[test]
fn shutdown_answers_calls_in_flight_then_closes() {
    let server = Server::start(ServeOptions::default());
    smol::block_on(within(60, async {
        let c = Client::connect(&server.uri(), &ConnectOptions::default()).await.unwrap();
        let slow = smol::spawn({
            let c = c.clone();
            async move { c.call_raw(CallSpec::remote(SLOW), &[]).await }
        });
        wait_until("the slow call", || server.handler.held.lock().unwrap().len() == 1).await;
        server.group.shutdown();
        Timer::after(Duration::from_millis(200)).await;
        assert!(!server.task.is_finished(), "a call is in flight");
        assert_eq!(server.handler.release(), 1);
        slow.await.unwrap();
        server.task.await;
        let e = c.call::<ConnectGetHostname>(&()).await.unwrap_err();
        assert!(matches!(e, Error::Call(CallError::Closed(_))), "{e}");
        assert_eq!(server.group.clients(), 0);
    }));
}

#[test]
fn tls_with_client_certificates_for_smol_and_virsh() {
    let dir = std::env::temp_dir().join(format!("smol-server-tls-{}", std::process::id()));
    let ca = Ca::new("smol-test-ca");
    let pki = ServerPki::write(&dir.join("server"), &ca, &ca.server_cert(&["127.0.0.1"])).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let tls = adapter_blocking::transport::tls_server_config(
        &path(&pki.ca_file),
        None,
        &path(&pki.cert_file),
        &path(&pki.key_file),
        false,
    )
    .unwrap();
    let server = Server::start(ServeOptions { tls: Some(tls), ..ServeOptions::default() });
    let with_cert = write_client_dir(&dir.join("client"), &ca, Some(&ca.client_cert("smol-client"))).unwrap();
    let without = write_client_dir(&dir.join("nocert"), &ca, None).unwrap();
    let uri = |d: &std::path::Path| format!("test+tls://{}/default?pkipath={}", server.addr, d.display());
    smol::block_on(within(60, async {
        let c = Client::connect(&uri(&with_cert), &ConnectOptions::default()).await.unwrap();
        assert_eq!(hostname(&c).await, HOSTNAME);
        // No client certificate: the handshake fails, so the check byte never comes.
        let e = Client::connect(&uri(&without), &ConnectOptions::default()).await.unwrap_err();
        assert!(matches!(e, Error::Tls(_)), "{e}");
    }));
    if let Some(out) = virsh_hostname(&uri(&with_cert)) {
        assert_eq!(out, HOSTNAME);
    }
    assert!(server.handler.peers.lock().unwrap().iter().all(|p| p.transport == PeerTransport::Tls));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-connection TLS server that completes the handshake, then sends `byte` (or nothing) and
/// closes: what a server that refuses the client's certificate looks like.
fn refusing_server(ca: &Ca, byte: Option<u8>) -> (u16, std::thread::JoinHandle<()>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::Write;
    let leaf = ca.server_cert(&["127.0.0.1"]);
    let chain = vec![CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut tls = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        while tls.is_handshaking() {
            tls.complete_io(&mut tcp).unwrap();
        }
        let mut s = rustls::StreamOwned::new(tls, tcp);
        if let Some(b) = byte {
            s.write_all(&[b]).unwrap();
        }
        s.flush().unwrap();
        // Dropping the socket closes it.
    });
    (port, handle)
}

#[test]
fn tls_without_the_check_byte_is_refusal() {
    let dir = std::env::temp_dir().join(format!("smol-server-refusal-{}", std::process::id()));
    let ca = Ca::new("smol-fake-ca");
    let pki = write_client_dir(&dir, &ca, Some(&ca.client_cert("smol-client"))).unwrap();
    for byte in [Some(0), None] {
        let (port, server) = refusing_server(&ca, byte);
        let uri = format!("test+tls://127.0.0.1:{port}/default?pkipath={}", pki.display());
        let e = smol::block_on(within(30, Client::connect(&uri, &ConnectOptions::default()))).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("TLS: server verification (of our certificate or IP address) failed"),
            "{byte:?}: {msg}"
        );
        server.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
