//! `DAEMON_MIN_CPU_MAP_DIR` names the CPU map `CONNECT_BASELINE_CPU` reads, at run time: a map
//! of libvirt's vendors and features with a single model (its files copied from the map
//! libvirt installs) knows that model and no other, and the map is read once. (Its own test
//! binary: the map is read once per process.)
//!
//! Skips loudly when libvirt's CPU map is not installed.

use std::path::Path;

use daemon_min::hypervisor::host_cpu_map::{CPU_MAP_DIR_ENV, DEFAULT_CPU_MAP_DIR};
use daemon_min::hypervisor::Hypervisor;

fn cpu(model: &str) -> String {
    format!("<cpu><arch>x86_64</arch><model>{model}</model><vendor>Intel</vendor></cpu>")
}

#[test]
fn the_map_directory_is_data_read_at_run_time() {
    let installed = Path::new(DEFAULT_CPU_MAP_DIR);
    if !installed.join("index.xml").exists() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "no CPU map in {DEFAULT_CPU_MAP_DIR}");
        eprintln!("SKIPPED: no CPU map in {DEFAULT_CPU_MAP_DIR}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("dm-cpu-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["x86_vendors.xml", "x86_features.xml", "x86_Haswell-noTSX.xml"] {
        std::fs::copy(installed.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("index.xml"),
        "<cpus><arch name='x86'><include filename='x86_vendors.xml'/><include filename='x86_features.xml'/>\
         <include filename='x86_Haswell-noTSX.xml'/></arch></cpus>",
    )
    .unwrap();
    std::env::set_var(CPU_MAP_DIR_ENV, &dir);
    let h = Hypervisor::new_default("host");
    let out = h.connect_baseline_cpu(&[cpu("Haswell-noTSX"), cpu("Haswell-noTSX")], 0).unwrap();
    assert!(out.contains("<model fallback='forbid'>Haswell-noTSX</model>"), "{out}");
    let e = h.connect_baseline_cpu(&[cpu("Haswell")], 0).unwrap_err();
    assert_eq!(e.triple(), (1, 31, "internal error: Unknown CPU model Haswell"));
    // Read once: the files may go, the map stays.
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(h.connect_baseline_cpu(&[cpu("Haswell-noTSX")], 1).unwrap().contains("name='avx2'"));
    // No other architecture's map in that directory was read yet: ppc64 finds none now.
    let ppc = "<cpu><arch>ppc64</arch><model>POWER9</model></cpu>".to_owned();
    let e = h.connect_baseline_cpu(&[ppc], 0).unwrap_err();
    let index = dir.join("index.xml").display().to_string();
    assert_eq!(e.triple(), (27, 31, format!("XML error: failed to parse xml document '{index}'").as_str()));
}
