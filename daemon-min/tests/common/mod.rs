//! Helpers shared by the daemon's process-level tests: raw protocol sockets (pipelined calls
//! without a client library in the way), and what /proc says about the daemon.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use bytes::BytesMut;
use proto_core::frame::encode_frame;
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote::{RemoteConnectOpenArgs, REMOTE_PROC_CONNECT_OPEN};
use proto_core::xdr::XdrEncode;
use proto_core::{Frame, FrameDecoder, Header, MessageStatus, MessageType, XdrString};

/// The daemon binary under test.
pub fn daemon_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_daemon-min"))
}

/// The runtimes daemon-min has: the arguments that pick each.
pub const RUNTIMES: [(&str, &[&str]); 2] = [("smol", &[]), ("blocking", &["--runtime", "blocking"])];

/// Makes each `fn name(runtime: &[&str])` a test on both runtimes: `smol_runtime::name` and
/// `blocking_runtime::name`.
#[macro_export]
macro_rules! on_both_runtimes {
    ($($name:ident),* $(,)?) => {
        mod smol_runtime {
            $(#[test] fn $name() { super::$name($crate::common::RUNTIMES[0].1) })*
        }
        mod blocking_runtime {
            $(#[test] fn $name() { super::$name($crate::common::RUNTIMES[1].1) })*
        }
    };
}

/// Appends a CALL of a `REMOTE_PROGRAM` procedure.
pub fn call(out: &mut BytesMut, proc_: i32, serial: u32, args: &impl XdrEncode) {
    let header =
        Header { prog: REMOTE_PROGRAM, vers: 1, proc_, ty: MessageType::Call, serial, status: MessageStatus::Ok };
    encode_frame(out, &header, args).expect("encode a call");
}

/// `REMOTE_PROC_CONNECT_OPEN` of `test:///default`.
pub fn open_call(out: &mut BytesMut, serial: u32) {
    let args = RemoteConnectOpenArgs { name: Some(XdrString::from("test:///default")), flags: 0 };
    call(out, REMOTE_PROC_CONNECT_OPEN, serial, &args);
}

/// A client speaking the protocol by hand on a blocking socket.
pub struct Raw<S> {
    /// The socket.
    pub sock: S,
    dec: FrameDecoder,
    buf: Box<[u8]>,
}

impl<S: Read + Write> Raw<S> {
    /// Wraps a connected socket.
    pub fn new(sock: S) -> Self {
        Self { sock, dec: FrameDecoder::new(), buf: vec![0; 64 * 1024].into_boxed_slice() }
    }

    /// Writes everything in `out`.
    pub fn send(&mut self, out: &[u8]) -> io::Result<()> {
        self.sock.write_all(out)
    }

    /// The next message; `Ok(None)` at the end of file. A read timeout set on the socket
    /// surfaces as an error of kind `WouldBlock` or `TimedOut`.
    pub fn recv(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(f) = self.dec.next_frame().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))? {
                return Ok(Some(f));
            }
            let n = self.sock.read(&mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.dec.push(&self.buf[..n]);
        }
    }

    /// The next message, which must be a reply; panics at the end of file.
    pub fn reply(&mut self) -> Frame {
        loop {
            let f = self.recv().expect("read a reply").expect("a reply, not the end of file");
            if f.header.ty == MessageType::Reply {
                return f;
            }
        }
    }
}

/// How long a test waits for any one message before it fails rather than hangs.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A unix-socket client (reads time out after [`READ_TIMEOUT`]).
pub fn unix(path: &Path) -> Raw<UnixStream> {
    let s = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    Raw::new(s)
}

/// The daemon's resident set size in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// How many descriptors the daemon has open.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).expect("read /proc/PID/fd").count()
}

#[allow(unused_imports)]
pub use spec_tests::process::eventually;

/// For tests that measure latencies: held for the whole test, so that a file's tests (which
/// cargo runs in parallel threads) run one at a time and one test's load is not another's noise.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
