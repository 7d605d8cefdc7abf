//! The node device family (the test driver's node-device table): the host's devices from the
//! node description, listed by capability, their XML, parent and capabilities, and devices
//! created and destroyed from `<device>` documents.
//!
//! A device's XML is re-formatted as written, except what libvirt reads from the host rather
//! than the document: the `vport_ops` counts are 0.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Error, Result};
use super::xml::{Buf, Element, Node};
use super::Hypervisor;

/// `virNodeDevCapType` names, in the order of the `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*` bits.
pub(super) const CAP_BITS: &[&str] = &[
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

/// A parsed `<device>`.
#[derive(Debug, Clone)]
pub(crate) struct NodeDeviceDef {
    pub(crate) name: String,
    pub(crate) parent: Option<String>,
    pub(super) root: Element,
}

fn no_device(name: &str) -> Error {
    error::e(
        ErrorCode::VIR_ERR_NO_NODE_DEVICE,
        ErrorDomain::VIR_FROM_TEST,
        format!("Node device not found: no node device with matching name '{name}'"),
    )
}

fn zero_vports(e: &mut Element) {
    if e.name == "capability" && e.attr("type") == Some("vport_ops") {
        for c in &mut e.children {
            if let Node::Element(c) = c {
                if c.name == "max_vports" || c.name == "vports" {
                    c.children = vec![Node::Text("0".to_owned())];
                }
            }
        }
    }
    for c in &mut e.children {
        if let Node::Element(c) = c {
            zero_vports(c);
        }
    }
}

impl NodeDeviceDef {
    pub(crate) fn from_element(root: &Element) -> Result<Self> {
        if root.name != "device" {
            return Err(error::xml_util_error(&format!("expecting root element of 'device', not '{}'", root.name)));
        }
        let Some(name) = root.child_text("name") else {
            return Err(error::e(
                ErrorCode::VIR_ERR_NO_NAME,
                ErrorDomain::VIR_FROM_NODEDEV,
                "missing name information",
            ));
        };
        let mut root = root.clone();
        zero_vports(&mut root);
        Ok(Self { name: name.trim().to_owned(), parent: root.child_text("parent").map(|p| p.trim().to_owned()), root })
    }

    /// The top-level capability types, in document order.
    pub(crate) fn caps(&self) -> Vec<String> {
        self.root.children_named("capability").filter_map(|c| c.attr("type")).map(str::to_owned).collect()
    }

    pub(crate) fn format(&self) -> String {
        let mut b = Buf::new();
        b.element(&self.root);
        b.finish()
    }
}

impl Hypervisor {
    pub(super) fn dev_by_name(&self, name: &str) -> Result<usize> {
        self.devices.iter().position(|d| d.name == name).ok_or_else(|| no_device(name))
    }

    /// `NODE_NUM_OF_DEVICES` / `NODE_LIST_DEVICES`: devices with capability `cap` (all without).
    pub fn node_list_devices(&self, cap: Option<&str>, flags: u32) -> Result<Vec<String>> {
        error::check_flags(flags, 0, "testNodeListDevices")?;
        Ok(self
            .devices
            .iter()
            .filter(|d| cap.is_none_or(|c| d.caps().iter().any(|x| x == c)))
            .map(|d| d.name.clone())
            .collect())
    }

    /// `CONNECT_LIST_ALL_NODE_DEVICES` (the capability bits; `ACTIVE`/`INACTIVE` are refused as
    /// by the test driver).
    pub fn list_all_node_devices(&self, flags: u32) -> Result<Vec<String>> {
        let all_caps = (1u32 << CAP_BITS.len()) - 1;
        error::check_flags(flags, all_caps, "testConnectListAllNodeDevices")?;
        Ok(self
            .devices
            .iter()
            .filter(|d| {
                flags == 0
                    || d.caps()
                        .iter()
                        .any(|c| CAP_BITS.iter().position(|b| b == c).is_some_and(|bit| flags & (1 << bit) != 0))
            })
            .map(|d| d.name.clone())
            .collect())
    }

    /// `NODE_DEVICE_LOOKUP_BY_NAME`.
    pub fn node_device_lookup_by_name(&self, name: &str) -> Result<String> {
        self.dev_by_name(name).map(|i| self.devices[i].name.clone())
    }

    /// `NODE_DEVICE_GET_XML_DESC` (no flags).
    pub fn node_device_get_xml_desc(&self, name: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testNodeDeviceGetXMLDesc")?;
        self.dev_by_name(name).map(|i| self.devices[i].format())
    }

    /// `NODE_DEVICE_GET_PARENT`.
    pub fn node_device_get_parent(&self, name: &str) -> Result<String> {
        let i = self.dev_by_name(name)?;
        self.devices[i].parent.clone().ok_or_else(|| error::internal("no parent for this device"))
    }

    /// `NODE_DEVICE_NUM_OF_CAPS` / `NODE_DEVICE_LIST_CAPS`.
    pub fn node_device_list_caps(&self, name: &str) -> Result<Vec<String>> {
        self.dev_by_name(name).map(|i| self.devices[i].caps())
    }
}
