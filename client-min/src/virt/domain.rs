//! `virDomain…`: a domain handle and its calls.

use std::sync::atomic::{AtomicI32, Ordering};

use proto_core::programs::remote as r;
use proto_core::programs::remote::RemoteNonnullDomain;
use uuid::Uuid;

use crate::connect::Connect;
pub use crate::domain_jobs::{IPAddress, Interface, JobStats};
use crate::domain_snapshot::DomainSnapshot;
pub use crate::domain_types::*;
use crate::enumutil::Enum;
use crate::error::Error;
use crate::macros::{obj_bool, obj_void, twin};
pub use crate::security::SecurityLabel;
use crate::stream::Stream;
use crate::sys;
use crate::typedparams::TypedParams;
use crate::util::{count, opt, s, uuid_string};

/// The public API adds `VIR_TYPED_PARAM_STRING_OKAY` to the typed-parameter getters (the
/// remote driver supports string parameters), so that string values come back.
const STRING_OKAY: u32 = sys::VIR_TYPED_PARAM_STRING_OKAY;

/// The domain handle's struct, for the blocking and the async `Domain` (given their
/// connection type): the name and UUID, and the id the remote driver keeps up to date.
macro_rules! domain_struct {
    ($conn:path; $(#[$doc:meta])*) => {
        $(#[$doc])*
        pub struct Domain {
            pub(crate) conn: $conn,
            pub(crate) name: proto_core::programs::remote::RemoteNonnullString,
            pub(crate) uuid: [u8; 16],
            /// `dom->id`: updated by the calls that start or stop it, as the remote driver does.
            pub(crate) id: std::sync::atomic::AtomicI32,
        }

        impl std::fmt::Debug for Domain {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Domain").field("name", &self.name).field("id", &self.id).finish_non_exhaustive()
            }
        }

        impl Clone for Domain {
            fn clone(&self) -> Self {
                Self {
                    conn: self.conn.clone(),
                    name: self.name.clone(),
                    uuid: self.uuid,
                    id: std::sync::atomic::AtomicI32::new(self.id.load(std::sync::atomic::Ordering::SeqCst)),
                }
            }
        }
    };
}
pub(crate) use domain_struct;

domain_struct!(crate::connect::Connect;
    /// A domain (`virDomainPtr`).
);

twin! { Connect, Domain, DomainSnapshot, Stream; local impl Domain {
    pub(crate) fn from_raw(conn: &Connect, raw: RemoteNonnullDomain) -> Self {
        Self { conn: conn.clone(), name: raw.name, uuid: raw.uuid, id: AtomicI32::new(raw.id) }
    }

    /// A handle for a domain as the protocol names it (what typed calls through
    /// [`Connect::client`] return); no call is made.
    pub fn from_remote(conn: &Connect, raw: RemoteNonnullDomain) -> Self {
        Self::from_raw(conn, raw)
    }

    /// The protocol's name for this domain (`remote_nonnull_domain`), for typed calls.
    pub fn to_remote(&self) -> RemoteNonnullDomain {
        self.raw()
    }

    pub(crate) fn raw(&self) -> RemoteNonnullDomain {
        RemoteNonnullDomain { name: self.name.clone(), uuid: self.uuid, id: self.id.load(Ordering::SeqCst) }
    }

    fn set_id(&self, id: i32) {
        self.id.store(id, Ordering::SeqCst);
    }

    /// `virDomainGetConnect`.
    pub fn connect(&self) -> Result<Connect, Error> {
        Ok(self.conn.clone())
    }

    /// `virDomainGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.name.to_string())
    }

    /// `virDomainGetUUID`.
    pub fn uuid(&self) -> Result<Uuid, Error> {
        Ok(Uuid::from_bytes(self.uuid))
    }

    /// `virDomainGetUUIDString`.
    pub fn uuid_string(&self) -> Result<String, Error> {
        Ok(uuid_string(&self.uuid))
    }

    /// `virDomainGetID`: `None` for an inactive domain.
    pub fn id(&self) -> Option<u32> {
        u32::try_from(self.id.load(Ordering::SeqCst)).ok()
    }
} }

twin! { Connect, Domain, DomainSnapshot, Stream; impl Domain {
    /// `virDomainGetState`.
    pub async fn state(&self) -> Result<(DomainStateEnum, DomainStateReasonEnum), Error> {
        let ret = aw!(self.conn.call::<r::DomainGetState>(&r::RemoteDomainGetStateArgs { dom: self.raw(), flags: 0 }))?;
        let state = DomainStateEnum::from_raw(u32::try_from(ret.state).unwrap_or(u32::MAX));
        let reason = match state {
            Enum::Known(k) => Enum::Known(DomainStateReason::of(k, ret.reason)),
            Enum::Unknown(_) => Enum::Unknown(ret.reason),
        };
        Ok((state, reason))
    }

    /// `virDomainGetOSType`.
    pub async fn os_type(&self) -> Result<String, Error> {
        Ok(aw!(self.conn.call::<r::DomainGetOsType>(&r::RemoteDomainGetOsTypeArgs { dom: self.raw() }))?
            .type_
            .to_string())
    }

    /// `virDomainGetHostname`.
    pub async fn hostname(&self, flags: u32) -> Result<String, Error> {
        let args = r::RemoteDomainGetHostnameArgs { dom: self.raw(), flags };
        Ok(aw!(self.conn.call::<r::DomainGetHostname>(&args))?.hostname.to_string())
    }

    /// `virDomainGetXMLDesc`.
    pub async fn xml_desc(&self, flags: sys::virDomainXMLFlags) -> Result<String, Error> {
        if flags & (sys::VIR_DOMAIN_XML_SECURE | sys::VIR_DOMAIN_XML_MIGRATABLE) != 0 && self.conn.is_read_only() {
            return Err(Error::in_api(
                "virDomainGetXMLDesc",
                crate::error::ErrorNumber::OperationDenied,
                "operation forbidden: virDomainGetXMLDesc with secure flag",
            ));
        }
        let args = r::RemoteDomainGetXmlDescArgs { dom: self.raw(), flags };
        Ok(aw!(self.conn.call::<r::DomainGetXmlDesc>(&args))?.xml.to_string())
    }

    /// `virDomainCreate`: `DOMAIN_CREATE` returns nothing, so the remote driver looks the
    /// domain up again by UUID for the id it now runs with.
    pub async fn create(&self) -> Result<(), Error> {
        aw!(self.conn.call_rw::<r::DomainCreate>("virDomainCreate", &r::RemoteDomainCreateArgs { dom: self.raw() }))?;
        let ret = aw!(self.conn.call::<r::DomainLookupByUuid>(&r::RemoteDomainLookupByUuidArgs { uuid: self.uuid }))?;
        self.set_id(ret.dom.id);
        Ok(())
    }

    /// `virDomainCreateWithFlags`: the handle's id becomes the running domain's.
    pub async fn create_with_flags(&self, flags: sys::virDomainCreateFlags) -> Result<(), Error> {
        let args = r::RemoteDomainCreateWithFlagsArgs { dom: self.raw(), flags };
        let ret = aw!(self.conn.call_rw::<r::DomainCreateWithFlags>("virDomainCreateWithFlags", &args))?;
        self.set_id(ret.dom.id);
        Ok(())
    }

    /// `virDomainGetInfo`.
    pub async fn info(&self) -> Result<DomainInfo, Error> {
        let ret = aw!(self.conn.call::<r::DomainGetInfo>(&r::RemoteDomainGetInfoArgs { dom: self.raw() }))?;
        Ok(DomainInfo {
            state: DomainStateEnum::from_raw(u32::from(ret.state)),
            max_mem: ret.max_mem,
            memory: ret.memory,
            nr_virt_cpu: u32::from(ret.nr_virt_cpu),
            cpu_time: ret.cpu_time,
        })
    }

    /// `virDomainDestroy`: the handle's id becomes -1.
    pub async fn destroy(&self) -> Result<(), Error> {
        aw!(self
            .conn
            .call_rw::<r::DomainDestroy>("virDomainDestroy", &r::RemoteDomainDestroyArgs { dom: self.raw() }))?;
        self.set_id(-1);
        Ok(())
    }

    /// `virDomainDestroyFlags`.
    pub async fn destroy_flags(&self, flags: sys::virDomainDestroyFlagsValues) -> Result<(), Error> {
        let args = r::RemoteDomainDestroyFlagsArgs { dom: self.raw(), flags };
        aw!(self.conn.call_rw::<r::DomainDestroyFlags>("virDomainDestroyFlags", &args))?;
        self.set_id(-1);
        Ok(())
    }

    /// `virDomainUndefine`.
    pub async fn undefine(&self) -> Result<(), Error> {
        aw!(self
            .conn
            .call_rw::<r::DomainUndefine>("virDomainUndefine", &r::RemoteDomainUndefineArgs { dom: self.raw() }))
    }

    /// `virDomainGetAutostart`.
    pub async fn autostart(&self) -> Result<bool, Error> {
        Ok(aw!(self.conn.call::<r::DomainGetAutostart>(&r::RemoteDomainGetAutostartArgs { dom: self.raw() }))?
            .autostart
            != 0)
    }

    /// `virDomainSetAutostart`.
    pub async fn set_autostart(&self, autostart: bool) -> Result<(), Error> {
        let args = r::RemoteDomainSetAutostartArgs { dom: self.raw(), autostart: i32::from(autostart) };
        aw!(self.conn.call_rw::<r::DomainSetAutostart>("virDomainSetAutostart", &args))
    }

    /// `virDomainSetMaxMemory`.
    pub async fn set_max_memory(&self, memory: u64) -> Result<(), Error> {
        let args = r::RemoteDomainSetMaxMemoryArgs { dom: self.raw(), memory };
        aw!(self.conn.call_rw::<r::DomainSetMaxMemory>("virDomainSetMaxMemory", &args))
    }

    /// `virDomainGetMaxMemory`.
    pub async fn max_memory(&self) -> Result<u64, Error> {
        Ok(aw!(self.conn.call::<r::DomainGetMaxMemory>(&r::RemoteDomainGetMaxMemoryArgs { dom: self.raw() }))?.memory)
    }

    /// `virDomainGetMaxVcpus`.
    pub async fn max_vcpus(&self) -> Result<u64, Error> {
        let ret = aw!(self.conn.call::<r::DomainGetMaxVcpus>(&r::RemoteDomainGetMaxVcpusArgs { dom: self.raw() }))?;
        Ok(u64::from(count(ret.num)))
    }

    /// `virDomainSetMemory`.
    pub async fn set_memory(&self, memory: u64) -> Result<(), Error> {
        let args = r::RemoteDomainSetMemoryArgs { dom: self.raw(), memory };
        aw!(self.conn.call_rw::<r::DomainSetMemory>("virDomainSetMemory", &args))
    }

    /// `virDomainSetMemoryFlags`.
    pub async fn set_memory_flags(&self, memory: u64, flags: sys::virDomainMemoryModFlags) -> Result<(), Error> {
        let args = r::RemoteDomainSetMemoryFlagsArgs { dom: self.raw(), memory, flags };
        aw!(self.conn.call_rw::<r::DomainSetMemoryFlags>("virDomainSetMemoryFlags", &args))
    }

    /// `virDomainSetLifecycleAction`.
    pub async fn set_lifecycle_action(
        &self,
        kind: sys::virDomainLifecycle,
        action: sys::virDomainLifecycleAction,
        flags: sys::virDomainModificationImpact,
    ) -> Result<(), Error> {
        let args = r::RemoteDomainSetLifecycleActionArgs { dom: self.raw(), type_: kind, action, flags };
        aw!(self.conn.call_rw::<r::DomainSetLifecycleAction>("virDomainSetLifecycleAction", &args))
    }

    /// `virDomainSetMemoryStatsPeriod`.
    pub async fn set_memory_stats_period(&self, period: i32, flags: sys::virDomainMemoryModFlags) -> Result<(), Error> {
        let args = r::RemoteDomainSetMemoryStatsPeriodArgs { dom: self.raw(), period, flags };
        aw!(self.conn.call_rw::<r::DomainSetMemoryStatsPeriod>("virDomainSetMemoryStatsPeriod", &args))
    }

    /// `virDomainSetVcpus`.
    pub async fn set_vcpus(&self, vcpus: u32) -> Result<(), Error> {
        let args = r::RemoteDomainSetVcpusArgs { dom: self.raw(), nvcpus: vcpus };
        aw!(self.conn.call_rw::<r::DomainSetVcpus>("virDomainSetVcpus", &args))
    }

    /// `virDomainSetVcpusFlags`.
    pub async fn set_vcpus_flags(&self, vcpus: u32, flags: sys::virDomainVcpuFlags) -> Result<(), Error> {
        let args = r::RemoteDomainSetVcpusFlagsArgs { dom: self.raw(), nvcpus: vcpus, flags };
        aw!(self.conn.call_rw::<r::DomainSetVcpusFlags>("virDomainSetVcpusFlags", &args))
    }

    /// `virDomainGetVcpusFlags`.
    pub async fn vcpus_flags(&self, flags: sys::virDomainVcpuFlags) -> Result<u32, Error> {
        let args = r::RemoteDomainGetVcpusFlagsArgs { dom: self.raw(), flags };
        Ok(count(aw!(self.conn.call::<r::DomainGetVcpusFlags>(&args))?.num))
    }

    /// `virDomainSetTime`.
    pub async fn set_time(&self, seconds: i64, nseconds: i32, flags: u32) -> Result<(), Error> {
        let nseconds = u32::try_from(nseconds)
            .map_err(|_| Error::invalid_arg("virDomainSetTime", "nseconds must be greater than or equal to zero"))?;
        let args = r::RemoteDomainSetTimeArgs { dom: self.raw(), seconds, nseconds, flags };
        aw!(self.conn.call_rw::<r::DomainSetTime>("virDomainSetTime", &args))
    }

    /// `virDomainGetTime`.
    pub async fn time(&self, flags: u32) -> Result<(i64, i32), Error> {
        self.conn.check_rw("virDomainGetTime")?;
        let ret = aw!(self.conn.call::<r::DomainGetTime>(&r::RemoteDomainGetTimeArgs { dom: self.raw(), flags }))?;
        Ok((ret.seconds, i32::try_from(ret.nseconds).unwrap_or(i32::MAX)))
    }

    /// `virDomainGetBlockInfo`.
    pub async fn block_info(&self, disk: &str, flags: u32) -> Result<BlockInfo, Error> {
        let args = r::RemoteDomainGetBlockInfoArgs { dom: self.raw(), path: s(disk), flags };
        let ret = aw!(self.conn.call::<r::DomainGetBlockInfo>(&args))?;
        Ok(BlockInfo { capacity: ret.capacity, allocation: ret.allocation, physical: ret.physical })
    }

    /// `virDomainBlockStats`.
    pub async fn block_stats(&self, disk: &str) -> Result<BlockStats, Error> {
        let ret = aw!(self
            .conn
            .call::<r::DomainBlockStats>(&r::RemoteDomainBlockStatsArgs { dom: self.raw(), path: s(disk) }))?;
        Ok(BlockStats {
            rd_req: ret.rd_req,
            rd_bytes: ret.rd_bytes,
            wr_req: ret.wr_req,
            wr_bytes: ret.wr_bytes,
            errs: ret.errs,
        })
    }

    /// `virDomainRename`.
    pub async fn rename(&self, new_name: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainRenameArgs { dom: self.raw(), new_name: opt(Some(new_name)), flags };
        aw!(self.conn.call_rw::<r::DomainRename>("virDomainRename", &args)).map(|_| ())
    }

    /// `virDomainSetUserPassword`.
    pub async fn set_user_password(&self, user: &str, password: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainSetUserPasswordArgs {
            dom: self.raw(),
            user: opt(Some(user)),
            password: opt(Some(password)),
            flags,
        };
        aw!(self.conn.call_rw::<r::DomainSetUserPassword>("virDomainSetUserPassword", &args))
    }

    /// `virDomainSetBlockThreshold`.
    pub async fn set_block_threshold(&self, dev: &str, threshold: u64, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainSetBlockThresholdArgs { dom: self.raw(), dev: s(dev), threshold, flags };
        aw!(self.conn.call_rw::<r::DomainSetBlockThreshold>("virDomainSetBlockThreshold", &args))
    }

    /// `virDomainOpenConsole`: attaches `stream` to the console.
    pub async fn open_console(&self, name: Option<&str>, stream: &Stream, flags: u32) -> Result<(), Error> {
        self.conn.check_rw("virDomainOpenConsole")?;
        stream.check_connection(
            &self.conn,
            "virDomainOpenConsole",
            format!("stream must match connection of domain '{}'", self.name),
        )?;
        let args = r::RemoteDomainOpenConsoleArgs { dom: self.raw(), dev_name: opt(name), flags };
        aw!(stream.start::<r::DomainOpenConsole>(&args)).map(|_| ())
    }

    /// `virDomainOpenChannel`: attaches `stream` to a channel.
    pub async fn open_channel(&self, name: Option<&str>, stream: &Stream, flags: u32) -> Result<(), Error> {
        self.conn.check_rw("virDomainOpenChannel")?;
        stream.check_connection(
            &self.conn,
            "virDomainOpenChannel",
            format!("stream must match connection of domain '{}'", self.name),
        )?;
        let args = r::RemoteDomainOpenChannelArgs { dom: self.raw(), name: opt(name), flags };
        aw!(stream.start::<r::DomainOpenChannel>(&args)).map(|_| ())
    }

    /// `virDomainInterfaceStats`.
    pub async fn interface_stats(&self, path: &str) -> Result<InterfaceStats, Error> {
        let args = r::RemoteDomainInterfaceStatsArgs { dom: self.raw(), device: s(path) };
        let x = aw!(self.conn.call::<r::DomainInterfaceStats>(&args))?;
        Ok(InterfaceStats {
            rx_bytes: x.rx_bytes,
            rx_packets: x.rx_packets,
            rx_errs: x.rx_errs,
            rx_drop: x.rx_drop,
            tx_bytes: x.tx_bytes,
            tx_packets: x.tx_packets,
            tx_errs: x.tx_errs,
            tx_drop: x.tx_drop,
        })
    }

    /// `virDomainMemoryStats`.
    pub async fn memory_stats(&self, flags: u32) -> Result<Vec<MemoryStat>, Error> {
        let max_stats = sys::VIR_DOMAIN_MEMORY_STAT_NR;
        let args = r::RemoteDomainMemoryStatsArgs { dom: self.raw(), max_stats, flags };
        let ret = aw!(self.conn.call::<r::DomainMemoryStats>(&args))?;
        Ok(ret.stats.into_iter().map(|m| MemoryStat { tag: count(m.tag), val: m.val }).collect())
    }

    /// `virDomainGetCPUStats`: per CPU from `start_cpu` (or the total with `-1`).
    pub async fn cpu_stats(&self, start_cpu: i32, ncpus: u32, flags: u32) -> Result<Vec<CpuStats>, Error> {
        let flags = flags | STRING_OKAY;
        // First the number of parameters per CPU, then the values.
        let probe = r::RemoteDomainGetCpuStatsArgs { dom: self.raw(), nparams: 0, start_cpu, ncpus: 1, flags };
        let nparams = count(aw!(self.conn.call::<r::DomainGetCpuStats>(&probe))?.nparams);
        let ncpus = if start_cpu == -1 { 1 } else { ncpus };
        let args = r::RemoteDomainGetCpuStatsArgs { dom: self.raw(), nparams, start_cpu, ncpus, flags };
        let ret = aw!(self.conn.call::<r::DomainGetCpuStats>(&args))?;
        let per = usize::try_from(nparams.max(1)).unwrap_or(1);
        Ok(ret
            .params
            .chunks(per)
            .map(|chunk| CpuStats::from_params(&TypedParams::from_remote(chunk.to_vec())))
            .collect())
    }

    /// `virDomainAttachDevice`.
    pub async fn attach_device(&self, xml: &str) -> Result<(), Error> {
        let args = r::RemoteDomainAttachDeviceArgs { dom: self.raw(), xml: s(xml) };
        aw!(self.conn.call_rw::<r::DomainAttachDevice>("virDomainAttachDevice", &args))
    }

    /// `virDomainAttachDeviceFlags`.
    pub async fn attach_device_flags(&self, xml: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainAttachDeviceFlagsArgs { dom: self.raw(), xml: s(xml), flags };
        aw!(self.conn.call_rw::<r::DomainAttachDeviceFlags>("virDomainAttachDeviceFlags", &args))
    }

    /// `virDomainDetachDevice`.
    pub async fn detach_device(&self, xml: &str) -> Result<(), Error> {
        let args = r::RemoteDomainDetachDeviceArgs { dom: self.raw(), xml: s(xml) };
        aw!(self.conn.call_rw::<r::DomainDetachDevice>("virDomainDetachDevice", &args))
    }

    /// `virDomainDetachDeviceFlags`.
    pub async fn detach_device_flags(&self, xml: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainDetachDeviceFlagsArgs { dom: self.raw(), xml: s(xml), flags };
        aw!(self.conn.call_rw::<r::DomainDetachDeviceFlags>("virDomainDetachDeviceFlags", &args))
    }

    /// `virDomainUpdateDeviceFlags`.
    pub async fn update_device_flags(&self, xml: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainUpdateDeviceFlagsArgs { dom: self.raw(), xml: s(xml), flags };
        aw!(self.conn.call_rw::<r::DomainUpdateDeviceFlags>("virDomainUpdateDeviceFlags", &args))
    }

    /// `virDomainCoreDump`.
    pub async fn core_dump(&self, to: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainCoreDumpArgs { dom: self.raw(), to: s(to), flags };
        aw!(self.conn.call_rw::<r::DomainCoreDump>("virDomainCoreDump", &args))
    }

    /// `virDomainCoreDumpWithFormat`.
    pub async fn core_dump_with_format(&self, to: &str, format: u32, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainCoreDumpWithFormatArgs { dom: self.raw(), to: s(to), dumpformat: format, flags };
        aw!(self.conn.call_rw::<r::DomainCoreDumpWithFormat>("virDomainCoreDumpWithFormat", &args))
    }

    /// `virDomainSetMetadata`.
    pub async fn set_metadata(
        &self,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<(), Error> {
        let args = r::RemoteDomainSetMetadataArgs {
            dom: self.raw(),
            type_: kind,
            metadata: opt(metadata),
            key: opt(key),
            uri: opt(uri),
            flags,
        };
        aw!(self.conn.call_rw::<r::DomainSetMetadata>("virDomainSetMetadata", &args))
    }

    /// `virDomainGetMetadata`.
    pub async fn metadata(&self, kind: i32, uri: Option<&str>, flags: u32) -> Result<String, Error> {
        let args = r::RemoteDomainGetMetadataArgs { dom: self.raw(), type_: kind, uri: opt(uri), flags };
        Ok(aw!(self.conn.call::<r::DomainGetMetadata>(&args))?.metadata.to_string())
    }

    /// `virDomainBlockResize`.
    pub async fn block_resize(&self, disk: &str, size: u64, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainBlockResizeArgs { dom: self.raw(), disk: s(disk), size, flags };
        aw!(self.conn.call_rw::<r::DomainBlockResize>("virDomainBlockResize", &args))
    }

    /// `virDomainGetMemoryParameters`: first the count, then the values.
    pub async fn memory_parameters(&self, flags: u32) -> Result<MemoryParameters, Error> {
        let flags = flags | STRING_OKAY;
        let probe = r::RemoteDomainGetMemoryParametersArgs { dom: self.raw(), nparams: 0, flags };
        let nparams = aw!(self.conn.call::<r::DomainGetMemoryParameters>(&probe))?.nparams;
        let args = r::RemoteDomainGetMemoryParametersArgs { dom: self.raw(), nparams, flags };
        let ret = aw!(self.conn.call::<r::DomainGetMemoryParameters>(&args))?;
        Ok(MemoryParameters::from_params(&TypedParams::from_remote(ret.params)))
    }

    /// `virDomainSetMemoryParameters`.
    #[allow(clippy::needless_pass_by_value)]
    pub async fn set_memory_parameters(&self, params: MemoryParameters, flags: u32) -> Result<(), Error> {
        let args =
            r::RemoteDomainSetMemoryParametersArgs { dom: self.raw(), params: params.to_params().into_remote(), flags };
        aw!(self.conn.call_rw::<r::DomainSetMemoryParameters>("virDomainSetMemoryParameters", &args))
    }

    /// `virDomainGetNumaParameters`: first the count, then the values.
    pub async fn numa_parameters(&self, flags: u32) -> Result<NUMAParameters, Error> {
        let flags = flags | STRING_OKAY;
        let probe = r::RemoteDomainGetNumaParametersArgs { dom: self.raw(), nparams: 0, flags };
        let nparams = aw!(self.conn.call::<r::DomainGetNumaParameters>(&probe))?.nparams;
        let args = r::RemoteDomainGetNumaParametersArgs { dom: self.raw(), nparams, flags };
        let ret = aw!(self.conn.call::<r::DomainGetNumaParameters>(&args))?;
        Ok(NUMAParameters::from_params(&TypedParams::from_remote(ret.params)))
    }

    /// `virDomainSetNumaParameters`.
    #[allow(clippy::needless_pass_by_value)]
    pub async fn set_numa_parameters(&self, params: NUMAParameters, flags: u32) -> Result<(), Error> {
        let args =
            r::RemoteDomainSetNumaParametersArgs { dom: self.raw(), params: params.to_params().into_remote(), flags };
        aw!(self.conn.call_rw::<r::DomainSetNumaParameters>("virDomainSetNumaParameters", &args))
    }

    /// `virDomainGetSchedulerType`: the name and the number of parameters.
    pub async fn scheduler_type(&self) -> Result<(String, i32), Error> {
        let ret =
            aw!(self.conn.call::<r::DomainGetSchedulerType>(&r::RemoteDomainGetSchedulerTypeArgs { dom: self.raw() }))?;
        Ok((ret.type_.to_string(), ret.nparams))
    }

    /// `virDomainGetSchedulerParameters`.
    pub async fn scheduler_parameters(&self) -> Result<SchedulerInfo, Error> {
        let (kind, nparams) = aw!(self.scheduler_type())?;
        let args = r::RemoteDomainGetSchedulerParametersArgs { dom: self.raw(), nparams };
        let ret = aw!(self.conn.call::<r::DomainGetSchedulerParameters>(&args))?;
        Ok(SchedulerInfo::from_params(&TypedParams::from_remote(ret.params), kind))
    }

    /// `virDomainGetSchedulerParametersFlags`.
    pub async fn scheduler_parameters_flags(
        &self,
        flags: sys::virDomainModificationImpact,
    ) -> Result<SchedulerInfo, Error> {
        let flags = flags | STRING_OKAY;
        let (kind, nparams) = aw!(self.scheduler_type())?;
        let args = r::RemoteDomainGetSchedulerParametersFlagsArgs { dom: self.raw(), nparams, flags };
        let ret = aw!(self.conn.call::<r::DomainGetSchedulerParametersFlags>(&args))?;
        Ok(SchedulerInfo::from_params(&TypedParams::from_remote(ret.params), kind))
    }

    /// `virDomainSetSchedulerParameters`.
    pub async fn set_scheduler_parameters(&self, sched_info: &SchedulerInfo) -> Result<(), Error> {
        let args =
            r::RemoteDomainSetSchedulerParametersArgs { dom: self.raw(), params: sched_info.to_params().into_remote() };
        aw!(self.conn.call_rw::<r::DomainSetSchedulerParameters>("virDomainSetSchedulerParameters", &args))
    }

    /// `virDomainSetSchedulerParametersFlags`.
    pub async fn set_scheduler_parameters_flags(
        &self,
        sched_info: &SchedulerInfo,
        flags: sys::virDomainModificationImpact,
    ) -> Result<(), Error> {
        let args = r::RemoteDomainSetSchedulerParametersFlagsArgs {
            dom: self.raw(),
            params: sched_info.to_params().into_remote(),
            flags,
        };
        aw!(self.conn.call_rw::<r::DomainSetSchedulerParametersFlags>("virDomainSetSchedulerParametersFlags", &args))
    }

    /// `virDomainScreenshot`: attaches `stream` to the screen's image; answers its MIME type.
    pub async fn screenshot(&self, stream: &Stream, screen: u32, flags: u32) -> Result<String, Error> {
        self.conn.check_rw("virDomainScreenshot")?;
        stream.check_connection(
            &self.conn,
            "virDomainScreenshot",
            format!("stream must match connection of domain '{}'", self.name),
        )?;
        let args = r::RemoteDomainScreenshotArgs { dom: self.raw(), screen, flags };
        let ret = aw!(stream.start::<r::DomainScreenshot>(&args))?;
        Ok(ret.mime.map(|m| m.to_string()).unwrap_or_default())
    }

    /// `virDomainSnapshotLookupByName`.
    pub async fn lookup_snapshot_by_name(dom: &Self, name: &str, flags: u32) -> Result<DomainSnapshot, Error> {
        let args = r::RemoteDomainSnapshotLookupByNameArgs { dom: dom.raw(), name: s(name), flags };
        Ok(DomainSnapshot::from_raw(&dom.conn, aw!(dom.conn.call::<r::DomainSnapshotLookupByName>(&args))?.snap))
    }

    /// `virDomainSnapshotCreateXML`.
    pub async fn create_snapshot_xml(&self, xml: &str, flags: u32) -> Result<DomainSnapshot, Error> {
        let args = r::RemoteDomainSnapshotCreateXmlArgs { dom: self.raw(), xml_desc: s(xml), flags };
        let ret = aw!(self.conn.call_rw::<r::DomainSnapshotCreateXml>("virDomainSnapshotCreateXML", &args))?;
        Ok(DomainSnapshot::from_raw(&self.conn, ret.snap))
    }

    /// `virDomainSnapshotCurrent`.
    pub async fn current_snapshot(&self, flags: u32) -> Result<DomainSnapshot, Error> {
        let args = r::RemoteDomainSnapshotCurrentArgs { dom: self.raw(), flags };
        Ok(DomainSnapshot::from_raw(&self.conn, aw!(self.conn.call::<r::DomainSnapshotCurrent>(&args))?.snap))
    }

    /// `virDomainSnapshotNum`.
    pub async fn num_snapshots(&self, flags: u32) -> Result<u32, Error> {
        let args = r::RemoteDomainSnapshotNumArgs { dom: self.raw(), flags };
        Ok(count(aw!(self.conn.call::<r::DomainSnapshotNum>(&args))?.num))
    }

    /// `virDomainListAllSnapshots`.
    pub async fn list_all_snapshots(&self, flags: u32) -> Result<Vec<DomainSnapshot>, Error> {
        let args = r::RemoteDomainListAllSnapshotsArgs { dom: self.raw(), need_results: 1, flags };
        let ret = aw!(self.conn.call::<r::DomainListAllSnapshots>(&args))?;
        Ok(ret.snapshots.into_iter().map(|x| DomainSnapshot::from_raw(&self.conn, x)).collect())
    }

    /// `virDomainManagedSave`.
    pub async fn managed_save(&self, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainManagedSaveArgs { dom: self.raw(), flags };
        aw!(self.conn.call_rw::<r::DomainManagedSave>("virDomainManagedSave", &args))?;
        self.set_id(-1);
        Ok(())
    }

    /// `virDomainMigrateSetMaxSpeed`.
    pub async fn migrate_set_max_speed(&self, bandwidth: u64, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainMigrateSetMaxSpeedArgs { dom: self.raw(), bandwidth, flags };
        aw!(self.conn.call_rw::<r::DomainMigrateSetMaxSpeed>("virDomainMigrateSetMaxSpeed", &args))
    }

    /// `virDomainMigrateGetMaxSpeed`.
    pub async fn migrate_max_speed(&self, flags: u32) -> Result<u64, Error> {
        let args = r::RemoteDomainMigrateGetMaxSpeedArgs { dom: self.raw(), flags };
        Ok(aw!(self.conn.call::<r::DomainMigrateGetMaxSpeed>(&args))?.bandwidth)
    }

    /// `virDomainMigrateSetCompressionCache`.
    pub async fn migrate_set_compression_cache(&self, size: u64, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainMigrateSetCompressionCacheArgs { dom: self.raw(), cache_size: size, flags };
        aw!(self.conn.call_rw::<r::DomainMigrateSetCompressionCache>("virDomainMigrateSetCompressionCache", &args))
    }

    /// `virDomainMigrateGetCompressionCache`.
    pub async fn migrate_compression_cache(&self, flags: u32) -> Result<u64, Error> {
        let args = r::RemoteDomainMigrateGetCompressionCacheArgs { dom: self.raw(), flags };
        Ok(aw!(self.conn.call::<r::DomainMigrateGetCompressionCache>(&args))?.cache_size)
    }

    /// `virDomainMigrateSetMaxDowntime`.
    pub async fn migrate_set_max_downtime(&self, downtime: u64, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainMigrateSetMaxDowntimeArgs { dom: self.raw(), downtime, flags };
        aw!(self.conn.call_rw::<r::DomainMigrateSetMaxDowntime>("virDomainMigrateSetMaxDowntime", &args))
    }
} }

obj_void! { Domain.dom;
    /// `virDomainShutdownFlags`.
    shutdown_flags(flags: sys::virDomainShutdownFlagValues => flags) = DomainShutdownFlags(RemoteDomainShutdownFlagsArgs) "virDomainShutdownFlags";
    /// `virDomainReboot`.
    reboot(flags: sys::virDomainRebootFlagValues => flags) = DomainReboot(RemoteDomainRebootArgs) "virDomainReboot";
    /// `virDomainSuspend`.
    suspend() = DomainSuspend(RemoteDomainSuspendArgs) "virDomainSuspend";
    /// `virDomainResume`.
    resume() = DomainResume(RemoteDomainResumeArgs) "virDomainResume";
    /// `virDomainPMWakeup`.
    pm_wakeup(flags: u32 => flags) = DomainPmWakeup(RemoteDomainPmWakeupArgs) "virDomainPMWakeup";
    /// `virDomainUndefineFlags`.
    undefine_flags(flags: sys::virDomainUndefineFlagsValues => flags) = DomainUndefineFlags(RemoteDomainUndefineFlagsArgs) "virDomainUndefineFlags";
    /// `virDomainManagedSaveRemove`.
    managed_save_remove(flags: u32 => flags) = DomainManagedSaveRemove(RemoteDomainManagedSaveRemoveArgs) "virDomainManagedSaveRemove";
}

obj_bool! { Domain.dom;
    /// `virDomainIsActive`.
    is_active() = DomainIsActive(RemoteDomainIsActiveArgs).active;
    /// `virDomainIsPersistent`.
    is_persistent() = DomainIsPersistent(RemoteDomainIsPersistentArgs).persistent;
    /// `virDomainIsUpdated`.
    is_updated() = DomainIsUpdated(RemoteDomainIsUpdatedArgs).updated;
    /// `virDomainHasManagedSaveImage`.
    has_managed_save(flags: u32 => flags) = DomainHasManagedSaveImage(RemoteDomainHasManagedSaveImageArgs).result;
}

twin! { Connect, Domain, DomainSnapshot, Stream; impl Domain {
    /// `virDomainReset`.
    pub async fn reset(&self) -> Result<(), Error> {
        let args = r::RemoteDomainResetArgs { dom: self.raw(), flags: 0 };
        aw!(self.conn.call_rw::<r::DomainReset>("virDomainReset", &args))
    }

    /// `virDomainShutdown`: the remote driver sends `DOMAIN_SHUTDOWN`.
    pub async fn shutdown(&self) -> Result<(), Error> {
        aw!(self
            .conn
            .call_rw::<r::DomainShutdown>("virDomainShutdown", &r::RemoteDomainShutdownArgs { dom: self.raw() }))
    }
} }
