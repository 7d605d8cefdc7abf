//! `NETWORK_UPDATE` (the test driver's `networkUpdate`, libvirt's `virNetworkObjUpdate`): one
//! command (modify, delete, add first, add last) on one section of a network's live and/or
//! persistent definition, all or nothing.
//!
//! Served sections: the DHCP hosts and ranges of an `<ip>` (with libvirt's parse of `<host>`
//! and `<range>`, its range checks and its duplicate and lookup rules), DNS hosts, TXT and SRV
//! records (in `network_update_dns`), port groups (read and written back as a definition's are, `netdev_conf::portgroup`), and
//! forward interfaces (on a network without `<forward>` an added one is lost at once, as with
//! libvirt, whose updates start from a formatted copy that cannot show it), and the refusals libvirt gives for `bridge`, `domain`, `ip`, `forward` and `forward pf`.

use std::net::IpAddr;

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Error, Result};
use super::network_conf::{Ip, NetworkDef};
use super::network_update_dns::{update_dns_host, update_dns_srv, update_dns_txt};
use super::xml::{self, Element, Node};
use super::Hypervisor;

/// `VIR_NETWORK_UPDATE_AFFECT_LIVE` / `_CONFIG`.
const AFFECT_LIVE: u32 = 1;
const AFFECT_CONFIG: u32 = 2;

/// `virNetworkUpdateCommand`.
pub(super) const MODIFY: u32 = 1;
pub(super) const DELETE: u32 = 2;
pub(super) const ADD_LAST: u32 = 3;
pub(super) const ADD_FIRST: u32 = 4;

pub(super) const NET: ErrorDomain = ErrorDomain::VIR_FROM_NETWORK;

pub(super) fn invalid(message: String) -> Error {
    error::e(ErrorCode::VIR_ERR_OPERATION_INVALID, NET, format!("Requested operation is not valid: {message}"))
}

pub(super) fn unsupported(message: String) -> Error {
    error::e(ErrorCode::VIR_ERR_OPERATION_UNSUPPORTED, NET, format!("Operation not supported: {message}"))
}

fn xml_error(message: String) -> Error {
    error::e(ErrorCode::VIR_ERR_XML_ERROR, NET, format!("XML error: {message}"))
}

fn range_error(message: String) -> Error {
    error::e(ErrorCode::VIR_ERR_INTERNAL_ERROR, ErrorDomain::VIR_FROM_NONE, format!("internal error: {message}"))
}

/// `virSocketAddrParse` (numeric addresses).
fn parse_addr(s: &str) -> Result<IpAddr> {
    s.parse().map_err(|_| {
        error::e(
            ErrorCode::VIR_ERR_SYSTEM_ERROR,
            ErrorDomain::VIR_FROM_NONE,
            format!("Cannot parse socket address '{s}': Name or service not known"),
        )
    })
}

fn ip_address(ip: &Ip) -> Option<IpAddr> {
    ip.address.as_deref().and_then(|a| a.parse().ok())
}

fn is_v6(ip: &Ip) -> bool {
    ip.family.as_deref() == Some("ipv6") || ip_address(ip).is_some_and(|a| a.is_ipv6())
}

/// `virNetworkIPDefPrefix`: the prefix, from the netmask, or the address class's default.
fn ip_prefix(ip: &Ip, netmask: Option<&str>, prefix: Option<&str>) -> i32 {
    if let Some(p) = prefix.and_then(|p| p.trim().parse::<i32>().ok()) {
        return p;
    }
    if let Some(m) = netmask.and_then(|m| m.parse::<std::net::Ipv4Addr>().ok()) {
        return i32::try_from(u32::from(m).count_ones()).unwrap_or(-1);
    }
    match ip_address(ip) {
        Some(IpAddr::V4(a)) => match a.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            192..=223 => 24,
            _ => -1,
        },
        Some(IpAddr::V6(_)) => 64,
        None => -1,
    }
}

fn dhcp(ip: &Ip) -> Option<&Element> {
    ip.children.iter().find(|c| c.name == "dhcp")
}

fn dhcp_entries<'a>(ip: &'a Ip, kind: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    dhcp(ip).into_iter().flat_map(move |d| d.children_named(kind))
}

fn has_dhcp_entries(ip: &Ip) -> bool {
    dhcp_entries(ip, "host").next().is_some() || dhcp_entries(ip, "range").next().is_some()
}

/// The `<dhcp>` element of `ip`, created if missing.
fn dhcp_mut(ip: &mut Ip) -> &mut Element {
    if let Some(i) = ip.children.iter().position(|c| c.name == "dhcp") {
        return &mut ip.children[i];
    }
    ip.children.push(Element::new("dhcp"));
    ip.children.last_mut().expect("just pushed")
}

/// Drops a `<dhcp>` left without hosts or ranges (libvirt does not format it then).
fn tidy_dhcp(ip: &mut Ip) {
    ip.children.retain(|c| c.name != "dhcp" || c.elements().next().is_some());
}

/// `virMacAddrParse`: six hexadecimal octets separated by colons.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

/// A DHCP `<host>` as `virNetworkDHCPHostDefParseXML` reads it.
#[derive(Debug, Clone, Default)]
struct Host {
    mac: Option<String>,
    id: Option<String>,
    name: Option<String>,
    ip: Option<IpAddr>,
}

impl Host {
    fn from_element(e: &Element) -> Self {
        Self {
            mac: e.attr("mac").map(str::to_owned),
            id: e.attr("id").map(str::to_owned),
            name: e.attr("name").map(str::to_owned),
            ip: e.attr("ip").and_then(|a| a.parse().ok()),
        }
    }

    fn same_mac(&self, other: &Self) -> bool {
        match (&self.mac, &other.mac) {
            (Some(a), Some(b)) => parse_mac(a).is_some() && parse_mac(a) == parse_mac(b),
            _ => false,
        }
    }

    fn to_element(&self, source: &Element) -> Element {
        let mut e = Element::new("host");
        for (k, v) in [("mac", &self.mac), ("id", &self.id), ("name", &self.name)] {
            if let Some(v) = v {
                e.attrs.push((k.to_owned(), v.clone()));
            }
        }
        if let Some(ip) = self.ip {
            e.attrs.push(("ip".to_owned(), ip.to_string()));
        }
        // A <lease> child is kept as written.
        e.children = source.elements().filter(|c| c.name == "lease").cloned().map(Node::Element).collect();
        e
    }
}

fn parse_host(net: &str, ip: &Ip, e: &Element, partial: bool) -> Result<Host> {
    let v6 = is_v6(ip);
    let mac = e.attr("mac");
    if let Some(mac) = mac {
        if v6 {
            return Err(xml_error(format!(
                "Invalid to specify MAC address '{mac}' in network '{net}' IPv6 static host definition"
            )));
        }
        let Some(octets) = parse_mac(mac) else {
            return Err(xml_error(format!("Cannot parse MAC address '{mac}' in network '{net}'")));
        };
        if octets[0] & 1 != 0 {
            return Err(xml_error(format!("expected unicast mac address, found multicast '{mac}' in network '{net}'")));
        }
    }
    let id = e.attr("id");
    if let Some(id) = id {
        if let Some(c) = id.chars().find(|c| !(c.is_ascii_hexdigit() || *c == ':')) {
            return Err(xml_error(format!("Invalid character '{c}' in id '{id}' of network '{net}'")));
        }
    }
    let name = e.attr("name");
    if let Some(name) = name {
        if !name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Err(xml_error(format!("Cannot use host name '{name}' in network '{net}'")));
        }
    }
    let addr = match e.attr("ip") {
        Some(a) => Some(
            a.parse::<IpAddr>()
                .map_err(|_| xml_error(format!("Invalid IP address in static host definition for network '{net}'")))?,
        ),
        None => None,
    };
    if partial {
        if mac.is_none() && name.is_none() && addr.is_none() {
            return Err(xml_error(format!(
                "At least one of name, mac, or ip attribute must be specified for static host definition in network '{net}' "
            )));
        }
    } else {
        if v6 && id.is_none() && name.is_none() {
            return Err(xml_error(format!(
                "Static host definition in IPv6 network '{net}' must have id or name attribute"
            )));
        }
        if !v6 && mac.is_none() && name.is_none() {
            return Err(xml_error(format!(
                "Static host definition in IPv4 network '{net}' must have mac or name attribute"
            )));
        }
        if addr.is_none() {
            return Err(xml_error(format!("Missing IP address in static host definition for network '{net}'")));
        }
    }
    Ok(Host { mac: mac.map(str::to_owned), id: id.map(str::to_owned), name: name.map(str::to_owned), ip: addr })
}

/// `virNetworkIPDefByIndex`.
fn ip_index(def: &NetworkDef, parent_index: i32) -> Result<usize> {
    let name = &def.name;
    if parent_index >= 0 {
        return usize::try_from(parent_index).ok().filter(|i| *i < def.ips.len()).ok_or_else(|| {
            invalid(format!(
                "couldn't update dhcp host entry - no <ip> element found at index {parent_index} in network '{name}'"
            ))
        });
    }
    def.ips
        .iter()
        .position(has_dhcp_entries)
        .or_else(|| def.ips.iter().position(|ip| !is_v6(ip)))
        .or_else(|| def.ips.iter().position(is_v6))
        .ok_or_else(|| invalid(format!("couldn't update dhcp host entry - no <ip> element found in network '{name}'")))
}

/// `virNetworkDefUpdateCheckMultiDHCP`.
fn check_multi_dhcp(def: &NetworkDef, i: usize) -> Result<()> {
    let v6 = is_v6(&def.ips[i]);
    let other = def.ips.iter().enumerate().any(|(j, ip)| j != i && is_v6(ip) == v6 && has_dhcp_entries(ip));
    if other {
        let family = if v6 { "IPv6" } else { "IPv4" };
        return Err(invalid(format!("dhcp is supported only for a single {family} address on each network")));
    }
    Ok(())
}

pub(super) fn check_element(def: &NetworkDef, node: &Element, section: &str) -> Result<()> {
    if node.name != section {
        return Err(xml_error(format!(
            "unexpected element <{}>, expecting <{section}>, while updating network '{}'",
            node.name, def.name
        )));
    }
    Ok(())
}

pub(super) fn unknown_command(command: u32) -> Error {
    unsupported(format!("unrecognized network update command code {command}"))
}

fn show(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
}

fn update_dhcp_host(def: &mut NetworkDef, command: u32, parent_index: i32, node: &Element) -> Result<()> {
    check_element(def, node, "host")?;
    let i = ip_index(def, parent_index)?;
    let net = def.name.clone();
    let host = parse_host(&net, &def.ips[i], node, command == DELETE)?;
    if command != DELETE && host.ip.is_some_and(|a| a.is_ipv6()) != is_v6(&def.ips[i]) {
        return Err(invalid(
            "the address family of a host entry IP must match the address family of the dhcp element's parent".into(),
        ));
    }
    let existing: Vec<Host> = dhcp_entries(&def.ips[i], "host").map(Host::from_element).collect();
    let name_eq = |h: &Host| host.name.is_some() && host.name == h.name;
    let ip_eq = |h: &Host| host.ip.is_some() && host.ip == h.ip;
    let shown_mac = host.mac.clone().unwrap_or_else(|| "unknown".to_owned());
    let shown_name = host.name.clone().unwrap_or_else(|| "(null)".to_owned());
    match command {
        MODIFY => {
            let Some(k) = existing.iter().position(|h| host.same_mac(h) || ip_eq(h) || name_eq(h)) else {
                return Err(invalid(format!(
                    "couldn't locate an existing dhcp host entry with \"mac='{shown_mac}'\" \"name='{shown_name}'\" \"ip='{}'\" in network '{net}'",
                    show(host.ip)
                )));
            };
            let d = dhcp_mut(&mut def.ips[i]);
            if let Some(slot) = d.children.iter_mut().filter_map(element_mut).filter(|c| c.name == "host").nth(k) {
                *slot = host.to_element(node);
            }
        }
        ADD_FIRST | ADD_LAST => {
            check_multi_dhcp(def, i)?;
            if existing.iter().any(|h| host.same_mac(h) || name_eq(h) || ip_eq(h)) {
                return Err(invalid(format!(
                    "there is an existing dhcp host entry in network '{net}' that matches \"<host mac='{shown_mac}' name='{shown_name}' ip='{}'/>\"",
                    show(host.ip)
                )));
            }
            insert_entry(dhcp_mut(&mut def.ips[i]), "host", host.to_element(node), command == ADD_FIRST);
        }
        DELETE => {
            let matches = |h: &Host| {
                (host.mac.is_none() || h.mac.is_none() || host.same_mac(h))
                    && (host.name.is_none() || host.name == h.name)
                    && (host.ip.is_none() || host.ip == h.ip)
            };
            let Some(k) = existing.iter().position(matches) else {
                return Err(invalid(format!("couldn't locate a matching dhcp host entry in network '{net}'")));
            };
            remove_entry(dhcp_mut(&mut def.ips[i]), "host", k);
            tidy_dhcp(&mut def.ips[i]);
        }
        other => return Err(unknown_command(other)),
    }
    Ok(())
}

fn element_mut(n: &mut Node) -> Option<&mut Element> {
    match n {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    }
}

/// Inserts a `kind` entry first or last among its kind, ranges before hosts as libvirt formats.
fn insert_entry(dhcp: &mut Element, kind: &str, e: Element, first: bool) {
    dhcp.children.retain(|c| matches!(c, Node::Element(_)));
    let positions: Vec<usize> = dhcp
        .children
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Node::Element(x) if x.name == kind))
        .map(|(i, _)| i)
        .collect();
    let at = match (first, positions.first(), positions.last()) {
        (true, Some(i), _) => *i,
        (false, _, Some(i)) => i + 1,
        _ if kind == "range" => 0,
        _ => dhcp
            .children
            .iter()
            .position(|c| matches!(c, Node::Element(x) if x.name != "range"))
            .unwrap_or(dhcp.children.len()),
    };
    dhcp.children.insert(at, Node::Element(e));
}

pub(super) fn remove_entry(dhcp: &mut Element, kind: &str, k: usize) {
    let idx = dhcp
        .children
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Node::Element(x) if x.name == kind))
        .map(|(i, _)| i)
        .nth(k);
    if let Some(i) = idx {
        dhcp.children.remove(i);
    }
}

/// `virSocketAddrGetRange`'s checks of a DHCP range against its network.
fn check_range(start: IpAddr, end: IpAddr, ip: &Ip, prefix: i32) -> Result<()> {
    let (s, e) = (start.to_string(), end.to_string());
    if start.is_ipv4() != end.is_ipv4() {
        return Err(range_error(format!("mismatch of address family in range {s} - {e}")));
    }
    if let Some(network) = ip_address(ip) {
        let n = network.to_string();
        if network.is_ipv4() != start.is_ipv4() {
            return Err(range_error(format!("mismatch of address family in range {s} - {e} for network {n}")));
        }
        let bits = if start.is_ipv4() { 32 } else { 128 };
        if !(0..=bits).contains(&prefix) {
            return Err(range_error(format!("bad prefix {prefix} for network {n} when  checking range {s} - {e}")));
        }
        let as_u128 = |a: IpAddr| match a {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        };
        let host_bits = u32::try_from(bits - prefix).unwrap_or(0);
        let mask = if host_bits >= 128 { 0 } else { (u128::MAX >> host_bits) << host_bits };
        let mask = if bits == 32 { mask & u128::from(u32::MAX) } else { mask };
        let net_bits = as_u128(network) & mask;
        if as_u128(start) & mask != net_bits || as_u128(end) & mask != net_bits {
            return Err(range_error(format!("range {s} - {e} is not entirely within network {n}/{prefix}")));
        }
        if start.is_ipv4() {
            let broadcast = net_bits | (!mask & u128::from(u32::MAX));
            if as_u128(start) == net_bits {
                return Err(range_error(format!(
                    "start of range {s} - {e} in network {n}/{prefix} is the network address"
                )));
            }
            if as_u128(end) == broadcast {
                return Err(range_error(format!(
                    "end of range {s} - {e} in network {n}/{prefix} is the broadcast address"
                )));
            }
        }
    }
    let (a, b) = (as_words(start), as_words(end));
    let fixed = a.len() - 2;
    if a[..fixed] != b[..fixed] {
        return Err(range_error(format!("range {s} - {e} is too large (> 65535)")));
    }
    let span = (i64::from(b[fixed]) - i64::from(a[fixed])) * if start.is_ipv4() { 256 } else { 65536 }
        + (i64::from(b[fixed + 1]) - i64::from(a[fixed + 1]));
    if span < 0 {
        return Err(range_error(format!("range {s} - {e} is reversed ")));
    }
    Ok(())
}

/// IPv4 as four bytes, IPv6 as eight 16-bit words (how libvirt compares range ends).
fn as_words(a: IpAddr) -> Vec<u32> {
    match a {
        IpAddr::V4(v) => v.octets().iter().map(|o| u32::from(*o)).collect(),
        IpAddr::V6(v) => v.segments().iter().map(|s| u32::from(*s)).collect(),
    }
}

fn update_dhcp_range(def: &mut NetworkDef, command: u32, parent_index: i32, node: &Element) -> Result<()> {
    check_element(def, node, "range")?;
    let i = ip_index(def, parent_index)?;
    if command == MODIFY {
        return Err(unsupported("dhcp ranges cannot be modified, only added or deleted".into()));
    }
    let net = def.name.clone();
    let attr = |k: &str| {
        node.attr(k).ok_or_else(|| xml_error(format!("Missing '{k}' attribute in dhcp range for network '{net}'")))
    };
    let start = parse_addr(attr("start")?)?;
    let end = parse_addr(attr("end")?)?;
    let (netmask, prefix) = def.ip_mask(i);
    let prefix = ip_prefix(&def.ips[i], netmask.as_deref(), prefix.as_deref());
    check_range(start, end, &def.ips[i], prefix)?;
    if start.is_ipv6() != is_v6(&def.ips[i]) {
        return Err(invalid(
            "the address family of a dhcp range must match the address family of the dhcp element's parent".into(),
        ));
    }
    let found = dhcp_entries(&def.ips[i], "range").position(|r| {
        r.attr("start").and_then(|a| a.parse::<IpAddr>().ok()) == Some(start)
            && r.attr("end").and_then(|a| a.parse::<IpAddr>().ok()) == Some(end)
    });
    match command {
        ADD_FIRST | ADD_LAST => {
            check_multi_dhcp(def, i)?;
            if found.is_some() {
                return Err(invalid(format!(
                    "there is an existing dhcp range entry in network '{net}' that matches \"<range start='{start}' end='{end}'/>\""
                )));
            }
            let mut e = Element::new("range").with_attr("start", start.to_string()).with_attr("end", end.to_string());
            e.children = node.elements().filter(|c| c.name == "lease").cloned().map(Node::Element).collect();
            insert_entry(dhcp_mut(&mut def.ips[i]), "range", e, command == ADD_FIRST);
        }
        DELETE => {
            let Some(k) = found else {
                return Err(invalid(format!("couldn't locate a matching dhcp range entry in network '{net}'")));
            };
            remove_entry(dhcp_mut(&mut def.ips[i]), "range", k);
            tidy_dhcp(&mut def.ips[i]);
        }
        other => return Err(unknown_command(other)),
    }
    Ok(())
}

/// `virNetworkDefUpdatePortGroup`, the group read as `virNetworkPortGroupParseXML` reads it.
fn update_portgroup(def: &mut NetworkDef, command: u32, node: &Element) -> Result<()> {
    check_element(def, node, "portgroup")?;
    let net = def.name.clone();
    let group = super::netdev_conf::portgroup(node)?;
    let name = node.attr("name").unwrap_or_default();
    let is_default = group.attr("default").is_some();
    let groups = def.portgroups();
    let found_name = groups.iter().position(|g| g.attr("name") == Some(name));
    let found_default = groups.iter().position(|g| g.attr("default").is_some_and(|d| d.eq_ignore_ascii_case("yes")));
    if found_name.is_none() && matches!(command, MODIFY | DELETE) {
        return Err(invalid(format!(
            "couldn't find a portgroup entry in network '{net}' matching <portgroup name='{name}'>"
        )));
    }
    if found_name.is_some() && matches!(command, ADD_FIRST | ADD_LAST) {
        return Err(invalid(format!(
            "there is an existing portgroup entry in network '{net}' that matches \"<portgroup name='{name}'>\""
        )));
    }
    if command != DELETE && is_default && found_default.is_some() && found_default != found_name {
        return Err(invalid(format!(
            "a different portgroup entry in network '{net}' is already set as the default. Only one default is allowed."
        )));
    }
    match (command, found_name) {
        (MODIFY, Some(k)) => def.set_portgroup(Some(k), Some(group), false),
        (ADD_FIRST | ADD_LAST, _) => def.set_portgroup(None, Some(group), command == ADD_FIRST),
        (DELETE, Some(k)) => def.set_portgroup(Some(k), None, false),
        (other, _) => return Err(unknown_command(other)),
    }
    Ok(())
}

/// The forward interfaces of a `<forward>`: its `<interface dev=…>` children, or the `dev`
/// attribute alone (libvirt reads `<forward dev='X'/>` as one interface X).
fn forward_ifs(fwd: &Element) -> Vec<String> {
    let ifs: Vec<String> = fwd.children_named("interface").filter_map(|i| i.attr("dev")).map(str::to_owned).collect();
    if ifs.is_empty() {
        fwd.attr("dev").map(str::to_owned).into_iter().collect()
    } else {
        ifs
    }
}

/// Writes `ifs` back: `<interface>` children after the others, `dev` naming the first.
fn set_forward_ifs(fwd: &mut Element, ifs: &[String]) {
    fwd.children.retain(|c| matches!(c, Node::Element(e) if e.name != "interface"));
    fwd.children.extend(ifs.iter().map(|d| Node::Element(Element::new("interface").with_attr("dev", d.as_str()))));
    fwd.attrs.retain(|(k, _)| k != "dev");
    if let Some(first) = ifs.first() {
        fwd.attrs.insert(0, ("dev".to_owned(), first.clone()));
    }
}

fn update_forward_interface(def: &mut NetworkDef, command: u32, node: &Element) -> Result<()> {
    check_element(def, node, "interface")?;
    if command == MODIFY {
        return Err(unsupported("forward interface entries cannot be modified, only added or deleted".into()));
    }
    let Some(dev) = node.attr("dev") else {
        return Err(xml_error("missing dev attribute in <interface> element".into()));
    };
    let net = def.name.clone();
    let mut ifs = def.forward_mut().map(|f| forward_ifs(f)).unwrap_or_default();
    let found = ifs.iter().position(|d| d == dev);
    match command {
        ADD_FIRST | ADD_LAST => {
            if found.is_some() {
                return Err(invalid(format!(
                    "there is an existing interface entry in network '{net}' that matches \"<interface dev='{dev}'>\""
                )));
            }
            let at = if command == ADD_FIRST { 0 } else { ifs.len() };
            ifs.insert(at, dev.to_owned());
        }
        DELETE => {
            let Some(k) = found else {
                return Err(invalid(format!(
                    "couldn't find an interface entry in network '{net}' matching <interface dev='{dev}'>"
                )));
            };
            ifs.remove(k);
        }
        other => return Err(unknown_command(other)),
    }
    let Some(fwd) = def.forward_mut() else {
        // Without <forward>, libvirt takes the interface into a definition that is never
        // written out, and every update starts from a written-out copy: it is gone at once.
        return Ok(());
    };
    // The parse that checks the result: layer-3 modes take one interface at most.
    if matches!(fwd.attr("mode"), Some("nat" | "route" | "open")) && ifs.len() > 1 {
        return Err(xml_error(format!(
            "multiple forwarding interfaces specified for network '{net}', only one is supported"
        )));
    }
    set_forward_ifs(fwd, &ifs);
    Ok(())
}

/// `virNetworkDefUpdateSection` on one definition.
fn update_section(def: &mut NetworkDef, command: u32, section: u32, parent_index: i32, xml: &str) -> Result<()> {
    let node =
        xml::parse(xml, "network_update_xml").map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, NET, e.message))?;
    let no_support = |what: &str| Err(unsupported(format!("can't update '{what}' section of network '{}'", def.name)));
    match section {
        1 => no_support("bridge"),
        2 => no_support("domain"),
        3 => no_support("ip"),
        4 => update_dhcp_host(def, command, parent_index, &node),
        5 => update_dhcp_range(def, command, parent_index, &node),
        6 => no_support("forward"),
        8 => no_support("forward pf"),
        10 => update_dns_host(def, command, &node),
        9 => update_portgroup(def, command, &node),
        11 => update_dns_txt(def, command, &node),
        12 => update_dns_srv(def, command, &node),
        7 => update_forward_interface(def, command, &node),
        _ => Err(unsupported("can't update unrecognized section of network".into())),
    }
}

impl Hypervisor {
    /// `NETWORK_UPDATE` (flags `AFFECT_LIVE` 1, `AFFECT_CONFIG` 2; neither means the live
    /// definition of a running network, else the persistent one).
    pub fn network_update(
        &mut self,
        uuid: &super::Uuid,
        command: u32,
        section: u32,
        parent_index: i32,
        xml: &str,
        flags: u32,
    ) -> Result<()> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testNetworkUpdate")?;
        let i = self.net_by_uuid(uuid)?;
        let n = &self.networks[i];
        let mut flags = flags;
        if flags & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
            flags |= if n.active { AFFECT_LIVE } else { AFFECT_CONFIG };
        }
        if !n.active && flags & AFFECT_LIVE != 0 {
            return Err(invalid("network is not running".into()));
        }
        if flags & AFFECT_CONFIG != 0 && !n.persistent {
            return Err(invalid("cannot change persistent config of a transient network".into()));
        }
        let live = if flags & AFFECT_LIVE != 0 {
            let mut d = n.def.clone();
            update_section(&mut d, command, section, parent_index, xml)?;
            Some(d)
        } else {
            None
        };
        let config = if flags & AFFECT_CONFIG != 0 {
            let mut d = n.new_def.clone().unwrap_or_else(|| n.def.clone());
            update_section(&mut d, command, section, parent_index, xml)?;
            Some(d)
        } else {
            None
        };
        let n = &mut self.networks[i];
        if let Some(c) = config {
            if n.active {
                n.new_def = Some(c);
            } else {
                n.def = c;
            }
        }
        // Without a separate persistent definition, the live one is also the persistent one.
        if let Some(l) = live {
            n.def = l;
        }
        self.persist_network(i);
        Ok(())
    }
}
