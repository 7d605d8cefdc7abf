//! Storage volume commands (`tools/virsh-volume.c`): `vol-list`, `vol-create-as`,
//! `vol-delete`, `vol-upload`, `vol-download`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileTypeExt;

use proto_core::{ErrorCode, ErrorDomain};

use crate::cmd_pool::{opt_pool, pretty, Pool};
use crate::conn::ApiError;
use crate::progress::Progress;
use crate::table::Table;
use crate::util::{ascii_casecmp, scaled_size, ScaleError};
use crate::vsh::{data_req, flag, int, string, Cmd, CmdDef, Reporter};
use crate::Virsh;

type Vol = virt::storage_vol::StorageVol;

pub(crate) static COMMANDS: &[CmdDef] = &[
    CmdDef {
        name: "vol-create-as",
        opts: &[
            data_req("pool"),
            data_req("name"),
            data_req("capacity"),
            string("allocation"),
            string("format"),
            string("backing-vol"),
            string("backing-vol-format"),
            flag("prealloc-metadata"),
            flag("print-xml"),
        ],
        handler: cmd_vol_create_as,
        no_connect: false,
    },
    CmdDef {
        name: "vol-delete",
        opts: &[data_req("vol"), string("pool"), flag("delete-snapshots")],
        handler: cmd_vol_delete,
        no_connect: false,
    },
    CmdDef {
        name: "vol-download",
        opts: &[data_req("vol"), data_req("file"), string("pool"), int("offset"), int("length"), flag("sparse")],
        handler: cmd_vol_download,
        no_connect: false,
    },
    CmdDef { name: "vol-list", opts: &[data_req("pool"), flag("details")], handler: cmd_vol_list, no_connect: false },
    CmdDef {
        name: "vol-upload",
        opts: &[data_req("vol"), data_req("file"), string("pool"), int("offset"), int("length"), flag("sparse")],
        handler: cmd_vol_upload,
        no_connect: false,
    },
];

/// `virshCommandOptVolBy`: by name in `--pool` if given, else by key, then by path.
fn opt_vol(v: &mut Virsh, cmd: &Cmd) -> Option<(Vol, String)> {
    let n = cmd.string_req(v, "vol").ok()??.to_owned();
    let p = cmd.string_req(v, "pool").ok()?.map(str::to_owned);
    let mut pool = None;
    if let Some(p) = &p {
        let found = opt_pool(v, cmd, "pool")?;
        let r = found.is_active().map_err(ApiError::from);
        if v.api(r) != Some(true) {
            v.error(&format!("pool '{p}' is not active"));
            return None;
        }
        pool = Some(found);
    }
    let mut vol = None;
    if let Some(pool) = &pool {
        let r = pool.lookup_storage_vol_by_name(&n).map_err(ApiError::from);
        vol = v.api(r);
    }
    if vol.is_none() {
        let r = v.conn().api().lookup_storage_vol_by_key(&n).map_err(ApiError::from);
        vol = v.api(r);
    }
    if vol.is_none() {
        let r = v.conn().api().lookup_storage_vol_by_path(&n).map_err(ApiError::from);
        vol = v.api(r);
    }
    let Some(vol) = vol else {
        if pool.is_some() {
            v.error(&format!("failed to get vol '{n}'"));
        } else {
            v.error(&format!("failed to get vol '{n}', specifying --pool might help"));
        }
        return None;
    };
    v.reset_error();
    if let Some(pool) = pool {
        let r = vol.lookup_storage_pool().map_err(ApiError::from);
        if let Some(volpool) = v.api(r) {
            let pool_name = pool.name().unwrap_or_default();
            if volpool.name().unwrap_or_default() != pool_name {
                v.reset_error();
                v.error(&format!("Requested volume '{n}' is not in pool '{pool_name}'"));
                return None;
            }
        }
    }
    Some((vol, n))
}

/// `virshStorageVolListCollect`.
fn collect_vols(v: &mut Virsh, pool: &Pool) -> Option<Vec<Vol>> {
    let r = pool.list_all_volumes(0).map_err(ApiError::from);
    let mut list = match v.api(r) {
        Some(r) => r,
        None if v.last_code() == Some(ErrorCode::VIR_ERR_NO_SUPPORT) => {
            v.reset_error();
            let r = pool.num_of_volumes().map_err(ApiError::from);
            let Some(n) = v.api(r) else {
                v.error("Failed to list storage volumes");
                return None;
            };
            if n == 0 {
                return Some(Vec::new());
            }
            // Not `list_volumes()`, which would count again: virsh lists with the count it has.
            let r = pool.list_volumes_max(n).map_err(ApiError::from);
            let Some(names) = v.api(r) else {
                v.error("Failed to list storage volumes");
                return None;
            };
            let mut out = Vec::new();
            for name in names {
                let r = pool.lookup_storage_vol_by_name(&name).map_err(ApiError::from);
                if let Some(vol) = v.api(r) {
                    out.push(vol);
                }
            }
            out
        }
        None => {
            v.error("Failed to list volumes");
            return None;
        }
    };
    list.sort_by(|a, b| ascii_casecmp(&a.name().unwrap_or_default(), &b.name().unwrap_or_default()));
    Some(list)
}

fn cmd_vol_list(v: &mut Virsh, cmd: &Cmd) -> bool {
    let details = cmd.flag("details");
    let Some(pool) = opt_pool(v, cmd, "pool") else { return false };
    let Some(list) = collect_vols(v, &pool) else { return false };
    let mut rows = Vec::with_capacity(list.len());
    for vol in &list {
        let r = vol.path().map_err(ApiError::from);
        let path = v.api(r).unwrap_or_else(|| "unknown".to_owned());
        let mut extra = [String::new(), String::new(), String::new()];
        if details {
            let r = vol.info().map_err(ApiError::from);
            extra = match v.api(r) {
                None => ["unknown".into(), "unknown".into(), "unknown".into()],
                Some(info) => {
                    let ty = ["file", "block", "dir", "network", "netdir", "ploop"]
                        .get(usize::try_from(info.kind).unwrap_or(usize::MAX))
                        .copied()
                        .unwrap_or("unknown");
                    [ty.into(), pretty(info.capacity), pretty(info.allocation)]
                }
            };
        }
        rows.push((vol.name().unwrap_or_default(), path, extra));
    }
    let mut table = if details {
        Table::new(&["Name", "Path", "Type", "Capacity", "Allocation"])
    } else {
        Table::new(&["Name", "Path"])
    };
    for (name, path, [ty, cap, alloc]) in &rows {
        if details {
            table.row(&[name, path, ty, cap, alloc]);
        } else {
            table.row(&[name, path]);
        }
    }
    let out = table.render(!v.quiet);
    v.print(&out);
    true
}

/// Escapes nothing, as virsh's `virBufferAsprintf` of the XML does not.
fn vol_xml(
    name: &str,
    capacity: u64,
    allocation: Option<u64>,
    format: Option<&str>,
    backing: Option<(&str, Option<&str>)>,
) -> String {
    let mut xml = format!("<volume>\n  <name>{name}</name>\n  <capacity>{capacity}</capacity>\n");
    if let Some(a) = allocation {
        xml += &format!("  <allocation>{a}</allocation>\n");
    }
    if let Some(f) = format {
        xml += &format!("  <target>\n    <format type='{f}'/>\n  </target>\n");
    }
    if let Some((path, fmt)) = backing {
        xml += &format!("  <backingStore>\n    <path>{path}</path>\n");
        if let Some(fmt) = fmt {
            xml += &format!("    <format type='{fmt}'/>\n");
        }
        xml += "  </backingStore>\n";
    }
    xml + "</volume>\n"
}

/// `virshVolSize` with virsh's message, and the libvirt error it raises.
fn vol_size(v: &mut Virsh, s: &str) -> Option<u64> {
    match scaled_size(s) {
        Ok(n) => Some(n),
        Err(e) => {
            match e {
                ScaleError::Malformed => {}
                ScaleError::UnknownSuffix(suffix) => {
                    v.last_error = Some(ApiError::new(
                        ErrorCode::VIR_ERR_INVALID_ARG,
                        ErrorDomain::VIR_FROM_NONE,
                        format!("invalid argument: unknown suffix '{suffix}'"),
                    ));
                }
                ScaleError::TooLarge(t) => {
                    v.last_error = Some(ApiError::new(
                        ErrorCode::VIR_ERR_OVERFLOW,
                        ErrorDomain::VIR_FROM_NONE,
                        format!("value too large: {t}"),
                    ));
                }
            }
            v.error(&format!("Malformed size {s}"));
            None
        }
    }
}

fn cmd_vol_create_as(v: &mut Virsh, cmd: &Cmd) -> bool {
    let print_xml = cmd.flag("print-xml");
    let flags = u32::from(cmd.flag("prealloc-metadata"));
    let Some(pool) = opt_pool(v, cmd, "pool") else { return false };
    let Ok(Some(name)) = cmd.string_req(v, "name") else { return false };
    let Ok(Some(capacity_str)) = cmd.string_req(v, "capacity") else { return false };
    let Some(capacity) = vol_size(v, capacity_str) else { return false };
    let allocation_str = cmd.string_quiet("allocation").ok().flatten();
    let allocation = match allocation_str {
        Some(a) => match vol_size(v, a) {
            Some(n) => Some(n),
            None => return false,
        },
        None => None,
    };
    let Ok(format) = cmd.string_req(v, "format") else { return false };
    let Ok(backing_vol) = cmd.string_req(v, "backing-vol") else { return false };
    let Ok(backing_format) = cmd.string_req(v, "backing-vol-format") else { return false };
    let mut backing_path = None;
    if let Some(b) = backing_vol {
        let mut found = None;
        let r = pool.lookup_storage_vol_by_name(b).map_err(ApiError::from);
        if let Some(r) = v.api(r) {
            found = Some(r);
        }
        if found.is_none() {
            let r = v.conn().api().lookup_storage_vol_by_key(b).map_err(ApiError::from);
            found = v.api(r);
        }
        if found.is_none() {
            let r = v.conn().api().lookup_storage_vol_by_path(b).map_err(ApiError::from);
            found = v.api(r);
        }
        let Some(found) = found else {
            v.error(&format!("failed to get vol '{b}'"));
            return false;
        };
        let r = found.path().map_err(ApiError::from);
        let Some(p) = v.api(r) else { return false };
        backing_path = Some(p);
    }
    let xml = vol_xml(name, capacity, allocation, format, backing_path.as_deref().map(|p| (p, backing_format)));
    if print_xml {
        v.print(&xml);
        return true;
    }
    let r = virt::storage_vol::StorageVol::create_xml(&pool, &xml, flags).map_err(ApiError::from);
    if v.api(r).is_none() {
        v.error(&format!("Failed to create vol {name}"));
        return false;
    }
    v.print_extra(&format!("Vol {name} created\n"));
    true
}

fn cmd_vol_delete(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((vol, name)) = opt_vol(v, cmd) else { return false };
    let flags = u32::from(cmd.flag("delete-snapshots"));
    let r = vol.delete(flags).map_err(ApiError::from);
    if v.api(r).is_some() {
        v.print_extra(&format!("Vol {name} deleted\n"));
        true
    } else {
        v.error(&format!("Failed to delete vol {name}"));
        false
    }
}

/// Bytes read from the file per stream message.
const CHUNK: usize = 256 * 1024;

fn cmd_vol_upload(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(offset) = cmd.ull(v, "offset") else { return false };
    let Ok(length) = cmd.ull_wrap(v, "length") else { return false };
    let Some((vol, name)) = opt_vol(v, cmd) else { return false };
    let Ok(Some(file)) = cmd.string_req(v, "file") else { return false };
    let Ok(mut f) = std::fs::File::open(file) else {
        v.error(&format!("cannot read {file}"));
        return false;
    };
    let Ok(meta) = f.metadata() else {
        v.error(&format!("unable to stat {file}"));
        return false;
    };
    let sparse = cmd.flag("sparse");
    let flags = if sparse { virt::sys::VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM } else { 0 };
    let opened = virt::stream::Stream::new(v.conn().api(), 0).and_then(|stream| {
        vol.upload(&stream, offset.unwrap_or(0), length.unwrap_or(0), flags)?;
        Ok(stream)
    });
    let Some(stream) = v.api(opened.map_err(ApiError::from)) else {
        v.error(&format!("cannot upload to volume {name}"));
        return false;
    };
    let total = if meta.file_type().is_block_device() { None } else { Some(meta.len()) };
    let mut progress = Progress::new("upload", total);
    let mut buf = vec![0u8; CHUNK];
    // With --sparse, runs of zeros go as one hole each: the daemon seeks and truncates at
    // every hole, so a run split in several holes would cut what the volume holds beyond.
    let mut hole: u64 = 0;
    let send_hole = |stream: &virt::stream::Stream, hole: &mut u64| -> Result<(), virt::error::Error> {
        while *hole > 0 {
            let n = (*hole).min(i64::MAX as u64);
            stream.send_hole(i64::try_from(n).unwrap_or(i64::MAX), 0)?;
            *hole -= n;
        }
        Ok(())
    };
    let sent: Result<(), ApiError> = loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break send_hole(&stream, &mut hole).map_err(|e| stream_error(v, e)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                break Err(ApiError::new(ErrorCode::VIR_ERR_SYSTEM_ERROR, ErrorDomain::VIR_FROM_NONE, e.to_string()))
            }
        };
        let chunk = &buf[..n];
        let r = if sparse && chunk.iter().all(|&b| b == 0) {
            hole += n as u64;
            Ok(())
        } else {
            send_hole(&stream, &mut hole).and_then(|()| stream.send(chunk).map(|_| ()))
        };
        if let Err(e) = r {
            break Err(stream_error(v, e));
        }
        progress.add(n as u64);
    };
    progress.done();
    if let Err(e) = sent {
        v.last_error = Some(e);
        let _ = stream.abort();
        v.error(&format!("cannot send data to volume {name}"));
        return false;
    }
    drop(f);
    if let Err(e) = stream.finish() {
        v.last_error = Some(e.into());
        v.error(&format!("cannot close volume {name}"));
        return false;
    }
    true
}

/// The error behind a failed stream send: the connection's close reason if it is gone.
fn stream_error(v: &mut Virsh, e: virt::error::Error) -> ApiError {
    let alive = v.conn().is_alive();
    if alive {
        ApiError::from(e)
    } else {
        ApiError::new(
            ErrorCode::VIR_ERR_INTERNAL_ERROR,
            ErrorDomain::VIR_FROM_RPC,
            "internal error: client socket is closed",
        )
    }
}

fn cmd_vol_download(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(offset) = cmd.ull(v, "offset") else { return false };
    let Ok(length) = cmd.ull_wrap(v, "length") else { return false };
    let Some((vol, name)) = opt_vol(v, cmd) else { return false };
    let Ok(Some(file)) = cmd.string_req(v, "file") else { return false };
    let sparse = cmd.flag("sparse");
    let (mut out, created) = match std::fs::OpenOptions::new().write(true).create_new(true).open(file) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::OpenOptions::new().write(true).truncate(true).open(file) {
                Ok(f) => (f, false),
                Err(_) => {
                    v.error(&format!("cannot create {file}"));
                    return false;
                }
            }
        }
        Err(_) => {
            v.error(&format!("cannot create {file}"));
            return false;
        }
    };
    let cleanup = |created: bool| {
        if created {
            let _ = std::fs::remove_file(file);
        }
    };
    let Ok(meta) = out.metadata() else {
        v.error(&format!("unable to stat {file}"));
        cleanup(created);
        return false;
    };
    let is_block = meta.file_type().is_block_device();
    let (offset, length) = (offset.unwrap_or(0), length.unwrap_or(0));
    // The size for the progress bar (terminals only): what is left of the volume after the
    // offset. Asked before the stream opens: once it runs, its data must be read first.
    let total = if crate::progress::stderr_is_terminal() {
        vol.info().ok().map(|i| {
            let left = i.capacity.saturating_sub(offset);
            if length > 0 {
                left.min(length)
            } else {
                left
            }
        })
    } else {
        None
    };
    let flags = if sparse { virt::sys::VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM } else { 0 };
    let opened = virt::stream::Stream::new(v.conn().api(), 0).and_then(|stream| {
        vol.download(&stream, offset, length, flags)?;
        Ok(stream)
    });
    let Some(stream) = v.api(opened.map_err(ApiError::from)) else {
        v.error(&format!("cannot download from volume {name}"));
        cleanup(created);
        return false;
    };
    let mut progress = Progress::new("download", total);
    let mut buf = vec![0u8; CHUNK];
    let system =
        |e: std::io::Error| ApiError::new(ErrorCode::VIR_ERR_SYSTEM_ERROR, ErrorDomain::VIR_FROM_NONE, e.to_string());
    let received: Result<(), ApiError> = loop {
        let n = match stream.recv_flags(&mut buf, virt::sys::VIR_STREAM_RECV_STOP_AT_HOLE) {
            Ok(n) => n,
            Err(e) => break Err(e.into()),
        };
        if n == 0 {
            break Ok(());
        }
        if let Ok(n) = usize::try_from(n) {
            if let Err(e) = out.write_all(&buf[..n]) {
                break Err(system(e));
            }
            progress.add(n as u64);
            continue;
        }
        // -3: a hole.
        let len = match stream.recv_hole(0) {
            Ok(l) => u64::try_from(l).unwrap_or(0),
            Err(e) => break Err(e.into()),
        };
        let r = if is_block {
            let zeros = vec![0u8; 1024 * 1024];
            let mut left = len;
            let mut r = Ok(());
            while left > 0 && r.is_ok() {
                let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
                r = out.write_all(&zeros[..n]);
                left -= n as u64;
            }
            r
        } else {
            i64::try_from(len)
                .map_err(std::io::Error::other)
                .and_then(|l| out.seek(SeekFrom::Current(l)))
                .and_then(|pos| out.set_len(pos))
        };
        if let Err(e) = r {
            break Err(system(e));
        }
        progress.add(len);
    };
    progress.done();
    if let Err(e) = received {
        v.last_error = Some(e);
        let _ = stream.abort();
        v.error(&format!("cannot receive data from volume {name}"));
        cleanup(created);
        return false;
    }
    drop(out);
    if let Err(e) = stream.finish() {
        v.last_error = Some(e.into());
        v.error(&format!("cannot close volume {name}"));
        cleanup(created);
        return false;
    }
    true
}
