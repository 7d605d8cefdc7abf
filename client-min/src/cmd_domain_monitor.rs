//! Domain monitoring commands (`tools/virsh-domain-monitor.c`): `dominfo`, `domstate`, and
//! virsh's texts for states and reasons (`list` is in `cmd_domain_list.rs`).

use proto_core::ErrorCode;

use crate::cmd_domain::{api_domain, domain_state, id_string, opt_domain, DOMAIN};
use crate::conn::ApiError;
use crate::util::format_uuid;
use crate::vsh::{flag, Cmd, CmdDef};
use crate::Virsh;

pub(crate) static COMMANDS: &[CmdDef] = &[
    CmdDef { name: "dominfo", opts: &[DOMAIN], handler: cmd_dominfo, no_connect: false },
    CmdDef { name: "domstate", opts: &[DOMAIN, flag("reason")], handler: cmd_domstate, no_connect: false },
];

/// `virshDomainStateToString`.
pub(crate) fn state_to_string(state: i32) -> &'static str {
    match state {
        1 => "running",
        2 => "idle",
        3 => "paused",
        4 => "in shutdown",
        5 => "shut off",
        6 => "crashed",
        7 => "pmsuspended",
        _ => "no state",
    }
}

/// `virshDomainStateReasonToString`.
pub(crate) fn reason_to_string(state: i32, reason: i32) -> &'static str {
    let table: &[&str] = match state {
        0 | 2 | 7 => &["unknown"],
        1 => &[
            "unknown",
            "booted",
            "migrated",
            "restored",
            "from snapshot",
            "unpaused",
            "migration canceled",
            "save canceled",
            "event wakeup",
            "crashed",
            "post-copy",
            "post-copy failed",
        ],
        3 => &[
            "unknown",
            "user",
            "migrating",
            "saving",
            "dumping",
            "I/O error",
            "watchdog",
            "from snapshot",
            "shutting down",
            "creating snapshot",
            "crashed",
            "starting up",
            "post-copy",
            "post-copy failed",
        ],
        4 => &["unknown", "user"],
        5 => &["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"],
        6 => &["unknown", "panicked"],
        _ => &[],
    };
    usize::try_from(reason).ok().and_then(|r| table.get(r)).copied().unwrap_or("unknown")
}

fn cmd_dominfo(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Some((dom, _)) = opt_domain(v, cmd) else { return false };
    let mut ret = true;
    let line = |label: &str, value: &str| format!("{label:<15} {value}\n");
    v.print(&line("Id:", &id_string(&dom)));
    v.print(&line("Name:", &dom.name.to_string_lossy()));
    v.print(&line("UUID:", &format_uuid(&dom.uuid)));
    let d = api_domain(v, &dom);
    let r = d.os_type().map_err(ApiError::from);
    if let Some(os) = v.api(r) {
        v.print(&line("OS Type:", &os));
    }
    let r = d.info().map_err(ApiError::from);
    if let Some(info) = v.api(r) {
        v.print(&line("State:", state_to_string(i32::try_from(info.state.to_raw()).unwrap_or(i32::MAX))));
        v.print(&line("CPU(s):", &info.nr_virt_cpu.to_string()));
        if info.cpu_time != 0 {
            #[allow(clippy::cast_precision_loss)]
            let used = info.cpu_time as f64 / 1_000_000_000.0;
            v.print(&line("CPU time:", &format!("{used:.1}s")));
        }
        if info.max_mem == u64::from(u32::MAX) {
            v.print(&line("Max memory:", "no limit"));
        } else {
            v.print(&line("Max memory:", &format!("{} KiB", info.max_mem)));
        }
        v.print(&line("Used memory:", &format!("{} KiB", info.memory)));
    } else {
        ret = false;
    }
    let r = d.is_persistent().map_err(ApiError::from);
    match v.api(r) {
        Some(p) => v.print(&line("Persistent:", if p { "yes" } else { "no" })),
        None => v.print(&line("Persistent:", "unknown")),
    }
    let r = d.autostart().map_err(ApiError::from);
    if let Some(a) = v.api(r) {
        v.print(&line("Autostart:", if a { "enable" } else { "disable" }));
    }
    let r = d.has_managed_save(0).map_err(ApiError::from);
    match v.api(r) {
        Some(m) => v.print(&line("Managed save:", if m { "yes" } else { "no" })),
        None => v.print(&line("Managed save:", "unknown")),
    }
    let r = v.conn().api().node_security_model().map_err(ApiError::from);
    match v.api(r) {
        None => {
            if v.last_code() != Some(ErrorCode::VIR_ERR_NO_SUPPORT) {
                return false;
            }
            v.reset_error();
        }
        Some(model) => {
            if !model.model.is_empty() {
                v.print(&line("Security model:", &model.model));
                v.print(&line("Security DOI:", &model.doi));
                let r = d.security_label().map_err(ApiError::from);
                let Some(label) = v.api(r) else { return false };
                if !label.label.is_empty() {
                    let mode = if label.enforcing { "enforcing" } else { "permissive" };
                    v.print(&format!("{:<15} {} ({mode})\n", "Security label:", label.label));
                }
            }
        }
    }
    let r = d.messages(0).map_err(ApiError::from);
    if let Some(msgs) = v.api(r) {
        for (i, msg) in msgs.iter().enumerate() {
            v.print(&line(if i == 0 { "Messages:" } else { "" }, msg));
        }
    }
    ret
}

fn cmd_domstate(v: &mut Virsh, cmd: &Cmd) -> bool {
    let reason = cmd.flag("reason");
    let Some((dom, _)) = opt_domain(v, cmd) else { return false };
    let Some((state, why)) = domain_state(v, &dom) else { return false };
    if reason {
        v.print(&format!("{} ({})\n", state_to_string(state), reason_to_string(state, why)));
    } else {
        v.print(&format!("{}\n", state_to_string(state)));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_reasons() {
        assert_eq!(state_to_string(1), "running");
        assert_eq!(state_to_string(99), "no state");
        assert_eq!(reason_to_string(1, 0), "unknown");
        assert_eq!(reason_to_string(1, 1), "booted");
        assert_eq!(reason_to_string(5, 2), "destroyed");
        assert_eq!(reason_to_string(3, -1), "unknown");
        assert_eq!(reason_to_string(3, 1), "user");
    }
}
