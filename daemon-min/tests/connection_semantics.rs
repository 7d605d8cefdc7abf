//! Connection semantics of the test driver, on Debian's libvirtd 9.0 and on daemon-min: the
//! same transcript from both.
//!
//! - `test:///default` is one state shared by the connections open on it, and it is reset when
//!   the last one closes (a domain defined earlier is gone for the next client);
//! - every connection to `test:///PATH` loads its own private state from the node file;
//! - daemon-min's `--state-dir` (an extension) keeps the state after the last client leaves.
//!
//! Fails under `CI=true` when libvirtd is missing; skips loudly otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions};
use proto_core::programs::remote::*;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;

const NODE: &str = "<node>\
<domain type='test'><name>nodedom</name><memory>1024</memory><os><type>hvm</type></os></domain>\
</node>";

fn xml(name: &str) -> String {
    format!("<domain type='test'><name>{name}</name><memory>1024</memory><os><type>hvm</type></os></domain>")
}

fn connect(uri: &str) -> Client {
    Client::connect(uri, &ConnectOptions::default()).unwrap_or_else(|e| panic!("connect {uri}: {e}"))
}

fn names(c: &Client) -> String {
    let r = c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }).unwrap();
    let mut v: Vec<String> = r.domains.iter().map(|d| d.name.to_string()).collect();
    v.sort();
    v.join(",")
}

fn define(c: &Client, name: &str) {
    c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: xml(name).as_str().into() }).unwrap();
}

/// `test+unix://` URIs of `path` (`/default` or a node file) on the daemon listening at `sock`.
fn uri(path: &str, sock: &Path) -> String {
    format!("test+unix://{path}?socket={}", sock.display())
}

/// What a fresh client of `test:///default` sees, once the daemon has let the last connection
/// go (it does so when it notices the close, shortly after the reply).
fn after_last_close(sock: &Path, expect: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let c = connect(&uri("/default", sock));
        let seen = names(&c);
        c.close().unwrap();
        if seen == expect || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn transcript(sock: &Path, node: &Path) -> Vec<String> {
    let mut t = Vec::new();
    let a = connect(&uri("/default", sock));
    define(&a, "cs-shared");
    let b = connect(&uri("/default", sock));
    t.push(format!("default, second connection sees: {}", names(&b)));
    a.close().unwrap();
    t.push(format!("default, after the first closed: {}", names(&b)));
    b.close().unwrap();
    t.push(format!("default, after the last closed: {}", after_last_close(sock, "test")));

    let node = node.to_str().expect("utf-8 path");
    let p1 = connect(&uri(node, sock));
    let p2 = connect(&uri(node, sock));
    define(&p1, "p1-only");
    t.push(format!("node file, first connection: {}", names(&p1)));
    t.push(format!("node file, second connection: {}", names(&p2)));
    p1.close().unwrap();
    p2.close().unwrap();
    t
}

const EXPECTED: [&str; 5] = [
    "default, second connection sees: cs-shared,test",
    "default, after the first closed: cs-shared,test",
    "default, after the last closed: test",
    "node file, first connection: nodedom,p1-only",
    "node file, second connection: nodedom",
];

/// A node file every daemon user can read (libvirtd runs as an unprivileged account).
fn node_file() -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("conn-semantics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("node.xml");
    std::fs::write(&file, NODE).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, file)
}

#[test]
fn test_driver_connection_semantics_match_libvirtd() {
    let (dir, node) = node_file();
    let ours = DaemonMin::start(common::daemon_bin(), "", &[]);
    let got = transcript(&ours.unix_socket_path(), &node);
    assert_eq!(got, EXPECTED, "daemon-min");
    drop(ours);
    if let Some(libvirtd) = Libvirtd::start_or_skip() {
        let theirs = transcript(libvirtd.unix_socket_path(), &node);
        eprintln!("libvirtd 9.0: {theirs:#?}");
        assert_eq!(theirs, EXPECTED, "libvirtd");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn state_dir_keeps_default_after_the_last_client() {
    let state = std::env::temp_dir().join(format!("conn-semantics-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let ours = DaemonMin::start(common::daemon_bin(), "", &["--state-dir", state.to_str().unwrap()]);
    let sock = ours.unix_socket_path();
    let a = connect(&uri("/default", &sock));
    define(&a, "kept");
    a.close().unwrap();
    // Give the daemon the time it would need to drop the state, then look.
    std::thread::sleep(Duration::from_millis(300));
    let b = connect(&uri("/default", &sock));
    assert_eq!(names(&b), "kept,test");
    b.close().unwrap();
    drop(ours);
    let _ = std::fs::remove_dir_all(state);
}
