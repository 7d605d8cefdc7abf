//! Busy polling while a reply is due, when it pays.
//!
//! A caller that sleeps in `read` for its reply is woken by the kernel once the reply came. On
//! an idle machine (a virtual machine most of all) the sleeping CPU halts, and waking it costs
//! tens of microseconds: more than a local libvirtd or daemon-min takes to answer a small call.
//! A caller that keeps looking at the socket for a short while (non-blocking reads, giving its
//! CPU to any runnable thread in between: the daemon's own threads run there) sees the reply
//! as it comes, and the daemon's threads do not halt either.
//!
//! On a loaded machine the same spinning takes a CPU that others need, and a slow peer (a
//! remote host, a call that takes milliseconds) leaves nothing to gain. So [`BusyPoll`] decides
//! per wait from what waits cost on this connection: it keeps the average wait of spinning
//! waits and of sleeping waits, spins when that is clearly cheaper (by a quarter), and now and
//! then tries the other way (sleeping every [`EXPLORE`] waits; spinning every 16 waits at
//! first, less often while sleeping stays cheaper), so that a change of conditions is seen. A spin lasts at most the configured window
//! (`ConnectOptions::busy_poll`, as Linux's `SO_BUSY_POLL` bounds its own), then the caller
//! sleeps as it would have. The decision is pure (durations in, a window out); [`spin_read`]
//! is the spinning.

use std::io;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use crate::transport::Stream;

/// Every how many waits the way that looks more expensive is tried again; while the choice is
/// to sleep, each try of spinning that does not change it doubles the interval, up to
/// [`EXPLORE_MAX`].
pub const EXPLORE: u32 = 16;
/// The longest interval between two tries of the other way.
pub const EXPLORE_MAX: u32 = 256;

/// The window `ConnectOptions::default()` sets. With the caller spinning, libvirtd's reply to
/// a small call came within 30–60 µs on the machine measured, and often later: a window of
/// 50 µs made 1.4–1.9× the C client's sequential calls, 200 µs 2.3–2.8× (BENCHMARKS.md).
pub const DEFAULT_WINDOW: Duration = Duration::from_micros(200);

/// A running average of waits, in nanoseconds (each new wait weighs 1/8).
#[derive(Debug, Default, Clone, Copy)]
struct Average(Option<u64>);

impl Average {
    fn add(&mut self, ns: u64) {
        self.0 = Some(self.0.map_or(ns, |a| a - a / 8 + ns / 8));
    }
}

/// Whether a connection's waits spin, decided from what its waits cost.
#[derive(Debug, Clone)]
pub struct BusyPoll {
    window: Duration,
    spinning: Average,
    sleeping: Average,
    /// The way chosen last, the current interval between tries of the other, and the waits
    /// left until the next try.
    spin_chosen: bool,
    interval: u32,
    until_try: u32,
}

impl BusyPoll {
    /// A policy that spins at most `window` per wait; `None` or zero never spins, nor does a
    /// machine with a single CPU (the spinner would only delay the peer it waits for).
    #[must_use]
    pub fn new(window: Option<Duration>) -> Self {
        let window = window.filter(|_| cpus() > 1).unwrap_or_default();
        Self::with_window(window)
    }

    fn with_window(window: Duration) -> Self {
        Self {
            window,
            spinning: Average::default(),
            sleeping: Average::default(),
            spin_chosen: true,
            interval: EXPLORE,
            until_try: EXPLORE,
        }
    }

    /// How long the wait that starts now should spin before it sleeps (`None`: sleep at once).
    pub fn plan(&mut self) -> Option<Duration> {
        if self.window.is_zero() {
            return None;
        }
        // A new connection spins until its first exploring wait has measured sleeping: its
        // first calls (the open sequence) are the ones a short-lived connection makes.
        let spin_cheaper = match (self.spinning.0, self.sleeping.0) {
            (_, None) => true,
            (None, Some(_)) => false,
            // Spinning costs CPU that others may need: it must save a quarter of the wait
            // (on a loaded machine both ways cost about the same, and spinning then slowed the
            // machine by 7–15%).
            (Some(spin), Some(sleep)) => spin < sleep - sleep / 4,
        };
        if spin_cheaper != self.spin_chosen {
            // The choice changed: look at the other way soon again.
            (self.spin_chosen, self.interval, self.until_try) = (spin_cheaper, EXPLORE, EXPLORE);
        }
        self.until_try -= 1;
        let explore = self.until_try == 0;
        if explore {
            // Tried again and the choice held so far: while sleeping, the next try of spinning
            // (which costs CPU) comes later; while spinning, sleeping is tried every EXPLORE
            // waits (one slower wait), so that a lucky spin on a loaded machine is found out.
            if !spin_cheaper {
                self.interval = (self.interval * 2).min(EXPLORE_MAX);
            }
            self.until_try = self.interval;
        }
        (spin_cheaper != explore).then_some(self.window)
    }

    /// What a call whose wait was [`plan`](Self::plan)ned to spin (`spun`) or not cost: from
    /// its sending until its reply came (the whole round trip: on a loaded machine a spinner
    /// slows the daemon it waits for, and the reply is often there before the wait starts).
    /// Calls far beyond the window count as four windows (a slow call says nothing about the
    /// way of waiting, and must not outweigh many quick ones).
    pub fn record(&mut self, spun: bool, waited: Duration) {
        if self.window.is_zero() {
            return;
        }
        let ns = u64::try_from(waited.min(self.window * 4).as_nanos()).unwrap_or(u64::MAX);
        if spun {
            self.spinning.add(ns);
        } else {
            self.sleeping.add(ns);
        }
    }
}

/// The number of CPUs this process may run on (looked up once: it reads cgroup files).
fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Reads `stream` without blocking until data (or an error, or the end) comes or `until`
/// passed, yielding the CPU between tries. `None` when nothing came in time: the caller then
/// reads as usual.
pub fn spin_read(
    stream: &mut Stream,
    buf: &mut [u8],
    got: &mut Vec<OwnedFd>,
    until: Instant,
) -> Option<io::Result<usize>> {
    loop {
        match crate::fds::read_nonblocking(stream, buf, got) {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            r => return Some(r),
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_micros(50);

    fn policy() -> BusyPoll {
        // Tests decide as on a machine with several CPUs.
        BusyPoll::with_window(W)
    }

    /// Runs `n` waits where spinning costs `spin` and sleeping `sleep`; how many spun.
    fn run(p: &mut BusyPoll, n: usize, spin: Duration, sleep: Duration) -> usize {
        (0..n)
            .filter(|_| {
                let spun = p.plan().is_some();
                p.record(spun, if spun { spin } else { sleep });
                spun
            })
            .count()
    }

    #[test]
    fn spins_while_spinning_is_cheaper_and_tries_sleeping_now_and_then() {
        let mut p = policy();
        let spun = run(&mut p, 1600, Duration::from_micros(30), Duration::from_micros(70));
        // Sleeping is tried every EXPLORE waits.
        assert_eq!(spun, 1600 - 1600 / EXPLORE as usize);
    }

    #[test]
    fn sleeps_when_spinning_does_not_pay_and_follows_a_change() {
        let mut p = policy();
        // A loaded machine: spinning waits took longer.
        let spun = run(&mut p, 1600, Duration::from_micros(52), Duration::from_micros(36));
        assert!(spun <= 40, "spun {spun} of 1600");
        // The machine went quiet: the next try of spinning shows it (within EXPLORE_MAX
        // waits), and spinning takes over.
        let spun = run(&mut p, 1600, Duration::from_micros(30), Duration::from_micros(70));
        assert!(spun >= 1600 - EXPLORE_MAX as usize - 20, "spun {spun} of 1600");
    }

    #[test]
    fn about_the_same_wait_is_not_worth_spinning_for() {
        let mut p = policy();
        // A loaded machine where both ways took about as long (spinning 10% less).
        let spun = run(&mut p, 1600, Duration::from_micros(23), Duration::from_micros(25));
        assert!(spun <= 40, "spun {spun} of 1600");
    }

    #[test]
    fn a_slow_peer_is_not_spun_for() {
        let mut p = policy();
        // Every reply takes milliseconds: both ways cost the same capped wait; sleep wins ties.
        let spun = run(&mut p, 1600, Duration::from_millis(3), Duration::from_millis(3));
        assert!(spun <= 40, "spun {spun} of 1600");
    }

    #[test]
    fn no_window_never_spins() {
        for w in [None, Some(Duration::ZERO)] {
            let mut p = BusyPoll::new(w);
            assert_eq!(run(&mut p, 100, Duration::from_micros(1), Duration::from_millis(1)), 0);
        }
    }

    #[test]
    fn spin_read_gives_up_after_its_window_and_returns_data_that_came() {
        use std::io::Write;
        use std::os::unix::net::UnixStream;
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut s = Stream::Unix(a);
        let (mut buf, mut got) = ([0u8; 16], Vec::new());
        let t0 = Instant::now();
        assert!(spin_read(&mut s, &mut buf, &mut got, t0 + Duration::from_millis(2)).is_none());
        assert!(t0.elapsed() >= Duration::from_millis(2));
        b.write_all(b"reply").unwrap();
        let n = spin_read(&mut s, &mut buf, &mut got, Instant::now() + W).unwrap().unwrap();
        assert_eq!(&buf[..n], b"reply");
        drop(b);
        assert_eq!(spin_read(&mut s, &mut buf, &mut got, Instant::now() + W).unwrap().unwrap(), 0);
    }
}
