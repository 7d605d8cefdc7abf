//! The query parameters the remote driver understands ([`RemoteParams`]), typed.

use std::str::FromStr;

use super::{QueryParam, UriError};

/// `sshauth` methods libssh / libssh2 try when the parameter is absent (and a key was found).
pub const DEFAULT_SSH_AUTH: &str = "agent,privkey,password,keyboard-interactive";

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

/// Booleans are integers as `strtol` reads them (leading blanks, optional sign); non-zero = yes.
fn parse_flag(p: &QueryParam) -> Result<bool, UriError> {
    p.value
        .trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .parse::<i32>()
        .map(|n| n != 0)
        .map_err(|_| UriError::InvalidBool { name: p.name.clone(), value: p.value.clone() })
}
