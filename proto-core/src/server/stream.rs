//! Streams: registering the stream a call opens, and sending on it ([`ServerStream`]).

use bytes::Bytes;

use crate::error::RemoteError;
use crate::frame::{encode_frame, Header, MessageStatus, MessageType, StreamHole};

use super::{CallId, ReplyError, ServerConnection};

#[derive(Debug, Clone, Copy)]
pub(super) struct ServerStreamState {
    pub(super) header: Header,
    /// The client finished or aborted: later packets of this stream are dropped, as libvirtd
    /// drops them once it marked the stream closed.
    pub(super) client_done: bool,
}

impl ServerConnection {
    /// Registers the stream the call `id` opens, before the call is answered: stream packets
    /// with its serial are accepted from then on. Returns the stream's serial.
    ///
    /// # Errors
    /// When the call is unknown or the connection closed.
    pub fn open_stream(&mut self, id: CallId) -> Result<u32, ReplyError> {
        if let Some(r) = &self.closed {
            return Err(ReplyError::Closed(r.clone()));
        }
        let header = *self.calls.get(&id.0).ok_or(ReplyError::UnknownCall(id))?;
        if self.streams.contains_key(&header.serial) {
            return Err(ReplyError::StreamInUse(header.serial));
        }
        self.streams.insert(header.serial, ServerStreamState { header, client_done: false });
        Ok(header.serial)
    }

    /// The open stream with this serial, to send on it.
    #[must_use]
    pub fn stream(&mut self, serial: u32) -> Option<ServerStream<'_>> {
        if self.closed.is_none() && self.streams.contains_key(&serial) {
            Some(ServerStream { conn: self, serial })
        } else {
            None
        }
    }
}

/// Sending side of one server stream, borrowed from its [`ServerConnection`].
#[derive(Debug)]
pub struct ServerStream<'a> {
    conn: &'a mut ServerConnection,
    serial: u32,
}

impl ServerStream<'_> {
    fn header(&self) -> Result<Header, ReplyError> {
        self.conn.streams.get(&self.serial).map(|s| s.header).ok_or(ReplyError::UnknownStream(self.serial))
    }

    /// Sends data (`STREAM`/`CONTINUE`) in chunks of at most 262120 bytes, sharing `data`'s
    /// memory.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn send(&mut self, data: Bytes) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Continue);
        self.conn.out.push_stream_data(&header, data);
        Ok(())
    }

    /// Sends a sparse hole (`STREAM_HOLE`/`CONTINUE`).
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn send_hole(&mut self, hole: StreamHole) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::StreamHole, MessageStatus::Continue);
        encode_frame(self.conn.out.buf(), &header, &hole).map_err(ReplyError::Encode)
    }

    /// Sends the end-of-stream marker of a read stream (an empty `STREAM`/`CONTINUE`). The
    /// stream stays open until the client finishes it.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn send_eof(&mut self) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Continue);
        self.conn.out.push_frame(&header, &[]);
        Ok(())
    }

    /// Confirms the client's finish or abort (`STREAM`/`OK`, empty) and forgets the stream.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn finish(self) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Ok);
        self.conn.out.push_frame(&header, &[]);
        self.conn.streams.remove(&self.serial);
        Ok(())
    }

    /// Fails the stream (`STREAM`/`ERROR` with `remote_error`) and forgets it.
    ///
    /// # Errors
    /// When the stream is gone.
    pub fn error(self, error: &RemoteError) -> Result<(), ReplyError> {
        let header = self.header()?.with(MessageType::Stream, MessageStatus::Error);
        self.conn.push_error(header, error);
        self.conn.streams.remove(&self.serial);
        Ok(())
    }
}
