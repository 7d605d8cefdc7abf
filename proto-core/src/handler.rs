//! The daemon's side of a server runtime: one [`Handler`] trait that both runtimes
//! (adapter-blocking's and adapter-smol's) drive, over the runtime's link type `L` (a
//! [`CommandSink`](crate::server::CommandSink)), and [`PeerInfo`], who connected. libvirt's
//! `virNetServerProgramDispatch` hands calls to `remoteProcs[]` the same way whatever the event
//! loop; so here one daemon implementation serves on either runtime.

use core::net::SocketAddr;

use bytes::Bytes;

use crate::server::{CallId, ServerEvent};
use crate::{ConnectionError, Header};

/// How a client reached the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerTransport {
    /// A unix socket.
    Unix,
    /// Plain TCP.
    Tcp,
    /// TLS over TCP (the client's certificate was verified unless the config says not to).
    Tls,
}

/// Who connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The transport.
    pub transport: PeerTransport,
    /// Whether the listener is a read-only socket (libvirt's `libvirt-sock-ro`).
    pub read_only_socket: bool,
    /// The peer's address (TCP and TLS).
    pub addr: Option<SocketAddr>,
    /// The peer's uid (unix sockets, from `SO_PEERCRED`), where the runtime reads it.
    pub uid: Option<u32>,
}

/// The daemon's dispatch, driven by a server runtime whose connection handle is `L`. Every call
/// must be answered through the link, at once or later from another thread or task; stream
/// events arrive in order. The methods run on the runtime's loop (a thread or a connection's
/// task): they must not block.
pub trait Handler<L>: Send + Sync + 'static {
    /// Per-connection state.
    type Conn: Send + 'static;
    /// A client connected (after the TLS handshake).
    fn connected(&self, peer: &PeerInfo, link: L) -> Self::Conn;
    /// A call to dispatch: answer it through `link` (`CommandSink::reply` and its kin).
    fn call(&self, conn: &mut Self::Conn, link: &L, id: CallId, header: Header, fds: u32, args: Bytes);
    /// `StreamData`, `StreamHole`, `StreamFinish` or `StreamAbort` from the client.
    fn stream(&self, conn: &mut Self::Conn, link: &L, event: ServerEvent);
    /// The connection is gone.
    fn disconnected(&self, conn: Self::Conn, reason: &ConnectionError);
    /// A TLS client was refused after the handshake (the runtime's TLS check, e.g. its DN is
    /// not on `tls_allowed_dn_list`); it was never [`Handler::connected`]. For the log.
    fn refused(&self, peer: &PeerInfo, reason: &str) {
        let _ = (peer, reason);
    }
}
