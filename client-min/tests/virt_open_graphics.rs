//! `Domain::open_graphics`/`open_graphics_fd` against libvirt's client (libvirt.so through
//! python3-libvirt, `openGraphics`/`openGraphicsFD`), over a unix socket and over TCP, against
//! Debian's libvirtd 9.0 and daemon-min: the same results and errors, step by step. Neither
//! test driver implements the procedures, so on unix both end with its "not supported"
//! error; libvirtd reads the passed descriptor before it answers (a call announcing one and
//! not followed by it would leave libvirtd waiting, and a carrier byte out of place would
//! break the framing), and the connection is still working afterwards. Over TCP the
//! descriptor cannot be passed: libvirt's error, and the connection is closed, as libvirt's.
//! The blocking API and the async twin make the same steps.
//!
//! Receiving a descriptor (`VIR_NET_REPLY_WITH_FDS`), which neither test driver does, is shown
//! against a small fake daemon in this file that answers the open sequence and then
//! `DOMAIN_OPEN_GRAPHICS_FD` as a scenario says (one descriptor, two, none, a carrier byte
//! without its descriptor, two descriptors with one carrier, more than libvirt's 32, and one
//! over TCP): libvirt.so, the blocking API and the async twin get the same results and
//! errors, the descriptor works (it is a pipe the daemon wrote to), and none of the daemon's
//! descriptors stays open in this process, while the connection is open and after.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use adapter_io::transport::Stream;
use proto_core::programs::remote as r;
use proto_core::{ServerConfig, ServerConnection, ServerEvent};
use spec_tests::libvirtd::{require_python_libvirt, Libvirtd};
use spec_tests::process::eventually;
use virt::connect::Connect;
use virt::error::Error;

/// The tests run one at a time: one counts the process's descriptors.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The lines `tests/SCRIPT` (a Python script on libvirt.so) prints for `uris`.
fn python(python: &str, script: &str, uris: &[&str]) -> Vec<String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script);
    spec_tests::libvirtd::run_python_script(python, &script, uris).lines().map(str::to_string).collect()
}

/// A step's line, as the Python script prints it.
fn line(label: &str, res: Result<String, Error>, pipe: i32) -> String {
    match res {
        Ok(v) => format!("{label} ok {v}"),
        Err(e) => {
            let msg = e.message().replace(&format!("fd {pipe} "), "fd N ");
            format!("{label} err {} {} {msg}", e.code().to_raw(), e.domain().to_raw())
        }
    }
}

fn none(r: Result<(), Error>) -> Result<String, Error> {
    r.map(|()| "None".to_string())
}

fn bit(r: Result<bool, Error>) -> Result<String, Error> {
    r.map(|b| u8::from(b).to_string())
}

/// The script's steps through this crate's blocking API.
fn ours(uris: &[&str]) -> Vec<String> {
    let (a, _b) = UnixStream::pair().unwrap();
    let (r, _w) = std::io::pipe().unwrap();
    let (a, r) = (a.as_raw_fd(), r.as_raw_fd());
    let out = |label: &str, res| line(label, res, r);
    let mut lines = Vec::new();
    for uri in uris {
        let ro = Connect::open_read_only(Some(uri)).unwrap();
        let rodom = ro.lookup_domain_by_name("test").unwrap();
        lines.push(out("read-only", none(rodom.open_graphics(0, a, 0))));
        lines.push(out("read-only-fd", rodom.open_graphics_fd(0, 0).map(|fd| fd.to_string())));
        let c = Connect::open(Some(uri)).unwrap();
        let dom = c.lookup_domain_by_name("test").unwrap();
        lines.push(out("negative", none(dom.open_graphics(0, -1, 0))));
        lines.push(out("closed", none(dom.open_graphics(0, 999, 0))));
        lines.push(out("not-a-socket", none(dom.open_graphics(0, r, 0))));
        lines.push(out("open-graphics", none(dom.open_graphics(0, a, 0))));
        lines.push(out("after", bit(dom.is_active())));
        lines.push(out("open-graphics-fd", dom.open_graphics_fd(0, 0).map(|fd| fd.to_string())));
        lines.push(out("after-fd", bit(dom.is_active())));
    }
    lines
}

/// The same steps through the async twin.
fn ours_async(uris: &[&str]) -> Vec<String> {
    use virt::asynchronous::connect::Connect;
    let (a, _b) = UnixStream::pair().unwrap();
    let (r, _w) = std::io::pipe().unwrap();
    let (a, r) = (a.as_raw_fd(), r.as_raw_fd());
    let out = |label: &str, res| line(label, res, r);
    smol::block_on(async {
        let mut lines = Vec::new();
        for uri in uris {
            let ro = Connect::open_read_only(Some(uri)).await.unwrap();
            let rodom = ro.lookup_domain_by_name("test").await.unwrap();
            lines.push(out("read-only", none(rodom.open_graphics(0, a, 0).await)));
            lines.push(out("read-only-fd", rodom.open_graphics_fd(0, 0).await.map(|fd| fd.to_string())));
            let c = Connect::open(Some(uri)).await.unwrap();
            let dom = c.lookup_domain_by_name("test").await.unwrap();
            lines.push(out("negative", none(dom.open_graphics(0, -1, 0).await)));
            lines.push(out("closed", none(dom.open_graphics(0, 999, 0).await)));
            lines.push(out("not-a-socket", none(dom.open_graphics(0, r, 0).await)));
            lines.push(out("open-graphics", none(dom.open_graphics(0, a, 0).await)));
            lines.push(out("after", bit(dom.is_active().await)));
            lines.push(out("open-graphics-fd", dom.open_graphics_fd(0, 0).await.map(|fd| fd.to_string())));
            lines.push(out("after-fd", bit(dom.is_active().await)));
        }
        lines
    })
}

#[test]
fn open_graphics_as_libvirt() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(py) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uris = [daemon.unix_uri(), daemon.tcp_uri()];
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let theirs = python(py, "virt_open_graphics.py", &uris);
    eprintln!("libvirt.so, libvirtd:\n{}", theirs.join("\n"));
    // The descriptor went out and the connection goes on (unix); TCP refuses and closes.
    assert!(theirs.contains(&"after ok 1".to_string()), "{theirs:?}");
    assert!(theirs.contains(&"closed err 38 20 Unable to access file descriptor 999: Bad file descriptor".to_string()));
    assert!(theirs.iter().any(|l| l.ends_with("Sending file descriptors is not supported on this socket")));
    assert_eq!(ours(&uris), theirs, "libvirtd");
    assert_eq!(ours_async(&uris), theirs, "libvirtd, async");
    let binary = spec_tests::differential::daemon_min_binary();
    let dm = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uris = [dm.unix_uri(), dm.tcp_uri()];
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let theirs = python(py, "virt_open_graphics.py", &uris);
    assert_eq!(ours(&uris), theirs, "daemon-min");
    assert_eq!(ours_async(&uris), theirs, "daemon-min, async");
}

/// What the fake daemon passes after `DOMAIN_OPEN_GRAPHICS_FD`'s reply, per scenario (the
/// name the client opens, `test:///NAME`): how many descriptors the reply announces and the
/// carriers that follow, with how many descriptors each (the ends of a pipe the daemon wrote
/// to). Over TCP no descriptor can go.
fn scenario(name: &str, unix: bool) -> Option<(u32, Vec<usize>)> {
    let n = usize::from(unix);
    match name {
        "one" => Some((1, vec![n])),
        "two" => Some((2, vec![n, n])),
        "bare" => Some((1, vec![0])),
        // One announced, two with its carrier: libvirt fails (its control buffer holds one).
        "stray" => Some((1, vec![2 * n])),
        "many" => Some((33, vec![])),
        _ => None,
    }
}

/// The pipe the fake daemon made last (`pipe:[inode]`).
static PIPE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Whether a descriptor of this process still refers to the fake daemon's last pipe, once the
/// daemon dropped its own (it does right after passing them).
fn pipe_held() -> bool {
    let pipe = PIPE.lock().unwrap().clone();
    !eventually(Duration::from_secs(2), || !open_fds().iter().any(|l| l.contains(&pipe)))
}

/// Answers a client (the daemon's side of one connection) as a daemon would, enough for
/// `lookupByName` and `openGraphicsFD`.
fn serve(mut peer: Stream) {
    let mut conn = ServerConnection::new(ServerConfig::default(), Instant::now());
    let mut name = String::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(ev) = conn.poll_event() {
            let ServerEvent::Call { id, header, args, .. } = ev else { continue };
            let _ = match header.proc_ {
                r::REMOTE_PROC_AUTH_LIST => conn.reply(id, &r::RemoteAuthListRet { types: vec![r::RemoteAuthType(0)] }),
                r::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE => {
                    let a: r::RemoteConnectSupportsFeatureArgs = proto_core::xdr::from_bytes(args).unwrap();
                    conn.reply(id, &r::RemoteConnectSupportsFeatureRet { supported: i32::from(a.feature == 8) })
                }
                r::REMOTE_PROC_CONNECT_OPEN => {
                    let a: r::RemoteConnectOpenArgs = proto_core::xdr::from_bytes(args).unwrap();
                    name = a.name.map(|n| n.to_string()).unwrap_or_default().replace("test:///", "");
                    conn.reply(id, &())
                }
                r::REMOTE_PROC_CONNECT_CLOSE => conn.reply(id, &()),
                r::REMOTE_PROC_DOMAIN_IS_ACTIVE => conn.reply(id, &r::RemoteDomainIsActiveRet { active: 1 }),
                r::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME => {
                    let dom = r::RemoteNonnullDomain { name: "test".into(), uuid: [7; 16], id: 1 };
                    conn.reply(id, &r::RemoteDomainLookupByNameRet { dom })
                }
                r::REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD => {
                    let unix = matches!(peer, Stream::Unix(_));
                    let Some((n, carriers)) = scenario(&name, unix) else {
                        let _ = conn.reply(id, &());
                        continue;
                    };
                    // Everything before, the reply, then its carriers: nothing in between.
                    conn.reply_with_fds(id, n, &()).unwrap();
                    while let Some(b) = conn.poll_transmit() {
                        peer.write_all(&b).unwrap();
                    }
                    let (pr, mut pw) = std::io::pipe().unwrap();
                    pw.write_all(b"graphics").unwrap();
                    let ends = [OwnedFd::from(pr), OwnedFd::from(pw)];
                    let link = std::fs::read_link(format!("/proc/self/fd/{}", ends[0].as_raw_fd())).unwrap();
                    *PIPE.lock().unwrap() = link.display().to_string();
                    let mut next = ends.iter().map(AsRawFd::as_raw_fd);
                    for fds in carriers {
                        let fds: Vec<_> = next.by_ref().take(fds).collect();
                        match &peer {
                            Stream::Unix(s) if !fds.is_empty() => adapter_io::fds::send_fds(s, &fds).unwrap(),
                            _ => peer.write_all(&[0]).unwrap(),
                        }
                    }
                    Ok(())
                }
                _ => conn.reply_error(id, &proto_core::RemoteError::rpc("not in the fake daemon")),
            };
        }
        while let Some(b) = conn.poll_transmit() {
            if peer.write_all(&b).is_err() {
                return;
            }
        }
        match peer.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => conn.handle_input(Instant::now(), &buf[..n]),
        }
        if conn.is_closed() {
            return;
        }
    }
}

/// A fake daemon on a unix socket and on TCP (loopback), serving each connection in a thread;
/// `done` waits for the connections served so far to end.
struct FakeDaemon {
    dir: std::path::PathBuf,
    port: u16,
    served: std::sync::Arc<std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

impl FakeDaemon {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("virt-fake-daemon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let unix = UnixListener::bind(dir.join("sock")).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        let served = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = served.clone();
        std::thread::spawn(move || {
            for c in unix.incoming().map_while(Result::ok) {
                s.lock().unwrap().push(std::thread::spawn(move || serve(Stream::Unix(c))));
            }
        });
        let s = served.clone();
        std::thread::spawn(move || {
            for c in tcp.incoming().map_while(Result::ok) {
                s.lock().unwrap().push(std::thread::spawn(move || serve(Stream::Tcp(c))));
            }
        });
        Self { dir, port, served }
    }

    fn unix_uri(&self, name: &str) -> String {
        format!("test+unix:///{name}?socket={}", self.dir.join("sock").display())
    }

    fn tcp_uri(&self, name: &str) -> String {
        format!("test+tcp://127.0.0.1:{}/{name}", self.port)
    }

    fn done(&self) {
        let served: Vec<_> = self.served.lock().unwrap().drain(..).collect();
        for t in served {
            t.join().unwrap();
        }
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a received descriptor reads (the fake daemon wrote to the pipe), then closed.
fn read_fd(fd: u32) -> String {
    let fd = i32::try_from(fd).unwrap();
    let mut buf = [0u8; 64];
    let n = nix::unistd::read(fd, &mut buf).unwrap();
    nix::unistd::close(fd).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn open_fd_steps(got: Result<u32, Error>, alive: Result<bool, Error>, after: Result<bool, Error>) -> [String; 3] {
    [line("open-graphics-fd", got.map(read_fd), -1), line("alive", bit(alive), -1), line("after", bit(after), -1)]
}

fn open_fd_ours(uris: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for uri in uris {
        let c = Connect::open(Some(uri)).unwrap();
        let dom = c.lookup_domain_by_name("test").unwrap();
        let got = dom.open_graphics_fd(0, 0);
        lines.extend(open_fd_steps(got, c.is_alive(), dom.is_active()));
        assert!(!pipe_held(), "{uri}: a descriptor the daemon passed is still open");
    }
    lines
}

fn open_fd_ours_async(uris: &[String]) -> Vec<String> {
    use virt::asynchronous::connect::Connect;
    smol::block_on(async {
        let mut lines = Vec::new();
        for uri in uris {
            let c = Connect::open(Some(uri)).await.unwrap();
            let dom = c.lookup_domain_by_name("test").await.unwrap();
            let got = dom.open_graphics_fd(0, 0).await;
            lines.extend(open_fd_steps(got, c.is_alive(), dom.is_active().await));
            assert!(!pipe_held(), "{uri}: a descriptor the daemon passed is still open (async)");
        }
        lines
    })
}

/// The descriptors this process has open, with what they are (but the listing's own).
fn open_fds() -> Vec<String> {
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().map_while(Result::ok);
    let fds = fds.map(|e| format!("{:?} {:?}", e.file_name(), std::fs::read_link(e.path()).ok()));
    let mut v: Vec<String> = fds.filter(|l| !l.contains("/proc/")).collect();
    v.sort();
    v
}

#[test]
fn open_graphics_fd_receives_as_libvirt() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let fake = FakeDaemon::start();
    let mut uris: Vec<String> =
        ["one", "two", "none", "bare", "stray", "many"].iter().map(|n| fake.unix_uri(n)).collect();
    uris.push(fake.tcp_uri("one"));
    // async-io's reactor (its epoll and notifier descriptors) lives as long as the process.
    smol::block_on(smol::Timer::after(Duration::from_millis(1)));
    let before = open_fds();
    let blocking = open_fd_ours(&uris);
    let asynchronous = open_fd_ours_async(&uris);
    fake.done();
    eprintln!("this crate:\n{}", blocking.join("\n"));
    assert_eq!(blocking[0], "open-graphics-fd ok graphics", "the descriptor works");
    assert_eq!(asynchronous, blocking, "async and blocking");
    // Every descriptor received is the caller's or closed, also once the connections are gone
    // (they end asynchronously).
    eventually(Duration::from_secs(5), || open_fds() == before);
    assert_eq!(open_fds(), before, "descriptors left open");
    let Some(py) = require_python_libvirt() else { return };
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let theirs = python(py, "virt_open_graphics_fd.py", &uris);
    fake.done();
    eprintln!("libvirt.so:\n{}", theirs.join("\n"));
    assert_eq!(blocking, theirs, "libvirt.so");
}

/// adapter-smol passes a call's descriptor right after the bytes queued before it, while other
/// tasks keep queueing calls: libvirtd reads each descriptor where it belongs (a carrier byte
/// out of place would break its framing and the connection) and answers every call.
#[test]
fn async_open_graphics_among_other_calls() {
    use virt::asynchronous::connect::Connect;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.unix_uri();
    let (a, _b) = UnixStream::pair().unwrap();
    smol::block_on(async {
        let c = Connect::open(Some(&uri)).await.unwrap();
        let dom = c.lookup_domain_by_name("test").await.unwrap();
        let busy: Vec<_> = (0..8)
            .map(|_| {
                let dom = dom.clone();
                smol::spawn(async move {
                    for _ in 0..50 {
                        assert!(dom.is_active().await.unwrap());
                    }
                })
            })
            .collect();
        for _ in 0..20 {
            let e = dom.open_graphics(0, a.as_raw_fd(), 0).await.unwrap_err();
            assert!(e.message().contains("not supported by the connection driver"), "{e}");
        }
        for t in busy {
            t.await;
        }
        assert!(c.is_alive().unwrap());
    });
}
