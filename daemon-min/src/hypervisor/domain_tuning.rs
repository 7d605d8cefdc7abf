//! The test driver's I/O and perf tunables as typed parameters: blkio parameters
//! (`<blkiotune>`), a disk's block I/O throttling (`<disk><iotune>`), an interface's bandwidth
//! (`<interface><bandwidth>`) and perf events (`<perf>`), as libvirt 9.0's
//! `src/test/test_driver.c` and `src/hypervisor/domain_driver.c` read and write them, with the
//! checks of the public API and of libvirtd's dispatcher.

use std::fmt::Write as _;

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_conf::DomainDef;
use super::domain_devices::{Device, Disk, Net};
use super::domain_guest::{api_arg, parse_mac};
use super::domain_tune::{validate_params, TypedValue, AFFECT_CONFIG, AFFECT_LIVE};
use super::error::{self, Result};
use super::xml::{Buf, Element, Node};
use super::Hypervisor;

/// `VIR_TYPED_PARAM_STRING_OKAY`.
const STRING_OKAY: u32 = 4;
/// `REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX`, `REMOTE_DOMAIN_INTERFACE_PARAMETERS_MAX`.
const PARAMETERS_MAX: i32 = 16;
/// `REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX`.
const IOTUNE_PARAMETERS_MAX: i32 = 32;
/// `TEST_BLOCK_IOTUNE_MAX`.
const IOTUNE_MAX: u64 = 1_000_000_000_000_000;
/// The per-device blkio parameters, as typed-parameter names and `<device>` children.
const BLKIO_DEVICE: [(&str, &str); 5] = [
    ("device_weight", "weight"),
    ("device_read_iops_sec", "read_iops_sec"),
    ("device_write_iops_sec", "write_iops_sec"),
    ("device_read_bytes_sec", "read_bytes_sec"),
    ("device_write_bytes_sec", "write_bytes_sec"),
];
/// The `<iotune>` fields in the order libvirt reports and writes them (`group_name`, the only
/// string, is 14th).
const IOTUNE: [&str; 20] = [
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec_max",
    "read_bytes_sec_max",
    "write_bytes_sec_max",
    "total_iops_sec_max",
    "read_iops_sec_max",
    "write_iops_sec_max",
    "size_iops_sec",
    "group_name",
    "total_bytes_sec_max_length",
    "read_bytes_sec_max_length",
    "write_bytes_sec_max_length",
    "total_iops_sec_max_length",
    "read_iops_sec_max_length",
    "write_iops_sec_max_length",
];
/// `virPerfEvent`, in order.
const PERF_EVENTS: [&str; 22] = [
    "cmt",
    "mbmt",
    "mbml",
    "cpu_cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "branch_instructions",
    "branch_misses",
    "bus_cycles",
    "stalled_cycles_frontend",
    "stalled_cycles_backend",
    "ref_cpu_cycles",
    "cpu_clock",
    "task_clock",
    "page_faults",
    "context_switches",
    "cpu_migrations",
    "page_faults_min",
    "page_faults_maj",
    "alignment_faults",
    "emulation_faults",
];
/// The interface parameters, in the order libvirt reports them.
const BANDWIDTH: [&str; 7] = [
    "inbound.average",
    "inbound.peak",
    "inbound.burst",
    "inbound.floor",
    "outbound.average",
    "outbound.peak",
    "outbound.burst",
];

/// One direction of `<bandwidth>` (`virNetDevBandwidthRate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Rate {
    average: u64,
    peak: u64,
    floor: u64,
    burst: u64,
}

/// An interface's `<bandwidth>` (`virNetDevBandwidth`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Bandwidth {
    inbound: Option<Rate>,
    outbound: Option<Rate>,
}

impl Bandwidth {
    pub(super) fn parse(e: &Element) -> Self {
        let rate = |name: &str| {
            e.child(name).map(|r| {
                let n = |a: &str| r.attr(a).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
                Rate { average: n("average"), peak: n("peak"), floor: n("floor"), burst: n("burst") }
            })
        };
        Self { inbound: rate("inbound"), outbound: rate("outbound") }
    }

    /// `virNetDevBandwidthFormat`: an empty `<bandwidth>` is still written, open and closed.
    pub(super) fn format(&self, b: &mut Buf) {
        b.line("<bandwidth>");
        b.push();
        for (name, rate) in [("inbound", &self.inbound), ("outbound", &self.outbound)] {
            let Some(r) = rate.filter(|r| r.average != 0 || r.floor != 0) else { continue };
            let mut line = format!("<{name}");
            for (attr, v) in [("average", r.average), ("peak", r.peak), ("floor", r.floor), ("burst", r.burst)] {
                if v != 0 {
                    let _ = write!(line, " {attr}='{v}'");
                }
            }
            line.push_str("/>");
            b.line(&line);
        }
        b.pop();
        b.line("</bandwidth>");
    }
}

fn internal_rpc(what: &str) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INTERNAL_ERROR, ErrorDomain::VIR_FROM_RPC, format!("internal error: {what}"))
}

fn invalid(domain: ErrorDomain, message: String) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INVALID_ARG, domain, format!("invalid argument: {message}"))
}

/// The public getters' checks of a requested count, after libvirtd's bound.
fn check_get_nparams(nparams: i32, max: i32, api: &str) -> Result<()> {
    if nparams > max {
        return Err(internal_rpc("nparams too large"));
    }
    if nparams < 0 {
        return Err(api_arg(&format!("nparams in {api} must be zero or greater")));
    }
    Ok(())
}

fn check_exclusive(flags: u32) -> Result<()> {
    if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
        return Err(api_arg("Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive"));
    }
    Ok(())
}

/// The first `n` parameters, strings dropped unless the caller takes them
/// (`virTypedParamsSerialize`).
fn cut(mut params: Vec<(String, TypedValue)>, n: i32, flags: u32) -> Vec<(String, TypedValue)> {
    params.truncate(usize::try_from(n).unwrap_or(0));
    if flags & STRING_OKAY == 0 {
        params.retain(|(_, v)| !matches!(v, TypedValue::String(_)));
    }
    params
}

/// `<blkiotune>` as (weight, devices with their five values).
fn blkio_of(def: &DomainDef) -> (u32, Vec<(String, [u64; 5])>) {
    let Some(e) = def.kept.iter().find(|k| k.name == "blkiotune") else { return (0, Vec::new()) };
    let num = |e: &Element, name: &str| e.child(name).and_then(|c| c.text().trim().parse::<u64>().ok()).unwrap_or(0);
    let weight = u32::try_from(num(e, "weight")).unwrap_or(0);
    let devices = e
        .children_named("device")
        .map(|d| (d.child_text("path").unwrap_or_default(), BLKIO_DEVICE.map(|(_, x)| num(d, x))))
        .collect();
    (weight, devices)
}

/// Writes `<blkiotune>` as `virDomainDefFormatBlkiotune` does (devices with nothing set left out).
fn set_blkio(def: &mut DomainDef, weight: u32, devices: &[(String, [u64; 5])]) {
    let text = |name: &str, v: String| {
        let mut e = Element::new(name);
        e.children.push(Node::Text(v));
        Node::Element(e)
    };
    let mut tune = Element::new("blkiotune");
    if weight != 0 {
        tune.children.push(text("weight", weight.to_string()));
    }
    for (path, values) in devices.iter().filter(|(_, v)| v.iter().any(|x| *x != 0)) {
        let mut dev = Element::new("device");
        dev.children.push(text("path", path.clone()));
        for ((_, name), v) in BLKIO_DEVICE.iter().zip(values) {
            if *v != 0 {
                dev.children.push(text(name, v.to_string()));
            }
        }
        tune.children.push(Node::Element(dev));
    }
    def.kept.retain(|k| k.name != "blkiotune");
    if !tune.children.is_empty() {
        def.kept.push(tune);
    }
}

/// `virDomainDriverParseBlkioDeviceStr`: `path,value[,path,value...]` for parameter `k`.
fn parse_blkio_devices(text: &str, k: usize) -> Result<Vec<(String, u64)>> {
    let field = BLKIO_DEVICE[k].0;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let parse_error =
        || invalid(ErrorDomain::VIR_FROM_DOMAIN, format!("unable to parse blkio device '{field}' '{text}'"));
    if text.matches(',').count().is_multiple_of(2) {
        return Err(parse_error());
    }
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let Some((path, value)) = rest.split_once(',') else { return Err(parse_error()) };
        let digits = value.trim_start();
        let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
        let bad = || {
            invalid(
                ErrorDomain::VIR_FROM_DOMAIN,
                format!("invalid value '{value}' for parameter '{field}' of device '{path}'"),
            )
        };
        let n: u64 = digits[..end].parse().map_err(|_| bad())?;
        if k < 3 && u32::try_from(n).is_err() {
            return Err(bad());
        }
        out.push((path.to_owned(), n));
        let after = &digits[end..];
        if after.is_empty() {
            break;
        }
        rest = after.strip_prefix(',').ok_or_else(parse_error)?;
    }
    Ok(out)
}

/// `virDomainDiskByName` allowing ambiguity: by target, else the first disk with that source.
fn disk_mut<'a>(def: &'a mut DomainDef, name: &str) -> Option<&'a mut Disk> {
    let path = |d: &Disk| {
        d.source.as_ref().and_then(|s| ["file", "dev", "dir", "name"].iter().find_map(|a| s.attr(a)).map(str::to_owned))
    };
    let disks = || def.devices.iter().filter_map(|d| if let Device::Disk(x) = d { Some(x) } else { None });
    let pos = disks().position(|d| d.dst == name).or_else(|| disks().position(|d| path(d).as_deref() == Some(name)))?;
    def.devices.iter_mut().filter_map(|d| if let Device::Disk(x) = d { Some(x) } else { None }).nth(pos)
}

/// `<iotune>`'s values by [`IOTUNE`] index (group name apart).
fn iotune_of(disk: &Disk) -> ([u64; 20], Option<String>) {
    let mut v = [0u64; 20];
    let mut group = None;
    if let Some(t) = &disk.iotune {
        for (k, name) in IOTUNE.iter().enumerate() {
            if let Some(c) = t.child(name) {
                if *name == "group_name" {
                    group = Some(c.text());
                } else {
                    v[k] = c.text().trim().parse().unwrap_or(0);
                }
            }
        }
    }
    (v, group)
}

/// `virDomainNetFind` on a definition.
fn net_mut<'a>(def: &'a mut DomainDef, device: &str) -> Result<&'a mut Net> {
    let mac = parse_mac(device);
    def.devices
        .iter_mut()
        .filter_map(|d| if let Device::Net(n) = d { Some(n) } else { None })
        .find(|n| match &mac {
            Some(m) => parse_mac(&n.mac).as_ref() == Some(m),
            None => n.ifname.as_deref() == Some(device),
        })
        .ok_or_else(|| invalid(ErrorDomain::VIR_FROM_DOMAIN, format!("'{device}' is not a known interface")))
}

impl Hypervisor {
    /// The definition `flags` pick, checked, to read (`virDomainObjGetOneDef`).
    fn tuned_def(&self, dom: &DomainHandle, flags: u32) -> Result<(usize, &DomainDef)> {
        let i = self.dom_index(dom)?;
        Ok((i, self.one_def(i, flags & (AFFECT_LIVE | AFFECT_CONFIG))?))
    }

    /// `DOMAIN_GET_BLKIO_PARAMETERS`: `weight` and the five per-device lists
    /// (`path,value,...`); `nparams` 0 asks for the count.
    pub fn domain_get_blkio_parameters(
        &self,
        dom: &DomainHandle,
        nparams: i32,
        flags: u32,
    ) -> Result<(Vec<(String, TypedValue)>, i32)> {
        check_get_nparams(nparams, PARAMETERS_MAX, "virDomainGetBlkioParameters")?;
        check_exclusive(flags)?;
        error::check_flags(
            flags | STRING_OKAY,
            AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
            "testDomainGetBlkioParameters",
        )?;
        if nparams == 0 {
            return Ok((Vec::new(), 6));
        }
        let (_, def) = self.tuned_def(dom, flags)?;
        let (weight, devices) = blkio_of(def);
        let mut all = vec![("weight".to_owned(), TypedValue::Uint(weight))];
        for (k, (field, _)) in BLKIO_DEVICE.iter().enumerate() {
            let list: Vec<String> =
                devices.iter().filter(|(_, v)| v[k] != 0).map(|(p, v)| format!("{p},{}", v[k])).collect();
            all.push(((*field).to_owned(), TypedValue::String(list.join(","))));
        }
        Ok((cut(all, nparams, flags), 0))
    }

    /// `DOMAIN_SET_BLKIO_PARAMETERS`: `weight` (uint) and the per-device lists (strings), merged
    /// into `<blkiotune>` by device path. A list that does not parse fails the call after the
    /// others are applied, as libvirt does.
    pub fn domain_set_blkio_parameters(
        &mut self,
        dom: &DomainHandle,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetBlkioParameters")?;
        let mut allowed = vec![("weight", "uint")];
        allowed.extend(BLKIO_DEVICE.iter().map(|(f, _)| (*f, "string")));
        validate_params(params, &allowed)?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let def = self.one_def_mut(i, flags);
        let (mut weight, mut devices) = blkio_of(def);
        let mut failure = None;
        for (field, value) in params {
            match (field.as_str(), value) {
                ("weight", TypedValue::Uint(w)) => weight = *w,
                (f, TypedValue::String(text)) => {
                    let Some(k) = BLKIO_DEVICE.iter().position(|(n, _)| *n == f) else { continue };
                    match parse_blkio_devices(text, k) {
                        Ok(list) => {
                            for (path, v) in list {
                                match devices.iter_mut().find(|(p, _)| *p == path) {
                                    Some((_, values)) => values[k] = v,
                                    None if v != 0 => {
                                        let mut values = [0; 5];
                                        values[k] = v;
                                        devices.push((path, values));
                                    }
                                    None => {}
                                }
                            }
                        }
                        Err(e) => failure = Some(e),
                    }
                }
                _ => {}
            }
        }
        set_blkio(def, weight, &devices);
        self.persist_domain(i);
        failure.map_or(Ok(()), Err)
    }

    /// `DOMAIN_GET_BLOCK_IO_TUNE`: the disk's 20 throttling values (`group_name` a string);
    /// `nparams` 0 asks for the count.
    pub fn domain_get_block_io_tune(
        &self,
        dom: &DomainHandle,
        disk: Option<&str>,
        nparams: i32,
        flags: u32,
    ) -> Result<(Vec<(String, TypedValue)>, i32)> {
        check_get_nparams(nparams, IOTUNE_PARAMETERS_MAX, "virDomainGetBlockIoTune")?;
        if nparams != 0 && disk.is_none() {
            return Err(api_arg("disk in virDomainGetBlockIoTune must not be NULL"));
        }
        check_exclusive(flags)?;
        error::check_flags(flags | STRING_OKAY, AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY, "testDomainGetBlockIoTune")?;
        if nparams == 0 {
            return Ok((Vec::new(), 20));
        }
        let path = disk.unwrap_or_default();
        let (_, def) = self.tuned_def(dom, flags)?;
        let mut def = def.clone();
        let Some(d) = disk_mut(&mut def, path) else {
            return Err(invalid(
                ErrorDomain::VIR_FROM_TEST,
                format!("disk '{path}' was not found in the domain config"),
            ));
        };
        let (values, group) = iotune_of(d);
        let all = IOTUNE
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let v = if *name == "group_name" {
                    TypedValue::String(group.clone().unwrap_or_default())
                } else {
                    TypedValue::Ullong(values[k])
                };
                ((*name).to_owned(), v)
            })
            .collect();
        Ok((cut(all, nparams, flags), 0))
    }

    /// `DOMAIN_SET_BLOCK_IO_TUNE`: throttling values of a disk (`<iotune>`), with the test
    /// driver's limits and consistency checks.
    pub fn domain_set_block_io_tune(
        &mut self,
        dom: &DomainHandle,
        disk: &str,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        if params.is_empty() {
            return Err(api_arg("nparams in virDomainSetBlockIoTune must be greater than zero"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetBlockIoTune")?;
        let allowed: Vec<(&str, &str)> =
            IOTUNE.iter().map(|n| (*n, if *n == "group_name" { "string" } else { "ullong" })).collect();
        validate_params(params, &allowed)?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let def = self.one_def_mut(i, flags);
        let Some(d) = disk_mut(def, disk) else {
            return Err(invalid(
                ErrorDomain::VIR_FROM_TEST,
                format!("missing persistent configuration for disk '{disk}'"),
            ));
        };
        let (mut v, mut group) = iotune_of(d);
        for (field, value) in params {
            match value {
                TypedValue::Ullong(x) => {
                    if *x > IOTUNE_MAX {
                        return Err(error::e(
                            ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
                            ErrorDomain::VIR_FROM_TEST,
                            format!("argument unsupported: block I/O throttle limit value must be no more than {IOTUNE_MAX}"),
                        ));
                    }
                    if let Some(k) = IOTUNE.iter().position(|n| n == field) {
                        v[k] = *x;
                    }
                }
                TypedValue::String(s) if field == "group_name" => group = Some(s.clone()),
                _ => {}
            }
        }
        let both = |what: &str, total: usize| {
            if v[total] != 0 && (v[total + 1] != 0 || v[total + 2] != 0) {
                return Err(invalid(
                    ErrorDomain::VIR_FROM_TEST,
                    format!("total and read/write of {what} cannot be set at the same time"),
                ));
            }
            Ok(())
        };
        both("bytes_sec", 0)?;
        both("iops_sec", 3)?;
        both("bytes_sec_max", 6)?;
        both("iops_sec_max", 9)?;
        for k in 0..6 {
            if v[k] > v[k + 6] {
                return Err(invalid(
                    ErrorDomain::VIR_FROM_TEST,
                    format!("{} cannot be set higher than {} ", IOTUNE[k], IOTUNE[k + 6]),
                ));
            }
        }
        d.iotune = iotune_element(&v, group);
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_INTERFACE_PARAMETERS`: the interface's bandwidth as seven uints; `nparams`
    /// 0 asks for the count.
    pub fn domain_get_interface_parameters(
        &self,
        dom: &DomainHandle,
        device: &str,
        nparams: i32,
        flags: u32,
    ) -> Result<(Vec<(String, TypedValue)>, i32)> {
        check_get_nparams(nparams, PARAMETERS_MAX, "virDomainGetInterfaceParameters")?;
        error::check_flags(
            flags | STRING_OKAY,
            AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
            "testDomainGetInterfaceParameters",
        )?;
        if nparams == 0 {
            return Ok((Vec::new(), 7));
        }
        let (_, def) = self.tuned_def(dom, flags)?;
        let mut def = def.clone();
        let net = net_mut(&mut def, device)?;
        let bw = net.bandwidth.clone().unwrap_or_default();
        let (i, o) = (bw.inbound.unwrap_or_default(), bw.outbound.unwrap_or_default());
        let values = [i.average, i.peak, i.burst, i.floor, o.average, o.peak, o.burst];
        let all = BANDWIDTH.iter().zip(values).map(|(n, v)| ((*n).to_owned(), TypedValue::Uint(v as u32))).collect();
        Ok((cut(all, nparams, flags | STRING_OKAY), 0))
    }

    /// `DOMAIN_SET_INTERFACE_PARAMETERS`: replaces the directions given (an average or floor
    /// of 0 clears a direction), as `testDomainSetInterfaceParameters`.
    pub fn domain_set_interface_parameters(
        &mut self,
        dom: &DomainHandle,
        device: &str,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        if params.is_empty() {
            return Err(api_arg("nparams in virDomainSetInterfaceParameters must be greater than zero"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetInterfaceParameters")?;
        let allowed: Vec<(&str, &str)> = BANDWIDTH.iter().map(|n| (*n, "uint")).collect();
        validate_params(params, &allowed)?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let def = self.one_def_mut(i, flags);
        let net = net_mut(def, device)?;
        let (mut inb, mut out) = (Rate::default(), Rate::default());
        let (mut in_given, mut out_given) = (false, false);
        for (field, value) in params {
            let TypedValue::Uint(x) = value else { continue };
            let x = u64::from(*x);
            match field.as_str() {
                "inbound.average" => (inb.average, in_given) = (x, true),
                "inbound.peak" => inb.peak = x,
                "inbound.burst" => inb.burst = x,
                "inbound.floor" => (inb.floor, in_given) = (x, true),
                "outbound.average" => (out.average, out_given) = (x, true),
                "outbound.peak" => out.peak = x,
                "outbound.burst" => out.burst = x,
                _ => {}
            }
        }
        let inb = (inb.average != 0 || inb.floor != 0).then_some(inb);
        let out = (out.average != 0).then_some(out);
        match &mut net.bandwidth {
            None => net.bandwidth = Some(Bandwidth { inbound: inb, outbound: out }),
            Some(bw) => {
                if inb.is_some() || in_given {
                    bw.inbound = inb;
                }
                if out.is_some() || out_given {
                    bw.outbound = out;
                }
            }
        }
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_PERF_EVENTS`: each of libvirt's 22 perf events, enabled or not.
    pub fn domain_get_perf_events(&self, dom: &DomainHandle, flags: u32) -> Result<Vec<(String, TypedValue)>> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY, "testDomainGetPerfEvents")?;
        let (_, def) = self.tuned_def(dom, flags)?;
        let perf = perf_of(def);
        Ok(PERF_EVENTS.iter().zip(perf).map(|(n, v)| ((*n).to_owned(), TypedValue::Boolean(v == Some(true)))).collect())
    }

    /// `DOMAIN_SET_PERF_EVENTS`: enables or disables events (`<perf>`).
    pub fn domain_set_perf_events(
        &mut self,
        dom: &DomainHandle,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        if params.is_empty() {
            return Err(api_arg("nparams in virDomainSetPerfEvents must be greater than zero"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetPerfEvents")?;
        let allowed: Vec<(&str, &str)> = PERF_EVENTS.iter().map(|n| (*n, "boolean")).collect();
        validate_params(params, &allowed)?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let def = self.one_def_mut(i, flags);
        let mut perf = perf_of(def);
        for (field, value) in params {
            if let (Some(k), TypedValue::Boolean(b)) = (PERF_EVENTS.iter().position(|n| n == field), value) {
                perf[k] = Some(*b);
            }
        }
        set_perf(def, perf);
        self.persist_domain(i);
        Ok(())
    }
}

/// A parsed definition's tunables written as libvirt writes them back: `<blkiotune>` with the
/// weight first and devices with nothing set dropped, `<perf>` events in libvirt's order, each
/// disk's `<iotune>` in libvirt's order without zeros.
pub(super) fn normalize(def: &mut DomainDef) {
    if def.kept.iter().any(|k| k.name == "blkiotune") {
        let (weight, devices) = blkio_of(def);
        set_blkio(def, weight, &devices);
    }
    if def.kept.iter().any(|k| k.name == "perf") {
        let perf = perf_of(def);
        set_perf(def, perf);
    }
    for d in &mut def.devices {
        if let Device::Disk(disk) = d {
            if disk.iotune.is_some() {
                let (values, group) = iotune_of(disk);
                disk.iotune = iotune_element(&values, group);
            }
        }
    }
}

/// `<iotune>` with the values set (and the group name), `None` when nothing is.
fn iotune_element(values: &[u64; 20], group: Option<String>) -> Option<Element> {
    let mut tune = Element::new("iotune");
    for (k, name) in IOTUNE.iter().enumerate() {
        let text = if *name == "group_name" { group.clone() } else { (values[k] != 0).then(|| values[k].to_string()) };
        if let Some(text) = text {
            let mut e = Element::new(name);
            e.children.push(Node::Text(text));
            tune.children.push(Node::Element(e));
        }
    }
    (!tune.children.is_empty()).then_some(tune)
}

/// Writes `<perf>` with the events whose state is known, in libvirt's order.
fn set_perf(def: &mut DomainDef, perf: [Option<bool>; 22]) {
    def.kept.retain(|k| k.name != "perf");
    let mut e = Element::new("perf");
    for (name, v) in PERF_EVENTS.iter().zip(perf) {
        if let Some(on) = v {
            let event =
                Element::new("event").with_attr("name", *name).with_attr("enabled", if on { "yes" } else { "no" });
            e.children.push(Node::Element(event));
        }
    }
    if !e.children.is_empty() {
        def.kept.push(e);
    }
}

/// `<perf>`: each event's state (`None` when not mentioned).
fn perf_of(def: &DomainDef) -> [Option<bool>; 22] {
    let mut out = [None; 22];
    if let Some(p) = def.kept.iter().find(|k| k.name == "perf") {
        for ev in p.children_named("event") {
            if let Some(k) = ev.attr("name").and_then(|n| PERF_EVENTS.iter().position(|x| *x == n)) {
                out[k] = match ev.attr("enabled") {
                    Some("yes") => Some(true),
                    Some("no") => Some(false),
                    _ => None,
                };
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_device_lists_as_libvirt_parses_them() {
        assert_eq!(parse_blkio_devices("/dev/sda,100", 0).unwrap(), vec![("/dev/sda".to_owned(), 100)]);
        assert_eq!(parse_blkio_devices("/a,1,/b,2", 3).unwrap().len(), 2);
        assert!(parse_blkio_devices("", 0).unwrap().is_empty());
        assert_eq!(
            parse_blkio_devices("/dev/sda", 0).unwrap_err().triple().2,
            "invalid argument: unable to parse blkio device 'device_weight' '/dev/sda'"
        );
        assert_eq!(
            parse_blkio_devices("/dev/sda,x", 0).unwrap_err().triple().2,
            "invalid argument: invalid value 'x' for parameter 'device_weight' of device '/dev/sda'"
        );
        assert!(parse_blkio_devices("/dev/sda,99999999999", 0).is_err());
        assert!(parse_blkio_devices("/dev/sda,99999999999", 3).is_ok());
    }
}
