//! `bench/compare`: our clients against libvirt's C client, side by side in one run (see
//! `BENCHMARKS.md`). Checks the peers (libvirtd, a C compiler, libvirt-dev), builds
//! `bench/libvirt_client.c` against libvirt's public API, starts Debian's libvirtd (session
//! mode, as the tests do) and daemon-min on both runtimes on loopback, runs every workload with
//! every client as a separate process, round after round with the order reversed every other
//! round (A/B alternation), and prints the medians, the ratios and the issue's targets.
//!
//! ```text
//! compare [--calls N] [--rounds R] [--quick] [--bench-client PATH] [--daemon-min PATH]
//! ```
//! `bench_client` and `daemon-min` are by default next to this binary.
//! `--quick` (CI) is `--calls 300 --rounds 1`: it shows the harness works, it measures nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::{find_program, is_ci, Libvirtd};

/// The C client, compiled at run time against the installed libvirt-dev.
const C_SOURCE: &str = include_str!("../../../bench/libvirt_client.c");

struct Opts {
    calls: usize,
    rounds: usize,
    bench_client: PathBuf,
    daemon_min: PathBuf,
}

fn parse() -> Result<Opts, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let mut o =
        Opts { calls: 20_000, rounds: 3, bench_client: dir.join("bench_client"), daemon_min: dir.join("daemon-min") };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--calls" => o.calls = val()?.parse().map_err(|e| format!("--calls: {e}"))?,
            "--rounds" => o.rounds = val()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--bench-client" => o.bench_client = PathBuf::from(val()?),
            "--daemon-min" => o.daemon_min = PathBuf::from(val()?),
            "--quick" => (o.calls, o.rounds) = (300, 1),
            _ => return Err(format!("unknown argument '{a}'\nusage: compare [--calls N] [--rounds R] [--quick] [--bench-client PATH] [--daemon-min PATH]")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One measured cell: a client running a workload against a daemon.
struct Cell {
    key: &'static str,
    label: String,
    argv: Vec<String>,
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks the peers; `Ok(None)` with a loud message when one is missing outside CI.
fn peers() -> Result<Option<(PathBuf, PathBuf)>, String> {
    let need = |what: &str, found: Option<PathBuf>| -> Result<Option<PathBuf>, String> {
        match found {
            Some(p) => Ok(Some(p)),
            None if is_ci() => {
                Err(format!("{what} is not installed, and CI=true forbids skipping: run .ci/install-peers"))
            }
            None => {
                eprintln!("SKIPPED: {what} not installed (install it with .ci/install-peers)");
                Ok(None)
            }
        }
    };
    let Some(_) = need("libvirtd", find_program("libvirtd"))? else { return Ok(None) };
    let Some(cc) = need("a C compiler (cc)", find_program("cc"))? else { return Ok(None) };
    let Some(pc) = need("pkg-config", find_program("pkg-config"))? else { return Ok(None) };
    let dev = Command::new(&pc).args(["--exists", "libvirt"]).status().is_ok_and(|s| s.success());
    let Some(_) = need("libvirt-dev (pkg-config libvirt)", dev.then(PathBuf::new))? else { return Ok(None) };
    Ok(Some((cc, pc)))
}

fn build_c_client(cc: &Path, pc: &Path, dir: &Path) -> Result<PathBuf, String> {
    let src = dir.join("libvirt_client.c");
    let bin = dir.join("libvirt_client");
    std::fs::write(&src, C_SOURCE).map_err(|e| format!("write {}: {e}", src.display()))?;
    let flags = Command::new(pc).args(["--cflags", "--libs", "libvirt"]).output().map_err(|e| e.to_string())?;
    let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
    let out = Command::new(cc)
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .args(flags.split_whitespace())
        .arg("-lpthread")
        .output()
        .map_err(|e| format!("run {}: {e}", cc.display()))?;
    if !out.status.success() {
        return Err(format!("building the C client failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(bin)
}

fn measure(cell: &Cell) -> Result<(f64, u64), String> {
    let out = Command::new(&cell.argv[0]).args(&cell.argv[1..]).output().map_err(|e| format!("{}: {e}", cell.label))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("RESULT ")).ok_or_else(|| {
        format!("{}: no result (exit {}): {}", cell.label, out.status, String::from_utf8_lossy(&out.stderr).trim())
    })?;
    let field = |k: &str| line.split_whitespace().find_map(|f| f.strip_prefix(k)).and_then(|v| v.parse::<f64>().ok());
    let rate = field("rate=").ok_or_else(|| format!("{}: bad result '{line}'", cell.label))?;
    Ok((rate, field("rss_kb=").unwrap_or(0.0) as u64))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn run() -> Result<(), String> {
    let o = parse()?;
    let Some((cc, pc)) = peers()? else { return Ok(()) };
    let (bench, dmin) = (o.bench_client.clone(), o.daemon_min.clone());
    for b in [&bench, &dmin] {
        if !b.exists() {
            return Err(format!("{} is missing: cargo build --release -p spec-tests -p daemon-min", b.display()));
        }
    }
    let dir = std::env::temp_dir().join(format!("bench-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let _cleanup = Cleanup(dir.clone());
    let c_client = build_c_client(&cc, &pc, &dir)?;
    let libvirtd = Libvirtd::start().map_err(|e| e.to_string())?;
    let dm_smol = DaemonMin::start(&dmin, "", &[]);
    let dm_blocking = DaemonMin::start(&dmin, "", &["--runtime", "blocking"]);
    let (lv, dm, dmb) = (libvirtd.unix_uri(), dm_smol.unix_uri(), dm_blocking.unix_uri());
    let n = o.calls.to_string();
    let conns = (o.calls / 40).max(10).to_string();
    let s = |x: &str| x.to_owned();
    let c = |key, label: &str, uri: &str, w: &[&str]| Cell {
        key,
        label: label.into(),
        argv: [vec![c_client.display().to_string(), uri.to_owned()], w.iter().map(|x| s(x)).collect()].concat(),
    };
    // libvirt's C client running libvirt's default event loop (as virsh does): a comparison
    // with the same features as ours (events, keepalive), not a target.
    let cev = |key, label: &str, uri: &str, w: &[&str]| {
        let mut cell = c(key, label, uri, w);
        cell.argv.insert(1, s("--event-loop"));
        cell
    };
    let r = |key, label: &str, client: &str, uri: &str, w: &[&str]| Cell {
        key,
        label: label.into(),
        argv: [vec![bench.display().to_string(), s(client), uri.to_owned()], w.iter().map(|x| s(x)).collect()].concat(),
    };
    let cells = vec![
        r("raw", "raw socketpair ping-pong, 60-byte request / 36-byte reply (the ceiling)", "raw", "-", &["seq", &n]),
        c("c_lv", "libvirt's C client → libvirtd, sequential", &lv, &["seq", &n]),
        r("bl_lv", "our blocking client → libvirtd, sequential", "blocking", &lv, &["seq", &n]),
        r("sm_lv", "our smol client → libvirtd, sequential", "smol", &lv, &["seq", &n]),
        r("co_lv", "proto-core driven by one thread → libvirtd, sequential", "core", &lv, &["seq", &n]),
        c("c_dm", "libvirt's C client → daemon-min, sequential", &dm, &["seq", &n]),
        r("bl_dm", "our blocking client → daemon-min, sequential", "blocking", &dm, &["seq", &n]),
        r("sm_dm", "our smol client → daemon-min, sequential", "smol", &dm, &["seq", &n]),
        r("co_dm", "proto-core driven by one thread → daemon-min, sequential", "core", &dm, &["seq", &n]),
        r("bl_dmb", "our blocking client → daemon-min (blocking runtime), sequential", "blocking", &dmb, &["seq", &n]),
        c("c8_lv", "libvirt's C client, 8 threads on one connection → libvirtd", &lv, &["threads", "8", &n]),
        r(
            "bl8_lv",
            "our blocking client, 8 threads on one connection → libvirtd",
            "blocking",
            &lv,
            &["threads", "8", &n],
        ),
        r(
            "sm64_dm",
            "our smol client, 64 calls in flight on one connection → daemon-min",
            "smol",
            &dm,
            &["threads", "64", &n],
        ),
        c("cc_lv", "connection setup (open + close), C client → libvirtd", &lv, &["connect", &conns]),
        r("bc_lv", "connection setup, our blocking client → libvirtd", "blocking", &lv, &["connect", &conns]),
        r("sc_lv", "connection setup, our smol client → libvirtd", "smol", &lv, &["connect", &conns]),
        cev("ce_lv", "libvirt's C client with an event loop → libvirtd, sequential", &lv, &["seq", &n]),
        cev(
            "ce8_lv",
            "libvirt's C client with an event loop, 8 threads on one connection → libvirtd",
            &lv,
            &["threads", "8", &n],
        ),
        cev("cce_lv", "connection setup, C client with an event loop → libvirtd", &lv, &["connect", &conns]),
        c("cc_dm", "connection setup (open + close), C client → daemon-min", &dm, &["connect", &conns]),
        r("bc_dm", "connection setup, our blocking client → daemon-min", "blocking", &dm, &["connect", &conns]),
        r("sc_dm", "connection setup, our smol client → daemon-min", "smol", &dm, &["connect", &conns]),
    ];
    eprintln!("compare: {} calls per run, {} rounds, load {} at start", o.calls, o.rounds, load());
    // Per cell, its rate in each round, in round order.
    let mut rates: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut rss: HashMap<&str, u64> = HashMap::new();
    for round in 0..o.rounds {
        let order: Vec<&Cell> = if round % 2 == 0 { cells.iter().collect() } else { cells.iter().rev().collect() };
        for cell in order {
            let (rate, kb) = measure(cell)?;
            eprintln!("  round {} {:<8} {rate:>10.0}/s  {kb} kB", round + 1, cell.key);
            rates.entry(cell.key).or_default().push(rate);
            let e = rss.entry(cell.key).or_default();
            *e = (*e).max(kb);
        }
    }
    let end_load = load();
    // A ratio is the median over rounds of the ratio within each round (the two cells ran
    // close together in time), which is robust to load that changes during the run.
    let ratio = |a: &dyn Fn(usize) -> f64, b: &str| {
        let mut v: Vec<f64> = (0..o.rounds).map(|r| a(r) / rates[b][r]).collect();
        median(&mut v)
    };
    let rates_ref = &rates;
    let one = |k: &'static str| move |r: usize| rates_ref[k][r];
    let med: HashMap<&str, f64> = rates.iter().map(|(k, v)| (*k, median(&mut v.clone()))).collect();
    let m = |k: &str| med.get(k).copied().unwrap_or(0.0);
    println!("| workload | calls/s (median of {}) | peak RSS |", o.rounds);
    println!("| --- | ---: | ---: |");
    for cell in &cells {
        println!("| {} | {:.0} | {:.1} MB |", cell.label, m(cell.key), rss[cell.key] as f64 / 1024.0);
    }
    // Our fastest client on either of daemon-min's runtimes.
    let ours_dm = |r: usize| rates["bl_dm"][r].max(rates["sm_dm"][r]).max(rates["bl_dmb"][r]);
    let targets: Vec<(&str, f64, f64)> = vec![
        ("blocking client → libvirtd, sequential, vs the C client", ratio(&one("bl_lv"), "c_lv"), 1.3),
        ("smol client → libvirtd, sequential, vs the C client", ratio(&one("sm_lv"), "c_lv"), 1.2),
        ("our fastest client → daemon-min, sequential, vs the raw ping-pong", ratio(&ours_dm, "raw"), 0.8),
        (
            "smol client, 64 in flight → daemon-min, vs the C client with 8 threads → libvirtd",
            ratio(&one("sm64_dm"), "c8_lv"),
            10.0,
        ),
        ("blocking client, 8 threads → libvirtd, vs the C client with 8 threads", ratio(&one("bl8_lv"), "c8_lv"), 1.0),
        ("connection setup → libvirtd, blocking client vs the C client", ratio(&one("bc_lv"), "cc_lv"), 1.5),
        ("connection setup → libvirtd, smol client vs the C client", ratio(&one("sc_lv"), "cc_lv"), 1.5),
        ("connection setup → daemon-min, blocking client vs the C client", ratio(&one("bc_dm"), "cc_dm"), 1.5),
        ("connection setup → daemon-min, smol client vs the C client", ratio(&one("sc_dm"), "cc_dm"), 1.5),
        (
            "daemon-min's smol runtime vs its blocking runtime, sequential (blocking client)",
            ratio(&one("bl_dm"), "bl_dmb"),
            0.9,
        ),
    ];
    println!();
    println!("| target | ratio (median of the rounds' ratios) | wanted | met |");
    println!("| --- | ---: | ---: | --- |");
    for (what, ratio, want) in &targets {
        let met = ratio >= want;
        println!("| {what} | {ratio:.2}× | ≥ {want}× | {} |", if met { "yes" } else { "**no**" });
    }
    // Against libvirt's client as virsh runs it (with an event loop: keepalive probed at open,
    // as ours does by default). For comparison; the targets are the table above.
    let alike: Vec<(&str, f64)> = vec![
        ("blocking client → libvirtd, sequential", ratio(&one("bl_lv"), "ce_lv")),
        ("smol client → libvirtd, sequential", ratio(&one("sm_lv"), "ce_lv")),
        ("blocking client, 8 threads → libvirtd", ratio(&one("bl8_lv"), "ce8_lv")),
        ("connection setup → libvirtd, blocking client", ratio(&one("bc_lv"), "cce_lv")),
        ("connection setup → libvirtd, smol client", ratio(&one("sc_lv"), "cce_lv")),
    ];
    let kb = rss["bl8_lv"];
    let met = kb <= 4096;
    println!(
        "| client peak RSS, 8 threads, {} calls: blocking {:.1} MB (C: {:.1} MB) | | ≤ 4 MB | {} |",
        o.calls,
        kb as f64 / 1024.0,
        rss["c8_lv"] as f64 / 1024.0,
        if met { "yes" } else { "**no**" }
    );
    println!();
    println!("| for comparison: ours vs libvirt's C client with an event loop (as virsh runs it) | ratio |");
    println!("| --- | ---: |");
    for (what, ratio) in &alike {
        println!("| {what} | {ratio:.2}× |");
    }
    println!();
    println!(
        "load average (1, 5, 15 min): {} at the end; {} CPUs",
        end_load,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    drop((libvirtd, dm_smol, dm_blocking));
    Ok(())
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
