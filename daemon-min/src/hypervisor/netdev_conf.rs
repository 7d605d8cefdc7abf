//! The network-device settings libvirt shares between domain interfaces, networks and their
//! port groups (`src/conf/netdev_bandwidth_conf.c`, `netdev_vlan_conf.c`,
//! `netdev_vport_profile_conf.c`): `<bandwidth>` and `<vlan>` checked as libvirt checks them
//! and written back as it writes them, `<virtualport>`'s type checked (its parameters are kept
//! as written), and a network's `<portgroup>` (`virNetworkPortGroupParseXML`) built from them.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Doc, Error, Result};
use super::xml::{Element, Node};
use super::xml_prop::{prop_uint, ullp};

/// An error of the netdev helpers (`VIR_FROM_NONE`).
fn none(code: ErrorCode, message: String) -> Error {
    error::report(code, ErrorDomain::VIR_FROM_NONE, message)
}

/// One direction's rates: average, peak, floor, burst.
type Rate = [u64; 4];
const RATE_ATTRS: [&str; 4] = ["average", "peak", "floor", "burst"];

/// `virNetDevBandwidthParseRate`.
fn parse_rate(node: &Element) -> Result<Rate> {
    let attr = |name: &str| node.attr(name);
    let convert = |name: &str| -> Result<u64> {
        match attr(name) {
            None => Ok(0),
            Some(v) => ullp(v).ok_or_else(|| {
                none(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, format!("could not convert bandwidth {name} value '{v}'"))
            }),
        }
    };
    let average = match attr("average") {
        Some(_) => convert("average")?,
        None if attr("floor").is_none() => {
            return Err(none(ErrorCode::VIR_ERR_XML_DETAIL, "Missing mandatory average or floor attributes".into()))
        }
        None => 0,
    };
    if (attr("peak").is_some() || attr("burst").is_some()) && attr("average").is_none() {
        return Err(none(
            ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
            "'peak' and 'burst' require 'average' attribute".into(),
        ));
    }
    let peak = convert("peak")?;
    let burst = convert("burst")?;
    let floor = convert("floor")?;
    Ok([average, peak, floor, burst])
}

/// `virNetDevBandwidthParse`: `<bandwidth>` checked, then written as libvirt writes it
/// (`inbound` before `outbound`, a direction only when it has an average or a floor, unknown
/// children dropped); `None` when it has neither direction (libvirt then writes nothing).
/// `class_id` says whether the context takes a `classID` attribute; `allow_floor` whether an
/// inbound floor is allowed.
pub(super) fn bandwidth(node: &Element, class_id: bool, allow_floor: bool) -> Result<Option<Element>> {
    if let Some(id) = node.attr("classID") {
        if !class_id {
            return Err(none(
                ErrorCode::VIR_ERR_XML_DETAIL,
                "classID attribute not supported on <bandwidth> in this usage context".into(),
            ));
        }
        if ullp(id).and_then(|v| u32::try_from(v).ok()).is_none() {
            return Err(none(ErrorCode::VIR_ERR_INTERNAL_ERROR, format!("Unable to parse class id '{id}'")));
        }
    }
    let (mut inbound, mut outbound) = (None, None);
    for c in node.elements() {
        let slot = match c.name.as_str() {
            "inbound" => &mut inbound,
            "outbound" => &mut outbound,
            _ => continue,
        };
        if slot.is_some() {
            return Err(none(ErrorCode::VIR_ERR_XML_DETAIL, format!("Only one child <{}> element allowed", c.name)));
        }
        *slot = Some(c);
    }
    let inbound = inbound.map(parse_rate).transpose()?;
    if inbound.is_some_and(|r| r[2] != 0) && !allow_floor {
        return Err(none(
            ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
            "floor attribute is not supported for this config".into(),
        ));
    }
    let outbound = outbound.map(parse_rate).transpose()?;
    if outbound.is_some_and(|r| r[2] != 0) {
        return Err(none(
            ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
            "'floor' attribute allowed only in <inbound> element".into(),
        ));
    }
    if inbound.is_none() && outbound.is_none() {
        return Ok(None);
    }
    let mut out = Element::new("bandwidth");
    for (name, rate) in [("inbound", inbound), ("outbound", outbound)] {
        let Some(rate) = rate.filter(|r| r[0] != 0 || r[2] != 0) else { continue };
        let mut e = Element::new(name);
        for (attr, v) in RATE_ATTRS.iter().zip(rate) {
            if v != 0 {
                e.attrs.push(((*attr).to_owned(), v.to_string()));
            }
        }
        out.children.push(Node::Element(e));
    }
    Ok(Some(out))
}

/// `virNetDevVlanParse`, then `virNetDevVlanFormat`: the tags as numbers, `trunk='yes'` when
/// it is, the native tag's mode.
pub(super) fn vlan(node: &Element) -> Result<Element> {
    let tags: Vec<&Element> = node.children_named("tag").collect();
    if tags.is_empty() {
        return Err(none(
            ErrorCode::VIR_ERR_XML_ERROR,
            "missing tag id - each <vlan> must have at least one <tag id='n'/> subelement".into(),
        ));
    }
    let mut ids = Vec::with_capacity(tags.len());
    let mut native: Option<(u32, &str)> = None;
    for tag in &tags {
        let id = prop_uint(tag, "id", true, false)?.unwrap_or_default();
        if id > 4095 {
            return Err(none(ErrorCode::VIR_ERR_XML_ERROR, format!("vlan tag id {id} too large (maximum 4095)")));
        }
        if let Some(mode) = tag.attr("nativeMode") {
            if !matches!(mode, "tagged" | "untagged") {
                return Err(error::xml_util_error(&format!(
                    "Invalid value for attribute 'nativeMode' in element 'tag': '{mode}'."
                )));
            }
            if native.is_some() {
                return Err(none(ErrorCode::VIR_ERR_XML_ERROR, "duplicate native vlan setting".into()));
            }
            native = Some((id, mode));
        }
        ids.push(id);
    }
    let mut trunk = ids.len() > 1;
    if let Some(t) = node.attr("trunk") {
        trunk = t.eq_ignore_ascii_case("yes");
        if !trunk {
            if ids.len() > 1 {
                return Err(none(
                    ErrorCode::VIR_ERR_XML_ERROR,
                    format!("invalid \"trunk='{t}'\" in <vlan> - trunk='yes' is required for more than one vlan tag"),
                ));
            }
            if native.is_some() {
                return Err(none(
                    ErrorCode::VIR_ERR_XML_ERROR,
                    "invalid configuration in <vlan> - \"trunk='no'\" is not allowed with a native vlan id".into(),
                ));
            }
            if !t.eq_ignore_ascii_case("no") {
                return Err(none(
                    ErrorCode::VIR_ERR_XML_ERROR,
                    format!("invalid \"trunk='{t}'\" in <vlan> - must be yes or no"),
                ));
            }
        }
    }
    let mut out = Element::new("vlan");
    if trunk {
        out.attrs.push(("trunk".into(), "yes".into()));
    }
    for id in ids {
        let mut tag = Element::new("tag").with_attr("id", id.to_string());
        if let Some((_, mode)) = native.filter(|(n, _)| *n == id) {
            tag.attrs.push(("nativeMode".into(), mode.to_owned()));
        }
        out.children.push(Node::Element(tag));
    }
    Ok(out)
}

/// The first check of `virNetDevVPortProfileParse`: a known type.
pub(super) fn virtualport(node: &Element) -> Result<()> {
    match node.attr("type") {
        Some("802.1Qbg" | "802.1Qbh" | "openvswitch" | "midonet") | None => Ok(()),
        Some(t) => Err(none(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, format!("unknown virtualport type {t}"))),
    }
}

/// `virNetworkPortGroupParseXML`, then `virPortGroupDefFormat`: the group as libvirt writes it
/// back (name, `default='yes'`, `trustGuestRxFilters`; then `<vlan>`, `<virtualport>`,
/// `<bandwidth>`).
pub(super) fn portgroup(node: &Element) -> Result<Element> {
    let Some(name) = node.attr("name") else {
        return Err(error::xml_error(Doc::Network, "Missing required name attribute in portgroup"));
    };
    let is_default = node.attr("default").is_some_and(|d| d.eq_ignore_ascii_case("yes"));
    let trust = node.attr("trustGuestRxFilters");
    if let Some(t) = trust.filter(|t| !matches!(*t, "yes" | "no")) {
        return Err(error::xml_util_error(&format!(
            "Invalid value for attribute 'trustGuestRxFilters' in element 'portgroup': '{t}'."
        )));
    }
    let vport = node.child("virtualport");
    if let Some(v) = vport {
        virtualport(v)?;
    }
    let bw = node.child("bandwidth").map(|b| bandwidth(b, false, false)).transpose()?.flatten();
    let vl = node.child("vlan").map(vlan).transpose()?;
    let mut group = Element::new("portgroup").with_attr("name", name);
    if is_default {
        group.attrs.push(("default".to_owned(), "yes".to_owned()));
    }
    if let Some(t) = trust {
        group.attrs.push(("trustGuestRxFilters".to_owned(), t.to_owned()));
    }
    group.children = [vl, vport.cloned(), bw].into_iter().flatten().map(Node::Element).collect();
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::xml::parse;

    fn el(s: &str) -> Element {
        parse(s, "t").unwrap()
    }

    #[test]
    fn bandwidth_checked_and_normalised() {
        let ok = bandwidth(
            &el("<bandwidth><outbound average='5' burst='2'/><x/><inbound floor='3'/></bandwidth>"),
            false,
            true,
        )
        .unwrap()
        .unwrap();
        let names: Vec<&str> = ok.elements().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["inbound", "outbound"]);
        assert!(bandwidth(&el("<bandwidth/>"), false, false).unwrap().is_none());
        let err = |s: &str| bandwidth(&el(s), false, false).unwrap_err().triple().2.to_owned();
        assert_eq!(err("<bandwidth><inbound peak='5'/></bandwidth>"), "Missing mandatory average or floor attributes");
        assert_eq!(
            err("<bandwidth><inbound floor='5' peak='1'/></bandwidth>"),
            "unsupported configuration: 'peak' and 'burst' require 'average' attribute"
        );
        assert_eq!(
            err("<bandwidth><inbound average='1' floor='5'/></bandwidth>"),
            "unsupported configuration: floor attribute is not supported for this config"
        );
        assert_eq!(
            err("<bandwidth classID='1'><inbound average='1'/></bandwidth>"),
            "classID attribute not supported on <bandwidth> in this usage context"
        );
    }

    #[test]
    fn vlan_checked_and_normalised() {
        let v = vlan(&el("<vlan trunk='no'><tag id='007'/></vlan>")).unwrap();
        assert!(v.attrs.is_empty());
        assert_eq!(v.child("tag").unwrap().attr("id"), Some("7"));
        let v = vlan(&el("<vlan><tag id='1'/><tag id='2' nativeMode='untagged'/></vlan>")).unwrap();
        assert_eq!(v.attr("trunk"), Some("yes"));
        assert!(vlan(&el("<vlan/>")).is_err());
        assert_eq!(
            vlan(&el("<vlan><tag id='4096'/></vlan>")).unwrap_err().triple(),
            (27, 0, "XML error: vlan tag id 4096 too large (maximum 4095)")
        );
    }
}
