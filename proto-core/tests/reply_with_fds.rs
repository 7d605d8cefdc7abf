//! A `VIR_NET_REPLY_WITH_FDS` reply to the client: its descriptors' one-byte carriers follow
//! the message on the stream, each with its descriptor (`SCM_RIGHTS`). The adapter reads a
//! unix socket with recvmsg and tells the core how many descriptors came with each read; the
//! core assigns them to the carriers, delivers the reply once all came (as libvirt's client
//! dispatches it), says how many of a read's descriptors to keep (the rest are closed) and fails
//! the connection where libvirt's client does: a carrier without exactly one descriptor,
//! descriptors over a transport that cannot pass them, more than 32.

use std::time::Instant;

use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::{
    CallError, ClientConfig, ClientConnection, ClientEvent, ConnectionError, Frame, Header, MessageStatus, MessageType,
    ProtocolError,
};

const SPEC: CallSpec = CallSpec::remote(proto_core::programs::remote::REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD);

fn reply(serial: u32, ty: MessageType, status: MessageStatus, body: &[u8]) -> Vec<u8> {
    let header = Header { prog: SPEC.prog, vers: SPEC.vers, proc_: SPEC.proc_, ty, serial, status };
    Frame { header, body: Bytes::copy_from_slice(body) }.to_bytes().to_vec()
}

/// A reply announcing `n` descriptors, with a body of 4 bytes.
fn with_fds(serial: u32, n: u8) -> Vec<u8> {
    reply(serial, MessageType::ReplyWithFds, MessageStatus::Ok, &[0, 0, 0, n, 9, 9, 9, 9])
}

fn client(fd_passing: bool) -> (ClientConnection, Instant) {
    let now = Instant::now();
    let mut c = ClientConnection::new(ClientConfig::default().with_fd_passing(fd_passing), now);
    while c.poll_transmit().is_some() {}
    (c, now)
}

fn events(c: &mut ClientConnection) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn replies(c: &mut ClientConnection) -> Vec<(u32, u32, Vec<u8>)> {
    let evs = events(c);
    evs.into_iter()
        .filter_map(|e| match e {
            ClientEvent::Reply { serial, fds, body } => Some((serial, fds, body.to_vec())),
            _ => None,
        })
        .collect()
}

fn failed_with(c: &mut ClientConnection, serial: u32, want: ProtocolError) {
    let evs = events(c);
    let error = CallError::Closed(ConnectionError::Protocol(want.clone()));
    assert!(evs.contains(&ClientEvent::CallFailed { serial, error }), "{evs:?}");
    assert_eq!(c.close_reason(), Some(&ConnectionError::Protocol(want)));
}

#[test]
fn a_reply_waits_for_its_descriptors_one_carrier_per_read() {
    let (mut c, now) = client(true);
    let first = c.call_raw(now, SPEC, &[]).unwrap();
    let second = c.call_raw(now, SPEC, &[]).unwrap();
    // The reply, then its first carrier with its descriptor (one read: the kernel ends a read
    // after the bytes a descriptor came with), then the second carrier and the next reply.
    let mut read1 = with_fds(first, 2);
    read1.push(0);
    assert_eq!(c.handle_input_fds(now, &read1, 1), 1, "the first descriptor is kept");
    assert!(replies(&mut c).is_empty(), "not delivered before all its descriptors came");
    let mut read2 = vec![0];
    read2.extend(reply(second, MessageType::Reply, MessageStatus::Ok, &[]));
    assert_eq!(c.handle_input_fds(now, &read2, 1), 1);
    assert_eq!(replies(&mut c), vec![(first, 2, vec![9, 9, 9, 9]), (second, 0, vec![])]);
    assert!(!c.is_closed());
}

#[test]
fn a_message_split_anywhere_still_frames() {
    let (mut c, now) = client(true);
    let first = c.call_raw(now, SPEC, &[]).unwrap();
    let second = c.call_raw(now, SPEC, &[]).unwrap();
    let mut wire = with_fds(first, 1);
    let carrier = wire.len();
    wire.push(0);
    wire.extend(reply(second, MessageType::Reply, MessageStatus::Ok, &[]));
    for (i, b) in wire.iter().enumerate() {
        let fds = usize::from(i == carrier);
        assert_eq!(c.handle_input_fds(now, std::slice::from_ref(b), fds), fds);
    }
    assert_eq!(replies(&mut c), vec![(first, 1, vec![9, 9, 9, 9]), (second, 0, vec![])]);
}

#[test]
fn descriptors_nobody_announced_or_waits_for_are_not_kept() {
    let (mut c, now) = client(true);
    let plain = c.call_raw(now, SPEC, &[]).unwrap();
    let late = c.call_raw(now, SPEC, &[]).unwrap();
    let failed = c.call_raw(now, SPEC, &[]).unwrap();
    // Descriptors with a plain reply: closed (libvirt reads them away with the bytes).
    let r = reply(plain, MessageType::Reply, MessageStatus::Ok, &[]);
    assert_eq!(c.handle_input_fds(now, &r, 3), 0);
    // A cancelled call's reply: its descriptor is closed and the stream still frames.
    assert!(c.cancel(late));
    let mut r = with_fds(late, 1);
    r.push(0);
    assert_eq!(c.handle_input_fds(now, &r, 1), 0);
    // An error reply announcing one: closed too.
    let err = proto_core::xdr::to_bytes(&proto_core::RemoteError::rpc("no")).unwrap();
    let mut body = vec![0, 0, 0, 1];
    body.extend_from_slice(&err);
    let mut r = reply(failed, MessageType::ReplyWithFds, MessageStatus::Error, &body);
    r.push(0);
    assert_eq!(c.handle_input_fds(now, &r, 1), 0);
    let evs = events(&mut c);
    assert!(matches!(&evs[0], ClientEvent::Reply { serial, fds: 0, .. } if *serial == plain), "{evs:?}");
    assert!(matches!(&evs[1], ClientEvent::CallFailed { serial, error: CallError::Remote(_) } if *serial == failed));
    assert_eq!(evs.len(), 2);
    assert_eq!(c.late_replies(), 1);
    assert!(!c.is_closed());
}

#[test]
fn a_carrier_without_its_descriptor_fails_the_connection() {
    let (mut c, now) = client(true);
    let serial = c.call_raw(now, SPEC, &[]).unwrap();
    let mut r = with_fds(serial, 1);
    r.push(0);
    assert_eq!(c.handle_input_fds(now, &r, 0), 0);
    failed_with(&mut c, serial, ProtocolError::FdNotReceived);
}

#[test]
fn a_carrier_with_two_descriptors_fails_the_connection() {
    let (mut c, now) = client(true);
    let serial = c.call_raw(now, SPEC, &[]).unwrap();
    let mut r = with_fds(serial, 1);
    r.push(0);
    assert_eq!(c.handle_input_fds(now, &r, 2), 0, "both are closed");
    failed_with(&mut c, serial, ProtocolError::FdNotReceived);
}

#[test]
fn a_carrier_missing_at_the_end_of_file_fails_the_waiting_call() {
    let (mut c, now) = client(true);
    let serial = c.call_raw(now, SPEC, &[]).unwrap();
    c.handle_input_fds(now, &with_fds(serial, 1), 0);
    assert!(c.is_in_flight(serial), "in flight until its descriptors came");
    c.handle_eof(now);
    let evs = events(&mut c);
    assert!(matches!(&evs[0], ClientEvent::CallFailed { serial: s, error: CallError::Closed(_) } if *s == serial));
    assert_eq!(evs.len(), 2, "{evs:?}");
}

#[test]
fn a_call_cancelled_or_timed_out_while_its_descriptors_come_gets_nothing() {
    let (mut c, now) = client(true);
    let cancelled = c.call_raw(now, SPEC, &[]).unwrap();
    let timed_out = c.call_raw(now, SPEC.with_deadline(now + std::time::Duration::from_secs(1)), &[]).unwrap();
    let last = c.call_raw(now, SPEC, &[]).unwrap();
    assert_eq!(c.handle_input_fds(now, &with_fds(cancelled, 1), 0), 0);
    assert!(c.cancel(cancelled), "still in flight");
    assert_eq!(c.handle_input_fds(now, &[0], 1), 0, "its descriptor is closed");
    assert_eq!(c.handle_input_fds(now, &with_fds(timed_out, 1), 0), 0);
    c.handle_timeout(now + std::time::Duration::from_secs(2));
    assert_eq!(c.handle_input_fds(now, &[0], 1), 0, "its descriptor is closed");
    let mut r = with_fds(last, 1);
    r.push(0);
    assert_eq!(c.handle_input_fds(now, &r, 1), 1);
    let evs = events(&mut c);
    assert!(matches!(&evs[0], ClientEvent::CallFailed { serial, error: CallError::TimedOut } if *serial == timed_out));
    assert!(matches!(&evs[1], ClientEvent::Reply { serial, fds: 1, .. } if *serial == last), "{evs:?}");
    assert_eq!(evs.len(), 2);
}

#[test]
fn descriptors_over_a_transport_without_them_fail_the_connection() {
    let (mut c, now) = client(false);
    let none = c.call_raw(now, SPEC, &[]).unwrap();
    let two = c.call_raw(now, SPEC, &[]).unwrap();
    // Announcing none is fine everywhere (libvirt receives nothing).
    c.handle_input(now, &with_fds(none, 0));
    assert_eq!(replies(&mut c), vec![(none, 0, vec![9, 9, 9, 9])]);
    c.handle_input(now, &with_fds(two, 2));
    failed_with(&mut c, two, ProtocolError::FdPassingUnsupported);
}

#[test]
fn more_than_libvirts_limit_fails_the_connection() {
    let (mut c, now) = client(true);
    let serial = c.call_raw(now, SPEC, &[]).unwrap();
    assert_eq!(c.handle_input_fds(now, &with_fds(serial, 33), 1), 0);
    let evs = events(&mut c);
    assert!(
        matches!(
            &evs[0],
            ClientEvent::CallFailed {
                error: CallError::Closed(ConnectionError::Protocol(ProtocolError::Decode(_))),
                ..
            }
        ),
        "{evs:?}"
    );
}
