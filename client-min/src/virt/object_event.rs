//! libvirt's object event machinery on a connection (`src/conf/object_event.c`): the
//! registrations of every event family (domains, networks, storage pools, node devices,
//! secrets) and the dispatcher that hands each event to its callbacks; and the typed events and
//! `virConnect…EventRegisterAny` calls of the families other than domains
//! (`domain_event.rs` has the domains').
//!
//! One dispatcher per connection (a thread; a task on smol's executor for the async twin)
//! reads the connection's events and calls the matching callbacks in arrival order, outside
//! the registry's lock (a callback may register or deregister). When the connection closes it
//! drops the callbacks (and what they hold); the registrations stay until deregistered, as in
//! libvirt, so that deregistering still reaches the driver.

use std::sync::{Arc, Mutex};

use proto_core::events::{EventFamily, TypedEvent};
use proto_core::programs::remote as r;
use proto_core::{XdrDecode, XdrReader};

use crate::connect::Connect;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::macros::twin;
use crate::network::Network;
use crate::nodedev::NodeDevice;
use crate::secret::Secret;
use crate::storage_pool::StoragePool;
use crate::sys;

/// A registration's callback as the dispatcher calls it: the connection and the raw event
/// (each family's registration decodes it into its typed event).
pub(crate) type RawCallback<C> = Box<dyn FnMut(&C, &adapter_blocking::Event) + Send>;

/// What the daemon must be told when a registration ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A callback-style registration's id.
    Callback(i32),
    /// The last old-style domain registration of this event id.
    Old(i32),
}

/// One registration.
struct Entry<C> {
    family: EventFamily,
    id: i32,
    event_id: i32,
    /// Old-style domain registrations filter here (by UUID); callback-style ones in the daemon.
    old_filter: Option<Option<[u8; 16]>>,
    /// `None` once the connection closed.
    callback: Option<Arc<Mutex<RawCallback<C>>>>,
}

/// A connection's close callback (`virConnectCloseFunc`): the reason,
/// `VIR_CONNECT_CLOSE_REASON_…`.
pub(crate) type CloseCallback = Box<dyn FnMut(sys::virConnectCloseReason) + Send>;

/// A connection's event registrations, in registration order, and its close callback.
pub(crate) struct Registry<C> {
    entries: Vec<Entry<C>>,
    /// `virConnectRegisterCloseCallback`'s callback, called once when the connection closes.
    pub(crate) close_callback: Option<CloseCallback>,
    /// The next client-side id of an old-style registration.
    next_old: i32,
    /// The dispatcher runs (it stops when the connection closes).
    pub(crate) dispatching: bool,
    /// This side is closing the connection (`virConnectClose`): whatever the socket then
    /// reports, the close callback's reason is `VIR_CONNECT_CLOSE_REASON_CLIENT`.
    pub(crate) closing: bool,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self { entries: Vec::new(), close_callback: None, next_old: 0, dispatching: false, closing: false }
    }
}

impl<C> Registry<C> {
    /// Whether an old-style registration for `event_id` exists (the daemon knows it already).
    pub(crate) fn has_old(&self, event_id: i32) -> bool {
        self.entries.iter().any(|e| e.old_filter.is_some() && e.event_id == event_id)
    }

    /// Adds a callback-style registration the daemon numbered `id`.
    pub(crate) fn add(&mut self, family: EventFamily, id: i32, event_id: i32, callback: RawCallback<C>) {
        let callback = Some(Arc::new(Mutex::new(callback)));
        self.entries.push(Entry { family, id, event_id, old_filter: None, callback });
    }

    /// Adds an old-style domain registration; answers its client-side id.
    pub(crate) fn add_old(&mut self, event_id: i32, dom: Option<[u8; 16]>, callback: RawCallback<C>) -> i32 {
        let id = self.next_old;
        self.next_old += 1;
        let callback = Some(Arc::new(Mutex::new(callback)));
        self.entries.push(Entry { family: EventFamily::Domain, id, event_id, old_filter: Some(dom), callback });
        id
    }

    /// Removes registration `id` of `family`: `None` if there is none, else what the daemon
    /// must be told (`Some(Owner::Old(event_id))` only for the last old-style one of its id).
    pub(crate) fn remove(&mut self, family: EventFamily, id: i32) -> Option<Option<Owner>> {
        let at = self.entries.iter().position(|e| e.family == family && e.id == id)?;
        // The caller holds a handle of the connection: dropping the callback here cannot
        // drop the connection.
        let e = self.entries.remove(at);
        Some(match e.old_filter {
            None => Some(Owner::Callback(id)),
            Some(_) if self.has_old(e.event_id) => None,
            Some(_) => Some(Owner::Old(e.event_id)),
        })
    }

    /// The callbacks an event goes to.
    fn targets(&self, family: EventFamily, owner: Owner, uuid: Option<[u8; 16]>) -> Vec<Arc<Mutex<RawCallback<C>>>> {
        self.entries
            .iter()
            .filter(|e| match (owner, e.old_filter) {
                (Owner::Callback(c), None) => e.family == family && e.id == c,
                (Owner::Old(ev), Some(filter)) => e.event_id == ev && filter.is_none_or(|f| Some(f) == uuid),
                _ => false,
            })
            .filter_map(|e| e.callback.clone())
            .collect()
    }

    /// The connection closed: the callbacks go (handed back, to be dropped once the lock is
    /// released: one may hold the last handle of the connection); the registrations stay until
    /// deregistered.
    fn clear(&mut self) -> Vec<Arc<Mutex<RawCallback<C>>>> {
        self.dispatching = false;
        self.entries.iter_mut().filter_map(|e| e.callback.take()).collect()
    }
}

/// `virNetClient`'s close reason for how the connection ended: a keepalive timeout, end of
/// file (a hang-up, as a UNIX socket reports a peer's close), an error otherwise; the client's
/// own close.
pub(crate) fn close_reason(e: &proto_core::ConnectionError, unix: bool) -> sys::virConnectCloseReason {
    use proto_core::ConnectionError as C;
    match e {
        C::KeepaliveTimeout => sys::VIR_CONNECT_CLOSE_REASON_KEEPALIVE,
        C::LocallyClosed => sys::VIR_CONNECT_CLOSE_REASON_CLIENT,
        C::PeerClosed | C::TruncatedByPeer { .. } if unix => sys::VIR_CONNECT_CLOSE_REASON_EOF,
        _ => sys::VIR_CONNECT_CLOSE_REASON_ERROR,
    }
}

/// The dispatcher's end: the close callback (once, then it is gone, as in libvirt), then the
/// event callbacks go.
pub(crate) fn closed<C>(registry: &Mutex<Registry<C>>, reason: Option<sys::virConnectCloseReason>) {
    let lock = || registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (callback, closing) = {
        let mut reg = lock();
        (reg.close_callback.take(), reg.closing)
    };
    let reason = if closing { Some(sys::VIR_CONNECT_CLOSE_REASON_CLIENT) } else { reason };
    if let (Some(mut cb), Some(reason)) = (callback, reason) {
        cb(reason);
    }
    let callbacks = lock().clear();
    drop(callbacks);
}

/// Hands an event to its callbacks.
pub(crate) fn dispatch<C>(registry: &Mutex<Registry<C>>, ev: &adapter_blocking::Event, conn: &C) {
    if ev.prog != proto_core::program::REMOTE_PROGRAM {
        return;
    }
    let mut body = XdrReader::new(ev.body.clone());
    let (family, owner, uuid) = if let Some(event_id) = crate::domain_event::old_event_id(ev.proc_) {
        // Old-style domain events start with the domain.
        let Ok(dom) = r::RemoteNonnullDomain::decode(&mut body) else { return };
        (EventFamily::Domain, Owner::Old(event_id), Some(dom.uuid))
    } else {
        let Some(family) = EventFamily::of_event(ev.proc_) else { return };
        let Ok(id) = body.i32() else { return };
        (family, Owner::Callback(id), None)
    };
    let targets = registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).targets(family, owner, uuid);
    for cb in targets {
        (cb.lock().unwrap_or_else(std::sync::PoisonError::into_inner))(conn, ev);
    }
}

/// `virObjectEventStateCallbackID`'s error for an id nobody registered.
pub(crate) fn not_registered(callback_id: i32) -> Error {
    Error::new(ErrorNumber::InvalidArg, ErrorDomain::None, format!("event callback id {callback_id} not registered"))
}

/// An event of a network (`VIR_NETWORK_EVENT_ID_…`), with the network handle type `N`.
#[derive(Debug)]
pub enum NetworkEvent<N = Network> {
    /// `VIR_NETWORK_EVENT_ID_LIFECYCLE`: `event` is `VIR_NETWORK_EVENT_…` (defined, started, …).
    Lifecycle {
        /// The network.
        network: N,
        /// `virNetworkEventLifecycleType`.
        event: i32,
        /// Its detail.
        detail: i32,
    },
}

/// An event of a storage pool (`VIR_STORAGE_POOL_EVENT_ID_…`).
#[derive(Debug)]
pub enum StoragePoolEvent<P = StoragePool> {
    /// `VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE`.
    Lifecycle {
        /// The pool.
        pool: P,
        /// `virStoragePoolEventLifecycleType`.
        event: i32,
        /// Its detail.
        detail: i32,
    },
    /// `VIR_STORAGE_POOL_EVENT_ID_REFRESH`.
    Refresh {
        /// The pool.
        pool: P,
    },
}

/// An event of a node device (`VIR_NODE_DEVICE_EVENT_ID_…`).
#[derive(Debug)]
pub enum NodeDeviceEvent<D = NodeDevice> {
    /// `VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE`.
    Lifecycle {
        /// The device.
        device: D,
        /// `virNodeDeviceEventLifecycleType`.
        event: i32,
        /// Its detail.
        detail: i32,
    },
    /// `VIR_NODE_DEVICE_EVENT_ID_UPDATE`.
    Update {
        /// The device.
        device: D,
    },
}

/// An event of a secret (`VIR_SECRET_EVENT_ID_…`).
#[derive(Debug)]
pub enum SecretEvent<S = Secret> {
    /// `VIR_SECRET_EVENT_ID_LIFECYCLE`.
    Lifecycle {
        /// The secret.
        secret: S,
        /// `virSecretEventLifecycleType`.
        event: i32,
        /// Its detail.
        detail: i32,
    },
    /// `VIR_SECRET_EVENT_ID_VALUE_CHANGED`.
    ValueChanged {
        /// The secret.
        secret: S,
    },
}

fn typed(ev: &adapter_blocking::Event) -> Option<r::Event> {
    match TypedEvent::decode(ev.prog, ev.proc_, ev.body.clone())?.ok()? {
        TypedEvent::Remote(e) => Some(e),
        _ => None,
    }
}

/// The typed network event of a message.
pub(crate) fn network_event<N>(
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullNetwork) -> N,
) -> Option<NetworkEvent<N>> {
    match typed(ev)? {
        r::Event::NetworkEventLifecycle(m) => {
            Some(NetworkEvent::Lifecycle { network: mk(m.net), event: m.event, detail: m.detail })
        }
        _ => None,
    }
}

/// The typed storage pool event of a message.
pub(crate) fn storage_pool_event<P>(
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullStoragePool) -> P,
) -> Option<StoragePoolEvent<P>> {
    match typed(ev)? {
        r::Event::StoragePoolEventLifecycle(m) => {
            Some(StoragePoolEvent::Lifecycle { pool: mk(m.pool), event: m.event, detail: m.detail })
        }
        r::Event::StoragePoolEventRefresh(m) => Some(StoragePoolEvent::Refresh { pool: mk(m.pool) }),
        _ => None,
    }
}

/// The typed node device event of a message.
pub(crate) fn node_device_event<D>(
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullNodeDevice) -> D,
) -> Option<NodeDeviceEvent<D>> {
    match typed(ev)? {
        r::Event::NodeDeviceEventLifecycle(m) => {
            Some(NodeDeviceEvent::Lifecycle { device: mk(m.dev), event: m.event, detail: m.detail })
        }
        r::Event::NodeDeviceEventUpdate(m) => Some(NodeDeviceEvent::Update { device: mk(m.dev) }),
        _ => None,
    }
}

/// The typed secret event of a message.
pub(crate) fn secret_event<S>(
    ev: &adapter_blocking::Event,
    mk: impl Fn(r::RemoteNonnullSecret) -> S,
) -> Option<SecretEvent<S>> {
    match typed(ev)? {
        r::Event::SecretEventLifecycle(m) => {
            Some(SecretEvent::Lifecycle { secret: mk(m.secret), event: m.event, detail: m.detail })
        }
        r::Event::SecretEventValueChanged(m) => Some(SecretEvent::ValueChanged { secret: mk(m.secret) }),
        _ => None,
    }
}

/// The register/deregister pair of a family other than domains (callback-style only: libvirt
/// added them with callbacks).
macro_rules! family_events {
    ($($(#[$doc:meta])* $register:ident / $deregister:ident ($obj:ident: $ty:ident => $field:ident, $event:ident = $decode:ident, $family:ident): $proc:ident($args:ident), $deproc:ident($deargs:ident) $deapi:literal;)*) => {
        twin! { Connect, Network, NetworkEvent, StoragePool, StoragePoolEvent, NodeDevice, NodeDeviceEvent, Secret, SecretEvent; impl Connect {
            $(
                $(#[$doc])*
                pub async fn $register(
                    &self,
                    $obj: Option<&$ty>,
                    event_id: i32,
                    callback: impl FnMut($event) + Send + 'static,
                ) -> Result<i32, Error> {
                    let mut callback = callback;
                    let raw: RawCallback<Connect> = Box::new(move |conn: &Connect, ev: &adapter_blocking::Event| {
                        if let Some(e) = $decode(ev, |o| $ty::from_raw(conn, o)) {
                            callback(e);
                        }
                    });
                    self.start_event_dispatch();
                    let args = r::$args { event_id, $field: $obj.map($ty::raw) };
                    let id = aw!(self.call::<r::$proc>(&args))?.callback_id;
                    self.event_registry().add(EventFamily::$family, id, event_id, raw);
                    Ok(id)
                }

                #[doc = concat!("`", $deapi, "`: ends registration `callback_id`.")]
                pub async fn $deregister(&self, callback_id: i32) -> Result<(), Error> {
                    let removed = self.event_registry().remove(EventFamily::$family, callback_id);
                    removed.ok_or_else(|| not_registered(callback_id))?;
                    aw!(self.call::<r::$deproc>(&r::$deargs { callback_id }))
                }
            )*
        } }
    };
}

family_events! {
    /// `virConnectNetworkEventRegisterAny`: `callback` receives the events `event_id`
    /// (`VIR_NETWORK_EVENT_ID_…`) of `net`, or of every network; answers the callback id.
    network_event_register_any / network_event_deregister_any (net: Network => net, NetworkEvent = network_event, Network):
        ConnectNetworkEventRegisterAny(RemoteConnectNetworkEventRegisterAnyArgs),
        ConnectNetworkEventDeregisterAny(RemoteConnectNetworkEventDeregisterAnyArgs) "virConnectNetworkEventDeregisterAny";
    /// `virConnectStoragePoolEventRegisterAny` (`VIR_STORAGE_POOL_EVENT_ID_…`).
    storage_pool_event_register_any / storage_pool_event_deregister_any (pool: StoragePool => pool, StoragePoolEvent = storage_pool_event, StoragePool):
        ConnectStoragePoolEventRegisterAny(RemoteConnectStoragePoolEventRegisterAnyArgs),
        ConnectStoragePoolEventDeregisterAny(RemoteConnectStoragePoolEventDeregisterAnyArgs) "virConnectStoragePoolEventDeregisterAny";
    /// `virConnectNodeDeviceEventRegisterAny` (`VIR_NODE_DEVICE_EVENT_ID_…`).
    node_device_event_register_any / node_device_event_deregister_any (dev: NodeDevice => dev, NodeDeviceEvent = node_device_event, NodeDevice):
        ConnectNodeDeviceEventRegisterAny(RemoteConnectNodeDeviceEventRegisterAnyArgs),
        ConnectNodeDeviceEventDeregisterAny(RemoteConnectNodeDeviceEventDeregisterAnyArgs) "virConnectNodeDeviceEventDeregisterAny";
    /// `virConnectSecretEventRegisterAny` (`VIR_SECRET_EVENT_ID_…`).
    secret_event_register_any / secret_event_deregister_any (secret: Secret => secret, SecretEvent = secret_event, Secret):
        ConnectSecretEventRegisterAny(RemoteConnectSecretEventRegisterAnyArgs),
        ConnectSecretEventDeregisterAny(RemoteConnectSecretEventDeregisterAnyArgs) "virConnectSecretEventDeregisterAny";
}

twin! { Connect; impl Connect {
    /// `virConnectRegisterCloseCallback`: `callback` is called once, with the
    /// `VIR_CONNECT_CLOSE_REASON_…`, when the connection closes (the daemon is told when it
    /// supports close callbacks, as the remote driver does).
    pub async fn register_close_callback(
        &self,
        callback: impl FnMut(sys::virConnectCloseReason) + Send + 'static,
    ) -> Result<(), Error> {
        if self.event_registry().close_callback.is_some() {
            return Err(Error::new(
                ErrorNumber::OperationInvalid,
                ErrorDomain::Remote,
                "Requested operation is not valid: A close callback is already registered",
            ));
        }
        self.start_event_dispatch();
        if self.client().features().close_callback {
            aw!(self.call::<r::ConnectRegisterCloseCallback>(&()))?;
        }
        self.event_registry().close_callback = Some(Box::new(callback));
        Ok(())
    }

    /// `virConnectUnregisterCloseCallback`.
    pub async fn unregister_close_callback(&self) -> Result<(), Error> {
        if self.event_registry().close_callback.is_none() {
            return Err(Error::new(
                ErrorNumber::OperationInvalid,
                ErrorDomain::Remote,
                "Requested operation is not valid: A different callback was requested",
            ));
        }
        if self.client().features().close_callback {
            aw!(self.call::<r::ConnectUnregisterCloseCallback>(&()))?;
        }
        self.event_registry().close_callback = None;
        Ok(())
    }
} }
