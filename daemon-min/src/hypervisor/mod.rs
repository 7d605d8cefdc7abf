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
//!
//! The files follow libvirt's seams: one per object family of the test driver's driver tables
//! (`domain`, `network`, `storage`, `host`), each holding that family's objects and rules, with
//! the matching `*_conf` file for its XML definitions (as `src/conf/` in libvirt); `durable`
//! is the `--state-dir` extension, `testnode` the `test:///PATH` node files.

mod checkpoint;
mod domain;
mod domain_conf;
mod domain_devices;
mod domain_guest;
mod domain_iothread;
mod domain_metadata;
mod domain_params;
pub mod domain_save;
mod domain_stats;
pub mod domain_tune;
mod domain_tuning;
mod domain_vcpu;
mod durable;
pub mod error;
pub mod events;
pub mod host;
mod host_cpu;
mod host_cpu_baseline;
mod host_cpu_def;
pub mod host_cpu_map;
mod interface;
mod netdev_conf;
mod network;
mod network_conf;
mod network_update;
mod network_update_dns;
mod nodedev;
mod nodedev_caps;
mod nodedev_create;
mod persist;
mod shared;
mod snapshot;
mod storage;
mod storage_conf;
mod storage_sources;
mod testnode;
mod units;
mod uuid;
mod xml;
mod xml_entities;
mod xml_prop;

use std::path::Path;

pub use domain::{list_domains, reason, xml_flags, DomainHandle, DomainInfo, DomainState};
pub use domain_conf::DomainDef;
pub use domain_guest::{FsInfo, GuestInterface, StatsRecord};
pub use domain_tune::TypedValue;
pub use domain_vcpu::VcpuInfo;
pub use error::{Error, Result};
pub use events::Event;
pub use host::{NodeInfo, SecurityLabel, SecurityModel};
pub use interface::InterfaceHandle;
pub use network::NetworkHandle;
pub use network_conf::NetworkDef;
pub use persist::StateDir;
pub use shared::{defer_durability, SharedHypervisor, SubscriptionId, Ticket, WeakHypervisor};
pub use storage::{PoolHandle, PoolInfo, VolInfo, VolumeHandle};
pub use storage_conf::{Chunk, PoolDef, VolDef, VolType};
pub use uuid::Uuid;

use domain::DomainObj;
use host::Cell;
use network::NetworkObj;
use persist::Op;
use storage::{PoolObj, VolObj};
use testnode::DEFAULT_NODE_XML;

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

/// The simulated host and everything on it.
#[derive(Debug, Clone)]
pub struct Hypervisor {
    hostname: String,
    node_info: NodeInfo,
    cells: Vec<Cell>,
    secmodel: SecurityModel,
    next_dom_id: i32,
    domains: Vec<DomainObj>,
    networks: Vec<NetworkObj>,
    pools: Vec<PoolObj>,
    interfaces: Vec<interface::InterfaceObj>,
    /// The definitions kept by `INTERFACE_CHANGE_BEGIN`, while a transaction runs.
    iface_backup: Option<Vec<interface::InterfaceObj>>,
    devices: Vec<nodedev::NodeDeviceDef>,
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
            interfaces: Vec::new(),
            iface_backup: None,
            devices: Vec::new(),
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
