//! `list` (`tools/virsh-domain-monitor.c`'s `cmdList`): the domains a connection lists, with
//! virsh's fallbacks for daemons without `CONNECT_LIST_ALL_DOMAINS`, and the table it prints.

use proto_core::ErrorCode;

use crate::cmd_domain::*;
use crate::cmd_domain_monitor::state_to_string;
use crate::conn::ApiError;
use crate::table::Table;
use crate::util::{ascii_casecmp, format_uuid};
use crate::vsh::{Cmd, Reporter};
use crate::Virsh;

/// `VIR_CONNECT_LIST_DOMAINS_*`.
mod list_flags {
    pub(super) const ACTIVE: u32 = 1;
    pub(super) const INACTIVE: u32 = 2;
    pub(super) const PERSISTENT: u32 = 4;
    pub(super) const TRANSIENT: u32 = 8;
    pub(super) const RUNNING: u32 = 16;
    pub(super) const PAUSED: u32 = 32;
    pub(super) const SHUTOFF: u32 = 64;
    pub(super) const OTHER: u32 = 128;
    pub(super) const MANAGEDSAVE: u32 = 256;
    pub(super) const NO_MANAGEDSAVE: u32 = 512;
    pub(super) const AUTOSTART: u32 = 1024;
    pub(super) const NO_AUTOSTART: u32 = 2048;
    pub(super) const HAS_SNAPSHOT: u32 = 4096;
    pub(super) const NO_SNAPSHOT: u32 = 8192;
    pub(super) const HAS_CHECKPOINT: u32 = 16384;
    pub(super) const NO_CHECKPOINT: u32 = 32768;
}

/// `virshDomainListCollect`: `CONNECT_LIST_ALL_DOMAINS`, or the old calls (and the filters
/// simulated on the client) when the server does not know it.
fn collect_domains(v: &mut Virsh, flags: u32) -> Option<Vec<Dom>> {
    use list_flags::*;
    let all = |v: &mut Virsh, flags: u32| {
        let r = v.conn().api().list_all_domains(flags).map_err(ApiError::from);
        v.api(r).map(|l| l.iter().map(virt::domain::Domain::to_remote).collect::<Vec<_>>())
    };
    let (mut list, filter) = if let Some(l) = all(v, flags) {
        (l, false)
    } else if v.last_code() == Some(ErrorCode::VIR_ERR_INVALID_ARG) {
        v.reset_error();
        match all(v, flags & (ACTIVE | INACTIVE)) {
            Some(l) => (l, true),
            None => {
                v.error("Failed to list domains");
                return None;
            }
        }
    } else if v.last_code() == Some(ErrorCode::VIR_ERR_NO_SUPPORT) {
        v.reset_error();
        (collect_domains_old(v, flags)?, true)
    } else {
        v.error("Failed to list domains");
        return None;
    };
    if filter {
        let mut kept = Vec::with_capacity(list.len());
        for dom in list {
            let d = api_domain(v, &dom);
            if flags & (PERSISTENT | TRANSIENT) != 0 {
                let r = d.is_persistent().map_err(ApiError::from);
                let Some(p) = v.api(r) else {
                    v.error("Failed to get domain persistence info");
                    return None;
                };
                if !((flags & PERSISTENT != 0 && p) || (flags & TRANSIENT != 0 && !p)) {
                    continue;
                }
            }
            if flags & (RUNNING | PAUSED | SHUTOFF | OTHER) != 0 {
                let r = d.state().map_err(ApiError::from);
                let Some((s, _)) = v.api(r) else {
                    v.error("Failed to get domain state");
                    return None;
                };
                let s = s.to_raw();
                if !((flags & RUNNING != 0 && s == 1)
                    || (flags & PAUSED != 0 && s == 3)
                    || (flags & SHUTOFF != 0 && s == 5)
                    || (flags & OTHER != 0 && !matches!(s, 1 | 3 | 5)))
                {
                    continue;
                }
            }
            if flags & (AUTOSTART | NO_AUTOSTART) != 0 {
                let r = d.autostart().map_err(ApiError::from);
                let Some(a) = v.api(r) else {
                    v.error("Failed to get domain autostart state");
                    return None;
                };
                if !((flags & AUTOSTART != 0 && a) || (flags & NO_AUTOSTART != 0 && !a)) {
                    continue;
                }
            }
            if flags & (MANAGEDSAVE | NO_MANAGEDSAVE) != 0 {
                let r = d.has_managed_save(0).map_err(ApiError::from);
                let Some(m) = v.api(r) else {
                    v.error("Failed to check for managed save image");
                    return None;
                };
                if !((flags & MANAGEDSAVE != 0 && m) || (flags & NO_MANAGEDSAVE != 0 && !m)) {
                    continue;
                }
            }
            if flags & (HAS_SNAPSHOT | NO_SNAPSHOT) != 0 {
                let r = d.num_snapshots(0).map_err(ApiError::from);
                let Some(n) = v.api(r) else {
                    v.error("Failed to get snapshot count");
                    return None;
                };
                if !((flags & HAS_SNAPSHOT != 0 && n > 0) || (flags & NO_SNAPSHOT != 0 && n == 0)) {
                    continue;
                }
            }
            if flags & (HAS_CHECKPOINT | NO_CHECKPOINT) != 0 {
                v.error("Failed to get checkpoint count");
                return None;
            }
            kept.push(dom);
        }
        list = kept;
    }
    list.sort_by(|a, b| match (a.id, b.id) {
        (-1, -1) => ascii_casecmp(&a.name.to_string_lossy(), &b.name.to_string_lossy()),
        (-1, _) => std::cmp::Ordering::Greater,
        (_, -1) => std::cmp::Ordering::Less,
        (x, y) => x.cmp(&y),
    });
    Some(list)
}

/// The listing of libvirt before 0.9.13: numbers, ids and names, then one lookup each.
fn collect_domains_old(v: &mut Virsh, flags: u32) -> Option<Vec<Dom>> {
    use list_flags::*;
    let filters_active = flags & (ACTIVE | INACTIVE) != 0;
    let mut ids = Vec::new();
    let mut names = Vec::new();
    if !filters_active || flags & ACTIVE != 0 {
        let r = v.conn().api().num_of_domains().map_err(ApiError::from);
        let Some(n) = v.api(r) else {
            v.error("Failed to list active domains");
            return None;
        };
        if n > 0 {
            let r = v.conn().api().list_domains_max(n).map_err(ApiError::from);
            let Some(l) = v.api(r) else {
                v.error("Failed to list active domains");
                return None;
            };
            ids = l;
        }
    }
    if !filters_active || flags & INACTIVE != 0 {
        let r = v.conn().api().num_of_defined_domains().map_err(ApiError::from);
        let Some(n) = v.api(r) else {
            v.error("Failed to list inactive domains");
            return None;
        };
        if n > 0 {
            let r = v.conn().api().list_defined_domains_max(n).map_err(ApiError::from);
            let Some(l) = v.api(r) else {
                v.error("Failed to list inactive domains");
                return None;
            };
            names = l;
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let r = v.conn().api().lookup_domain_by_id(id).map_err(ApiError::from);
        if let Some(d) = v.api(r) {
            out.push(d.to_remote());
        }
    }
    for name in names {
        let r = v.conn().api().lookup_domain_by_name(&name).map_err(ApiError::from);
        if let Some(d) = v.api(r) {
            out.push(d.to_remote());
        }
    }
    Some(out)
}

pub(crate) fn cmd_list(v: &mut Virsh, cmd: &Cmd) -> bool {
    use list_flags::*;
    let managed = cmd.flag("managed-save");
    let opt_title = cmd.flag("title");
    let mut opt_table = cmd.flag("table");
    let opt_uuid = cmd.flag("uuid");
    let opt_name = cmd.flag("name");
    let opt_id = cmd.flag("id");
    let mut flags = ACTIVE;
    if cmd.flag("inactive") || cmd.flag("state-shutoff") {
        flags = INACTIVE;
    }
    if cmd.flag("all") {
        flags = INACTIVE | ACTIVE;
    }
    for (name, bit) in [
        ("persistent", PERSISTENT),
        ("transient", TRANSIENT),
        ("with-managed-save", MANAGEDSAVE),
        ("without-managed-save", NO_MANAGEDSAVE),
        ("autostart", AUTOSTART),
        ("no-autostart", NO_AUTOSTART),
        ("with-snapshot", HAS_SNAPSHOT),
        ("without-snapshot", NO_SNAPSHOT),
        ("with-checkpoint", HAS_CHECKPOINT),
        ("without-checkpoint", NO_CHECKPOINT),
        ("state-running", RUNNING),
        ("state-paused", PAUSED),
        ("state-shutoff", SHUTOFF),
        ("state-other", OTHER),
    ] {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    if !cmd.exclusive(v, "table", "name") || !cmd.exclusive(v, "table", "uuid") || !cmd.exclusive(v, "table", "id") {
        return false;
    }
    if opt_title {
        v.error("--title is not supported by client-min");
        return false;
    }
    if !opt_uuid && !opt_name && !opt_id {
        opt_table = true;
    }
    let Some(list) = collect_domains(v, flags) else { return false };
    let mut table = Table::new(&["Id", "Name", "State"]);
    for dom in &list {
        let id = id_string(dom);
        let name = dom.name.to_string_lossy().into_owned();
        if opt_table {
            let Some((mut state, _)) = domain_state(v, dom) else { continue };
            if managed && state == 5 {
                let r = api_domain(v, dom).has_managed_save(0).map_err(ApiError::from);
                if v.api(r) == Some(true) {
                    state = -2;
                }
            }
            table.row(&[&id, &name, if state == -2 { "saved" } else { state_to_string(state) }]);
        } else {
            let mut line = String::new();
            let mut sep = "";
            if opt_uuid {
                line.push_str(&format_uuid(&dom.uuid));
                sep = " ";
            }
            if opt_id {
                if dom.id == -1 && !opt_uuid && !opt_name {
                    continue;
                }
                line.push_str(sep);
                line.push_str(&id);
                sep = " ";
            }
            if opt_name {
                line.push_str(sep);
                line.push_str(&name);
            }
            line.push('\n');
            v.print(&line);
        }
    }
    if opt_table {
        let out = table.render(!v.quiet);
        v.print(&out);
    }
    true
}
