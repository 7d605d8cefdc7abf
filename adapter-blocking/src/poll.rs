//! The daemon loop's readiness source: epoll, level-triggered, and an eventfd that other threads
//! write to wake the loop, on rustix's safe wrappers. (`polling`, used before, re-armed a timerfd
//! and its own eventfd around every wait: four system calls more per wait, which is per call
//! for a daemon answering one call at a time. Here a wait is one `epoll_pwait`, and the eventfd
//! is read only when it fired.) [`Registered`] owns a socket and deletes it from the epoll set in
//! `Drop`, before the socket is closed.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::buffer::spare_capacity;
use rustix::event::{epoll, eventfd, EventfdFlags, Timespec};

/// The eventfd's key in the epoll set.
const WAKE: u64 = u64::MAX;

/// Interest in a socket: its key and directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
}

impl Event {
    pub(crate) fn readable(key: usize) -> Self {
        Self { key, readable: true, writable: false }
    }

    fn flags(self) -> epoll::EventFlags {
        let mut f = epoll::EventFlags::empty();
        if self.readable {
            f |= epoll::EventFlags::IN | epoll::EventFlags::RDHUP;
        }
        if self.writable {
            f |= epoll::EventFlags::OUT;
        }
        f
    }
}

/// What one wait reported.
pub(crate) struct Events(Vec<epoll::Event>);

impl Events {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(256))
    }
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
    /// The keys of the sockets reported (not the loop's own wake-up).
    pub(crate) fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|e| e.data).filter(|d| d.u64() != WAKE).map(|d| d.u64() as usize)
    }
}

/// An epoll set and the eventfd that wakes whoever waits on it.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    wake: OwnedFd,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Self> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(&epoll, &wake, epoll::EventData::new_u64(WAKE), epoll::EventFlags::IN)?;
        Ok(Self { epoll, wake })
    }

    /// Wakes the thread waiting in [`Poller::wait`] (or its next wait).
    pub(crate) fn notify(&self) -> io::Result<()> {
        match rustix::io::write(&self.wake, &1u64.to_ne_bytes()) {
            Ok(_) | Err(rustix::io::Errno::AGAIN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits for readiness, a notification or `timeout` (rounded up to the millisecond, so that
    /// a timer is never polled for early in a loop), then drains the notification.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = timeout.map(|d| {
            let ms = d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i64;
            Timespec { tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000 }
        });
        match epoll::wait(&self.epoll, spare_capacity(&mut events.0), timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        if events.0.iter().map(|e| e.data).any(|d| d.u64() == WAKE) {
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(&self.wake, &mut buf);
        }
        Ok(())
    }

    fn add(&self, source: impl AsFd, interest: Event) -> io::Result<()> {
        let data = epoll::EventData::new_u64(interest.key as u64);
        Ok(epoll::add(&self.epoll, source, data, interest.flags())?)
    }

    fn modify(&self, source: impl AsFd, interest: Event) -> io::Result<()> {
        let data = epoll::EventData::new_u64(interest.key as u64);
        Ok(epoll::modify(&self.epoll, source, data, interest.flags())?)
    }

    fn delete(&self, source: impl AsFd) -> io::Result<()> {
        Ok(epoll::delete(&self.epoll, source)?)
    }
}

/// A socket registered with a poller (level-triggered), deregistered when dropped.
#[derive(Debug)]
pub(crate) struct Registered<S: AsFd> {
    poller: Arc<Poller>,
    source: S,
    /// The interest registered (readable, writable): a change is a system call, the same
    /// interest again is none.
    interest: Cell<(bool, bool)>,
}

impl<S: AsFd> Registered<S> {
    /// Registers `source` (already non-blocking) with interest `interest`.
    pub(crate) fn new(poller: Arc<Poller>, source: S, interest: Event) -> io::Result<Self> {
        poller.add(source.as_fd(), interest)?;
        Ok(Self { poller, source, interest: Cell::new((interest.readable, interest.writable)) })
    }

    /// Changes the interest, when it changed (level-triggered: it stays armed).
    pub(crate) fn modify(&self, interest: Event) -> io::Result<()> {
        let want = (interest.readable, interest.writable);
        if self.interest.get() == want {
            return Ok(());
        }
        self.poller.modify(self.source.as_fd(), interest)?;
        self.interest.set(want);
        Ok(())
    }

    /// The socket.
    pub(crate) fn get(&self) -> &S {
        &self.source
    }

    /// The socket, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.source
    }
}

impl<S: AsFd> Drop for Registered<S> {
    fn drop(&mut self) {
        let _ = self.poller.delete(self.source.as_fd());
    }
}
