//! The daemon's blocking runtime: one thread runs one `polling` loop over every listener and
//! connection. Calls are handed to a [`Handler`], which answers through a [`Link`] (from the
//! loop thread or any other). Protocol decisions are the core's (`ServerConnection`): this loop
//! reads only while `wants_read`, writes what `poll_transmit` gives, and fires `poll_timeout`.
//!
//! **Memory bound.** A client that does not read is dropped once more than
//! [`MAX_TRANSMIT_BACKLOG`] bytes wait to be sent to it (`ConnectionError::PeerNotReading`).

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
pub use proto_core::server::CommandSink;
use proto_core::server::ServerCommand;
use proto_core::{ConnectionError, ServerConfig, ServerConnection, ServerEvent};

use crate::poll::{Event, Events, Poller, Registered};
pub use crate::transport::ServerTls;

/// Unsent bytes after which a connection is dropped as not reading.
pub const MAX_TRANSMIT_BACKLOG: usize = 64 << 20;
/// Unsent bytes at which a connection is no longer read from until its peer catches up: a
/// client that never reads its replies holds at most about this much (libvirtd likewise stops
/// reading a client whose replies wait unsent).
pub const PAUSE_READING_BACKLOG: usize = 1 << 20;
/// How long a closing connection may take to flush what it queued.
const LINGER: Duration = Duration::from_secs(5);

/// Who connected and the daemon's dispatch: one definition for both runtimes (proto-core's).
pub use proto_core::handler::{Handler, PeerInfo, PeerTransport};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The poller of the [`Server::run`] loop this thread runs (its address), if any.
    static LOOP_POLLER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[derive(Debug, Default)]
struct Wake {
    dirty: Mutex<Vec<usize>>,
}

struct LinkShared {
    key: usize,
    ops: Mutex<Vec<ServerCommand>>,
    poller: Arc<Poller>,
    wake: Arc<Wake>,
    closed: AtomicBool,
    /// Unsent bytes, updated by the loop; `drained` waits on it.
    backlog: Mutex<usize>,
    drained: Condvar,
}

/// A handle on one connection: answers, stream data and events, queued for the loop.
#[derive(Clone)]
pub struct Link {
    shared: Arc<LinkShared>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("closed", &self.is_closed()).finish_non_exhaustive()
    }
}

/// Answers, stream data and events: [`CommandSink`]'s methods (`reply_raw`, `reply_error`,
/// `open_stream`, `stream_send`, …), queued for the loop thread.
impl CommandSink for Link {
    fn submit(&self, command: ServerCommand) {
        if self.is_closed() {
            return;
        }
        lock(&self.shared.ops).push(command);
        lock(&self.shared.wake.dirty).push(self.shared.key);
        // The loop's own thread (a handler answering inline) looks at `dirty` before it waits;
        // another thread (or another loop's) wakes it.
        if LOOP_POLLER.get() != Arc::as_ptr(&self.shared.poller) as usize {
            let _ = self.shared.poller.notify();
        }
    }
}

impl Link {
    /// Whether the connection is closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Blocks until at most `below` bytes of output are unsent (or the connection closed).
    /// Call it from a thread other than the loop's (e.g. a download thread).
    pub fn drained(&self, below: usize) {
        let mut backlog = lock(&self.shared.backlog);
        while *backlog > below && !self.is_closed() {
            backlog = self
                .shared
                .drained
                .wait_timeout(backlog, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// A listening socket and how to serve it.
#[derive(Debug)]
pub struct Listener {
    socket: ListenSocket,
    /// The core's settings for each connection.
    pub server_config: ServerConfig,
    /// TLS: handshake, libvirtd's checks of the client, then libvirt's check byte (1).
    pub tls: Option<ServerTls>,
    /// Whether this is a read-only socket.
    pub read_only: bool,
}

#[derive(Debug)]
enum ListenSocket {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl AsFd for ListenSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Unix(l) => l.as_fd(),
            Self::Tcp(l) => l.as_fd(),
        }
    }
}

impl AsRawFd for ListenSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl Listener {
    /// A unix listener.
    #[must_use]
    pub fn unix(l: UnixListener, server_config: ServerConfig, read_only: bool) -> Self {
        Self { socket: ListenSocket::Unix(l), server_config, tls: None, read_only }
    }

    /// A TCP listener, with TLS when `tls` is given.
    #[must_use]
    pub fn tcp(l: TcpListener, server_config: ServerConfig, tls: Option<ServerTls>) -> Self {
        Self { socket: ListenSocket::Tcp(l), server_config, tls, read_only: false }
    }
}

/// Stops a running [`Server::run`] loop: it stops accepting, stops reading, answers the calls in
/// flight, flushes and closes every connection, then returns.
#[derive(Clone)]
pub struct Shutdown {
    stop: Arc<AtomicBool>,
    poller: Arc<Poller>,
    clients: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown").field("stopping", &self.stop.load(Ordering::Acquire)).finish()
    }
}

impl Shutdown {
    /// Starts the shutdown.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.poller.notify();
    }

    /// Connections open now.
    #[must_use]
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Acquire)
    }
}

#[derive(Debug)]
enum Sock {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Sock {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Self::Unix(s) => s,
            Self::Tcp(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

impl AsFd for Sock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Unix(s) => s.as_fd(),
            Self::Tcp(s) => s.as_fd(),
        }
    }
}

impl AsRawFd for Sock {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

struct Conn<H: Handler<Link>> {
    sock: Registered<Sock>,
    core: ServerConnection,
    tls: Option<(rustls::ServerConnection, ServerTls)>,
    /// TLS: the check byte was queued.
    accepted: bool,
    /// TLS: why the client was refused after the handshake (for [`Handler::refused`]).
    refused: Option<String>,
    out: VecDeque<Bytes>,
    out_len: usize,
    link: Link,
    state: Option<H::Conn>,
    peer: PeerInfo,
    reason: Option<ConnectionError>,
    eof: bool,
    closed_at: Option<Instant>,
}

/// A running loop's control; see [`Server::run`].
pub struct Server<H: Handler<Link>> {
    poller: Arc<Poller>,
    listeners: Vec<Registered<ListenSocket>>,
    options: Vec<(ServerConfig, Option<ServerTls>, bool)>,
    conns: HashMap<usize, Conn<H>>,
    next_key: usize,
    handler: Arc<H>,
    wake: Arc<Wake>,
    max_clients: usize,
    shutdown: Shutdown,
    accepting: bool,
    /// The read buffer every connection of this loop shares (not zeroed per read).
    read_buf: Box<[u8]>,
}

impl<H: Handler<Link>> std::fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("clients", &self.conns.len()).finish_non_exhaustive()
    }
}

impl<H: Handler<Link>> Server<H> {
    /// A loop over `listeners` (made non-blocking here) with libvirtd's `max_clients`.
    ///
    /// # Errors
    /// When the poller cannot be created or a listener registered.
    pub fn new(listeners: Vec<Listener>, max_clients: usize, handler: Arc<H>) -> io::Result<Self> {
        let poller = Arc::new(Poller::new()?);
        let mut regs = Vec::new();
        let mut options = Vec::new();
        for (i, l) in listeners.into_iter().enumerate() {
            match &l.socket {
                ListenSocket::Unix(s) => s.set_nonblocking(true)?,
                ListenSocket::Tcp(s) => s.set_nonblocking(true)?,
            }
            regs.push(Registered::new(poller.clone(), l.socket, Event::readable(i))?);
            options.push((l.server_config, l.tls, l.read_only));
        }
        let shutdown = Shutdown {
            stop: Arc::new(AtomicBool::new(false)),
            poller: poller.clone(),
            clients: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        };
        Ok(Self {
            next_key: regs.len(),
            poller,
            listeners: regs,
            options,
            conns: HashMap::new(),
            handler,
            wake: Arc::new(Wake::default()),
            max_clients: max_clients.max(1),
            shutdown,
            accepting: true,
            read_buf: vec![0; 64 * 1024].into_boxed_slice(),
        })
    }

    /// The handle that stops [`Server::run`].
    #[must_use]
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves one already connected socket (e.g. one end of a socket pair for an in-process
    /// driver), as if it had been accepted on a read-write unix listener.
    ///
    /// # Errors
    /// When the socket cannot be registered.
    pub fn adopt(&mut self, sock: UnixStream, server_config: ServerConfig) -> io::Result<()> {
        let peer = PeerInfo { transport: PeerTransport::Unix, read_only_socket: false, addr: None, uid: None };
        self.add_conn(Sock::Unix(sock), server_config, None, peer)
    }

    /// Runs the loop until [`Shutdown::shutdown`] and every connection is closed.
    ///
    /// # Errors
    /// When waiting on the poller fails.
    pub fn run(mut self) -> io::Result<()> {
        LOOP_POLLER.set(Arc::as_ptr(&self.poller) as usize);
        let mut events = Events::new();
        loop {
            let stopping = self.shutdown.stop.load(Ordering::Acquire);
            if stopping && self.accepting {
                self.accepting = false;
                self.listeners.clear();
            }
            // Done when stopped, or when there is nothing left to serve (an adopted connection
            // without listeners, as the in-process driver has, closed).
            if self.conns.is_empty() && (stopping || self.listeners.is_empty()) {
                return Ok(());
            }
            let now = Instant::now();
            let next = self.conns.values().filter_map(|c| c.core.poll_timeout()).min();
            let mut timeout = next.map(|t| t.saturating_duration_since(now)).unwrap_or(Duration::from_secs(1));
            if !lock(&self.wake.dirty).is_empty() {
                // Answers queued from this thread: no notification came for them.
                timeout = Duration::ZERO;
            }
            events.clear();
            self.poller.wait(&mut events, Some(timeout.min(Duration::from_secs(1))))?;
            let mut touched: Vec<usize> = events.keys().collect();
            touched.append(&mut lock(&self.wake.dirty));
            let now = Instant::now();
            for key in touched {
                if key < self.listeners.len() {
                    self.accept(key);
                } else {
                    self.pump(key, now);
                }
            }
            // Timers, the shutdown and closing connections.
            let keys: Vec<usize> = self.conns.keys().copied().collect();
            for key in keys {
                let due = self
                    .conns
                    .get(&key)
                    .is_some_and(|c| c.core.poll_timeout().is_some_and(|t| t <= now) || stopping || c.core.is_closed());
                if due {
                    if let Some(c) = self.conns.get_mut(&key) {
                        c.core.handle_timeout(now);
                        if stopping && !c.core.is_draining() {
                            // The core stops taking calls and closes once those in flight are
                            // answered.
                            c.core.drain(now);
                        }
                    }
                    self.pump(key, now);
                }
            }
            if self.accepting {
                for (i, l) in self.listeners.iter().enumerate() {
                    let _ = l.modify(Event { key: i, readable: self.conns.len() < self.max_clients, writable: false });
                }
            }
        }
    }

    fn accept(&mut self, i: usize) {
        while self.accepting && self.conns.len() < self.max_clients {
            let (config, tls, read_only) = self.options[i].clone();
            let accepted = match self.listeners[i].get() {
                ListenSocket::Unix(l) => l.accept().map(|(s, _)| {
                    (
                        Sock::Unix(s),
                        PeerInfo { transport: PeerTransport::Unix, read_only_socket: read_only, addr: None, uid: None },
                    )
                }),
                ListenSocket::Tcp(l) => l.accept().map(|(s, a)| {
                    let _ = s.set_nodelay(true);
                    let t = if tls.is_some() { PeerTransport::Tls } else { PeerTransport::Tcp };
                    (Sock::Tcp(s), PeerInfo { transport: t, read_only_socket: false, addr: Some(a), uid: None })
                }),
            };
            match accepted {
                Ok((sock, peer)) => {
                    let _ = self.add_conn(sock, config, tls, peer);
                }
                Err(_) => break,
            }
        }
    }

    fn add_conn(&mut self, sock: Sock, config: ServerConfig, tls: Option<ServerTls>, peer: PeerInfo) -> io::Result<()> {
        match &sock {
            Sock::Unix(s) => s.set_nonblocking(true)?,
            Sock::Tcp(s) => s.set_nonblocking(true)?,
        }
        let key = self.next_key;
        self.next_key += 1;
        let sock = Registered::new(self.poller.clone(), sock, Event::readable(key))?;
        let tls = match tls {
            Some(t) => Some((rustls::ServerConnection::new(t.config().clone()).map_err(io::Error::other)?, t)),
            None => None,
        };
        let link = Link {
            shared: Arc::new(LinkShared {
                key,
                ops: Mutex::new(Vec::new()),
                poller: self.poller.clone(),
                wake: self.wake.clone(),
                closed: AtomicBool::new(false),
                backlog: Mutex::new(0),
                drained: Condvar::new(),
            }),
        };
        let accepted = tls.is_none();
        let mut conn = Conn {
            sock,
            core: ServerConnection::new(config, Instant::now()),
            tls,
            accepted,
            refused: None,
            out: VecDeque::new(),
            out_len: 0,
            link,
            state: None,
            peer,
            reason: None,
            eof: false,
            closed_at: None,
        };
        if accepted {
            conn.state = Some(self.handler.connected(&conn.peer, conn.link.clone()));
        }
        self.conns.insert(key, conn);
        self.shutdown.clients.store(self.conns.len(), Ordering::Release);
        Ok(())
    }

    /// Moves everything that can move on one connection: queued link operations, input, events,
    /// output; then re-arms its interest or retires it.
    fn pump(&mut self, key: usize, now: Instant) {
        let handler = self.handler.clone();
        let buf = &mut self.read_buf;
        let Some(c) = self.conns.get_mut(&key) else { return };
        // Whether the socket may hold more: after a short read it does not (the poller is
        // level-triggered and says so if more comes), which saves a read that would block.
        let mut more = true;
        for _ in 0..64 {
            let ops: Vec<ServerCommand> = std::mem::take(&mut *lock(&c.link.shared.ops));
            let mut moved = !ops.is_empty();
            for op in ops {
                // Errors (an answer for a call or stream that is gone) change nothing.
                let _ = c.core.apply(now, op);
            }
            if more {
                let (read, again) = c.read(now, buf);
                moved |= read;
                more = again;
            }
            if c.core.poll_timeout().is_some_and(|t| t <= now) {
                // Due now: calls held back by `max_client_requests` that answers made room for.
                c.core.handle_timeout(now);
            }
            if let Some(why) = c.refused.take() {
                handler.refused(&c.peer, &why);
            }
            if c.state.is_none() && c.accepted {
                c.state = Some(handler.connected(&c.peer, c.link.clone()));
            }
            while let Some(ev) = c.core.poll_event() {
                moved = true;
                match ev {
                    ServerEvent::Call { id, header, fds, args } => {
                        if let Some(st) = c.state.as_mut() {
                            handler.call(st, &c.link, id, header, fds, args);
                        }
                    }
                    ServerEvent::Closed { reason } => c.reason = Some(reason),
                    ServerEvent::Ignored { .. } => {}
                    ev => {
                        if let Some(st) = c.state.as_mut() {
                            handler.stream(st, &c.link, ev);
                        }
                    }
                }
            }
            moved |= c.write();
            if c.out_len > MAX_TRANSMIT_BACKLOG && !c.core.is_closed() {
                c.core.close_not_reading(now, c.out_len);
                c.out.clear();
                c.out_len = 0;
            }
            if !moved {
                break;
            }
        }
        // Waiters are woken only when the backlog shrank (a notification is a system call).
        let shrank = std::mem::replace(&mut *lock(&c.link.shared.backlog), c.out_len) > c.out_len;
        if shrank {
            c.link.shared.drained.notify_all();
        }
        let closed = c.core.is_closed() || c.eof;
        if closed && c.closed_at.is_none() {
            c.closed_at = Some(now);
        }
        let done = closed && (c.out_len == 0 || c.eof || c.closed_at.is_some_and(|t| now.duration_since(t) > LINGER));
        if done {
            if let Some(mut c) = self.conns.remove(&key) {
                c.link.shared.closed.store(true, Ordering::Release);
                c.link.shared.drained.notify_all();
                let reason = c.reason.take().unwrap_or(ConnectionError::LocallyClosed);
                if let Some(st) = c.state.take() {
                    self.handler.disconnected(st, &reason);
                }
            }
            self.shutdown.clients.store(self.conns.len(), Ordering::Release);
            return;
        }
        let readable = !closed && c.reading();
        let writable = c.out_len > 0 || c.tls.as_ref().is_some_and(|(t, _)| t.wants_write());
        let _ = c.sock.modify(Event { key, readable, writable });
    }
}

impl<H: Handler<Link>> Conn<H> {
    /// Whether to read from the socket: the core wants input (or the TLS handshake does), and
    /// less than [`PAUSE_READING_BACKLOG`] waits to be sent.
    fn reading(&self) -> bool {
        (self.core.wants_read() || !self.accepted)
            && self.out_len + self.core.transmit_buffered() < PAUSE_READING_BACKLOG
    }

    /// Reads what is there (while the core wants input); true if anything came.
    /// Reads while the core wants input; whether anything came, and whether more may wait.
    fn read(&mut self, now: Instant, buf: &mut [u8]) -> (bool, bool) {
        if self.eof || self.core.is_closed() || !self.reading() {
            return (false, false);
        }
        let mut any = false;
        loop {
            match self.sock.get_mut().io().read(buf) {
                Ok(0) => {
                    self.eof = true;
                    self.core.handle_eof(now);
                    return (true, false);
                }
                Ok(n) => {
                    any = true;
                    self.input(now, &buf[..n]);
                    if !self.reading() || n < buf.len() {
                        return (true, n == buf.len());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (any, false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.eof = true;
                    self.core.handle_eof(now);
                    return (true, false);
                }
            }
        }
    }

    fn input(&mut self, now: Instant, data: &[u8]) {
        let Some((tls, checks)) = &mut self.tls else {
            self.core.handle_input(now, data);
            return;
        };
        let mut input = data;
        while !input.is_empty() {
            if tls.read_tls(&mut input).is_err() || tls.process_new_packets().is_err() {
                self.eof = true;
                self.core.handle_eof(now);
                return;
            }
        }
        if !self.accepted && !tls.is_handshaking() {
            match proto_core::connect::tls_check_reply(checks.check_client(tls)) {
                // libvirt's check byte: the client (and its certificate) is accepted.
                Ok(byte) => drop(tls.writer().write_all(&byte)),
                Err(why) => {
                    // As libvirtd: the handshake's last flight goes out, then the connection is
                    // closed with no check byte; the client reports the refusal.
                    self.refused = Some(why);
                    self.core.handle_eof(now);
                    return;
                }
            }
            self.accepted = true;
        }
        let mut plain = Vec::new();
        let _ = tls.reader().read_to_end(&mut plain);
        if !plain.is_empty() {
            self.core.handle_input(now, &plain);
        }
    }

    /// Moves the core's output into the socket; true if anything was written.
    fn write(&mut self) -> bool {
        while let Some(b) = self.core.poll_transmit() {
            match &mut self.tls {
                Some((tls, _)) => {
                    let _ = tls.writer().write_all(&b);
                }
                None => {
                    self.out_len += b.len();
                    self.out.push_back(b);
                }
            }
        }
        if let Some((tls, _)) = &mut self.tls {
            let v = adapter_io::transport::tls_records(tls);
            if !v.is_empty() {
                self.out_len += v.len();
                self.out.push_back(Bytes::from(v));
            }
        }
        let mut wrote = false;
        while !self.out.is_empty() && !self.eof {
            let slices: Vec<IoSlice<'_>> = self.out.iter().take(64).map(|b| IoSlice::new(b)).collect();
            match self.sock.get_mut().io().write_vectored(&slices) {
                Ok(0) => break,
                Ok(mut n) => {
                    wrote = true;
                    self.out_len -= n;
                    while n > 0 {
                        let front = &mut self.out[0];
                        if n >= front.len() {
                            n -= front.len();
                            self.out.pop_front();
                        } else {
                            let _ = front.split_to(n);
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.eof = true;
                    self.out.clear();
                    self.out_len = 0;
                    self.core.handle_eof(Instant::now());
                    break;
                }
            }
        }
        wrote
    }
}
