//! Sleeping threads and waking them once a lock is released.
//!
//! A thread notified while its waker still holds the lock it needs only wakes to block on that
//! lock (two more system calls and a context switch per wake-up, measured with `strace -c` on
//! eight threads sharing a client): [`unlock`] wakes after the release.
//!
//! A thread sleeps on a [`Sleeper`] of its own: one end of a socket pair that it reads, the
//! other end written to wake it. Linux passes a wake-up through a socket to its scheduler as
//! *synchronous* (the waker is about to wait) and then prefers the waker's CPU for the woken
//! thread; a futex (`Condvar`, `park`) carries no such hint, and the woken thread goes back
//! where it last ran or to an idle CPU. For eight threads sharing a client of libvirtd on two
//! CPUs that decides where everything runs (BENCHMARKS.md, sixth pass): woken by futex, the
//! client's threads spread over both CPUs and libvirtd's main thread shared one with them, its
//! wake-ups of its workers crossing CPUs; woken through sockets (and with the reader spinning
//! while others wait, `busy_poll`), the client keeps to one CPU and libvirtd to the other.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard, OnceLock};
use std::time::Duration;

/// The longest a [`Sleeper::sleep`] lasts before it returns unwoken (a safety net: sleepers
/// are woken, and look again when they return).
pub const MAX_SLEEP: Duration = Duration::from_millis(100);

/// How many sleepers of the process may hold a socket pair (two descriptors each) at once;
/// the others park. A program with many threads keeps its descriptors.
pub const MAX_SOCKET_SLEEPERS: usize = 64;

/// Sleepers holding a socket pair now.
static SOCKET_SLEEPERS: AtomicUsize = AtomicUsize::new(0);

/// Where one thread sleeps until another wakes it (see the module's documentation). Its
/// socket pair is made when it is first used, by either side: a thread that never sleeps has
/// none; one that cannot have one (over [`MAX_SOCKET_SLEEPERS`], or out of descriptors) parks.
#[derive(Debug)]
pub struct Sleeper {
    owner: std::thread::Thread,
    /// The read end (blocking, read timeout [`MAX_SLEEP`]) and the write end (non-blocking).
    pair: OnceLock<Option<(UnixStream, UnixStream)>>,
}

thread_local! {
    /// The calling thread's sleeper.
    static CURRENT: Arc<Sleeper> = Arc::new(Sleeper::new(std::thread::current()));
}

impl Sleeper {
    fn new(owner: std::thread::Thread) -> Self {
        Self { owner, pair: OnceLock::new() }
    }

    /// The calling thread's sleeper (sleep on it only from this thread). A thread whose
    /// thread-local values are being destroyed gets a new one.
    #[must_use]
    pub fn current() -> Arc<Self> {
        CURRENT.try_with(Arc::clone).unwrap_or_else(|_| Arc::new(Self::new(std::thread::current())))
    }

    fn pair(&self) -> Option<&(UnixStream, UnixStream)> {
        self.pair.get_or_init(|| socket_pair(MAX_SOCKET_SLEEPERS)).as_ref()
    }

    /// Sleeps until woken or [`MAX_SLEEP`] passed; a wake-up that came before is not lost (the
    /// caller looks again either way: a wake-up may be one it did not wait for).
    pub fn sleep(&self) {
        match self.pair() {
            Some((rx, _)) => drop((&*rx).read(&mut [0; 64])),
            None => std::thread::park_timeout(MAX_SLEEP),
        }
    }

    /// Wakes the sleeper's thread (or makes its next sleep return at once).
    pub fn wake(&self) {
        match self.pair() {
            // A full buffer already holds wake-ups enough.
            Some((_, tx)) => drop((&*tx).write(&[1])),
            None => self.owner.unpark(),
        }
    }
}

/// A sleeper's socket pair, counted in [`SOCKET_SLEEPERS`]; `None` when `cap` pairs are held
/// already or the system has no descriptors to give.
fn socket_pair(cap: usize) -> Option<(UnixStream, UnixStream)> {
    if SOCKET_SLEEPERS.fetch_add(1, Ordering::Relaxed) >= cap {
        SOCKET_SLEEPERS.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    let pair = UnixStream::pair().and_then(|(rx, tx)| {
        rx.set_read_timeout(Some(MAX_SLEEP))?;
        tx.set_nonblocking(true)?;
        Ok((rx, tx))
    });
    pair.inspect_err(|_| {
        SOCKET_SLEEPERS.fetch_sub(1, Ordering::Relaxed);
    })
    .ok()
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        if let Some(Some(_)) = self.pair.get() {
            SOCKET_SLEEPERS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Sleepers to wake once the lock that guards this list is released.
#[derive(Debug, Default)]
pub struct WakeList(Vec<Arc<Sleeper>>);

impl WakeList {
    /// Notes `s` for [`unlock`].
    pub fn push(&mut self, s: &Arc<Sleeper>) {
        self.0.push(s.clone());
    }

    /// Whether nothing waits to be woken.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

thread_local! {
    /// The list taken out by [`unlock`], kept per thread: no allocation per wake-up.
    static TAKEN: RefCell<Vec<Arc<Sleeper>>> = const { RefCell::new(Vec::new()) };
}

/// Releases `guard`, then wakes what `list` (the guarded value's [`WakeList`]) gathered.
pub fn unlock<T>(mut guard: MutexGuard<'_, T>, list: impl Fn(&mut T) -> &mut WakeList) {
    if list(&mut guard).is_empty() {
        return;
    }
    TAKEN.with(|taken| match taken.try_borrow_mut() {
        Ok(mut taken) => {
            std::mem::swap(&mut *taken, &mut list(&mut guard).0);
            drop(guard);
            taken.drain(..).for_each(|s| s.wake());
        }
        // Re-entered (a wake-up cannot do that, but never panic): under the lock.
        Err(_) => list(&mut guard).0.drain(..).for_each(|s| s.wake()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Instant;

    #[test]
    fn wakes_after_the_lock_is_released() {
        let m = Arc::new(Mutex::new((WakeList::default(), false)));
        let (tx, rx) = std::sync::mpsc::channel();
        let m2 = m.clone();
        let sleeper = std::thread::spawn(move || {
            tx.send(Sleeper::current()).unwrap();
            let t0 = Instant::now();
            while !m2.lock().unwrap().1 {
                Sleeper::current().sleep();
            }
            t0.elapsed()
        });
        let s = rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let mut g = m.lock().unwrap();
        g.1 = true;
        g.0.push(&s);
        assert!(!g.0.is_empty());
        unlock(g, |v| &mut v.0);
        assert!(m.lock().unwrap().0.is_empty(), "the list is emptied");
        // Woken, not timed out (every sleep before the flag was set ends within MAX_SLEEP).
        assert!(sleeper.join().unwrap() < MAX_SLEEP, "the sleeper was woken");
    }

    /// A sleeper with a socket pair whatever other tests hold (the cap's own test holds all).
    fn socket_sleeper() -> Sleeper {
        let pair = socket_pair(usize::MAX).expect("a socket pair");
        Sleeper { owner: std::thread::current(), pair: OnceLock::from(Some(pair)) }
    }

    #[test]
    fn a_wake_up_before_the_sleep_is_not_lost_and_sleeps_time_out() {
        let parked = Sleeper { owner: std::thread::current(), pair: OnceLock::from(None) };
        for s in [socket_sleeper(), parked] {
            s.wake();
            let t0 = Instant::now();
            s.sleep();
            assert!(t0.elapsed() < MAX_SLEEP / 2, "{s:?}: the earlier wake-up ends the sleep");
            if s.pair().is_some() {
                // (A parked thread may wake spuriously: only the socket's timeout is exact.)
                s.sleep();
                assert!(t0.elapsed() >= MAX_SLEEP, "unwoken, a sleep lasts MAX_SLEEP");
            }
        }
    }

    #[test]
    fn many_wake_ups_never_block_the_waker() {
        let s = socket_sleeper();
        for _ in 0..10_000 {
            s.wake();
        }
        s.sleep();
    }

    #[test]
    fn at_most_max_socket_sleepers_hold_descriptors_and_the_rest_park() {
        let all: Vec<_> = (0..2 * MAX_SOCKET_SLEEPERS).map(|_| Sleeper::new(std::thread::current())).collect();
        let with_pair = all.iter().filter(|s| s.pair().is_some()).count();
        // (Other tests of this binary may hold a few at the same time.)
        assert!((MAX_SOCKET_SLEEPERS - 4..=MAX_SOCKET_SLEEPERS).contains(&with_pair), "{with_pair} hold a pair");
        let parked = all.iter().find(|s| s.pair().is_none()).unwrap();
        parked.wake();
        let t0 = Instant::now();
        parked.sleep();
        assert!(t0.elapsed() < MAX_SLEEP / 2, "a parked sleeper is woken too");
        drop(all);
        assert!(Sleeper::new(std::thread::current()).pair().is_some(), "pairs are given back");
    }
}
