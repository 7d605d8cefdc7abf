//! TLS listeners and libvirtd's checks of the client after the handshake, on both runtimes,
//! side by side with Debian's libvirtd: real virsh with a good certificate gets in; without
//! one, with one from another CA, or with one the CA revoked (`crl_file`) it is refused, in the
//! same words as by libvirtd; `tls_allowed_dn_list` lets in only the DNs that match, refuses
//! everyone when empty, and is ignored with `tls_no_verify_certificate = 1`.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::daemon_bin;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::pki::{write_client_dir, Ca, ServerPki};

/// A CA, a server certificate for 127.0.0.1, a revocation list (`server/crl.pem`) that revokes
/// the "other" client, and four client `pkipath=` directories: `CN=allowed client,O=spec-tests`,
/// `CN=other client,O=spec-tests`, none, and one from another CA.
struct Pki {
    dir: PathBuf,
    server: ServerPki,
    crl: PathBuf,
    clients: [PathBuf; 4],
}

/// Indexes of [`Pki::clients`].
const ALLOWED: usize = 0;
const OTHER: usize = 1;
const NO_CERT: usize = 2;
const FOREIGN: usize = 3;

impl Pki {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("daemon-min-tls-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ca = Ca::new("daemon-min tls CA");
        let server = ServerPki::write(&dir.join("server"), &ca, &ca.server_cert(&["127.0.0.1"])).unwrap();
        let allowed = write_client_dir(&dir.join("allowed"), &ca, Some(&ca.client_cert("allowed client"))).unwrap();
        let other_cert = ca.client_cert("other client");
        let other = write_client_dir(&dir.join("other"), &ca, Some(&other_cert)).unwrap();
        let crl = dir.join("server").join("crl.pem");
        std::fs::write(&crl, ca.crl(&[&other_cert])).unwrap();
        let no_cert = write_client_dir(&dir.join("no-cert"), &ca, None).unwrap();
        // Signed by another CA. The client trusts both CAs (virsh checks its own certificate
        // against its cacert.pem before it connects); the server trusts only its own.
        let other_ca = Ca::new("another CA");
        let foreign =
            write_client_dir(&dir.join("foreign"), &ca, Some(&other_ca.client_cert("allowed client"))).unwrap();
        std::fs::write(foreign.join("cacert.pem"), format!("{}{}", ca.cert_pem(), other_ca.cert_pem())).unwrap();
        Self { dir, server, crl, clients: [allowed, other, no_cert, foreign] }
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
/// `conf` (given the PKI), for each of [`Pki::clients`].
fn compare(runtime: &[&str], tag: &str, conf: impl Fn(&Pki) -> String) -> Option<Vec<(Option<i32>, String, String)>> {
    let virsh = require_peer("virsh")?;
    require_peer("libvirtd")?;
    let pki = Pki::new(tag);
    let conf = &conf(&pki);
    let (theirs, their_port) = Libvirtd::start_tls(&pki.server, conf).unwrap_or_else(|e| panic!("{e}"));
    let our_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let ours = DaemonMin::start(
        daemon_bin(),
        &format!("listen_tls = 1\ntls_port = \"{our_port}\"\n{}{conf}", pki.server.conf()),
        runtime,
    );
    let mut seen = Vec::new();
    for client in &pki.clients {
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

fn refused(seen: &(Option<i32>, String, String)) -> bool {
    seen.0 == Some(1) && seen.2.contains(REFUSED)
}

fn certificates_are_checked_after_the_handshake(runtime: &[&str]) {
    let Some(seen) = compare(runtime, "plain", |_| String::new()) else { return };
    assert_eq!(seen[ALLOWED].0, Some(0), "{:?}", seen[ALLOWED]);
    assert_eq!(seen[OTHER].0, Some(0), "{:?}", seen[OTHER]);
    assert!(refused(&seen[NO_CERT]), "no certificate: {:?}", seen[NO_CERT]);
    assert!(refused(&seen[FOREIGN]), "another CA's certificate: {:?}", seen[FOREIGN]);
}

fn a_revoked_certificate_is_refused(runtime: &[&str]) {
    let conf = |pki: &Pki| format!("crl_file = \"{}\"\n", pki.crl.display());
    let Some(seen) = compare(runtime, "crl", conf) else { return };
    assert_eq!(seen[ALLOWED].0, Some(0), "{:?}", seen[ALLOWED]);
    assert!(refused(&seen[OTHER]), "revoked: {:?}", seen[OTHER]);
}

fn allowed_dn_list_lets_in_only_matching_clients(runtime: &[&str]) {
    // GnuTLS writes the DN in certificate order: CN first for these certificates.
    let conf = |_: &Pki| "tls_allowed_dn_list = [\"C=GB,*\", \"CN=allowed*,O=spec-tests\"]\n".to_owned();
    let Some(seen) = compare(runtime, "list", conf) else { return };
    assert_eq!(seen[ALLOWED].0, Some(0), "the allowed client connects: {:?}", seen[ALLOWED]);
    assert!(refused(&seen[OTHER]), "the other client is refused: {:?}", seen[OTHER]);
    // The foreign certificate has the allowed DN, but the CA check comes first.
    assert!(refused(&seen[FOREIGN]), "{:?}", seen[FOREIGN]);
}

fn an_empty_list_refuses_everyone(runtime: &[&str]) {
    let Some(seen) = compare(runtime, "empty", |_| "tls_allowed_dn_list = []\n".to_owned()) else { return };
    assert!(seen.iter().all(refused), "{seen:?}");
}

fn no_verify_ignores_the_list(runtime: &[&str]) {
    let conf = |_: &Pki| "tls_no_verify_certificate = 1\ntls_allowed_dn_list = [\"CN=nobody\"]\n".to_owned();
    let Some(seen) = compare(runtime, "noverify", conf) else { return };
    assert!(seen.iter().all(|s| s.0 == Some(0)), "{seen:?}");
}

on_both_runtimes!(
    certificates_are_checked_after_the_handshake,
    a_revoked_certificate_is_refused,
    allowed_dn_list_lets_in_only_matching_clients,
    an_empty_list_refuses_everyone,
    no_verify_ignores_the_list
);
