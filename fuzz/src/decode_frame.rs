//! `decode_frame`: the deframer fed one input in two chunks, and every frame it hands out
//! decoded as what its header says it carries.

use bytes::BytesMut;
use proto_core::frame::{FrameDecoder, Header};
use proto_core::xdr::{self, XdrReader};
use proto_core::{RemoteError, StreamHole, XdrString};

/// Everything a deframer hands out for one split of the input.
#[derive(Debug, PartialEq, Eq)]
struct Deframed {
    items: Vec<Result<proto_core::Frame, proto_core::DecodeError>>,
    buffered: usize,
}

fn deframe(chunks: &[&[u8]]) -> Deframed {
    let mut d = FrameDecoder::new();
    let mut items = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => items.push(Ok(f)),
                Ok(None) => break,
                Err(e) => {
                    // The error is sticky; what is still buffered then depends on the split.
                    items.push(Err(e));
                    return Deframed { items, buffered: 0 };
                }
            }
        }
    }
    Deframed { items, buffered: d.buffered() }
}

/// `decode_frame`: the deframer must give the same frames and errors for any split of the input,
/// and every body is tried as a `remote_error`, a stream hole and a few XDR shapes, whose
/// decodings must re-encode and decode to the same value.
pub fn run_decode_frame(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let split = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let wire = &data[2..];
    let split = split % (wire.len() + 1);

    let whole = deframe(&[wire]);
    let parts = deframe(&[&wire[..split], &wire[split..]]);
    assert_eq!(whole, parts, "deframing depends on the split at {split}");
    if wire.len() <= 256 {
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(whole, deframe(&bytes), "deframing byte by byte differs");
    }

    // The raw path (next_message + RawHeader) agrees with next_frame.
    let mut d = FrameDecoder::new();
    d.push(wire);
    let mut i = 0;
    while let Ok(Some(msg)) = d.next_message() {
        let raw = proto_core::frame::RawHeader::decode(&msg);
        match (whole.items.get(i), raw.and_then(|r| r.check())) {
            (Some(Ok(f)), Ok(h)) => assert_eq!(f.header, h),
            (Some(Err(_)), Err(_)) => break,
            (other, h) => panic!("next_message/RawHeader disagrees with next_frame: {other:?} vs {h:?}"),
        }
        i += 1;
    }

    for item in &whole.items {
        let Ok(f) = item else { continue };
        examine_frame(f);
    }
}

fn roundtrip<T: xdr::XdrEncode + xdr::XdrDecode + PartialEq + std::fmt::Debug>(v: &T) {
    let b = xdr::to_bytes(v).unwrap_or_else(|e| panic!("{v:?} decoded but does not encode: {e}"));
    assert_eq!(b.len() % 4, 0);
    let back: T = xdr::from_bytes_exact(b).unwrap_or_else(|e| panic!("{v:?} re-encoded does not decode: {e}"));
    assert_eq!(&back, v);
}

fn examine_frame(f: &proto_core::Frame) {
    // Re-encoding gives the same frame back.
    let wire = f.to_bytes();
    assert_eq!(wire.len(), 28 + f.body.len());
    let mut d = FrameDecoder::new();
    d.push(&wire);
    assert_eq!(d.next_frame().expect("re-encoded frame decodes").as_ref(), Some(f));
    let mut h = BytesMut::new();
    f.header.encode(&mut h);
    assert_eq!(Header::decode(&h).unwrap(), f.header);

    if let Ok((n, rest)) = f.split_fds() {
        assert!(n <= 32);
        if f.header.ty.has_fds() {
            assert_eq!(rest.len() + 4, f.body.len());
        } else {
            assert_eq!(n, 0);
            assert_eq!(rest, f.body);
        }
    }

    let body = f.body.clone();
    if let Ok(e) = xdr::from_bytes::<RemoteError>(body.clone()) {
        roundtrip(&e);
        let _ = e.to_string();
        let _ = e.effective_code();
        let _ = e.is_unknown_procedure();
    }
    if let Ok(hole) = xdr::from_bytes::<StreamHole>(body.clone()) {
        roundtrip(&hole);
    }
    if let Ok(s) = xdr::from_bytes::<Option<XdrString>>(body.clone()) {
        roundtrip(&s);
        if let Some(s) = s {
            let _ = s.to_string_lossy();
        }
    }
    let mut r = XdrReader::new(body.clone());
    if let Ok(v) = r.array_with(256, |r| r.string(4096)) {
        let total: usize = v.iter().map(XdrString::len).sum();
        assert!(total <= body.len());
    }
    let mut r = XdrReader::new(body);
    let _ = r.opaque(1 << 20);
    let _ = r.bool();
    let _ = r.short();
    let _ = r.uchar();
    let _ = r.f64();
    let _ = r.finish();
}
