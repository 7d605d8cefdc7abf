//! `daemon-min --audit FILE` (the client audit): libvirt's own clients, python3-libvirt (the
//! whole `tests/python/conformance.py`: lookups, define, life cycle, events, volume streams)
//! and virsh, make no deviation, so the file stays empty; hand-made deviant frames are each
//! reported with their serial, procedure and rule, and still answered as libvirtd answers them.
//! On both runtimes.
//!
//! Fails under `CI=true` when virsh or python3-libvirt is missing; skips loudly otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::daemon_bin;
use proto_core::programs::remote::{
    REMOTE_PROC_CONNECT_GET_HOSTNAME, REMOTE_PROC_CONNECT_OPEN, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
    REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
};
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{is_ci, require_peer};
use spec_tests::wire::{open_body, string_padded_with, Answer, Wire};

const PYTHON_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/conformance.py");
const PYTHON: &str = "/usr/bin/python3";

/// Removes the audit file's directory when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn audited(runtime: &[&str]) -> (DaemonMin, PathBuf, Dir) {
    let dir = std::env::temp_dir().join(format!("daemon-min-audit-{}-{}", std::process::id(), runtime.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.log");
    let file_arg = file.to_str().unwrap().to_owned();
    let mut args: Vec<&str> = runtime.to_vec();
    args.extend(["--audit", &file_arg]);
    let d = DaemonMin::start(daemon_bin(), "", &args);
    assert!(file.exists(), "the audit file is created at start");
    (d, file, Dir(dir))
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap().lines().map(str::to_owned).collect()
}

fn python_libvirt() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import libvirt"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok || !is_ci(), "python3-libvirt is not installed for {PYTHON}, and CI=true forbids skipping");
    if !ok {
        eprintln!("\n**** SKIPPED: python3-libvirt not installed for {PYTHON} ****\n");
    }
    ok
}

fn libvirt_clients_make_no_deviation(runtime: &[&str]) {
    let Some(virsh) = require_peer("virsh") else { return };
    if !python_libvirt() {
        return;
    }
    let (d, file, _dir) = audited(runtime);
    let out = Command::new(PYTHON).arg(PYTHON_SCRIPT).arg(d.unix_uri()).arg("--streams").output().unwrap();
    assert!(out.status.success(), "conformance.py: {}", String::from_utf8_lossy(&out.stderr));
    for cmd in [
        "list --all; dominfo test; domstate test; suspend test; resume test; dumpxml test",
        "net-list --all; net-info default; pool-list --all; vol-list default-pool; nodeinfo; hostname",
        "event --all --timeout 1",
        "domstate nope",
    ] {
        let out = Command::new(&virsh).arg("-c").arg(d.unix_uri()).arg(cmd).output().unwrap();
        // `event --timeout` ends with status 1 when it times out, as `domstate nope` fails.
        if !cmd.starts_with("event") && cmd != "domstate nope" {
            assert!(out.status.success(), "virsh {cmd}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // Read-only too.
    let out = Command::new(&virsh).args(["-r", "-c"]).arg(d.ro_uri()).arg("list --all").output().unwrap();
    assert!(out.status.success());
    assert_eq!(lines(&file), Vec::<String>::new(), "libvirt's clients deviate from nothing");
    // Not vacuous: the same daemon reports a deviant call at once.
    let mut w = Wire::connect(&d.unix_uri()).unwrap();
    w.call_raw(REMOTE_PROC_CONNECT_GET_HOSTNAME, 9, &[]).unwrap();
    let _ = w.answer(9);
    assert!(spec_tests::process::eventually(std::time::Duration::from_secs(5), || lines(&file).len() == 1));
}

fn deviant_frames_are_each_reported(runtime: &[&str]) {
    let (d, file, _dir) = audited(runtime);
    let mut w = Wire::connect(&d.unix_uri()).unwrap();
    // Before CONNECT_OPEN: a call that needs an open connection; libvirtd refuses it.
    w.call_raw(REMOTE_PROC_CONNECT_GET_HOSTNAME, 1, &[]).unwrap();
    assert!(matches!(w.answer(1), Answer::Error { code: 1, .. }));
    // CONNECT_OPEN whose remote_string flag is 2: served.
    w.call_raw(REMOTE_PROC_CONNECT_OPEN, 2, &open_body(2, "test:///default", 0)).unwrap();
    assert!(matches!(w.answer(2), Answer::Ok(_)));
    // A name padded with 0xee: served.
    w.call_raw(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 3, &string_padded_with("testx", 0xee)).unwrap();
    assert!(matches!(w.answer(3), Answer::Error { code: 42, .. }));
    // Trailing bytes after SUPPORTS_FEATURE's argument: served.
    w.call_raw(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 4, &[0, 0, 0, 10, 0, 0, 0, 0]).unwrap();
    assert!(matches!(w.answer(4), Answer::Ok(_)));
    // Two calls with one serial in one write.
    let mut two =
        spec_tests::wire::call_frame(proto_core::program::REMOTE_PROGRAM, REMOTE_PROC_CONNECT_GET_HOSTNAME, 5, &[]);
    two.extend(spec_tests::wire::call_frame(
        proto_core::program::REMOTE_PROGRAM,
        REMOTE_PROC_CONNECT_GET_HOSTNAME,
        5,
        &[],
    ));
    w.send(&two).unwrap();
    assert!(matches!(w.answer(5), Answer::Ok(_)));
    assert!(matches!(w.answer(5), Answer::Ok(_)));
    drop(w);
    assert!(spec_tests::process::eventually(std::time::Duration::from_secs(5), || lines(&file).len() >= 5));
    let got = lines(&file);
    println!("{}", got.join("\n"));
    let want = [
        "serial 1 REMOTE_PROC_CONNECT_GET_HOSTNAME: a call that needs an open connection before CONNECT_OPEN",
        "serial 2 REMOTE_PROC_CONNECT_OPEN byte 28: non-canonical XDR: optional-data flag 2",
        "serial 3 REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME byte 37: non-canonical XDR: padding bytes [ee, ee, ee]",
        "serial 4 REMOTE_PROC_CONNECT_SUPPORTS_FEATURE byte 32: 4 bytes after the arguments",
        "serial 5 REMOTE_PROC_CONNECT_GET_HOSTNAME: serial of a call still in flight",
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "got {g:?}, want it to start with {w:?}");
        assert!(g.contains(".c") || g.contains(".x") || g.contains("RFC 4506"), "{g}: cites its rule");
    }
}

on_both_runtimes!(libvirt_clients_make_no_deviation, deviant_frames_are_each_reported);
