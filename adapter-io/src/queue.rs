//! Both clients' event subscriptions: a bounded queue per subscriber with libvirt's
//! drop-oldest policy (a slow subscriber never stalls the connection and always sees the newest
//! state). The connection pushes; the subscriber's thread waits, or its task is woken.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use proto_core::ConnectionError;

use crate::Event;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A bounded queue of events. Overflow policy: when full, the **oldest** event is dropped and
/// counted in [`Subscription::missed`], so a slow subscriber never stalls the connection and
/// always sees the newest state.
#[derive(Debug)]
pub struct Subscription {
    queue: Arc<EventQueue>,
}

/// Queued events (or the close reason), events dropped by overflow, whether the subscriber is
/// gone, and the task waiting (async subscribers).
type QueueState = (VecDeque<Result<Event, ConnectionError>>, u64, bool, Option<Waker>);

/// One subscriber's queue, shared by the connection (which pushes) and the [`Subscription`].
#[derive(Debug)]
pub struct EventQueue {
    items: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
}

impl EventQueue {
    /// An empty queue of `capacity` events (at least 1).
    #[must_use]
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            items: Mutex::new((VecDeque::new(), 0, false, None)),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        })
    }

    /// Whether the subscriber is gone (nothing needs to be pushed any more).
    #[must_use]
    pub fn is_abandoned(&self) -> bool {
        lock(&self.items).2
    }

    /// Queues an event (or the close reason), dropping the oldest when full.
    pub fn push(&self, item: Result<Event, ConnectionError>) {
        let mut g = lock(&self.items);
        if g.0.len() >= self.capacity {
            g.0.pop_front();
            g.1 += 1;
        }
        g.0.push_back(item);
        if let Some(w) = g.3.take() {
            w.wake();
        }
        self.ready.notify_all();
    }
}

/// Hands an event (or the close reason) to every subscriber still there, forgetting the ones
/// that left: what both clients do with their connection's events.
pub fn publish(subscribers: &mut Vec<Arc<EventQueue>>, item: &Result<Event, ConnectionError>) {
    subscribers.retain(|q| !q.is_abandoned());
    for q in subscribers.iter() {
        q.push(item.clone());
    }
}

impl Subscription {
    /// The subscriber's end of `queue`.
    #[must_use]
    pub fn new(queue: Arc<EventQueue>) -> Self {
        Self { queue }
    }

    /// Waits for the next event; `Err` when the connection closed (the reason), after every
    /// queued event was taken.
    ///
    /// # Errors
    /// When the connection is closed.
    pub fn recv(&self) -> Result<Event, ConnectionError> {
        self.recv_timeout(Duration::MAX).unwrap_or(Err(ConnectionError::LocallyClosed))
    }

    /// The next event for a task: as [`Subscription::recv`], without blocking.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Event, ConnectionError>> {
        let mut g = lock(&self.queue.items);
        match g.0.pop_front() {
            Some(item) => {
                if item.is_err() {
                    g.0.push_front(item.clone());
                }
                Poll::Ready(item)
            }
            None => {
                g.3 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Waits at most `timeout`; `None` when nothing came.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<Event, ConnectionError>> {
        let deadline = Instant::now().checked_add(timeout);
        let mut g = lock(&self.queue.items);
        loop {
            if let Some(item) = g.0.pop_front() {
                if item.is_err() {
                    g.0.push_front(item.clone());
                }
                return Some(item);
            }
            let wait = match deadline {
                Some(d) => d.checked_duration_since(Instant::now())?,
                None => Duration::from_secs(3600),
            };
            g = self.queue.ready.wait_timeout(g, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }

    /// The next event that belongs to `registration` (typed), for a task.
    pub fn poll_registered(
        &self,
        cx: &mut Context<'_>,
        registration: &proto_core::events::Registration,
    ) -> Poll<Result<proto_core::events::TypedEvent, ConnectionError>> {
        loop {
            let ev = std::task::ready!(self.poll_recv(cx))?;
            if let Some(Ok(typed)) = ev.typed() {
                if registration.accepts(ev.prog, ev.proc_, &typed) {
                    return Poll::Ready(Ok(typed));
                }
            }
        }
    }

    /// Waits at most `timeout` for the next event that belongs to `registration` (typed);
    /// `None` on timeout, `Some(Err)` once the connection closed.
    pub fn recv_registered(
        &self,
        timeout: Duration,
        registration: &proto_core::events::Registration,
    ) -> Option<Result<proto_core::events::TypedEvent, ConnectionError>> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let left = match deadline {
                Some(d) => d.checked_duration_since(Instant::now())?,
                None => Duration::MAX,
            };
            match self.recv_timeout(left)? {
                Ok(ev) => match ev.typed() {
                    Some(Ok(typed)) if registration.accepts(ev.prog, ev.proc_, &typed) => return Some(Ok(typed)),
                    _ => {}
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Events dropped because the queue was full.
    #[must_use]
    pub fn missed(&self) -> u64 {
        lock(&self.queue.items).1
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.queue.items).2 = true;
    }
}
