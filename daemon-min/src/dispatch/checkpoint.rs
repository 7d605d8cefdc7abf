//! Domain checkpoint procedures (the checkpoint entries of the test driver's hypervisor table).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;
use crate::hypervisor::DomainHandle;

fn ckpt_out(dom: &DomainHandle, name: &str) -> RemoteNonnullDomainCheckpoint {
    RemoteNonnullDomainCheckpoint { name: s(name), dom: dom_out(dom) }
}

fn ckpt_in(c: &RemoteNonnullDomainCheckpoint) -> (DomainHandle, String) {
    (dom_in(&c.dom), c.name.to_string())
}

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainCheckpointCreateXml, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_checkpoint_create_xml(&d, &a.xml_desc.to_string(), a.flags)
            .map(|n| RemoteDomainCheckpointCreateXmlRet { checkpoint: ckpt_out(&d, &n) })
    }),
    on!(DomainCheckpointGetXmlDesc, try |m, a| {
        let (d, n) = ckpt_in(&a.checkpoint);
        m.domain_checkpoint_get_xml_desc(&d, &n, a.flags).map(|x| RemoteDomainCheckpointGetXmlDescRet { xml: s(&x) })
    }),
    on!(DomainListAllCheckpoints, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_list_all_checkpoints(&d, None, a.flags).map(|v| RemoteDomainListAllCheckpointsRet {
            ret: count(v.len()),
            checkpoints: if a.need_results != 0 { v.iter().map(|n| ckpt_out(&d, n)).collect() } else { Vec::new() },
        })
    }),
    on!(DomainCheckpointListAllChildren, try |m, a| {
        let (d, n) = ckpt_in(&a.checkpoint);
        m.domain_list_all_checkpoints(&d, Some(&n), a.flags).map(|v| RemoteDomainCheckpointListAllChildrenRet {
            ret: count(v.len()),
            checkpoints: if a.need_results != 0 { v.iter().map(|n| ckpt_out(&d, n)).collect() } else { Vec::new() },
        })
    }),
    on!(DomainCheckpointLookupByName, try |m, a| {
        let d = dom_in(&a.dom);
        m.domain_checkpoint_lookup_by_name(&d, &a.name.to_string(), a.flags)
            .map(|n| RemoteDomainCheckpointLookupByNameRet { checkpoint: ckpt_out(&d, &n) })
    }),
    on!(DomainCheckpointGetParent, try |m, a| {
        let (d, n) = ckpt_in(&a.checkpoint);
        m.domain_checkpoint_get_parent(&d, &n, a.flags)
            .map(|p| RemoteDomainCheckpointGetParentRet { parent: ckpt_out(&d, &p) })
    }),
    on!(DomainCheckpointDelete, try |m, a| {
        let (d, n) = ckpt_in(&a.checkpoint);
        m.domain_checkpoint_delete(&d, &n, a.flags)
    }),
];
