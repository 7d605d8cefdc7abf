//! Opening the byte channel a [`RemoteTarget`] names: a unix socket, TCP, TLS over TCP, or a
//! child process (ssh, ext) whose stdin and stdout are one end of a socket pair. Which socket,
//! port or command to use is decided by `proto_core::uri`; this module only opens it.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
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

/// The transport's child process (ssh, `command=`): killed and reaped when dropped. What it
/// writes on its standard error is kept (the last [`STDERR_TAIL`] bytes) for the error a
/// failed connection reports, as libvirt's client reports ssh's complaint.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    stderr: Arc<StderrTail>,
}

/// How much of the child's standard error is kept.
pub const STDERR_TAIL: usize = 4096;

#[derive(Debug, Default)]
struct StderrTail {
    /// The last bytes read, and whether the child closed its standard error.
    text: std::sync::Mutex<(Vec<u8>, bool)>,
    closed: std::sync::Condvar,
}

/// A handle on what a transport command writes on its standard error (see [`ChildGuard`]).
#[derive(Debug, Clone)]
pub struct CommandStderr(Arc<StderrTail>);

impl CommandStderr {
    /// What the command wrote on its standard error, trimmed; waits up to `wait` for it to
    /// close it (a command that dropped the connection is usually exiting, still saying why).
    #[must_use]
    pub fn text(&self, wait: std::time::Duration) -> String {
        let guard = self.0.text.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .0
            .closed
            .wait_timeout_while(guard, wait, |(_, closed)| !*closed)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&guard.0).trim().to_owned()
    }

    /// `error` with what the command said, when the connection ended under it (the command's
    /// complaint, e.g. ssh's "Permission denied (publickey).", says why); `error` otherwise.
    #[must_use]
    pub fn explain(&self, error: Error) -> Error {
        use proto_core::connect::OpenError;
        use proto_core::CallError;
        let ended = matches!(
            &error,
            Error::Io { .. }
                | Error::Call(CallError::Closed(_))
                | Error::Open(OpenError::Call { error: CallError::Closed(_), .. })
        );
        if !ended {
            return error;
        }
        match self.text(std::time::Duration::from_secs(2)) {
            said if said.is_empty() => error,
            said => Error::Command { error: Box::new(error), stderr: said },
        }
    }
}

impl ChildGuard {
    /// A handle on what the child writes on its standard error.
    #[must_use]
    pub fn stderr(&self) -> CommandStderr {
        CommandStderr(self.stderr.clone())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Channel {
    /// For a command's channel, a handle on what the command writes on its standard error.
    #[must_use]
    pub fn command_stderr(&self) -> Option<CommandStderr> {
        match self {
            Self::Child(_, guard) => Some(guard.stderr()),
            _ => None,
        }
    }

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

/// Starts `argv` with its stdin and stdout on one end of a socket pair. Its stderr goes to a
/// pipe that a thread drains into the guard's tail (see [`ChildGuard::stderr`]), as libvirt's
/// client keeps ssh's stderr for its errors; ssh's prompts use the terminal, not stderr.
///
/// # Errors
/// When the socket pair or the process cannot be created.
pub fn spawn_command(argv: &[String]) -> io::Result<(UnixStream, ChildGuard)> {
    let (ours, theirs) = UnixStream::pair()?;
    let theirs_out = theirs.try_clone()?;
    let (program, args) = argv.split_first().ok_or_else(|| io::Error::other("empty command"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(OwnedFd::from(theirs_out)))
        .stderr(Stdio::piped())
        .spawn()?;
    let tail = Arc::new(StderrTail::default());
    if let Some(mut err) = child.stderr.take() {
        let tail = tail.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            loop {
                let n = err.read(&mut buf).unwrap_or(0);
                let mut g = tail.text.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if n == 0 {
                    g.1 = true;
                    tail.closed.notify_all();
                    return;
                }
                g.0.extend_from_slice(&buf[..n]);
                let excess = g.0.len().saturating_sub(STDERR_TAIL);
                g.0.drain(..excess);
            }
        });
    } else {
        tail.text.lock().unwrap_or_else(std::sync::PoisonError::into_inner).1 = true;
    }
    Ok((ours, ChildGuard { child, stderr: tail }))
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
            Ok(Channel::Child(s, child))
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

/// The CA certificates of libvirt's `cacert.pem` (client and server alike), with libvirt's
/// error texts.
fn ca_roots(ca: &str) -> Result<Arc<rustls::RootCertStore>, Error> {
    use rustls::pki_types::pem::PemObject;
    let tls = |what: String| move |e: rustls::pki_types::pem::Error| Error::Tls(format!("{what}: {e}"));
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca)
        .map_err(tls(format!("cannot read CA certificate '{ca}'")))?
    {
        let cert = cert.map_err(tls(format!("cannot parse CA certificate '{ca}'")))?;
        roots.add(cert).map_err(|e| Error::Tls(format!("bad CA certificate '{ca}': {e}")))?;
    }
    Ok(Arc::new(roots))
}

/// A rustls client configuration from libvirt's PKI files (CA certificate, and the client
/// certificate and key when both exist), with hostname verification unless `no_verify`.
///
/// # Errors
/// When a file cannot be read or parsed.
pub fn tls_client_config(
    ca: &str,
    ca_crl: Option<&str>,
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
        let mut verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(ca_roots(ca)?, provider);
        if let Some(crl) = ca_crl {
            verifier = verifier.with_crls(read_crls(crl)?).allow_unknown_revocation_status();
        }
        builder.with_webpki_verifier(verifier.build().map_err(|e| Error::Tls(e.to_string()))?)
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
/// key both exist, the CA's revocation list applied when `cacrl.pem` exists.
///
/// # Errors
/// As [`tls_client_config`].
pub fn tls_client_config_for(target: &RemoteTarget) -> Result<Arc<rustls::ClientConfig>, Error> {
    tls_client_pki(target).map(|p| p.config)
}

/// The PKI files a `tls` target uses and the configuration made from them (for errors that
/// name the files).
#[derive(Debug)]
pub struct ClientPki {
    /// The files libvirt's client would use.
    pub paths: proto_core::uri::TlsPkiPaths,
    /// Whether the client certificate and key both exist (and are presented).
    pub sends_certificate: bool,
    /// The configuration.
    pub config: Arc<rustls::ClientConfig>,
}

impl ClientPki {
    /// What the client presents, for `proto_core::connect`'s refusal text.
    #[must_use]
    pub fn presented(&self) -> proto_core::connect::Presented {
        use proto_core::connect::Presented;
        if self.sends_certificate {
            Presented::Certificate(self.paths.cert.clone())
        } else {
            Presented::Nothing { cert: self.paths.cert.clone(), key: self.paths.key.clone() }
        }
    }
}

/// The text of a failed TLS handshake: a server certificate we could not trust names the CA
/// file it was checked against (a name mismatch already says what it is).
#[must_use]
pub fn explain_tls_io_error(e: &io::Error, target: &RemoteTarget, paths: &proto_core::uri::TlsPkiPaths) -> String {
    let bad_cert = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()).is_some_and(|r| {
        use rustls::CertificateError as C;
        matches!(r, rustls::Error::InvalidCertificate(c)
            if !matches!(c, C::NotValidForName | C::NotValidForNameContext { .. }))
    });
    if bad_cert && !target.params.no_verify {
        format!("{e} (the server's certificate was checked against CA certificate '{}')", paths.ca_cert)
    } else {
        e.to_string()
    }
}

/// [`tls_client_config_for`], with the files it used.
///
/// # Errors
/// As [`tls_client_config`].
pub fn tls_client_pki(target: &RemoteTarget) -> Result<ClientPki, Error> {
    let exists = |p: &str| std::path::Path::new(p).exists();
    let paths = target.tls_pki_paths(&client_env(), exists);
    let cert = (exists(&paths.cert) && exists(&paths.key)).then_some((paths.cert.as_str(), paths.key.as_str()));
    let crl = exists(&paths.ca_crl).then_some(paths.ca_crl.as_str());
    let config = tls_client_config(&paths.ca_cert, crl, cert, target.params.no_verify)?;
    Ok(ClientPki { sends_certificate: cert.is_some(), paths, config })
}

/// A CA revocation list file (libvirt's `cacrl.pem`, libvirtd's `crl_file`): one or more PEM
/// CRLs. A certificate listed is refused; certificates of issuers without a CRL are not
/// (GnuTLS's behaviour, rustls's "allow unknown revocation status").
///
/// # Errors
/// When the file cannot be read or parsed.
fn read_crls(path: &str) -> Result<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateRevocationListDer;
    CertificateRevocationListDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|e| Error::Tls(format!("cannot read CA revocation list '{path}': {e}")))
}

/// A TLS listener from libvirt's server PKI files (by default
/// `proto_core::uri::TlsPkiPaths::system(true)`): the server certificate chain and key, and,
/// unless `no_verify_client` (libvirtd's `tls_no_verify_certificate = 1`: any client is
/// accepted, with or without one), client certificates checked against the CA and, if given,
/// its revocation list (libvirtd's `crl_file`). As in libvirtd the handshake asks for the
/// client's certificate (and checks that the client holds its key) but the certificate itself
/// is judged after the handshake ([`ServerTls::check_client`]): a client without one, with one
/// from another CA or a revoked one completes the handshake and is then closed without the
/// check byte, so libvirt's client reports the same error as against libvirtd.
///
/// # Errors
/// When a file cannot be read or parsed, or the key does not match the certificate.
pub fn tls_server_config(
    ca: &str,
    ca_crl: Option<&str>,
    cert: &str,
    key: &str,
    no_verify_client: bool,
) -> Result<ServerTls, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |what: String| move |e: rustls::pki_types::pem::Error| Error::Tls(format!("{what}: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let mut client_verifier = None;
    let builder = if no_verify_client {
        builder.with_no_client_auth()
    } else {
        let mut verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(ca_roots(ca)?, provider);
        if let Some(crl) = ca_crl {
            verifier = verifier.with_crls(read_crls(crl)?).allow_unknown_revocation_status();
        }
        let verifier: Arc<dyn ClientCertVerifier> = verifier.build().map_err(|e| Error::Tls(e.to_string()))?;
        client_verifier = Some(verifier.clone());
        builder.with_client_cert_verifier(Arc::new(AfterHandshake(verifier)))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(tls(format!("cannot read server certificate '{cert}'")))?
        .collect::<Result<_, _>>()
        .map_err(tls(format!("cannot parse server certificate '{cert}'")))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(tls(format!("cannot read server key '{key}'")))?;
    let config = builder.with_single_cert(chain, key).map_err(|e| Error::Tls(e.to_string()))?;
    let mut tls = ServerTls::new(Arc::new(config));
    tls.client_verifier = client_verifier;
    Ok(tls)
}

use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};

/// libvirtd's way with client certificates: asked for in the handshake (whose signatures the
/// inner verifier still checks), judged after it by [`ServerTls::check_client`].
#[derive(Debug)]
struct AfterHandshake(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for AfterHandshake {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A check of a TLS client once its handshake is done, given its certificate (DER), if it sent
/// one: `Ok`, or why it is refused. libvirtd's is `tls_allowed_dn_list`.
pub type ClientCheck = Arc<dyn Fn(Option<&[u8]>) -> Result<(), String> + Send + Sync>;

/// A TLS listener's settings, taken by both server runtimes: the rustls configuration (see
/// [`tls_server_config`]) and the daemon's check of the client once the handshake is done,
/// before the check byte ([`proto_core::connect::TLS_CHECK_BYTE`]) is sent.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    /// [`tls_server_config`]'s CA (and CRL) check of the client's certificate, run after the
    /// handshake.
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    client_check: Option<ClientCheck>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("config", &self.config)
            .field("client_verifier", &self.client_verifier.is_some())
            .field("client_check", &self.client_check.is_some())
            .finish()
    }
}

impl From<Arc<rustls::ServerConfig>> for ServerTls {
    fn from(config: Arc<rustls::ServerConfig>) -> Self {
        Self::new(config)
    }
}

impl ServerTls {
    /// `config` for the handshake, no client check. TLS 1.3 session tickets are turned off:
    /// libvirt's client reads the check byte as the first record after the handshake and fails
    /// ("Unable to read TLS confirmation") on a ticket; it never resumes sessions anyway.
    #[must_use]
    pub fn new(mut config: Arc<rustls::ServerConfig>) -> Self {
        if config.send_tls13_tickets > 0 {
            Arc::make_mut(&mut config).send_tls13_tickets = 0;
        }
        Self { config, client_verifier: None, client_check: None }
    }

    /// Checks each client after its handshake (e.g. libvirtd's `tls_allowed_dn_list`). A
    /// refused client gets the handshake's last flight, then the connection is closed without
    /// the check byte, as libvirtd does; its client reports that the server refused it, and the
    /// runtime tells the handler why (`Handler::refused`).
    #[must_use]
    pub fn with_client_check(mut self, check: ClientCheck) -> Self {
        self.client_check = Some(check);
        self
    }

    /// The handshake's configuration.
    #[must_use]
    pub fn config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }

    /// libvirtd's checks of a client whose handshake is done: its certificate against the CA
    /// and revocation list (listeners made by [`tls_server_config`] that verify clients), then
    /// the [`ServerTls::with_client_check`] check.
    ///
    /// # Errors
    /// Why the client is refused.
    pub fn check_client(&self, conn: &rustls::ServerConnection) -> Result<(), String> {
        let chain = conn.peer_certificates().unwrap_or_default();
        if let Some(verifier) = &self.client_verifier {
            let Some((leaf, intermediates)) = chain.split_first() else {
                return Err("the client sent no certificate".into());
            };
            verifier
                .verify_client_cert(leaf, intermediates, rustls::pki_types::UnixTime::now())
                .map_err(|e| format!("the client's certificate is refused: {e}"))?;
        }
        match &self.client_check {
            None => Ok(()),
            Some(check) => check(chain.first().map(AsRef::as_ref)),
        }
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

/// The target `uri` names (`LIBVIRT_DEFAULT_URI` when it is empty), resolved as libvirt's
/// remote driver resolves it for this process.
///
/// # Errors
/// No URI at all, or one that is invalid or names something impossible.
pub fn resolve(uri: &str, read_only: bool) -> Result<RemoteTarget, Error> {
    let env_uri = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let uri = proto_core::uri::select_uri(Some(uri), env_uri.as_deref())
        .ok_or_else(|| Error::Unsupported("connecting without a URI".into()))?;
    Ok(proto_core::uri::LibvirtUri::parse(uri)?.resolve(&client_env(), read_only)?)
}

/// The TLS handshake and libvirt's check byte on a blocking socket, for `target`'s PKI (the
/// verdict and its texts are `proto_core::connect`'s).
///
/// # Errors
/// The PKI files, the handshake, a timeout or the server's refusal, in libvirt's words.
pub fn tls_client_handshake(target: &RemoteTarget, channel: &Channel) -> Result<rustls::ClientConnection, Error> {
    use proto_core::connect::{check_tls_byte, CheckByteRead, TlsCheckError, TLS_HANDSHAKE_WAIT};
    let pki = tls_client_pki(target)?;
    let presented = pki.presented();
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| Error::Tls(format!("invalid host name '{}': {e}", target.host)))?;
    let mut tls = rustls::ClientConnection::new(pki.config, name).map_err(|e| Error::Tls(e.to_string()))?;
    let mut sock =
        channel.try_clone_stream().map_err(|e| Error::Io { what: "cannot clone the socket".into(), source: e })?;
    let _ = sock.set_read_timeout(Some(TLS_HANDSHAKE_WAIT));
    let tls_err = |e: TlsCheckError| Error::Tls(e.to_string());
    let mut check = [0u8; 1];
    loop {
        let read = match tls.reader().read(&mut check) {
            Ok(1) => CheckByteRead::Byte(check[0]),
            Ok(_) => CheckByteRead::SessionEnded,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let handshaking = tls.is_handshaking();
                match tls.complete_io(&mut sock) {
                    Ok((0, 0)) if handshaking => return Err(tls_err(TlsCheckError::ClosedInHandshake)),
                    Ok((0, 0)) => CheckByteRead::ConnectionClosed,
                    Ok(_) => continue,
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        return Err(tls_err(TlsCheckError::Timeout { handshaking }));
                    }
                    Err(e) => return Err(Error::Tls(explain_tls_io_error(&e, target, &pki.paths))),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => CheckByteRead::ConnectionClosed,
            Err(e) => CheckByteRead::Failed(e.to_string()),
        };
        check_tls_byte(read, presented).map_err(tls_err)?;
        break;
    }
    let _ = sock.set_read_timeout(None);
    Ok(tls)
}

/// Writes every buffer of `batch` (16 at a time, vectored) and empties it.
///
/// # Errors
/// The first write error; a write of 0 bytes is `WriteZero`.
pub fn write_all_vectored(stream: &mut impl Write, batch: &mut Vec<Bytes>) -> io::Result<()> {
    let mut first = 0;
    loop {
        while batch.get(first).is_some_and(Bytes::is_empty) {
            first += 1;
        }
        if first == batch.len() {
            break;
        }
        let slices: [IoSlice<'_>; 16] =
            std::array::from_fn(|i| IoSlice::new(batch.get(first + i).map_or(&[][..], |b| b)));
        let mut n = stream.write_vectored(&slices)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let b = &mut batch[first];
            if n >= b.len() {
                n -= b.len();
                first += 1;
            } else {
                let _ = b.split_to(n);
                n = 0;
            }
        }
    }
    batch.clear();
    Ok(())
}

/// Decrypts what was read from a TLS socket; `None` when it is not TLS the session accepts.
pub fn tls_open(tls: &mut rustls::ClientConnection, mut input: &[u8]) -> Option<Vec<u8>> {
    let mut plain = Vec::new();
    while !input.is_empty() {
        if tls.read_tls(&mut input).is_err() || tls.process_new_packets().is_err() {
            return None;
        }
        let _ = tls.reader().read_to_end(&mut plain);
    }
    Some(plain)
}

/// Encrypts `plain` into the TLS records to write (one write's worth).
pub fn tls_seal(tls: &mut rustls::ClientConnection, plain: &[u8]) -> Bytes {
    let _ = tls.writer().write_all(plain);
    Bytes::from(tls_records(tls))
}

/// The TLS records a session has ready to write (either side's).
pub fn tls_records<D>(tls: &mut rustls::ConnectionCommon<D>) -> Vec<u8> {
    let mut out = Vec::new();
    while tls.wants_write() {
        if tls.write_tls(&mut out).is_err() {
            break;
        }
    }
    out
}
