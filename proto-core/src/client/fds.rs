//! The descriptors a `VIR_NET_REPLY_WITH_FDS` reply carries (`virNetClientIOHandleInput` in
//! `src/rpc/virnetclient.c`, `nfds`/`donefds` of `virnetmessage.c`).
//!
//! libvirt's server sends each descriptor after the reply with one carrier byte of its own
//! (`sendmsg`, `SCM_RIGHTS`), and the client dispatches the reply once it received them all.
//! The adapter reads a unix socket with `recvmsg` and appends the descriptors that came with
//! each read to a queue of its own. The kernel ends a read after the bytes descriptors came
//! with, so a read's descriptors came with its last bytes: with a carrier, they are that
//! carrier's, which must bring exactly one (libvirt's `virSocketRecvFD` fails on a carrier
//! with none or several); with other bytes, nobody announced them and they are closed, as
//! libvirt's plain read drops them. The core tells the adapter how many to keep (the others,
//! the last ones it appended, are closed, also a late or failed reply's) and a reply's
//! [`ClientEvent::Reply`] says how many of the queue's first ones are its.

use crate::{ClientEvent, ProtocolError};

/// A reply whose carrier bytes are still arriving.
#[derive(Debug)]
struct Waiting {
    /// Delivered once complete; `None`: its descriptors are closed (a late or failed reply).
    event: Option<ClientEvent>,
    /// Carriers still to come.
    left: usize,
}

/// The descriptor accounting of one client connection.
#[derive(Debug, Default)]
pub(super) struct ReplyFds {
    /// Whether the transport passes descriptors (a unix socket).
    passing: bool,
    waiting: Option<Waiting>,
    /// Descriptors that came with the current read and are not assigned yet.
    arrived: usize,
    /// Of the current read's, the ones assigned to a reply that is delivered.
    kept: usize,
}

impl ReplyFds {
    /// The accounting of a connection whose transport passes descriptors or not.
    pub(super) fn new(passing: bool) -> Self {
        Self { passing, ..Self::default() }
    }

    /// A read brought `arrived` descriptors.
    pub(super) fn begin(&mut self, arrived: usize) {
        self.arrived = arrived;
        self.kept = 0;
    }

    /// The read was processed: how many of its descriptors to keep.
    pub(super) fn end(&mut self) -> usize {
        self.arrived = 0;
        std::mem::take(&mut self.kept)
    }

    /// A reply announcing `n` descriptors was read: `event` (if any) is delivered once they
    /// came. libvirt receives them only on a unix socket.
    pub(super) fn announce(
        &mut self,
        n: u32,
        event: Option<ClientEvent>,
    ) -> Result<Option<ClientEvent>, ProtocolError> {
        if n == 0 {
            return Ok(event);
        }
        if !self.passing {
            return Err(ProtocolError::FdPassingUnsupported);
        }
        self.waiting = Some(Waiting { event, left: n as usize });
        Ok(None)
    }

    /// `n` carrier bytes were read: each takes one descriptor of the read, which must bring
    /// as many as it had carriers. The reply, once complete.
    pub(super) fn carriers(&mut self, n: usize) -> Result<Option<ClientEvent>, ProtocolError> {
        let Some(w) = self.waiting.as_mut().filter(|_| n > 0) else { return Ok(None) };
        if self.arrived != n {
            return Err(ProtocolError::FdNotReceived);
        }
        self.arrived -= n;
        if w.event.is_some() {
            self.kept += n;
        }
        w.left = w.left.saturating_sub(n);
        if w.left > 0 {
            return Ok(None);
        }
        Ok(self.waiting.take().and_then(|w| w.event))
    }

    /// The call `serial` no longer waits (cancelled, timed out; `None`: the connection
    /// failed): should its reply wait for descriptors, it is dropped and they are closed.
    pub(super) fn forget(&mut self, serial: Option<u32>) {
        if let Some(w) = &mut self.waiting {
            if serial.is_none() || matches!(&w.event, Some(ClientEvent::Reply { serial: s, .. }) if Some(*s) == serial)
            {
                w.event = None;
            }
        }
    }
}
