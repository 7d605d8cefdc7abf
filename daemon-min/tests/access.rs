//! Access control beyond read-only connections (`read_only.rs`) and TLS (`tls.rs`,
//! `tls_dn.rs`): every procedure called before `CONNECT_OPEN` gets libvirtd's answer; the unix
//! sockets are created with `unix_sock_rw_perms` / `unix_sock_ro_perms` and refuse the users
//! those modes refuse; `max_anonymous_clients` behaves as in libvirtd with `auth_unix_rw = "none"`
//! (there is no unauthenticated phase, so it limits nothing).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use adapter_blocking::{Client, ConnectOptions};
use bytes::BytesMut;
use common::{daemon_bin, Raw};
use proto_core::frame::MessageStatus;
use proto_core::programs::remote::{self, ConnectGetHostname};
use proto_core::xdr::from_bytes;
use proto_core::RemoteError;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{daemon_user_ids, Libvirtd};

/// What a daemon answers to procedure `p` with arguments `args` on a fresh connection, before
/// any `CONNECT_OPEN`: the reply's status and error, or "closed".
fn answer_before_open(socket: &Path, p: i32, args: &[u8]) -> String {
    let s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = Raw::new(s);
    let mut out = BytesMut::new();
    common::call(&mut out, p, 1, &RawArgs(args));
    if c.send(&out).is_err() {
        return "closed".into();
    }
    loop {
        match c.recv() {
            Ok(Some(f)) if f.header.ty == proto_core::MessageType::Reply => {
                return match f.header.status {
                    MessageStatus::Ok => "ok".into(),
                    _ => match from_bytes::<RemoteError>(f.body.clone()) {
                        Ok(e) => format!("error {} {} {:?}", e.code.0, e.domain.0, e.message.map(|m| m.to_string())),
                        Err(_) => "undecodable error".into(),
                    },
                };
            }
            Ok(Some(_)) => {}
            Ok(None) => return "closed".into(),
            Err(e) => return format!("no answer ({})", e.kind()),
        }
    }
}

/// Argument bytes sent as they are.
struct RawArgs<'a>(&'a [u8]);

impl proto_core::xdr::XdrEncode for RawArgs<'_> {
    fn encode(&self, out: &mut BytesMut) -> Result<(), proto_core::xdr::EncodeError> {
        out.extend_from_slice(self.0);
        Ok(())
    }
}

/// Every procedure, with well-formed arguments (a generated sample of its argument type, the
/// same for both daemons), before `CONNECT_OPEN`.
#[test]
fn every_call_before_open_answered_as_libvirtd() {
    let Some(l) = Libvirtd::start_or_skip() else { return };
    let d = DaemonMin::start(daemon_bin(), "", &[]);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut same, mut differ) = (0, BTreeMap::new());
    // CONNECT_OPEN is the one call that is let through: its answer to a random name is a matter
    // of URI parsing (tests/python/xml_limits.py, proto-core's uri tests), not of access.
    for info in remote::PROCEDURES.iter().filter(|i| !i.is_event && i.number != remote::REMOTE_PROC_CONNECT_OPEN) {
        let args = match info.args {
            "void" => bytes::Bytes::new(),
            ty => proto_core::programs::arbitrary::encode_sample(ty, &mut runner)
                .expect("a generated argument type")
                .expect("a sample encodes"),
        };
        let a = answer_before_open(l.unix_socket_path(), info.number, &args);
        let b = answer_before_open(&d.unix_socket_path(), info.number, &args);
        if a == b {
            same += 1;
        } else {
            differ.insert(info.name, (a, b));
        }
    }
    eprintln!("calls before CONNECT_OPEN: {same} answered as libvirtd does, {} differently", differ.len());
    assert!(differ.is_empty(), "different answers before CONNECT_OPEN (libvirtd, daemon-min): {differ:#?}");
}

/// Whether `uid:gid` can connect to the unix socket at `path` (a child process under that id).
fn can_connect_as(path: &Path, (uid, gid): (u32, u32)) -> bool {
    let script = format!("import socket; socket.socket(socket.AF_UNIX).connect({:?})", path.to_str().unwrap());
    Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run setpriv")
        .success()
}

fn socket_permissions(runtime: &[&str]) {
    let Ok(Some(other)) = daemon_user_ids() else {
        assert!(!spec_tests::libvirtd::is_ci(), "the unprivileged test user is missing (run .ci/install-peers)");
        eprintln!("SKIPPED: no unprivileged user to connect as");
        return;
    };
    for (rw, ro, other_may_rw, other_may_ro) in [("0700", "0777", false, true), ("0777", "0700", true, false)] {
        let conf = format!("unix_sock_rw_perms = \"{rw}\"\nunix_sock_ro_perms = \"{ro}\"\n");
        let d = DaemonMin::start(daemon_bin(), &conf, runtime);
        let rw_path = d.unix_socket_path();
        let ro_path = rw_path.with_file_name("libvirt-sock-ro");
        for (path, mode, may) in [(&rw_path, rw, other_may_rw), (&ro_path, ro, other_may_ro)] {
            let meta = std::fs::metadata(path).unwrap();
            assert!(meta.file_type().is_socket());
            assert_eq!(format!("{:04o}", meta.permissions().mode() & 0o7777), mode, "{}", path.display());
            assert_eq!(can_connect_as(path, other), may, "uid {} on {} ({mode})", other.0, path.display());
        }
        // Root (the owner) still connects to both.
        assert!(Client::connect(&d.unix_uri(), &ConnectOptions::default())
            .unwrap()
            .call::<ConnectGetHostname>(&())
            .is_ok());
    }
}

/// Five clients at once with `max_anonymous_clients = 1` (and `auth_unix_rw = "none"`): all are
/// served by daemon-min, as by libvirtd.
fn anonymous_clients(runtime: &[&str]) {
    let conf = "max_anonymous_clients = 1\n";
    let d = DaemonMin::start(daemon_bin(), conf, runtime);
    let held: Vec<Client> =
        (0..5).map(|_| Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap()).collect();
    for c in &held {
        assert!(c.call::<ConnectGetHostname>(&()).is_ok());
    }
    let Some(l) = Libvirtd::start_with_config(conf).map(Some).unwrap_or_else(|e| {
        assert!(!spec_tests::libvirtd::is_ci(), "{e}");
        None
    }) else {
        return;
    };
    let held: Vec<Client> =
        (0..5).map(|_| Client::connect(&l.tcp_uri(), &ConnectOptions::default()).unwrap()).collect();
    for c in &held {
        assert!(c.call::<ConnectGetHostname>(&()).is_ok());
    }
}

on_both_runtimes!(socket_permissions, anonymous_clients);
