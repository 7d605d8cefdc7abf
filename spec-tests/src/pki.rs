//! A throwaway X.509 PKI for TLS tests, laid out as libvirt expects it.
//!
//! [`Ca::new`] makes a self-signed CA; [`Ca::server_cert`] and [`Ca::client_cert`] issue leaf
//! certificates that pass libvirt 9.0's own sanity checks (`virnettlscontext.c`): basic
//! constraints `CA:FALSE`, key usage digitalSignature + keyEncipherment, extended key usage
//! serverAuth or clientAuth; the CA has `CA:TRUE` and keyCertSign. Keys are ECDSA P-256 (what
//! rcgen makes with ring), in PKCS#8 PEM, which GnuTLS and rustls both read.
//!
//! The files are written in libvirt's layouts:
//!
//! - the server's, with [`ServerPki::write`]: `cacert.pem`, `servercert.pem`, `serverkey.pem`
//!   in one directory, handed to libvirtd through `ca_file`, `cert_file` and `key_file`
//!   ([`ServerPki::conf`]);
//! - the client's, with [`write_client_dir`]: a `pkipath=` directory holding `cacert.pem`,
//!   `clientcert.pem` and `clientkey.pem` (the same names as `$HOME/.pki/libvirt/`).
//!
//! ```no_run
//! use spec_tests::pki::{write_client_dir, Ca, ServerPki};
//!
//! let ca = Ca::new("Test CA");
//! let dir = std::env::temp_dir().join("pki-example");
//! let server = ServerPki::write(&dir.join("server"), &ca, &ca.server_cert(&["127.0.0.1", "localhost"])).unwrap();
//! write_client_dir(&dir.join("client"), &ca, Some(&ca.client_cert("client"))).unwrap();
//! println!("{}", server.conf());
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams,
    SerialNumber,
};

/// A self-signed certificate authority.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
    /// The serial number, unique among the certificates this process makes (what a CRL lists).
    pub serial: u64,
}

impl Ca {
    /// A new CA whose subject is `CN=<common_name>,O=spec-tests`.
    ///
    /// # Panics
    /// When key generation or signing fails (it does not with ring).
    #[must_use]
    pub fn new(common_name: &str) -> Self {
        let key = KeyPair::generate().expect("generate a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.distinguished_name.push(DnType::OrganizationName, "spec-tests");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert_pem = params.self_signed(&key).expect("self-sign the CA").pem();
        Self { issuer: Issuer::new(params, key), cert_pem }
    }

    /// The CA certificate, PEM.
    #[must_use]
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A server certificate for `names` (IP addresses become IP SANs, anything else DNS SANs;
    /// the first name is also the CN, which GnuTLS falls back to).
    ///
    /// # Panics
    /// When a name is not a valid SAN, or signing fails.
    #[must_use]
    pub fn server_cert(&self, names: &[&str]) -> Leaf {
        self.leaf(names.first().copied().unwrap_or("server"), names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with subject `CN=<common_name>,O=spec-tests` (what
    /// `tls_allowed_dn_list` matches), for TLS client authentication.
    ///
    /// # Panics
    /// When signing fails.
    #[must_use]
    pub fn client_cert(&self, common_name: &str) -> Leaf {
        self.leaf(common_name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, common_name: &str, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> Leaf {
        let key = KeyPair::generate().expect("generate a key");
        let sans: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(sans).expect("certificate names");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.distinguished_name.push(DnType::OrganizationName, "spec-tests");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![purpose];
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        params.serial_number = Some(SerialNumber::from(serial));
        let cert = params.signed_by(&key, &self.issuer).expect("sign the certificate");
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem(), serial }
    }

    /// A revocation list (PEM) signed by this CA that revokes `revoked`: libvirt's `cacrl.pem`,
    /// libvirtd's `crl_file`.
    ///
    /// # Panics
    /// When signing fails.
    #[must_use]
    pub fn crl(&self, revoked: &[&Leaf]) -> String {
        let params = CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 1),
            next_update: date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|l| RevokedCertParams {
                    serial_number: SerialNumber::from(l.serial),
                    revocation_time: date_time_ymd(2024, 1, 1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).expect("sign the CRL").pem().expect("CRL as PEM")
    }
}

/// The server's files, as libvirtd's `ca_file`, `cert_file` and `key_file` name them.
#[derive(Debug, Clone)]
pub struct ServerPki {
    /// The CA certificate the server checks client certificates against.
    pub ca_file: PathBuf,
    /// The server certificate.
    pub cert_file: PathBuf,
    /// The server's private key.
    pub key_file: PathBuf,
}

impl ServerPki {
    /// Writes `cacert.pem` (from `ca`), `servercert.pem` and `serverkey.pem` into `dir`
    /// (created if needed). Everything is world-readable, because the daemon may run as another
    /// user (`libvirtd::DAEMON_USER`); these are throwaway test keys.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn write(dir: &Path, ca: &Ca, server: &Leaf) -> io::Result<Self> {
        make_dir(dir)?;
        let out = Self {
            ca_file: dir.join("cacert.pem"),
            cert_file: dir.join("servercert.pem"),
            key_file: dir.join("serverkey.pem"),
        };
        write_file(&out.ca_file, ca.cert_pem())?;
        write_file(&out.cert_file, &server.cert_pem)?;
        write_file(&out.key_file, &server.key_pem)?;
        Ok(out)
    }

    /// The `libvirtd.conf` lines naming these files.
    #[must_use]
    pub fn conf(&self) -> String {
        format!(
            "ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            self.ca_file.display(),
            self.cert_file.display(),
            self.key_file.display()
        )
    }
}

/// Writes a client `pkipath=` directory: `cacert.pem` from `ca`, and `clientcert.pem` and
/// `clientkey.pem` when `client` is given. Returns `dir`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_client_dir(dir: &Path, ca: &Ca, client: Option<&Leaf>) -> io::Result<PathBuf> {
    make_dir(dir)?;
    write_file(&dir.join("cacert.pem"), ca.cert_pem())?;
    if let Some(c) = client {
        write_file(&dir.join("clientcert.pem"), &c.cert_pem)?;
        write_file(&dir.join("clientkey.pem"), &c.key_pem)?;
    }
    Ok(dir.to_owned())
}

fn make_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
}

fn write_file(path: &Path, contents: &str) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, contents)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}
