//! The handles a [`Client`] gives out besides calls: streams and event subscriptions.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use adapter_io::StreamCursor;
use bytes::Bytes;
use proto_core::{CallError, ConnectionError, StreamHole};
use smol::channel::{self, Receiver};
use smol::future::poll_fn;
use smol::io::{AsyncRead, AsyncWrite};
use smol::stream::StreamExt;

use crate::{Client, Cmd, Error, Event, StreamItem, StreamOp};

/// A bounded queue of events. Overflow policy: when full, the **oldest** event is dropped and
/// counted in [`Subscription::missed`], so a slow subscriber never stalls the connection and
/// always sees the newest state (adapter-io's queue, as the blocking client's). Dropping it
/// stops delivery.
#[derive(Debug)]
pub struct Subscription(pub(crate) adapter_io::queue::Subscription);

impl Subscription {
    /// Waits for the next event; `Err` with the reason once the connection closed and every
    /// queued event was taken.
    ///
    /// # Errors
    /// When the connection is closed.
    pub async fn recv(&self) -> Result<Event, ConnectionError> {
        poll_fn(|cx| self.0.poll_recv(cx)).await
    }

    /// Events dropped because the queue was full.
    #[must_use]
    pub fn missed(&self) -> u64 {
        self.0.missed()
    }
}

/// A stream opened by a call: read it (read streams) or write it (write streams).
///
/// `AsyncRead` expands sparse holes into zeros; [`Stream::recv`] shows them as holes. Writes
/// wait while more than 4 MiB of this connection's output is unsent. Dropping a stream that
/// was not finished aborts it.
#[derive(Debug)]
pub struct Stream {
    client: Client,
    serial: u32,
    rx: Pin<Box<Receiver<StreamItem>>>,
    /// The driver's answer to the last send: an error, or closed once it may continue.
    ack: Option<Pin<Box<Receiver<io::Error>>>>,
    cursor: StreamCursor,
    done: bool,
}

impl Stream {
    pub(crate) fn new(client: Client, serial: u32, rx: Receiver<StreamItem>) -> Self {
        Self { client, serial, rx: Box::pin(rx), ack: None, cursor: StreamCursor::default(), done: false }
    }

    /// The serial of the call that opened the stream.
    #[must_use]
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The next item from the server; `None` once the stream is over.
    pub async fn recv(&mut self) -> Option<StreamItem> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = ready!(self.rx.poll_next(cx));
        self.done = matches!(item, None | Some(StreamItem::Finished | StreamItem::Error(_)));
        Poll::Ready(item)
    }

    fn poll_ack(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(rx) = &mut self.ack {
            let r = ready!(rx.poll_next(cx));
            self.ack = None;
            if let Some(e) = r {
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(()))
    }

    fn start(&mut self, op: StreamOp) -> io::Result<()> {
        let (tx, rx) = channel::bounded(1);
        self.client.send(Cmd::Stream(self.serial, op, tx)).map_err(io::Error::other)?;
        self.ack = Some(Box::pin(rx));
        Ok(())
    }

    async fn op(&mut self, op: StreamOp) -> io::Result<()> {
        poll_fn(|cx| self.poll_ack(cx)).await?;
        self.start(op)
    }

    /// Sends data without copying it again.
    ///
    /// # Errors
    /// When the stream or the connection is closed (possibly reported one send late).
    pub async fn send(&mut self, data: Bytes) -> io::Result<()> {
        self.op(StreamOp::Data(data)).await
    }

    /// Sends a sparse hole of `length` bytes.
    ///
    /// # Errors
    /// As [`Stream::send`].
    pub async fn send_hole(&mut self, length: i64) -> io::Result<()> {
        self.op(StreamOp::Hole(StreamHole { length, flags: 0 })).await
    }

    /// Finishes the stream and waits for the server's confirmation.
    ///
    /// # Errors
    /// When the server reports an error or the connection closes.
    pub async fn finish(mut self) -> Result<(), Error> {
        self.end(StreamOp::Finish).await
    }

    /// Aborts the stream and waits for the server's confirmation.
    ///
    /// # Errors
    /// When the connection closes.
    pub async fn abort(mut self) -> Result<(), Error> {
        self.end(StreamOp::Abort).await
    }

    async fn end(&mut self, op: StreamOp) -> Result<(), Error> {
        let io = |source| Error::Io { what: "cannot end the stream".into(), source };
        self.op(op).await.map_err(io)?;
        poll_fn(|cx| self.poll_ack(cx)).await.map_err(io)?;
        while let Some(item) = self.recv().await {
            match item {
                StreamItem::Finished => return Ok(()),
                StreamItem::Error(e) => return Err(Error::Call(CallError::Remote(e))),
                _ => {}
            }
        }
        Err(self.client.closed_error())
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.start(StreamOp::Abort);
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(n) = this.cursor.read(buf) {
                return Poll::Ready(Ok(n));
            }
            let item = ready!(this.poll_recv(cx));
            if !this.cursor.take(item)? {
                return Poll::Ready(Ok(0));
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_ack(cx))?;
        this.start(StreamOp::Data(Bytes::copy_from_slice(buf)))?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_ack(cx)
    }

    /// Flushes; the stream itself ends with [`Stream::finish`] or [`Stream::abort`].
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
