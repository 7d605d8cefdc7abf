//! The plain data `virDomain…` calls return or take: states and reasons, info structs, and the
//! typed-parameter structs.

pub use crate::enums::{
    DomainBlockedReason, DomainBlockedReasonEnum, DomainCrashedReason, DomainCrashedReasonEnum, DomainNoStateReason,
    DomainNoStateReasonEnum, DomainPMSuspendedReason, DomainPMSuspendedReasonEnum, DomainPausedReason,
    DomainPausedReasonEnum, DomainRunningReason, DomainRunningReasonEnum, DomainShutdownReason,
    DomainShutdownReasonEnum, DomainShutoffReason, DomainShutoffReasonEnum, DomainState, DomainStateEnum,
};
use crate::enumutil::Enum;
use crate::sys;
use crate::typedparams::{TypedParamValue, TypedParams};

/// Why a domain is in its state: the reason enum that goes with each state.
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum DomainStateReason {
    /// Reason for `NoState`.
    NoState(DomainNoStateReasonEnum),
    /// Reason for `Running`.
    Running(DomainRunningReasonEnum),
    /// Reason for `Blocked`.
    Blocked(DomainBlockedReasonEnum),
    /// Reason for `Paused`.
    Paused(DomainPausedReasonEnum),
    /// Reason for `Shutdown`.
    Shutdown(DomainShutdownReasonEnum),
    /// Reason for `Shutoff`.
    Shutoff(DomainShutoffReasonEnum),
    /// Reason for `Crashed`.
    Crashed(DomainCrashedReasonEnum),
    /// Reason for `PMSuspended`.
    PMSuspended(DomainPMSuspendedReasonEnum),
}

/// A reason, or the raw number when the state itself is unknown.
pub type DomainStateReasonEnum = Enum<DomainStateReason, i32>;

impl DomainStateReason {
    /// The reason `raw` for `state`.
    pub(crate) fn of(state: DomainState, raw: i32) -> Self {
        let r = u32::try_from(raw).unwrap_or(u32::MAX);
        match state {
            DomainState::NoState => Self::NoState(Enum::from_raw(r)),
            DomainState::Running => Self::Running(Enum::from_raw(r)),
            DomainState::Blocked => Self::Blocked(Enum::from_raw(r)),
            DomainState::Paused => Self::Paused(Enum::from_raw(r)),
            DomainState::Shutdown => Self::Shutdown(Enum::from_raw(r)),
            DomainState::Shutoff => Self::Shutoff(Enum::from_raw(r)),
            DomainState::Crashed => Self::Crashed(Enum::from_raw(r)),
            DomainState::PMSuspended => Self::PMSuspended(Enum::from_raw(r)),
        }
    }
}

impl crate::enumutil::RawEnum<i32> for DomainStateReason {
    fn from_raw(_raw: i32) -> Option<Self> {
        // A reason means nothing without its state: only `DomainStateReason::of` builds one.
        None
    }

    fn to_raw(self) -> i32 {
        let raw = match self {
            Self::NoState(r) => r.to_raw(),
            Self::Running(r) => r.to_raw(),
            Self::Blocked(r) => r.to_raw(),
            Self::Paused(r) => r.to_raw(),
            Self::Shutdown(r) => r.to_raw(),
            Self::Shutoff(r) => r.to_raw(),
            Self::Crashed(r) => r.to_raw(),
            Self::PMSuspended(r) => r.to_raw(),
        };
        i32::try_from(raw).unwrap_or(i32::MAX)
    }
}

impl std::fmt::Display for DomainStateReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoState(r) => write!(f, "{r}"),
            Self::Running(r) => write!(f, "{r}"),
            Self::Blocked(r) => write!(f, "{r}"),
            Self::Paused(r) => write!(f, "{r}"),
            Self::Shutdown(r) => write!(f, "{r}"),
            Self::Shutoff(r) => write!(f, "{r}"),
            Self::Crashed(r) => write!(f, "{r}"),
            Self::PMSuspended(r) => write!(f, "{r}"),
        }
    }
}

/// `virDomainInfo`.
#[derive(Clone, Debug)]
pub struct DomainInfo {
    /// The running state.
    pub state: DomainStateEnum,
    /// The maximum memory in KiB.
    pub max_mem: u64,
    /// The memory in KiB in use.
    pub memory: u64,
    /// The number of virtual CPUs.
    pub nr_virt_cpu: u32,
    /// CPU time used, in nanoseconds.
    pub cpu_time: u64,
}

/// `virDomainBlockStatsStruct`.
#[derive(Clone, Debug)]
pub struct BlockStats {
    /// Read requests.
    pub rd_req: i64,
    /// Bytes read.
    pub rd_bytes: i64,
    /// Write requests.
    pub wr_req: i64,
    /// Bytes written.
    pub wr_bytes: i64,
    /// Errors.
    pub errs: i64,
}

/// `virDomainBlockInfo`.
#[derive(Clone, Debug)]
pub struct BlockInfo {
    /// Logical size in bytes the guest sees.
    pub capacity: u64,
    /// Host storage in bytes in use.
    pub allocation: u64,
    /// Host physical size in bytes.
    pub physical: u64,
}

/// `virDomainInterfaceStatsStruct`.
#[derive(Clone, Debug)]
pub struct InterfaceStats {
    /// Bytes received.
    pub rx_bytes: i64,
    /// Packets received.
    pub rx_packets: i64,
    /// Receive errors.
    pub rx_errs: i64,
    /// Received packets dropped.
    pub rx_drop: i64,
    /// Bytes sent.
    pub tx_bytes: i64,
    /// Packets sent.
    pub tx_packets: i64,
    /// Send errors.
    pub tx_errs: i64,
    /// Sent packets dropped.
    pub tx_drop: i64,
}

/// One `virDomainMemoryStatStruct`.
#[derive(Clone, Debug)]
pub struct MemoryStat {
    /// `VIR_DOMAIN_MEMORY_STAT_…`.
    pub tag: u32,
    /// The value.
    pub val: u64,
}

/// `virDomainGetCPUStats`' parameters for one CPU (or the total).
#[derive(Clone, Debug, Default)]
pub struct CpuStats {
    /// CPU time (vCPUs and hypervisor), ns.
    pub cpu_time: Option<u64>,
    /// User time, ns.
    pub user_time: Option<u64>,
    /// System time, ns.
    pub system_time: Option<u64>,
    /// vCPU time, ns.
    pub vcpu_time: Option<u64>,
}

impl CpuStats {
    pub(crate) fn from_params(p: &TypedParams) -> Self {
        Self {
            cpu_time: p.u64(sys::VIR_DOMAIN_CPU_STATS_CPUTIME),
            user_time: p.u64(sys::VIR_DOMAIN_CPU_STATS_USERTIME),
            system_time: p.u64(sys::VIR_DOMAIN_CPU_STATS_SYSTEMTIME),
            vcpu_time: p.u64(sys::VIR_DOMAIN_CPU_STATS_VCPUTIME),
        }
    }
}

/// `virDomainGetMemoryParameters`' fields.
#[derive(Clone, Debug, Default)]
pub struct MemoryParameters {
    /// The most memory the guest can use (KiB).
    pub hard_limit: Option<u64>,
    /// The limit enforced under contention (KiB).
    pub soft_limit: Option<u64>,
    /// The memory guaranteed (KiB).
    pub min_guarantee: Option<u64>,
    /// The most memory plus swap the guest can use (KiB).
    pub swap_hard_limit: Option<u64>,
}

impl MemoryParameters {
    /// "Unlimited" (`VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`).
    pub const VALUE_UNLIMITED: u64 = sys::VIR_DOMAIN_MEMORY_PARAM_UNLIMITED;

    /// From typed parameters.
    pub fn from_params(p: &TypedParams) -> Self {
        Self {
            hard_limit: p.u64(sys::VIR_DOMAIN_MEMORY_HARD_LIMIT),
            soft_limit: p.u64(sys::VIR_DOMAIN_MEMORY_SOFT_LIMIT),
            min_guarantee: p.u64(sys::VIR_DOMAIN_MEMORY_MIN_GUARANTEE),
            swap_hard_limit: p.u64(sys::VIR_DOMAIN_MEMORY_SWAP_HARD_LIMIT),
        }
    }

    /// To typed parameters (the fields that are set).
    pub fn to_params(&self) -> TypedParams {
        let mut p = TypedParams::default();
        let u = |v: Option<u64>| v.map(TypedParamValue::ULLong);
        p.push(sys::VIR_DOMAIN_MEMORY_HARD_LIMIT, u(self.hard_limit));
        p.push(sys::VIR_DOMAIN_MEMORY_SOFT_LIMIT, u(self.soft_limit));
        p.push(sys::VIR_DOMAIN_MEMORY_MIN_GUARANTEE, u(self.min_guarantee));
        p.push(sys::VIR_DOMAIN_MEMORY_SWAP_HARD_LIMIT, u(self.swap_hard_limit));
        p
    }
}

/// `virDomainGetNumaParameters`' fields.
#[derive(Clone, Debug, Default)]
pub struct NUMAParameters {
    /// The NUMA nodeset.
    pub node_set: Option<String>,
    /// The mode (`VIR_DOMAIN_NUMATUNE_MEM_…`).
    pub mode: Option<i32>,
}

impl NUMAParameters {
    /// From typed parameters.
    pub fn from_params(p: &TypedParams) -> Self {
        Self { node_set: p.string(sys::VIR_DOMAIN_NUMA_NODESET), mode: p.i32(sys::VIR_DOMAIN_NUMA_MODE) }
    }

    /// To typed parameters.
    pub fn to_params(&self) -> TypedParams {
        let mut p = TypedParams::default();
        p.push(sys::VIR_DOMAIN_NUMA_NODESET, self.node_set.clone().map(TypedParamValue::String));
        p.push(sys::VIR_DOMAIN_NUMA_MODE, self.mode.map(TypedParamValue::Int));
        p
    }
}

/// A CFS bandwidth (period, quota).
#[derive(Clone, Debug, Default)]
pub struct SchedBandwidth {
    /// Period in µs.
    pub period: Option<u64>,
    /// Quota in µs.
    pub quota: Option<i64>,
}

/// `virDomainGetSchedulerParameters`' fields.
#[derive(Clone, Debug, Default)]
pub struct SchedulerInfo {
    /// The scheduler's name.
    pub scheduler_type: String,
    /// CPU shares.
    pub cpu_shares: Option<u64>,
    /// vCPU threads' bandwidth.
    pub vcpu_bw: SchedBandwidth,
    /// Emulator threads' bandwidth.
    pub emulator_bw: SchedBandwidth,
    /// The whole domain's bandwidth.
    pub global_bw: SchedBandwidth,
    /// I/O threads' bandwidth.
    pub iothread_bw: SchedBandwidth,
    /// Credit scheduler weight.
    pub weight: Option<u32>,
    /// Credit scheduler cap.
    pub cap: Option<u32>,
    /// Allocation scheduler reservation.
    pub reservation: Option<i64>,
    /// Allocation scheduler limit.
    pub limit: Option<i64>,
    /// Allocation scheduler shares.
    pub shares: Option<i32>,
}

impl SchedulerInfo {
    /// From typed parameters and the scheduler's name.
    pub fn from_params(p: &TypedParams, scheduler_type: String) -> Self {
        let bw = |period: &str, quota: &str| SchedBandwidth { period: p.u64(period), quota: p.i64(quota) };
        Self {
            scheduler_type,
            cpu_shares: p.u64(sys::VIR_DOMAIN_SCHEDULER_CPU_SHARES),
            vcpu_bw: bw(sys::VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, sys::VIR_DOMAIN_SCHEDULER_VCPU_QUOTA),
            emulator_bw: bw(sys::VIR_DOMAIN_SCHEDULER_EMULATOR_PERIOD, sys::VIR_DOMAIN_SCHEDULER_EMULATOR_QUOTA),
            global_bw: bw(sys::VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD, sys::VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA),
            iothread_bw: bw(sys::VIR_DOMAIN_SCHEDULER_IOTHREAD_PERIOD, sys::VIR_DOMAIN_SCHEDULER_IOTHREAD_QUOTA),
            weight: p.u32(sys::VIR_DOMAIN_SCHEDULER_WEIGHT),
            cap: p.u32(sys::VIR_DOMAIN_SCHEDULER_CAP),
            reservation: p.i64(sys::VIR_DOMAIN_SCHEDULER_RESERVATION),
            limit: p.i64(sys::VIR_DOMAIN_SCHEDULER_LIMIT),
            shares: p.i32(sys::VIR_DOMAIN_SCHEDULER_SHARES),
        }
    }

    /// To typed parameters (the fields that are set).
    pub fn to_params(&self) -> TypedParams {
        let mut p = TypedParams::default();
        let bw = |p: &mut TypedParams, b: &SchedBandwidth, period: &str, quota: &str| {
            p.push(period, b.period.map(TypedParamValue::ULLong));
            p.push(quota, b.quota.map(TypedParamValue::LLong));
        };
        p.push(sys::VIR_DOMAIN_SCHEDULER_CPU_SHARES, self.cpu_shares.map(TypedParamValue::ULLong));
        bw(&mut p, &self.vcpu_bw, sys::VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, sys::VIR_DOMAIN_SCHEDULER_VCPU_QUOTA);
        bw(
            &mut p,
            &self.emulator_bw,
            sys::VIR_DOMAIN_SCHEDULER_EMULATOR_PERIOD,
            sys::VIR_DOMAIN_SCHEDULER_EMULATOR_QUOTA,
        );
        bw(&mut p, &self.global_bw, sys::VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD, sys::VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA);
        bw(
            &mut p,
            &self.iothread_bw,
            sys::VIR_DOMAIN_SCHEDULER_IOTHREAD_PERIOD,
            sys::VIR_DOMAIN_SCHEDULER_IOTHREAD_QUOTA,
        );
        p.push(sys::VIR_DOMAIN_SCHEDULER_WEIGHT, self.weight.map(TypedParamValue::UInt));
        p.push(sys::VIR_DOMAIN_SCHEDULER_CAP, self.cap.map(TypedParamValue::UInt));
        p.push(sys::VIR_DOMAIN_SCHEDULER_RESERVATION, self.reservation.map(TypedParamValue::LLong));
        p.push(sys::VIR_DOMAIN_SCHEDULER_LIMIT, self.limit.map(TypedParamValue::LLong));
        p.push(sys::VIR_DOMAIN_SCHEDULER_SHARES, self.shares.map(TypedParamValue::Int));
        p
    }
}

/// One domain's statistics (`virDomainStatsRecord`).
#[derive(Debug)]
pub struct DomainStatsRecord {
    /// The domain.
    pub domain: crate::domain::Domain,
    /// Its statistics.
    pub params: TypedParams,
}

/// `virDomainMigrate3`/`virDomainMigrateToURI3`'s parameters (`VIR_MIGRATE_PARAM_…`).
#[derive(Clone, Debug, Default)]
pub struct MigrateParameters {
    /// `auto_converge.increment`.
    pub auto_converge_increment: Option<i32>,
    /// `auto_converge.initial`.
    pub auto_converge_initial: Option<i32>,
    /// `bandwidth` (MiB/s).
    pub bandwidth: Option<u64>,
    /// `bandwidth.postcopy` (MiB/s).
    pub bandwidth_postcopy: Option<u64>,
    /// `compression`.
    pub compression: Option<String>,
    /// `compression.mt.dthreads`.
    pub compression_mt_dthreads: Option<i32>,
    /// `compression.mt.level`.
    pub compression_mt_level: Option<i32>,
    /// `compression.mt.threads`.
    pub compression_mt_threads: Option<i32>,
    /// `compression.xbzrle.cache`.
    pub compression_xbzrle_cache: Option<u64>,
    /// `compression.zlib.level` (libvirt 9.1's name; libvirt 9.0 has no such parameter).
    pub compression_zlib_level: Option<i32>,
    /// `compression.zstd.level` (libvirt 9.1's name; libvirt 9.0 has no such parameter).
    pub compression_zstd_level: Option<i32>,
    /// `destination_name`.
    pub dest_name: Option<String>,
    /// `destination_xml`.
    pub dest_xml: Option<String>,
    /// `disks_port`.
    pub disks_port: Option<i32>,
    /// `disks_uri`.
    pub disks_uri: Option<String>,
    /// `graphics_uri`.
    pub graphics_uri: Option<String>,
    /// `listen_address`.
    pub listen_address: Option<String>,
    /// `migrate_disks`: one parameter per disk.
    pub migrate_disks: Vec<String>,
    /// `parallel.connections`.
    pub parallel_connections: Option<i32>,
    /// `persistent_xml`.
    pub persist_xml: Option<String>,
    /// `tls.destination`.
    pub tls_destination: Option<String>,
    /// `migrate_uri`.
    pub uri: Option<String>,
}

/// `VIR_MIGRATE_PARAM_COMPRESSION_ZLIB_LEVEL` (libvirt 9.1).
const COMPRESSION_ZLIB_LEVEL: &str = "compression.zlib.level";
/// `VIR_MIGRATE_PARAM_COMPRESSION_ZSTD_LEVEL` (libvirt 9.1).
const COMPRESSION_ZSTD_LEVEL: &str = "compression.zstd.level";

impl MigrateParameters {
    /// From typed parameters (every `migrate_disks` entry; the first of any other field).
    pub fn from_params(p: &TypedParams) -> Self {
        Self {
            auto_converge_increment: p.i32(sys::VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT),
            auto_converge_initial: p.i32(sys::VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL),
            bandwidth: p.u64(sys::VIR_MIGRATE_PARAM_BANDWIDTH),
            bandwidth_postcopy: p.u64(sys::VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY),
            compression: p.string(sys::VIR_MIGRATE_PARAM_COMPRESSION),
            compression_mt_dthreads: p.i32(sys::VIR_MIGRATE_PARAM_COMPRESSION_MT_DTHREADS),
            compression_mt_level: p.i32(sys::VIR_MIGRATE_PARAM_COMPRESSION_MT_LEVEL),
            compression_mt_threads: p.i32(sys::VIR_MIGRATE_PARAM_COMPRESSION_MT_THREADS),
            compression_xbzrle_cache: p.u64(sys::VIR_MIGRATE_PARAM_COMPRESSION_XBZRLE_CACHE),
            compression_zlib_level: p.i32(COMPRESSION_ZLIB_LEVEL),
            compression_zstd_level: p.i32(COMPRESSION_ZSTD_LEVEL),
            dest_name: p.string(sys::VIR_MIGRATE_PARAM_DEST_NAME),
            dest_xml: p.string(sys::VIR_MIGRATE_PARAM_DEST_XML),
            disks_port: p.i32(sys::VIR_MIGRATE_PARAM_DISKS_PORT),
            disks_uri: p.string(sys::VIR_MIGRATE_PARAM_DISKS_URI),
            graphics_uri: p.string(sys::VIR_MIGRATE_PARAM_GRAPHICS_URI),
            listen_address: p.string(sys::VIR_MIGRATE_PARAM_LISTEN_ADDRESS),
            migrate_disks: p
                .0
                .iter()
                .filter(|x| x.field == sys::VIR_MIGRATE_PARAM_MIGRATE_DISKS)
                .filter_map(|x| match &x.value {
                    TypedParamValue::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            parallel_connections: p.i32(sys::VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS),
            persist_xml: p.string(sys::VIR_MIGRATE_PARAM_PERSIST_XML),
            tls_destination: p.string(sys::VIR_MIGRATE_PARAM_TLS_DESTINATION),
            uri: p.string(sys::VIR_MIGRATE_PARAM_URI),
        }
    }

    /// To typed parameters: the fields that are set, in `virt`'s order.
    pub fn to_params(&self) -> TypedParams {
        let mut p = TypedParams::default();
        let i = |v: Option<i32>| v.map(TypedParamValue::Int);
        let u = |v: Option<u64>| v.map(TypedParamValue::ULLong);
        let st = |v: &Option<String>| v.clone().map(TypedParamValue::String);
        p.push(sys::VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT, i(self.auto_converge_increment));
        p.push(sys::VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL, i(self.auto_converge_initial));
        p.push(sys::VIR_MIGRATE_PARAM_BANDWIDTH, u(self.bandwidth));
        p.push(sys::VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY, u(self.bandwidth_postcopy));
        p.push(sys::VIR_MIGRATE_PARAM_COMPRESSION, st(&self.compression));
        p.push(sys::VIR_MIGRATE_PARAM_COMPRESSION_MT_DTHREADS, i(self.compression_mt_dthreads));
        p.push(sys::VIR_MIGRATE_PARAM_COMPRESSION_MT_LEVEL, i(self.compression_mt_level));
        p.push(sys::VIR_MIGRATE_PARAM_COMPRESSION_MT_THREADS, i(self.compression_mt_threads));
        p.push(sys::VIR_MIGRATE_PARAM_COMPRESSION_XBZRLE_CACHE, u(self.compression_xbzrle_cache));
        p.push(COMPRESSION_ZLIB_LEVEL, i(self.compression_zlib_level));
        p.push(COMPRESSION_ZSTD_LEVEL, i(self.compression_zstd_level));
        p.push(sys::VIR_MIGRATE_PARAM_DEST_NAME, st(&self.dest_name));
        p.push(sys::VIR_MIGRATE_PARAM_DEST_XML, st(&self.dest_xml));
        p.push(sys::VIR_MIGRATE_PARAM_DISKS_PORT, i(self.disks_port));
        p.push(sys::VIR_MIGRATE_PARAM_DISKS_URI, st(&self.disks_uri));
        p.push(sys::VIR_MIGRATE_PARAM_GRAPHICS_URI, st(&self.graphics_uri));
        p.push(sys::VIR_MIGRATE_PARAM_LISTEN_ADDRESS, st(&self.listen_address));
        for disk in &self.migrate_disks {
            p.push(sys::VIR_MIGRATE_PARAM_MIGRATE_DISKS, Some(TypedParamValue::String(disk.clone())));
        }
        p.push(sys::VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, i(self.parallel_connections));
        p.push(sys::VIR_MIGRATE_PARAM_PERSIST_XML, st(&self.persist_xml));
        p.push(sys::VIR_MIGRATE_PARAM_TLS_DESTINATION, st(&self.tls_destination));
        p.push(sys::VIR_MIGRATE_PARAM_URI, st(&self.uri));
        p
    }
}
