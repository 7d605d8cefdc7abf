//! A real OpenSSH server on a free loopback port, for the ssh transport's tests: its own host
//! key, one client key authorised for the current user, no PAM, no passwords, no other
//! listener. [`Sshd::ssh_command`] is an `ssh` wrapper (libvirt's `command=` parameter) that
//! keeps the host key out of the user's `~/.ssh/known_hosts`. Dropping it stops the server and
//! removes its directory.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::libvirtd::require_peer;

/// A running `sshd -D` and the files the client side needs.
#[derive(Debug)]
pub struct Sshd {
    child: Child,
    dir: PathBuf,
    port: u16,
    user: String,
}

impl Sshd {
    /// Starts the server, or reports why the test is skipped: `None` (after a loud message)
    /// when `sshd`, `ssh` or `ssh-keygen` are missing outside CI.
    ///
    /// # Panics
    /// When a program is missing under `CI=true`, or the server does not come up.
    #[must_use]
    pub fn start_or_skip() -> Option<Self> {
        let sshd = require_peer("sshd")?;
        let ssh = require_peer("ssh")?;
        let keygen = require_peer("ssh-keygen")?;
        let dir = std::env::temp_dir().join(format!("spec-tests-sshd-{}-{}", std::process::id(), unique()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the sshd directory");
        for key in ["host_key", "id_ed25519"] {
            let status = Command::new(&keygen)
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key))
                .status()
                .expect("run ssh-keygen");
            assert!(status.success(), "ssh-keygen failed");
        }
        std::fs::copy(dir.join("id_ed25519.pub"), dir.join("authorized_keys")).expect("authorize the key");
        let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id -un").stdout)
            .expect("user name")
            .trim()
            .to_owned();
        // sshd's privilege separation directory (as root).
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("free port").port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nAuthorizedKeysFile {dir}/authorized_keys\n\
                 PidFile {dir}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel ERROR\n",
                dir = dir.display()
            ),
        )
        .expect("write sshd_config");
        // The client side: libvirt's argv, plus our known-hosts file and a non-interactive login.
        let wrapper = dir.join("ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec {} -F none -o UserKnownHostsFile={}/known_hosts -o StrictHostKeyChecking=no \
                 -o BatchMode=yes -o LogLevel=ERROR \"$@\"\n",
                ssh.display(),
                dir.display()
            ),
        )
        .expect("write the ssh wrapper");
        Command::new("chmod").arg("755").arg(&wrapper).status().expect("chmod");
        let child = Command::new(&sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sshd");
        let mut me = Self { child, dir, port, user };
        let t0 = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("sshd exited at start: {status}");
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "sshd did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(me)
    }

    /// The port it listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user it lets in (the current one).
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The private key it accepts (libvirt's `keyfile=`).
    #[must_use]
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    /// The ssh client to run (libvirt's `command=`): the system `ssh` with a known-hosts file
    /// of its own, in batch mode.
    #[must_use]
    pub fn ssh_command(&self) -> PathBuf {
        self.dir.join("ssh")
    }

    /// Its directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
