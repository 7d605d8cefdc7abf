//! `NETWORK_UPDATE` of the DNS sections (`virNetworkDefUpdateDNSHost`, `...DNSTxt`,
//! `...DNSSrv`): records added first or last among their kind or deleted, never modified, with
//! libvirt's parse of `<host>`, `<txt>` and `<srv>` and its match rules. An emptied `<dns>`
//! disappears, as libvirt formats none.

use std::net::IpAddr;

use proto_core::error::ErrorCode;

use super::error::{self, Error, Result};
use super::network_conf::NetworkDef;
use super::network_update::{
    check_element, invalid, remove_entry, unknown_command, unsupported, ADD_FIRST, ADD_LAST, DELETE, MODIFY, NET,
};
use super::xml::{Element, Node};

fn detail(message: String) -> Error {
    error::e(ErrorCode::VIR_ERR_XML_DETAIL, NET, message)
}

/// Inserts a DNS record first or last among its kind, in libvirt's order of kinds (forwarders,
/// TXT, SRV, hosts).
fn insert_dns(dns: &mut Element, e: Element, first: bool) {
    const ORDER: [&str; 4] = ["forwarder", "txt", "srv", "host"];
    let rank = |n: &str| ORDER.iter().position(|o| *o == n).unwrap_or(ORDER.len());
    dns.children.retain(|c| matches!(c, Node::Element(_)));
    let mine = rank(&e.name);
    let at = dns
        .children
        .iter()
        .position(|c| matches!(c, Node::Element(x) if if first { rank(&x.name) >= mine } else { rank(&x.name) > mine }))
        .unwrap_or(dns.children.len());
    dns.children.insert(at, Node::Element(e));
}

fn dns_records<'a>(def: &'a NetworkDef, kind: &'a str) -> Vec<&'a Element> {
    def.dns().map(|d| d.children_named(kind).collect()).unwrap_or_default()
}

fn remove_dns(def: &mut NetworkDef, kind: &str, k: usize) {
    remove_entry(def.dns_mut(), kind, k);
    def.tidy_dns();
}

pub(super) fn update_dns_txt(def: &mut NetworkDef, command: u32, node: &Element) -> Result<()> {
    if command == MODIFY {
        return Err(unsupported("DNS TXT records cannot be modified, only added or deleted".into()));
    }
    check_element(def, node, "txt")?;
    let net = def.name.clone();
    let is_add = command == ADD_FIRST || command == ADD_LAST;
    let Some(name) = node.attr("name") else {
        return Err(detail(format!("missing required name attribute in DNS TXT record of network {net}")));
    };
    if name.contains([' ', ',']) {
        return Err(detail(format!("prohibited character in DNS TXT record name '{name}' of network {net}")));
    }
    let value = node.attr("value");
    if value.is_none() && is_add {
        return Err(detail(format!(
            "missing required value attribute in DNS TXT record named '{name}' of network {net}"
        )));
    }
    let found = dns_records(def, "txt").iter().position(|t| t.attr("name") == Some(name));
    match command {
        ADD_FIRST | ADD_LAST => {
            if found.is_some() {
                return Err(invalid(format!("there is already a DNS TXT record with name '{name}' in network {net}")));
            }
            let e = Element::new("txt").with_attr("name", name).with_attr("value", value.unwrap_or_default());
            insert_dns(def.dns_mut(), e, command == ADD_FIRST);
        }
        DELETE => {
            let Some(k) = found else {
                return Err(invalid(format!("couldn't locate a matching DNS TXT record in network {net}")));
            };
            remove_dns(def, "txt", k);
        }
        other => return Err(unknown_command(other)),
    }
    Ok(())
}

pub(super) fn update_dns_host(def: &mut NetworkDef, command: u32, node: &Element) -> Result<()> {
    if command == MODIFY {
        return Err(unsupported("DNS HOST records cannot be modified, only added or deleted".into()));
    }
    check_element(def, node, "host")?;
    let net = def.name.clone();
    let is_add = command == ADD_FIRST || command == ADD_LAST;
    let ip = match node.attr("ip") {
        None if is_add => return Err(detail(format!("Missing IP address in network '{net}' DNS HOST record"))),
        None => None,
        Some(a) => Some(
            a.parse::<IpAddr>()
                .map_err(|_| detail(format!("Invalid IP address in network '{net}' DNS HOST record")))?,
        ),
    };
    let mut names = Vec::new();
    for h in node.children_named("hostname").filter(|h| !h.children.is_empty()) {
        let name = h.text();
        if name.is_empty() {
            return Err(detail(format!("Missing hostname in network '{net}' DNS HOST record")));
        }
        names.push(name);
    }
    if names.is_empty() && is_add {
        return Err(detail(format!("Missing hostname in network '{net}' DNS HOST record")));
    }
    if ip.is_none() && names.is_empty() {
        return Err(detail(format!("Missing ip and hostname in network '{net}' DNS HOST record")));
    }
    let existing = dns_records(def, "host");
    let matching: Vec<usize> = existing
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            let same_ip = ip.is_some() && h.attr("ip").and_then(|a| a.parse::<IpAddr>().ok()) == ip;
            same_ip || (!is_add && h.children_named("hostname").any(|n| names.contains(&n.text())))
        })
        .map(|(i, _)| i)
        .collect();
    match command {
        ADD_FIRST | ADD_LAST => {
            if !matching.is_empty() {
                return Err(invalid(format!(
                    "there is already at least one DNS HOST record with a matching field in network {net}"
                )));
            }
            let mut e = Element::new("host").with_attr("ip", ip.map(|a| a.to_string()).unwrap_or_default());
            e.children = names
                .into_iter()
                .map(|n| Node::Element(Element { children: vec![Node::Text(n)], ..Element::new("hostname") }))
                .collect();
            insert_dns(def.dns_mut(), e, command == ADD_FIRST);
        }
        DELETE => match matching[..] {
            [] => return Err(invalid(format!("couldn't locate a matching DNS HOST record in network {net}"))),
            [k] => remove_dns(def, "host", k),
            _ => return Err(invalid(format!("multiple matching DNS HOST records were found in network {net}"))),
        },
        other => return Err(unknown_command(other)),
    }
    Ok(())
}

/// A DNS SRV record as `virNetworkDNSSrvDefParseXML` reads it (`partial` for a delete).
fn parse_srv(net: &str, node: &Element, partial: bool) -> Result<Element> {
    const SERVICE_EXTRA: &str = "_-+/*";
    const PROTOCOL_EXTRA: &str = "-+/";
    let service = node.attr("service");
    let shown_service = service.unwrap_or("(null)");
    if service.is_none() && !partial {
        return Err(detail(format!("missing required service attribute in DNS SRV record of network '{net}'")));
    }
    if let Some(s) = service {
        if s.len() > 512 - 30 {
            return Err(detail(format!(
                "service attribute '{s}' in network '{net}' is too long, limit is {} bytes",
                512 - 30
            )));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || SERVICE_EXTRA.contains(c)) {
            return Err(detail(format!(
                "invalid character in service attribute '{s}' in DNS SRV record of network '{net}'"
            )));
        }
    }
    let protocol = node.attr("protocol");
    if protocol.is_none() && !partial {
        return Err(detail(format!(
            "missing required protocol attribute in DNS SRV record '{shown_service}' of network '{net}'"
        )));
    }
    if let Some(p) = protocol {
        if !p.chars().all(|c| c.is_ascii_alphanumeric() || PROTOCOL_EXTRA.contains(c)) {
            return Err(detail(format!(
                "invalid character in protocol attribute '{p}' in DNS SRV record of network '{net}'"
            )));
        }
    }
    let target = node.attr("target");
    let mut out = Element::new("srv");
    for (k, v) in [("service", service), ("protocol", protocol), ("domain", node.attr("domain")), ("target", target)] {
        if let Some(v) = v {
            out.attrs.push((k.to_owned(), v.to_owned()));
        }
    }
    for (attr, bad, low) in [("port", "invalid", 1u32), ("priority", "Invalid", 0), ("weight", "invalid", 0)] {
        let Some(raw) = node.attr(attr).filter(|v| !v.is_empty()) else { continue };
        let value = raw.parse::<u32>().ok();
        if value.is_some() && target.is_none() {
            return Err(detail(format!(
                "DNS SRV {attr} attribute not permitted without target for service '{shown_service}' in network '{net}'"
            )));
        }
        match value {
            Some(v) if (low..=65535).contains(&v) => {
                if v != 0 {
                    out.attrs.push((attr.to_owned(), v.to_string()));
                }
            }
            _ => {
                return Err(detail(format!(
                    "{bad} DNS SRV {attr} attribute for service '{shown_service}' in network '{net}'"
                )))
            }
        }
    }
    Ok(out)
}

pub(super) fn update_dns_srv(def: &mut NetworkDef, command: u32, node: &Element) -> Result<()> {
    if command == MODIFY {
        return Err(unsupported("DNS SRV records cannot be modified, only added or deleted".into()));
    }
    check_element(def, node, "srv")?;
    let net = def.name.clone();
    let is_add = command == ADD_FIRST || command == ADD_LAST;
    let srv = parse_srv(&net, node, !is_add)?;
    let matching: Vec<usize> = dns_records(def, "srv")
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            ["domain", "service", "protocol", "target"].iter().all(|k| srv.attr(k).is_none_or(|v| r.attr(k) == Some(v)))
        })
        .map(|(i, _)| i)
        .collect();
    match command {
        ADD_FIRST | ADD_LAST => {
            if !matching.is_empty() {
                return Err(invalid(format!(
                    "there is already at least one DNS SRV record matching all specified fields in network {net}"
                )));
            }
            insert_dns(def.dns_mut(), srv, command == ADD_FIRST);
        }
        DELETE => match matching[..] {
            [] => return Err(invalid(format!("couldn't locate a matching DNS SRV record in network {net}"))),
            [k] => remove_dns(def, "srv", k),
            _ => {
                return Err(invalid(format!(
                    "multiple DNS SRV records matching all specified fields were found in network {net}"
                )))
            }
        },
        other => return Err(unknown_command(other)),
    }
    Ok(())
}
