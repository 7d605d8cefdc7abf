//! Framing: the length word, `virNetMessageHeader`, message types and statuses, libvirt 9's
//! limits, and an incremental deframer (`src/rpc/virnetprotocol.x`, `src/rpc/virnetmessage.c`;
//! `protocol-facts.md` §1–2, §5–6).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use nom::number::complete::be_u32;
use nom::Parser;

use crate::xdr::{DecodeError, DecodeErrorKind, EncodeError, XdrDecode, XdrEncode, XdrReader};

/// `VIR_NET_MESSAGE_LEN_MAX`: size of the length word that starts every message.
pub const VIR_NET_MESSAGE_LEN_MAX: usize = 4;
/// `VIR_NET_MESSAGE_HEADER_MAX`: size of the encoded `virNetMessageHeader`.
pub const VIR_NET_MESSAGE_HEADER_MAX: usize = 24;
/// `VIR_NET_MESSAGE_INITIAL`: libvirt's initial encode buffer (header and payload).
pub const VIR_NET_MESSAGE_INITIAL: usize = 65_536;
/// `VIR_NET_MESSAGE_MAX`: the largest header plus payload, not counting the length word (32 MiB).
pub const VIR_NET_MESSAGE_MAX: usize = 33_554_432;
/// `VIR_NET_MESSAGE_PAYLOAD_MAX`: `VIR_NET_MESSAGE_MAX` minus the header.
pub const VIR_NET_MESSAGE_PAYLOAD_MAX: usize = VIR_NET_MESSAGE_MAX - VIR_NET_MESSAGE_HEADER_MAX;
/// `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`: the old payload limit, still the stream chunk size.
pub const VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX: usize = 262_120;
/// `VIR_NET_MESSAGE_STRING_MAX`: the bound of every `remote_nonnull_string` (4 MiB).
pub const VIR_NET_MESSAGE_STRING_MAX: u32 = crate::xdr::STRING_MAX;
/// `VIR_NET_MESSAGE_NUM_FDS_MAX`: most file descriptors in one message.
pub const VIR_NET_MESSAGE_NUM_FDS_MAX: u32 = 32;
/// The smallest valid length word: a header and no payload.
pub const MIN_FRAME_LEN: u32 = (VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX) as u32;
/// The largest valid length word (0x02000004).
pub const MAX_FRAME_LEN: u32 = (VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_MAX) as u32;

/// `virNetMessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum MessageType {
    /// `VIR_NET_CALL` (0): client to server, payload `<proc>_args`.
    Call = 0,
    /// `VIR_NET_REPLY` (1): server to client, `<proc>_ret` or `remote_error`.
    Reply = 1,
    /// `VIR_NET_MESSAGE` (2): an asynchronous event or a keepalive message.
    Message = 2,
    /// `VIR_NET_STREAM` (3): raw stream bytes.
    Stream = 3,
    /// `VIR_NET_CALL_WITH_FDS` (4): a call followed by file descriptors.
    CallWithFds = 4,
    /// `VIR_NET_REPLY_WITH_FDS` (5): a reply followed by file descriptors.
    ReplyWithFds = 5,
    /// `VIR_NET_STREAM_HOLE` (6): a sparse hole, body `virNetStreamHole`.
    StreamHole = 6,
}

impl MessageType {
    /// The type for a wire value, if it is one of the seven.
    #[must_use]
    pub const fn from_wire(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Call,
            1 => Self::Reply,
            2 => Self::Message,
            3 => Self::Stream,
            4 => Self::CallWithFds,
            5 => Self::ReplyWithFds,
            6 => Self::StreamHole,
            _ => return None,
        })
    }

    /// Whether the body starts with the 4-byte fd count.
    #[must_use]
    pub const fn has_fds(self) -> bool {
        matches!(self, Self::CallWithFds | Self::ReplyWithFds)
    }
}

/// `virNetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum MessageStatus {
    /// `VIR_NET_OK` (0).
    Ok = 0,
    /// `VIR_NET_ERROR` (1): the body is a `remote_error`.
    Error = 1,
    /// `VIR_NET_CONTINUE` (2): more stream data follows.
    Continue = 2,
}

impl MessageStatus {
    /// The status for a wire value, if it is one of the three.
    #[must_use]
    pub const fn from_wire(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Ok,
            1 => Self::Error,
            2 => Self::Continue,
            _ => return None,
        })
    }
}

/// `virNetMessageHeader`: six 4-byte words after the length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Program number, e.g. `REMOTE_PROGRAM` 0x20008086.
    pub prog: u32,
    /// Program version (1 for every libvirt program).
    pub vers: u32,
    /// Procedure number inside the program (signed on the wire).
    pub proc_: i32,
    /// Message type.
    pub ty: MessageType,
    /// Serial: the call's, echoed by its reply and its stream packets.
    pub serial: u32,
    /// Status.
    pub status: MessageStatus,
}

/// The six header words as they are on the wire, before the type and status are checked.
///
/// libvirt's daemon reacts to an unknown type or status differently from a short header (it
/// drops the message or answers it), so the connections look at the raw words first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawHeader {
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number.
    pub proc_: i32,
    /// Message type, unchecked.
    pub ty: i32,
    /// Serial.
    pub serial: u32,
    /// Status, unchecked.
    pub status: i32,
}

fn six_words(input: &[u8]) -> nom::IResult<&[u8], [u32; 6]> {
    let (rest, (a, b, c, d, e, f)) = (be_u32, be_u32, be_u32, be_u32, be_u32, be_u32).parse(input)?;
    Ok((rest, [a, b, c, d, e, f]))
}

impl RawHeader {
    /// Reads the six words from the start of `buf` (a frame without its length word).
    ///
    /// # Errors
    /// When fewer than 24 bytes are given.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        match six_words(buf) {
            Ok((_, [prog, vers, proc_, ty, serial, status])) => {
                Ok(Self { prog, vers, proc_: proc_ as i32, ty: ty as i32, serial, status: status as i32 })
            }
            Err(_) => Err(DecodeError {
                offset: VIR_NET_MESSAGE_LEN_MAX,
                kind: DecodeErrorKind::Truncated { needed: VIR_NET_MESSAGE_HEADER_MAX as u64, left: buf.len() },
            }),
        }
    }

    /// Checks the type and status.
    ///
    /// # Errors
    /// [`DecodeErrorKind::UnknownMessageType`] or [`DecodeErrorKind::UnknownMessageStatus`].
    pub fn check(self) -> Result<Header, DecodeError> {
        let ty = MessageType::from_wire(self.ty).ok_or(DecodeError {
            offset: VIR_NET_MESSAGE_LEN_MAX + 12,
            kind: DecodeErrorKind::UnknownMessageType(self.ty),
        })?;
        let status = MessageStatus::from_wire(self.status).ok_or(DecodeError {
            offset: VIR_NET_MESSAGE_LEN_MAX + 20,
            kind: DecodeErrorKind::UnknownMessageStatus(self.status),
        })?;
        Ok(Header { prog: self.prog, vers: self.vers, proc_: self.proc_, ty, serial: self.serial, status })
    }
}

impl Header {
    /// Reads and checks a header from the start of `buf` (a frame without its length word).
    ///
    /// # Errors
    /// When fewer than 24 bytes are given or the type or status is unknown.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        RawHeader::decode(buf)?.check()
    }

    /// Appends the 24 header bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(VIR_NET_MESSAGE_HEADER_MAX);
        out.put_u32(self.prog);
        out.put_u32(self.vers);
        out.put_i32(self.proc_);
        out.put_i32(self.ty as i32);
        out.put_u32(self.serial);
        out.put_i32(self.status as i32);
    }

    /// The same header with another type and status (how replies and stream packets are made).
    #[must_use]
    pub const fn with(self, ty: MessageType, status: MessageStatus) -> Self {
        Self { ty, status, ..self }
    }
}

/// `virNetStreamHole`: the body of a `VIR_NET_STREAM_HOLE` packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamHole {
    /// Length of the hole in bytes (`hyper`).
    pub length: i64,
    /// Flags (`unsigned int`, 0 today).
    pub flags: u32,
}

impl XdrEncode for StreamHole {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_i64(self.length);
        out.put_u32(self.flags);
        Ok(())
    }
}

impl XdrDecode for StreamHole {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        Ok(Self { length: r.i64()?, flags: r.u32()? })
    }
}

/// One whole message: its header and its body (everything after the 24 header bytes).
///
/// For `*_WITH_FDS` types the body still starts with the fd count; see [`Frame::split_fds`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The checked header.
    pub header: Header,
    /// The body, a slice of the received bytes.
    pub body: Bytes,
}

impl Frame {
    /// For `*_WITH_FDS` messages, reads the fd-count word and returns it with the rest of the
    /// body; for other types returns 0 and the whole body.
    ///
    /// # Errors
    /// When the count is missing or above [`VIR_NET_MESSAGE_NUM_FDS_MAX`].
    pub fn split_fds(&self) -> Result<(u32, Bytes), DecodeError> {
        if !self.header.ty.has_fds() {
            return Ok((0, self.body.clone()));
        }
        let mut r = XdrReader::with_base(self.body.clone(), MIN_FRAME_LEN as usize);
        let n = r.u32()?;
        if n > VIR_NET_MESSAGE_NUM_FDS_MAX {
            return Err(DecodeError { offset: MIN_FRAME_LEN as usize, kind: DecodeErrorKind::TooManyFds(n) });
        }
        Ok((n, r.take_rest()))
    }

    /// Encodes the whole message, length word included.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(MIN_FRAME_LEN as usize + self.body.len());
        encode_frame_raw(&mut out, &self.header, &self.body);
        out.freeze()
    }
}

/// Appends one message whose payload is `encode`d straight into `out`: the length word is
/// reserved, the header and payload written, then the length filled in (as libvirt does).
/// On failure `out` is left as it was.
///
/// # Errors
/// When the payload breaks a bound, or the message would exceed [`VIR_NET_MESSAGE_MAX`].
pub fn encode_frame_with(
    out: &mut BytesMut,
    header: &Header,
    encode: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = out.len();
    out.put_u32(0);
    header.encode(out);
    if let Err(e) = encode(out) {
        out.truncate(start);
        return Err(e);
    }
    let len = out.len() - start;
    if len > MAX_FRAME_LEN as usize {
        out.truncate(start);
        return Err(EncodeError::MessageTooLarge { len: len - VIR_NET_MESSAGE_LEN_MAX, max: VIR_NET_MESSAGE_MAX });
    }
    out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// Appends one message with an XDR payload.
///
/// # Errors
/// As [`encode_frame_with`].
pub fn encode_frame<T: XdrEncode + ?Sized>(
    out: &mut BytesMut,
    header: &Header,
    payload: &T,
) -> Result<(), EncodeError> {
    encode_frame_with(out, header, |o| payload.encode(o))
}

/// Appends one message whose payload is already encoded. The caller guarantees the size
/// (checked with a debug assertion); use [`encode_frame_with`] for untrusted sizes.
pub fn encode_frame_raw(out: &mut BytesMut, header: &Header, payload: &[u8]) {
    let len = MIN_FRAME_LEN as usize + payload.len();
    debug_assert!(len <= MAX_FRAME_LEN as usize);
    out.reserve(len);
    out.put_u32(len as u32);
    header.encode(out);
    out.put_slice(payload);
}

/// Reads the length word at the start of `buf`, checked against libvirt's limits.
///
/// # Errors
/// [`DecodeErrorKind::FrameLength`] when it is below 28 or above 33554436.
pub fn check_length_word(word: u32) -> Result<usize, DecodeError> {
    if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&word) {
        return Err(DecodeError {
            offset: 0,
            kind: DecodeErrorKind::FrameLength { len: word, min: MIN_FRAME_LEN, max: MAX_FRAME_LEN },
        });
    }
    Ok(word as usize)
}

/// An incremental deframer: feed it any split of the byte stream, byte by byte included, and
/// take out the same whole messages.
///
/// A frame comes out as a [`Bytes`] slice of the internal buffer (header and body, without the
/// length word), so payloads are never copied again. The buffer never holds more than one
/// incomplete message plus what was pushed and not yet taken; a length word outside libvirt's
/// limits is an error before any of its body is buffered.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
    /// Length of the message at the head of `buf`, once its length word was read and checked.
    want: Option<usize>,
    /// Bytes consumed so far (for error offsets).
    consumed: u64,
    /// Bytes to drop before the next length word: the one-byte carriers of the descriptors a
    /// `*_WITH_FDS` message announced (see [`FrameDecoder::skip_fd_carriers`]).
    skip: usize,
}

impl FrameDecoder {
    /// An empty deframer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held and not yet returned as frames.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// After a `*_WITH_FDS` message announcing `n` descriptors: libvirt sends each descriptor
    /// with one data byte of its own (`sendmsg` with `SCM_RIGHTS`) right after the message, and
    /// those `n` bytes are not part of the next message. They are dropped as they arrive (read
    /// without a control buffer, the descriptors themselves are closed by the kernel).
    pub fn skip_fd_carriers(&mut self, n: usize) {
        self.skip = self.skip.saturating_add(n);
    }

    /// Descriptor carriers still to drop (see [`FrameDecoder::skip_fd_carriers`]).
    #[must_use]
    pub fn fd_carriers_left(&self) -> usize {
        self.skip
    }

    /// Drops what is left of the descriptor carriers from the head of the buffer.
    fn drop_carriers(&mut self) {
        let n = self.skip.min(self.buf.len());
        if n > 0 {
            self.buf.advance(n);
            self.skip -= n;
            self.consumed += n as u64;
        }
    }

    /// Whether a partial message is held (useful to tell a clean EOF from a truncated one).
    #[must_use]
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Whether [`FrameDecoder::next_message`] would return something without more bytes: a
    /// whole message is held, or a length word that it would refuse.
    #[must_use]
    pub fn has_message(&self) -> bool {
        let buf = &self.buf[self.skip.min(self.buf.len())..];
        let len = match self.want {
            Some(len) => len,
            None if buf.len() < VIR_NET_MESSAGE_LEN_MAX => return false,
            None => match check_length_word(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]])) {
                Ok(len) => len,
                Err(_) => return true,
            },
        };
        buf.len() >= len
    }

    /// Takes the next whole message (header and body, no length word), or `None` when more bytes
    /// are needed.
    ///
    /// # Errors
    /// When the length word is outside libvirt's limits. The error is sticky for the caller to
    /// handle: the stream cannot be resynchronised.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, DecodeError> {
        self.drop_carriers();
        if self.skip > 0 {
            return Ok(None);
        }
        let len = match self.want {
            Some(len) => len,
            None => {
                if self.buf.len() < VIR_NET_MESSAGE_LEN_MAX {
                    return Ok(None);
                }
                let word = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                let len = check_length_word(word).map_err(|mut e| {
                    e.offset = self.consumed as usize;
                    e
                })?;
                // Make room for the whole message once, not by repeated doubling.
                self.buf.reserve(len.saturating_sub(self.buf.len()));
                self.want = Some(len);
                len
            }
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        self.want = None;
        self.consumed += len as u64;
        self.buf.advance(VIR_NET_MESSAGE_LEN_MAX);
        Ok(Some(self.buf.split_to(len - VIR_NET_MESSAGE_LEN_MAX).freeze()))
    }

    /// Takes the next whole message and checks its header.
    ///
    /// # Errors
    /// As [`FrameDecoder::next_message`], or when the header's type or status is unknown.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        match self.next_message()? {
            None => Ok(None),
            Some(mut msg) => {
                let header = Header::decode(&msg)?;
                msg.advance(VIR_NET_MESSAGE_HEADER_MAX);
                Ok(Some(Frame { header, body: msg }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_header() -> impl Strategy<Value = Header> {
        (any::<u32>(), any::<u32>(), any::<i32>(), 0i32..7, any::<u32>(), 0i32..3).prop_map(|(p, v, c, t, s, st)| {
            Header {
                prog: p,
                vers: v,
                proc_: c,
                ty: MessageType::from_wire(t).unwrap(),
                serial: s,
                status: MessageStatus::from_wire(st).unwrap(),
            }
        })
    }

    #[test]
    fn descriptor_carriers_are_dropped_before_the_next_message() {
        let mut framed = BytesMut::new();
        let msg = |out: &mut BytesMut, serial: u32| {
            out.put_u32(28);
            Header { prog: 1, vers: 1, proc_: 2, ty: MessageType::Call, serial, status: MessageStatus::Ok }.encode(out);
        };
        msg(&mut framed, 1);
        let mut d = FrameDecoder::new();
        d.push(&framed);
        assert_eq!(d.next_frame().unwrap().unwrap().header.serial, 1);
        // Two descriptors announced: their carrier bytes arrive one at a time, then a message.
        d.skip_fd_carriers(2);
        d.push(&[0]);
        assert!(!d.has_message());
        assert!(d.next_frame().unwrap().is_none());
        let mut next = BytesMut::new();
        next.put_u8(0);
        msg(&mut next, 2);
        d.push(&next);
        assert!(d.has_message());
        assert_eq!(d.next_frame().unwrap().unwrap().header.serial, 2);
        assert_eq!(d.buffered(), 0);
    }

    proptest! {
        #[test]
        fn header_roundtrips(h in any_header()) {
            let mut out = BytesMut::new();
            h.encode(&mut out);
            prop_assert_eq!(out.len(), 24);
            prop_assert_eq!(Header::decode(&out).unwrap(), h);
        }

        #[test]
        fn deframer_any_split(frames in proptest::collection::vec((any_header(), proptest::collection::vec(any::<u8>(), 0..300)), 1..8),
                              cuts in proptest::collection::vec(1usize..64, 1..200)) {
            let mut wire = BytesMut::new();
            for (h, body) in &frames {
                encode_frame_raw(&mut wire, h, body);
            }
            let mut d = FrameDecoder::new();
            let mut out = Vec::new();
            let mut pos = 0;
            let mut ci = 0;
            while pos < wire.len() {
                let n = cuts[ci % cuts.len()].min(wire.len() - pos);
                ci += 1;
                d.push(&wire[pos..pos + n]);
                pos += n;
                while let Some(f) = d.next_frame().unwrap() {
                    out.push(f);
                }
            }
            prop_assert!(!d.has_partial());
            prop_assert_eq!(out.len(), frames.len());
            for (f, (h, body)) in out.iter().zip(&frames) {
                prop_assert_eq!(&f.header, h);
                prop_assert_eq!(&f.body[..], &body[..]);
                prop_assert_eq!(f.to_bytes().len(), 28 + body.len());
            }
        }

        #[test]
        fn hole_roundtrips(length: i64, flags: u32) {
            let h = StreamHole { length, flags };
            let b = crate::xdr::to_bytes(&h).unwrap();
            prop_assert_eq!(b.len(), 12);
            prop_assert_eq!(crate::xdr::from_bytes_exact::<StreamHole>(b).unwrap(), h);
        }
    }

    #[test]
    fn byte_by_byte_auth_list() {
        // AUTH_LIST call as virsh sends it (protocol-facts.md §1).
        let wire: [u8; 28] =
            [0, 0, 0, 0x1c, 0x20, 0, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut d = FrameDecoder::new();
        for (i, b) in wire.iter().enumerate() {
            d.push(std::slice::from_ref(b));
            let f = d.next_frame().unwrap();
            assert_eq!(f.is_some(), i == wire.len() - 1);
            if let Some(f) = f {
                assert_eq!(f.header.proc_, 66);
                assert_eq!(f.header.ty, MessageType::Call);
                assert!(f.body.is_empty());
                assert_eq!(&f.to_bytes()[..], &wire[..]);
            }
        }
    }

    #[test]
    fn bad_lengths() {
        for word in [0u32, 3, 4, 20, 27, MAX_FRAME_LEN + 1, u32::MAX] {
            let mut d = FrameDecoder::new();
            d.push(&word.to_be_bytes());
            let e = d.next_message().unwrap_err();
            assert!(matches!(e.kind, DecodeErrorKind::FrameLength { .. }), "{word}");
        }
        let mut d = FrameDecoder::new();
        d.push(&MAX_FRAME_LEN.to_be_bytes());
        assert_eq!(d.next_message().unwrap(), None, "32 MiB + 4 is legal, it waits for the body");
    }

    #[test]
    fn fds_word() {
        let h =
            Header { prog: 1, vers: 1, proc_: 1, ty: MessageType::CallWithFds, serial: 0, status: MessageStatus::Ok };
        let f = Frame { header: h, body: Bytes::from_static(&[0, 0, 0, 2, 9, 9, 9, 9]) };
        assert_eq!(f.split_fds().unwrap(), (2, Bytes::from_static(&[9, 9, 9, 9])));
        let f = Frame { header: h, body: Bytes::from_static(&[0, 0, 0, 33]) };
        assert_eq!(f.split_fds().unwrap_err().kind, DecodeErrorKind::TooManyFds(33));
    }

    #[test]
    fn oversize_encode_is_refused_and_rolled_back() {
        let h = Header { prog: 1, vers: 1, proc_: 1, ty: MessageType::Call, serial: 0, status: MessageStatus::Ok };
        let mut out = BytesMut::new();
        let e = encode_frame_with(&mut out, &h, |o| {
            o.put_bytes(0, VIR_NET_MESSAGE_PAYLOAD_MAX + 1);
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(e, EncodeError::MessageTooLarge { .. }));
        assert!(out.is_empty());
    }
}
