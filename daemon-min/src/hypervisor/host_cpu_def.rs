//! CPU definitions (`virCPUDef`, libvirt's `src/conf/cpu_conf.c`): a host CPU read from the XML
//! a client passes to `CONNECT_BASELINE_CPU` (`virCPUDefParseXML` with `VIR_CPU_TYPE_HOST`,
//! every check in libvirt's order with its error), and a guest CPU written as
//! `virCPUDefFormat` writes one.

use std::collections::HashSet;

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{e, Error, Result};
use super::host_cpu::ARCHES;
use super::host_cpu_map::cpu_error;
use super::xml::{self, Element};
use super::xml_prop::{invalid, missing, prop_enum, prop_int, prop_uint, uip, ullp};

/// A host CPU as the baseline reads it. Only what the baseline uses is kept; the rest of the
/// document (signature, counter, topology, cache, ...) is checked and dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HostCpu {
    pub(super) arch: String,
    pub(super) model: String,
    pub(super) vendor: Option<String>,
    /// Feature names, in document order (a host CPU's features have no policy).
    pub(super) features: Vec<String>,
}

/// A guest CPU feature's policy (`virCPUFeaturePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    Require,
    Disable,
}

impl Policy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Require => "require",
            Self::Disable => "disable",
        }
    }
}

/// A guest CPU of mode `custom`, match `exact`: what a baseline computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GuestCpu {
    pub(super) model: String,
    pub(super) vendor: Option<String>,
    /// `fallback='forbid'` rather than `'allow'`.
    pub(super) fallback_forbid: bool,
    pub(super) features: Vec<(String, Policy)>,
}

impl GuestCpu {
    /// `virCPUDefFormat`.
    pub(super) fn format(&self) -> String {
        let fallback = if self.fallback_forbid { "forbid" } else { "allow" };
        let mut out = format!(
            "<cpu mode='custom' match='exact'>\n  <model fallback='{fallback}'>{}</model>\n",
            xml::escape(&self.model)
        );
        if let Some(v) = &self.vendor {
            out.push_str(&format!("  <vendor>{}</vendor>\n", xml::escape(v)));
        }
        for (name, policy) in &self.features {
            out.push_str(&format!("  <feature policy='{}' name='{name}'/>\n", policy.as_str()));
        }
        out.push_str("</cpu>\n");
        out
    }

    /// `virCPUDefAddFeatureIfMissing`.
    pub(super) fn add_if_missing(&mut self, name: &str, policy: Policy) {
        if !self.features.iter().any(|(n, _)| n == name) {
            self.features.push((name.to_owned(), policy));
        }
    }

    /// `virCPUDefUpdateFeature`: sets the policy of `name`, adding it if missing.
    pub(super) fn update(&mut self, name: &str, policy: Policy) {
        match self.features.iter_mut().find(|(n, _)| n == name) {
            Some(f) => f.1 = policy,
            None => self.features.push((name.to_owned(), policy)),
        }
    }
}

/// An error of `cpu_conf.c` (`VIR_FROM_CPU`).
fn conf(code: ErrorCode, message: &str) -> Error {
    cpu_error(code, message.to_owned())
}

/// The children `./NAME` selects: called NAME with no prefix and in no namespace (an XPath name
/// test without a prefix never matches an element of a default namespace).
fn children<'a>(root: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    let inherited = root.attr("xmlns").is_some_and(|v| !v.is_empty());
    root.children_named(name).filter(move |c| c.attr("xmlns").map_or(!inherited, str::is_empty))
}

/// `./NAME[1]`.
fn child<'a>(root: &'a Element, name: &'a str) -> Option<&'a Element> {
    children(root, name).next()
}

/// `string(./NAME[1])` as `virXPathString` gives it: absent when missing or empty.
fn child_string(node: &Element, name: &str) -> Option<String> {
    child(node, name).map(Element::text).filter(|s| !s.is_empty())
}

/// `virCPUDefParseXML(ctxt, NULL, VIR_CPU_TYPE_HOST, ...)` on a parsed document.
pub(super) fn parse_host(root: &Element) -> Result<HostCpu> {
    // virXMLNodeNameEqual compares the local name: a prefixed <x:cpu> is a cpu.
    if root.name.rsplit(':').next() != Some("cpu") {
        return Err(conf(ErrorCode::VIR_ERR_XML_ERROR, "XML does not contain expected 'cpu' element"));
    }
    if root.attr("mode").is_some() {
        return Err(conf(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, "Attribute mode is only allowed for guest CPU"));
    }
    if prop_enum(root, "migratable", &["on", "off"], false)?.is_some() {
        return Err(conf(
            ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
            "Attribute migratable is only allowed for 'host-passthrough' / 'maximum' CPU mode",
        ));
    }
    let arch =
        child_string(root, "arch").ok_or_else(|| conf(ErrorCode::VIR_ERR_XML_ERROR, "Missing CPU architecture"))?;
    if !ARCHES[1..].contains(&arch.as_str()) {
        return Err(conf(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, &format!("Unknown architecture {arch}")));
    }
    if let Some(version) = child(root, "microcode").and_then(|m| m.attr("version")) {
        if uip(version).is_none() {
            return Err(conf(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, "invalid microcode version"));
        }
    }
    if let Some(sig) = child(root, "signature") {
        prop_uint(sig, "family", true, true)?;
        prop_uint(sig, "model", true, false)?;
        prop_uint(sig, "stepping", true, false)?;
    }
    if let Some(counter) = children(root, "counter").find(|c| c.attr("name") == Some("tsc")) {
        match counter.attr("frequency") {
            None => return Err(missing(counter, "frequency")),
            Some(f) if ullp(f).is_none() => {
                return Err(invalid(counter, "frequency", f, " Expected non-negative integer value"))
            }
            Some(_) => {}
        }
        prop_enum(counter, "scaling", &["yes", "no"], false)?;
    }
    let model =
        child_string(root, "model").ok_or_else(|| conf(ErrorCode::VIR_ERR_XML_ERROR, "Missing CPU model name"))?;
    let vendor = child_string(root, "vendor");
    if let Some(topology) = child(root, "topology") {
        prop_uint(topology, "sockets", true, true)?;
        prop_uint(topology, "dies", false, true)?;
        prop_uint(topology, "cores", true, true)?;
        prop_uint(topology, "threads", true, true)?;
    }
    let mut features = Vec::new();
    let mut seen = HashSet::new();
    for f in children(root, "feature") {
        let name = f
            .attr("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| conf(ErrorCode::VIR_ERR_XML_ERROR, "Invalid CPU feature name"))?;
        if !seen.insert(name) {
            return Err(conf(ErrorCode::VIR_ERR_XML_ERROR, &format!("CPU feature '{name}' specified more than once")));
        }
        features.push(name.to_owned());
    }
    let caches: Vec<&Element> = children(root, "cache").take(2).collect();
    if caches.len() > 1 {
        return Err(conf(ErrorCode::VIR_ERR_XML_ERROR, "at most one CPU cache element may be specified"));
    }
    if let Some(cache) = caches.first() {
        if let Some(level) = prop_int(cache, "level")? {
            if !(1..=3).contains(&level) {
                return Err(conf(ErrorCode::VIR_ERR_XML_ERROR, "invalid CPU cache level, must be in range [1,3]"));
            }
        }
        prop_enum(cache, "mode", &["emulate", "passthrough", "disable"], true)?;
    }
    if let Some(addr) = child(root, "maxphysaddr") {
        prop_enum(addr, "mode", &["emulate", "passthrough"], true)?;
        prop_int(addr, "bits")?;
    }
    Ok(HostCpu { arch, model, vendor, features })
}

/// `virCPUDefListParse(xmlCPUs, ncpus, VIR_CPU_TYPE_HOST)`: each document parsed (syntax errors
/// as libxml2 reports them, `(CPU_definition)`), then read as a host CPU.
pub(super) fn parse_list(docs: &[String]) -> Result<Vec<HostCpu>> {
    if docs.is_empty() {
        return Err(conf(ErrorCode::VIR_ERR_INVALID_ARG, "no CPUs given"));
    }
    docs.iter()
        .map(|doc| {
            let root = xml::parse(doc, "(CPU_definition)")
                .map_err(|s| e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_CPU, s.message))?;
            parse_host(&root)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Result<HostCpu> {
        parse_list(&[doc.to_owned()]).map(|mut v| v.remove(0))
    }

    #[test]
    fn host_cpu_read() {
        let cpu = parse(
            "<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor>\
             <microcode version='38'/><signature family='6' model='60' stepping='3'/>\
             <counter name='tsc' frequency='2000' scaling='no'/><topology sockets='1' cores='2' threads='1'/>\
             <feature name='vmx'/><feature name='ht'/><cache level='3' mode='emulate'/></cpu>",
        )
        .unwrap();
        assert_eq!(cpu.arch, "x86_64");
        assert_eq!(cpu.vendor.as_deref(), Some("Intel"));
        assert_eq!(cpu.features, ["vmx", "ht"]);
    }

    #[test]
    fn host_cpu_errors_in_libvirts_order() {
        let cases: &[(&str, (i32, i32, &str))] = &[
            ("<host/>", (27, 31, "XML error: XML does not contain expected 'cpu' element")),
            (
                "<cpu mode='custom'/>",
                (67, 31, "unsupported configuration: Attribute mode is only allowed for guest CPU"),
            ),
            (
                "<cpu migratable='x'/>",
                (27, 5, "XML error: Invalid value for attribute 'migratable' in element 'cpu': 'x'."),
            ),
            ("<cpu><model>x</model></cpu>", (27, 31, "XML error: Missing CPU architecture")),
            ("<cpu><arch>vax</arch></cpu>", (67, 31, "unsupported configuration: Unknown architecture vax")),
            ("<cpu><arch>x86_64</arch></cpu>", (27, 31, "XML error: Missing CPU model name")),
            (
                "<cpu><arch>x86_64</arch><microcode version='x'/><model>m</model></cpu>",
                (67, 31, "unsupported configuration: invalid microcode version"),
            ),
            (
                "<cpu><arch>x86_64</arch><model>m</model><topology sockets='0' cores='1' threads='1'/></cpu>",
                (
                    27,
                    5,
                    "XML error: Invalid value for attribute 'sockets' in element 'topology': Zero is not permitted",
                ),
            ),
            (
                "<cpu><arch>x86_64</arch><model>m</model><feature name='a'/><feature name='a'/></cpu>",
                (27, 31, "XML error: CPU feature 'a' specified more than once"),
            ),
            (
                "<cpu><arch>x86_64</arch><model>m</model><feature/></cpu>",
                (27, 31, "XML error: Invalid CPU feature name"),
            ),
            (
                "<cpu><arch>x86_64</arch><model>m</model><cache level='4' mode='emulate'/></cpu>",
                (27, 31, "XML error: invalid CPU cache level, must be in range [1,3]"),
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(parse(doc).unwrap_err().triple(), *want, "{doc}");
        }
        assert_eq!(parse_list(&[]).unwrap_err().triple(), (8, 31, "invalid argument: no CPUs given"));
        assert_eq!(parse("<cpu>").unwrap_err().code().0, 35);
    }

    #[test]
    fn guest_cpu_written() {
        let mut cpu = GuestCpu {
            model: "Haswell".into(),
            vendor: Some("Intel".into()),
            fallback_forbid: false,
            features: vec![("vmx".into(), Policy::Require)],
        };
        cpu.add_if_missing("vmx", Policy::Disable);
        cpu.add_if_missing("hle", Policy::Disable);
        assert_eq!(
            cpu.format(),
            "<cpu mode='custom' match='exact'>\n  <model fallback='allow'>Haswell</model>\n  <vendor>Intel</vendor>\n  \
             <feature policy='require' name='vmx'/>\n  <feature policy='disable' name='hle'/>\n</cpu>\n"
        );
    }
}
