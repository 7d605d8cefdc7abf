//! Conformance and integration tests for the libvirt RPC implementation, and the support code
//! they share.
//!
//! - [`libvirtd`]: starts a real `libvirtd` (session mode, test driver, loopback TCP and a UNIX
//!   socket) for tests that need the reference peer, and decides whether a test may skip when
//!   it is missing (never under `CI=true`).
//! - [`daemon_min`]: starts our own daemon-min binary the same way.
//! - [`pki`]: a throwaway CA, server and client certificates (rcgen), written in libvirt's
//!   TLS layouts, for the TLS tests.
//! - [`sshd`]: a real OpenSSH server on loopback for the ssh transport.
//! - [`wire`]: the protocol spoken by hand over any unix/tcp/ssh URI, for byte-exact frames.
//! - [`process`]: waiting on child processes (connected to a port, printed a line) instead of
//!   sleeping a guessed time.
//!
//! The recorded wire corpus that `tests/corpus.rs` replays lives in `corpus/` at the workspace
//! root (see `corpus/MANIFEST.md`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conformance;
pub mod daemon_min;
pub mod differential;
pub mod libvirtd;
pub mod pki;
pub mod process;
pub mod sshd;
pub mod wire;
