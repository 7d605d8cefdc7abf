//! The differential tiers' shared parts: run a client suite against a fresh libvirtd and a fresh
//! daemon-min, compare the per-test outcomes, print `suite: N same, M different`, and hold each
//! remaining difference to a reason.
//!
//! Also: finding daemon-min's binary from a spec-tests test (it belongs to another package, so
//! Cargo does not hand its path over: it is built next to the test executable when missing), and
//! fetching a third-party suite from PyPI at test time (`pip download`, cached in the target
//! directory, never committed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::libvirtd::is_ci;

/// Per-test outcomes: test id → outcome (`pass`, `fail`, `error`, `skip`, or whatever the tier
/// compares, e.g. an exit status and output digest).
pub type Outcomes = BTreeMap<String, String>;

/// A difference the tier knows about: the test id and why daemon-min differs there.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    /// The test id.
    pub test: &'static str,
    /// Why it differs (what daemon-min lacks or does otherwise).
    pub reason: &'static str,
}

/// Compares the outcomes, prints the summary line and every difference with its reason, and
/// returns the differences that are not in `known` plus the `known` ones that no longer differ
/// (both must be empty for the tier to pass: the table of reasons stays exact).
#[must_use]
pub fn compare(suite: &str, libvirtd: &Outcomes, ours: &Outcomes, known: &[Known]) -> Vec<String> {
    let ids: std::collections::BTreeSet<&String> = libvirtd.keys().chain(ours.keys()).collect();
    let missing = String::from("(not run)");
    let mut same = 0;
    let mut different = Vec::new();
    for id in ids {
        let a = libvirtd.get(id).unwrap_or(&missing);
        let b = ours.get(id).unwrap_or(&missing);
        if a == b {
            same += 1;
        } else {
            different.push((id.clone(), a.clone(), b.clone()));
        }
    }
    println!("{suite}: {same} same, {} different", different.len());
    let mut problems = Vec::new();
    for (id, a, b) in &different {
        let what = first_difference(a, b);
        match known.iter().find(|k| k.test == id) {
            Some(k) => println!("  {id}: {what} ({})", k.reason),
            None => {
                println!("  {id}: {what} (UNEXPECTED)");
                problems.push(format!("{id}: {what}"));
            }
        }
    }
    for k in known {
        if !different.iter().any(|(id, _, _)| id == k.test) {
            problems.push(format!(
                "{}: listed as different ({}) but now the same: drop it from the table",
                k.test, k.reason
            ));
        }
    }
    problems
}

/// `libvirtd X, daemon-min Y` for one-line outcomes; for longer ones, the first line that differs.
fn first_difference(a: &str, b: &str) -> String {
    if !a.contains('\n') && !b.contains('\n') {
        return format!("libvirtd {a}, daemon-min {b}");
    }
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => break,
            (x, y) if x == y => {}
            (x, y) => {
                return format!("line {n}: libvirtd {:?}, daemon-min {:?}", x.unwrap_or("(end)"), y.unwrap_or("(end)"));
            }
        }
    }
    "same lines, different line ends".to_owned()
}

/// One daemon a tier runs its client against.
#[derive(Debug)]
pub struct Side<'a> {
    /// `libvirtd` or `daemon-min` (a directory name for the side's work).
    pub name: &'static str,
    /// Its unix socket.
    pub socket: &'a Path,
    /// The URI of its `test:///default` on that socket.
    pub uri: &'a str,
}

/// Runs `run` against a fresh libvirtd, then against a fresh daemon-min (each stopped before
/// the next starts): (libvirtd's result, daemon-min's).
///
/// # Panics
/// When libvirtd cannot be started (the caller checked it is installed).
pub fn on_both<T>(mut run: impl FnMut(&Side<'_>) -> T) -> (T, T) {
    let libvirtd = crate::libvirtd::Libvirtd::start_or_skip().expect("libvirtd");
    let theirs = run(&Side { name: "libvirtd", socket: libvirtd.unix_socket_path(), uri: &libvirtd.unix_uri() });
    drop(libvirtd);
    let daemon = crate::daemon_min::DaemonMin::start(&daemon_min_binary(), "", &[]);
    let ours = run(&Side { name: "daemon-min", socket: &daemon.unix_socket_path(), uri: &daemon.unix_uri() });
    drop(daemon);
    (theirs, ours)
}

/// The directory the running test executable was built in (`target/debug`), whose `deps/` holds
/// the test itself.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent().and_then(Path::parent).expect("target/PROFILE/deps/TEST").to_path_buf()
}

/// daemon-min's binary for the profile the tests run in, built first if it is not there (a
/// `cargo test -p spec-tests` alone does not build other packages' binaries).
///
/// # Panics
/// When it cannot be built.
#[must_use]
pub fn daemon_min_binary() -> PathBuf {
    let dir = profile_dir();
    let bin = dir.join("daemon-min");
    let target = dir.parent().expect("target dir").to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "daemon-min", "--bin", "daemon-min", "--target-dir"]).arg(&target);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if is_ci() {
        cmd.arg("--locked");
    }
    let status = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("run cargo build -p daemon-min");
    assert!(status.success() && bin.exists(), "cargo build -p daemon-min failed ({status})");
    bin
}

/// Debian's interpreter, the one python3-libvirt is installed for.
pub const PYTHON: &str = "/usr/bin/python3";

/// Whether `PYTHON` can import `module`; like `require_peer`, a missing module fails under
/// `CI=true` and skips loudly elsewhere.
#[must_use]
pub fn require_python_module(module: &str, package: &str) -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!is_ci(), "{module} cannot be imported by {PYTHON} ({package} missing), and CI=true forbids skipping");
        eprintln!();
        eprintln!("**************************************************************************");
        eprintln!("SKIPPED: {PYTHON} cannot import {module} (apt-get install {package})");
        eprintln!("**************************************************************************");
    }
    ok
}

/// The unpacked source distribution `name==version` from PyPI (`pip download --no-deps
/// --no-binary :all:`), cached under `target/tier-cache/`. `None` (after a loud message, or a
/// failure under `CI=true`) when it cannot be fetched, e.g. offline.
#[must_use]
pub fn pypi_sdist(name: &str, version: &str) -> Option<PathBuf> {
    let cache = profile_dir().parent().expect("target dir").join("tier-cache");
    let unpacked = cache.join(format!("{name}-{version}"));
    if unpacked.join("PKG-INFO").exists() {
        return Some(unpacked);
    }
    std::fs::create_dir_all(&cache).expect("create target/tier-cache");
    let spec = format!("{name}=={version}");
    let pips: [&[&str]; 3] = [&[PYTHON, "-m", "pip"], &["pip3"], &["pip"]];
    let fetched = pips.iter().any(|pip| {
        Command::new(pip[0])
            .args(&pip[1..])
            .args(["download", "--no-deps", "--no-binary", ":all:", "--quiet", "-d"])
            .arg(&cache)
            .arg(&spec)
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let tarball = cache.join(format!("{name}-{version}.tar.gz"));
    let unpacked_ok = fetched
        && Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&cache).status().is_ok_and(|s| s.success());
    if unpacked_ok && unpacked.join("PKG-INFO").exists() {
        return Some(unpacked);
    }
    assert!(!is_ci(), "cannot fetch {spec} from PyPI with pip, and CI=true forbids skipping");
    eprintln!();
    eprintln!("**************************************************************************");
    eprintln!("SKIPPED: cannot fetch {spec} from PyPI (pip download; offline?)");
    eprintln!("**************************************************************************");
    None
}

/// Copies the directory `from` to `to` (files only, recursively).
///
/// # Errors
/// When reading or writing fails.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(&path, to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// The unpacked upstream tarball of Debian's source package `package` at `version` (e.g.
/// `libsys-virt-perl`, `9.0.0-1`), fetched with `apt-get source --download-only` (Debian's
/// mirror, the `deb-src` lines of the machine's apt sources) and unpacked under
/// `target/tier-cache/`, where it is reused; `unpacked` names the directory the `.orig` tarball
/// unpacks to (e.g. `Sys-Virt-v9.0.0`). Nothing is committed.
///
/// `None`, after a loud `SKIPPED` message, when the mirror does not serve it. Unlike a missing
/// peer this also skips under `CI=true`: the mirror answering "404 Not Found" for a source
/// package is a refusal, not a failure of the machine's set-up (`.ci/install-peers` cannot
/// change it). A developer can put the same tree at `target/tier-cache/UNPACKED` by hand.
#[must_use]
pub fn debian_source(package: &str, version: &str, unpacked: &str) -> Option<PathBuf> {
    let cache = profile_dir().parent().expect("target dir").join("tier-cache");
    let dir = cache.join(unpacked);
    if dir.is_dir() {
        return Some(dir);
    }
    std::fs::create_dir_all(&cache).expect("create target/tier-cache");
    let out = Command::new("apt-get")
        .args(["source", "--download-only", "--quiet"])
        .arg(format!("{package}={version}"))
        .current_dir(&cache)
        .stdin(Stdio::null())
        .output();
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    let prefix = format!("{package}_{upstream}.orig.tar.");
    let tarball = std::fs::read_dir(&cache).into_iter().flatten().flatten().map(|e| e.path()).find(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && !n.ends_with(".asc"))
    });
    let untarred = tarball.as_ref().is_some_and(|t| {
        Command::new("tar").arg("xf").arg(t).arg("-C").arg(&cache).status().is_ok_and(|s| s.success())
    });
    if untarred && dir.is_dir() {
        return Some(dir);
    }
    let why = match &out {
        Ok(o) => String::from_utf8_lossy(&o.stderr).lines().find(|l| l.starts_with("E:")).unwrap_or("").to_owned(),
        Err(e) => format!("apt-get: {e}"),
    };
    eprintln!();
    eprintln!("**************************************************************************");
    eprintln!("SKIPPED: cannot fetch Debian's source package {package} {version} ({why})");
    eprintln!("  (or put its unpacked upstream tree at {})", dir.display());
    eprintln!("**************************************************************************");
    None
}

/// Whether `program args…` runs and exits 0 (e.g. `perl -MSys::Virt -e1`): the check that a
/// client library is installed. Like `require_peer`, a failure fails under `CI=true` (the
/// message names the Debian `package` that `.ci/install-peers` installs) and skips loudly
/// elsewhere.
#[must_use]
pub fn require_runs(program: &str, args: &[&str], package: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let cmd = format!("{program} {}", args.join(" "));
        assert!(!is_ci(), "`{cmd}` fails ({package} missing?), and CI=true forbids skipping: run .ci/install-peers");
        eprintln!();
        eprintln!("**************************************************************************");
        eprintln!("SKIPPED: `{cmd}` fails (apt-get install {package})");
        eprintln!("**************************************************************************");
    }
    ok
}
