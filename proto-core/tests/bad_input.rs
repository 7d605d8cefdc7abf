//! The bad-input table: each row is a hostile or broken input with the typed outcome it must
//! produce, and no panic. Server rows match what libvirtd 9.0 does (`protocol-facts.md` §11).

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use proto_core::client::CallSpec;
use proto_core::frame::{encode_frame_raw, MAX_FRAME_LEN};
use proto_core::server::{IgnoredReason, ServedProgram, ServerConfig};
use proto_core::xdr::{from_bytes, XdrReader};
use proto_core::{
    CallError, ClientConfig, ClientConnection, ClientEvent, ConnectionError, DecodeErrorKind, Header, MessageStatus,
    MessageType, ProtocolError, RemoteError, ServerConnection, ServerEvent, XdrString,
};

const REMOTE: u32 = 0x2000_8086;

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn server() -> ServerConnection {
    ServerConnection::new(ServerConfig::default(), Instant::now())
}

fn server_events(s: &mut ServerConnection) -> Vec<ServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn client_events(c: &mut ClientConnection) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn transmitted(s: &mut ServerConnection) -> Vec<u8> {
    std::iter::from_fn(|| s.poll_transmit()).flat_map(|b| b.to_vec()).collect()
}

fn frame(prog: u32, proc_: i32, ty: i32, serial: u32, status: i32, body: &[u8]) -> Vec<u8> {
    let mut v = words(&[(28 + body.len()) as u32, prog, 1, proc_ as u32, ty as u32, serial, status as u32]);
    v.extend_from_slice(body);
    v
}

/// The error reply the server sent, decoded: (header, error).
fn error_reply(bytes: &[u8]) -> (Header, RemoteError) {
    let h = Header::decode(&bytes[4..28]).unwrap();
    assert_eq!(h.ty, MessageType::Reply);
    assert_eq!(h.status, MessageStatus::Error);
    (h, from_bytes::<RemoteError>(Bytes::copy_from_slice(&bytes[28..])).unwrap())
}

fn assert_closed_with_frame_length(events: &[ServerEvent]) {
    match events {
        [ServerEvent::Closed { reason: ConnectionError::Protocol(ProtocolError::Decode(e)) }] => {
            assert!(matches!(e.kind, DecodeErrorKind::FrameLength { .. }), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn length_below_28_closes_both_sides() {
    for len in [0u32, 3, 20, 27] {
        let mut s = server();
        s.handle_input(Instant::now(), &words(&[len, 0, 0, 0, 0, 0, 0]));
        assert_closed_with_frame_length(&server_events(&mut s));
        assert!(transmitted(&mut s).is_empty(), "no reply, as libvirtd");
        assert!(!s.wants_read());

        let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
        c.handle_input(Instant::now(), &words(&[len]));
        assert!(matches!(
            client_events(&mut c).as_slice(),
            [ClientEvent::Closed { reason: ConnectionError::Protocol(_) }]
        ));
    }
}

#[test]
fn length_4_closes() {
    let mut s = server();
    s.handle_input(Instant::now(), &words(&[4]));
    assert_closed_with_frame_length(&server_events(&mut s));
}

#[test]
fn length_over_32_mib_plus_4_closes_before_buffering() {
    let mut s = server();
    s.handle_input(Instant::now(), &words(&[MAX_FRAME_LEN + 1]));
    assert_closed_with_frame_length(&server_events(&mut s));
}

#[test]
fn http_probe_closes() {
    // "GET " read as a length word is 1195725856: far over the limit.
    let mut s = server();
    s.handle_input(Instant::now(), b"GET / HTTP/1.1\r\n");
    assert_closed_with_frame_length(&server_events(&mut s));
    assert!(transmitted(&mut s).is_empty());
}

#[test]
fn unknown_type_is_dropped_by_the_server_and_fatal_for_the_client() {
    let mut s = server();
    s.handle_input(Instant::now(), &frame(REMOTE, 59, 9, 5, 0, &[]));
    assert!(matches!(
        server_events(&mut s).as_slice(),
        [ServerEvent::Ignored { reason: IgnoredReason::UnexpectedType, header }] if header.ty == 9
    ));
    assert!(transmitted(&mut s).is_empty());
    assert!(s.wants_read(), "the connection stays usable");

    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    c.handle_input(Instant::now(), &frame(REMOTE, 59, 9, 0, 0, &[]));
    match client_events(&mut c).as_slice() {
        [ClientEvent::Closed { reason: ConnectionError::Protocol(ProtocolError::Decode(e)) }] => {
            assert_eq!(e.kind, DecodeErrorKind::UnknownMessageType(9));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn status_7() {
    // A CALL with status 7 gets libvirtd's error reply with the call's header.
    let mut s = server();
    s.handle_input(Instant::now(), &frame(REMOTE, 59, 0, 42, 7, &[]));
    assert!(server_events(&mut s).is_empty());
    let (h, e) = error_reply(&transmitted(&mut s));
    assert_eq!((h.prog, h.proc_, h.serial), (REMOTE, 59, 42));
    assert_eq!(e.to_string(), "Unexpected message status 7");
    assert_eq!((e.code.0, e.domain.0), (39, 7));

    // A reply with status 7 breaks the protocol for the client.
    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    c.call(Instant::now(), CallSpec::remote(59), &()).unwrap();
    c.handle_input(Instant::now(), &frame(REMOTE, 59, 1, 0, 7, &[]));
    let ev = client_events(&mut c);
    assert!(matches!(
        &ev[0],
        ClientEvent::CallFailed { serial: 0, error: CallError::Closed(ConnectionError::Protocol(_)) }
    ));
    assert!(
        matches!(&ev[1], ClientEvent::Closed { reason: ConnectionError::Protocol(ProtocolError::Decode(e)) } if e.kind == DecodeErrorKind::UnknownMessageStatus(7))
    );
}

#[test]
fn truncated_at_every_byte() {
    // A CONNECT_OPEN reply cut at every byte, then EOF: never an event for the call, and a
    // close that says whether a partial message was pending.
    let whole = frame(REMOTE, 1, 1, 0, 0, &[]);
    for cut in 0..whole.len() {
        let now = Instant::now();
        let mut c = ClientConnection::new(ClientConfig::default(), now);
        c.call(now, CallSpec::remote(1), &()).unwrap();
        let _ = c.poll_transmit();
        c.handle_input(now, &whole[..cut]);
        assert!(client_events(&mut c).is_empty(), "cut {cut}: nothing before EOF");
        c.handle_eof(now);
        let ev = client_events(&mut c);
        assert!(matches!(ev[0], ClientEvent::CallFailed { serial: 0, .. }));
        let expected =
            if cut == 0 { ConnectionError::PeerClosed } else { ConnectionError::TruncatedByPeer { buffered: cut } };
        assert_eq!(ev[1], ClientEvent::Closed { reason: expected });
    }
}

#[test]
fn truncated_bodies_at_every_byte_are_typed_errors() {
    let err = RemoteError::new(
        proto_core::ErrorCode::VIR_ERR_NO_DOMAIN,
        proto_core::ErrorDomain::VIR_FROM_TEST,
        "Domain not found",
    );
    let full = proto_core::xdr::to_bytes(&err).unwrap();
    for cut in 0..full.len() {
        let e = from_bytes::<RemoteError>(full.slice(..cut)).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "cut {cut}: {e}");
    }
}

#[test]
fn string_length_over_its_max_and_past_the_end() {
    // remote_nonnull_string: max 4 MiB.
    let over = words(&[4_194_305]);
    let e = from_bytes::<XdrString>(Bytes::from(over)).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::LengthOverMax { len: 4_194_305, max: 4_194_304 });
    let past = words(&[100, 0x41414141]);
    let e = from_bytes::<XdrString>(Bytes::from(past)).unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::Truncated { needed: 100, left: 4 }));
}

#[test]
fn bool_2_is_true_and_array_count_over_max() {
    // libtirpc's xdr_bool, hence libvirtd, takes any non-zero word as TRUE
    // (spec-tests/tests/leniency.rs shows it on the wire).
    assert!(from_bytes::<bool>(Bytes::from(words(&[2]))).unwrap());
    // ...and an optional-data flag 2 as present: CONNECT_OPEN's remote_string name.
    let open = from_bytes::<proto_core::programs::remote::RemoteConnectOpenArgs>(Bytes::from(
        [words(&[2, 4]), b"test".to_vec(), words(&[0])].concat(),
    ))
    .unwrap();
    assert_eq!(open.name.as_ref().map(|n| n.to_string()), Some("test".to_owned()));
    // remote_nonnull_domain domains<16384>: 16385 is refused before any allocation.
    let mut r = XdrReader::new(Bytes::from(words(&[16_385])));
    let e = r.array::<u32>(16_384).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::LengthOverMax { len: 16_385, max: 16_384 });
}

#[test]
fn reply_sent_to_a_server_is_dropped_silently() {
    let mut s = server();
    s.handle_input(Instant::now(), &frame(REMOTE, 59, 1, 3, 0, &[]));
    assert!(matches!(
        server_events(&mut s).as_slice(),
        [ServerEvent::Ignored { reason: IgnoredReason::UnexpectedType, .. }]
    ));
    assert!(transmitted(&mut s).is_empty());
    // Still usable: a call after it is served.
    s.handle_input(Instant::now(), &frame(REMOTE, 59, 0, 4, 0, &[]));
    assert!(matches!(server_events(&mut s).as_slice(), [ServerEvent::Call { header, .. }] if header.serial == 4));
}

#[test]
fn call_sent_to_a_client_is_fatal() {
    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    c.handle_input(Instant::now(), &frame(REMOTE, 59, 0, 0, 0, &[]));
    assert_eq!(
        client_events(&mut c),
        vec![ClientEvent::Closed {
            reason: ConnectionError::Protocol(ProtocolError::UnexpectedMessageType { ty: MessageType::Call })
        }]
    );
    assert!(matches!(c.call(Instant::now(), CallSpec::remote(59), &()), Err(CallError::Closed(_))), "sticky");
}

#[test]
fn reply_to_an_unknown_serial_is_fatal() {
    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    c.call(Instant::now(), CallSpec::remote(59), &()).unwrap();
    c.handle_input(Instant::now(), &frame(REMOTE, 59, 1, 77, 0, &[]));
    let ev = client_events(&mut c);
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[1],
        ClientEvent::Closed { reason: ConnectionError::Protocol(ProtocolError::UnexpectedReply { serial: 77 }) }
    );
}

#[test]
fn unknown_program_version_and_procedure() {
    fn only_small(p: i32) -> bool {
        (1..=443).contains(&p)
    }
    let mut s = ServerConnection::new(
        ServerConfig::default().with_programs(vec![ServedProgram { prog: REMOTE, vers: 1, is_procedure: only_small }]),
        Instant::now(),
    );
    let cases: [(u32, u32, i32, &str); 5] = [
        (0x1234_5678, 1, 1, "Cannot find program 305419896 version 1"),
        (REMOTE, 2, 1, "Cannot find program 536903814 version 2"),
        (0x6b65_6570, 1, 1, "Cannot find program 1801807216 version 1"),
        (REMOTE, 1, 9999, "unknown procedure: 9999"),
        (REMOTE, 1, -1, "unknown procedure: -1"),
    ];
    for (i, (prog, vers, proc_, text)) in cases.into_iter().enumerate() {
        let mut f = frame(prog, proc_, 0, i as u32, 0, &[]);
        f[8..12].copy_from_slice(&vers.to_be_bytes());
        s.handle_input(Instant::now(), &f);
        let (h, e) = error_reply(&transmitted(&mut s));
        assert_eq!((h.prog, h.vers, h.proc_, h.serial), (prog, vers, proc_, i as u32), "the request's header");
        assert_eq!(e.to_string(), text);
        assert_eq!((e.code.0, e.domain.0, e.level.0), (39, 7, 2));
    }
    assert!(server_events(&mut s).is_empty());
    // A non-call for an unknown program is dropped.
    s.handle_input(Instant::now(), &frame(0x1234_5678, 1, 3, 0, 2, b"abcd"));
    assert!(matches!(
        server_events(&mut s).as_slice(),
        [ServerEvent::Ignored { reason: IgnoredReason::UnknownProgram, .. }]
    ));
}

#[test]
fn too_many_fds_closes() {
    let mut s = server();
    s.handle_input(Instant::now(), &frame(REMOTE, 59, 4, 0, 0, &words(&[33])));
    match server_events(&mut s).as_slice() {
        [ServerEvent::Closed { reason: ConnectionError::Protocol(ProtocolError::Decode(e)) }] => {
            assert_eq!(e.kind, DecodeErrorKind::TooManyFds(33));
        }
        other => panic!("{other:?}"),
    }
    let mut s = server();
    s.handle_input(Instant::now(), &frame(REMOTE, 59, 4, 0, 0, &words(&[2, 0xabcd])));
    assert!(
        matches!(server_events(&mut s).as_slice(), [ServerEvent::Call { fds: 2, args, .. }] if args[..] == [0, 0, 0xab, 0xcd])
    );
}

#[test]
fn stream_packet_for_no_stream_is_dropped() {
    let mut s = server();
    s.handle_input(Instant::now(), &frame(REMOTE, 208, 3, 9, 2, b"data"));
    assert!(matches!(
        server_events(&mut s).as_slice(),
        [ServerEvent::Ignored { reason: IgnoredReason::NoSuchStream, .. }]
    ));
    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    c.handle_input(Instant::now(), &frame(REMOTE, 209, 3, 9, 2, b"data"));
    assert!(client_events(&mut c).is_empty(), "libvirt's client ignores it too");
    assert!(!c.is_closed());
}

#[test]
fn oversized_call_is_refused_locally() {
    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    let big = vec![0u8; proto_core::frame::VIR_NET_MESSAGE_PAYLOAD_MAX + 1];
    assert!(matches!(c.call_raw(Instant::now(), CallSpec::remote(59), &big), Err(CallError::Encode(_))));
    assert_eq!(c.in_flight(), 0);
    assert_eq!(c.next_serial(), 0, "no serial consumed");
    assert!(c.poll_transmit().is_none(), "nothing half-written");
}

#[test]
fn garbage_after_a_valid_header_is_bounded() {
    // A valid-looking header announcing 32 MiB: the server waits for the body without
    // allocating per byte announced more than once, and EOF then reports the truncation.
    let mut s = server();
    let mut b = BytesMut::new();
    encode_frame_raw(
        &mut b,
        &Header { prog: REMOTE, vers: 1, proc_: 59, ty: MessageType::Call, serial: 0, status: MessageStatus::Ok },
        &[],
    );
    b[0..4].copy_from_slice(&MAX_FRAME_LEN.to_be_bytes());
    b.put_slice(b"xyz");
    s.handle_input(Instant::now(), &b);
    assert!(server_events(&mut s).is_empty());
    s.handle_eof(Instant::now());
    assert!(matches!(
        server_events(&mut s).as_slice(),
        [ServerEvent::Closed { reason: ConnectionError::TruncatedByPeer { buffered: 31 } }]
    ));
}

#[test]
fn client_core_decodes_what_libvirts_client_decodes() {
    // An error reply whose `message` flag is 5 and whose string has non-zero padding:
    // libvirt's client (libtirpc) reads it, and so does the core.
    let mut c = ClientConnection::new(ClientConfig::default(), Instant::now());
    let serial = c.call(Instant::now(), CallSpec::remote(59), &()).unwrap();
    let mut body = words(&[42, 12, 5, 3]);
    body.extend_from_slice(b"bad\xff");
    // level, dom, str1, str2, str3 (absent), int1, int2, net (absent)
    body.extend(words(&[2, 0, 0, 0, 0, 0xffff_ffff, 0xffff_ffff, 0]));
    c.handle_input(Instant::now(), &frame(REMOTE, 59, 1, serial, 1, &body));
    match client_events(&mut c).as_slice() {
        [ClientEvent::CallFailed { error: CallError::Remote(e), .. }] => {
            assert_eq!(e.message.as_ref().map(|m| m.to_string()), Some("bad".to_owned()));
            assert_eq!((e.code.0, e.domain.0), (42, 12));
        }
        other => panic!("{other:?}"),
    }
}
