//! The in-memory hypervisor: libvirt 9.0's test driver (`test:///default`) rebuilt as a plain
//! Rust model, with no RPC and no I/O.
//!
//! [`Hypervisor`] owns domains, networks, storage pools and volumes and offers one method per
//! driver entry point the daemon serves, named after libvirt's API (`domain_create` for
//! `virDomainCreate`, ...). Methods take and return plain values: handles
//! ([`DomainHandle`], [`NetworkHandle`], [`PoolHandle`], [`VolumeHandle`]), numbers, strings,
//! and [`RemoteError`](proto_core::RemoteError)s whose code, domain and message are those the
//! real test driver reports. Lifecycle events queue up as [`Event`]s.
//!
//! [`SharedHypervisor`] is the thread-safe wrapper the daemon's connections share: it runs each
//! call under a mutex, then (outside it) writes the state directory and hands events to
//! subscribers.

mod domain;
pub mod error;
pub mod events;
pub mod host;
mod network;
mod persist;
mod shared;
mod storage;
mod testnode;
mod units;
mod uuid;
mod xml;
mod xml_entities;

use std::path::Path;

pub use domain::DomainDef;
pub use error::{Error, Result};
pub use events::Event;
pub use host::{NodeInfo, SecurityLabel, SecurityModel};
pub use network::NetworkDef;
pub use persist::StateDir;
pub use shared::{defer_durability, SharedHypervisor, SubscriptionId, Ticket};
pub use storage::{Chunk, PoolDef, VolDef, VolType};
pub use uuid::Uuid;

use events::{domain_event, network_event, pool_event};
use host::Cell;
use persist::{Op, Stored};
use storage::Extents;

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

/// A network as the wire names it (`remote_nonnull_network`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkHandle {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

/// A storage pool as the wire names it (`remote_nonnull_storage_pool`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolHandle {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

/// A storage volume as the wire names it (`remote_nonnull_storage_vol`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeHandle {
    /// The pool's name.
    pub pool: String,
    /// The volume's name.
    pub name: String,
    /// The volume's key (its path, for the test driver).
    pub key: String,
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
    fn from_i32(v: i32) -> Option<Self> {
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

/// `CONNECT_LIST_ALL_NETWORKS` and `CONNECT_LIST_ALL_STORAGE_POOLS` flags (`VIR_CONNECT_LIST_{NETWORKS,STORAGE_POOLS}_*`).
pub mod list_objects {
    /// Inactive.
    pub const INACTIVE: u32 = 1;
    /// Active.
    pub const ACTIVE: u32 = 2;
    /// Persistent.
    pub const PERSISTENT: u32 = 4;
    /// Transient.
    pub const TRANSIENT: u32 = 8;
    /// Autostart.
    pub const AUTOSTART: u32 = 16;
    /// Not autostart.
    pub const NO_AUTOSTART: u32 = 32;
    /// Pools only: the first pool-type bit (`VIR_CONNECT_LIST_STORAGE_POOLS_DIR`); the type
    /// bits follow in libvirt's order.
    pub const POOL_DIR: u32 = 64;
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

/// `virStoragePoolInfo` (`STORAGE_POOL_GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolInfo {
    /// `VIR_STORAGE_POOL_INACTIVE` 0 or `VIR_STORAGE_POOL_RUNNING` 2.
    pub state: i32,
    /// Bytes.
    pub capacity: u64,
    /// Bytes.
    pub allocation: u64,
    /// Bytes.
    pub available: u64,
}

/// `virStorageVolInfo` (`STORAGE_VOL_GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolInfo {
    /// A [`VolType`] value.
    pub kind: i32,
    /// Bytes.
    pub capacity: u64,
    /// Bytes.
    pub allocation: u64,
}

const DEFAULT_POOL_CAPACITY: u64 = 100 * 1024 * 1024 * 1024;

/// The test driver's built-in `<node>` (`defaultConnXML`, domains, networks and pools only).
const DEFAULT_NODE_XML: &str = "<node>\
<domain type='test'>\
  <name>test</name>\
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\
  <memory>8388608</memory>\
  <currentMemory>2097152</currentMemory>\
  <vcpu>2</vcpu>\
  <os>\
    <type>hvm</type>\
  </os>\
  <devices>\
    <disk type='file' device='disk'>\
      <source file='/guest/diskimage1'/>\
      <target dev='vda' bus='virtio'/>\
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\
    </disk>\
    <interface type='network'>\
      <mac address='aa:bb:cc:dd:ee:ff'/>\
      <source network='default' bridge='virbr0'/>\
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>\
    </interface>\
    <memballoon model='virtio'>\
      <address type='pci' domain='0x0000' bus='0x00' slot='0x2' function='0x0'/>\
    </memballoon>\
  </devices>\
</domain>\
<network>\
  <name>default</name>\
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>\
  <bridge name='virbr0'/>\
  <forward/>\
  <ip address='192.168.122.1' netmask='255.255.255.0'>\
    <dhcp>\
      <range start='192.168.122.2' end='192.168.122.254'/>\
    </dhcp>\
  </ip>\
</network>\
<pool type='dir'>\
  <name>default-pool</name>\
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>\
  <target>\
    <path>/default-pool</path>\
  </target>\
</pool>\
</node>";

#[derive(Debug, Clone)]
struct DomainObj {
    /// The live definition while running, the persistent one otherwise.
    def: DomainDef,
    /// The persistent definition while running (`newDef`).
    new_def: Option<DomainDef>,
    id: i32,
    state: DomainState,
    reason: i32,
    persistent: bool,
    autostart: bool,
}

impl DomainObj {
    fn handle(&self) -> DomainHandle {
        DomainHandle { name: self.def.name.clone(), uuid: self.def.uuid, id: self.id }
    }

    fn is_active(&self) -> bool {
        self.state != DomainState::Shutoff
    }
}

#[derive(Debug, Clone)]
struct NetworkObj {
    def: NetworkDef,
    new_def: Option<NetworkDef>,
    active: bool,
    persistent: bool,
    autostart: bool,
}

impl NetworkObj {
    fn handle(&self) -> NetworkHandle {
        NetworkHandle { name: self.def.name.clone(), uuid: self.def.uuid }
    }
}

#[derive(Debug, Clone)]
struct VolObj {
    def: VolDef,
    content: Extents,
}

#[derive(Debug, Clone)]
struct PoolObj {
    def: PoolDef,
    new_def: Option<PoolDef>,
    active: bool,
    /// `configFile` is set: the pool is persistent.
    persistent: bool,
    autostart: bool,
    capacity: u64,
    allocation: u64,
    available: u64,
    vols: Vec<VolObj>,
}

impl PoolObj {
    fn handle(&self) -> PoolHandle {
        PoolHandle { name: self.def.name.clone(), uuid: self.def.uuid }
    }

    fn set_defaults(&mut self) {
        self.capacity = DEFAULT_POOL_CAPACITY;
        self.allocation = 0;
        self.available = DEFAULT_POOL_CAPACITY;
    }
}

/// The simulated host and everything on it.
#[derive(Debug)]
pub struct Hypervisor {
    hostname: String,
    node_info: NodeInfo,
    cells: Vec<Cell>,
    secmodel: SecurityModel,
    next_dom_id: i32,
    domains: Vec<DomainObj>,
    networks: Vec<NetworkObj>,
    pools: Vec<PoolObj>,
    events: Vec<Event>,
    /// Durable changes not yet written (only collected when `durable`).
    pending: Vec<Op>,
    durable: bool,
    clock: fn() -> u64,
}

fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 1000).saturating_mul(1000))
}

impl Hypervisor {
    fn empty(hostname: &str) -> Self {
        Self {
            hostname: hostname.to_owned(),
            node_info: NodeInfo::default(),
            cells: Vec::new(),
            secmodel: SecurityModel { model: "testSecurity".to_owned(), doi: String::new() },
            next_dom_id: 1,
            domains: Vec::new(),
            networks: Vec::new(),
            pools: Vec::new(),
            events: Vec::new(),
            pending: Vec::new(),
            durable: false,
            clock: wall_clock_ns,
        }
    }

    /// The contents of `test:///default`: domain `test` running with id 1, network `default`
    /// and pool `default-pool` active, two NUMA cells. `hostname` is what
    /// `CONNECT_GET_HOSTNAME` answers (libvirt reports the host's name; see
    /// [`host::system_hostname`]).
    #[must_use]
    pub fn new_default(hostname: &str) -> Self {
        let mut h = Self::empty(hostname);
        h.cells = host::default_cells();
        let node = xml::parse(DEFAULT_NODE_XML, "(test driver)").unwrap_or_default();
        // The built-in document is known to be valid.
        let _ = testnode::load_node(&mut h, &node, None);
        h
    }

    /// A hypervisor described by a test-driver node file (`test:///PATH`): `<node>` with
    /// `<domain>`, `<network>`, `<pool>` (with `<volume>`), `<cpu>` and `<memory>` children,
    /// each possibly `file=`-referenced relative to the node file. There are no NUMA cells, as
    /// with libvirt.
    pub fn from_node_file(path: &Path, hostname: &str) -> Result<Self> {
        testnode::from_file(path, hostname)
    }

    /// Like [`new_default`](Self::new_default), made durable in `dir`: the first time, the
    /// default objects are written there; afterwards the persistent objects stored there are
    /// loaded instead (transient ones never are). Running persistent domains keep running;
    /// inactive autostart domains, networks and pools are started. Every later change is queued
    /// for the directory: [`SharedHypervisor`] writes it after each call, or call
    /// [`flush`](Self::flush).
    pub fn open_state_dir(dir: &StateDir, hostname: &str) -> std::io::Result<Self> {
        if !dir.is_initialized() {
            let mut h = Self::new_default(hostname);
            h.durable = true;
            h.persist_all();
            h.pending.push(Op::Write("initialized".into(), b"seeded with test:///default\n".to_vec()));
            let ops = std::mem::take(&mut h.pending);
            dir.apply(&ops)?;
            return Ok(h);
        }
        let mut h = Self::empty(hostname);
        h.cells = host::default_cells();
        h.load_state(dir)?;
        h.durable = true;
        h.autostart_all();
        let ops = std::mem::take(&mut h.pending);
        dir.apply(&ops)?;
        Ok(h)
    }

    /// Replaces the clock that `DOMAIN_GET_INFO`'s `cpuTime` reads (ns since the epoch).
    pub fn set_clock(&mut self, clock: fn() -> u64) {
        self.clock = clock;
    }

    /// Takes the queued events, oldest first.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Writes queued durable changes to `dir`.
    pub fn flush(&mut self, dir: &StateDir) -> std::io::Result<()> {
        let ops = std::mem::take(&mut self.pending);
        dir.apply(&ops)
    }

    pub(crate) fn take_pending(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.pending)
    }

    // ----- connection-level ------------------------------------------------------------------

    /// `CONNECT_GET_HOSTNAME`.
    #[must_use]
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// `CONNECT_GET_TYPE`: "TEST".
    #[must_use]
    pub fn hv_type(&self) -> &'static str {
        host::HV_TYPE
    }

    /// `CONNECT_GET_VERSION`: 2.
    #[must_use]
    pub fn hv_version(&self) -> u64 {
        host::HV_VERSION
    }

    /// `CONNECT_GET_LIB_VERSION`: 9000000.
    #[must_use]
    pub fn lib_version(&self) -> u64 {
        host::LIB_VERSION
    }

    /// `CONNECT_GET_MAX_VCPUS`: 32 for every type.
    #[must_use]
    pub fn max_vcpus(&self) -> i32 {
        host::MAX_VCPUS
    }

    /// `NODE_GET_INFO`.
    #[must_use]
    pub fn node_info(&self) -> NodeInfo {
        self.node_info.clone()
    }

    /// `NODE_GET_FREE_MEMORY`: the cells' free memory, summed (KiB as the test driver counts).
    #[must_use]
    pub fn node_free_memory(&self) -> u64 {
        self.cells.iter().map(|c| c.free_mem).sum()
    }

    /// `CONNECT_GET_CAPABILITIES`.
    #[must_use]
    pub fn capabilities(&self) -> String {
        host::capabilities_xml(&self.cells, &self.secmodel)
    }

    /// `CONNECT_GET_SYSINFO`.
    pub fn sysinfo(&self, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testConnectGetSysinfo")?;
        Ok(host::SYSINFO.to_owned())
    }

    /// `NODE_GET_SECURITY_MODEL`.
    #[must_use]
    pub fn security_model(&self) -> SecurityModel {
        self.secmodel.clone()
    }

    // ----- domains: lookup and listing -------------------------------------------------------

    fn dom_index(&self, dom: &DomainHandle) -> Result<usize> {
        self.domains
            .iter()
            .position(|d| d.def.uuid == dom.uuid)
            .ok_or_else(|| error::no_domain_uuid(&dom.uuid, &dom.name))
    }

    fn dom(&self, dom: &DomainHandle) -> Result<&DomainObj> {
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
            .filter(|_| pair(f::MANAGEDSAVE, f::NO_MANAGEDSAVE, false))
            .filter(|d| pair(f::AUTOSTART, f::NO_AUTOSTART, d.autostart))
            .filter(|_| pair(f::HAS_SNAPSHOT, f::NO_SNAPSHOT, false))
            .filter(|_| pair(f::HAS_CHECKPOINT, f::NO_CHECKPOINT, false))
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

    /// Where a new definition goes: `Ok(Some(i))` replaces domain `i`, `Ok(None)` adds one
    /// (`virDomainObjListAddLocked`).
    fn dom_slot(&self, def: &DomainDef, check_live: bool) -> Result<Option<usize>> {
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
        let i = match self.dom_slot(&def, true)? {
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
                });
                self.domains.len() - 1
            }
        };
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

    fn start_state(&mut self, i: usize, why: i32) {
        let id = self.next_dom_id;
        self.next_dom_id += 1;
        let d = &mut self.domains[i];
        d.state = DomainState::Running;
        d.reason = why;
        d.id = id;
        if d.persistent && d.new_def.is_none() {
            d.new_def = Some(d.def.clone());
        }
    }

    /// `testDomainShutdownState`: back to the persistent definition, shut off. Returns the id
    /// the stop event carries (−1 when a persistent definition took over).
    fn shutdown_state(&mut self, i: usize, why: i32) -> i32 {
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
    fn stop(&mut self, i: usize, why: i32, detail: i32) {
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
    fn lifecycle_action_stops(action: &str) -> bool {
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

    /// `DOMAIN_HAS_MANAGED_SAVE_IMAGE` (no flags): never.
    pub fn domain_has_managed_save_image(&self, dom: &DomainHandle, flags: u32) -> Result<bool> {
        error::check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
        self.dom(dom)?;
        Ok(false)
    }

    /// `DOMAIN_SNAPSHOT_NUM`: no snapshots.
    pub fn domain_snapshot_num(&self, dom: &DomainHandle, flags: u32) -> Result<i32> {
        error::check_flags(flags, 0x7ff, "testDomainSnapshotNum")?;
        self.dom(dom)?;
        Ok(0)
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

    fn dom_event(&mut self, i: usize, event: i32, detail: i32) {
        self.events.push(Event::DomainLifecycle { dom: self.domains[i].handle(), event, detail });
    }

    // ----- networks -------------------------------------------------------------------------------

    fn net_by_name(&self, name: &str) -> Result<usize> {
        self.networks.iter().position(|n| n.def.name == name).ok_or_else(|| error::no_network_name(name))
    }

    fn net_by_uuid(&self, uuid: &Uuid) -> Result<usize> {
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

    fn net_slot(&self, def: &NetworkDef, check_live: bool) -> Result<Option<usize>> {
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

    fn net_event(&mut self, i: usize, event: i32) {
        self.events.push(Event::NetworkLifecycle { net: self.networks[i].handle(), event, detail: 0 });
    }

    // ----- storage pools ---------------------------------------------------------------------------

    fn pool_by_name(&self, name: &str) -> Result<usize> {
        self.pools.iter().position(|p| p.def.name == name).ok_or_else(|| error::no_pool_name(name))
    }

    fn pool_by_uuid(&self, uuid: &Uuid) -> Result<usize> {
        self.pools.iter().position(|p| p.def.uuid == *uuid).ok_or_else(|| error::no_pool_uuid(uuid))
    }

    fn pool_active_by_name(&self, name: &str) -> Result<usize> {
        let i = self.pool_by_name(name)?;
        if !self.pools[i].active {
            return Err(error::invalid_test(format!("storage pool '{name}' is not active")));
        }
        Ok(i)
    }

    fn pool_inactive_by_name(&self, name: &str) -> Result<usize> {
        let i = self.pool_by_name(name)?;
        if self.pools[i].active {
            return Err(error::invalid_test(format!("storage pool '{name}' is active")));
        }
        Ok(i)
    }

    /// `STORAGE_POOL_LOOKUP_BY_NAME`.
    pub fn storage_pool_lookup_by_name(&self, name: &str) -> Result<PoolHandle> {
        self.pool_by_name(name).map(|i| self.pools[i].handle())
    }

    /// `STORAGE_POOL_LOOKUP_BY_UUID`.
    pub fn storage_pool_lookup_by_uuid(&self, uuid: &Uuid) -> Result<PoolHandle> {
        self.pool_by_uuid(uuid).map(|i| self.pools[i].handle())
    }

    /// `STORAGE_POOL_LOOKUP_BY_VOLUME`.
    pub fn storage_pool_lookup_by_volume(&self, vol: &VolumeHandle) -> Result<PoolHandle> {
        self.storage_pool_lookup_by_name(&vol.pool)
    }

    /// `CONNECT_LIST_ALL_STORAGE_POOLS` with [`list_objects`] flags, pool-type bits included.
    pub fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<PoolHandle>> {
        error::check_flags(flags, 0xf_ffff, "testConnectListAllStoragePools")?;
        const TYPE_BITS: &[&str] = &[
            "dir",
            "fs",
            "netfs",
            "logical",
            "disk",
            "iscsi",
            "scsi",
            "mpath",
            "rbd",
            "sheepdog",
            "gluster",
            "zfs",
            "vstorage",
            "iscsi-direct",
        ];
        let type_mask = flags >> 6;
        Ok(self
            .pools
            .iter()
            .filter(|p| object_filter(flags & 0x3f, p.active, p.persistent, p.persistent && p.autostart))
            .filter(|p| {
                type_mask == 0
                    || TYPE_BITS
                        .iter()
                        .position(|t| *t == p.def.pool_type)
                        .is_some_and(|bit| type_mask & (1 << bit) != 0)
            })
            .map(PoolObj::handle)
            .collect())
    }

    /// `CONNECT_NUM_OF_STORAGE_POOLS` (active).
    #[must_use]
    pub fn num_of_storage_pools(&self) -> usize {
        self.pools.iter().filter(|p| p.active).count()
    }

    /// `CONNECT_LIST_STORAGE_POOLS` (active names, at most `max`).
    #[must_use]
    pub fn list_storage_pools(&self, max: usize) -> Vec<String> {
        self.pools.iter().filter(|p| p.active).map(|p| p.def.name.clone()).take(max).collect()
    }

    /// `CONNECT_NUM_OF_DEFINED_STORAGE_POOLS` (inactive).
    #[must_use]
    pub fn num_of_defined_storage_pools(&self) -> usize {
        self.pools.iter().filter(|p| !p.active).count()
    }

    /// `CONNECT_LIST_DEFINED_STORAGE_POOLS` (inactive names, at most `max`).
    #[must_use]
    pub fn list_defined_storage_pools(&self, max: usize) -> Vec<String> {
        self.pools.iter().filter(|p| !p.active).map(|p| p.def.name.clone()).take(max).collect()
    }

    fn pool_slot(&self, def: &PoolDef, check_live: bool) -> Result<Option<usize>> {
        if let Some(i) = self.pools.iter().position(|p| p.def.uuid == def.uuid) {
            let cur = &self.pools[i];
            if cur.def.name != def.name {
                return Err(error::pool_uuid_taken(&cur.def.name, &cur.def.uuid));
            }
            if check_live && cur.active {
                return Err(error::pool_already_active(&cur.def.name));
            }
            return Ok(Some(i));
        }
        if let Some(cur) = self.pools.iter().find(|p| p.def.name == def.name) {
            return Err(error::pool_exists(&cur.def.name, &cur.def.uuid));
        }
        Ok(None)
    }

    fn new_pool(def: PoolDef) -> PoolObj {
        PoolObj {
            def,
            new_def: None,
            active: false,
            persistent: true,
            autostart: false,
            capacity: DEFAULT_POOL_CAPACITY,
            allocation: 0,
            available: DEFAULT_POOL_CAPACITY,
            vols: Vec::new(),
        }
    }

    /// `STORAGE_POOL_DEFINE_XML` (flag `VALIDATE` 1 accepted).
    pub fn storage_pool_define_xml(&mut self, xml: &str, flags: u32) -> Result<PoolHandle> {
        error::check_flags(flags, 1, "testStoragePoolDefineXML")?;
        let def = PoolDef::parse(xml)?;
        let i = match self.pool_slot(&def, false)? {
            Some(i) => {
                let p = &mut self.pools[i];
                if p.active {
                    p.new_def = Some(def);
                } else {
                    p.def = def;
                }
                i
            }
            None => {
                self.pools.push(Self::new_pool(def));
                self.pools.len() - 1
            }
        };
        self.pool_event(i, pool_event::DEFINED);
        let p = &mut self.pools[i];
        p.set_defaults();
        p.persistent = true;
        self.persist_pool(i);
        Ok(self.pools[i].handle())
    }

    /// `STORAGE_POOL_CREATE_XML`: a started, transient pool.
    pub fn storage_pool_create_xml(&mut self, xml: &str, flags: u32) -> Result<PoolHandle> {
        error::check_flags(flags, 0, "testStoragePoolCreateXML")?;
        let def = PoolDef::parse(xml)?;
        let i = match self.pool_slot(&def, true)? {
            Some(i) => {
                let p = &mut self.pools[i];
                if p.persistent && p.new_def.is_none() {
                    p.new_def = Some(std::mem::replace(&mut p.def, def));
                } else {
                    p.def = def;
                }
                i
            }
            None => {
                self.pools.push(Self::new_pool(def));
                self.pools.len() - 1
            }
        };
        let uuid = self.pools[i].def.uuid;
        if self.pools[i].persistent {
            self.unpersist("pools", &uuid);
            self.pending_if_durable(Op::RemoveDir(format!("pools/{uuid}.vols").into()));
        }
        let p = &mut self.pools[i];
        p.set_defaults();
        p.persistent = false;
        p.active = true;
        self.pool_event(i, pool_event::STARTED);
        Ok(self.pools[i].handle())
    }

    /// `STORAGE_POOL_UNDEFINE` (inactive pools only).
    pub fn storage_pool_undefine(&mut self, pool: &PoolHandle) -> Result<()> {
        let i = self.pool_inactive_by_name(&pool.name)?;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::UNDEFINED, detail: 0 });
        let uuid = self.pools[i].def.uuid;
        self.pools.remove(i);
        self.unpersist("pools", &uuid);
        self.pending_if_durable(Op::RemoveDir(format!("pools/{uuid}.vols").into()));
        Ok(())
    }

    /// `STORAGE_POOL_CREATE` (no flags).
    pub fn storage_pool_create(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolCreate")?;
        let i = self.pool_inactive_by_name(&pool.name)?;
        self.pools[i].active = true;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::STARTED, detail: 0 });
        self.persist_pool(i);
        Ok(())
    }

    /// `STORAGE_POOL_BUILD` (no flags; inactive pools only).
    pub fn storage_pool_build(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolBuild")?;
        self.pool_inactive_by_name(&pool.name)?;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::CREATED, detail: 0 });
        Ok(())
    }

    /// `STORAGE_POOL_DESTROY`: a transient pool disappears.
    pub fn storage_pool_destroy(&mut self, pool: &PoolHandle) -> Result<()> {
        let i = self.pool_active_by_name(&pool.name)?;
        let p = &mut self.pools[i];
        p.active = false;
        if let Some(nd) = p.new_def.take() {
            p.def = nd;
        }
        self.pool_event(i, pool_event::STOPPED);
        if self.pools[i].persistent {
            self.persist_pool(i);
        } else {
            self.pools.remove(i);
        }
        Ok(())
    }

    /// `STORAGE_POOL_DELETE` (no flags; inactive pools only): only the event.
    pub fn storage_pool_delete(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolDelete")?;
        self.pool_inactive_by_name(&pool.name)?;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::DELETED, detail: 0 });
        Ok(())
    }

    /// `STORAGE_POOL_REFRESH` (no flags; active pools only).
    pub fn storage_pool_refresh(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolRefresh")?;
        self.pool_active_by_name(&pool.name)?;
        self.events.push(Event::PoolRefresh { pool: pool.clone() });
        Ok(())
    }

    /// `STORAGE_POOL_GET_INFO`.
    pub fn storage_pool_get_info(&self, pool: &PoolHandle) -> Result<PoolInfo> {
        let p = &self.pools[self.pool_by_name(&pool.name)?];
        Ok(PoolInfo {
            state: if p.active { 2 } else { 0 },
            capacity: p.capacity,
            allocation: p.allocation,
            available: p.available,
        })
    }

    /// `STORAGE_POOL_GET_XML_DESC` (no flags).
    pub fn storage_pool_get_xml_desc(&self, pool: &PoolHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testStoragePoolGetXMLDesc")?;
        let p = &self.pools[self.pool_by_name(&pool.name)?];
        Ok(p.def.format(p.capacity, p.allocation, p.available))
    }

    /// `STORAGE_POOL_GET_AUTOSTART` (false for transient pools).
    pub fn storage_pool_get_autostart(&self, pool: &PoolHandle) -> Result<bool> {
        let p = &self.pools[self.pool_by_name(&pool.name)?];
        Ok(p.persistent && p.autostart)
    }

    /// `STORAGE_POOL_SET_AUTOSTART` (persistent pools only).
    pub fn storage_pool_set_autostart(&mut self, pool: &PoolHandle, autostart: bool) -> Result<()> {
        let i = self.pool_by_name(&pool.name)?;
        if !self.pools[i].persistent {
            return Err(error::pool_no_config_file());
        }
        self.pools[i].autostart = autostart;
        self.persist_pool(i);
        Ok(())
    }

    /// `STORAGE_POOL_IS_ACTIVE`.
    pub fn storage_pool_is_active(&self, pool: &PoolHandle) -> Result<bool> {
        self.pool_by_uuid(&pool.uuid).map(|i| self.pools[i].active)
    }

    /// `STORAGE_POOL_IS_PERSISTENT`.
    pub fn storage_pool_is_persistent(&self, pool: &PoolHandle) -> Result<bool> {
        self.pool_by_uuid(&pool.uuid).map(|i| self.pools[i].persistent)
    }

    /// `STORAGE_POOL_NUM_OF_VOLUMES`.
    pub fn storage_pool_num_of_volumes(&self, pool: &PoolHandle) -> Result<usize> {
        Ok(self.pools[self.pool_active_by_name(&pool.name)?].vols.len())
    }

    /// `STORAGE_POOL_LIST_VOLUMES` (names, at most `max`).
    pub fn storage_pool_list_volumes(&self, pool: &PoolHandle, max: usize) -> Result<Vec<String>> {
        let p = &self.pools[self.pool_active_by_name(&pool.name)?];
        Ok(p.vols.iter().map(|v| v.def.name.clone()).take(max).collect())
    }

    /// `STORAGE_POOL_LIST_ALL_VOLUMES` (no flags).
    pub fn storage_pool_list_all_volumes(&self, pool: &PoolHandle, flags: u32) -> Result<Vec<VolumeHandle>> {
        error::check_flags(flags, 0, "testStoragePoolListAllVolumes")?;
        let i = self.pool_by_uuid(&pool.uuid)?;
        let p = &self.pools[i];
        if !p.active {
            return Err(error::invalid_test("storage pool is not active".to_owned()));
        }
        Ok(p.vols.iter().map(|v| vol_handle(p, v)).collect())
    }

    fn pool_event(&mut self, i: usize, event: i32) {
        self.events.push(Event::PoolLifecycle { pool: self.pools[i].handle(), event, detail: 0 });
    }

    // ----- storage volumes ---------------------------------------------------------------------------

    fn vol_index(&self, vol: &VolumeHandle) -> Result<(usize, usize)> {
        let pi = self.pool_active_by_name(&vol.pool)?;
        let vi = self.pools[pi]
            .vols
            .iter()
            .position(|v| v.def.name == vol.name)
            .ok_or_else(|| error::no_vol("name", &vol.name))?;
        Ok((pi, vi))
    }

    /// `STORAGE_VOL_LOOKUP_BY_NAME`.
    pub fn storage_vol_lookup_by_name(&self, pool: &PoolHandle, name: &str) -> Result<VolumeHandle> {
        let pi = self.pool_active_by_name(&pool.name)?;
        let p = &self.pools[pi];
        p.vols.iter().find(|v| v.def.name == name).map(|v| vol_handle(p, v)).ok_or_else(|| error::no_vol("name", name))
    }

    /// `STORAGE_VOL_LOOKUP_BY_KEY` (active pools).
    pub fn storage_vol_lookup_by_key(&self, key: &str) -> Result<VolumeHandle> {
        self.pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| p.vols.iter().find(|v| v.def.key == key).map(|v| vol_handle(p, v)))
            .ok_or_else(|| error::no_vol("key", key))
    }

    /// `STORAGE_VOL_LOOKUP_BY_PATH` (active pools).
    pub fn storage_vol_lookup_by_path(&self, path: &str) -> Result<VolumeHandle> {
        self.pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| p.vols.iter().find(|v| v.def.path == path).map(|v| vol_handle(p, v)))
            .ok_or_else(|| error::no_vol("path", path))
    }

    /// `STORAGE_VOL_CREATE_XML` (flag `VALIDATE` 1 accepted): name, capacity, allocation
    /// (defaults to the capacity), format (defaults to raw in file pools).
    pub fn storage_vol_create_xml(&mut self, pool: &PoolHandle, xml: &str, flags: u32) -> Result<VolumeHandle> {
        error::check_flags(flags, 1, "testStorageVolCreateXML")?;
        let pi = self.pool_active_by_name(&pool.name)?;
        let mut def = VolDef::parse(xml, &self.pools[pi].def)?;
        let p = &mut self.pools[pi];
        if p.vols.iter().any(|v| v.def.name == def.name) {
            return Err(error::vol_exists());
        }
        if p.allocation.saturating_add(def.allocation) > p.capacity {
            return Err(error::internal(&format!("Not enough free space in pool for volume '{}'", def.name)));
        }
        def.path = format!("{}/{}", p.def.target_path.as_deref().unwrap_or_default(), def.name);
        def.key.clone_from(&def.path);
        p.allocation += def.allocation;
        p.available = p.capacity - p.allocation;
        p.vols.push(VolObj { def, content: Extents::default() });
        let vi = p.vols.len() - 1;
        self.persist_vol(pi, vi, true);
        Ok(vol_handle(&self.pools[pi], &self.pools[pi].vols[vi]))
    }

    /// `STORAGE_VOL_DELETE` (no flags).
    pub fn storage_vol_delete(&mut self, vol: &VolumeHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStorageVolDelete")?;
        let (pi, vi) = self.vol_index(vol)?;
        let p = &mut self.pools[pi];
        let v = p.vols.remove(vi);
        p.allocation -= v.def.allocation;
        p.available = p.capacity - p.allocation;
        if self.durable && self.pools[pi].persistent {
            let base = format!("pools/{}.vols/{}", self.pools[pi].def.uuid, persist::hex_name(&v.def.name));
            self.pending.push(Op::Remove(format!("{base}.xml").into()));
            self.pending.push(Op::Remove(format!("{base}.data").into()));
            self.persist_pool(pi);
        }
        Ok(())
    }

    /// `STORAGE_VOL_GET_INFO`.
    pub fn storage_vol_get_info(&self, vol: &VolumeHandle) -> Result<VolInfo> {
        let (pi, vi) = self.vol_index(vol)?;
        let p = &self.pools[pi];
        let v = &p.vols[vi];
        Ok(VolInfo { kind: p.def.vol_type() as i32, capacity: v.def.capacity, allocation: v.def.allocation })
    }

    /// `STORAGE_VOL_GET_XML_DESC` (no flags).
    pub fn storage_vol_get_xml_desc(&self, vol: &VolumeHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testStorageVolGetXMLDesc")?;
        let (pi, vi) = self.vol_index(vol)?;
        Ok(self.pools[pi].vols[vi].def.format(&self.pools[pi].def))
    }

    /// `STORAGE_VOL_GET_PATH`.
    pub fn storage_vol_get_path(&self, vol: &VolumeHandle) -> Result<String> {
        let (pi, vi) = self.vol_index(vol)?;
        Ok(self.pools[pi].vols[vi].def.path.clone())
    }

    /// Reads `[offset, offset + length)` of a volume's content (`length` 0: to the capacity), as
    /// data chunks and holes. For `STORAGE_VOL_DOWNLOAD`, which the real test driver lacks.
    pub fn storage_vol_read(&self, vol: &VolumeHandle, offset: u64, length: u64) -> Result<Vec<Chunk>> {
        let (pi, vi) = self.vol_index(vol)?;
        let v = &self.pools[pi].vols[vi];
        let cap = v.def.capacity;
        let length = if length == 0 { cap.saturating_sub(offset) } else { length };
        let end = storage::check_range(offset, length, cap)?;
        Ok(v.content.read(offset, end))
    }

    /// Writes bytes into a volume at `offset` (for `STORAGE_VOL_UPLOAD`). Within the capacity
    /// only. Durable after [`storage_vol_commit`](Self::storage_vol_commit).
    pub fn storage_vol_write(&mut self, vol: &VolumeHandle, offset: u64, data: &[u8]) -> Result<()> {
        let (pi, vi) = self.vol_index(vol)?;
        let v = &mut self.pools[pi].vols[vi];
        storage::check_range(offset, data.len() as u64, v.def.capacity)?;
        v.content.write(offset, data);
        Ok(())
    }

    /// Makes `[offset, offset + length)` a hole (a sparse upload's hole).
    pub fn storage_vol_write_hole(&mut self, vol: &VolumeHandle, offset: u64, length: u64) -> Result<()> {
        let (pi, vi) = self.vol_index(vol)?;
        let v = &mut self.pools[pi].vols[vi];
        storage::check_range(offset, length, v.def.capacity)?;
        v.content.punch(offset, length);
        Ok(())
    }

    /// Queues the volume's content for the state directory (call when an upload finishes).
    pub fn storage_vol_commit(&mut self, vol: &VolumeHandle) -> Result<()> {
        let (pi, vi) = self.vol_index(vol)?;
        self.persist_vol(pi, vi, true);
        Ok(())
    }

    // ----- durability ------------------------------------------------------------------------------------

    fn pending_if_durable(&mut self, op: Op) {
        if self.durable {
            self.pending.push(op);
        }
    }

    fn persist_all(&mut self) {
        for i in 0..self.domains.len() {
            self.persist_domain(i);
        }
        for i in 0..self.networks.len() {
            self.persist_network(i);
        }
        for i in 0..self.pools.len() {
            self.persist_pool(i);
            for vi in 0..self.pools[i].vols.len() {
                self.persist_vol(i, vi, true);
            }
        }
    }

    fn persist_domain(&mut self, i: usize) {
        if !self.durable {
            return;
        }
        let d = &self.domains[i];
        if !d.persistent {
            return;
        }
        let base = format!("domains/{}", d.def.uuid);
        let config = d.new_def.as_ref().unwrap_or(&d.def).format(None, true);
        let status = persist::status_text(&[
            ("autostart", u8::from(d.autostart).to_string()),
            ("state", (d.state as i32).to_string()),
            ("reason", d.reason.to_string()),
            ("id", d.id.to_string()),
        ]);
        let live = d.is_active().then(|| d.def.format(None, true));
        self.pending.push(Op::Write(format!("{base}.xml").into(), config.into_bytes()));
        match live {
            Some(l) => self.pending.push(Op::Write(format!("{base}.live.xml").into(), l.into_bytes())),
            None => self.pending.push(Op::Remove(format!("{base}.live.xml").into())),
        }
        self.pending.push(Op::Write(format!("{base}.status").into(), status));
    }

    /// Removes a domain's files (it was undefined; if still running it lives on, transient).
    fn unpersist_domain(&mut self, uuid: &Uuid) {
        self.unpersist("domains", uuid);
    }

    fn unpersist(&mut self, sub: &str, uuid: &Uuid) {
        if !self.durable {
            return;
        }
        for ext in ["xml", "live.xml", "status"] {
            self.pending.push(Op::Remove(format!("{sub}/{uuid}.{ext}").into()));
        }
    }

    fn persist_network(&mut self, i: usize) {
        if !self.durable || !self.networks[i].persistent {
            return;
        }
        let n = &self.networks[i];
        let base = format!("networks/{}", n.def.uuid);
        let config = n.new_def.as_ref().unwrap_or(&n.def).format();
        let status = persist::status_text(&[
            ("autostart", u8::from(n.autostart).to_string()),
            ("active", u8::from(n.active).to_string()),
        ]);
        let live = n.active.then(|| n.def.format());
        self.pending.push(Op::Write(format!("{base}.xml").into(), config.into_bytes()));
        match live {
            Some(l) => self.pending.push(Op::Write(format!("{base}.live.xml").into(), l.into_bytes())),
            None => self.pending.push(Op::Remove(format!("{base}.live.xml").into())),
        }
        self.pending.push(Op::Write(format!("{base}.status").into(), status));
    }

    fn persist_pool(&mut self, i: usize) {
        if !self.durable || !self.pools[i].persistent {
            return;
        }
        let p = &self.pools[i];
        let base = format!("pools/{}", p.def.uuid);
        let config = p.new_def.as_ref().unwrap_or(&p.def).format(p.capacity, p.allocation, p.available);
        let status = persist::status_text(&[
            ("autostart", u8::from(p.autostart).to_string()),
            ("active", u8::from(p.active).to_string()),
        ]);
        self.pending.push(Op::Write(format!("{base}.xml").into(), config.into_bytes()));
        self.pending.push(Op::Write(format!("{base}.status").into(), status));
    }

    fn persist_vol(&mut self, pi: usize, vi: usize, with_data: bool) {
        if !self.durable || !self.pools[pi].persistent {
            return;
        }
        let p = &self.pools[pi];
        let v = &p.vols[vi];
        let base = format!("pools/{}.vols/{}", p.def.uuid, persist::hex_name(&v.def.name));
        let xml = v.def.format(&p.def);
        let data = with_data.then(|| persist::encode_extents(&v.content));
        self.pending.push(Op::Write(format!("{base}.xml").into(), xml.into_bytes()));
        if let Some(d) = data {
            self.pending.push(Op::Write(format!("{base}.data").into(), d));
        }
        self.persist_pool(pi);
    }

    fn load_state(&mut self, dir: &StateDir) -> std::io::Result<()> {
        let bad = |what: &str, e: Error| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{what}: {}", e.message()))
        };
        let flag = |s: &Stored, k: &str| s.status.get(k).is_some_and(|v| v == "1");
        for (stem, s) in dir.read_objects("domains")? {
            let Some(config) = &s.config else { continue };
            let def = DomainDef::parse(config).map_err(|e| bad(&format!("domains/{stem}.xml"), e))?;
            let state = s.status.get("state").and_then(|v| v.parse().ok()).and_then(DomainState::from_i32);
            let state = state.unwrap_or(DomainState::Shutoff);
            let id: i32 = s.status.get("id").and_then(|v| v.parse().ok()).unwrap_or(-1);
            let mut obj = DomainObj {
                def,
                new_def: None,
                id: -1,
                state: DomainState::Shutoff,
                reason: s.status.get("reason").and_then(|v| v.parse().ok()).unwrap_or(0),
                persistent: true,
                autostart: flag(&s, "autostart"),
            };
            if state != DomainState::Shutoff && id > 0 {
                let live = match &s.live {
                    Some(l) => DomainDef::parse(l).map_err(|e| bad(&format!("domains/{stem}.live.xml"), e))?,
                    None => obj.def.clone(),
                };
                obj.new_def = Some(std::mem::replace(&mut obj.def, live));
                obj.state = state;
                obj.id = id;
                self.next_dom_id = self.next_dom_id.max(id + 1);
            }
            self.domains.push(obj);
        }
        for (stem, s) in dir.read_objects("networks")? {
            let Some(config) = &s.config else { continue };
            let def = NetworkDef::parse(config).map_err(|e| bad(&format!("networks/{stem}.xml"), e))?;
            let active = flag(&s, "active");
            let mut obj = NetworkObj { def, new_def: None, active, persistent: true, autostart: flag(&s, "autostart") };
            if let (true, Some(l)) = (active, &s.live) {
                let live = NetworkDef::parse(l).map_err(|e| bad(&format!("networks/{stem}.live.xml"), e))?;
                if live != obj.def {
                    obj.new_def = Some(std::mem::replace(&mut obj.def, live));
                }
            }
            self.networks.push(obj);
        }
        for (stem, s) in dir.read_objects("pools")? {
            let Some(config) = &s.config else { continue };
            let def = PoolDef::parse(config).map_err(|e| bad(&format!("pools/{stem}.xml"), e))?;
            let mut obj = Self::new_pool(def);
            obj.active = flag(&s, "active");
            obj.autostart = flag(&s, "autostart");
            for (xml, content) in dir.read_volumes(&stem)? {
                let def = VolDef::parse(&xml, &obj.def).map_err(|e| bad(&format!("pools/{stem}.vols"), e))?;
                obj.allocation += def.allocation;
                obj.vols.push(VolObj { def, content });
            }
            obj.available = obj.capacity.saturating_sub(obj.allocation);
            self.pools.push(obj);
        }
        Ok(())
    }

    /// Starts the inactive objects marked autostart, as libvirtd does when it starts.
    fn autostart_all(&mut self) {
        for i in 0..self.networks.len() {
            if self.networks[i].autostart && !self.networks[i].active {
                self.networks[i].active = true;
                self.net_event(i, network_event::STARTED);
                self.persist_network(i);
            }
        }
        for i in 0..self.pools.len() {
            if self.pools[i].autostart && !self.pools[i].active {
                self.pools[i].active = true;
                self.pool_event(i, pool_event::STARTED);
                self.persist_pool(i);
            }
        }
        for i in 0..self.domains.len() {
            if self.domains[i].autostart && !self.domains[i].is_active() {
                self.start_state(i, reason::RUNNING_BOOTED);
                self.dom_event(i, domain_event::STARTED, domain_event::STARTED_BOOTED);
                self.persist_domain(i);
            }
        }
    }
}

fn vol_handle(p: &PoolObj, v: &VolObj) -> VolumeHandle {
    VolumeHandle { pool: p.def.name.clone(), name: v.def.name.clone(), key: v.def.key.clone() }
}

/// The active/persistent/autostart part of the network and pool list filters.
fn object_filter(flags: u32, active: bool, persistent: bool, autostart: bool) -> bool {
    use list_objects as f;
    let pair = |yes: u32, no: u32, value: bool| {
        let mask = yes | no;
        flags & mask == 0 || flags & mask == mask || (value && flags & yes != 0) || (!value && flags & no != 0)
    };
    pair(f::ACTIVE, f::INACTIVE, active)
        && pair(f::PERSISTENT, f::TRANSIENT, persistent)
        && pair(f::AUTOSTART, f::NO_AUTOSTART, autostart)
}
