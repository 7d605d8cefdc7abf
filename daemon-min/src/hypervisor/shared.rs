//! The hypervisor shared by all connections of the daemon.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};

use proto_core::error::{ErrorCode, ErrorDomain};

use super::persist::Op;
use super::{Event, Hypervisor, Result, StateDir};

/// Identifies an event subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

type Subscriber = Arc<dyn Fn(&Event) + Send + Sync>;

type Subscribers = Arc<Mutex<Vec<(SubscriptionId, Subscriber)>>>;

struct Inner {
    model: Mutex<Hypervisor>,
    /// Without a state directory: held while a call's events are delivered, taken before the
    /// model lock is released, so subscribers hear in the order of the calls while the model
    /// itself is already free again.
    after: Mutex<()>,
    /// With a state directory: the thread that writes it (see [`Persister`]).
    persister: Option<Persister>,
    subscribers: Subscribers,
    next_subscription: AtomicU64,
}

/// One call's changes, written by the persister thread.
struct Job {
    ops: Vec<Op>,
    events: Vec<Event>,
    ticket: Ticket,
}

/// The thread that writes the state directory (write, fsync, rename, fsync of the directory)
/// and then delivers the events, job after job in the order of the calls. Disk time never runs
/// on the thread that made the call: a slow disk delays only the replies that wait for it.
struct Persister {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Persister {
    fn start(dir: StateDir, subscribers: Subscribers) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("daemon-min-persist".to_owned())
            .spawn(move || {
                for job in rx {
                    let written = if job.ops.is_empty() {
                        Ok(())
                    } else {
                        dir.apply(&job.ops).map_err(|e| {
                            super::error::e(
                                ErrorCode::VIR_ERR_SYSTEM_ERROR,
                                ErrorDomain::VIR_FROM_TEST,
                                format!("cannot write state in '{}': {e}", dir.path().display()),
                            )
                        })
                    };
                    deliver(&subscribers, &job.events);
                    job.ticket.settle(written);
                }
            })
            .expect("spawn the state directory's writer thread");
        Self { jobs: Mutex::new(tx) }
    }
}

fn deliver(subscribers: &Subscribers, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    let subs: Vec<Subscriber> = lock(subscribers).iter().map(|(_, s)| Arc::clone(s)).collect();
    for ev in events {
        for s in &subs {
            s(ev);
        }
    }
}

type Continuation = Box<dyn FnOnce(Result<()>) + Send>;

enum TicketState {
    Pending(Vec<Continuation>),
    Settled(Result<()>),
}

/// The durability of one call's changes: settled once the state directory has them (or failed
/// to take them). See [`defer_durability`].
#[derive(Clone)]
pub struct Ticket(Arc<(Mutex<TicketState>, Condvar)>);

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").finish_non_exhaustive()
    }
}

impl Ticket {
    fn new() -> Self {
        Self(Arc::new((Mutex::new(TicketState::Pending(Vec::new())), Condvar::new())))
    }

    fn settle(&self, result: Result<()>) {
        let waiting = {
            let mut st = lock(&self.0 .0);
            match std::mem::replace(&mut *st, TicketState::Settled(result.clone())) {
                TicketState::Pending(w) => w,
                TicketState::Settled(_) => Vec::new(),
            }
        };
        self.0 .1.notify_all();
        for k in waiting {
            k(result.clone());
        }
    }

    /// Runs `k` with the outcome once the changes are durable: at once if they already are,
    /// otherwise on the writer thread.
    pub fn then(&self, k: impl FnOnce(Result<()>) + Send + 'static) {
        let mut st = lock(&self.0 .0);
        match &mut *st {
            TicketState::Pending(w) => w.push(Box::new(k)),
            TicketState::Settled(r) => {
                let r = r.clone();
                drop(st);
                k(r);
            }
        }
    }

    /// Blocks until the changes are durable.
    pub fn wait(&self) -> Result<()> {
        let mut st = lock(&self.0 .0);
        loop {
            if let TicketState::Settled(r) = &*st {
                return r.clone();
            }
            st = self.0 .1.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

thread_local! {
    /// Set by [`defer_durability`]: the ticket of the last call made on this thread that
    /// changed something, instead of waiting for it.
    static DEFERRED: RefCell<Option<Option<Ticket>>> = const { RefCell::new(None) };
}

/// Runs `f` (a dispatch) so that [`SharedHypervisor::call`]s made in it return as soon as the
/// model has changed, without waiting for the state directory; returns what `f` returned and,
/// if any call changed persistent state or raised events, the ticket of the last one (tickets
/// settle in call order, so the last covers them all). The caller answers its client only when
/// the ticket settles: an acknowledged change is a durable change, and the calling thread (an
/// executor's, or the poll loop) never waits for the disk.
pub fn defer_durability<R>(f: impl FnOnce() -> R) -> (R, Option<Ticket>) {
    DEFERRED.with(|d| *d.borrow_mut() = Some(None));
    let r = f();
    let ticket = DEFERRED.with(|d| d.borrow_mut().take().flatten());
    (r, ticket)
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
        let subscribers: Subscribers = Arc::new(Mutex::new(Vec::new()));
        Self {
            inner: Arc::new(Inner {
                model: Mutex::new(model),
                after: Mutex::new(()),
                persister: dir.map(|d| Persister::start(d, subscribers.clone())),
                subscribers,
                next_subscription: AtomicU64::new(0),
            }),
        }
    }

    /// Blocks until every change made so far is in the state directory (at once without one).
    pub fn sync(&self) -> Result<()> {
        let Some(p) = &self.inner.persister else { return Ok(()) };
        let ticket = Ticket::new();
        let job = Job { ops: Vec::new(), events: Vec::new(), ticket: ticket.clone() };
        if lock(&p.jobs).send(job).is_err() {
            return Ok(());
        }
        ticket.wait()
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
    /// stays). Inside [`defer_durability`] it returns without waiting for the disk.
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
        if let Some(p) = &self.inner.persister {
            // Queued before the model is released, so that the writer sees the calls' changes
            // (and delivers their events) in the order of the calls.
            let ticket = Ticket::new();
            let sent = lock(&p.jobs).send(Job { ops, events, ticket: ticket.clone() });
            drop(model);
            if sent.is_err() {
                return (r, Ok(()));
            }
            let deferred = DEFERRED.with(|d| match &mut *d.borrow_mut() {
                Some(slot) => {
                    *slot = Some(ticket.clone());
                    true
                }
                None => false,
            });
            let disk = if deferred { Ok(()) } else { ticket.wait() };
            return (r, disk);
        }
        // Taken before the model is released, so that events of successive calls are heard in
        // the order of the calls.
        let after = lock(&self.inner.after);
        drop(model);
        deliver(&self.inner.subscribers, &events);
        drop(after);
        (r, Ok(()))
    }

    /// Calls `f` with every event from now on (from the thread whose call raised it).
    pub fn subscribe(&self, f: impl Fn(&Event) + Send + Sync + 'static) -> SubscriptionId {
        let id = SubscriptionId(self.inner.next_subscription.fetch_add(1, Ordering::Relaxed));
        lock(&self.inner.subscribers).push((id, Arc::new(f)));
        id
    }

    /// A handle that does not keep the model alive (see [`WeakHypervisor`]).
    #[must_use]
    pub fn downgrade(&self) -> WeakHypervisor {
        WeakHypervisor { inner: Arc::downgrade(&self.inner) }
    }

    /// Ends a subscription; false if it was not there.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut subs = lock(&self.inner.subscribers);
        let before = subs.len();
        subs.retain(|(i, _)| *i != id);
        subs.len() != before
    }
}

/// A [`SharedHypervisor`] that is gone once every strong handle is: how `test:///default`
/// lives exactly as long as its connections.
#[derive(Clone, Default)]
pub struct WeakHypervisor {
    inner: Weak<Inner>,
}

impl std::fmt::Debug for WeakHypervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakHypervisor").field("alive", &(self.inner.strong_count() > 0)).finish()
    }
}

impl WeakHypervisor {
    /// The hypervisor, if some strong handle still holds it.
    #[must_use]
    pub fn upgrade(&self) -> Option<SharedHypervisor> {
        self.inner.upgrade().map(|inner| SharedHypervisor { inner })
    }
}
