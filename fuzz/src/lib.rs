//! The harnesses behind the fuzz targets, kept in a library so that `gen_seeds` can run every
//! seed through them in a plain (non-libFuzzer) build, and so that a crash found by a target can
//! be replayed with a normal debugger.
//!
//! # Input layout
//!
//! `decode_frame`: `[split: u16 BE] [wire bytes…]`.
//!
//! `client_handle_input` / `server_handle_input`: `[mirror: 1 bit, n: 7 bits] [n control bytes]
//! [wire bytes…]`. The wire bytes are what the peer sends; the control bytes decide how they are
//! chunked and what happens between chunks (time passing, commands on the connection). See
//! [`Ctrl`] and [`Split`].

pub mod targets;

mod client_input;
mod decode_frame;
mod server_input;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proto_core::frame::{encode_frame_raw, FrameDecoder, Header, MessageStatus, MessageType};
use proto_core::program::{QEMU_PROGRAM, QEMU_PROTOCOL_VERSION};
use proto_core::xdr;
use proto_core::RemoteError;

pub use client_input::{
    mirror_calls, run_client, ClientCall, OpenArgs, CLIENT_CALLS, CLIENT_MAX_IN_FLIGHT, HARNESS_KEEPALIVE,
    MIRROR_MAX_IN_FLIGHT,
};
pub use decode_frame::run_decode_frame;
pub use server_input::{run_server, server_opens_stream, SERVER_MAX_REQUESTS};

// ---------------------------------------------------------------------------------------------
// Shared bits

/// `REMOTE_PROC_CONNECT_OPEN`.
pub const PROC_CONNECT_OPEN: i32 = 1;
/// `REMOTE_PROC_CONNECT_GET_HOSTNAME`.
pub const PROC_CONNECT_GET_HOSTNAME: i32 = 59;
/// `REMOTE_PROC_CONNECT_SUPPORTS_FEATURE`.
pub const PROC_SUPPORTS_FEATURE: i32 = 60;
/// `REMOTE_PROC_STORAGE_VOL_UPLOAD` (`@writestream`).
pub const PROC_VOL_UPLOAD: i32 = 208;
/// `REMOTE_PROC_STORAGE_VOL_DOWNLOAD` (`@readstream`).
pub const PROC_VOL_DOWNLOAD: i32 = 209;
/// `REMOTE_PROC_DOMAIN_GET_STATE`.
pub const PROC_DOMAIN_GET_STATE: i32 = 212;
/// `REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES` (sent as `CALL_WITH_FDS`).
pub const PROC_CREATE_XML_WITH_FILES: i32 = 309;
/// `REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE`.
pub const PROC_EVENT_LIFECYCLE: i32 = 318;
/// `REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD` (answered with `REPLY_WITH_FDS`).
pub const PROC_OPEN_GRAPHICS_FD: i32 = 343;
/// `QEMU_PROC_DOMAIN_MONITOR_COMMAND`.
pub const QEMU_PROC_MONITOR_COMMAND: i32 = 1;

/// A fuzz input split into a mode flag, control bytes and wire bytes.
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// Bit 7 of the first byte: the target's alternative mode (the client mirrors the calls the
    /// wire's replies answer; the server opens a stream for every call).
    pub mirror: bool,
    /// The control bytes.
    pub ctrl: &'a [u8],
    /// The bytes the peer sends.
    pub wire: &'a [u8],
}

impl<'a> Split<'a> {
    /// `[mirror:1 n:7] [n control bytes] [wire…]`; a short input gives fewer control bytes.
    #[must_use]
    pub fn parse(data: &'a [u8]) -> Self {
        let Some((&b, rest)) = data.split_first() else {
            return Self { mirror: false, ctrl: &[], wire: &[] };
        };
        let n = usize::from(b & 0x7f).min(rest.len());
        Self { mirror: b & 0x80 != 0, ctrl: &rest[..n], wire: &rest[n..] }
    }

    /// The inverse of [`Split::parse`] (for the seed generator).
    #[must_use]
    pub fn build(mirror: bool, ctrl: &[u8], wire: &[u8]) -> Vec<u8> {
        assert!(ctrl.len() <= 127);
        let mut v = Vec::with_capacity(1 + ctrl.len() + wire.len());
        v.push(ctrl.len() as u8 | if mirror { 0x80 } else { 0 });
        v.extend_from_slice(ctrl);
        v.extend_from_slice(wire);
        v
    }
}

/// What one control byte asks for.
///
/// - `0b0xxx_xxxx`: feed the next `x + 1` wire bytes (1..=128);
/// - `0b10tt_tttt`: let `t × 200 ms` pass, then `handle_timeout`;
/// - `0b11aa_aooo`: command `o` with argument `a` (0..=7), target-specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctrl {
    /// Feed this many wire bytes.
    Feed(usize),
    /// Advance the clock by this much and call `handle_timeout`.
    Tick(Duration),
    /// A target-specific command.
    Cmd {
        /// Which command (0..=7).
        op: u8,
        /// Its argument (0..=7).
        arg: u8,
    },
}

impl Ctrl {
    /// Decodes one control byte.
    #[must_use]
    pub fn from_byte(b: u8) -> Self {
        match b >> 6 {
            0 | 1 => Self::Feed(usize::from(b & 0x7f) + 1),
            2 => Self::Tick(Duration::from_millis(200) * u32::from(b & 0x3f)),
            _ => Self::Cmd { op: b & 7, arg: (b >> 3) & 7 },
        }
    }

    /// Encodes a feed of `n` (1..=128) bytes.
    #[must_use]
    pub fn feed(n: usize) -> u8 {
        assert!((1..=128).contains(&n));
        (n - 1) as u8
    }

    /// Encodes a tick of `t × 200 ms` (t ≤ 63).
    #[must_use]
    pub fn tick(t: u8) -> u8 {
        0x80 | (t & 0x3f)
    }

    /// Encodes a command.
    #[must_use]
    pub fn cmd(op: u8, arg: u8) -> u8 {
        0xc0 | ((arg & 7) << 3) | (op & 7)
    }
}

/// Checks that everything a connection transmits deframes into well-formed messages.
#[derive(Debug, Default)]
pub struct OutputCheck {
    dec: FrameDecoder,
    /// Whole messages seen.
    pub frames: usize,
}

impl OutputCheck {
    /// Feeds transmitted bytes; `check` is called on every whole frame.
    pub fn feed(&mut self, bytes: &[u8], mut check: impl FnMut(&Header, &Bytes)) {
        self.dec.push(bytes);
        loop {
            match self.dec.next_frame() {
                Ok(Some(f)) => {
                    self.frames += 1;
                    check(&f.header, &f.body);
                }
                Ok(None) => return,
                Err(e) => panic!("the core transmitted an undecodable frame: {e}"),
            }
        }
    }

    /// Whether a partial message is left over.
    #[must_use]
    pub fn has_partial(&self) -> bool {
        self.dec.has_partial()
    }
}

fn assert_error_body(h: &Header, body: &Bytes) {
    if let Err(e) = xdr::from_bytes_exact::<RemoteError>(body.clone()) {
        panic!("{h:?}: error body is not exactly one remote_error: {e}");
    }
}

/// Whether `FUZZ_TRACE` is set: the harnesses then print every event (for replaying a crash).
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

fn t(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

// ---------------------------------------------------------------------------------------------
// Frame builders for seeds

/// Encodes one frame.
#[must_use]
pub fn frame(prog: u32, proc_: i32, ty: MessageType, serial: u32, status: MessageStatus, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame_raw(&mut out, &Header { prog, vers: 1, proc_, ty, serial, status }, body);
    out.to_vec()
}

/// Encodes an XDR value.
#[must_use]
pub fn xdr_of<T: xdr::XdrEncode + ?Sized>(v: &T) -> Vec<u8> {
    xdr::to_bytes(v).expect("encodable").to_vec()
}

/// QEMU program constant for the seed generator.
pub const QEMU: (u32, u32) = (QEMU_PROGRAM, QEMU_PROTOCOL_VERSION);
