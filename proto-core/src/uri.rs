//! libvirt connection URIs (`protocol-facts.md` §9 and §7.1, libvirt's `docs/uri.rst`).
//!
//! Pure parsing and resolution, no I/O. Everything the real remote driver takes from the process
//! environment (uid, `XDG_RUNTIME_DIR`, `HOME`, `LIBVIRT_AUTOSTART`) comes in through
//! [`ClientEnv`], and the checks for whether a file exists are closures the caller supplies.
//!
//! - [`LibvirtUri::parse`] splits `driver[+transport]://[user@][host][:port]/[path][?query]`.
//! - [`LibvirtUri::resolve`] returns a [`RemoteTarget`]. It holds the transport, host, port,
//!   unix socket, the typed remote parameters ([`RemoteParams`]), the `name` that `CONNECT_OPEN`
//!   carries and its flags, the ssh / ext command lines, and the TLS PKI file locations.
//! - [`select_uri`] gives the `LIBVIRT_DEFAULT_URI` precedence.
//!
//! Not covered: `uri_aliases` and the `libvirt.conf` settings `uri_default`, `remote_mode`,
//! `remote_proxy` and `tls_priority`. Callers apply those before or after this module.

use std::fmt::{self, Write as _};
use std::str::FromStr;

/// Default port of the `tcp` transport.
pub const DEFAULT_TCP_PORT: u16 = 16509;
/// Default port of the `tls` transport.
pub const DEFAULT_TLS_PORT: u16 = 16514;
/// Port the in-process `libssh` / `libssh2` transports use when the URI names none.
pub const DEFAULT_LIBSSH_PORT: u16 = 22;
/// `sshauth` methods libssh / libssh2 try when the parameter is absent (and a key was found).
pub const DEFAULT_SSH_AUTH: &str = "agent,privkey,password,keyboard-interactive";
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

/// Why a URI could not be parsed or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The URI string is empty.
    #[error("empty URI")]
    Empty,
    /// There is no `scheme:` prefix.
    #[error("URI '{0}' does not include a driver name")]
    MissingScheme(String),
    /// The `+transport` suffix of the scheme is not one libvirt knows.
    #[error("unknown transport '{0}' in URI (expected tls, unix, ssh, ext, tcp, libssh2 or libssh)")]
    UnknownTransport(String),
    /// `+unix` given together with a host.
    #[error("the unix transport cannot be used with a remote host '{0}'")]
    UnixWithHost(String),
    /// The `:port` is empty, not a decimal number, or above 65535.
    #[error("invalid port '{0}' in URI")]
    InvalidPort(String),
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding in the URI {0}")]
    BadPercentEncoding(&'static str),
    /// A character that may not appear (unescaped) in that part of a URI.
    #[error("invalid character {ch:?} in the URI {component}")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Which part of the URI (`host`, `path`, `query`, …).
        component: &'static str,
    },
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("the URI {0} does not decode to valid UTF-8")]
    InvalidUtf8(&'static str),
    /// `qemu://system` and the like: a missing third slash.
    #[error("invalid URI {uri} (maybe you want {scheme}:///{host})")]
    MissingSlash {
        /// The URI as given.
        uri: String,
        /// Its scheme.
        scheme: String,
        /// The `system` / `session` that was parsed as a host.
        host: String,
    },
    /// A boolean parameter (`no_verify`, `no_tty`, `no_sanity`) whose value is not an integer.
    #[error("cannot parse value '{value}' of URI parameter '{name}' as an integer")]
    InvalidBool {
        /// Parameter name as written.
        name: String,
        /// Its value.
        value: String,
    },
    /// `mode=` other than `auto`, `legacy`, `direct`.
    #[error("unknown remote mode '{0}' (expected auto, legacy or direct)")]
    UnknownMode(String),
    /// `proxy=` other than `auto`, `netcat`, `native`.
    #[error("unknown proxy type '{0}' (expected auto, netcat or native)")]
    UnknownProxy(String),
    /// The `ext` transport without `command=`.
    #[error("the 'ext' transport requires the 'command' URI parameter")]
    MissingCommand,
    /// `mode=direct` with a transport other than `unix`.
    #[error("cannot use direct socket mode for the {0} transport")]
    DirectModeUnsupported(Transport),
    /// `netcat=` combined with `proxy=native` on an ssh transport.
    #[error("the 'netcat' parameter is not valid with the native proxy")]
    NetcatWithNativeProxy,
    /// The session socket path was needed, but neither `XDG_RUNTIME_DIR`, `XDG_CACHE_HOME` nor
    /// `HOME` was given.
    #[error("no home directory known; it is needed for the {0}")]
    MissingHome(&'static str),
}

/// How the remote driver reaches the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP with TLS (the default when the URI has a host).
    Tls,
    /// Local unix socket (the default when the URI has no host).
    Unix,
    /// The `ssh` binary, speaking RPC over its stdin/stdout.
    Ssh,
    /// In-process SSH with libssh2.
    Libssh2,
    /// An external command given by `command=`.
    Ext,
    /// Plain TCP.
    Tcp,
    /// In-process SSH with libssh.
    Libssh,
}

impl Transport {
    /// The URI keyword (`tls`, `unix`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Unix => "unix",
            Self::Ssh => "ssh",
            Self::Libssh2 => "libssh2",
            Self::Ext => "ext",
            Self::Tcp => "tcp",
            Self::Libssh => "libssh",
        }
    }

    /// True for the transports that tunnel to a remote unix socket over SSH.
    #[must_use]
    pub const fn is_ssh(self) -> bool {
        matches!(self, Self::Ssh | Self::Libssh | Self::Libssh2)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = UriError;

    /// Case-insensitive, as in libvirt.
    fn from_str(s: &str) -> Result<Self, UriError> {
        [Self::Tls, Self::Unix, Self::Ssh, Self::Libssh2, Self::Ext, Self::Tcp, Self::Libssh]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UriError::UnknownTransport(s.to_owned()))
    }
}

/// `mode=`: which daemon's socket to use (libvirtd vs. the per-driver `virt<drv>d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DaemonMode {
    /// Local unix: probe the per-driver socket, then `libvirt-sock`. Other transports: legacy.
    #[default]
    Auto,
    /// Always `libvirt-sock` (monolithic libvirtd or virtproxyd).
    Legacy,
    /// Always the per-driver daemon socket (`virtqemud-sock`, …). Only for unix.
    Direct,
}

impl FromStr for DaemonMode {
    type Err = UriError;

    /// Exact (case-sensitive) match, as in libvirt.
    fn from_str(s: &str) -> Result<Self, UriError> {
        match s {
            "auto" => Ok(Self::Auto),
            "legacy" => Ok(Self::Legacy),
            "direct" => Ok(Self::Direct),
            _ => Err(UriError::UnknownMode(s.to_owned())),
        }
    }
}

/// `proxy=`: what runs on the far side of an SSH tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProxyMode {
    /// `virt-ssh-helper` if it is on the remote PATH, else netcat.
    #[default]
    Auto,
    /// Only netcat (`nc -U socket`).
    Netcat,
    /// Only `virt-ssh-helper`.
    Native,
}

impl FromStr for ProxyMode {
    type Err = UriError;

    /// Exact (case-sensitive) match, as in libvirt.
    fn from_str(s: &str) -> Result<Self, UriError> {
        match s {
            "auto" => Ok(Self::Auto),
            "netcat" => Ok(Self::Netcat),
            "native" => Ok(Self::Native),
            _ => Err(UriError::UnknownProxy(s.to_owned())),
        }
    }
}

/// One `name=value` of the query string, percent-decoded. `name` alone gives an empty value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    /// Decoded name.
    pub name: String,
    /// Decoded value.
    pub value: String,
}

/// A parsed libvirt connection URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtUri {
    /// The whole scheme as written, e.g. `qemu+ssh`.
    pub scheme: String,
    /// The driver part of the scheme, e.g. `qemu`.
    pub driver: String,
    /// The explicit `+transport`, if any.
    pub transport: Option<Transport>,
    /// Decoded user name.
    pub user: Option<String>,
    /// Decoded host, without IPv6 brackets; `None` when absent or empty.
    pub host: Option<String>,
    /// Port; `None` when absent, `0`, or given without a host (libvirt ignores those).
    pub port: Option<u16>,
    /// Decoded path, `""` when there is none.
    pub path: String,
    /// The raw query string (without `?`).
    pub query: Option<String>,
    /// The query parameters in order.
    pub params: Vec<QueryParam>,
    /// Decoded fragment.
    pub fragment: Option<String>,
}

impl FromStr for LibvirtUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, UriError> {
        Self::parse(s)
    }
}

impl LibvirtUri {
    /// Parses a URI. As `virConnectOpen` does, it takes `xen` (any case) and `xen://` to mean
    /// `xen:///system`. It rejects `qemu://system`-style URIs (missing slash), unknown
    /// transports, and `+unix` with a host.
    ///
    /// The URI must follow RFC 3986's character rules, except that non-ASCII characters are
    /// allowed. Query parameters are split as libvirt splits them: on `&`, or on `;` when no
    /// `&` remains. A `=value` with no name is dropped.
    pub fn parse(input: &str) -> Result<Self, UriError> {
        let input = if input.eq_ignore_ascii_case("xen") || input == "xen://" { "xen:///system" } else { input };
        if input.is_empty() {
            return Err(UriError::Empty);
        }
        let (scheme, rest) = match input.split_once(':') {
            Some((s, r)) if is_scheme(s) => (s, r),
            _ => return Err(UriError::MissingScheme(input.to_owned())),
        };
        let (rest, fragment) = split_opt(rest, '#');
        let (rest, query) = split_opt(rest, '?');
        let (authority, raw_path) = match rest.strip_prefix("//") {
            Some(r) => {
                let slash = r.find('/').unwrap_or(r.len());
                (Some(&r[..slash]), &r[slash..])
            }
            None => (None, rest),
        };
        let (user, host, port) = match authority {
            Some(a) => parse_authority(a)?,
            None => (None, None, None),
        };
        check_chars(raw_path, "path", b":@/")?;
        let path = decode(raw_path, "path")?;
        let params = match query {
            Some(q) => {
                check_chars(q, "query", b":@/?")?;
                parse_query(q)?
            }
            None => Vec::new(),
        };
        let fragment = match fragment {
            Some(f) => {
                check_chars(f, "fragment", b":@/?")?;
                Some(decode(f, "fragment")?)
            }
            None => None,
        };
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d, Some(t.parse::<Transport>()?)),
            None => (scheme, None),
        };
        if let (Some(Transport::Unix), Some(h)) = (transport, &host) {
            return Err(UriError::UnixWithHost(h.clone()));
        }
        if let Some(h) = host.as_deref().filter(|h| matches!(*h, "system" | "session")) {
            if matches!(scheme, "qemu" | "vbox" | "vz") {
                let (uri, scheme, host) = (input.to_owned(), scheme.to_owned(), h.to_owned());
                return Err(UriError::MissingSlash { uri, scheme, host });
            }
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            driver: driver.to_owned(),
            transport,
            user,
            host,
            port,
            path,
            query: query.map(str::to_owned),
            params,
            fragment,
        })
    }

    /// The transport the remote driver uses: the explicit one, else `tls` with a host and
    /// `unix` without one.
    #[must_use]
    pub fn effective_transport(&self) -> Transport {
        match (self.transport, &self.host) {
            (Some(t), _) => t,
            (None, Some(_)) => Transport::Tls,
            (None, None) => Transport::Unix,
        }
    }

    /// True when libvirt would treat the URI as remote, i.e. it has a host or a transport.
    /// (This crate always goes through the daemon, so [`Self::resolve`] works on local URIs
    /// as well.)
    #[must_use]
    pub fn is_remote(&self) -> bool {
        self.host.is_some() || self.transport.is_some()
    }

    /// The first query parameter with exactly this name.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    /// The `name` sent in `CONNECT_OPEN`. It is `name=` if given; `""` for the `remote` driver,
    /// which lets the server probe; otherwise `driver://` followed by the path, the query
    /// parameters the remote driver does not know, and the fragment.
    pub fn connect_open_name(&self) -> Result<String, UriError> {
        Ok(self.build_name(&RemoteParams::from_query(&self.params)?))
    }

    fn build_name(&self, params: &RemoteParams) -> String {
        if let Some(n) = &params.name {
            return n.clone();
        }
        if self.driver == "remote" {
            return String::new();
        }
        let mut out = format!("{}://", self.driver);
        encode_into(&mut out, &self.path, |c| is_mark_unreserved(c) || b"/;@&=+$,".contains(&c));
        for (i, p) in params.passthrough.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(&p.name);
            out.push('=');
            encode_into(&mut out, &p.value, |c| c.is_ascii_alphanumeric() || b"-._~".contains(&c));
        }
        if let Some(f) = &self.fragment {
            out.push('#');
            encode_into(&mut out, f, |c| is_mark_unreserved(c) || b";/?:@&=+$,[]".contains(&c));
        }
        out
    }

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

/// The query parameters the remote driver uses, typed. Parameter names match
/// case-insensitively, and the last occurrence wins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteParams {
    /// `name`: the URI to send in `CONNECT_OPEN` instead of the derived one.
    pub name: Option<String>,
    /// `command`: the ssh binary, or the `ext` command.
    pub command: Option<String>,
    /// `socket`: an explicit unix socket path (forces the netcat proxy).
    pub socket: Option<String>,
    /// `auth`: `sasl`, `sasl.<mech>` or `polkit`.
    pub auth: Option<String>,
    /// `sshauth`: libssh / libssh2 auth methods (default [`DEFAULT_SSH_AUTH`]).
    pub sshauth: Option<String>,
    /// `netcat`: the netcat binary on the remote side.
    pub netcat: Option<String>,
    /// `keyfile`: the ssh private key.
    pub keyfile: Option<String>,
    /// `pkipath`: directory holding the TLS files.
    pub pkipath: Option<String>,
    /// `known_hosts`: libssh / libssh2 known-hosts file.
    pub known_hosts: Option<String>,
    /// `known_hosts_verify`: `normal` (default), `auto` or `ignore`; the SSH layer checks it.
    pub known_hosts_verify: Option<String>,
    /// `tls_priority`: GnuTLS priority string.
    pub tls_priority: Option<String>,
    /// `mode`.
    pub mode: Option<DaemonMode>,
    /// `proxy`.
    pub proxy: Option<ProxyMode>,
    /// `no_sanity`: skip the certificate sanity checks.
    pub no_sanity: bool,
    /// `no_verify`: TLS skips checking the server cert, ssh sets `StrictHostKeyChecking=no`.
    pub no_verify: bool,
    /// `no_tty`: ssh `BatchMode=yes`.
    pub no_tty: bool,
    /// `authfile`: used by client-side auth; stripped from `name`.
    pub authfile: Option<String>,
    /// Every other parameter, in order; these are kept in `name`.
    pub passthrough: Vec<QueryParam>,
}

impl RemoteParams {
    /// Sorts query parameters into the known ones and the rest. An integer that does not parse
    /// in a boolean parameter, or an unknown `mode` / `proxy`, is an error.
    pub fn from_query(params: &[QueryParam]) -> Result<Self, UriError> {
        let mut out = Self::default();
        let (mut mode, mut proxy) = (None, None);
        for p in params {
            let value = Some(p.value.clone());
            match p.name.to_ascii_lowercase().as_str() {
                "name" => out.name = value,
                "command" => out.command = value,
                "socket" => out.socket = value,
                "auth" => out.auth = value,
                "sshauth" => out.sshauth = value,
                "netcat" => out.netcat = value,
                "keyfile" => out.keyfile = value,
                "pkipath" => out.pkipath = value,
                "known_hosts" => out.known_hosts = value,
                "known_hosts_verify" => out.known_hosts_verify = value,
                "tls_priority" => out.tls_priority = value,
                "mode" => mode = Some(p.value.as_str()),
                "proxy" => proxy = Some(p.value.as_str()),
                "no_sanity" => out.no_sanity = parse_flag(p)?,
                "no_verify" => out.no_verify = parse_flag(p)?,
                "no_tty" => out.no_tty = parse_flag(p)?,
                "authfile" => out.authfile = value,
                _ => out.passthrough.push(p.clone()),
            }
        }
        out.mode = mode.map(str::parse).transpose()?;
        out.proxy = proxy.map(str::parse).transpose()?;
        Ok(out)
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

    fn autostart_enabled(&self) -> bool {
        self.autostart.as_deref() != Some("0")
    }
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

    /// For the SSH transports: the shell command run on the remote host (`sh -c '…'`), which
    /// starts `virt-ssh-helper` or netcat depending on [`Self::proxy`].
    #[must_use]
    pub fn remote_helper_command(&self) -> Option<String> {
        if !self.transport.is_ssh() {
            return None;
        }
        let socket = match &self.socket {
            Some(UnixSocket::Path(p)) => p.as_str(),
            _ => "",
        };
        let nc = double_shell_escape(self.params.netcat.as_deref().unwrap_or("nc"));
        let nccmd = format!(
            "if '{nc}' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'{nc}' $ARG -U {socket}"
        );
        let ro = if self.read_only { " -r " } else { " " };
        let helper = format!("virt-ssh-helper{ro}'{}'", double_shell_escape(&self.name));
        Some(match self.proxy {
            ProxyMode::Auto => format!(
                "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     {helper}; else    {nccmd}; fi'"
            ),
            ProxyMode::Netcat => format!("sh -c '{nccmd}'"),
            ProxyMode::Native => format!("sh -c '{helper}'"),
        })
    }

    /// For the `ssh` transport, the argv libvirt spawns:
    /// `ssh [-p PORT] [-l USER] [-i KEYFILE] -T -e none [-o BatchMode=yes]
    /// [-o StrictHostKeyChecking=no] -- HOST '<remote command>'`. `command=` replaces `ssh`.
    #[must_use]
    pub fn ssh_argv(&self) -> Option<Vec<String>> {
        if self.transport != Transport::Ssh {
            return None;
        }
        let mut argv = vec![self.params.command.clone().unwrap_or_else(|| "ssh".to_owned())];
        let mut opt = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                argv.extend([flag.to_owned(), v]);
            }
        };
        opt("-p", self.port.map(|p| p.to_string()));
        opt("-l", self.user.clone());
        opt("-i", self.params.keyfile.clone());
        argv.extend(["-T", "-e", "none"].map(str::to_owned));
        if self.params.no_tty {
            argv.extend(["-o", "BatchMode=yes"].map(str::to_owned));
        }
        if self.params.no_verify {
            argv.extend(["-o", "StrictHostKeyChecking=no"].map(str::to_owned));
        }
        argv.extend(["--".to_owned(), self.host.clone()]);
        argv.extend(self.remote_helper_command());
        Some(argv)
    }

    /// For the `ext` transport, the argv: just the `command=` value, not split on spaces.
    #[must_use]
    pub fn ext_argv(&self) -> Option<Vec<String>> {
        match self.transport {
            Transport::Ext => self.params.command.clone().map(|c| vec![c]),
            _ => None,
        }
    }

    /// The client's TLS files, taking `pkipath=` into account ([`TlsPkiPaths::locate_client`]).
    pub fn tls_pki_paths(&self, env: &ClientEnv, exists: impl Fn(&str) -> bool) -> TlsPkiPaths {
        TlsPkiPaths::locate_client(self.params.pkipath.as_deref(), env, exists)
    }
}

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

/// Which URI to open. A non-empty `explicit` URI comes first, then a non-empty
/// `LIBVIRT_DEFAULT_URI` (`env_default`). `None` means the caller should try the `uri_default`
/// config setting and then probing ([`RemoteTarget::for_probe`]).
#[must_use]
pub fn select_uri<'a>(explicit: Option<&'a str>, env_default: Option<&'a str>) -> Option<&'a str> {
    explicit.filter(|s| !s.is_empty()).or(env_default.filter(|s| !s.is_empty()))
}

// ---- helpers -------------------------------------------------------------------------------

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic()) && b.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
}

fn split_opt(s: &str, sep: char) -> (&str, Option<&str>) {
    match s.split_once(sep) {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

fn join(base: &str, leaf: &str) -> String {
    format!("{}/{leaf}", base.trim_end_matches('/'))
}

type Authority = (Option<String>, Option<String>, Option<u16>);

fn parse_authority(a: &str) -> Result<Authority, UriError> {
    let (user, hostport) = match a.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, a),
    };
    let user = match user {
        Some(u) => {
            check_chars(u, "user", b":")?;
            Some(decode(u, "user")?).filter(|u| !u.is_empty())
        }
        None => None,
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let (lit, after) = r.split_once(']').ok_or(UriError::InvalidCharacter { ch: '[', component: "host" })?;
        check_chars(lit, "host", b":")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None => match after.chars().next() {
                Some(ch) => return Err(UriError::InvalidCharacter { ch, component: "host" }),
                None => None,
            },
        };
        (decode(lit, "host")?, port)
    } else {
        let (h, p) = split_opt(hostport, ':');
        check_chars(h, "host", b"")?;
        (decode(h, "host")?, p)
    };
    let port = port.map(parse_port).transpose()?.flatten();
    Ok(if host.is_empty() { (user, None, None) } else { (user, Some(host), port) })
}

/// Decimal port; `0` means "not given", as in libvirt.
fn parse_port(p: &str) -> Result<Option<u16>, UriError> {
    let bad = || UriError::InvalidPort(p.to_owned());
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u16 = p.parse().map_err(|_| bad())?;
    Ok((n != 0).then_some(n))
}

fn parse_query(q: &str) -> Result<Vec<QueryParam>, UriError> {
    let mut out = Vec::new();
    let mut rest = q;
    while !rest.is_empty() {
        let end = rest.find('&').or_else(|| rest.find(';')).unwrap_or(rest.len());
        let seg = &rest[..end];
        match seg.find('=') {
            _ if seg.is_empty() => {}
            Some(0) => {}
            Some(eq) => {
                out.push(QueryParam { name: decode(&seg[..eq], "query")?, value: decode(&seg[eq + 1..], "query")? })
            }
            None => out.push(QueryParam { name: decode(seg, "query")?, value: String::new() }),
        }
        rest = rest.get(end + 1..).unwrap_or("");
    }
    Ok(out)
}

/// RFC 3986 characters of one component: unreserved, sub-delims, `extra`, `%XX`; any non-ASCII.
fn check_chars(s: &str, component: &'static str, extra: &[u8]) -> Result<(), UriError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)) {
                return Err(UriError::BadPercentEncoding(component));
            }
            i += 3;
            continue;
        }
        if c.is_ascii() && !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) || extra.contains(&c)) {
            return Err(UriError::InvalidCharacter { ch: char::from(c), component });
        }
        i += 1;
    }
    Ok(())
}

fn decode(s: &str, component: &'static str) -> Result<String, UriError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let hex = |c: Option<&u8>| c.and_then(|c| char::from(*c).to_digit(16)).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (Some(hi), Some(lo)) = (hex(b.get(i + 1)), hex(b.get(i + 2))) else {
                return Err(UriError::BadPercentEncoding(component));
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UriError::InvalidUtf8(component))
}

/// libxml2's "unreserved": alphanumerics and `-_.!~*'()`.
fn is_mark_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c)
}

fn encode_into(out: &mut String, s: &str, keep: impl Fn(u8) -> bool) {
    for c in s.bytes() {
        if keep(c) {
            out.push(char::from(c));
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
}

/// Booleans are integers as `strtol` reads them (leading blanks, optional sign); non-zero = yes.
fn parse_flag(p: &QueryParam) -> Result<bool, UriError> {
    p.value
        .trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .parse::<i32>()
        .map(|n| n != 0)
        .map_err(|_| UriError::InvalidBool { name: p.name.clone(), value: p.value.clone() })
}

/// Quotes for `/bin/sh` only when needed (single quotes, `'` as `'\''`).
fn shell_escape(s: &str) -> String {
    if s.is_empty() {
        return "''".to_owned();
    }
    if !s.contains(|c| "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~".contains(c)) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\'");
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The remote sshd runs the command through a shell, which runs `sh -c` again: two levels.
fn double_shell_escape(s: &str) -> String {
    shell_escape(&shell_escape(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user_env() -> ClientEnv {
        ClientEnv {
            is_root: false,
            runtime_dir: Some("/run/user/1000".into()),
            home: Some("/home/u".into()),
            ..ClientEnv::default()
        }
    }

    fn root_env() -> ClientEnv {
        ClientEnv { is_root: true, home: Some("/root".into()), ..ClientEnv::default() }
    }

    fn resolve(uri: &str, env: &ClientEnv) -> RemoteTarget {
        LibvirtUri::parse(uri).and_then(|u| u.resolve(env, false)).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    fn err(uri: &str) -> UriError {
        LibvirtUri::parse(uri).and_then(|u| u.resolve(&user_env(), false)).expect_err(uri)
    }

    fn path(p: &str) -> Option<UnixSocket> {
        Some(UnixSocket::Path(p.into()))
    }

    fn probe(direct: &str, legacy: &str) -> Option<UnixSocket> {
        Some(UnixSocket::Probe { direct: direct.into(), legacy: legacy.into() })
    }

    /// URI, transport, host, port, socket, `CONNECT_OPEN` name.
    type Case = (String, Transport, &'static str, Option<u16>, Option<UnixSocket>, &'static str);

    /// URIs from docs/uri.rst (and the forms listed in the remote driver), resolved as a
    /// non-root user with `XDG_RUNTIME_DIR=/run/user/1000`.
    #[test]
    fn documented_examples() {
        use Transport::*;
        const SYS: &str = "/var/run/libvirt/libvirt-sock";
        let kh = "?known_hosts=/home/user/.ssh/known_hosts";
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("test:///default".into(), Unix, "localhost", None, probe("/var/run/libvirt/virttestd-sock", SYS), "test:///default"),
            ("test:///path/to/host/definitions".into(), Unix, "localhost", None,
             probe("/var/run/libvirt/virttestd-sock", SYS), "test:///path/to/host/definitions"),
            ("qemu:///system".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtqemud-sock", SYS), "qemu:///system"),
            ("qemu:///session".into(), Unix, "localhost", None,
             probe("/run/user/1000/libvirt/virtqemud-sock", "/run/user/1000/libvirt/libvirt-sock"), "qemu:///session"),
            ("xen:///system".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtxend-sock", SYS), "xen:///system"),
            ("xen".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtxend-sock", SYS), "xen:///system"),
            ("xen://".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtxend-sock", SYS), "xen:///system"),
            ("xen+ssh://rjones@towada/system".into(), Ssh, "towada", None, path(SYS), "xen:///system"),
            ("xen://towada/system".into(), Tls, "towada", Some(16514), None, "xen:///system"),
            ("xen://towada/system?no_verify=1".into(), Tls, "towada", Some(16514), None, "xen:///system"),
            ("qemu+unix:///system?socket=/opt/libvirt/run/libvirt/libvirt-sock".into(), Unix, "localhost", None,
             path("/opt/libvirt/run/libvirt/libvirt-sock"), "qemu:///system"),
            ("test+tcp://localhost:5000/default".into(), Tcp, "localhost", Some(5000), None, "test:///default"),
            (format!("qemu+libssh2://user@host/system{kh}"), Libssh2, "host", Some(22), path(SYS), "qemu:///system"),
            (format!("qemu+libssh://user@host/system{kh}"), Libssh, "host", Some(22), path(SYS), "qemu:///system"),
            // protocol-facts §7.1
            ("test+tcp://127.0.0.1:16509/default".into(), Tcp, "127.0.0.1", Some(16509), None, "test:///default"),
            // the "hard answer" list in doRemoteOpen
            ("qemu+tls:///system".into(), Tls, "localhost", Some(16514), None, "qemu:///system"),
            ("qemu+tcp:///system".into(), Tcp, "localhost", Some(16509), None, "qemu:///system"),
            ("qemu+ssh:///system".into(), Ssh, "localhost", None, path(SYS), "qemu:///system"),
            ("qemu+TLS://h/system".into(), Tls, "h", Some(16514), None, "qemu:///system"),
            ("qemu+ext:///system?command=/bin/tunnel".into(), Ext, "localhost", None, None, "qemu:///system"),
            ("qemu+tcp://[::1]:1234/system".into(), Tcp, "::1", Some(1234), None, "qemu:///system"),
            ("qemu://[fe80::1]/system".into(), Tls, "fe80::1", Some(16514), None, "qemu:///system"),
            ("qemu+tcp://h:0/system".into(), Tcp, "h", Some(16509), None, "qemu:///system"),
            ("remote+tcp://h/".into(), Tcp, "h", Some(16509), None, ""),
            ("qemu+ssh://h/system?name=qemu%3A%2F%2F%2Fsession".into(), Ssh, "h", None, path(SYS), "qemu:///session"),
        ];
        for (uri, transport, host, port, socket, name) in cases {
            let t = resolve(&uri, &user_env());
            assert_eq!((t.transport, t.host.as_str(), t.port), (transport, host, port), "{uri}");
            assert_eq!(t.socket, socket, "{uri}");
            assert_eq!(t.name, name, "{uri}");
        }
    }

    #[test]
    fn parsed_parts() {
        let u = LibvirtUri::parse("qemu+SSH://us%65r@host:2222/sys%20tem?a=1&keyfile=/k#frag").unwrap();
        assert_eq!((u.scheme.as_str(), u.driver.as_str(), u.transport), ("qemu+SSH", "qemu", Some(Transport::Ssh)));
        assert_eq!((u.user.as_deref(), u.host.as_deref(), u.port), (Some("user"), Some("host"), Some(2222)));
        assert_eq!((u.path.as_str(), u.query.as_deref()), ("/sys tem", Some("a=1&keyfile=/k")));
        assert_eq!((u.param("a"), u.param("keyfile"), u.fragment.as_deref()), (Some("1"), Some("/k"), Some("frag")));
        assert!(u.is_remote() && !LibvirtUri::parse("qemu:///system").unwrap().is_remote());
        assert_eq!(u.connect_open_name().unwrap(), "qemu:///sys%20tem?a=1#frag");
        assert_eq!("test:/default".parse::<LibvirtUri>().unwrap().connect_open_name().unwrap(), "test:///default");
        assert_eq!(LibvirtUri::parse("test+tcp://:5000/x").unwrap().port, None);
    }

    #[test]
    fn query_params_and_name() {
        let u = "test+tcp://h/default?foo=a%20b%2F&Socket=/s&bar&=dropped&&no_verify=1&x=%C3%A9";
        let t = resolve(u, &user_env());
        assert_eq!(t.name, "test:///default?foo=a%20b%2F&bar=&x=%C3%A9");
        assert_eq!((t.params.socket.as_deref(), t.params.no_verify), (Some("/s"), true));
        // `;` separates only when no `&` is left; the last value of a parameter wins.
        let u = LibvirtUri::parse("test:///d?a=1;b=2&c=3;d=4").unwrap();
        let names: Vec<_> = u.params.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
        assert_eq!(names, [("a", "1;b=2"), ("c", "3"), ("d", "4")]);
        let p = LibvirtUri::parse("qemu+ssh://h/system?keyfile=/a&KEYFILE=/b&authfile=/f").unwrap();
        let t = p.resolve(&user_env(), false).unwrap();
        assert_eq!((t.params.keyfile.as_deref(), t.params.authfile.as_deref()), (Some("/b"), Some("/f")));
        assert_eq!(t.name, "qemu:///system");
        assert_eq!(resolve("test:///a:b;c", &user_env()).name, "test:///a%3Ab;c");
    }

    #[test]
    fn typed_remote_params() {
        let q = "?command=/opt/openssh/bin/ssh&netcat=/opt/netcat/bin/nc&keyfile=/root/.ssh/example_key\
                 &pkipath=/tmp/pki/client&tls_priority=NORMAL:-VERS-SSL3.0&mode=legacy&proxy=netcat\
                 &known_hosts_verify=ignore&sshauth=privkey,agent&auth=sasl.gssapi&no_sanity=%202&no_tty=0";
        let t = resolve(&format!("qemu+ssh://h/system{q}"), &user_env());
        let p = &t.params;
        assert_eq!(p.command.as_deref(), Some("/opt/openssh/bin/ssh"));
        assert_eq!(p.netcat.as_deref(), Some("/opt/netcat/bin/nc"));
        assert_eq!(p.keyfile.as_deref(), Some("/root/.ssh/example_key"));
        assert_eq!(p.pkipath.as_deref(), Some("/tmp/pki/client"));
        assert_eq!(p.tls_priority.as_deref(), Some("NORMAL:-VERS-SSL3.0"));
        assert_eq!((p.mode, p.proxy), (Some(DaemonMode::Legacy), Some(ProxyMode::Netcat)));
        assert_eq!((p.known_hosts_verify.as_deref(), p.sshauth.as_deref()), (Some("ignore"), Some("privkey,agent")));
        assert_eq!((p.auth.as_deref(), p.no_sanity, p.no_tty, p.no_verify), (Some("sasl.gssapi"), true, false, false));
        assert!(p.passthrough.is_empty() && t.name == "qemu:///system");
        assert!(resolve("qemu:///system?no_verify=-1", &user_env()).params.no_verify);
    }

    #[test]
    fn errors() {
        assert_eq!(err("qemu+foo://host/system"), UriError::UnknownTransport("foo".into()));
        assert_eq!(err("qemu+://host/system"), UriError::UnknownTransport(String::new()));
        assert_eq!(err("qemu+unix://host/system"), UriError::UnixWithHost("host".into()));
        assert_eq!(err("qemu+ext:///system"), UriError::MissingCommand);
        assert_eq!(err("qemu+tcp://h:abc/system"), UriError::InvalidPort("abc".into()));
        assert_eq!(err("qemu+tcp://h:65536/system"), UriError::InvalidPort("65536".into()));
        assert_eq!(err("qemu+tcp://h:/system"), UriError::InvalidPort(String::new()));
        assert_eq!(err("test:///default?x=%zz"), UriError::BadPercentEncoding("query"));
        assert_eq!(err("test:///d%4"), UriError::BadPercentEncoding("path"));
        assert_eq!(err("test:///%FF"), UriError::InvalidUtf8("path"));
        assert_eq!(err("test:///a b"), UriError::InvalidCharacter { ch: ' ', component: "path" });
        assert_eq!(err("qemu+tcp://a@b@c/"), UriError::InvalidCharacter { ch: '@', component: "host" });
        assert_eq!(err("qemu+tcp://[::1/"), UriError::InvalidCharacter { ch: '[', component: "host" });
        assert_eq!(err("qemu+tcp://[::1]x/"), UriError::InvalidCharacter { ch: 'x', component: "host" });
        assert_eq!(err(""), UriError::Empty);
        assert_eq!(err("/just/a/path"), UriError::MissingScheme("/just/a/path".into()));
        assert_eq!(err("1qemu:///system"), UriError::MissingScheme("1qemu:///system".into()));
        assert!(matches!(err("qemu://system"), UriError::MissingSlash { ref host, .. } if host == "system"));
        assert!(LibvirtUri::parse("qemu+ssh://system/").is_ok());
        let bad_bool = UriError::InvalidBool { name: "no_tty".into(), value: "yes".into() };
        assert_eq!(err("qemu+ssh://h/system?no_tty=yes"), bad_bool);
        assert!(matches!(err("qemu:///system?no_verify"), UriError::InvalidBool { .. }));
        assert_eq!(err("qemu:///system?mode=Direct"), UriError::UnknownMode("Direct".into()));
        assert_eq!(err("qemu:///system?proxy=ssh"), UriError::UnknownProxy("ssh".into()));
        assert_eq!(err("qemu+ssh://h/system?mode=direct"), UriError::DirectModeUnsupported(Transport::Ssh));
        assert_eq!(err("qemu+ssh://h/system?proxy=native&netcat=nc"), UriError::NetcatWithNativeProxy);
        assert!(resolve("qemu+tcp://h/system?mode=direct&proxy=native&netcat=nc", &user_env()).socket.is_none());
        let no_home = ClientEnv::default();
        let u = LibvirtUri::parse("qemu:///session").unwrap();
        assert_eq!(u.resolve(&no_home, false), Err(UriError::MissingHome("session socket path")));
        assert!(err("qemu+bogus://h/").to_string().contains("unknown transport 'bogus'"));
    }

    #[test]
    fn sockets_modes_and_flags() {
        let (user, root) = (user_env(), root_env());
        let t = resolve("qemu:///system?mode=direct", &root);
        assert_eq!(t.socket, path("/var/run/libvirt/virtqemud-sock"));
        assert_eq!(resolve("qemu:///system?mode=legacy", &root).socket, path("/var/run/libvirt/libvirt-sock"));
        let ro = LibvirtUri::parse("qemu:///system?mode=legacy").unwrap().resolve(&root, true).unwrap();
        assert_eq!((ro.socket.clone(), ro.connect_open_flags()), (path("/var/run/libvirt/libvirt-sock-ro"), 1));
        // Session: no read-only socket; root never uses the session socket.
        let ro = LibvirtUri::parse("qemu:///session?mode=legacy").unwrap().resolve(&user, true).unwrap();
        assert_eq!((ro.socket.clone(), ro.connect_open_flags()), (path("/run/user/1000/libvirt/libvirt-sock"), 7));
        assert_eq!(resolve("qemu:///session?mode=legacy", &root).socket, path("/var/run/libvirt/libvirt-sock"));
        // Without XDG_RUNTIME_DIR: XDG_CACHE_HOME, then ~/.cache.
        let mut env = ClientEnv { runtime_dir: Some(String::new()), ..user.clone() };
        let sock = |env: &ClientEnv| resolve("qemu:///session?mode=legacy", env).socket;
        assert_eq!(sock(&env), path("/home/u/.cache/libvirt/libvirt-sock"));
        env.cache_home = Some("/c/".into());
        assert_eq!(sock(&env), path("/c/libvirt/libvirt-sock"));
        // CONNECT_OPEN flags: test+… URIs are session URIs; autostart only for local unix.
        assert_eq!(resolve("test+tcp://h/default", &user).connect_open_flags(), OPEN_FLAG_USER);
        assert_eq!(resolve("test+tcp://h/default", &root).connect_open_flags(), 0);
        assert_eq!(resolve("test:///default", &user).connect_open_flags(), 0);
        assert_eq!(resolve("qemu:///session", &user).connect_open_flags(), 6);
        let env = ClientEnv { autostart: Some("0".into()), ..user.clone() };
        assert_eq!(resolve("qemu:///session", &env).connect_open_flags(), OPEN_FLAG_USER);
        // Probing `mode=auto`.
        let s = resolve("qemu:///system", &root).socket.unwrap();
        assert_eq!(s.choose(|p| p.ends_with("virtqemud-sock"), false), "/var/run/libvirt/virtqemud-sock");
        assert_eq!(s.choose(|p| p.ends_with("libvirt-sock"), true), "/var/run/libvirt/libvirt-sock");
        assert_eq!(s.choose(|_| false, true), "/var/run/libvirt/virtqemud-sock");
        assert_eq!(s.choose(|_| false, false), "/var/run/libvirt/libvirt-sock");
        // No URI at all.
        let p = RemoteTarget::for_probe(&user, false).unwrap();
        assert_eq!(
            (p.name.as_str(), p.socket.clone(), p.connect_open_flags()),
            ("", path("/run/user/1000/libvirt/libvirt-sock"), 6)
        );
        let p = RemoteTarget::for_probe(&root, true).unwrap();
        assert_eq!((p.socket.clone(), p.connect_open_flags()), (path("/var/run/libvirt/libvirt-sock-ro"), 1));
        assert!(resolve("qemu+tls://h/system", &root).is_secure() && !resolve("qemu+tcp://h/s", &root).is_secure());
    }

    #[test]
    fn ssh_command_line() {
        let t = resolve("qemu+ssh://root@host:2222/system?keyfile=/k&no_tty=1&no_verify=1", &root_env());
        let helper = "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     \
                      virt-ssh-helper 'qemu:///system'; else    \
                      if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;\
                      'nc' $ARG -U /var/run/libvirt/libvirt-sock; fi'";
        let argv = [
            "ssh",
            "-p",
            "2222",
            "-l",
            "root",
            "-i",
            "/k",
            "-T",
            "-e",
            "none",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "--",
            "host",
            helper,
        ];
        assert_eq!(t.ssh_argv().unwrap(), argv);
        assert_eq!(t.proxy, ProxyMode::Auto);

        // Defaults: no port, no user; command= replaces the binary.
        let t = resolve("qemu+ssh://host/system?command=/opt/ssh", &root_env());
        assert_eq!(t.ssh_argv().unwrap()[..6], ["/opt/ssh", "-T", "-e", "none", "--", "host"]);

        // socket= forces netcat; netcat= too, and is double shell-escaped.
        let t = resolve("qemu+ssh://h/system?socket=/s", &root_env());
        let nc = "if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /s";
        assert_eq!((t.proxy, t.remote_helper_command().unwrap()), (ProxyMode::Netcat, format!("sh -c '{nc}'")));
        let t = resolve("qemu+ssh://h/system?netcat=/my%20nc", &root_env());
        assert_eq!(t.proxy, ProxyMode::Netcat);
        assert!(t.remote_helper_command().unwrap().starts_with(r"sh -c 'if '''\''/my nc'\'''' -q 2>&1"));

        // Session URIs default to the native helper; read-only adds -r; odd names get quoted twice.
        let t = LibvirtUri::parse("qemu+ssh://h/session").unwrap().resolve(&user_env(), true).unwrap();
        assert_eq!(t.remote_helper_command().unwrap(), "sh -c 'virt-ssh-helper -r 'qemu:///session''");
        let t = resolve("qemu+ssh://h/system?proxy=native&x=1", &root_env());
        assert_eq!(t.remote_helper_command().unwrap(), r"sh -c 'virt-ssh-helper '''\''qemu:///system?x=1'\'''''");
        // libssh runs the same remote command in-process, with port 22 and user root by default.
        let t = resolve("qemu+libssh://h/system", &root_env());
        assert_eq!((t.port, t.user.as_deref(), t.ssh_argv()), (Some(22), Some("root"), None));
        assert!(t.remote_helper_command().is_some());
        assert_eq!(resolve("qemu+tcp://h/system", &root_env()).remote_helper_command(), None);
    }

    #[test]
    fn ext_command() {
        let t = resolve("qemu+ext:///system?command=/usr/bin/my%20tunnel", &root_env());
        assert_eq!(t.ext_argv().unwrap(), ["/usr/bin/my tunnel"]);
        assert_eq!((t.socket, t.port), (None, None));
        assert_eq!(resolve("qemu+ssh://h/system?command=x", &root_env()).ext_argv(), None);
    }

    #[test]
    fn tls_pki_paths() {
        let sys = TlsPkiPaths::system(false);
        assert_eq!(sys.ca_crl, "/etc/pki/CA/cacrl.pem");
        assert_eq!(
            (sys.cert.as_str(), sys.key.as_str()),
            ("/etc/pki/libvirt/clientcert.pem", "/etc/pki/libvirt/private/clientkey.pem")
        );
        assert_eq!(TlsPkiPaths::system(true).key, "/etc/pki/libvirt/private/serverkey.pem");
        let t = resolve("qemu+tls://h/system?pkipath=/tmp/pki/client", &user_env());
        let p = t.tls_pki_paths(&user_env(), |_| false);
        assert_eq!(p, TlsPkiPaths::in_dir("/tmp/pki/client", false));
        assert_eq!(p.key, "/tmp/pki/client/clientkey.pem");
        let t = resolve("qemu://h/system", &user_env());
        assert_eq!(t.tls_pki_paths(&root_env(), |_| true), sys);
        // Non-root: file by file from ~/.pki/libvirt, cert and key only as a pair.
        let p = t.tls_pki_paths(&user_env(), |f| f.ends_with("cacert.pem") || f.ends_with("clientcert.pem"));
        assert_eq!(p.ca_cert, "/home/u/.pki/libvirt/cacert.pem");
        assert_eq!((p.ca_crl, p.cert, p.key), (sys.ca_crl.clone(), sys.cert.clone(), sys.key.clone()));
        let p = t.tls_pki_paths(&user_env(), |f| f.starts_with("/home"));
        assert_eq!(p, TlsPkiPaths::in_dir("/home/u/.pki/libvirt", false));
    }

    #[test]
    fn default_uri_selection() {
        assert_eq!(select_uri(Some("qemu:///system"), Some("test:///default")), Some("qemu:///system"));
        assert_eq!(select_uri(Some(""), Some("test:///default")), Some("test:///default"));
        assert_eq!(select_uri(None, Some("test:///default")), Some("test:///default"));
        assert_eq!(select_uri(None, Some("")), None);
        assert_eq!(select_uri(None, None), None);
    }

    fn exercise(s: &str, env: &ClientEnv, ro: bool) {
        if let Ok(u) = LibvirtUri::parse(s) {
            let _ = u.connect_open_name();
            if let Ok(t) = u.resolve(env, ro) {
                let _ = (t.ssh_argv(), t.ext_argv(), t.remote_helper_command(), t.connect_open_flags());
                let _ = t.tls_pki_paths(env, |f| f.len() % 2 == 0);
                if let Some(s) = &t.socket {
                    let _ = s.choose(|f| f.len() % 3 == 0, ro);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn random_strings_never_panic(s in any::<String>(), root: bool, ro: bool) {
            exercise(&s, &ClientEnv { is_root: root, ..user_env() }, ro);
        }

        #[test]
        fn uri_like_strings_never_panic(s in "[a-zA-Z0-9+:/@\\[\\]%?&=#;._~ é-]{0,48}", ro: bool) {
            exercise(&s, &user_env(), ro);
            exercise(&s, &ClientEnv::default(), ro);
        }

        /// The derived `name` parses again, with the same driver, path and passed-through params.
        #[test]
        fn name_round_trips(
            driver in "[a-z]{1,6}",
            transport in "(|\\+tcp|\\+tls|\\+ssh|\\+libssh|\\+ext)",
            host in "(|h|[0-9.]{1,7}|\\[::1\\])",
            path in "(/[a-zA-Z0-9:@;=+$,!*'()~%]{0,5}){0,3}",
            values in proptest::collection::vec(any::<String>(), 0..3),
        ) {
            let query: Vec<String> = values.iter().enumerate().map(|(i, v)| {
                let mut enc = String::new();
                encode_into(&mut enc, v, |c| c.is_ascii_alphanumeric());
                format!("x{i}={enc}")
            }).collect();
            let s = format!("{driver}{transport}://{host}{path}?command=c&{}", query.join("&"));
            if let Ok(u) = LibvirtUri::parse(&s) {
                let name = u.resolve(&user_env(), false).unwrap().name;
                let back = LibvirtUri::parse(&name).unwrap();
                prop_assert_eq!((&back.driver, &back.path, back.host.as_deref()), (&u.driver, &u.path, None));
                let vals: Vec<&str> = back.params.iter().map(|p| p.value.as_str()).collect();
                prop_assert_eq!(vals, values.iter().map(String::as_str).collect::<Vec<_>>());
            }
        }
    }
}
