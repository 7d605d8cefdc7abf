//! Host and connection-level getters (the hypervisor table's `connectGet*` and `nodeGet*`).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;

pub(super) static ENTRIES: &[Entry] = &[
    on!(NodeGetCellsFreeMemory, try |m, a| m
        .node_get_cells_free_memory(a.start_cell, a.maxcells)
        .map(|cells| RemoteNodeGetCellsFreeMemoryRet { cells })),
    on!(NodeGetCpuMap, try |m, a| m.node_get_cpu_map(a.flags).map(|(map, online, ret)| RemoteNodeGetCpuMapRet {
        cpumap: if a.need_map != 0 { map.into() } else { Default::default() },
        online: if a.need_online != 0 { online } else { 0 },
        ret,
    })),
    on!(NodeGetCpuStats, try |m, a| m.node_get_cpu_stats(a.nparams, a.flags).map(|(v, nparams)| {
        RemoteNodeGetCpuStatsRet {
            params: v.into_iter().map(|(f, value)| RemoteNodeGetCpuStats { field: s(f), value }).collect(),
            nparams,
        }
    })),
    on!(ConnectGetType, |m, _a| RemoteConnectGetTypeRet { type_: s(m.hv_type()) }),
    on!(ConnectGetVersion, |m, _a| RemoteConnectGetVersionRet { hv_ver: m.hv_version() }),
    on!(ConnectGetLibVersion, |m, _a| RemoteConnectGetLibVersionRet { lib_ver: m.lib_version() }),
    on!(ConnectGetHostname, |m, _a| RemoteConnectGetHostnameRet { hostname: s(m.hostname()) }),
    on!(ConnectGetMaxVcpus, |m, _a| RemoteConnectGetMaxVcpusRet { max_vcpus: m.max_vcpus() }),
    on!(NodeGetInfo, |m, _a| {
        let n = m.node_info();
        let mut model = [0i8; 32];
        for (d, b) in model.iter_mut().zip(n.model.bytes().take(31)) {
            *d = b as i8;
        }
        RemoteNodeGetInfoRet {
            model,
            memory: n.memory,
            cpus: n.cpus as i32,
            mhz: n.mhz as i32,
            nodes: n.nodes as i32,
            sockets: n.sockets as i32,
            cores: n.cores as i32,
            threads: n.threads as i32,
        }
    }),
    on!(NodeGetFreeMemory, |m, _a| RemoteNodeGetFreeMemoryRet { free_mem: m.node_free_memory() }),
    on!(ConnectGetCapabilities, |m, _a| RemoteConnectGetCapabilitiesRet { capabilities: s(&m.capabilities()) }),
    on!(ConnectGetSysinfo, try |m, a| m.sysinfo(a.flags).map(|x| RemoteConnectGetSysinfoRet { sysinfo: s(&x) })),
    on!(NodeGetSecurityModel, |m, _a| {
        let sm = m.security_model();
        RemoteNodeGetSecurityModelRet { model: c_chars(&sm.model), doi: c_chars(&sm.doi) }
    }),
];
