//! Domain procedures of the test driver's hypervisor table that read and write I/O and perf
//! tunables as typed parameters: blkio parameters, block I/O throttling, interface bandwidth
//! and perf events (`hypervisor/domain_tuning.rs`).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainGetBlkioParameters, try |m, a| m
        .domain_get_blkio_parameters(&dom_in(&a.dom), a.nparams, a.flags)
        .map(|(p, nparams)| RemoteDomainGetBlkioParametersRet { params: params_out(p), nparams })),
    on!(DomainSetBlkioParameters, try |m, a| m
        .domain_set_blkio_parameters(&dom_in(&a.dom), &params_in(&a.params), a.flags)),
    on!(DomainGetBlockIoTune, try |m, a| {
        let disk = a.disk.as_ref().map(ToString::to_string);
        m.domain_get_block_io_tune(&dom_in(&a.dom), disk.as_deref(), a.nparams, a.flags)
            .map(|(p, nparams)| RemoteDomainGetBlockIoTuneRet { params: params_out(p), nparams })
    }),
    on!(DomainSetBlockIoTune, try |m, a| m
        .domain_set_block_io_tune(&dom_in(&a.dom), &a.disk.to_string(), &params_in(&a.params), a.flags)),
    on!(DomainGetInterfaceParameters, try |m, a| m
        .domain_get_interface_parameters(&dom_in(&a.dom), &a.device.to_string(), a.nparams, a.flags)
        .map(|(p, nparams)| RemoteDomainGetInterfaceParametersRet { params: params_out(p), nparams })),
    on!(DomainSetInterfaceParameters, try |m, a| m
        .domain_set_interface_parameters(&dom_in(&a.dom), &a.device.to_string(), &params_in(&a.params), a.flags)),
    on!(DomainGetPerfEvents, try |m, a| m
        .domain_get_perf_events(&dom_in(&a.dom), a.flags)
        .map(|p| RemoteDomainGetPerfEventsRet { params: params_out(p) })),
    on!(DomainSetPerfEvents, try |m, a| m
        .domain_set_perf_events(&dom_in(&a.dom), &params_in(&a.params), a.flags)),
];
