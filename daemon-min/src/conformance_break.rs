//! Test-only: `daemon-min --conformance-break TIER` makes the daemon wrong in one way that only
//! the matching tier of the conformance suite (`spec_tests::conformance`) checks, to show that
//! the suite catches it:
//!
//! - `protocol`: a wrong error code: arguments that do not decode get `VIR_ERR_INTERNAL_ERROR`
//!   instead of libvirtd's `VIR_ERR_RPC` "Unable to decode message payload";
//! - `semantics`: a dropped event: domain lifecycle events (callback style) are not sent;
//! - `corpus`: a mis-padded string: `DOMAIN_GET_OS_TYPE`'s reply pads its string with `0xff`.
//!
//! The choice is process-wide and set once at start; with no flag nothing changes.

use std::sync::OnceLock;

use bytes::Bytes;
use proto_core::programs::remote::{REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, REMOTE_PROC_DOMAIN_GET_OS_TYPE};
use proto_core::{ErrorCode, Header, RemoteError};

use crate::dispatch::Outcome;

/// Which tier's behaviour is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// A wrong error code.
    Protocol,
    /// A dropped event.
    Semantics,
    /// A mis-padded string.
    Corpus,
}

impl Break {
    /// The tier named `name` (`protocol`, `semantics`, `corpus`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "protocol" => Some(Self::Protocol),
            "semantics" => Some(Self::Semantics),
            "corpus" => Some(Self::Corpus),
            _ => None,
        }
    }
}

static BROKEN: OnceLock<Break> = OnceLock::new();

/// Breaks `b` for the rest of the process (a second call is ignored).
pub fn set(b: Break) {
    let _ = BROKEN.set(b);
}

fn is(b: Break) -> bool {
    BROKEN.get() == Some(&b)
}

/// The outcome of a call as the broken daemon gives it.
#[must_use]
pub fn outcome(header: &Header, outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Error(e) if is(Break::Protocol) && e == RemoteError::undecodable_payload() => {
            Outcome::Error(RemoteError { code: ErrorCode::VIR_ERR_INTERNAL_ERROR, ..e })
        }
        Outcome::Reply(b)
            if is(Break::Corpus) && header.proc_ == REMOTE_PROC_DOMAIN_GET_OS_TYPE && b.len() % 4 == 0 =>
        {
            let mut v = b.to_vec();
            let len = u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as usize;
            let pad = proto_core::xdr::pad_len(len);
            let end = v.len();
            v[end - pad..].fill(0xff);
            Outcome::Reply(Bytes::from(v))
        }
        other => other,
    }
}

/// Whether the broken daemon drops this event.
#[must_use]
pub fn drops_event(proc_: i32) -> bool {
    is(Break::Semantics) && proc_ == REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE
}
