//! Program numbers and the [`Procedure`] trait that every generated procedure implements
//! (`protocol-facts.md` §4).

use crate::xdr::{XdrDecode, XdrEncode};

/// `REMOTE_PROGRAM`: the main libvirt program.
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// `REMOTE_PROTOCOL_VERSION`.
pub const REMOTE_PROTOCOL_VERSION: u32 = 1;
/// `QEMU_PROGRAM`: QEMU-specific calls and monitor events.
pub const QEMU_PROGRAM: u32 = 0x2000_8087;
/// `QEMU_PROTOCOL_VERSION`.
pub const QEMU_PROTOCOL_VERSION: u32 = 1;
/// `LXC_PROGRAM`: LXC-specific calls.
pub const LXC_PROGRAM: u32 = 0x0006_8000;
/// `LXC_PROTOCOL_VERSION`.
pub const LXC_PROTOCOL_VERSION: u32 = 1;
/// `ADMIN_PROGRAM`: served only on the admin socket.
pub const ADMIN_PROGRAM: u32 = 0x0690_0690;
/// `ADMIN_PROTOCOL_VERSION`.
pub const ADMIN_PROTOCOL_VERSION: u32 = 1;
/// `KEEPALIVE_PROGRAM` ("keep").
pub const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;
/// `KEEPALIVE_PROTOCOL_VERSION`.
pub const KEEPALIVE_PROTOCOL_VERSION: u32 = 1;
/// `KEEPALIVE_PROC_PING`.
pub const KEEPALIVE_PROC_PING: i32 = 1;
/// `KEEPALIVE_PROC_PONG`.
pub const KEEPALIVE_PROC_PONG: i32 = 2;

/// `REMOTE_PROC_CONNECT_SUPPORTS_FEATURE` (60): the call whose feature 10 starts keepalive.
pub const REMOTE_PROC_CONNECT_SUPPORTS_FEATURE: i32 = 60;
/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE` (10).
pub const VIR_DRV_FEATURE_PROGRAM_KEEPALIVE: i32 = 10;

/// Which way a procedure's stream flows (`@readstream` / `@writestream` annotations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamDirection {
    /// No stream.
    None,
    /// `@readstream`: data flows from the daemon to the client (e.g. `STORAGE_VOL_DOWNLOAD`).
    Read,
    /// `@writestream`: data flows from the client to the daemon (e.g. `STORAGE_VOL_UPLOAD`).
    Write,
}

/// The `@priority` annotation: which worker pool libvirtd runs the call on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// No annotation, or `@priority: low`.
    Low,
    /// `@priority: high`.
    High,
}

/// One procedure of one program, with everything its `.x` definition says about it.
pub trait Procedure {
    /// Program number (`REMOTE_PROGRAM`, …).
    const PROGRAM: u32;
    /// Program version.
    const VERSION: u32;
    /// Procedure number (`REMOTE_PROC_…`).
    const NUMBER: i32;
    /// libvirt's name, e.g. `REMOTE_PROC_DOMAIN_GET_STATE`.
    const NAME: &'static str;
    /// The call's arguments (`()` for void).
    type Args: XdrEncode + XdrDecode;
    /// The reply's body (`()` for void); for events, the message body.
    type Ret: XdrEncode + XdrDecode;
    /// Whether this is an event sent by the server as a MESSAGE, never called.
    const IS_EVENT: bool;
    /// The stream this procedure opens.
    const STREAM: StreamDirection;
    /// The flag that asks for a sparse stream (`@sparseflag`, e.g.
    /// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`), if any.
    const SPARSE_FLAG: Option<&'static str>;
    /// `@priority`.
    const PRIORITY: Priority;
    /// `@acl` permissions, e.g. `["domain:read"]`.
    const ACL: &'static [&'static str];
}

/// Everything the `.x` definition says about one procedure, as data: the row of a program's
/// procedure table (`crate::programs::remote::PROCEDURES`, …), for code that only knows the
/// numbers at run time (dispatch, logging, raw calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProcedureInfo {
    /// Program number.
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// Procedure number.
    pub number: i32,
    /// libvirt's name, e.g. `REMOTE_PROC_DOMAIN_GET_STATE`.
    pub name: &'static str,
    /// Sent by the server as a MESSAGE, never called (events; keepalive PING and PONG).
    pub is_event: bool,
    /// The stream this procedure opens.
    pub stream: StreamDirection,
    /// `@sparseflag`: the flag that asks for a sparse stream.
    pub sparse_flag: Option<&'static str>,
    /// `@priority`.
    pub priority: Priority,
    /// `@acl` permissions (empty for `@acl: none`).
    pub acl: &'static [&'static str],
    /// `@aclfilter` permissions: which listed objects the caller may see.
    pub acl_filter: &'static [&'static str],
    /// libvirt's name of the arguments type (`remote_domain_get_state_args`), or `void`.
    pub args: &'static str,
    /// libvirt's name of the reply type, or of the message body for events, or `void`.
    pub ret: &'static str,
}
