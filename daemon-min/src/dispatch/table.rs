//! The dispatch table: one [`Entry`] per served procedure, gathered from the family files and
//! laid out along the generated procedure table (`proto_core::programs::remote::PROCEDURES`),
//! so that a call finds its handler by the procedure's place in that table. A procedure with no
//! entry answers libvirt's "not supported" error.

use std::sync::LazyLock;

use bytes::Bytes;
use proto_core::error::{ErrorDomain, RemoteError};
use proto_core::program::Procedure;
use proto_core::programs::remote as r;
use proto_core::xdr::{self, XdrEncode};

use super::{internal, Daemon, Outcome, Res, Session};
use crate::hypervisor::SharedHypervisor;

/// What a handler sees of a call: the daemon and the caller's session.
pub(super) struct Call<'a> {
    pub(super) daemon: &'a Daemon,
    pub(super) session: &'a mut Session,
}

impl Call<'_> {
    /// The hypervisor the connection opened.
    pub(super) fn hv(&self) -> Option<SharedHypervisor> {
        self.session.opened.as_ref().map(|o| o.hv.clone())
    }
}

/// A handler: the call and its undecoded arguments in, what to answer out.
pub(super) type Run = fn(&mut Call<'_>, Bytes) -> Outcome;

/// One served procedure.
pub(super) struct Entry {
    /// `REMOTE_PROC_…`.
    pub(super) number: i32,
    /// Its handler.
    pub(super) run: Run,
}

/// The families, in libvirt's driver-table order.
pub(super) const FAMILIES: &[(&str, &[Entry])] = &[
    ("connect", super::connect::ENTRIES),
    ("host", super::host::ENTRIES),
    ("host_cpu", super::host_cpu::ENTRIES),
    ("domain", super::domain::ENTRIES),
    ("domain_vcpu", super::domain_vcpu::ENTRIES),
    ("domain_guest", super::domain_guest::ENTRIES),
    ("domain_tuning", super::domain_tuning::ENTRIES),
    ("domain_save", super::domain_save::ENTRIES),
    ("snapshot", super::snapshot::ENTRIES),
    ("checkpoint", super::checkpoint::ENTRIES),
    ("network", super::network::ENTRIES),
    ("storage", super::storage::ENTRIES),
    ("interface", super::interface::ENTRIES),
    ("nodedev", super::nodedev::ENTRIES),
];

/// Handlers by position in `PROCEDURES`.
static TABLE: LazyLock<Vec<Option<Run>>> = LazyLock::new(|| {
    let mut t: Vec<Option<Run>> = vec![None; r::PROCEDURES.len()];
    for (_, entries) in FAMILIES {
        for e in *entries {
            if let Ok(i) = r::PROCEDURES.binary_search_by_key(&e.number, |p| p.number) {
                t[i] = Some(e.run);
            }
        }
    }
    t
});

/// The handler of a procedure, if it is served.
pub(super) fn lookup(number: i32) -> Option<Run> {
    let i = r::PROCEDURES.binary_search_by_key(&number, |p| p.number).ok()?;
    TABLE[i]
}

/// The names of the served procedures (`REMOTE_PROC_…`), in procedure-number order.
#[must_use]
pub fn served() -> Vec<&'static str> {
    r::PROCEDURES.iter().filter(|p| lookup(p.number).is_some()).map(|p| p.name).collect()
}

/// libvirtd's refusal of a call before `CONNECT_OPEN`: the hypervisor driver's procedures say
/// "hypervisor connection not open", those of the secondary drivers (networks, interfaces,
/// storage, node devices, network filters, secrets) "connection not open". Measured for every
/// procedure in tests/access.rs.
pub(super) fn not_open(procedure: &str) -> Outcome {
    const SECONDARY: [&str; 8] = [
        "NETWORK",
        "INTERFACE",
        "STORAGE",
        "NODE_DEVICE",
        "NODE_NUM_OF_DEVICES",
        "NODE_LIST_DEVICES",
        "NWFILTER",
        "SECRET",
    ];
    // Domain calls, and detaching or resetting a host device, are the hypervisor driver's.
    const HYPERVISOR_NODE_DEVICE: [&str; 4] = ["_DETACH_FLAGS", "_DETTACH", "_RESET", "_RE_ATTACH"];
    let hypervisor = procedure.starts_with("REMOTE_PROC_DOMAIN_")
        || (procedure.starts_with("REMOTE_PROC_NODE_DEVICE_")
            && HYPERVISOR_NODE_DEVICE.iter().any(|s| procedure.ends_with(s)));
    let what = if !hypervisor && SECONDARY.iter().any(|f| procedure.contains(f)) {
        "connection not open"
    } else {
        "hypervisor connection not open"
    };
    Outcome::Error(internal(ErrorDomain::VIR_FROM_RPC, what))
}

pub(super) fn typed<P: Procedure>(args: Bytes, f: impl FnOnce(P::Args) -> Res<P::Ret>) -> Outcome {
    let Ok(a) = xdr::from_bytes::<P::Args>(args) else {
        return Outcome::Error(RemoteError::undecodable_payload());
    };
    match f(a) {
        Ok(ret) => encode(&ret),
        Err(e) => Outcome::Error(e.into()),
    }
}

pub(super) fn encode<T: XdrEncode + ?Sized>(v: &T) -> Outcome {
    match xdr::to_bytes(v) {
        Ok(b) => Outcome::Reply(b),
        Err(_) => Outcome::Error(RemoteError::rpc("Unable to encode message payload")),
    }
}

/// An [`Entry`] running a closure on the connection's hypervisor model under its lock:
/// `on!(Proc, |m, a| value)` for a call that cannot fail, `on!(Proc, try |m, a| result)`.
macro_rules! on {
    ($p:ident, |$m:ident, $a:ident| $body:expr) => {
        $crate::dispatch::table::Entry {
            number: <$p as proto_core::Procedure>::NUMBER,
            run: |c, args| {
                let Some(hv) = c.hv() else {
                    return $crate::dispatch::table::not_open(<$p as proto_core::Procedure>::NAME);
                };
                $crate::dispatch::table::typed::<$p>(args, |$a| {
                    hv.call(|$m| -> $crate::hypervisor::Result<_> { Ok($body) })
                })
            },
        }
    };
    ($p:ident, try |$m:ident, $a:ident| $body:expr) => {
        $crate::dispatch::table::Entry {
            number: <$p as proto_core::Procedure>::NUMBER,
            run: |c, args| {
                let Some(hv) = c.hv() else {
                    return $crate::dispatch::table::not_open(<$p as proto_core::Procedure>::NAME);
                };
                $crate::dispatch::table::typed::<$p>(args, |$a| hv.call(|$m| $body))
            },
        }
    };
}
pub(super) use on;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_callable_procedure_served_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (family, entries) in FAMILIES {
            for e in *entries {
                let info = r::procedure_by_number(e.number);
                assert!(info.is_some_and(|i| !i.is_event), "{family}: {} is no callable procedure", e.number);
                assert!(seen.insert(e.number), "{family}: {} served twice", e.number);
            }
        }
        assert_eq!(served().len(), seen.len());
    }
}
