//! Where the TLS credentials (CA certificate, CRL, certificate and key) are found.

use super::{ClientEnv, RemoteTarget};

/// Locations of the TLS credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPkiPaths {
    /// CA certificate.
    pub ca_cert: String,
    /// CA revocation list (`cacrl.pem`; skipped if missing).
    pub ca_crl: String,
    /// Own certificate.
    pub cert: String,
    /// Own private key.
    pub key: String,
}

impl TlsPkiPaths {
    /// The system-wide files under `/etc/pki`, for a client or a server.
    #[must_use]
    pub fn system(server: bool) -> Self {
        let role = if server { "server" } else { "client" };
        Self {
            ca_cert: "/etc/pki/CA/cacert.pem".to_owned(),
            ca_crl: "/etc/pki/CA/cacrl.pem".to_owned(),
            cert: format!("/etc/pki/libvirt/{role}cert.pem"),
            key: format!("/etc/pki/libvirt/private/{role}key.pem"),
        }
    }

    /// The four files directly in `dir` (how `pkipath=` is used).
    #[must_use]
    pub fn in_dir(dir: &str, server: bool) -> Self {
        let role = if server { "server" } else { "client" };
        Self {
            ca_cert: format!("{dir}/cacert.pem"),
            ca_crl: format!("{dir}/cacrl.pem"),
            cert: format!("{dir}/{role}cert.pem"),
            key: format!("{dir}/{role}key.pem"),
        }
    }

    /// Where a client takes its files from. With `pkipath` it uses exactly that directory.
    /// Root uses the system files. Non-root takes each file from `$HOME/.pki/libvirt` if it
    /// exists there, and the cert and key only as a pair; the rest come from the system paths.
    pub fn locate_client(pkipath: Option<&str>, env: &ClientEnv, exists: impl Fn(&str) -> bool) -> Self {
        if let Some(dir) = pkipath {
            return Self::in_dir(dir, false);
        }
        let mut out = Self::system(false);
        if let (false, Some(home)) = (env.is_root, env.home.as_deref()) {
            let user = Self::in_dir(&format!("{home}/.pki/libvirt"), false);
            if exists(&user.ca_cert) {
                out.ca_cert = user.ca_cert;
            }
            if exists(&user.ca_crl) {
                out.ca_crl = user.ca_crl;
            }
            if exists(&user.cert) && exists(&user.key) {
                (out.cert, out.key) = (user.cert, user.key);
            }
        }
        out
    }
}

impl RemoteTarget {
    /// The client's TLS files, taking `pkipath=` into account ([`TlsPkiPaths::locate_client`]).
    pub fn tls_pki_paths(&self, env: &ClientEnv, exists: impl Fn(&str) -> bool) -> TlsPkiPaths {
        TlsPkiPaths::locate_client(self.params.pkipath.as_deref(), env, exists)
    }
}
