//! The client connection's engine: libvirt's "pass the buck" (`virNetClientIO` in
//! `src/rpc/virnetclient.c`) on std sockets.
//!
//! A caller writes its own call (whoever holds the writer writes everything queued, in order)
//! and, while it waits for the reply, reads the socket itself when nobody else does: the read
//! half and the read buffer are "the buck" ([`State::reader`]); whoever holds it feeds
//! everything it reads into the core and hands each reply, event and stream packet to its
//! owner. When the holder's own reply came and other callers still wait, it wakes one of them
//! to take the buck over: a thread hop only when several callers wait. Waiting callers sleep on
//! adapter-io's `Sleeper`, woken through a socket: the scheduler then runs them on the waker's
//! CPU, next to the client's other threads and away from the daemon's (see `wake`).
//!
//! One background thread reads while no call is in flight (events, stream data, keepalive),
//! and stays out of the way for [`GRACE`] after the last call, so that calls in a row never hop
//! to it. It starts with the first call, subscription or stream, or a second after the open
//! (adapter-io's `deferred`), whichever comes first: a connection opened and closed at once
//! starts no thread.
//!
//! Every protocol decision (deadlines, keepalive, what a frame means) is the core's; this
//! module moves bytes and time.

use std::collections::HashMap;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::{CallError, ClientConnection, ConnectionError};

use crate::transport::Stream;
use adapter_io::busy_poll::{BusyPoll, CallWait, Spin};
use adapter_io::wake::{Sleeper, WakeList};
use adapter_io::{fds::Received, queue::EventQueue, Delivery};

use crate::{lock, StreamItem};

/// A call's outcome: the reply body and the descriptors it carried.
pub(crate) type CallResult = Result<(Bytes, Vec<OwnedFd>), CallError>;

/// How long after the last call the background reader stays away from the socket.
const GRACE: Duration = Duration::from_millis(20);
/// How often the background reader looks while calls are made and nobody waits for events or
/// stream data (it then only answers keepalive, which has seconds): waking every [`GRACE`] cost
/// sequential calls 3–4% on a quiet machine.
const CALLS_NAP: Duration = Duration::from_millis(250);
/// The longest a read blocks before the reader looks at the clock again.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// Stream data queued for readers, across a connection's streams, above which the background
/// reader stops reading the socket (libvirt's back-pressure). Callers always read: their reply
/// may sit behind the stream data.
const STREAM_BUDGET: usize = 16 << 20;
/// How far stream senders may run ahead of the socket.
pub(crate) const WRITE_BACKLOG_MAX: usize = 4 << 20;

/// Releases the state, then wakes the callers its holder's work answered (adapter-io's `wake`).
fn unlock(st: MutexGuard<'_, State>) {
    adapter_io::wake::unlock(st, |st| &mut st.to_wake);
}

struct Waiter {
    result: Option<CallResult>,
    /// Where its thread sleeps: the calling thread's (a call is made and waited for on one
    /// thread), so one per thread, not per call.
    wake: Arc<Sleeper>,
    /// Whether its thread sleeps on `wake` (a notification is a system call: only then).
    sleeping: bool,
    /// Whether its thread spins for the reply once it reads (adapter-io's `busy_poll`).
    call: CallWait,
}

impl Waiter {
    /// Queues its thread's wake-up for [`unlock`] (a notification is a system call: only when
    /// the thread sleeps).
    fn wake(&self, to_wake: &mut WakeList) {
        if self.sleeping {
            to_wake.push(&self.wake);
        }
    }
}

/// The socket's read half and the read buffer: whoever holds them reads.
pub(crate) struct Reader {
    stream: Stream,
    buf: Box<[u8]>,
    /// The descriptors the last read brought (unix sockets).
    got: Vec<OwnedFd>,
    /// The read timeout set on the socket. It is changed only when a deadline is nearer than it
    /// (or far above it), not before every read.
    timeout: Option<Duration>,
}

impl Reader {
    fn arm(&mut self, deadline: Option<Instant>, now: Instant) {
        let want =
            deadline.map_or(MAX_WAIT, |d| d.saturating_duration_since(now)).clamp(Duration::from_millis(1), MAX_WAIT);
        if self.timeout.is_none_or(|t| want < t || want > t * 4) && self.stream.set_read_timeout(Some(want)).is_ok() {
            self.timeout = Some(want);
        }
    }
}

struct Writer {
    stream: Stream,
    batch: Vec<Bytes>,
}

pub(crate) struct State {
    pub(crate) conn: ClientConnection,
    tls: Option<rustls::ClientConnection>,
    /// Descriptors received for replies not handed out yet.
    fds: Received,
    /// `None` while a thread reads (it holds the buck).
    reader: Option<Reader>,
    waiters: HashMap<u32, Waiter>,
    /// Sleeping callers to wake once the lock is released ([`unlock`]).
    to_wake: WakeList,
    pub(crate) streams: HashMap<u32, Sender<StreamItem>>,
    pub(crate) subscribers: Vec<Arc<EventQueue>>,
    last_call: Instant,
    /// When bytes last came from the socket.
    last_input: Instant,
    /// Whether a caller waiting for its reply spins before it sleeps (adapter-io's `busy_poll`).
    busy: BusyPoll,
}

/// One connection's state and I/O, shared by every handle and the background reader.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    writer: Mutex<Writer>,
    /// Set by whoever queued output; cleared by the writer that takes it.
    flush_wanted: AtomicBool,
    /// Wakes stream senders waiting for the socket to take their data.
    written: Condvar,
    /// Stream senders waiting on `written`.
    written_waiters: AtomicUsize,
    /// Wakes the background reader (the connection closed).
    idle: Condvar,
    /// Stream data delivered to stream handles and not yet taken by their readers.
    pub(crate) stream_bytes: AtomicUsize,
    /// Whether the background reader runs (it starts with the first call, subscription or
    /// stream, or a second after the open: a connection opened and closed at once has none).
    reader_started: AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        conn: ClientConnection,
        tls: Option<rustls::ClientConnection>,
        read: Stream,
        write: Stream,
        busy: BusyPoll,
    ) -> Arc<Self> {
        let buf = vec![0; 256 * 1024].into_boxed_slice();
        let reader = Reader { stream: read, buf, got: Vec::new(), timeout: None };
        let state = State {
            conn,
            tls,
            fds: Received::default(),
            reader: Some(reader),
            waiters: HashMap::new(),
            to_wake: WakeList::default(),
            streams: HashMap::new(),
            subscribers: Vec::new(),
            last_call: Instant::now(),
            last_input: Instant::now(),
            busy,
        };
        Arc::new(Self {
            state: Mutex::new(state),
            writer: Mutex::new(Writer { stream: write, batch: Vec::new() }),
            flush_wanted: AtomicBool::new(false),
            written: Condvar::new(),
            written_waiters: AtomicUsize::new(0),
            idle: Condvar::new(),
            stream_bytes: AtomicUsize::new(0),
            reader_started: AtomicBool::new(false),
        })
    }

    /// Runs `f` on the state, hands out what it produced, and writes what it queued.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = lock(&self.state);
        let r = f(&mut st);
        st.dispatch(&self.stream_bytes);
        unlock(st);
        self.flush();
        r
    }

    /// Queues a call (and registers its stream) and writes it (unless `flush` is false: the
    /// caller queues more and flushes once).
    pub(crate) fn start_call(
        &self,
        spec: CallSpec,
        args: &[u8],
        stream: Option<Sender<StreamItem>>,
        flush: bool,
    ) -> Result<u32, CallError> {
        let streaming = stream.is_some();
        let serial = lock(&self.state).queue_call(spec, args, stream)?;
        if streaming {
            self.idle.notify_all(); // back to short naps
        }
        if flush {
            self.flush();
        }
        Ok(serial)
    }

    /// Queues a call announcing one descriptor and writes it, last of what is queued, with
    /// `fd` right behind it (nothing may come between the message and the descriptor's
    /// carrier byte). A failure closes the connection, as libvirt's client does.
    pub(crate) fn start_call_fd(&self, spec: CallSpec, args: &[u8], fd: RawFd) -> Result<u32, crate::Error> {
        let mut w = lock(&self.writer);
        let Writer { stream, batch } = &mut *w;
        let serial =
            self.with(|st| st.queue_call(spec, args, None).inspect(|_| batch.extend(st.conn.drain_transmit())))?;
        adapter_io::fds::write_with_fd(stream, batch, fd).inspect_err(|_| self.close())?;
        drop(w);
        self.flush();
        Ok(serial)
    }

    /// Waits for the reply to `serial`, reading the socket itself while nobody else does.
    pub(crate) fn wait(&self, serial: u32) -> CallResult {
        let mut st = lock(&self.state);
        loop {
            let Some(w) = st.waiters.get_mut(&serial) else {
                let reason = st.conn.close_reason().cloned().unwrap_or(ConnectionError::LocallyClosed);
                unlock(st);
                return Err(CallError::Closed(reason));
            };
            if let Some(r) = w.result.take() {
                let call = w.call;
                st.waiters.remove(&serial);
                st.last_call = call.done(&mut st.busy);
                st.hand_over();
                unlock(st);
                return r;
            }
            let wake = w.wake.clone();
            st = match st.reader.take() {
                Some(reader) => {
                    let State { waiters, busy, last_input, .. } = &mut *st;
                    let spin = waiters.get_mut(&serial).and_then(|w| w.call.spin_until(busy, true));
                    let spin = busy.reading(spin, waiters.values().any(|w| w.sleeping), *last_input);
                    self.read_once(st, reader, spin)
                }
                None => {
                    if let Some(w) = st.waiters.get_mut(&serial) {
                        w.sleeping = true;
                    }
                    unlock(st);
                    wake.sleep();
                    let mut st = lock(&self.state);
                    if let Some(w) = st.waiters.get_mut(&serial) {
                        w.sleeping = false;
                    }
                    st
                }
            };
        }
    }

    /// One read with the buck held (spinning until `spin` first: a caller waiting for its reply,
    /// when that pays, adapter-io's `busy_poll`): feeds the core, fires its timers, hands out
    /// what came.
    fn read_once(&self, st: MutexGuard<'_, State>, mut reader: Reader, spin: Option<Spin>) -> MutexGuard<'_, State> {
        reader.arm(st.conn.poll_timeout(), Instant::now());
        unlock(st);
        let r = adapter_io::busy_poll::read(&mut reader.stream, &mut reader.buf, &mut reader.got, spin);
        let now = Instant::now();
        let mut st = lock(&self.state);
        match r {
            Ok(0) => st.conn.handle_eof(now),
            Ok(n) => st.input(now, &reader.buf[..n], &mut reader.got),
            Err(e) if adapter_io::busy_poll::nothing_read(&e) => {}
            Err(_) => st.conn.handle_eof(now),
        }
        st.conn.handle_timeout(now);
        st.reader = Some(reader);
        st.dispatch(&self.stream_bytes);
        if st.conn.wants_write() {
            unlock(st);
            self.flush();
            st = lock(&self.state);
        }
        st
    }

    /// Writes what the core queued, unless another thread is writing (it takes ours too).
    pub(crate) fn flush(&self) {
        self.flush_wanted.store(true, Ordering::SeqCst);
        loop {
            let mut w = match self.writer.try_lock() {
                Ok(w) => w,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            };
            while self.flush_wanted.swap(false, Ordering::SeqCst) {
                let Writer { stream, batch } = &mut *w;
                lock(&self.state).output(batch);
                if batch.is_empty() {
                    continue;
                }
                if adapter_io::transport::write_all_vectored(stream, batch).is_err() {
                    batch.clear();
                    let mut st = lock(&self.state);
                    st.conn.handle_eof(Instant::now());
                    st.dispatch(&self.stream_bytes);
                    unlock(st);
                }
                if self.written_waiters.load(Ordering::SeqCst) > 0 {
                    self.written.notify_all();
                }
            }
            drop(w);
            if !self.flush_wanted.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    /// Waits until at most [`WRITE_BACKLOG_MAX`] bytes wait to be written (back-pressure for
    /// stream senders) or the connection closed.
    pub(crate) fn wait_written(&self) {
        loop {
            self.flush();
            let st = lock(&self.state);
            if st.conn.transmit_buffered() <= WRITE_BACKLOG_MAX || st.conn.is_closed() {
                return;
            }
            self.written_waiters.fetch_add(1, Ordering::SeqCst);
            drop(self.written.wait_timeout(st, Duration::from_millis(10)));
            self.written_waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Adds an event subscriber (the background reader is woken to take short naps again).
    pub(crate) fn subscribe(&self, queue: Arc<EventQueue>) {
        self.with(|st| st.subscribers.push(queue));
        self.idle.notify_all();
    }

    /// Closes locally and wakes every thread that waits on the connection.
    pub(crate) fn close(&self) {
        self.with(|st| st.conn.close(Instant::now()));
        self.idle.notify_all();
    }

    /// Starts the background reader, once.
    pub(crate) fn start_reader(self: &Arc<Self>) {
        let s2 = self.clone();
        adapter_io::deferred::spawn_once(&self.reader_started, "libvirt-reader", move || s2.background());
    }

    /// The background reader: reads while no call is in flight, until the connection closes.
    fn background(&self) {
        let mut st = lock(&self.state);
        while !st.conn.is_closed() {
            let now = Instant::now();
            let busy = !st.waiters.is_empty() || now < st.last_call + GRACE;
            let throttled = self.stream_bytes.load(Ordering::Acquire) > STREAM_BUDGET;
            if busy || throttled || st.reader.is_none() {
                let quiet = st.subscribers.is_empty() && st.streams.is_empty();
                let nap = match (throttled, quiet) {
                    (true, _) => Duration::from_millis(2),
                    (false, true) => CALLS_NAP,
                    (false, false) => GRACE,
                };
                st = self.idle.wait_timeout(st, nap).unwrap_or_else(std::sync::PoisonError::into_inner).0;
                if st.reader.is_some() && st.waiters.is_empty() {
                    st.conn.handle_timeout(Instant::now());
                    st.dispatch(&self.stream_bytes);
                    if st.conn.wants_write() {
                        unlock(st);
                        self.flush();
                        st = lock(&self.state);
                    }
                }
                continue;
            }
            let reader = st.reader.take().expect("checked above");
            st = self.read_once(st, reader, None);
            st.hand_over();
            unlock(st);
            st = lock(&self.state);
        }
        unlock(st);
    }
}

impl State {
    /// Feeds bytes read from the socket, with the descriptors that came (decrypting under TLS).
    fn input(&mut self, now: Instant, data: &[u8], got: &mut Vec<OwnedFd>) {
        self.last_input = now;
        match &mut self.tls {
            None => self.fds.feed(got, |n| self.conn.handle_input_fds(now, data, n)),
            Some(tls) => match adapter_io::transport::tls_open(tls, data) {
                Some(plain) => self.conn.handle_input(now, &plain),
                None => self.conn.handle_eof(now),
            },
        }
    }

    /// Takes the core's output for one write (encrypting under TLS).
    fn queue_call(&mut self, spec: CallSpec, args: &[u8], tx: Option<Sender<StreamItem>>) -> Result<u32, CallError> {
        let now = Instant::now();
        let serial = self.conn.call_raw(now, spec, args)?;
        let (wake, call) = (Sleeper::current(), CallWait::new(now));
        self.waiters.insert(serial, Waiter { result: None, wake, sleeping: false, call });
        self.streams.extend(tx.map(|s| (serial, s)));
        Ok(serial)
    }

    fn output(&mut self, batch: &mut Vec<Bytes>) {
        while batch.len() < 64 {
            let Some(b) = self.conn.poll_transmit() else { break };
            match &mut self.tls {
                None => batch.push(b),
                Some(tls) => batch.push(adapter_io::transport::tls_seal(tls, &b)),
            }
        }
    }

    /// Wakes one waiting caller to take the buck over, when it is free and someone waits.
    fn hand_over(&mut self) {
        if self.reader.is_some() {
            // The oldest call's thread: libvirtd answers roughly in order, so the next reply
            // is most likely its own and it returns without waking anyone else.
            let oldest = self.waiters.iter().filter(|(_, w)| w.result.is_none() && w.sleeping).min_by_key(|(s, _)| **s);
            if let Some((_, w)) = oldest {
                w.wake(&mut self.to_wake);
            }
        }
    }

    /// Hands every event of the core to its owner: replies to their callers, stream packets to
    /// their streams, events to every subscriber.
    fn dispatch(&mut self, stream_bytes: &AtomicUsize) {
        while let Some(ev) = self.conn.poll_event() {
            match Delivery::of(ev) {
                Some(Delivery::Answer { serial, result }) => {
                    if result.is_err() {
                        self.streams.remove(&serial);
                    }
                    self.answer(serial, result);
                }
                Some(Delivery::Event(ev)) => adapter_io::queue::publish(&mut self.subscribers, &Ok(ev)),
                Some(Delivery::Stream { serial, item, last }) => {
                    let n = if let StreamItem::Data(d) = &item { d.len() } else { 0 };
                    if self.route_stream(serial, item, last) {
                        stream_bytes.fetch_add(n, Ordering::AcqRel);
                    }
                }
                Some(Delivery::Closed(reason)) => {
                    adapter_io::queue::publish(&mut self.subscribers, &Err(reason.clone()));
                    self.streams.clear();
                    // Calls the core never saw fail (it fails its own pending calls itself).
                    for w in self.waiters.values_mut().filter(|w| w.result.is_none()) {
                        w.result = Some(Err(CallError::Closed(reason.clone())));
                        w.wake(&mut self.to_wake);
                    }
                }
                None => {}
            }
        }
    }

    fn answer(&mut self, serial: u32, r: Result<(Bytes, u32), CallError>) {
        let r = r.map(|(body, n)| (body, self.fds.take(n)));
        if let Some(w) = self.waiters.get_mut(&serial) {
            w.result = Some(r);
            w.wake(&mut self.to_wake);
        }
    }

    fn route_stream(&mut self, serial: u32, item: StreamItem, last: bool) -> bool {
        let sent = self.streams.get(&serial).is_some_and(|tx| tx.send(item).is_ok());
        if last {
            self.streams.remove(&serial);
        }
        sent
    }
}

impl adapter_io::deferred::Deferred for Shared {
    fn run(self: Arc<Self>) {
        self.start_reader();
    }
}
