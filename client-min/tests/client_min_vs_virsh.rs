//! Conformance: the same command sequences run by Debian's virsh 9.0 and by client-min against
//! the same real libvirtd (test driver) give the same standard output, standard error and exit
//! status, once volatile values (CPU time) are masked.
//!
//! Each side runs its whole sequence in one process (`-c URI 'cmd1; cmd2; …'`): the test
//! driver's `default` state lives only while a connection is open, so both start from the
//! same fresh state. Over TCP, over the UNIX socket, and read-only (`-r`).
//!
//! Skips loudly when libvirtd or virsh is missing; fails instead under `CI=true`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use spec_tests::libvirtd::{require_peer, Libvirtd};

const CLIENT_MIN: &str = env!("CARGO_BIN_EXE_client-min");

/// What one run printed and returned.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    stderr: String,
    status: Option<i32>,
}

fn run(program: &Path, args: &[&str], stdin: &str, dir: &Path) -> Outcome {
    let mut cmd = Command::new(program);
    // The interactive greeting names argv[0]; present both as "virsh".
    cmd.arg0("virsh")
        .args(args)
        .current_dir(dir)
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VIRSH_DEFAULT_CONNECT_URI")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Outcome {
        stdout: mask(&String::from_utf8_lossy(&out.stdout)),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status.code(),
    }
}

/// Masks what changes from run to run: the CPU time of running domains.
fn mask(s: &str) -> String {
    s.lines()
        .map(|l| match l.strip_prefix("CPU time:") {
            Some(rest) if rest.trim_end().ends_with('s') => format!("CPU time:{}<masked>", " ".repeat(7)),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if s.ends_with('\n') { "\n" } else { "" }
}

/// Runs `args` with virsh and with client-min and asserts the outcomes are equal.
fn same(virsh: &Path, args: &[&str], stdin: &str, dir: &Path) -> Outcome {
    let want = run(virsh, args, stdin, dir);
    let got = run(Path::new(CLIENT_MIN), args, stdin, dir);
    if want != got {
        let diff = |a: &str, b: &str| {
            let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
            let i = al.iter().zip(&bl).position(|(x, y)| x != y).unwrap_or(al.len().min(bl.len()));
            format!("first difference at line {}:\n  virsh:      {:?}\n  client-min: {:?}", i + 1, al.get(i), bl.get(i))
        };
        panic!(
            "client-min differs from virsh for {args:?}\nstdout: {}\nstderr: {}\nstatus: virsh {:?}, client-min {:?}\n\
             --- virsh stdout ---\n{}\n--- virsh stderr ---\n{}\n--- client-min stdout ---\n{}\n--- client-min stderr ---\n{}",
            diff(&want.stdout, &got.stdout),
            diff(&want.stderr, &got.stderr),
            want.status,
            got.status,
            want.stdout,
            want.stderr,
            got.stdout,
            got.stderr,
        );
    }
    got
}

fn setup() -> Option<(Libvirtd, PathBuf)> {
    let daemon = Libvirtd::start_or_skip()?;
    let virsh = require_peer("virsh")?;
    Some((daemon, virsh))
}

/// A fixed UUID keeps the calls of both runs byte for byte comparable.
const DOMAIN_XML: &str =
    "<domain type='test'>\n  <name>cm1</name>\n  <uuid>0b6e1a2c-5d4f-4e3a-9b8c-7d6e5f4a3b2c</uuid>\n  \
                          <memory>8192</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n";

/// The sequence of the issue: every command, then the error cases (an unknown domain,
/// starting a running domain, undefining a missing one).
const SEQUENCE: &[&str] = &[
    "list",
    "list --all",
    "dominfo test",
    "domstate --reason test",
    "domid test",
    "domname 1",
    "domuuid test",
    "dumpxml test",
    "define cm1.xml",
    "list --all",
    "start cm1",
    "domstate --reason cm1",
    "suspend cm1",
    "domstate --reason cm1",
    "resume cm1",
    "shutdown cm1",
    "domstate cm1",
    "start cm1",
    "destroy cm1",
    "undefine cm1",
    "autostart test",
    "dominfo test",
    "autostart --disable test",
    "version",
    "version --daemon",
    "hostname",
    "uri",
    "nodeinfo",
    "capabilities",
    "net-list --all",
    "net-info default",
    "net-dumpxml default",
    "pool-list --all",
    "pool-info default-pool",
    "vol-list default-pool",
    "dominfo nope",
    "start test",
    "undefine nope",
];

/// Commands that write state, or fail, in several ways: for `-r` and for the exit status
/// of a sequence whose last command succeeds.
const MORE: &[&str] = &[
    "list --name --all",
    "list --uuid",
    "list --id",
    "domid 6695eb01-f6a4-8304-79aa-97f2502e193f",
    "domname 6695eb01-f6a4-8304-79aa-97f2502e193f",
    "domid 42",
    "domstate --reason 1",
    "vol-create-as default-pool v1 10M",
    "vol-create-as default-pool v2 1G --allocation 512K --format qcow2",
    "vol-list default-pool --details",
    "vol-delete v1 --pool default-pool",
    "vol-delete v2",
    "vol-create-as default-pool v3 10x",
    "pool-list --details",
    "pool-info --bytes default-pool",
    "net-info nope",
    "pool-info nope",
    "define /nonexistent/file.xml",
    "create cm1.xml",
    "destroy cm1",
    "dumpxml --security-info test",
    "suspend test",
    "resume test",
    "list",
];

fn check_sequences(virsh: &Path, uri: &str, dir: &Path, extra: &[&str]) {
    std::fs::write(dir.join("cm1.xml"), DOMAIN_XML).expect("write the domain XML");
    for (cmds, want_status) in [(SEQUENCE, 1), (MORE, 0)] {
        let script = cmds.join("; ");
        let mut args = vec!["-c", uri];
        args.extend_from_slice(extra);
        args.push(&script);
        let out = same(virsh, &args, "", dir);
        if extra.is_empty() {
            assert_eq!(out.status, Some(want_status), "exit status of {script:?}");
        }
    }
}

#[test]
fn tcp_sequences_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-tcp");
    std::fs::create_dir_all(&dir).unwrap();
    check_sequences(&virsh, &daemon.tcp_uri(), &dir, &[]);
}

#[test]
fn unix_sequences_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-unix");
    std::fs::create_dir_all(&dir).unwrap();
    check_sequences(&virsh, &daemon.unix_uri(), &dir, &[]);
}

#[test]
fn read_only_sequences_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-ro");
    std::fs::create_dir_all(&dir).unwrap();
    check_sequences(&virsh, &daemon.tcp_uri(), &dir, &["-r"]);
    check_sequences(&virsh, &daemon.unix_uri(), &dir, &["-q", "-r"]);
}

#[test]
fn argv_forms_quiet_and_shell_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-argv");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cm1.xml"), DOMAIN_XML).unwrap();
    let uri = daemon.tcp_uri();
    // One command split by the shell, with options before, after and as --opt=value.
    for args in [
        &["dominfo", "test"][..],
        &["domstate", "test", "--reason"],
        &["list", "--all", "--name"],
        &["vol-list", "--pool=default-pool"],
        &["dominfo", "nope"],
        &["list", "--bogus"],
        &["dominfo"],
        &["nosuchcommand"],
        &["list", "extra"],
    ] {
        let mut a = vec!["-c", uri.as_str()];
        a.extend_from_slice(args);
        same(&virsh, &a, "", &dir);
    }
    // Quiet mode drops table headers and the blank line after each command.
    same(&virsh, &["-q", "-c", &uri, "list --all; define cm1.xml; list --all; domstate cm1; undefine cm1"], "", &dir);
    // Parse errors stop everything before anything runs.
    same(&virsh, &["-c", &uri, "list; domstate"], "", &dir);
    same(&virsh, &["-c", &uri, "list \"unterminated"], "", &dir);
    // Top-level option errors.
    for args in [&["--bogus"][..], &["-z"], &["-c"], &["-k", "x", "list"], &["-k", "-1", "list"]] {
        same(&virsh, args, "", &dir);
    }
    // Connection failures.
    same(&virsh, &["-c", "test+tcp://127.0.0.1:1/default", "list"], "", &dir);
    same(&virsh, &["-c", "test+unix:///default?socket=/nonexistent/sock", "list"], "", &dir);
    // The shell, read from a pipe, read-write and read-only.
    let input = "list\ndomstate test\nnosuchcommand\nlist; domstate\ndefine cm1.xml\nlist --all\nquit\nlist\n";
    same(&virsh, &["-c", &uri], input, &dir);
    same(&virsh, &["-r", "-c", &uri], input, &dir);
    same(&virsh, &["-q", "-c", &uri], "list\n", &dir);
}

/// Reads one length-prefixed frame; `None` at the end of the stream.
fn read_frame(r: &mut impl std::io::Read) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    let n = u32::from_be_bytes(len) as usize;
    let mut frame = vec![0u8; n.max(4)];
    frame[..4].copy_from_slice(&len);
    r.read_exact(&mut frame[4..]).ok()?;
    Some(frame)
}

/// A TCP proxy in front of the daemon that records every message the client sends, with its
/// serial zeroed (keepalive messages are left out: their timing is not the command's).
/// Calls of the `blocked` remote procedures never reach the daemon: the proxy answers them
/// as an old libvirtd would, "unknown procedure", which makes the client fall back.
fn record_calls(
    upstream: std::net::SocketAddr,
    blocked: &'static [u32],
) -> (u16, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().expect("proxy address").port();
    let handle = std::thread::spawn(move || {
        let (client, _) = listener.accept().expect("accept");
        let server = TcpStream::connect(upstream).expect("connect upstream");
        let to_client = Arc::new(Mutex::new(client.try_clone().unwrap()));
        let (mut from_server, mut to_server, mut from_client) = (server.try_clone().unwrap(), server, client);
        let back = {
            let to_client = to_client.clone();
            std::thread::spawn(move || {
                while let Some(frame) = read_frame(&mut from_server) {
                    if to_client.lock().unwrap().write_all(&frame).is_err() {
                        break;
                    }
                }
                let _ = to_client.lock().unwrap().shutdown(std::net::Shutdown::Both);
            })
        };
        let mut frames = Vec::new();
        while let Some(frame) = read_frame(&mut from_client) {
            let word = |i: usize| u32::from_be_bytes(frame[i..i + 4].try_into().unwrap());
            let is_call = frame.len() >= 28 && word(4) == 0x2000_8086 && word(16) == 0;
            if is_call && blocked.contains(&word(12)) {
                let proc_ = i32::try_from(word(12)).unwrap();
                let body = proto_core::xdr::to_bytes(&proto_core::RemoteError::unknown_procedure(proc_)).unwrap();
                let mut reply = frame[..28].to_vec();
                reply[16..20].copy_from_slice(&1u32.to_be_bytes()); // REPLY
                reply[24..28].copy_from_slice(&1u32.to_be_bytes()); // ERROR
                reply.extend_from_slice(&body);
                let len = u32::try_from(reply.len()).unwrap();
                reply[..4].copy_from_slice(&len.to_be_bytes());
                if to_client.lock().unwrap().write_all(&reply).is_err() {
                    break;
                }
            } else if to_server.write_all(&frame).is_err() {
                break;
            }
            if frame.len() >= 24 && word(4) != 0x6b65_6570 {
                let mut f = frame.clone();
                f[20..24].fill(0);
                frames.push(f);
            }
        }
        let _ = to_server.shutdown(std::net::Shutdown::Write);
        let _ = back.join();
        frames
    });
    (port, handle)
}

/// Runs `script` through a recording proxy with virsh, then with client-min: same output,
/// same status, same calls. Returns how many calls were made.
fn same_calls(daemon: &Libvirtd, virsh: &Path, script: &str, blocked: &'static [u32], dir: &Path) -> usize {
    let mut calls = Vec::new();
    let mut outcomes = Vec::new();
    for program in [virsh, Path::new(CLIENT_MIN)] {
        let (port, recorder) = record_calls(daemon.tcp_addr(), blocked);
        let uri = format!("test+tcp://127.0.0.1:{port}/default");
        let mut out = run(program, &["-c", &uri, script], "", dir);
        // Each run has its own proxy: `uri` shows its port.
        out.stdout = out.stdout.replace(&uri, "test+tcp://127.0.0.1:PROXY/default");
        outcomes.push(out);
        calls.push(recorder.join().expect("the proxy"));
    }
    assert_eq!(outcomes[0], outcomes[1], "client-min's output differs from virsh's for {script:?}");
    let (want, got) = (&calls[0], &calls[1]);
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        let proc_of = |f: &[u8]| u32::from_be_bytes(f[12..16].try_into().unwrap());
        assert_eq!(w, g, "call {i}: virsh sent procedure {}, client-min procedure {}", proc_of(w), proc_of(g));
    }
    assert_eq!(want.len(), got.len(), "number of calls");
    want.len()
}

/// Beyond the output: the calls client-min makes, in order and byte for byte (serials aside),
/// are virsh's (`protocol-facts.md` §7–8), so daemon-min serves both alike.
#[test]
fn rpc_calls_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-rpc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cm1.xml"), DOMAIN_XML).unwrap();
    let script = [SEQUENCE, MORE].concat().join("; ");
    let n = same_calls(&daemon, &virsh, &script, &[], &dir);
    assert!(n > 100, "virsh made only {n} calls");
}

/// Against a server that lacks the newer procedures, client-min falls back as virsh does
/// (`protocol-facts.md` §7.3): the listing calls of old libvirt for domains (273), networks
/// (283) and pools (281), `DOMAIN_GET_INFO` for the state (212), `DOMAIN_UNDEFINE` (231),
/// and no security lines in `dominfo` (122).
#[test]
fn fallbacks_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-fallback");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cm1.xml"), DOMAIN_XML).unwrap();
    let script = "list; list --all; define cm1.xml; list --all; list --inactive --name; domstate --reason test; \
                  dominfo test; net-list --all; net-list; pool-list --all; pool-list --details; undefine cm1; \
                  list --all --persistent";
    let n = same_calls(&daemon, &virsh, script, &[273, 212, 283, 281, 231, 122], &dir);
    assert!(n > 40, "virsh made only {n} calls");
}

/// Volume streams on a real storage pool (a directory pool of the session daemon's qemu
/// driver): client-min's vol-upload and vol-download print what virsh prints, and the bytes
/// arrive, plain and `--sparse`; each side reads back what the other wrote.
#[test]
fn volume_streams_match_virsh() {
    use std::os::unix::fs::MetadataExt;
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-vol");
    let pool_dir = daemon.dir().join("pool");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&pool_dir).unwrap();
    // The daemon may run as another user: the pool's directory is its.
    let owner = std::fs::metadata(daemon.dir().join("home")).unwrap();
    std::os::unix::fs::chown(&pool_dir, Some(owner.uid()), Some(owner.gid())).unwrap();
    let uri = format!("qemu+tcp://127.0.0.1:{}/session", daemon.port());
    let target = pool_dir.display().to_string();
    let made = Command::new(&virsh).args(["-c", &uri, "pool-create-as", "cmpool", "dir", "--target", &target]).output();
    assert!(made.as_ref().is_ok_and(|o| o.status.success()), "virsh pool-create-as: {made:?}");

    // 3 MiB of data with a 2 MiB run of zeros inside, and a file that is mostly a hole.
    let mut data: Vec<u8> = (0..3u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    data[512 << 10..(2560 << 10)].fill(0);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let sparse = std::fs::File::create(dir.join("sparse.bin")).unwrap();
    sparse.set_len(8 << 20).unwrap();
    drop(sparse);
    let mut tail = std::fs::OpenOptions::new().write(true).open(dir.join("sparse.bin")).unwrap();
    std::io::Seek::seek(&mut tail, std::io::SeekFrom::Start(6 << 20)).unwrap();
    tail.write_all(&data[..4096]).unwrap();
    drop(tail);

    for (file, opt) in [("data.bin", ""), ("sparse.bin", " --sparse"), ("data.bin", " --sparse")] {
        let script = format!(
            "vol-create-as cmpool v1 1M; vol-upload v1 {file} --pool cmpool{opt}; \
             vol-download v1 back.bin --pool cmpool{opt}; vol-list cmpool; vol-delete v1 --pool cmpool"
        );
        for program in [virsh.as_path(), Path::new(CLIENT_MIN)] {
            let _ = std::fs::remove_file(dir.join("back.bin"));
            let out = run(program, &["-c", &uri, &script], "", &dir);
            assert_eq!(out.stderr, "", "{} {script:?}", program.display());
            assert_eq!(out.status, Some(0));
            let back = std::fs::read(dir.join("back.bin")).unwrap();
            assert!(
                back == std::fs::read(dir.join(file)).unwrap(),
                "{} {script:?}: the bytes differ",
                program.display()
            );
        }
        same(&virsh, &["-c", &uri, &script], "", &dir);
    }
    // Cross-check: what client-min uploads, virsh downloads, and the other way round.
    let up = |p: &Path| run(p, &["-c", &uri, "vol-create-as cmpool v2 1M; vol-upload v2 data.bin cmpool"], "", &dir);
    let down = |p: &Path| run(p, &["-c", &uri, "vol-download v2 x.bin cmpool; vol-delete v2 cmpool"], "", &dir);
    for (a, b) in [(Path::new(CLIENT_MIN), virsh.as_path()), (virsh.as_path(), Path::new(CLIENT_MIN))] {
        assert_eq!(up(a).status, Some(0));
        assert_eq!(down(b).status, Some(0));
        assert!(
            std::fs::read(dir.join("x.bin")).unwrap() == data,
            "uploaded by {}, downloaded by {}",
            a.display(),
            b.display()
        );
    }
    // The stream example (built by `cargo test` next to this test's binary).
    let example = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("examples/volume_roundtrip")))
        .filter(|p| p.exists());
    if let Some(example) = example {
        assert_eq!(run(Path::new(CLIENT_MIN), &["-c", &uri, "vol-create-as cmpool v3 1M"], "", &dir).status, Some(0));
        let out = Command::new(example).args([&uri, "cmpool", "v3"]).arg(dir.join("data.bin")).output().unwrap();
        assert!(out.status.success(), "volume_roundtrip: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).ends_with("round trip ok\n"));
    }
    let _ = Command::new(&virsh).args(["-c", &uri, "pool-destroy", "cmpool"]).output();
}

/// Against daemon-min instead of libvirtd: virsh and client-min still agree (the binary is
/// found next to this test's, where `cargo test --workspace` builds it).
#[test]
fn daemon_min_sequences_match_virsh() {
    let Some(virsh) = require_peer("virsh") else { return };
    let binary = spec_tests::differential::daemon_min_binary();
    let dir = std::env::temp_dir().join(format!("client-min-dm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cm1.xml"), DOMAIN_XML).unwrap();
    // daemon-min keeps its state between connections, unlike libvirtd's test driver: each run
    // gets a fresh daemon, and the port it shows (`uri`) is masked.
    for extra in [&[][..], &["-r"]] {
        for cmds in [SEQUENCE, MORE] {
            let script = cmds.join("; ");
            let mut outcomes = Vec::new();
            for program in [virsh.as_path(), Path::new(CLIENT_MIN)] {
                let daemon = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
                let uri = daemon.tcp_uri();
                let mut args = vec!["-c", uri.as_str()];
                args.extend_from_slice(extra);
                args.push(&script);
                let mut out = run(program, &args, "", &dir);
                out.stdout = out.stdout.replace(&uri, "URI");
                outcomes.push(out);
            }
            assert_eq!(outcomes[0], outcomes[1], "against daemon-min, {extra:?} {script:?}");
            assert!(outcomes[0].stdout.contains(" 1    test   running\n"), "{:?}", outcomes[0]);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `event`: virsh and client-min listen at the same time on the same daemon (their open
/// connections keep the test driver's state shared), a third client makes lifecycle events,
/// and both print the same lines; then the argument errors.
#[test]
fn events_match_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-event");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cm1.xml"), DOMAIN_XML).unwrap();
    let uri = daemon.tcp_uri();
    let listen = |program: &Path| {
        Command::new(program)
            .args(["-c", &uri, "event --all --loop --timeout 9; event --event lifecycle --domain test --timeout 1"])
            .env("LC_ALL", "C")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a listener")
    };
    let (a, b) = (listen(&virsh), listen(Path::new(CLIENT_MIN)));
    // Both must be connected and registered before the events happen (within their 9 s wait).
    for (who, child) in [("virsh", &a), ("client-min", &b)] {
        let connected = spec_tests::process::wait_connected(
            child.id(),
            daemon.port(),
            std::time::Duration::from_secs(5),
            std::time::Duration::ZERO,
        );
        assert!(connected, "{who} event did not connect to {uri}");
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let trigger = run(
        &virsh,
        &["-c", &uri, "suspend test; resume test; define cm1.xml; start cm1; destroy cm1; undefine cm1"],
        "",
        &dir,
    );
    assert_eq!(trigger.status, Some(0), "{trigger:?}");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let text = |o: &[u8]| String::from_utf8_lossy(o).into_owned();
    assert_eq!(text(&a.stdout), text(&b.stdout), "event output");
    assert_eq!(text(&a.stderr), text(&b.stderr), "event errors");
    assert_eq!(a.status.code(), b.status.code(), "event status");
    assert!(
        text(&a.stdout).starts_with("event 'lifecycle' for domain 'test': Suspended Paused\n"),
        "{}",
        text(&a.stdout)
    );
    assert!(text(&a.stdout).contains("events received: 6\n"), "{}", text(&a.stdout));
    for script in [
        "event --list",
        "event",
        "event --event bogus",
        "event --all --event lifecycle",
        "event --list --all",
        "event --all --timeout 0",
        "event --domain nope --all",
        "event --event reboot --timeout 1 --timestamp",
    ] {
        same(&virsh, &["-c", &uri, script], "", &dir);
    }
}

/// The daemon goes away under an open shell: the loss is reported ("Disconnected from … due
/// to I/O error" over TCP, "end of file" over a UNIX socket) and the next commands try to
/// reconnect, as virsh's close callback and connection handler do.
#[test]
fn lost_connection_matches_virsh() {
    use std::time::Duration;
    let Some(virsh) = require_peer("virsh") else { return };
    for unix in [false, true] {
        let mut outcomes = Vec::new();
        for program in [virsh.as_path(), Path::new(CLIENT_MIN)] {
            let Some(daemon) = Libvirtd::start_or_skip() else { return };
            let uri = if unix { daemon.unix_uri() } else { daemon.tcp_uri() };
            let masks = [
                (uri.clone(), "URI".to_owned()),
                (daemon.unix_socket_path().display().to_string(), "SOCKET".to_owned()),
                (format!("127.0.0.1:{}", daemon.port()), "127.0.0.1:PORT".to_owned()),
            ];
            let mut child = Command::new(program)
                .arg0("virsh")
                .args(["-c", &uri])
                .env("LC_ALL", "C")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the shell");
            let mut stdin = child.stdin.take().expect("stdin");
            let stdout = spec_tests::process::Lines::read(child.stdout.take().expect("stdout"));
            stdin.write_all(b"list\n").unwrap();
            // Connected and answered (a loaded machine may take seconds to start the shell).
            let listed = stdout.wait_for(Duration::from_secs(20), |l| l.contains("test") && l.contains("running"));
            assert!(listed, "{}: {}", program.display(), stdout.text());
            drop(daemon);
            // Time for the shell to see the connection go (its event loop reports it).
            std::thread::sleep(Duration::from_secs(1));
            stdin.write_all(b"list\nhostname\n").unwrap();
            drop(stdin);
            let out = child.wait_with_output().unwrap();
            let mask = |b: &[u8]| {
                masks.iter().fold(String::from_utf8_lossy(b).into_owned(), |t, (from, to)| t.replace(from, to))
            };
            outcomes.push((mask(stdout.finish().as_bytes()), mask(&out.stderr), out.status.code()));
        }
        assert_eq!(outcomes[0], outcomes[1], "unix socket: {unix}");
        let why = if unix { "end of file" } else { "I/O error" };
        assert!(
            outcomes[0].1.starts_with(&format!("error: Disconnected from URI due to {why}\n")),
            "{:?}",
            outcomes[0]
        );
    }
}

/// `test:///default` without a daemon: virsh opens libvirt's test driver in-process,
/// client-min daemon-min's, and both answer the same.
#[test]
fn local_test_driver_matches_virsh() {
    let Some(virsh) = require_peer("virsh") else { return };
    let dir = std::env::temp_dir().join(format!("client-min-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    check_sequences(&virsh, "test:///default", &dir, &[]);
    check_sequences(&virsh, "test:///default", &dir, &["-r"]);
    same(&virsh, &["-c", "test:///nonexistent.xml", "list"], "", &dir);
    same(&virsh, &["-c", "test:///default"], "list\ndomstate test\n", &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn local_test_driver_without_a_daemon() {
    let out = Command::new(CLIENT_MIN)
        .args(["-c", "test:///default", "list", "--all"])
        .env_remove("LIBVIRT_DEFAULT_URI")
        .output()
        .expect("run client-min");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        " Id   Name   State\n----------------------\n 1    test   running\n\n"
    );
    assert!(out.status.success());
}

/// `screenshot` (a download stream through the `virt` API's `Stream`): the same output and
/// status, and the image arrives; read-only it fails the same way.
#[test]
fn screenshot_matches_virsh() {
    let Some((daemon, virsh)) = setup() else { return };
    let dir = daemon.dir().join("work-shot");
    std::fs::create_dir_all(&dir).unwrap();
    let uri = daemon.tcp_uri();
    let out = same(&virsh, &["-c", &uri, "screenshot test --file shot.png"], "", &dir);
    assert_eq!(out.status, Some(0), "{out:?}");
    let png = std::fs::read(dir.join("shot.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{} bytes", png.len());
    let ro = same(&virsh, &["-c", &uri, "-r", "screenshot test --file ro.png"], "", &dir);
    assert_eq!(ro.status, Some(1), "{ro:?}");
}
