//! Storage pool commands (`tools/virsh-pool.c`): `pool-list`, `pool-info`, and the pool
//! lookup the volume commands share.

use proto_core::ErrorCode;

use crate::conn::ApiError;
use crate::table::Table;
use crate::util::{ascii_casecmp, pretty_capacity};
use crate::vsh::{data_req, flag, string, Cmd, CmdDef, Reporter};
use crate::Virsh;

pub(crate) type Pool = virt::storage_pool::StoragePool;

pub(crate) static COMMANDS: &[CmdDef] = &[
    CmdDef { name: "pool-info", opts: &[data_req("pool"), flag("bytes")], handler: cmd_pool_info, no_connect: false },
    CmdDef {
        name: "pool-list",
        opts: &[
            flag("inactive"),
            flag("all"),
            flag("transient"),
            flag("persistent"),
            flag("autostart"),
            flag("no-autostart"),
            string("type"),
            flag("details"),
            flag("uuid"),
            flag("name"),
        ],
        handler: cmd_pool_list,
        no_connect: false,
    },
];

/// `virshCommandOptPoolBy` with UUID then name; the lookup error is kept for the report.
pub(crate) fn opt_pool(v: &mut Virsh, cmd: &Cmd, optname: &str) -> Option<Pool> {
    let n = cmd.string_req(v, optname).ok()??.to_owned();
    let mut pool = None;
    if n.len() == 36 {
        let r = v.conn().api().lookup_storage_pool_by_uuid_string(&n).map_err(ApiError::from);
        pool = v.api(r);
    }
    if pool.is_none() {
        let r = v.conn().api().lookup_storage_pool_by_name(&n).map_err(ApiError::from);
        pool = v.api(r);
    }
    if pool.is_none() {
        v.error(&format!("failed to get pool '{n}'"));
    }
    pool
}

/// `VIR_CONNECT_LIST_STORAGE_POOLS_*` and the pool types.
const INACTIVE: u32 = 1;
const ACTIVE: u32 = 2;
const PERSISTENT: u32 = 4;
const TRANSIENT: u32 = 8;
const AUTOSTART: u32 = 16;
const NO_AUTOSTART: u32 = 32;
const POOL_TYPES: &[(&str, u32)] = &[
    ("dir", 1 << 6),
    ("fs", 1 << 7),
    ("netfs", 1 << 8),
    ("logical", 1 << 9),
    ("disk", 1 << 10),
    ("iscsi", 1 << 11),
    ("iscsi-direct", 1 << 19),
    ("scsi", 1 << 12),
    ("mpath", 1 << 13),
    ("rbd", 1 << 14),
    ("sheepdog", 1 << 15),
    ("gluster", 1 << 16),
    ("zfs", 1 << 17),
    ("vstorage", 1 << 18),
];
const TYPE_FILTERS: u32 = 0xFFFC0;

/// `virshStoragePoolListCollect`.
fn collect_pools(v: &mut Virsh, flags: u32) -> Option<Vec<Pool>> {
    let all = |v: &mut Virsh, flags: u32| {
        let r = v.conn().api().list_all_storage_pools(flags).map_err(ApiError::from);
        v.api(r)
    };
    let (mut list, filter) = if let Some(l) = all(v, flags) {
        (l, false)
    } else if v.last_code() == Some(ErrorCode::VIR_ERR_NO_SUPPORT) {
        v.reset_error();
        if flags & TYPE_FILTERS != 0 {
            v.error("Filtering using --type is not supported by this libvirt");
            return None;
        }
        (collect_pools_old(v, flags)?, true)
    } else if v.last_code() == Some(ErrorCode::VIR_ERR_INVALID_ARG) {
        v.reset_error();
        match all(v, flags & (ACTIVE | INACTIVE)) {
            Some(l) => (l, true),
            None => {
                v.error("Failed to list pools");
                return None;
            }
        }
    } else {
        v.error("Failed to list pools");
        return None;
    };
    if filter {
        let mut kept = Vec::new();
        for pool in list {
            if flags & (PERSISTENT | TRANSIENT) != 0 {
                let r = pool.is_persistent().map_err(ApiError::from);
                let Some(p) = v.api(r) else {
                    v.error("Failed to get pool persistence info");
                    return None;
                };
                if !((flags & PERSISTENT != 0 && p) || (flags & TRANSIENT != 0 && !p)) {
                    continue;
                }
            }
            if flags & (AUTOSTART | NO_AUTOSTART) != 0 {
                let r = pool.autostart().map_err(ApiError::from);
                let Some(a) = v.api(r) else {
                    v.error("Failed to get pool autostart state");
                    return None;
                };
                if !((flags & AUTOSTART != 0 && a) || (flags & NO_AUTOSTART != 0 && !a)) {
                    continue;
                }
            }
            kept.push(pool);
        }
        list = kept;
    }
    list.sort_by(|a, b| ascii_casecmp(&a.name().unwrap_or_default(), &b.name().unwrap_or_default()));
    Some(list)
}

/// The listing before 0.10.2 (defined names fetched only with active ones, as virsh does).
fn collect_pools_old(v: &mut Virsh, flags: u32) -> Option<Vec<Pool>> {
    let filters_active = flags & (ACTIVE | INACTIVE) != 0;
    let want_active = !filters_active || flags & ACTIVE != 0;
    let want_inactive = !filters_active || flags & INACTIVE != 0;
    let (mut n_active, mut n_inactive) = (0, 0);
    if want_active {
        let r = v.conn().api().num_of_storage_pools().map_err(ApiError::from);
        let Some(n) = v.api(r) else {
            v.error("Failed to get the number of active pools ");
            return None;
        };
        n_active = n;
    }
    if want_inactive {
        let r = v.conn().api().num_of_defined_storage_pools().map_err(ApiError::from);
        let Some(n) = v.api(r) else {
            v.error("Failed to get the number of inactive pools");
            return None;
        };
        n_inactive = n;
    }
    if n_active.saturating_add(n_inactive) == 0 {
        return Some(Vec::new());
    }
    let mut names = Vec::new();
    if want_active {
        let r = v.conn().api().list_storage_pools_max(n_active).map_err(ApiError::from);
        let Some(l) = v.api(r) else {
            v.error("Failed to list active pools");
            return None;
        };
        names.extend(l);
        let r = v.conn().api().list_defined_storage_pools_max(n_inactive).map_err(ApiError::from);
        let Some(l) = v.api(r) else {
            v.error("Failed to list inactive pools");
            return None;
        };
        names.extend(l);
    }
    let mut out = Vec::new();
    for name in names {
        let r = v.conn().api().lookup_storage_pool_by_name(&name).map_err(ApiError::from);
        if let Some(p) = v.api(r) {
            out.push(p);
        }
    }
    Some(out)
}

/// `virshStoragePoolStateToString`.
fn pool_state(state: u32) -> &'static str {
    ["inactive", "building", "running", "degraded", "inaccessible"]
        .get(usize::try_from(state).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or("unknown")
}

pub(crate) fn pretty(val: u64) -> String {
    let (v, unit) = pretty_capacity(val);
    format!("{v:.2} {unit}")
}

fn cmd_pool_list(v: &mut Virsh, cmd: &Cmd) -> bool {
    let details = cmd.flag("details");
    let inactive = cmd.flag("inactive");
    let all = cmd.flag("all");
    if all && inactive {
        v.error("Options --all and --inactive are mutually exclusive");
        return false;
    }
    let mut flags = ACTIVE;
    if inactive {
        flags = INACTIVE;
    }
    if all {
        flags = ACTIVE | INACTIVE;
    }
    for (name, bit) in
        [("autostart", AUTOSTART), ("no-autostart", NO_AUTOSTART), ("persistent", PERSISTENT), ("transient", TRANSIENT)]
    {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    let uuid = cmd.flag("uuid");
    let name = cmd.flag("name");
    let Ok(ty) = cmd.string_req(v, "type") else { return false };
    if !cmd.exclusive(v, "details", "uuid") || !cmd.exclusive(v, "details", "name") {
        return false;
    }
    if let Some(ty) = ty {
        for t in ty.split(',') {
            match POOL_TYPES.iter().find(|(n, _)| *n == t) {
                Some((_, bit)) => flags |= bit,
                None => {
                    v.error(&format!("Invalid pool type '{t}'"));
                    return false;
                }
            }
        }
    }
    let Some(list) = collect_pools(v, flags) else { return false };
    struct Text {
        state: String,
        autostart: &'static str,
        persistent: &'static str,
        capacity: String,
        allocation: String,
        available: String,
    }
    let mut texts = Vec::with_capacity(list.len());
    for pool in &list {
        let r = pool.autostart().map_err(ApiError::from);
        let autostart = match v.api(r) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "no autostart",
        };
        let mut persistent = "";
        if details {
            let r = pool.is_persistent().map_err(ApiError::from);
            persistent = match v.api(r) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            };
        }
        let mut t = Text {
            state: String::new(),
            autostart,
            persistent,
            capacity: String::new(),
            allocation: String::new(),
            available: String::new(),
        };
        let r = pool.info().map_err(ApiError::from);
        match v.api(r) {
            None => {
                v.error("Could not retrieve pool information");
                t.state = "unknown".into();
                if details {
                    t.capacity = "unknown".into();
                    t.allocation = "unknown".into();
                    t.available = "unknown".into();
                }
            }
            Some(info) if details => {
                t.state = pool_state(info.state).into();
                if matches!(info.state, 2 | 3) {
                    t.capacity = pretty(info.capacity);
                    t.allocation = pretty(info.allocation);
                    t.available = pretty(info.available);
                } else {
                    t.capacity = "-".into();
                    t.allocation = "-".into();
                    t.available = "-".into();
                }
            }
            Some(_) => {
                let r = pool.is_active().map_err(ApiError::from);
                // virsh tests the int: an error (−1) counts as active.
                let active = v.api(r).map_or(-1, i32::from);
                t.state = if active != 0 { "active" } else { "inactive" }.into();
            }
        }
        texts.push(t);
    }
    if !details {
        if uuid || name {
            let mut out = String::new();
            for pool in &list {
                if uuid {
                    out += &format!("{:<36}{}", pool.uuid_string().unwrap_or_default(), if name { ' ' } else { '\n' });
                }
                if name {
                    out += &format!("{:<20}\n", pool.name().unwrap_or_default());
                }
            }
            v.print(&out);
            return true;
        }
        let mut table = Table::new(&["Name", "State", "Autostart"]);
        for (pool, t) in list.iter().zip(&texts) {
            table.row(&[&pool.name().unwrap_or_default(), &t.state, t.autostart]);
        }
        let out = table.render(!v.quiet);
        v.print(&out);
        return true;
    }
    let mut table = Table::new(&["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"]);
    for (pool, t) in list.iter().zip(&texts) {
        table.row(&[
            &pool.name().unwrap_or_default(),
            &t.state,
            t.autostart,
            t.persistent,
            &t.capacity,
            &t.allocation,
            &t.available,
        ]);
    }
    let out = table.render(!v.quiet);
    v.print(&out);
    true
}

fn cmd_pool_info(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some(pool) = opt_pool(v, cmd, "pool") else { return false };
    let bytes = cmd.flag("bytes");
    let line = |label: &str, value: &str| format!("{label:<15} {value}\n");
    v.print(&line("Name:", &pool.name().unwrap_or_default()));
    v.print(&line("UUID:", &pool.uuid_string().unwrap_or_default()));
    let r = pool.info().map_err(ApiError::from);
    let Some(info) = v.api(r) else { return false };
    v.print(&line("State:", pool_state(info.state)));
    let r = pool.is_persistent().map_err(ApiError::from);
    match v.api(r) {
        Some(p) => v.print(&line("Persistent:", if p { "yes" } else { "no" })),
        None => v.print(&line("Persistent:", "unknown")),
    }
    let r = pool.autostart().map_err(ApiError::from);
    match v.api(r) {
        Some(a) => v.print(&line("Autostart:", if a { "yes" } else { "no" })),
        None => v.print(&line("Autostart:", "no autostart")),
    }
    if matches!(info.state, 2 | 3) {
        let show = |n: u64| if bytes { n.to_string() } else { pretty(n) };
        v.print(&line("Capacity:", &show(info.capacity)));
        v.print(&line("Allocation:", &show(info.allocation)));
        v.print(&line("Available:", &show(info.available)));
    }
    true
}
