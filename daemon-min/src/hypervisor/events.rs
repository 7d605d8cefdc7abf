//! Lifecycle events the model emits, with libvirt's numbers. The RPC layer turns them into
//! `DOMAIN_EVENT_CALLBACK_LIFECYCLE` (318), `NETWORK_EVENT_LIFECYCLE` (315),
//! `STORAGE_POOL_EVENT_LIFECYCLE` (370), `STORAGE_POOL_EVENT_REFRESH` (373) and
//! `NODE_DEVICE_EVENT_LIFECYCLE` (374) messages.

use super::{DomainHandle, NetworkHandle, PoolHandle};

/// `virDomainEventType` and the detail numbers the test driver uses with each.
pub mod domain_event {
    /// `VIR_DOMAIN_EVENT_DEFINED`; details ADDED 0, UPDATED 1.
    pub const DEFINED: i32 = 0;
    /// `VIR_DOMAIN_EVENT_UNDEFINED`; detail REMOVED 0.
    pub const UNDEFINED: i32 = 1;
    /// `VIR_DOMAIN_EVENT_STARTED`; detail BOOTED 0.
    pub const STARTED: i32 = 2;
    /// `VIR_DOMAIN_EVENT_SUSPENDED`; detail PAUSED 0.
    pub const SUSPENDED: i32 = 3;
    /// `VIR_DOMAIN_EVENT_RESUMED`; detail UNPAUSED 0.
    pub const RESUMED: i32 = 4;
    /// `VIR_DOMAIN_EVENT_STOPPED`; details SHUTDOWN 0, DESTROYED 1.
    pub const STOPPED: i32 = 5;
    /// `VIR_DOMAIN_EVENT_DEFINED_ADDED`.
    pub const DEFINED_ADDED: i32 = 0;
    /// `VIR_DOMAIN_EVENT_DEFINED_UPDATED`.
    pub const DEFINED_UPDATED: i32 = 1;
    /// `VIR_DOMAIN_EVENT_UNDEFINED_REMOVED`.
    pub const UNDEFINED_REMOVED: i32 = 0;
    /// `VIR_DOMAIN_EVENT_STARTED_BOOTED`.
    pub const STARTED_BOOTED: i32 = 0;
    /// `VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT`.
    pub const STARTED_FROM_SNAPSHOT: i32 = 3;
    /// `VIR_DOMAIN_EVENT_SUSPENDED_PAUSED`.
    pub const SUSPENDED_PAUSED: i32 = 0;
    /// `VIR_DOMAIN_EVENT_RESUMED_UNPAUSED`.
    pub const RESUMED_UNPAUSED: i32 = 0;
    /// `VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN`.
    pub const STOPPED_SHUTDOWN: i32 = 0;
    /// `VIR_DOMAIN_EVENT_STOPPED_DESTROYED`.
    pub const STOPPED_DESTROYED: i32 = 1;
    /// `VIR_DOMAIN_EVENT_STOPPED_SAVED`.
    pub const STOPPED_SAVED: i32 = 4;
    /// `VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT`.
    pub const STOPPED_FROM_SNAPSHOT: i32 = 6;
}

/// `virNetworkEventLifecycleType` (detail is always 0).
pub mod network_event {
    /// `VIR_NETWORK_EVENT_DEFINED`.
    pub const DEFINED: i32 = 0;
    /// `VIR_NETWORK_EVENT_UNDEFINED`.
    pub const UNDEFINED: i32 = 1;
    /// `VIR_NETWORK_EVENT_STARTED`.
    pub const STARTED: i32 = 2;
    /// `VIR_NETWORK_EVENT_STOPPED`.
    pub const STOPPED: i32 = 3;
}

/// `virStoragePoolEventLifecycleType` (detail is always 0).
pub mod pool_event {
    /// `VIR_STORAGE_POOL_EVENT_DEFINED`.
    pub const DEFINED: i32 = 0;
    /// `VIR_STORAGE_POOL_EVENT_UNDEFINED`.
    pub const UNDEFINED: i32 = 1;
    /// `VIR_STORAGE_POOL_EVENT_STARTED`.
    pub const STARTED: i32 = 2;
    /// `VIR_STORAGE_POOL_EVENT_STOPPED`.
    pub const STOPPED: i32 = 3;
    /// `VIR_STORAGE_POOL_EVENT_CREATED` (pool build).
    pub const CREATED: i32 = 4;
    /// `VIR_STORAGE_POOL_EVENT_DELETED` (pool delete).
    pub const DELETED: i32 = 5;
}

/// One event, in the order the model raised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE` (0).
    DomainLifecycle {
        /// The domain as it is after the change (id −1 once stopped).
        dom: DomainHandle,
        /// A [`domain_event`] type.
        event: i32,
        /// Its detail.
        detail: i32,
    },
    /// `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE` (23).
    DomainMetadataChange {
        /// The domain.
        dom: DomainHandle,
        /// `virDomainMetadataType`.
        kind: i32,
        /// The namespace of an element's change.
        nsuri: Option<String>,
    },
    /// `VIR_NETWORK_EVENT_ID_LIFECYCLE` (0).
    NetworkLifecycle {
        /// The network.
        net: NetworkHandle,
        /// A [`network_event`] type.
        event: i32,
        /// Always 0.
        detail: i32,
    },
    /// `VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE` (0).
    PoolLifecycle {
        /// The pool.
        pool: PoolHandle,
        /// A [`pool_event`] type.
        event: i32,
        /// Always 0.
        detail: i32,
    },
    /// `VIR_STORAGE_POOL_EVENT_ID_REFRESH` (1).
    PoolRefresh {
        /// The pool.
        pool: PoolHandle,
    },
    /// `VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE` (0).
    NodeDeviceLifecycle {
        /// The device's name.
        name: String,
        /// `VIR_NODE_DEVICE_EVENT_CREATED` 0 or `_DELETED` 1.
        event: i32,
        /// Always 0.
        detail: i32,
    },
}
