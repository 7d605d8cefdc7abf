//! Differential tier: Perl Sys::Virt's own tests (`t/*.t` of Debian's source package
//! `libsys-virt-perl` 9.0.0, fetched at test time and cached under `target/tier-cache/`) run with
//! Debian's installed Sys::Virt 9.0.0 against a fresh libvirtd 9.0 and a fresh daemon-min, one
//! daemon after the other. Every TAP check's outcome (`ok`, `not ok`, `skip`), each file's plan
//! and exit status are compared; the tier prints `perl Sys::Virt: N same, M different`.
//!
//! The files that open a connection open `test:///default` in-process; to reach a daemon that
//! URI is rewritten, at run time in a copy of the suite, to `test+unix:///default?socket=…` (see
//! [`PATCH`]). Nothing else is changed, never an assertion. The other files (POD, constants,
//! API coverage) test the module's source against libvirt's headers, not a daemon: not run.
//!
//! Every remaining difference must be listed in [`KNOWN`] with its reason, and every listed one
//! must still differ. Fails under `CI=true` when libvirtd, perl's Sys::Virt or XML::XPath is
//! missing (`.ci/install-peers` installs them); skips loudly otherwise, and everywhere when
//! Debian's mirror does not serve the source package (see `differential::debian_source`).
//!
//! Not in the default run (`#[ignore]`): the Debian mirror this project's machines reach answers
//! "404 Not Found" for this source package's tarballs, so CI could only ever skip it. Run it with
//! `cargo test -p spec-tests --test tier_perl_sys_virt -- --ignored --nocapture` where the source
//! is served (or its upstream tree, tag `v9.0.0`, is unpacked at `target/tier-cache/Sys-Virt-v9.0.0`).
//! Last run (2026-12-05, the tree from the upstream tag): `perl Sys::Virt: 215 same, 0 different`.

use std::path::Path;
use std::process::{Command, Stdio};

use spec_tests::differential::{self, compare, Known, Outcomes};
use spec_tests::libvirtd::require_peer;

/// The run-time patch: in each of [`FILES`], this text becomes the daemon's URI (`{SOCK}` is its
/// socket). Note: only the URI changes, so that the suite talks to a daemon instead of an
/// in-process test driver.
const PATCH: (&str, &str) = ("\"test:///default\"", "\"test+unix:///default?socket={SOCK}\"");

/// The suite's files that open a connection.
const FILES: &[&str] = &[
    "100-connect.t",
    "200-domains.t",
    "300-networks.t",
    "400-storage-pools.t",
    "500-storage-vols.t",
    "600-interfaces.t",
    "800-events.t",
];

/// How long one file may run. The others take well under a second; `800-events.t` reaches its
/// last check after about 6 s (its event loop waits for a timer) and then hangs on both daemons (freeing its last domain closes the remote connection,
/// whose socket watch removal calls back into the suite's Perl event loop, which re-enters
/// libvirt on a mutex the closing thread holds: a client-side self-deadlock, seen in gdb) and so
/// always ends with `timeout`'s exit status 124: this bounds what that costs.
const FILE_TIMEOUT_SECS: u32 = 15;

/// Where daemon-min still differs from libvirtd, and why. Measured when this tier came:
/// `perl Sys::Virt: 215 same, 0 different` (the 208 checks pass on both, and the 7 files'
/// plans, exit statuses and diagnostics are equal).
const KNOWN: &[Known] = &[];

/// One TAP line's test number, description and outcome (`ok`, `not ok`, `skip`, `todo`).
fn tap_line(line: &str) -> Option<(u32, String, &'static str)> {
    let (failed, rest) = match line.strip_prefix("not ok ") {
        Some(rest) => (true, rest),
        None => (false, line.strip_prefix("ok ")?),
    };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let number = rest[..digits].parse().ok()?;
    let rest = rest[digits..].trim_start().trim_start_matches('-').trim();
    let (desc, directive) = rest.split_once(" # ").map_or((rest, ""), |(d, x)| (d, x));
    let outcome = match directive.get(..4).map(str::to_ascii_lowercase).as_deref() {
        Some("skip") => "skip",
        Some("todo") => "todo",
        _ if failed => "not ok",
        _ => "ok",
    };
    Some((number, desc.trim().to_owned(), outcome))
}

/// Runs the patched files against the daemon listening on `sock`: outcomes by check, and by
/// file its plan, exit status and Test::More's diagnostics (what a failed check got).
fn run_suite(suite: &Path, work: &Path, sock: &Path) -> Outcomes {
    let _ = std::fs::remove_dir_all(work);
    differential::copy_dir(&suite.join("t"), &work.join("t")).expect("copy the suite");
    let mut outcomes = Outcomes::new();
    for file in FILES {
        let path = work.join("t").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains(PATCH.0), "patch no longer applies: {file} has no {}", PATCH.0);
        let to = PATCH.1.replace("{SOCK}", &sock.display().to_string());
        std::fs::write(&path, text.replace(PATCH.0, &to)).expect("write the patched file");
        let out = Command::new("timeout")
            .arg(FILE_TIMEOUT_SECS.to_string())
            .arg("perl")
            .arg(Path::new("t").join(file))
            .current_dir(work)
            .stdin(Stdio::null())
            .output()
            .expect("run perl");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut plan = String::from("no plan");
        for line in stdout.lines() {
            if let Some(p) = line.strip_prefix("1..") {
                plan = format!("plan 1..{p}");
            } else if let Some((n, desc, outcome)) = tap_line(line) {
                outcomes.insert(format!("{file} {n:03} {desc}"), outcome.to_owned());
            }
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let diagnostics: Vec<&str> = stderr.lines().filter(|l| l.starts_with('#')).collect();
        let exit = format!("{plan}, exit {:?}", out.status.code());
        outcomes.insert(
            format!("{file} (exit)"),
            [exit.as_str()].iter().chain(&diagnostics).copied().collect::<Vec<_>>().join("\n"),
        );
    }
    assert!(outcomes.len() >= 150, "the suite ran only {} checks:\n{outcomes:#?}", outcomes.len());
    outcomes
}

#[test]
#[ignore = "Debian's mirror here answers 404 for the libsys-virt-perl source package; run with --ignored where it is served (or its tree is in target/tier-cache)"]
fn perl_sys_virt_suite_same_outcomes() {
    if require_peer("libvirtd").is_none()
        || require_peer("perl").is_none()
        || !differential::require_runs("perl", &["-MSys::Virt", "-e1"], "libsys-virt-perl")
        || !differential::require_runs("perl", &["-MXML::XPath", "-e1"], "libxml-xpath-perl")
    {
        return;
    }
    let Some(suite) = differential::debian_source("libsys-virt-perl", "9.0.0-1", "Sys-Virt-v9.0.0") else { return };
    let work = std::env::temp_dir().join(format!("tier-perl-sys-virt-{}", std::process::id()));

    let (theirs, ours) = differential::on_both(|d| run_suite(&suite, &work.join(d.name), d.socket));
    let _ = std::fs::remove_dir_all(&work);

    let problems = compare("perl Sys::Virt", &theirs, &ours, KNOWN);
    assert!(problems.is_empty(), "perl Sys::Virt tier:\n{}", problems.join("\n"));
}
