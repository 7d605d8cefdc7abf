//! The hypervisor shared by all connections of the daemon.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proto_core::error::{ErrorCode, ErrorDomain};

use super::{Event, Hypervisor, Result, StateDir};

/// Identifies an event subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

type Subscriber = Arc<dyn Fn(&Event) + Send + Sync>;

struct Inner {
    model: Mutex<Hypervisor>,
    /// The state directory. Its lock is held while a call's changes are written and its events
    /// delivered: taken before the model lock is released, so files change and subscribers
    /// hear in the order of the calls, while the model itself is already free again.
    after: Mutex<Option<StateDir>>,
    subscribers: Mutex<Vec<(SubscriptionId, Subscriber)>>,
    next_subscription: AtomicU64,
}

/// A [`Hypervisor`] behind a mutex, cheap to clone, shared by every connection.
///
/// [`call`](Self::call) and [`with`](Self::with) run a closure on the model under the lock and
/// return what it returns (plain values: handles, numbers, strings, errors). After the closure,
/// with the model lock released, the model's queued changes are written to the state directory
/// (when there is one) and its events are handed to every subscriber on the calling thread, in
/// the order the calls were made. No socket I/O and no subscriber code ever runs under the
/// model lock. Subscribers must not call back into the `SharedHypervisor` (they run under the
/// lock that orders deliveries): they should queue the event for their connection and return.
#[derive(Clone)]
pub struct SharedHypervisor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SharedHypervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedHypervisor").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SharedHypervisor {
    /// Shares `model`; changes are not written anywhere.
    #[must_use]
    pub fn new(model: Hypervisor) -> Self {
        Self::build(model, None)
    }

    /// Shares `model`, writing its changes to `dir` after every call (see
    /// [`Hypervisor::open_state_dir`]).
    #[must_use]
    pub fn with_state_dir(model: Hypervisor, dir: StateDir) -> Self {
        Self::build(model, Some(dir))
    }

    fn build(model: Hypervisor, dir: Option<StateDir>) -> Self {
        Self {
            inner: Arc::new(Inner {
                model: Mutex::new(model),
                after: Mutex::new(dir),
                subscribers: Mutex::new(Vec::new()),
                next_subscription: AtomicU64::new(0),
            }),
        }
    }

    /// Runs `f` on the model, for queries and calls that cannot fail. Events are delivered as for
    /// [`call`](Self::call); a failure to write the state directory is not reported, so use
    /// `call` for anything that changes persistent state.
    pub fn with<R>(&self, f: impl FnOnce(&mut Hypervisor) -> R) -> R {
        let (r, _) = self.run(f);
        r
    }

    /// Runs `f` on the model and makes its changes durable before returning. If writing the
    /// state directory fails, the call fails with `VIR_ERR_SYSTEM_ERROR` (the in-memory change
    /// stays).
    pub fn call<T>(&self, f: impl FnOnce(&mut Hypervisor) -> Result<T>) -> Result<T> {
        let (r, disk) = self.run(f);
        disk?;
        r
    }

    fn run<R>(&self, f: impl FnOnce(&mut Hypervisor) -> R) -> (R, Result<()>) {
        let mut model = lock(&self.inner.model);
        let r = f(&mut model);
        let ops = model.take_pending();
        let events = model.drain_events();
        if ops.is_empty() && events.is_empty() {
            return (r, Ok(()));
        }
        // Taken before the model is released, so that writes and events of successive calls
        // happen in the order of the calls.
        let after = lock(&self.inner.after);
        drop(model);
        let disk_result = match after.as_ref() {
            Some(dir) if !ops.is_empty() => dir.apply(&ops).map_err(|e| {
                super::error::e(
                    ErrorCode::VIR_ERR_SYSTEM_ERROR,
                    ErrorDomain::VIR_FROM_TEST,
                    format!("cannot write state in '{}': {e}", dir.path().display()),
                )
            }),
            _ => Ok(()),
        };
        if !events.is_empty() {
            let subs: Vec<Subscriber> = lock(&self.inner.subscribers).iter().map(|(_, s)| Arc::clone(s)).collect();
            for ev in &events {
                for s in &subs {
                    s(ev);
                }
            }
        }
        drop(after);
        (r, disk_result)
    }

    /// Calls `f` with every event from now on (from the thread whose call raised it).
    pub fn subscribe(&self, f: impl Fn(&Event) + Send + Sync + 'static) -> SubscriptionId {
        let id = SubscriptionId(self.inner.next_subscription.fetch_add(1, Ordering::Relaxed));
        lock(&self.inner.subscribers).push((id, Arc::new(f)));
        id
    }

    /// Ends a subscription; false if it was not there.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut subs = lock(&self.inner.subscribers);
        let before = subs.len();
        subs.retain(|(i, _)| *i != id);
        subs.len() != before
    }
}
