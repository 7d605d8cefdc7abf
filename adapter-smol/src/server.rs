//! The daemon's runtime: accept on a unix or TCP listener (TLS optional), one driver task per
//! connection, calls handed to a [`Handler`] that answers them through a [`Link`].
//!
//! Per connection the driver reads only while `ServerConnection::wants_read` (libvirt's
//! `max_client_requests` backpressure), writes everything `poll_transmit` gives (batched),
//! arms a timer at `poll_timeout` and dispatches events. The accept loop stops accepting while
//! `max_clients` connections are open, as libvirtd does.
//!
//! **Memory bound.** A client that does not read cannot make the daemon grow without bound:
//! once more than [`MAX_TRANSMIT_BACKLOG`] bytes wait to be sent to it, its connection is
//! dropped with `ConnectionError::PeerNotReading`. Handlers that stream large data pace
//! themselves with [`Link::drained`].
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use adapter_smol::server::{serve, Handler, Link, ServeOptions, ServerGroup};
//! # fn run<H: Handler<Link>>(handler: Arc<H>) -> std::io::Result<()> {
//! use smol::Async;
//! let group = ServerGroup::default(); // one per server: max_clients and shutdown span its listeners
//! let tcp = Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 16509))?;
//! let ro = Async::<std::os::unix::net::UnixListener>::bind("/run/libvirt/libvirt-sock-ro")?;
//! let opts = ServeOptions { group: group.clone(), ..ServeOptions::default() };
//! let a = smol::spawn(serve(tcp, opts.clone(), handler.clone()));
//! let b = smol::spawn(serve(ro, ServeOptions { read_only: true, ..opts }, handler));
//! // On SIGTERM: stop accepting, answer the calls in flight, close; then both return.
//! group.shutdown();
//! smol::block_on(async { a.await; b.await });
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use proto_core::server::CommandSink;
use proto_core::server::ServerCommand;
use proto_core::{ConnectionError, ServerConfig, ServerConnection, ServerEvent};
use smol::channel::{self, Receiver, Sender};
use smol::stream::StreamExt;
use smol::{Async, Task, Timer};

use crate::pump::{Io, Pump, BUDGET};

/// Unsent bytes after which a connection is dropped as not reading.
pub const MAX_TRANSMIT_BACKLOG: usize = 64 << 20;

pub use adapter_io::transport::ServerTls;
pub use proto_core::handler::{PeerInfo, PeerTransport};

/// The daemon's dispatch (one definition for both runtimes, proto-core's): here its methods
/// run on the connection's driver task, so they must not block (offload slow work, e.g. with
/// `smol::unblock`, and answer later).
pub use proto_core::handler::Handler;

type Op = Box<dyn FnOnce(&mut Pump<ServerConnection>) + Send>;

/// A handle on one connection for answering calls and sending stream data and events. Each
/// method queues a command for the connection's driver and wakes it; errors (an unknown call,
/// a closed connection) are dropped, see [`Link::is_closed`].
#[derive(Clone, Debug)]
pub struct Link {
    tx: Sender<Op>,
    closed: Arc<AtomicBool>,
}

/// Answers, stream data and events: [`CommandSink`]'s methods (`reply_raw`, `reply_error`,
/// `open_stream`, `stream_send`, …), queued for the connection's driver task.
impl CommandSink for Link {
    fn submit(&self, command: ServerCommand) {
        let _ = self.tx.try_send(Box::new(move |p: &mut Pump<ServerConnection>| {
            // Errors (an answer for a call or stream that is gone) change nothing.
            let _ = p.core.apply(Instant::now(), command);
        }));
    }
}

impl Link {
    /// Whether the connection is closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.tx.is_closed()
    }

    /// Waits until at most `below` bytes of this connection's output are unsent, counting
    /// everything queued through this link before; returns at once when it is closed.
    pub async fn drained(&self, below: usize) {
        let (tx, rx) = channel::bounded(1);
        let _ = self.tx.try_send(Box::new(move |p: &mut Pump<ServerConnection>| p.when_drained(below, tx)));
        let _ = rx.recv().await;
    }
}

/// The connections of one server across all its listeners: the count `max_clients` bounds,
/// and the shutdown signal. Clone it into the [`ServeOptions`] of each listener.
#[derive(Debug, Clone)]
pub struct ServerGroup(Arc<GroupInner>);

#[derive(Debug)]
struct GroupInner {
    clients: AtomicUsize,
    left: (Sender<()>, Receiver<()>),
    stop: (Sender<()>, Receiver<()>),
}

impl Default for ServerGroup {
    fn default() -> Self {
        let inner = GroupInner { clients: AtomicUsize::new(0), left: channel::bounded(1), stop: channel::bounded(1) };
        Self(Arc::new(inner))
    }
}

impl ServerGroup {
    /// Stops the server (e.g. on SIGTERM): every [`serve`] stops accepting, connections stop
    /// reading, answer the calls in flight, flush and close; then `serve` returns.
    pub fn shutdown(&self) {
        self.0.stop.0.close();
    }

    /// Whether [`ServerGroup::shutdown`] was called.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.0.stop.0.is_closed()
    }

    /// Connections open now.
    #[must_use]
    pub fn clients(&self) -> usize {
        self.0.clients.load(Ordering::SeqCst)
    }

    /// Takes a client slot, waiting while `max` are taken.
    async fn reserve(&self, max: usize) -> Slot {
        loop {
            let n = self.clients();
            if n < max {
                if self.0.clients.compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    if n + 1 < max {
                        let _ = self.0.left.0.try_send(()); // pass the wake-up on to another listener
                    }
                    return Slot(self.clone());
                }
                continue;
            }
            let _ = self.0.left.1.recv().await;
        }
    }

    async fn or_stop<T>(&self, f: impl Future<Output = T>) -> Option<T> {
        smol::future::or(async { Some(f.await) }, async {
            let _ = self.0.stop.1.recv().await;
            None
        })
        .await
    }
}

struct Slot(ServerGroup);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0 .0.clients.fetch_sub(1, Ordering::SeqCst);
        let _ = self.0 .0.left.0.try_send(());
    }
}

/// How to serve a listener.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The core's settings for each connection (programs, `max_client_requests`, keepalive).
    pub server_config: ServerConfig,
    /// TLS: handshake, libvirtd's checks of the client, then libvirt's check byte (1), before
    /// the protocol starts.
    pub tls: Option<ServerTls>,
    /// libvirtd's `max_clients`, across every listener sharing [`ServeOptions::group`].
    pub max_clients: usize,
    /// The listener is a read-only socket ([`PeerInfo::read_only_socket`]).
    pub read_only: bool,
    /// The server these connections count towards, and its shutdown signal.
    pub group: ServerGroup,
}

impl Default for ServeOptions {
    /// libvirtd's defaults (`max_clients = 5000`), plain, read-write.
    fn default() -> Self {
        Self {
            server_config: ServerConfig::default(),
            tls: None,
            max_clients: 5000,
            read_only: false,
            group: ServerGroup::default(),
        }
    }
}

/// A listening socket.
pub trait Listener: Send + Sync + 'static {
    /// Accepts the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Box<dyn Io>, PeerInfo)>> + Send;
}

fn peer(transport: PeerTransport, addr: Option<SocketAddr>, uid: Option<u32>) -> PeerInfo {
    PeerInfo { transport, read_only_socket: false, addr, uid }
}

impl Listener for Async<UnixListener> {
    async fn accept(&self) -> io::Result<(Box<dyn Io>, PeerInfo)> {
        let (s, _) = Self::accept(self).await?;
        let uid = rustix::net::sockopt::socket_peercred(&s).ok().map(|c| c.uid.as_raw());
        Ok((Box::new(s), peer(PeerTransport::Unix, None, uid)))
    }
}

impl Listener for Async<TcpListener> {
    async fn accept(&self) -> io::Result<(Box<dyn Io>, PeerInfo)> {
        let (s, addr) = Self::accept(self).await?;
        let _ = s.get_ref().set_nodelay(true);
        Ok((Box::new(s), peer(PeerTransport::Tcp, Some(addr), None)))
    }
}

/// Serves `listener` until [`ServerGroup::shutdown`], then waits for its connections to end.
pub async fn serve<L: Listener, H: Handler<Link>>(listener: L, options: ServeOptions, handler: Arc<H>) {
    let group = options.group.clone();
    let mut tasks: Vec<Task<()>> = Vec::new();
    // Accept first, then take a client slot: an idle listener holds none, so `max_clients`
    // counts connections only, across every listener of the group. While the group is full the
    // accepted connection waits unserved, as one in libvirtd's listen backlog does.
    loop {
        let (io, mut peer) = match group.or_stop(listener.accept()).await {
            None => break,
            Some(Ok(accepted)) => accepted,
            // E.g. out of descriptors: back off as libvirt does, keep serving.
            Some(Err(_)) => {
                Timer::after(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = group.or_stop(group.reserve(options.max_clients.max(1))).await else { break };
        peer.read_only_socket = options.read_only;
        tasks.retain(|t| !t.is_finished());
        tasks.push(smol::spawn(connection(io, peer, options.clone(), handler.clone(), slot)));
    }
    for t in tasks {
        t.await;
    }
}

async fn connection<H: Handler<Link>>(
    io: Box<dyn Io>,
    mut peer: PeerInfo,
    options: ServeOptions,
    handler: Arc<H>,
    _slot: Slot,
) {
    let io: Box<dyn Io> = match &options.tls {
        None => io,
        Some(checks) => {
            peer.transport = PeerTransport::Tls;
            match crate::tls::accept(io, checks, |why| handler.refused(&peer, why)).await {
                Some(tls) => tls,
                None => return,
            }
        }
    };
    let (tx, ops) = channel::unbounded();
    let link = Link { tx, closed: Arc::new(AtomicBool::new(false)) };
    let state = handler.connected(&peer, link.clone());
    let core = ServerConnection::new(options.server_config.clone(), Instant::now());
    let mut d = Driver {
        pump: Pump::new(core, io),
        ops: Box::pin(ops),
        link,
        handler,
        state: Some(state),
        stop: Box::pin(options.group.0.stop.1.clone()),
        stopping: false,
        reason: None,
    };
    smol::future::poll_fn(|cx| d.poll(cx)).await;
    d.link.closed.store(true, Ordering::Release);
    d.ops.close();
    while d.ops.try_recv().is_ok() {} // drops queued commands, releasing `Link::drained` waiters
    let reason = d.reason.take().unwrap_or(ConnectionError::LocallyClosed);
    if let Some(state) = d.state.take() {
        d.handler.disconnected(state, &reason);
    }
}

struct Driver<H: Handler<Link>> {
    pump: Pump<ServerConnection>,
    ops: Pin<Box<Receiver<Op>>>,
    link: Link,
    handler: Arc<H>,
    state: Option<H::Conn>,
    stop: Pin<Box<Receiver<()>>>,
    stopping: bool,
    reason: Option<ConnectionError>,
}

impl<H: Handler<Link>> Driver<H> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..BUDGET {
            let mut moved = false;
            while let Poll::Ready(Some(op)) = self.ops.poll_next(cx) {
                op(&mut self.pump);
                moved = true;
            }
            let now = Instant::now();
            if !self.stopping && self.stop.poll_next(cx).is_ready() {
                // Shutdown: the core stops taking calls and closes once those in flight are
                // answered.
                self.stopping = true;
                self.pump.core.drain(now);
                moved = true;
            }
            let backlog = self.pump.backlog();
            let core = &mut self.pump.core;
            if backlog > MAX_TRANSMIT_BACKLOG && !core.is_closed() {
                core.close_not_reading(now, backlog);
                self.pump.abandon();
            }
            moved |= self.pump.poll(cx, true);
            while let Some(ev) = self.pump.core.poll_event() {
                moved = true;
                let Some(state) = self.state.as_mut() else { break };
                match ev {
                    ServerEvent::Call { id, header, fds, args } => {
                        self.handler.call(state, &self.link, id, header, fds, args);
                    }
                    ServerEvent::Closed { reason } => self.reason = Some(reason),
                    ServerEvent::Ignored { .. } => {}
                    ev => self.handler.stream(state, &self.link, ev),
                }
            }
            if self.pump.finished() {
                return Poll::Ready(());
            }
            if !moved {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
