//! The domain family of the test driver's hypervisor table: lookups, lists, define/undefine,
//! the lifecycle (create, destroy, shutdown, reboot, suspend, resume) with its events, and the
//! getters (state, info, XML, autostart, ...). Definitions themselves live in `domain_conf`.

use super::domain_conf::DomainDef;
use super::error::{self, Result};
use super::events::{domain_event, Event};
use super::host::SecurityLabel;
use super::uuid::Uuid;
use super::Hypervisor;

/// A domain as the wire names it (`remote_nonnull_domain`): id −1 when inactive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainHandle {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
    /// Id while running, −1 otherwise.
    pub id: i32,
}

/// `virDomainState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum DomainState {
    /// `VIR_DOMAIN_NOSTATE`.
    NoState = 0,
    /// `VIR_DOMAIN_RUNNING`.
    Running = 1,
    /// `VIR_DOMAIN_BLOCKED`.
    Blocked = 2,
    /// `VIR_DOMAIN_PAUSED`.
    Paused = 3,
    /// `VIR_DOMAIN_SHUTDOWN`.
    Shutdown = 4,
    /// `VIR_DOMAIN_SHUTOFF`.
    Shutoff = 5,
    /// `VIR_DOMAIN_CRASHED`.
    Crashed = 6,
    /// `VIR_DOMAIN_PMSUSPENDED`.
    PmSuspended = 7,
}

impl DomainState {
    pub(super) fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::NoState,
            1 => Self::Running,
            2 => Self::Blocked,
            3 => Self::Paused,
            4 => Self::Shutdown,
            5 => Self::Shutoff,
            6 => Self::Crashed,
            7 => Self::PmSuspended,
            _ => return None,
        })
    }
}

/// State reasons the model sets (`virDomainRunningReason`, `virDomainPausedReason`,
/// `virDomainShutoffReason`).
pub mod reason {
    /// `VIR_DOMAIN_RUNNING_UNKNOWN` (also every other state's "unknown").
    pub const UNKNOWN: i32 = 0;
    /// `VIR_DOMAIN_RUNNING_BOOTED`.
    pub const RUNNING_BOOTED: i32 = 1;
    /// `VIR_DOMAIN_RUNNING_UNPAUSED`.
    pub const RUNNING_UNPAUSED: i32 = 5;
    /// `VIR_DOMAIN_PAUSED_USER`.
    pub const PAUSED_USER: i32 = 1;
    /// `VIR_DOMAIN_SHUTOFF_SHUTDOWN`.
    pub const SHUTOFF_SHUTDOWN: i32 = 1;
    /// `VIR_DOMAIN_SHUTOFF_DESTROYED`.
    pub const SHUTOFF_DESTROYED: i32 = 2;
    /// `VIR_DOMAIN_RUNNING_FROM_SNAPSHOT`.
    pub const RUNNING_FROM_SNAPSHOT: i32 = 4;
    /// `VIR_DOMAIN_SHUTOFF_SAVED`.
    pub const SHUTOFF_SAVED: i32 = 5;
    /// `VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT`.
    pub const SHUTOFF_FROM_SNAPSHOT: i32 = 7;
}

/// `CONNECT_LIST_ALL_DOMAINS` flags (`VIR_CONNECT_LIST_DOMAINS_*`).
pub mod list_domains {
    /// Running or paused.
    pub const ACTIVE: u32 = 1;
    /// Shut off.
    pub const INACTIVE: u32 = 2;
    /// With a persistent definition.
    pub const PERSISTENT: u32 = 4;
    /// Without one.
    pub const TRANSIENT: u32 = 8;
    /// In state RUNNING.
    pub const RUNNING: u32 = 16;
    /// In state PAUSED.
    pub const PAUSED: u32 = 32;
    /// In state SHUTOFF.
    pub const SHUTOFF: u32 = 64;
    /// In any other state.
    pub const OTHER: u32 = 128;
    /// With a managed save image (never, here).
    pub const MANAGEDSAVE: u32 = 256;
    /// Without one.
    pub const NO_MANAGEDSAVE: u32 = 512;
    /// Marked autostart.
    pub const AUTOSTART: u32 = 1024;
    /// Not marked autostart.
    pub const NO_AUTOSTART: u32 = 2048;
    /// With snapshots (never, here).
    pub const HAS_SNAPSHOT: u32 = 4096;
    /// Without snapshots.
    pub const NO_SNAPSHOT: u32 = 8192;
    /// With checkpoints (never, here).
    pub const HAS_CHECKPOINT: u32 = 16384;
    /// Without checkpoints.
    pub const NO_CHECKPOINT: u32 = 32768;
}

/// `DOMAIN_GET_XML_DESC` flags.
pub mod xml_flags {
    /// `VIR_DOMAIN_XML_SECURE`.
    pub const SECURE: u32 = 1;
    /// `VIR_DOMAIN_XML_INACTIVE`.
    pub const INACTIVE: u32 = 2;
    /// `VIR_DOMAIN_XML_UPDATE_CPU` (refused by the test driver).
    pub const UPDATE_CPU: u32 = 4;
    /// `VIR_DOMAIN_XML_MIGRATABLE`.
    pub const MIGRATABLE: u32 = 8;
}

/// `virDomainInfo` (`DOMAIN_GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    /// A [`DomainState`].
    pub state: u8,
    /// Maximum memory, KiB.
    pub max_mem: u64,
    /// Current memory, KiB.
    pub memory: u64,
    /// vCPUs.
    pub nr_virt_cpu: u16,
    /// CPU time, ns (the test driver reports the wall clock).
    pub cpu_time: u64,
}

#[derive(Debug, Clone)]
pub(super) struct DomainObj {
    /// The live definition while running, the persistent one otherwise.
    pub(super) def: DomainDef,
    /// The persistent definition while running (`newDef`).
    pub(super) new_def: Option<DomainDef>,
    pub(super) id: i32,
    pub(super) state: DomainState,
    pub(super) reason: i32,
    pub(super) persistent: bool,
    pub(super) autostart: bool,
    /// What the other domain entry points keep (time, managed save, snapshots, ...).
    pub(super) extra: super::domain_tune::DomainExtra,
}

impl DomainObj {
    pub(super) fn handle(&self) -> DomainHandle {
        DomainHandle { name: self.def.name.clone(), uuid: self.def.uuid, id: self.id }
    }

    pub(super) fn is_active(&self) -> bool {
        self.state != DomainState::Shutoff
    }
}

impl Hypervisor {
    // ----- domains: lookup and listing -------------------------------------------------------

    pub(super) fn dom_index(&self, dom: &DomainHandle) -> Result<usize> {
        self.domains
            .iter()
            .position(|d| d.def.uuid == dom.uuid)
            .ok_or_else(|| error::no_domain_uuid(&dom.uuid, &dom.name))
    }

    pub(super) fn dom(&self, dom: &DomainHandle) -> Result<&DomainObj> {
        self.dom_index(dom).map(|i| &self.domains[i])
    }

    /// `DOMAIN_LOOKUP_BY_NAME`.
    pub fn domain_lookup_by_name(&self, name: &str) -> Result<DomainHandle> {
        self.domains.iter().find(|d| d.def.name == name).map(DomainObj::handle).ok_or_else(error::no_domain)
    }

    /// `DOMAIN_LOOKUP_BY_ID` (running domains only).
    pub fn domain_lookup_by_id(&self, id: i32) -> Result<DomainHandle> {
        self.domains.iter().find(|d| d.is_active() && d.id == id).map(DomainObj::handle).ok_or_else(error::no_domain)
    }

    /// `DOMAIN_LOOKUP_BY_UUID`.
    pub fn domain_lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainHandle> {
        self.domains.iter().find(|d| d.def.uuid == *uuid).map(DomainObj::handle).ok_or_else(error::no_domain)
    }

    /// `CONNECT_LIST_ALL_DOMAINS`, filtered by [`list_domains`] flags.
    pub fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainHandle>> {
        error::check_flags(flags, 0xffff, "testConnectListAllDomains")?;
        use list_domains as f;
        let pair = |yes: u32, no: u32, value: bool| {
            let mask = yes | no;
            flags & mask == 0 || flags & mask == mask || (value && flags & yes != 0) || (!value && flags & no != 0)
        };
        Ok(self
            .domains
            .iter()
            .filter(|d| pair(f::ACTIVE, f::INACTIVE, d.is_active()))
            .filter(|d| pair(f::PERSISTENT, f::TRANSIENT, d.persistent))
            .filter(|d| {
                let states = f::RUNNING | f::PAUSED | f::SHUTOFF | f::OTHER;
                flags & states == 0
                    || match d.state {
                        DomainState::Running => flags & f::RUNNING != 0,
                        DomainState::Paused => flags & f::PAUSED != 0,
                        DomainState::Shutoff => flags & f::SHUTOFF != 0,
                        _ => flags & f::OTHER != 0,
                    }
            })
            .filter(|d| pair(f::MANAGEDSAVE, f::NO_MANAGEDSAVE, d.extra.managed_save))
            .filter(|d| pair(f::AUTOSTART, f::NO_AUTOSTART, d.autostart))
            .filter(|d| pair(f::HAS_SNAPSHOT, f::NO_SNAPSHOT, !d.extra.snapshots.is_empty()))
            .filter(|d| pair(f::HAS_CHECKPOINT, f::NO_CHECKPOINT, !d.extra.checkpoints.is_empty()))
            .map(DomainObj::handle)
            .collect())
    }

    /// `CONNECT_NUM_OF_DOMAINS` (active).
    #[must_use]
    pub fn num_of_domains(&self) -> usize {
        self.domains.iter().filter(|d| d.is_active()).count()
    }

    /// `CONNECT_LIST_DOMAINS`: ids of active domains, at most `max`.
    #[must_use]
    pub fn list_domain_ids(&self, max: usize) -> Vec<i32> {
        self.domains.iter().filter(|d| d.is_active()).map(|d| d.id).take(max).collect()
    }

    /// `CONNECT_NUM_OF_DEFINED_DOMAINS` (inactive).
    #[must_use]
    pub fn num_of_defined_domains(&self) -> usize {
        self.domains.iter().filter(|d| !d.is_active()).count()
    }

    /// `CONNECT_LIST_DEFINED_DOMAINS`: names of inactive domains, at most `max`.
    #[must_use]
    pub fn list_defined_domains(&self, max: usize) -> Vec<String> {
        self.domains.iter().filter(|d| !d.is_active()).map(|d| d.def.name.clone()).take(max).collect()
    }

    // ----- domains: definition ----------------------------------------------------------------

    /// Adds `def` as a live definition (`virDomainObjListAdd` with `VIR_DOMAIN_OBJ_LIST_ADD_LIVE`):
    /// over a persistent domain of the same name and UUID its definition is kept as the next
    /// boot's, otherwise a new transient domain, shut off, is added. The domain's index.
    pub(super) fn add_live(&mut self, def: DomainDef) -> Result<usize> {
        Ok(match self.dom_slot(&def, true)? {
            Some(i) => {
                let d = &mut self.domains[i];
                if d.persistent && d.new_def.is_none() {
                    d.new_def = Some(std::mem::replace(&mut d.def, def));
                } else {
                    d.def = def;
                }
                i
            }
            None => {
                self.domains.push(DomainObj {
                    def,
                    new_def: None,
                    id: -1,
                    state: DomainState::Shutoff,
                    reason: reason::UNKNOWN,
                    persistent: false,
                    autostart: false,
                    extra: Default::default(),
                });
                self.domains.len() - 1
            }
        })
    }

    /// Where a new definition goes: `Ok(Some(i))` replaces domain `i`, `Ok(None)` adds one
    /// (`virDomainObjListAddLocked`).
    pub(super) fn dom_slot(&self, def: &DomainDef, check_live: bool) -> Result<Option<usize>> {
        if let Some(i) = self.domains.iter().position(|d| d.def.uuid == def.uuid) {
            let cur = &self.domains[i];
            if cur.def.name != def.name {
                return Err(error::domain_uuid_taken(&cur.def.name, &cur.def.uuid));
            }
            if check_live && cur.is_active() {
                return Err(error::domain_already_active(&cur.def.name));
            }
            return Ok(Some(i));
        }
        if let Some(cur) = self.domains.iter().find(|d| d.def.name == def.name) {
            return Err(error::domain_exists(&cur.def.name, &cur.def.uuid));
        }
        Ok(None)
    }

    /// `DOMAIN_DEFINE_XML` / `DOMAIN_DEFINE_XML_FLAGS` (flag `VALIDATE` 1 is accepted; no
    /// schema is checked).
    pub fn domain_define_xml(&mut self, xml: &str, flags: u32) -> Result<DomainHandle> {
        error::check_flags(flags, 1, "testDomainDefineXMLFlags")?;
        let def = DomainDef::parse(xml)?;
        if def.name.contains('\n') {
            return Err(error::name_illegal_char());
        }
        let (i, updated) = match self.dom_slot(&def, false)? {
            Some(i) => {
                let d = &mut self.domains[i];
                let had_config = d.persistent;
                if d.is_active() {
                    d.new_def = Some(def);
                } else {
                    d.def = def;
                }
                d.persistent = true;
                (i, had_config)
            }
            None => {
                self.domains.push(DomainObj {
                    def,
                    new_def: None,
                    id: -1,
                    state: DomainState::Shutoff,
                    reason: reason::UNKNOWN,
                    persistent: true,
                    autostart: false,
                    extra: Default::default(),
                });
                (self.domains.len() - 1, false)
            }
        };
        let detail = if updated { domain_event::DEFINED_UPDATED } else { domain_event::DEFINED_ADDED };
        self.dom_event(i, domain_event::DEFINED, detail);
        self.persist_domain(i);
        Ok(self.domains[i].handle())
    }

    /// `DOMAIN_CREATE_XML`: starts a domain from `xml`, transient unless a persistent domain
    /// with that name and UUID exists (flag `VALIDATE` 16 accepted).
    pub fn domain_create_xml(&mut self, xml: &str, flags: u32) -> Result<DomainHandle> {
        error::check_flags(flags, 16, "testDomainCreateXML")?;
        let def = DomainDef::parse(xml)?;
        let i = self.add_live(def)?;
        self.start_state(i, reason::RUNNING_BOOTED);
        self.dom_event(i, domain_event::STARTED, domain_event::STARTED_BOOTED);
        self.persist_domain(i);
        Ok(self.domains[i].handle())
    }

    /// `DOMAIN_UNDEFINE` / `DOMAIN_UNDEFINE_FLAGS` (flags `MANAGED_SAVE` 1 and
    /// `SNAPSHOTS_METADATA` 2 accepted). A running domain becomes transient.
    pub fn domain_undefine(&mut self, dom: &DomainHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 3, "testDomainUndefineFlags")?;
        let i = self.dom_index(dom)?;
        // VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        if self.domains[i].extra.managed_save && flags & 1 == 0 {
            return Err(error::e(
                proto_core::error::ErrorCode::VIR_ERR_OPERATION_INVALID,
                proto_core::error::ErrorDomain::VIR_FROM_TEST,
                "Requested operation is not valid: Refusing to undefine while domain managed save image exists",
            ));
        }
        let nsnap = self.domains[i].extra.snapshots.len();
        // VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        if !self.domains[i].is_active() && nsnap > 0 && flags & 2 == 0 {
            return Err(error::e(
                proto_core::error::ErrorCode::VIR_ERR_OPERATION_INVALID,
                proto_core::error::ErrorDomain::VIR_FROM_TEST,
                format!("Requested operation is not valid: cannot delete inactive domain with {nsnap} snapshots"),
            ));
        }
        self.domains[i].extra.managed_save = false;
        self.dom_event(i, domain_event::UNDEFINED, domain_event::UNDEFINED_REMOVED);
        let uuid = self.domains[i].def.uuid;
        if self.domains[i].is_active() {
            self.domains[i].persistent = false;
        } else {
            self.domains.remove(i);
        }
        self.unpersist_domain(&uuid);
        Ok(())
    }

    // ----- domains: life cycle -----------------------------------------------------------------

    pub(super) fn start_state(&mut self, i: usize, why: i32) {
        let id = self.next_dom_id;
        self.next_dom_id += 1;
        let d = &mut self.domains[i];
        d.state = DomainState::Running;
        d.reason = why;
        d.id = id;
        d.extra.managed_save = false;
        if d.persistent && d.new_def.is_none() {
            d.new_def = Some(d.def.clone());
        }
    }

    /// `testDomainShutdownState`: back to the persistent definition, shut off. Returns the id
    /// the stop event carries (−1 when a persistent definition took over).
    pub(super) fn shutdown_state(&mut self, i: usize, why: i32) -> i32 {
        let d = &mut self.domains[i];
        let event_id = if let Some(nd) = d.new_def.take() {
            d.def = nd;
            -1
        } else {
            d.id
        };
        d.state = DomainState::Shutoff;
        d.reason = why;
        d.id = -1;
        event_id
    }

    /// Stops domain `i` with the STOPPED event `detail`, dropping it if it is transient.
    pub(super) fn stop(&mut self, i: usize, why: i32, detail: i32) {
        let event_id = self.shutdown_state(i, why);
        let d = &self.domains[i];
        self.events.push(Event::DomainLifecycle {
            dom: DomainHandle { name: d.def.name.clone(), uuid: d.def.uuid, id: event_id },
            event: domain_event::STOPPED,
            detail,
        });
        if self.domains[i].persistent {
            self.persist_domain(i);
        } else {
            self.domains.remove(i);
        }
    }

    /// `DOMAIN_CREATE` / `DOMAIN_CREATE_WITH_FLAGS` (no flags): starts an inactive domain and
    /// returns its new handle (with the new id).
    pub fn domain_create(&mut self, dom: &DomainHandle, flags: u32) -> Result<DomainHandle> {
        error::check_flags(flags, 0, "testDomainCreateWithFlags")?;
        let i = self.dom_index(dom)?;
        if self.domains[i].state != DomainState::Shutoff {
            return Err(error::internal(&format!("Domain '{}' is already running", dom.name)));
        }
        self.start_state(i, reason::RUNNING_BOOTED);
        self.dom_event(i, domain_event::STARTED, domain_event::STARTED_BOOTED);
        self.persist_domain(i);
        Ok(self.domains[i].handle())
    }

    /// `DOMAIN_DESTROY` / `DOMAIN_DESTROY_FLAGS` (flag `GRACEFUL` 1 accepted).
    pub fn domain_destroy(&mut self, dom: &DomainHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 1, "testDomainDestroyFlags")?;
        let i = self.dom_index(dom)?;
        if !self.domains[i].is_active() {
            return Err(error::domain_not_running_invalid());
        }
        self.stop(i, reason::SHUTOFF_DESTROYED, domain_event::STOPPED_DESTROYED);
        Ok(())
    }

    /// Applies a lifecycle action (`on_poweroff`, `on_reboot`): true when the domain stops.
    pub(super) fn lifecycle_action_stops(action: &str) -> bool {
        !matches!(action, "restart" | "rename-restart")
    }

    /// `DOMAIN_SHUTDOWN` / `DOMAIN_SHUTDOWN_FLAGS` (no flags). Follows `<on_poweroff>`.
    pub fn domain_shutdown(&mut self, dom: &DomainHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testDomainShutdownFlags")?;
        let i = self.dom_index(dom)?;
        if self.domains[i].state == DomainState::Shutoff {
            return Err(error::internal(&format!("domain '{}' not running", dom.name)));
        }
        if Self::lifecycle_action_stops(&self.domains[i].def.on_poweroff) {
            self.stop(i, reason::SHUTOFF_SHUTDOWN, domain_event::STOPPED_SHUTDOWN);
        } else {
            let d = &mut self.domains[i];
            d.state = DomainState::Running;
            d.reason = reason::RUNNING_BOOTED;
            self.persist_domain(i);
        }
        Ok(())
    }

    /// `DOMAIN_REBOOT` (the test driver's reboot flags 0..=32 accepted). Follows `<on_reboot>`.
    pub fn domain_reboot(&mut self, dom: &DomainHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0x3f, "testDomainReboot")?;
        let i = self.dom_index(dom)?;
        if !self.domains[i].is_active() {
            return Err(error::domain_not_running_invalid());
        }
        if Self::lifecycle_action_stops(&self.domains[i].def.on_reboot) {
            self.stop(i, reason::SHUTOFF_SHUTDOWN, domain_event::STOPPED_SHUTDOWN);
        } else {
            let d = &mut self.domains[i];
            d.state = DomainState::Running;
            d.reason = reason::RUNNING_BOOTED;
            self.persist_domain(i);
        }
        Ok(())
    }

    /// `DOMAIN_SUSPEND`.
    pub fn domain_suspend(&mut self, dom: &DomainHandle) -> Result<()> {
        let i = self.dom_index(dom)?;
        if matches!(self.domains[i].state, DomainState::Shutoff | DomainState::Paused) {
            return Err(error::internal(&format!("domain '{}' not running", dom.name)));
        }
        let d = &mut self.domains[i];
        d.state = DomainState::Paused;
        d.reason = reason::PAUSED_USER;
        self.dom_event(i, domain_event::SUSPENDED, domain_event::SUSPENDED_PAUSED);
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_RESUME`.
    pub fn domain_resume(&mut self, dom: &DomainHandle) -> Result<()> {
        let i = self.dom_index(dom)?;
        if self.domains[i].state != DomainState::Paused {
            return Err(error::internal(&format!("domain '{}' not paused", dom.name)));
        }
        let d = &mut self.domains[i];
        d.state = DomainState::Running;
        d.reason = reason::RUNNING_UNPAUSED;
        self.dom_event(i, domain_event::RESUMED, domain_event::RESUMED_UNPAUSED);
        self.persist_domain(i);
        Ok(())
    }

    // ----- domains: queries ---------------------------------------------------------------------

    /// `DOMAIN_GET_STATE` (no flags): `(state, reason)`.
    pub fn domain_get_state(&self, dom: &DomainHandle, flags: u32) -> Result<(DomainState, i32)> {
        error::check_flags(flags, 0, "testDomainGetState")?;
        let d = self.dom(dom)?;
        Ok((d.state, d.reason))
    }

    /// `DOMAIN_GET_INFO`.
    pub fn domain_get_info(&self, dom: &DomainHandle) -> Result<DomainInfo> {
        let d = self.dom(dom)?;
        Ok(DomainInfo {
            state: d.state as u8,
            max_mem: d.def.max_memory,
            memory: d.def.current_memory,
            nr_virt_cpu: u16::try_from(d.def.vcpus()).unwrap_or(u16::MAX),
            cpu_time: (self.clock)(),
        })
    }

    /// `DOMAIN_GET_MAX_MEMORY` (KiB).
    pub fn domain_get_max_memory(&self, dom: &DomainHandle) -> Result<u64> {
        Ok(self.dom(dom)?.def.max_memory)
    }

    /// `DOMAIN_GET_XML_DESC` with [`xml_flags`] `SECURE`, `INACTIVE`, `MIGRATABLE`.
    pub fn domain_get_xml_desc(&self, dom: &DomainHandle, flags: u32) -> Result<String> {
        use xml_flags as f;
        error::check_flags(flags, f::SECURE | f::INACTIVE | f::MIGRATABLE, "testDomainGetXMLDesc")?;
        let d = self.dom(dom)?;
        let inactive = flags & f::INACTIVE != 0;
        let def = if inactive { d.new_def.as_ref().unwrap_or(&d.def) } else { &d.def };
        let id = (d.is_active() && !inactive).then_some(d.id);
        Ok(def.format(id, flags & f::SECURE != 0))
    }

    /// `DOMAIN_GET_OS_TYPE`: the test driver answers "linux" without looking the domain up.
    #[must_use]
    pub fn domain_get_os_type(&self, _dom: &DomainHandle) -> String {
        "linux".to_owned()
    }

    /// `DOMAIN_GET_AUTOSTART`.
    pub fn domain_get_autostart(&self, dom: &DomainHandle) -> Result<bool> {
        Ok(self.dom(dom)?.autostart)
    }

    /// `DOMAIN_SET_AUTOSTART`.
    pub fn domain_set_autostart(&mut self, dom: &DomainHandle, autostart: bool) -> Result<()> {
        let i = self.dom_index(dom)?;
        self.domains[i].autostart = autostart;
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_IS_ACTIVE`.
    pub fn domain_is_active(&self, dom: &DomainHandle) -> Result<bool> {
        Ok(self.dom(dom)?.is_active())
    }

    /// `DOMAIN_IS_PERSISTENT`.
    pub fn domain_is_persistent(&self, dom: &DomainHandle) -> Result<bool> {
        Ok(self.dom(dom)?.persistent)
    }

    /// `DOMAIN_IS_UPDATED`: always false.
    #[must_use]
    pub fn domain_is_updated(&self, _dom: &DomainHandle) -> bool {
        false
    }

    /// `DOMAIN_HAS_MANAGED_SAVE_IMAGE` (no flags).
    pub fn domain_has_managed_save_image(&self, dom: &DomainHandle, flags: u32) -> Result<bool> {
        error::check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
        Ok(self.dom(dom)?.extra.managed_save)
    }

    /// `DOMAIN_SNAPSHOT_NUM`: no snapshots.
    pub fn domain_snapshot_num(&self, dom: &DomainHandle, flags: u32) -> Result<i32> {
        self.domain_snapshot_list(dom, flags).map(|v| i32::try_from(v.len()).unwrap_or(i32::MAX))
    }

    /// `DOMAIN_GET_SECURITY_LABEL`: "libvirt-test", enforcing, while running; empty otherwise.
    pub fn domain_get_security_label(&self, dom: &DomainHandle) -> Result<SecurityLabel> {
        let d = self.dom(dom)?;
        Ok(if d.is_active() {
            SecurityLabel { label: "libvirt-test".to_owned(), enforcing: true }
        } else {
            SecurityLabel { label: String::new(), enforcing: false }
        })
    }

    /// `DOMAIN_GET_MESSAGES` (flags `DEPRECATION` 1, `TAINTING` 2): none.
    pub fn domain_get_messages(&self, dom: &DomainHandle, flags: u32) -> Result<Vec<String>> {
        error::check_flags(flags, 3, "testDomainGetMessages")?;
        self.dom(dom)?;
        Ok(Vec::new())
    }

    pub(super) fn dom_event(&mut self, i: usize, event: i32, detail: i32) {
        self.events.push(Event::DomainLifecycle { dom: self.domains[i].handle(), event, detail });
    }
}
