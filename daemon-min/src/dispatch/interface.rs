//! Interface procedures (the test driver's interface table).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;
use crate::hypervisor::InterfaceHandle;

fn iface_out(h: &InterfaceHandle) -> RemoteNonnullInterface {
    RemoteNonnullInterface { name: s(&h.name), mac: s(&h.mac) }
}

fn iface_in(i: &RemoteNonnullInterface) -> InterfaceHandle {
    InterfaceHandle { name: i.name.to_string(), mac: i.mac.to_string() }
}

pub(super) static ENTRIES: &[Entry] = &[
    on!(ConnectNumOfInterfaces, |m, _a| RemoteConnectNumOfInterfacesRet { num: count(m.num_of_interfaces(true)) }),
    on!(ConnectListInterfaces, |m, a| RemoteConnectListInterfacesRet {
        names: names(m.list_interfaces(true, max_of(a.maxnames)))
    }),
    on!(ConnectNumOfDefinedInterfaces, |m, _a| RemoteConnectNumOfDefinedInterfacesRet {
        num: count(m.num_of_interfaces(false))
    }),
    on!(ConnectListDefinedInterfaces, |m, a| RemoteConnectListDefinedInterfacesRet {
        names: names(m.list_interfaces(false, max_of(a.maxnames)))
    }),
    on!(ConnectListAllInterfaces, try |m, a| m.list_all_interfaces(a.flags).map(|v| RemoteConnectListAllInterfacesRet {
        ret: v.len() as u32,
        ifaces: if a.need_results != 0 { v.iter().map(iface_out).collect() } else { Vec::new() },
    })),
    on!(InterfaceLookupByName, try |m, a| m
        .interface_lookup_by_name(&a.name.to_string())
        .map(|i| RemoteInterfaceLookupByNameRet { iface: iface_out(&i) })),
    on!(InterfaceLookupByMacString, try |m, a| m
        .interface_lookup_by_mac(&a.mac.to_string())
        .map(|i| RemoteInterfaceLookupByMacStringRet { iface: iface_out(&i) })),
    on!(InterfaceGetXmlDesc, try |m, a| m
        .interface_get_xml_desc(&iface_in(&a.iface), a.flags)
        .map(|x| RemoteInterfaceGetXmlDescRet { xml: s(&x) })),
    on!(InterfaceDefineXml, try |m, a| m
        .interface_define_xml(&a.xml.to_string(), a.flags)
        .map(|i| RemoteInterfaceDefineXmlRet { iface: iface_out(&i) })),
    on!(InterfaceUndefine, try |m, a| m.interface_undefine(&iface_in(&a.iface))),
    on!(InterfaceCreate, try |m, a| m.interface_set_active(&iface_in(&a.iface), true, a.flags)),
    on!(InterfaceDestroy, try |m, a| m.interface_set_active(&iface_in(&a.iface), false, a.flags)),
    on!(InterfaceIsActive, try |m, a| m
        .interface_is_active(&iface_in(&a.iface))
        .map(|v| RemoteInterfaceIsActiveRet { active: i32::from(v) })),
    on!(InterfaceChangeBegin, try |m, a| m.interface_change_begin(a.flags)),
    on!(InterfaceChangeCommit, try |m, a| m.interface_change_commit(a.flags)),
    on!(InterfaceChangeRollback, try |m, a| m.interface_change_rollback(a.flags)),
];
