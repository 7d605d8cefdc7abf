//! `virStream…`: a data stream a call (volume upload/download, screenshot, console) attaches to.

use std::os::raw::c_int;
use std::sync::{Arc, Mutex};

use adapter_blocking::{StreamHandle, StreamItem};
use proto_core::client::CallSpec;
use proto_core::Procedure;

use crate::connect::Connect;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::event::{event_add_timeout, EventTimeoutWatch};
use crate::sys;

/// A stream (`virStreamPtr`): created unattached, then handed to the call that uses it.
pub struct Stream {
    conn: Connect,
    flags: sys::virStreamFlags,
    state: Arc<Mutex<Option<(StreamHandle, Cursor)>>>,
    watch: EventSlot,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("flags", &self.flags).finish_non_exhaustive()
    }
}

pub(crate) fn io_error(e: &std::io::Error) -> Error {
    Error::new(ErrorNumber::Rpc, ErrorDomain::Streams, e.to_string())
}

pub(crate) fn unused() -> Error {
    Error::new(ErrorNumber::OperationInvalid, ErrorDomain::Streams, "stream is not open")
}

pub(crate) fn in_use() -> Error {
    Error::new(ErrorNumber::OperationInvalid, ErrorDomain::Streams, "stream is already in use")
}

/// `virStreamRecvFlags`'s answer when `VIR_STREAM_RECV_STOP_AT_HOLE` meets a hole.
const AT_HOLE: isize = -3;

/// What a read stream has received and not yet handed out (shared by the blocking and the
/// async stream): the rest of a data message, or a hole's remaining length, and whether the
/// server ended the stream (end of data, or its own finish).
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// An item a readiness check took in and `push` has not seen.
    peeked: Option<Option<StreamItem>>,
    data: bytes::Bytes,
    hole: u64,
    eof: bool,
    /// The server confirmed the end: `virStreamFinish` has nothing left to send.
    pub(crate) finished: bool,
}

impl Cursor {
    /// Answers a `virStreamRecvFlags` from what is pending; `None` when the next message is
    /// needed.
    pub(crate) fn take(&mut self, buf: &mut [u8], flags: u32) -> Option<isize> {
        let len = |n: usize| isize::try_from(n).unwrap_or(isize::MAX);
        if !self.data.is_empty() {
            let n = self.data.len().min(buf.len());
            buf[..n].copy_from_slice(&self.data.split_to(n));
            return Some(len(n));
        }
        if self.hole > 0 {
            if flags & sys::VIR_STREAM_RECV_STOP_AT_HOLE != 0 {
                return Some(AT_HOLE);
            }
            let n = usize::try_from(self.hole).unwrap_or(usize::MAX).min(buf.len());
            buf[..n].fill(0);
            self.hole -= n as u64;
            return Some(len(n));
        }
        if self.eof || buf.is_empty() {
            return Some(0);
        }
        None
    }

    /// Whether a receive would not block (libvirt's `rx || incomingEOF || err || closed`);
    /// `try_recv` asks the transport without waiting.
    pub(crate) fn ready(&mut self, try_recv: impl FnOnce() -> Option<Option<StreamItem>>) -> bool {
        if self.peeked.is_none() && self.data.is_empty() && self.hole == 0 && !self.eof {
            self.peeked = try_recv();
        }
        self.peeked.is_some() || !self.data.is_empty() || self.hole > 0 || self.eof
    }

    /// The item a readiness check took in, if any (taken).
    pub(crate) fn peeked(&mut self) -> Option<Option<StreamItem>> {
        self.peeked.take()
    }

    /// Takes the next message in; an error for a stream the server failed or a connection
    /// that closed (`None`).
    pub(crate) fn push(&mut self, item: Option<StreamItem>) -> Result<(), Error> {
        match item {
            Some(StreamItem::Data(d)) => self.data = d,
            Some(StreamItem::Hole(h)) => self.hole = u64::try_from(h.length).unwrap_or(0),
            Some(StreamItem::Eof) => self.eof = true,
            Some(StreamItem::Finished) => {
                self.eof = true;
                self.finished = true;
            }
            Some(StreamItem::Error(e)) => {
                return Err(Error::from(adapter_blocking::Error::Call(proto_core::CallError::Remote(e))))
            }
            None => return Err(Error::rpc("internal error: client socket is closed")),
        }
        Ok(())
    }

    /// `virStreamRecvHole`: the length of the hole the stream stands at (0 if none).
    pub(crate) fn take_hole(&mut self) -> i64 {
        if !self.data.is_empty() {
            return 0;
        }
        let n = i64::try_from(self.hole).unwrap_or(i64::MAX);
        self.hole = 0;
        n
    }
}

impl Stream {
    /// `virStreamNew`. Like libvirt, any flags are accepted and kept; calls on this stream
    /// block until data or space is there (`VIR_STREAM_NONBLOCK` does not change that here).
    pub fn new(conn: &Connect, flags: sys::virStreamFlags) -> Result<Self, Error> {
        Ok(Self { conn: conn.clone(), flags, state: Arc::default(), watch: EventSlot::default() })
    }

    /// Another handle on the same stream (what a stream callback is given).
    fn share(&self) -> Self {
        Self { conn: self.conn.clone(), flags: self.flags, state: self.state.clone(), watch: self.watch.clone() }
    }

    /// Refuses a stream of another connection than `conn` (`virCheck…` in the APIs that attach
    /// a stream), with `message`.
    pub(crate) fn check_connection(&self, conn: &Connect, func: &str, message: String) -> Result<(), Error> {
        if self.conn.same_as(conn) {
            Ok(())
        } else {
            Err(Error::invalid_arg(func, message))
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(StreamHandle, Cursor)>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes the call `P` that opens this stream; answers its reply.
    pub(crate) fn start<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        let mut slot = self.lock();
        if slot.is_some() {
            return Err(in_use());
        }
        let body = proto_core::xdr::to_bytes(args).map_err(|e| Error::rpc(e.to_string()))?;
        let (reply, handle) = self.conn.client().call_stream(CallSpec::of::<P>(), &body).map_err(Error::from)?;
        let ret = proto_core::xdr::from_bytes(reply).map_err(|e| Error::rpc(format!("Unable to decode reply: {e}")))?;
        *slot = Some((handle, Cursor::default()));
        Ok(ret)
    }

    /// `virStreamSend`: how many bytes were queued.
    pub fn send(&self, data: &[u8]) -> Result<isize, Error> {
        let mut slot = self.lock();
        let (h, _) = slot.as_mut().ok_or_else(unused)?;
        h.send(bytes::Bytes::copy_from_slice(data)).map_err(|e| io_error(&e))?;
        Ok(isize::try_from(data.len()).unwrap_or(isize::MAX))
    }

    /// `virStreamSendHole`: a hole of `length` bytes in a sparse stream.
    pub fn send_hole(&self, length: i64, flags: u32) -> Result<(), Error> {
        let _ = flags;
        let mut slot = self.lock();
        let (h, _) = slot.as_mut().ok_or_else(unused)?;
        h.send_hole(length).map_err(|e| io_error(&e))
    }

    /// `virStreamRecv`: bytes read, 0 at the end of the stream (holes read as zeros).
    pub fn recv(&self, buf: &mut [u8]) -> Result<isize, Error> {
        self.recv_flags(buf, 0)
    }

    /// `virStreamRecvFlags`: as [`Stream::recv`]; with `VIR_STREAM_RECV_STOP_AT_HOLE`, -3
    /// when the stream stands at a hole ([`Stream::recv_hole`] then says how long).
    pub fn recv_flags(&self, buf: &mut [u8], flags: u32) -> Result<isize, Error> {
        let mut slot = self.lock();
        let (h, cursor) = slot.as_mut().ok_or_else(unused)?;
        loop {
            if let Some(n) = cursor.take(buf, flags) {
                return Ok(n);
            }
            let item = cursor.peeked().unwrap_or_else(|| h.recv());
            cursor.push(item)?;
        }
    }

    /// `virStreamRecvHole`: the length of the hole the stream stands at, 0 if none.
    pub fn recv_hole(&self, flags: u32) -> Result<i64, Error> {
        let _ = flags;
        let mut slot = self.lock();
        let (_, cursor) = slot.as_mut().ok_or_else(unused)?;
        Ok(cursor.take_hole())
    }

    /// `virStreamFinish`: ends the stream and waits for the server to confirm (nothing to
    /// send when the server ended it already).
    pub fn finish(self) -> Result<(), Error> {
        match self.lock().take() {
            Some((_, c)) if c.finished => Ok(()),
            Some((h, _)) => h.finish().map_err(Error::from),
            None => Ok(()),
        }
    }

    /// `virStreamAbort`.
    pub fn abort(self) -> Result<(), Error> {
        match self.lock().take() {
            Some((h, _)) => h.abort().map_err(Error::from),
            None => Ok(()),
        }
    }

    /// `virStreamEventAddCallback`: from the default event loop ([`crate::event`]), call `cb`
    /// with the `VIR_STREAM_EVENT_…` that are ready among `events` (readable: a receive would
    /// not block; writable: always, sends are queued). One callback per stream.
    pub fn event_add_callback<F: 'static + FnMut(&Self, sys::virStreamEventType)>(
        &mut self,
        events: sys::virStreamEventType,
        mut cb: F,
    ) -> Result<(), Error> {
        if self.lock().is_none() {
            return Err(not_supported("virStreamEventAddCallback"));
        }
        let (st, state) = (self.share(), self.state.clone());
        let ready = move || match &mut *state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Some((h, cursor)) => cursor.ready(|| h.try_recv()),
            None => true,
        };
        self.watch.add(events, ready, move |ev| cb(&st, ev))
    }

    /// `virStreamEventUpdateCallback`: the events the callback is called for from now on.
    pub fn event_update_callback(&self, events: sys::virStreamEventType) -> Result<(), Error> {
        if self.lock().is_none() {
            return Err(not_supported("virStreamEventUpdateCallback"));
        }
        self.watch.update(events)
    }

    /// `virStreamEventRemoveCallback`.
    pub fn event_remove_callback(&self) -> Result<(), Error> {
        if self.lock().is_none() {
            return Err(not_supported("virStreamEventRemoveCallback"));
        }
        self.watch.remove()
    }
}

/// libvirt's error for a stream no call has opened (it has no driver yet).
pub(crate) fn not_supported(func: &str) -> Error {
    let msg = format!("this function is not supported by the connection driver: {func}");
    Error::new(ErrorNumber::NoSupport, ErrorDomain::Streams, msg)
}

/// How often a stream callback's timer looks for data while none is pending. libvirt's
/// client thread re-arms the timer when data arrives; the loop here is the calling thread's,
/// so the timer polls instead (an iteration may then end having called nothing).
const POLL_MS: c_int = 10;

/// A stream's callback registration (`virNetClientStream`'s `cbTimer`/`cbEvents`): a timer
/// of the default event loop that calls the callback while its events are ready.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventSlot(Arc<Mutex<Option<(c_int, sys::virStreamEventType)>>>);

impl EventSlot {
    fn get(&self) -> std::sync::MutexGuard<'_, Option<(c_int, sys::virStreamEventType)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `virNetClientStreamEventAddCallback`; `ready` says whether a receive would not block.
    pub(crate) fn add(
        &self,
        events: sys::virStreamEventType,
        mut ready: impl FnMut() -> bool + 'static,
        mut call: impl FnMut(sys::virStreamEventType) + 'static,
    ) -> Result<(), Error> {
        let mut slot = self.get();
        if slot.is_some() {
            return Err(Error::rpc("internal error: multiple stream callbacks not supported"));
        }
        let me = self.clone();
        let timer = event_add_timeout(
            0,
            move |timer, _| {
                let Some((_, want)) = *me.get() else { return };
                let mut ev = want & sys::VIR_STREAM_EVENT_WRITABLE;
                if want & sys::VIR_STREAM_EVENT_READABLE != 0 && ready() {
                    ev |= sys::VIR_STREAM_EVENT_READABLE;
                }
                if ev != 0 {
                    call(ev);
                }
                let Some((_, want)) = *me.get() else { return };
                let now = want & sys::VIR_STREAM_EVENT_WRITABLE != 0
                    || (want & sys::VIR_STREAM_EVENT_READABLE != 0 && ready());
                EventTimeoutWatch(timer).event_update_timeout(if now { 0 } else { POLL_MS });
            },
            std::ptr::null_mut(),
        )
        // virEventAddTimeout reports nothing: virDispatchError's message for no error.
        .map_err(|_| {
            Error::new(ErrorNumber::InternalError, ErrorDomain::None, "An error occurred, but the cause is unknown")
        })?;
        *slot = Some((timer.as_raw(), events));
        Ok(())
    }

    /// `virNetClientStreamEventUpdateCallback`.
    pub(crate) fn update(&self, events: sys::virStreamEventType) -> Result<(), Error> {
        let mut slot = self.get();
        let (timer, want) = slot.as_mut().ok_or_else(no_callback)?;
        *want = events;
        EventTimeoutWatch(*timer).event_update_timeout(0);
        Ok(())
    }

    /// `virNetClientStreamEventRemoveCallback`.
    pub(crate) fn remove(&self) -> Result<(), Error> {
        let (timer, _) = self.get().take().ok_or_else(no_callback)?;
        let _ = EventTimeoutWatch(timer).event_remove_timeout();
        Ok(())
    }
}

fn no_callback() -> Error {
    Error::rpc("internal error: no stream callback registered")
}
