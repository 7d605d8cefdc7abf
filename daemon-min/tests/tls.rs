//! TLS listeners and libvirtd's checks of the client after the handshake, on both runtimes,
//! side by side with Debian's libvirtd: `tls_allowed_dn_list` lets real virsh in with a
//! certificate whose DN matches, refuses it (in libvirt's words, on virsh's side) with one
//! that does not, refuses everyone with an empty list, and is ignored with
//! `tls_no_verify_certificate = 1`.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::daemon_bin;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::pki::{write_client_dir, Ca, ServerPki};

/// A CA, a server certificate for 127.0.0.1, and two client `pkipath=` directories: one whose
/// certificate is `CN=allowed client,O=spec-tests`, one `CN=other client,O=spec-tests`.
struct Pki {
    dir: PathBuf,
    server: ServerPki,
    allowed: PathBuf,
    other: PathBuf,
}

impl Pki {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("daemon-min-tls-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ca = Ca::new("daemon-min tls CA");
        let server = ServerPki::write(&dir.join("server"), &ca, &ca.server_cert(&["127.0.0.1"])).unwrap();
        let allowed = write_client_dir(&dir.join("allowed"), &ca, Some(&ca.client_cert("allowed client"))).unwrap();
        let other = write_client_dir(&dir.join("other"), &ca, Some(&ca.client_cert("other client"))).unwrap();
        Self { dir, server, allowed, other }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `virsh -c test+tls://127.0.0.1:PORT/default?pkipath=DIR hostname`: its exit status and
/// what it printed, with the port and the directory masked.
fn virsh_hostname(virsh: &Path, port: u16, pkipath: &Path) -> (Option<i32>, String, String) {
    let uri = format!("test+tls://127.0.0.1:{port}/default?pkipath={}", pkipath.display());
    let out = Command::new(virsh).args(["-c", &uri, "hostname"]).env("LC_ALL", "C").output().unwrap();
    let mask = |b: &[u8]| {
        String::from_utf8_lossy(b).replace(&port.to_string(), "PORT").replace(&pkipath.display().to_string(), "DIR")
    };
    (out.status.code(), mask(&out.stdout), mask(&out.stderr))
}

/// What virsh sees from libvirtd and from daemon-min (on `runtime`), both configured with
/// `conf`, for the allowed and the other client certificate.
fn compare(runtime: &[&str], tag: &str, conf: &str) -> Option<Vec<(Option<i32>, String, String)>> {
    let virsh = require_peer("virsh")?;
    require_peer("libvirtd")?;
    let pki = Pki::new(tag);
    let (theirs, their_port) = Libvirtd::start_tls(&pki.server, conf).unwrap_or_else(|e| panic!("{e}"));
    let our_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let ours = DaemonMin::start(
        daemon_bin(),
        &format!("listen_tls = 1\ntls_port = \"{our_port}\"\n{}{conf}", pki.server.conf()),
        runtime,
    );
    let mut seen = Vec::new();
    for client in [&pki.allowed, &pki.other] {
        let a = virsh_hostname(&virsh, their_port, client);
        let b = virsh_hostname(&virsh, our_port, client);
        assert_eq!(a, b, "{conf:?}, client {}: libvirtd vs daemon-min", client.display());
        seen.push(a);
    }
    drop((theirs, ours));
    Some(seen)
}

/// What virsh says when the server closes the connection instead of sending the check byte.
const REFUSED: &str = "error: Unable to read TLS confirmation: Input/output error";

fn allowed_dn_list_lets_in_only_matching_clients(runtime: &[&str]) {
    // GnuTLS writes the DN in certificate order: CN first for these certificates.
    let conf = "tls_allowed_dn_list = [\"C=GB,*\", \"CN=allowed*,O=spec-tests\"]\n";
    let Some(seen) = compare(runtime, "list", conf) else { return };
    assert_eq!(seen[0].0, Some(0), "the allowed client connects: {:?}", seen[0]);
    assert_eq!(seen[1].0, Some(1), "the other client is refused: {:?}", seen[1]);
    assert!(seen[1].2.contains(REFUSED), "{:?}", seen[1]);
}

fn an_empty_list_refuses_everyone(runtime: &[&str]) {
    let Some(seen) = compare(runtime, "empty", "tls_allowed_dn_list = []\n") else { return };
    assert!(seen.iter().all(|s| s.0 == Some(1) && s.2.contains(REFUSED)), "{seen:?}");
}

fn no_verify_ignores_the_list(runtime: &[&str]) {
    let conf = "tls_no_verify_certificate = 1\ntls_allowed_dn_list = [\"CN=nobody\"]\n";
    let Some(seen) = compare(runtime, "noverify", conf) else { return };
    assert!(seen.iter().all(|s| s.0 == Some(0)), "{seen:?}");
}

on_both_runtimes!(
    allowed_dn_list_lets_in_only_matching_clients,
    an_empty_list_refuses_everyone,
    no_verify_ignores_the_list
);
