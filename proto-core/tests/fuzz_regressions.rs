//! Regression tests for what the fuzz targets under `fuzz/` found (see `fuzz/README.md`).
//!
//! Each test replays the minimised input as plain API calls. Each bug is fixed; the test keeps it fixed.

use std::time::Instant;

use bytes::BytesMut;
use proto_core::frame::{encode_frame_raw, Header, MessageStatus, MessageType};
use proto_core::program::REMOTE_PROGRAM;
use proto_core::{ServerConfig, ServerConnection, ServerEvent};

/// `REMOTE_PROC_STORAGE_VOL_UPLOAD` (`@writestream`).
const VOL_UPLOAD: i32 = 208;

fn frame(ty: MessageType, serial: u32, status: MessageStatus, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    let h = Header { prog: REMOTE_PROGRAM, vers: 1, proc_: VOL_UPLOAD, ty, serial, status };
    encode_frame_raw(&mut out, &h, body);
    out.to_vec()
}

/// server_handle_input, found 2026-11-24 after 311 060 executions (proto-core 6e8ceea);
/// harness panic "stream packet for 3, never opened".
///
/// Minimised fuzz input (90 bytes; `[1 control byte: feed 28][wire]`):
/// `011b` `0000001c 20008086 00000001 000000d0 00000000 00000003 00000000` (CALL 208, serial 3)
/// `0000001c 20008086 00000001 000000d0 00000003 00000003 00000000` (STREAM/OK: finish)
/// `00000020 20008086 00000001 000000d0 00000003 00000003 00000002 6c617465` (STREAM/CONTINUE "late").
///
/// After the client's finish (`STREAM`/`OK`) or abort (`STREAM`/`ERROR`), the server still queues
/// the client's later packets for that stream as events: here `StreamData { serial: 3 }` after
/// `StreamFinish { serial: 3 }`. The harness had confirmed the finish (`ServerStream::finish`)
/// between the two events, so the daemon gets data for a stream that no longer exists. libvirtd
/// never hands such packets to the stream: `daemonStreamHandleFinish` / `…Abort` set
/// `stream->closed`, `daemonStreamHandleWrite` stops at `closed`, and the rest of the stream's
/// rx queue is freed with the stream (`src/remote/remote_daemon_stream.c`). Packets that come
/// later still are dropped as "unexpected stream data" (`src/rpc/virnetserverprogram.c`).
#[test]
fn server_drops_stream_packets_after_client_finish() {
    let now = Instant::now();
    let mut server = ServerConnection::new(ServerConfig::default(), now);

    server.handle_input(now, &frame(MessageType::Call, 3, MessageStatus::Ok, &[]));
    let Some(ServerEvent::Call { id, .. }) = server.poll_event() else { panic!("no call") };
    assert_eq!(server.open_stream(id).unwrap(), 3);
    server.reply(id, &()).unwrap();
    while server.poll_transmit().is_some() {}

    let mut wire = frame(MessageType::Stream, 3, MessageStatus::Ok, &[]);
    wire.extend(frame(MessageType::Stream, 3, MessageStatus::Continue, b"late"));
    server.handle_input(now, &wire);

    assert_eq!(server.poll_event(), Some(ServerEvent::StreamFinish { serial: 3 }));
    server.stream(3).expect("stream 3 is open until confirmed").finish().unwrap();
    let after = server.poll_event();
    assert!(
        !matches!(
            after,
            Some(
                ServerEvent::StreamData { serial: 3, .. }
                    | ServerEvent::StreamHole { serial: 3, .. }
                    | ServerEvent::StreamFinish { serial: 3 }
                    | ServerEvent::StreamAbort { serial: 3 }
            )
        ),
        "stream event after the client finished the stream: {after:?}"
    );
    // The finish was confirmed and nothing else is pending: reading goes on.
    assert!(server.wants_read());
    assert_eq!(server.calls_in_flight(), 0);
}

/// The same with an abort (`STREAM`/`ERROR`) followed by a hole, before the daemon confirms.
#[test]
fn server_drops_stream_packets_after_client_abort() {
    let now = Instant::now();
    let mut server = ServerConnection::new(ServerConfig::default(), now);

    server.handle_input(now, &frame(MessageType::Call, 5, MessageStatus::Ok, &[]));
    let Some(ServerEvent::Call { id, .. }) = server.poll_event() else { panic!("no call") };
    server.open_stream(id).unwrap();
    server.reply(id, &()).unwrap();

    let mut hole = Vec::new();
    hole.extend_from_slice(&4096i64.to_be_bytes());
    hole.extend_from_slice(&0u32.to_be_bytes());
    let mut wire = frame(MessageType::Stream, 5, MessageStatus::Error, &[]);
    wire.extend(frame(MessageType::StreamHole, 5, MessageStatus::Continue, &hole));
    server.handle_input(now, &wire);

    assert_eq!(server.poll_event(), Some(ServerEvent::StreamAbort { serial: 5 }));
    let after = server.poll_event();
    assert!(
        !matches!(after, Some(ServerEvent::StreamHole { serial: 5, .. } | ServerEvent::StreamData { serial: 5, .. })),
        "stream event after the client aborted the stream: {after:?}"
    );
}

/// Found by `server_handle_input`: a second stream-opening call reusing the serial of a stream
/// still open replaced it, so the first stream's packets and finish were mixed with the
/// second's. The second stream is now refused.
#[test]
fn a_serial_reused_while_its_stream_is_open_does_not_open_a_second_stream() {
    use proto_core::server::{ReplyError, ServerConfig};
    use proto_core::{ServerConnection, ServerEvent};
    let now = Instant::now();
    let mut s = ServerConnection::new(ServerConfig::default(), now);
    let call = |serial: u32| {
        let mut v = Vec::new();
        for w in [28u32, 0x2000_8086, 1, 208, 0, serial, 0] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v
    };
    s.handle_input(now, &call(3));
    let Some(ServerEvent::Call { id: first, .. }) = s.poll_event() else { panic!() };
    assert_eq!(s.open_stream(first).unwrap(), 3);
    s.handle_input(now, &call(3));
    let Some(ServerEvent::Call { id: second, .. }) = s.poll_event() else { panic!() };
    assert_eq!(s.open_stream(second), Err(ReplyError::StreamInUse(3)));
}
