//! libvirt's client API in pure Rust, with the names, paths and signatures of the
//! [`virt`](https://crates.io/crates/virt) crate 0.5.0, on this workspace's protocol
//! implementation: no libvirt.so, no C toolchain.
//!
//! Blocking:
//!
//! ```no_run
//! use virt::connect::Connect;
//!
//! let conn = Connect::open(Some("test:///default"))?;
//! for dom in conn.list_all_domains(0)? {
//!     println!("{} {:?}", dom.name()?, dom.state()?.0);
//! }
//! conn.lookup_domain_by_name("test")?.suspend()?;
//! # Ok::<(), virt::error::Error>(())
//! ```
//!
//! Async, on smol ([`asynchronous`]: every method of the blocking API, same names, `async fn`
//! where it waits on the daemon; events at typed callbacks or as streams):
//!
//! ```no_run
//! use virt::asynchronous::connect::Connect;
//!
//! smol::block_on(async {
//!     let conn = Connect::open(Some("test+tcp://127.0.0.1/default")).await?;
//!     let events = conn.domain_events(None, virt::sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as i32).await?;
//!     conn.lookup_domain_by_name("test").await?.suspend().await?;
//!     println!("{:?}", events.recv().await?);
//!     Ok::<(), virt::error::Error>(())
//! })?;
//! # Ok::<(), virt::error::Error>(())
//! ```
//!
//! Code written for `virt` 0.5.0 moves over by renaming the dependency,
//! `virt = { package = "client-min", path = "…" }`; `client-min/VIRT.md` says what is the same,
//! what is not and why, and lists every public item of `virt` 0.5.0 this crate provides or
//! leaves out.
//!
//! [`connect::Connect::open`] runs libvirt's driver table: the in-process `test:///` driver first
//! (daemon-min's in-memory hypervisor, no daemon), the remote driver last (unix, tcp, tls, ssh
//! and ext transports); `LIBVIRT_DEFAULT_URI` applies when no URI is given.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
mod macros;
mod util;

pub mod asynchronous;
pub mod connect;
pub mod domain;
pub mod domain_event;
mod domain_graphics;
mod domain_jobs;
mod domain_migrate;
pub mod domain_snapshot;
mod domain_types;
pub mod enums;
pub mod enumutil;
pub mod error;
pub mod event;
pub mod interface;
pub mod network;
pub mod nodedev;
pub mod nwfilter;
pub mod object_event;
pub mod secret;
mod security;
pub mod storage_pool;
pub mod storage_vol;
pub mod stream;
pub mod sys;
pub mod typedparams;
