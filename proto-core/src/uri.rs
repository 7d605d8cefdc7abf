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

mod command;
mod escape;
mod params;
mod parse;
mod target;
mod tls;

pub use params::{DaemonMode, ProxyMode, RemoteParams, DEFAULT_SSH_AUTH};
pub use parse::{LibvirtUri, QueryParam, Transport};
pub use target::{
    ClientEnv, RemoteTarget, UnixSocket, DEFAULT_LIBSSH_PORT, DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, OPEN_FLAG_AUTOSTART,
    OPEN_FLAG_READ_ONLY, OPEN_FLAG_USER, SYSTEM_SOCKET_DIR,
};
pub use tls::TlsPkiPaths;

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

/// Which URI to open. A non-empty `explicit` URI comes first, then a non-empty
/// `LIBVIRT_DEFAULT_URI` (`env_default`). `None` means the caller should try the `uri_default`
/// config setting and then probing ([`RemoteTarget::for_probe`]).
#[must_use]
pub fn select_uri<'a>(explicit: Option<&'a str>, env_default: Option<&'a str>) -> Option<&'a str> {
    explicit.filter(|s| !s.is_empty()).or(env_default.filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests;
