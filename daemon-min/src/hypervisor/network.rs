//! The network family (the test driver's network table): lookups, lists, define/undefine,
//! start/stop with their events, XML, bridge name and autostart. Definitions live in
//! `network_conf`.

use super::error::{self, Result};
use super::events::{network_event, Event};
use super::network_conf::NetworkDef;
use super::uuid::Uuid;
use super::{object_filter, Hypervisor};

/// A network as the wire names it (`remote_nonnull_network`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkHandle {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

#[derive(Debug, Clone)]
pub(super) struct NetworkObj {
    pub(super) def: NetworkDef,
    pub(super) new_def: Option<NetworkDef>,
    pub(super) active: bool,
    pub(super) persistent: bool,
    pub(super) autostart: bool,
}

impl NetworkObj {
    pub(super) fn handle(&self) -> NetworkHandle {
        NetworkHandle { name: self.def.name.clone(), uuid: self.def.uuid }
    }
}

impl Hypervisor {
    // ----- networks -------------------------------------------------------------------------------

    pub(super) fn net_by_name(&self, name: &str) -> Result<usize> {
        self.networks.iter().position(|n| n.def.name == name).ok_or_else(|| error::no_network_name(name))
    }

    pub(super) fn net_by_uuid(&self, uuid: &Uuid) -> Result<usize> {
        self.networks.iter().position(|n| n.def.uuid == *uuid).ok_or_else(|| error::no_network_uuid(uuid))
    }

    /// `NETWORK_LOOKUP_BY_NAME`.
    pub fn network_lookup_by_name(&self, name: &str) -> Result<NetworkHandle> {
        self.net_by_name(name).map(|i| self.networks[i].handle())
    }

    /// `NETWORK_LOOKUP_BY_UUID`.
    pub fn network_lookup_by_uuid(&self, uuid: &Uuid) -> Result<NetworkHandle> {
        self.net_by_uuid(uuid).map(|i| self.networks[i].handle())
    }

    /// `CONNECT_LIST_ALL_NETWORKS` with [`list_objects`] flags.
    pub fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkHandle>> {
        error::check_flags(flags, 0x3f, "testConnectListAllNetworks")?;
        Ok(self
            .networks
            .iter()
            .filter(|n| object_filter(flags, n.active, n.persistent, n.autostart))
            .map(NetworkObj::handle)
            .collect())
    }

    /// `CONNECT_NUM_OF_NETWORKS` (active).
    #[must_use]
    pub fn num_of_networks(&self) -> usize {
        self.networks.iter().filter(|n| n.active).count()
    }

    /// `CONNECT_LIST_NETWORKS` (active names, at most `max`).
    #[must_use]
    pub fn list_networks(&self, max: usize) -> Vec<String> {
        self.networks.iter().filter(|n| n.active).map(|n| n.def.name.clone()).take(max).collect()
    }

    /// `CONNECT_NUM_OF_DEFINED_NETWORKS` (inactive).
    #[must_use]
    pub fn num_of_defined_networks(&self) -> usize {
        self.networks.iter().filter(|n| !n.active).count()
    }

    /// `CONNECT_LIST_DEFINED_NETWORKS` (inactive names, at most `max`).
    #[must_use]
    pub fn list_defined_networks(&self, max: usize) -> Vec<String> {
        self.networks.iter().filter(|n| !n.active).map(|n| n.def.name.clone()).take(max).collect()
    }

    pub(super) fn net_slot(&self, def: &NetworkDef, check_live: bool) -> Result<Option<usize>> {
        if let Some(i) = self.networks.iter().position(|n| n.def.uuid == def.uuid) {
            let cur = &self.networks[i];
            if cur.def.name != def.name {
                return Err(error::network_uuid_taken(&cur.def.name, &cur.def.uuid));
            }
            if check_live && cur.active {
                return Err(error::network_already_active(&cur.def.name));
            }
            return Ok(Some(i));
        }
        if let Some(cur) = self.networks.iter().find(|n| n.def.name == def.name) {
            return Err(error::network_exists(&cur.def.name, &cur.def.uuid));
        }
        Ok(None)
    }

    /// `NETWORK_DEFINE_XML`.
    pub fn network_define_xml(&mut self, xml: &str, flags: u32) -> Result<NetworkHandle> {
        error::check_flags(flags, 1, "testNetworkDefineXMLFlags")?;
        let def = NetworkDef::parse(xml)?;
        let i = match self.net_slot(&def, false)? {
            Some(i) => {
                let n = &mut self.networks[i];
                if n.active {
                    n.new_def = Some(def);
                } else {
                    n.def = def;
                }
                n.persistent = true;
                i
            }
            None => {
                self.networks.push(NetworkObj {
                    def,
                    new_def: None,
                    active: false,
                    persistent: true,
                    autostart: false,
                });
                self.networks.len() - 1
            }
        };
        self.net_event(i, network_event::DEFINED);
        self.persist_network(i);
        Ok(self.networks[i].handle())
    }

    /// `NETWORK_CREATE_XML`: a started network, transient unless it was defined.
    pub fn network_create_xml(&mut self, xml: &str, flags: u32) -> Result<NetworkHandle> {
        error::check_flags(flags, 1, "testNetworkCreateXMLFlags")?;
        let def = NetworkDef::parse(xml)?;
        let i = match self.net_slot(&def, true)? {
            Some(i) => {
                let n = &mut self.networks[i];
                if n.persistent && n.new_def.is_none() {
                    n.new_def = Some(std::mem::replace(&mut n.def, def));
                } else {
                    n.def = def;
                }
                i
            }
            None => {
                self.networks.push(NetworkObj {
                    def,
                    new_def: None,
                    active: false,
                    persistent: false,
                    autostart: false,
                });
                self.networks.len() - 1
            }
        };
        self.networks[i].active = true;
        self.net_event(i, network_event::STARTED);
        self.persist_network(i);
        Ok(self.networks[i].handle())
    }

    /// `NETWORK_UNDEFINE` (inactive networks only).
    pub fn network_undefine(&mut self, net: &NetworkHandle) -> Result<()> {
        let i = self.net_by_name(&net.name)?;
        if self.networks[i].active {
            return Err(error::invalid_test(format!("Network '{}' is still running", net.name)));
        }
        self.events.push(Event::NetworkLifecycle { net: net.clone(), event: network_event::UNDEFINED, detail: 0 });
        let uuid = self.networks[i].def.uuid;
        self.networks.remove(i);
        self.unpersist("networks", &uuid);
        Ok(())
    }

    /// `NETWORK_CREATE`.
    pub fn network_create(&mut self, net: &NetworkHandle) -> Result<()> {
        let i = self.net_by_name(&net.name)?;
        if self.networks[i].active {
            return Err(error::invalid_test(format!("Network '{}' is already running", net.name)));
        }
        self.networks[i].active = true;
        self.net_event(i, network_event::STARTED);
        self.persist_network(i);
        Ok(())
    }

    /// `NETWORK_DESTROY` (the test driver does not check that the network runs).
    pub fn network_destroy(&mut self, net: &NetworkHandle) -> Result<()> {
        let i = self.net_by_name(&net.name)?;
        let n = &mut self.networks[i];
        n.active = false;
        if let Some(nd) = n.new_def.take() {
            n.def = nd;
        }
        self.net_event(i, network_event::STOPPED);
        if self.networks[i].persistent {
            self.persist_network(i);
        } else {
            self.networks.remove(i);
        }
        Ok(())
    }

    /// `NETWORK_GET_XML_DESC` (no flags).
    pub fn network_get_xml_desc(&self, net: &NetworkHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testNetworkGetXMLDesc")?;
        let i = self.net_by_name(&net.name)?;
        Ok(self.networks[i].def.format())
    }

    /// `NETWORK_GET_BRIDGE_NAME`.
    pub fn network_get_bridge_name(&self, net: &NetworkHandle) -> Result<String> {
        let i = self.net_by_name(&net.name)?;
        let def = &self.networks[i].def;
        def.bridge
            .clone()
            .ok_or_else(|| error::internal(&format!("network '{}' does not have a bridge name.", def.name)))
    }

    /// `NETWORK_GET_AUTOSTART`.
    pub fn network_get_autostart(&self, net: &NetworkHandle) -> Result<bool> {
        self.net_by_name(&net.name).map(|i| self.networks[i].autostart)
    }

    /// `NETWORK_SET_AUTOSTART`.
    pub fn network_set_autostart(&mut self, net: &NetworkHandle, autostart: bool) -> Result<()> {
        let i = self.net_by_name(&net.name)?;
        self.networks[i].autostart = autostart;
        self.persist_network(i);
        Ok(())
    }

    /// `NETWORK_IS_ACTIVE`.
    pub fn network_is_active(&self, net: &NetworkHandle) -> Result<bool> {
        self.net_by_uuid(&net.uuid).map(|i| self.networks[i].active)
    }

    /// `NETWORK_IS_PERSISTENT`.
    pub fn network_is_persistent(&self, net: &NetworkHandle) -> Result<bool> {
        self.net_by_uuid(&net.uuid).map(|i| self.networks[i].persistent)
    }

    pub(super) fn net_event(&mut self, i: usize, event: i32) {
        self.events.push(Event::NetworkLifecycle { net: self.networks[i].handle(), event, detail: 0 });
    }
}
