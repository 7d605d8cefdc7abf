//! Opening the byte channel a [`RemoteTarget`] names: a unix socket, TCP, TLS over TCP, or a
//! child process (ssh, ext) whose stdin and stdout are one end of a socket pair. Which socket,
//! port or command to use is decided by `proto_core::uri`; this module only opens it.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use proto_core::uri::{ClientEnv, RemoteTarget, Transport, UnixSocket};

use crate::Error;

/// The environment facts `proto_core::uri` needs, read from this process.
#[must_use]
pub fn client_env() -> ClientEnv {
    let var = |k| std::env::var(k).ok();
    ClientEnv {
        // /proc/self belongs to the effective uid.
        is_root: std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0),
        runtime_dir: var("XDG_RUNTIME_DIR"),
        cache_home: var("XDG_CACHE_HOME"),
        home: var("HOME"),
        autostart: var("LIBVIRT_AUTOSTART"),
    }
}

/// An open, plain byte channel (TLS is layered on top by the caller).
#[derive(Debug)]
pub enum Channel {
    /// A unix socket.
    Unix(UnixStream),
    /// A TCP connection.
    Tcp(TcpStream),
    /// A child process speaking over a socket pair; the child is killed when dropped.
    Child(UnixStream, ChildGuard),
}

/// Kills and reaps the transport's child process when dropped.
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Channel {
    /// A second handle on the same channel (for a reader thread).
    ///
    /// # Errors
    /// When the descriptor cannot be duplicated.
    pub fn try_clone_stream(&self) -> io::Result<Stream> {
        Ok(match self {
            Self::Unix(s) | Self::Child(s, _) => Stream::Unix(s.try_clone()?),
            Self::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    /// Shuts both directions down, which wakes a thread blocked reading it.
    pub fn shutdown(&self) {
        let _ = match self {
            Self::Unix(s) | Self::Child(s, _) => s.shutdown(std::net::Shutdown::Both),
            Self::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

/// One handle on a channel's socket.
#[derive(Debug)]
pub enum Stream {
    /// Unix socket (also a child's socket pair).
    Unix(UnixStream),
    /// TCP.
    Tcp(TcpStream),
}

impl Stream {
    /// Sets the read timeout.
    ///
    /// # Errors
    /// As the socket option.
    pub fn set_read_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Self::Unix(s) => s.set_read_timeout(t),
            Self::Tcp(s) => s.set_read_timeout(t),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.read(buf),
            Self::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.write(buf),
            Self::Tcp(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.write_vectored(bufs),
            Self::Tcp(s) => s.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Starts `argv` with its stdin and stdout on one end of a socket pair; its stderr is inherited
/// so that ssh can show prompts and errors, as libvirt's client lets it.
///
/// # Errors
/// When the socket pair or the process cannot be created.
pub fn spawn_command(argv: &[String]) -> io::Result<(UnixStream, Child)> {
    let (ours, theirs) = UnixStream::pair()?;
    let theirs_out = theirs.try_clone()?;
    let (program, args) = argv.split_first().ok_or_else(|| io::Error::other("empty command"))?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(OwnedFd::from(theirs_out)))
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok((ours, child))
}

/// Opens the channel for `target` (no TLS handshake yet).
///
/// # Errors
/// When the socket cannot be reached or the command cannot be started.
pub fn open(target: &RemoteTarget) -> Result<Channel, Error> {
    let io = |what: String| move |e: io::Error| Error::Io { what, source: e };
    match target.transport {
        Transport::Unix => {
            let path = match &target.socket {
                Some(s @ UnixSocket::Probe { .. }) => s.choose(|p| std::path::Path::new(p).exists(), false).to_owned(),
                Some(UnixSocket::Path(p)) => p.clone(),
                None => return Err(Error::Unsupported("a unix URI without a socket path".into())),
            };
            let s = UnixStream::connect(&path).map_err(io(format!("cannot connect to socket '{path}'")))?;
            Ok(Channel::Unix(s))
        }
        Transport::Tcp | Transport::Tls => {
            let port = target.port.unwrap_or(16509);
            let addr = format!("{}:{port}", bracket(&target.host));
            let s = TcpStream::connect(&addr).map_err(io(format!("cannot connect to {addr}")))?;
            let _ = s.set_nodelay(true);
            Ok(Channel::Tcp(s))
        }
        Transport::Ssh | Transport::Ext | Transport::Libssh | Transport::Libssh2 => {
            // libssh and libssh2 run the same remote command; here they use the ssh binary.
            let argv = match target.transport {
                Transport::Ext => target.ext_argv(),
                _ => {
                    let mut t = target.clone();
                    t.transport = Transport::Ssh;
                    t.ssh_argv()
                }
            }
            .ok_or_else(|| Error::Unsupported("no command for this transport".into()))?;
            let (s, child) = spawn_command(&argv).map_err(io(format!("cannot run '{}'", argv.join(" "))))?;
            Ok(Channel::Child(s, ChildGuard(child)))
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// A rustls client configuration from libvirt's PKI files (CA certificate, and the client
/// certificate and key when both exist), with hostname verification unless `no_verify`.
///
/// # Errors
/// When a file cannot be read or parsed.
pub fn tls_client_config(
    ca: &str,
    client_cert: Option<(&str, &str)>,
    no_verify: bool,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |what: String| move |e: rustls::pki_types::pem::Error| Error::Tls(format!("{what}: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if no_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(tls(format!("cannot read CA certificate '{ca}'")))? {
            let cert = cert.map_err(tls(format!("cannot parse CA certificate '{ca}'")))?;
            roots.add(cert).map_err(|e| Error::Tls(format!("bad CA certificate '{ca}': {e}")))?;
        }
        builder.with_root_certificates(roots)
    };
    let config = match client_cert {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(tls(format!("cannot read client certificate '{cert}'")))?
                .collect::<Result<_, _>>()
                .map_err(tls(format!("cannot parse client certificate '{cert}'")))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(tls(format!("cannot read client key '{key}'")))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| Error::Tls(e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The rustls client configuration for a `tls` target from the PKI files libvirt's client uses
/// ([`RemoteTarget::tls_pki_paths`]); the client certificate is presented only when it and its
/// key both exist.
///
/// # Errors
/// As [`tls_client_config`].
pub fn tls_client_config_for(target: &RemoteTarget) -> Result<Arc<rustls::ClientConfig>, Error> {
    let exists = |p: &str| std::path::Path::new(p).exists();
    let pki = target.tls_pki_paths(&client_env(), exists);
    let cert = (exists(&pki.cert) && exists(&pki.key)).then_some((pki.cert.as_str(), pki.key.as_str()));
    tls_client_config(&pki.ca_cert, cert, target.params.no_verify)
}

/// A rustls server configuration from libvirt's server PKI files (by default
/// `proto_core::uri::TlsPkiPaths::system(true)`): the server certificate chain and key, and
/// client certificates required and verified against the CA, unless `no_verify_client`
/// (libvirtd's `tls_no_verify_certificate = 1`: any client is accepted, with or without one).
///
/// # Errors
/// When a file cannot be read or parsed, or the key does not match the certificate.
pub fn tls_server_config(
    ca: &str,
    cert: &str,
    key: &str,
    no_verify_client: bool,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |what: String| move |e: rustls::pki_types::pem::Error| Error::Tls(format!("{what}: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if no_verify_client {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).map_err(tls(format!("cannot read CA certificate '{ca}'")))? {
            let c = c.map_err(tls(format!("cannot parse CA certificate '{ca}'")))?;
            roots.add(c).map_err(|e| Error::Tls(format!("bad CA certificate '{ca}': {e}")))?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(tls(format!("cannot read server certificate '{cert}'")))?
        .collect::<Result<_, _>>()
        .map_err(tls(format!("cannot parse server certificate '{cert}'")))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(tls(format!("cannot read server key '{key}'")))?;
    let config = builder.with_single_cert(chain, key).map_err(|e| Error::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

/// A TLS listener's settings, taken by both server runtimes: the rustls configuration (see
/// [`tls_server_config`]) and libvirtd's checks once the handshake is done, before the
/// check byte ([`proto_core::connect::TLS_CHECK_BYTE`]) is sent.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    allowed_dn_list: Option<Arc<[String]>>,
}

impl From<Arc<rustls::ServerConfig>> for ServerTls {
    fn from(config: Arc<rustls::ServerConfig>) -> Self {
        Self::new(config)
    }
}

impl ServerTls {
    /// `config` for the handshake, no DN list. TLS 1.3 session tickets are turned off:
    /// libvirt's client reads the check byte as the first record after the handshake and fails
    /// ("Unable to read TLS confirmation") on a ticket; it never resumes sessions anyway.
    #[must_use]
    pub fn new(mut config: Arc<rustls::ServerConfig>) -> Self {
        if config.send_tls13_tickets > 0 {
            Arc::make_mut(&mut config).send_tls13_tickets = 0;
        }
        Self { config, allowed_dn_list: None }
    }

    /// libvirtd's `tls_allowed_dn_list`: a client whose certificate's Distinguished Name
    /// ([`certificate_dn`]) matches none of these wildcard patterns is refused after the
    /// handshake: the connection is closed without the check byte, as libvirtd does (its client
    /// then reports that the server refused it). An empty list refuses everyone. libvirtd
    /// ignores the list with `tls_no_verify_certificate = 1`: do not set it then.
    #[must_use]
    pub fn with_allowed_dn_list(mut self, patterns: Vec<String>) -> Self {
        self.allowed_dn_list = Some(patterns.into());
        self
    }

    /// The handshake's configuration.
    #[must_use]
    pub fn config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }

    /// libvirtd's checks of a client once the handshake is done: `Ok`, or why it is refused
    /// (for the daemon's log).
    ///
    /// # Errors
    /// The client's certificate is missing or unreadable, or its DN is not on the list.
    pub fn check_client(&self, conn: &rustls::ServerConnection) -> Result<(), String> {
        let Some(allowed) = &self.allowed_dn_list else { return Ok(()) };
        let Some(leaf) = conn.peer_certificates().and_then(<[_]>::first) else {
            return Err("the client sent no certificate, and tls_allowed_dn_list is set".into());
        };
        let dn = certificate_dn(leaf).map_err(|e| e.to_string())?;
        if proto_core::connect::tls_dn_allowed(&dn, allowed) {
            Ok(())
        } else {
            Err(format!(
                "the client's Distinguished Name '{dn}' is not on the list of allowed clients \
                 (tls_allowed_dn_list)"
            ))
        }
    }
}

/// A certificate's subject Distinguished Name as GnuTLS's `gnutls_x509_crt_get_dn` writes it:
/// what libvirtd matches `tls_allowed_dn_list` against and `virt-pki-query-dn` prints.
/// Relative names in certificate order joined by `,`, multi-valued ones by `+`; GnuTLS's names
/// for the attribute types it knows (`CN`, `O`, `OU`, `C`, `ST`, `L`, `EMAIL`, `DC`, `UID`, …)
/// and the dotted OID otherwise. A value of the string type GnuTLS expects for its attribute
/// is written as text with `,+"\<>;` escaped (and a leading `#` or space, a trailing space);
/// any other value as `#` and the hex of its DER. `spec-tests/tests/tls_dn.rs` checks this
/// against `virt-pki-query-dn` for each attribute type and string type.
///
/// # Errors
/// When `der` is not an X.509 certificate, or a directory string (`CN`, `O`, …) is empty
/// (GnuTLS refuses such a certificate, and so libvirtd does).
pub fn certificate_dn(der: &[u8]) -> Result<String, Error> {
    use x509_parser::der_parser::asn1_rs::ToDer;
    use x509_parser::prelude::FromDer;
    let bad = |why: String| Error::Tls(format!("cannot read the client certificate's subject: {why}"));
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
    let mut dn = String::new();
    for (i, rdn) in cert.subject().iter_rdn().enumerate() {
        if i > 0 {
            dn.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                dn.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            let known = dn_attribute(&oid);
            dn.push_str(known.and_then(|(name, _)| name).unwrap_or(&oid));
            dn.push('=');
            let value = atv.attr_value();
            match known.and_then(|(_, syntax)| dn_string(syntax, value)) {
                Some(text) if text.is_empty() => return Err(bad(format!("an empty {oid} value"))),
                Some(text) => escape_dn_value(&text, &mut dn),
                None => {
                    dn.push('#');
                    dn.push_str(&hex(&value.to_der_vec().map_err(|e| bad(e.to_string()))?));
                }
            }
        }
    }
    Ok(dn)
}

/// The string types GnuTLS decodes for an attribute; anything else it writes as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DnSyntax {
    /// X.520 DirectoryString: UTF-8, printable, teletex, BMP (universal, oddly, as `#` and
    /// the hex of its content).
    Directory,
    /// PrintableString only.
    Printable,
    /// IA5String only.
    Ia5,
    /// NumericString only.
    Numeric,
    /// BMPString only.
    Bmp,
}

/// GnuTLS's table of attribute types: the name it writes (`None`: the dotted OID) and the
/// string type it decodes. Types not here are written as `OID=#hex`.
fn dn_attribute(oid: &str) -> Option<(Option<&'static str>, DnSyntax)> {
    use DnSyntax::{Bmp, Directory, Ia5, Numeric, Printable};
    let (name, syntax) = match oid {
        "2.5.4.3" => ("CN", Directory),
        "2.5.4.4" => ("surName", Directory),
        "2.5.4.5" => ("serialNumber", Printable),
        "2.5.4.6" => ("C", Printable),
        "2.5.4.7" => ("L", Directory),
        "2.5.4.8" => ("ST", Directory),
        "2.5.4.9" => ("street", Directory),
        "2.5.4.10" => ("O", Directory),
        "2.5.4.11" => ("OU", Directory),
        "2.5.4.12" => ("title", Directory),
        "2.5.4.13" => ("description", Directory),
        "2.5.4.15" => ("businessCategory", Directory),
        "2.5.4.17" => ("postalCode", Directory),
        "2.5.4.20" => ("telephoneNumber", Printable),
        "2.5.4.41" => ("name", Directory),
        "2.5.4.42" => ("givenName", Directory),
        "2.5.4.43" => ("initials", Directory),
        "2.5.4.44" => ("generationQualifier", Directory),
        "2.5.4.46" => ("dnQualifier", Printable),
        "2.5.4.65" => ("pseudonym", Directory),
        "0.9.2342.19200300.100.1.1" => ("UID", Directory),
        "0.9.2342.19200300.100.1.25" => ("DC", Ia5),
        "1.2.840.113549.1.9.1" => ("EMAIL", Ia5),
        "1.2.840.113549.1.9.7" => return Some((None, Directory)), // challengePassword
        "1.2.840.113549.1.9.20" => return Some((None, Bmp)),      // friendlyName
        "1.2.840.113556.1.4.656" => ("userPrincipalName", Directory),
        "1.3.6.1.4.1.311.60.2.1.1" => ("jurisdictionOfIncorporationLocalityName", Directory),
        "1.3.6.1.4.1.311.60.2.1.2" => ("jurisdictionOfIncorporationStateOrProvinceName", Directory),
        "1.3.6.1.4.1.311.60.2.1.3" => ("jurisdictionOfIncorporationCountryName", Printable),
        "1.3.6.1.5.5.7.9.2" => ("placeOfBirth", Directory),
        "1.3.6.1.5.5.7.9.3" => ("gender", Printable),
        "1.3.6.1.5.5.7.9.4" => ("countryOfCitizenship", Printable),
        "1.3.6.1.5.5.7.9.5" => ("countryOfResidence", Printable),
        "1.2.643.3.131.1.1" => ("INN", Numeric),
        "1.2.643.100.1" => ("OGRN", Numeric),
        "1.2.643.100.3" => ("SNILS", Numeric),
        "1.2.643.100.5" => ("OGRNIP", Numeric),
        _ => return None,
    };
    Some((Some(name), syntax))
}

/// The text GnuTLS writes for a value of the type `syntax` expects; `None` for another type.
fn dn_string(syntax: DnSyntax, value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let data = value.data;
    let text = || std::str::from_utf8(data).ok().map(str::to_owned);
    if data.is_empty() && syntax != DnSyntax::Directory {
        // GnuTLS writes an empty single-type string as hex (`C=#1300`); an empty directory
        // string makes it refuse the certificate (the caller's error).
        return None;
    }
    match (syntax, value.tag()) {
        (DnSyntax::Printable | DnSyntax::Directory, Tag::PrintableString)
        | (DnSyntax::Ia5, Tag::Ia5String)
        | (DnSyntax::Numeric, Tag::NumericString)
        | (DnSyntax::Directory, Tag::Utf8String) => text(),
        (DnSyntax::Directory, Tag::TeletexString) if data.is_ascii() => text(),
        (DnSyntax::Directory | DnSyntax::Bmp, Tag::BmpString) if data.len().is_multiple_of(2) => {
            let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        (DnSyntax::Directory, Tag::UniversalString) => Some(format!("#{}", hex(data))),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// RFC 4514 escaping of an attribute value, as GnuTLS does it.
fn escape_dn_value(text: &str, out: &mut String) {
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

/// `no_verify=1`: accept any server certificate (signatures are still checked).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
