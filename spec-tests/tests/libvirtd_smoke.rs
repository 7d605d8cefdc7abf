//! Proves the `libvirtd` harness: the daemon it starts serves the test driver to a real `virsh`
//! over TCP and over the UNIX socket, can be frozen and thawed, and is gone after drop.
//!
//! Skips loudly when libvirtd or virsh is missing; fails instead under `CI=true`.

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use spec_tests::libvirtd::{ping, require_peer, Libvirtd};

fn virsh_list(virsh: &Path, uri: &str) -> String {
    let out = Command::new(virsh).args(["-c", uri, "list", "--all"]).output().expect("run virsh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "virsh -c {uri} list --all failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The test driver's default domain, as `virsh list --all` prints it.
fn lists_test_domain(out: &str) -> bool {
    out.lines().any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() >= 3 && cols[1] == "test" && cols[2] == "running"
    })
}

#[test]
fn virsh_lists_the_test_domain() {
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let Some(virsh) = require_peer("virsh") else { return };

    let out = virsh_list(&virsh, &daemon.tcp_uri());
    assert!(lists_test_domain(&out), "no running domain `test` over TCP in:\n{out}");

    assert!(daemon.unix_socket_path().exists());
    let out = virsh_list(&virsh, &daemon.unix_uri());
    assert!(lists_test_domain(&out), "no running domain `test` over the UNIX socket in:\n{out}");
}

#[test]
fn sigstop_freezes_and_drop_kills() {
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let pid = daemon.pid();
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    let mut s = TcpStream::connect(daemon.tcp_addr()).expect("connect");
    assert!(ping(&mut s, Duration::from_secs(5)).expect("ping"), "a running daemon answers PING with PONG");

    daemon.sigstop().expect("SIGSTOP");
    assert!(!ping(&mut s, Duration::from_millis(500)).expect("ping"), "a stopped daemon must not answer");
    daemon.sigcont().expect("SIGCONT");
    // The PING sent while it was stopped is answered once it runs again (or this one is).
    assert!(ping(&mut s, Duration::from_secs(5)).expect("ping"), "the daemon answers again after SIGCONT");

    let dir = daemon.dir().to_owned();
    drop(daemon);
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "libvirtd {pid} still exists after drop");
    assert!(!dir.exists(), "{} was not removed", dir.display());
}
