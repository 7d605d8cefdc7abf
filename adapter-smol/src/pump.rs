//! Moving bytes and time between one socket and one core: the part of a connection's driver
//! task that the client and the server share.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use adapter_io::busy_poll::BusyPoll;
use adapter_io::fds::{Passed, Received};
use bytes::{Buf, Bytes};
use proto_core::{ClientConfig, ClientConnection, ServerConnection};
use smol::channel::Sender;
use smol::io::{AsyncRead, AsyncWrite};
use smol::{Async, Timer};

/// A byte stream a connection runs on: a socket, or TLS over one.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + Any {
    /// The unix socket, when the stream is one (descriptors pass only there, as in libvirt).
    fn unix(&self) -> Option<&Async<UnixStream>>;
}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + Any> Io for T {
    fn unix(&self) -> Option<&Async<UnixStream>> {
        (self as &dyn Any).downcast_ref()
    }
}

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
    /// Input with the descriptors that came with it: how many to keep.
    fn input_fds(&mut self, now: Instant, data: &[u8], fds: usize) -> usize;
    fn eof(&mut self, now: Instant);
    fn timeout(&mut self, now: Instant);
    fn transmit(&mut self) -> Option<Bytes>;
    fn deadline(&self) -> Option<Instant>;
    fn readable(&self) -> bool;
    fn buffered(&self) -> usize;
    fn closed(&self) -> bool;
}

macro_rules! core {
    ($t:ty, $readable:expr, $fds:expr) => {
        impl Core for $t {
            fn input(&mut self, now: Instant, data: &[u8]) {
                self.handle_input(now, data);
            }
            fn input_fds(&mut self, now: Instant, data: &[u8], fds: usize) -> usize {
                $fds(self, now, data, fds)
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
core!(ClientConnection, |c: &ClientConnection| !c.is_closed(), ClientConnection::handle_input_fds);
core!(ServerConnection, ServerConnection::wants_read, |c: &mut ServerConnection, now, data: &[u8], _| {
    c.handle_input(now, data);
    0
});

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
    /// Descriptors received (a client on a unix socket reads with recvmsg), for the core's replies.
    fds: Option<Received>,
    /// The descriptors the last read brought.
    got: Vec<OwnedFd>,
    /// Descriptors to pass once the output before them is written: (output offset, descriptor).
    fds_out: VecDeque<(u64, Passed)>,
    /// Bytes written so far.
    written: u64,
    /// Whether a call waiting for its reply spins before it sleeps (a client's pump).
    pub(crate) busy: BusyPoll,
}

impl Pump<ClientConnection> {
    /// A client's: on a unix socket, it passes and receives descriptors.
    /// A caller waiting for its reply busy polls up to `busy_poll` (unix sockets only: it reads
    /// without the reactor).
    pub(crate) fn client(io: Box<dyn Io>, busy_poll: Option<Duration>) -> Self {
        let unix = (*io).unix().is_some();
        let core = ClientConnection::new(ClientConfig::default().with_fd_passing(unix), Instant::now());
        let busy = BusyPoll::new(busy_poll.filter(|_| unix));
        Self { fds: unix.then(Received::default), busy, ..Self::new(core, io) }
    }

    /// A reply's descriptors (the first `n` received).
    pub(crate) fn take_fds(&mut self, n: u32) -> Vec<OwnedFd> {
        self.fds.as_mut().map(|q| q.take(n)).unwrap_or_default()
    }
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
            fds: None,
            got: Vec::new(),
            fds_out: VecDeque::new(),
            written: 0,
            busy: BusyPoll::new(None),
        }
    }

    /// Whether the transport passes descriptors (a unix socket).
    pub(crate) fn passes_fds(&self) -> bool {
        (*self.io).unix().is_some()
    }

    /// Passes `fd` right after the output queued so far (`VIR_NET_CALL_WITH_FDS`).
    pub(crate) fn pass_fd(&mut self, fd: Option<Passed>) {
        let at = self.written + (self.out_len + self.core.buffered()) as u64;
        self.fds_out.extend(fd.map(|fd| (at, fd)));
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
        self.fds_out.clear();
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
        self.read_with(|io, buf, got| match ((**io).unix(), got) {
            (Some(sock), Some(got)) => poll_recv(sock, cx, buf, got),
            _ => Pin::new(io).poll_read(cx, buf),
        })
    }

    /// A read for a call waiting for its reply: until `spin_until`, without the reactor (one
    /// non-blocking read; when nothing came, it yields the CPU and wakes the task to look
    /// again: adapter-io's `busy_poll`), then as [`Pump::poll_read`].
    pub(crate) fn read_for_reply(&mut self, cx: &mut Context<'_>, spin_until: Option<Instant>) -> bool {
        if spin_until.is_none_or(|t| Instant::now() >= t) {
            return self.poll_read(cx);
        }
        let read = self.try_read();
        if !read {
            std::thread::yield_now();
            cx.waker().wake_by_ref();
        }
        read
    }

    /// [`Pump::poll_read`] without the reactor: one non-blocking read of a unix socket.
    fn try_read(&mut self) -> bool {
        self.read_with(|io, buf, got| match ((**io).unix(), got) {
            (Some(sock), Some(got)) => match adapter_io::fds::recv_with_fds(sock.get_ref(), buf, got) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
                r => Poll::Ready(r),
            },
            _ => Poll::Pending,
        })
    }

    fn read_with(
        &mut self,
        read: impl FnOnce(&mut Box<dyn Io>, &mut [u8], Option<&mut Vec<OwnedFd>>) -> Poll<io::Result<usize>>,
    ) -> bool {
        let mut moved = false;
        if !self.dead && self.core.readable() {
            // One read buffer per thread, not per connection: an idle connection holds none
            // (the core copies what it needs into its deframer).
            let r = READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                let got = self.fds.is_some().then_some(&mut self.got);
                let r = read(&mut self.io, &mut buf[..], got);
                if let Poll::Ready(Ok(n)) = r {
                    let (now, core, data) = (Instant::now(), &mut self.core, &buf[..n]);
                    match &mut self.fds {
                        Some(q) if n > 0 => q.feed(&mut self.got, |fds| core.input_fds(now, data, fds)),
                        _ if n > 0 => core.input(now, data),
                        _ => {}
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
            // A descriptor goes right after the message announcing it (nothing in between).
            let limit = self
                .fds_out
                .front()
                .map(|(at, _)| usize::try_from(at.saturating_sub(self.written)).unwrap_or(usize::MAX));
            if limit == Some(0) {
                match self.poll_pass(cx) {
                    Poll::Ready(Ok(())) => drop(self.fds_out.pop_front()),
                    Poll::Ready(Err(_)) => self.fail(),
                    Poll::Pending => break,
                }
                moved = true;
                continue;
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
            // At most 64 buffers (see above): no allocation per write. A descriptor to pass
            // cuts the write where it goes.
            let mut slices = [IoSlice::new(&[]); 64];
            let mut room = limit.unwrap_or(usize::MAX);
            let n = (slices.iter_mut().zip(&self.out))
                .map_while(|(s, b)| {
                    let take = b.len().min(room);
                    room -= take;
                    *s = IoSlice::new(&b[..take]);
                    (take > 0 || room > 0).then_some(())
                })
                .count();
            match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]) {
                Poll::Ready(Ok(mut n)) if n > 0 => {
                    self.out_len -= n;
                    self.written += n as u64;
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

    /// Passes the first descriptor of [`Pump::fds_out`] when the socket takes it.
    fn poll_pass(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (Some(sock), Some((_, fd))) = ((*self.io).unix(), self.fds_out.front()) else {
            return Poll::Ready(Err(io::ErrorKind::Unsupported.into()));
        };
        loop {
            match fd.send(sock.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(sock.poll_writable(cx))?,
                r => return Poll::Ready(r),
            }
        }
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

/// One read of a unix socket with the descriptors that came (as `Async`'s `poll_read`, with
/// recvmsg in place of read). It asks the reactor first: `poll_read` reads first, and after a
/// read async-io still reports the socket readable once, so every wait began with two reads that
/// found nothing; this way one.
fn poll_recv(
    sock: &Async<UnixStream>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    got: &mut Vec<OwnedFd>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(sock.poll_readable(cx))?;
        match adapter_io::fds::recv_with_fds(sock.get_ref(), buf, got) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            r => return Poll::Ready(r),
        }
    }
}
