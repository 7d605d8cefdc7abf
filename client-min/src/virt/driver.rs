//! libvirt's driver table behind `virConnectOpen`: each driver in turn is asked whether it takes
//! the URI; local drivers come first, the remote driver last and takes everything.
//!
//! Here the local driver is the in-process `test:///` driver (daemon-min's in-memory
//! hypervisor, served inside this process over a socket pair, as libvirt's client library runs
//! `test:///` without a daemon); the remote driver reaches a daemon over any transport the
//! blocking adapter has (unix, tcp, tls, ssh, ext). Every driver hands back an
//! [`adapter_blocking::Client`], so the API does not care which one answered.

use std::path::Path;

use adapter_blocking::{Client, ConnectOptions, Error as AdapterError};
use proto_core::programs::remote::ConnectGetUri;
use proto_core::uri::{LibvirtUri, RemoteTarget, Transport, UnixSocket};

use crate::error::{Error, ErrorDomain, ErrorNumber};

/// What a driver hands back.
pub(crate) struct Opened {
    pub(crate) client: Client,
    /// The URI `virConnectGetURI` reports.
    pub(crate) uri: String,
    /// The transport encrypts (TLS): `virConnectIsEncrypted`.
    pub(crate) encrypted: bool,
    /// The transport is secure (the remote driver's `is_secure`: TLS, UNIX, ssh; not TCP or
    /// ext): `virConnectIsSecure`.
    pub(crate) secure: bool,
}

/// A driver's open: `None` when it does not take the URI.
type DriverOpen = fn(Option<&str>, &ConnectOptions) -> Option<Result<Opened, Error>>;

/// The driver table, in `virConnectOpen`'s order.
const DRIVERS: &[(&str, DriverOpen)] = &[("test", open_local), ("remote", open_remote)];

/// `virConnectOpenInternal`: the URI given, else `LIBVIRT_DEFAULT_URI`, else none (the remote
/// driver then lets the daemon choose); the first driver that takes it opens it.
pub(crate) fn open(uri: Option<&str>, options: &ConnectOptions) -> Result<Opened, Error> {
    let env_default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let uri = proto_core::uri::select_uri(uri, env_default.as_deref());
    DRIVERS
        .iter()
        .find_map(|(_, open)| open(uri, options))
        .unwrap_or_else(|| Err(Error::new(ErrorNumber::NoConnect, ErrorDomain::None, "no connection driver available")))
}

/// The in-process `test:///` driver (`test:///default`, `test:///PATH`).
fn open_local(uri: Option<&str>, options: &ConnectOptions) -> Option<Result<Opened, Error>> {
    let uri = uri.filter(|u| daemon_min::embedded::is_local_test_uri(u))?;
    let path = uri.trim_start_matches("test://");
    if path != "/default" && std::fs::File::open(path).is_err() {
        // The test driver reads the file with libxml2, which complains on standard error.
        eprintln!("I/O warning : failed to load external entity \"{path}\"");
    }
    Some(daemon_min::embedded::open(uri, options.read_only, options).map_err(Error::from).map(|client| Opened {
        client,
        uri: shown_uri(uri),
        encrypted: false,
        secure: true,
    }))
}

/// The remote driver: any URI, through a daemon.
#[allow(clippy::unnecessary_wraps)]
fn open_remote(uri: Option<&str>, options: &ConnectOptions) -> Option<Result<Opened, Error>> {
    Some(remote(uri, options))
}

fn remote(uri: Option<&str>, options: &ConnectOptions) -> Result<Opened, Error> {
    let env = adapter_blocking::transport::client_env();
    let target = match uri {
        Some(u) => LibvirtUri::parse(u).and_then(|p| p.resolve(&env, options.read_only)),
        None => RemoteTarget::for_probe(&env, options.read_only),
    }
    .map_err(|e| Error::new(ErrorNumber::InvalidArg, ErrorDomain::Remote, e.to_string()))?;
    let client = Client::connect_target(&target, options).map_err(|e| connect_error(&target, e))?;
    let uri = match uri {
        Some(u) => shown_uri(u),
        // Opened without a URI: the remote driver asks the daemon which one it picked.
        None => client.call::<ConnectGetUri>(&()).map_err(Error::from)?.uri.to_string(),
    };
    let secure = !matches!(target.transport, Transport::Tcp | Transport::Ext);
    Ok(Opened { client, uri, encrypted: target.transport == Transport::Tls, secure })
}

/// `virURIFormat` (libxml2's `xmlSaveUri`): how `virConnectGetURI` prints the URI the
/// connection was opened with; the path and fragment are re-escaped, the query kept raw.
pub(crate) fn format_uri(u: &LibvirtUri) -> String {
    let unreserved = |c: u8| c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c);
    let escape = |out: &mut String, s: &str, keep: &dyn Fn(u8) -> bool| {
        for &c in s.as_bytes() {
            if keep(c) {
                out.push(char::from(c));
            } else {
                out.push_str(&format!("%{c:02X}"));
            }
        }
    };
    let mut out = format!("{}:", u.scheme);
    let port = u.port.unwrap_or(0);
    if u.host.is_some() || port == 0 {
        out.push_str("//");
        if let Some(user) = &u.user {
            escape(&mut out, user, &|c| unreserved(c) || b";:&=+$,".contains(&c));
            out.push('@');
        }
        if let Some(h) = &u.host {
            if h.contains(':') {
                out.push_str(&format!("[{h}]"));
            } else {
                out.push_str(h);
            }
            if port > 0 {
                out.push_str(&format!(":{port}"));
            }
        }
    }
    escape(&mut out, &u.path, &|c| unreserved(c) || b"/;@&=+$,".contains(&c));
    if let Some(q) = &u.query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = &u.fragment {
        out.push('#');
        escape(&mut out, f, &|c| unreserved(c) || b";/?:@&=+$,[]".contains(&c));
    }
    out
}

/// The URI `virConnectGetURI` reports for a connection opened with `given`.
pub(crate) fn shown_uri(given: &str) -> String {
    LibvirtUri::parse(given).map_or_else(|_| given.to_owned(), |u| format_uri(&u))
}

/// `strerror`'s text for an I/O error (without Rust's " (os error N)").
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_owned(),
        _ => s,
    }
}

/// libvirt's messages for a transport that could not be opened.
fn connect_error(target: &RemoteTarget, e: AdapterError) -> Error {
    let system = |m: String| Error::new(ErrorNumber::SystemError, ErrorDomain::Rpc, m);
    match e {
        AdapterError::Io { source, .. } => match target.transport {
            Transport::Tcp | Transport::Tls => {
                let port = target.port.map(|p| p.to_string()).unwrap_or_default();
                system(format!("unable to connect to server at '{}:{port}': {}", target.host, strerror(&source)))
            }
            Transport::Unix => {
                let path = match &target.socket {
                    Some(s @ UnixSocket::Probe { .. }) => s.choose(|p| Path::new(p).exists(), false).to_owned(),
                    Some(UnixSocket::Path(p)) => p.clone(),
                    None => String::new(),
                };
                system(format!("Failed to connect socket to '{path}': {}", strerror(&source)))
            }
            _ => system(format!("Cannot run command: {}", strerror(&source))),
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_print_as_libvirt_prints_them() {
        for (given, shown) in [
            ("test:///default", "test:///default"),
            ("test+tcp://127.0.0.1:16509/default", "test+tcp://127.0.0.1:16509/default"),
            ("test+tcp://127.0.0.1:17391/%64efault", "test+tcp://127.0.0.1:17391/default"),
            ("test+tcp://[::1]:1/default", "test+tcp://[::1]:1/default"),
            ("test+tcp://u%40x@h/default?a=%20b&c#fr%20ag", "test+tcp://u%40x@h/default?a=%20b&c#fr%20ag"),
            ("test:///tmp/a:b%20c", "test:///tmp/a%3Ab%20c"),
            ("qemu+ssh://root@host:22/system", "qemu+ssh://root@host:22/system"),
        ] {
            assert_eq!(shown_uri(given), shown, "{given}");
        }
    }
}
