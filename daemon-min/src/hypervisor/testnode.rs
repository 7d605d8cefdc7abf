//! Test-driver node descriptions (`test:///PATH`): a `<node>` document with `<domain>`,
//! `<network>`, `<pool>` (holding `<volume>`s), `<cpu>` and `<memory>` children. Any of the
//! object elements may instead name a file with `file='...'`, relative to the node file.
//!
//! As in libvirt: domains start running (ids 1, 2, ...) unless they carry the test namespace's
//! `<test:runstate>5</test:runstate>`; `<test:transient/>` makes one transient; networks and
//! pools start active; the node info starts from the default and takes what `<cpu>` and
//! `<memory>` say; there are no NUMA cells.

use std::path::{Path, PathBuf};

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Error, Result};
use super::interface::{InterfaceDef, InterfaceObj};
use super::nodedev::NodeDeviceDef;
use super::xml::{self, Element};
use super::{reason, DomainDef, DomainObj, DomainState, Hypervisor, NetworkDef, NetworkObj, PoolDef, VolDef, VolObj};

fn file_error(path: &Path) -> Error {
    error::e(
        ErrorCode::VIR_ERR_XML_ERROR,
        ErrorDomain::VIR_FROM_TEST,
        format!("XML error: failed to parse xml document '{}'", path.display()),
    )
}

/// The most of a node file (or a file it references) that is read: libxml2's limit on a text
/// node without `XML_PARSE_HUGE`. A client names the file (`test:///PATH`), so it may be
/// anything: a device that never ends is read no further than this.
const MAX_NODE_FILE: u64 = 10_000_000;

/// Reads a file the way libxml2 takes it in: up to the first NUL byte (`/dev/zero` reads as an
/// empty document), and at most [`MAX_NODE_FILE`] bytes.
fn read_node_text(path: &Path) -> Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|_| file_error(path))?;
    let mut bytes = Vec::new();
    let mut reader = file.take(MAX_NODE_FILE + 1);
    let mut chunk = [0u8; 8192];
    loop {
        let n = reader.read(&mut chunk).map_err(|_| file_error(path))?;
        let Some(got) = chunk.get(..n).filter(|c| !c.is_empty()) else { break };
        if let Some(nul) = got.iter().position(|&b| b == 0) {
            bytes.extend_from_slice(&got[..nul]);
            break;
        }
        bytes.extend_from_slice(got);
    }
    if bytes.len() as u64 > MAX_NODE_FILE {
        return Err(error::e(
            ErrorCode::VIR_ERR_XML_DETAIL,
            ErrorDomain::VIR_FROM_TEST,
            format!("{}:1: xmlSAX2Characters: huge text node", path.display()),
        ));
    }
    String::from_utf8(bytes).map_err(|_| file_error(path))
}

pub(super) fn from_file(path: &Path, hostname: &str) -> Result<Hypervisor> {
    let text = read_node_text(path)?;
    let root = xml::parse(&text, &path.display().to_string())
        .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_TEST, e.message))?;
    if root.name != "node" {
        return Err(error::xml_util_error(&format!("expecting root element of 'node', not '{}'", root.name)));
    }
    let mut h = Hypervisor::empty(hostname);
    load_node(&mut h, &root, Some(path))?;
    // `<auth>` with users (`testConnectAuthenticate`): the driver must ask the connection for
    // credentials, and a daemon's connection has none to give (libvirtd opens the driver without
    // an authentication callback), so such a node file never opens through a daemon.
    if root.child("auth").is_some_and(|a| a.children_named("user").next().is_some()) {
        return Err(error::e(
            ErrorCode::VIR_ERR_INVALID_ARG,
            ErrorDomain::VIR_FROM_AUTH,
            "invalid argument: Missing authentication credentials",
        ));
    }
    Ok(h)
}

/// `testParseXMLDocFromFile`: the element itself, or the root of the file it names.
fn resolve(e: &Element, base: Option<&Path>) -> Result<Element> {
    let Some(rel) = e.attr("file") else { return Ok(e.clone()) };
    let rel = Path::new(rel);
    let path: PathBuf = if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        base.and_then(Path::parent).map_or_else(|| rel.to_path_buf(), |d| d.join(rel))
    };
    let text = read_node_text(&path)?;
    let root = xml::parse(&text, &path.display().to_string())
        .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_TEST, e.message))?;
    if root.name != e.name {
        return Err(error::xml_util_error(&format!("expecting root element of '{}', not '{}'", e.name, root.name)));
    }
    Ok(root)
}

fn uint(node: &Element, path: &[&str], what: &str) -> Result<Option<u64>> {
    let mut cur = node;
    for p in path {
        match cur.child(p) {
            Some(c) => cur = c,
            None => return Ok(None),
        }
    }
    let t = cur.text();
    t.trim()
        .parse::<u64>()
        .map(Some)
        .map_err(|_| error::e(ErrorCode::VIR_ERR_XML_ERROR, ErrorDomain::VIR_FROM_TEST, format!("XML error: {what}")))
}

/// A child of the test namespace (`<test:NAME>`), whatever the prefix.
fn test_ns_child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.elements().find(|c| c.name.split_once(':').is_some_and(|(_, local)| local == name))
}

pub(super) fn load_node(h: &mut Hypervisor, node: &Element, base: Option<&Path>) -> Result<()> {
    // Node info.
    let ni = &mut h.node_info;
    // libvirt reads these with virXPathUInt: a value over an unsigned int is invalid.
    let uint32 = |path: &[&str], what: &str| -> Result<Option<u32>> {
        match uint(node, path, what)? {
            None => Ok(None),
            Some(v) => u32::try_from(v).map(Some).map_err(|_| {
                error::e(ErrorCode::VIR_ERR_XML_ERROR, ErrorDomain::VIR_FROM_TEST, format!("XML error: {what}"))
            }),
        }
    };
    if let Some(v) = uint32(&["cpu", "nodes"], "invalid node cpu nodes value")? {
        ni.nodes = v;
    }
    if let Some(v) = uint32(&["cpu", "sockets"], "invalid node cpu sockets value")? {
        ni.sockets = v;
    }
    if let Some(v) = uint32(&["cpu", "cores"], "invalid node cpu cores value")? {
        ni.cores = v;
    }
    if let Some(v) = uint32(&["cpu", "threads"], "invalid node cpu threads value")? {
        ni.threads = v;
    }
    // An unsigned product in libvirt: it wraps (fuzz finding 7: this overflowed and panicked).
    ni.cpus = ni.cores.wrapping_mul(ni.threads).wrapping_mul(ni.sockets).wrapping_mul(ni.nodes);
    if let Some(v) = uint32(&["cpu", "active"], "invalid node cpu active value")? {
        ni.cpus = ni.cpus.min(v);
    }
    if let Some(v) = uint32(&["cpu", "mhz"], "invalid node cpu mhz value")? {
        ni.mhz = v;
    }
    if let Some(m) = node.child("cpu").and_then(|c| c.child_text("model")) {
        ni.model = m;
    }
    if let Some(v) = uint(node, &["memory"], "invalid node memory value")? {
        ni.memory = v;
    }

    // Domains.
    for d in node.children_named("domain") {
        let d = resolve(d, base)?;
        let def = DomainDef::from_element(&d)?;
        if let Some(existing) = h.domains.iter().find(|o| o.def.name == def.name || o.def.uuid == def.uuid) {
            return Err(error::domain_exists(&existing.def.name, &existing.def.uuid));
        }
        let runstate = test_ns_child(&d, "runstate")
            .and_then(|r| r.text().trim().parse::<i32>().ok())
            .and_then(DomainState::from_i32)
            .unwrap_or(DomainState::Running);
        h.domains.push(DomainObj {
            def,
            new_def: None,
            id: -1,
            state: DomainState::Shutoff,
            reason: reason::UNKNOWN,
            persistent: test_ns_child(&d, "transient").is_none(),
            autostart: false,
            extra: Default::default(),
        });
        let i = h.domains.len() - 1;
        if runstate != DomainState::Shutoff {
            h.start_state(i, reason::RUNNING_BOOTED);
        }
        h.domains[i].state = runstate;
        // testDomainGenerateIOThreadInfos: node-file domains start with their IOThreads' polling.
        let ids = super::domain_iothread::iothread_ids(&h.domains[i].def);
        h.domains[i].extra.iothreads = ids.into_iter().map(super::domain_iothread::IoThreadPoll::new).collect();
        h.domains[i].reason = reason::UNKNOWN;
    }

    // Networks.
    for n in node.children_named("network") {
        let n = resolve(n, base)?;
        let def = NetworkDef::from_element(&n)?;
        if let Some(existing) = h.networks.iter().find(|o| o.def.name == def.name || o.def.uuid == def.uuid) {
            return Err(error::network_exists(&existing.def.name, &existing.def.uuid));
        }
        h.networks.push(NetworkObj { def, new_def: None, active: true, persistent: true, autostart: false });
    }

    // Pools and their volumes.
    for p in node.children_named("pool") {
        let p = resolve(p, base)?;
        let def = PoolDef::from_element(&p)?;
        if let Some(existing) = h.pools.iter().find(|o| o.def.name == def.name || o.def.uuid == def.uuid) {
            return Err(error::pool_exists(&existing.def.name, &existing.def.uuid));
        }
        let mut obj = Hypervisor::new_pool(def);
        obj.active = true;
        for v in p.children_named("volume") {
            let v = resolve(v, base)?;
            let vdef = VolDef::from_element(&v, &obj.def)?;
            obj.allocation += vdef.allocation;
            obj.available = obj.capacity.saturating_sub(obj.allocation);
            obj.vols.push(VolObj { def: vdef, content: Default::default() });
        }
        h.pools.push(obj);
    }

    // Interfaces (active) and node devices.
    for i in node.children_named("interface") {
        let i = resolve(i, base)?;
        let def = InterfaceDef::from_element(&i)?;
        h.interfaces.push(InterfaceObj { def, active: true });
    }
    for d in node.children_named("device") {
        let d = resolve(d, base)?;
        h.devices.push(NodeDeviceDef::from_element(&d)?);
    }
    Ok(())
}

/// The test driver's built-in `<node>` (`defaultConnXML`).
pub(super) const DEFAULT_NODE_XML: &str = "<node>\
<domain type='test'>\
  <name>test</name>\
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\
  <memory>8388608</memory>\
  <currentMemory>2097152</currentMemory>\
  <vcpu>2</vcpu>\
  <os>\
    <type>hvm</type>\
  </os>\
  <devices>\
    <disk type='file' device='disk'>\
      <source file='/guest/diskimage1'/>\
      <target dev='vda' bus='virtio'/>\
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\
    </disk>\
    <interface type='network'>\
      <mac address='aa:bb:cc:dd:ee:ff'/>\
      <source network='default' bridge='virbr0'/>\
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>\
    </interface>\
    <memballoon model='virtio'>\
      <address type='pci' domain='0x0000' bus='0x00' slot='0x2' function='0x0'/>\
    </memballoon>\
  </devices>\
</domain>\
<network>\
  <name>default</name>\
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>\
  <bridge name='virbr0'/>\
  <forward/>\
  <ip address='192.168.122.1' netmask='255.255.255.0'>\
    <dhcp>\
      <range start='192.168.122.2' end='192.168.122.254'/>\
    </dhcp>\
  </ip>\
</network>\
<pool type='dir'>\
  <name>default-pool</name>\
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>\
  <target>\
    <path>/default-pool</path>\
  </target>\
</pool>\
<interface type=\"ethernet\" name=\"eth1\">\
  <start mode=\"onboot\"/>\
  <mac address=\"aa:bb:cc:dd:ee:ff\"/>\
  <mtu size=\"1492\"/>\
  <protocol family=\"ipv4\">\
    <ip address=\"192.168.0.5\" prefix=\"24\"/>\
    <route gateway=\"192.168.0.1\"/>\
  </protocol>\
</interface>\
<device>\
  <name>computer</name>\
  <capability type='system'>\
    <hardware>\
      <vendor>Libvirt</vendor>\
      <version>Test driver</version>\
      <serial>123456</serial>\
      <uuid>11111111-2222-3333-4444-555555555555</uuid>\
    </hardware>\
    <firmware>\
      <vendor>Libvirt</vendor>\
      <version>Test Driver</version>\
      <release_date>01/22/2007</release_date>\
    </firmware>\
  </capability>\
</device>\
<device>\
  <name>scsi_host1</name>\
  <parent>computer</parent>\
  <capability type='scsi_host'>\
    <host>1</host>\
    <unique_id>0</unique_id>\
    <capability type='fc_host'>\
      <wwnn>2000000012341234</wwnn>\
      <wwpn>1000000012341234</wwpn>\
      <fabric_wwn>2000000043214321</fabric_wwn>\
    </capability>\
    <capability type='vport_ops'>\
      <max_vports>127</max_vports>\
      <vports>1</vports>\
    </capability>\
  </capability>\
</device>\
<device>\
  <name>scsi_host2</name>\
  <parent>computer</parent>\
  <capability type='scsi_host'>\
    <host>2</host>\
    <unique_id>1</unique_id>\
    <capability type='fc_host'>\
      <wwnn>2000000056785678</wwnn>\
      <wwpn>1000000056785678</wwpn>\
      <fabric_wwn>2000000087658765</fabric_wwn>\
    </capability>\
    <capability type='vport_ops'>\
      <max_vports>127</max_vports>\
      <vports>0</vports>\
    </capability>\
  </capability>\
</device>\
<device>\
  <name>scsi_host11</name>\
  <parent>scsi_host1</parent>\
  <capability type='scsi_host'>\
    <host>11</host>\
    <unique_id>10</unique_id>\
    <capability type='fc_host'>\
      <wwnn>2000000034563456</wwnn>\
      <wwpn>1000000034563456</wwpn>\
      <fabric_wwn>2000000043214321</fabric_wwn>\
    </capability>\
  </capability>\
</device>\
</node>";
