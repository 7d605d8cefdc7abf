//! Domain snapshot procedures (the snapshot entries of the test driver's hypervisor table).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;
use crate::hypervisor::DomainHandle;

fn snap_out(dom: &DomainHandle, name: &str) -> RemoteNonnullDomainSnapshot {
    RemoteNonnullDomainSnapshot { name: s(name), dom: dom_out(dom) }
}

fn snap_in(snap: &RemoteNonnullDomainSnapshot) -> (DomainHandle, String) {
    (dom_in(&snap.dom), snap.name.to_string())
}

fn count_i32(v: &[String]) -> i32 {
    count(v.len())
}

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainSnapshotCreateXml, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_snapshot_create_xml(&d, &a.xml_desc.to_string(), a.flags)
            .map(|n| RemoteDomainSnapshotCreateXmlRet { snap: snap_out(&d, &n) })
    }),
    on!(DomainSnapshotListNames, try |m, a| m
        .domain_snapshot_list(&dom_in(&a.dom), a.flags)
        .map(|v| RemoteDomainSnapshotListNamesRet { names: names(v.into_iter().take(max_of(a.maxnames)).collect()) })),
    on!(DomainListAllSnapshots, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_snapshot_list(&d, a.flags).map(|v| RemoteDomainListAllSnapshotsRet {
            ret: count_i32(&v),
            snapshots: if a.need_results != 0 { v.iter().map(|n| snap_out(&d, n)).collect() } else { Vec::new() },
        })
    }),
    on!(DomainSnapshotNumChildren, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_children(&d, &n, a.flags).map(|v| RemoteDomainSnapshotNumChildrenRet { num: count_i32(&v) })
    }),
    on!(DomainSnapshotListChildrenNames, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_children(&d, &n, a.flags).map(|v| RemoteDomainSnapshotListChildrenNamesRet {
            names: names(v.into_iter().take(max_of(a.maxnames)).collect()),
        })
    }),
    on!(DomainSnapshotListAllChildren, try |m, a| {
        let (d, n) = snap_in(&a.snapshot);
        m.domain_snapshot_children(&d, &n, a.flags).map(|v| RemoteDomainSnapshotListAllChildrenRet {
            ret: count_i32(&v),
            snapshots: if a.need_results != 0 { v.iter().map(|n| snap_out(&d, n)).collect() } else { Vec::new() },
        })
    }),
    on!(DomainSnapshotLookupByName, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_snapshot_lookup_by_name(&d, &a.name.to_string(), a.flags)
            .map(|n| RemoteDomainSnapshotLookupByNameRet { snap: snap_out(&d, &n) })
    }),
    on!(DomainHasCurrentSnapshot, try |m, a| m
        .domain_has_current_snapshot(&dom_in(&a.dom), a.flags)
        .map(|v| RemoteDomainHasCurrentSnapshotRet { result: i32::from(v) })),
    on!(DomainSnapshotCurrent, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_snapshot_current(&d, a.flags).map(|n| RemoteDomainSnapshotCurrentRet { snap: snap_out(&d, &n) })
    }),
    on!(DomainSnapshotGetParent, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_get_parent(&d, &n, a.flags).map(|p| RemoteDomainSnapshotGetParentRet { snap: snap_out(&d, &p) })
    }),
    on!(DomainSnapshotGetXmlDesc, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_get_xml_desc(&d, &n, a.flags).map(|x| RemoteDomainSnapshotGetXmlDescRet { xml: s(&x) })
    }),
    on!(DomainSnapshotIsCurrent, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_is_current(&d, &n, a.flags).map(|v| RemoteDomainSnapshotIsCurrentRet { current: i32::from(v) })
    }),
    on!(DomainSnapshotHasMetadata, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_has_metadata(&d, &n, a.flags)
            .map(|v| RemoteDomainSnapshotHasMetadataRet { metadata: i32::from(v) })
    }),
    on!(DomainSnapshotDelete, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_snapshot_delete(&d, &n, a.flags)
    }),
    on!(DomainRevertToSnapshot, try |m, a| {
        let (d, n) = snap_in(&a.snap);
        m.domain_revert_to_snapshot(&d, &n, a.flags)
    }),
];
