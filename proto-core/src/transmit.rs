//! The transmit queue shared by both connection types.
//!
//! Small frames are encoded straight into one growing buffer, so a burst of calls or replies
//! goes out as one write. A large payload that already lives in a [`Bytes`] (stream data) is
//! queued by reference behind its length word and header, never copied.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{
    encode_frame_raw, Header, MessageStatus, MessageType, MIN_FRAME_LEN, VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX,
};
use crate::program::{KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION};

/// Payloads at least this large are queued by reference instead of copied.
const SHARE_THRESHOLD: usize = 16 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    /// Chunks ready to go, in order, before `tail`.
    queue: VecDeque<Bytes>,
    /// The buffer small frames are encoded into; goes out after `queue`.
    tail: BytesMut,
    queued_len: usize,
}

impl Outgoing {
    /// The buffer to encode a frame into (after everything queued).
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// A keepalive message (`KEEPALIVE_PROGRAM`, MESSAGE, serial 0, no body): PING or PONG.
    pub(crate) fn push_keepalive(&mut self, proc_: i32) {
        let header = Header {
            prog: KEEPALIVE_PROGRAM,
            vers: KEEPALIVE_PROTOCOL_VERSION,
            proc_,
            ty: MessageType::Message,
            serial: 0,
            status: MessageStatus::Ok,
        };
        self.push_frame(&header, &[]);
    }

    pub(crate) fn push_frame(&mut self, header: &Header, payload: &[u8]) {
        encode_frame_raw(&mut self.tail, header, payload);
    }

    /// Queues a frame whose payload is shared, not copied, when it is large.
    pub(crate) fn push_frame_shared(&mut self, header: &Header, payload: Bytes) {
        if payload.len() < SHARE_THRESHOLD {
            self.push_frame(header, &payload);
            return;
        }
        let len = MIN_FRAME_LEN as usize + payload.len();
        self.tail.reserve(MIN_FRAME_LEN as usize);
        self.tail.put_u32(len as u32);
        header.encode(&mut self.tail);
        let head = self.tail.split().freeze();
        self.queued_len += head.len() + payload.len();
        self.queue.push_back(head);
        self.queue.push_back(payload);
    }

    /// Queues stream data (`header` a `STREAM`/`CONTINUE` one) in frames of at most libvirt's
    /// 262120 bytes, each sharing `data`'s memory.
    pub(crate) fn push_stream_data(&mut self, header: &Header, mut data: Bytes) {
        while !data.is_empty() {
            let chunk = data.split_to(data.len().min(VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX));
            self.push_frame_shared(header, chunk);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        if let Some(b) = self.queue.pop_front() {
            self.queued_len -= b.len();
            return Some(b);
        }
        if self.tail.is_empty() {
            None
        } else {
            Some(self.tail.split().freeze())
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.tail.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.queued_len + self.tail.len()
    }
}
