//! The ssh transport for real: both adapters and virsh reach Debian's libvirtd through OpenSSH
//! (`spec_tests::sshd`, a private sshd on loopback) with the same URI — `keyfile=`, a port,
//! `socket=` with `proxy=netcat` (the remote side runs libvirt's netcat command), and
//! `command=` (a wrapper around the system ssh that keeps our host key out of
//! `~/.ssh/known_hosts`). A key the server does not accept is a clear error, not a hang.
//!
//! Skips loudly without sshd/ssh/libvirtd; fails instead under `CI=true`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use proto_core::programs::remote::{ConnectGetHostname, ConnectListAllDomains, RemoteConnectListAllDomainsArgs};
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::sshd::Sshd;

/// Everything the tests need: the daemon, the ssh server, virsh.
fn setup() -> Option<(Libvirtd, Sshd, std::path::PathBuf)> {
    let virsh = require_peer("virsh")?;
    require_peer("nc")?;
    let daemon = Libvirtd::start_or_skip()?;
    let sshd = Sshd::start_or_skip()?;
    Some((daemon, sshd, virsh))
}

fn uri(daemon: &Libvirtd, sshd: &Sshd, key: &Path) -> String {
    format!(
        "test+ssh://{}@127.0.0.1:{}/default?socket={}&proxy=netcat&keyfile={}&command={}&no_tty=1",
        sshd.user(),
        sshd.port(),
        daemon.unix_socket_path().display(),
        key.display(),
        sshd.ssh_command().display()
    )
}

/// What virsh prints for `hostname; list --all` over `uri`.
fn virsh_says(virsh: &Path, uri: &str) -> String {
    let out = Command::new(virsh).args(["-c", uri, "hostname; list --all"]).env("LC_ALL", "C").output().unwrap();
    assert!(out.status.success(), "virsh over ssh: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn both_adapters_and_virsh_reach_libvirtd_through_sshd() {
    let Some((daemon, sshd, virsh)) = setup() else { return };
    let uri = uri(&daemon, &sshd, &sshd.key_file());
    let theirs = virsh_says(&virsh, &uri);
    let list = RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 };

    let c = adapter_blocking::Client::connect(&uri, &adapter_blocking::ConnectOptions::default()).unwrap();
    let host = c.call::<ConnectGetHostname>(&()).unwrap().hostname.to_string();
    let names: Vec<String> =
        c.call::<ConnectListAllDomains>(&list).unwrap().domains.iter().map(|d| d.name.to_string()).collect();
    c.close().unwrap();
    assert!(theirs.starts_with(&format!("{host}\n")), "virsh: {theirs:?}, blocking adapter: {host:?}");
    assert_eq!(names, vec!["test".to_owned()]);
    assert!(theirs.contains(" 1    test   running"), "{theirs}");

    smol::block_on(async {
        let c = adapter_smol::Client::connect(&uri, &adapter_smol::ConnectOptions::default()).await.unwrap();
        let h = c.call::<ConnectGetHostname>(&()).await.unwrap().hostname.to_string();
        assert_eq!(h, host, "smol adapter");
        c.close().await.unwrap();
    });
}

#[test]
fn a_key_the_server_refuses_is_a_clear_error() {
    let Some((daemon, sshd, virsh)) = setup() else { return };
    let stranger = sshd.dir().join("stranger");
    let keygen = require_peer("ssh-keygen").unwrap();
    assert!(Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap()
        .success());
    let uri = uri(&daemon, &sshd, &stranger);
    let t0 = Instant::now();
    let err = adapter_blocking::Client::connect(&uri, &adapter_blocking::ConnectOptions::default())
        .expect_err("connected with a key the server does not accept")
        .to_string();
    assert!(t0.elapsed() < Duration::from_secs(20), "took {:?}", t0.elapsed());
    assert!(err.contains("the transport command said:") && err.contains("Permission denied"), "{err}");
    let err = smol::block_on(adapter_smol::Client::connect(&uri, &adapter_smol::ConnectOptions::default()))
        .expect_err("the smol adapter connected with a refused key")
        .to_string();
    assert!(err.contains("Permission denied"), "smol adapter: {err}");
    let out = Command::new(&virsh).args(["-c", &uri, "hostname"]).env("LC_ALL", "C").output().unwrap();
    assert!(!out.status.success(), "virsh connected with a refused key");
}
