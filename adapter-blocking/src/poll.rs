//! The one place this crate needs `unsafe`: registering a socket with [`polling::Poller`]
//! (`Poller::add` is unsafe because the poller must forget a descriptor before it is closed).
//! [`Registered`] owns the socket and deletes it from the poller in `Drop`, before the socket is
//! closed, which is exactly the contract `add` asks for.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use polling::{Event, PollMode, Poller};

/// A socket registered with a poller (level-triggered), deregistered when dropped.
#[derive(Debug)]
pub(crate) struct Registered<S: AsFd + AsRawFd> {
    poller: Arc<Poller>,
    source: S,
    /// The interest registered (readable, writable): a change is a system call, the same
    /// interest again is none.
    interest: Cell<(bool, bool)>,
}

impl<S: AsFd + AsRawFd> Registered<S> {
    /// Registers `source` (already non-blocking) with interest `interest`.
    pub(crate) fn new(poller: Arc<Poller>, source: S, interest: Event) -> io::Result<Self> {
        // SAFETY: `source` is owned by the returned value, whose `Drop` deletes it from the
        // poller before `source` itself is dropped (and its descriptor closed).
        unsafe { poller.add_with_mode(source.as_raw_fd(), interest, PollMode::Level)? };
        Ok(Self { poller, source, interest: Cell::new((interest.readable, interest.writable)) })
    }

    /// Changes the interest, when it changed (level-triggered: it stays armed).
    pub(crate) fn modify(&self, interest: Event) -> io::Result<()> {
        let want = (interest.readable, interest.writable);
        if self.interest.get() == want {
            return Ok(());
        }
        self.poller.modify_with_mode(self.source.as_fd(), interest, PollMode::Level)?;
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

impl<S: AsFd + AsRawFd> Drop for Registered<S> {
    fn drop(&mut self) {
        let _ = self.poller.delete(self.source.as_fd());
    }
}
