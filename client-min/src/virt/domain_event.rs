//! `virConnectDomainEventRegisterAny` / `…DeregisterAny`: domain events delivered to typed
//! callbacks, for the blocking and the async connection alike.
//!
//! As libvirt's remote driver does, a registration is callback-style
//! (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`, the daemon filters by domain and numbers the
//! callback) when the daemon supports it, else old-style (`CONNECT_DOMAIN_EVENT_REGISTER_ANY`,
//! one per event id; the client numbers the callbacks and filters by domain). One dispatcher
//! per connection (a thread, or a task on the async side) reads the connection's events and
//! calls the matching callbacks in arrival order; when the connection closes it drops them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use proto_core::events::TypedEvent;
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote as r;
use proto_core::{XdrDecode, XdrReader};

use crate::connect::Connect;
use crate::domain::Domain;
use crate::enumutil::Enum;
use crate::error::Error;
use crate::macros::twin;
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

/// An event message: whose it is (the callback id, or the old-style event id) and the typed
/// event (`None` when it is no domain event).
pub(crate) fn decode<D>(
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullDomain) -> D,
) -> Option<(Owner, DomainEvent<D>)> {
    use r::Event as E;
    if ev.prog != REMOTE_PROGRAM {
        return None;
    }
    let old = OLD_EVENTS.iter().find(|(p, _)| *p == ev.proc_).map(|(_, id)| *id);
    if old.is_none()
        && proto_core::events::EventFamily::of_event(ev.proc_) != Some(proto_core::events::EventFamily::Domain)
    {
        return None;
    }
    let typed = TypedEvent::decode(ev.prog, ev.proc_, ev.body.clone())?.ok()?;
    let owner = match (old, typed.callback_id()) {
        (Some(id), _) => Owner::Old(id),
        (None, Some(id)) => Owner::Callback(id),
        (None, None) => return None,
    };
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
            if matches!(owner, Owner::Callback(_)) {
                rd.i32().ok()?;
            }
            let dom = r::RemoteNonnullDomain::decode(&mut rd).ok()?;
            DomainEvent::Other { domain: mk(dom), event: Box::new(other) }
        }
    };
    Some((owner, out))
}

/// Whose an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A callback-style registration's id.
    Callback(i32),
    /// The event id of old-style registrations.
    Old(i32),
}

/// One registration.
struct Entry<D> {
    event_id: i32,
    /// Old-style registrations filter here (by UUID); callback-style ones in the daemon.
    old_filter: Option<Option<[u8; 16]>>,
    /// `None` once the connection closed (the registration stays until deregistered, as in
    /// libvirt, so that deregistering it still reaches the remote driver).
    callback: Option<Arc<Mutex<DomainEventCallback<D>>>>,
}

/// A connection's domain event callbacks, by callback id.
pub(crate) struct Registry<D> {
    entries: BTreeMap<i32, Entry<D>>,
    /// The next client-side id of an old-style registration.
    next_old: i32,
    /// The dispatcher runs (it stops when the connection closes).
    pub(crate) dispatching: bool,
}

impl<D> Default for Registry<D> {
    fn default() -> Self {
        Self { entries: BTreeMap::new(), next_old: 0, dispatching: false }
    }
}

impl<D> Registry<D> {
    /// Whether an old-style registration for `event_id` exists (the daemon knows it already).
    pub(crate) fn has_old(&self, event_id: i32) -> bool {
        self.entries.values().any(|e| e.old_filter.is_some() && e.event_id == event_id)
    }

    /// Adds a callback-style registration the daemon numbered `id`.
    pub(crate) fn add(&mut self, id: i32, event_id: i32, callback: DomainEventCallback<D>) {
        self.entries.insert(id, Entry { event_id, old_filter: None, callback: Some(Arc::new(Mutex::new(callback))) });
    }

    /// Adds an old-style registration; answers its client-side id.
    pub(crate) fn add_old(&mut self, event_id: i32, dom: Option<[u8; 16]>, callback: DomainEventCallback<D>) -> i32 {
        let id = self.next_old;
        self.next_old += 1;
        self.entries
            .insert(id, Entry { event_id, old_filter: Some(dom), callback: Some(Arc::new(Mutex::new(callback))) });
        id
    }

    /// Removes registration `id`: `None` if there is none, else what the daemon must be told
    /// (`Some(Owner::Old(event_id))` only for the last old-style one of its event id).
    pub(crate) fn remove(&mut self, id: i32) -> Option<Option<Owner>> {
        let e = self.entries.remove(&id)?;
        Some(match e.old_filter {
            None => Some(Owner::Callback(id)),
            Some(_) if self.has_old(e.event_id) => None,
            Some(_) => Some(Owner::Old(e.event_id)),
        })
    }

    /// The callbacks an event goes to.
    fn targets(&self, owner: Owner, uuid: Option<[u8; 16]>) -> Vec<Arc<Mutex<DomainEventCallback<D>>>> {
        self.entries
            .iter()
            .filter(|(id, e)| match (owner, e.old_filter) {
                (Owner::Callback(c), None) => **id == c,
                (Owner::Old(ev), Some(filter)) => e.event_id == ev && filter.is_none_or(|f| Some(f) == uuid),
                _ => false,
            })
            .filter_map(|(_, e)| e.callback.clone())
            .collect()
    }

    /// The connection closed: the callbacks go (and with them what they hold); the
    /// registrations stay until deregistered.
    pub(crate) fn clear(&mut self) {
        for e in self.entries.values_mut() {
            e.callback = None;
        }
        self.dispatching = false;
    }
}

/// Hands an event to its callbacks (outside the registry's lock, so that a callback may
/// register or deregister).
pub(crate) fn dispatch<D: Clone>(
    registry: &Mutex<Registry<D>>,
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullDomain) -> D,
    uuid_of: impl Fn(&D) -> [u8; 16],
) {
    let Some((owner, event)) = decode(ev, mk) else { return };
    let uuid = match &event {
        DomainEvent::Lifecycle { domain, .. } | DomainEvent::Other { domain, .. } => Some(uuid_of(domain)),
        _ => None,
    };
    let targets = registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).targets(owner, uuid);
    let mut event = Some(event);
    let n = targets.len();
    for (i, cb) in targets.into_iter().enumerate() {
        let ev = if i + 1 == n { event.take() } else { event.as_ref().map(clone_event) };
        if let Some(ev) = ev {
            (cb.lock().unwrap_or_else(std::sync::PoisonError::into_inner))(ev);
        }
    }
}

fn clone_event<D: Clone>(e: &DomainEvent<D>) -> DomainEvent<D> {
    match e {
        DomainEvent::Lifecycle { domain, event, detail } => {
            DomainEvent::Lifecycle { domain: domain.clone(), event: *event, detail: *detail }
        }
        DomainEvent::RtcChange { domain, utcoffset } => {
            DomainEvent::RtcChange { domain: domain.clone(), utcoffset: *utcoffset }
        }
        DomainEvent::Watchdog { domain, action } => DomainEvent::Watchdog { domain: domain.clone(), action: *action },
        DomainEvent::BalloonChange { domain, actual } => {
            DomainEvent::BalloonChange { domain: domain.clone(), actual: *actual }
        }
        DomainEvent::DeviceRemoved { domain, dev_alias } => {
            DomainEvent::DeviceRemoved { domain: domain.clone(), dev_alias: dev_alias.clone() }
        }
        DomainEvent::DeviceAdded { domain, dev_alias } => {
            DomainEvent::DeviceAdded { domain: domain.clone(), dev_alias: dev_alias.clone() }
        }
        DomainEvent::DeviceRemovalFailed { domain, dev_alias } => {
            DomainEvent::DeviceRemovalFailed { domain: domain.clone(), dev_alias: dev_alias.clone() }
        }
        DomainEvent::MetadataChange { domain, kind, nsuri } => {
            DomainEvent::MetadataChange { domain: domain.clone(), kind: *kind, nsuri: nsuri.clone() }
        }
        DomainEvent::Other { domain, event } => DomainEvent::Other { domain: domain.clone(), event: event.clone() },
    }
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
        let callback: Box<dyn FnMut(DomainEvent) + Send> = Box::new(callback);
        self.start_event_dispatch();
        if self.client().features().event_callbacks {
            let args = r::RemoteConnectDomainEventCallbackRegisterAnyArgs { event_id, dom: dom.map(Domain::raw) };
            let id = aw!(self.call::<r::ConnectDomainEventCallbackRegisterAny>(&args))?.callback_id;
            self.event_registry().add(id, event_id, callback);
            return Ok(id);
        }
        let known = self.event_registry().has_old(event_id);
        if !known {
            let args = r::RemoteConnectDomainEventRegisterAnyArgs { event_id };
            aw!(self.call::<r::ConnectDomainEventRegisterAny>(&args))?;
        }
        Ok(self.event_registry().add_old(event_id, dom.map(|d| d.uuid), callback))
    }

    /// `virConnectDomainEventDeregisterAny`: ends registration `callback_id`.
    pub async fn domain_event_deregister_any(&self, callback_id: i32) -> Result<(), Error> {
        let removed = self.event_registry().remove(callback_id);
        match removed {
            None => Err(Error::new(
                crate::error::ErrorNumber::InvalidArg,
                crate::error::ErrorDomain::None,
                format!("event callback id {callback_id} not registered"),
            )),
            Some(None) => Ok(()),
            Some(Some(Owner::Callback(id))) => {
                let args = r::RemoteConnectDomainEventCallbackDeregisterAnyArgs { callback_id: id };
                aw!(self.call::<r::ConnectDomainEventCallbackDeregisterAny>(&args))
            }
            Some(Some(Owner::Old(event_id))) => {
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
