//! Resolving a URI to a [`RemoteTarget`] as the remote driver does: transport, host and port,
//! the unix socket (session or system, per-driver or legacy), and the `CONNECT_OPEN` name and
//! flags.

use super::{DaemonMode, LibvirtUri, ProxyMode, RemoteParams, Transport, UriError};

/// Default port of the `tcp` transport.
pub const DEFAULT_TCP_PORT: u16 = 16509;
/// Default port of the `tls` transport.
pub const DEFAULT_TLS_PORT: u16 = 16514;
/// Port the in-process `libssh` / `libssh2` transports use when the URI names none.
pub const DEFAULT_LIBSSH_PORT: u16 = 22;
/// Directory of the system daemon sockets. It uses `/var/run`, not `/run`, because the path may
/// be used on a remote host.
pub const SYSTEM_SOCKET_DIR: &str = "/var/run/libvirt";
/// `CONNECT_OPEN` flag bit: read-only connection (`VIR_CONNECT_RO`).
pub const OPEN_FLAG_READ_ONLY: u32 = 1;
/// `CONNECT_OPEN` flag bit: per-user (session) daemon. The remote driver adds this bit itself,
/// so it leaks onto the wire.
pub const OPEN_FLAG_USER: u32 = 2;
/// `CONNECT_OPEN` flag bit: autostart a session daemon. This internal bit leaks onto the wire too.
pub const OPEN_FLAG_AUTOSTART: u32 = 4;

impl LibvirtUri {
    /// Works out what the remote driver does with this URI. `read_only` is
    /// `virConnectOpenReadOnly` / `virsh -r`.
    pub fn resolve(&self, env: &ClientEnv, read_only: bool) -> Result<RemoteTarget, UriError> {
        let params = RemoteParams::from_query(&self.params)?;
        let transport = self.effective_transport();
        let session = !env.is_root && (self.path == "/session" || self.scheme.starts_with("test+"));
        let autostart = session && self.host.is_none() && transport == Transport::Unix && env.autostart_enabled();
        let port = match transport {
            Transport::Unix | Transport::Ext => None,
            Transport::Tls => Some(self.port.unwrap_or(DEFAULT_TLS_PORT)),
            Transport::Tcp => Some(self.port.unwrap_or(DEFAULT_TCP_PORT)),
            Transport::Ssh => self.port,
            Transport::Libssh | Transport::Libssh2 => Some(self.port.unwrap_or(DEFAULT_LIBSSH_PORT)),
        };
        let user = match (&self.user, transport) {
            (None, Transport::Libssh | Transport::Libssh2) => Some("root".to_owned()),
            (u, _) => u.clone(),
        };
        let mut proxy = params.proxy.unwrap_or(if params.socket.is_some() {
            ProxyMode::Netcat
        } else if session {
            ProxyMode::Native
        } else {
            ProxyMode::Auto
        });
        if transport == Transport::Ext && params.command.is_none() {
            return Err(UriError::MissingCommand);
        }
        let socket = match (transport, &params.socket) {
            (Transport::Tls | Transport::Tcp | Transport::Ext, _) => None,
            (_, Some(s)) => Some(UnixSocket::Path(s.clone())),
            (t, None) => Some(self.default_socket(t, params.mode.unwrap_or_default(), session, read_only, env)?),
        };
        if params.netcat.is_some() {
            match proxy {
                ProxyMode::Auto => proxy = ProxyMode::Netcat,
                ProxyMode::Native if transport.is_ssh() => return Err(UriError::NetcatWithNativeProxy),
                _ => {}
            }
        }
        Ok(RemoteTarget {
            transport,
            driver: self.driver.clone(),
            host: self.host.clone().unwrap_or_else(|| "localhost".to_owned()),
            port,
            user,
            name: self.build_name(&params),
            read_only,
            session,
            autostart,
            proxy,
            socket,
            params,
        })
    }

    fn default_socket(
        &self,
        transport: Transport,
        mode: DaemonMode,
        session: bool,
        read_only: bool,
        env: &ClientEnv,
    ) -> Result<UnixSocket, UriError> {
        let path = |prefix: &str| -> Result<String, UriError> {
            if session {
                Ok(format!("{}/{prefix}-sock", env.user_runtime_dir()?))
            } else {
                Ok(format!("{SYSTEM_SOCKET_DIR}/{prefix}-{}", if read_only { "sock-ro" } else { "sock" }))
            }
        };
        let direct = || path(&format!("virt{}d", self.driver));
        Ok(match (mode, transport) {
            (DaemonMode::Auto, Transport::Unix) => UnixSocket::Probe { direct: direct()?, legacy: path("libvirt")? },
            (DaemonMode::Auto | DaemonMode::Legacy, _) => UnixSocket::Path(path("libvirt")?),
            (DaemonMode::Direct, Transport::Unix) => UnixSocket::Path(direct()?),
            (DaemonMode::Direct, t) => return Err(UriError::DirectModeUnsupported(t)),
        })
    }
}

/// Process-environment facts the resolution needs, passed in by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientEnv {
    /// Effective uid is 0.
    pub is_root: bool,
    /// `$XDG_RUNTIME_DIR`.
    pub runtime_dir: Option<String>,
    /// `$XDG_CACHE_HOME`.
    pub cache_home: Option<String>,
    /// The home directory (`$HOME`).
    pub home: Option<String>,
    /// `$LIBVIRT_AUTOSTART`; the value `0` turns session daemon autostart off.
    pub autostart: Option<String>,
}

impl ClientEnv {
    /// The per-user libvirt runtime directory: `$XDG_RUNTIME_DIR/libvirt`, else
    /// `$XDG_CACHE_HOME/libvirt`, else `$HOME/.cache/libvirt`. Empty values count as unset.
    pub fn user_runtime_dir(&self) -> Result<String, UriError> {
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let base = match (set(&self.runtime_dir), set(&self.cache_home), set(&self.home)) {
            (Some(d), _, _) | (None, Some(d), _) => d,
            (None, None, Some(h)) => join(&h, ".cache"),
            (None, None, None) => return Err(UriError::MissingHome("session socket path")),
        };
        Ok(join(&base, "libvirt"))
    }

    pub(super) fn autostart_enabled(&self) -> bool {
        self.autostart.as_deref() != Some("0")
    }
}

fn join(base: &str, leaf: &str) -> String {
    format!("{}/{leaf}", base.trim_end_matches('/'))
}

/// The unix socket to connect to (or, over ssh, for netcat to connect to on the far side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixSocket {
    /// This path: from `socket=`, from an explicit mode, or the legacy socket over ssh.
    Path(String),
    /// `mode=auto` on a local unix connection: the caller must look at the filesystem
    /// ([`UnixSocket::choose`]).
    Probe {
        /// The per-driver daemon socket (e.g. `virtqemud-sock`).
        direct: String,
        /// The `libvirt-sock` of libvirtd / virtproxyd.
        legacy: String,
    },
}

impl UnixSocket {
    /// Picks the path as libvirt's auto mode does: `direct` if it exists, else `legacy` if it
    /// exists, else the build default (`direct_by_default` is true when the packaging autostarts
    /// modular daemons).
    pub fn choose(&self, exists: impl Fn(&str) -> bool, direct_by_default: bool) -> &str {
        match self {
            Self::Path(p) => p,
            Self::Probe { direct, .. } if exists(direct) => direct,
            Self::Probe { legacy, .. } if exists(legacy) => legacy,
            Self::Probe { direct, .. } if direct_by_default => direct,
            Self::Probe { legacy, .. } => legacy,
        }
    }
}

/// What the remote driver does with a URI: everything an adapter needs to connect and to send
/// `CONNECT_OPEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTarget {
    /// The transport.
    pub transport: Transport,
    /// The driver part of the scheme.
    pub driver: String,
    /// Host to connect to; `localhost` when the URI has none.
    pub host: String,
    /// TCP / SSH port: the URI's, else 16514 (tls), 16509 (tcp) or 22 (libssh / libssh2).
    /// For `ssh` it is only set when the URI gives one; `None` for unix and ext.
    pub port: Option<u16>,
    /// User name (libssh / libssh2 default to `root`).
    pub user: Option<String>,
    /// The `name` argument of `CONNECT_OPEN`.
    pub name: String,
    /// The connection was opened read-only.
    pub read_only: bool,
    /// The per-user (session) daemon is wanted: non-root with a `/session` path or any `test+…`
    /// scheme.
    pub session: bool,
    /// A local session daemon may be autostarted.
    pub autostart: bool,
    /// Effective proxy for the SSH transports (`socket=` or `netcat=` force netcat, session URIs
    /// default to native).
    pub proxy: ProxyMode,
    /// For unix and the SSH transports: the socket.
    pub socket: Option<UnixSocket>,
    /// The typed query parameters.
    pub params: RemoteParams,
}

impl RemoteTarget {
    /// The target when no URI is given at all (server-side probing): unix transport, empty
    /// `name` (the client then asks for `CONNECT_GET_URI`), and a session daemon for non-root.
    pub fn for_probe(env: &ClientEnv, read_only: bool) -> Result<Self, UriError> {
        let session = !env.is_root;
        let socket = if session {
            format!("{}/libvirt-sock", env.user_runtime_dir()?)
        } else {
            format!("{SYSTEM_SOCKET_DIR}/libvirt-{}", if read_only { "sock-ro" } else { "sock" })
        };
        Ok(Self {
            transport: Transport::Unix,
            driver: String::new(),
            host: "localhost".to_owned(),
            port: None,
            user: None,
            name: String::new(),
            read_only,
            session,
            autostart: session && env.autostart_enabled(),
            proxy: if session { ProxyMode::Native } else { ProxyMode::Auto },
            socket: Some(UnixSocket::Path(socket)),
            params: RemoteParams::default(),
        })
    }

    /// The `flags` argument of `CONNECT_OPEN`. It is the read-only bit plus the remote driver's
    /// internal user and autostart bits, which leak onto the wire.
    #[must_use]
    pub fn connect_open_flags(&self) -> u32 {
        let bit = |on: bool, b: u32| if on { b } else { 0 };
        bit(self.read_only, OPEN_FLAG_READ_ONLY)
            | bit(self.session, OPEN_FLAG_USER)
            | bit(self.autostart, OPEN_FLAG_AUTOSTART)
    }

    /// Whether libvirt counts the connection as secure. Every transport does except `tcp` and
    /// `ext`.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        !matches!(self.transport, Transport::Tcp | Transport::Ext)
    }
}
