//! The interface family (the test driver's interface table): host interfaces defined from
//! `<interface>` documents, started and stopped, listed, and the change transaction
//! (begin / commit / rollback) that snapshots the definitions.
//!
//! Definitions are formatted in `virInterfaceDefFormat`'s order: start mode, MTU and protocols
//! (top level only), link, then the type's own part (the MAC of an ethernet interface, the
//! `<bridge>`, `<bond>` or `<vlan>` element); those parts are re-formatted as written.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Error, Result};
use super::xml::{self, Buf, Element};
use super::Hypervisor;

const TYPES: &[&str] = &["ethernet", "bridge", "bond", "vlan"];

/// An interface as the wire names it (`remote_nonnull_interface`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceHandle {
    /// Name.
    pub name: String,
    /// MAC address (empty when the definition has none).
    pub mac: String,
}

/// A parsed `<interface>`.
#[derive(Debug, Clone)]
pub(crate) struct InterfaceDef {
    pub(crate) itype: String,
    pub(crate) name: String,
    pub(crate) mac: Option<String>,
    root: Element,
}

fn iface_error(code: ErrorCode, message: String) -> Error {
    error::e(code, ErrorDomain::VIR_FROM_INTERFACE, message)
}

impl InterfaceDef {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let root = xml::parse(text, "(interface_definition)")
            .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_INTERFACE, e.message))?;
        Self::from_element(&root)
    }

    pub(crate) fn from_element(root: &Element) -> Result<Self> {
        if root.name != "interface" {
            return Err(error::xml_util_error(&format!("expecting root element of 'interface', not '{}'", root.name)));
        }
        let Some(itype) = root.attr("type") else {
            return Err(error::xml_util_error("Missing required attribute 'type' in element 'interface'"));
        };
        if !TYPES.contains(&itype) {
            return Err(error::xml_util_error(&format!(
                "Invalid value for attribute 'type' in element 'interface': '{itype}'."
            )));
        }
        let name = root.attr("name").map(str::to_owned);
        let Some(name) = name.filter(|_| itype != "vlan").or_else(|| root.attr("name").map(str::to_owned)) else {
            return Err(iface_error(ErrorCode::VIR_ERR_XML_ERROR, "XML error: interface has no name".to_owned()));
        };
        let mac = root.child("mac").and_then(|m| m.attr("address")).map(str::to_owned);
        Ok(Self { itype: itype.to_owned(), name, mac, root: root.clone() })
    }

    pub(crate) fn format(&self) -> String {
        let mut b = Buf::new();
        b.line(&format!("<interface type='{}' name='{}'>", self.itype, xml::escape(&self.name)));
        b.push();
        for name in ["start", "mtu"] {
            if let Some(e) = self.root.child(name) {
                b.element(e);
            }
        }
        for p in self.root.children_named("protocol") {
            b.element(p);
        }
        if self.itype != "bridge" {
            if let Some(l) = self.root.child("link") {
                b.element(l);
            }
        }
        match self.itype.as_str() {
            "ethernet" => {
                if let Some(m) = &self.mac {
                    b.line(&format!("<mac address='{}'/>", xml::escape(m)));
                }
            }
            other => {
                if let Some(e) = self.root.child(other) {
                    b.element(e);
                }
            }
        }
        b.pop();
        b.line("</interface>");
        b.finish()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct InterfaceObj {
    pub(crate) def: InterfaceDef,
    pub(crate) active: bool,
}

impl InterfaceObj {
    fn handle(&self) -> InterfaceHandle {
        InterfaceHandle { name: self.def.name.clone(), mac: self.def.mac.clone().unwrap_or_default() }
    }
}

/// `VIR_CONNECT_LIST_INTERFACES_INACTIVE` / `_ACTIVE`.
const LIST_INACTIVE: u32 = 1;
const LIST_ACTIVE: u32 = 2;

fn invalid(message: Option<&str>) -> Error {
    let text = match message {
        Some(m) => format!("Requested operation is not valid: {m}"),
        None => "Requested operation is not valid".to_owned(),
    };
    error::e(ErrorCode::VIR_ERR_OPERATION_INVALID, ErrorDomain::VIR_FROM_TEST, text)
}

impl Hypervisor {
    fn iface_by_name(&self, name: &str) -> Result<usize> {
        self.interfaces.iter().position(|i| i.def.name == name).ok_or_else(|| {
            error::e(
                ErrorCode::VIR_ERR_NO_INTERFACE,
                ErrorDomain::VIR_FROM_TEST,
                format!("Interface not found: no interface with matching name '{name}'"),
            )
        })
    }

    /// `INTERFACE_LOOKUP_BY_NAME`.
    pub fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceHandle> {
        self.iface_by_name(name).map(|i| self.interfaces[i].handle())
    }

    /// `INTERFACE_LOOKUP_BY_MAC_STRING`: exactly one interface (any state) with that MAC.
    pub fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceHandle> {
        let found: Vec<&InterfaceObj> = self
            .interfaces
            .iter()
            .filter(|i| i.def.mac.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(mac)))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.handle()),
            [] => Err(error::e(
                ErrorCode::VIR_ERR_NO_INTERFACE,
                ErrorDomain::VIR_FROM_TEST,
                format!("Interface not found: no interface with matching mac '{mac}'"),
            )),
            _ => Err(error::e(
                ErrorCode::VIR_ERR_MULTIPLE_INTERFACES,
                ErrorDomain::VIR_FROM_TEST,
                "multiple matching interfaces found",
            )),
        }
    }

    /// `CONNECT_NUM_OF_INTERFACES` / `CONNECT_NUM_OF_DEFINED_INTERFACES`.
    #[must_use]
    pub fn num_of_interfaces(&self, active: bool) -> usize {
        self.interfaces.iter().filter(|i| i.active == active).count()
    }

    /// `CONNECT_LIST_INTERFACES` / `CONNECT_LIST_DEFINED_INTERFACES`.
    #[must_use]
    pub fn list_interfaces(&self, active: bool, max: usize) -> Vec<String> {
        self.interfaces.iter().filter(|i| i.active == active).take(max).map(|i| i.def.name.clone()).collect()
    }

    /// `CONNECT_LIST_ALL_INTERFACES` (flags ACTIVE, INACTIVE).
    pub fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceHandle>> {
        error::check_flags(flags, LIST_ACTIVE | LIST_INACTIVE, "testConnectListAllInterfaces")?;
        let both = LIST_ACTIVE | LIST_INACTIVE;
        Ok(self
            .interfaces
            .iter()
            .filter(|i| {
                flags & both == 0
                    || flags & both == both
                    || (i.active && flags & LIST_ACTIVE != 0)
                    || (!i.active && flags & LIST_INACTIVE != 0)
            })
            .map(InterfaceObj::handle)
            .collect())
    }

    /// `INTERFACE_GET_XML_DESC` (no flags).
    pub fn interface_get_xml_desc(&self, iface: &InterfaceHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testInterfaceGetXMLDesc")?;
        self.iface_by_name(&iface.name).map(|i| self.interfaces[i].def.format())
    }

    /// `INTERFACE_DEFINE_XML` (flag `VIR_INTERFACE_DEFINE_VALIDATE`): a new inactive interface,
    /// or a new definition for the one with that name.
    pub fn interface_define_xml(&mut self, xml: &str, flags: u32) -> Result<InterfaceHandle> {
        error::check_flags(flags, 1, "testInterfaceDefineXML")?;
        let def = InterfaceDef::parse(xml)?;
        if let Some(i) = self.interfaces.iter().position(|o| o.def.name == def.name) {
            self.interfaces[i].def = def;
            return Ok(self.interfaces[i].handle());
        }
        self.interfaces.push(InterfaceObj { def, active: false });
        Ok(self.interfaces[self.interfaces.len() - 1].handle())
    }

    /// `INTERFACE_UNDEFINE`.
    pub fn interface_undefine(&mut self, iface: &InterfaceHandle) -> Result<()> {
        let i = self.iface_by_name(&iface.name)?;
        self.interfaces.remove(i);
        Ok(())
    }

    /// `INTERFACE_CREATE` / `INTERFACE_DESTROY` (no flags).
    pub fn interface_set_active(&mut self, iface: &InterfaceHandle, active: bool, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, if active { "testInterfaceCreate" } else { "testInterfaceDestroy" })?;
        let i = self.iface_by_name(&iface.name)?;
        if self.interfaces[i].active == active {
            return Err(invalid(None));
        }
        self.interfaces[i].active = active;
        Ok(())
    }

    /// `INTERFACE_IS_ACTIVE`.
    pub fn interface_is_active(&self, iface: &InterfaceHandle) -> Result<bool> {
        self.iface_by_name(&iface.name).map(|i| self.interfaces[i].active)
    }

    /// `INTERFACE_CHANGE_BEGIN`: keeps a copy of the definitions (not their states).
    pub fn interface_change_begin(&mut self, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testInterfaceChangeBegin")?;
        if self.iface_backup.is_some() {
            return Err(invalid(Some("there is another transaction running.")));
        }
        self.iface_backup =
            Some(self.interfaces.iter().map(|i| InterfaceObj { def: i.def.clone(), active: false }).collect());
        Ok(())
    }

    /// `INTERFACE_CHANGE_COMMIT`.
    pub fn interface_change_commit(&mut self, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testInterfaceChangeCommit")?;
        if self.iface_backup.take().is_none() {
            return Err(invalid(Some("no transaction running, nothing to be committed.")));
        }
        Ok(())
    }

    /// `INTERFACE_CHANGE_ROLLBACK`: back to the copy, every interface inactive (the copy does not
    /// keep states, as in the test driver).
    pub fn interface_change_rollback(&mut self, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testInterfaceChangeRollback")?;
        let Some(backup) = self.iface_backup.take() else {
            return Err(invalid(Some("no transaction running, nothing to rollback.")));
        };
        self.interfaces = backup;
        Ok(())
    }
}
