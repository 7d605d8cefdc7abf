//! One client connection's state and I/O, shared by the calls and the connection's task:
//! libvirt's "pass the buck" (`virNetClientIO` in `src/rpc/virnetclient.c`) on async-io.
//!
//! The socket is polled by one party at a time, the holder of [`Holder`]: a call that waits
//! for its reply polls the socket from its own task (it writes its call, reads, and hands every
//! reply, event and stream packet that comes to its owner), so a call made while nobody else
//! does I/O never bounces through another task or thread. When the holder's reply came, it
//! wakes another waiting call to take over. The connection's task holds the socket only while
//! no call has been made for [`GRACE`] (events, stream data, keepalive while idle), fires the
//! core's timers, and finishes the connection. Every protocol decision is the core's.

use std::collections::HashMap;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use adapter_io::busy_poll::CallWait;
use adapter_io::fds::Passed;
use adapter_io::queue::EventQueue;
use adapter_io::transport::ChildGuard;
use adapter_io::Delivery;
use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::{CallError, ClientConnection, ClientEvent};
use smol::channel::{Sender, TrySendError};

use crate::pump::{Pump, BUDGET};
use crate::{lock, Cmd, Error, Shared, StreamItem, StreamOp, STREAM_BACKLOG};

/// How long after the last call the connection's task stays off the socket, so that calls in
/// a row never hand the socket to it and back.
const GRACE: Duration = Duration::from_millis(20);

/// The most calls in flight at which a waiting call busy polls (the open sequence pipelines
/// three; 64 calls in flight to daemon-min: 760k/s spinning, 859k/s not, A/B, 5 rounds).
const SPIN_IN_FLIGHT_MAX: usize = 4;

/// A call's outcome: the reply body, the call's serial and the descriptors the reply carried.
pub(crate) type CallResult = Result<(Bytes, u32, Vec<OwnedFd>), CallError>;

/// Who polls the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Nobody,
    /// The connection's task (idle reading).
    Task,
    /// The call with this serial, from its own task.
    Call(u32),
}

struct Waiter {
    result: Option<CallResult>,
    waker: Option<Waker>,
    /// Whether it spins for its reply once it polls the socket (adapter-io's `busy_poll`).
    call: CallWait,
}

/// The connection: the core and the socket (in the pump), the calls waiting, the streams and
/// subscribers they feed.
pub(crate) struct Conn {
    pump: Pump<ClientConnection>,
    holder: Holder,
    waiters: HashMap<u32, Waiter>,
    streams: HashMap<u32, Sender<StreamItem>>,
    subscribers: Vec<Arc<EventQueue>>,
    /// A stream item waiting for room in its (bounded) queue: until it is delivered nobody
    /// reads or takes events, as libvirt stops reading for a full stream. The task polls it.
    stalled: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    task: Option<Waker>,
    last_call: Instant,
    /// The connection's task has finished: nothing moves any more.
    pub(crate) done: bool,
    shared: Arc<Shared>,
    _child: Option<ChildGuard>,
}

impl Conn {
    pub(crate) fn new(pump: Pump<ClientConnection>, shared: Arc<Shared>, child: Option<ChildGuard>) -> Self {
        Self {
            pump,
            holder: Holder::Nobody,
            waiters: HashMap::new(),
            streams: HashMap::new(),
            subscribers: Vec::new(),
            stalled: None,
            task: None,
            last_call: Instant::now(),
            done: false,
            shared,
            _child: child,
        }
    }

    /// How long since the last call ended.
    pub(crate) fn idle_for(&self) -> Duration {
        self.last_call.elapsed()
    }

    /// Queues a call (passing `fd` right after it); the caller then polls [`Conn::poll_call`].
    pub(crate) fn start_call(
        &mut self,
        spec: CallSpec,
        args: &[u8],
        stream: Option<Sender<StreamItem>>,
        fd: Option<Passed>,
    ) -> Result<u32, Error> {
        if fd.is_some() && !self.pump.passes_fds() {
            // Nothing is sent; libvirt's client closes the connection.
            self.command(Cmd::Close);
            return Err(adapter_io::fds::unsupported());
        }
        let spec = if fd.is_some() { spec.with_fds(1) } else { spec };
        let now = Instant::now();
        let serial = self.pump.core.call_raw(now, spec, args).map_err(Error::Call)?;
        self.pump.pass_fd(fd);
        self.waiters.insert(serial, Waiter { result: None, waker: None, call: CallWait::new(now) });
        self.streams.extend(stream.map(|s| (serial, s)));
        if spec.deadline.is_some() {
            // The task arms its timer for the core's deadlines.
            wake(self.task.as_ref());
        }
        Ok(serial)
    }

    /// Polls for the reply to `serial`, doing the I/O when nobody else does. `None` when the
    /// call is unknown (the connection finished).
    pub(crate) fn poll_call(&mut self, cx: &mut Context<'_>, serial: u32) -> Poll<Option<CallResult>> {
        for _ in 0..BUDGET {
            let Some(w) = self.waiters.get_mut(&serial) else { return Poll::Ready(None) };
            // Polled now: the waker it left is stale (its own reply must not wake it again, which
            // makes `block_on` poll the reactor and this call once more). Pending stores it anew.
            w.waker = None;
            if let Some(r) = w.result.take() {
                let call = w.call;
                self.waiters.remove(&serial);
                self.last_call = call.done(&mut self.pump.busy);
                self.release(serial);
                return Poll::Ready(Some(r));
            }
            let other = matches!(self.holder, Holder::Call(s) if s != serial);
            if self.done || other || self.stalled.is_some() {
                w.waker = Some(cx.waker().clone());
                if other && self.pump.wants_write() {
                    self.kick();
                } else if self.stalled.is_some() {
                    wake(self.task.as_ref());
                }
                return Poll::Pending;
            }
            // Take the socket (from nobody, or from the idle task: its registration is replaced
            // and it wakes once to see it no longer holds it).
            self.holder = Holder::Call(serial);
            // A write alone needs no second round: the read that follows it registered interest.
            let _ = self.pump.poll_write(cx);
            // Only a call among a few in flight spins: with more, the daemon is busy anyway, and
            // spinning would take the executor from the tasks that make them.
            let few = self.waiters.len() <= SPIN_IN_FLIGHT_MAX;
            let until = self.waiters.get_mut(&serial).and_then(|w| w.call.spin_until(&mut self.pump.busy, few));
            if !(self.pump.read_for_reply(cx, until) | self.drain()) {
                self.waiters.entry(serial).and_modify(|w| w.waker = Some(cx.waker().clone()));
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// A call future was dropped before its reply: the core forgets the call.
    pub(crate) fn cancel(&mut self, serial: u32) {
        if self.waiters.remove(&serial).is_some_and(|w| w.result.is_none()) {
            self.pump.core.cancel(serial);
            self.streams.remove(&serial);
        }
        self.release(serial);
    }

    /// The call `serial` no longer needs the socket: a waiting call takes it over, else the
    /// task (once [`GRACE`] has passed).
    fn release(&mut self, serial: u32) {
        if self.holder != Holder::Call(serial) {
            return;
        }
        self.holder = Holder::Nobody;
        match self.waiters.values_mut().find(|w| w.result.is_none() && w.waker.is_some()) {
            Some(w) => wake(w.waker.take().as_ref()),
            None if self.pump.wants_write() => wake(self.task.as_ref()),
            None => {}
        }
    }

    /// Applies a command from a handle and gets its output written.
    pub(crate) fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        let core = &mut self.pump.core;
        match cmd {
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
            Cmd::Subscribe(queue) => self.subscribers.push(queue),
            Cmd::Keepalive(k) => core.set_keepalive(now, k),
            Cmd::Close => core.close(now),
        }
        self.kick();
    }

    /// Wakes whoever polls the socket (or the task, when nobody does).
    fn kick(&self) {
        match self.holder {
            Holder::Call(s) => wake(self.waiters.get(&s).and_then(|w| w.waker.as_ref())),
            _ => wake(self.task.as_ref()),
        }
    }

    /// The connection's task: idle reading, the core's timers, the stalled stream, the end.
    pub(crate) fn poll_task(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.task = Some(cx.waker().clone());
        for _ in 0..BUDGET {
            let mut moved = false;
            if self.stalled.as_mut().is_some_and(|f| f.as_mut().poll(cx).is_ready()) {
                self.stalled = None;
                moved = true;
            }
            let now = Instant::now();
            let waiting = self.waiters.values().any(|w| w.result.is_none());
            let mut recheck = None;
            match self.holder {
                Holder::Call(_) => recheck = Some(now + GRACE),
                _ => {
                    moved |= self.pump.poll_write(cx);
                    let idle = now >= self.last_call + GRACE;
                    if self.stalled.is_none() && (waiting || idle) {
                        self.holder = Holder::Task;
                        moved |= self.pump.poll_read(cx);
                    } else {
                        self.holder = Holder::Nobody;
                        recheck = (!idle).then_some(self.last_call + GRACE);
                    }
                }
            }
            moved |= self.pump.poll_timer_with(cx, recheck);
            moved |= self.drain();
            if matches!(self.holder, Holder::Call(_)) && self.pump.wants_write() {
                // Output the task made (a keepalive PING) is written by the call holding the socket.
                self.kick();
            }
            self.shared.late_replies.store(self.pump.core.late_replies(), Ordering::Relaxed);
            if self.stalled.is_none() && self.pump.finished() {
                self.finish();
                return Poll::Ready(());
            }
            if !moved {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// The connection is over: every call still waiting fails with the close reason.
    fn finish(&mut self) {
        self.done = true;
        let reason = self.shared.reason();
        for w in self.waiters.values_mut().filter(|w| w.result.is_none()) {
            w.result = Some(Err(CallError::Closed(reason.clone())));
            wake(w.waker.take().as_ref());
        }
    }

    /// Hands every event of the core to its owner (unless a stream is stalled); whether any.
    fn drain(&mut self) -> bool {
        let mut any = false;
        while self.stalled.is_none() {
            let Some(ev) = self.pump.core.poll_event() else { break };
            self.event(ev);
            any = true;
        }
        any
    }

    fn answer(&mut self, serial: u32, r: Result<(Bytes, u32), CallError>) {
        // The caller learns the serial (a stream's) and takes the reply's descriptors.
        let r = r.map(|(b, n)| (b, serial, self.pump.take_fds(n)));
        if let Some(w) = self.waiters.get_mut(&serial) {
            w.result = Some(r);
            wake(w.waker.take().as_ref());
        }
    }

    fn route_stream(&mut self, serial: u32, item: StreamItem, last: bool) {
        let tx = if last { self.streams.remove(&serial) } else { self.streams.get(&serial).cloned() };
        if let Some(tx) = tx {
            if let Err(TrySendError::Full(item)) = tx.try_send(item) {
                self.stalled = Some(Box::pin(async move { drop(tx.send(item).await) }));
                wake(self.task.as_ref());
            }
        }
    }

    fn event(&mut self, ev: ClientEvent) {
        match Delivery::of(ev) {
            Some(Delivery::Answer { serial, result }) => {
                if let Err(error) = &result {
                    // A call failed by the connection's end: the reason is recorded before the
                    // caller wakes, so that `close_reason()` already tells it.
                    if let CallError::Closed(reason) = error {
                        lock(&self.shared.reason).get_or_insert_with(|| reason.clone());
                    }
                    self.streams.remove(&serial);
                }
                self.answer(serial, result);
            }
            Some(Delivery::Event(ev)) => adapter_io::queue::publish(&mut self.subscribers, &Ok(ev)),
            Some(Delivery::Stream { serial, item, last }) => self.route_stream(serial, item, last),
            Some(Delivery::Closed(reason)) => {
                adapter_io::queue::publish(&mut self.subscribers, &Err(reason.clone()));
                self.subscribers.clear();
                *lock(&self.shared.reason) = Some(reason);
                self.streams.clear();
                wake(self.task.as_ref());
            }
            None => {}
        }
    }
}

fn wake(w: Option<&Waker>) {
    w.into_iter().for_each(Waker::wake_by_ref);
}
