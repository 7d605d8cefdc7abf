//! libvirt's CPU map, read at run time from the directory libvirt installs
//! (`/usr/share/libvirt/cpu_map`: `index.xml` and the files it includes), as `cpuMapLoad` reads
//! it: the x86 vendors, features (CPUID leaves and MSRs) and models (each starting from its
//! ancestor's data), and the ppc64 vendors and models. The map is data, not code: nothing of it
//! is in this repository. `DAEMON_MIN_CPU_MAP_DIR` names another directory.
//!
//! Each architecture's map is read once per process, the first time a baseline needs it, as
//! libvirt's drivers do (`VIR_ONCE_GLOBAL_INIT`): a map that failed to load gives the same error
//! on every later call. Reading is bounded: at most [`MAX_FILES`] included files of at most
//! [`MAX_FILE_BYTES`] each, parsed by the bounded [`xml::parse`].

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, e, Error, Result};
use super::xml::{self, Element};
use super::xml_prop::{prop_enum, strtoul};

/// The environment variable naming the CPU map directory.
pub const CPU_MAP_DIR_ENV: &str = "DAEMON_MIN_CPU_MAP_DIR";
/// Where libvirt 9.0 (Debian) installs its CPU map.
pub const DEFAULT_CPU_MAP_DIR: &str = "/usr/share/libvirt/cpu_map";
/// Files `index.xml` may include for one architecture (libvirt's has 62 for x86).
pub const MAX_FILES: usize = 1024;
/// The largest map file read (libvirt's largest, `x86_features.xml`, is about 20 KiB).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// An error raised while reading the map or using it (`VIR_FROM_CPU`).
pub(super) fn cpu_error(code: ErrorCode, message: String) -> Error {
    error::report(code, ErrorDomain::VIR_FROM_CPU, message)
}

fn internal(message: String) -> Error {
    cpu_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, message)
}

/// Where one piece of x86 CPU data lives: a CPUID leaf (`eax_in`, `ecx_in`) or an MSR (`index`).
/// The order is libvirt's (`virCPUx86DataSorter`): CPUID leaves first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Leaf {
    Cpuid(u32, u32),
    Msr(u32),
}

/// x86 CPU data (`virCPUx86Data`): for each leaf its registers, `[eax, ebx, ecx, edx]` (an
/// MSR's `edx` is the last). An all-zero item counts as absent, as libvirt's iterator skips it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct CpuData(BTreeMap<Leaf, [u32; 4]>);

impl CpuData {
    fn nonzero(&self) -> impl Iterator<Item = (&Leaf, &[u32; 4])> {
        self.0.iter().filter(|(_, r)| r.iter().any(|&x| x != 0))
    }

    /// `x86DataAdd`: every bit of `other` set here too.
    pub(super) fn add(&mut self, other: &Self) {
        for (leaf, regs) in other.nonzero() {
            let mine = self.0.entry(*leaf).or_default();
            for (m, o) in mine.iter_mut().zip(regs) {
                *m |= o;
            }
        }
    }

    /// `x86DataSubtract`: every bit of `other` cleared here.
    pub(super) fn subtract(&mut self, other: &Self) {
        for (leaf, mine) in &mut self.0 {
            if let Some(regs) = other.0.get(leaf) {
                for (m, o) in mine.iter_mut().zip(regs) {
                    *m &= !o;
                }
            }
        }
    }

    /// `x86DataIntersect`: only the bits set in both remain.
    pub(super) fn intersect(&mut self, other: &Self) {
        for (leaf, mine) in &mut self.0 {
            let theirs = other.0.get(leaf).copied().unwrap_or_default();
            for (m, o) in mine.iter_mut().zip(theirs) {
                *m &= o;
            }
        }
    }

    /// `x86DataIsEmpty`.
    pub(super) fn is_empty(&self) -> bool {
        self.nonzero().next().is_none()
    }

    /// `x86DataIsSubset`: every bit of `subset` is set here.
    pub(super) fn contains(&self, subset: &Self) -> bool {
        subset
            .nonzero()
            .all(|(leaf, regs)| self.0.get(leaf).is_some_and(|mine| mine.iter().zip(regs).all(|(m, s)| m & s == *s)))
    }

    /// The registers of one leaf, if present.
    pub(super) fn get(&self, leaf: Leaf) -> Option<&[u32; 4]> {
        self.0.get(&leaf)
    }

    /// Clears the bits of `mask` in `leaf` (what `x86DataToVendor` does with the vendor's bits).
    pub(super) fn clear_bits(&mut self, leaf: Leaf, mask: &[u32; 4]) {
        if let Some(mine) = self.0.get_mut(&leaf) {
            for (m, o) in mine.iter_mut().zip(mask) {
                *m &= !o;
            }
        }
    }

    /// Sets the bits of `regs` in `leaf` (`virCPUx86DataAddItem`).
    pub(super) fn add_leaf(&mut self, leaf: Leaf, regs: [u32; 4]) {
        let mine = self.0.entry(leaf).or_default();
        for (m, o) in mine.iter_mut().zip(regs) {
            *m |= o;
        }
    }
}

/// An x86 vendor: its name and the CPUID leaf 0 registers its string gives.
#[derive(Debug)]
pub(super) struct X86Vendor {
    pub(super) name: String,
    pub(super) regs: [u32; 4],
}

/// An x86 feature.
#[derive(Debug)]
pub(super) struct X86Feature {
    pub(super) name: String,
    pub(super) data: CpuData,
}

/// An x86 model: its ancestor's data plus its own features, the features it lists as removed,
/// and whether libvirt may pick it to describe a guest CPU. (The models' family/model
/// signatures are not read: a baseline's data never has one.)
#[derive(Debug)]
pub(super) struct X86Model {
    pub(super) name: String,
    pub(super) vendor: Option<usize>,
    pub(super) data: CpuData,
    pub(super) removed: Vec<String>,
    pub(super) decode_guest: bool,
}

/// The x86 map, in the map's order.
#[derive(Debug, Default)]
pub(super) struct X86Map {
    pub(super) vendors: Vec<X86Vendor>,
    pub(super) features: Vec<X86Feature>,
    pub(super) models: Vec<X86Model>,
    feature_index: HashMap<String, usize>,
    model_index: HashMap<String, usize>,
}

impl X86Map {
    pub(super) fn vendor(&self, name: &str) -> Option<usize> {
        self.vendors.iter().position(|v| v.name == name)
    }

    pub(super) fn feature(&self, name: &str) -> Option<&X86Feature> {
        self.feature_index.get(name).map(|&i| &self.features[i])
    }

    pub(super) fn model(&self, name: &str) -> Option<&X86Model> {
        self.model_index.get(name).map(|&i| &self.models[i])
    }
}

/// A ppc64 model: its name and vendor.
#[derive(Debug)]
pub(super) struct Ppc64Model {
    pub(super) name: String,
    pub(super) vendor: Option<usize>,
}

/// The ppc64 map.
#[derive(Debug, Default)]
pub(super) struct Ppc64Map {
    pub(super) vendors: Vec<String>,
    pub(super) models: Vec<Ppc64Model>,
}

/// The map directory: `DAEMON_MIN_CPU_MAP_DIR`, else libvirt's.
fn map_dir() -> PathBuf {
    std::env::var_os(CPU_MAP_DIR_ENV).map_or_else(|| PathBuf::from(DEFAULT_CPU_MAP_DIR), PathBuf::from)
}

/// The x86 map, read on first use.
pub(super) fn x86() -> Result<&'static X86Map> {
    static MAP: OnceLock<Result<X86Map>> = OnceLock::new();
    MAP.get_or_init(|| X86Map::load(&map_dir())).as_ref().map_err(Clone::clone)
}

/// The ppc64 map, read on first use.
pub(super) fn ppc64() -> Result<&'static Ppc64Map> {
    static MAP: OnceLock<Result<Ppc64Map>> = OnceLock::new();
    MAP.get_or_init(|| Ppc64Map::load(&map_dir())).as_ref().map_err(Clone::clone)
}

/// Reads and parses one map file, as `virXMLParseFileCtxt` reports failures.
fn read_doc(path: &Path) -> Result<Element> {
    let shown = path.display().to_string();
    let failed = || cpu_error(ErrorCode::VIR_ERR_XML_ERROR, format!("failed to parse xml document '{shown}'"));
    let file = std::fs::File::open(path).map_err(|_| failed())?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(|_| failed())?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(internal(format!("CPU map file '{shown}' is larger than {MAX_FILE_BYTES} bytes")));
    }
    xml::parse(&text, &shown).map_err(|s| e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_CPU, s.message))
}

/// One section of the map (`index.xml`'s `<arch>` or an included file's root), with the file's
/// name for error messages.
type Section<'a> = (&'a Element, &'a str);

/// `cpuMapLoad(arch)`: the `<arch name=ARCH>` element of `index.xml`, then every file it
/// includes, each parsed; `visit` sees their vendors, then features, then models, in order.
fn load(dir: &Path, arch: &str, mut visit: impl FnMut(&str, Section<'_>, &str) -> Result<()>) -> Result<()> {
    let index_path = dir.join("index.xml");
    let index = read_doc(&index_path)?;
    let index_name = index_path.display().to_string();
    let section = index
        .children_named("arch")
        .find(|a| a.attr("name") == Some(arch))
        .ok_or_else(|| internal(format!("cannot find CPU map for {arch} architecture")))?;
    let mut visit_all = |root: &Element, file: &str| -> Result<()> {
        for kind in ["vendor", "feature", "model"] {
            for node in root.children_named(kind) {
                let name = node
                    .attr("name")
                    .ok_or_else(|| internal(format!("cannot find {kind} name in CPU map '{file}'")))?;
                visit(kind, (node, file), name)?;
            }
        }
        Ok(())
    };
    visit_all(section, &index_name)?;
    let includes: Vec<&Element> = section.children_named("include").collect();
    if includes.len() > MAX_FILES {
        return Err(internal(format!("CPU map for {arch} includes more than {MAX_FILES} files")));
    }
    for include in includes {
        let file =
            include.attr("filename").ok_or_else(|| internal("Missing 'filename' in CPU map include".to_owned()))?;
        let path = dir.join(file);
        let doc = read_doc(&path)?;
        visit_all(&doc, &path.display().to_string())?;
    }
    Ok(())
}

/// `x86ParseDataItemList`: the `<cpuid>` and `<msr>` children of a feature.
fn parse_data(node: &Element) -> Result<CpuData> {
    let mut data = CpuData::default();
    if node.elements().next().is_none() {
        return Err(internal("no x86 CPU data found".to_owned()));
    }
    for (i, item) in node.elements().filter(|c| c.name != "alias").enumerate() {
        let reg = |name: &str, required: bool| match item.attr(name) {
            None => (!required).then_some(0),
            Some(v) => strtoul(v, 0),
        };
        if item.name == "cpuid" {
            let regs = (reg("eax_in", true), reg("ecx_in", false), reg("eax", false), reg("ebx", false));
            let (Some(eax_in), Some(ecx_in), Some(eax), Some(ebx), Some(ecx), Some(edx)) =
                (regs.0, regs.1, regs.2, regs.3, reg("ecx", false), reg("edx", false))
            else {
                return Err(internal(format!("Invalid cpuid[{i}]")));
            };
            data.add_leaf(Leaf::Cpuid(eax_in, ecx_in), [eax, ebx, ecx, edx]);
        } else {
            let (Some(index), Some(eax), Some(edx)) = (reg("index", true), reg("eax", true), reg("edx", true)) else {
                return Err(internal(format!("Invalid msr[{i}]")));
            };
            data.add_leaf(Leaf::Msr(index), [eax, 0, 0, edx]);
        }
    }
    Ok(data)
}

/// A tristate switch attribute `on`/`off` of the map, required.
fn switch(node: &Element, attr: &str) -> Result<bool> {
    Ok(prop_enum(node, attr, &["off", "on"], true)? == Some(1))
}

impl X86Map {
    /// Reads the x86 map of `dir`.
    pub(super) fn load(dir: &Path) -> Result<Self> {
        let mut map = Self::default();
        load(dir, "x86", |kind, (node, _), name| match kind {
            "vendor" => map.parse_vendor(node, name),
            "feature" => map.parse_feature(node, name),
            _ => map.parse_model(node, name),
        })?;
        Ok(map)
    }

    fn parse_vendor(&mut self, node: &Element, name: &str) -> Result<()> {
        if self.vendor(name).is_some() {
            return Err(internal(format!("CPU vendor {name} already defined")));
        }
        let string =
            node.attr("string").ok_or_else(|| internal(format!("Missing vendor string for CPU vendor {name}")))?;
        let bytes = string.as_bytes();
        if bytes.len() != 12 {
            return Err(internal(format!("Invalid CPU vendor string '{string}'")));
        }
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        self.vendors.push(X86Vendor { name: name.to_owned(), regs: [0, word(0), word(8), word(4)] });
        Ok(())
    }

    fn parse_feature(&mut self, node: &Element, name: &str) -> Result<()> {
        if self.feature_index.contains_key(name) {
            return Err(internal(format!("CPU feature {name} already defined")));
        }
        let data = parse_data(node)?;
        self.feature_index.insert(name.to_owned(), self.features.len());
        self.features.push(X86Feature { name: name.to_owned(), data });
        Ok(())
    }

    fn parse_model(&mut self, node: &Element, name: &str) -> Result<()> {
        if self.model_index.contains_key(name) {
            return Err(internal(format!("Multiple definitions of CPU model '{name}'")));
        }
        let decode =
            node.child("decode").ok_or_else(|| internal(format!("missing decode element in CPU model {name}")))?;
        switch(decode, "host")?;
        let decode_guest = switch(decode, "guest")?;
        let mut model = X86Model {
            name: name.to_owned(),
            vendor: None,
            data: CpuData::default(),
            removed: Vec::new(),
            decode_guest,
        };
        if let Some(ancestor) = node.child("model") {
            let parent = ancestor
                .attr("name")
                .ok_or_else(|| internal(format!("Missing ancestor's name in CPU model {name}")))?;
            let parent = self
                .model(parent)
                .ok_or_else(|| internal(format!("Ancestor model {parent} not found for CPU model {name}")))?;
            model.vendor = parent.vendor;
            model.data = parent.data.clone();
        }
        if let Some(vendor) = node.child("vendor") {
            let vendor =
                vendor.attr("name").ok_or_else(|| internal(format!("Invalid vendor element in CPU model {name}")))?;
            model.vendor = Some(
                self.vendor(vendor)
                    .ok_or_else(|| internal(format!("Unknown vendor {vendor} referenced by CPU model {name}")))?,
            );
        }
        for feature in node.children_named("feature") {
            let fname =
                feature.attr("name").ok_or_else(|| internal(format!("Missing feature name for CPU model {name}")))?;
            let data = &self
                .feature(fname)
                .ok_or_else(|| internal(format!("Feature {fname} required by CPU model {name} not found")))?
                .data;
            match prop_enum(feature, "removed", &["no", "yes"], false)? {
                Some(1) => model.removed.push(fname.to_owned()),
                _ => model.data.add(data),
            }
        }
        self.model_index.insert(name.to_owned(), self.models.len());
        self.models.push(model);
        Ok(())
    }
}

impl Ppc64Map {
    /// Reads the ppc64 map of `dir`.
    pub(super) fn load(dir: &Path) -> Result<Self> {
        let mut map = Self::default();
        load(dir, "ppc64", |kind, (node, file), name| match kind {
            "vendor" if map.vendors.iter().any(|v| v == name) => {
                Err(internal(format!("CPU vendor {name} already defined")))
            }
            "vendor" => {
                map.vendors.push(name.to_owned());
                Ok(())
            }
            "feature" => Err(internal(format!("Unexpected element 'feature' in CPU map '{file}'"))),
            _ => {
                if map.models.iter().any(|m| m.name == name) {
                    return Err(internal(format!("CPU model {name} already defined")));
                }
                let vendor =
                    match node.child("vendor") {
                        None => None,
                        Some(v) => {
                            let v = v
                                .attr("name")
                                .ok_or_else(|| internal(format!("Invalid vendor element in CPU model {name}")))?;
                            Some(map.vendors.iter().position(|x| x == v).ok_or_else(|| {
                                internal(format!("Unknown vendor {v} referenced by CPU model {name}"))
                            })?)
                        }
                    };
                if node.child("pvr").is_none() {
                    return Err(internal(format!("Missing PVR information for CPU model {name}")));
                }
                map.models.push(Ppc64Model { name: name.to_owned(), vendor });
                Ok(())
            }
        })?;
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed() -> Option<PathBuf> {
        let dir = PathBuf::from(DEFAULT_CPU_MAP_DIR);
        if dir.join("index.xml").exists() {
            Some(dir)
        } else {
            eprintln!("SKIPPED: no CPU map in {DEFAULT_CPU_MAP_DIR}");
            None
        }
    }

    #[test]
    fn reads_libvirts_x86_map() {
        let Some(dir) = installed() else { return };
        let map = X86Map::load(&dir).unwrap();
        assert_eq!(map.vendors.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["Intel", "AMD", "Hygon"]);
        // "GenuineIntel": ebx "Genu", edx "ineI", ecx "ntel".
        assert_eq!(map.vendors[0].regs, [0, 0x756e_6547, 0x6c65_746e, 0x4965_6e69]);
        assert_eq!(map.models[0].name, "486");
        let fpu = map.feature("fpu").unwrap();
        assert_eq!(fpu.data.get(Leaf::Cpuid(1, 0)), Some(&[0, 0, 0, 1]));
        let haswell = map.model("Haswell").unwrap();
        assert_eq!(map.vendors[haswell.vendor.unwrap()].name, "Intel");
        assert!(haswell.data.contains(&map.feature("avx2").unwrap().data));
        assert!(!map.model("Haswell-noTSX").unwrap().data.contains(&map.feature("hle").unwrap().data));
        let ppc = Ppc64Map::load(&dir).unwrap();
        assert_eq!(ppc.models.len(), 7);
    }

    #[test]
    fn data_operations() {
        let mut a = CpuData::default();
        a.add_leaf(Leaf::Cpuid(1, 0), [0, 0, 3, 5]);
        let mut b = CpuData::default();
        b.add_leaf(Leaf::Cpuid(1, 0), [0, 0, 1, 4]);
        b.add_leaf(Leaf::Msr(9), [1, 0, 0, 0]);
        assert!(!a.contains(&b));
        let mut c = a.clone();
        c.intersect(&b);
        assert_eq!(c.get(Leaf::Cpuid(1, 0)), Some(&[0, 0, 1, 4]));
        assert!(a.contains(&c));
        c.subtract(&a);
        assert!(c.is_empty());
        a.add(&b);
        assert!(a.contains(&b));
    }

    #[test]
    fn missing_or_broken_maps() {
        let dir = std::env::temp_dir().join(format!("dm-cpumap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = X86Map::load(&dir).unwrap_err();
        let index = dir.join("index.xml").display().to_string();
        assert_eq!(err.triple(), (27, 31, format!("XML error: failed to parse xml document '{index}'").as_str()));
        std::fs::write(dir.join("index.xml"), "<cpus><arch name='x86'><include filename='gone.xml'/></arch></cpus>")
            .unwrap();
        let err = X86Map::load(&dir).unwrap_err();
        assert!(err.message().ends_with("gone.xml'"), "{err:?}");
        let err = Ppc64Map::load(&dir).unwrap_err();
        assert_eq!(err.triple(), (1, 31, "internal error: cannot find CPU map for ppc64 architecture"));
        std::fs::write(
            dir.join("index.xml"),
            "<cpus><arch name='x86'><feature name='f'/><model name='m'><decode host='on' guest='on'/></model></arch></cpus>",
        )
        .unwrap();
        assert_eq!(X86Map::load(&dir).unwrap_err().triple(), (1, 31, "internal error: no x86 CPU data found"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
