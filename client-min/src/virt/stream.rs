//! `virStream…`: a data stream a call (volume upload/download, screenshot, console) attaches to.

use std::io::Read;
use std::sync::Mutex;

use adapter_blocking::StreamHandle;
use proto_core::client::CallSpec;
use proto_core::Procedure;

use crate::connect::Connect;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::sys;

/// A stream (`virStreamPtr`): created unattached, then handed to the call that uses it.
pub struct Stream {
    conn: Connect,
    flags: sys::virStreamFlags,
    handle: Mutex<Option<StreamHandle>>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("flags", &self.flags).finish_non_exhaustive()
    }
}

fn io_error(e: &std::io::Error) -> Error {
    Error::new(ErrorNumber::Rpc, ErrorDomain::Streams, e.to_string())
}

fn unused() -> Error {
    Error::new(ErrorNumber::OperationInvalid, ErrorDomain::Streams, "stream is not open")
}

impl Stream {
    /// `virStreamNew`. Like libvirt, any flags are accepted and kept; calls on this stream
    /// block until data or space is there (`VIR_STREAM_NONBLOCK` does not change that here).
    pub fn new(conn: &Connect, flags: sys::virStreamFlags) -> Result<Self, Error> {
        Ok(Self { conn: conn.clone(), flags, handle: Mutex::new(None) })
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<StreamHandle>> {
        self.handle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes the call `P` that opens this stream; answers its reply.
    pub(crate) fn start<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        let mut slot = self.lock();
        if slot.is_some() {
            return Err(Error::new(ErrorNumber::OperationInvalid, ErrorDomain::Streams, "stream is already in use"));
        }
        let body = proto_core::xdr::to_bytes(args).map_err(|e| Error::rpc(e.to_string()))?;
        let (reply, handle) = self.conn.client().call_stream(CallSpec::of::<P>(), &body).map_err(Error::from)?;
        let ret = proto_core::xdr::from_bytes(reply).map_err(|e| Error::rpc(format!("Unable to decode reply: {e}")))?;
        *slot = Some(handle);
        Ok(ret)
    }

    /// `virStreamSend`: how many bytes were queued.
    pub fn send(&self, data: &[u8]) -> Result<isize, Error> {
        let mut slot = self.lock();
        let h = slot.as_mut().ok_or_else(unused)?;
        h.send(bytes::Bytes::copy_from_slice(data)).map_err(|e| io_error(&e))?;
        Ok(isize::try_from(data.len()).unwrap_or(isize::MAX))
    }

    /// `virStreamRecv`: bytes read, 0 at the end of the stream.
    pub fn recv(&self, buf: &mut [u8]) -> Result<isize, Error> {
        let mut slot = self.lock();
        let h = slot.as_mut().ok_or_else(unused)?;
        let n = h.read(buf).map_err(|e| io_error(&e))?;
        Ok(isize::try_from(n).unwrap_or(isize::MAX))
    }

    /// `virStreamFinish`: ends the stream and waits for the server to confirm.
    pub fn finish(self) -> Result<(), Error> {
        match self.lock().take() {
            Some(h) => h.finish().map_err(Error::from),
            None => Ok(()),
        }
    }

    /// `virStreamAbort`.
    pub fn abort(self) -> Result<(), Error> {
        match self.lock().take() {
            Some(h) => h.abort().map_err(Error::from),
            None => Ok(()),
        }
    }
}
