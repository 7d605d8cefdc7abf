//! Host commands (`tools/virsh-host.c`): `version`, `hostname`, `uri`, `nodeinfo`,
//! `capabilities`.

use crate::conn::ApiError;
use crate::vsh::{flag, Cmd, CmdDef, Reporter};
use crate::{version_string, Virsh, LIBVIRT_VERSION};

pub(crate) static COMMANDS: &[CmdDef] = &[
    CmdDef { name: "capabilities", opts: &[], handler: cmd_capabilities, no_connect: false },
    CmdDef { name: "hostname", opts: &[], handler: cmd_hostname, no_connect: false },
    CmdDef { name: "nodeinfo", opts: &[], handler: cmd_nodeinfo, no_connect: false },
    CmdDef { name: "uri", opts: &[], handler: cmd_uri, no_connect: false },
    CmdDef { name: "version", opts: &[flag("daemon")], handler: cmd_version, no_connect: false },
];

fn cmd_capabilities(v: &mut Virsh, _cmd: &Cmd) -> bool {
    let r = v.conn().api().capabilities().map_err(ApiError::from);
    let Some(caps) = v.api(r) else {
        v.error("failed to get capabilities");
        return false;
    };
    v.print(&format!("{caps}\n"));
    true
}

fn cmd_hostname(v: &mut Virsh, _cmd: &Cmd) -> bool {
    let r = v.conn().api().hostname().map_err(ApiError::from);
    let Some(h) = v.api(r) else {
        v.error("failed to get hostname");
        return false;
    };
    v.print(&format!("{h}\n"));
    true
}

fn cmd_uri(v: &mut Virsh, _cmd: &Cmd) -> bool {
    let uri = v.conn().uri().to_owned();
    v.print(&format!("{uri}\n"));
    true
}

fn cmd_nodeinfo(v: &mut Virsh, _cmd: &Cmd) -> bool {
    let r = v.conn().api().node_info().map_err(ApiError::from);
    let Some(info) = v.api(r) else {
        v.error("failed to get node information");
        return false;
    };
    let line = |label: &str, value: String| format!("{label:<20} {value}\n");
    let mut out = line("CPU model:", info.model.clone());
    out += &line("CPU(s):", info.cpus.to_string());
    if info.mhz != 0 {
        out += &line("CPU frequency:", format!("{} MHz", info.mhz));
    }
    out += &line("CPU socket(s):", info.sockets.to_string());
    out += &line("Core(s) per socket:", info.cores.to_string());
    out += &line("Thread(s) per core:", info.threads.to_string());
    out += &line("NUMA cell(s):", info.nodes.to_string());
    out += &line("Memory size:", format!("{} KiB", info.memory));
    v.print(&out);
    true
}

fn cmd_version(v: &mut Virsh, cmd: &Cmd) -> bool {
    let r = v.conn().api().driver_type().map_err(ApiError::from);
    let Some(hv_type) = v.api(r) else {
        v.error("failed to get hypervisor type");
        return false;
    };
    v.print(&format!("Compiled against library: libvirt {}\n", version_string(LIBVIRT_VERSION)));
    v.print(&format!("Using library: libvirt {}\n", version_string(LIBVIRT_VERSION)));
    v.print(&format!("Using API: {hv_type} {}\n", version_string(LIBVIRT_VERSION)));
    let r = v.conn().api().hyp_version().map_err(ApiError::from);
    let Some(hv) = v.api(r) else {
        v.error("failed to get the hypervisor version");
        return false;
    };
    if hv == 0 {
        v.print(&format!("Cannot extract running {hv_type} hypervisor version\n"));
    } else {
        v.print(&format!("Running hypervisor: {hv_type} {}\n", version_string(u64::from(hv))));
    }
    if cmd.flag("daemon") {
        let r = v.conn().api().lib_version().map_err(ApiError::from);
        match v.api(r) {
            Some(l) => v.print(&format!("Running against daemon: {}\n", version_string(u64::from(l)))),
            None => v.error("failed to get the daemon version"),
        }
    }
    true
}
