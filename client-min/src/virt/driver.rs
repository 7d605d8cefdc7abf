//! libvirt's driver table behind `virConnectOpen`: each driver in turn is asked whether it takes
//! the URI; local drivers come first, the remote driver last and takes everything.
//!
//! Here the local driver is the in-process `test:///` driver (daemon-min's in-memory
//! hypervisor, served inside this process over a socket pair, as libvirt's client library runs
//! `test:///` without a daemon; `test:///default`'s state is shared by the connections open to
//! it, as libvirt's is); the remote driver reaches a daemon over any transport the
//! blocking adapter has (unix, tcp, tls, ssh, ext). Every driver hands back an
//! [`adapter_blocking::Client`], so the API does not care which one answered.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use adapter_blocking::server::{Server, Shutdown};
use adapter_blocking::transport::Channel;
use daemon_min::dispatch::Daemon;
use daemon_min::hypervisor::host;
use daemon_min::serve::{served_programs, DaemonHandler};
use proto_core::server::ServerConfig;

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
    /// Over a UNIX socket (or in process): a peer's close reads as end of file there, not as
    /// an I/O error (the close callback's reason).
    pub(crate) unix: bool,
    /// For `test:///default`: holds the shared state while this connection is open.
    pub(crate) local: Option<Arc<LocalDefault>>,
}

/// The state of the in-process `test:///default`, alive while a connection to it is open.
#[derive(Debug)]
pub(crate) struct LocalDefault(Arc<Daemon>);

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
    Some(local_channel(uri).and_then(|(ours, stop, local)| {
        let flags = u32::from(options.read_only);
        Client::connect_channel(Channel::Unix(ours), Some(uri.to_owned()), flags, options)
            .map_err(|e| {
                stop.shutdown();
                Error::from(e)
            })
            .map(|client| Opened { client, uri: shown_uri(uri), encrypted: false, secure: true, unix: true, local })
    }))
}

/// daemon-min's daemon behind a local test URI. As in libvirt's test driver, every open of
/// `test:///default` shares one state while any connection to it stays open (then it starts
/// afresh); each `test:///PATH` open reads its file into a state of its own.
/// The registry holds the default state weakly through the connections' handles (not the
/// serving threads'), so that it ends as soon as the last connection is closed.
fn local_daemon(uri: &str) -> (Arc<Daemon>, Option<Arc<LocalDefault>>) {
    static DEFAULT: Mutex<Weak<LocalDefault>> = Mutex::new(Weak::new());
    let make = || {
        let hostname = host::system_hostname();
        Arc::new(Daemon::new(hostname))
    };
    let path = uri.trim_start_matches("test://").split('?').next().unwrap_or_default();
    if path != "/default" {
        return (make(), None);
    }
    let mut shared = DEFAULT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(d) = shared.upgrade() {
        return (d.0.clone(), Some(d));
    }
    let d = Arc::new(LocalDefault(make()));
    *shared = Arc::downgrade(&d);
    (d.0.clone(), Some(d))
}

/// Serves a local test URI's daemon on one end of a socket pair, from a thread that ends with
/// the connection; answers the other end (for the blocking or the async client) and the
/// server's stop handle.
pub(crate) fn local_channel(uri: &str) -> Result<(UnixStream, Shutdown, Option<Arc<LocalDefault>>), Error> {
    let path = uri.trim_start_matches("test://");
    if path != "/default" && std::fs::File::open(path).is_err() {
        // The test driver reads the file with libxml2, which complains on standard error.
        eprintln!("I/O warning : failed to load external entity \"{path}\"");
    }
    let io = |e: std::io::Error| Error::new(ErrorNumber::SystemError, ErrorDomain::Rpc, e.to_string());
    let (ours, theirs) = UnixStream::pair().map_err(io)?;
    let (daemon, local) = local_daemon(uri);
    let handler = Arc::new(DaemonHandler::new(daemon));
    let mut server = Server::new(Vec::new(), 1, handler).map_err(io)?;
    let config = ServerConfig::default().with_programs(served_programs()).with_keepalive(None);
    server.adopt(theirs, config).map_err(io)?;
    let stop = server.shutdown_handle();
    std::thread::Builder::new()
        .name("test-driver".into())
        .spawn(move || {
            let _ = server.run();
        })
        .map_err(io)?;
    Ok((ours, stop, local))
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
    let (encrypted, unix) = (target.transport == Transport::Tls, target.transport == Transport::Unix);
    Ok(Opened { client, uri, encrypted, secure, unix, local: None })
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
pub(crate) fn strerror(e: &std::io::Error) -> String {
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
