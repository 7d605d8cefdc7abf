//! Node device procedures (the test driver's node-device table).

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;

fn dev_out(name: &str) -> RemoteNonnullNodeDevice {
    RemoteNonnullNodeDevice { name: s(name) }
}

pub(super) static ENTRIES: &[Entry] = &[
    on!(NodeNumOfDevices, try |m, a| m
        .node_list_devices(a.cap.as_ref().map(ToString::to_string).as_deref(), a.flags)
        .map(|v| RemoteNodeNumOfDevicesRet { num: count(v.len()) })),
    on!(NodeListDevices, try |m, a| m
        .node_list_devices(a.cap.as_ref().map(ToString::to_string).as_deref(), a.flags)
        .map(|v| RemoteNodeListDevicesRet { names: names(v.into_iter().take(max_of(a.maxnames)).collect()) })),
    on!(ConnectListAllNodeDevices, try |m, a| m.list_all_node_devices(a.flags).map(|v| {
        RemoteConnectListAllNodeDevicesRet {
            ret: v.len() as u32,
            devices: if a.need_results != 0 { v.iter().map(|n| dev_out(n)).collect() } else { Vec::new() },
        }
    })),
    on!(NodeDeviceLookupByName, try |m, a| m
        .node_device_lookup_by_name(&a.name.to_string())
        .map(|n| RemoteNodeDeviceLookupByNameRet { dev: dev_out(&n) })),
    on!(NodeDeviceGetXmlDesc, try |m, a| m
        .node_device_get_xml_desc(&a.name.to_string(), a.flags)
        .map(|x| RemoteNodeDeviceGetXmlDescRet { xml: s(&x) })),
    on!(NodeDeviceGetParent, try |m, a| m
        .node_device_get_parent(&a.name.to_string())
        .map(|p| RemoteNodeDeviceGetParentRet { parent_name: Some(s(&p)) })),
    on!(NodeDeviceNumOfCaps, try |m, a| m
        .node_device_list_caps(&a.name.to_string())
        .map(|v| RemoteNodeDeviceNumOfCapsRet { num: count(v.len()) })),
    on!(NodeDeviceCreateXml, try |m, a| m
        .node_device_create_xml(&a.xml_desc.to_string(), a.flags)
        .map(|n| RemoteNodeDeviceCreateXmlRet { dev: dev_out(&n) })),
    on!(NodeDeviceDestroy, try |m, a| m.node_device_destroy(&a.name.to_string())),
    on!(NodeDeviceListCaps, try |m, a| m
        .node_device_list_caps(&a.name.to_string())
        .map(|v| RemoteNodeDeviceListCapsRet { names: names(v.into_iter().take(max_of(a.maxnames)).collect()) })),
];
