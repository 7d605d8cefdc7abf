//! Waiting on child processes without guessing how long they take to start: tests that start a
//! `virsh event` watcher or an event service need to know it is connected before they make
//! the events happen. A fixed sleep is a guess that a loaded CI machine eventually loses.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Polls `f` every 20 ms until it holds or `timeout` passes; whether it held.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    loop {
        if f() {
            return true;
        }
        if t0.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` holds an established TCP connection to a loopback `port` (read from
/// `/proc/PID/fd` and `/proc/net/tcp{,6}`; false when they cannot be read).
#[must_use]
pub fn has_tcp_connection_to(pid: u32, port: u16) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    let inodes: HashSet<String> = fds
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
                let f: Vec<&str> = line.split_whitespace().collect();
                f.len() > 9 && f[2].ends_with(&want) && f[3] == "01" && inodes.contains(f[9])
            })
        })
    })
}

/// Waits until `pid` is connected to `port` (see [`has_tcp_connection_to`]), then `settle`
/// more for the calls a client makes right after connecting (open, event registration).
/// Whether it connected within `timeout`.
#[must_use]
pub fn wait_connected(pid: u32, port: u16, timeout: Duration, settle: Duration) -> bool {
    let ok = eventually(timeout, || has_tcp_connection_to(pid, port));
    std::thread::sleep(settle);
    ok
}

/// The lines a child writes, collected by a thread as they come, so that a test can wait for
/// one ("connected") before it goes on.
pub struct Lines {
    seen: Arc<(Mutex<Vec<String>>, Condvar)>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    /// Starts reading `from` (a child's stdout) line by line.
    pub fn read(from: impl Read + Send + 'static) -> Self {
        let seen = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let shared = seen.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                let (lines, changed) = &*shared;
                lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
                changed.notify_all();
            }
        });
        Self { seen, reader: Some(reader) }
    }

    /// Waits up to `timeout` for a line for which `pred` holds; whether one came.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        self.wait_for_count(timeout, 1, pred)
    }

    /// Waits up to `timeout` until `n` lines for which `pred` holds have come; whether they did.
    pub fn wait_for_count(&self, timeout: Duration, n: usize, pred: impl Fn(&str) -> bool) -> bool {
        let (lines, changed) = &*self.seen;
        let deadline = Instant::now() + timeout;
        let mut guard = lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if guard.iter().filter(|l| pred(l)).count() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = changed.wait_timeout(guard, deadline - now).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }

    /// Everything read so far, a line each.
    #[must_use]
    pub fn text(&self) -> String {
        let lines = self.seen.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Waits for the end of the stream (the child closed it or exited), then everything read.
    #[must_use]
    pub fn finish(mut self) -> String {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.text()
    }
}
