//! Differential tier 3: our own table of libvirt entry points (`tests/tiers/entry_points.py`, its rows in `ep_domains.py`, `ep_objects.py`, `ep_files.py`, `ep_cpu.py` and `ep_conf.py`),
//! called in order through Debian's python3-libvirt on a fresh libvirtd 9.0 and on a fresh
//! daemon-min; each call's result (value, or error code, domain and message) is compared field by
//! field, and the tier prints `entry-points: N same, M different`. The fields that change from
//! run to run are named in the table (its third column) and masked on both sides.
//!
//! Measured: 117 same, 54 different at the tier's introduction; 149 same, 33 different with
//! snapshots and checkpoints; 169 same, 30 different with CPU statistics, memory and NUMA
//! parameters and life-cycle actions (17 rows added for them, all the same); 195 same, 27
//! different with metadata (23 rows added, its events among them); 198 same, 27 different with
//! the screenshot (3 rows added); 205 same, 25 different with memory statistics and block
//! information (5 rows added); 207 same, 24 different with disk errors (1 row added); 313 same,
//! 8 different with vCPU, emulator and IOThread placement, the guest calls (file systems,
//! interface addresses and statistics, block statistics, memory peek, password, signal, balloon
//! period, launch security), `getAllDomainStats` and rename (90 rows added, all the same; 16
//! rows that differed before are now the same); 355 same, 4 different with blkio parameters,
//! block I/O throttling, interface bandwidth and perf events (38 rows added, all the same; 4
//! rows that differed before are now the same); 366 same, 4 different with those entry points
//! on a read-only connection (11 rows added, all the same); 372 same, 4 different with
//! `<iothreadids>` filled in up to `<iothreads>` at define (6 rows added, all the same); 386
//! same, 4 different with the filled-in ids remembered as libvirt does (14 rows added, all the
//! same); 392 same, 4 different with defined `<blkiotune>`, `<perf>`, `<iotune>` and
//! `<bandwidth>` read back and written as libvirt writes them (6 rows added, all the same); 397
//! same, 4 different with a defined `<cputune>` ordered and its CPU sets written as libvirt
//! does (5 rows added, all the same); 398 same, 4 different with `domainListGetStats` given a
//! domain that is gone (1 row added, the same); 650 same, 0 different with the host half of the
//! remaining entry points (save/restore, save images, core dumps and starting with files,
//! descriptors passed with the call, CPU model names, free pages, pool source discovery, the
//! network define/create flags, network updates of every section, creating and destroying node
//! devices and their events: 248 rows added, all the same; the 4 rows that differed before are
//! now the same; the save files go to a temporary directory whose name is masked); 696 same, 0
//! different with CPU baselines (`ep_cpu.py`: 46 rows added, all the same — x86 models picked
//! and the `<feature>` lines printed, with and without EXPAND_FEATURES, host CPUs as
//! `virsh capabilities` shows them, AMD and Hygon, ppc64, ARM, s390 and unknown architectures,
//! every refusal, and `virsh cpu-baseline FILE` run against each daemon); 777 same, 0
//! different with the parsers' edges (`ep_conf.py`: 81 rows added, 50 of which differed before
//! — `<bandwidth>` rates on interfaces, networks and port groups, `<cputune>` pins duplicated,
//! incomplete or out of range, `<vlan>` and `<virtualport>` of networks, port groups (defined
//! or added by NETWORK_UPDATE) and interfaces, node devices of every capability type — and are
//! now the same).
//!
//! Every remaining difference must be listed in [`KNOWN`] with its reason, and every listed one
//! must still differ. Fails under `CI=true` when libvirtd or python3-libvirt is missing; skips
//! loudly otherwise.

use std::process::{Command, Stdio};

use spec_tests::differential::{self, compare, Known, Outcomes, PYTHON};
use spec_tests::libvirtd::require_peer;

const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tiers/entry_points.py");

/// Where daemon-min still differs from libvirtd, and why.
const KNOWN: &[Known] = &[];

fn run_table(uri: &str) -> Outcomes {
    let out = Command::new("timeout")
        .arg("300")
        .arg(PYTHON)
        .arg(TABLE)
        .arg(uri)
        .stdin(Stdio::null())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the table failed on {uri}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let outcomes: Outcomes = stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(id, result)| (id.to_owned(), result.to_owned()))
        .collect();
    assert!(outcomes.len() > 100, "the table ran only {} calls:\n{stdout}", outcomes.len());
    outcomes
}

#[test]
fn entry_points_same_results() {
    if require_peer("libvirtd").is_none() || !differential::require_python_module("libvirt", "python3-libvirt") {
        return;
    }
    let (theirs, ours) = differential::on_both(|d| run_table(d.uri));
    let problems = compare("entry-points", &theirs, &ours, KNOWN);
    assert!(problems.is_empty(), "entry-points tier:\n{}", problems.join("\n"));
}
