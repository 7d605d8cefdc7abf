//! Typed programs for the whole protocol, generated from libvirt 9.0.0's `.x` files by
//! `libvirt-codegen` (`proto-core/codegen`; see its README for how to regenerate).
//!
//! One module per program:
//!
//! | module | program | procedures |
//! |---|---|---|
//! | [`remote`] | `REMOTE_PROGRAM` 0x20008086 v1 | 443 (51 events) |
//! | [`qemu`] | `QEMU_PROGRAM` 0x20008087 v1 | 7 (1 event) |
//! | [`lxc`] | `LXC_PROGRAM` 0x00068000 v1 | 1 |
//! | [`admin`] | `ADMIN_PROGRAM` 0x06900690 v1 | 19 |
//! | [`keepalive`] | `KEEPALIVE_PROGRAM` 0x6b656570 v1 | 2 (PING and PONG, both messages) |
//! | [`virnet`] | the RPC envelope (`virnetprotocol.x`) | none |
//!
//! Each module has one Rust type per `.x` struct, union, enum and typedef, each with
//! [`XdrEncode`](crate::XdrEncode) and a bounded [`XdrDecode`](crate::XdrDecode) (every `<N>` of
//! the `.x` is checked on decode and on encode); the `.x` constants; for every procedure a
//! `pub const REMOTE_PROC_…: i32` and a zero-sized type implementing
//! [`Procedure`](crate::Procedure); and a table of [`ProcedureInfo`] in number order with lookups
//! by number and by name.
//!
//! Procedures whose body is a `*_msg` struct are events: the server sends them as MESSAGE and
//! nobody calls them, so their `Args` is `()` and their `Ret` is the message body. Keepalive's
//! PING and PONG are messages without a body.
//!
//! [`virnet`] is generated for cross-checking only: the connection code uses the hand-written
//! codecs of [`crate::frame`] (header, stream hole) and [`crate::error`] (`remote_error`).
//!
//! Unknown numbers give `None` from every lookup; calling them is the connection's raw path.

use bytes::{BufMut, BytesMut};

use crate::program::ProcedureInfo;
use crate::xdr::{DecodeError, EncodeError, XdrReader};

pub mod admin;
pub mod keepalive;
pub mod lxc;
pub mod qemu;
pub mod remote;
pub mod virnet;

#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;

/// The procedure table of a program, if it is one of the five libvirt 9.0.0 defines.
#[must_use]
pub fn procedures(program: u32, version: u32) -> Option<&'static [ProcedureInfo]> {
    let table = match (program, version) {
        (remote::REMOTE_PROGRAM, remote::REMOTE_PROTOCOL_VERSION) => remote::PROCEDURES,
        (qemu::QEMU_PROGRAM, qemu::QEMU_PROTOCOL_VERSION) => qemu::PROCEDURES,
        (lxc::LXC_PROGRAM, lxc::LXC_PROTOCOL_VERSION) => lxc::PROCEDURES,
        (admin::ADMIN_PROGRAM, admin::ADMIN_PROTOCOL_VERSION) => admin::PROCEDURES,
        (keepalive::KEEPALIVE_PROGRAM, keepalive::KEEPALIVE_PROTOCOL_VERSION) => keepalive::PROCEDURES,
        _ => return None,
    };
    Some(table)
}

/// The procedure `(program, version, number)`, e.g. from a message header.
#[must_use]
pub fn procedure(program: u32, version: u32, number: i32) -> Option<&'static ProcedureInfo> {
    let table = procedures(program, version)?;
    table.binary_search_by_key(&number, |p| p.number).ok().map(|i| &table[i])
}

/// The procedure with this libvirt name in any program (`REMOTE_PROC_…`, `QEMU_PROC_…`, …).
#[must_use]
pub fn procedure_by_name(name: &str) -> Option<&'static ProcedureInfo> {
    let table = match name.split_once("_PROC_")?.0 {
        "REMOTE" => remote::PROCEDURES,
        "QEMU" => qemu::PROCEDURES,
        "LXC" => lxc::PROCEDURES,
        "ADMIN" => admin::PROCEDURES,
        "KEEPALIVE" => keepalive::PROCEDURES,
        _ => return None,
    };
    table.iter().find(|p| p.name == name)
}

/// Decodes (and drops) the arguments of a call to `(program, version, number)` from `r`;
/// `None` when that is not a callable procedure libvirt 9.0.0 defines. With a
/// [`XdrReader::noting`](crate::xdr::XdrReader::noting) reader this finds the non-canonical
/// encodings in a call (the client audit of [`crate::audit`]).
pub fn decode_args(program: u32, version: u32, number: i32, r: &mut XdrReader) -> Option<Result<(), DecodeError>> {
    match (program, version) {
        (remote::REMOTE_PROGRAM, remote::REMOTE_PROTOCOL_VERSION) => remote::decode_args(number, r),
        (qemu::QEMU_PROGRAM, qemu::QEMU_PROTOCOL_VERSION) => qemu::decode_args(number, r),
        (lxc::LXC_PROGRAM, lxc::LXC_PROTOCOL_VERSION) => lxc::decode_args(number, r),
        (admin::ADMIN_PROGRAM, admin::ADMIN_PROTOCOL_VERSION) => admin::decode_args(number, r),
        _ => None,
    }
}

/// Writes the count of a variable-length item after checking it against its declared maximum
/// (used by the generated encoders).
pub(crate) fn put_count(out: &mut BytesMut, len: usize, max: u32) -> Result<(), EncodeError> {
    if len > max as usize {
        return Err(EncodeError::LengthOverMax { len, max });
    }
    out.put_u32(len as u32);
    Ok(())
}
