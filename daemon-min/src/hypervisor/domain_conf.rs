//! Domain definitions: the subset of libvirt's `<domain>` schema the test driver's clients use,
//! parsed with libvirt's defaults and post-parse fix-ups, and formatted byte-for-byte as
//! `virDomainDefFormat` does.
//!
//! Modelled: name, uuid, title, description, metadata, memory, currentMemory, vcpu, os (type,
//! arch, machine, kernel, initrd, cmdline, dtb, root, boot), features, clock, lifecycle
//! actions, and the devices disk, controller, interface, serial, console, graphics (vnc,
//! spice), video and the rest kept as they were written (re-formatted). Elements libvirt knows
//! but this model does not interpret (cpu, numatune, pm, seclabel, ...) are kept and written
//! back in libvirt's order; elements libvirt does not know are dropped, as libvirt drops them.

use std::fmt::Write as _;

use super::domain_devices::*;
use super::error::{self, Doc, Result};
use super::units;
use super::uuid::Uuid;
use super::xml::{self, escape, Buf, Element, Node};

/// Domain virtualization types libvirt 9.0 accepts in `<domain type=...>`.
const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
];

const OS_TYPES: &[&str] = &["hvm", "xen", "linux", "exe", "uml", "xenpvh"];

/// `<features>` children in libvirt's enum order, which is the order they are written in.
const FEATURES: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
];

/// Top-level elements in the order `virDomainDefFormat` writes them. The ones this model does
/// not interpret are kept verbatim and written at their place in this list.
const TOP_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

/// Elements kept verbatim (known to libvirt, not interpreted here).
const TOP_KEPT: &[&str] = &[
    "genid",
    "maxMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpus",
    "iothreads",
    "iothreadids",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "idmap",
    "cpu",
    "on_lockfailure",
    "pm",
    "perf",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

/// The `<os>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Os {
    os_type: String,
    arch: String,
    machine: Option<String>,
    loader: Option<Element>,
    kernel: Option<String>,
    initrd: Option<String>,
    cmdline: Option<String>,
    dtb: Option<String>,
    root: Option<String>,
    boot: Vec<String>,
    after_boot: Vec<Element>,
}

/// A parsed domain definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDef {
    pub(crate) virt_type: String,
    pub(crate) name: String,
    pub(crate) uuid: Uuid,
    /// `<title>`.
    pub(crate) title: Option<String>,
    /// `<description>`.
    pub(crate) description: Option<String>,
    /// `<metadata>`: from a document when it has elements; left empty by `virDomainSetMetadata`
    /// removing its last element (then written `<metadata/>`, as libvirt does).
    pub(crate) metadata: Option<Element>,
    /// `<memory>`, KiB.
    pub(crate) max_memory: u64,
    /// `<currentMemory>`, KiB.
    pub(crate) current_memory: u64,
    pub(crate) vcpus_max: u32,
    pub(crate) vcpus_current: Option<u32>,
    pub(crate) vcpu_placement: String,
    pub(super) vcpu_cpuset: Option<String>,
    os: Os,
    features: Vec<Element>,
    clock: Element,
    pub(crate) on_poweroff: String,
    pub(crate) on_reboot: String,
    /// `<on_crash>`.
    pub(crate) on_crash: String,
    emulator: Option<String>,
    pub(super) devices: Vec<Device>,
    /// Top-level elements kept verbatim (`memtune`, `numatune`, ...).
    pub(crate) kept: Vec<Element>,
    /// The IOThread ids of `<iothreadids>` libvirt filled in itself (`domain_iothread`).
    pub(super) iothread_autofill: Vec<u32>,
}

impl DomainDef {
    /// Parses a `<domain>` document with the test driver's defaults (arch i686). Errors are the
    /// triples libvirt reports for the same document.
    pub fn parse(text: &str) -> Result<Self> {
        let root = xml::parse(text, Doc::Domain.context()).map_err(|e| error::xml_syntax(Doc::Domain, e.message))?;
        Self::from_element(&root)
    }

    /// [`parse`](Self::parse) without the interface names the test driver makes up: it names
    /// unnamed interfaces (`testDomainGenerateIfnames`) when it defines, creates or restores a
    /// domain, not when it writes a save image's new definition.
    pub(crate) fn parse_without_generated_ifnames(text: &str) -> Result<Self> {
        let mut def = Self::parse(text)?;
        let root = xml::parse(text, Doc::Domain.context()).map_err(|e| error::xml_syntax(Doc::Domain, e.message))?;
        let mut named = root.child("devices").into_iter().flat_map(|d| d.children_named("interface")).map(|i| {
            i.child("target")
                .and_then(|t| t.attr("dev"))
                .is_some_and(|n| !n.starts_with("vnet") && !n.starts_with("macvtap") && !n.starts_with("macvlan"))
        });
        for d in &mut def.devices {
            if let Device::Net(n) = d {
                if !named.next().unwrap_or(true) {
                    n.ifname = None;
                }
            }
        }
        Ok(def)
    }

    pub(crate) fn from_element(root: &Element) -> Result<Self> {
        if root.name != "domain" {
            return Err(error::xml_util_error(&format!("expecting root element of 'domain', not '{}'", root.name)));
        }
        let virt_type = root.attr("type").unwrap_or("none").to_owned();
        if !VIRT_TYPES.contains(&virt_type.as_str()) {
            return Err(error::unsupported_config(Doc::Domain, format!("invalid domain type {virt_type}")));
        }
        let name = root.child_text("name").filter(|n| !n.is_empty()).ok_or_else(|| error::missing_name(Doc::Domain))?;
        let uuid = match root.child_text("uuid") {
            Some(u) => Uuid::parse(&u).ok_or_else(|| error::parse_internal(Doc::Domain, "malformed uuid element"))?,
            None => Uuid::random(),
        };
        let max_memory = parse_memory(root, "memory")?.unwrap_or(0);
        let current_memory = parse_memory(root, "currentMemory")?.map_or(max_memory, |c| c.min(max_memory));
        let current_memory = if current_memory == 0 { max_memory } else { current_memory };

        let vcpu = root.child("vcpu");
        let vcpus_max = match vcpu.map(Element::text) {
            Some(t) => t
                .trim()
                .parse::<u32>()
                .map_err(|_| error::xml_error(Doc::Domain, "maximum vcpus count must be an integer"))?,
            None => 1,
        };
        if vcpus_max == 0 {
            return Err(error::parse_internal(Doc::Domain, "CPU IDs in <numa> exceed the <vcpu> count"));
        }
        let vcpus_current = match vcpu.and_then(|v| v.attr("current")) {
            Some(c) => {
                let c = c
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| error::xml_error(Doc::Domain, "current vcpus count must be an integer"))?;
                (c != vcpus_max && c != 0).then_some(c.min(vcpus_max))
            }
            None => None,
        };
        let vcpu_cpuset = vcpu.and_then(|v| v.attr("cpuset")).map(str::to_owned);
        let vcpu_placement = vcpu.and_then(|v| v.attr("placement")).unwrap_or("static").to_owned();

        let os_el = root.child("os");
        let type_el = os_el.and_then(|o| o.child("type"));
        let os_type = type_el
            .map(|t| t.text().trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| error::xml_error(Doc::Domain, "an os <type> must be specified"))?;
        if !OS_TYPES.contains(&os_type.as_str()) {
            return Err(error::unsupported_config(Doc::Domain, format!("unknown OS type '{os_type}'")));
        }
        let os_el = os_el.cloned().unwrap_or_default();
        let mut boot: Vec<String> =
            os_el.children_named("boot").filter_map(|b| b.attr("dev")).map(str::to_owned).collect();
        let kernel = os_el.child_text("kernel");
        if boot.is_empty() && os_type == "hvm" {
            boot.push("hd".to_owned());
        }
        let os = Os {
            arch: type_el.and_then(|t| t.attr("arch")).unwrap_or("i686").to_owned(),
            machine: type_el.and_then(|t| t.attr("machine")).map(str::to_owned),
            loader: os_el.child("loader").cloned(),
            kernel,
            initrd: os_el.child_text("initrd"),
            cmdline: os_el.child_text("cmdline"),
            dtb: os_el.child_text("dtb"),
            root: os_el.child_text("root"),
            boot,
            after_boot: os_el
                .elements()
                .filter(|e| matches!(e.name.as_str(), "bootmenu" | "bios" | "smbios"))
                .cloned()
                .collect(),
            os_type,
        };

        let mut features: Vec<Element> = root
            .child("features")
            .map(|f| f.elements().filter(|e| FEATURES.contains(&e.name.as_str())).cloned().collect())
            .unwrap_or_default();
        features.sort_by_key(|e| FEATURES.iter().position(|n| *n == e.name));

        let mut clock = root.child("clock").cloned().unwrap_or_else(|| Element::new("clock"));
        if clock.attr("offset").is_none() {
            clock.attrs.insert(0, ("offset".to_owned(), "utc".to_owned()));
        }
        let action = |n: &str, d: &str| root.child_text(n).map(|t| t.trim().to_owned()).unwrap_or_else(|| d.to_owned());

        let mut def = Self {
            virt_type,
            name,
            uuid,
            title: root.child_text("title"),
            description: root.child_text("description"),
            metadata: root.child("metadata").filter(|m| m.elements().next().is_some()).cloned(),
            max_memory,
            current_memory,
            vcpus_max,
            vcpus_current,
            vcpu_placement,
            vcpu_cpuset,
            os,
            features,
            clock,
            on_poweroff: action("on_poweroff", "destroy"),
            on_reboot: action("on_reboot", "restart"),
            on_crash: action("on_crash", "destroy"),
            emulator: root.child("devices").and_then(|d| d.child_text("emulator")),
            devices: Vec::new(),
            kept: root.elements().filter(|e| TOP_KEPT.contains(&e.name.as_str())).cloned().collect(),
            iothread_autofill: Vec::new(),
        };
        if def.vcpu_placement == "auto" && !def.kept.iter().any(|e| e.name == "numatune") {
            let mut nt = Element::new("numatune");
            nt.children
                .push(Node::Element(Element::new("memory").with_attr("mode", "strict").with_attr("placement", "auto")));
            def.kept.push(nt);
        }
        super::domain_iothread::normalize_ids(&mut def);
        super::domain_vcpu::check_cputune(&mut def)?;
        if let Some(devs) = root.child("devices") {
            def.parse_devices(devs)?;
        }
        super::domain_tuning::normalize(&mut def);
        super::domain_vcpu::normalize_cputune(&mut def);
        Ok(def)
    }

    fn parse_devices(&mut self, devs: &Element) -> Result<()> {
        let hvm = self.os.os_type == "hvm";
        // Disks first, inserted as virDomainDiskInsert does (by bus and index), buses filled in
        // afterwards.
        let mut disks: Vec<Disk> = Vec::new();
        for d in devs.children_named("disk") {
            let disk = Disk::parse(d);
            let mut insert_at: Option<usize> = None;
            for (i, cur) in disks.iter().enumerate().rev() {
                if cur.bus == disk.bus && disk_index(&cur.dst) > disk_index(&disk.dst) {
                    insert_at = Some(i);
                } else if cur.bus == disk.bus && insert_at.is_none() {
                    insert_at = Some(i + 1);
                }
            }
            disks.insert(insert_at.unwrap_or(disks.len()), disk);
        }
        for d in &mut disks {
            d.post_parse();
        }
        let mut controllers: Vec<Element> = devs.children_named("controller").cloned().collect();
        assign_controller_indexes(&mut controllers);
        let mut others: Vec<Device> = Vec::new();
        let mut serials: Vec<Chr> = Vec::new();
        let mut consoles: Vec<Chr> = Vec::new();
        let mut has_video = false;
        let mut has_graphics = false;
        for e in devs.elements() {
            match e.name.as_str() {
                "disk" | "controller" | "emulator" => {}
                "interface" => others.push(Device::Net(Net::parse(e)?)),
                "serial" => serials.push(Chr::parse(e)),
                "console" => consoles.push(Chr::parse(e)),
                "graphics" => {
                    has_graphics = true;
                    others.push(Device::Graphics(Graphics::parse(e)));
                }
                "video" => {
                    has_video = true;
                    others.push(Device::Other(self.video(e, others.iter().all(|d| d.kind() != "video"))));
                }
                "watchdog" => {
                    let mut w = e.clone();
                    if w.attr("action").is_none() {
                        w.attrs.push(("action".to_owned(), "reset".to_owned()));
                    }
                    others.push(Device::Other(w));
                }
                name if DEVICE_ORDER.contains(&name) => others.push(Device::Other(e.clone())),
                _ => {}
            }
        }
        // Serial ports and consoles (virDomainDefAddConsoleCompat): on hvm guests the first
        // console of target type serial is the first serial port.
        for (i, s) in serials.iter_mut().enumerate() {
            if s.target_type.as_deref() == Some("isa-serial") {
                s.target_type = None;
            }
            if i > 0 && s.port == 0 {
                s.port = u32::try_from(i).unwrap_or(0);
            }
        }
        if let Some(c0) = consoles.first_mut() {
            if c0.target_type.is_none() {
                c0.target_type = Some("serial".to_owned());
            }
        }
        if hvm {
            match (consoles.first(), serials.first()) {
                (Some(c0), None) if c0.target_type.as_deref() == Some("serial") => {
                    serials.push(Chr { target_type: None, ..c0.clone() });
                }
                (None, Some(s0)) => consoles.push(Chr { target_type: Some("serial".to_owned()), ..s0.clone() }),
                _ => {}
            }
        }
        if consoles.iter().any(|c| c.target_type.as_deref() == Some("virtio")) {
            push_controller(&mut controllers, controller("virtio-serial", 0));
        }
        // Implicit disk controllers, in libvirt's order.
        for (ctype, bus) in [("scsi", "scsi"), ("fdc", "fdc"), ("ide", "ide"), ("sata", "sata")] {
            let max = disks
                .iter()
                .filter(|d| d.bus.as_deref() == Some(bus))
                .filter_map(|d| match d.address {
                    Some(Address::Drive { controller, .. }) => Some(controller),
                    _ => None,
                })
                .max();
            if let Some(max) = max {
                // libvirt adds every controller up to the highest a disk name implies (`hdzzzz`
                // implies 237,627 IDE controllers, which takes libvirt minutes); daemon-min adds
                // at most MAX_IMPLICIT_CONTROLLERS per type and refuses the rest.
                if max >= MAX_IMPLICIT_CONTROLLERS {
                    return Err(error::unsupported_config(
                        Doc::Domain,
                        format!(
                            "a disk on the {bus} bus needs {} {ctype} controllers; daemon-min adds at most {MAX_IMPLICIT_CONTROLLERS}",
                            u64::from(max) + 1
                        ),
                    ));
                }
                add_controllers_up_to(&mut controllers, ctype, max);
            }
        }
        if has_graphics && !has_video {
            let vtype = if matches!(self.os.os_type.as_str(), "xen" | "linux") { "xen" } else { "cirrus" };
            let mut v = Element::new("video");
            v.children.push(Node::Element(Element::new("model").with_attr("type", vtype)));
            let v = self.video(&v, true);
            others.push(Device::Other(v));
        }
        // Interface names, as testDomainGenerateIfnames picks them.
        let mut used: Vec<String> = others
            .iter()
            .filter_map(|d| match d {
                Device::Net(n) => n.ifname.clone(),
                _ => None,
            })
            .collect();
        for d in &mut others {
            if let Device::Net(n) = d {
                if n.ifname.is_none() {
                    let name = (0..1024).map(|i| format!("testnet{i}")).find(|c| !used.contains(c)).unwrap_or_default();
                    used.push(name.clone());
                    n.ifname = Some(name);
                }
            }
        }
        let mut devices: Vec<Device> = disks.into_iter().map(Device::Disk).collect();
        devices.extend(controllers.into_iter().map(Device::Other));
        devices.extend(serials.into_iter().map(Device::Serial));
        devices.extend(consoles.into_iter().map(Device::Console));
        devices.extend(others);
        devices.sort_by_key(Device::rank);
        self.devices = devices;
        Ok(())
    }

    /// A `<video>` with libvirt's defaults filled in (`vram`, `heads`, `primary`).
    fn video(&self, e: &Element, primary: bool) -> Element {
        let mut v = e.clone();
        let default_type = if matches!(self.os.os_type.as_str(), "xen" | "linux") { "xen" } else { "cirrus" };
        let mut model = v.child("model").cloned().unwrap_or_else(|| Element::new("model"));
        if model.attr("type").is_none() {
            model.attrs.insert(0, ("type".to_owned(), default_type.to_owned()));
        }
        let mtype = model.attr("type").unwrap_or_default().to_owned();
        let vram = match mtype.as_str() {
            "vga" | "cirrus" | "vmvga" | "xen" => Some("16384"),
            "qxl" => Some("65536"),
            _ => None,
        };
        if let (Some(vram), None) = (vram, model.attr("vram")) {
            model.attrs.push(("vram".to_owned(), vram.to_owned()));
        }
        if model.attr("heads").is_none() && mtype != "none" {
            model.attrs.push(("heads".to_owned(), "1".to_owned()));
        }
        if primary && model.attr("primary").is_none() && mtype != "none" {
            model.attrs.push(("primary".to_owned(), "yes".to_owned()));
        }
        v.children.retain(|c| !matches!(c, Node::Element(m) if m.name == "model"));
        v.children.insert(0, Node::Element(model));
        v
    }

    /// The OS type the definition declares (`hvm`, `xen`, ...).
    #[must_use]
    pub fn os_type(&self) -> &str {
        &self.os.os_type
    }

    /// The domain's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The domain's UUID.
    #[must_use]
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// The disks' target names and whether each takes an internal snapshot by default (not
    /// read-only, not a CD-ROM or floppy, with a source): `virDomainSnapshotAlignDisks`.
    pub(crate) fn snapshot_disks(&self) -> Vec<(String, bool)> {
        self.devices
            .iter()
            .filter_map(|d| match d {
                Device::Disk(disk) => Some((
                    disk.dst.clone(),
                    !disk.readonly && disk.device != "cdrom" && disk.device != "floppy" && disk.source.is_some(),
                )),
                _ => None,
            })
            .collect()
    }

    /// `virDomainDefHasMemballoon`: a `<memballoon>` whose model is not `none`.
    pub(crate) fn has_memballoon(&self) -> bool {
        self.devices
            .iter()
            .any(|d| matches!(d, Device::Other(e) if e.name == "memballoon" && e.attr("model") != Some("none")))
    }

    /// `virDomainDiskByName`: the disk whose target is `name`, or the only one whose source is
    /// `name`; whether it has a source (`!virStorageSourceIsEmpty`).
    pub(crate) fn disk_by_name(&self, name: &str) -> Option<bool> {
        let disks: Vec<&Disk> =
            self.devices.iter().filter_map(|d| if let Device::Disk(x) = d { Some(x) } else { None }).collect();
        let path = |d: &Disk| {
            d.source
                .as_ref()
                .and_then(|s| ["file", "dev", "dir", "name"].iter().find_map(|a| s.attr(a)).map(str::to_owned))
        };
        let by_dst = disks.iter().find(|d| d.dst == name);
        let by_path: Vec<&&Disk> = disks.iter().filter(|d| path(d).as_deref() == Some(name)).collect();
        let disk = by_dst.or(if by_path.len() == 1 { by_path.first().copied() } else { None })?;
        Some(disk.source.as_ref().is_some_and(|s| !s.attrs.is_empty() || s.elements().next().is_some()))
    }

    /// The number of vCPUs in use (`current`, or the maximum).
    pub(crate) fn vcpus(&self) -> u32 {
        self.vcpus_current.unwrap_or(self.vcpus_max)
    }

    /// Formats the definition as `virDomainDefFormat` does; `id` is written for running domains,
    /// graphics passwords only when `secure` (`VIR_DOMAIN_XML_SECURE`).
    #[must_use]
    pub fn format(&self, id: Option<i32>, secure: bool) -> String {
        let mut b = Buf::new();
        let mut open = format!("<domain type='{}'", escape(&self.virt_type));
        if let Some(id) = id {
            let _ = write!(open, " id='{id}'");
        }
        open.push('>');
        b.line(&open);
        b.push();
        for name in TOP_ORDER {
            self.format_top(&mut b, name, secure);
        }
        b.pop();
        b.line("</domain>");
        b.finish()
    }

    fn format_top(&self, b: &mut Buf, name: &str, secure: bool) {
        match name {
            "name" => b.text_elem("name", &self.name),
            "uuid" => b.line(&format!("<uuid>{}</uuid>", self.uuid)),
            "title" => {
                if let Some(t) = &self.title {
                    b.text_elem("title", t);
                }
            }
            "description" => {
                if let Some(t) = &self.description {
                    b.text_elem("description", t);
                }
            }
            "metadata" => {
                if self.metadata.as_ref().is_some_and(|m| m.elements().next().is_none()) {
                    b.line("<metadata/>");
                } else if let Some(m) = &self.metadata {
                    b.line("<metadata>");
                    b.push();
                    for c in m.elements() {
                        b.raw_element(c);
                    }
                    b.pop();
                    b.line("</metadata>");
                }
            }
            "memory" => b.line(&format!("<memory unit='KiB'>{}</memory>", self.max_memory)),
            "currentMemory" => b.line(&format!("<currentMemory unit='KiB'>{}</currentMemory>", self.current_memory)),
            "vcpu" => {
                let mut s = format!("<vcpu placement='{}'", escape(&self.vcpu_placement));
                if let Some(c) = &self.vcpu_cpuset {
                    let _ = write!(s, " cpuset='{}'", escape(c));
                }
                if let Some(c) = self.vcpus_current {
                    let _ = write!(s, " current='{c}'");
                }
                let _ = write!(s, ">{}</vcpu>", self.vcpus_max);
                b.line(&s);
            }
            "os" => self.format_os(b),
            "features" => {
                if !self.features.is_empty() {
                    b.line("<features>");
                    b.push();
                    for f in &self.features {
                        b.element(f);
                    }
                    b.pop();
                    b.line("</features>");
                }
            }
            "clock" => b.element(&self.clock),
            "on_poweroff" => b.text_elem("on_poweroff", &self.on_poweroff),
            "on_reboot" => b.text_elem("on_reboot", &self.on_reboot),
            "on_crash" => b.text_elem("on_crash", &self.on_crash),
            "devices" => {
                b.line("<devices>");
                b.push();
                if let Some(e) = &self.emulator {
                    b.text_elem("emulator", e);
                }
                for d in &self.devices {
                    d.format(b, secure);
                }
                b.pop();
                b.line("</devices>");
            }
            other => {
                for k in self.kept.iter().filter(|k| k.name == other) {
                    b.element(k);
                }
            }
        }
    }

    fn format_os(&self, b: &mut Buf) {
        let os = &self.os;
        b.line("<os>");
        b.push();
        let mut t = format!("<type arch='{}'", escape(&os.arch));
        if let Some(m) = &os.machine {
            let _ = write!(t, " machine='{}'", escape(m));
        }
        let _ = write!(t, ">{}</type>", escape(&os.os_type));
        b.line(&t);
        if let Some(l) = &os.loader {
            b.element(l);
        }
        for (n, v) in [
            ("kernel", &os.kernel),
            ("initrd", &os.initrd),
            ("cmdline", &os.cmdline),
            ("dtb", &os.dtb),
            ("root", &os.root),
        ] {
            if let Some(v) = v {
                b.text_elem(n, v);
            }
        }
        for d in &os.boot {
            b.line(&format!("<boot dev='{}'/>", escape(d)));
        }
        for e in &os.after_boot {
            b.element(e);
        }
        b.pop();
        b.line("</os>");
    }
}

/// `<memory>`-like element in KiB (`virDomainParseMemory`): `None` when absent.
fn parse_memory(root: &Element, name: &str) -> Result<Option<u64>> {
    let Some(e) = root.child(name) else { return Ok(None) };
    let text = e.text();
    let value: u64 = text.trim().parse().map_err(|_| {
        error::xml_util_error(&format!("Invalid value '{}' for element or attribute './{name}[1]'", text.trim()))
    })?;
    let bytes = units::scale(value, e.attr("unit"), 1024)?;
    Ok(Some(bytes.div_ceil(1024)))
}
