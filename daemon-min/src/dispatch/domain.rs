//! Domain procedures (the test driver's hypervisor table, domain entries).

use proto_core::programs::remote::*;

use bytes::Bytes;
use proto_core::error::{ErrorDomain, RemoteError};
use proto_core::xdr;

use super::table::{on, Call, Entry};
use super::wire::*;
use super::{forbidden, Outcome};
use crate::hypervisor::domain_tune::{AFFECT_LIVE, MAXIMUM};
use crate::hypervisor::Uuid;

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainLookupByName, try |m, a| m
        .domain_lookup_by_name(&a.name.to_string())
        .map(|d| RemoteDomainLookupByNameRet { dom: dom_out(&d) })),
    on!(DomainLookupById, try |m, a| m
        .domain_lookup_by_id(a.id)
        .map(|d| RemoteDomainLookupByIdRet { dom: dom_out(&d) })),
    on!(DomainLookupByUuid, try |m, a| m
        .domain_lookup_by_uuid(&Uuid(a.uuid))
        .map(|d| RemoteDomainLookupByUuidRet { dom: dom_out(&d) })),
    on!(ConnectListAllDomains, try |m, a| {
        m.list_all_domains(a.flags).map(|v| RemoteConnectListAllDomainsRet {
            ret: v.len() as u32,
            domains: if a.need_results != 0 { v.iter().map(dom_out).collect() } else { Vec::new() },
        })
    }),
    on!(ConnectNumOfDomains, |m, _a| RemoteConnectNumOfDomainsRet { num: count(m.num_of_domains()) }),
    on!(ConnectListDomains, |m, a| RemoteConnectListDomainsRet { ids: m.list_domain_ids(max_of(a.maxids)) }),
    on!(ConnectNumOfDefinedDomains, |m, _a| {
        RemoteConnectNumOfDefinedDomainsRet { num: count(m.num_of_defined_domains()) }
    }),
    on!(ConnectListDefinedDomains, |m, a| {
        RemoteConnectListDefinedDomainsRet { names: names(m.list_defined_domains(max_of(a.maxnames))) }
    }),
    on!(DomainDefineXml, try |m, a| m
        .domain_define_xml(&a.xml.to_string(), 0)
        .map(|d| RemoteDomainDefineXmlRet { dom: dom_out(&d) })),
    on!(DomainDefineXmlFlags, try |m, a| m
        .domain_define_xml(&a.xml.to_string(), a.flags)
        .map(|d| RemoteDomainDefineXmlFlagsRet { dom: dom_out(&d) })),
    on!(DomainCreateXml, try |m, a| m
        .domain_create_xml(&a.xml_desc.to_string(), a.flags)
        .map(|d| RemoteDomainCreateXmlRet { dom: dom_out(&d) })),
    on!(DomainCreate, try |m, a| m.domain_create(&dom_in(&a.dom), 0).map(|_| ())),
    on!(DomainCreateWithFlags, try |m, a| m
        .domain_create(&dom_in(&a.dom), a.flags)
        .map(|d| RemoteDomainCreateWithFlagsRet { dom: dom_out(&d) })),
    on!(DomainDestroy, try |m, a| m.domain_destroy(&dom_in(&a.dom), 0)),
    on!(DomainDestroyFlags, try |m, a| m.domain_destroy(&dom_in(&a.dom), a.flags)),
    on!(DomainShutdown, try |m, a| m.domain_shutdown(&dom_in(&a.dom), 0)),
    on!(DomainShutdownFlags, try |m, a| m.domain_shutdown(&dom_in(&a.dom), a.flags)),
    on!(DomainReboot, try |m, a| m.domain_reboot(&dom_in(&a.dom), a.flags)),
    on!(DomainSuspend, try |m, a| m.domain_suspend(&dom_in(&a.dom))),
    on!(DomainResume, try |m, a| m.domain_resume(&dom_in(&a.dom))),
    on!(DomainUndefine, try |m, a| m.domain_undefine(&dom_in(&a.dom), 0)),
    on!(DomainUndefineFlags, try |m, a| m.domain_undefine(&dom_in(&a.dom), a.flags)),
    on!(DomainGetState, try |m, a| m
        .domain_get_state(&dom_in(&a.dom), a.flags)
        .map(|(st, reason)| RemoteDomainGetStateRet { state: st as i32, reason })),
    on!(DomainGetInfo, try |m, a| m.domain_get_info(&dom_in(&a.dom)).map(|i| {
        RemoteDomainGetInfoRet {
            state: i.state,
            max_mem: i.max_mem,
            memory: i.memory,
            nr_virt_cpu: i.nr_virt_cpu,
            cpu_time: i.cpu_time,
        }
    })),
    on!(DomainGetMaxMemory, try |m, a| m
        .domain_get_max_memory(&dom_in(&a.dom))
        .map(|memory| RemoteDomainGetMaxMemoryRet { memory })),
    on!(DomainGetOsType, try |m, a| {
        m.domain_lookup_by_uuid(&Uuid(a.dom.uuid)).map(|d| RemoteDomainGetOsTypeRet { type_: s(&m.domain_get_os_type(&d)) })
    }),
    on!(DomainGetAutostart, try |m, a| m
        .domain_get_autostart(&dom_in(&a.dom))
        .map(|v| RemoteDomainGetAutostartRet { autostart: i32::from(v) })),
    on!(DomainSetAutostart, try |m, a| m.domain_set_autostart(&dom_in(&a.dom), a.autostart != 0)),
    on!(DomainIsActive, try |m, a| m
        .domain_is_active(&dom_in(&a.dom))
        .map(|v| RemoteDomainIsActiveRet { active: i32::from(v) })),
    on!(DomainIsPersistent, try |m, a| m
        .domain_is_persistent(&dom_in(&a.dom))
        .map(|v| RemoteDomainIsPersistentRet { persistent: i32::from(v) })),
    on!(DomainIsUpdated, |m, a| RemoteDomainIsUpdatedRet { updated: i32::from(m.domain_is_updated(&dom_in(&a.dom))) }),
    on!(DomainHasManagedSaveImage, try |m, a| m
        .domain_has_managed_save_image(&dom_in(&a.dom), a.flags)
        .map(|v| RemoteDomainHasManagedSaveImageRet { result: i32::from(v) })),
    on!(DomainSnapshotNum, try |m, a| m
        .domain_snapshot_num(&dom_in(&a.dom), a.flags)
        .map(|num| RemoteDomainSnapshotNumRet { num })),
    on!(DomainGetSecurityLabel, try |m, a| m
        .domain_get_security_label(&dom_in(&a.dom))
        .map(|l| RemoteDomainGetSecurityLabelRet { label: c_chars(&l.label), enforcing: i32::from(l.enforcing) })),
    on!(DomainGetMessages, try |m, a| m
        .domain_get_messages(&dom_in(&a.dom), a.flags)
        .map(|v| RemoteDomainGetMessagesRet { msgs: names(v) })),
    Entry { number: REMOTE_PROC_DOMAIN_GET_XML_DESC, run: domain_get_xml_desc },
    // --- domain_tune ----------------------------------------------------------------------
    on!(DomainGetHostname, try |m, a| m
        .domain_get_hostname(&dom_in(&a.dom), a.flags)
        .map(|h| RemoteDomainGetHostnameRet { hostname: s(&h) })),
    on!(DomainGetTime, try |m, a| m
        .domain_get_time(&dom_in(&a.dom), a.flags)
        .map(|(seconds, nseconds)| RemoteDomainGetTimeRet { seconds, nseconds })),
    on!(DomainSetTime, try |m, a| m.domain_set_time(&dom_in(&a.dom), a.seconds, a.nseconds, a.flags)),
    on!(DomainReset, try |m, a| m.domain_poke(&dom_in(&a.dom), a.flags, "testDomainReset")),
    on!(DomainInjectNmi, try |m, a| m.domain_poke(&dom_in(&a.dom), a.flags, "testDomainInjectNMI")),
    on!(DomainSendKey, try |m, a| m.domain_send_key(&dom_in(&a.dom), a.codeset, &a.keycodes, a.flags)),
    on!(DomainGetControlInfo, try |m, a| m
        .domain_get_control_info(&dom_in(&a.dom), a.flags)
        .map(|(state, details, state_time)| RemoteDomainGetControlInfoRet { state, details, state_time })),
    on!(DomainGetVcpusFlags, try |m, a| m
        .domain_get_vcpus_flags(&dom_in(&a.dom), a.flags)
        .map(|num| RemoteDomainGetVcpusFlagsRet { num })),
    on!(DomainGetMaxVcpus, try |m, a| m
        .domain_get_vcpus_flags(&dom_in(&a.dom), AFFECT_LIVE | MAXIMUM)
        .map(|num| RemoteDomainGetMaxVcpusRet { num })),
    on!(DomainGetSchedulerType, try |m, a| m
        .domain_get_scheduler_type(&dom_in(&a.dom))
        .map(|(t, nparams)| RemoteDomainGetSchedulerTypeRet { type_: s(&t), nparams })),
    on!(DomainGetSchedulerParameters, try |m, a| m
        .domain_get_scheduler_parameters(&dom_in(&a.dom), 0)
        .map(|p| RemoteDomainGetSchedulerParametersRet { params: params_out(p) })),
    on!(DomainGetSchedulerParametersFlags, try |m, a| m
        .domain_get_scheduler_parameters(&dom_in(&a.dom), a.flags)
        .map(|p| RemoteDomainGetSchedulerParametersFlagsRet { params: params_out(p) })),
    on!(DomainSetSchedulerParameters, try |m, a| m
        .domain_set_scheduler_parameters(&dom_in(&a.dom), &params_in(&a.params), 0)),
    on!(DomainSetSchedulerParametersFlags, try |m, a| m
        .domain_set_scheduler_parameters(&dom_in(&a.dom), &params_in(&a.params), a.flags)),
    on!(DomainSetMemory, try |m, a| m.domain_set_memory_flags(&dom_in(&a.dom), a.memory, AFFECT_LIVE)),
    on!(DomainSetMaxMemory, try |m, a| m.domain_set_memory_flags(&dom_in(&a.dom), a.memory, MAXIMUM)),
    on!(DomainSetMemoryFlags, try |m, a| m.domain_set_memory_flags(&dom_in(&a.dom), a.memory, a.flags)),
    on!(DomainSetVcpus, try |m, a| m.domain_set_vcpus_flags(&dom_in(&a.dom), a.nvcpus, AFFECT_LIVE)),
    on!(DomainSetVcpusFlags, try |m, a| m.domain_set_vcpus_flags(&dom_in(&a.dom), a.nvcpus, a.flags)),
    on!(DomainManagedSave, try |m, a| m.domain_managed_save(&dom_in(&a.dom), a.flags)),
    on!(DomainManagedSaveRemove, try |m, a| m.domain_managed_save_remove(&dom_in(&a.dom), a.flags)),
    Entry { number: REMOTE_PROC_DOMAIN_SCREENSHOT, run: domain_screenshot },
    // --- domain_stats ----------------------------------------------------------------------
    on!(DomainMemoryStats, try |m, a| m.domain_memory_stats(&dom_in(&a.dom), a.max_stats, a.flags).map(|v| {
        RemoteDomainMemoryStatsRet { stats: v.into_iter().map(|(tag, val)| RemoteDomainMemoryStat { tag, val }).collect() }
    })),
    on!(DomainGetBlockInfo, try |m, a| m
        .domain_get_block_info(&dom_in(&a.dom), &a.path.to_string(), a.flags)
        .map(|(allocation, capacity, physical)| RemoteDomainGetBlockInfoRet { allocation, capacity, physical })),
    on!(DomainGetDiskErrors, try |m, a| m.domain_get_disk_errors(&dom_in(&a.dom), a.maxerrors, a.flags).map(|(v, nerrors)| {
        RemoteDomainGetDiskErrorsRet {
            errors: v.into_iter().map(|(d, error)| RemoteDomainDiskError { disk: s(&d), error }).collect(),
            nerrors,
        }
    })),
    // --- domain_metadata -------------------------------------------------------------------
    on!(DomainGetMetadata, try |m, a| {
        let uri = a.uri.as_ref().map(ToString::to_string);
        m.domain_get_metadata(&dom_in(&a.dom), a.type_, uri.as_deref(), a.flags)
            .map(|x| RemoteDomainGetMetadataRet { metadata: s(&x) })
    }),
    on!(DomainSetMetadata, try |m, a| {
        let text = |v: &Option<proto_core::XdrString>| v.as_ref().map(ToString::to_string);
        let (metadata, key, uri) = (text(&a.metadata), text(&a.key), text(&a.uri));
        m.domain_set_metadata(&dom_in(&a.dom), a.type_, metadata.as_deref(), key.as_deref(), uri.as_deref(), a.flags)
    }),
    // --- domain_params ---------------------------------------------------------------------
    on!(DomainGetCpuStats, try |m, a| m
        .domain_get_cpu_stats(&dom_in(&a.dom), a.nparams, a.start_cpu, a.ncpus, a.flags)
        .map(|(p, nparams)| RemoteDomainGetCpuStatsRet { params: params_out(p), nparams })),
    on!(DomainSetLifecycleAction, try |m, a| m
        .domain_set_lifecycle_action(&dom_in(&a.dom), a.type_, a.action, a.flags)),
    on!(DomainGetMemoryParameters, try |m, a| m
        .domain_get_memory_parameters(&dom_in(&a.dom), a.nparams, a.flags)
        .map(|(p, nparams)| RemoteDomainGetMemoryParametersRet { params: params_out(p), nparams })),
    on!(DomainSetMemoryParameters, try |m, a| m
        .domain_set_memory_parameters(&dom_in(&a.dom), &params_in(&a.params), a.flags)),
    on!(DomainGetNumaParameters, try |m, a| m
        .domain_get_numa_parameters(&dom_in(&a.dom), a.nparams, a.flags)
        .map(|(p, nparams)| RemoteDomainGetNumaParametersRet { params: params_out(p), nparams })),
    on!(DomainSetNumaParameters, try |m, a| m
        .domain_set_numa_parameters(&dom_in(&a.dom), &params_in(&a.params), a.flags)),
];

/// `virDomainGetXMLDesc` with `VIR_DOMAIN_XML_SECURE` is a write on a read-only connection.
fn domain_get_xml_desc(c: &mut Call<'_>, args: Bytes) -> Outcome {
    /// `VIR_DOMAIN_XML_SECURE`.
    const VIR_DOMAIN_XML_SECURE: u32 = 1;
    let Ok(a) = xdr::from_bytes::<RemoteDomainGetXmlDescArgs>(args.clone()) else {
        return Outcome::Error(RemoteError::undecodable_payload());
    };
    if c.session.read_only() && a.flags & VIR_DOMAIN_XML_SECURE != 0 {
        return Outcome::Error(forbidden(ErrorDomain::VIR_FROM_DOMAIN, "virDomainGetXMLDesc with secure flag"));
    }
    let get = on!(DomainGetXmlDesc, try |m, a| m
        .domain_get_xml_desc(&dom_in(&a.dom), a.flags)
        .map(|x| RemoteDomainGetXmlDescRet { xml: s(&x) }));
    (get.run)(c, args)
}

/// Where libvirt 9.0 installs the test driver's screenshot (`PKGDATADIR "/test-screenshot.png"`).
const TEST_SCREENSHOT: &str = "/usr/share/libvirt/test-screenshot.png";
/// The most of that file sent (it is 33 KiB in libvirt 9.0).
const SCREENSHOT_MAX: u64 = 16 << 20;

/// `DOMAIN_SCREENSHOT`: the test driver streams its fixed PNG for any domain and screen, and
/// answers `image/png`. Like libvirt, the image is read from libvirt's data directory; when it
/// is missing the call fails as libvirt's does.
fn domain_screenshot(c: &mut Call<'_>, args: Bytes) -> Outcome {
    use std::io::Read as _;
    let Some(hv) = c.hv() else { return super::table::not_open("REMOTE_PROC_DOMAIN_SCREENSHOT") };
    let Ok(a) = xdr::from_bytes::<RemoteDomainScreenshotArgs>(args) else {
        return Outcome::Error(RemoteError::undecodable_payload());
    };
    if let Err(e) = crate::hypervisor::error::check_flags(a.flags, 0, "testDomainScreenshot") {
        return Outcome::Error(e.into());
    }
    let mut png = Vec::new();
    let read = std::fs::File::open(TEST_SCREENSHOT).and_then(|f| f.take(SCREENSHOT_MAX).read_to_end(&mut png));
    if let Err(e) = read {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
            _ => e.to_string(),
        };
        return Outcome::Error(RemoteError::new(
            proto_core::error::ErrorCode::VIR_ERR_SYSTEM_ERROR,
            ErrorDomain::VIR_FROM_STREAMS,
            format!("Unable to open stream for '{TEST_SCREENSHOT}': {why}"),
        ));
    }
    let Ok(reply) = xdr::to_bytes(&RemoteDomainScreenshotRet { mime: Some(s("image/png")) }) else {
        return Outcome::Error(RemoteError::rpc("Unable to encode message payload"));
    };
    Outcome::Download(super::Transfer {
        hv,
        vol: crate::hypervisor::VolumeHandle { pool: String::new(), name: String::new(), key: String::new() },
        offset: 0,
        length: 0,
        sparse: false,
        reply,
        data: Some(Bytes::from(png)),
    })
}
