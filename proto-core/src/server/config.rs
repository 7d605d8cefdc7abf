//! What a server connection serves and its limits: [`ServerConfig`] and [`ServedProgram`].

use crate::keepalive::KeepaliveConfig;
use crate::program::{
    LXC_PROGRAM, LXC_PROTOCOL_VERSION, QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION,
};

/// A program the server serves, and which of its procedure numbers exist.
#[derive(Debug, Clone, Copy)]
pub struct ServedProgram {
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Whether a procedure number can be called (events and unknown numbers cannot). Calls of
    /// other numbers get libvirtd's "unknown procedure: N" error from the core.
    pub is_procedure: fn(i32) -> bool,
}

fn any_positive(p: i32) -> bool {
    p > 0
}

impl ServedProgram {
    /// A program whose every positive procedure number is passed to the daemon.
    #[must_use]
    pub const fn new(prog: u32, vers: u32) -> Self {
        Self { prog, vers, is_procedure: any_positive }
    }
}

/// Settings of a [`ServerConnection`](super::ServerConnection).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Programs served on this connection.
    pub programs: Vec<ServedProgram>,
    /// libvirt's `max_client_requests`: calls (and incoming stream packets) read but not yet
    /// answered. At the bound the connection stops reading.
    pub max_client_requests: usize,
    /// libvirt's `keepalive_interval` / `keepalive_count`, used once the client asks for
    /// keepalive; `None` is libvirt's `keepalive_interval = -1` (PINGs are still answered).
    pub keepalive: Option<KeepaliveConfig>,
    /// Audit the client: report every deviation from the protocol it makes as a
    /// [`ServerEvent::Deviation`](super::ServerEvent::Deviation) (see [`crate::audit`]). Off by
    /// default; off costs nothing.
    pub audit: bool,
}

impl Default for ServerConfig {
    /// libvirtd's defaults: REMOTE, QEMU and LXC programs, `max_client_requests = 5`,
    /// keepalive 5 s × 5.
    fn default() -> Self {
        Self {
            programs: vec![
                ServedProgram::new(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION),
                ServedProgram::new(QEMU_PROGRAM, QEMU_PROTOCOL_VERSION),
                ServedProgram::new(LXC_PROGRAM, LXC_PROTOCOL_VERSION),
            ],
            max_client_requests: 5,
            keepalive: Some(KeepaliveConfig::DAEMON_DEFAULT),
            audit: false,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::max_client_requests`] (at least 1).
    #[must_use]
    pub fn with_max_client_requests(mut self, n: usize) -> Self {
        self.max_client_requests = n.max(1);
        self
    }

    /// Sets [`ServerConfig::keepalive`].
    #[must_use]
    pub fn with_keepalive(mut self, k: Option<KeepaliveConfig>) -> Self {
        self.keepalive = k;
        self
    }

    /// Sets [`ServerConfig::audit`].
    #[must_use]
    pub fn with_audit(mut self, audit: bool) -> Self {
        self.audit = audit;
        self
    }

    /// Sets [`ServerConfig::programs`].
    #[must_use]
    pub fn with_programs(mut self, programs: Vec<ServedProgram>) -> Self {
        self.programs = programs;
        self
    }
}
