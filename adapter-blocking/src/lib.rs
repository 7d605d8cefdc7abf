//! libvirt's remote protocol for blocking programs: [`proto_core`]'s client state machine bound
//! to std sockets. A call writes itself and reads its own reply when no other thread is reading
//! (libvirt's "pass the buck", see `conn.rs`); one background thread per connection reads while
//! no call is in flight (events, stream data, keepalive). Every protocol decision is the core's;
//! this crate moves bytes and time.
//!
//! [`Client`] is `Send + Sync` and cheap to clone: any number of threads can have calls in
//! flight on one connection at once. The core's lock is never held across a socket read or
//! write.
//!
//! ```no_run
//! use adapter_blocking::{Client, ConnectOptions};
//! let client = Client::connect("test+tcp://127.0.0.1/default", &ConnectOptions::default()).unwrap();
//! // REMOTE_PROC_CONNECT_GET_HOSTNAME (59): void → remote_nonnull_string.
//! let body = client.call_raw(proto_core::client::CallSpec::remote(59), &[]).unwrap();
//! let host: proto_core::XdrString = proto_core::xdr::from_bytes(body).unwrap();
//! println!("{host}");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod conn;
mod poll;
pub mod server;

use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::connect::{ConnectSequence, ServerFeatures};
use proto_core::events::{self, EventFamily, TypedEvent};
use proto_core::uri::{RemoteTarget, Transport};
use proto_core::{CallError, ClientConfig, ClientConnection, ConnectionError, Procedure, StreamDirection, StreamHole};

use transport::Channel;

use adapter_io::{queue::EventQueue, StreamCursor};
/// Errors, options, events and stream items are adapter-io's, shared with adapter-smol.
pub use adapter_io::{queue::Subscription, transport, ConnectOptions, Error, Event, StreamItem};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Inner {
    shared: Arc<conn::Shared>,
    channel: Channel,
    options: ConnectOptions,
    features: Mutex<ServerFeatures>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.close();
        self.channel.shutdown();
    }
}

/// A connection to a libvirt daemon. Clone it to share it between threads.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Connects as libvirt's remote driver does: picks the transport from the URI (honouring
    /// `LIBVIRT_DEFAULT_URI` when `uri` is empty), opens it, runs the open sequence and turns
    /// keepalive on when the server supports it.
    ///
    /// # Errors
    /// When the URI is invalid, the transport cannot be opened, or the server refuses.
    pub fn connect(uri: &str, options: &ConnectOptions) -> Result<Self, Error> {
        let target = transport::resolve(uri, options.read_only)?;
        Self::connect_target(&target, options)
    }

    /// Connects to an already resolved target.
    ///
    /// # Errors
    /// As [`Client::connect`].
    pub fn connect_target(target: &RemoteTarget, options: &ConnectOptions) -> Result<Self, Error> {
        let channel = transport::open(target)?;
        let tls = if target.transport == Transport::Tls {
            Some(transport::tls_client_handshake(target, &channel)?)
        } else {
            None
        };
        Self::open(channel, tls, ConnectSequence::for_target(target).offer_keepalive(options.offer_keepalive), options)
    }

    /// Runs the open sequence over a channel the caller already has (e.g. one end of a socket
    /// pair whose other end an in-process server serves): `name` and `flags` go into
    /// `REMOTE_PROC_CONNECT_OPEN`.
    ///
    /// # Errors
    /// As [`Client::connect`].
    pub fn connect_channel(
        channel: Channel,
        name: Option<String>,
        flags: u32,
        options: &ConnectOptions,
    ) -> Result<Self, Error> {
        Self::open(channel, None, ConnectSequence::new(name, flags), options)
    }

    fn open(
        channel: Channel,
        tls: Option<rustls::ClientConnection>,
        mut seq: ConnectSequence,
        options: &ConnectOptions,
    ) -> Result<Self, Error> {
        let stderr = channel.command_stderr();
        let explain = |e: Error| match &stderr {
            Some(s) => s.explain(e),
            None => e,
        };
        let client = Self::start(channel, tls, options.clone()).map_err(explain)?;
        while !seq.is_done() {
            let calls = seq.next_batch().into_iter().map(|(spec, args)| client.start_call(spec, &args, None, false));
            let serials = calls.collect::<Result<Vec<u32>, Error>>().map_err(explain)?;
            client.inner.shared.flush();
            for serial in serials {
                adapter_io::open_step(&mut seq, client.wait(serial).map(|(body, _)| body)).map_err(explain)?;
            }
        }
        let features = seq.features();
        *lock(&client.inner.features) = features;
        if features.keepalive && options.keepalive.is_some() {
            client.inner.shared.with(|st| st.conn.set_keepalive(Instant::now(), options.keepalive));
        }
        Ok(client)
    }

    /// Starts the connection on an open channel, with its background reader (see [`conn`]).
    fn start(channel: Channel, tls: Option<rustls::ClientConnection>, options: ConnectOptions) -> Result<Self, Error> {
        let io = |e| Error::Io { what: "cannot clone the socket".into(), source: e };
        let read = channel.try_clone_stream().map_err(io)?;
        let write = channel.try_clone_stream().map_err(io)?;
        let config = ClientConfig::default().with_fd_passing(matches!(read, transport::Stream::Unix(_)));
        let busy = adapter_io::busy_poll::BusyPoll::new(options.busy_poll);
        let shared = conn::Shared::new(ClientConnection::new(config, Instant::now()), tls, read, write, busy);
        let weak: std::sync::Weak<dyn adapter_io::deferred::Deferred> = Arc::downgrade(&shared) as _;
        adapter_io::deferred::after(Duration::from_secs(1), weak);
        Ok(Self {
            inner: Arc::new(Inner { shared, channel, options, features: Mutex::new(ServerFeatures::default()) }),
        })
    }

    /// What the server said it supports during the open sequence.
    #[must_use]
    pub fn features(&self) -> ServerFeatures {
        *lock(&self.inner.features)
    }

    fn start_call(
        &self,
        spec: CallSpec,
        args: &[u8],
        stream: Option<Sender<StreamItem>>,
        flush: bool,
    ) -> Result<u32, Error> {
        // The deadline is the core's to enforce.
        let spec = match (self.inner.options.call_timeout, spec.deadline) {
            (Some(t), None) => spec.with_deadline(Instant::now() + t),
            _ => spec,
        };
        Ok(self.inner.shared.start_call(spec, args, stream, flush)?)
    }

    fn wait(&self, serial: u32) -> Result<(Bytes, Vec<std::os::fd::OwnedFd>), Error> {
        self.inner.shared.wait(serial).map_err(Error::Call)
    }

    /// Calls any procedure with caller-encoded arguments and returns the raw reply body (the
    /// escape hatch for procedures this crate has no type for).
    ///
    /// # Errors
    /// The server's error, a timeout, or the connection closing.
    pub fn call_raw(&self, spec: CallSpec, args: &[u8]) -> Result<Bytes, Error> {
        self.inner.shared.start_reader();
        let serial = self.start_call(spec, args, None, true)?;
        self.wait(serial).map(|(body, _)| body)
    }

    /// Calls a procedure, as `VIR_NET_CALL_WITH_FDS` passing `fd` after the message when there
    /// is one (unix sockets only: elsewhere the call fails and the connection closes, as
    /// libvirt's), and returns the reply body with the descriptors the reply carried
    /// (`VIR_NET_REPLY_WITH_FDS`, received on unix sockets only).
    ///
    /// # Errors
    /// As [`Client::call_raw`]; `Io` when the descriptor cannot be passed.
    pub fn call_fds(
        &self,
        spec: CallSpec,
        args: &[u8],
        fd: Option<std::os::fd::RawFd>,
    ) -> Result<(Bytes, Vec<std::os::fd::OwnedFd>), Error> {
        self.inner.shared.start_reader();
        let serial = match fd {
            Some(fd) => self.inner.shared.start_call_fd(spec.with_fds(1), args, fd)?,
            None => self.start_call(spec, args, None, true)?,
        };
        self.wait(serial)
    }

    /// Calls a generated procedure with typed arguments and decodes its typed reply.
    ///
    /// # Errors
    /// As [`Client::call_raw`], and when the reply does not decode.
    pub fn call<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        let bytes = proto_core::xdr::to_bytes(args).map_err(CallError::from)?;
        let body = self.call_raw(CallSpec::of::<P>(), &bytes)?;
        proto_core::xdr::from_bytes(body).map_err(|e| Error::Call(CallError::Decode(e)))
    }

    /// Calls a procedure that opens a stream; returns the reply body and the stream.
    ///
    /// # Errors
    /// As [`Client::call_raw`].
    pub fn call_stream(&self, spec: CallSpec, args: &[u8]) -> Result<(Bytes, StreamHandle), Error> {
        let spec = if spec.stream == StreamDirection::None { spec.with_stream(StreamDirection::Read) } else { spec };
        let (stx, srx) = mpsc::channel();
        self.inner.shared.start_reader();
        let serial = self.start_call(spec, args, Some(stx), true)?;
        let (body, _) = self.wait(serial)?;
        Ok((body, StreamHandle { client: self.clone(), serial, rx: srx, cursor: StreamCursor::default(), done: false }))
    }

    /// Subscribes to every event (type MESSAGE) the server sends on this connection. Register
    /// interest on the server with the event-register procedures; dropping the subscription
    /// stops delivery to it.
    #[must_use]
    pub fn subscribe(&self) -> Subscription {
        let queue = EventQueue::new(self.inner.options.event_queue);
        self.inner.shared.start_reader();
        self.inner.shared.subscribe(queue.clone());
        Subscription::new(queue)
    }

    /// Registers on the server for events of `family` with libvirt's event id (e.g.
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE` = 0), for every object or only `filter` (the family's
    /// `remote_nonnull_*` handle). The returned [`Registration`] receives exactly this
    /// registration's events, typed; dropping it deregisters on the server.
    ///
    /// # Errors
    /// When the server refuses the registration.
    pub fn register_events<O: proto_core::XdrEncode>(
        &self,
        family: EventFamily,
        event_id: i32,
        filter: Option<&O>,
    ) -> Result<Registration, Error> {
        let sub = self.subscribe();
        let args = family.register_args(event_id, filter).map_err(CallError::from)?;
        let body = self.call_raw(CallSpec::remote(family.register_proc()), &args)?;
        let kind =
            events::Registration::from_reply(Some(family), body).map_err(|e| Error::Call(CallError::Decode(e)))?;
        Ok(Registration { client: self.clone(), kind, sub })
    }

    /// Registers the connection-closed callback (`REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK`):
    /// the [`Registration`] receives `REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED` when the
    /// server closes the connection on purpose; dropping it unregisters.
    ///
    /// # Errors
    /// When the server refuses.
    pub fn register_close_callback(&self) -> Result<Registration, Error> {
        let sub = self.subscribe();
        self.call_raw(CallSpec::remote(events::REGISTER_CLOSE_CALLBACK), &[])?;
        Ok(Registration { client: self.clone(), kind: events::Registration::ConnectionClosed, sub })
    }

    /// Why the connection closed, if it did.
    #[must_use]
    pub fn close_reason(&self) -> Option<ConnectionError> {
        lock(&self.inner.shared.state).conn.close_reason().cloned()
    }

    /// Calls `REMOTE_PROC_CONNECT_CLOSE` and closes the connection.
    ///
    /// # Errors
    /// When the call fails.
    pub fn close(&self) -> Result<(), Error> {
        let close = CallSpec::remote(proto_core::connect::REMOTE_PROC_CONNECT_CLOSE);
        let r = self.start_call(close, &[], None, true).and_then(|serial| self.wait(serial));
        self.inner.shared.close();
        self.inner.channel.shutdown();
        r.map(|_| ())
    }
}

/// A server-side event registration with its own bounded queue (drop-oldest, see
/// [`Subscription`]). Dropping it deregisters on the server.
#[derive(Debug)]
pub struct Registration {
    client: Client,
    kind: events::Registration,
    sub: Subscription,
}

impl Registration {
    /// The `callbackID` the server gave (not for the close callback).
    #[must_use]
    pub fn callback_id(&self) -> Option<i32> {
        self.kind.callback_id()
    }

    /// Waits at most `timeout` for this registration's next event; `None` on timeout,
    /// `Some(Err)` once the connection closed.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<TypedEvent, ConnectionError>> {
        self.sub.recv_registered(timeout, &self.kind)
    }

    /// Waits for this registration's next event.
    ///
    /// # Errors
    /// When the connection closed.
    pub fn recv(&self) -> Result<TypedEvent, ConnectionError> {
        // Without a deadline the wait ends only with an event or the close.
        self.sub.recv_registered(Duration::MAX, &self.kind).unwrap_or(Err(ConnectionError::LocallyClosed))
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
        let _ = self.client.call_raw(CallSpec::remote(proc_), &args);
    }
}

/// A stream opened by a call: read it (read streams) or write it (write streams).
///
/// `Read` expands sparse holes into zeros; use [`StreamHandle::recv`] to see them as holes.
#[derive(Debug)]
pub struct StreamHandle {
    client: Client,
    serial: u32,
    rx: Receiver<StreamItem>,
    cursor: StreamCursor,
    done: bool,
}

impl StreamHandle {
    /// The serial of the call that opened the stream.
    #[must_use]
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The next item from the server; `None` once the stream is over.
    pub fn recv(&mut self) -> Option<StreamItem> {
        let item = if self.done { None } else { self.rx.recv().ok() };
        self.took(item)
    }

    /// The next item if [`StreamHandle::recv`] would not block: `Some(None)` once the stream
    /// is over, `None` while nothing has arrived.
    pub fn try_recv(&mut self) -> Option<Option<StreamItem>> {
        let r = if self.done { Err(mpsc::TryRecvError::Disconnected) } else { self.rx.try_recv() };
        (!matches!(r, Err(mpsc::TryRecvError::Empty))).then(|| self.took(r.ok()))
    }

    fn took(&mut self, item: Option<StreamItem>) -> Option<StreamItem> {
        if let Some(StreamItem::Data(d)) = &item {
            self.client.inner.shared.stream_bytes.fetch_sub(d.len(), Ordering::AcqRel);
        }
        if matches!(item, None | Some(StreamItem::Finished | StreamItem::Error(_))) {
            self.done = true;
        }
        item
    }

    fn send_with(
        &self,
        f: impl FnOnce(&mut proto_core::client::ClientStream<'_>) -> Result<(), proto_core::client::StreamError>,
    ) -> io::Result<()> {
        self.client.inner.shared.with(|st| match st.conn.stream(self.serial) {
            Some(mut s) => f(&mut s).map_err(io::Error::other),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "the stream is closed")),
        })
    }

    /// Sends a sparse hole.
    ///
    /// # Errors
    /// When the stream is closed.
    pub fn send_hole(&mut self, length: i64) -> io::Result<()> {
        self.send_with(|s| s.send_hole(StreamHole { length, flags: 0 }))?;
        self.client.inner.shared.wait_written();
        Ok(())
    }

    /// Sends data without copying it again.
    ///
    /// # Errors
    /// When the stream is closed.
    pub fn send(&mut self, data: Bytes) -> io::Result<()> {
        self.send_with(|s| s.send(data))?;
        // Back-pressure: wait while the socket lags behind.
        self.client.inner.shared.wait_written();
        Ok(())
    }

    /// Finishes the stream and waits for the server's confirmation.
    ///
    /// # Errors
    /// When the server reports an error or the connection closes.
    pub fn finish(mut self) -> Result<(), Error> {
        self.end(true)
    }

    /// Aborts the stream and waits for the server's confirmation.
    ///
    /// # Errors
    /// When the connection closes.
    pub fn abort(mut self) -> Result<(), Error> {
        self.end(false)
    }

    fn end(&mut self, finish: bool) -> Result<(), Error> {
        self.send_with(|s| if finish { s.finish() } else { s.abort() })
            .map_err(|e| Error::Io { what: "cannot end the stream".into(), source: e })?;
        while let Some(item) = self.recv() {
            match item {
                StreamItem::Finished => return Ok(()),
                StreamItem::Error(e) => return Err(Error::Call(CallError::Remote(e))),
                _ => {}
            }
        }
        Err(Error::Call(CallError::Closed(self.client.close_reason().unwrap_or(ConnectionError::PeerClosed))))
    }
}

impl Read for StreamHandle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = self.cursor.read(buf) {
                return Ok(n);
            }
            let item = self.recv();
            if !self.cursor.take(item)? {
                return Ok(0);
            }
        }
    }
}

impl Write for StreamHandle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(Bytes::copy_from_slice(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
