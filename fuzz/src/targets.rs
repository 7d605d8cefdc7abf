//! Targets beyond the protocol core: the daemon's request handling and every parser a client or
//! an operator feeds.
//!
//! | target | input |
//! | --- | --- |
//! | `daemon_dispatch` | `[ro: u8]` then records `[proc: u16 LE][len: u16 LE][args…]` |
//! | `hypervisor_xml` | `[which: u8][document…]` |
//! | `libvirt_uri` | a URI |
//! | `libvirtd_conf` | a libvirtd.conf file |
//! | `xdr_compiler` | a `.x` file |
//!
//! Besides "no panic, no hang, no allocation beyond the input's size", each checks what it can
//! of the result (see each function).

use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use daemon_min::dispatch::{Daemon, EventSink, Outcome};
use daemon_min::hypervisor::Hypervisor;
use proto_core::frame::{Header, MessageStatus, MessageType};
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote;
use proto_core::xdr::{self, XdrDecode, XdrEncode};

include!(concat!(env!("OUT_DIR"), "/args_roundtrip.rs"));

/// Whatever decodes as `T` re-encodes canonically, and that decodes to the same value and
/// encodes to the same bytes: what daemon-min accepts means one thing.
fn roundtrip<T: XdrDecode + XdrEncode + PartialEq + Debug>(args: &Bytes) {
    let Ok(v) = xdr::from_bytes::<T>(args.clone()) else { return };
    let canonical = xdr::to_bytes(&v).expect("a decoded value encodes");
    let again = xdr::from_bytes_exact::<T>(canonical.clone()).expect("the canonical encoding decodes");
    assert_eq!(v, again, "decode(encode(decode(args))) differs");
    assert_eq!(xdr::to_bytes(&again).expect("encodes"), canonical, "encoding is not stable");
}

struct NullSink;

impl EventSink for NullSink {
    fn send_event(&self, _proc: i32, body: Bytes) {
        assert!(body.len() <= proto_core::frame::VIR_NET_MESSAGE_MAX);
    }
}

/// Calls at most this many procedures per input.
const MAX_CALLS: usize = 48;

/// A fresh daemon (the test driver's default objects), one connection opened on
/// `test:///default` (read-only if the first byte is odd), then the records' calls in order, so
/// that state builds up within an input. Procedure numbers below `0xF000` pick a callable
/// `REMOTE_PROGRAM` procedure by index; others are raw numbers around the table's ends. Each
/// call's arguments also go through the typed round trip of its generated argument type; every
/// error the daemon answers must encode.
pub fn daemon_dispatch(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let daemon = Daemon::new("fuzz".to_owned());
    let mut session = daemon.session(mode & 1 == 1, Arc::new(NullSink));
    let callable: Vec<i32> = remote::PROCEDURES.iter().filter(|i| !i.is_event).map(|i| i.number).collect();
    let header = |proc_: i32, serial: u32| Header {
        prog: REMOTE_PROGRAM,
        vers: 1,
        proc_,
        ty: MessageType::Call,
        serial,
        status: MessageStatus::Ok,
    };
    let open = remote::RemoteConnectOpenArgs { name: Some("test:///default".into()), flags: 0 };
    let _ = daemon.dispatch(&mut session, &header(remote::REMOTE_PROC_CONNECT_OPEN, 0), xdr::to_bytes(&open).unwrap());
    let mut serial = 1u32;
    while rest.len() >= 4 && (serial as usize) <= MAX_CALLS {
        let sel = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]])).min(rest.len() - 4);
        let args = Bytes::copy_from_slice(&rest[4..4 + len]);
        rest = &rest[4 + len..];
        let proc_ =
            if sel < 0xF000 { callable[usize::from(sel) % callable.len()] } else { i32::from(sel - 0xF000) - 64 };
        // CONNECT_OPEN of a node file would read the file system: keep the fuzzer in memory.
        if proc_ == remote::REMOTE_PROC_CONNECT_OPEN {
            continue;
        }
        args_roundtrip(proc_, &args);
        match daemon.dispatch(&mut session, &header(proc_, serial), args) {
            Outcome::Error(e) => {
                xdr::to_bytes(&e).expect("an error reply encodes");
            }
            Outcome::Reply(b) | Outcome::ReplyThenClose(b) => {
                assert!(b.len() <= proto_core::frame::VIR_NET_MESSAGE_MAX);
            }
            Outcome::Upload(_) | Outcome::Download(_) => {}
        }
        serial += 1;
    }
    daemon.end_session(&mut session);
}

/// The first byte picks the document kind: domain (define, then create), network (define, then
/// create), storage pool (define, then create), volume (created in the default pool), a
/// test-driver node file, host interface (define), snapshot and checkpoint (of domain `test`). Whatever is accepted is read back as libvirt would format it, and
/// that text must be accepted again (a define of it succeeds).
pub fn hypervisor_xml(data: &[u8]) {
    let Some((&which, doc)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(doc) else { return };
    let mut h = Hypervisor::new_default("fuzz");
    match which % 8 {
        0 => {
            if let Ok(d) = h.domain_define_xml(text, 0) {
                let xml = h.domain_get_xml_desc(&d, 0).expect("dumpxml of a defined domain");
                h.domain_define_xml(&xml, 0).unwrap_or_else(|e| panic!("{xml}\nis refused: {e}"));
            }
            let _ = h.domain_create_xml(text, 0);
        }
        1 => {
            if let Ok(n) = h.network_define_xml(text, 0) {
                let xml = h.network_get_xml_desc(&n, 0).expect("net-dumpxml of a defined network");
                h.network_define_xml(&xml, 0).unwrap_or_else(|e| panic!("{xml}\nis refused: {e}"));
            }
            let _ = h.network_create_xml(text, 0);
        }
        2 => {
            if let Ok(p) = h.storage_pool_define_xml(text, 0) {
                let xml = h.storage_pool_get_xml_desc(&p, 0).expect("pool-dumpxml of a defined pool");
                h.storage_pool_define_xml(&xml, 0).unwrap_or_else(|e| panic!("{xml}\nis refused: {e}"));
            }
            let _ = h.storage_pool_create_xml(text, 0);
        }
        3 => {
            let pool = h.storage_pool_lookup_by_name("default-pool").expect("the default pool");
            if let Ok(v) = h.storage_vol_create_xml(&pool, text, 0) {
                let _ = h.storage_vol_get_xml_desc(&v, 0);
            }
        }
        5 => {
            if let Ok(i) = h.interface_define_xml(text, 0) {
                let xml = h.interface_get_xml_desc(&i, 0).expect("iface-dumpxml of a defined interface");
                h.interface_define_xml(&xml, 0).unwrap_or_else(|e| panic!("{xml}\nis refused: {e}"));
            }
        }
        6 => {
            let dom = h.domain_lookup_by_name("test").expect("the default domain");
            if let Ok(name) = h.domain_snapshot_create_xml(&dom, text, 0) {
                let _ = h.domain_snapshot_get_xml_desc(&dom, &name, 0).expect("snapshot-dumpxml");
            }
        }
        7 => {
            let dom = h.domain_lookup_by_name("test").expect("the default domain");
            if let Ok(name) = h.domain_checkpoint_create_xml(&dom, text, 0) {
                let _ = h.domain_checkpoint_get_xml_desc(&dom, &name, 0).expect("checkpoint-dumpxml");
            }
        }
        _ => {
            let path = std::env::temp_dir().join(format!("fuzz-node-{}.xml", std::process::id()));
            if std::fs::write(&path, doc).is_ok() {
                let _ = Hypervisor::from_node_file(&path, "fuzz");
            }
        }
    }
}

/// libvirt URIs: parsing, the name CONNECT_OPEN carries, transport resolution for a few
/// environments, ssh/ext command lines and TLS paths. A URI that parses yields a name that
/// parses again.
pub fn libvirt_uri(data: &[u8]) {
    use proto_core::uri::{ClientEnv, LibvirtUri};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = LibvirtUri::parse(text) else { return };
    let _ = uri.effective_transport();
    let _ = uri.is_remote();
    if let Ok(name) = uri.connect_open_name() {
        if !name.is_empty() {
            let _ = LibvirtUri::parse(&name);
        }
    }
    for env in [
        ClientEnv::default(),
        ClientEnv { is_root: true, ..ClientEnv::default() },
        ClientEnv { home: Some("/home/u".into()), runtime_dir: Some("/run/user/1".into()), ..ClientEnv::default() },
    ] {
        for ro in [false, true] {
            if let Ok(target) = uri.resolve(&env, ro) {
                let _ = format!("{target:?}");
                let _ = target.tls_pki_paths(&env, |p| p.len() % 2 == 0);
                let _ = target.ssh_argv();
                let _ = target.ext_argv();
                let _ = target.remote_helper_command();
            }
        }
    }
}

/// libvirtd.conf: parsed or refused with a line number; never a panic.
pub fn libvirtd_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match daemon_min::config::Config::parse("fuzz.conf", text) {
        Ok(c) => {
            let _ = c.unsupported_auth();
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.conf:"), "{e}"),
    }
}

/// The `.x` compiler's parser: a spec or a syntax error whose position lies inside the input.
pub fn xdr_compiler(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = libvirt_codegen::parser::parse("fuzz.x", text) {
        let _ = e.to_string();
    }
}
