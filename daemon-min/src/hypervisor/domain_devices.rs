//! The devices of a domain definition, as libvirt's `domain_conf.c` reads and writes them
//! (`virDomainDeviceDef`): disks, interfaces, serial ports and consoles, graphics, the other
//! devices kept as written, their addresses, and the controllers libvirt adds implicitly.

use std::fmt::Write as _;

use super::error::Result;
use super::uuid::random_u64;
use super::xml::{escape, Buf, Element};

/// Device elements in the order libvirt writes them.
pub(super) const DEVICE_ORDER: &[&str] = &[
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
    "crypto",
];

/// A device address (`<address type='pci' .../>`, `<address type='drive' .../>`, others kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Address {
    Pci { domain: u32, bus: u32, slot: u32, function: u32, multifunction: Option<String> },
    Drive { controller: u32, bus: u32, target: u32, unit: u32 },
    Other(Element),
}

pub(super) fn parse_num(s: Option<&str>) -> u32 {
    let Some(s) = s else { return 0 };
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).unwrap_or(0)
    } else {
        s.parse().unwrap_or(0)
    }
}

impl Address {
    pub(super) fn parse(e: &Element) -> Self {
        match e.attr("type") {
            Some("pci") => Self::Pci {
                domain: parse_num(e.attr("domain")),
                bus: parse_num(e.attr("bus")),
                slot: parse_num(e.attr("slot")),
                function: parse_num(e.attr("function")),
                multifunction: e.attr("multifunction").map(str::to_owned),
            },
            Some("drive") => Self::Drive {
                controller: parse_num(e.attr("controller")),
                bus: parse_num(e.attr("bus")),
                target: parse_num(e.attr("target")),
                unit: parse_num(e.attr("unit")),
            },
            _ => Self::Other(e.clone()),
        }
    }

    pub(super) fn format(&self, b: &mut Buf) {
        match self {
            Self::Pci { domain, bus, slot, function, multifunction } => {
                let mut s = format!(
                    "<address type='pci' domain='0x{domain:04x}' bus='0x{bus:02x}' slot='0x{slot:02x}' function='0x{function:x}'"
                );
                if let Some(m) = multifunction {
                    let _ = write!(s, " multifunction='{}'", escape(m));
                }
                s.push_str("/>");
                b.line(&s);
            }
            Self::Drive { controller, bus, target, unit } => b.line(&format!(
                "<address type='drive' controller='{controller}' bus='{bus}' target='{target}' unit='{unit}'/>"
            )),
            Self::Other(e) => b.element(e),
        }
    }
}

/// `virDiskNameToIndex`: `hda` → 0, `sdb` → 1, `vdaa` → 26; `None` for names it cannot read.
pub(super) fn disk_index(dst: &str) -> Option<u32> {
    let rest = ["fd", "hd", "vd", "sd", "xvd", "ubd"].iter().find_map(|p| dst.strip_prefix(p))?;
    let letters: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
    if letters.is_empty() {
        return None;
    }
    let tail = &rest[letters.len()..];
    if !tail.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut idx: u32 = 0;
    for (i, c) in letters.chars().enumerate() {
        idx = idx.checked_add(u32::from(i >= 1))?.checked_mul(26)?;
        idx = idx.checked_add(c as u32 - 'a' as u32)?;
    }
    Some(idx)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Disk {
    pub(super) disk_type: String,
    pub(super) device: String,
    pub(super) driver: Option<Element>,
    pub(super) source: Option<Element>,
    pub(super) dst: String,
    pub(super) bus: Option<String>,
    pub(super) target_extra: Vec<(String, String)>,
    pub(super) readonly: bool,
    pub(super) shareable: bool,
    pub(super) serial: Option<String>,
    /// `<iotune>` (`virDomainBlockIoTuneInfo`), written after the target.
    pub(super) iotune: Option<Element>,
    pub(super) others: Vec<Element>,
    pub(super) address: Option<Address>,
}

impl Disk {
    pub(super) fn parse(e: &Element) -> Self {
        let target = e.child("target");
        Self {
            disk_type: e.attr("type").unwrap_or("file").to_owned(),
            device: e.attr("device").unwrap_or("disk").to_owned(),
            driver: e.child("driver").cloned(),
            source: e.child("source").cloned(),
            dst: target.and_then(|t| t.attr("dev")).unwrap_or_default().to_owned(),
            bus: target.and_then(|t| t.attr("bus")).map(str::to_owned),
            target_extra: target
                .map(|t| t.attrs.iter().filter(|(k, _)| k != "dev" && k != "bus").cloned().collect())
                .unwrap_or_default(),
            readonly: e.child("readonly").is_some(),
            shareable: e.child("shareable").is_some(),
            serial: e.child_text("serial"),
            iotune: e.child("iotune").cloned(),
            others: e
                .elements()
                .filter(|c| {
                    !matches!(
                        c.name.as_str(),
                        "driver" | "source" | "target" | "iotune" | "readonly" | "shareable" | "serial" | "address"
                    )
                })
                .cloned()
                .collect(),
            address: e.child("address").map(Address::parse),
        }
    }

    /// `virDomainDiskDefPostParse` and `virDomainDiskDefAssignAddress`.
    pub(super) fn post_parse(&mut self) {
        if self.device == "cdrom" {
            self.readonly = true;
        }
        if self.bus.is_none() {
            let bus = if self.device == "floppy" {
                "fdc"
            } else if self.dst.starts_with("sd") {
                "scsi"
            } else if self.dst.starts_with("vd") {
                "virtio"
            } else if self.dst.starts_with("xvd") {
                "xen"
            } else if self.dst.starts_with("ubd") {
                "uml"
            } else {
                "ide"
            };
            self.bus = Some(bus.to_owned());
        }
        if self.address.is_none() {
            if let Some(idx) = disk_index(&self.dst) {
                self.address = match self.bus.as_deref() {
                    Some("scsi") => Some(Address::Drive { controller: idx / 7, bus: 0, target: 0, unit: idx % 7 }),
                    Some("ide") => {
                        Some(Address::Drive { controller: idx / 4, bus: (idx % 4) / 2, target: 0, unit: idx % 2 })
                    }
                    Some("sata") => Some(Address::Drive { controller: idx / 6, bus: 0, target: 0, unit: idx % 6 }),
                    Some("fdc") => Some(Address::Drive { controller: idx / 2, bus: 0, target: 0, unit: idx % 2 }),
                    _ => None,
                };
            }
        }
    }

    pub(super) fn format(&self, b: &mut Buf) {
        b.line(&format!("<disk type='{}' device='{}'>", escape(&self.disk_type), escape(&self.device)));
        b.push();
        if let Some(d) = &self.driver {
            b.element(d);
        }
        if let Some(s) = &self.source {
            b.element(s);
        }
        let mut t = format!("<target dev='{}'", escape(&self.dst));
        if let Some(bus) = &self.bus {
            let _ = write!(t, " bus='{}'", escape(bus));
        }
        for (k, v) in &self.target_extra {
            let _ = write!(t, " {k}='{}'", escape(v));
        }
        t.push_str("/>");
        b.line(&t);
        if let Some(iotune) = self.iotune.as_ref().filter(|t| t.elements().next().is_some()) {
            b.element(iotune);
        }
        if self.readonly {
            b.line("<readonly/>");
        }
        if self.shareable {
            b.line("<shareable/>");
        }
        if let Some(s) = &self.serial {
            b.text_elem("serial", s);
        }
        for o in &self.others {
            b.element(o);
        }
        if let Some(a) = &self.address {
            a.format(b);
        }
        b.pop();
        b.line("</disk>");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Net {
    pub(super) net_type: String,
    pub(super) mac: String,
    pub(super) source: Option<Element>,
    /// `<vlan>` as libvirt writes it back (set by the definition's parser, which checks it).
    pub(super) vlan: Option<Element>,
    /// `<virtualport>`, its type checked by the definition's parser.
    pub(super) virtualport: Option<Element>,
    /// `<bandwidth>`, written after the source.
    pub(super) bandwidth: Option<super::domain_tuning::Bandwidth>,
    pub(super) script: Option<String>,
    pub(super) ifname: Option<String>,
    pub(super) model: Option<String>,
    pub(super) others: Vec<Element>,
    pub(super) address: Option<Address>,
}

impl Net {
    /// `virDomainNetDefParseXML`: `<vlan>`, `<virtualport>` and `<bandwidth>` checked as
    /// libvirt checks them (the vlan kept as libvirt writes it back).
    pub(super) fn parse(e: &Element) -> Result<Self> {
        let vlan = e.child("vlan").map(super::netdev_conf::vlan).transpose()?;
        if let Some(v) = e.child("virtualport") {
            super::netdev_conf::virtualport(v)?;
        }
        // virNetDevBandwidthParse: a floor only on interfaces of type network.
        if let Some(bw) = e.child("bandwidth") {
            super::netdev_conf::bandwidth(bw, false, e.attr("type") == Some("network"))?;
        }
        let net_type = e.attr("type").unwrap_or("user").to_owned();
        let source = e.child("source").map(|s| {
            let keep: &[&str] = match net_type.as_str() {
                "network" => &["network", "portgroup"],
                "bridge" => &["bridge"],
                "direct" => &["dev", "mode"],
                "user" => &[],
                _ => &["dev", "bridge", "network", "address", "port", "path", "mode", "type"],
            };
            let mut s = s.clone();
            s.attrs.retain(|(k, _)| keep.contains(&k.as_str()));
            s
        });
        let ifname = e
            .child("target")
            .and_then(|t| t.attr("dev"))
            .filter(|n| !n.starts_with("vnet") && !n.starts_with("macvtap") && !n.starts_with("macvlan"))
            .map(str::to_owned);
        Ok(Self {
            mac: e.child("mac").and_then(|m| m.attr("address")).map(str::to_lowercase).unwrap_or_else(random_mac),
            source: source.filter(|s| !s.attrs.is_empty() || s.elements().next().is_some()),
            script: e.child("script").and_then(|s| s.attr("path")).map(str::to_owned),
            vlan,
            virtualport: e.child("virtualport").cloned(),
            // Without a direction libvirt keeps no <bandwidth> at all.
            bandwidth: e
                .child("bandwidth")
                .filter(|b| b.child("inbound").is_some() || b.child("outbound").is_some())
                .map(super::domain_tuning::Bandwidth::parse),
            ifname,
            model: e.child("model").and_then(|m| m.attr("type")).map(str::to_owned),
            others: e
                .elements()
                .filter(|c| {
                    !matches!(
                        c.name.as_str(),
                        "mac"
                            | "source"
                            | "vlan"
                            | "virtualport"
                            | "bandwidth"
                            | "script"
                            | "target"
                            | "model"
                            | "address"
                    )
                })
                .cloned()
                .collect(),
            address: e.child("address").map(Address::parse),
            net_type,
        })
    }

    pub(super) fn format(&self, b: &mut Buf) {
        b.line(&format!("<interface type='{}'>", escape(&self.net_type)));
        b.push();
        b.line(&format!("<mac address='{}'/>", escape(&self.mac)));
        if let Some(s) = &self.source {
            b.element(s);
        }
        for e in [&self.vlan, &self.virtualport].into_iter().flatten() {
            b.element(e);
        }
        if let Some(bw) = &self.bandwidth {
            bw.format(b);
        }
        if let Some(s) = &self.script {
            b.line(&format!("<script path='{}'/>", escape(s)));
        }
        if let Some(n) = &self.ifname {
            b.line(&format!("<target dev='{}'/>", escape(n)));
        }
        if let Some(m) = &self.model {
            b.line(&format!("<model type='{}'/>", escape(m)));
        }
        for o in &self.others {
            b.element(o);
        }
        if let Some(a) = &self.address {
            a.format(b);
        }
        b.pop();
        b.line("</interface>");
    }
}

pub(super) fn random_mac() -> String {
    let r = random_u64().to_le_bytes();
    format!("52:54:00:{:02x}:{:02x}:{:02x}", r[0], r[1], r[2])
}

/// A serial port or console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chr {
    pub(super) chr_type: String,
    pub(super) source: Option<Element>,
    pub(super) target_type: Option<String>,
    pub(super) port: u32,
    pub(super) others: Vec<Element>,
}

impl Chr {
    pub(super) fn parse(e: &Element) -> Self {
        let target = e.child("target");
        let chr_type = e.attr("type").unwrap_or("pty").to_owned();
        Self {
            source: e.child("source").filter(|_| chr_type != "pty").cloned(),
            target_type: target.and_then(|t| t.attr("type")).map(str::to_owned),
            port: target.and_then(|t| t.attr("port")).map_or(0, |p| parse_num(Some(p))),
            others: e.elements().filter(|c| !matches!(c.name.as_str(), "source" | "target")).cloned().collect(),
            chr_type,
        }
    }

    pub(super) fn format(&self, b: &mut Buf, name: &str) {
        b.line(&format!("<{name} type='{}'>", escape(&self.chr_type)));
        b.push();
        if let Some(s) = &self.source {
            b.element(s);
        }
        match &self.target_type {
            Some(t) => b.line(&format!("<target type='{}' port='{}'/>", escape(t), self.port)),
            None => b.line(&format!("<target port='{}'/>", self.port)),
        }
        for o in &self.others {
            b.element(o);
        }
        b.pop();
        b.line(&format!("</{name}>"));
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Graphics {
    pub(super) gtype: String,
    pub(super) port: Option<i32>,
    pub(super) autoport: bool,
    pub(super) listen: Option<String>,
    pub(super) extra: Vec<(String, String)>,
    pub(super) others: Vec<Element>,
}

impl Graphics {
    pub(super) fn parse(e: &Element) -> Self {
        let gtype = e.attr("type").unwrap_or_default().to_owned();
        let port = e.attr("port").and_then(|p| p.trim().parse::<i32>().ok());
        let autoport = match e.attr("autoport") {
            Some("yes") => true,
            Some(_) => false,
            None => port.is_none_or(|p| p == -1),
        };
        let listen = e
            .attr("listen")
            .map(str::to_owned)
            .or_else(|| e.child("listen").and_then(|l| l.attr("address")).map(str::to_owned));
        Self {
            port: if gtype == "vnc" && autoport { Some(-1) } else { port.filter(|p| *p != -1 || gtype == "vnc") },
            autoport,
            listen,
            extra: e
                .attrs
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "type" | "port" | "autoport" | "listen"))
                .cloned()
                .collect(),
            others: e.elements().filter(|c| c.name != "listen").cloned().collect(),
            gtype,
        }
    }

    pub(super) fn format(&self, b: &mut Buf, secure: bool) {
        let mut s = format!("<graphics type='{}'", escape(&self.gtype));
        if let Some(p) = self.port {
            let _ = write!(s, " port='{p}'");
        }
        if matches!(self.gtype.as_str(), "vnc" | "spice" | "rdp") {
            let _ = write!(s, " autoport='{}'", if self.autoport { "yes" } else { "no" });
        }
        if let Some(l) = &self.listen {
            let _ = write!(s, " listen='{}'", escape(l));
        }
        for (k, v) in &self.extra {
            // The password only with VIR_DOMAIN_XML_SECURE, as libvirt does.
            if k != "passwd" || secure {
                let _ = write!(s, " {k}='{}'", escape(v));
            }
        }
        s.push('>');
        b.line(&s);
        b.push();
        match &self.listen {
            Some(l) => b.line(&format!("<listen type='address' address='{}'/>", escape(l))),
            None => b.line("<listen type='address'/>"),
        }
        for o in &self.others {
            b.element(o);
        }
        b.pop();
        b.line("</graphics>");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Device {
    Disk(Disk),
    Net(Net),
    Serial(Chr),
    Console(Chr),
    Graphics(Graphics),
    /// Everything else (controller, memballoon, video, input, ...), re-formatted as written.
    Other(Element),
}

impl Device {
    pub(super) fn kind(&self) -> &str {
        match self {
            Self::Disk(_) => "disk",
            Self::Net(_) => "interface",
            Self::Serial(_) => "serial",
            Self::Console(_) => "console",
            Self::Graphics(_) => "graphics",
            Self::Other(e) => &e.name,
        }
    }

    pub(super) fn rank(&self) -> usize {
        DEVICE_ORDER.iter().position(|n| *n == self.kind()).unwrap_or(DEVICE_ORDER.len())
    }

    pub(super) fn format(&self, b: &mut Buf, secure: bool) {
        match self {
            Self::Disk(d) => d.format(b),
            Self::Net(n) => n.format(b),
            Self::Serial(c) => c.format(b, "serial"),
            Self::Console(c) => c.format(b, "console"),
            Self::Graphics(g) => g.format(b, secure),
            Self::Other(e) => format_other(b, e),
        }
    }
}

/// A device kept as written: its `<address>` children are normalised like libvirt's.
pub(super) fn format_other(b: &mut Buf, e: &Element) {
    if !e.elements().any(|c| c.name == "address") {
        b.element(e);
        return;
    }
    let mut open = format!("<{}", e.name);
    for (k, v) in &e.attrs {
        let _ = write!(open, " {k}='{}'", escape(v));
    }
    b.line(&format!("{open}>"));
    b.push();
    for c in e.elements() {
        if c.name == "address" {
            Address::parse(c).format(b);
        } else {
            b.element(c);
        }
    }
    b.pop();
    b.line(&format!("</{}>", e.name));
}

pub(super) fn controller(ctype: &str, index: u32) -> Element {
    Element::new("controller").with_attr("type", ctype).with_attr("index", index.to_string())
}

pub(super) fn controller_key(e: &Element) -> Option<(String, u32)> {
    (e.name == "controller").then(|| (e.attr("type").unwrap_or_default().to_owned(), parse_num(e.attr("index"))))
}

pub(super) fn is_usb2(e: &Element) -> bool {
    e.attr("type") == Some("usb")
        && matches!(e.attr("model"), Some("ich9-ehci1" | "ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3"))
}

/// `virDomainAssignControllerIndexes`: a controller written without an index gets the lowest
/// unused one of its type, except a USB2 companion following another USB2 controller, which
/// joins that controller's index unless its model is already there.
pub(super) fn assign_controller_indexes(list: &mut [Element]) {
    for outer in 0..list.len() {
        if list[outer].attr("index").is_some() {
            continue;
        }
        let ctype = list[outer].attr("type").unwrap_or_default().to_owned();
        let mut idx = None;
        if outer > 0 && is_usb2(&list[outer]) {
            let prev = list[..outer].iter().rev().find(|c| c.attr("type") == Some("usb")).filter(|p| is_usb2(p));
            if let Some(prev) = prev {
                let prev_idx = prev.attr("index").unwrap_or_default().to_owned();
                let model = list[outer].attr("model");
                let taken = list.iter().any(|c| {
                    c.attr("type") == Some("usb")
                        && c.attr("index") == Some(prev_idx.as_str())
                        && c.attr("model") == model
                });
                if !taken {
                    idx = Some(prev_idx);
                }
            }
        }
        let idx = idx.unwrap_or_else(|| {
            let used = |i: u32| {
                list.iter().any(|c| {
                    c.attr("type") == Some(ctype.as_str()) && c.attr("index").map(|v| parse_num(Some(v))) == Some(i)
                })
            };
            (0..).find(|i| !used(*i)).unwrap_or(0).to_string()
        });
        let at = list[outer].attrs.iter().position(|(k, _)| k == "type").map_or(0, |p| p + 1);
        list[outer].attrs.insert(at, ("index".to_owned(), idx));
    }
}

/// Implicit controllers of one type a domain may be given (see `parse_devices`).
pub(super) const MAX_IMPLICIT_CONTROLLERS: u32 = 65_536;

/// Controllers `ctype` 0..=max that are missing, each placed where [`push_controller`] would
/// place it when added in ascending order, in one pass (adding them one by one is quadratic).
pub(super) fn add_controllers_up_to(list: &mut Vec<Element>, ctype: &str, max: u32) {
    let existing: Vec<(usize, u32)> = list
        .iter()
        .enumerate()
        .filter_map(|(i, e)| controller_key(e).filter(|(t, _)| t == ctype).map(|(_, ci)| (i, ci)))
        .collect();
    let have: std::collections::HashSet<u32> = existing.iter().map(|&(_, ci)| ci).collect();
    // By index; suffix minima of positions: the earliest controller with an index above m.
    let mut by_index = existing.clone();
    by_index.sort_by_key(|&(_, ci)| ci);
    let mut earliest_above = vec![usize::MAX; by_index.len() + 1];
    for k in (0..by_index.len()).rev() {
        earliest_above[k] = earliest_above[k + 1].min(by_index[k].0);
    }
    let last = existing.iter().map(|&(p, _)| p).max();
    let mut before: std::collections::BTreeMap<usize, Vec<u32>> = std::collections::BTreeMap::new();
    let mut after_last = Vec::new();
    for m in (0..=max).filter(|m| !have.contains(m)) {
        let k = by_index.partition_point(|&(_, ci)| ci <= m);
        match earliest_above[k] {
            usize::MAX => after_last.push(m),
            p => before.entry(p).or_default().push(m),
        }
    }
    let mut out = Vec::with_capacity(list.len() + after_last.len() + before.values().map(Vec::len).sum::<usize>());
    for (i, e) in std::mem::take(list).into_iter().enumerate() {
        for m in before.remove(&i).unwrap_or_default() {
            out.push(controller(ctype, m));
        }
        out.push(e);
        if Some(i) == last {
            out.extend(after_last.drain(..).map(|m| controller(ctype, m)));
        }
    }
    out.extend(after_last.into_iter().map(|m| controller(ctype, m)));
    *list = out;
}

pub(super) fn push_controller(list: &mut Vec<Element>, c: Element) {
    let key = controller_key(&c);
    if list.iter().any(|e| controller_key(e) == key) {
        return;
    }
    // virDomainControllerInsertPreAlloced: after the last controller of the same type whose
    // index is not greater, else at the end.
    let (ctype, idx) = key.unwrap_or_default();
    let mut insert_at: Option<usize> = None;
    for (i, cur) in list.iter().enumerate().rev() {
        if let Some((t, ci)) = controller_key(cur) {
            if t == ctype {
                if ci > idx {
                    insert_at = Some(i);
                } else if insert_at.is_none() {
                    insert_at = Some(i + 1);
                }
            }
        }
    }
    list.insert(insert_at.unwrap_or(list.len()), c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn implicit_controllers_in_one_pass_as_one_by_one() {
        let keys = |l: &[Element]| l.iter().map(controller_key).collect::<Vec<_>>();
        let existing_sets: [&[(&str, u32)]; 5] = [
            &[],
            &[("ide", 3)],
            &[("scsi", 0), ("ide", 5), ("ide", 1), ("virtio-serial", 0)],
            &[("ide", 9), ("sata", 0), ("ide", 2), ("ide", 7)],
            &[("usb", 0), ("pci", 0)],
        ];
        for existing in existing_sets {
            for max in [0, 1, 4, 8, 12] {
                let start: Vec<Element> = existing.iter().map(|&(t, i)| controller(t, i)).collect();
                let mut one_by_one = start.clone();
                for i in 0..=max {
                    push_controller(&mut one_by_one, controller("ide", i));
                }
                let mut at_once = start;
                add_controllers_up_to(&mut at_once, "ide", max);
                assert_eq!(keys(&at_once), keys(&one_by_one), "{existing:?} up to {max}");
            }
        }
    }

    #[test]
    pub(super) fn disk_names() {
        assert_eq!(disk_index("hda"), Some(0));
        assert_eq!(disk_index("hdc"), Some(2));
        assert_eq!(disk_index("vdaa"), Some(26));
        assert_eq!(disk_index("sda1"), Some(0));
        assert_eq!(disk_index("xyz"), None);
    }
}
