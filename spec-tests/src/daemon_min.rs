//! Starts our `daemon-min` binary for tests, like [`crate::libvirtd`] starts the real one: a
//! fresh directory, TCP on a free loopback port, the read-write and read-only unix sockets;
//! killed and cleaned up when dropped.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running daemon-min.
#[derive(Debug)]
pub struct DaemonMin {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl DaemonMin {
    /// Starts `binary` with `--listen` and a configuration serving TCP on a free loopback port,
    /// plus `extra` configuration lines and `args`; waits until it prints its URIs.
    ///
    /// # Panics
    /// When the daemon cannot be started (a test failure).
    #[must_use]
    pub fn start(binary: &Path, extra: &str, args: &[&str]) -> Self {
        Self::start_with(binary, extra, args, false)
    }

    /// Like [`start`](Self::start), with the daemon's standard error kept in a file that
    /// [`log`](Self::log) reads (instead of the test's own standard error).
    ///
    /// # Panics
    /// When the daemon cannot be started (a test failure).
    #[must_use]
    pub fn start_logged(binary: &Path, extra: &str, args: &[&str]) -> Self {
        Self::start_with(binary, extra, args, true)
    }

    fn start_with(binary: &Path, extra: &str, args: &[&str], logged: bool) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "daemon-min-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the daemon's directory");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("free port").port();
        let conf = dir.join("daemon-min.conf");
        std::fs::write(
            &conf,
            format!(
                "listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"127.0.0.1\"\ntcp_port = \"{port}\"\nunix_sock_dir = \"{}\"\n{extra}",
                dir.display()
            ),
        )
        .expect("write the configuration");
        let mut child = Command::new(binary)
            .arg("--listen")
            .arg("--config")
            .arg(&conf)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(if logged {
                Stdio::from(std::fs::File::create(dir.join("stderr.log")).expect("create the daemon's log"))
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("start daemon-min");
        // It prints its banner once every listener is bound.
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let t0 = Instant::now();
        let mut ready = false;
        while t0.elapsed() < Duration::from_secs(20) {
            match lines.next() {
                Some(Ok(l)) if l.contains("test+tcp://") => {
                    ready = true;
                    break;
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        assert!(ready, "daemon-min did not start (see its stderr above)");
        std::thread::spawn(move || for _ in lines {});
        Self { child, dir, port }
    }

    /// The loopback TCP port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `test+tcp://127.0.0.1:PORT/default`.
    #[must_use]
    pub fn tcp_uri(&self) -> String {
        format!("test+tcp://127.0.0.1:{}/default", self.port)
    }

    /// `test+unix:///default?socket=…/libvirt-sock`.
    #[must_use]
    pub fn unix_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.unix_socket_path().display())
    }

    /// `test+unix:///default?socket=…/libvirt-sock-ro`.
    #[must_use]
    pub fn ro_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.dir.join("libvirt-sock-ro").display())
    }

    /// The read-write socket.
    #[must_use]
    pub fn unix_socket_path(&self) -> PathBuf {
        self.dir.join("libvirt-sock")
    }

    /// The daemon's directory (configuration and sockets).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the daemon wrote to standard error so far (empty unless started with
    /// [`start_logged`](Self::start_logged)).
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`"TERM"`, `"KILL"`, `"STOP"`, `"CONT"`) without waiting.
    ///
    /// # Panics
    /// When the signal cannot be sent.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().expect("kill");
        assert!(ok.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the daemon to exit: its status, or `None` if it still runs.
    ///
    /// # Panics
    /// When waiting fails.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if t0.elapsed() >= timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    ///
    /// # Panics
    /// When the signal cannot be sent.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        assert!(ok.success());
        let status = self.child.wait().expect("wait");
        let _ = std::fs::remove_dir_all(&self.dir);
        status
    }
}

impl Drop for DaemonMin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
