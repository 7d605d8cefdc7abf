//! Network definitions (`<network>`), parsed with libvirt's defaults and formatted as
//! `virNetworkDefFormat` does: name, uuid, forward, bridge (with the stp/delay defaults of
//! routed networks), mtu, mac, domain, ip with dhcp ranges and hosts. Other known elements
//! (dns, portgroup, route, ...) are kept and written back after the addresses.

use std::fmt::Write as _;

use super::error::{self, Doc, Result};
use super::netdev_conf;
use super::uuid::Uuid;
use super::xml::{self, escape, Buf, Element};

/// Kept verbatim, written in this order after `<ip>` (or before, for `dns`).
const KEPT_BEFORE_IP: &[&str] = &["dns", "vlan", "bandwidth", "port"];
const KEPT_AFTER_IP: &[&str] = &["route", "virtualport", "portgroup"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ip {
    pub(super) family: Option<String>,
    pub(super) address: Option<String>,
    netmask: Option<String>,
    prefix: Option<String>,
    pub(super) children: Vec<Element>,
}

/// A parsed network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    pub(crate) name: String,
    pub(crate) uuid: Uuid,
    forward: Option<Element>,
    pub(crate) bridge: Option<String>,
    stp: bool,
    delay: u64,
    bridge_extra: Vec<(String, String)>,
    mtu: Option<String>,
    mac: Option<String>,
    domain: Option<Element>,
    pub(super) ips: Vec<Ip>,
    kept: Vec<Element>,
}

impl NetworkDef {
    /// Parses a `<network>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let root = xml::parse(text, Doc::Network.context()).map_err(|e| error::xml_syntax(Doc::Network, e.message))?;
        Self::from_element(&root)
    }

    pub(crate) fn from_element(root: &Element) -> Result<Self> {
        if root.name != "network" {
            return Err(error::xml_util_error(&format!("expecting root element of 'network', not '{}'", root.name)));
        }
        let name =
            root.child_text("name").filter(|n| !n.is_empty()).ok_or_else(|| error::missing_name(Doc::Network))?;
        let uuid = match root.child_text("uuid") {
            Some(u) => Uuid::parse(&u).ok_or_else(|| error::parse_internal(Doc::Network, "malformed uuid element"))?,
            None => Uuid::random(),
        };
        let forward = root.child("forward").map(|f| {
            let mut f = f.clone();
            if f.attr("mode").is_none() {
                f.attrs.push(("mode".to_owned(), "nat".to_owned()));
            }
            f
        });
        let bridge = root.child("bridge");
        let kept = root
            .elements()
            .filter(|e| KEPT_BEFORE_IP.contains(&e.name.as_str()) || KEPT_AFTER_IP.contains(&e.name.as_str()))
            .map(|e| match e.name.as_str() {
                // The network's own <bandwidth> takes a classID but no floor.
                "bandwidth" => netdev_conf::bandwidth(e, true, false),
                "vlan" => netdev_conf::vlan(e).map(Some),
                "virtualport" => netdev_conf::virtualport(e).map(|()| Some(e.clone())),
                "portgroup" => netdev_conf::portgroup(e).map(Some),
                _ => Ok(Some(e.clone())),
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(Self {
            name,
            uuid,
            forward,
            bridge: bridge.and_then(|b| b.attr("name")).map(str::to_owned),
            stp: bridge.and_then(|b| b.attr("stp")) != Some("off"),
            delay: bridge.and_then(|b| b.attr("delay")).and_then(|d| d.trim().parse().ok()).unwrap_or(0),
            bridge_extra: bridge
                .map(|b| {
                    b.attrs.iter().filter(|(k, _)| !matches!(k.as_str(), "name" | "stp" | "delay")).cloned().collect()
                })
                .unwrap_or_default(),
            mtu: root.child("mtu").and_then(|m| m.attr("size")).map(str::to_owned),
            mac: root.child("mac").and_then(|m| m.attr("address")).map(str::to_lowercase),
            domain: root.child("domain").cloned(),
            ips: root
                .children_named("ip")
                .map(|ip| Ip {
                    family: ip.attr("family").map(str::to_owned),
                    address: ip.attr("address").map(str::to_owned),
                    netmask: ip.attr("netmask").map(str::to_owned),
                    prefix: ip.attr("prefix").map(str::to_owned),
                    children: ip.elements().cloned().collect(),
                })
                .collect(),
            kept,
        })
    }

    /// The netmask and prefix of `<ip>` number `i`, as written.
    pub(super) fn ip_mask(&self, i: usize) -> (Option<String>, Option<String>) {
        self.ips.get(i).map_or((None, None), |ip| (ip.netmask.clone(), ip.prefix.clone()))
    }

    /// The `<dns>` element, if any.
    pub(super) fn dns(&self) -> Option<&Element> {
        self.kept.iter().find(|k| k.name == "dns")
    }

    /// The `<dns>` element, created if missing.
    pub(super) fn dns_mut(&mut self) -> &mut Element {
        let i = match self.kept.iter().position(|k| k.name == "dns") {
            Some(i) => i,
            None => {
                self.kept.insert(0, Element::new("dns"));
                0
            }
        };
        &mut self.kept[i]
    }

    /// The `<forward>` element, if any.
    pub(super) fn forward_mut(&mut self) -> Option<&mut Element> {
        self.forward.as_mut()
    }

    /// The `<portgroup>` elements, in order.
    pub(super) fn portgroups(&self) -> Vec<&Element> {
        self.kept.iter().filter(|k| k.name == "portgroup").collect()
    }

    /// Replaces (`Some(k)`, `Some(g)`), removes (`Some(k)`, `None`) or adds (`None`, `Some(g)`,
    /// first or last) a `<portgroup>`.
    pub(super) fn set_portgroup(&mut self, k: Option<usize>, group: Option<Element>, first: bool) {
        let at: Vec<usize> =
            self.kept.iter().enumerate().filter(|(_, e)| e.name == "portgroup").map(|(i, _)| i).collect();
        match (k.and_then(|k| at.get(k).copied()), group) {
            (Some(i), Some(g)) => self.kept[i] = g,
            (Some(i), None) => {
                self.kept.remove(i);
            }
            (None, Some(g)) => {
                let i = if first { at.first().copied() } else { at.last().map(|i| i + 1) };
                self.kept.insert(i.unwrap_or(self.kept.len()), g);
            }
            (None, None) => {}
        }
    }

    /// Drops a `<dns>` left with neither attributes nor records (libvirt formats none then).
    pub(super) fn tidy_dns(&mut self) {
        self.kept.retain(|k| k.name != "dns" || !k.attrs.is_empty() || k.elements().next().is_some());
    }

    /// The first `<ip>` as the test driver's guest addresses read it: (family, address,
    /// netmask, prefix, the first DHCP range's start).
    pub(crate) fn first_ip(&self) -> Option<[Option<&str>; 5]> {
        let ip = self.ips.first()?;
        let range =
            ip.children.iter().find(|c| c.name == "dhcp").and_then(|d| d.child("range")).and_then(|r| r.attr("start"));
        Some([ip.family.as_deref(), ip.address.as_deref(), ip.netmask.as_deref(), ip.prefix.as_deref(), range])
    }

    /// Whether the network has a bridge of its own (no forward, or nat/route/open).
    fn has_bridge(&self) -> bool {
        match self.forward.as_ref().and_then(|f| f.attr("mode")) {
            None => true,
            Some(m) => matches!(m, "nat" | "route" | "open"),
        }
    }

    /// Formats the definition as `virNetworkDefFormat` does.
    #[must_use]
    pub fn format(&self) -> String {
        let mut b = Buf::new();
        b.line("<network>");
        b.push();
        b.text_elem("name", &self.name);
        b.line(&format!("<uuid>{}</uuid>", self.uuid));
        if let Some(f) = &self.forward {
            let mode = f.attr("mode").unwrap_or("nat");
            let mut s = String::from("<forward");
            if let Some(d) = f.attr("dev") {
                let _ = write!(s, " dev='{}'", escape(d));
            }
            let _ = write!(s, " mode='{}'", escape(mode));
            if f.elements().next().is_none() {
                s.push_str("/>");
                b.line(&s);
            } else {
                s.push('>');
                b.line(&s);
                b.push();
                for c in f.elements() {
                    b.element(c);
                }
                b.pop();
                b.line("</forward>");
            }
        }
        let has_bridge = self.has_bridge();
        if has_bridge || self.bridge.is_some() || !self.bridge_extra.is_empty() {
            let mut s = String::from("<bridge");
            if let Some(n) = &self.bridge {
                let _ = write!(s, " name='{}'", escape(n));
            }
            for (k, v) in &self.bridge_extra {
                let _ = write!(s, " {k}='{}'", escape(v));
            }
            if has_bridge {
                let _ = write!(s, " stp='{}' delay='{}'", if self.stp { "on" } else { "off" }, self.delay);
            }
            s.push_str("/>");
            b.line(&s);
        }
        if let Some(m) = &self.mtu {
            b.line(&format!("<mtu size='{}'/>", escape(m)));
        }
        if let Some(m) = &self.mac {
            b.line(&format!("<mac address='{}'/>", escape(m)));
        }
        if let Some(d) = &self.domain {
            b.element(d);
        }
        for k in self.kept.iter().filter(|k| KEPT_BEFORE_IP.contains(&k.name.as_str())) {
            b.element(k);
        }
        for ip in &self.ips {
            let mut s = String::from("<ip");
            for (k, v) in
                [("family", &ip.family), ("address", &ip.address), ("netmask", &ip.netmask), ("prefix", &ip.prefix)]
            {
                if let Some(v) = v {
                    let _ = write!(s, " {k}='{}'", escape(v));
                }
            }
            s.push('>');
            b.line(&s);
            b.push();
            for c in &ip.children {
                b.element(c);
            }
            b.pop();
            b.line("</ip>");
        }
        for k in self.kept.iter().filter(|k| KEPT_AFTER_IP.contains(&k.name.as_str())) {
            // libvirt writes a port group's tags open and closed even when it has nothing inside.
            if k.name == "portgroup" && k.elements().next().is_none() {
                let mut open = String::from("<portgroup");
                for (a, v) in &k.attrs {
                    let _ = write!(open, " {a}='{}'", escape(v));
                }
                open.push('>');
                b.line(&open);
                b.line("</portgroup>");
            } else {
                b.element(k);
            }
        }
        b.pop();
        b.line("</network>");
        b.finish()
    }
}
