//! Domain procedures of the test driver's hypervisor table that place vCPUs, the emulator and
//! IOThreads (`hypervisor/domain_vcpu.rs`, `hypervisor/domain_iothread.rs`).

use proto_core::programs::remote::*;

use bytes::Bytes;

use super::table::{on, Entry};
use super::wire::*;

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainGetVcpus, try |m, a| m.domain_get_vcpus(&dom_in(&a.dom), a.maxinfo, a.maplen).map(|(info, maps)| {
        RemoteDomainGetVcpusRet {
            info: info
                .into_iter()
                .map(|v| RemoteVcpuInfo { number: v.number, state: v.state, cpu_time: v.cpu_time, cpu: v.cpu })
                .collect(),
            cpumaps: Bytes::from(maps),
        }
    })),
    on!(DomainPinVcpu, try |m, a| m.domain_pin_vcpu(&dom_in(&a.dom), a.vcpu, &a.cpumap, 0, "virDomainPinVcpu")),
    on!(DomainPinVcpuFlags, try |m, a| m
        .domain_pin_vcpu(&dom_in(&a.dom), a.vcpu, &a.cpumap, a.flags, "virDomainPinVcpuFlags")),
    on!(DomainGetVcpuPinInfo, try |m, a| m
        .domain_get_vcpu_pin_info(&dom_in(&a.dom), a.ncpumaps, a.maplen, a.flags)
        .map(|(maps, num)| RemoteDomainGetVcpuPinInfoRet { cpumaps: Bytes::from(maps), num })),
    on!(DomainPinEmulator, try |m, a| m.domain_pin_emulator(&dom_in(&a.dom), &a.cpumap, a.flags)),
    on!(DomainGetEmulatorPinInfo, try |m, a| m
        .domain_get_emulator_pin_info(&dom_in(&a.dom), a.maplen, a.flags)
        .map(|(maps, ret)| RemoteDomainGetEmulatorPinInfoRet { cpumaps: Bytes::from(maps), ret })),
    on!(DomainGetIothreadInfo, try |m, a| m.domain_get_iothread_info(&dom_in(&a.dom), a.flags).map(|v| {
        RemoteDomainGetIothreadInfoRet {
            ret: v.len() as u32,
            info: v
                .into_iter()
                .map(|(iothread_id, map)| RemoteDomainIothreadInfo { iothread_id, cpumap: Bytes::from(map) })
                .collect(),
        }
    })),
    on!(DomainAddIothread, try |m, a| m.domain_add_iothread(&dom_in(&a.dom), a.iothread_id, a.flags)),
    on!(DomainDelIothread, try |m, a| m.domain_del_iothread(&dom_in(&a.dom), a.iothread_id, a.flags)),
    on!(DomainPinIothread, try |m, a| m
        .domain_pin_iothread(&dom_in(&a.dom), a.iothreads_id, &a.cpumap, a.flags)),
    on!(DomainSetIothreadParams, try |m, a| m
        .domain_set_iothread_params(&dom_in(&a.dom), a.iothread_id, &params_in(&a.params), a.flags)),
];
