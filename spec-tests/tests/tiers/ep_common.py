"""The entry-points tier's shared part: the URI, the files directory, the documents the rows
define and the helpers they call. The table itself is entry_points.py with its row modules;
the original description follows.

The differential tier's own table: libvirt entry points called through python3-libvirt, in
order (later calls see what earlier ones did), each result printed as one line:
`id<TAB>json`, the json being {"ok": value} or {"error": [code, domain, message]}.

Volatile fields (different on every run or host, never compared) are replaced by "*" and named
in the table's third column. Usage: entry_points.py URI
"""
import json
import os
import re
import shutil
import sys
import tempfile

import libvirt

URI = sys.argv[1]
# Where save images and core dumps go: the daemons write there as their own users. The
# directory's name is replaced by "$TMP" in every result.
TMP = tempfile.mkdtemp(prefix="ep-files-")
os.chmod(TMP, 0o777)

DOM_XML = """<domain type='test'>
  <name>ep-dom</name>
  <uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b01</uuid>
  <memory>524288</memory>
  <vcpu current='1'>2</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/default-pool/ep.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
  </devices>
</domain>"""

VHBA_XML = """<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>
<wwnn>2000000011112222</wwnn><wwpn>1000000011112222</wwpn></capability></capability></device>"""

NET_XML = """<network><name>ep-net</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b02</uuid>
<bridge name='virbr9'/><ip address='10.9.0.1' netmask='255.255.255.0'/></network>"""

IFACE_XML = """<interface type='bridge' name='br-ep'><start mode='onboot'/>
<protocol family='ipv4'><dhcp/></protocol>
<bridge stp='off' delay='0.01'><interface type='ethernet' name='eth-ep'><mac address='52:54:00:00:00:02'/></interface></bridge>
</interface>"""

TUNE_XML = """<domain type='test'>
  <name>ep-tune</name>
  <uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b03</uuid>
  <memory>524288</memory>
  <vcpu current='2'>4</vcpu>
  <iothreads>2</iothreads>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/default-pool/tune.img'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='network'><mac address='52:54:00:00:00:03'/><source network='default'/></interface>
    <interface type='user'><mac address='52:54:00:00:00:04'/></interface>
    <memballoon model='virtio'/>
  </devices>
</domain>"""

IO_XML = """<domain type='test'><name>ep-io</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b04</uuid>
<memory>65536</memory><iothreads>%d</iothreads><iothreadids>%s</iothreadids><os><type>hvm</type></os></domain>"""

TUNED_XML = """<domain type='test'><name>ep-io</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b04</uuid>
<memory>65536</memory>
<blkiotune><device><weight>0</weight><path>/dev/sdz</path></device><device><read_bytes_sec>5</read_bytes_sec><path>/dev/sdb</path><weight>20</weight></device><weight>300</weight></blkiotune>
<perf><event name='mbml' enabled='no'/><event name='cmt' enabled='yes'/></perf>
<os><type>hvm</type></os>
<devices>
<disk type='file' device='disk'><source file='/x.img'/><target dev='vda' bus='virtio'/><iotune><write_iops_sec>0</write_iops_sec><read_iops_sec>7</read_iops_sec><total_bytes_sec>9</total_bytes_sec><group_name>gg</group_name></iotune></disk>
<interface type='network'><source network='default'/><mac address='52:54:00:00:00:05'/><bandwidth><outbound average='4' burst='2'/><inbound floor='3' peak='8' average='6'/></bandwidth></interface>
</devices></domain>"""

CPUTUNE_XML = """<domain type='test'><name>ep-io</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b04</uuid>
<memory>65536</memory><vcpu cpuset='4-7'>3</vcpu><iothreads>2</iothreads>
<cputune><iothreadpin iothread='2' cpuset='5,6'/><emulatorpin cpuset='1,2,3'/><vcpupin vcpu='1' cpuset='0,1'/><vcpupin vcpu='0' cpuset='3'/><shares>10</shares></cputune>
<os><type>hvm</type></os></domain>"""

SAVE_XML = """<domain type='test'><name>ep-save</name><uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0b05</uuid>
<memory>1024</memory><os><type>hvm</type></os>
<devices><interface type='network'><source network='default'/><mac address='52:54:00:00:00:06'/></interface></devices>
</domain>"""

FDS_XML = SAVE_XML.replace("ep-save", "ep-fds").replace("0b05", "0b06").replace(":06'", ":07'")

VOL_XML = """<volume><name>ep.img</name><capacity unit='M'>10</capacity><allocation unit='M'>1</allocation></volume>"""
CLONE_XML = """<volume><name>ep-clone.img</name><capacity unit='M'>10</capacity></volume>"""


def mask(value, fields):
    """Replaces the volatile parts: list indexes, dict keys, or regexes over strings."""
    for f in fields:
        if isinstance(f, int) and isinstance(value, list):
            value[f] = "*"
        elif isinstance(f, str) and f.startswith("re:") and isinstance(value, str):
            value = re.sub(f[3:], "*", value)
        elif isinstance(value, dict) and f in value:
            value[f] = "*"
    return value


def plain(v):
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in sorted(v.items())}
    if isinstance(v, (libvirt.virDomain, libvirt.virNetwork, libvirt.virStoragePool,
                      libvirt.virInterface, libvirt.virNodeDevice)):
        return v.name()
    if isinstance(v, libvirt.virStorageVol):
        return [v.name(), v.key()]
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return v


def metadata_events(conn, dom, calls):
    """The METADATA_CHANGE events (domain, type, namespace) that `calls` raise on `dom`."""
    seen = []
    cb = conn.domainEventRegisterAny(
        dom, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, lambda c, d, t, ns, o: seen.append([d.name(), t, ns]), None
    )
    tick = libvirt.virEventAddTimeout(50, lambda *_: None, None)
    try:
        for call in calls:
            call()
        for _ in range(40):
            if len(seen) >= len(calls):
                break
            libvirt.virEventRunDefaultImpl()
    finally:
        libvirt.virEventRemoveTimeout(tick)
        conn.domainEventDeregisterAny(cb)
    return seen


def lifecycle_events(conn, calls):
    """The LIFECYCLE events (domain, event, detail) that `calls` raise."""
    seen = []
    cb = conn.domainEventRegisterAny(
        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, e, det, o: seen.append([d.name(), e, det]), None
    )
    tick = libvirt.virEventAddTimeout(50, lambda *_: None, None)
    try:
        for call in calls:
            call()
        for _ in range(20):
            libvirt.virEventRunDefaultImpl()
    finally:
        libvirt.virEventRemoveTimeout(tick)
        conn.domainEventDeregisterAny(cb)
    return seen


def stale_stats(conn):
    """virDomainListGetStats with a domain that no longer exists (libvirt skips it) and one that does."""
    gone = conn.defineXML(IO_XML.replace("<iothreadids>%s</iothreadids>", "") % 1)
    gone.undefine()
    return [[r[0].name(), sorted(r[1])] for r in conn.domainListGetStats([gone, conn.lookupByName("test")], 0, 0)]


def no_cpu_time(vcpus):
    """virDomainGetVcpus with each vCPU's CPU time (the wall clock) left out."""
    info, maps = vcpus
    return [[[n, st, cpu] for (n, st, _t, cpu) in info], maps]


def lifecycle_results(conn, calls):
    """The LIFECYCLE events (domain, event, detail) that `calls` raise, and the calls' results."""
    seen = []
    cb = conn.domainEventRegisterAny(
        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, e, det, o: seen.append([d.name(), e, det]), None
    )
    tick = libvirt.virEventAddTimeout(50, lambda *_: None, None)
    results = []
    try:
        for call in calls:
            results.append(call())
        for _ in range(40):
            if len(seen) >= len(calls):
                break
            libvirt.virEventRunDefaultImpl()
    finally:
        libvirt.virEventRemoveTimeout(tick)
        conn.domainEventDeregisterAny(cb)
    return [results, seen]


def nodedev_events(conn, calls):
    """The node-device LIFECYCLE events (device, event, detail) that `calls` raise, and the
    calls' results."""
    seen = []
    cb = conn.nodeDeviceEventRegisterAny(
        None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, lambda c, d, e, det, o: seen.append([d.name(), e, det]), None
    )
    tick = libvirt.virEventAddTimeout(50, lambda *_: None, None)
    results = []
    try:
        for call in calls:
            results.append(call())
        for _ in range(20):
            libvirt.virEventRunDefaultImpl()
    finally:
        libvirt.virEventRemoveTimeout(tick)
        conn.nodeDeviceEventDeregisterAny(cb)
    return [results, seen]


def image(name, data):
    """A file in TMP holding `data`, for the save-image readers."""
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def short_read(call):
    """A save-image read that comes up short: libvirt appends strerror(errno) although no call
    failed, so the text after the last ': ' is whatever errno a worker thread last held."""
    try:
        return call()
    except libvirt.libvirtError as e:
        return [e.get_error_code(), e.get_error_domain(), e.get_error_message().rsplit(": ", 1)[0]]


def read_file(name):
    with open(os.path.join(TMP, name), "rb") as f:
        return f.read()


def screenshot(conn, dom, screen, flags):
    """The MIME type, size and SHA-256 of a screenshot."""
    import hashlib

    st = conn.newStream(0)
    mime = dom.screenshot(st, screen, flags)
    data = bytearray()
    st.recvAll(lambda s, d, o: data.extend(d), None)
    st.finish()
    return [mime, len(data), hashlib.sha256(bytes(data)).hexdigest()]
