//! adapter-blocking's TLS (rustls 0.23, ring) against a real libvirtd 9.0 with certificates made
//! here (spec_tests::pki): libvirt's `pkipath=` layout, hostname verification, `no_verify=1`,
//! a wrong CA and a missing client certificate, the default non-root PKI directory
//! `$HOME/.pki/libvirt/`, and the byte the server sends after the handshake (against in-process
//! fake servers that send 1, 0 or nothing).
//!
//! The libvirtd cases skip loudly when libvirtd is missing, and fail instead under `CI=true`.
//! The fake-server cases need nothing installed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions, Error};
use bytes::BytesMut;
use proto_core::frame::encode_frame;
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote::{AuthList, ConnectGetHostname, ConnectOpen, RemoteAuthListRet, RemoteAuthType};
use proto_core::{ErrorCode, ErrorDomain, FrameDecoder, MessageStatus, MessageType, Procedure, RemoteError};
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::pki::{write_client_dir, Ca, Leaf, ServerPki};

/// libvirt's message when the check byte is missing or wrong (`virnetclient.c`).
const SERVER_REFUSED: &str = "server verification (of our certificate or IP address) failed";

/// Longest a connect may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(20);

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tls-vs-libvirtd-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA, a client certificate it signed, a second unrelated CA, and a libvirtd using a server
/// certificate (signed by the first CA) for `server_names`.
struct Fixture {
    daemon: Libvirtd,
    port: u16,
    ca: Ca,
    other_ca: Ca,
    client: Leaf,
    /// The server's certificate (for a revocation list that names it).
    server_leaf: Leaf,
    dir: TempDir,
}

impl Fixture {
    /// `None` when libvirtd is missing outside CI (after a loud SKIP).
    fn start(server_names: &[&str], extra: &str) -> Option<Self> {
        require_peer("libvirtd")?;
        let dir = TempDir::new("pki");
        let ca = Ca::new("spec-tests CA");
        let other_ca = Ca::new("unrelated CA");
        let client = ca.client_cert("spec-tests client");
        let server_leaf = ca.server_cert(server_names);
        let server = ServerPki::write(&dir.join("server"), &ca, &server_leaf).unwrap();
        // Info-level logging of the TLS context only: its session allow/deny lines.
        let conf = format!("log_filters = \"2:rpc.nettlscontext\"\nlog_outputs = \"2:stderr\"\n{extra}");
        let (daemon, port) = Libvirtd::start_tls(&server, &conf).unwrap_or_else(|e| panic!("{e}"));
        Some(Self { daemon, port, ca, other_ca, client, server_leaf, dir })
    }

    /// A `pkipath=` directory named `name` with `ca`'s certificate and, if given, a client
    /// certificate and key.
    fn pkipath(&self, name: &str, ca: &Ca, client: Option<&Leaf>) -> PathBuf {
        write_client_dir(&self.dir.join(name), ca, client).unwrap()
    }

    /// The good client directory: our CA, our client certificate.
    fn good(&self) -> PathBuf {
        self.pkipath("good", &self.ca, Some(&self.client))
    }

    fn uri(&self, host: &str, pkipath: &Path, query: &str) -> String {
        format!("test+tls://{host}:{}/default?pkipath={}{query}", self.port, pkipath.display())
    }
}

/// Connects on another thread so that a hang fails the test instead of blocking it.
fn connect(uri: &str) -> Result<Client, Error> {
    let (tx, rx) = mpsc::channel();
    let uri2 = uri.to_owned();
    thread::spawn(move || {
        let _ = tx.send(Client::connect(&uri2, &ConnectOptions::default()));
    });
    rx.recv_timeout(HANG).unwrap_or_else(|_| panic!("connecting to {uri} hung for {HANG:?}"))
}

/// The error of a connect that must fail.
fn connect_err(uri: &str) -> String {
    match connect(uri) {
        Ok(_) => panic!("{uri} connected, but it should have failed"),
        Err(e) => {
            let text = e.to_string();
            eprintln!("{uri}\n  -> {text}");
            text
        }
    }
}

fn hostname(c: &Client) -> String {
    c.call::<ConnectGetHostname>(&()).unwrap().hostname.to_string()
}

/// Waits up to 5 s for the daemon's log to contain `needle` (it is written asynchronously).
fn log_shows(daemon: &Libvirtd, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if daemon.log().contains(needle) {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn connects_with_pkipath_by_ip_and_by_name() {
    let Some(f) = Fixture::start(&["127.0.0.1", "localhost"], "") else { return };
    let good = f.good();
    let by_ip = connect(&f.uri("127.0.0.1", &good, "")).unwrap();
    let by_name = connect(&f.uri("localhost", &good, "")).unwrap();
    let plain = connect(&f.daemon.tcp_uri()).unwrap();
    let expected = hostname(&plain);
    assert!(!expected.is_empty());
    assert_eq!(hostname(&by_ip), expected);
    assert_eq!(hostname(&by_name), expected);
    assert!(by_ip.features().keepalive, "the open sequence ran to the end over TLS");

    // The daemon's own view: it accepted a TLS session with our client certificate's
    // distinguished name (libvirt logs RPC_TLS_CONTEXT_SESSION_ALLOW at info level).
    assert!(
        log_shows(&f.daemon, "RPC_TLS_CONTEXT_SESSION_ALLOW") && log_shows(&f.daemon, "CN=spec-tests client"),
        "no TLS session with our DN in the daemon's log:\n{}",
        f.daemon.log()
    );
    for c in [by_ip, by_name, plain] {
        c.close().unwrap();
    }
}

#[test]
fn wrong_ca_is_a_certificate_error_and_no_verify_accepts_it() {
    let Some(f) = Fixture::start(&["127.0.0.1", "localhost"], "") else { return };
    let wrong = f.pkipath("wrong-ca", &f.other_ca, Some(&f.client));
    let err = connect_err(&f.uri("127.0.0.1", &wrong, ""));
    assert!(err.starts_with("TLS: "), "{err}");
    assert!(err.contains("invalid peer certificate: UnknownIssuer"), "{err}");
    assert!(err.contains(&wrong.join("cacert.pem").display().to_string()), "names the CA file: {err}");

    // no_verify=1 skips checking the server's certificate; the server still checks ours.
    let c = connect(&f.uri("127.0.0.1", &wrong, "&no_verify=1")).unwrap();
    assert!(!hostname(&c).is_empty());
    c.close().unwrap();
}

#[test]
fn hostname_is_verified_unless_no_verify() {
    let Some(f) = Fixture::start(&["other.example"], "") else { return };
    let good = f.good();
    for host in ["127.0.0.1", "localhost"] {
        let err = connect_err(&f.uri(host, &good, ""));
        assert!(err.contains("invalid peer certificate") && err.contains("not valid for name"), "{err}");
        assert!(err.contains(host), "{err}");
        let c = connect(&f.uri(host, &good, "&no_verify=1")).unwrap();
        assert!(!hostname(&c).is_empty());
        c.close().unwrap();
    }
}

/// A `cacrl.pem` in the client's PKI directory (libvirt's layout) is applied: the server's
/// certificate revoked there fails the connection, as it fails virsh's; a list that revokes
/// something else changes nothing.
#[test]
fn the_clients_revocation_list_is_applied() {
    let Some(f) = Fixture::start(&["127.0.0.1"], "") else { return };
    let Some(virsh) = require_peer("virsh") else { return };
    let revoked = f.pkipath("revoked", &f.ca, Some(&f.client));
    std::fs::write(revoked.join("cacrl.pem"), f.ca.crl(&[&f.server_leaf])).unwrap();
    let err = connect_err(&f.uri("127.0.0.1", &revoked, ""));
    assert!(err.contains("invalid peer certificate: Revoked"), "{err}");
    let theirs = Command::new(&virsh).args(["-c", &f.uri("127.0.0.1", &revoked, ""), "hostname"]).output().unwrap();
    assert!(!theirs.status.success(), "virsh connected with the server's certificate revoked");
    let unrelated = f.pkipath("unrelated-crl", &f.ca, Some(&f.client));
    let someone_else = f.ca.client_cert("someone else");
    std::fs::write(unrelated.join("cacrl.pem"), f.ca.crl(&[&someone_else])).unwrap();
    let c = connect(&f.uri("127.0.0.1", &unrelated, "")).unwrap();
    assert!(!hostname(&c).is_empty());
    c.close().unwrap();
}

#[test]
fn missing_client_certificate_is_refused_by_the_server() {
    let Some(f) = Fixture::start(&["127.0.0.1", "localhost"], "") else { return };
    let no_cert = f.pkipath("no-client-cert", &f.ca, None);
    let started = Instant::now();
    let err = connect_err(&f.uri("127.0.0.1", &no_cert, ""));
    assert_eq!(
        err,
        format!(
            "TLS: {SERVER_REFUSED}: the server closed the connection instead of accepting us; we sent no client \
             certificate ('{0}/clientcert.pem' and '{0}/clientkey.pem' are not both there)",
            no_cert.display()
        )
    );
    assert!(started.elapsed() < Duration::from_secs(10), "refused promptly, not by a timeout");
    assert!(
        log_shows(&f.daemon, "RPC_TLS_CONTEXT_SESSION_DENY") && log_shows(&f.daemon, "No certificate was found"),
        "the daemon's reason:\n{}",
        f.daemon.log()
    );
    // A client certificate from another CA is refused the same way.
    let foreign = f.other_ca.client_cert("stranger");
    let strange = f.pkipath("foreign-client-cert", &f.ca, Some(&foreign));
    let err = connect_err(&f.uri("127.0.0.1", &strange, ""));
    assert!(err.contains(SERVER_REFUSED) && err.contains("we sent the client certificate"), "{err}");
    assert!(log_shows(&f.daemon, "hasn't got a known issuer"), "the daemon's reason:\n{}", f.daemon.log());
}

#[test]
fn missing_client_certificate_is_accepted_with_tls_no_verify_certificate() {
    let Some(f) = Fixture::start(&["127.0.0.1"], "tls_no_verify_certificate = 1\n") else { return };
    let no_cert = f.pkipath("no-client-cert", &f.ca, None);
    let c = connect(&f.uri("127.0.0.1", &no_cert, "")).unwrap();
    assert!(!hostname(&c).is_empty());
    c.close().unwrap();
}

// ---- the default non-root PKI directory --------------------------------------------------

/// Set for the child process of `default_user_pki_dir`: the URI to connect to.
const CHILD_URI: &str = "TLS_VS_LIBVIRTD_CHILD_URI";

/// Without `pkipath=`, a non-root client takes its files from `$HOME/.pki/libvirt/`. HOME is
/// process-wide, so the connect runs in a child process (this test binary, running only
/// [`child_connects_with_default_pki`]), as the unprivileged daemon user when we are root.
#[test]
fn default_user_pki_dir() {
    let Some(f) = Fixture::start(&["127.0.0.1"], "") else { return };
    let home = TempDir::new("home");
    std::fs::set_permissions(&home.0, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write_client_dir(&home.join(".pki/libvirt"), &f.ca, Some(&f.client)).unwrap();
    for d in [".pki", ".pki/libvirt"] {
        std::fs::set_permissions(home.join(d), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let uri = format!("test+tls://127.0.0.1:{}/default", f.port);
    let ids = spec_tests::libvirtd::daemon_user_ids().unwrap();
    let mut exe = std::env::current_exe().unwrap();
    if ids.is_some() {
        // The unprivileged user may not be able to reach the build directory (e.g. a clone
        // under /root): run a link (or copy) of this binary from the temporary directory.
        let link = home.join("test-binary");
        if std::fs::hard_link(&exe, &link).is_err() {
            std::fs::copy(&exe, &link).unwrap();
        }
        exe = link;
    }
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child_connects_with_default_pki", "--ignored", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("HOME", &home.0)
        .env(CHILD_URI, &uri);
    if let Some((uid, gid)) = ids {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("child connected via $HOME/.pki/libvirt"), "the child test ran:\n{text}");
}

/// The child half of [`default_user_pki_dir`]; does nothing when run on its own.
#[test]
#[ignore = "run by default_user_pki_dir in a child process"]
fn child_connects_with_default_pki() {
    let Ok(uri) = std::env::var(CHILD_URI) else { return };
    let home = std::env::var("HOME").unwrap();
    let env = adapter_blocking::transport::client_env();
    assert!(!env.is_root, "the child runs unprivileged");
    let target = proto_core::uri::LibvirtUri::parse(&uri).unwrap().resolve(&env, false).unwrap();
    let paths = target.tls_pki_paths(&env, |p| Path::new(p).exists());
    assert_eq!(paths.ca_cert, format!("{home}/.pki/libvirt/cacert.pem"));
    assert_eq!(paths.cert, format!("{home}/.pki/libvirt/clientcert.pem"));
    assert_eq!(paths.key, format!("{home}/.pki/libvirt/clientkey.pem"));
    let c = connect(&uri).unwrap();
    assert!(!hostname(&c).is_empty());
    c.close().unwrap();
    println!("child connected via $HOME/.pki/libvirt");
}

// ---- the check byte, against fake servers ------------------------------------------------

/// What a fake server does once the TLS handshake is done.
#[derive(Clone, Copy, Debug)]
enum AfterHandshake {
    /// Sends 1, then answers AUTH_LIST with `[NONE]` and every later call, up to CONNECT_OPEN,
    /// with an error.
    CheckByteOne,
    /// Sends 0.
    CheckByteZero,
    /// Sends nothing, closes the TLS session (close_notify) and the socket.
    CloseNotify,
    /// Sends nothing and drops the socket, as libvirtd does when it refuses a client.
    Drop,
}

/// What the fake server saw: the (program, procedure) of each call after the check byte.
type Seen = Vec<(u32, i32)>;

/// A one-connection TLS server on a free loopback port, with a certificate for 127.0.0.1.
fn fake_server(ca: &Ca, mode: AfterHandshake) -> (u16, thread::JoinHandle<Seen>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
    let handle = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(HANG)).unwrap();
        let mut tls = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        while tls.is_handshaking() {
            tls.complete_io(&mut tcp).unwrap();
        }
        let mut s = rustls::StreamOwned::new(tls, tcp);
        let mut seen = Vec::new();
        match mode {
            AfterHandshake::CheckByteZero => {
                s.write_all(&[0]).unwrap();
                s.flush().unwrap();
                let _ = s.read(&mut [0u8; 64]); // until the client goes away
            }
            AfterHandshake::CloseNotify => {
                s.conn.send_close_notify();
                s.flush().unwrap();
            }
            AfterHandshake::Drop => {}
            AfterHandshake::CheckByteOne => {
                s.write_all(&[1]).unwrap();
                s.flush().unwrap();
                let mut dec = FrameDecoder::new();
                let mut buf = [0u8; 4096];
                // AUTH_LIST gets [NONE]; every later call an error, up to CONNECT_OPEN.
                loop {
                    let frame = loop {
                        if let Some(f) = dec.next_frame().unwrap() {
                            break Some(f);
                        }
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break None,
                            Ok(n) => dec.push(&buf[..n]),
                        }
                    };
                    let Some(frame) = frame else { break };
                    let h = frame.header;
                    seen.push((h.prog, h.proc_));
                    let mut out = BytesMut::new();
                    if seen.len() == 1 && h.proc_ == AuthList::NUMBER {
                        let ret = RemoteAuthListRet { types: vec![RemoteAuthType::REMOTE_AUTH_NONE] };
                        encode_frame(&mut out, &h.with(MessageType::Reply, MessageStatus::Ok), &ret).unwrap();
                    } else {
                        let e = RemoteError::new(
                            ErrorCode::VIR_ERR_RPC,
                            ErrorDomain::VIR_FROM_RPC,
                            "fake server ends here",
                        );
                        encode_frame(&mut out, &h.with(MessageType::Reply, MessageStatus::Error), &e).unwrap();
                    }
                    s.write_all(&out).unwrap();
                    s.flush().unwrap();
                    if h.proc_ == ConnectOpen::NUMBER {
                        break;
                    }
                }
            }
        }
        seen
    });
    (port, handle)
}

fn fake_pki(ca: &Ca, tag: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    let pki = write_client_dir(&dir.join("client"), ca, Some(&ca.client_cert("client"))).unwrap();
    (dir, pki)
}

#[test]
fn check_byte_one_then_auth_list() {
    let ca = Ca::new("fake CA");
    let (_dir, pki) = fake_pki(&ca, "byte-one");
    let (port, server) = fake_server(&ca, AfterHandshake::CheckByteOne);
    let err = connect_err(&format!("test+tls://127.0.0.1:{port}/default?pkipath={}", pki.display()));
    let seen = server.join().unwrap();
    // The first frame after the byte is AUTH_LIST, and our reply to it was understood (the
    // client went on to its next call, whose error reply it decoded too): the byte was
    // consumed, not taken as the start of a length word.
    assert_eq!(seen.first(), Some(&(REMOTE_PROGRAM, AuthList::NUMBER)), "{seen:?}");
    assert_eq!(seen.last(), Some(&(REMOTE_PROGRAM, ConnectOpen::NUMBER)), "{seen:?}");
    assert!(err.starts_with("CONNECT_OPEN") && err.contains("fake server ends here"), "{err}");
}

#[test]
fn check_byte_zero_is_refusal() {
    let ca = Ca::new("fake CA");
    let (_dir, pki) = fake_pki(&ca, "byte-zero");
    let (port, server) = fake_server(&ca, AfterHandshake::CheckByteZero);
    let err = connect_err(&format!("test+tls://127.0.0.1:{port}/default?pkipath={}", pki.display()));
    assert_eq!(
        err,
        format!(
            "TLS: {SERVER_REFUSED}: the server sent 0 instead of 1; we sent the client certificate '{}'",
            pki.join("clientcert.pem").display()
        )
    );
    server.join().unwrap();
}

#[test]
fn no_check_byte_is_refusal() {
    for mode in [AfterHandshake::CloseNotify, AfterHandshake::Drop] {
        let ca = Ca::new("fake CA");
        let (_dir, pki) = fake_pki(&ca, "no-byte");
        let (port, server) = fake_server(&ca, mode);
        let err = connect_err(&format!("test+tls://127.0.0.1:{port}/default?pkipath={}", pki.display()));
        assert!(err.starts_with(&format!("TLS: {SERVER_REFUSED}")), "{mode:?}: {err}");
        server.join().unwrap();
    }
}
