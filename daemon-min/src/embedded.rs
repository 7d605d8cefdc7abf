//! The in-process driver: `test:///default` and `test:///PATH` served by this process's own
//! hypervisor, as libvirt's client library serves `test:///` without a daemon. The client and
//! the server cores talk over a socket pair inside the process: no daemon, no listening socket.

use std::os::unix::net::UnixStream;
use std::sync::Arc;

use adapter_blocking::server::Server;
use adapter_blocking::transport::Channel;
use adapter_blocking::{Client, ConnectOptions, Error};
use proto_core::server::ServerConfig;

use crate::dispatch::Daemon;
use crate::hypervisor::host;
use crate::serve::{served_programs, DaemonHandler};

/// Whether `uri` names a local test driver (`test:///…`, no host and no transport), which
/// libvirt's client opens in-process rather than through the remote driver.
#[must_use]
pub fn is_local_test_uri(uri: &str) -> bool {
    uri.strip_prefix("test://").is_some_and(|rest| rest.starts_with('/'))
}

/// Opens `uri` (a [`is_local_test_uri`] URI) in-process.
///
/// # Errors
/// When the socket pair or the server thread cannot be created, or the driver refuses the URI
/// (e.g. a missing `test:///PATH` file gives libvirt's XML error).
pub fn open(uri: &str, read_only: bool, options: &ConnectOptions) -> Result<Client, Error> {
    let io = |what: &'static str| move |e| Error::Io { what: what.into(), source: e };
    let (ours, theirs) = UnixStream::pair().map_err(io("cannot create a socket pair"))?;
    let hostname = host::system_hostname();
    let daemon = Arc::new(Daemon::new(hostname));
    let handler = Arc::new(DaemonHandler::new(daemon));
    let mut server = Server::new(Vec::new(), 1, handler).map_err(io("cannot create the in-process server"))?;
    let config = ServerConfig::default().with_programs(served_programs()).with_keepalive(None);
    server.adopt(theirs, config).map_err(io("cannot serve the in-process connection"))?;
    let stop = server.shutdown_handle();
    std::thread::Builder::new()
        .name("test-driver".into())
        .spawn(move || {
            let _ = server.run();
        })
        .map_err(io("cannot start the in-process server"))?;
    let flags = u32::from(read_only);
    let client = Client::connect_channel(Channel::Unix(ours), Some(uri.to_owned()), flags, options);
    if client.is_err() {
        stop.shutdown();
    }
    client
}
