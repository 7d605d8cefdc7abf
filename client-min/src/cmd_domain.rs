//! Domain commands (`tools/virsh-domain.c`, `tools/virsh-domain-monitor.c`): `list`,
//! `dominfo`, `domstate`, `domid`, `domname`, `domuuid`, `dumpxml`, `define`, `undefine`,
//! `create`, `start`, `shutdown`, `destroy`, `suspend`, `resume`, `autostart`, `screenshot`.

use std::io::Read;

use bytes::Bytes;
use proto_core::programs::remote::RemoteNonnullDomain;
use proto_core::{ErrorCode, ErrorDomain};

use crate::conn::ApiError;
use crate::util::{format_uuid, strtol_i32};
use crate::vsh::{data_req, flag, int, opt, string, Cmd, CmdDef, OptType, Reporter, REQ_OPT};
use crate::Virsh;

/// A domain handle (`virDomainPtr`): name, UUID and id (−1 when inactive).
pub(crate) type Dom = RemoteNonnullDomain;

/// Look a `<domain>` up by id.
pub(crate) const BYID: u8 = 1;
/// … by UUID.
pub(crate) const BYUUID: u8 = 2;
/// … by name.
pub(crate) const BYNAME: u8 = 4;

pub(crate) const DOMAIN: crate::vsh::OptDef = data_req("domain");

pub(crate) static COMMANDS: &[CmdDef] = &[
    CmdDef { name: "autostart", opts: &[DOMAIN, flag("disable")], handler: cmd_autostart, no_connect: false },
    CmdDef {
        name: "create",
        opts: &[
            data_req("file"),
            flag("console"),
            flag("paused"),
            flag("autodestroy"),
            string("pass-fds"),
            flag("validate"),
            flag("reset-nvram"),
        ],
        handler: cmd_create,
        no_connect: false,
    },
    CmdDef { name: "define", opts: &[data_req("file"), flag("validate")], handler: cmd_define, no_connect: false },
    CmdDef {
        name: "destroy",
        opts: &[DOMAIN, flag("graceful"), flag("remove-logs")],
        handler: cmd_destroy,
        no_connect: false,
    },
    CmdDef { name: "domid", opts: &[DOMAIN], handler: cmd_domid, no_connect: false },
    CmdDef { name: "domname", opts: &[DOMAIN], handler: cmd_domname, no_connect: false },
    CmdDef { name: "domuuid", opts: &[DOMAIN], handler: cmd_domuuid, no_connect: false },
    CmdDef {
        name: "dumpxml",
        opts: &[
            DOMAIN,
            flag("inactive"),
            flag("security-info"),
            flag("update-cpu"),
            flag("migratable"),
            opt("xpath", OptType::String, REQ_OPT),
            flag("wrap"),
        ],
        handler: cmd_dumpxml,
        no_connect: false,
    },
    CmdDef {
        name: "list",
        opts: &[
            flag("inactive"),
            flag("all"),
            flag("transient"),
            flag("persistent"),
            flag("with-snapshot"),
            flag("without-snapshot"),
            flag("with-checkpoint"),
            flag("without-checkpoint"),
            flag("state-running"),
            flag("state-paused"),
            flag("state-shutoff"),
            flag("state-other"),
            flag("autostart"),
            flag("no-autostart"),
            flag("with-managed-save"),
            flag("without-managed-save"),
            flag("uuid"),
            flag("name"),
            flag("id"),
            flag("table"),
            flag("managed-save"),
            flag("title"),
        ],
        handler: crate::cmd_domain_list::cmd_list,
        no_connect: false,
    },
    CmdDef { name: "resume", opts: &[DOMAIN], handler: cmd_resume, no_connect: false },
    CmdDef {
        name: "screenshot",
        opts: &[DOMAIN, string("file"), int("screen")],
        handler: cmd_screenshot,
        no_connect: false,
    },
    CmdDef { name: "shutdown", opts: &[DOMAIN, string("mode")], handler: cmd_shutdown, no_connect: false },
    CmdDef {
        name: "start",
        opts: &[
            DOMAIN,
            flag("console"),
            flag("paused"),
            flag("autodestroy"),
            flag("bypass-cache"),
            flag("force-boot"),
            string("pass-fds"),
            flag("reset-nvram"),
        ],
        handler: cmd_start,
        no_connect: false,
    },
    CmdDef { name: "suspend", opts: &[DOMAIN], handler: cmd_suspend, no_connect: false },
    CmdDef {
        name: "undefine",
        opts: &[
            DOMAIN,
            flag("managed-save"),
            string("storage"),
            flag("remove-all-storage"),
            opt("delete-snapshots", OptType::Alias("delete-storage-volume-snapshots"), 0),
            flag("delete-storage-volume-snapshots"),
            flag("wipe-storage"),
            flag("snapshots-metadata"),
            flag("checkpoints-metadata"),
            flag("nvram"),
            flag("keep-nvram"),
            flag("tpm"),
            flag("keep-tpm"),
        ],
        handler: cmd_undefine,
        no_connect: false,
    },
];

/// `virshLookupDomainInternal`: by id if numeric, then by UUID if 36 characters, then by
/// name; each failure falls through to the next. Errors of the attempts are dropped.
pub(crate) fn lookup_domain(v: &mut Virsh, name: &str, flags: u8) -> Option<Dom> {
    let mut dom = None;
    if flags & BYID != 0 {
        if let Some(id) = strtol_i32(name).filter(|id| *id >= 0) {
            let r = v.conn().api().lookup_domain_by_id(id.unsigned_abs()).map_err(ApiError::from);
            dom = v.api(r);
        }
    }
    if dom.is_none() && flags & BYUUID != 0 && name.len() == 36 {
        let r = v.conn().api().lookup_domain_by_uuid_string(name).map_err(ApiError::from);
        dom = v.api(r);
    }
    if dom.is_none() && flags & BYNAME != 0 {
        let r = v.conn().api().lookup_domain_by_name(name).map_err(ApiError::from);
        dom = v.api(r);
    }
    v.reset_error();
    if dom.is_none() {
        v.error(&format!("failed to get domain '{name}'"));
    }
    dom.map(|d| d.to_remote())
}

/// The `virt` API's handle for `dom` on this connection.
pub(crate) fn api_domain(v: &mut Virsh, dom: &Dom) -> virt::domain::Domain {
    virt::domain::Domain::from_remote(v.conn().api(), dom.clone())
}

/// `virshCommandOptDomainBy`: the `<domain>` option, looked up; with the name as given.
pub(crate) fn opt_domain_by(v: &mut Virsh, cmd: &Cmd, flags: u8) -> Option<(Dom, String)> {
    let n = cmd.string_req(v, "domain").ok()??.to_owned();
    lookup_domain(v, &n, flags).map(|d| (d, n))
}

/// `virshCommandOptDomain`: by id, UUID or name.
pub(crate) fn opt_domain(v: &mut Virsh, cmd: &Cmd) -> Option<(Dom, String)> {
    opt_domain_by(v, cmd, BYID | BYUUID | BYNAME)
}

/// `virshDomainState`: `DOMAIN_GET_STATE`, or `DOMAIN_GET_INFO` once the former proved
/// unsupported. The reason is −1 from the fallback.
pub(crate) fn domain_state(v: &mut Virsh, dom: &Dom) -> Option<(i32, i32)> {
    if !v.use_get_info {
        let r = api_domain(v, dom).state().map_err(ApiError::from);
        match r {
            Ok((state, reason)) => return Some((i32::try_from(state.to_raw()).unwrap_or(i32::MAX), reason.to_raw())),
            Err(e) => {
                let unsupported = e.code == ErrorCode::VIR_ERR_NO_SUPPORT;
                v.last_error = Some(e);
                if !unsupported {
                    return None;
                }
                v.use_get_info = true;
            }
        }
    }
    let r = api_domain(v, dom).info().map_err(ApiError::from);
    v.api(r).map(|i| (i32::try_from(i.state.to_raw()).unwrap_or(i32::MAX), -1))
}

pub(crate) fn id_string(dom: &Dom) -> String {
    if dom.id == -1 {
        "-".to_owned()
    } else {
        // virsh prints the unsigned id with %d.
        dom.id.to_string()
    }
}

fn cmd_autostart(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    let autostart = !cmd.flag("disable");
    let r = api_domain(v, &dom).set_autostart(autostart).map_err(ApiError::from);
    if v.api(r).is_none() {
        if autostart {
            v.error(&format!("Failed to mark domain '{name}' as autostarted"));
        } else {
            v.error(&format!("Failed to unmark domain '{name}' as autostarted"));
        }
        return false;
    }
    if autostart {
        v.print_extra(&format!("Domain '{name}' marked as autostarted\n"));
    } else {
        v.print_extra(&format!("Domain '{name}' unmarked as autostarted\n"));
    }
    true
}

/// `virFileReadAll(path, VSH_MAX_XML_FILE)`.
pub(crate) fn read_file(v: &mut Virsh, path: &str) -> Option<Bytes> {
    const VSH_MAX_XML_FILE: u64 = 10 * 1024 * 1024;
    let sys = |m: String| ApiError::new(ErrorCode::VIR_ERR_SYSTEM_ERROR, ErrorDomain::VIR_FROM_NONE, m);
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            v.last_error = Some(sys(format!("Failed to open file '{path}': {}", crate::util::strerror(&e))));
            return None;
        }
    };
    let mut buf = Vec::new();
    match (&mut f).take(VSH_MAX_XML_FILE + 1).read_to_end(&mut buf) {
        Ok(n) if n as u64 > VSH_MAX_XML_FILE => {
            v.last_error = Some(ApiError::new(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_NONE,
                format!("internal error: File '{path}' is too large"),
            ));
            None
        }
        Ok(_) => Some(Bytes::from(buf)),
        Err(e) => {
            v.last_error = Some(sys(format!("Failed to read file '{path}': {}", crate::util::strerror(&e))));
            None
        }
    }
}

fn cmd_create(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(Some(from)) = cmd.string_req(v, "file") else { return false };
    let Some(xml) = read_file(v, from) else { return false };
    if cmd.flag("pass-fds") {
        v.error("passing file descriptors is not supported");
        return false;
    }
    let mut flags = 0;
    for (name, bit) in [("paused", 1), ("autodestroy", 2), ("validate", 4), ("reset-nvram", 32)] {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    let xml = String::from_utf8_lossy(&xml).into_owned();
    let r = v.conn().api().create_domain_xml(&xml, flags).map_err(ApiError::from);
    let Some(dom) = v.api(r) else {
        v.error(&format!("Failed to create domain from {from}"));
        return false;
    };
    v.print_extra(&format!("Domain '{}' created from {from}\n", dom.name().unwrap_or_default()));
    true
}

fn cmd_define(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(Some(from)) = cmd.string_req(v, "file") else { return false };
    let validate = cmd.flag("validate");
    let Some(xml) = read_file(v, from) else { return false };
    let xml = String::from_utf8_lossy(&xml).into_owned();
    let r =
        if validate { v.conn().api().define_domain_xml_flags(&xml, 1) } else { v.conn().api().define_domain_xml(&xml) }
            .map_err(ApiError::from);
    let Some(dom) = v.api(r) else {
        v.error(&format!("Failed to define domain from {from}"));
        return false;
    };
    v.print_extra(&format!("Domain '{}' defined from {from}\n", dom.name().unwrap_or_default()));
    true
}

fn cmd_destroy(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    let mut flags = 0;
    if cmd.flag("graceful") {
        flags |= 1;
    }
    if cmd.flag("remove-logs") {
        flags |= 2;
    }
    let d = api_domain(v, &dom);
    let r = if flags != 0 { d.destroy_flags(flags) } else { d.destroy() }.map_err(ApiError::from);
    if v.api(r).is_none() {
        v.error(&format!("Failed to destroy domain '{name}'"));
        return false;
    }
    v.print_extra(&format!("Domain '{name}' destroyed\n"));
    true
}

fn cmd_domid(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, _)) = opt_domain_by(v, cmd, BYNAME | BYUUID) else { return false };
    v.print(&format!("{}\n", id_string(&dom)));
    true
}

fn cmd_domname(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, _)) = opt_domain_by(v, cmd, BYID | BYUUID) else { return false };
    v.print(&format!("{}\n", dom.name));
    true
}

fn cmd_domuuid(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, _)) = opt_domain_by(v, cmd, BYNAME | BYID) else { return false };
    v.print(&format!("{}\n", format_uuid(&dom.uuid)));
    true
}

fn cmd_dumpxml(v: &mut Virsh, cmd: &Cmd) -> bool {
    let mut flags = 0;
    for (name, bit) in [("inactive", 2), ("security-info", 1), ("update-cpu", 4), ("migratable", 8)] {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    let Some((dom, _)) = opt_domain(v, cmd) else { return false };
    let Ok(xpath) = cmd.string_quiet("xpath") else { return false };
    if xpath.is_some() {
        v.error("--xpath is not supported by client-min");
        return false;
    }
    let r = api_domain(v, &dom).xml_desc(flags).map_err(ApiError::from);
    let Some(x) = v.api(r) else { return false };
    v.print(&x);
    true
}

fn cmd_resume(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    let r = api_domain(v, &dom).resume().map_err(ApiError::from);
    if v.api(r).is_none() {
        v.error(&format!("Failed to resume domain '{name}'"));
        return false;
    }
    v.print_extra(&format!("Domain '{name}' resumed\n"));
    true
}

fn cmd_suspend(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    let r = api_domain(v, &dom).suspend().map_err(ApiError::from);
    if v.api(r).is_none() {
        v.error(&format!("Failed to suspend domain '{name}'"));
        return false;
    }
    v.print_extra(&format!("Domain '{name}' suspended\n"));
    true
}

fn cmd_shutdown(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(mode) = cmd.string_req(v, "mode") else { return false };
    let mut flags = 0u32;
    if let Some(mode) = mode {
        for m in mode.split(',') {
            flags |= match m {
                "acpi" => 1,
                "agent" => 2,
                "initctl" => 4,
                "signal" => 8,
                "paravirt" => 16,
                _ => {
                    v.error(&format!(
                        "Unknown mode {m} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'"
                    ));
                    return false;
                }
            };
        }
    }
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    let d = api_domain(v, &dom);
    let r = if flags != 0 { d.shutdown_flags(flags) } else { d.shutdown() }.map_err(ApiError::from);
    if v.api(r).is_none() {
        v.error(&format!("Failed to shutdown domain '{name}'"));
        return false;
    }
    v.print_extra(&format!("Domain '{name}' is being shutdown\n"));
    true
}

fn cmd_start(v: &mut Virsh, cmd: &Cmd) -> bool {
    if cmd.flag("console") {
        v.error("--console is not supported by client-min");
        return false;
    }
    let Some((mut dom, _)) = opt_domain_by(v, cmd, BYNAME | BYUUID) else { return false };
    if dom.id != -1 {
        v.error("Domain is already active");
        return false;
    }
    if cmd.flag("pass-fds") {
        v.error("passing file descriptors is not supported");
        return false;
    }
    let mut flags = 0u32;
    for (name, bit) in [("paused", 1), ("autodestroy", 2), ("bypass-cache", 4), ("force-boot", 8), ("reset-nvram", 16)]
    {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    let with_flags = |v: &mut Virsh, dom: &Dom, flags: u32| {
        let d = api_domain(v, dom);
        d.create_with_flags(flags).map(|()| d.to_remote()).map_err(ApiError::from)
    };
    let mut started = false;
    if flags & 8 != 0 {
        // Force boot can be emulated for servers that refuse the flag.
        match with_flags(v, &dom, flags) {
            Ok(d) => {
                dom = d;
                started = true;
            }
            Err(e) => {
                if !matches!(e.code, ErrorCode::VIR_ERR_NO_SUPPORT | ErrorCode::VIR_ERR_INVALID_ARG) {
                    v.last_error = Some(e);
                    v.report_error();
                    return false;
                }
                v.reset_error();
                let d = api_domain(v, &dom);
                match d.has_managed_save(0) {
                    Err(_) => v.reset_error(),
                    Ok(true) => {
                        let r = d.managed_save_remove(0).map_err(ApiError::from);
                        if v.api(r).is_none() {
                            v.report_error();
                            return false;
                        }
                    }
                    Ok(false) => {}
                }
                flags &= !8;
            }
        }
    }
    if !started {
        let r = if flags != 0 {
            with_flags(v, &dom, flags)
        } else {
            // virDomainCreate: DOMAIN_CREATE, then the lookup by UUID for the new id.
            let d = api_domain(v, &dom);
            d.create().map(|()| d.to_remote()).map_err(ApiError::from)
        };
        match v.api(r) {
            Some(d) => dom = d,
            None => {
                v.error(&format!("Failed to start domain '{}'", dom.name));
                return false;
            }
        }
    }
    v.print_extra(&format!("Domain '{}' started\n", dom.name));
    true
}

fn cmd_screenshot(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(file) = cmd.string_req(v, "file") else { return false };
    let Ok(screen) = cmd.uint(v, "screen") else { return false };
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    // virsh: virStreamNew, virDomainScreenshot, virStreamRecvAll, virStreamFinish.
    let d = api_domain(v, &dom);
    let stream = virt::stream::Stream::new(v.conn().api(), 0).map_err(ApiError::from);
    let r =
        stream.and_then(|st| d.screenshot(&st, screen.unwrap_or(0), 0).map(|mime| (mime, st)).map_err(ApiError::from));
    let Some((mime, stream)) = v.api(r) else {
        v.error(&format!("could not take a screenshot of {name}"));
        return false;
    };
    let (path, _generated) = match file {
        Some(f) => (f.to_owned(), false),
        None => {
            let ext = match mime.as_str() {
                "image/x-portable-pixmap" => ".ppm",
                "image/png" => ".png",
                _ => "",
            };
            (format!("{}-{}{ext}", dom.name, crate::progress::local_timestamp()), true)
        }
    };
    let (mut out, created) = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::OpenOptions::new().write(true).truncate(true).open(&path) {
                Ok(f) => (f, false),
                Err(_) => {
                    let _ = stream.abort();
                    v.error(&format!("cannot create file {path}"));
                    return false;
                }
            }
        }
        Err(_) => {
            let _ = stream.abort();
            v.error(&format!("cannot create file {path}"));
            return false;
        }
    };
    let mut buf = vec![0u8; 256 * 1024];
    let received = loop {
        match stream.recv(&mut buf) {
            Ok(0) => break true,
            Ok(n) => {
                let n = usize::try_from(n).unwrap_or(0).min(buf.len());
                if std::io::Write::write_all(&mut out, &buf[..n]).is_err() {
                    break false;
                }
            }
            Err(_) => break false,
        }
    };
    if !received {
        v.error(&format!("could not receive data from domain '{name}'"));
        if created {
            let _ = std::fs::remove_file(&path);
        }
        return false;
    }
    drop(out);
    if let Err(e) = stream.finish() {
        v.last_error = Some(e.into());
        v.error(&format!("cannot close stream on domain '{name}'"));
        if created {
            let _ = std::fs::remove_file(&path);
        }
        return false;
    }
    v.print_extra(&format!("Screenshot saved to {path}, with type of {mime}"));
    true
}

fn cmd_undefine(v: &mut Virsh, cmd: &Cmd) -> bool {
    let managed_save = cmd.flag("managed-save");
    let snapshots_metadata = cmd.flag("snapshots-metadata");
    let nvram = cmd.flag("nvram");
    if !cmd.requires(v, "delete-storage-volume-snapshots", "remove-all-storage")
        || !cmd.exclusive(v, "nvram", "keep-nvram")
        || !cmd.exclusive(v, "tpm", "keep-tpm")
    {
        return false;
    }
    let vol_string = cmd.string_quiet("storage").ok().flatten();
    let remove_all = cmd.flag("remove-all-storage");
    if !(vol_string.is_some() || remove_all) && cmd.flag("wipe-storage") {
        v.error("'--wipe-storage' requires '--storage <string>' or '--remove-all-storage'");
        return false;
    }
    let mut flags = 0u32;
    let (mut managed_save_safe, mut snapshots_safe) = (false, false);
    if managed_save {
        flags |= 1;
        managed_save_safe = true;
    }
    if snapshots_metadata {
        flags |= 2;
        snapshots_safe = true;
    }
    for (name, bit) in [("checkpoints-metadata", 16), ("nvram", 4), ("keep-nvram", 8), ("tpm", 32), ("keep-tpm", 64)] {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    let Some((dom, name)) = opt_domain(v, cmd) else { return false };
    let d = api_domain(v, &dom);
    let r = d.is_active().map_err(ApiError::from);
    let Some(running) = v.api(r) else {
        v.report_error();
        return false;
    };
    let (mut has_managed_save, mut has_snapshots, mut has_snapshots_metadata) = (0, 0, 0);
    if !running {
        let r = d.has_managed_save(0).map_err(ApiError::from);
        match v.api(r) {
            Some(m) => has_managed_save = i32::from(m),
            None => {
                if v.last_code() != Some(ErrorCode::VIR_ERR_NO_SUPPORT) {
                    v.report_error();
                    return false;
                }
                v.reset_error();
            }
        }
        let r = d.num_snapshots(0).map_err(ApiError::from);
        match v.api(r) {
            Some(n) => has_snapshots = n,
            None => {
                if v.last_code() != Some(ErrorCode::VIR_ERR_NO_SUPPORT) {
                    v.report_error();
                    return false;
                }
                v.reset_error();
            }
        }
        if has_snapshots != 0 {
            // VIR_DOMAIN_SNAPSHOT_LIST_METADATA
            match d.num_snapshots(2) {
                Ok(n) => {
                    has_snapshots_metadata = n;
                    managed_save_safe = true;
                    snapshots_safe = true;
                }
                Err(_) => {
                    v.reset_error();
                    has_snapshots_metadata = has_snapshots;
                }
            }
        }
    }
    if has_managed_save == 0 {
        flags &= !1;
        managed_save_safe = true;
    }
    if has_snapshots == 0 {
        snapshots_safe = true;
    }
    if has_snapshots_metadata == 0 {
        flags &= !2;
        snapshots_safe = true;
    }
    if vol_string.is_some() || remove_all {
        if running {
            v.error("Storage volume deletion is supported only on stopped domains");
            return false;
        }
        if vol_string.is_some() && remove_all {
            v.error("Specified both --storage and --remove-all-storage");
            return false;
        }
        v.error("removing storage volumes is not supported by client-min");
        return false;
    }
    let mut rc = None;
    if (managed_save_safe && snapshots_safe) || nvram {
        match d.undefine_flags(flags).map_err(ApiError::from) {
            Ok(()) => rc = Some(true),
            Err(e) => {
                let fallback =
                    !nvram && matches!(e.code, ErrorCode::VIR_ERR_NO_SUPPORT | ErrorCode::VIR_ERR_INVALID_ARG);
                v.last_error = Some(e);
                if fallback {
                    v.reset_error();
                } else {
                    rc = Some(false);
                }
            }
        }
    }
    if rc.is_none() {
        if has_managed_save != 0 {
            if !managed_save {
                v.error("Refusing to undefine while domain managed save image exists");
                return false;
            }
            let r = d.managed_save_remove(0).map_err(ApiError::from);
            if v.api(r).is_none() {
                v.report_error();
                return false;
            }
        }
        if has_snapshots_metadata != 0 {
            if snapshots_metadata {
                v.error(&format!("Unable to remove metadata of {has_snapshots_metadata} snapshots"));
            } else {
                v.error(&format!("Refusing to undefine while {has_snapshots_metadata} snapshots exist"));
            }
            return false;
        }
        let r = d.undefine().map_err(ApiError::from);
        rc = Some(v.api(r).is_some());
    }
    if rc == Some(true) {
        v.print_extra(&format!("Domain '{name}' has been undefined\n"));
        true
    } else {
        v.error(&format!("Failed to undefine domain '{name}'"));
        false
    }
}
