//! `virStream…`: a data stream a call (volume upload/download, screenshot, console) attaches to.

use std::sync::Mutex;

use adapter_blocking::{StreamHandle, StreamItem};
use proto_core::client::CallSpec;
use proto_core::Procedure;

use crate::connect::Connect;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::sys;

/// A stream (`virStreamPtr`): created unattached, then handed to the call that uses it.
pub struct Stream {
    conn: Connect,
    flags: sys::virStreamFlags,
    state: Mutex<Option<(StreamHandle, Cursor)>>,
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
        Ok(Self { conn: conn.clone(), flags, state: Mutex::new(None) })
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
            cursor.push(h.recv())?;
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
}
