//! Moving bytes and time between one socket and one core: the part of a connection's driver
//! task that the client and the server share.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use proto_core::{ClientConnection, ServerConnection};
use smol::channel::Sender;
use smol::io::{AsyncRead, AsyncWrite};
use smol::Timer;

/// A byte stream a connection runs on: a socket, or TLS over one.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

thread_local! {
    /// The read buffer every connection driven on this thread shares.
    static READ_BUF: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0; 256 * 1024].into_boxed_slice());
}

/// Loop iterations a driver runs before it yields to other tasks.
pub(crate) const BUDGET: usize = 64;
/// How long a closed connection may take to flush what it queued before it is dropped.
const LINGER: Duration = Duration::from_secs(5);

/// The verbs both connection types share.
pub(crate) trait Core {
    fn input(&mut self, now: Instant, data: &[u8]);
    fn eof(&mut self, now: Instant);
    fn timeout(&mut self, now: Instant);
    fn transmit(&mut self) -> Option<Bytes>;
    fn deadline(&self) -> Option<Instant>;
    fn readable(&self) -> bool;
    fn buffered(&self) -> usize;
    fn closed(&self) -> bool;
}

macro_rules! core {
    ($t:ty, $readable:expr) => {
        impl Core for $t {
            fn input(&mut self, now: Instant, data: &[u8]) {
                self.handle_input(now, data);
            }
            fn eof(&mut self, now: Instant) {
                self.handle_eof(now);
            }
            fn timeout(&mut self, now: Instant) {
                self.handle_timeout(now);
            }
            fn transmit(&mut self) -> Option<Bytes> {
                self.poll_transmit()
            }
            fn deadline(&self) -> Option<Instant> {
                self.poll_timeout()
            }
            fn readable(&self) -> bool {
                $readable(self)
            }
            fn buffered(&self) -> usize {
                self.transmit_buffered()
            }
            fn closed(&self) -> bool {
                self.is_closed()
            }
        }
    };
}
core!(ClientConnection, |c: &ClientConnection| !c.is_closed());
core!(ServerConnection, ServerConnection::wants_read);

pub(crate) struct Pump<C> {
    pub(crate) core: C,
    io: Box<dyn Io>,
    timer: Timer,
    armed: Option<Instant>,
    linger: Option<Instant>,
    /// Taken from the core, not yet written (a bounded batch for one vectored write).
    out: VecDeque<Bytes>,
    out_len: usize,
    unflushed: bool,
    /// The transport failed, reached EOF or was abandoned: nothing moves any more.
    dead: bool,
    /// Released (dropped) once the unsent output is at most their bound: flow control.
    drained: Vec<(usize, Sender<io::Error>)>,
}

impl<C: Core> Pump<C> {
    pub(crate) fn new(core: C, io: Box<dyn Io>) -> Self {
        Self {
            core,
            io,
            timer: Timer::never(),
            armed: None,
            linger: None,
            out: VecDeque::new(),
            out_len: 0,
            unflushed: false,
            dead: false,
            drained: Vec::new(),
        }
    }

    /// Output queued and not yet written.
    pub(crate) fn backlog(&self) -> usize {
        self.core.buffered() + self.out_len
    }

    /// Drops `tx` once the backlog is at most `below` bytes (or the transport is gone).
    pub(crate) fn when_drained(&mut self, below: usize, tx: Sender<io::Error>) {
        self.drained.push((below, tx));
    }

    /// Stops moving bytes: what is queued is dropped, not flushed.
    pub(crate) fn abandon(&mut self) {
        self.dead = true;
        self.out.clear();
        self.out_len = 0;
        self.drained.clear();
    }

    /// Whether the connection is over: the core is closed and its output written (or given up
    /// on after [`LINGER`]).
    pub(crate) fn finished(&mut self) -> bool {
        if !self.core.closed() {
            return false;
        }
        let now = Instant::now();
        let linger = *self.linger.get_or_insert(now + LINGER);
        self.dead || (self.out.is_empty() && !self.unflushed && self.core.buffered() == 0) || now >= linger
    }

    /// Writes, reads (when `read` and the core wants input) and fires the timer. Returns
    /// whether anything moved; when nothing did, every source has registered the waker.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, read: bool) -> bool {
        let mut moved = self.poll_write(cx);
        if read {
            moved |= self.poll_read(cx);
        }
        moved | self.poll_timer(cx)
    }

    /// Whether output waits to be written.
    pub(crate) fn wants_write(&self) -> bool {
        !self.out.is_empty() || self.core.buffered() > 0
    }

    /// One read, fed to the core (when it wants input); whether anything moved.
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>) -> bool {
        let mut moved = false;
        if !self.dead && self.core.readable() {
            // One read buffer per thread, not per connection: an idle connection holds none
            // (the core copies what it needs into its deframer).
            let r = READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                let r = Pin::new(&mut self.io).poll_read(cx, &mut buf[..]);
                if let Poll::Ready(Ok(n)) = r {
                    if n > 0 {
                        self.core.input(Instant::now(), &buf[..n]);
                    }
                }
                r
            });
            match r {
                Poll::Ready(Ok(n)) if n > 0 => {}
                Poll::Ready(_) => self.fail(),
                Poll::Pending => {}
            }
            moved |= r.is_ready();
        }
        moved
    }

    fn fail(&mut self) {
        self.abandon();
        self.core.eof(Instant::now());
    }

    /// Writes what the core queued; whether anything moved.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> bool {
        let mut moved = false;
        while !self.dead {
            while self.out.len() < 64 && self.out_len < 1 << 20 {
                let Some(b) = self.core.transmit() else { break };
                self.out_len += b.len();
                self.out.push_back(b);
            }
            if self.out.is_empty() {
                if self.unflushed {
                    match Pin::new(&mut self.io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => self.unflushed = false,
                        Poll::Ready(Err(_)) => self.fail(),
                        Poll::Pending => {}
                    }
                }
                break;
            }
            // At most 64 buffers (see above): no allocation per write.
            let mut slices = [IoSlice::new(&[]); 64];
            let n = slices.iter_mut().zip(&self.out).map(|(s, b)| *s = IoSlice::new(b)).count();
            match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]) {
                Poll::Ready(Ok(mut n)) if n > 0 => {
                    self.out_len -= n;
                    while n > 0 {
                        let first = &mut self.out[0];
                        if n >= first.len() {
                            n -= first.len();
                            self.out.pop_front();
                        } else {
                            first.advance(n);
                            n = 0;
                        }
                    }
                    self.unflushed = true;
                }
                Poll::Ready(_) => self.fail(),
                Poll::Pending => break,
            }
            moved = true;
        }
        let backlog = self.backlog();
        self.drained.retain(|(below, _)| backlog > *below);
        moved
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        self.poll_timer_with(cx, None)
    }

    /// Fires the core's timer (or the linger), or `extra` if that comes first; whether it fired.
    pub(crate) fn poll_timer_with(&mut self, cx: &mut Context<'_>, extra: Option<Instant>) -> bool {
        let base = self.core.deadline().or(self.linger);
        let Some(at) = [base, extra].into_iter().flatten().min() else { return false };
        if at > Instant::now() {
            if self.armed != Some(at) {
                self.timer.set_at(at);
                self.armed = Some(at);
            }
            if Pin::new(&mut self.timer).poll(cx).is_pending() {
                return false;
            }
        }
        self.armed = None;
        self.core.timeout(Instant::now());
        true
    }
}
