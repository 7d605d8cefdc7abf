//! Commands as values: what a daemon's handler asks of a connection it does not own
//! ([`ServerCommand`], queued through a [`CommandSink`]) and applying them in order.

use std::time::Instant;

use bytes::Bytes;

use crate::error::RemoteError;
use crate::frame::StreamHole;
use crate::xdr::{self, XdrEncode};

use super::{encode_failure, CallId, ReplyError, ServerConnection, ServerStream};

/// One thing to do on a connection, as a value: what a daemon's handler asks of a connection
/// it does not own (the runtime's driver owns it) is queued as `ServerCommand`s and applied in
/// order with [`ServerConnection::apply`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerCommand {
    /// [`ServerConnection::reply_raw`].
    Reply {
        /// The call.
        id: CallId,
        /// The encoded return value.
        body: Bytes,
    },
    /// [`ServerConnection::reply_error`].
    ReplyError {
        /// The call.
        id: CallId,
        /// The error.
        error: Box<RemoteError>,
    },
    /// [`ServerConnection::open_stream`].
    OpenStream(CallId),
    /// [`ServerStream::send`].
    StreamSend {
        /// The stream.
        serial: u32,
        /// The data.
        data: Bytes,
    },
    /// [`ServerStream::send_hole`].
    StreamHole {
        /// The stream.
        serial: u32,
        /// The hole.
        hole: StreamHole,
    },
    /// [`ServerStream::send_eof`].
    StreamEof(u32),
    /// [`ServerStream::finish`].
    StreamFinish(u32),
    /// [`ServerStream::error`].
    StreamError {
        /// The stream.
        serial: u32,
        /// The error.
        error: Box<RemoteError>,
    },
    /// [`ServerConnection::send_event`] with an encoded body.
    SendEvent {
        /// Program.
        prog: u32,
        /// Version.
        vers: u32,
        /// Event procedure.
        proc_: i32,
        /// Encoded `_msg`.
        body: Bytes,
    },
    /// [`ServerConnection::close`].
    Close,
}

impl ServerConnection {
    /// Applies a queued command.
    ///
    /// # Errors
    /// As the method the command stands for (an unknown call or stream, a closed connection).
    pub fn apply(&mut self, now: Instant, command: ServerCommand) -> Result<(), ReplyError> {
        fn stream(c: &mut ServerConnection, serial: u32) -> Result<ServerStream<'_>, ReplyError> {
            c.stream(serial).ok_or(ReplyError::UnknownStream(serial))
        }
        match command {
            ServerCommand::Reply { id, body } => self.reply_raw(id, &body),
            ServerCommand::ReplyError { id, error } => self.reply_error(id, &error),
            ServerCommand::OpenStream(id) => self.open_stream(id).map(drop),
            ServerCommand::StreamSend { serial, data } => stream(self, serial)?.send(data),
            ServerCommand::StreamHole { serial, hole } => stream(self, serial)?.send_hole(hole),
            ServerCommand::StreamEof(serial) => stream(self, serial)?.send_eof(),
            ServerCommand::StreamFinish(serial) => stream(self, serial)?.finish(),
            ServerCommand::StreamError { serial, error } => stream(self, serial)?.error(&error),
            ServerCommand::SendEvent { prog, vers, proc_, body } => {
                self.send_event(prog, vers, proc_, &crate::xdr::Raw(body))
            }
            ServerCommand::Close => {
                self.close(now);
                Ok(())
            }
        }
    }
}

/// The answering half of a runtime's connection handle: everything is queued as a
/// [`ServerCommand`] for the connection's driver, which applies it in order. A runtime
/// implements [`CommandSink::submit`]; the rest is shared.
pub trait CommandSink {
    /// Queues a command (dropped if the connection is gone).
    fn submit(&self, command: ServerCommand);

    /// Answers a call with an encoded return value.
    fn reply_raw(&self, id: CallId, body: Bytes) {
        self.submit(ServerCommand::Reply { id, body });
    }

    /// Answers a call with a return value (or libvirt's "Unable to encode message payload").
    fn reply<T: XdrEncode + ?Sized>(&self, id: CallId, ret: &T) {
        match xdr::to_bytes(ret) {
            Ok(body) => self.reply_raw(id, body),
            Err(_) => self.reply_error(id, encode_failure()),
        }
    }

    /// Answers a call with an error.
    fn reply_error(&self, id: CallId, error: RemoteError) {
        self.submit(ServerCommand::ReplyError { id, error: Box::new(error) });
    }

    /// Registers the stream the call `id` opens; call it before the reply.
    fn open_stream(&self, id: CallId) {
        self.submit(ServerCommand::OpenStream(id));
    }

    /// Sends stream data (chunked as libvirt does, sharing `data`'s memory).
    fn stream_send(&self, serial: u32, data: Bytes) {
        self.submit(ServerCommand::StreamSend { serial, data });
    }

    /// Sends a sparse hole.
    fn stream_hole(&self, serial: u32, hole: StreamHole) {
        self.submit(ServerCommand::StreamHole { serial, hole });
    }

    /// Sends the end-of-data marker of a read stream.
    fn stream_eof(&self, serial: u32) {
        self.submit(ServerCommand::StreamEof(serial));
    }

    /// Confirms the client's finish or abort.
    fn stream_finish(&self, serial: u32) {
        self.submit(ServerCommand::StreamFinish(serial));
    }

    /// Fails the stream.
    fn stream_error(&self, serial: u32, error: RemoteError) {
        self.submit(ServerCommand::StreamError { serial, error: Box::new(error) });
    }

    /// Sends an event (`MESSAGE`) with an encoded body.
    fn send_event(&self, prog: u32, vers: u32, proc_: i32, body: Bytes) {
        self.submit(ServerCommand::SendEvent { prog, vers, proc_, body });
    }

    /// Closes the connection once everything queued before is sent.
    fn close(&self) {
        self.submit(ServerCommand::Close);
    }
}
