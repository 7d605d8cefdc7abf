//! The README's list of procedures: which daemon-min serves, which libvirt 9.0's test driver
//! serves and daemon-min does not yet (daemon-min answers "not supported" there), and which the
//! test driver lacks too (both daemons answer "not supported"). The test fails when the README
//! and the dispatch table disagree; `SERVED_WRITE=1 cargo test -p daemon-min --test
//! served_procedures` rewrites the README's block.

use std::collections::BTreeSet;

use daemon_min::dispatch::{api_name, table};
use proto_core::programs::remote::PROCEDURES;

/// The entries of libvirt 9.0's test driver tables (`src/test/test_driver.c`: hypervisor,
/// network, interface, storage and node-device drivers), by their driver-table names.
const TEST_DRIVER: &[&str] = &[
    "connectBaselineCPU",
    "connectClose",
    "connectDomainEventDeregister",
    "connectDomainEventDeregisterAny",
    "connectDomainEventRegister",
    "connectDomainEventRegisterAny",
    "connectFindStoragePoolSources",
    "connectGetAllDomainStats",
    "connectGetCPUModelNames",
    "connectGetCapabilities",
    "connectGetHostname",
    "connectGetMaxVcpus",
    "connectGetSysinfo",
    "connectGetType",
    "connectGetVersion",
    "connectIsAlive",
    "connectIsEncrypted",
    "connectIsSecure",
    "connectListAllDomains",
    "connectListAllInterfaces",
    "connectListAllNetworks",
    "connectListAllNodeDevices",
    "connectListAllStoragePools",
    "connectListDefinedDomains",
    "connectListDefinedInterfaces",
    "connectListDefinedNetworks",
    "connectListDefinedStoragePools",
    "connectListDomains",
    "connectListInterfaces",
    "connectListNetworks",
    "connectListStoragePools",
    "connectNetworkEventDeregisterAny",
    "connectNetworkEventRegisterAny",
    "connectNodeDeviceEventDeregisterAny",
    "connectNodeDeviceEventRegisterAny",
    "connectNumOfDefinedDomains",
    "connectNumOfDefinedInterfaces",
    "connectNumOfDefinedNetworks",
    "connectNumOfDefinedStoragePools",
    "connectNumOfDomains",
    "connectNumOfInterfaces",
    "connectNumOfNetworks",
    "connectNumOfStoragePools",
    "connectOpen",
    "connectStoragePoolEventDeregisterAny",
    "connectStoragePoolEventRegisterAny",
    "connectSupportsFeature",
    "domainAddIOThread",
    "domainBlockStats",
    "domainCheckpointCreateXML",
    "domainCheckpointDelete",
    "domainCheckpointGetParent",
    "domainCheckpointGetXMLDesc",
    "domainCheckpointListAllChildren",
    "domainCheckpointLookupByName",
    "domainCoreDump",
    "domainCoreDumpWithFormat",
    "domainCreate",
    "domainCreateWithFiles",
    "domainCreateWithFlags",
    "domainCreateXML",
    "domainCreateXMLWithFiles",
    "domainDefineXML",
    "domainDefineXMLFlags",
    "domainDelIOThread",
    "domainDestroy",
    "domainDestroyFlags",
    "domainFSFreeze",
    "domainFSThaw",
    "domainFSTrim",
    "domainGetAutostart",
    "domainGetBlkioParameters",
    "domainGetBlockInfo",
    "domainGetBlockIoTune",
    "domainGetCPUStats",
    "domainGetControlInfo",
    "domainGetDiskErrors",
    "domainGetEmulatorPinInfo",
    "domainGetFSInfo",
    "domainGetHostname",
    "domainGetIOThreadInfo",
    "domainGetInfo",
    "domainGetInterfaceParameters",
    "domainGetLaunchSecurityInfo",
    "domainGetMaxMemory",
    "domainGetMaxVcpus",
    "domainGetMemoryParameters",
    "domainGetMessages",
    "domainGetMetadata",
    "domainGetNumaParameters",
    "domainGetOSType",
    "domainGetPerfEvents",
    "domainGetSchedulerParameters",
    "domainGetSchedulerParametersFlags",
    "domainGetSchedulerType",
    "domainGetSecurityLabel",
    "domainGetState",
    "domainGetTime",
    "domainGetVcpuPinInfo",
    "domainGetVcpus",
    "domainGetVcpusFlags",
    "domainGetXMLDesc",
    "domainHasCurrentSnapshot",
    "domainHasManagedSaveImage",
    "domainInjectNMI",
    "domainInterfaceAddresses",
    "domainInterfaceStats",
    "domainIsActive",
    "domainIsPersistent",
    "domainIsUpdated",
    "domainListAllCheckpoints",
    "domainListAllSnapshots",
    "domainLookupByID",
    "domainLookupByName",
    "domainLookupByUUID",
    "domainManagedSave",
    "domainManagedSaveRemove",
    "domainMemoryPeek",
    "domainMemoryStats",
    "domainPinEmulator",
    "domainPinIOThread",
    "domainPinVcpu",
    "domainPinVcpuFlags",
    "domainReboot",
    "domainRename",
    "domainReset",
    "domainRestore",
    "domainRestoreFlags",
    "domainResume",
    "domainRevertToSnapshot",
    "domainSave",
    "domainSaveFlags",
    "domainSaveImageDefineXML",
    "domainSaveImageGetXMLDesc",
    "domainScreenshot",
    "domainSendKey",
    "domainSendProcessSignal",
    "domainSetAutostart",
    "domainSetBlkioParameters",
    "domainSetBlockIoTune",
    "domainSetIOThreadParams",
    "domainSetInterfaceParameters",
    "domainSetLifecycleAction",
    "domainSetMaxMemory",
    "domainSetMemory",
    "domainSetMemoryFlags",
    "domainSetMemoryParameters",
    "domainSetMemoryStatsPeriod",
    "domainSetMetadata",
    "domainSetNumaParameters",
    "domainSetPerfEvents",
    "domainSetSchedulerParameters",
    "domainSetSchedulerParametersFlags",
    "domainSetTime",
    "domainSetUserPassword",
    "domainSetVcpus",
    "domainSetVcpusFlags",
    "domainShutdown",
    "domainShutdownFlags",
    "domainSnapshotCreateXML",
    "domainSnapshotCurrent",
    "domainSnapshotDelete",
    "domainSnapshotGetParent",
    "domainSnapshotGetXMLDesc",
    "domainSnapshotHasMetadata",
    "domainSnapshotIsCurrent",
    "domainSnapshotListAllChildren",
    "domainSnapshotListChildrenNames",
    "domainSnapshotListNames",
    "domainSnapshotLookupByName",
    "domainSnapshotNum",
    "domainSnapshotNumChildren",
    "domainSuspend",
    "domainUndefine",
    "domainUndefineFlags",
    "interfaceChangeBegin",
    "interfaceChangeCommit",
    "interfaceChangeRollback",
    "interfaceCreate",
    "interfaceDefineXML",
    "interfaceDestroy",
    "interfaceGetXMLDesc",
    "interfaceIsActive",
    "interfaceLookupByMACString",
    "interfaceLookupByName",
    "interfaceUndefine",
    "networkCreate",
    "networkCreateXML",
    "networkCreateXMLFlags",
    "networkDefineXML",
    "networkDefineXMLFlags",
    "networkDestroy",
    "networkGetAutostart",
    "networkGetBridgeName",
    "networkGetXMLDesc",
    "networkIsActive",
    "networkIsPersistent",
    "networkLookupByName",
    "networkLookupByUUID",
    "networkSetAutostart",
    "networkUndefine",
    "networkUpdate",
    "nodeDeviceCreateXML",
    "nodeDeviceDestroy",
    "nodeDeviceGetParent",
    "nodeDeviceGetXMLDesc",
    "nodeDeviceListCaps",
    "nodeDeviceLookupByName",
    "nodeDeviceNumOfCaps",
    "nodeGetCPUMap",
    "nodeGetCPUStats",
    "nodeGetCellsFreeMemory",
    "nodeGetFreeMemory",
    "nodeGetFreePages",
    "nodeGetInfo",
    "nodeGetSecurityModel",
    "nodeListDevices",
    "nodeNumOfDevices",
    "storagePoolBuild",
    "storagePoolCreate",
    "storagePoolCreateXML",
    "storagePoolDefineXML",
    "storagePoolDelete",
    "storagePoolDestroy",
    "storagePoolGetAutostart",
    "storagePoolGetInfo",
    "storagePoolGetXMLDesc",
    "storagePoolIsActive",
    "storagePoolIsPersistent",
    "storagePoolListAllVolumes",
    "storagePoolListVolumes",
    "storagePoolLookupByName",
    "storagePoolLookupByUUID",
    "storagePoolLookupByVolume",
    "storagePoolNumOfVolumes",
    "storagePoolRefresh",
    "storagePoolSetAutostart",
    "storagePoolUndefine",
    "storageVolCreateXML",
    "storageVolCreateXMLFrom",
    "storageVolDelete",
    "storageVolGetInfo",
    "storageVolGetPath",
    "storageVolGetXMLDesc",
    "storageVolLookupByKey",
    "storageVolLookupByName",
    "storageVolLookupByPath",
];

/// `virDomainGetXMLDesc` → `domainGetXMLDesc`, the driver table's name.
fn driver_name(proc_name: &str) -> String {
    let api = api_name(proc_name);
    let rest = api.strip_prefix("vir").unwrap_or(&api);
    let mut chars = rest.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn block() -> String {
    let served: BTreeSet<&str> = table::served().into_iter().collect();
    let driver: BTreeSet<&str> = TEST_DRIVER.iter().copied().collect();
    let callable: Vec<&str> = PROCEDURES.iter().filter(|p| !p.is_event).map(|p| p.name).collect();
    let short = |n: &&str| n.strip_prefix("REMOTE_PROC_").unwrap_or(n).to_owned();
    let yes: Vec<String> = callable.iter().filter(|n| served.contains(*n)).map(short).collect();
    let todo: Vec<String> = callable
        .iter()
        .filter(|n| !served.contains(*n) && driver.contains(driver_name(n).as_str()))
        .map(short)
        .collect();
    let lacks: Vec<String> = callable
        .iter()
        .filter(|n| !served.contains(*n) && !driver.contains(driver_name(n).as_str()))
        .map(short)
        .collect();
    let mut out = String::from(
        "<!-- served-procedures: generated by SERVED_WRITE=1 cargo test -p daemon-min --test served_procedures -->\n",
    );
    out += &format!(
        "**Served ({} of {} callable remote procedures):** {}.\n\n",
        yes.len(),
        callable.len(),
        yes.join(", ")
    );
    if todo.is_empty() {
        out += "**Every entry point of libvirt 9.0's test driver is served.**\n\n";
    } else {
        out += &format!(
            "**In libvirt 9.0's test driver, not served yet ({}; daemon-min answers \"this function is not supported by the connection driver\"):** {}.\n\n",
            todo.len(),
            todo.join(", ")
        );
    }
    out += &format!(
        "**Not in the test driver's tables ({}; daemon-min answers \"this function is not supported by the connection driver\"):** {}.\n",
        lacks.len(),
        lacks.join(", ")
    );
    out += "<!-- end served-procedures -->\n";
    out
}

#[test]
fn readme_lists_the_served_procedures() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let start = readme.find("<!-- served-procedures").expect("the README has a served-procedures block");
    let end_marker = "<!-- end served-procedures -->\n";
    let end = readme[start..].find(end_marker).map(|i| start + i + end_marker.len()).expect("the block's end");
    let want = block();
    if std::env::var_os("SERVED_WRITE").is_some() {
        std::fs::write(path, format!("{}{want}{}", &readme[..start], &readme[end..])).expect("write README.md");
        return;
    }
    assert_eq!(&readme[start..end], want, "README.md's procedure list is stale: rerun with SERVED_WRITE=1");
}

#[test]
fn test_driver_names_map_to_procedures() {
    // Every test-driver entry but the connection's own (open, close, ...) names a procedure.
    let names: BTreeSet<String> = PROCEDURES.iter().map(|p| driver_name(p.name)).collect();
    let unmapped: Vec<&&str> = TEST_DRIVER.iter().filter(|n| !names.contains(**n)).collect();
    assert!(unmapped.len() < 20, "test-driver entries with no procedure: {unmapped:?}");
}
