//! libvirt's remote protocol on smol: [`proto_core`]'s state machines bound to `async-io`
//! sockets and timers. Every protocol decision is the core's; this crate moves bytes and time.
//!
//! - [`Client`]: an async client (`Clone + Send + Sync`). A call polls the connection's socket
//!   from its own task while nobody else does (libvirt's "pass the buck", see `conn.rs`): no
//!   hop to another task or thread per call. One task per connection reads while no call is
//!   made, fires the core's timers (`poll_timeout`) and finishes the connection.
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

mod conn;
mod pump;
pub mod server;
mod stream;
mod tls;

use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use adapter_io::fds::Passed;
use adapter_io::transport::{self, Channel, ChildGuard};
pub use adapter_io::{ConnectOptions, Error, Event, StreamItem};
use bytes::Bytes;
use conn::Conn;
use proto_core::client::CallSpec;
use proto_core::connect::{ConnectSequence, ServerFeatures};
use proto_core::uri::{RemoteTarget, Transport};
use proto_core::{CallError, ConnectionError, KeepaliveConfig, Procedure, StreamDirection, StreamHole};
pub use pump::Io;
use pump::Pump;
use smol::channel::{self, Sender};
use smol::Async;
pub use stream::{Stream, Subscription};

/// How long a connection is idle before its task starts (see [`Inner::task`]).
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);
/// Unsent output above which a stream writer waits (flow control for uploads).
const STREAM_BACKLOG: usize = 4 << 20;

pub(crate) enum StreamOp {
    Data(Bytes),
    Hole(StreamHole),
    Finish,
    Abort,
}

pub(crate) enum Cmd {
    Stream(u32, StreamOp, Sender<std::io::Error>),
    Subscribe(Arc<adapter_io::queue::EventQueue>),
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

struct Inner {
    conn: Arc<Mutex<Conn>>,
    shared: Arc<Shared>,
    options: ConnectOptions,
    /// Whether the connection's task runs: it starts with the first subscription or stream,
    /// the first call with a deadline, or once the connection was idle for a second: a
    /// connection opened and closed at once spawns none, and calls in a row never share the
    /// socket with it (another thread in smol's reactor would hand every reply over).
    task: AtomicBool,
}

impl Inner {
    fn start_task(&self) {
        if !self.task.swap(true, Ordering::AcqRel) {
            let task = self.conn.clone();
            smol::spawn(smol::future::poll_fn(move |cx| lock(&task).poll_task(cx))).detach();
        }
    }
}

impl adapter_io::deferred::Deferred for Inner {
    fn run(self: Arc<Self>) {
        if lock(&self.conn).idle_for() < IDLE {
            adapter_io::deferred::after(IDLE, Arc::downgrade(&self) as _);
        } else {
            self.start_task();
        }
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Drop for Inner {
    /// The last handle is gone: the connection closes (after flushing).
    fn drop(&mut self) {
        lock(&self.conn).command(Cmd::Close);
    }
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
        let target = transport::resolve(uri, options.read_only)?;
        Self::connect_target(&target, options).await
    }

    /// Connects to an already resolved target.
    ///
    /// # Errors
    /// As [`Client::connect`].
    pub async fn connect_target(target: &RemoteTarget, options: &ConnectOptions) -> Result<Self, Error> {
        // The socket path probe, the TCP connect and the ssh/ext command are adapter-io's; all
        // but a unix socket's connect (at once, as libvirt's) may block, so they run off the
        // executor.
        let channel = if target.transport == Transport::Unix {
            transport::open(target)?
        } else {
            let t = target.clone();
            smol::unblock(move || transport::open(&t)).await?
        };
        let stderr = channel.command_stderr();
        let io_err = |source| Error::Io { what: "cannot register the socket".into(), source };
        let (io, child): (Box<dyn Io>, Option<ChildGuard>) = match channel {
            Channel::Unix(s) => (Box::new(Async::new(s).map_err(io_err)?), None),
            Channel::Child(s, guard) => (Box::new(Async::new(s).map_err(io_err)?), Some(guard)),
            Channel::Tcp(s) if target.transport == Transport::Tls => {
                (Box::new(tls::connect(target, Async::new(s).map_err(io_err)?).await?), None)
            }
            Channel::Tcp(s) => (Box::new(Async::new(s).map_err(io_err)?), None),
        };
        let client = Self::start(io, child, options.clone());
        let mut seq = ConnectSequence::for_target(target).offer_keepalive(options.offer_keepalive);
        let opened = async {
            while !seq.is_done() {
                let calls = seq.next_batch().into_iter().map(|(spec, args)| client.start_call(spec, &args, None, None));
                for serial in calls.collect::<Result<Vec<u32>, Error>>()? {
                    adapter_io::open_step(&mut seq, client.finish_call(serial).await.map(|(body, ..)| body))?;
                }
            }
            Ok(seq.features())
        };
        let features = match (opened.await, stderr) {
            (Ok(features), _) => features,
            // With what the transport command said (its last words are waited for off the executor).
            (Err(e), Some(s)) => return Err(smol::unblock(move || s.explain(e)).await),
            (Err(e), None) => return Err(e),
        };
        *lock(&client.inner.shared.features) = features;
        if features.keepalive && options.keepalive.is_some() {
            client.send(Cmd::Keepalive(options.keepalive))?;
        }
        Ok(client)
    }

    /// Starts the connection's task on an open byte stream (after any TLS handshake).
    #[must_use]
    pub fn start(io: Box<dyn Io>, child: Option<ChildGuard>, options: ConnectOptions) -> Self {
        let shared = Arc::new(Shared::default());
        let pump = Pump::client(io, options.busy_poll);
        let conn = Arc::new(Mutex::new(Conn::new(pump, shared.clone(), child)));
        let inner = Arc::new(Inner { conn, shared, options, task: AtomicBool::new(false) });
        adapter_io::deferred::after(IDLE, Arc::downgrade(&inner) as _);
        Self { inner }
    }

    /// Applies a command (stream operations, subscriptions, keepalive, close).
    pub(crate) fn send(&self, cmd: Cmd) -> Result<(), Error> {
        let mut conn = lock(&self.inner.conn);
        if conn.done {
            return Err(self.closed_error());
        }
        conn.command(cmd);
        Ok(())
    }

    pub(crate) fn closed_error(&self) -> Error {
        Error::Call(CallError::Closed(self.inner.shared.reason()))
    }

    async fn call_bytes(
        &self,
        spec: CallSpec,
        args: &[u8],
        stream: Option<Sender<StreamItem>>,
    ) -> Result<(Bytes, u32, Vec<OwnedFd>), Error> {
        let serial = self.start_call(spec, args, stream, None)?;
        self.finish_call(serial).await
    }

    /// Queues a call (passing `fd` after it); [`Client::finish_call`] waits for its reply.
    fn start_call(
        &self,
        spec: CallSpec,
        args: &[u8],
        stream: Option<Sender<StreamItem>>,
        fd: Option<Passed>,
    ) -> Result<u32, Error> {
        let spec = match (self.inner.options.call_timeout, spec.deadline) {
            (Some(t), None) => spec.with_deadline(Instant::now() + t),
            _ => spec,
        };
        if spec.deadline.is_some() {
            // The task fires the core's timers.
            self.inner.start_task();
        }
        let mut conn = lock(&self.inner.conn);
        if conn.done {
            return Err(self.closed_error());
        }
        conn.start_call(spec, args, stream, fd)
    }

    /// Waits for the reply to `serial`, doing the connection's I/O while nobody else does (see
    /// [`conn`]). Dropping the future before the reply cancels the call; the core drops a late
    /// reply.
    async fn finish_call(&self, serial: u32) -> Result<(Bytes, u32, Vec<OwnedFd>), Error> {
        let guard = adapter_io::OnDrop::new(|| lock(&self.inner.conn).cancel(serial));
        let r = smol::future::poll_fn(|cx| lock(&self.inner.conn).poll_call(cx, serial)).await;
        guard.defuse();
        r.map_or_else(|| Err(self.closed_error()), |r| r.map_err(Error::Call))
    }

    /// Calls any procedure with caller-encoded arguments and returns the raw reply body.
    ///
    /// # Errors
    /// The server's error, a timeout, or the connection closing.
    pub async fn call_raw(&self, spec: CallSpec, args: &[u8]) -> Result<Bytes, Error> {
        Ok(self.call_bytes(spec, args, None).await?.0)
    }

    /// Calls a generated procedure with typed arguments and decodes its typed reply.
    ///
    /// # Errors
    /// As [`Client::call_raw`], and when the reply does not decode.
    pub async fn call<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        let bytes = proto_core::xdr::to_bytes(args).map_err(CallError::from)?;
        let (body, ..) = self.call_bytes(CallSpec::of::<P>(), &bytes, None).await?;
        proto_core::xdr::from_bytes(body).map_err(|e| Error::Call(CallError::Decode(e)))
    }

    /// Calls a procedure, as `VIR_NET_CALL_WITH_FDS` passing `fd` after the message when there
    /// is one (unix sockets only: elsewhere the call fails and the connection closes, as
    /// libvirt's), and returns the reply body with the descriptors the reply carried
    /// (`VIR_NET_REPLY_WITH_FDS`, received on unix sockets only).
    ///
    /// # Errors
    /// As [`Client::call_raw`]; `Io` when the descriptor cannot be passed.
    pub async fn call_fds(
        &self,
        spec: CallSpec,
        args: &[u8],
        fd: Option<RawFd>,
    ) -> Result<(Bytes, Vec<OwnedFd>), Error> {
        let fd = fd.map(Passed::dup).transpose().map_err(adapter_io::fds::pass_error)?;
        let serial = self.start_call(spec, args, None, fd)?;
        self.finish_call(serial).await.map(|(body, _, fds)| (body, fds))
    }

    /// Calls a procedure that opens a stream (a read stream unless `spec` says otherwise);
    /// returns the reply body and the stream.
    ///
    /// # Errors
    /// As [`Client::call_raw`].
    pub async fn call_stream(&self, spec: CallSpec, args: &[u8]) -> Result<(Bytes, Stream), Error> {
        let spec = if spec.stream == StreamDirection::None { spec.with_stream(StreamDirection::Read) } else { spec };
        let (stx, srx) = channel::bounded(16);
        self.inner.start_task();
        let (body, serial, _) = self.call_bytes(spec, args, Some(stx)).await?;
        Ok((body, Stream::new(self.clone(), serial, srx)))
    }

    /// Subscribes to every event (type MESSAGE) the server sends on this connection. The queue
    /// holds [`ConnectOptions::event_queue`] events; when full the oldest is dropped and
    /// counted in [`Subscription::missed`].
    #[must_use]
    pub fn subscribe(&self) -> Subscription {
        self.inner.start_task();
        let queue = adapter_io::queue::EventQueue::new(self.inner.options.event_queue);
        if self.send(Cmd::Subscribe(queue.clone())).is_err() {
            queue.push(Err(self.inner.shared.reason()));
        }
        Subscription(adapter_io::queue::Subscription::new(queue))
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
        let kind = proto_core::events::Registration::from_reply(Some(family), body).map_err(CallError::Decode)?;
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
        let close = CallSpec::remote(proto_core::connect::REMOTE_PROC_CONNECT_CLOSE);
        let r = match self.start_call(close, &[], None, None) {
            Ok(serial) => self.finish_call(serial).await.map(drop),
            Err(e) => Err(e),
        };
        let _ = self.send(Cmd::Close);
        r
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
        smol::future::poll_fn(|cx| self.sub.0.poll_registered(cx, &self.kind)).await
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
