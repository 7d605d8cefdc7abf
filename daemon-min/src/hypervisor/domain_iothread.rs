//! The test driver's IOThread entries: `virDomainGetIOThreadInfo`, `virDomainAddIOThread`,
//! `virDomainDelIOThread`, `virDomainPinIOThread` and `virDomainSetIOThreadParams`, as libvirt
//! 9.0's `src/test/test_driver.c` and `src/hypervisor/domain_driver.c` do them. The IOThreads
//! of a definition are its `<iothreads>` count and `<iothreadids>`; their pins are
//! `<cputune><iothreadpin>`; their polling parameters are the test driver's per-domain
//! `testIOThreadInfo` list, which `virConnectGetAllDomainStats` reports.
//!
//! libvirt remembers which IOThread ids it filled in itself (`autofill`) and writes
//! `<iothreadids>` only when one was not; here a definition has only the count when every id
//! was filled in (ids 1..=N), else `<iothreadids>` with the filled-in ones noted in
//! `DomainDef::iothread_autofill`.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_conf::DomainDef;
use super::domain_devices::Device;
use super::domain_guest::api_arg;
use super::domain_tune::{validate_params, TypedValue, AFFECT_CONFIG, AFFECT_LIVE};
use super::domain_vcpu::{bits_of, def_cpumask, pin_of, set_pin};
use super::error::{self, Result};
use super::xml::{Element, Node};
use super::Hypervisor;

/// `REMOTE_IOTHREAD_INFO_MAX`.
const IOTHREAD_INFO_MAX: usize = 16384;

/// One IOThread's polling parameters (`testIOThreadInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IoThreadPoll {
    pub(crate) id: u32,
    pub(crate) poll_max_ns: u64,
    pub(crate) poll_grow: u32,
    pub(crate) poll_shrink: u32,
}

impl IoThreadPoll {
    /// What the test driver starts an IOThread with.
    pub(crate) fn new(id: u32) -> Self {
        Self { id, poll_max_ns: 32768, poll_grow: 0, poll_shrink: 0 }
    }
}

/// The definition's IOThread ids, in order, each with whether libvirt filled it in itself
/// (`autofill`): without `<iothreadids>` every id is; with it, those in
/// `DomainDef::iothread_autofill`.
fn iothread_list(def: &DomainDef) -> Vec<(u32, bool)> {
    if let Some(ids) = def.kept.iter().find(|k| k.name == "iothreadids") {
        return ids
            .children_named("iothread")
            .filter_map(|t| t.attr("id")?.trim().parse().ok())
            .map(|id| (id, def.iothread_autofill.contains(&id)))
            .collect();
    }
    let n =
        def.kept.iter().find(|k| k.name == "iothreads").and_then(|e| e.text().trim().parse::<u32>().ok()).unwrap_or(0);
    (1..=n.min(IOTHREAD_INFO_MAX as u32)).map(|id| (id, true)).collect()
}

/// The definition's IOThread ids, in order.
pub(super) fn iothread_ids(def: &DomainDef) -> Vec<u32> {
    iothread_list(def).into_iter().map(|(id, _)| id).collect()
}

/// `virDomainIOThreadIDDefArrayInit` after parsing: when `<iothreadids>` lists fewer ids than
/// `<iothreads>` counts, the lowest unused ids up to the count are appended, filled in; a count
/// below the ids listed becomes their number. At most `REMOTE_IOTHREAD_INFO_MAX` ids are filled
/// in (libvirt would fill in any count).
pub(super) fn normalize_ids(def: &mut DomainDef) {
    def.iothread_autofill.clear();
    let Some(list) = def.kept.iter().find(|k| k.name == "iothreadids") else { return };
    let mut ids: Vec<(u32, bool)> = Vec::new();
    for id in list.children_named("iothread").filter_map(|t| t.attr("id")?.trim().parse().ok()) {
        if !ids.iter().any(|(x, _)| *x == id) {
            ids.push((id, false));
        }
    }
    let count = def
        .kept
        .iter()
        .find(|k| k.name == "iothreads")
        .and_then(|e| e.text().trim().parse::<u32>().ok())
        .unwrap_or(0)
        .min(IOTHREAD_INFO_MAX as u32) as usize;
    let mut next = 1u32;
    while ids.len() < count && next as usize <= count {
        if !ids.iter().any(|(x, _)| *x == next) {
            ids.push((next, true));
        }
        next += 1;
    }
    set_iothread_ids(def, &ids);
}

/// Writes the count and, when an id was not filled in (`virDomainDefIothreadShouldFormat`),
/// every id.
fn set_iothread_ids(def: &mut DomainDef, ids: &[(u32, bool)]) {
    def.kept.retain(|k| k.name != "iothreads" && k.name != "iothreadids");
    def.iothread_autofill.clear();
    if ids.is_empty() {
        return;
    }
    let mut count = Element::new("iothreads");
    count.children.push(Node::Text(ids.len().to_string()));
    def.kept.push(count);
    if ids.iter().any(|(_, autofill)| !autofill) {
        let mut list = Element::new("iothreadids");
        for (id, autofill) in ids {
            list.children.push(Node::Element(Element::new("iothread").with_attr("id", id.to_string())));
            if *autofill {
                def.iothread_autofill.push(*id);
            }
        }
        def.kept.push(list);
    }
}

fn invalid_test(message: String) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_TEST, format!("invalid argument: {message}"))
}

fn invalid_domain(message: String) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_DOMAIN, format!("invalid argument: {message}"))
}

/// `virBitmapToData`: bytes up to the highest set bit (one byte when none is).
fn data_of(bits: &[u32]) -> Vec<u8> {
    let len = bits.last().map_or(1, |b| (*b as usize + 8) / 8);
    super::domain_vcpu::map_of(bits, len)
}

impl Hypervisor {
    /// `DOMAIN_GET_IOTHREAD_INFO`: each IOThread's id and CPU map (its pin, else the domain's
    /// CPU set, else as many CPUs as the domain has vCPUs).
    pub fn domain_get_iothread_info(&self, dom: &DomainHandle, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
            return Err(api_arg(
                "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
            ));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainGetIOThreadInfo")?;
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        let all: Vec<u32> = (0..def.vcpus()).collect();
        Ok(iothread_ids(def)
            .into_iter()
            .map(|id| {
                let bits = pin_of(def, "iothreadpin", Some(("iothread", id)))
                    .or_else(|| def_cpumask(def))
                    .unwrap_or_else(|| all.clone());
                (id, data_of(&bits))
            })
            .collect())
    }

    /// `DOMAIN_ADD_IOTHREAD`.
    pub fn domain_add_iothread(&mut self, dom: &DomainHandle, id: u32, flags: u32) -> Result<()> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainAddIOThread")?;
        if id == 0 {
            return Err(invalid_test("invalid value of 0 for iothread_id".into()));
        }
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let def = self.one_def_mut(i, flags);
        let mut ids = iothread_list(def);
        if ids.iter().any(|(x, _)| *x == id) {
            return Err(invalid_domain(format!("an IOThread is already using iothread_id '{id}'")));
        }
        ids.push((id, false));
        set_iothread_ids(def, &ids);
        self.domains[i].extra.iothreads.push(IoThreadPoll::new(id));
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_DEL_IOTHREAD`: an IOThread no disk or controller uses.
    pub fn domain_del_iothread(&mut self, dom: &DomainHandle, id: u32, flags: u32) -> Result<()> {
        if id == 0 {
            return Err(api_arg("iothread_id in virDomainDelIOThread must not be zero"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainDelIOThread")?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let def = self.one_def_mut(i, flags);
        let mut ids = iothread_list(def);
        let Some(pos) = ids.iter().position(|(x, _)| *x == id) else {
            return Err(invalid_domain(format!("cannot find IOThread '{id}' in iothreadids list")));
        };
        let uses = |e: &Element| {
            e.child("driver").and_then(|d| d.attr("iothread")).and_then(|v| v.trim().parse().ok()) == Some(id)
        };
        for d in &def.devices {
            match d {
                Device::Disk(disk)
                    if disk.driver.as_ref().and_then(|e| e.attr("iothread")).and_then(|v| v.trim().parse().ok())
                        == Some(id) =>
                {
                    return Err(invalid_domain(format!(
                        "cannot remove IOThread {id} since it is being used by disk '{}'",
                        disk.dst
                    )));
                }
                Device::Other(e) if e.name == "controller" && uses(e) => {
                    return Err(invalid_domain(format!(
                        "cannot remove IOThread '{id}' since it is being used by controller"
                    )));
                }
                _ => {}
            }
        }
        // The ids after a removed one are no longer filled in (virDomainIOThreadIDDel).
        ids.remove(pos);
        for (_, autofill) in &mut ids[pos..] {
            *autofill = false;
        }
        set_pin(def, "iothreadpin", Some(("iothread", id)), None);
        set_iothread_ids(def, &ids);
        self.domains[i].extra.iothreads.retain(|t| t.id != id);
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_PIN_IOTHREAD`.
    pub fn domain_pin_iothread(&mut self, dom: &DomainHandle, id: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        if cpumap.is_empty() {
            return Err(api_arg("cpumap in virDomainPinIOThread must not be NULL"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainPinIOThread")?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let bits = bits_of(cpumap);
        if bits.is_empty() {
            return Err(invalid_test("Empty iothread cpumap list for pinning".into()));
        }
        let def = self.one_def_mut(i, flags);
        let mut ids = iothread_list(def);
        let Some(slot) = ids.iter_mut().find(|(x, _)| *x == id) else {
            return Err(invalid_test(format!("iothreadid {} not found", id as i32)));
        };
        slot.1 = false;
        set_iothread_ids(def, &ids);
        set_pin(def, "iothreadpin", Some(("iothread", id)), Some(&bits));
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_SET_IOTHREAD_PARAMS`: `poll_max_ns` (ullong), `poll_grow`, `poll_shrink` (uint).
    pub fn domain_set_iothread_params(
        &mut self,
        dom: &DomainHandle,
        id: u32,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        if params.is_empty() {
            return Err(api_arg("nparams in virDomainSetIOThreadParams must be greater than zero"));
        }
        error::check_flags(flags, AFFECT_LIVE, "testDomainSetIOThreadParams")?;
        if id == 0 {
            return Err(invalid_test("invalid value of 0 for iothread_id".into()));
        }
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        if !iothread_ids(def).contains(&id) {
            return Err(invalid_test(format!("cannot find IOThread '{id}' in iothreadids")));
        }
        let Some(k) = self.domains[i].extra.iothreads.iter().position(|t| t.id == id) else {
            // The test driver fails here without saying why (an IOThread of a definition that was
            // not loaded from a node file and not added by virDomainAddIOThread); the public API
            // then reports its generic error.
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_NONE,
                "An error occurred, but the cause is unknown",
            ));
        };
        validate_params(params, &[("poll_max_ns", "ullong"), ("poll_grow", "uint"), ("poll_shrink", "uint")])?;
        let t = &mut self.domains[i].extra.iothreads[k];
        for (field, value) in params {
            match (field.as_str(), value) {
                ("poll_max_ns", TypedValue::Ullong(v)) => t.poll_max_ns = *v,
                ("poll_grow", TypedValue::Uint(v)) => t.poll_grow = *v,
                ("poll_shrink", TypedValue::Uint(v)) => t.poll_shrink = *v,
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_data_stops_at_the_highest_bit() {
        assert_eq!(data_of(&[]), vec![0]);
        assert_eq!(data_of(&[0, 1]), vec![3]);
        assert_eq!(data_of(&[8]), vec![0, 1]);
    }

    #[test]
    fn node_file_domains_start_with_their_iothreads_polling() {
        let dir = std::env::temp_dir().join(format!("daemon-min-iothreads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("node.xml");
        std::fs::write(
            &file,
            "<node><domain type='test'><name>io</name><memory>65536</memory><iothreads>2</iothreads>\
             <os><type>hvm</type></os></domain></node>",
        )
        .unwrap();
        let mut h = Hypervisor::from_node_file(&file, "host").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let io = h.domain_lookup_by_name("io").unwrap();
        let stats = h.get_all_domain_stats(&[], 1 << 7, 0).unwrap();
        let names: Vec<&str> = stats[0].1.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "iothread.count");
        assert_eq!(stats[0].1[0].1, TypedValue::Uint(2));
        assert_eq!(stats[0].1[1], ("iothread.1.poll-max-ns".to_owned(), TypedValue::Ullong(32768)));
        let grow = vec![("poll_grow".to_owned(), TypedValue::Uint(4))];
        h.domain_set_iothread_params(&io, 2, &grow, 0).unwrap();
        let stats = h.get_all_domain_stats(&[], 1 << 7, 0).unwrap();
        assert!(stats[0].1.contains(&("iothread.2.poll-grow".to_owned(), TypedValue::Uint(4))));
        // Without iothreadids the ids are filled in, and not written.
        assert!(!h.domain_get_xml_desc(&io, 0).unwrap().contains("iothreadids"));
    }
}
