//! Every generated non-event procedure of `REMOTE_PROGRAM`, called on a read-only connection
//! (`VIR_CONNECT_RO` on the read-write socket, and the read-only socket without the flag) with
//! all-zero arguments (which decode as every procedure's arguments: empty strings and arrays,
//! absent optionals, zero numbers; libvirtd decodes the arguments before anything else and
//! ignores the bytes left over): each one whose `@acl` permissions write is refused with
//! libvirt's "operation forbidden: read only access prevents virXxx" (`VIR_ERR_OPERATION_DENIED`,
//! 29), and none that only reads is refused that way.
//!
//! "Only reads" is judged here from the generated `@acl` list, independently of the daemon:
//! every unconditional permission is `read`, `getattr` or `search_*`. A conditional permission
//! (`domain:read_secure:VIR_DOMAIN_XML_SECURE`) applies only with its flag, which empty
//! arguments do not set.

use std::path::Path;

use adapter_blocking::{Client, ConnectOptions};
use daemon_min::dispatch::api_name;
use proto_core::client::CallSpec;
use proto_core::program::ProcedureInfo;
use proto_core::programs::remote::{self, PROCEDURES};
use spec_tests::daemon_min::DaemonMin;

fn daemon_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_daemon-min"))
}

/// Arguments every procedure decodes (the longest fixed part of any `_args` is far shorter).
const ZEROS: [u8; 1024] = [0; 1024];

/// Whether the procedure's unconditional `@acl` permissions all read.
fn only_reads(info: &ProcedureInfo) -> bool {
    info.acl.iter().all(|perm| {
        let mut parts = perm.split(':');
        let (_object, action, condition) = (parts.next(), parts.next().unwrap_or(""), parts.next());
        condition.is_some() || matches!(action, "read" | "getattr") || action.starts_with("search_")
    })
}

/// Calls every procedure and checks the refusals; returns (refused writes, reads let through).
fn walk(client: &Client) -> (usize, usize) {
    let mut refused = 0;
    let mut let_through = 0;
    let mut wrong = Vec::new();
    for info in PROCEDURES.iter().filter(|i| !i.is_event) {
        // It would end the connection (it reads: it is let through, see the end of the test).
        if info.number == remote::REMOTE_PROC_CONNECT_CLOSE {
            continue;
        }
        let r = client.call_raw(CallSpec::remote(info.number), &ZEROS);
        let refusal = match &r {
            Err(e) => match e.remote() {
                Some(re) => (re.code.0 == 29
                    && re.to_string().starts_with("operation forbidden: read only access prevents"))
                .then(|| re.to_string()),
                None => panic!("{}: not an error from the daemon: {e}", info.name),
            },
            Ok(_) => None,
        };
        let api = api_name(info.name);
        if only_reads(info) {
            match refusal {
                None => let_through += 1,
                Some(msg) => wrong.push(format!("{} ({api}) only reads but was refused: {msg}", info.name)),
            }
        } else {
            let expected = format!("operation forbidden: read only access prevents {api}");
            match refusal {
                Some(msg) if msg == expected => refused += 1,
                other => wrong.push(format!(
                    "{} ({api}) writes ({:?}) but got {:?}",
                    info.name,
                    info.acl,
                    other.or(r.err().map(|e| e.to_string()))
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{} procedures wrong:\n{}", wrong.len(), wrong.join("\n"));
    // The connection is still usable, and CONNECT_CLOSE (it reads) is answered.
    client.call_raw(CallSpec::remote(remote::REMOTE_PROC_CONNECT_GET_HOSTNAME), &[]).expect("still open");
    client.close().expect("CONNECT_CLOSE is let through");
    (refused, let_through)
}

#[test]
fn read_only_connections_refuse_exactly_the_writes() {
    read_only_walk(&[]);
}

#[test]
fn read_only_connections_refuse_exactly_the_writes_blocking_runtime() {
    read_only_walk(&["--runtime", "blocking"]);
}

fn read_only_walk(runtime: &[&str]) {
    let daemon = DaemonMin::start(daemon_bin(), "", runtime);
    let n = PROCEDURES.iter().filter(|i| !i.is_event).count();
    let writes = PROCEDURES.iter().filter(|i| !i.is_event && !only_reads(i)).count();
    assert!(writes > 150 && n - writes > 150, "{writes} of {n}: the classification looks wrong");

    // VIR_CONNECT_RO on the read-write socket.
    let ro = ConnectOptions { read_only: true, ..ConnectOptions::default() };
    let client = Client::connect(&daemon.unix_uri(), &ro).expect("connect read-only");
    let (refused, through) = walk(&client);
    assert_eq!((refused, through + 1), (writes, n - writes));
    eprintln!("VIR_CONNECT_RO: {refused} writes refused, {} reads let through", through + 1);

    // The read-only socket, without the flag.
    let client = Client::connect(&daemon.ro_uri(), &ConnectOptions::default()).expect("connect to the ro socket");
    let (refused, through) = walk(&client);
    assert_eq!((refused, through + 1), (writes, n - writes));

    // A read-write connection refuses none of them that way.
    let client = Client::connect(&daemon.unix_uri(), &ConnectOptions::default()).expect("connect");
    for info in PROCEDURES.iter().filter(|i| !i.is_event && i.number != remote::REMOTE_PROC_CONNECT_CLOSE) {
        if let Err(e) = client.call_raw(CallSpec::remote(info.number), &[]) {
            assert_ne!(e.remote().map(|r| r.code.0), Some(29), "{} refused on a read-write connection: {e}", info.name);
        }
    }
}

/// The procedures the walk above found refused wrongly before (a conditional `@acl` permission
/// such as `domain:read_secure:VIR_DOMAIN_XML_SECURE` counted as a write): `virsh -r dumpxml`
/// prints what it prints against libvirtd, and `--security-info` is still refused the same way.
#[test]
fn virsh_r_dumpxml_matches_libvirtd() {
    let Some(theirs) = spec_tests::libvirtd::Libvirtd::start_or_skip() else { return };
    let Some(virsh) = spec_tests::libvirtd::require_peer("virsh") else { return };
    let ours = DaemonMin::start(daemon_bin(), "", &[]);
    for script in ["dumpxml test", "dumpxml --inactive test", "dumpxml --security-info test"] {
        let run = |uri: &str| {
            let out = std::process::Command::new(&virsh)
                .args(["-r", "-c", uri, script])
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run virsh");
            (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                out.status.code(),
            )
        };
        assert_eq!(run(&theirs.tcp_uri()), run(&ours.tcp_uri()), "virsh -r {script}");
    }
}
