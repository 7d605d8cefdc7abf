//! libvirt's client API in pure Rust, with the names, paths and signatures of the
//! [`virt`](https://crates.io/crates/virt) crate 0.5.0, on this workspace's protocol
//! implementation: no libvirt.so, no C toolchain.
//!
//! ```no_run
//! use virt::connect::Connect;
//! use virt::domain::Domain;
//!
//! let conn = Connect::open(Some("test:///default"))?;
//! for dom in conn.list_all_domains(0)? {
//!     println!("{} {:?}", dom.name()?, dom.state()?.0);
//! }
//! let web: Domain = conn.lookup_domain_by_name("test")?;
//! web.suspend()?;
//! # Ok::<(), virt::error::Error>(())
//! ```
//!
//! Code written for `virt` 0.5.0 moves over by renaming the dependency:
//! `virt = { package = "client-min", path = "…" }` (see `client-min/VIRT.md` for what differs).
//!
//! `Connect::open` runs libvirt's driver table: the in-process `test:///` driver first
//! (daemon-min's in-memory hypervisor, no daemon), the remote driver last (unix, tcp, tls, ssh,
//! ext transports).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
mod macros;
mod util;

pub mod asynchronous;
pub mod connect;
pub mod domain;
mod domain_jobs;
pub mod domain_snapshot;
mod domain_types;
pub mod enums;
pub mod enumutil;
pub mod error;
pub mod interface;
pub mod network;
pub mod nodedev;
pub mod nwfilter;
pub mod secret;
pub mod storage_pool;
pub mod storage_vol;
pub mod stream;
pub mod sys;
pub mod typedparams;
