//! Network commands (`tools/virsh-network.c`): `net-list`, `net-info`, `net-dumpxml`.

use proto_core::ErrorCode;

use crate::conn::ApiError;
use crate::table::Table;
use crate::util::ascii_casecmp;
use crate::vsh::{data_req, flag, opt, Cmd, CmdDef, OptType, Reporter, REQ_OPT};
use crate::Virsh;

type Net = virt::network::Network;

pub(crate) static COMMANDS: &[CmdDef] = &[
    CmdDef {
        name: "net-dumpxml",
        opts: &[data_req("network"), flag("inactive"), opt("xpath", OptType::String, REQ_OPT), flag("wrap")],
        handler: cmd_net_dumpxml,
        no_connect: false,
    },
    CmdDef { name: "net-info", opts: &[data_req("network")], handler: cmd_net_info, no_connect: false },
    CmdDef {
        name: "net-list",
        opts: &[
            flag("inactive"),
            flag("all"),
            flag("persistent"),
            flag("transient"),
            flag("autostart"),
            flag("no-autostart"),
            flag("uuid"),
            flag("name"),
            flag("table"),
        ],
        handler: cmd_net_list,
        no_connect: false,
    },
];

/// `virshCommandOptNetworkBy` with UUID then name; the lookup error is kept for the report.
fn opt_network(v: &mut Virsh, cmd: &Cmd) -> Option<Net> {
    let n = cmd.string_req(v, "network").ok()??.to_owned();
    let mut net = None;
    if n.len() == 36 {
        let r = v.conn().api().lookup_network_by_uuid_string(&n).map_err(ApiError::from);
        net = v.api(r);
    }
    if net.is_none() {
        let r = v.conn().api().lookup_network_by_name(&n).map_err(ApiError::from);
        net = v.api(r);
    }
    if net.is_none() {
        v.error(&format!("failed to get network '{n}'"));
    }
    net
}

fn cmd_net_dumpxml(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some(net) = opt_network(v, cmd) else { return false };
    let flags = u32::from(cmd.flag("inactive"));
    let Ok(xpath) = cmd.string_quiet("xpath") else { return false };
    if xpath.is_some() {
        v.error("--xpath is not supported by client-min");
        return false;
    }
    let r = net.xml_desc(flags).map_err(ApiError::from);
    let Some(x) = v.api(r) else { return false };
    v.print(&x);
    true
}

fn cmd_net_info(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some(net) = opt_network(v, cmd) else { return false };
    let line = |label: &str, value: &str| format!("{label:<15} {value}\n");
    v.print(&line("Name:", &net.name().unwrap_or_default()));
    v.print(&line("UUID:", &net.uuid_string().unwrap_or_default()));
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let r = net.is_active().map_err(ApiError::from);
    if let Some(a) = v.api(r) {
        v.print(&line("Active:", yes_no(a)));
    }
    let r = net.is_persistent().map_err(ApiError::from);
    match v.api(r) {
        Some(p) => v.print(&line("Persistent:", yes_no(p))),
        None => v.print(&line("Persistent:", "unknown")),
    }
    let r = net.autostart().map_err(ApiError::from);
    match v.api(r) {
        Some(a) => v.print(&line("Autostart:", yes_no(a))),
        None => v.print(&line("Autostart:", "no autostart")),
    }
    let r = net.bridge_name().map_err(ApiError::from);
    if let Some(b) = v.api(r) {
        v.print(&line("Bridge:", &b));
    }
    true
}

/// `VIR_CONNECT_LIST_NETWORKS_*`.
const INACTIVE: u32 = 1;
const ACTIVE: u32 = 2;
const PERSISTENT: u32 = 4;
const TRANSIENT: u32 = 8;
const AUTOSTART: u32 = 16;
const NO_AUTOSTART: u32 = 32;

/// `virshNetworkListCollect`.
fn collect(v: &mut Virsh, flags: u32) -> Option<Vec<Net>> {
    let all = |v: &mut Virsh, flags: u32| {
        let r = v.conn().api().list_all_networks(flags).map_err(ApiError::from);
        v.api(r)
    };
    let (mut list, filter) = if let Some(l) = all(v, flags) {
        (l, false)
    } else if v.last_code() == Some(ErrorCode::VIR_ERR_NO_SUPPORT) {
        v.reset_error();
        (collect_old(v, flags)?, true)
    } else if v.last_code() == Some(ErrorCode::VIR_ERR_INVALID_ARG) {
        v.reset_error();
        match all(v, flags & (ACTIVE | INACTIVE)) {
            Some(l) => (l, true),
            None => {
                v.error("Failed to list networks");
                return None;
            }
        }
    } else {
        v.error("Failed to list networks");
        return None;
    };
    if filter {
        let mut kept = Vec::new();
        for net in list {
            if flags & (PERSISTENT | TRANSIENT) != 0 {
                let r = net.is_persistent().map_err(ApiError::from);
                let Some(p) = v.api(r) else {
                    v.error("Failed to get network persistence info");
                    return None;
                };
                if !((flags & PERSISTENT != 0 && p) || (flags & TRANSIENT != 0 && !p)) {
                    continue;
                }
            }
            if flags & (AUTOSTART | NO_AUTOSTART) != 0 {
                let r = net.autostart().map_err(ApiError::from);
                let Some(a) = v.api(r) else {
                    v.error("Failed to get network autostart state");
                    return None;
                };
                if !((flags & AUTOSTART != 0 && a) || (flags & NO_AUTOSTART != 0 && !a)) {
                    continue;
                }
            }
            kept.push(net);
        }
        list = kept;
    }
    list.sort_by(|a, b| ascii_casecmp(&a.name().unwrap_or_default(), &b.name().unwrap_or_default()));
    Some(list)
}

/// The listing before 0.10.2. Like virsh, the defined names are fetched only when active
/// networks are asked for too.
fn collect_old(v: &mut Virsh, flags: u32) -> Option<Vec<Net>> {
    let filters_active = flags & (ACTIVE | INACTIVE) != 0;
    let want_active = !filters_active || flags & ACTIVE != 0;
    let want_inactive = !filters_active || flags & INACTIVE != 0;
    let (mut n_active, mut n_inactive) = (0, 0);
    if want_active {
        let r = v.conn().api().num_of_networks().map_err(ApiError::from);
        let Some(n) = v.api(r) else {
            v.error("Failed to get the number of active networks");
            return None;
        };
        n_active = n;
    }
    if want_inactive {
        let r = v.conn().api().num_of_defined_networks().map_err(ApiError::from);
        let Some(n) = v.api(r) else {
            v.error("Failed to get the number of inactive networks");
            return None;
        };
        n_inactive = n;
    }
    if n_active.saturating_add(n_inactive) == 0 {
        return Some(Vec::new());
    }
    let mut names = Vec::new();
    if want_active {
        let r = v.conn().api().list_networks_max(n_active).map_err(ApiError::from);
        let Some(l) = v.api(r) else {
            v.error("Failed to list active networks");
            return None;
        };
        names.extend(l);
        let r = v.conn().api().list_defined_networks_max(n_inactive).map_err(ApiError::from);
        let Some(l) = v.api(r) else {
            v.error("Failed to list inactive networks");
            return None;
        };
        names.extend(l);
    }
    let mut out = Vec::new();
    for name in names {
        let r = v.conn().api().lookup_network_by_name(&name).map_err(ApiError::from);
        if let Some(n) = v.api(r) {
            out.push(n);
        }
    }
    Some(out)
}

fn cmd_net_list(v: &mut Virsh, cmd: &Cmd) -> bool {
    let opt_name = cmd.flag("name");
    let mut opt_table = cmd.flag("table");
    let opt_uuid = cmd.flag("uuid");
    let mut flags = ACTIVE;
    if cmd.flag("inactive") {
        flags = INACTIVE;
    }
    if cmd.flag("all") {
        flags = ACTIVE | INACTIVE;
    }
    for (name, bit) in
        [("persistent", PERSISTENT), ("transient", TRANSIENT), ("autostart", AUTOSTART), ("no-autostart", NO_AUTOSTART)]
    {
        if cmd.flag(name) {
            flags |= bit;
        }
    }
    if u8::from(opt_table) + u8::from(opt_name) + u8::from(opt_uuid) > 1 {
        v.error("Only one argument from --table, --name and --uuid may be specified.");
        return false;
    }
    if !opt_uuid && !opt_name {
        opt_table = true;
    }
    let Some(list) = collect(v, flags) else { return false };
    let mut table = Table::new(&["Name", "State", "Autostart", "Persistent"]);
    for net in list {
        let name = net.name().unwrap_or_default();
        if opt_table {
            let r = net.autostart().map_err(ApiError::from);
            let autostart = match v.api(r) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "no autostart",
            };
            // virsh evaluates the row's arguments right to left: persistence, then activity.
            let r = net.is_persistent().map_err(ApiError::from);
            let persistent = v.api(r).map_or(-1, i32::from);
            let r = net.is_active().map_err(ApiError::from);
            let active = v.api(r).map_or(-1, i32::from);
            table.row(&[
                &name,
                if active != 0 { "active" } else { "inactive" },
                autostart,
                if persistent != 0 { "yes" } else { "no" },
            ]);
        } else if opt_uuid {
            v.print(&format!("{}\n", net.uuid_string().unwrap_or_default()));
        } else {
            v.print(&format!("{name}\n"));
        }
    }
    if opt_table {
        let out = table.render(!v.quiet);
        v.print(&out);
    }
    true
}
