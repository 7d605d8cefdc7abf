//! The conformance script: the same real `virsh` commands against Debian's libvirtd 9.0 (test
//! driver) and against daemon-min, outputs and exit statuses compared after masking values that
//! are volatile by nature. Over unix and tcp, read-only, errors, and events.
//!
//! Fails under `CI=true` when libvirtd or virsh is missing; skips loudly otherwise.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::daemon_bin;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{require_peer, Libvirtd};
use spec_tests::process::wait_connected;

const DOMAIN_XML: &str = "<domain type='test'>
  <name>rs1</name>
  <uuid>0a0b0c0d-1111-2222-3333-444455556666</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>
";

fn virsh(virsh: &Path, args: &[&str]) -> Output {
    Command::new(virsh).args(args).stdin(Stdio::null()).output().expect("run virsh")
}

/// Removes what differs by nature between two daemons: CPU time, the URI (host and port or
/// socket path).
fn mask(text: &str, uri: &str) -> String {
    text.lines()
        .map(|l| if l.starts_with("CPU time:") { "CPU time: <masked>".to_owned() } else { l.replace(uri, "<uri>") })
        .collect::<Vec<_>>()
        .join("\n")
}

fn compare(virsh_bin: &Path, theirs: &str, ours: &str, extra: &[&str], script: &str) {
    let run = |uri: &str| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["-c", uri, script]);
        let out = virsh(virsh_bin, &args);
        (
            mask(&String::from_utf8_lossy(&out.stdout), uri),
            mask(&String::from_utf8_lossy(&out.stderr), uri),
            out.status.code(),
        )
    };
    let a = run(theirs);
    let b = run(ours);
    assert_eq!(a.0, b.0, "stdout differs for {extra:?} {script:?}");
    assert_eq!(a.1, b.1, "stderr differs for {extra:?} {script:?}");
    assert_eq!(a.2, b.2, "exit status differs for {extra:?} {script:?}");
}

fn setup(runtime: &[&str]) -> Option<(Libvirtd, DaemonMin, std::path::PathBuf)> {
    let theirs = Libvirtd::start_or_skip()?;
    let virsh_bin = require_peer("virsh")?;
    let ours = DaemonMin::start(daemon_bin(), "", runtime);
    Some((theirs, ours, virsh_bin))
}

// Both runtimes pass every test: `--runtime smol` (the default) and `--runtime blocking`.
on_both_runtimes!(
    the_same_session_prints_the_same_over_tcp_and_unix,
    errors_print_the_same_with_the_same_exit_status,
    read_only_connections_refuse_writes_the_same_way,
    events_are_the_same,
    sigterm_exits_zero,
);

fn the_same_session_prints_the_same_over_tcp_and_unix(runtime: &[&str]) {
    let Some((theirs, ours, virsh_bin)) = setup(runtime) else { return };
    let xml = ours.dir().join("rs1.xml");
    std::fs::write(&xml, DOMAIN_XML).unwrap();
    let xml = xml.display().to_string();
    // One virsh session each: libvirtd's test driver forgets its state with its last connection.
    let script = format!(
        "list; list --all; dominfo test; domstate --reason test; domid test; domname 1; domuuid test; \
         dumpxml test; define {xml}; list --all; dominfo rs1; start rs1; domstate --reason rs1; domid rs1; \
         suspend rs1; domstate --reason rs1; resume rs1; shutdown rs1; domstate --reason rs1; start rs1; \
         destroy rs1; domstate --reason rs1; autostart rs1; dominfo rs1; autostart --disable rs1; \
         undefine rs1; list --all; version; version --daemon; hostname; uri; nodeinfo; capabilities; \
         net-list --all; net-info default; net-dumpxml default; pool-list --all; pool-info default-pool; \
         vol-list default-pool"
    );
    compare(&virsh_bin, &theirs.tcp_uri(), &ours.tcp_uri(), &[], &script);
    // daemon-min keeps its state for its lifetime (libvirtd's test driver forgets it with the
    // last connection), so the second round runs on a fresh daemon-min: ids then match again.
    let fresh = DaemonMin::start(daemon_bin(), "", runtime);
    compare(&virsh_bin, &theirs.unix_uri(), &fresh.unix_uri(), &[], &script);
}

fn errors_print_the_same_with_the_same_exit_status(runtime: &[&str]) {
    let Some((theirs, ours, virsh_bin)) = setup(runtime) else { return };
    for script in [
        "dominfo nope",
        "domstate nope",
        "start test",
        "undefine nope",
        "suspend nope",
        "net-info nope",
        "pool-info nope",
        "domid 42",
        "destroy test; destroy test",
        "define /nonexistent.xml",
    ] {
        compare(&virsh_bin, &theirs.tcp_uri(), &ours.tcp_uri(), &[], script);
    }
}

fn read_only_connections_refuse_writes_the_same_way(runtime: &[&str]) {
    let Some((theirs, ours, virsh_bin)) = setup(runtime) else { return };
    // libvirtd in session mode has no read-only socket; `virsh -r` opens with VIR_CONNECT_RO.
    for script in ["list --all", "dominfo test", "suspend test", "destroy test", "dumpxml --security-info test"] {
        compare(&virsh_bin, &theirs.tcp_uri(), &ours.tcp_uri(), &["-r"], script);
    }
    // daemon-min's read-only socket refuses writes even without -r.
    let out = virsh(&virsh_bin, &["-c", &ours.ro_uri(), "suspend test"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("operation forbidden: read only access prevents virDomainSuspend"), "{err}");
    let out = virsh(&virsh_bin, &["-c", &ours.ro_uri(), "list --all"]);
    assert!(out.status.success());
}

/// `virsh event --all --loop --timeout` while a second connection changes domain states.
/// The watcher is given time to connect and register (it is connected to `port`, then 500 ms),
/// not a guessed sleep: on a loaded machine starting virsh alone can take seconds.
fn events(virsh_bin: &Path, uri: &str, port: u16) -> String {
    let watcher = Command::new(virsh_bin)
        .args(["-c", uri, "event --all --loop --timeout 6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_connected(watcher.id(), port, Duration::from_secs(5), Duration::from_millis(500)),
        "virsh event did not connect to {uri}"
    );
    let out = virsh(virsh_bin, &["-c", uri, "suspend test; resume test; destroy test; start test"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = watcher.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn events_are_the_same(runtime: &[&str]) {
    let Some((theirs, ours, virsh_bin)) = setup(runtime) else { return };
    // The watcher keeps libvirtd's test driver state alive while the second virsh acts.
    let a = events(&virsh_bin, &theirs.tcp_uri(), theirs.port());
    let b = events(&virsh_bin, &ours.tcp_uri(), ours.port());
    assert!(a.contains("Suspended"), "libvirtd sent: {a}");
    assert_eq!(a, b);
}

fn sigterm_exits_zero(runtime: &[&str]) {
    let Some(_) = require_peer("virsh") else { return };
    let ours = DaemonMin::start(daemon_bin(), "", runtime);
    let status = ours.terminate();
    assert!(status.success(), "{status}");
}
