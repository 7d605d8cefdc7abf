//! The generated programs (`proto_core::programs`): table counts, lookups, the `Procedure`
//! constants, and cross-checks of the generated envelope types against the hand-written codecs
//! of `frame` and `error`. Needs no libvirt source.

use bytes::Bytes;
use proto_core::error::{ErrorCode, ErrorDomain, RemoteError};
use proto_core::frame::{self, Header, MessageStatus, MessageType, StreamHole};
use proto_core::program::{self, Priority, Procedure, ProcedureInfo, StreamDirection};
use proto_core::programs::{self, admin, keepalive, lxc, qemu, remote, virnet};
use proto_core::xdr::{from_bytes_exact, to_bytes, XdrString};

fn events(t: &[ProcedureInfo]) -> usize {
    t.iter().filter(|p| p.is_event).count()
}

#[test]
fn table_counts() {
    assert_eq!((remote::PROCEDURES.len(), events(remote::PROCEDURES)), (443, 51));
    assert_eq!((qemu::PROCEDURES.len(), events(qemu::PROCEDURES)), (7, 1));
    assert_eq!((lxc::PROCEDURES.len(), events(lxc::PROCEDURES)), (1, 0));
    assert_eq!((admin::PROCEDURES.len(), events(admin::PROCEDURES)), (19, 0));
    assert_eq!((keepalive::PROCEDURES.len(), events(keepalive::PROCEDURES)), (2, 2));
    let numbers: Vec<i32> = remote::PROCEDURES.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (1..=443).collect::<Vec<_>>());
    assert_eq!(qemu::procedure_by_number(6).map(|p| p.is_event), Some(true));
    assert_eq!(qemu::procedure_by_number(6).map(|p| p.ret), Some("qemu_domain_monitor_event_msg"));
    // Every event's body is a `_msg` struct and it takes no arguments.
    for p in remote::PROCEDURES.iter().filter(|p| p.is_event) {
        assert!(p.ret.ends_with("_msg") && p.args == "void", "{p:?}");
    }
    for p in remote::PROCEDURES.iter().filter(|p| !p.is_event) {
        assert!(!p.ret.ends_with("_msg"), "{p:?}");
    }
}

#[test]
fn lookups() {
    let p = remote::procedure_by_number(212).unwrap();
    assert_eq!(p.name, "REMOTE_PROC_DOMAIN_GET_STATE");
    assert_eq!((p.program, p.version), (program::REMOTE_PROGRAM, program::REMOTE_PROTOCOL_VERSION));
    assert_eq!(remote::procedure_by_name("REMOTE_PROC_DOMAIN_GET_STATE").map(|p| p.number), Some(212));
    assert_eq!(remote::REMOTE_PROC_DOMAIN_GET_STATE, 212);
    assert_eq!(programs::procedure(program::REMOTE_PROGRAM, 1, 212), Some(p));
    assert_eq!(programs::procedure_by_name("REMOTE_PROC_DOMAIN_GET_STATE"), Some(p));
    assert_eq!(
        programs::procedure(program::QEMU_PROGRAM, 1, 1).map(|p| p.name),
        Some("QEMU_PROC_DOMAIN_MONITOR_COMMAND")
    );
    assert_eq!(
        programs::procedure(program::KEEPALIVE_PROGRAM, 1, program::KEEPALIVE_PROC_PONG).map(|p| p.name),
        Some("KEEPALIVE_PROC_PONG")
    );
    assert_eq!(programs::procedure_by_name("ADMIN_PROC_CONNECT_OPEN").map(|p| p.number), Some(1));
    assert_eq!(
        programs::procedure_by_name("LXC_PROC_DOMAIN_OPEN_NAMESPACE").map(|p| p.program),
        Some(program::LXC_PROGRAM)
    );
    // Unknown numbers, names, programs and versions give None.
    for n in [0, -1, 444, i32::MAX, i32::MIN] {
        assert_eq!(remote::procedure_by_number(n), None, "{n}");
        assert_eq!(programs::procedure(program::REMOTE_PROGRAM, 1, n), None, "{n}");
    }
    assert_eq!(qemu::procedure_by_number(8), None);
    assert_eq!(keepalive::procedure_by_number(3), None);
    assert_eq!(programs::procedure(program::REMOTE_PROGRAM, 2, 1), None);
    assert_eq!(programs::procedure(0x1234_5678, 1, 1), None);
    assert_eq!(programs::procedures(0xEA7_BEEF, 1), None);
    assert_eq!(remote::procedure_by_name("REMOTE_PROC_NOPE"), None);
    assert_eq!(programs::procedure_by_name("NOPE"), None);
    assert_eq!(programs::procedure_by_name("QEMU_PROC_DOMAIN_GET_STATE"), None);
    // Every entry is found by its own number and name.
    for prog in [
        program::REMOTE_PROGRAM,
        program::QEMU_PROGRAM,
        program::LXC_PROGRAM,
        program::ADMIN_PROGRAM,
        program::KEEPALIVE_PROGRAM,
    ] {
        for p in programs::procedures(prog, 1).unwrap() {
            assert_eq!(programs::procedure(prog, 1, p.number), Some(p));
            assert_eq!(programs::procedure_by_name(p.name), Some(p));
        }
    }
}

fn info_of<P: Procedure>() -> ProcedureInfo {
    *programs::procedure(P::PROGRAM, P::VERSION, P::NUMBER).unwrap()
}

fn same<P: Procedure>() {
    let i = info_of::<P>();
    assert_eq!(i.name, P::NAME);
    assert_eq!(i.is_event, P::IS_EVENT);
    assert_eq!(i.stream, P::STREAM);
    assert_eq!(i.sparse_flag, P::SPARSE_FLAG);
    assert_eq!(i.priority, P::PRIORITY);
    assert_eq!(i.acl, P::ACL);
}

#[test]
fn procedure_types_match_the_tables() {
    assert_eq!(remote::DomainGetState::NUMBER, remote::REMOTE_PROC_DOMAIN_GET_STATE);
    assert_eq!(remote::DomainGetState::NAME, "REMOTE_PROC_DOMAIN_GET_STATE");
    assert_eq!(remote::DomainGetState::PRIORITY, Priority::High);
    assert_eq!(remote::DomainGetState::ACL, &["domain:read"]);
    same::<remote::DomainGetState>();
    same::<remote::ConnectOpen>();
    same::<remote::StorageVolUpload>();
    same::<remote::StorageVolDownload>();
    same::<remote::DomainOpenConsole>();
    same::<remote::DomainEventCallbackLifecycle>();
    same::<qemu::DomainMonitorEvent>();
    same::<lxc::DomainOpenNamespace>();
    same::<admin::ConnectOpen>();
    same::<keepalive::Ping>();
    same::<keepalive::Pong>();

    assert_eq!(remote::StorageVolUpload::STREAM, StreamDirection::Write);
    assert_eq!(remote::StorageVolUpload::SPARSE_FLAG, Some("VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM"));
    assert_eq!(remote::StorageVolDownload::STREAM, StreamDirection::Read);
    assert_eq!(remote::DomainOpenConsole::STREAM, StreamDirection::Read);
    assert_eq!(remote::DomainMigratePrepareTunnel3::STREAM, StreamDirection::Write);
    let streams = |d| remote::PROCEDURES.iter().filter(|p| p.stream == d).count();
    assert_eq!((streams(StreamDirection::Read), streams(StreamDirection::Write)), (4, 3));
    assert_eq!(remote::PROCEDURES.iter().filter(|p| p.sparse_flag.is_some()).count(), 2);
    const { assert!(remote::DomainEventCallbackLifecycle::IS_EVENT) };
    const { assert!(!remote::ConnectOpen::IS_EVENT) };
    const { assert!(keepalive::Ping::IS_EVENT && keepalive::Pong::IS_EVENT) };
    // `@acl: none` is an empty list; several rules stay in order.
    assert!(remote::ConnectClose::ACL.is_empty());
    assert_eq!(remote::DomainCreateXml::ACL, &["domain:write", "domain:start"]);
    assert_eq!(
        remote::DomainGetXmlDesc::ACL,
        &["domain:read", "domain:read_secure:VIR_DOMAIN_XML_SECURE", "domain:read_secure:VIR_DOMAIN_XML_MIGRATABLE"]
    );
    assert_eq!(info_of::<remote::ConnectListAllDomains>().acl_filter, &["domain:getattr"]);
}

#[test]
fn typed_args_and_replies_round_trip() {
    type Args = <remote::DomainLookupByName as Procedure>::Args;
    let args = Args { name: XdrString::from("test") };
    assert_eq!(&to_bytes(&args).unwrap()[..], b"\0\0\0\x04test");
    // The observed DOMAIN_LOOKUP_BY_NAME reply (protocol-facts.md §3.2).
    let wire = Bytes::from_static(&[
        0, 0, 0, 4, b't', b'e', b's', b't', 0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2,
        0x50, 0x2e, 0x19, 0x3f, 0, 0, 0, 1,
    ]);
    let ret: <remote::DomainLookupByName as Procedure>::Ret = from_bytes_exact(wire.clone()).unwrap();
    assert_eq!(ret.dom.name, "test");
    assert_eq!(ret.dom.id, 1);
    assert_eq!(to_bytes(&ret).unwrap(), wire);
    // char model[32] takes 32 × 4 bytes.
    let info = remote::RemoteNodeGetInfoRet::default();
    assert_eq!(to_bytes(&info).unwrap().len(), 32 * 4 + 8 + 6 * 4);
    // Enums keep unknown values.
    let t = remote::RemoteAuthType(99);
    assert_eq!(from_bytes_exact::<remote::RemoteAuthType>(to_bytes(&t).unwrap()).unwrap(), t);
    assert_eq!(remote::RemoteAuthType::REMOTE_AUTH_POLKIT.name(), Some("REMOTE_AUTH_POLKIT"));
    assert_eq!(format!("{:?}", remote::RemoteAuthType(1)), "REMOTE_AUTH_SASL(1)");
}

#[test]
fn program_constants_agree_with_program_rs() {
    assert_eq!(remote::REMOTE_PROGRAM, program::REMOTE_PROGRAM);
    assert_eq!(remote::REMOTE_PROTOCOL_VERSION, program::REMOTE_PROTOCOL_VERSION);
    assert_eq!(qemu::QEMU_PROGRAM, program::QEMU_PROGRAM);
    assert_eq!(lxc::LXC_PROGRAM, program::LXC_PROGRAM);
    assert_eq!(admin::ADMIN_PROGRAM, program::ADMIN_PROGRAM);
    assert_eq!(keepalive::KEEPALIVE_PROGRAM, program::KEEPALIVE_PROGRAM);
    assert_eq!(keepalive::KEEPALIVE_PROC_PING, program::KEEPALIVE_PROC_PING);
    assert_eq!(keepalive::KEEPALIVE_PROC_PONG, program::KEEPALIVE_PROC_PONG);
    assert_eq!(remote::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, program::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE);
}

#[test]
fn envelope_agrees_with_frame_and_error() {
    assert_eq!(virnet::VIR_NET_MESSAGE_MAX as usize, frame::VIR_NET_MESSAGE_MAX);
    assert_eq!(virnet::VIR_NET_MESSAGE_HEADER_MAX as usize, frame::VIR_NET_MESSAGE_HEADER_MAX);
    assert_eq!(virnet::VIR_NET_MESSAGE_PAYLOAD_MAX as usize, frame::VIR_NET_MESSAGE_PAYLOAD_MAX);
    assert_eq!(virnet::VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX as usize, frame::VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX);
    assert_eq!(virnet::VIR_NET_MESSAGE_INITIAL as usize, frame::VIR_NET_MESSAGE_INITIAL);
    assert_eq!(virnet::VIR_NET_MESSAGE_LEN_MAX as usize, frame::VIR_NET_MESSAGE_LEN_MAX);
    assert_eq!(virnet::VIR_NET_MESSAGE_STRING_MAX, frame::VIR_NET_MESSAGE_STRING_MAX);
    assert_eq!(virnet::VIR_NET_MESSAGE_NUM_FDS_MAX, frame::VIR_NET_MESSAGE_NUM_FDS_MAX);
    for (ty, wire) in [
        (MessageType::Call, virnet::VirNetMessageType::VIR_NET_CALL),
        (MessageType::Reply, virnet::VirNetMessageType::VIR_NET_REPLY),
        (MessageType::Message, virnet::VirNetMessageType::VIR_NET_MESSAGE),
        (MessageType::Stream, virnet::VirNetMessageType::VIR_NET_STREAM),
        (MessageType::CallWithFds, virnet::VirNetMessageType::VIR_NET_CALL_WITH_FDS),
        (MessageType::ReplyWithFds, virnet::VirNetMessageType::VIR_NET_REPLY_WITH_FDS),
        (MessageType::StreamHole, virnet::VirNetMessageType::VIR_NET_STREAM_HOLE),
    ] {
        assert_eq!(ty as i32, wire.0);
    }
    let h = Header {
        prog: program::REMOTE_PROGRAM,
        vers: 1,
        proc_: 212,
        ty: MessageType::Reply,
        serial: 7,
        status: MessageStatus::Error,
    };
    let mut hand = bytes::BytesMut::new();
    h.encode(&mut hand);
    let gen = virnet::VirNetMessageHeader {
        prog: h.prog,
        vers: 1,
        proc: 212,
        type_: virnet::VirNetMessageType::VIR_NET_REPLY,
        serial: 7,
        status: virnet::VirNetMessageStatus::VIR_NET_ERROR,
    };
    assert_eq!(&hand[..], &to_bytes(&gen).unwrap()[..]);

    let mut e = RemoteError::new(ErrorCode::VIR_ERR_NO_DOMAIN, ErrorDomain::VIR_FROM_TEST, "Domain not found");
    e.str3 = Some("x".into());
    let b = to_bytes(&e).unwrap();
    let g: virnet::VirNetMessageError = from_bytes_exact(b.clone()).unwrap();
    assert_eq!(g.code, 42);
    assert_eq!(g.message.as_ref().map(|m| m.to_string()), Some("Domain not found".into()));
    assert_eq!(to_bytes(&g).unwrap(), b);
    let g: remote::RemoteError = from_bytes_exact(b.clone()).unwrap();
    assert_eq!(to_bytes(&g).unwrap(), b);

    let hole = StreamHole { length: 1 << 40, flags: 0 };
    let g = virnet::VirNetStreamHole { length: 1 << 40, flags: 0 };
    assert_eq!(to_bytes(&hole).unwrap(), to_bytes(&g).unwrap());
}
