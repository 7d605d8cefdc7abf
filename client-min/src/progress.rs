//! A progress bar for long transfers, drawn on standard error only when it is a terminal
//! (so scripts and tests see exactly virsh's output).

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Whether standard error is a terminal (asked once).
pub(crate) fn stderr_is_terminal() -> bool {
    static TTY: OnceLock<bool> = OnceLock::new();
    *TTY.get_or_init(|| std::io::stderr().is_terminal())
}

/// Progress of one transfer.
#[derive(Debug)]
pub(crate) struct Progress {
    what: &'static str,
    total: Option<u64>,
    done: u64,
    start: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
    drawn: bool,
}

fn human(n: u64) -> String {
    let (v, unit) = crate::util::pretty_capacity(n);
    format!("{v:.1} {unit}")
}

impl Progress {
    /// A bar for `what` ("upload", "download"), of `total` bytes when known.
    pub(crate) fn new(what: &'static str, total: Option<u64>) -> Self {
        Self {
            what,
            total,
            done: 0,
            start: Instant::now(),
            last_draw: None,
            enabled: stderr_is_terminal(),
            drawn: false,
        }
    }

    /// `n` more bytes went through; redraws at most ten times a second.
    pub(crate) fn add(&mut self, n: u64) {
        self.done += n;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last_draw.is_some_and(|t| now.duration_since(t) < Duration::from_millis(100)) {
            return;
        }
        self.last_draw = Some(now);
        self.draw(now);
    }

    fn draw(&mut self, now: Instant) {
        let secs = now.duration_since(self.start).as_secs_f64().max(0.001);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let rate = (self.done as f64 / secs) as u64;
        let line = match self.total.filter(|t| *t > 0) {
            Some(total) => {
                const WIDTH: u64 = 30;
                let done = self.done.min(total);
                let filled = done * WIDTH / total;
                let pct = done * 100 / total;
                let bar: String = (0..WIDTH).map(|i| if i < filled { '=' } else { ' ' }).collect();
                format!("{} [{bar}] {pct:3}% {} / {} ({}/s)", self.what, human(done), human(total), human(rate))
            }
            None => format!("{} {} ({}/s)", self.what, human(self.done), human(rate)),
        };
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r{line}\x1b[K");
        let _ = e.flush();
        self.drawn = true;
    }

    /// The transfer ended: the last state, then a new line.
    pub(crate) fn done(&mut self) {
        if self.enabled && (self.drawn || self.done > 0) {
            self.draw(Instant::now());
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// `%Y-%m-%d-%H:%M:%S` for file names (UTC: std has no time zones).
pub(crate) fn local_timestamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (date, time) = civil(secs);
    format!("{date}-{time}")
}

/// `virTimeStringNowRaw`: `YYYY-MM-DD HH:MM:SS.mmm+0000`.
pub(crate) fn local_timestamp_millis() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let (date, time) = civil(now.as_secs());
    format!("{date} {time}.{:03}+0000", now.subsec_millis())
}

/// The UTC date and time of a Unix time, as `YYYY-MM-DD` and `HH:MM:SS`.
fn civil(secs: u64) -> (String, String) {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (format!("{y:04}-{m:02}-{d:02}"), format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60))
}
