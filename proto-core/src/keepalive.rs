//! Keepalive timing shared by both connection types (`src/rpc/virkeepalive.c`;
//! `protocol-facts.md` §4).
//!
//! Each side has an `interval` and a `count`. Any incoming message resets the countdown to
//! `count` and restarts the interval. When an interval passes with no input, the side sends a
//! PING and decrements the countdown; when it passes with the countdown already at 0, the peer
//! is declared dead. So a silent peer is dropped `interval × (count + 1)` after its last message.

use std::time::{Duration, Instant};

/// Keepalive settings: libvirt's `keepalive_interval` and `keepalive_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Idle time before a PING (libvirt's `keepalive_interval`, seconds there).
    pub interval: Duration,
    /// PINGs without an answer before the peer is declared dead (`keepalive_count`).
    pub count: u32,
}

impl KeepaliveConfig {
    /// The daemon's defaults: interval 5 s, count 5.
    pub const DAEMON_DEFAULT: Self = Self { interval: Duration::from_secs(5), count: 5 };
    /// virsh's defaults: interval 5 s, count 6.
    pub const VIRSH_DEFAULT: Self = Self { interval: Duration::from_secs(5), count: 6 };

    /// How long after the last received message a silent peer is declared dead.
    #[must_use]
    pub fn dead_after(&self) -> Duration {
        self.interval.saturating_mul(self.count.saturating_add(1))
    }
}

/// What the keepalive timer asks for when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveAction {
    /// Nothing is due yet.
    Nothing,
    /// Send a PING now.
    SendPing,
    /// The peer is dead.
    Dead,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Keepalive {
    config: Option<KeepaliveConfig>,
    countdown: u32,
    deadline: Option<Instant>,
}

impl Keepalive {
    /// Starts (or restarts, or with `None` stops) the timer.
    pub(crate) fn set(&mut self, now: Instant, config: Option<KeepaliveConfig>) {
        self.config = config;
        self.deadline = None;
        self.on_input(now);
    }

    pub(crate) fn is_active(&self) -> bool {
        self.config.is_some()
    }

    /// A message arrived from the peer.
    pub(crate) fn on_input(&mut self, now: Instant) {
        if let Some(c) = self.config {
            self.countdown = c.count;
            self.deadline = now.checked_add(c.interval);
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Called on every timeout check; does nothing before the deadline.
    pub(crate) fn on_timeout(&mut self, now: Instant) -> KeepaliveAction {
        let (Some(c), Some(d)) = (self.config, self.deadline) else {
            return KeepaliveAction::Nothing;
        };
        if now < d {
            return KeepaliveAction::Nothing;
        }
        if self.countdown == 0 {
            self.deadline = None;
            return KeepaliveAction::Dead;
        }
        self.countdown -= 1;
        self.deadline = now.checked_add(c.interval);
        KeepaliveAction::SendPing
    }
}
