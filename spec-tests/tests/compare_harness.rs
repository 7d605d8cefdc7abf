//! `bench/compare` runs end to end at a tiny size (CI shows the harness works; it measures
//! nothing): peers checked, the C client built against libvirt-dev, libvirtd and daemon-min
//! started, every workload run by every client, the table and the targets printed.

use std::path::PathBuf;
use std::process::Command;

use spec_tests::libvirtd::require_peer;

#[test]
fn compare_runs_every_workload_at_a_small_size() {
    if require_peer("libvirtd").is_none() || require_peer("cc").is_none() {
        return;
    }
    let compare = PathBuf::from(env!("CARGO_BIN_EXE_compare"));
    // daemon-min is another package's binary: the workspace build puts it next to ours.
    let daemon_min = compare.with_file_name("daemon-min");
    if !daemon_min.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo).args(["build", "-p", "daemon-min"]).status().is_ok_and(|s| s.success());
        assert!(ok, "cannot build daemon-min");
    }
    let out = Command::new(&compare)
        .args(["--quick", "--bench-client", env!("CARGO_BIN_EXE_bench_client")])
        .arg("--daemon-min")
        .arg(&daemon_min)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "compare failed:\n{stderr}");
    if stderr.contains("SKIPPED") {
        return;
    }
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ") && l.ends_with(" MB |")).collect();
    assert_eq!(rows.len(), 22, "one row per workload and client:\n{stdout}");
    for row in &rows {
        let rate: f64 = row.split('|').nth(2).unwrap().trim().parse().unwrap();
        assert!(rate > 0.0, "{row}");
    }
    for client in [
        "libvirt's C client",
        "C client with an event loop",
        "our blocking client",
        "our smol client",
        "proto-core",
        "raw socketpair",
    ] {
        assert!(rows.iter().any(|r| r.contains(client)), "{client} ran:\n{stdout}");
    }
    assert_eq!(stdout.matches("| ≥ ").count(), 10, "every ratio target is judged:\n{stdout}");
    assert!(stdout.contains("≤ 4 MB"), "the RSS target is judged:\n{stdout}");
    let alike = stdout.lines().skip_while(|l| !l.contains("C client with an event loop (as virsh")).skip(2);
    assert_eq!(
        alike.take_while(|l| l.ends_with("× |")).count(),
        5,
        "ours against the C client with an event loop:\n{stdout}"
    );
}
