//! Creating and destroying node devices (`NODE_DEVICE_CREATE_XML`, `NODE_DEVICE_DESTROY`) as
//! libvirt's test driver mocks them: only virtual HBAs (a `scsi_host` with an `fc_host`
//! capability) can be created, on a vport-capable parent; the "new" device is always
//! `scsi_host12`, a copy of `scsi_host11` carrying the new WWNs (created again, it is replaced),
//! and it raises the node-device CREATED event. Destroying a fibre-channel device whose parent
//! exists removes it (event DELETED); destroying anything else succeeds and changes nothing, as
//! with libvirt (whose driver reports an error there but returns success).
//!
//! The `<device>` document is checked as `virNodeDeviceDefParseXML` checks a new device: parent
//! WWNs in pairs, at least one capability with a known type, `system` with its UUID, the
//! `scsi_host` sub-capabilities (an `fc_host` must bring its WWNs: libvirt cannot generate them
//! for the test driver); every other type's required fields (`nodedev_caps`), and those with
//! no parser refused as "unknown capability type". What passes ends in "Device is not a fibre
//! channel HBA".

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Error, Result};
use super::events::Event;
use super::nodedev::{NodeDeviceDef, CAP_BITS};
use super::xml::{self, Element, Node};
use super::Hypervisor;

/// What libvirt calls a device it is still creating.
const NEW: &str = "new device";

/// `VIR_NODE_DEVICE_EVENT_CREATED` / `_DELETED`.
const CREATED: i32 = 0;
const DELETED: i32 = 1;

fn internal(message: &str) -> Error {
    error::e(ErrorCode::VIR_ERR_INTERNAL_ERROR, ErrorDomain::VIR_FROM_NODEDEV, format!("internal error: {message}"))
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// The `scsi_host` capabilities at the top of a device.
fn scsi_hosts(root: &Element) -> impl Iterator<Item = &Element> {
    root.children_named("capability").filter(|c| c.attr("type") == Some("scsi_host"))
}

fn sub_cap<'a>(scsi_host: &'a Element, kind: &str) -> Option<&'a Element> {
    scsi_host.children_named("capability").find(|c| c.attr("type") == Some(kind))
}

/// `virNodeDeviceGetWWNs`: the WWNN and WWPN of the first fibre-channel `scsi_host`.
fn wwns(root: &Element) -> Option<(String, String)> {
    let fc = scsi_hosts(root).find_map(|h| sub_cap(h, "fc_host"))?;
    Some((fc.child_text("wwnn").unwrap_or_default(), fc.child_text("wwpn").unwrap_or_default()))
}

fn vport_capable(root: &Element) -> bool {
    scsi_hosts(root).any(|h| sub_cap(h, "vport_ops").is_some())
}

/// How a new device names its parent: (name, (wwnn, wwpn), fabric wwn).
type ParentRef = (Option<String>, Option<(String, String)>, Option<String>);

/// The checks of `virNodeDeviceDefParseXML` for a new device; returns its parent reference.
fn check_new_device(root: &Element) -> Result<ParentRef> {
    if root.name != "device" {
        return Err(error::xml_util_error(&format!("expecting root element of 'device', not '{}'", root.name)));
    }
    let parent = root.child("parent");
    let name = non_empty(parent.map(Element::text));
    let attr = |k: &str| non_empty(parent.and_then(|p| p.attr(k)).map(str::to_owned));
    let pair = match (attr("wwnn"), attr("wwpn")) {
        (Some(n), Some(p)) => Some((n, p)),
        (Some(n), None) => {
            return Err(xml_error(&format!("when providing parent wwnn='{n}', the wwpn must also be provided")))
        }
        (None, Some(p)) => {
            return Err(xml_error(&format!("when providing parent wwpn='{p}', the wwnn must also be provided")))
        }
        (None, None) => None,
    };
    let fabric = attr("fabric_wwn");
    let caps: Vec<&Element> = root.children_named("capability").collect();
    if caps.is_empty() {
        return Err(internal(&format!("no device capabilities for '{NEW}'")));
    }
    for cap in caps {
        let Some(kind) = cap.attr("type") else {
            return Err(error::xml_util_error("Missing required attribute 'type' in element 'capability'"));
        };
        let Some(index) = CAP_BITS.iter().position(|c| *c == kind) else {
            return Err(error::xml_util_error(&format!(
                "Invalid value for attribute 'type' in element 'capability': '{kind}'."
            )));
        };
        match kind {
            "fc_host" | "vports" | "scsi_generic" | "mdev_types" | "vdpa" | "vpd" => {
                return Err(internal(&format!("unknown capability type '{index}' for '{NEW}'")))
            }
            "system" if non_empty(cap.child("hardware").and_then(|h| h.child_text("uuid"))).is_none() => {
                return Err(internal(&format!("no system UUID supplied for '{NEW}'")));
            }
            "scsi_host" => check_scsi_host(cap)?,
            "system" => {}
            other => super::nodedev_caps::check(other, cap, NEW)?,
        }
    }
    Ok((name, pair, fabric))
}

fn xml_error(message: &str) -> Error {
    error::e(ErrorCode::VIR_ERR_XML_ERROR, ErrorDomain::VIR_FROM_NODEDEV, format!("XML error: {message}"))
}

/// `virNodeDevCapSCSIHostParseXML` for a new device.
fn check_scsi_host(cap: &Element) -> Result<()> {
    for sub in cap.children_named("capability") {
        match sub.attr("type") {
            None => return Err(internal(&format!("missing SCSI host capability type for '{NEW}'"))),
            Some("vport_ops") => {}
            Some("fc_host") => {
                for (what, child) in [("WWNN", "wwnn"), ("WWPN", "wwpn")] {
                    if non_empty(sub.child_text(child)).is_none() {
                        return Err(internal(&format!("no {what} supplied for '{NEW}', and auto-generation failed")));
                    }
                }
            }
            Some(other) => {
                return Err(internal(&format!("unknown SCSI host capability type '{other}' for '{NEW}'")));
            }
        }
    }
    Ok(())
}

fn set_child_text(e: &mut Element, name: &str, value: &str) {
    for c in &mut e.children {
        if let Node::Element(c) = c {
            if c.name == name {
                c.children = vec![Node::Text(value.to_owned())];
            }
        }
    }
}

fn bump_child(e: &mut Element, name: &str) {
    let v = e.child_text(name).and_then(|t| t.trim().parse::<i64>().ok());
    if let Some(v) = v {
        set_child_text(e, name, &(v + 1).to_string());
    }
}

impl Hypervisor {
    /// `virNodeDeviceObjListGetParentHost`: the parent must exist and be vport-capable.
    fn new_device_parent(&self, parent: &ParentRef) -> Result<()> {
        let (name, pair, fabric) = parent;
        let found = if let Some(name) = name {
            self.devices.iter().find(|d| &d.name == name)
        } else if let Some((n, p)) = pair {
            self.devices.iter().find(|d| wwns(&d.root).is_some_and(|(wn, wp)| &wn == n && &wp == p))
        } else if let Some(f) = fabric {
            self.devices.iter().find(|d| {
                scsi_hosts(&d.root)
                    .filter_map(|h| sub_cap(h, "fc_host"))
                    .any(|fc| fc.child_text("fabric_wwn").as_deref() == Some(f.as_str()))
            })
        } else {
            let any = self.devices.iter().find(|d| vport_capable(&d.root));
            return any.map(|_| ()).ok_or_else(|| internal("Could not find any vport capable device"));
        };
        let dev = found.ok_or_else(|| internal(&format!("Could not find parent device for '{NEW}'")))?;
        if !vport_capable(&dev.root) {
            return Err(internal(&format!("Parent device {} is not capable of vport operations", dev.name)));
        }
        Ok(())
    }

    /// `NODE_DEVICE_CREATE_XML` (flag `VALIDATE` 1 accepted; no schema is checked): the name of
    /// the device created.
    pub fn node_device_create_xml(&mut self, xml_desc: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 1, "testNodeDeviceCreateXML")?;
        let root = xml::parse(xml_desc, "(node_device_definition)")
            .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_NODEDEV, e.message))?;
        let parent = check_new_device(&root)?;
        let (wwnn, wwpn) = wwns(&root).ok_or_else(|| internal("Device is not a fibre channel HBA"))?;
        self.new_device_parent(&parent)?;
        let Some(template) = self.devices.iter().find(|d| d.name == "scsi_host11") else {
            // The mock finds no device to copy and fails without saying why; libvirtd answers so.
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "Library function returned error but did not set virError",
            ));
        };
        let mut copy = template.root.clone();
        set_child_text(&mut copy, "name", "scsi_host12");
        for c in &mut copy.children {
            let Node::Element(cap) = c else { continue };
            if cap.name != "capability" || cap.attr("type") != Some("scsi_host") {
                continue;
            }
            if sub_cap(cap, "fc_host").is_some() {
                for s in &mut cap.children {
                    if let Node::Element(s) = s {
                        if s.name == "capability" && s.attr("type") == Some("fc_host") {
                            set_child_text(s, "wwnn", &wwnn);
                            set_child_text(s, "wwpn", &wwpn);
                        }
                    }
                }
            } else {
                bump_child(cap, "host");
                bump_child(cap, "unique_id");
            }
        }
        let def = NodeDeviceDef::from_element(&copy)?;
        let name = def.name.clone();
        match self.devices.iter().position(|d| d.name == name) {
            Some(i) => self.devices[i] = def,
            None => self.devices.push(def),
        }
        self.events.push(Event::NodeDeviceLifecycle { name: name.clone(), event: CREATED, detail: 0 });
        Ok(name)
    }

    /// `NODE_DEVICE_DESTROY`: removes a fibre-channel device whose parent exists (event
    /// DELETED); any other device stays, and the call still succeeds, as with libvirt.
    pub fn node_device_destroy(&mut self, name: &str) -> Result<()> {
        let i = self.dev_by_name(name)?;
        let d = &self.devices[i];
        if wwns(&d.root).is_none() {
            return Ok(());
        }
        let Some(parent) = d.parent.clone() else { return Ok(()) };
        if !self.devices.iter().any(|p| p.name == parent) {
            return Ok(());
        }
        self.devices.remove(i);
        self.events.push(Event::NodeDeviceLifecycle { name: name.to_owned(), event: DELETED, detail: 0 });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VHBA: &str = "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>\
                        <wwnn>2000000011112222</wwnn><wwpn>1000000011112222</wwpn></capability></capability></device>";

    #[test]
    fn create_copies_scsi_host11_with_the_new_wwns_and_destroy_removes_it() {
        let mut h = Hypervisor::new_default("host");
        h.drain_events();
        assert_eq!(h.node_device_create_xml(VHBA, 0).unwrap(), "scsi_host12");
        let x = h.node_device_get_xml_desc("scsi_host12", 0).unwrap();
        assert!(x.contains("<wwnn>2000000011112222</wwnn>") && x.contains("<host>11</host>"), "{x}");
        assert!(x.contains("<parent>scsi_host1</parent>"), "{x}");
        // Created again: replaced, not added.
        h.node_device_create_xml(VHBA, 0).unwrap();
        assert_eq!(h.node_list_devices(None, 0).unwrap().iter().filter(|n| *n == "scsi_host12").count(), 1);
        h.node_device_destroy("computer").unwrap();
        assert!(h.node_device_lookup_by_name("computer").is_ok(), "not an HBA: kept");
        h.node_device_destroy("scsi_host12").unwrap();
        assert!(h.node_device_lookup_by_name("scsi_host12").is_err());
        let ev = h.drain_events();
        let names: Vec<i32> = ev
            .iter()
            .filter_map(|e| match e {
                Event::NodeDeviceLifecycle { event, .. } => Some(*event),
                _ => None,
            })
            .collect();
        assert_eq!(names, [CREATED, CREATED, DELETED]);
    }

    #[test]
    fn bad_documents_get_libvirts_errors() {
        let mut h = Hypervisor::new_default("host");
        let tri = |h: &mut Hypervisor, x: &str| h.node_device_create_xml(x, 0).unwrap_err().triple().2.to_owned();
        assert_eq!(tri(&mut h, "<device/>"), "internal error: no device capabilities for 'new device'");
        assert_eq!(
            tri(&mut h, "<device><capability type='scsi_host'/></device>"),
            "internal error: Device is not a fibre channel HBA"
        );
        assert_eq!(
            tri(&mut h, &VHBA.replace("scsi_host1<", "computer<")),
            "internal error: Parent device computer is not capable of vport operations"
        );
        assert_eq!(
            tri(&mut h, &VHBA.replace("scsi_host1<", "nope<")),
            "internal error: Could not find parent device for 'new device'"
        );
        assert_eq!(
            tri(&mut h, "<device><capability type='scsi_host'><capability type='fc_host'/></capability></device>"),
            "internal error: no WWNN supplied for 'new device', and auto-generation failed"
        );
        assert_eq!(
            tri(&mut h, "<device><parent wwnn='1'/><capability type='system'/></device>"),
            "XML error: when providing parent wwnn='1', the wwpn must also be provided"
        );
        let e = h.node_device_create_xml(VHBA, 2).unwrap_err();
        assert_eq!(e.triple(), (8, 12, "unsupported flags (0x2) in function testNodeDeviceCreateXML"));
    }
}
