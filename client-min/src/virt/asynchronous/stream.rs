//! `virStream…`, async: the blocking [`crate::stream::Stream`]'s methods on adapter-smol's
//! streams (the same receive cursor).

use std::sync::Arc;

use proto_core::client::CallSpec;
use proto_core::Procedure;
use smol::lock::Mutex;

use super::connect::Connect;
use crate::error::Error;
use crate::stream::{in_use, io_error, not_supported, unused, Cursor, EventSlot};
use crate::sys;

/// An async stream (`virStreamPtr`): created unattached, then handed to the call that uses it.
pub struct Stream {
    conn: Connect,
    flags: sys::virStreamFlags,
    state: Arc<Mutex<Option<(adapter_smol::Stream, Cursor)>>>,
    watch: EventSlot,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("flags", &self.flags).finish_non_exhaustive()
    }
}

impl Stream {
    /// `virStreamNew`.
    pub fn new(conn: &Connect, flags: sys::virStreamFlags) -> Result<Self, Error> {
        Ok(Self { conn: conn.clone(), flags, state: Arc::default(), watch: EventSlot::default() })
    }

    /// Another handle on the same stream (what a stream callback is given).
    fn share(&self) -> Self {
        Self { conn: self.conn.clone(), flags: self.flags, state: self.state.clone(), watch: self.watch.clone() }
    }

    /// Refuses a stream of another connection than `conn`, with `message`.
    pub(crate) fn check_connection(&self, conn: &Connect, func: &str, message: String) -> Result<(), Error> {
        if self.conn.same_as(conn) {
            Ok(())
        } else {
            Err(Error::invalid_arg(func, message))
        }
    }

    /// Makes the call `P` that opens this stream; answers its reply.
    pub(crate) async fn start<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        let mut slot = self.state.lock().await;
        if slot.is_some() {
            return Err(in_use());
        }
        let body = proto_core::xdr::to_bytes(args).map_err(|e| Error::rpc(e.to_string()))?;
        let (reply, handle) = self.conn.client().call_stream(CallSpec::of::<P>(), &body).await?;
        let ret = proto_core::xdr::from_bytes(reply).map_err(|e| Error::rpc(format!("Unable to decode reply: {e}")))?;
        *slot = Some((handle, Cursor::default()));
        Ok(ret)
    }

    /// `virStreamSend`: how many bytes were queued.
    pub async fn send(&self, data: &[u8]) -> Result<isize, Error> {
        let mut slot = self.state.lock().await;
        let (h, _) = slot.as_mut().ok_or_else(unused)?;
        h.send(bytes::Bytes::copy_from_slice(data)).await.map_err(|e| io_error(&e))?;
        Ok(isize::try_from(data.len()).unwrap_or(isize::MAX))
    }

    /// `virStreamSendHole`.
    pub async fn send_hole(&self, length: i64, flags: u32) -> Result<(), Error> {
        let _ = flags;
        let mut slot = self.state.lock().await;
        let (h, _) = slot.as_mut().ok_or_else(unused)?;
        h.send_hole(length).await.map_err(|e| io_error(&e))
    }

    /// `virStreamRecv`: bytes read, 0 at the end of the stream (holes read as zeros).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<isize, Error> {
        self.recv_flags(buf, 0).await
    }

    /// `virStreamRecvFlags` (-3 at a hole with `VIR_STREAM_RECV_STOP_AT_HOLE`).
    pub async fn recv_flags(&self, buf: &mut [u8], flags: u32) -> Result<isize, Error> {
        let mut slot = self.state.lock().await;
        let (h, cursor) = slot.as_mut().ok_or_else(unused)?;
        loop {
            if let Some(n) = cursor.take(buf, flags) {
                return Ok(n);
            }
            let item = match cursor.peeked() {
                Some(item) => item,
                None => h.recv().await,
            };
            cursor.push(item)?;
        }
    }

    /// `virStreamRecvHole`: the length of the hole the stream stands at, 0 if none.
    pub async fn recv_hole(&self, flags: u32) -> Result<i64, Error> {
        let _ = flags;
        let mut slot = self.state.lock().await;
        let (_, cursor) = slot.as_mut().ok_or_else(unused)?;
        Ok(cursor.take_hole())
    }

    /// `virStreamFinish`.
    pub async fn finish(self) -> Result<(), Error> {
        let state = self.state.lock().await.take();
        match state {
            Some((_, c)) if c.finished => Ok(()),
            Some((h, _)) => Ok(h.finish().await?),
            None => Ok(()),
        }
    }

    /// `virStreamAbort`.
    pub async fn abort(self) -> Result<(), Error> {
        let state = self.state.lock().await.take();
        match state {
            Some((h, _)) => Ok(h.abort().await?),
            None => Ok(()),
        }
    }

    /// `virStreamEventAddCallback`, as the blocking [`crate::stream::Stream`]'s: `cb` runs
    /// from the default event loop ([`crate::event::event_run_default_impl`]).
    pub fn event_add_callback<F: 'static + FnMut(&Self, sys::virStreamEventType)>(
        &mut self,
        events: sys::virStreamEventType,
        mut cb: F,
    ) -> Result<(), Error> {
        if self.unopened() {
            return Err(not_supported("virStreamEventAddCallback"));
        }
        let (st, state) = (self.share(), self.state.clone());
        // Locked by a call in progress: not ready yet. Otherwise one poll of the receiver.
        let ready = move || match state.try_lock().as_deref_mut() {
            Some(Some((h, cursor))) => cursor.ready(|| smol::block_on(smol::future::poll_once(h.recv()))),
            Some(None) => true,
            None => false,
        };
        self.watch.add(events, ready, move |ev| cb(&st, ev))
    }

    /// `virStreamEventUpdateCallback`.
    pub fn event_update_callback(&self, events: sys::virStreamEventType) -> Result<(), Error> {
        if self.unopened() {
            return Err(not_supported("virStreamEventUpdateCallback"));
        }
        self.watch.update(events)
    }

    /// `virStreamEventRemoveCallback`.
    pub fn event_remove_callback(&self) -> Result<(), Error> {
        if self.unopened() {
            return Err(not_supported("virStreamEventRemoveCallback"));
        }
        self.watch.remove()
    }

    /// No call has opened the stream (a call holding it counts as opened).
    fn unopened(&self) -> bool {
        self.state.try_lock().is_some_and(|s| s.is_none())
    }
}
