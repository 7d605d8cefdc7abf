//! The less common `virDomain…` calls: jobs, CPU pinning, guest interface addresses, and the
//! QEMU program's monitor and agent commands (`virDomainQemu…`, libvirt-qemu).

use proto_core::programs::qemu as q;
use proto_core::programs::remote as r;

use crate::domain::Domain;
use crate::error::Error;
use crate::macros::twin;
use crate::sys;
use crate::typedparams::{TypedParamValue, TypedParams};
use crate::util::s;

/// One address of a guest interface (`virDomainIPAddress`).
#[derive(Clone, Debug)]
pub struct IPAddress {
    /// `VIR_IP_ADDR_TYPE_…`.
    pub typed: i64,
    /// The address.
    pub addr: String,
    /// The prefix length.
    pub prefix: u64,
}

/// A guest interface and its addresses (`virDomainInterface`).
#[derive(Clone, Debug)]
pub struct Interface {
    /// The interface's name in the guest.
    pub name: String,
    /// Its MAC address.
    pub hwaddr: Option<String>,
    /// How many addresses.
    pub naddrs: u64,
    /// The addresses.
    pub addrs: Vec<IPAddress>,
}

macro_rules! job_stats {
    ($($(#[$doc:meta])* $field:ident: $ty:ty = $getter:ident($name:ident);)*) => {
        /// A job's progress (`virDomainGetJobStats`, `virDomainGetJobInfo`).
        #[derive(Clone, Debug, Default)]
        pub struct JobStats {
            /// `VIR_DOMAIN_JOB_…` type.
            pub r#type: i32,
            $($(#[$doc])* pub $field: Option<$ty>,)*
        }

        impl JobStats {
            /// From `virDomainGetJobStats`' type and parameters.
            pub fn from_params(r#type: i32, p: &TypedParams) -> Self {
                Self { r#type, $($field: $getter(p, sys::$name),)* }
            }
        }
    };
}

fn u64_(p: &TypedParams, f: &str) -> Option<u64> {
    p.u64(f)
}
fn i32_(p: &TypedParams, f: &str) -> Option<i32> {
    p.i32(f)
}
fn string_(p: &TypedParams, f: &str) -> Option<String> {
    p.string(f)
}
fn bool_(p: &TypedParams, f: &str) -> Option<bool> {
    p.0.iter().find(|x| x.field == f).and_then(|x| match x.value {
        TypedParamValue::Boolean(b) => Some(b),
        _ => None,
    })
}

job_stats! {
    /// `VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE`.
    auto_converge_throttle: i32 = i32_(VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE);
    /// `VIR_DOMAIN_JOB_COMPRESSION_BYTES`.
    compression_bytes: u64 = u64_(VIR_DOMAIN_JOB_COMPRESSION_BYTES);
    /// `VIR_DOMAIN_JOB_COMPRESSION_CACHE`.
    compression_cache: u64 = u64_(VIR_DOMAIN_JOB_COMPRESSION_CACHE);
    /// `VIR_DOMAIN_JOB_COMPRESSION_CACHE_MISSES`.
    compression_cache_misses: u64 = u64_(VIR_DOMAIN_JOB_COMPRESSION_CACHE_MISSES);
    /// `VIR_DOMAIN_JOB_COMPRESSION_OVERFLOW`.
    compression_overflow: u64 = u64_(VIR_DOMAIN_JOB_COMPRESSION_OVERFLOW);
    /// `VIR_DOMAIN_JOB_COMPRESSION_PAGES`.
    compression_pages: u64 = u64_(VIR_DOMAIN_JOB_COMPRESSION_PAGES);
    /// `VIR_DOMAIN_JOB_DATA_PROCESSED`.
    data_processed: u64 = u64_(VIR_DOMAIN_JOB_DATA_PROCESSED);
    /// `VIR_DOMAIN_JOB_DATA_REMAINING`.
    data_remaining: u64 = u64_(VIR_DOMAIN_JOB_DATA_REMAINING);
    /// `VIR_DOMAIN_JOB_DATA_TOTAL`.
    data_total: u64 = u64_(VIR_DOMAIN_JOB_DATA_TOTAL);
    /// `VIR_DOMAIN_JOB_DISK_BPS`.
    disk_bps: u64 = u64_(VIR_DOMAIN_JOB_DISK_BPS);
    /// `VIR_DOMAIN_JOB_DISK_PROCESSED`.
    disk_processed: u64 = u64_(VIR_DOMAIN_JOB_DISK_PROCESSED);
    /// `VIR_DOMAIN_JOB_DISK_REMAINING`.
    disk_remaining: u64 = u64_(VIR_DOMAIN_JOB_DISK_REMAINING);
    /// `VIR_DOMAIN_JOB_DISK_TEMP_TOTAL`.
    disk_temp_total: u64 = u64_(VIR_DOMAIN_JOB_DISK_TEMP_TOTAL);
    /// `VIR_DOMAIN_JOB_DISK_TEMP_USED`.
    disk_temp_used: u64 = u64_(VIR_DOMAIN_JOB_DISK_TEMP_USED);
    /// `VIR_DOMAIN_JOB_DISK_TOTAL`.
    disk_total: u64 = u64_(VIR_DOMAIN_JOB_DISK_TOTAL);
    /// `VIR_DOMAIN_JOB_DOWNTIME`.
    downtime: u64 = u64_(VIR_DOMAIN_JOB_DOWNTIME);
    /// `VIR_DOMAIN_JOB_DOWNTIME_NET`.
    downtime_net: u64 = u64_(VIR_DOMAIN_JOB_DOWNTIME_NET);
    /// `VIR_DOMAIN_JOB_ERRMSG`.
    error_message: String = string_(VIR_DOMAIN_JOB_ERRMSG);
    /// `VIR_DOMAIN_JOB_MEMORY_BPS`.
    mem_bps: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_BPS);
    /// `VIR_DOMAIN_JOB_MEMORY_CONSTANT`.
    mem_constant: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_CONSTANT);
    /// `VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE`.
    mem_dirty_rate: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
    /// `VIR_DOMAIN_JOB_MEMORY_ITERATION`.
    mem_iteration: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_ITERATION);
    /// `VIR_DOMAIN_JOB_MEMORY_NORMAL`.
    mem_normal: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_NORMAL);
    /// `VIR_DOMAIN_JOB_MEMORY_NORMAL_BYTES`.
    mem_normal_bytes: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_NORMAL_BYTES);
    /// `VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE`.
    mem_page_size: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE);
    /// `VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS`.
    mem_postcopy_reqs: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS);
    /// `VIR_DOMAIN_JOB_MEMORY_PROCESSED`.
    mem_processed: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_PROCESSED);
    /// `VIR_DOMAIN_JOB_MEMORY_REMAINING`.
    mem_remaining: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_REMAINING);
    /// `VIR_DOMAIN_JOB_MEMORY_TOTAL`.
    mem_total: u64 = u64_(VIR_DOMAIN_JOB_MEMORY_TOTAL);
    /// `VIR_DOMAIN_JOB_OPERATION`.
    operation: i32 = i32_(VIR_DOMAIN_JOB_OPERATION);
    /// `VIR_DOMAIN_JOB_SETUP_TIME`.
    setup_time: u64 = u64_(VIR_DOMAIN_JOB_SETUP_TIME);
    /// `VIR_DOMAIN_JOB_SUCCESS`.
    success: bool = bool_(VIR_DOMAIN_JOB_SUCCESS);
    /// `VIR_DOMAIN_JOB_TIME_ELAPSED`.
    time_elapsed: u64 = u64_(VIR_DOMAIN_JOB_TIME_ELAPSED);
    /// `VIR_DOMAIN_JOB_TIME_ELAPSED_NET`.
    time_elapsed_net: u64 = u64_(VIR_DOMAIN_JOB_TIME_ELAPSED_NET);
    /// `VIR_DOMAIN_JOB_TIME_REMAINING`.
    time_remaining: u64 = u64_(VIR_DOMAIN_JOB_TIME_REMAINING);
}

twin! { Domain; impl Domain {
    /// `virDomainGetJobStats`.
    pub async fn job_stats(&self, flags: sys::virDomainGetJobStatsFlags) -> Result<JobStats, Error> {
        let ret =
            aw!(self.conn.call::<r::DomainGetJobStats>(&r::RemoteDomainGetJobStatsArgs { dom: self.raw(), flags }))?;
        Ok(JobStats::from_params(ret.type_, &TypedParams::from_remote(ret.params)))
    }

    /// `virDomainGetJobInfo`.
    pub async fn job_info(&self) -> Result<JobStats, Error> {
        let x = aw!(self.conn.call::<r::DomainGetJobInfo>(&r::RemoteDomainGetJobInfoArgs { dom: self.raw() }))?;
        Ok(JobStats {
            r#type: x.type_,
            time_elapsed: Some(x.time_elapsed),
            time_remaining: Some(x.time_remaining),
            data_total: Some(x.data_total),
            data_processed: Some(x.data_processed),
            data_remaining: Some(x.data_remaining),
            mem_total: Some(x.mem_total),
            mem_processed: Some(x.mem_processed),
            mem_remaining: Some(x.mem_remaining),
            disk_total: Some(x.file_total),
            disk_processed: Some(x.file_processed),
            disk_remaining: Some(x.file_remaining),
            ..JobStats::default()
        })
    }

    /// `virDomainPinVcpu`.
    pub async fn pin_vcpu(&self, vcpu: u32, cpumap: &[u8]) -> Result<(), Error> {
        let args = r::RemoteDomainPinVcpuArgs { dom: self.raw(), vcpu, cpumap: cpumap.to_vec().into() };
        aw!(self.conn.call_rw::<r::DomainPinVcpu>("virDomainPinVcpu", &args))
    }

    /// `virDomainPinVcpuFlags`.
    pub async fn pin_vcpu_flags(&self, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainPinVcpuFlagsArgs { dom: self.raw(), vcpu, cpumap: cpumap.to_vec().into(), flags };
        aw!(self.conn.call_rw::<r::DomainPinVcpuFlags>("virDomainPinVcpuFlags", &args))
    }

    /// `virDomainPinEmulator`.
    pub async fn pin_emulator(&self, cpumap: &[u8], flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainPinEmulatorArgs { dom: self.raw(), cpumap: cpumap.to_vec().into(), flags };
        aw!(self.conn.call_rw::<r::DomainPinEmulator>("virDomainPinEmulator", &args))
    }

    /// `virDomainInterfaceAddresses`.
    pub async fn interface_addresses(
        &self,
        source: sys::virDomainInterfaceAddressesSource,
        flags: u32,
    ) -> Result<Vec<Interface>, Error> {
        if source == sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT {
            self.conn.check_rw("virDomainInterfaceAddresses")?;
        }
        let args = r::RemoteDomainInterfaceAddressesArgs { dom: self.raw(), source, flags };
        let ret = aw!(self.conn.call::<r::DomainInterfaceAddresses>(&args))?;
        Ok(ret
            .ifaces
            .into_iter()
            .map(|i| Interface {
                name: i.name.to_string(),
                hwaddr: i.hwaddr.map(|h| h.to_string()),
                naddrs: i.addrs.len() as u64,
                addrs: i
                    .addrs
                    .into_iter()
                    .map(|a| IPAddress {
                        typed: i64::from(a.type_),
                        addr: a.addr.to_string(),
                        prefix: u64::from(a.prefix),
                    })
                    .collect(),
            })
            .collect())
    }

    /// `virDomainQemuMonitorCommand` (libvirt-qemu; QEMU driver only).
    pub async fn qemu_monitor_command(&self, cmd: &str, flags: u32) -> Result<String, Error> {
        let args = q::QemuDomainMonitorCommandArgs { dom: self.raw(), cmd: s(cmd), flags };
        Ok(aw!(self.conn.call_rw::<q::DomainMonitorCommand>("virDomainQemuMonitorCommand", &args))?.result.to_string())
    }

    /// `virDomainQemuAgentCommand` (libvirt-qemu; QEMU driver only).
    pub async fn qemu_agent_command(&self, cmd: &str, timeout: i32, flags: u32) -> Result<String, Error> {
        let args = q::QemuDomainAgentCommandArgs { dom: self.raw(), cmd: s(cmd), timeout, flags };
        let ret = aw!(self.conn.call_rw::<q::DomainAgentCommand>("virDomainQemuAgentCommand", &args))?;
        Ok(ret.result.map(|x| x.to_string()).unwrap_or_default())
    }
} }
