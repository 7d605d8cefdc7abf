//! libvirt's remote protocol on smol: [`proto_core`]'s state machines bound to `async-io`
//! sockets and timers. Every protocol decision is the core's; this crate moves bytes and time.
//!
//! - [`Client`]: an async client (`Clone + Send + Sync`). One driver task per connection owns
//!   the `ClientConnection`, the socket and a timer armed at `poll_timeout`, and is fed by a
//!   command channel, like quinn's `ConnectionDriver`; calls wait on a one-slot channel.
//! - [`server`]: the daemon's runtime: accept loop, one driver task per connection, a
//!   [`server::Handler`] that answers calls through a [`server::Link`].
//!
//! Errors, options, events and stream items are adapter-io's types, so both adapters
//! read the same.
//!
//! ```no_run
//! # smol::block_on(async {
//! use adapter_smol::{Client, ConnectOptions};
//! use proto_core::programs::remote::ConnectGetHostname;
//! let client = Client::connect("test+tcp://127.0.0.1/default", &ConnectOptions::default()).await?;
//! println!("{}", client.call::<ConnectGetHostname>(&()).await?.hostname);
//! # Ok::<(), adapter_smol::Error>(()) });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod pump;
pub mod server;
mod stream;

use std::collections::HashMap;
use std::future::Future;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use adapter_io::transport::{self, Channel, ChildGuard};
pub use adapter_io::{ConnectOptions, Error, Event, StreamItem};
use bytes::Bytes;
use futures_rustls::{pki_types::ServerName, TlsConnector};
use proto_core::client::CallSpec;
use proto_core::connect::{ConnectSequence, ServerFeatures};
use proto_core::uri::{LibvirtUri, RemoteTarget, Transport};
use proto_core::{
    CallError, ClientConfig, ClientConnection, ClientEvent, ConnectionError, KeepaliveConfig, Procedure,
    StreamDirection, StreamHole,
};
pub use pump::Io;
use pump::{Pump, BUDGET};
use smol::channel::{self, Receiver, Sender, TrySendError};
use smol::io::AsyncReadExt;
use smol::stream::StreamExt;
use smol::{Async, Timer};
pub use stream::{Stream, Subscription};

/// Unsent output above which a stream writer waits (flow control for uploads).
const STREAM_BACKLOG: usize = 4 << 20;

type CallResult = Result<(Bytes, u32), CallError>;

pub(crate) enum StreamOp {
    Data(Bytes),
    Hole(StreamHole),
    Finish,
    Abort,
}

pub(crate) enum Cmd {
    Call { id: u64, spec: CallSpec, args: Bytes, tx: Sender<CallResult>, stream: Option<Sender<StreamItem>> },
    Cancel(u64),
    Stream(u32, StreamOp, Sender<std::io::Error>),
    Subscribe(Sender<Event>, Receiver<Event>, Arc<AtomicU64>),
    Keepalive(Option<KeepaliveConfig>),
    Close,
}

/// What the driver publishes for the handles.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    reason: Mutex<Option<ConnectionError>>,
    features: Mutex<ServerFeatures>,
    late_replies: AtomicU64,
}

impl Shared {
    fn reason(&self) -> ConnectionError {
        lock(&self.reason).clone().unwrap_or(ConnectionError::LocallyClosed)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug)]
struct Inner {
    cmds: Sender<Cmd>,
    shared: Arc<Shared>,
    options: ConnectOptions,
    next_id: AtomicU64,
}

/// A connection to a libvirt daemon. Clone it to share it between tasks; the connection
/// closes when the last clone (and every [`Stream`]) is dropped.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    /// Connects as libvirt's remote driver does: picks the transport from the URI (honouring
    /// `LIBVIRT_DEFAULT_URI` when `uri` is empty), opens it, runs the open sequence and turns
    /// keepalive on when the server supports it.
    ///
    /// # Errors
    /// When the URI is invalid, the transport cannot be opened, or the server refuses.
    pub async fn connect(uri: &str, options: &ConnectOptions) -> Result<Self, Error> {
        let env_uri = std::env::var("LIBVIRT_DEFAULT_URI").ok();
        let uri = proto_core::uri::select_uri(Some(uri), env_uri.as_deref())
            .ok_or_else(|| Error::Unsupported("connecting without a URI".into()))?;
        let target = LibvirtUri::parse(uri)?.resolve(&transport::client_env(), options.read_only)?;
        Self::connect_target(&target, options).await
    }

    /// Connects to an already resolved target.
    ///
    /// # Errors
    /// As [`Client::connect`].
    pub async fn connect_target(target: &RemoteTarget, options: &ConnectOptions) -> Result<Self, Error> {
        let t = target.clone();
        // The socket path probe, the TCP connect and the ssh/ext command are adapter-io's.
        let channel = smol::unblock(move || transport::open(&t)).await?;
        let stderr = channel.command_stderr();
        let io_err = |source| Error::Io { what: "cannot register the socket".into(), source };
        let (io, child): (Box<dyn Io>, Option<ChildGuard>) = match channel {
            Channel::Unix(s) => (Box::new(Async::new(s).map_err(io_err)?), None),
            Channel::Child(s, guard) => (Box::new(Async::new(s).map_err(io_err)?), Some(guard)),
            Channel::Tcp(s) if target.transport == Transport::Tls => {
                (Box::new(tls_connect(target, Async::new(s).map_err(io_err)?).await?), None)
            }
            Channel::Tcp(s) => (Box::new(Async::new(s).map_err(io_err)?), None),
        };
        let client = Self::start(io, child, options.clone());
        // Pipelined in two batches (two round trips), except under TLS.
        let mut seq = ConnectSequence::new(Some(target.name.clone()), target.connect_open_flags())
            .pipelined(target.transport != Transport::Tls);
        while !seq.is_done() {
            let mut pending = Vec::with_capacity(3);
            for (spec, args) in seq.next_batch() {
                match client.start_call(spec, args, None) {
                    Ok(p) => pending.push(p),
                    Err(e) => return Err(explained(stderr.as_ref(), e).await),
                }
            }
            for (id, rx) in pending {
                let reply = match client.finish_call(id, rx).await {
                    Ok((body, _)) => Ok(body),
                    Err(Error::Call(e)) => Err(e),
                    Err(other) => return Err(explained(stderr.as_ref(), other).await),
                };
                if let Err(e) = seq.on_reply(reply) {
                    return Err(explained(stderr.as_ref(), e.into()).await);
                }
            }
        }
        let features = seq.features();
        *lock(&client.inner.shared.features) = features;
        if features.keepalive && options.keepalive.is_some() {
            client.send(Cmd::Keepalive(options.keepalive))?;
        }
        Ok(client)
    }

    /// Spawns the driver task on an open byte stream (after any TLS handshake).
    #[must_use]
    pub fn start(io: Box<dyn Io>, child: Option<ChildGuard>, options: ConnectOptions) -> Self {
        let (tx, rx) = channel::unbounded();
        let shared = Arc::new(Shared::default());
        let driver = Driver {
            pump: Pump::new(ClientConnection::new(ClientConfig::default(), Instant::now()), io),
            cmds: Box::pin(rx),
            cmds_open: true,
            waiters: HashMap::new(),
            serials: HashMap::new(),
            streams: HashMap::new(),
            subscribers: Vec::new(),
            stalled: None,
            shared: shared.clone(),
            _child: child,
        };
        let mut driver = driver;
        smol::spawn(async move { smol::future::poll_fn(|cx| driver.poll(cx)).await }).detach();
        Self { inner: Arc::new(Inner { cmds: tx, shared, options, next_id: AtomicU64::new(0) }) }
    }

    pub(crate) fn send(&self, cmd: Cmd) -> Result<(), Error> {
        self.inner.cmds.try_send(cmd).map_err(|_| self.closed_error())
    }

    pub(crate) fn closed_error(&self) -> Error {
        Error::Call(CallError::Closed(self.inner.shared.reason()))
    }

    async fn call_bytes(
        &self,
        spec: CallSpec,
        args: Bytes,
        stream: Option<Sender<StreamItem>>,
    ) -> Result<(Bytes, u32), Error> {
        let (id, rx) = self.start_call(spec, args, stream)?;
        self.finish_call(id, rx).await
    }

    /// Hands a call to the driver; [`Client::finish_call`] waits for its reply.
    fn start_call(
        &self,
        spec: CallSpec,
        args: Bytes,
        stream: Option<Sender<StreamItem>>,
    ) -> Result<(u64, Receiver<CallResult>), Error> {
        let spec = match (self.inner.options.call_timeout, spec.deadline) {
            (Some(t), None) => spec.with_deadline(Instant::now() + t),
            _ => spec,
        };
        let (tx, rx) = channel::bounded(1);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.send(Cmd::Call { id, spec, args, tx, stream })?;
        Ok((id, rx))
    }

    async fn finish_call(&self, id: u64, rx: Receiver<CallResult>) -> Result<(Bytes, u32), Error> {
        // Dropping this future before the reply cancels the call; the core drops a late reply.
        let mut guard = CancelOnDrop { client: self, id: Some(id) };
        let r = rx.recv().await;
        guard.id = None;
        match r {
            Ok(r) => r.map_err(Error::Call),
            Err(_) => Err(self.closed_error()),
        }
    }

    /// Calls any procedure with caller-encoded arguments and returns the raw reply body.
    ///
    /// # Errors
    /// The server's error, a timeout, or the connection closing.
    pub async fn call_raw(&self, spec: CallSpec, args: &[u8]) -> Result<Bytes, Error> {
        Ok(self.call_bytes(spec, Bytes::copy_from_slice(args), None).await?.0)
    }

    /// Calls a generated procedure with typed arguments and decodes its typed reply.
    ///
    /// # Errors
    /// As [`Client::call_raw`], and when the reply does not decode.
    pub async fn call<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        let bytes = proto_core::xdr::to_bytes(args).map_err(CallError::from)?;
        let (body, _) = self.call_bytes(CallSpec::of::<P>(), bytes, None).await?;
        proto_core::xdr::from_bytes(body).map_err(|e| Error::Call(CallError::Decode(e)))
    }

    /// Calls a procedure that opens a stream (a read stream unless `spec` says otherwise);
    /// returns the reply body and the stream.
    ///
    /// # Errors
    /// As [`Client::call_raw`].
    pub async fn call_stream(&self, spec: CallSpec, args: &[u8]) -> Result<(Bytes, Stream), Error> {
        let spec = if spec.stream == StreamDirection::None { spec.with_stream(StreamDirection::Read) } else { spec };
        let (stx, srx) = channel::bounded(16);
        let (body, serial) = self.call_bytes(spec, Bytes::copy_from_slice(args), Some(stx)).await?;
        Ok((body, Stream::new(self.clone(), serial, srx)))
    }

    /// Subscribes to every event (type MESSAGE) the server sends on this connection. The queue
    /// holds [`ConnectOptions::event_queue`] events; when full the oldest is dropped and
    /// counted in [`Subscription::missed`].
    #[must_use]
    pub fn subscribe(&self) -> Subscription {
        let (tx, rx) = channel::bounded(self.inner.options.event_queue.max(1));
        let missed = Arc::new(AtomicU64::new(0));
        let _ = self.send(Cmd::Subscribe(tx, rx.clone(), missed.clone()));
        Subscription::new(rx, missed, self.inner.shared.clone())
    }

    /// Registers on the server for events of `family` with libvirt's event id, for every object
    /// or only `filter`; the [`Registration`] receives exactly its own events, typed, and
    /// deregisters on the server when dropped.
    ///
    /// # Errors
    /// When the server refuses the registration.
    pub async fn register_events<O: proto_core::XdrEncode>(
        &self,
        family: proto_core::events::EventFamily,
        event_id: i32,
        filter: Option<&O>,
    ) -> Result<Registration, Error> {
        let sub = self.subscribe();
        let args = family.register_args(event_id, filter).map_err(proto_core::CallError::from)?;
        let body = self.call_raw(CallSpec::remote(family.register_proc()), &args).await?;
        let kind = proto_core::events::Registration::from_reply(Some(family), body)
            .map_err(|e| Error::Call(proto_core::CallError::Decode(e)))?;
        Ok(Registration { client: self.clone(), kind, sub })
    }

    /// Registers the connection-closed callback; dropping the [`Registration`] unregisters.
    ///
    /// # Errors
    /// When the server refuses.
    pub async fn register_close_callback(&self) -> Result<Registration, Error> {
        let sub = self.subscribe();
        self.call_raw(CallSpec::remote(proto_core::events::REGISTER_CLOSE_CALLBACK), &[]).await?;
        Ok(Registration { client: self.clone(), kind: proto_core::events::Registration::ConnectionClosed, sub })
    }

    /// What the server said it supports during the open sequence.
    #[must_use]
    pub fn features(&self) -> ServerFeatures {
        *lock(&self.inner.shared.features)
    }

    /// Why the connection closed, if it did.
    #[must_use]
    pub fn close_reason(&self) -> Option<ConnectionError> {
        lock(&self.inner.shared.reason).clone()
    }

    /// Replies that came after their call was cancelled or timed out, and were dropped.
    #[must_use]
    pub fn late_replies(&self) -> u64 {
        self.inner.shared.late_replies.load(Ordering::Relaxed)
    }

    /// Calls `REMOTE_PROC_CONNECT_CLOSE`, then closes the connection (after flushing).
    ///
    /// # Errors
    /// When the call fails.
    pub async fn close(&self) -> Result<(), Error> {
        let r = self.call_raw(CallSpec::remote(proto_core::connect::REMOTE_PROC_CONNECT_CLOSE), &[]).await;
        let _ = self.send(Cmd::Close);
        r.map(drop)
    }
}

struct CancelOnDrop<'a> {
    client: &'a Client,
    id: Option<u64>,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let _ = self.client.send(Cmd::Cancel(id));
        }
    }
}

/// TLS, then libvirt's check byte (the verdict and its texts are `proto_core::connect`'s).
async fn tls_connect(target: &RemoteTarget, tcp: Async<TcpStream>) -> Result<impl Io, Error> {
    use proto_core::connect::{check_tls_byte, CheckByteRead, TlsCheckError, TLS_HANDSHAKE_WAIT};
    let pki = transport::tls_client_pki(target)?;
    let presented = pki.presented();
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| Error::Tls(format!("invalid host name '{}': {e}", target.host)))?;
    let tls_err = |e: TlsCheckError| Error::Tls(e.to_string());
    let handshaking = std::sync::atomic::AtomicBool::new(true);
    let handshake = async {
        let mut tls = TlsConnector::from(pki.config.clone()).connect(name, tcp).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                tls_err(TlsCheckError::ClosedInHandshake)
            } else {
                Error::Tls(transport::explain_tls_io_error(&e, target, &pki.paths))
            }
        })?;
        handshaking.store(false, Ordering::Relaxed);
        let mut check = [0u8; 1];
        let read = match tls.read(&mut check).await {
            Ok(1) => CheckByteRead::Byte(check[0]),
            Ok(_) => CheckByteRead::SessionEnded,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => CheckByteRead::ConnectionClosed,
            Err(e) => CheckByteRead::Failed(e.to_string()),
        };
        check_tls_byte(read, presented).map_err(tls_err)?;
        Ok(tls)
    };
    let timeout = async {
        Timer::after(TLS_HANDSHAKE_WAIT).await;
        Err(tls_err(TlsCheckError::Timeout { handshaking: handshaking.load(Ordering::Relaxed) }))
    };
    smol::future::or(handshake, timeout).await
}

struct Subscriber {
    tx: Sender<Event>,
    rx: Receiver<Event>,
    missed: Arc<AtomicU64>,
}

/// The task that owns one connection: commands in, I/O and timer, events out.
struct Driver {
    pump: Pump<ClientConnection>,
    cmds: Pin<Box<Receiver<Cmd>>>,
    cmds_open: bool,
    waiters: HashMap<u32, (u64, Sender<CallResult>)>,
    serials: HashMap<u64, u32>,
    streams: HashMap<u32, Sender<StreamItem>>,
    subscribers: Vec<Subscriber>,
    /// A stream item waiting for room in its (bounded) queue: until it is delivered, the
    /// driver neither reads nor takes events, as libvirt stops reading for a full stream.
    stalled: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    shared: Arc<Shared>,
    _child: Option<ChildGuard>,
}

impl Driver {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        for _ in 0..BUDGET {
            let mut moved = false;
            while this.cmds_open {
                match this.cmds.poll_next(cx) {
                    Poll::Ready(Some(cmd)) => this.command(cmd),
                    Poll::Ready(None) => {
                        // Every handle is gone.
                        this.cmds_open = false;
                        this.pump.core.close(Instant::now());
                    }
                    Poll::Pending => break,
                }
                moved = true;
            }
            if this.stalled.as_mut().is_some_and(|f| f.as_mut().poll(cx).is_ready()) {
                this.stalled = None;
                moved = true;
            }
            moved |= this.pump.poll(cx, this.stalled.is_none());
            while this.stalled.is_none() {
                let Some(ev) = this.pump.core.poll_event() else { break };
                this.event(ev);
                moved = true;
            }
            this.shared.late_replies.store(this.pump.core.late_replies(), Ordering::Relaxed);
            if this.stalled.is_none() && this.pump.finished() {
                // Commands sent while the connection was ending would otherwise wait in the
                // channel forever (the handles keep it alive): close it so later sends fail at
                // once, and answer what is already queued (a call fails with the close reason).
                this.cmds.close();
                while let Ok(cmd) = this.cmds.try_recv() {
                    this.command(cmd);
                }
                return Poll::Ready(());
            }
            if !moved {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        let core = &mut self.pump.core;
        match cmd {
            Cmd::Call { id, spec, args, tx, stream } => match core.call_raw(now, spec, &args) {
                Ok(serial) => {
                    self.waiters.insert(serial, (id, tx));
                    self.serials.insert(id, serial);
                    if let Some(s) = stream {
                        self.streams.insert(serial, s);
                    }
                }
                Err(e) => {
                    let _ = tx.try_send(Err(e));
                }
            },
            Cmd::Cancel(id) => {
                if let Some(serial) = self.serials.remove(&id) {
                    core.cancel(serial);
                    self.waiters.remove(&serial);
                    self.streams.remove(&serial);
                }
            }
            Cmd::Stream(serial, op, ack) => {
                let r = core.stream(serial).map(|mut s| match op {
                    StreamOp::Data(d) => s.send(d),
                    StreamOp::Hole(h) => s.send_hole(h),
                    StreamOp::Finish => s.finish(),
                    StreamOp::Abort => s.abort(),
                });
                match r {
                    Some(Ok(())) => self.pump.when_drained(STREAM_BACKLOG, ack),
                    Some(Err(e)) => drop(ack.try_send(std::io::Error::other(e))),
                    None => drop(ack.try_send(std::io::ErrorKind::BrokenPipe.into())),
                }
            }
            Cmd::Subscribe(tx, rx, missed) => self.subscribers.push(Subscriber { tx, rx, missed }),
            Cmd::Keepalive(k) => core.set_keepalive(now, k),
            Cmd::Close => core.close(now),
        }
    }

    fn answer(&mut self, serial: u32, r: Result<Bytes, CallError>) {
        if let Some((id, tx)) = self.waiters.remove(&serial) {
            self.serials.remove(&id);
            let _ = tx.try_send(r.map(|b| (b, serial)));
        }
    }

    fn route_stream(&mut self, serial: u32, item: StreamItem, last: bool) {
        let tx = if last { self.streams.remove(&serial) } else { self.streams.get(&serial).cloned() };
        if let Some(tx) = tx {
            if let Err(TrySendError::Full(item)) = tx.try_send(item) {
                self.stalled = Some(Box::pin(async move { drop(tx.send(item).await) }));
            }
        }
    }

    fn event(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::Reply { serial, body, .. } => self.answer(serial, Ok(body)),
            ClientEvent::CallFailed { serial, error } => {
                // A call failed by the connection's end: the reason is recorded before the caller
                // wakes, so that `close_reason()` already tells it (the `Closed` event follows).
                if let CallError::Closed(reason) = &error {
                    lock(&self.shared.reason).get_or_insert_with(|| reason.clone());
                }
                self.answer(serial, Err(error));
                self.streams.remove(&serial);
            }
            ClientEvent::Event { prog, proc_, body, .. } => {
                // The driver holds a receiver too: fewer than two means the subscriber is gone.
                self.subscribers.retain(|s| s.tx.receiver_count() > 1);
                for s in &self.subscribers {
                    let mut ev = Event { prog, proc_, body: body.clone() };
                    while let Err(TrySendError::Full(back)) = s.tx.try_send(ev) {
                        // Drop-oldest: the newest state always gets through.
                        let _ = s.rx.try_recv();
                        s.missed.fetch_add(1, Ordering::Relaxed);
                        ev = back;
                    }
                }
            }
            ClientEvent::StreamData { serial, data } => self.route_stream(serial, StreamItem::Data(data), false),
            ClientEvent::StreamHole { serial, hole } => self.route_stream(serial, StreamItem::Hole(hole), false),
            ClientEvent::StreamEof { serial } => self.route_stream(serial, StreamItem::Eof, false),
            ClientEvent::StreamFinished { serial } => self.route_stream(serial, StreamItem::Finished, true),
            ClientEvent::StreamError { serial, error } => self.route_stream(serial, StreamItem::Error(error), true),
            ClientEvent::Closed { reason } => {
                *lock(&self.shared.reason) = Some(reason);
                self.streams.clear();
                self.subscribers.clear();
            }
            _ => {}
        }
    }
}

/// A server-side event registration with its own bounded queue (drop-oldest, see
/// [`Subscription`]). Dropping it deregisters on the server (from a detached task).
#[derive(Debug)]
pub struct Registration {
    client: Client,
    kind: proto_core::events::Registration,
    sub: Subscription,
}

impl Registration {
    /// The `callbackID` the server gave (not for the close callback).
    #[must_use]
    pub fn callback_id(&self) -> Option<i32> {
        self.kind.callback_id()
    }

    /// Waits for this registration's next event.
    ///
    /// # Errors
    /// When the connection closed.
    pub async fn recv(&self) -> Result<proto_core::events::TypedEvent, ConnectionError> {
        loop {
            let ev = self.sub.recv().await?;
            if let Some(Ok(typed)) = ev.typed() {
                if self.kind.accepts(ev.prog, ev.proc_, &typed) {
                    return Ok(typed);
                }
            }
        }
    }

    /// Events dropped because the queue was full.
    #[must_use]
    pub fn missed(&self) -> u64 {
        self.sub.missed()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.client.close_reason().is_some() {
            return;
        }
        let (proc_, args) = self.kind.deregister_call();
        let client = self.client.clone();
        smol::spawn(async move {
            let _ = client.call_raw(CallSpec::remote(proc_), &args).await;
        })
        .detach();
    }
}

/// `e` with what the transport command said (see `CommandStderr::explain`); the wait for its
/// last words blocks, so it runs off the executor.
async fn explained(stderr: Option<&transport::CommandStderr>, e: Error) -> Error {
    match stderr.cloned() {
        Some(s) => smol::unblock(move || s.explain(e)).await,
        None => e,
    }
}
