//! The async twin on smol: the same types and method names as the blocking API, with
//! `async fn` where a call waits on the daemon, for services that manage many hosts from one
//! thread; events arrive as typed streams ([`connect::Connect::domain_events`]).
//!
//! ```no_run
//! use virt::asynchronous::connect::Connect;
//!
//! smol::block_on(async {
//!     let conn = Connect::open(Some("test:///default")).await?;
//!     let events = conn.domain_events(None, virt::sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as i32).await?;
//!     let dom = conn.lookup_domain_by_name("test").await?;
//!     dom.suspend().await?;
//!     let ev = events.recv().await?; // DomainEvent::Lifecycle { domain, event: Suspended, .. }
//!     println!("{ev:?}");
//!     Ok::<(), virt::error::Error>(())
//! })?;
//! # Ok::<(), virt::error::Error>(())
//! ```
//!
//! Every method of the blocking API is here: each is written once, in the blocking module,
//! and emitted for both (`twin!` in `macros.rs`); only opening, closing and the streams'
//! I/O are written for each side. `client-min/tests/virt_async_coverage.rs` checks that the
//! two method sets are the same.

pub mod connect;
pub mod domain;
mod objects;
pub mod stream;

/// `virDomainSnapshot…`, async.
pub mod domain_snapshot {
    pub use super::objects::DomainSnapshot;
}

/// `virInterface…`, async.
pub mod interface {
    pub use super::objects::Interface;
}

/// `virNetwork…`, async.
pub mod network {
    pub use super::objects::Network;

    /// An event of this object type, with the async handle.
    pub type NetworkEvent = crate::object_event::NetworkEvent<Network>;
}

/// `virNodeDevice…`, async.
pub mod nodedev {
    pub use super::objects::NodeDevice;

    /// An event of this object type, with the async handle.
    pub type NodeDeviceEvent = crate::object_event::NodeDeviceEvent<NodeDevice>;
}

/// `virNWFilter…`, async.
pub mod nwfilter {
    pub use super::objects::NWFilter;
}

/// `virSecret…`, async.
pub mod secret {
    pub use super::objects::Secret;

    /// An event of this object type, with the async handle.
    pub type SecretEvent = crate::object_event::SecretEvent<Secret>;
}

/// `virStoragePool…`, async.
pub mod storage_pool {
    pub use super::objects::StoragePool;

    /// An event of this object type, with the async handle.
    pub type StoragePoolEvent = crate::object_event::StoragePoolEvent<StoragePool>;
}

/// `virStorageVol…`, async.
pub mod storage_vol {
    pub use super::objects::StorageVol;
}

/// The async types under the blocking names, for the `twin!` bodies.
pub(crate) mod handles {
    pub(crate) use super::connect::Connect;
    pub(crate) use super::domain::{Domain, DomainEvent, DomainStatsRecord};
    pub(crate) use super::network::NetworkEvent;
    pub(crate) use super::nodedev::NodeDeviceEvent;
    pub(crate) use super::objects::{
        DomainSnapshot, Interface, NWFilter, Network, NodeDevice, Secret, StoragePool, StorageVol,
    };
    pub(crate) use super::secret::SecretEvent;
    pub(crate) use super::storage_pool::StoragePoolEvent;
    pub(crate) use super::stream::Stream;
}
