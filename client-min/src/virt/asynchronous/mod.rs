//! The async twin on smol: the same types and method names as the blocking API, with
//! `async fn`, for services that manage many hosts from one thread; events arrive as typed
//! streams ([`connect::Connect::domain_events`]).
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
//! Covered here: opening (the same driver table: the in-process `test:///` driver, then the
//! remote driver), the host queries, domain lookup, listing and lifecycle, domain events, and
//! network and storage pool lookup, listing and lifecycle.
//! The rest of the API is blocking-only for now (see `client-min/VIRT.md`).

pub mod connect;
pub mod domain;
mod objects;

/// `virNetwork…`, async.
pub mod network {
    pub use super::objects::Network;
}

/// `virStoragePool…`, async.
pub mod storage_pool {
    pub use super::objects::StoragePool;
}
