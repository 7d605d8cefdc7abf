//! Network procedures (the test driver's network table).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;
use crate::hypervisor::Uuid;

pub(super) static ENTRIES: &[Entry] = &[
    on!(NetworkLookupByName, try |m, a| m
        .network_lookup_by_name(&a.name.to_string())
        .map(|n| RemoteNetworkLookupByNameRet { net: net_out(&n) })),
    on!(NetworkLookupByUuid, try |m, a| m
        .network_lookup_by_uuid(&Uuid(a.uuid))
        .map(|n| RemoteNetworkLookupByUuidRet { net: net_out(&n) })),
    on!(ConnectListAllNetworks, try |m, a| {
        m.list_all_networks(a.flags).map(|v| RemoteConnectListAllNetworksRet {
            ret: v.len() as u32,
            nets: if a.need_results != 0 { v.iter().map(net_out).collect() } else { Vec::new() },
        })
    }),
    on!(ConnectNumOfNetworks, |m, _a| RemoteConnectNumOfNetworksRet { num: count(m.num_of_networks()) }),
    on!(ConnectListNetworks, |m, a| RemoteConnectListNetworksRet { names: names(m.list_networks(max_of(a.maxnames))) }),
    on!(ConnectNumOfDefinedNetworks, |m, _a| {
        RemoteConnectNumOfDefinedNetworksRet { num: count(m.num_of_defined_networks()) }
    }),
    on!(ConnectListDefinedNetworks, |m, a| {
        RemoteConnectListDefinedNetworksRet { names: names(m.list_defined_networks(max_of(a.maxnames))) }
    }),
    on!(NetworkDefineXml, try |m, a| m
        .network_define_xml(&a.xml.to_string(), 0)
        .map(|n| RemoteNetworkDefineXmlRet { net: net_out(&n) })),
    on!(NetworkDefineXmlFlags, try |m, a| m
        .network_define_xml(&a.xml.to_string(), a.flags)
        .map(|n| RemoteNetworkDefineXmlFlagsRet { net: net_out(&n) })),
    on!(NetworkCreateXmlFlags, try |m, a| m
        .network_create_xml(&a.xml.to_string(), a.flags)
        .map(|n| RemoteNetworkCreateXmlFlagsRet { net: net_out(&n) })),
    on!(NetworkCreateXml, try |m, a| m
        .network_create_xml(&a.xml.to_string(), 0)
        .map(|n| RemoteNetworkCreateXmlRet { net: net_out(&n) })),
    on!(NetworkUpdate, try |m, a| m.network_update(
        &Uuid(a.net.uuid),
        a.command,
        a.section,
        a.parent_index,
        &a.xml.to_string(),
        a.flags
    )),
    on!(NetworkUndefine, try |m, a| m.network_undefine(&net_in(&a.net))),
    on!(NetworkCreate, try |m, a| m.network_create(&net_in(&a.net))),
    on!(NetworkDestroy, try |m, a| m.network_destroy(&net_in(&a.net))),
    on!(NetworkGetXmlDesc, try |m, a| m
        .network_get_xml_desc(&net_in(&a.net), a.flags)
        .map(|x| RemoteNetworkGetXmlDescRet { xml: s(&x) })),
    on!(NetworkGetBridgeName, try |m, a| m
        .network_get_bridge_name(&net_in(&a.net))
        .map(|x| RemoteNetworkGetBridgeNameRet { name: s(&x) })),
    on!(NetworkGetAutostart, try |m, a| m
        .network_get_autostart(&net_in(&a.net))
        .map(|v| RemoteNetworkGetAutostartRet { autostart: i32::from(v) })),
    on!(NetworkSetAutostart, try |m, a| m.network_set_autostart(&net_in(&a.net), a.autostart != 0)),
    on!(NetworkIsActive, try |m, a| m
        .network_is_active(&net_in(&a.net))
        .map(|v| RemoteNetworkIsActiveRet { active: i32::from(v) })),
    on!(NetworkIsPersistent, try |m, a| m
        .network_is_persistent(&net_in(&a.net))
        .map(|v| RemoteNetworkIsPersistentRet { persistent: i32::from(v) })),
];
