//! Differential tier: ruby-libvirt's own tests (`tests/test_*.rb` of Debian's source package
//! `ruby-libvirt` 0.7.1, fetched at test time and cached under `target/tier-cache/`) run with
//! Debian's installed ruby-libvirt against a fresh libvirtd 9.0 and a fresh daemon-min, one
//! daemon after the other. Every check's outcome (`OK`, `FAIL` with the error it reports,
//! `SKIPPED`: the lines of the suite's `test_utils.rb`), each file's exit status and the
//! exception that ended it, if any, are compared; the tier prints `ruby-libvirt: N same, M different`.
//!
//! The suite opens `qemu:///system` (written in most files, and `test_utils.rb`'s `URI`, whose
//! default the suite's own `RUBY_LIBVIRT_TEST_URI` overrides), and `test_open.rb` opens libvirt's
//! default URI. To reach a daemon, at run time in a copy of the suite, `"qemu:///system"` becomes
//! `"test+unix:///default?socket=…"` (see [`PATCH`]), and `RUBY_LIBVIRT_TEST_URI` and
//! `LIBVIRT_DEFAULT_URI` are set to the same URI. Nothing else is changed, never an assertion.
//!
//! The suite also runs shell commands meant for a qemu host (`qemu-img create`, `mkdir` under
//! `/var/lib/libvirt/images`, …), the same for both daemons; what they leave there is removed
//! afterwards (see [`LEFTOVERS`]).
//!
//! Every remaining difference must be listed in [`KNOWN`] with its reason, and every listed one
//! must still differ. Fails under `CI=true` when libvirtd, ruby or ruby-libvirt is missing
//! (`.ci/install-peers` installs them); skips loudly otherwise, and everywhere when Debian's
//! mirror does not serve the source package (see `differential::debian_source`).
//!
//! Not in the default run (`#[ignore]`): the Debian mirror this project's machines reach answers
//! "404 Not Found" for this source package's tarballs, so CI could only ever skip it. Run it with
//! `cargo test -p spec-tests --test tier_ruby_libvirt -- --ignored --nocapture` where the source is
//! served (or its upstream tree, tag `ruby-libvirt-0.7.1`, is unpacked in `target/tier-cache`).
//! Last run (2026-12-05, the tree from the upstream tag): `ruby-libvirt: 651 same, 2 different`
//! (the two in [`KNOWN`]: daemon-min's volume upload/download, which the test driver lacks).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use spec_tests::differential::{self, compare, Known, Outcomes};
use spec_tests::libvirtd::require_peer;

/// The run-time patch: in every `test_*.rb`, this text becomes the daemon's URI (`{SOCK}` is its
/// socket). Note: only the URI changes, so that the suite talks to the daemon under test.
const PATCH: (&str, &str) = ("\"qemu:///system\"", "\"test+unix:///default?socket={SOCK}\"");

/// The suite's files (`test_utils.rb` is their shared helper).
const FILES: &[&str] = &[
    "test_conn.rb",
    "test_domain.rb",
    "test_interface.rb",
    "test_network.rb",
    "test_nodedevice.rb",
    "test_nwfilter.rb",
    "test_open.rb",
    "test_secret.rb",
    "test_storage.rb",
    "test_stream.rb",
];

/// What the suite's shell commands may create on the host (`mkdir -p` of its pool's directory
/// creates the parents too), children before parents; each is removed after a run unless it was
/// there before (a parent directory only when empty).
const LEFTOVERS: &[&str] = &[
    "/var/lib/libvirt/images/rb-libvirt-test",
    "/var/lib/libvirt/images/rb-libvirt-test.qcow2",
    "/var/lib/libvirt/images/rb-libvirt-test.raw",
    "/var/lib/libvirt/images/rb-libvirt-test.save",
    "/var/lib/libvirt/images/ruby-libvirt-test.core",
    "/var/lib/libvirt/images",
    "/var/lib/libvirt",
];

/// How long one file may run (the longest, `test_domain.rb`, sleeps about 17 s in all).
const FILE_TIMEOUT_SECS: u32 = 120;

/// Where daemon-min still differs from libvirtd, and why. Measured when this tier came:
/// `ruby-libvirt: 650 same, 3 different` (631 checks pass on libvirtd, 12 fail): these two and
/// `connect.baseline_cpu`, until daemon-min served `CONNECT_BASELINE_CPU`; then `651 same, 2
/// different`.
///
/// Four files end early on both daemons, on an error the suite does not expect from a call
/// outside its checks (`test_conn.rb`, `test_nwfilter.rb` and `test_secret.rb` define an
/// nwfilter or a secret, which the test driver lacks; `test_domain.rb` destroys a transient
/// domain that its `shutdown` already removed), so their later checks run on neither. Run once
/// by hand with those calls' errors ignored (a Ruby prelude, not part of the tier: it changes
/// the suite's flow), before `CONNECT_BASELINE_CPU` was served: `1003 same, 3 different`, the
/// same three, and every failed check's error message identical.
const KNOWN: &[Known] = &[
    Known {
        test: "test_storage.rb storage_volume.download stream, offset, and length args #1",
        reason: "daemon-min's volume streams, its extension: libvirt 9.0's test driver has no volume download",
    },
    Known {
        test: "test_storage.rb storage_volume.upload stream, offset, and length args #1",
        reason: "daemon-min's volume streams, its extension: libvirt 9.0's test driver has no volume upload",
    },
];

/// `N ok, M fail, K skip` over the checks of one daemon's run.
fn totals(outcomes: &Outcomes) -> String {
    let count = |o: &str| outcomes.values().filter(|v| v.split(':').next() == Some(o)).count();
    format!("{} ok, {} fail, {} skip", count("ok"), count("fail"), count("skip"))
}

/// One output line of `test_utils.rb`: the check (`OBJECT.FUNC MESSAGE`), its outcome and, for
/// a failure, why.
fn check_line(line: &str) -> Option<(String, &'static str, String)> {
    if let Some(rest) = line.strip_prefix("OK: ") {
        let check = rest.strip_suffix(" succeeded").or_else(|| rest.rsplit_once(" threw ").map(|(c, _)| c))?;
        return Some((check.to_owned(), "ok", String::new()));
    }
    if let Some(rest) = line.strip_prefix("FAIL: ") {
        let (check, why) = rest.split_once(" expected to ").unwrap_or((rest, ""));
        return Some((check.to_owned(), "fail", why.to_owned()));
    }
    let rest = line.strip_prefix("SKIPPED: ")?;
    Some((rest.to_owned(), "skip", String::new()))
}

/// Runs the patched files against the daemon listening on `sock`: outcomes by check, and why
/// each failed check failed.
fn run_suite(suite: &Path, work: &Path, sock: &Path) -> (Outcomes, Outcomes) {
    let _ = std::fs::remove_dir_all(work);
    differential::copy_dir(&suite.join("tests"), work).expect("copy the suite");
    let uri = PATCH.1.replace("{SOCK}", &sock.display().to_string());
    let bare_uri = uri.trim_matches('"');
    let existed: Vec<bool> = LEFTOVERS.iter().map(|p| Path::new(p).exists()).collect();
    let (mut outcomes, mut reasons) = (Outcomes::new(), Outcomes::new());
    for file in FILES {
        let path = work.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        std::fs::write(&path, text.replace(PATCH.0, &uri)).expect("write the patched file");
        let out = Command::new("timeout")
            .arg(FILE_TIMEOUT_SECS.to_string())
            .args(["ruby", file])
            .env("RUBY_LIBVIRT_TEST_URI", bare_uri)
            .env("LIBVIRT_DEFAULT_URI", bare_uri)
            .current_dir(work)
            .stdin(Stdio::null())
            .output()
            .expect("run ruby");
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some((check, outcome, why)) = check_line(line) else { continue };
            // `test_open.rb` names the URI in its checks: the daemon's socket is volatile.
            let check = check.replace(&sock.display().to_string(), "{SOCK}");
            let n = seen.entry(check.clone()).or_default();
            *n += 1;
            let id = format!("{file} {check} #{n}");
            // A failed check's outcome holds why: the error libvirt reported must be libvirtd's.
            let outcome = if why.is_empty() { outcome.to_owned() } else { format!("{outcome}: {why}") };
            reasons.insert(id.clone(), why);
            outcomes.insert(id, outcome);
        }
        // The exception that ended the file early, if any (ruby's first line of the trace,
        // e.g. `test_conn.rb:494:in `define_nwfilter_xml': Call to … (Libvirt::DefinitionError)`).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ended_by = stderr.lines().find(|l| l.starts_with(file) && l.contains(":in `")).unwrap_or("");
        outcomes.insert(format!("{file} (exit)"), format!("exit {:?} {ended_by}", out.status.code()));
    }
    for (path, was_there) in LEFTOVERS.iter().zip(existed) {
        if !was_there {
            let path = Path::new(path);
            let _ = if path.is_dir() {
                if path.ends_with("rb-libvirt-test") {
                    std::fs::remove_dir_all(path)
                } else {
                    std::fs::remove_dir(path)
                }
            } else {
                std::fs::remove_file(path)
            };
        }
    }
    assert!(outcomes.len() >= 500, "the suite ran only {} checks:\n{outcomes:#?}", outcomes.len());
    (outcomes, reasons)
}

#[test]
#[ignore = "Debian's mirror here answers 404 for the ruby-libvirt source package; run with --ignored where it is served (or its tree is in target/tier-cache)"]
fn ruby_libvirt_suite_same_outcomes() {
    if require_peer("libvirtd").is_none()
        || require_peer("ruby").is_none()
        || !differential::require_runs("ruby", &["-e", "require 'libvirt'"], "ruby-libvirt")
    {
        return;
    }
    let Some(suite) = differential::debian_source("ruby-libvirt", "0.7.1-1.1", "ruby-libvirt-0.7.1") else { return };
    let work = std::env::temp_dir().join(format!("tier-ruby-libvirt-{}", std::process::id()));

    let ((theirs, their_reasons), (ours, our_reasons)) =
        differential::on_both(|d| run_suite(&suite, &work.join(d.name), d.socket));
    let _ = std::fs::remove_dir_all(&work);

    println!("libvirtd: {}; daemon-min: {}", totals(&theirs), totals(&ours));
    for (id, outcome) in theirs.iter().filter(|(id, _)| id.ends_with("(exit)")) {
        println!("  {id} on libvirtd: {outcome}");
    }
    let problems = compare("ruby-libvirt", &theirs, &ours, KNOWN);
    for id in theirs.keys().chain(ours.keys()).collect::<std::collections::BTreeSet<_>>() {
        if theirs.get(id) != ours.get(id) {
            let why = |r: &Outcomes| r.get(id).cloned().unwrap_or_default();
            println!("  {id}:\n    libvirtd: {}\n    daemon-min: {}", why(&their_reasons), why(&our_reasons));
        }
    }
    assert!(problems.is_empty(), "ruby-libvirt tier:\n{}", problems.join("\n"));
}
