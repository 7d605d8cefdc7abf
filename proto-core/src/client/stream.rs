//! The sending side of a stream a call opened (`src/rpc/virnetclientstream.c`): data, holes,
//! finish and abort, queued on its [`ClientConnection`].

use bytes::Bytes;

use super::ClientConnection;
use crate::frame::{MessageStatus, MessageType, StreamHole};
use crate::{ConnectionError, Header};

/// Why a stream operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The opening call has not been answered yet.
    #[error("the stream is not open yet")]
    NotOpen,
    /// This side already finished or aborted the stream.
    #[error("the stream was already finished or aborted")]
    AlreadyFinished,
    /// The connection is closed.
    #[error("connection closed: {0}")]
    Closed(ConnectionError),
}

/// Sending side of one stream, borrowed from its [`ClientConnection`].
#[derive(Debug)]
pub struct ClientStream<'a> {
    pub(super) conn: &'a mut ClientConnection,
    pub(super) serial: u32,
}

impl ClientStream<'_> {
    fn state(&self) -> Result<Header, StreamError> {
        if let Some(r) = &self.conn.closed {
            return Err(StreamError::Closed(r.clone()));
        }
        match self.conn.streams.get(&self.serial) {
            Some(s) if s.local_done => Err(StreamError::AlreadyFinished),
            Some(s) if !s.open => Err(StreamError::NotOpen),
            Some(s) => Ok(s.header),
            None => Err(StreamError::AlreadyFinished),
        }
    }

    /// Sends data (`STREAM`/`CONTINUE`), in chunks of at most 262120 bytes as libvirt does.
    /// The chunks share `data`'s memory.
    ///
    /// # Errors
    /// When the stream is not open, already finished, or the connection is closed.
    pub fn send(&mut self, data: Bytes) -> Result<(), StreamError> {
        let header = self.state()?;
        self.conn.out.push_stream_data(&header, data);
        Ok(())
    }

    /// Sends a sparse hole (`STREAM_HOLE`/`CONTINUE`).
    ///
    /// # Errors
    /// As [`ClientStream::send`].
    pub fn send_hole(&mut self, hole: StreamHole) -> Result<(), StreamError> {
        let header = self.state()?.with(MessageType::StreamHole, MessageStatus::Continue);
        let mut body = [0u8; 12];
        body[..8].copy_from_slice(&hole.length.to_be_bytes());
        body[8..].copy_from_slice(&hole.flags.to_be_bytes());
        self.conn.out.push_frame(&header, &body);
        Ok(())
    }

    /// Finishes the stream (`STREAM`/`OK`, empty); the server confirms with
    /// [`ClientEvent::StreamFinished`](super::ClientEvent::StreamFinished) or reports [`ClientEvent::StreamError`](super::ClientEvent::StreamError).
    ///
    /// # Errors
    /// As [`ClientStream::send`].
    pub fn finish(&mut self) -> Result<(), StreamError> {
        self.end(MessageStatus::Ok)
    }

    /// Aborts the stream (`STREAM`/`ERROR`, empty); the server confirms with
    /// [`ClientEvent::StreamFinished`](super::ClientEvent::StreamFinished).
    ///
    /// # Errors
    /// As [`ClientStream::send`].
    pub fn abort(&mut self) -> Result<(), StreamError> {
        self.end(MessageStatus::Error)
    }

    fn end(&mut self, status: MessageStatus) -> Result<(), StreamError> {
        let header = self.state()?.with(MessageType::Stream, status);
        self.conn.out.push_frame(&header, &[]);
        if let Some(s) = self.conn.streams.get_mut(&self.serial) {
            s.local_done = true;
        }
        Ok(())
    }
}
