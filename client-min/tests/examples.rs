//! The examples users copy, run against a daemon-min and a libvirtd this test starts: the
//! blocking listing script, and the async event service (several URIs at once, lifecycle
//! events, reconnection with backoff). The stream example runs in `client_min_vs_virsh.rs`.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{is_ci, require_peer, Libvirtd};
use spec_tests::process::Lines;

/// A binary `cargo test --workspace` builds next to this test's (an example or daemon-min).
fn built(rel: &str) -> Option<PathBuf> {
    let p = std::env::current_exe().ok()?.parent()?.parent()?.join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(!is_ci(), "{rel} is not built next to the tests");
    eprintln!("SKIPPED: {rel} is not built (cargo test --workspace builds it)");
    None
}

fn virsh(virsh: &Path, uri: &str, cmd: &str) {
    let out = Command::new(virsh).args(["-c", uri, cmd]).output().unwrap();
    assert!(out.status.success(), "virsh {cmd}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn list_domains_against_daemon_min_and_libvirtd() {
    let Some(example) = built("examples/list_domains") else { return };
    let Some(daemon_bin) = built("daemon-min") else { return };
    let Some(libvirtd) = Libvirtd::start_or_skip() else { return };
    let ours = DaemonMin::start(&daemon_bin, "", &[]);
    for uri in [ours.tcp_uri(), libvirtd.tcp_uri()] {
        let out = Command::new(&example).arg(&uri).output().unwrap();
        assert!(out.status.success(), "{uri}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "   1  test                 running\n", "{uri}");
    }
    // A bad URI is a clear error and a failure status.
    let out = Command::new(&example).arg("test+tcp://127.0.0.1:1/default").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"), "{out:?}");
}

#[test]
fn event_service_watches_several_daemons_and_reconnects() {
    let Some(example) = built("examples/event_service") else { return };
    let Some(daemon_bin) = built("daemon-min") else { return };
    let Some(libvirtd) = Libvirtd::start_or_skip() else { return };
    let Some(virsh_bin) = require_peer("virsh") else { return };
    // The second daemon-min does not exist yet: the service must retry until it appears.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let late_uri = format!("test+tcp://127.0.0.1:{port}/default");
    let first = DaemonMin::start(&daemon_bin, "", &[]);
    let mut service = Command::new(&example)
        .args([&first.tcp_uri(), &libvirtd.tcp_uri(), &late_uri, "--for", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Lines::read(service.stdout.take().unwrap());
    let connected = |uri: &str| {
        let want = format!("{uri}: connected");
        lines.wait_for(Duration::from_secs(20), |l| l.starts_with(&want))
    };
    assert!(connected(&first.tcp_uri()), "{}", lines.text());
    assert!(connected(&libvirtd.tcp_uri()), "{}", lines.text());
    assert!(
        lines.wait_for(Duration::from_secs(20), |l| l.starts_with(&format!("{late_uri}: cannot connect"))),
        "{}",
        lines.text()
    );
    // The harness's own port is overridden by the later `tcp_port` line.
    let late = DaemonMin::start(&daemon_bin, &format!("tcp_port = \"{port}\"\n"), &["--runtime", "blocking"]);
    assert!(connected(&late_uri), "{}", lines.text());
    for uri in [first.tcp_uri(), libvirtd.tcp_uri(), late_uri.clone()] {
        virsh(&virsh_bin, &uri, "suspend test");
        virsh(&virsh_bin, &uri, "resume test");
    }
    for uri in [first.tcp_uri(), libvirtd.tcp_uri(), late_uri.clone()] {
        let resumed = format!("{uri}: domain test 4 0");
        assert!(lines.wait_for(Duration::from_secs(20), |l| l == resumed), "no RESUMED event from {uri}");
    }
    // The late daemon goes away: the loss is reported, the service retries until a daemon is
    // back on that port, registers again and gets its events.
    drop(late);
    let lost = format!("{late_uri}: connection lost");
    assert!(lines.wait_for(Duration::from_secs(20), |l| l.starts_with(&lost)), "{}", lines.text());
    let _back = DaemonMin::start(&daemon_bin, &format!("tcp_port = \"{port}\"\n"), &[]);
    let again = format!("{late_uri}: connected");
    assert!(lines.wait_for_count(Duration::from_secs(20), 2, |l| l.starts_with(&again)), "{}", lines.text());
    virsh(&virsh_bin, &late_uri, "suspend test");
    let suspended = format!("{late_uri}: domain test 3 0");
    assert!(lines.wait_for_count(Duration::from_secs(20), 2, |l| l == suspended), "{}", lines.text());
    let _ = service.kill();
    let _ = service.wait();
    let out = lines.finish();
    for uri in [first.tcp_uri(), libvirtd.tcp_uri(), late_uri.clone()] {
        assert!(out.contains(&format!("{uri}: domain test 3 0\n")), "no SUSPENDED event from {uri} in:\n{out}");
        assert!(out.contains(&format!("{uri}: domain test 4 0\n")), "no RESUMED event from {uri} in:\n{out}");
    }
    assert!(out.contains(&format!("{late_uri}: cannot connect")), "{out}");
    assert!(out.contains(&format!("{late_uri}: connected")), "{out}");
    assert!(out.contains(&format!("{late_uri}: connection lost")), "{out}");
}
