//! The `conformance` command as a user runs it, against a fresh libvirtd 9.0: one line per
//! tier, JUnit XML, exit status 0 when everything passes, 1 when a check fails (here: a corpus
//! whose recorded reply was altered), 2 on a usage error.

use std::path::Path;
use std::process::Command;

use spec_tests::libvirtd::{require_peer, Libvirtd};

const BIN: &str = env!("CARGO_BIN_EXE_conformance");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn tiers_junit_and_exit_status() {
    if require_peer("libvirtd").is_none() {
        return;
    }
    // Short keepalive, so that the protocol tier's "drops a silent peer" takes 2 s, not 30.
    let d = Libvirtd::start_with_config("keepalive_interval = 1\nkeepalive_count = 1\n").unwrap();
    let uri = format!("test+unix:///default?socket={}", d.unix_socket_path().display());
    let dir = std::env::temp_dir().join(format!("conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("report.xml");

    let out = Command::new(BIN)
        .args([
            "server",
            &uri,
            "--tier",
            "corpus",
            "--tier",
            "protocol",
            "--keepalive-interval",
            "1",
            "--keepalive-count",
            "1",
        ])
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let tiers: Vec<&str> = stdout.lines().collect();
    assert_eq!(tiers.len(), 2, "{stdout}");
    assert!(tiers[0].starts_with("protocol: ") && tiers[0].ends_with(" passed, 0 failed"), "{stdout}");
    assert_eq!(tiers[1], "corpus: 16 passed, 0 failed");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"corpus\" tests=\"16\" failures=\"0\""), "{xml}");

    // A corpus whose recorded "unknown procedure 9999" reply says 9998: that check fails.
    let corpus = dir.join("corpus");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/probes"), &corpus.join("probes"));
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/sessions"), &corpus.join("sessions"));
    let reply = corpus.join("probes/05-unknown-proc-9999-reply-1.bin");
    let mut b = std::fs::read(&reply).unwrap();
    let at = b.windows(4).position(|w| w == b"9999").unwrap();
    b[at + 3] = b'8';
    std::fs::write(&reply, b).unwrap();
    let out = Command::new(BIN)
        .args(["server", &uri, "--tier", "corpus", "--corpus"])
        .arg(&corpus)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "corpus: 15 passed, 1 failed\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("FAILED corpus/probe_05_unknown_proc_9999:"), "{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");

    let out = Command::new(BIN).args(["server"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
