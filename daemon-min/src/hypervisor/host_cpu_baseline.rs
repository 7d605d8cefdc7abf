//! `CONNECT_BASELINE_CPU` as libvirt 9.0's test driver serves it (`testConnectBaselineCPU`):
//! the host CPUs parsed, `virCPUBaseline` computed by the architecture's CPU driver, features
//! optionally expanded (`VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES`), the guest CPU formatted.
//!
//! x86 (`cpu_x86.c`): each CPU's model data plus its features, intersected; the vendor checked;
//! then the model libvirt picks to describe the result — the models tried newest first, a
//! model named by every input CPU taken at once, otherwise the one needing the fewest
//! `<feature>` lines (disabled features weigh more), ties kept by the newer model — with the
//! features to add (`require`) and to remove (`disable`). ppc64 takes the models' names as
//! they are, ARM the first CPU's model; s390 has no baseline.

use proto_core::error::ErrorCode;

use super::error::{check_flags, Result};
use super::host_cpu_def::{parse_list, GuestCpu, HostCpu, Policy};
use super::host_cpu_map::{self, cpu_error, CpuData, Leaf, X86Map, X86Model};
use super::Hypervisor;

/// `VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES`: the only flag the test driver takes.
const EXPAND_FEATURES: u32 = 1;

/// The CPU drivers of libvirt 9.0 (`src/cpu/cpu.c`), by architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    X86,
    Ppc64,
    S390,
    Arm,
}

fn driver(arch: &str) -> Result<Driver> {
    match arch {
        "i686" | "x86_64" => Ok(Driver::X86),
        "ppc64" | "ppc64le" => Ok(Driver::Ppc64),
        "s390" | "s390x" => Ok(Driver::S390),
        "armv6l" | "armv7b" | "armv7l" | "aarch64" => Ok(Driver::Arm),
        _ => Err(cpu_error(
            ErrorCode::VIR_ERR_NO_SUPPORT,
            format!("'{arch}' architecture is not supported by CPU driver"),
        )),
    }
}

fn failed(message: String) -> super::Error {
    cpu_error(ErrorCode::VIR_ERR_OPERATION_FAILED, message)
}

fn internal(message: String) -> super::Error {
    cpu_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, message)
}

impl Hypervisor {
    /// `CONNECT_BASELINE_CPU`: the most capable CPU every host CPU of `xml_cpus` can run, as a
    /// guest CPU definition.
    pub fn connect_baseline_cpu(&self, xml_cpus: &[String], flags: u32) -> Result<String> {
        check_flags(flags, EXPAND_FEATURES, "testConnectBaselineCPU")?;
        baseline_cpu(xml_cpus, flags & EXPAND_FEATURES != 0)
    }
}

/// The test driver's entry point without its flag check.
fn baseline_cpu(xml_cpus: &[String], expand: bool) -> Result<String> {
    let cpus = parse_list(xml_cpus)?;
    let arch = cpus[0].arch.as_str();
    let mut cpu = match driver(arch)? {
        Driver::X86 => x86_baseline(host_cpu_map::x86()?, &cpus)?,
        Driver::Ppc64 => ppc64_baseline(&cpus)?,
        Driver::Arm => {
            GuestCpu { model: cpus[0].model.clone(), vendor: None, fallback_forbid: false, features: Vec::new() }
        }
        Driver::S390 => {
            return Err(cpu_error(
                ErrorCode::VIR_ERR_NO_SUPPORT,
                format!("cannot compute baseline CPU of {arch} architecture"),
            ))
        }
    };
    if expand {
        if driver(arch)? == Driver::X86 {
            x86_expand_features(host_cpu_map::x86()?, &mut cpu)?;
        }
        cpu.features.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    Ok(cpu.format())
}

/// `x86ModelFromCPU(cpu, map, -1)` for a host CPU: its model's data and its features'.
fn x86_model_from_cpu<'m>(map: &'m X86Map, cpu: &HostCpu) -> Result<(&'m X86Model, CpuData)> {
    let model = map.model(&cpu.model).ok_or_else(|| internal(format!("Unknown CPU model {}", cpu.model)))?;
    let mut data = model.data.clone();
    for name in &cpu.features {
        let feature = map.feature(name).ok_or_else(|| internal(format!("Unknown CPU feature {name}")))?;
        data.add(&feature.data);
    }
    Ok((model, data))
}

/// `virCPUx86Baseline` with no model list, no feature list and `migratable` false.
fn x86_baseline(map: &X86Map, cpus: &[HostCpu]) -> Result<GuestCpu> {
    let (_, mut base) = x86_model_from_cpu(map, &cpus[0])?;
    let mut output_vendor = true;
    let mut vendor = None;
    match &cpus[0].vendor {
        None => output_vendor = false,
        Some(v) => vendor = Some(map.vendor(v).ok_or_else(|| failed(format!("Unknown CPU vendor {v}")))?),
    }
    let mut names: Vec<&str> = vec![&cpus[0].model];
    for cpu in &cpus[1..] {
        if !names.contains(&cpu.model.as_str()) {
            names.push(&cpu.model);
        }
        let (model, data) = x86_model_from_cpu(map, cpu)?;
        let model_vendor = model.vendor.map(|v| map.vendors[v].name.as_str());
        if let (Some(v), Some(mv)) = (&cpu.vendor, model_vendor) {
            if v != mv {
                return Err(failed(format!("CPU vendor {mv} of model {} differs from vendor {v}", model.name)));
            }
        }
        let vn = match &cpu.vendor {
            Some(v) => Some(v.as_str()),
            None => {
                output_vendor = false;
                model_vendor
            }
        };
        if let Some(vn) = vn {
            match vendor {
                None => vendor = Some(map.vendor(vn).ok_or_else(|| failed(format!("Unknown CPU vendor {vn}")))?),
                Some(v) if map.vendors[v].name != vn => return Err(failed("CPU vendors do not match".to_owned())),
                Some(_) => {}
            }
        }
        base.intersect(&data);
    }
    if base.is_empty() {
        return Err(failed("CPUs are incompatible".to_owned()));
    }
    if let Some(v) = vendor {
        base.add(&vendor_data(map, v));
    }
    let mut cpu = x86_decode(map, &base, &names)?;
    cpu.fallback_forbid = names.len() == 1 && cpu.model == names[0];
    if !output_vendor {
        cpu.vendor = None;
    }
    Ok(cpu)
}

/// A vendor's CPUID leaf 0 as CPU data.
fn vendor_data(map: &X86Map, vendor: usize) -> CpuData {
    let mut data = CpuData::default();
    data.add_leaf(Leaf::Cpuid(0, 0), map.vendors[vendor].regs);
    data
}

/// `x86DataToCPUFeatures`: every map feature wholly in `data`, in the map's order, taken out of
/// `data` as it is listed.
fn x86_data_to_features(map: &X86Map, data: &mut CpuData, policy: Policy, out: &mut Vec<(String, Policy)>) {
    for feature in &map.features {
        if data.contains(&feature.data) {
            data.subtract(&feature.data);
            out.push((feature.name.clone(), policy));
        }
    }
}

/// `x86DataToCPU` for a guest CPU: `model` plus what `data` has beyond it (`require`) minus
/// what it lacks (`disable`), and the model's removed features disabled.
fn x86_data_to_cpu(map: &X86Map, data: &CpuData, model: &X86Model) -> GuestCpu {
    let mut extra = data.clone();
    extra.subtract(&model.data);
    let mut missing = model.data.clone();
    missing.subtract(data);
    let mut cpu = GuestCpu { model: model.name.clone(), vendor: None, fallback_forbid: false, features: Vec::new() };
    x86_data_to_features(map, &mut extra, Policy::Require, &mut cpu.features);
    x86_data_to_features(map, &mut missing, Policy::Disable, &mut cpu.features);
    for name in &model.removed {
        cpu.add_if_missing(name, Policy::Disable);
    }
    cpu
}

/// `virCPUx86CompareCandidateFeatureList` for guest CPUs: the number of `<feature>` lines, a
/// disabled one counting 2, the next 3, and so on (walked as libvirt walks them).
fn weight(cpu: &GuestCpu) -> (usize, usize) {
    let mut enabled = cpu.features.len();
    let mut disabled = 0;
    let mut penalty = 2;
    let mut i = 0;
    while i < enabled {
        if cpu.features[i].1 == Policy::Disable {
            enabled -= 1;
            disabled += penalty;
            penalty += 1;
        }
        i += 1;
    }
    (enabled + disabled, disabled)
}

/// `x86Decode` of baseline data (a guest CPU, no signature, no hypervisor model list).
fn x86_decode(map: &X86Map, data: &CpuData, preferred: &[&str]) -> Result<GuestCpu> {
    let mut data = data.clone();
    // x86DataToVendor: the first vendor whose string is in leaf 0, taken out of the data.
    let vendor = map.vendors.iter().position(|v| {
        data.get(Leaf::Cpuid(0, 0)).is_some_and(|regs| regs.iter().zip(&v.regs).all(|(r, m)| r & m == *m))
    });
    if let Some(v) = vendor {
        data.clear_bits(Leaf::Cpuid(0, 0), &map.vendors[v].regs);
    }
    let mut best: Option<GuestCpu> = None;
    for candidate in map.models.iter().rev() {
        if let (Some(v), Some(cv)) = (vendor, candidate.vendor) {
            if v != cv {
                continue;
            }
        }
        if !candidate.decode_guest {
            continue;
        }
        let cpu = x86_data_to_cpu(map, &data, candidate);
        let is_preferred = preferred.contains(&candidate.name.as_str());
        if is_preferred && preferred.len() == 1 {
            best = Some(cpu);
            break;
        }
        let better = match &best {
            None => true,
            Some(current) => {
                let (cur, cur_disabled) = weight(current);
                let (cand, cand_disabled) = weight(&cpu);
                cand < cur
                    || (cand == cur && cand_disabled < cur_disabled)
                    || (is_preferred && cand_disabled < cur_disabled)
            }
        };
        if better {
            best = Some(cpu);
        }
    }
    let mut cpu = best.ok_or_else(|| internal("Cannot find suitable CPU model for given data".to_owned()))?;
    cpu.vendor = vendor.map(|v| map.vendors[v].name.clone());
    Ok(cpu)
}

/// `virCPUx86ExpandFeatures` for a guest CPU: every feature of its model listed (`require`),
/// its own features' policies kept, the model's removed features disabled.
fn x86_expand_features(map: &X86Map, cpu: &mut GuestCpu) -> Result<()> {
    let model = map.model(&cpu.model).ok_or_else(|| internal(format!("unknown CPU model {}", cpu.model)))?;
    let mut expanded = GuestCpu { features: Vec::new(), ..cpu.clone() };
    let mut data = model.data.clone();
    x86_data_to_features(map, &mut data, Policy::Require, &mut expanded.features);
    for (name, policy) in &cpu.features {
        expanded.update(name, *policy);
    }
    for name in &model.removed {
        expanded.add_if_missing(name, Policy::Disable);
    }
    cpu.features = expanded.features;
    Ok(())
}

/// `virCPUppc64Baseline`: every CPU must name the same model; the vendors must agree.
fn ppc64_baseline(cpus: &[HostCpu]) -> Result<GuestCpu> {
    let map = host_cpu_map::ppc64()?;
    let model = map
        .models
        .iter()
        .find(|m| m.name == cpus[0].model)
        .ok_or_else(|| internal(format!("Unknown CPU model {}", cpus[0].model)))?;
    let mut vendor = None;
    for cpu in cpus {
        if cpu.model != model.name {
            return Err(failed("CPUs are incompatible".to_owned()));
        }
        let Some(v) = &cpu.vendor else { continue };
        let vnd = map.vendors.iter().position(|x| x == v).ok_or_else(|| failed(format!("Unknown CPU vendor {v}")))?;
        match (model.vendor, vendor) {
            (Some(mv), _) if mv != vnd => {
                return Err(failed(format!(
                    "CPU vendor {} of model {} differs from vendor {v}",
                    map.vendors[mv], model.name
                )))
            }
            (Some(_), _) => {}
            (None, Some(cur)) if cur != vnd => return Err(failed("CPU vendors do not match".to_owned())),
            (None, Some(_)) => {}
            (None, None) => vendor = Some(vnd),
        }
    }
    Ok(GuestCpu {
        model: model.name.clone(),
        vendor: vendor.map(|v| map.vendors[v].clone()),
        fallback_forbid: true,
        features: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(arch: &str, model: &str, vendor: Option<&str>, features: &[&str]) -> String {
        let vendor = vendor.map(|v| format!("<vendor>{v}</vendor>")).unwrap_or_default();
        let features: String = features.iter().map(|f| format!("<feature name='{f}'/>")).collect();
        format!("<cpu><arch>{arch}</arch><model>{model}</model>{vendor}{features}</cpu>")
    }

    fn have_map() -> bool {
        let ok = std::path::Path::new(host_cpu_map::DEFAULT_CPU_MAP_DIR).join("index.xml").exists();
        if !ok {
            eprintln!("SKIPPED: no CPU map installed");
        }
        ok
    }

    #[test]
    fn identical_cpus_keep_their_model() {
        if !have_map() {
            return;
        }
        let cpu = host("x86_64", "Haswell", Some("Intel"), &[]);
        let out = baseline_cpu(&[cpu.clone(), cpu], false).unwrap();
        assert_eq!(out, "<cpu mode='custom' match='exact'>\n  <model fallback='forbid'>Haswell</model>\n  <vendor>Intel</vendor>\n</cpu>\n");
    }

    #[test]
    fn different_models_meet_in_the_older() {
        if !have_map() {
            return;
        }
        let a = host("x86_64", "Haswell", Some("Intel"), &[]);
        let b = host("x86_64", "Broadwell", Some("Intel"), &["vmx"]);
        let out = baseline_cpu(&[a, b], false).unwrap();
        assert!(out.contains("<model fallback='allow'>Haswell</model>"), "{out}");
        let out = baseline_cpu(&[host("x86_64", "Haswell", Some("Intel"), &["vmx"])], true).unwrap();
        let features: Vec<&str> = out.lines().filter(|l| l.contains("<feature")).collect();
        assert!(features.contains(&"  <feature policy='require' name='vmx'/>"), "{out}");
        assert!(features.windows(2).all(|w| w[0] < w[1]), "sorted: {out}");
    }

    #[test]
    fn errors_as_libvirt_reports_them() {
        if !have_map() {
            return;
        }
        let err = |docs: &[String]| baseline_cpu(docs, false).unwrap_err();
        let intel = host("x86_64", "Haswell", Some("Intel"), &[]);
        let amd = host("x86_64", "EPYC", Some("AMD"), &[]);
        assert_eq!(err(&[intel.clone(), amd]).triple(), (9, 31, "operation failed: CPU vendors do not match"));
        assert_eq!(
            err(&[host("x86_64", "Nope", None, &[])]).triple(),
            (1, 31, "internal error: Unknown CPU model Nope")
        );
        assert_eq!(
            err(&[host("x86_64", "Haswell", None, &["nope"])]).triple(),
            (1, 31, "internal error: Unknown CPU feature nope")
        );
        assert_eq!(
            err(&[host("x86_64", "Haswell", Some("Cyrix"), &[])]).triple(),
            (9, 31, "operation failed: Unknown CPU vendor Cyrix")
        );
        assert_eq!(
            err(&[host("s390x", "z13", None, &[])]).triple(),
            (3, 31, "this function is not supported by the connection driver: cannot compute baseline CPU of s390x architecture")
        );
        assert_eq!(
            err(&[host("mips", "m", None, &[])]).triple(),
            (3, 31, "this function is not supported by the connection driver: 'mips' architecture is not supported by CPU driver")
        );
        let flags = Hypervisor::new_default("host").connect_baseline_cpu(&[intel], 2).unwrap_err();
        assert_eq!(flags.triple(), (8, 12, "unsupported flags (0x2) in function testConnectBaselineCPU"));
    }

    #[test]
    fn other_architectures() {
        if !have_map() {
            return;
        }
        let arm = baseline_cpu(&[host("aarch64", "cortex-a57", None, &[])], true).unwrap();
        assert_eq!(arm, "<cpu mode='custom' match='exact'>\n  <model fallback='allow'>cortex-a57</model>\n</cpu>\n");
        let p8 = host("ppc64le", "POWER8", Some("IBM"), &[]);
        assert!(baseline_cpu(&[p8.clone(), p8.clone()], false).unwrap().contains("fallback='forbid'>POWER8<"));
        let p9 = host("ppc64le", "POWER9", None, &[]);
        assert_eq!(baseline_cpu(&[p8, p9], false).unwrap_err().message(), "operation failed: CPUs are incompatible");
    }
}
