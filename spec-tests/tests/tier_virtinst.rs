//! Differential tier 2: Debian's virtinst (`virt-install`, `virt-clone`, `virt-xml`) against a
//! fresh libvirtd 9.0 and a fresh daemon-min. The same command sequence runs on both; every
//! command's exit status, standard output and error line are compared (random values masked:
//! UUIDs, MAC addresses, the log file's name), and the tier prints `virtinst: N same, M different`.
//!
//! A connection stays open to each daemon for the whole sequence, so that the test driver keeps
//! its state between commands (each command is a connection of its own).
//!
//! Measured on this tier's introduction: `virtinst: 18 same, 5 different` (no
//! `STORAGE_VOL_CREATE_XML_FROM` for virt-clone, controllers written without an index kept
//! without one); then `23 same, 0 different`.
//!
//! Every remaining difference must be listed in [`KNOWN`] with its reason, and every listed one
//! must still differ. Fails under `CI=true` when libvirtd or virtinst is missing (`.ci/install-peers`
//! installs it); skips loudly otherwise.

use std::path::Path;
use std::process::{Command, Stdio};

use adapter_blocking::{Client, ConnectOptions};
use spec_tests::differential::{self, compare, Known, Outcomes};
use spec_tests::libvirtd::require_peer;

/// The sequence: (test id, program, arguments after `--connect URI`).
const COMMANDS: &[(&str, &str, &[&str])] = &[
    (
        "print-xml",
        "virt-install",
        &[
            "--print-xml",
            "--name",
            "vi-print",
            "--memory",
            "512",
            "--vcpus",
            "2",
            "--disk",
            "none",
            "--import",
            "--osinfo",
            "generic",
            "--graphics",
            "none",
            "--network",
            "network=default",
        ],
    ),
    (
        "print-xml-disk",
        "virt-install",
        &[
            "--print-xml",
            "--name",
            "vi-print2",
            "--memory",
            "256",
            "--disk",
            "pool=default-pool,size=1",
            "--import",
            "--osinfo",
            "generic",
            "--graphics",
            "vnc",
            "--network",
            "none",
        ],
    ),
    (
        "install-import",
        "virt-install",
        &[
            "--name",
            "vi-import",
            "--memory",
            "256",
            "--disk",
            "none",
            "--import",
            "--osinfo",
            "generic",
            "--graphics",
            "none",
            "--network",
            "none",
            "--noautoconsole",
        ],
    ),
    (
        "install-with-volume",
        "virt-install",
        &[
            "--name",
            "vi-disk",
            "--memory",
            "256",
            "--disk",
            "pool=default-pool,size=1",
            "--import",
            "--osinfo",
            "generic",
            "--graphics",
            "none",
            "--network",
            "network=default",
            "--noautoconsole",
        ],
    ),
    (
        "install-duplicate",
        "virt-install",
        &[
            "--name",
            "vi-import",
            "--memory",
            "256",
            "--disk",
            "none",
            "--import",
            "--osinfo",
            "generic",
            "--noautoconsole",
        ],
    ),
    ("xml-edit-memory", "virt-xml", &["vi-import", "--edit", "--memory", "300"]),
    ("xml-edit-vcpus-diff", "virt-xml", &["vi-import", "--edit", "--vcpus", "3", "--print-diff"]),
    ("xml-add-disk", "virt-xml", &["vi-import", "--add-device", "--disk", "pool=default-pool,size=1"]),
    ("xml-remove-disk", "virt-xml", &["vi-import", "--remove-device", "--disk", "1"]),
    (
        "xml-add-network-diff",
        "virt-xml",
        &["vi-import", "--add-device", "--network", "network=default", "--print-diff"],
    ),
    ("xml-live-running", "virt-xml", &["test", "--edit", "--memory", "1024", "--update"]),
    ("xml-hotplug-network", "virt-xml", &["test", "--add-device", "--network", "network=default", "--update"]),
    ("dumpxml-test", "virsh", &["dumpxml", "test"]),
    ("dumpxml-vi-import", "virsh", &["dumpxml", "vi-import", "--inactive"]),
    ("destroy-vi-disk", "virsh", &["destroy", "vi-disk"]),
    ("destroy-vi-import", "virsh", &["destroy", "vi-import"]),
    ("clone-auto", "virt-clone", &["--original", "vi-disk", "--name", "vi-disk-clone", "--auto-clone"]),
    (
        "clone-print-xml",
        "virt-clone",
        &["--original", "vi-import", "--name", "vi-import-clone", "--auto-clone", "--print-xml"],
    ),
    ("clone-running", "virt-clone", &["--original", "test", "--auto-clone"]),
    ("clone-missing", "virt-clone", &["--original", "nosuch", "--auto-clone"]),
    ("dumpxml-clone", "virsh", &["dumpxml", "vi-disk-clone"]),
    ("vol-list", "virsh", &["vol-list", "default-pool", "--details"]),
    ("pool-list", "virsh", &["pool-list", "--all", "--details"]),
];

/// Where daemon-min still differs from libvirtd, and why.
const KNOWN: &[Known] = &[];

/// Masks what is random from run to run.
fn normalize(text: &str, home: &Path, uri: &str) -> String {
    let mut out = String::new();
    for word in text.split_inclusive(|c: char| c == '\'' || c == '"' || c == '>' || c == '<' || c.is_whitespace()) {
        let core = word.trim_end_matches(|c: char| c == '\'' || c == '"' || c == '>' || c == '<' || c.is_whitespace());
        let tail = &word[core.len()..];
        let is_uuid = core.len() == 36 && core.chars().filter(|c| *c == '-').count() == 4;
        let is_mac = core.len() == 17 && core.chars().filter(|c| *c == ':').count() == 5;
        if is_uuid {
            out.push_str("UUID");
        } else if is_mac {
            out.push_str("MAC");
        } else {
            out.push_str(core);
        }
        out.push_str(tail);
    }
    out.replace(uri, "URI").replace(&home.display().to_string(), "HOME")
}

fn run_sequence(uri: &str, home: &Path) -> (Outcomes, Outcomes) {
    // Keeps the test driver's state alive between the commands' own connections.
    let keep = Client::connect(uri, &ConnectOptions::default()).expect("connect");
    let (mut outcomes, mut detail) = (Outcomes::new(), Outcomes::new());
    for (id, program, args) in COMMANDS {
        let out = Command::new("timeout")
            .arg("120")
            .arg(program)
            .arg("--connect")
            .arg(uri)
            .args(*args)
            .env("HOME", home)
            .env("LANG", "C.UTF-8")
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        let stdout = normalize(&String::from_utf8_lossy(&out.stdout), home, uri);
        let stderr = normalize(&String::from_utf8_lossy(&out.stderr), home, uri);
        let error_line = stderr.lines().find(|l| l.starts_with("ERROR")).unwrap_or("").to_owned();
        let digest = format!("exit {:?}\n{stdout}{error_line}", out.status.code());
        outcomes.insert((*id).to_owned(), digest);
        detail.insert((*id).to_owned(), stderr);
    }
    keep.close().expect("close");
    (outcomes, detail)
}

#[test]
fn virtinst_same_results() {
    if require_peer("libvirtd").is_none() || require_peer("virt-install").is_none() {
        return;
    }
    let home = std::env::temp_dir().join(format!("tier-virtinst-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).expect("create HOME");

    let ((theirs, their_detail), (ours, our_detail)) = differential::on_both(|d| run_sequence(d.uri, &home));
    let _ = std::fs::remove_dir_all(&home);

    // Summaries as the other tiers print them: one word per command.
    let short = |o: &Outcomes| -> Outcomes {
        o.iter().map(|(k, v)| (k.clone(), v.lines().next().unwrap_or("").to_owned())).collect()
    };
    println!("libvirtd: {:?}", short(&theirs));

    let problems = compare("virtinst", &theirs, &ours, KNOWN);
    if std::env::var_os("TIER_VERBOSE").is_some() {
        for (id, digest) in &ours {
            if theirs.get(id) != Some(digest) {
                println!(
                    "--- {id}\n  libvirtd:\n{}\n{}\n  daemon-min:\n{digest}\n{}",
                    theirs[id], their_detail[id], our_detail[id]
                );
            }
        }
    }
    assert!(problems.is_empty(), "virtinst tier:\n{}", problems.join("\n"));
}
