//! A real `libvirtd` for integration tests: session mode, test driver, loopback TCP and a UNIX
//! socket, in a fresh temporary directory, stopped when dropped.
//!
//! ```no_run
//! use spec_tests::libvirtd::Libvirtd;
//!
//! // Skips the test (or fails it under CI=true) when libvirtd is not installed.
//! let Some(daemon) = Libvirtd::start_or_skip() else { return };
//! println!("{} / {}", daemon.tcp_uri(), daemon.unix_socket_path().display());
//! ```
//!
//! When the tests run as root (as they do in CI), the daemon runs as the unprivileged user
//! [`DAEMON_USER`], created on first use together with the groups libvirtd insists on at start
//! (`libvirt-qemu`, `kvm`). As any other user it simply runs as that user. `.ci/install-peers`
//! installs the packages and creates the same users ahead of time.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proto_core::program::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM};
use proto_core::{FrameDecoder, MessageStatus, MessageType};

/// The unprivileged account the daemon runs as when the tests run as root.
pub const DAEMON_USER: &str = "lvtest";

/// How long [`Libvirtd::start`] waits for the daemon to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Directories searched for peer programs after `$PATH` (libvirtd lives in `/usr/sbin`).
const EXTRA_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin"];

/// Why the daemon could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A program the harness needs is not installed.
    NotInstalled(&'static str),
    /// Preparing the directory, the user or the configuration failed.
    Setup {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The daemon exited or did not answer in time.
    DidNotStart {
        /// What was observed.
        reason: String,
        /// The daemon's log (its standard error).
        log: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInstalled(name) => write!(f, "{name} is not installed (see .ci/install-peers)"),
            Self::Setup { what, source } => write!(f, "cannot {what}: {source}"),
            Self::DidNotStart { reason, log } => {
                write!(f, "libvirtd did not start: {reason}\n--- libvirtd log ---\n{log}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Setup { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn setup_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |source| Error::Setup { what, source }
}

/// Whether the environment says this is CI (`CI=true`, as GitHub Actions and most CI systems
/// set it; `1` and `yes` are accepted too).
#[must_use]
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// Finds an executable by name in `$PATH` and the usual system directories.
///
/// The environment variable `PEER_<NAME>` (the name in upper case, `-` as `_`, e.g.
/// `PEER_LIBVIRTD=/opt/libvirt/sbin/libvirtd`) overrides the search; when it names no
/// executable, the program counts as missing.
#[must_use]
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &PathBuf| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    let var = format!("PEER_{}", name.to_ascii_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p)).filter(executable);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(EXTRA_DIRS.iter().map(PathBuf::from)).map(|dir| dir.join(name)).find(executable)
}

/// Finds the peer program `name` (e.g. `"libvirtd"`, `"virsh"`) for a test that needs it.
///
/// When it is missing, the test must not pass silently: under CI (see [`is_ci`]) this panics,
/// so the test fails; elsewhere it prints a loud `SKIPPED` line on standard error and returns
/// `None`, and the test should return early.
///
/// # Panics
/// When the program is missing and `CI=true`.
#[must_use]
pub fn require_peer(name: &str) -> Option<PathBuf> {
    if let Some(p) = find_program(name) {
        return Some(p);
    }
    assert!(!is_ci(), "{name} is not installed, and CI=true forbids skipping: run .ci/install-peers");
    eprintln!();
    eprintln!("**************************************************************************");
    eprintln!("SKIPPED: {name} not installed (install it with .ci/install-peers)");
    eprintln!("**************************************************************************");
    None
}

/// Runs a python3-libvirt script with `args`; returns its standard output.
///
/// # Panics
/// When the script cannot be run or fails (the panic shows its output and standard error).
#[must_use]
pub fn run_python_script(python: &str, script: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Debian's interpreter, the one python3-libvirt is installed for.
pub const PYTHON: &str = "/usr/bin/python3";

/// [`PYTHON`] when it can `import libvirt`; like [`require_peer`], a missing module fails the
/// test under `CI=true` and skips it loudly elsewhere.
///
/// # Panics
/// When python3-libvirt is missing and `CI=true`.
#[must_use]
pub fn require_python_libvirt() -> Option<&'static str> {
    let ok = std::process::Command::new(PYTHON)
        .args(["-c", "import libvirt"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(PYTHON);
    }
    assert!(!is_ci(), "python3-libvirt is not installed for {PYTHON}, and CI=true forbids skipping");
    eprintln!();
    eprintln!("**************************************************************************");
    eprintln!("SKIPPED: python3-libvirt not installed for {PYTHON} (apt-get install python3-libvirt)");
    eprintln!("**************************************************************************");
    None
}

/// A running session-mode `libvirtd` with TCP on a free loopback port and a UNIX socket, in a
/// temporary directory of its own. Dropping it kills the daemon and removes the directory.
#[derive(Debug)]
pub struct Libvirtd {
    child: Child,
    dir: PathBuf,
    port: u16,
    socket: PathBuf,
}

impl Libvirtd {
    /// Starts a daemon with the default configuration and waits until it answers a keepalive
    /// PING on TCP and accepts connections on its UNIX socket.
    ///
    /// # Errors
    /// [`Error::NotInstalled`] when `libvirtd` (or, as root, `useradd`/`groupadd`) is missing;
    /// otherwise when the setup fails or the daemon does not come up.
    pub fn start() -> Result<Self, Error> {
        Self::start_with_config("")
    }

    /// As [`Libvirtd::start`], with extra `libvirtd.conf` lines appended (for example
    /// `"keepalive_interval = 1\nkeepalive_count = 2\n"` or `"max_client_requests = 2\n"`).
    /// A key set in `extra` replaces the harness's own line for it.
    ///
    /// # Errors
    /// As [`Libvirtd::start`].
    pub fn start_with_config(extra: &str) -> Result<Self, Error> {
        let libvirtd = find_program("libvirtd").ok_or(Error::NotInstalled("libvirtd"))?;
        let ids = daemon_ids()?;
        // The free port is found by binding port 0 and releasing it, so another process can
        // take it before libvirtd binds it; then libvirtd exits, and we try another port.
        let mut last = None;
        for _ in 0..5 {
            match Self::try_start(&libvirtd, ids, extra) {
                Ok(d) => return Ok(d),
                Err(e @ Error::DidNotStart { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// As [`Libvirtd::start`], also listening for TLS on a free loopback port with the server
    /// files of `pki` (`listen_tls = 1`, `tls_port`, `auth_tls = "none"`, `ca_file`,
    /// `cert_file`, `key_file`) and `extra` lines (e.g. `tls_no_verify_certificate = 1`).
    /// Returns the daemon and its TLS port. Plain TCP and the UNIX socket stay as in
    /// [`Libvirtd::start`].
    ///
    /// # Errors
    /// As [`Libvirtd::start`]; libvirtd refuses to start when its certificate fails its
    /// sanity checks, and the log says why.
    pub fn start_tls(pki: &crate::pki::ServerPki, extra: &str) -> Result<(Self, u16), Error> {
        let libvirtd = find_program("libvirtd").ok_or(Error::NotInstalled("libvirtd"))?;
        let ids = daemon_ids()?;
        let mut last = None;
        for _ in 0..5 {
            let tls_port = free_port()?;
            let conf = format!("listen_tls = 1\ntls_port = \"{tls_port}\"\nauth_tls = \"none\"\n{}{extra}", pki.conf());
            match Self::try_start(&libvirtd, ids, &conf) {
                Ok(d) => return Ok((d, tls_port)),
                Err(e @ Error::DidNotStart { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Starts a daemon, or reports why the test is skipped: `None` (with a loud message) when
    /// `libvirtd` is not installed outside CI.
    ///
    /// # Panics
    /// When `libvirtd` is missing under `CI=true`, or is installed but fails to start.
    #[must_use]
    pub fn start_or_skip() -> Option<Self> {
        require_peer("libvirtd")?;
        match Self::start() {
            Ok(d) => Some(d),
            Err(e) => panic!("{e}"),
        }
    }

    fn try_start(libvirtd: &Path, ids: Option<(u32, u32)>, extra: &str) -> Result<Self, Error> {
        let dir = fresh_dir()?;
        let mut guard = DirGuard(Some(dir.clone()));
        let sub = |name: &str| dir.join(name);
        for (name, mode) in [("home", 0o755), ("run", 0o700), ("config", 0o755), ("sock", 0o755)] {
            fs::DirBuilder::new().mode(mode).create(sub(name)).map_err(setup_err(format!("create {name}")))?;
            if let Some((uid, gid)) = ids {
                std::os::unix::fs::chown(sub(name), Some(uid), Some(gid))
                    .map_err(setup_err(format!("chown {name} to {DAEMON_USER}")))?;
            }
        }
        let port = free_port()?;
        let conf = sub("libvirtd.conf");
        let base = [
            ("listen_tls", "0".to_owned()),
            ("listen_tcp", "1".to_owned()),
            ("listen_addr", "\"127.0.0.1\"".to_owned()),
            ("tcp_port", format!("\"{port}\"")),
            ("auth_tcp", "\"none\"".to_owned()),
            ("unix_sock_dir", format!("\"{}\"", sub("sock").display())),
            ("auth_unix_rw", "\"none\"".to_owned()),
            ("auth_unix_ro", "\"none\"".to_owned()),
        ];
        // libvirt's config parser takes the first line for a key, so a key that `extra` sets is
        // left out of the base lines (e.g. `listen_tls = 1`).
        let mut text = String::new();
        for (key, value) in base {
            if !conf_sets(extra, key) {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        text.push_str(extra);
        fs::write(&conf, text).map_err(setup_err("write libvirtd.conf"))?;
        let log = fs::File::create(sub("libvirtd.log")).map_err(setup_err("create libvirtd.log"))?;
        let log2 = log.try_clone().map_err(setup_err("dup the log file"))?;

        let mut cmd = Command::new(libvirtd);
        cmd.arg("--listen")
            .arg("--config")
            .arg(&conf)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", sub("home"))
            .env("XDG_RUNTIME_DIR", sub("run"))
            .env("XDG_CONFIG_HOME", sub("config"))
            .env("XDG_CACHE_HOME", sub("home").join(".cache"))
            .env("XDG_DATA_HOME", sub("home").join(".local/share"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group, so that Drop can stop anything it spawned too.
            .process_group(0);
        if let Some((uid, gid)) = ids {
            // std drops the supplementary groups (setgroups) when it changes the uid as root.
            cmd.uid(uid).gid(gid);
        }
        let child = cmd.spawn().map_err(setup_err("spawn libvirtd"))?;
        let socket = sub("sock").join("libvirt-sock");
        let mut daemon = Self { child, dir, port, socket };
        guard.0 = None; // the daemon's Drop owns the directory now
        daemon.wait_ready()?;
        Ok(daemon)
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::DidNotStart { reason: format!("it exited with {status}"), log: self.log() });
            }
            if self.pings_back() && UnixStream::connect(&self.socket).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::DidNotStart {
                    reason: format!("no answer on 127.0.0.1:{} within {START_TIMEOUT:?}", self.port),
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a keepalive PING on a new TCP connection gets a PONG back.
    fn pings_back(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&self.tcp_addr(), Duration::from_millis(500)) else {
            return false;
        };
        ping(&mut s, Duration::from_secs(2)).unwrap_or(false)
    }

    /// The URI of the test driver over TCP, e.g. `test+tcp://127.0.0.1:40123/default`.
    #[must_use]
    pub fn tcp_uri(&self) -> String {
        format!("test+tcp://127.0.0.1:{}/default", self.port)
    }

    /// The URI of the test driver over the UNIX socket (`test+unix:///default?socket=…`).
    #[must_use]
    pub fn unix_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket.display())
    }

    /// The loopback address the daemon listens on.
    #[must_use]
    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The TCP port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The read-write UNIX socket (`<unix_sock_dir>/libvirt-sock`, mode 0700, owned by the
    /// daemon's user: connect as that user or as root).
    #[must_use]
    pub fn unix_socket_path(&self) -> &Path {
        &self.socket
    }

    /// The daemon's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's temporary directory (configuration, log, HOME, sockets).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the daemon wrote to standard error so far.
    #[must_use]
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("libvirtd.log")).unwrap_or_default()
    }

    /// Freezes the daemon with SIGSTOP (it keeps its sockets; the kernel still accepts
    /// connections, but nothing is answered), e.g. to make a client's keepalive expire.
    ///
    /// # Errors
    /// When the signal cannot be sent.
    pub fn sigstop(&self) -> io::Result<()> {
        signal(self.pid(), "STOP")
    }

    /// Lets a daemon frozen by [`Libvirtd::sigstop`] run again (SIGCONT).
    ///
    /// # Errors
    /// When the signal cannot be sent.
    pub fn sigcont(&self) -> io::Result<()> {
        signal(self.pid(), "CONT")
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        // SIGKILL also ends a stopped process. The whole group first, then the daemon itself
        // in case `kill` is missing.
        let _ = signal_group(self.pid(), "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Sends a keepalive PING on `s` and reports whether a PONG came back within `timeout`.
///
/// # Errors
/// When writing or reading fails (a read timeout is `Ok(false)`).
pub fn ping(s: &mut TcpStream, timeout: Duration) -> io::Result<bool> {
    let mut ping = Vec::with_capacity(28);
    for word in [28, KEEPALIVE_PROGRAM, 1, KEEPALIVE_PROC_PING as u32, MessageType::Message as u32, 0, 0] {
        ping.extend_from_slice(&word.to_be_bytes());
    }
    s.set_read_timeout(Some(timeout))?;
    s.write_all(&ping)?;
    let mut dec = FrameDecoder::new();
    let mut buf = [0u8; 256];
    loop {
        match dec.next_frame() {
            Ok(Some(f)) => {
                let h = f.header;
                if h.prog == KEEPALIVE_PROGRAM
                    && h.proc_ == KEEPALIVE_PROC_PONG
                    && h.ty == MessageType::Message
                    && h.status == MessageStatus::Ok
                {
                    return Ok(true);
                }
            }
            Ok(None) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
        match s.read(&mut buf) {
            Ok(0) => return Ok(false),
            Ok(n) => dec.push(&buf[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Whether the `libvirtd.conf` text `conf` has a line setting `key`.
fn conf_sets(conf: &str, key: &str) -> bool {
    conf.lines().any(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
}

/// Keeps a half-built directory from leaking when setup fails.
struct DirGuard(Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = fs::remove_dir_all(d);
        }
    }
}

fn fresh_dir() -> Result<PathBuf, Error> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("libvirtd-harness-{}-{n}-{nanos:09}", std::process::id()));
    fs::DirBuilder::new().mode(0o755).create(&dir).map_err(setup_err(format!("create {}", dir.display())))?;
    Ok(dir)
}

fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(setup_err("find a free loopback port"))?;
    Ok(l.local_addr().map_err(setup_err("find a free loopback port"))?.port())
}

/// The uid and gid of [`DAEMON_USER`] when we are root (creating the account if needed), for
/// running other test processes unprivileged too; `None` when we are already unprivileged.
///
/// # Errors
/// When the account cannot be created.
pub fn daemon_user_ids() -> Result<Option<(u32, u32)>, Error> {
    daemon_ids()
}

/// The uid and gid to run the daemon as: `Some` when we are root (after making sure the
/// accounts exist), `None` when we are already unprivileged.
fn daemon_ids() -> Result<Option<(u32, u32)>, Error> {
    static IDS: OnceLock<Mutex<Option<(u32, u32)>>> = OnceLock::new();
    if !running_as_root() {
        return Ok(None);
    }
    let cell = IDS.get_or_init(|| Mutex::new(None));
    let mut ids = cell.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(v) = *ids {
        return Ok(Some(v));
    }
    ensure_accounts()?;
    let v = lookup_user(DAEMON_USER).ok_or_else(|| Error::Setup {
        what: format!("find user {DAEMON_USER} after creating it"),
        source: io::Error::from(io::ErrorKind::NotFound),
    })?;
    *ids = Some(v);
    Ok(Some(v))
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // The owner of a fresh /proc/self is the effective uid of this process.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `(uid, gid)` of `name` from /etc/passwd.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

fn group_exists(name: &str) -> bool {
    fs::read_to_string("/etc/group").is_ok_and(|g| g.lines().any(|l| l.split(':').next() == Some(name)))
}

/// Creates the groups and users libvirtd needs, as `.ci/install-peers` does.
fn ensure_accounts() -> Result<(), Error> {
    let nologin = if Path::new("/usr/sbin/nologin").exists() { "/usr/sbin/nologin" } else { "/bin/false" };
    if !group_exists("libvirt-qemu") {
        run_admin("groupadd", &["-r", "libvirt-qemu"])?;
    }
    if !group_exists("kvm") {
        run_admin("groupadd", &["-f", "kvm"])?;
    }
    if lookup_user("libvirt-qemu").is_none() {
        run_admin("useradd", &["-r", "-g", "libvirt-qemu", "-d", "/var/lib/libvirt", "-s", nologin, "libvirt-qemu"])?;
    }
    if lookup_user(DAEMON_USER).is_none() {
        run_admin("useradd", &["-r", "-U", "-M", "-d", "/nonexistent", "-s", nologin, DAEMON_USER])?;
    }
    Ok(())
}

fn run_admin(tool: &'static str, args: &[&str]) -> Result<(), Error> {
    let path = find_program(tool).ok_or(Error::NotInstalled(tool))?;
    let out = Command::new(path).args(args).output().map_err(setup_err(format!("run {tool}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Setup {
            what: format!("{tool} {}", args.join(" ")),
            source: io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        })
    }
}

fn signal(pid: u32, sig: &str) -> io::Result<()> {
    kill(&[OsStr::new(&format!("-{sig}")), OsStr::new("--"), OsStr::new(&pid.to_string())])
}

fn signal_group(pgid: u32, sig: &str) -> io::Result<()> {
    kill(&[OsStr::new(&format!("-{sig}")), OsStr::new("--"), OsStr::new(&format!("-{pgid}"))])
}

/// Runs `kill(1)`; std has no way to send other signals than SIGKILL without `unsafe`.
fn kill(args: &[&OsStr]) -> io::Result<()> {
    let path = find_program("kill").ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "kill(1) not found"))?;
    let status = Command::new(path).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("kill {args:?} failed: {status}")))
    }
}
