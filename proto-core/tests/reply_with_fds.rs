//! A `VIR_NET_REPLY_WITH_FDS` reply to the client: its descriptors' one-byte carriers follow
//! the message on the stream (read without a control buffer they are plain bytes). The core
//! reports the count and skips the carriers, so the next message still frames: a reply with
//! descriptors cannot break the connection.

use std::time::Instant;

use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::{ClientConfig, ClientConnection, ClientEvent, Frame, Header, MessageStatus, MessageType};

fn reply(spec: CallSpec, serial: u32, ty: MessageType, body: &[u8]) -> Bytes {
    let header = Header { prog: spec.prog, vers: spec.vers, proc_: spec.proc_, ty, serial, status: MessageStatus::Ok };
    Frame { header, body: Bytes::copy_from_slice(body) }.to_bytes()
}

#[test]
fn carriers_after_a_reply_with_fds_are_skipped() {
    let now = Instant::now();
    let mut c = ClientConnection::new(ClientConfig::default(), now);
    while c.poll_transmit().is_some() {}
    let spec = CallSpec::remote(proto_core::programs::remote::REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD);
    let first = c.call_raw(now, spec, &[]).unwrap();
    let second = c.call_raw(now, spec, &[]).unwrap();
    let mut wire = Vec::new();
    // Two descriptors announced, a body of 4 bytes, then their two carrier bytes.
    wire.extend_from_slice(&reply(spec, first, MessageType::ReplyWithFds, &[0, 0, 0, 2, 9, 9, 9, 9]));
    wire.extend_from_slice(&[0, 0]);
    wire.extend_from_slice(&reply(spec, second, MessageType::Reply, &[]));
    // Byte by byte, so that the carriers arrive apart from both messages.
    for b in &wire {
        c.handle_input(now, std::slice::from_ref(b));
    }
    let mut seen = Vec::new();
    while let Some(e) = c.poll_event() {
        if let ClientEvent::Reply { serial, fds, body } = e {
            seen.push((serial, fds, body.to_vec()));
        }
    }
    assert_eq!(seen, vec![(first, 2, vec![9, 9, 9, 9]), (second, 0, vec![])]);
    assert!(!c.is_closed(), "the connection is still open");
}
