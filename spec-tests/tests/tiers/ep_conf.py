"""Rows of the entry-points tier: definitions at the edges of libvirt's parsers, where daemon-min
once approximated libvirt — <bandwidth> rates, <cputune> pins, a network's port groups, node
devices of every capability type."""
# The rows are lambdas run in order by entry_points.py; they see its connection helpers.
# pylint: disable=unused-wildcard-import,wildcard-import
from ep_common import *  # noqa: F401,F403

CONF_DOM = """<domain type='test'><name>ep-conf</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0c11</uuid>
<memory>65536</memory><vcpu>4</vcpu>%s<os><type>hvm</type></os><devices>%s</devices></domain>"""


def iface(kind, bandwidth):
    source = "<source network='default'/>" if kind == "network" else ""
    return f"<interface type='{kind}'><mac address='52:54:00:00:0c:11'/>{source}<bandwidth>{bandwidth}</bandwidth></interface>"


def define_dump(define, xml):
    """Defines the object with `define` (conn.defineXML, conn.networkDefineXML), reads its XML
    back and undefines it."""
    obj = define(xml)
    try:
        return obj.XMLDesc(0)
    finally:
        obj.undefine()


CONF_NET = """<network><name>ep-pg</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0c12</uuid>
<forward mode='bridge'/><bridge name='br-pg'/>%s</network>"""


def net_update_dump(conn, portgroup):
    """Adds a port group to a fresh network (NETWORK_UPDATE, config), reads it back, undefines it."""
    n = conn.networkDefineXML(CONF_NET % "")
    try:
        n.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_PORTGROUP, -1, portgroup,
                 libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG)
        return n.XMLDesc(0)
    finally:
        n.undefine()


# A minimal document for each node device capability type, then one with the type's details.
NODEDEV_CAPS = {
    "pci": "<domain>0</domain><bus>1</bus><slot>2</slot><function>3</function><product id='0x1234'/><vendor id='0x8086'/>",
    "usb_device": "<bus>1</bus><device>2</device><product id='0x1'/><vendor id='0x2'/>",
    "usb": "<number>1</number><class>2</class><subclass>3</subclass><protocol>4</protocol>",
    "net": "<interface>eth9</interface><address>52:54:00:00:0c:13</address>",
    "scsi_target": "<target>target0:0:0</target>",
    "scsi": "<host>0</host><bus>0</bus><target>0</target><lun>0</lun><type>disk</type>",
    "storage": "<block>/dev/sdz</block>",
    "drm": "<type>primary</type>",
    "mdev": "<type id='mtty-1'/><iommuGroup number='7'/>",
    "ccw": "<cssid>0xfe</cssid><ssid>0x0</ssid><devno>0x0001</devno>",
    "css": "<cssid>0xfe</cssid><ssid>0x0</ssid><devno>0x0001</devno>",
    "ap_card": "<ap-adapter>0x01</ap-adapter>",
    "ap_queue": "<ap-adapter>0x01</ap-adapter><ap-domain>0x0001</ap-domain>",
    "ap_matrix": "",
    "scsi_generic": "<char>/dev/sg0</char>",
    "vdpa": "<chardev>/dev/vhost-vdpa-0</chardev>",
    "vpd": "",
    "mdev_types": "",
    "system": "<hardware><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0c14</uuid></hardware>",
}


def nodedev_create(conn, cap, body):
    return conn.nodeDeviceCreateXML(f"<device><parent>computer</parent><capability type='{cap}'>{body}</capability></device>", 0).name()


def rows(conn, dom, net, pool, iface_, names, ro):
    dom = lambda tune, devices: define_dump(conn.defineXML, CONF_DOM % (tune, devices))
    bw = lambda kind, b: dom("", iface(kind, b))
    pins = lambda tune: dom(tune, "")
    net = lambda body: define_dump(conn.networkDefineXML, CONF_NET % body)
    out = [
        # --- <bandwidth> on a domain's interface (virNetDevBandwidthParse) -------------------
        ("conf.bandwidth.peak_only", lambda: bw("network", "<inbound peak='5'/>"), []),
        ("conf.bandwidth.burst_only", lambda: bw("network", "<outbound burst='5'/>"), []),
        ("conf.bandwidth.floor_peak", lambda: bw("network", "<inbound floor='5' peak='9'/>"), []),
        ("conf.bandwidth.floor_only", lambda: bw("network", "<inbound floor='5'/>"), []),
        ("conf.bandwidth.floor_user", lambda: bw("user", "<inbound average='5' floor='5'/>"), []),
        ("conf.bandwidth.floor_outbound", lambda: bw("network", "<outbound average='5' floor='5'/>"), []),
        ("conf.bandwidth.bad_average", lambda: bw("network", "<inbound average='x'/>"), []),
        ("conf.bandwidth.bad_peak", lambda: bw("network", "<inbound average='5' peak='-1'/>"), []),
        ("conf.bandwidth.two_inbound", lambda: bw("network", "<inbound average='5'/><inbound average='6'/>"), []),
        ("conf.bandwidth.empty", lambda: bw("network", ""), []),
        ("conf.bandwidth.zero", lambda: bw("network", "<inbound average='0'/><outbound average='0' peak='3'/>"), []),
        ("conf.bandwidth.all", lambda: bw("network", "<inbound average='1' peak='2' burst='3' floor='4'/><outbound average='5' peak='6' burst='7'/><other/>"), []),
        ("conf.bandwidth.classid", lambda: dom("", iface("network", "<inbound average='5'/>").replace("<bandwidth>", "<bandwidth classID='3'>")), []),
        # --- <cputune> pins -----------------------------------------------------------------------
        ("conf.vcpupin.duplicate", lambda: pins("<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='0' cpuset='2'/></cputune>"), []),
        ("conf.vcpupin.nocpuset", lambda: pins("<cputune><vcpupin vcpu='1'/></cputune>"), []),
        ("conf.vcpupin.novcpu", lambda: pins("<cputune><vcpupin cpuset='1'/></cputune>"), []),
        ("conf.vcpupin.range", lambda: pins("<cputune><vcpupin vcpu='9' cpuset='1'/></cputune>"), []),
        ("conf.vcpupin.badset", lambda: pins("<cputune><vcpupin vcpu='1' cpuset='x'/></cputune>"), []),
        ("conf.emulatorpin.two", lambda: pins("<cputune><emulatorpin cpuset='1'/><emulatorpin cpuset='2'/></cputune>"), []),
        ("conf.iothreadpin.duplicate", lambda: pins("<iothreads>2</iothreads><cputune><iothreadpin iothread='1' cpuset='1'/><iothreadpin iothread='1' cpuset='2'/></cputune>"), []),
        ("conf.vcpupin.ok", lambda: pins("<cputune><vcpupin vcpu='3' cpuset='1-2,^2'/><vcpupin vcpu='0' cpuset='0'/></cputune>"), []),
        # --- a network's port groups (net-dumpxml) ------------------------------------------------
        ("conf.portgroup.full", lambda: net((
            "<portgroup name='pg1' default='yes' trustGuestRxFilters='no'><vlan trunk='yes'><tag id='42' nativeMode='untagged'/><tag id='47'/></vlan>"
            "<virtualport type='openvswitch'><parameters interfaceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport>"
            "<bandwidth><outbound average='100' peak='200' burst='300'/><inbound average='10'/></bandwidth></portgroup>"
            "<portgroup name='pg2'><vlan><tag id='7'/></vlan></portgroup>")), []),
        ("conf.portgroup.bandwidth.peak_only", lambda: net("<portgroup name='pg'><bandwidth><inbound peak='5'/></bandwidth></portgroup>"), []),
        ("conf.portgroup.bandwidth.floor", lambda: net("<portgroup name='pg'><bandwidth><inbound average='5' floor='5'/></bandwidth></portgroup>"), []),
        ("conf.portgroup.vlan.badtag", lambda: net("<portgroup name='pg'><vlan><tag id='5000'/></vlan></portgroup>"), []),
        ("conf.portgroup.vlan.notag", lambda: net("<portgroup name='pg'><vlan/></portgroup>"), []),
        ("conf.portgroup.vlan.trunk_one", lambda: net("<portgroup name='pg'><vlan trunk='no'><tag id='5'/><tag id='6'/></vlan></portgroup>"), []),
        ("conf.portgroup.virtualport.bad", lambda: net("<portgroup name='pg'><virtualport type='nope'/></portgroup>"), []),
        ("conf.portgroup.noname", lambda: net("<portgroup><vlan><tag id='5'/></vlan></portgroup>"), []),
        ("conf.portgroup.two_defaults", lambda: net("<portgroup name='a' default='yes'/><portgroup name='b' default='yes'/>"), []),
        ("conf.portgroup.same_name", lambda: net("<portgroup name='a'/><portgroup name='a'/>"), []),
        ("conf.net.bandwidth.peak_only", lambda: net("<bandwidth><outbound peak='5'/></bandwidth>"), []),
        ("conf.net.bandwidth.floor", lambda: net("<bandwidth><inbound average='5' floor='2'/></bandwidth>"), []),
        ("conf.net.bandwidth", lambda: net("<bandwidth><inbound average='5' burst='2'/></bandwidth>"), []),
        ("conf.net.vlan", lambda: net("<vlan trunk='yes'><tag id='0042' nativeMode='tagged'/></vlan>"), []),
        ("conf.net.vlan.bad", lambda: net("<vlan><tag id='x'/></vlan>"), []),
        ("conf.net.vlan.trunk", lambda: net("<vlan trunk='maybe'><tag id='1'/></vlan>"), []),
        ("conf.net.vlan.native_trunk_no", lambda: net("<vlan trunk='no'><tag id='1' nativeMode='untagged'/></vlan>"), []),
        ("conf.net.virtualport.bad", lambda: net("<virtualport type='foo'/>"), []),
        ("conf.net.update.portgroup", lambda: net_update_dump(conn, "<portgroup name='u1'><bandwidth><outbound average='9'/><inbound average='8'/></bandwidth><vlan trunk='no'><tag id='9'/></vlan></portgroup>"), []),
        ("conf.net.update.portgroup.badvlan", lambda: net_update_dump(conn, "<portgroup name='u2'><vlan><tag id='9999'/></vlan></portgroup>"), []),
        ("conf.net.update.portgroup.badbandwidth", lambda: net_update_dump(conn, "<portgroup name='u3'><bandwidth><inbound peak='1'/></bandwidth></portgroup>"), []),
        ("conf.iface.vlan.bad", lambda: dom("", "<interface type='bridge'><source bridge='br0'/><vlan><tag id='5000'/></vlan></interface>"), []),
        ("conf.iface.vlan", lambda: dom("", "<interface type='bridge'><mac address='52:54:00:00:0c:15'/><source bridge='br0'/><vlan trunk='no'><tag id='05'/></vlan></interface>"), []),
        ("conf.iface.order", lambda: dom("", "<interface type='network'><mac address='52:54:00:00:0c:16'/><bandwidth><inbound average='3'/></bandwidth>"
                                             "<virtualport type='802.1Qbh'><parameters profileid='prof1'/></virtualport><source network='default'/><vlan><tag id='3'/></vlan></interface>"), []),
        ("conf.iface.virtualport.bad", lambda: dom("", "<interface type='bridge'><source bridge='br0'/><virtualport type='foo'/></interface>"), []),
    ]
    # --- node devices of every capability type (testNodeDeviceCreateXML) -----------------------
    for cap, body in NODEDEV_CAPS.items():
        out.append((f"conf.nodedev.{cap}.empty", lambda cap=cap: nodedev_create(conn, cap, ""), []))
        if body:
            out.append((f"conf.nodedev.{cap}", lambda cap=cap, body=body: nodedev_create(conn, cap, body), []))
    return out
