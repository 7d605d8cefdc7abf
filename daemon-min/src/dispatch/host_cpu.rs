//! The host's CPU models, CPU baselines and free pages (the hypervisor table's
//! `connectGetCPUModelNames`, `connectBaselineCPU` and `nodeGetFreePages`), with the checks libvirtd's dispatch and libvirt's API make around them.

use proto_core::error::{ErrorCode, ErrorDomain};
use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;
use crate::hypervisor::error::e;
use crate::hypervisor::{Hypervisor, Result};

/// `REMOTE_NODE_MAX_CELLS`.
const NODE_MAX_CELLS: u32 = 1024;
/// `REMOTE_CONNECT_CPU_MODELS_MAX`.
const CPU_MODELS_MAX: usize = 8192;

/// `remoteDispatchNodeGetFreePages` around `virNodeGetFreePages`: the bound on the answer (the
/// product wraps as libvirtd's 32-bit one does), the API's argument checks, then the driver. The
/// test driver reports 0 pages counted, which libvirtd's dispatch takes for a failure that set
/// no error: every valid call is answered with that error.
fn node_get_free_pages(m: &mut Hypervisor, a: &RemoteNodeGetFreePagesArgs) -> Result<RemoteNodeGetFreePagesRet> {
    let npages = u32::try_from(a.pages.len()).unwrap_or(u32::MAX);
    let total = npages.wrapping_mul(a.cell_count);
    if total > NODE_MAX_CELLS {
        return Err(e(
            ErrorCode::VIR_ERR_INTERNAL_ERROR,
            ErrorDomain::VIR_FROM_RPC,
            "internal error: the result won't fit into REMOTE_NODE_MAX_CELLS",
        ));
    }
    let invalid = |what: &str| {
        e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_DOMAIN, format!("invalid argument: {what}"))
    };
    if npages == 0 {
        return Err(invalid("npages in virNodeGetFreePages must not be zero"));
    }
    if a.cell_count == 0 {
        return Err(invalid("cellCount in virNodeGetFreePages must not be zero"));
    }
    if total == 0 {
        // libvirtd allocates no buffer for a product that wrapped to 0.
        return Err(invalid("counts in virNodeGetFreePages must not be NULL"));
    }
    m.node_get_free_pages(npages as usize, a.cell_count as usize, a.flags)?;
    Err(e(
        ErrorCode::VIR_ERR_INTERNAL_ERROR,
        ErrorDomain::VIR_FROM_RPC,
        "Library function returned error but did not set virError",
    ))
}

/// `remoteDispatchConnectBaselineCPU` around `virConnectBaselineCPU`: an empty list reaches
/// the API as a NULL array, which it refuses before the driver sees it.
fn connect_baseline_cpu(m: &mut Hypervisor, a: &RemoteConnectBaselineCpuArgs) -> Result<RemoteConnectBaselineCpuRet> {
    if a.xml_cp_us.is_empty() {
        return Err(e(
            ErrorCode::VIR_ERR_INVALID_ARG,
            ErrorDomain::VIR_FROM_DOMAIN,
            // As libvirtd words it: no "invalid argument: " before it (measured).
            "xmlCPUs in virConnectBaselineCPU must not be NULL",
        ));
    }
    let docs: Vec<String> = a.xml_cp_us.iter().map(ToString::to_string).collect();
    Ok(RemoteConnectBaselineCpuRet { cpu: s(&m.connect_baseline_cpu(&docs, a.flags)?) })
}

pub(super) static ENTRIES: &[Entry] = &[
    on!(ConnectBaselineCpu, try |m, a| connect_baseline_cpu(m, &a)),
    on!(NodeGetFreePages, try |m, a| node_get_free_pages(m, &a)),
    on!(ConnectGetCpuModelNames, try |m, a| {
        let models = m.connect_get_cpu_model_names(&a.arch.to_string(), a.flags)?;
        if models.len() > CPU_MODELS_MAX {
            return Err(e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                format!("internal error: Too many CPU models '{}' for limit '{CPU_MODELS_MAX}'", models.len()),
            ));
        }
        Ok(RemoteConnectGetCpuModelNamesRet {
            ret: count(models.len()),
            models: if a.need_results != 0 { models.into_iter().map(s).collect() } else { Vec::new() },
        })
    }),
];
