//! The test driver's vCPU and emulator placement entries: `virDomainGetVcpus`,
//! `virDomainPinVcpu[Flags]`, `virDomainGetVcpuPinInfo`, `virDomainPinEmulator` and
//! `virDomainGetEmulatorPinInfo`, as libvirt 9.0's `src/test/test_driver.c` answers them, with
//! the pins written into `<cputune>` as `virDomainCputuneDefFormat` orders them. CPU maps
//! travel as libvirt's byte maps (bit `n % 8` of byte `n / 8` is host CPU `n`).

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_conf::DomainDef;
use super::domain_guest::api_arg;
use super::domain_params::{format_bitmap, parse_bitmap};
use super::domain_tune::{AFFECT_CONFIG, AFFECT_LIVE};
use super::error::{self, Doc, Result};
use super::xml::{Element, Node};
use super::xml_prop::{prop_uint, uip};
use super::Hypervisor;

/// `REMOTE_VCPUINFO_MAX`.
const VCPUINFO_MAX: i32 = 16384;
/// `REMOTE_CPUMAPS_MAX`.
const CPUMAPS_MAX: i64 = 8_388_608;
/// `VIR_VCPU_RUNNING`.
const VCPU_RUNNING: i32 = 1;

/// One running vCPU (`virVcpuInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuInfo {
    /// vCPU number.
    pub number: u32,
    /// `virVcpuState`.
    pub state: i32,
    /// CPU time, ns (the test driver makes it up from the wall clock).
    pub cpu_time: u64,
    /// The host CPU it runs on (the highest it may use).
    pub cpu: i32,
}

/// The set bits of a CPU byte map (`virBitmapNewData`).
pub(super) fn bits_of(map: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, byte) in map.iter().enumerate() {
        for k in 0..8u32 {
            if byte & (1 << k) != 0 {
                out.push(u32::try_from(i).unwrap_or(u32::MAX / 8).saturating_mul(8).saturating_add(k));
            }
        }
    }
    out
}

/// A CPU byte map of `len` bytes with these bits (`virBitmapToDataBuf`; bits past the end are
/// dropped).
pub(super) fn map_of(bits: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for b in bits {
        if let Some(byte) = out.get_mut((*b / 8) as usize) {
            *byte |= 1 << (b % 8);
        }
    }
    out
}

/// `<cputune>`'s children in the order libvirt writes them: tunables, `vcpupin` by vCPU,
/// `emulatorpin`, `iothreadpin` in IOThread order, then the rest.
fn cputune_rank(e: &Element, iothreads: &[u32]) -> (u8, usize) {
    let num = |a: &str| e.attr(a).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(usize::MAX);
    match e.name.as_str() {
        "shares" | "period" | "quota" | "global_period" | "global_quota" | "emulator_period" | "emulator_quota"
        | "iothread_period" | "iothread_quota" => (0, 0),
        "vcpupin" => (1, num("vcpu")),
        "emulatorpin" => (2, 0),
        "iothreadpin" => {
            let id = num("iothread");
            (3, iothreads.iter().position(|i| *i as usize == id).unwrap_or(usize::MAX))
        }
        _ => (4, 0),
    }
}

/// Sets (`Some(cpuset)`) or removes (`None`) one pin of `<cputune>`: `vcpupin vcpu=N`,
/// `emulatorpin`, or `iothreadpin iothread=N`. An emptied `<cputune>` goes away, as libvirt
/// does not write it.
pub(super) fn set_pin(def: &mut DomainDef, name: &str, key: Option<(&str, u32)>, cpuset: Option<&[u32]>) {
    let iothreads = super::domain_iothread::iothread_ids(def);
    let pos = def.kept.iter().position(|k| k.name == "cputune");
    let mut tune = pos.map(|i| def.kept.remove(i)).unwrap_or_else(|| Element::new("cputune"));
    let same = |e: &Element| {
        e.name == name && key.is_none_or(|(attr, v)| e.attr(attr).and_then(|x| x.trim().parse::<u32>().ok()) == Some(v))
    };
    let mut children: Vec<Element> = tune.elements().filter(|e| !same(e)).cloned().collect();
    if let Some(bits) = cpuset {
        let mut pin = Element::new(name);
        if let Some((attr, v)) = key {
            pin = pin.with_attr(attr, v.to_string());
        }
        children.push(pin.with_attr("cpuset", format_bitmap(bits)));
    }
    children.sort_by_key(|e| cputune_rank(e, &iothreads));
    tune.children = children.into_iter().map(Node::Element).collect();
    if !tune.children.is_empty() {
        def.kept.push(tune);
    }
}

/// `virXMLPropUInt(node, attr, 10, REQUIRED [| NONZERO])`.
fn pin_number(pin: &Element, attr: &str, nonzero: bool) -> Result<u32> {
    Ok(prop_uint(pin, attr, true, nonzero)?.unwrap_or_default())
}

/// A pin's `cpuset`: present, a bitmap, not empty.
fn pin_cpuset(pin: &Element) -> Result<()> {
    let Some(text) = pin.attr("cpuset") else {
        return Err(error::parse_internal(Doc::Domain, &format!("missing cpuset for {}", pin.name)));
    };
    if parse_bitmap(text)?.is_empty() {
        return Err(error::unsupported_config(Doc::Domain, format!("Invalid value of 'cpuset': {text}")));
    }
    Ok(())
}

/// The checks `virDomainDefParseXML` makes on `<cputune>`'s pins, in its order (every
/// `vcpupin`, then `emulatorpin`, then every `iothreadpin`); a `vcpupin` of a vCPU the domain
/// does not have is dropped, as libvirt drops it.
pub(super) fn check_cputune(def: &mut DomainDef) -> Result<()> {
    let Some(pos) = def.kept.iter().position(|k| k.name == "cputune") else { return Ok(()) };
    let iothreads = super::domain_iothread::iothread_ids(def);
    let max = def.vcpus_max;
    let tune = &def.kept[pos];
    let internal = |m: String| error::parse_internal(Doc::Domain, &m);
    let mut pinned = std::collections::HashSet::new();
    let mut missing_vcpus = std::collections::HashSet::new();
    for pin in tune.children_named("vcpupin") {
        let vcpu = pin_number(pin, "vcpu", false)?;
        if vcpu >= max {
            missing_vcpus.insert(vcpu);
            continue;
        }
        if pin.attr("cpuset").is_some() && pinned.contains(&vcpu) {
            return Err(internal(format!("duplicate vcpupin for vcpu '{vcpu}'")));
        }
        pin_cpuset(pin)?;
        pinned.insert(vcpu);
    }
    let emulator: Vec<&Element> = tune.children_named("emulatorpin").collect();
    if emulator.len() > 1 {
        return Err(error::xml_error(Doc::Domain, "only one emulatorpin is supported"));
    }
    if let Some(pin) = emulator.first() {
        pin_cpuset(pin)?;
    }
    let mut pinned = std::collections::HashSet::new();
    for pin in tune.children_named("iothreadpin") {
        let id = pin_number(pin, "iothread", true)?;
        if !iothreads.contains(&id) {
            return Err(error::unsupported_config(Doc::Domain, format!("Cannot find 'iothread' : {id}")));
        }
        pin_cpuset(pin)?;
        if !pinned.insert(id) {
            return Err(internal(format!("duplicate iothreadpin for same iothread '{id}'")));
        }
    }
    if !missing_vcpus.is_empty() {
        def.kept[pos].children.retain(|c| match c {
            Node::Element(e) if e.name == "vcpupin" => {
                !e.attr("vcpu").and_then(uip).is_some_and(|v| missing_vcpus.contains(&v))
            }
            _ => true,
        });
    }
    Ok(())
}

/// A parsed `<cputune>` written as libvirt writes it back: children in
/// `virDomainCputuneDefFormat`'s order, pins' CPU sets in `virBitmapFormat`'s form.
pub(super) fn normalize_cputune(def: &mut DomainDef) {
    let Some(pos) = def.kept.iter().position(|k| k.name == "cputune") else { return };
    let iothreads = super::domain_iothread::iothread_ids(def);
    let mut tune = def.kept.remove(pos);
    let mut children: Vec<Element> = tune.elements().cloned().collect();
    for c in &mut children {
        if matches!(c.name.as_str(), "vcpupin" | "emulatorpin" | "iothreadpin") {
            if let Some(bits) = c.attr("cpuset").and_then(|v| parse_bitmap(v).ok()) {
                let text = format_bitmap(&bits);
                if let Some(slot) = c.attrs.iter_mut().find(|(k, _)| k == "cpuset") {
                    slot.1 = text;
                }
            }
        }
    }
    children.sort_by_key(|e| cputune_rank(e, &iothreads));
    tune.children = children.into_iter().map(Node::Element).collect();
    if !tune.children.is_empty() {
        def.kept.push(tune);
    }
}

/// The CPUs of a `<cputune>` pin, if the definition has it.
pub(super) fn pin_of(def: &DomainDef, name: &str, key: Option<(&str, u32)>) -> Option<Vec<u32>> {
    let tune = def.kept.iter().find(|k| k.name == "cputune")?;
    let pin = tune
        .children_named(name)
        .find(|e| key.is_none_or(|(attr, v)| e.attr(attr).and_then(|x| x.trim().parse::<u32>().ok()) == Some(v)))?;
    parse_bitmap(pin.attr("cpuset")?).ok()
}

/// The domain-wide CPU set (`<vcpu cpuset=...>`, `def->cpumask`).
pub(super) fn def_cpumask(def: &DomainDef) -> Option<Vec<u32>> {
    def.vcpu_cpuset.as_deref().and_then(|s| parse_bitmap(s).ok())
}

impl Hypervisor {
    /// `VIR_NODEINFO_MAXCPUS`: the host CPUs, all of them usable.
    pub(super) fn host_cpus(&self) -> Vec<u32> {
        let n = &self.node_info;
        let max = n.nodes.saturating_mul(n.sockets).saturating_mul(n.cores).saturating_mul(n.threads);
        (0..max.min(1 << 16)).collect()
    }

    /// `DOMAIN_GET_VCPUS`: each running vCPU, and `maxinfo` CPU maps of `maplen` bytes.
    pub fn domain_get_vcpus(&self, dom: &DomainHandle, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        if maxinfo > VCPUINFO_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: maxinfo > REMOTE_VCPUINFO_MAX",
            ));
        }
        if i64::from(maxinfo) * i64::from(maplen) > CPUMAPS_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: maxinfo * maplen > REMOTE_CPUMAPS_MAX",
            ));
        }
        if maxinfo == 0 {
            return Err(api_arg("info in virDomainGetVcpus must not be NULL"));
        }
        if maxinfo < 0 {
            return Err(api_arg("maxinfo in virDomainGetVcpus must be greater than zero"));
        }
        if maplen < 0 {
            return Err(api_arg("maplen in virDomainGetVcpus must be zero"));
        }
        let i = self.dom_index(dom)?;
        let d = &self.domains[i];
        if !d.is_active() {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_TEST,
                "Requested operation is not valid: cannot list vcpus for an inactive domain",
            ));
        }
        let def = &d.def;
        let (maxinfo, maplen) = (maxinfo.unsigned_abs(), maplen.unsigned_abs() as usize);
        let n = maxinfo.min(def.vcpus());
        let cpu_time = (self.clock)() / 1000 / 10;
        let all = self.host_cpus();
        let mut maps = Vec::with_capacity(maxinfo as usize * maplen);
        let mut info = Vec::new();
        for v in 0..n {
            let bits =
                pin_of(def, "vcpupin", Some(("vcpu", v))).or_else(|| def_cpumask(def)).unwrap_or_else(|| all.clone());
            maps.extend(map_of(&bits, maplen));
            let cpu = bits.last().map_or(-1, |b| i32::try_from(*b).unwrap_or(i32::MAX));
            info.push(VcpuInfo { number: v, state: VCPU_RUNNING, cpu_time, cpu });
        }
        maps.resize(maxinfo as usize * maplen, 0);
        Ok((info, maps))
    }

    /// `DOMAIN_PIN_VCPU` and `DOMAIN_PIN_VCPU_FLAGS` (no flags): pins a running vCPU. `api`
    /// is the public function called.
    pub fn domain_pin_vcpu(
        &mut self,
        dom: &DomainHandle,
        vcpu: u32,
        cpumap: &[u8],
        flags: u32,
        api: &str,
    ) -> Result<()> {
        if cpumap.is_empty() {
            return Err(api_arg(&format!("cpumap in {api} must not be NULL")));
        }
        error::check_flags(flags, 0, "testDomainPinVcpuFlags")?;
        let i = self.dom_index(dom)?;
        if !self.domains[i].is_active() {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_TEST,
                "Requested operation is not valid: cannot pin vcpus on an inactive domain",
            ));
        }
        let def = &mut self.domains[i].def;
        if vcpu >= def.vcpus() {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_TEST,
                format!("invalid argument: requested vcpu '{}' is not present in the domain", vcpu as i32),
            ));
        }
        set_pin(def, "vcpupin", Some(("vcpu", vcpu)), Some(&bits_of(cpumap)));
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_VCPU_PIN_INFO`: a CPU map per vCPU (pin, else the domain's CPU set, else
    /// every host CPU) for `min(ncpumaps, maximum vCPUs)` vCPUs; the reply carries
    /// `ncpumaps * maplen` bytes.
    pub fn domain_get_vcpu_pin_info(
        &self,
        dom: &DomainHandle,
        ncpumaps: i32,
        maplen: i32,
        flags: u32,
    ) -> Result<(Vec<u8>, i32)> {
        if ncpumaps > VCPUINFO_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: ncpumaps > REMOTE_VCPUINFO_MAX",
            ));
        }
        if i64::from(ncpumaps) * i64::from(maplen) > CPUMAPS_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: maxinfo * maplen > REMOTE_CPUMAPS_MAX",
            ));
        }
        let api = "virDomainGetVcpuPinInfo";
        if maplen <= 0 && ncpumaps > 0 {
            return Err(api_arg(&format!("cpumaps in {api} must not be NULL")));
        }
        if ncpumaps <= 0 {
            return Err(api_arg(&format!("ncpumaps in {api} must be greater than zero")));
        }
        if maplen <= 0 {
            return Err(api_arg(&format!("maplen in {api} must be greater than zero")));
        }
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        let (n, len) = (ncpumaps.unsigned_abs().min(def.vcpus_max), maplen.unsigned_abs() as usize);
        let all = self.host_cpus();
        let mut maps = Vec::with_capacity(ncpumaps.unsigned_abs() as usize * len);
        for v in 0..n {
            let bits =
                pin_of(def, "vcpupin", Some(("vcpu", v))).or_else(|| def_cpumask(def)).unwrap_or_else(|| all.clone());
            maps.extend(map_of(&bits, len));
        }
        maps.resize(ncpumaps.unsigned_abs() as usize * len, 0);
        Ok((maps, i32::try_from(n).unwrap_or(i32::MAX)))
    }

    /// `DOMAIN_PIN_EMULATOR`: `<emulatorpin>` of the definition `flags` pick.
    pub fn domain_pin_emulator(&mut self, dom: &DomainHandle, cpumap: &[u8], flags: u32) -> Result<()> {
        if cpumap.is_empty() {
            return Err(api_arg("cpumap in virDomainPinEmulator must not be NULL"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainPinEmulator")?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let bits = bits_of(cpumap);
        if bits.is_empty() {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_TEST,
                "invalid argument: Empty cpu list for pinning",
            ));
        }
        let def = self.one_def_mut(i, flags);
        set_pin(def, "emulatorpin", None, Some(&bits));
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_EMULATOR_PIN_INFO`: the emulator's CPU map (pin, else the domain's CPU set,
    /// else every host CPU), `maplen` bytes.
    pub fn domain_get_emulator_pin_info(&self, dom: &DomainHandle, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        if maplen <= 0 {
            return Err(api_arg("maplen in virDomainGetEmulatorPinInfo must be greater than zero"));
        }
        if i64::from(maplen) > CPUMAPS_MAX {
            // libvirtd allocates the map, then cannot send a reply that large.
            return Err(proto_core::error::RemoteError::rpc("Unable to encode message payload").into());
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainGetEmulatorPinInfo")?;
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        let bits = pin_of(def, "emulatorpin", None).or_else(|| def_cpumask(def)).unwrap_or_else(|| self.host_cpus());
        Ok((map_of(&bits, maplen.unsigned_abs() as usize), 1))
    }

    /// The definition `virDomainObjGetOneDef` picks, to change (after [`Self::one_def`] said yes).
    pub(super) fn one_def_mut(&mut self, i: usize, flags: u32) -> &mut DomainDef {
        let d = &mut self.domains[i];
        let config = flags & AFFECT_CONFIG != 0 || (flags & AFFECT_LIVE == 0 && !d.is_active());
        if d.is_active() && config {
            if let Some(n) = d.new_def.as_mut() {
                return n;
            }
        }
        &mut d.def
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_maps_as_libvirt_lays_them_out() {
        assert_eq!(bits_of(&[0b101, 0x80]), vec![0, 2, 15]);
        assert_eq!(map_of(&[0, 2, 15], 2), vec![0b101, 0x80]);
        assert_eq!(map_of(&[0, 2, 15], 1), vec![0b101]);
        assert_eq!(map_of(&[1], 3), vec![2, 0, 0]);
    }

    #[test]
    fn map_sizes_are_bounded_before_anything_is_allocated() {
        let h = Hypervisor::new_default("host");
        let test = h.domain_lookup_by_name("test").unwrap();
        let e = h.domain_get_emulator_pin_info(&test, i32::MAX, 0).unwrap_err();
        assert_eq!(e.triple(), (39, 7, "Unable to encode message payload"));
        let e = h.domain_get_vcpus(&test, VCPUINFO_MAX + 1, 1).unwrap_err();
        assert_eq!(e.triple(), (1, 7, "internal error: maxinfo > REMOTE_VCPUINFO_MAX"));
        let e = h.domain_get_vcpus(&test, VCPUINFO_MAX, i32::MAX).unwrap_err();
        assert_eq!(e.triple(), (1, 7, "internal error: maxinfo * maplen > REMOTE_CPUMAPS_MAX"));
        let e = h.domain_get_vcpu_pin_info(&test, 2, i32::MAX, 0).unwrap_err();
        assert_eq!(e.triple(), (1, 7, "internal error: maxinfo * maplen > REMOTE_CPUMAPS_MAX"));
        // Within the bounds, the maps are as large as asked and the vCPUs as many as there are.
        let (info, maps) = h.domain_get_vcpus(&test, 8, 3).unwrap();
        assert_eq!((info.len(), maps.len()), (2, 24));
        assert_eq!(&maps[..3], &[0xff, 0xff, 0]);
        assert_eq!(info[1].cpu, 15);
    }
}
