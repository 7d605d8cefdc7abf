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
//! remote host, a call that takes milliseconds) leaves nothing to gain. And what spinning saves
//! is a property of a run of calls, not of one: a single spin among sleeping calls finds the
//! daemon's threads halted as a sleeping call does. So [`BusyPoll`] keeps one way (spinning at
//! first: a short connection's calls are its open sequence) and the average round trip of its
//! calls, and now and then tries the other way for a block of [`PROBE`] calls, whose first
//! [`WARM_UP`] it does not count. It spins when that is clearly cheaper (by a quarter, since it
//! costs CPU). The interval between tries starts at [`PROBE_EVERY`] and doubles while the way
//! holds, up to [`PROBE_EVERY_MAX`]. A spin lasts at most the configured window
//! (`ConnectOptions::busy_poll`, as Linux's `SO_BUSY_POLL` bounds its own), then the caller
//! sleeps as it would have. While other callers' calls are in flight too, the caller that
//! reads keeps spinning as long as replies keep coming ([`BusyPoll::reading`]),
//! unless a spin of the process lately found the machine busy: a yield that gave the CPU away
//! for longer than [`CONTENDED_YIELD`] ends the spin. The decisions are pure (durations in, a
//! deadline out); [`spin_read`] is the spinning.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::transport::Stream;

/// How many calls a try of the other way lasts.
pub const PROBE: u32 = 10;
/// How many calls at the start of a try are not counted (the first spins after sleeping find
/// everything halted; the first sleeps after spinning find everything awake).
pub const WARM_UP: u32 = 3;
/// Calls between two tries of the other way, at first and after the way changed.
pub const PROBE_EVERY: u32 = 64;
/// The longest interval between two tries.
pub const PROBE_EVERY_MAX: u32 = 512;

/// The window `ConnectOptions::default()` sets. With the caller spinning, libvirtd's reply to
/// a small call came within 30–60 µs on the machine measured, and often later: a window of
/// 50 µs made 1.4–1.9× the C client's sequential calls, 200 µs 2.3–2.8× (BENCHMARKS.md).
pub const DEFAULT_WINDOW: Duration = Duration::from_micros(200);

/// How many windows apart replies may come for a caller to keep spinning while other callers'
/// calls are in flight too ([`BusyPoll::reading`]).
pub const OTHERS_WAIT_WINDOWS: u32 = 5;

/// How long a caller spinning while others wait stays on its CPU between two tries before it
/// yields it. Yielding after every try (a microsecond apart) let the daemon's threads settle on
/// the spinner's CPU: 8 threads → libvirtd then fell to 25–35k calls/s (the C client: 30–33k)
/// in three or four rounds of nine, against one round or none with a 20 µs pause
/// (BENCHMARKS.md, sixth pass). 40 µs did as well there but made 4 threads slower (1.25× the C
/// client against 1.68×), 80 µs answered too late everywhere. A caller alone does not pause:
/// its reply is due within tens of microseconds, and pausing 10 µs cost sequential calls a
/// third.
pub const OTHERS_WAIT_PAUSE: Duration = Duration::from_micros(20);

/// A spin planned for one read: until when, and how long each try waits on the CPU before it
/// yields the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spin {
    /// When the spin gives up and the caller sleeps in `read`.
    pub until: Instant,
    /// How long each try keeps the CPU before it yields it.
    pub pause: Duration,
}

/// A yield in a spin that gave the CPU away for longer than this means another thread wanted
/// the CPU for long: the machine is busy, and the spin ends. A CPU-bound thread's turn was 4 ms
/// on the machine measured (BENCHMARKS.md, sixth pass); a quiet machine's threads, the daemon's
/// and ours, run for microseconds at a time. 0.2 ms and 1 ms also ended spins of a quiet
/// machine, and cost 8 threads → libvirtd part of what spinning gains there.
pub const CONTENDED_YIELD: Duration = Duration::from_millis(2);
/// How long after a spin found the machine busy callers do not spin while others wait.
pub const CONTENDED_BACKOFF: Duration = Duration::from_millis(100);

/// Until when (nanoseconds after [`EPOCH`]) the machine counts as busy: process-wide, as the
/// machine's CPUs are.
static CONTENDED_UNTIL: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn nanos(t: Instant) -> u64 {
    let since = t.saturating_duration_since(*EPOCH.get_or_init(Instant::now));
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether a spin found the machine busy within the last [`CONTENDED_BACKOFF`].
fn contended(now: Instant) -> bool {
    nanos(now) < CONTENDED_UNTIL.load(Ordering::Relaxed)
}

/// A running average of round trips, in nanoseconds (each new one weighs 1/8).
#[derive(Debug, Default, Clone, Copy)]
struct Average(Option<u64>);

impl Average {
    fn add(&mut self, ns: u64) {
        self.0 = Some(self.0.map_or(ns, |a| a - a / 8 + ns / 8));
    }
}

/// A try of the other way under way: calls left, and the sum and count of those counted.
#[derive(Debug, Clone, Copy)]
struct Probe {
    left: u32,
    sum: u64,
    counted: u64,
}

/// Whether a connection's waits spin, decided from what its calls cost.
#[derive(Debug, Clone)]
pub struct BusyPoll {
    window: Duration,
    /// The way chosen, and the average round trip of its calls.
    spinning: bool,
    average: Average,
    probe: Option<Probe>,
    until_probe: u32,
    interval: u32,
}

impl BusyPoll {
    /// A policy that spins at most `window` per wait; `None` or zero never spins, nor does a
    /// machine with a single CPU online (the spinner would only delay the peer it waits for).
    /// A process confined to one CPU of a larger machine (`taskset`, a container's cpuset)
    /// does spin: its peer runs elsewhere, and where it does not, the policy finds that
    /// spinning saves nothing and sleeps.
    #[must_use]
    pub fn new(window: Option<Duration>) -> Self {
        let window = window.filter(|_| machine_cpus() > 1).unwrap_or_default();
        Self::with_window(window)
    }

    fn with_window(window: Duration) -> Self {
        Self {
            window,
            spinning: true,
            average: Average::default(),
            probe: None,
            until_probe: PROBE_EVERY,
            interval: PROBE_EVERY,
        }
    }

    /// How long the wait that starts now should spin before it sleeps (`None`: sleep at once).
    pub fn plan(&mut self) -> Option<Duration> {
        if self.window.is_zero() {
            return None;
        }
        if self.probe.is_none() {
            self.until_probe = self.until_probe.saturating_sub(1);
            if self.until_probe == 0 {
                self.probe = Some(Probe { left: PROBE, sum: 0, counted: 0 });
            }
        }
        (self.spinning != self.probe.is_some()).then_some(self.window)
    }

    /// How a caller reading for its reply spins: as its own call's plan (`planned`, from
    /// [`CallWait::spin_until`]) when it is alone; while other callers wait too (`others`:
    /// another thread sleeps for its reply; one thread's pipelined calls, as in the open
    /// sequence, are not others), as long as bytes keep coming, at most
    /// [`OTHERS_WAIT_WINDOWS`] windows after they last came (`last_input`) and at least as long
    /// as its own plan, pausing [`OTHERS_WAIT_PAUSE`] between tries.
    ///
    /// Not the per-call policy: with several calls in flight a call's round trip is mostly its
    /// wait behind the others, which no way of waiting shortens, so the policy cannot see what
    /// spinning does there. What it does (BENCHMARKS.md, sixth pass): a reader asleep in `read`
    /// is woken by the daemon's reply and the scheduler runs it next to the daemon's main
    /// thread (a socket's wake-up is synchronous); a reader that keeps looking leaves the
    /// daemon a CPU of its own. A slow peer (replies further apart) is not spun for, nor is
    /// anything with busy polling off or on a machine with one CPU, nor while the machine is
    /// busy (a spin found it so within the last [`CONTENDED_BACKOFF`]: with two CPU-bound
    /// threads beside it, 8 threads spinning so made a third of the calls that sleeping makes).
    #[must_use]
    pub fn reading(&self, planned: Option<Instant>, others: bool, last_input: Instant) -> Option<Spin> {
        self.reading_on(planned, others && !contended(Instant::now()), last_input)
    }

    fn reading_on(&self, planned: Option<Instant>, others: bool, last_input: Instant) -> Option<Spin> {
        if !others || self.window.is_zero() {
            return planned.map(|until| Spin { until, pause: Duration::ZERO });
        }
        let flowing = last_input + self.window * OTHERS_WAIT_WINDOWS;
        Some(Spin { until: planned.map_or(flowing, |p| p.max(flowing)), pause: OTHERS_WAIT_PAUSE })
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
        if spun == self.spinning {
            self.average.add(ns);
            return;
        }
        let Some(p) = &mut self.probe else { return };
        p.left = p.left.saturating_sub(1);
        if p.left < PROBE - WARM_UP {
            (p.sum, p.counted) = (p.sum.saturating_add(ns), p.counted + 1);
        }
        if p.left > 0 {
            return;
        }
        let other = p.sum / p.counted.max(1);
        self.probe = None;
        let current = self.average.0.unwrap_or(other);
        let (spin, sleep) = if self.spinning { (current, other) } else { (other, current) };
        // Spinning costs CPU that others may need: it must save a quarter of the round trip
        // (on a loaded machine both ways cost about the same, and spinning slowed the machine).
        let spin_cheaper = spin < sleep - sleep / 4;
        if spin_cheaper == self.spinning {
            self.interval = (self.interval * 2).min(PROBE_EVERY_MAX);
        } else {
            (self.spinning, self.average, self.interval) = (spin_cheaper, Average(Some(other)), PROBE_EVERY);
        }
        self.until_probe = self.interval;
    }
}

/// One call's wait as [`BusyPoll`] sees it: when the call was sent, and whether its caller
/// spins (planned when it first reads).
#[derive(Debug, Clone, Copy)]
pub struct CallWait {
    sent: Instant,
    spin: Option<Option<Duration>>,
}

impl CallWait {
    /// A call sent at `sent`.
    #[must_use]
    pub fn new(sent: Instant) -> Self {
        Self { sent, spin: None }
    }

    /// Until when its caller, about to read, spins (`None`: it sleeps). The first time it is
    /// asked with `plan`, `busy` decides; while unplanned it does not spin.
    pub fn spin_until(&mut self, busy: &mut BusyPoll, plan: bool) -> Option<Instant> {
        if self.spin.is_none() && !plan {
            return None;
        }
        self.spin.get_or_insert_with(|| busy.plan()).map(|w| self.sent + w)
    }

    /// The reply came (now, which it returns): `busy` learns the round trip of a planned wait.
    pub fn done(&self, busy: &mut BusyPoll) -> Instant {
        let now = Instant::now();
        if let Some(spin) = self.spin {
            busy.record(spin.is_some(), now.saturating_duration_since(self.sent));
        }
        now
    }
}

/// Reads `stream` as [`crate::fds::read`] does, spinning first as planned
/// ([`BusyPoll::reading`], [`spin_read`]).
///
/// # Errors
/// As the system call.
pub fn read(stream: &mut Stream, buf: &mut [u8], got: &mut Vec<OwnedFd>, spin: Option<Spin>) -> io::Result<usize> {
    spin.and_then(|s| spin_read(stream, buf, got, s)).unwrap_or_else(|| crate::fds::read(stream, buf, got))
}

/// Whether a failed read only found nothing yet (no data, the read timeout, an interruption).
#[must_use]
pub fn nothing_read(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

/// The number of CPUs online on this machine, whatever this process's affinity (looked up
/// once): where the peer may run. Where the kernel's list cannot be read, the CPUs this
/// process may use.
fn machine_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|list| cpu_list_len(&list))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
    })
}

/// How many CPUs a kernel CPU list names (`0-3,6,8-9`: 7); `None` when it is not one.
fn cpu_list_len(list: &str) -> Option<usize> {
    list.trim().split(',').try_fold(0usize, |n, part| {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi): (usize, usize) = (lo.parse().ok()?, hi.parse().ok()?);
        n.checked_add(hi.checked_sub(lo)?.checked_add(1)?)
    })
}

/// Reads `stream` without blocking until data (or an error, or the end) comes or the spin's
/// `until` passed, keeping the CPU for its `pause` after each try, then yielding it. `None`
/// when nothing came in time, or when a yield gave the CPU away for longer than
/// [`CONTENDED_YIELD`] (the machine is busy: noted for [`CONTENDED_BACKOFF`]): the caller then
/// reads as usual.
pub fn spin_read(stream: &mut Stream, buf: &mut [u8], got: &mut Vec<OwnedFd>, spin: Spin) -> Option<io::Result<usize>> {
    spin_read_within(stream, buf, got, spin, CONTENDED_YIELD)
}

fn spin_read_within(
    stream: &mut Stream,
    buf: &mut [u8],
    got: &mut Vec<OwnedFd>,
    spin: Spin,
    longest_yield: Duration,
) -> Option<io::Result<usize>> {
    loop {
        match crate::fds::read_nonblocking(stream, buf, got) {
            Err(e) if nothing_read(&e) => {}
            r => return Some(r),
        }
        let mut now = Instant::now();
        if now >= spin.until {
            return None;
        }
        let paused = now + spin.pause;
        while now < paused {
            std::hint::spin_loop();
            now = Instant::now();
        }
        std::thread::yield_now();
        let yielded = Instant::now();
        if yielded - now > longest_yield {
            CONTENDED_UNTIL.fetch_max(nanos(yielded + CONTENDED_BACKOFF), Ordering::Relaxed);
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_micros(200);

    #[test]
    fn kernel_cpu_lists_are_counted() {
        assert_eq!(cpu_list_len("0\n"), Some(1));
        assert_eq!(cpu_list_len("0-1\n"), Some(2));
        assert_eq!(cpu_list_len("0-3,6,8-9"), Some(7));
        assert_eq!(cpu_list_len(""), None);
        assert_eq!(cpu_list_len("3-1"), None);
        assert_eq!(cpu_list_len("0-x"), None);
    }

    #[test]
    fn a_thread_confined_to_one_cpu_of_several_spins() {
        if machine_cpus() < 2 {
            eprintln!("SKIPPED: this machine has a single CPU, where nothing spins");
            return;
        }
        std::thread::spawn(|| {
            use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
            let allowed = sched_getaffinity(None).unwrap();
            let first = (0..CpuSet::MAX_CPU).find(|&c| allowed.is_set(c)).unwrap();
            let mut one = CpuSet::new();
            one.set(first);
            sched_setaffinity(None, &one).unwrap();
            assert_eq!(std::thread::available_parallelism().unwrap().get(), 1);
            assert_eq!(BusyPoll::new(Some(W)).plan(), Some(W), "the peer may run on another CPU");
        })
        .join()
        .unwrap();
    }

    fn policy() -> BusyPoll {
        // Tests decide as on a machine with several CPUs.
        BusyPoll::with_window(W)
    }

    /// Runs `n` calls where a call costs `spin` when it spins and `sleep` when it sleeps,
    /// except that the first two spins after a sleep cost `sleep` (everything was halted);
    /// how many spun.
    fn run(p: &mut BusyPoll, n: usize, spin: Duration, sleep: Duration) -> usize {
        let mut warm = 0;
        (0..n)
            .filter(|_| {
                let spun = p.plan().is_some();
                warm = if spun { warm + 1 } else { 0 };
                p.record(spun, if spun && warm > 2 { spin } else { sleep });
                spun
            })
            .count()
    }

    #[test]
    fn spins_while_spinning_is_cheaper_and_tries_sleeping_now_and_then() {
        let mut p = policy();
        let spun = run(&mut p, 4000, Duration::from_micros(30), Duration::from_micros(70));
        // Sleeping is tried for PROBE calls at 64, 192, 448, 960, 1472, … (doubling to 512).
        let tries = 1 + 1 + 1 + 1 + (4000 - 960) / 512;
        assert_eq!(spun, 4000 - tries * PROBE as usize);
    }

    #[test]
    fn sleeps_when_spinning_does_not_pay_and_follows_a_change() {
        let mut p = policy();
        // A loaded machine: spinning calls took longer.
        let spun = run(&mut p, 4000, Duration::from_micros(52), Duration::from_micros(36));
        // The first PROBE_EVERY, then tries of spinning at doubling intervals.
        assert!(spun <= 64 + 10 * PROBE as usize, "spun {spun} of 4000");
        // The machine went quiet: the next try of spinning (within PROBE_EVERY_MAX calls)
        // shows it, though its first spins are cold, and spinning takes over.
        let spun = run(&mut p, 4000, Duration::from_micros(30), Duration::from_micros(70));
        assert!(spun >= 4000 - PROBE_EVERY_MAX as usize - 10 * PROBE as usize, "spun {spun} of 4000");
    }

    #[test]
    fn about_the_same_round_trip_is_not_worth_spinning_for() {
        let mut p = policy();
        // A loaded machine where both ways took about as long (spinning 10% less).
        let spun = run(&mut p, 4000, Duration::from_micros(23), Duration::from_micros(25));
        assert!(spun <= 64 + 10 * PROBE as usize, "spun {spun} of 4000");
    }

    #[test]
    fn a_slow_peer_is_not_spun_for() {
        let mut p = policy();
        // Every reply takes milliseconds: both ways cost the same capped wait.
        let spun = run(&mut p, 4000, Duration::from_millis(3), Duration::from_millis(3));
        assert!(spun <= 64 + 10 * PROBE as usize, "spun {spun} of 4000");
    }

    #[test]
    fn with_other_calls_in_flight_spins_while_replies_keep_coming() {
        let t = Instant::now();
        let flowing = t + W * OTHERS_WAIT_WINDOWS;
        let p = policy();
        let alone = |until| Some(Spin { until, pause: Duration::ZERO });
        let others = |until| Some(Spin { until, pause: OTHERS_WAIT_PAUSE });
        assert_eq!(p.reading_on(None, false, t), None, "alone: the call's plan");
        assert_eq!(p.reading_on(Some(t + W), false, t), alone(t + W));
        assert_eq!(p.reading_on(None, true, t), others(flowing), "spins even where the policy sleeps");
        assert_eq!(p.reading_on(Some(t + W), true, t), others(flowing));
        let later = flowing + W;
        assert_eq!(p.reading_on(Some(later), true, t), others(later), "never shorter than the call's plan");
        for w in [None, Some(Duration::ZERO)] {
            assert_eq!(BusyPoll::new(w).reading_on(None, true, t), None, "busy polling off");
        }
    }

    #[test]
    fn no_window_never_spins() {
        for w in [None, Some(Duration::ZERO)] {
            let mut p = BusyPoll::new(w);
            assert_eq!(run(&mut p, 100, Duration::from_micros(1), Duration::from_millis(1)), 0);
        }
    }

    #[test]
    fn a_spin_beside_a_cpu_bound_thread_ends_and_marks_the_machine_busy() {
        use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
        use std::os::unix::net::UnixStream;
        use std::sync::atomic::AtomicBool;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let allowed = sched_getaffinity(None).unwrap();
        let first = (0..CpuSet::MAX_CPU).find(|&c| allowed.is_set(c)).unwrap();
        let mut one = CpuSet::new();
        one.set(first);
        // A CPU-bound thread and the spinner on one CPU: the spinner's yields hand it turns.
        let (stop2, one2) = (stop.clone(), one);
        let hog = std::thread::spawn(move || {
            sched_setaffinity(None, &one2).unwrap();
            while !stop2.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let spinner = std::thread::spawn(move || {
            sched_setaffinity(None, &one).unwrap();
            let (a, _b) = UnixStream::pair().unwrap();
            let (mut s, mut buf, mut got) = (Stream::Unix(a), [0u8; 16], Vec::new());
            let t0 = Instant::now();
            // (A turn longer than 100 µs: what the hog's is depends on the kernel, not 2 ms.)
            let spin = Spin { until: t0 + Duration::from_secs(5), pause: Duration::ZERO };
            let r = spin_read_within(&mut s, &mut buf, &mut got, spin, W / 2);
            (r.is_none(), t0.elapsed(), contended(Instant::now()))
        });
        let spun = spinner.join();
        stop.store(true, Ordering::Relaxed);
        hog.join().unwrap();
        let (gave_up, took, marked) = spun.unwrap();
        assert!(gave_up && took < Duration::from_secs(4), "the spin ended early ({took:?})");
        assert!(marked, "the machine counts as busy");
    }

    #[test]
    fn spin_read_gives_up_after_its_window_and_returns_data_that_came() {
        use std::io::Write;
        use std::os::unix::net::UnixStream;
        for pause in [Duration::ZERO, OTHERS_WAIT_PAUSE] {
            let (a, mut b) = UnixStream::pair().unwrap();
            let mut s = Stream::Unix(a);
            let (mut buf, mut got) = ([0u8; 16], Vec::new());
            let spin = |until| Spin { until, pause };
            let t0 = Instant::now();
            assert!(spin_read(&mut s, &mut buf, &mut got, spin(t0 + Duration::from_millis(2))).is_none());
            assert!(t0.elapsed() >= Duration::from_millis(2));
            // Data that comes while the spinner pauses is read at its next try.
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1));
                b.write_all(b"reply").unwrap();
                b
            });
            let n = spin_read(&mut s, &mut buf, &mut got, spin(Instant::now() + W * 25)).unwrap().unwrap();
            assert_eq!(&buf[..n], b"reply");
            drop(writer.join().unwrap());
            assert_eq!(spin_read(&mut s, &mut buf, &mut got, spin(Instant::now() + W)).unwrap().unwrap(), 0);
        }
    }
}
