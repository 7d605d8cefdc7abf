//! `Domain::migrate*` against libvirt's own client (libvirt.so through python3-libvirt), both
//! talking to the same daemon: Debian's libvirtd 9.0 (test driver), daemon-min, and each side's
//! in-process `test:///default`. Neither driver migrates, so every call fails; each must fail
//! with libvirt's error (code, domain, message): the client-side flag checks, and the errors
//! that follow the driver feature probes. The async twin gives the same errors. Through a
//! recording proxy, the probes themselves (CONNECT_SUPPORTS_FEATURE, which features, in which
//! order) are libvirt's, against libvirtd and daemon-min.

use spec_tests::libvirtd::{require_python_libvirt, Libvirtd};
use virt::connect::Connect;
use virt::domain::MigrateParameters;
use virt::error::Error;
use virt::sys;

const PYTHON: &str = r#"
import sys, libvirt as V
V.registerErrorHandler(lambda *a: None, None)
uri = sys.argv[1]
conn = V.open(uri)
ro = V.openReadOnly(uri)
d = conn.lookupByName("test")
rd = ro.lookupByName("test")
def out(f):
    try:
        r = f()
        print("ok %s" % (r.name() if hasattr(r, "name") else r,))
    except V.libvirtError as e:
        print("err %d %d %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message().replace("\n", "\\n")))
out(lambda: d.migrate(conn, 0, None, None, 0))
out(lambda: d.migrate(ro, 0, None, None, 0))
out(lambda: rd.migrate(conn, 0, None, None, 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_NON_SHARED_DISK | V.VIR_MIGRATE_NON_SHARED_INC | V.VIR_MIGRATE_OFFLINE, None, None, 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_TUNNELLED | V.VIR_MIGRATE_PARALLEL, None, None, 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES, None, None, 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_OFFLINE, None, None, 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_PEER2PEER, "dst", "tcp://h", 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_CHANGE_PROTECTION, None, None, 0))
out(lambda: d.migrate(conn, V.VIR_MIGRATE_TUNNELLED, None, None, 0))
out(lambda: d.migrate2(conn, None, 0, None, None, 0))
out(lambda: d.migrate2(conn, "<domain/>", V.VIR_MIGRATE_LIVE, "dst", "tcp://h", 10))
out(lambda: d.migrate2(ro, None, 0, None, None, 0))
out(lambda: d.migrate3(conn, {}, 0))
out(lambda: d.migrate3(conn, {V.VIR_MIGRATE_PARAM_URI: "tcp://x"}, V.VIR_MIGRATE_PEER2PEER))
out(lambda: d.migrate3(conn, {}, V.VIR_MIGRATE_TUNNELLED))
out(lambda: d.migrate3(conn, {V.VIR_MIGRATE_PARAM_COMPRESSION: "xbzrle"}, 0))
out(lambda: d.migrate3(conn, {V.VIR_MIGRATE_PARAM_DEST_XML: "<domain/>", V.VIR_MIGRATE_PARAM_BANDWIDTH: 5}, 0))
out(lambda: d.migrate3(conn, {}, V.VIR_MIGRATE_CHANGE_PROTECTION))
out(lambda: d.migrate3(ro, {}, 0))
out(lambda: d.migrateToURI("test:///default", 0, None, 0))
out(lambda: d.migrateToURI("test:///default", V.VIR_MIGRATE_PEER2PEER, None, 0))
out(lambda: d.migrateToURI("tcp://h", V.VIR_MIGRATE_TUNNELLED | V.VIR_MIGRATE_PARALLEL, None, 0))
out(lambda: d.migrateToURI("tcp://h", V.VIR_MIGRATE_OFFLINE, None, 0))
out(lambda: rd.migrateToURI("tcp://h", 0, None, 0))
out(lambda: d.migrateToURI2(None, None, None, 0, None, 0))
out(lambda: d.migrateToURI2("qemu+ssh://h/system", "tcp://h", None, V.VIR_MIGRATE_PEER2PEER, None, 0))
out(lambda: d.migrateToURI2(None, None, None, V.VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES, None, 0))
out(lambda: d.migrateToURI3(None, {}, 0))
out(lambda: d.migrateToURI3("test+tcp://h/default", {V.VIR_MIGRATE_PARAM_DEST_NAME: "x"}, V.VIR_MIGRATE_PEER2PEER))
out(lambda: d.migrateToURI3("test+tcp://h/default", {}, V.VIR_MIGRATE_PEER2PEER | V.VIR_MIGRATE_TUNNELLED))
out(lambda: d.migrateToURI3(None, {}, V.VIR_MIGRATE_NON_SHARED_DISK | V.VIR_MIGRATE_NON_SHARED_INC))
out(lambda: rd.migrateToURI3(None, {}, 0))
"#;

fn outcome<T>(r: Result<T, Error>, show: impl Fn(T) -> String) -> String {
    match r {
        Ok(v) => format!("ok {}", show(v)),
        Err(e) => format!("err {} {} {}", e.code().to_raw(), e.domain().to_raw(), e.message().replace('\n', "\\n")),
    }
}

fn unit(r: Result<(), Error>) -> String {
    outcome(r, |()| "None".to_owned())
}

fn dom(r: Result<virt::domain::Domain, Error>) -> String {
    outcome(r, |d| d.name().unwrap())
}

/// The same cases as `PYTHON`, in the same order, through the blocking API.
fn ours(uri: &str) -> Vec<String> {
    let conn = Connect::open(Some(uri)).unwrap();
    let ro = Connect::open_read_only(Some(uri)).unwrap();
    let d = conn.lookup_domain_by_name("test").unwrap();
    let rd = ro.lookup_domain_by_name("test").unwrap();
    let p = MigrateParameters::default;
    vec![
        dom(d.migrate(&conn, 0, None, None, 0)),
        dom(d.migrate(&ro, 0, None, None, 0)),
        dom(rd.migrate(&conn, 0, None, None, 0)),
        dom(d.migrate(
            &conn,
            sys::VIR_MIGRATE_NON_SHARED_DISK | sys::VIR_MIGRATE_NON_SHARED_INC | sys::VIR_MIGRATE_OFFLINE,
            None,
            None,
            0,
        )),
        dom(d.migrate(&conn, sys::VIR_MIGRATE_TUNNELLED | sys::VIR_MIGRATE_PARALLEL, None, None, 0)),
        dom(d.migrate(&conn, sys::VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES, None, None, 0)),
        dom(d.migrate(&conn, sys::VIR_MIGRATE_OFFLINE, None, None, 0)),
        dom(d.migrate(&conn, sys::VIR_MIGRATE_PEER2PEER, Some("dst"), Some("tcp://h"), 0)),
        dom(d.migrate(&conn, sys::VIR_MIGRATE_CHANGE_PROTECTION, None, None, 0)),
        dom(d.migrate(&conn, sys::VIR_MIGRATE_TUNNELLED, None, None, 0)),
        dom(d.migrate2(&conn, None, 0, None, None, 0)),
        dom(d.migrate2(&conn, Some("<domain/>"), sys::VIR_MIGRATE_LIVE, Some("dst"), Some("tcp://h"), 10)),
        dom(d.migrate2(&ro, None, 0, None, None, 0)),
        dom(d.migrate3(&conn, p(), 0)),
        dom(d.migrate3(&conn, MigrateParameters { uri: Some("tcp://x".into()), ..p() }, sys::VIR_MIGRATE_PEER2PEER)),
        dom(d.migrate3(&conn, p(), sys::VIR_MIGRATE_TUNNELLED)),
        dom(d.migrate3(&conn, MigrateParameters { compression: Some("xbzrle".into()), ..p() }, 0)),
        dom(d.migrate3(&conn, MigrateParameters { dest_xml: Some("<domain/>".into()), bandwidth: Some(5), ..p() }, 0)),
        dom(d.migrate3(&conn, p(), sys::VIR_MIGRATE_CHANGE_PROTECTION)),
        dom(d.migrate3(&ro, p(), 0)),
        unit(d.migrate_to_uri("test:///default", 0, None, 0)),
        unit(d.migrate_to_uri("test:///default", sys::VIR_MIGRATE_PEER2PEER, None, 0)),
        unit(d.migrate_to_uri("tcp://h", sys::VIR_MIGRATE_TUNNELLED | sys::VIR_MIGRATE_PARALLEL, None, 0)),
        unit(d.migrate_to_uri("tcp://h", sys::VIR_MIGRATE_OFFLINE, None, 0)),
        unit(rd.migrate_to_uri("tcp://h", 0, None, 0)),
        unit(d.migrate_to_uri2(None, None, None, 0, None, 0)),
        unit(d.migrate_to_uri2(
            Some("qemu+ssh://h/system"),
            Some("tcp://h"),
            None,
            sys::VIR_MIGRATE_PEER2PEER,
            None,
            0,
        )),
        unit(d.migrate_to_uri2(None, None, None, sys::VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES, None, 0)),
        unit(d.migrate_to_uri3(None, p(), 0)),
        unit(d.migrate_to_uri3(
            Some("test+tcp://h/default"),
            MigrateParameters { dest_name: Some("x".into()), ..p() },
            sys::VIR_MIGRATE_PEER2PEER,
        )),
        unit(d.migrate_to_uri3(
            Some("test+tcp://h/default"),
            p(),
            sys::VIR_MIGRATE_PEER2PEER | sys::VIR_MIGRATE_TUNNELLED,
        )),
        unit(d.migrate_to_uri3(None, p(), sys::VIR_MIGRATE_NON_SHARED_DISK | sys::VIR_MIGRATE_NON_SHARED_INC)),
        unit(rd.migrate_to_uri3(None, p(), 0)),
    ]
}

/// A few of the cases through the async API: the same errors as the blocking calls.
fn ours_async(uri: &str) -> Vec<String> {
    use virt::asynchronous::connect::Connect;
    smol::block_on(async {
        let conn = Connect::open(Some(uri)).await.unwrap();
        let ro = Connect::open_read_only(Some(uri)).await.unwrap();
        let d = conn.lookup_domain_by_name("test").await.unwrap();
        let name = |r: Result<virt::asynchronous::domain::Domain, Error>| outcome(r, |d| d.name().unwrap());
        vec![
            name(d.migrate(&conn, 0, None, None, 0).await),
            name(d.migrate(&ro, 0, None, None, 0).await),
            name(d.migrate2(&conn, None, 0, None, None, 0).await),
            name(
                d.migrate3(&conn, MigrateParameters { compression: Some("xbzrle".into()), ..Default::default() }, 0)
                    .await,
            ),
            unit(d.migrate_to_uri("test:///default", 0, None, 0).await),
            unit(d.migrate_to_uri2(None, None, None, 0, None, 0).await),
            unit(d.migrate_to_uri3(None, MigrateParameters::default(), 0).await),
        ]
    })
}

/// Runs `PYTHON` on `python_uri` and ours on `our_uri`, and compares case by case.
fn compare(python: &str, python_uri: &str, our_uri: &str) {
    let out = std::process::Command::new(python).args(["-c", PYTHON, python_uri]).output().expect("run python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    let ours = ours(our_uri);
    assert_eq!(ours.len(), theirs.len(), "ours {ours:#?} theirs {theirs:#?}");
    let differ: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .filter(|(_, (o, t))| o != t)
        .map(|(i, (o, t))| format!("case {i}: ours {o:?}, libvirt {t:?}"))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(ours.iter().all(|o| o.starts_with("err ")), "{ours:#?}");
    let asynchronous = ours_async(our_uri);
    for (a, i) in asynchronous.iter().zip([0, 1, 10, 16, 20, 25, 28]) {
        assert_eq!(a, &ours[i], "async case {i}");
    }
    eprintln!("{} migration calls fail as libvirt's client's do: {ours:#?}", ours.len());
}

#[test]
fn migration_errors_as_libvirts_client_against_libvirtd() {
    let Some(python) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.tcp_uri();
    compare(python, &uri, &uri);
}

#[test]
fn migration_errors_as_libvirts_client_against_daemon_min() {
    let Some(python) = require_python_libvirt() else { return };
    let binary = spec_tests::differential::daemon_min_binary();
    let daemon = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uri = daemon.tcp_uri();
    compare(python, &uri, &uri);
}

#[test]
fn migration_errors_in_process_as_libvirts_test_driver() {
    let Some(python) = require_python_libvirt() else { return };
    compare(python, "test:///default", "test:///default");
}

/// What a connection sends, through a TCP proxy in front of the daemon: each message the
/// client sends, serial zeroed.
fn recording_proxy(upstream: std::net::SocketAddr) -> (u16, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    fn frame(r: &mut TcpStream) -> Option<Vec<u8>> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).ok()?;
        let mut f = vec![0u8; (u32::from_be_bytes(len) as usize).max(4)];
        f[..4].copy_from_slice(&len);
        r.read_exact(&mut f[4..]).ok()?;
        Some(f)
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut server = TcpStream::connect(upstream).unwrap();
        let (mut from_server, mut to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
        let back = std::thread::spawn(move || {
            while let Some(f) = frame(&mut from_server) {
                if to_client.write_all(&f).is_err() {
                    break;
                }
            }
            let _ = to_client.shutdown(std::net::Shutdown::Both);
        });
        let mut frames = Vec::new();
        while let Some(mut f) = frame(&mut client) {
            if server.write_all(&f).is_err() {
                break;
            }
            if f.len() >= 24 {
                f[20..24].fill(0);
                frames.push(f);
            }
        }
        let _ = server.shutdown(std::net::Shutdown::Write);
        let _ = back.join();
        frames
    });
    (port, handle)
}

/// The probes and migration calls among what was sent after the domain lookup: (procedure,
/// body).
fn migration_calls(frames: &[Vec<u8>]) -> Vec<(u32, Vec<u8>)> {
    let proc_of = |f: &Vec<u8>| u32::from_be_bytes(f[12..16].try_into().unwrap());
    let calls: Vec<(u32, Vec<u8>)> = frames.iter().map(|f| (proc_of(f), f[28..].to_vec())).collect();
    let after = calls.iter().position(|(p, _)| *p == 23).expect("a DOMAIN_LOOKUP_BY_NAME call");
    // CONNECT_SUPPORTS_FEATURE and the DOMAIN_MIGRATE_* procedures.
    calls[after + 1..].iter().filter(|(p, _)| *p == 60 || is_migration(*p)).cloned().collect()
}

/// DOMAIN_MIGRATE_PREPARE/PERFORM/FINISH (61-63), PREPARE2/FINISH2 (108, 109),
/// PREPARE_TUNNEL (148), the v3 ones (213-218) and the ones with parameters (302-307).
fn is_migration(proc_: u32) -> bool {
    matches!(proc_, 61..=63 | 108 | 109 | 148 | 213..=218 | 302..=307)
}

const PYTHON_PROBES: &str = r#"
import sys, libvirt as V
V.registerErrorHandler(lambda *a: None, None)
conn = V.open(sys.argv[1])
d = conn.lookupByName("test")
def run(f):
    try:
        f()
    except V.libvirtError:
        pass
run(lambda: d.migrate(conn, 0, None, None, 0))
run(lambda: d.migrate(conn, V.VIR_MIGRATE_OFFLINE, None, None, 0))
run(lambda: d.migrate(conn, V.VIR_MIGRATE_PEER2PEER, None, None, 0))
run(lambda: d.migrate(conn, V.VIR_MIGRATE_CHANGE_PROTECTION, None, None, 0))
run(lambda: d.migrate2(conn, "<domain/>", 0, None, None, 0))
run(lambda: d.migrate3(conn, {V.VIR_MIGRATE_PARAM_COMPRESSION: "xbzrle"}, 0))
run(lambda: d.migrate3(conn, {}, V.VIR_MIGRATE_OFFLINE))
run(lambda: d.migrateToURI("tcp://h", 0, None, 0))
run(lambda: d.migrateToURI("tcp://h", V.VIR_MIGRATE_PEER2PEER | V.VIR_MIGRATE_OFFLINE, None, 0))
run(lambda: d.migrateToURI2(None, None, None, V.VIR_MIGRATE_PEER2PEER, None, 0))
run(lambda: d.migrateToURI3(None, {}, 0))
conn.close()
"#;

fn probes_ours(uri: &str) {
    let conn = Connect::open(Some(uri)).unwrap();
    let d = conn.lookup_domain_by_name("test").unwrap();
    let p = MigrateParameters::default;
    let _ = d.migrate(&conn, 0, None, None, 0);
    let _ = d.migrate(&conn, sys::VIR_MIGRATE_OFFLINE, None, None, 0);
    let _ = d.migrate(&conn, sys::VIR_MIGRATE_PEER2PEER, None, None, 0);
    let _ = d.migrate(&conn, sys::VIR_MIGRATE_CHANGE_PROTECTION, None, None, 0);
    let _ = d.migrate2(&conn, Some("<domain/>"), 0, None, None, 0);
    let _ = d.migrate3(&conn, MigrateParameters { compression: Some("xbzrle".into()), ..p() }, 0);
    let _ = d.migrate3(&conn, p(), sys::VIR_MIGRATE_OFFLINE);
    let _ = d.migrate_to_uri("tcp://h", 0, None, 0);
    let _ = d.migrate_to_uri("tcp://h", sys::VIR_MIGRATE_PEER2PEER | sys::VIR_MIGRATE_OFFLINE, None, 0);
    let _ = d.migrate_to_uri2(None, None, None, sys::VIR_MIGRATE_PEER2PEER, None, 0);
    let _ = d.migrate_to_uri3(None, p(), 0);
    drop(d);
    conn.close().unwrap();
}

/// Runs `PYTHON_PROBES` and `probes_ours` through a recording proxy each, in front of
/// `upstream`, and compares the probes and migration calls they send.
fn same_probes(python: &str, upstream: std::net::SocketAddr) {
    let mut seen = Vec::new();
    for side in ["python", "ours"] {
        let (port, recorder) = recording_proxy(upstream);
        let uri = format!("test+tcp://127.0.0.1:{port}/default");
        if side == "python" {
            let out = std::process::Command::new(python).args(["-c", PYTHON_PROBES, &uri]).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        } else {
            probes_ours(&uri);
        }
        seen.push(migration_calls(&recorder.join().unwrap()));
    }
    let features = |c: &[(u32, Vec<u8>)]| -> Vec<String> {
        c.iter().map(|(p, b)| format!("{p}:{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())).collect()
    };
    assert_eq!(features(&seen[1]), features(&seen[0]));
    eprintln!("{} probes, as libvirt's: {:?}", seen[0].len(), features(&seen[0]));
    assert!(seen[0].len() >= 20 && seen[0].iter().all(|(p, _)| *p == 60), "{:?}", features(&seen[0]));
}

/// The feature probes on the wire are libvirt's: the same CONNECT_SUPPORTS_FEATURE calls with
/// the same features in the same order, and no migration procedure (none is supported).
#[test]
fn same_feature_probes_as_libvirts_client_against_libvirtd() {
    let Some(python) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    same_probes(python, daemon.tcp_addr());
}

#[test]
fn same_feature_probes_as_libvirts_client_against_daemon_min() {
    let Some(python) = require_python_libvirt() else { return };
    let binary = spec_tests::differential::daemon_min_binary();
    let daemon = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    same_probes(python, std::net::SocketAddr::from(([127, 0, 0, 1], daemon.port())));
}
