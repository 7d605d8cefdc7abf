//! `virDomain…`, async.

use proto_core::events::TypedEvent;
use proto_core::programs::remote as r;
use proto_core::programs::remote::RemoteNonnullDomain;
use uuid::Uuid;

use super::connect::Connect;
use crate::domain::{DomainInfo, DomainStateEnum, DomainStateReason, DomainStateReasonEnum};
use crate::enumutil::Enum;
use crate::error::Error;
use crate::sys;
use crate::util::{count, uuid_string};

/// A domain event.
#[derive(Debug)]
pub enum DomainEvent {
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`: `event` is `VIR_DOMAIN_EVENT_…` (defined, started,
    /// suspended, …), `detail` its `VIR_DOMAIN_EVENT_…_…` detail.
    Lifecycle {
        /// The domain.
        domain: Domain,
        /// `virDomainEventType`, as a state-like enum value.
        event: Enum<DomainEventKind, u32>,
        /// The detail, whose meaning depends on `event`.
        detail: i32,
    },
    /// Any other event, typed as the protocol defines it.
    Other(Box<TypedEvent>),
}

/// `virDomainEventType`.
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum DomainEventKind {
    /// `VIR_DOMAIN_EVENT_DEFINED`.
    Defined,
    /// `VIR_DOMAIN_EVENT_UNDEFINED`.
    Undefined,
    /// `VIR_DOMAIN_EVENT_STARTED`.
    Started,
    /// `VIR_DOMAIN_EVENT_SUSPENDED`.
    Suspended,
    /// `VIR_DOMAIN_EVENT_RESUMED`.
    Resumed,
    /// `VIR_DOMAIN_EVENT_STOPPED`.
    Stopped,
    /// `VIR_DOMAIN_EVENT_SHUTDOWN`.
    Shutdown,
    /// `VIR_DOMAIN_EVENT_PMSUSPENDED`.
    PMSuspended,
    /// `VIR_DOMAIN_EVENT_CRASHED`.
    Crashed,
}

impl crate::enumutil::RawEnum<u32> for DomainEventKind {
    fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            sys::VIR_DOMAIN_EVENT_DEFINED => Self::Defined,
            sys::VIR_DOMAIN_EVENT_UNDEFINED => Self::Undefined,
            sys::VIR_DOMAIN_EVENT_STARTED => Self::Started,
            sys::VIR_DOMAIN_EVENT_SUSPENDED => Self::Suspended,
            sys::VIR_DOMAIN_EVENT_RESUMED => Self::Resumed,
            sys::VIR_DOMAIN_EVENT_STOPPED => Self::Stopped,
            sys::VIR_DOMAIN_EVENT_SHUTDOWN => Self::Shutdown,
            sys::VIR_DOMAIN_EVENT_PMSUSPENDED => Self::PMSuspended,
            sys::VIR_DOMAIN_EVENT_CRASHED => Self::Crashed,
            _ => return None,
        })
    }

    fn to_raw(self) -> u32 {
        match self {
            Self::Defined => sys::VIR_DOMAIN_EVENT_DEFINED,
            Self::Undefined => sys::VIR_DOMAIN_EVENT_UNDEFINED,
            Self::Started => sys::VIR_DOMAIN_EVENT_STARTED,
            Self::Suspended => sys::VIR_DOMAIN_EVENT_SUSPENDED,
            Self::Resumed => sys::VIR_DOMAIN_EVENT_RESUMED,
            Self::Stopped => sys::VIR_DOMAIN_EVENT_STOPPED,
            Self::Shutdown => sys::VIR_DOMAIN_EVENT_SHUTDOWN,
            Self::PMSuspended => sys::VIR_DOMAIN_EVENT_PMSUSPENDED,
            Self::Crashed => sys::VIR_DOMAIN_EVENT_CRASHED,
        }
    }
}

/// An async domain handle (`virDomainPtr`).
#[derive(Clone)]
pub struct Domain {
    conn: Connect,
    raw: RemoteNonnullDomain,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain").field("name", &self.raw.name).field("id", &self.raw.id).finish_non_exhaustive()
    }
}

/// `(dom)` calls that change state and return nothing.
macro_rules! void_calls {
    ($($(#[$doc:meta])* $fn:ident = $proc:ident($args:ident) $api:literal;)*) => {
        impl Domain {
            $(
                $(#[$doc])*
                pub async fn $fn(&self) -> Result<(), Error> {
                    self.conn.call_rw::<r::$proc>($api, &r::$args { dom: self.raw() }).await
                }
            )*
        }
    };
}

impl Domain {
    pub(crate) fn from_raw(conn: &Connect, raw: RemoteNonnullDomain) -> Self {
        Self { conn: conn.clone(), raw }
    }

    pub(crate) fn raw(&self) -> RemoteNonnullDomain {
        self.raw.clone()
    }

    /// `virDomainGetConnect`.
    pub fn connect(&self) -> Result<Connect, Error> {
        Ok(self.conn.clone())
    }

    /// `virDomainGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }

    /// `virDomainGetUUID`.
    pub fn uuid(&self) -> Result<Uuid, Error> {
        Ok(Uuid::from_bytes(self.raw.uuid))
    }

    /// `virDomainGetUUIDString`.
    pub fn uuid_string(&self) -> Result<String, Error> {
        Ok(uuid_string(&self.raw.uuid))
    }

    /// `virDomainGetID` as of the lookup (`None` when inactive).
    pub fn id(&self) -> Option<u32> {
        u32::try_from(self.raw.id).ok()
    }

    /// `virDomainGetState`.
    pub async fn state(&self) -> Result<(DomainStateEnum, DomainStateReasonEnum), Error> {
        let ret =
            self.conn.call::<r::DomainGetState>(&r::RemoteDomainGetStateArgs { dom: self.raw(), flags: 0 }).await?;
        let state = DomainStateEnum::from_raw(u32::try_from(ret.state).unwrap_or(u32::MAX));
        let reason = match state {
            Enum::Known(k) => Enum::Known(DomainStateReason::of(k, ret.reason)),
            Enum::Unknown(_) => Enum::Unknown(ret.reason),
        };
        Ok((state, reason))
    }

    /// `virDomainGetInfo`.
    pub async fn info(&self) -> Result<DomainInfo, Error> {
        let ret = self.conn.call::<r::DomainGetInfo>(&r::RemoteDomainGetInfoArgs { dom: self.raw() }).await?;
        Ok(DomainInfo {
            state: DomainStateEnum::from_raw(u32::from(ret.state)),
            max_mem: ret.max_mem,
            memory: ret.memory,
            nr_virt_cpu: u32::from(ret.nr_virt_cpu),
            cpu_time: ret.cpu_time,
        })
    }

    /// `virDomainGetXMLDesc`.
    pub async fn xml_desc(&self, flags: sys::virDomainXMLFlags) -> Result<String, Error> {
        let args = r::RemoteDomainGetXmlDescArgs { dom: self.raw(), flags };
        Ok(self.conn.call::<r::DomainGetXmlDesc>(&args).await?.xml.to_string())
    }

    /// `virDomainCreateWithFlags`.
    pub async fn create_with_flags(&self, flags: sys::virDomainCreateFlags) -> Result<(), Error> {
        let args = r::RemoteDomainCreateWithFlagsArgs { dom: self.raw(), flags };
        self.conn.call_rw::<r::DomainCreateWithFlags>("virDomainCreateWithFlags", &args).await.map(|_| ())
    }

    /// `virDomainCreate` (`DOMAIN_CREATE`, then the lookup by UUID the remote driver makes).
    pub async fn create(&self) -> Result<(), Error> {
        self.conn.call_rw::<r::DomainCreate>("virDomainCreate", &r::RemoteDomainCreateArgs { dom: self.raw() }).await?;
        self.conn.call::<r::DomainLookupByUuid>(&r::RemoteDomainLookupByUuidArgs { uuid: self.raw.uuid }).await?;
        Ok(())
    }

    /// `virDomainIsActive`.
    pub async fn is_active(&self) -> Result<bool, Error> {
        Ok(self.conn.call::<r::DomainIsActive>(&r::RemoteDomainIsActiveArgs { dom: self.raw() }).await?.active != 0)
    }

    /// `virDomainIsPersistent`.
    pub async fn is_persistent(&self) -> Result<bool, Error> {
        let args = r::RemoteDomainIsPersistentArgs { dom: self.raw() };
        Ok(self.conn.call::<r::DomainIsPersistent>(&args).await?.persistent != 0)
    }

    /// `virDomainGetMaxVcpus`.
    pub async fn max_vcpus(&self) -> Result<u64, Error> {
        let ret = self.conn.call::<r::DomainGetMaxVcpus>(&r::RemoteDomainGetMaxVcpusArgs { dom: self.raw() }).await?;
        Ok(u64::from(count(ret.num)))
    }
}

void_calls! {
    /// `virDomainDestroy`.
    destroy = DomainDestroy(RemoteDomainDestroyArgs) "virDomainDestroy";
    /// `virDomainShutdown`.
    shutdown = DomainShutdown(RemoteDomainShutdownArgs) "virDomainShutdown";
    /// `virDomainSuspend`.
    suspend = DomainSuspend(RemoteDomainSuspendArgs) "virDomainSuspend";
    /// `virDomainResume`.
    resume = DomainResume(RemoteDomainResumeArgs) "virDomainResume";
    /// `virDomainUndefine`.
    undefine = DomainUndefine(RemoteDomainUndefineArgs) "virDomainUndefine";
}

/// `(dom, flags)` and `(dom, value)` calls that change state and return nothing.
macro_rules! void_arg_calls {
    ($($(#[$doc:meta])* $fn:ident($a:ident: $aty:ty => $af:ident) = $proc:ident($args:ident) $api:literal;)*) => {
        impl Domain {
            $(
                $(#[$doc])*
                pub async fn $fn(&self, $a: $aty) -> Result<(), Error> {
                    self.conn.call_rw::<r::$proc>($api, &r::$args { dom: self.raw(), $af: $a.into() }).await
                }
            )*
        }
    };
}

/// Queries of one field.
macro_rules! query_calls {
    ($($(#[$doc:meta])* $fn:ident($($a:ident: $aty:ty => $af:ident)?) -> $ret:ty = $proc:ident($args:ident).$field:ident $conv:expr;)*) => {
        impl Domain {
            $(
                $(#[$doc])*
                pub async fn $fn(&self $(, $a: $aty)?) -> Result<$ret, Error> {
                    let ret = self.conn.call::<r::$proc>(&r::$args { dom: self.raw() $(, $af: $a)? }).await?;
                    Ok($conv(ret.$field))
                }
            )*
        }
    };
}

void_arg_calls! {
    /// `virDomainReboot`.
    reboot(flags: u32 => flags) = DomainReboot(RemoteDomainRebootArgs) "virDomainReboot";
    /// `virDomainShutdownFlags`.
    shutdown_flags(flags: u32 => flags) = DomainShutdownFlags(RemoteDomainShutdownFlagsArgs) "virDomainShutdownFlags";
    /// `virDomainDestroyFlags`.
    destroy_flags(flags: u32 => flags) = DomainDestroyFlags(RemoteDomainDestroyFlagsArgs) "virDomainDestroyFlags";
    /// `virDomainUndefineFlags`.
    undefine_flags(flags: u32 => flags) = DomainUndefineFlags(RemoteDomainUndefineFlagsArgs) "virDomainUndefineFlags";
    /// `virDomainPMWakeup`.
    pm_wakeup(flags: u32 => flags) = DomainPmWakeup(RemoteDomainPmWakeupArgs) "virDomainPMWakeup";
    /// `virDomainManagedSave`.
    managed_save(flags: u32 => flags) = DomainManagedSave(RemoteDomainManagedSaveArgs) "virDomainManagedSave";
    /// `virDomainManagedSaveRemove`.
    managed_save_remove(flags: u32 => flags) = DomainManagedSaveRemove(RemoteDomainManagedSaveRemoveArgs) "virDomainManagedSaveRemove";
    /// `virDomainSetAutostart`.
    set_autostart(autostart: bool => autostart) = DomainSetAutostart(RemoteDomainSetAutostartArgs) "virDomainSetAutostart";
    /// `virDomainSetMemory`.
    set_memory(memory: u64 => memory) = DomainSetMemory(RemoteDomainSetMemoryArgs) "virDomainSetMemory";
    /// `virDomainSetMaxMemory`.
    set_max_memory(memory: u64 => memory) = DomainSetMaxMemory(RemoteDomainSetMaxMemoryArgs) "virDomainSetMaxMemory";
    /// `virDomainSetVcpus`.
    set_vcpus(vcpus: u32 => nvcpus) = DomainSetVcpus(RemoteDomainSetVcpusArgs) "virDomainSetVcpus";
}

impl Domain {
    /// `virDomainReset`.
    pub async fn reset(&self) -> Result<(), Error> {
        self.conn
            .call_rw::<r::DomainReset>("virDomainReset", &r::RemoteDomainResetArgs { dom: self.raw(), flags: 0 })
            .await
    }
}

query_calls! {
    /// `virDomainGetOSType`.
    os_type() -> String = DomainGetOsType(RemoteDomainGetOsTypeArgs).type_ |t: r::RemoteNonnullString| t.to_string();
    /// `virDomainGetHostname`.
    hostname(flags: u32 => flags) -> String = DomainGetHostname(RemoteDomainGetHostnameArgs).hostname |t: r::RemoteNonnullString| t.to_string();
    /// `virDomainGetMaxMemory`.
    max_memory() -> u64 = DomainGetMaxMemory(RemoteDomainGetMaxMemoryArgs).memory |m: u64| m;
    /// `virDomainGetAutostart`.
    autostart() -> bool = DomainGetAutostart(RemoteDomainGetAutostartArgs).autostart |a: i32| a != 0;
    /// `virDomainHasManagedSaveImage`.
    has_managed_save(flags: u32 => flags) -> bool = DomainHasManagedSaveImage(RemoteDomainHasManagedSaveImageArgs).result |a: i32| a != 0;
    /// `virDomainIsUpdated`.
    is_updated() -> bool = DomainIsUpdated(RemoteDomainIsUpdatedArgs).updated |a: i32| a != 0;
    /// `virDomainGetVcpusFlags`.
    vcpus_flags(flags: u32 => flags) -> u32 = DomainGetVcpusFlags(RemoteDomainGetVcpusFlagsArgs).num count;
    /// `virDomainSnapshotNum`.
    num_snapshots(flags: u32 => flags) -> u32 = DomainSnapshotNum(RemoteDomainSnapshotNumArgs).num count;
}
