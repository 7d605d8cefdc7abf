//! daemon-min: a minimal libvirtd in Rust.
//!
//! This library holds the parts of the daemon that are not RPC plumbing. For now that is
//! [`hypervisor`]: an in-memory rebuild of libvirt 9.0's test driver (`test:///default` and
//! `test:///PATH`), with the same objects, XML documents, errors and events, plus an optional
//! durable state directory.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod config;
pub mod conformance_break;
pub mod dispatch;
pub mod embedded;
pub mod hypervisor;
pub mod serve;
pub mod tls_acl;
