//! The test driver's domain entries that read or write typed parameters and tunables: CPU
//! statistics, memory parameters (`<memtune>`), NUMA parameters (`<numatune>`) and the life-cycle
//! actions (`<on_poweroff>`, `<on_reboot>`, `<on_crash>`). Each follows libvirt 9.0's
//! `src/test/test_driver.c` and the checks of the public API and of libvirtd's dispatcher.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_conf::DomainDef;
use super::domain_tune::{validate_params, TypedValue, AFFECT_CONFIG, AFFECT_LIVE};
use super::error::{self, Result};
use super::xml::{Element, Node};
use super::Hypervisor;

/// `VIR_TYPED_PARAM_STRING_OKAY`.
const STRING_OKAY: u32 = 4;
/// `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`, KiB.
const MEMORY_UNLIMITED: u64 = 9_007_199_254_740_991;
/// The test driver's total CPU time (`TEST_TOTAL_CPUTIME`), ns.
const TOTAL_CPUTIME: u64 = 48_772_617_035;
/// Host CPUs the test driver's per-CPU statistics cover (its node's `cores`).
const STATS_CPUS: u32 = 2;
/// `REMOTE_NODE_CPU_STATS_MAX`.
const NODE_CPU_STATS_MAX: u32 = 16;
/// `REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX`.
const CPU_STATS_NCPUS_MAX: u32 = 128;
/// `REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX` and `REMOTE_DOMAIN_NUMA_PARAMETERS_MAX`.
const PARAMETERS_MAX: i32 = 16;
/// `VIR_DOMAIN_CPUMASK_LEN`: the bits a nodeset may name.
const CPUMASK_LEN: u32 = 16384;
/// `virDomainNumatuneMemMode`, in order.
const NUMA_MODES: [&str; 4] = ["strict", "preferred", "interleave", "restrictive"];
/// `virDomainLifecycle`, in order.
const LIFECYCLES: [&str; 3] = ["poweroff", "reboot", "crash"];
/// `virDomainLifecycleAction`, in order.
const ACTIONS: [&str; 6] = ["destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"];
/// The `<memtune>` limits and their typed-parameter names, in the order libvirt writes them.
const MEMTUNE: [(&str, &str); 3] =
    [("hard_limit", "hard_limit"), ("soft_limit", "soft_limit"), ("swap_hard_limit", "swap_hard_limit")];

fn internal_rpc(what: &str) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INTERNAL_ERROR, ErrorDomain::VIR_FROM_RPC, format!("internal error: {what}"))
}

fn invalid_arg(domain: ErrorDomain, message: String) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INVALID_ARG, domain, format!("invalid argument: {message}"))
}

/// libvirtd's `nparams too large` for a getter's requested count.
fn check_nparams(nparams: i32) -> Result<()> {
    if nparams > PARAMETERS_MAX {
        return Err(internal_rpc("nparams too large"));
    }
    if nparams < 0 {
        return Err(invalid_arg(
            ErrorDomain::VIR_FROM_DOMAIN,
            "nparams in virDomainGetMemoryParameters must not be negative".into(),
        ));
    }
    Ok(())
}

/// A parameter list cut to what the caller asked for, strings left out unless the caller
/// takes them (`virTypedParamsSerialize`).
fn cut(mut params: Vec<(String, TypedValue)>, nparams: i32, flags: u32) -> Vec<(String, TypedValue)> {
    params.truncate(usize::try_from(nparams).unwrap_or(0));
    if flags & STRING_OKAY == 0 {
        params.retain(|(_, v)| !matches!(v, TypedValue::String(_)));
    }
    params
}

/// `virBitmapParse`: `1,3-5,^4` into the set bits, below `CPUMASK_LEN`.
pub(super) fn parse_bitmap(text: &str) -> Result<Vec<u32>> {
    let fail = || invalid_arg(ErrorDomain::VIR_FROM_NONE, format!("Failed to parse bitmap '{text}'"));
    let number = |s: &str| -> Result<u32> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail());
        }
        s.parse::<u32>().ok().filter(|n| *n < CPUMASK_LEN).ok_or_else(fail)
    };
    if text.trim().is_empty() {
        return Err(fail());
    }
    let mut bits = std::collections::BTreeSet::new();
    for item in text.split(',') {
        let item = item.trim();
        if let Some(neg) = item.strip_prefix('^') {
            bits.remove(&number(neg)?);
        } else if let Some((lo, hi)) = item.split_once('-') {
            let (lo, hi) = (number(lo)?, number(hi)?);
            if hi < lo {
                return Err(fail());
            }
            bits.extend(lo..=hi);
        } else {
            bits.insert(number(item)?);
        }
    }
    Ok(bits.into_iter().collect())
}

/// `virBitmapFormat`: ascending bits as `0-2,5`.
pub(super) fn format_bitmap(bits: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bits.len() {
        let start = bits[i];
        while i + 1 < bits.len() && bits[i + 1] == bits[i] + 1 {
            i += 1;
        }
        out.push(if bits[i] == start { start.to_string() } else { format!("{start}-{}", bits[i]) });
        i += 1;
    }
    out.join(",")
}

/// A limit of `<memtune>`, in KiB (unlimited when absent).
fn memtune_limit(def: &DomainDef, name: &str) -> u64 {
    let Some(e) = def.kept.iter().find(|k| k.name == "memtune").and_then(|m| m.child(name)) else {
        return MEMORY_UNLIMITED;
    };
    let Ok(v) = e.text().trim().parse::<u64>() else { return MEMORY_UNLIMITED };
    super::units::scale(v, e.attr("unit"), 1024).map_or(MEMORY_UNLIMITED, |b| (b / 1024).min(MEMORY_UNLIMITED))
}

/// Rewrites `<memtune>` with the given limits as `virDomainMemtuneFormat` writes them (unlimited
/// ones left out, `min_guarantee` kept).
fn set_memtune(def: &mut DomainDef, limits: [u64; 3]) {
    let old = def.kept.iter().position(|k| k.name == "memtune").map(|i| def.kept.remove(i));
    let guarantee = old.as_ref().and_then(|m| m.child("min_guarantee")).cloned();
    let mut m = Element::new("memtune");
    let limit = |name: &str, v: u64| {
        let mut e = Element::new(name).with_attr("unit", "KiB");
        e.children.push(Node::Text(v.to_string()));
        Node::Element(e)
    };
    for (i, (name, _)) in MEMTUNE.iter().enumerate() {
        if i == 2 {
            m.children.extend(guarantee.clone().map(Node::Element));
        }
        if limits[i] < MEMORY_UNLIMITED {
            m.children.push(limit(name, limits[i]));
        }
    }
    if !m.children.is_empty() {
        def.kept.push(m);
    }
}

/// `<numatune><memory>` as (mode, nodeset, placement) when specified.
fn numatune_memory(def: &DomainDef) -> Option<(usize, Option<Vec<u32>>, Option<String>)> {
    let m = def.kept.iter().find(|k| k.name == "numatune")?.child("memory")?;
    let mode = m.attr("mode").and_then(|s| NUMA_MODES.iter().position(|n| *n == s)).unwrap_or(0);
    let nodeset = m.attr("nodeset").and_then(|s| parse_bitmap(s).ok());
    let placement = m.attr("placement").map(str::to_owned);
    Some((mode, nodeset, placement))
}

impl Hypervisor {
    /// `DOMAIN_GET_CPU_STATS`: the whole domain's times (`start_cpu` -1) or each host CPU's.
    /// Returns the parameters and the count libvirtd answers.
    pub fn domain_get_cpu_stats(
        &self,
        dom: &DomainHandle,
        nparams: u32,
        start_cpu: i32,
        ncpus: u32,
        flags: u32,
    ) -> Result<(Vec<(String, TypedValue)>, i32)> {
        if nparams > NODE_CPU_STATS_MAX {
            return Err(internal_rpc("nparams too large"));
        }
        if ncpus > CPU_STATS_NCPUS_MAX {
            return Err(internal_rpc("ncpus too large"));
        }
        let fname = "virDomainGetCPUStats";
        if start_cpu == -1 {
            if ncpus != 1 {
                return Err(invalid_arg(ErrorDomain::VIR_FROM_DOMAIN, "ncpus must be 1 when start_cpu is -1".into()));
            }
        } else if start_cpu < 0 {
            return Err(invalid_arg(
                ErrorDomain::VIR_FROM_DOMAIN,
                format!("start_cpu in {fname} must not be negative"),
            ));
        }
        if ncpus == 0 && nparams > 0 {
            return Err(invalid_arg(ErrorDomain::VIR_FROM_DOMAIN, format!("params in {fname} must be NULL")));
        }
        error::check_flags(flags | STRING_OKAY, STRING_OKAY, "testDomainGetCPUStats")?;
        self.active_dom(dom)?;
        let ull = |name: &str, v: u64| (name.to_owned(), TypedValue::Ullong(v));
        if start_cpu == -1 {
            if nparams == 0 {
                return Ok((Vec::new(), 3));
            }
            let all =
                [ull("cpu_time", TOTAL_CPUTIME), ull("user_time", 5_540_000_000), ull("system_time", 6_460_000_000)];
            let n = nparams.min(3) as usize;
            return Ok((all[..n].to_vec(), n as i32));
        }
        if nparams == 0 && ncpus != 0 {
            return Ok((Vec::new(), 2));
        }
        if ncpus == 0 {
            return Ok((Vec::new(), STATS_CPUS as i32));
        }
        let start = start_cpu.unsigned_abs();
        if start >= STATS_CPUS {
            return Err(invalid_arg(
                ErrorDomain::VIR_FROM_TEST,
                format!("start_cpu {start_cpu} larger than maximum of {}", STATS_CPUS - 1),
            ));
        }
        let per_cpu = TOTAL_CPUTIME / u64::from(STATS_CPUS);
        let end = STATS_CPUS.min(start.saturating_add(ncpus));
        let mut out = Vec::new();
        for cpu in start..end {
            out.push(ull("cpu_time", per_cpu + u64::from(cpu)));
            if nparams > 1 {
                out.push(ull("vcpu_time", (per_cpu + u64::from(cpu)).wrapping_sub(1_234_567_890)));
            }
        }
        Ok((out, if nparams > 1 { 2 } else { 1 }))
    }

    /// `DOMAIN_SET_LIFECYCLE_ACTION`.
    pub fn domain_set_lifecycle_action(
        &mut self,
        dom: &DomainHandle,
        kind: u32,
        action: u32,
        flags: u32,
    ) -> Result<()> {
        let (Some(kind_name), Some(action_name)) = (LIFECYCLES.get(kind as usize), ACTIONS.get(action as usize)) else {
            let message = if (kind as usize) >= LIFECYCLES.len() {
                format!("invalid lifecycle type '{kind}'")
            } else {
                format!("invalid lifecycle action '{action}'")
            };
            return Err(invalid_arg(ErrorDomain::VIR_FROM_DOMAIN, message));
        };
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetLifecycleAction")?;
        if kind < 2 && action >= 4 {
            return Err(error::e(
                ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                ErrorDomain::VIR_FROM_DOMAIN,
                format!(
                    "unsupported configuration: Lifecycle event '{kind_name}' doesn't support '{action_name}' action"
                ),
            ));
        }
        let i = self.dom_index(dom)?;
        let flags = self.impact(i, flags)?;
        let (live, pers) = self.defs_mut(i, flags);
        for def in [live, pers].into_iter().flatten() {
            let slot = match kind {
                0 => &mut def.on_poweroff,
                1 => &mut def.on_reboot,
                _ => &mut def.on_crash,
            };
            *slot = (*action_name).to_owned();
        }
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_MEMORY_PARAMETERS`: hard, soft and swap limits (KiB); `nparams` 0 asks
    /// for the count. Returns the parameters and the count.
    pub fn domain_get_memory_parameters(
        &self,
        dom: &DomainHandle,
        nparams: i32,
        flags: u32,
    ) -> Result<(Vec<(String, TypedValue)>, i32)> {
        check_nparams(nparams)?;
        error::check_flags(
            flags | STRING_OKAY,
            AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
            "testDomainGetMemoryParameters",
        )?;
        if nparams == 0 {
            return Ok((Vec::new(), 3));
        }
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        let all = MEMTUNE.iter().map(|(x, p)| ((*p).to_owned(), TypedValue::Ullong(memtune_limit(def, x)))).collect();
        let out = cut(all, nparams, flags | STRING_OKAY);
        let n = out.len() as i32;
        Ok((out, n))
    }

    /// `DOMAIN_SET_MEMORY_PARAMETERS`: `hard_limit`, `soft_limit`, `swap_hard_limit` (KiB).
    pub fn domain_set_memory_parameters(
        &mut self,
        dom: &DomainHandle,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        if params.is_empty() {
            return Err(invalid_arg(
                ErrorDomain::VIR_FROM_DOMAIN,
                "nparams in virDomainSetMemoryParameters must be greater than zero".into(),
            ));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetMemoryParameters")?;
        validate_params(params, &[("hard_limit", "ullong"), ("soft_limit", "ullong"), ("swap_hard_limit", "ullong")])?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let get = |name: &str| {
            params.iter().find(|(f, _)| f == name).and_then(|(_, v)| match v {
                TypedValue::Ullong(x) => Some(*x),
                _ => None,
            })
        };
        let (hard, soft, swap) = (get("hard_limit"), get("soft_limit"), get("swap_hard_limit"));
        let live_def = &self.domains[i].def;
        if hard.is_some() || swap.is_some() {
            let mem = hard.unwrap_or_else(|| memtune_limit(live_def, "hard_limit"));
            let swap_limit = swap.unwrap_or_else(|| memtune_limit(live_def, "swap_hard_limit"));
            if mem > swap_limit {
                return Err(invalid_arg(
                    ErrorDomain::VIR_FROM_TEST,
                    "memory hard_limit tunable value must be lower than or equal to swap_hard_limit".into(),
                ));
            }
        }
        let flags = self.impact(i, flags)?;
        let (l, p) = self.defs_mut(i, flags);
        let Some(def) = (if flags & AFFECT_LIVE != 0 { l } else { p }) else { return Ok(()) };
        let mut limits = MEMTUNE.map(|(x, _)| memtune_limit(def, x));
        for (slot, v) in limits.iter_mut().zip([hard, soft, swap]) {
            if let Some(v) = v {
                *slot = v.min(MEMORY_UNLIMITED);
            }
        }
        set_memtune(def, limits);
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_NUMA_PARAMETERS`: `numa_mode` (int) and `numa_nodeset` (string).
    pub fn domain_get_numa_parameters(
        &self,
        dom: &DomainHandle,
        nparams: i32,
        flags: u32,
    ) -> Result<(Vec<(String, TypedValue)>, i32)> {
        check_nparams(nparams)?;
        error::check_flags(
            flags | STRING_OKAY,
            AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
            "testDomainGetNumaParameters",
        )?;
        if nparams == 0 {
            return Ok((Vec::new(), 2));
        }
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        let (mode, nodeset) = match numatune_memory(def) {
            Some((mode, nodeset, _)) => (mode, nodeset.map(|b| format_bitmap(&b)).unwrap_or_default()),
            None => (0, String::new()),
        };
        let all = vec![
            ("numa_mode".to_owned(), TypedValue::Int(mode as i32)),
            ("numa_nodeset".to_owned(), TypedValue::String(nodeset)),
        ];
        let n = all.len().min(usize::try_from(nparams).unwrap_or(0)) as i32;
        Ok((cut(all, nparams, flags), n))
    }

    /// `DOMAIN_SET_NUMA_PARAMETERS`: the memory mode and nodeset of `<numatune>`
    /// (`virDomainNumatuneSet` with the placement left as it is).
    pub fn domain_set_numa_parameters(
        &mut self,
        dom: &DomainHandle,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        if params.is_empty() {
            return Err(invalid_arg(
                ErrorDomain::VIR_FROM_DOMAIN,
                "nparams in virDomainSetNumaParameters must be greater than zero".into(),
            ));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetNumaParameters")?;
        validate_params(params, &[("numa_mode", "int"), ("numa_nodeset", "string")])?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let mut mode: Option<usize> = None;
        let mut nodeset: Option<Vec<u32>> = None;
        for (field, value) in params {
            match (field.as_str(), value) {
                ("numa_mode", TypedValue::Int(m)) => {
                    mode = Some(usize::try_from(*m).ok().filter(|m| *m < NUMA_MODES.len()).ok_or_else(|| {
                        invalid_arg(ErrorDomain::VIR_FROM_TEST, format!("unsupported numatune mode: '{m}'"))
                    })?);
                }
                ("numa_nodeset", TypedValue::String(s)) => {
                    let bits = parse_bitmap(s)?;
                    if bits.is_empty() {
                        return Err(error::e(
                            ErrorCode::VIR_ERR_OPERATION_INVALID,
                            ErrorDomain::VIR_FROM_TEST,
                            format!("Requested operation is not valid: Invalid nodeset of 'numatune': {s}"),
                        ));
                    }
                    nodeset = Some(bits);
                }
                _ => {}
            }
        }
        let flags = self.impact(i, flags)?;
        let live = flags & AFFECT_LIVE != 0;
        let (l, p) = self.defs_mut(i, flags);
        let Some(def) = (if live { l } else { p }) else { return Ok(()) };
        let current = numatune_memory(def);
        if live {
            if let (Some(m), Some((cur, _, _))) = (mode, &current) {
                if m != *cur {
                    return Err(error::e(
                        ErrorCode::VIR_ERR_OPERATION_INVALID,
                        ErrorDomain::VIR_FROM_TEST,
                        "Requested operation is not valid: can't change numatune mode for running domain",
                    ));
                }
            }
        }
        if mode.is_none() && nodeset.is_none() {
            return Ok(());
        }
        let (cur_mode, cur_nodeset, cur_placement) = current.clone().unwrap_or((0, None, None));
        let new_mode = mode.unwrap_or(cur_mode);
        // The placement (`virDomainNumatuneSet`): static once a nodeset is given; otherwise the
        // current one, or for a first `<numatune>` static when the vCPUs are placed statically.
        let placement = if nodeset.is_some() || (current.is_some() && cur_nodeset.is_some()) {
            "static".to_owned()
        } else if current.is_some() {
            cur_placement.unwrap_or_else(|| "auto".to_owned())
        } else if def.vcpu_placement == "static" {
            "static".to_owned()
        } else {
            "auto".to_owned()
        };
        let new_nodeset = nodeset.clone().or(cur_nodeset);
        let new_nodeset = if placement == "static" {
            Some(new_nodeset.ok_or_else(|| {
                error::e(
                    ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                    ErrorDomain::VIR_FROM_DOMAIN,
                    "unsupported configuration: nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
                )
            })?)
        } else {
            None
        };
        let mut memory = Element::new("memory").with_attr("mode", NUMA_MODES[new_mode]);
        memory = match new_nodeset {
            Some(bits) => memory.with_attr("nodeset", format_bitmap(&bits)),
            None => memory.with_attr("placement", placement),
        };
        let pos = def.kept.iter().position(|k| k.name == "numatune");
        let mut nt = pos.map(|i| def.kept.remove(i)).unwrap_or_else(|| Element::new("numatune"));
        nt.children.retain(|c| !matches!(c, Node::Element(e) if e.name == "memory"));
        nt.children.insert(0, Node::Element(memory));
        def.kept.push(nt);
        self.persist_domain(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps_as_libvirt_reads_and_writes_them() {
        assert_eq!(format_bitmap(&parse_bitmap("1,2").unwrap()), "1-2");
        assert_eq!(format_bitmap(&parse_bitmap(" 0-3, ^2 ,7").unwrap()), "0-1,3,7");
        assert!(parse_bitmap("^1").unwrap().is_empty());
        for bad in ["", "x", "3-1", "1,,2", "16384", "1-"] {
            let e = parse_bitmap(bad).unwrap_err();
            assert_eq!(e.triple().2, format!("invalid argument: Failed to parse bitmap '{bad}'"));
        }
    }
}
