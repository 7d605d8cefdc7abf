//! `virConnectDomainEventRegisterAny` / `…DeregisterAny`: domain events delivered to typed
//! callbacks, for the blocking and the async connection alike (the registry and the
//! dispatcher are `object_event.rs`'s).
//!
//! As libvirt's remote driver does, a registration is callback-style
//! (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`, the daemon filters by domain and numbers the
//! callback) when the daemon supports it, else old-style (`CONNECT_DOMAIN_EVENT_REGISTER_ANY`,
//! one per event id; the client numbers the callbacks and filters by domain).

use std::sync::Arc;

use proto_core::events::{EventFamily, TypedEvent};
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote as r;
use proto_core::{XdrDecode, XdrReader};

use crate::connect::Connect;
use crate::domain::Domain;
use crate::enumutil::Enum;
use crate::error::Error;
use crate::macros::twin;
use crate::object_event::{not_registered, Owner, RawCallback};
use crate::sys;

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

const KINDS: [(u32, DomainEventKind); 9] = [
    (sys::VIR_DOMAIN_EVENT_DEFINED, DomainEventKind::Defined),
    (sys::VIR_DOMAIN_EVENT_UNDEFINED, DomainEventKind::Undefined),
    (sys::VIR_DOMAIN_EVENT_STARTED, DomainEventKind::Started),
    (sys::VIR_DOMAIN_EVENT_SUSPENDED, DomainEventKind::Suspended),
    (sys::VIR_DOMAIN_EVENT_RESUMED, DomainEventKind::Resumed),
    (sys::VIR_DOMAIN_EVENT_STOPPED, DomainEventKind::Stopped),
    (sys::VIR_DOMAIN_EVENT_SHUTDOWN, DomainEventKind::Shutdown),
    (sys::VIR_DOMAIN_EVENT_PMSUSPENDED, DomainEventKind::PMSuspended),
    (sys::VIR_DOMAIN_EVENT_CRASHED, DomainEventKind::Crashed),
];

impl crate::enumutil::RawEnum<u32> for DomainEventKind {
    fn from_raw(raw: u32) -> Option<Self> {
        KINDS.iter().find(|(v, _)| *v == raw).map(|(_, k)| *k)
    }

    fn to_raw(self) -> u32 {
        KINDS.iter().find(|(_, k)| *k == self).map_or(u32::MAX, |(v, _)| *v)
    }
}

/// A domain event, as the callback of `VIR_DOMAIN_EVENT_ID_…` receives it; `D` is the domain
/// handle type (blocking [`Domain`], or the async one).
#[derive(Debug)]
pub enum DomainEvent<D = Domain> {
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`: `event` is `VIR_DOMAIN_EVENT_…` (defined, started,
    /// suspended, …), `detail` its `VIR_DOMAIN_EVENT_…_…` detail.
    Lifecycle {
        /// The domain.
        domain: D,
        /// `virDomainEventType`.
        event: Enum<DomainEventKind, u32>,
        /// The detail, whose meaning depends on `event`.
        detail: i32,
    },
    /// `VIR_DOMAIN_EVENT_ID_RTC_CHANGE`.
    RtcChange {
        /// The domain.
        domain: D,
        /// The new offset from UTC, in seconds.
        utcoffset: i64,
    },
    /// `VIR_DOMAIN_EVENT_ID_WATCHDOG`.
    Watchdog {
        /// The domain.
        domain: D,
        /// `VIR_DOMAIN_EVENT_WATCHDOG_…`.
        action: i32,
    },
    /// `VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE`.
    BalloonChange {
        /// The domain.
        domain: D,
        /// The new balloon size in KiB.
        actual: u64,
    },
    /// `VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED`.
    DeviceRemoved {
        /// The domain.
        domain: D,
        /// The device's alias.
        dev_alias: String,
    },
    /// `VIR_DOMAIN_EVENT_ID_DEVICE_ADDED`.
    DeviceAdded {
        /// The domain.
        domain: D,
        /// The device's alias.
        dev_alias: String,
    },
    /// `VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED`.
    DeviceRemovalFailed {
        /// The domain.
        domain: D,
        /// The device's alias.
        dev_alias: String,
    },
    /// `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`.
    MetadataChange {
        /// The domain.
        domain: D,
        /// `VIR_DOMAIN_METADATA_…`.
        kind: i32,
        /// The namespace of an element's metadata.
        nsuri: Option<String>,
    },
    /// Any other event: its domain, and its message typed as the protocol defines it.
    Other {
        /// The domain.
        domain: D,
        /// The message.
        event: Box<TypedEvent>,
    },
}

/// A registered callback (`virConnectDomainEventGenericCallback` and its typed siblings).
pub type DomainEventCallback<D = Domain> = Box<dyn FnMut(DomainEvent<D>) + Send>;

/// The old-style event procedures (servers without callback-style events) and their event ids.
const OLD_EVENTS: [(i32, i32); 16] = [
    (r::REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE, 0),
    (r::REMOTE_PROC_DOMAIN_EVENT_REBOOT, 1),
    (r::REMOTE_PROC_DOMAIN_EVENT_RTC_CHANGE, 2),
    (r::REMOTE_PROC_DOMAIN_EVENT_WATCHDOG, 3),
    (r::REMOTE_PROC_DOMAIN_EVENT_IO_ERROR, 4),
    (r::REMOTE_PROC_DOMAIN_EVENT_GRAPHICS, 5),
    (r::REMOTE_PROC_DOMAIN_EVENT_IO_ERROR_REASON, 6),
    (r::REMOTE_PROC_DOMAIN_EVENT_CONTROL_ERROR, 7),
    (r::REMOTE_PROC_DOMAIN_EVENT_BLOCK_JOB, 8),
    (r::REMOTE_PROC_DOMAIN_EVENT_DISK_CHANGE, 9),
    (r::REMOTE_PROC_DOMAIN_EVENT_TRAY_CHANGE, 10),
    (r::REMOTE_PROC_DOMAIN_EVENT_PMWAKEUP, 11),
    (r::REMOTE_PROC_DOMAIN_EVENT_PMSUSPEND, 12),
    (r::REMOTE_PROC_DOMAIN_EVENT_BALLOON_CHANGE, 13),
    (r::REMOTE_PROC_DOMAIN_EVENT_PMSUSPEND_DISK, 14),
    (r::REMOTE_PROC_DOMAIN_EVENT_DEVICE_REMOVED, 15),
];

/// The typed domain event of an event message (`None` when it is no domain event).
pub(crate) fn decode<D>(
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullDomain) -> D,
) -> Option<DomainEvent<D>> {
    use r::Event as E;
    if ev.prog != REMOTE_PROGRAM {
        return None;
    }
    let old = old_event_id(ev.proc_).is_some();
    let typed = TypedEvent::decode(ev.prog, ev.proc_, ev.body.clone())?.ok()?;
    let lifecycle = |domain, event: i32, detail| DomainEvent::Lifecycle {
        domain,
        event: crate::enumutil::Enum::from_raw(u32::try_from(event).unwrap_or(u32::MAX)),
        detail,
    };
    let out = match typed {
        TypedEvent::Remote(E::DomainEventCallbackLifecycle(m)) => lifecycle(mk(m.msg.dom), m.msg.event, m.msg.detail),
        TypedEvent::Remote(E::DomainEventLifecycle(m)) => lifecycle(mk(m.dom), m.event, m.detail),
        TypedEvent::Remote(E::DomainEventCallbackRtcChange(m)) => {
            DomainEvent::RtcChange { domain: mk(m.msg.dom), utcoffset: m.msg.offset }
        }
        TypedEvent::Remote(E::DomainEventCallbackWatchdog(m)) => {
            DomainEvent::Watchdog { domain: mk(m.msg.dom), action: m.msg.action }
        }
        TypedEvent::Remote(E::DomainEventCallbackBalloonChange(m)) => {
            DomainEvent::BalloonChange { domain: mk(m.msg.dom), actual: m.msg.actual }
        }
        TypedEvent::Remote(E::DomainEventCallbackDeviceRemoved(m)) => {
            DomainEvent::DeviceRemoved { domain: mk(m.msg.dom), dev_alias: m.msg.dev_alias.to_string() }
        }
        TypedEvent::Remote(E::DomainEventCallbackDeviceAdded(m)) => {
            DomainEvent::DeviceAdded { domain: mk(m.dom), dev_alias: m.dev_alias.to_string() }
        }
        TypedEvent::Remote(E::DomainEventCallbackDeviceRemovalFailed(m)) => {
            DomainEvent::DeviceRemovalFailed { domain: mk(m.dom), dev_alias: m.dev_alias.to_string() }
        }
        TypedEvent::Remote(E::DomainEventCallbackMetadataChange(m)) => {
            DomainEvent::MetadataChange { domain: mk(m.dom), kind: m.type_, nsuri: m.nsuri.map(|u| u.to_string()) }
        }
        other => {
            // Every domain event message starts with its domain (after the callback id).
            let mut rd = XdrReader::new(ev.body.clone());
            if !old {
                rd.i32().ok()?;
            }
            let dom = r::RemoteNonnullDomain::decode(&mut rd).ok()?;
            DomainEvent::Other { domain: mk(dom), event: Box::new(other) }
        }
    };
    Some(out)
}

/// The event id of an old-style event procedure.
pub(crate) fn old_event_id(proc_: i32) -> Option<i32> {
    OLD_EVENTS.iter().find(|(p, _)| *p == proc_).map(|(_, id)| *id)
}

twin! { Connect, Domain, DomainEvent; impl Connect {
    /// `virConnectDomainEventRegisterAny`: `callback` receives the events `event_id`
    /// (`VIR_DOMAIN_EVENT_ID_…`) of `dom`, or of every domain; answers the callback id.
    pub async fn domain_event_register_any(
        &self,
        dom: Option<&Domain>,
        event_id: i32,
        callback: impl FnMut(DomainEvent) + Send + 'static,
    ) -> Result<i32, Error> {
        let mut callback = callback;
        let raw: RawCallback<Connect> = Box::new(move |conn: &Connect, ev: &adapter_blocking::Event| {
            if let Some(e) = decode(ev, |d| Domain::from_raw(conn, d)) {
                callback(e);
            }
        });
        self.start_event_dispatch();
        if self.client().features().event_callbacks {
            let args = r::RemoteConnectDomainEventCallbackRegisterAnyArgs { event_id, dom: dom.map(Domain::raw) };
            let id = aw!(self.call::<r::ConnectDomainEventCallbackRegisterAny>(&args))?.callback_id;
            self.event_registry().add(EventFamily::Domain, id, event_id, raw);
            return Ok(id);
        }
        let known = self.event_registry().has_old(event_id);
        if !known {
            let args = r::RemoteConnectDomainEventRegisterAnyArgs { event_id };
            aw!(self.call::<r::ConnectDomainEventRegisterAny>(&args))?;
        }
        Ok(self.event_registry().add_old(event_id, dom.map(|d| d.uuid), raw))
    }

    /// `virConnectDomainEventDeregisterAny`: ends registration `callback_id`.
    pub async fn domain_event_deregister_any(&self, callback_id: i32) -> Result<(), Error> {
        let removed = self.event_registry().remove(EventFamily::Domain, callback_id);
        match removed.ok_or_else(|| not_registered(callback_id))? {
            None => Ok(()),
            Some(Owner::Callback(id)) => {
                let args = r::RemoteConnectDomainEventCallbackDeregisterAnyArgs { callback_id: id };
                aw!(self.call::<r::ConnectDomainEventCallbackDeregisterAny>(&args))
            }
            Some(Owner::Old(event_id)) => {
                let args = r::RemoteConnectDomainEventDeregisterAnyArgs { event_id };
                aw!(self.call::<r::ConnectDomainEventDeregisterAny>(&args))
            }
        }
    }
} }

/// A stream of domain events (see [`Connect::domain_events`]): a registration whose callback
/// queues the events (up to 1024 unread; later ones are counted in [`DomainEvents::missed`]).
/// Dropping it deregisters.
pub struct DomainEvents {
    conn: Connect,
    callback_id: i32,
    rx: std::sync::mpsc::Receiver<DomainEvent>,
    missed: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for DomainEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainEvents").field("callback_id", &self.callback_id).finish_non_exhaustive()
    }
}

/// How many unread events a [`DomainEvents`] keeps.
pub(crate) const QUEUED_EVENTS: usize = 1024;

impl Connect {
    /// [`Connect::domain_event_register_any`] as a stream: the events `event_id` of `dom`, or
    /// of every domain.
    pub fn domain_events(&self, dom: Option<&Domain>, event_id: i32) -> Result<DomainEvents, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_EVENTS);
        let missed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = missed.clone();
        let callback_id = self.domain_event_register_any(dom, event_id, move |ev| {
            if tx.try_send(ev).is_err() {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })?;
        Ok(DomainEvents { conn: self.clone(), callback_id, rx, missed })
    }
}

impl DomainEvents {
    /// The registration's callback id.
    pub fn callback_id(&self) -> i32 {
        self.callback_id
    }

    /// The next event; an error once the connection closed.
    pub fn recv(&self) -> Result<DomainEvent, Error> {
        self.rx.recv().map_err(|_| Error::rpc("internal error: client socket is closed"))
    }

    /// The next event within `timeout`: `None` when none came.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<Result<DomainEvent, Error>> {
        match self.rx.recv_timeout(timeout) {
            Ok(ev) => Some(Ok(ev)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Some(Err(Error::rpc("internal error: client socket is closed")))
            }
        }
    }

    /// Events dropped because the queue was full.
    pub fn missed(&self) -> u64 {
        self.missed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for DomainEvents {
    fn drop(&mut self) {
        if self.conn.is_alive().unwrap_or(false) {
            let _ = self.conn.domain_event_deregister_any(self.callback_id);
        }
    }
}
