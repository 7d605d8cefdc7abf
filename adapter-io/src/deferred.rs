//! Work deferred by a delay on one process-wide thread: a client connection that is still
//! open a while after it was made starts its background reader then, so that a connection
//! opened and closed at once never starts a thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Something to run later, if it still exists then.
pub trait Deferred: Send + Sync {
    /// Runs once, at the time it was deferred to.
    fn run(self: Arc<Self>);
}

type Entry = (Instant, Weak<dyn Deferred>);

/// How late an entry may run.
const SLACK: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Queue {
    entries: Mutex<VecDeque<Entry>>,
    ready: Condvar,
}

/// Runs `item.run()` after `delay` (all entries share one delay order: first in, first due),
/// unless `item` was dropped by then. The thread starts with the first entry and then waits
/// without a timeout while nothing is due.
pub fn after(delay: Duration, item: Weak<dyn Deferred>) {
    static QUEUE: OnceLock<Option<Arc<Queue>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let q = Arc::new(Queue::default());
        let q2 = q.clone();
        let spawned = std::thread::Builder::new().name("libvirt-deferred".into()).spawn(move || run(&q2));
        spawned.is_ok().then_some(q)
    });
    let Some(queue) = queue else {
        // Without the thread, now.
        if let Some(item) = item.upgrade() {
            item.run();
        }
        return;
    };
    let mut entries = queue.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let was_empty = entries.is_empty();
    entries.push_back((Instant::now() + delay, item));
    drop(entries);
    if was_empty {
        queue.ready.notify_one();
    }
}

fn run(queue: &Queue) {
    let mut entries = queue.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let now = Instant::now();
        match entries.front() {
            None => entries = queue.ready.wait(entries).unwrap_or_else(std::sync::PoisonError::into_inner),
            Some((due, _)) if *due > now => {
                // Late by up to SLACK: entries due close together run in one wake-up, not one
                // wake-up (and a context switch) per short-lived connection.
                let wait = (*due - now).max(SLACK);
                entries = queue.ready.wait_timeout(entries, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
            }
            Some(_) => {
                let (_, item) = entries.pop_front().expect("checked above");
                drop(entries);
                if let Some(item) = item.upgrade() {
                    item.run();
                }
                entries = queue.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
    }
}

/// Starts a thread named `name` running `f` (with a small stack), unless `started` says one
/// was started already; a failed start can be tried again.
pub fn spawn_once(started: &AtomicBool, name: &str, f: impl FnOnce() + Send + 'static) {
    if !started.swap(true, Ordering::AcqRel) {
        let builder = std::thread::Builder::new().name(name.into()).stack_size(64 * 1024);
        if builder.spawn(f).is_err() {
            started.store(false, Ordering::Release);
        }
    }
}
