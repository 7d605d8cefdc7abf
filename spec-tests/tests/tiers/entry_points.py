#!/usr/bin/env python3
"""The differential tier's own table: libvirt entry points called through python3-libvirt, in
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


def main():
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(URI)
    libvirt.registerErrorHandler(lambda *_: None, None)
    dom = lambda name="test": conn.lookupByName(name)
    net = lambda name="default": conn.networkLookupByName(name)
    pool = lambda: conn.storagePoolLookupByName("default-pool")
    iface = lambda name="eth1": conn.interfaceLookupByName(name)
    names = lambda objs: sorted(o.name() for o in objs)
    ro = lambda: libvirt.openReadOnly(URI)

    # (id, call, volatile fields)
    table = [
        # --- host ---------------------------------------------------------------------
        ("host.getType", lambda: conn.getType(), []),
        ("host.getVersion", lambda: conn.getVersion(), []),
        ("host.getLibVersion", lambda: conn.getLibVersion(), []),
        ("host.getMaxVcpus", lambda: conn.getMaxVcpus(None), []),
        ("host.getInfo", lambda: conn.getInfo(), []),
        ("host.getFreeMemory", lambda: conn.getFreeMemory(), []),
        ("host.getCapabilities", lambda: conn.getCapabilities(), []),
        ("host.getSysinfo", lambda: conn.getSysinfo(0), []),
        ("host.getSecurityModel", lambda: conn.getSecurityModel(), []),
        ("host.getCellsFreeMemory", lambda: conn.getCellsFreeMemory(0, 2), []),
        ("host.getCPUMap", lambda: conn.getCPUMap(0), []),
        ("host.getCPUStats", lambda: conn.getCPUStats(-1, 0), []),
        ("host.getFreePages", lambda: conn.getFreePages([4, 2048], 0, 2, 0), []),
        ("host.getCPUModelNames", lambda: conn.getCPUModelNames("i686", 0)[:3], []),
        ("host.isEncrypted", lambda: conn.isEncrypted(), []),
        ("host.isSecure", lambda: conn.isSecure(), []),
        ("host.isAlive", lambda: conn.isAlive(), []),
        # --- domains: reads -------------------------------------------------------------
        ("dom.list", lambda: names(conn.listAllDomains(0)), []),
        ("dom.info", lambda: dom().info(), [4]),
        ("dom.state", lambda: dom().state(0), []),
        ("dom.XMLDesc", lambda: dom().XMLDesc(0), []),
        ("dom.XMLDesc.inactive", lambda: dom().XMLDesc(2), []),
        ("dom.maxMemory", lambda: dom().maxMemory(), []),
        ("dom.OSType", lambda: dom().OSType(), []),
        ("dom.hostname", lambda: dom().hostname(0), []),
        ("dom.getTime", lambda: dom().getTime(0), []),
        ("dom.setTime", lambda: dom().setTime({"seconds": 1234, "nseconds": 5}, 0), []),
        ("dom.getTime.after", lambda: dom().getTime(0), []),
        ("dom.controlInfo", lambda: dom().controlInfo(0), []),
        ("dom.vcpusFlags", lambda: dom().vcpusFlags(0), []),
        ("dom.vcpusFlags.max", lambda: dom().vcpusFlags(4), []),
        ("dom.vcpusFlags.both", lambda: dom().vcpusFlags(3), []),
        ("dom.maxVcpus", lambda: dom().maxVcpus(), []),
        ("dom.vcpus", lambda: no_cpu_time(dom().vcpus()), []),
        ("dom.vcpuPinInfo", lambda: dom().vcpuPinInfo(0), []),
        ("dom.schedulerType", lambda: dom().schedulerType(), []),
        ("dom.schedulerParameters", lambda: dom().schedulerParameters(), []),
        ("dom.schedulerParametersFlags", lambda: dom().schedulerParametersFlags(0), []),
        ("dom.setSchedulerParameters", lambda: dom().setSchedulerParameters({"weight": 100}), []),
        ("dom.setSchedulerParameters.unknown", lambda: dom().setSchedulerParametersFlags({"cap": 1}, 0), []),
        ("dom.memoryParameters", lambda: dom().memoryParameters(0), []),
        ("dom.blkioParameters", lambda: dom().blkioParameters(0), []),
        ("dom.numaParameters", lambda: dom().numaParameters(0), []),
        ("dom.interfaceParameters", lambda: dom().interfaceParameters("testnet0", 0), []),
        ("dom.blockIoTune", lambda: dom().blockIoTune("vda", 0), []),
        ("dom.blockStats", lambda: dom().blockStats("vda"), [0, 1, 2, 3, 4]),
        ("dom.interfaceStats", lambda: dom().interfaceStats("testnet0"), [0, 1, 2, 3, 4, 5, 6, 7]),
        ("dom.memoryStats", lambda: dom().memoryStats(), []),
        ("dom.blockInfo", lambda: dom().blockInfo("vda", 0), []),
        ("dom.blockInfo.path", lambda: dom().blockInfo("/guest/diskimage1", 0), []),
        ("dom.blockInfo.unknown", lambda: dom().blockInfo("vdz", 0), []),
        ("dom.blockInfo.flags", lambda: dom().blockInfo("vda", 1), []),
        ("dom.interfaceAddresses", lambda: dom().interfaceAddresses(0, 0), []),
        ("dom.fsInfo", lambda: dom().fsInfo(0), []),
        ("dom.perfEvents", lambda: dom().perfEvents(0), []),
        ("dom.IOThreadInfo", lambda: dom().ioThreadInfo(0), []),
        ("dom.emulatorPinInfo", lambda: dom().emulatorPinInfo(0), []),
        ("dom.diskErrors", lambda: dom().diskErrors(0), []),
        ("dom.securityLabel", lambda: dom().securityLabel(), []),
        ("dom.metadata.missing", lambda: dom().metadata(0, None, 0), []),
        ("dom.launchSecurityInfo", lambda: dom().launchSecurityInfo(0), []),
        ("dom.getCPUStats", lambda: dom().getCPUStats(True, 0), []),
        ("dom.guestInfo", lambda: dom().guestInfo(0, 0), []),
        ("dom.messages", lambda: dom().getMessages(0), []),
        ("dom.allDomainStats", lambda: len(conn.getAllDomainStats(0, 0)), []),
        ("dom.screenshot", lambda: screenshot(conn, dom(), 0, 0), []),
        ("dom.screenshot.screen1", lambda: screenshot(conn, dom(), 1, 0), []),
        ("dom.screenshot.flags", lambda: screenshot(conn, dom(), 0, 1), []),
        ("dom.getCPUStats.percpu", lambda: dom().getCPUStats(False, 0), []),
        ("dom.setMemoryParameters", lambda: dom().setMemoryParameters({"soft_limit": 87539319}, 0), []),
        ("dom.memoryParameters.set", lambda: dom().memoryParameters(0), []),
        ("dom.setMemoryParameters.swap", lambda: dom().setMemoryParameters({"hard_limit": 100, "swap_hard_limit": 50}, 0), []),
        ("dom.setMemoryParameters.unknown", lambda: dom().setMemoryParameters({"min_guarantee": 5}, 0), []),
        ("dom.setNumaParameters", lambda: dom().setNumaParameters({"numa_nodeset": "1,2", "numa_mode": 1}, 0), []),
        ("dom.numaParameters.set", lambda: dom().numaParameters(0), []),
        ("dom.setNumaParameters.mode", lambda: dom().setNumaParameters({"numa_mode": 2}, 0), []),
        ("dom.setNumaParameters.badmode", lambda: dom().setNumaParameters({"numa_mode": 9}, 2), []),
        ("dom.setNumaParameters.badset", lambda: dom().setNumaParameters({"numa_nodeset": "x"}, 2), []),
        ("dom.setNumaParameters.config", lambda: dom().setNumaParameters({"numa_nodeset": "0-3,^2"}, 2), []),
        ("dom.setLifecycleAction", lambda: dom().setLifecycleAction(0, 1, 2), []),
        ("dom.setLifecycleAction.live", lambda: dom().setLifecycleAction(2, 5, 1), []),
        ("dom.setLifecycleAction.refused", lambda: dom().setLifecycleAction(1, 4, 0), []),
        ("dom.setLifecycleAction.badtype", lambda: dom().setLifecycleAction(7, 0, 0), []),
        ("dom.XMLDesc.tuned", lambda: dom().XMLDesc(0), []),
        ("dom.XMLDesc.tuned.inactive", lambda: dom().XMLDesc(2), []),
        # --- domains: actions on the running default domain ---------------------------------
        ("dom.reset", lambda: dom().reset(0), []),
        ("dom.injectNMI", lambda: dom().injectNMI(0), []),
        ("dom.sendKey", lambda: dom().sendKey(0, 0, [1, 2, 3], 3, 0), []),
        ("dom.setMemory", lambda: dom().setMemory(1048576), []),
        ("dom.setMemoryFlags.config", lambda: dom().setMemoryFlags(1048576, 2), []),
        ("dom.setVcpus", lambda: dom().setVcpus(1), []),
        ("dom.setMetadata", lambda: dom().setMetadata(0, "a description", None, None, 0), []),
        ("dom.metadata", lambda: dom().metadata(0, None, 0), []),
        ("dom.setMetadata.title", lambda: dom().setMetadata(1, "a title", None, None, 0), []),
        ("dom.metadata.title", lambda: dom().metadata(1, None, 0), []),
        ("dom.setMetadata.title.newline", lambda: dom().setMetadata(1, "a\nb", None, None, 0), []),
        ("dom.setMetadata.title.uri", lambda: dom().setMetadata(1, "t", None, "http://x/", 0), []),
        ("dom.setMetadata.element", lambda: dom().setMetadata(2, "<foo a='1'><bar>x</bar><baz/></foo>", "app1", "http://app1.org/", 0), []),
        ("dom.setMetadata.element2", lambda: dom().setMetadata(2, "<other/>", "app2", "http://app2.org/", 2), []),
        ("dom.metadata.element", lambda: dom().metadata(2, "http://app1.org/", 0), []),
        ("dom.metadata.element.config", lambda: dom().metadata(2, "http://app1.org/", 2), []),
        ("dom.metadata.element.missing", lambda: dom().metadata(2, "http://none.org/", 0), []),
        ("dom.metadata.element.nouri", lambda: dom().metadata(2, None, 0), []),
        ("dom.setMetadata.element.nokey", lambda: dom().setMetadata(2, "<foo/>", None, "http://app1.org/", 0), []),
        ("dom.setMetadata.element.badkey", lambda: dom().setMetadata(2, "<foo/>", "1x", "http://app3.org/", 0), []),
        ("dom.setMetadata.element.badxml", lambda: dom().setMetadata(2, "<foo>", "app3", "http://app3.org/", 0), []),
        ("dom.metadata.badtype", lambda: dom().metadata(7, None, 0), []),
        ("dom.setMetadata.badtype", lambda: dom().setMetadata(7, "x", None, None, 0), []),
        ("dom.metadata.XMLDesc", lambda: dom().XMLDesc(0), []),
        ("dom.metadata.XMLDesc.inactive", lambda: dom().XMLDesc(2), []),
        ("dom.setMetadata.element.remove", lambda: dom().setMetadata(2, None, None, "http://app1.org/", 0), []),
        ("dom.metadata.element.removed", lambda: dom().metadata(2, "http://app1.org/", 0), []),
        ("dom.setMetadata.description.clear", lambda: dom().setMetadata(0, "", None, None, 0), []),
        ("dom.metadata.description.cleared", lambda: dom().metadata(0, None, 0), []),
        ("dom.metadata.XMLDesc.after", lambda: dom().XMLDesc(0), []),
        ("dom.setMetadata.events", lambda: metadata_events(conn, dom(), [
            lambda: dom().setMetadata(0, "d", None, None, 0),
            lambda: dom().setMetadata(2, "<e/>", "k", "http://k.org/", 0),
            lambda: dom().setMetadata(1, None, None, None, 0),
        ]), []),
        ("dom.suspend", lambda: dom().suspend(), []),
        ("dom.getTime.paused", lambda: dom().getTime(0), []),
        ("dom.resume", lambda: dom().resume(), []),
        ("dom.managedSave", lambda: dom().managedSave(0), []),
        ("dom.hasManagedSaveImage", lambda: dom().hasManagedSaveImage(0), []),
        ("dom.list.managedsave", lambda: names(conn.listAllDomains(256)), []),
        ("dom.state.saved", lambda: dom().state(0), []),
        ("dom.undefine.managedsave", lambda: dom().undefine(), []),
        ("dom.managedSaveRemove", lambda: dom().managedSaveRemove(0), []),
        ("dom.hostname.inactive", lambda: dom().hostname(0), []),
        ("dom.getTime.inactive", lambda: dom().getTime(0), []),
        ("dom.vcpusFlags.live.inactive", lambda: dom().vcpusFlags(1), []),
        ("dom.create", lambda: dom().create(), []),
        # --- domains: a defined one ---------------------------------------------------------
        ("dom.define", lambda: conn.defineXML(DOM_XML).name(), []),
        ("dom.define.XMLDesc", lambda: dom("ep-dom").XMLDesc(0), []),
        ("dom.define.vcpusFlags", lambda: dom("ep-dom").vcpusFlags(0), []),
        ("dom.define.vcpusFlags.live", lambda: dom("ep-dom").vcpusFlags(1), []),
        ("dom.define.schedulerParameters", lambda: dom("ep-dom").schedulerParameters(), []),
        ("dom.define.memoryStats", lambda: dom("ep-dom").memoryStats(), []),
        ("dom.define.diskErrors", lambda: dom("ep-dom").diskErrors(0), []),
        ("dom.define.blockInfo", lambda: dom("ep-dom").blockInfo("vda", 0), []),
        ("dom.define.rename", lambda: dom("ep-dom").rename("ep-dom2", 0), []),
        ("dom.define.list", lambda: names(conn.listAllDomains(0)), []),
        # --- domains: vCPU, emulator and IOThread placement, guest calls (ep-tune) ------------
        ("tune.define", lambda: conn.defineXML(TUNE_XML).name(), []),
        ("tune.vcpus.inactive", lambda: dom("ep-tune").vcpus(), []),
        ("tune.pinVcpu.inactive", lambda: dom("ep-tune").pinVcpu(0, (True,)), []),
        ("tune.vcpuPinInfo.inactive", lambda: dom("ep-tune").vcpuPinInfo(0), []),
        ("tune.pinEmulator.inactive", lambda: dom("ep-tune").pinEmulator((True, True), 0), []),
        ("tune.IOThreadInfo.inactive", lambda: dom("ep-tune").ioThreadInfo(0), []),
        ("tune.addIOThread.inactive", lambda: dom("ep-tune").addIOThread(4, 0), []),
        ("tune.fsInfo.inactive", lambda: dom("ep-tune").fsInfo(0), []),
        ("tune.create", lambda: dom("ep-tune").create(), []),
        ("tune.vcpus", lambda: no_cpu_time(dom("ep-tune").vcpus()), []),
        ("tune.pinVcpu", lambda: dom("ep-tune").pinVcpu(1, (True, False, True)), []),
        ("tune.pinVcpuFlags", lambda: dom("ep-tune").pinVcpuFlags(0, (False, True), 0), []),
        ("tune.pinVcpuFlags.flags", lambda: dom("ep-tune").pinVcpuFlags(0, (True,), 2), []),
        ("tune.pinVcpu.offline", lambda: dom("ep-tune").pinVcpu(3, (True,)), []),
        ("tune.vcpus.pinned", lambda: no_cpu_time(dom("ep-tune").vcpus()), []),
        ("tune.vcpuPinInfo", lambda: dom("ep-tune").vcpuPinInfo(0), []),
        ("tune.vcpuPinInfo.config", lambda: dom("ep-tune").vcpuPinInfo(2), []),
        ("tune.pinEmulator", lambda: dom("ep-tune").pinEmulator((False, True, True), 0), []),
        ("tune.pinEmulator.empty", lambda: dom("ep-tune").pinEmulator((False,), 0), []),
        ("tune.pinEmulator.config", lambda: dom("ep-tune").pinEmulator((True,), 2), []),
        ("tune.emulatorPinInfo", lambda: dom("ep-tune").emulatorPinInfo(0), []),
        ("tune.emulatorPinInfo.config", lambda: dom("ep-tune").emulatorPinInfo(2), []),
        ("tune.IOThreadInfo", lambda: dom("ep-tune").ioThreadInfo(0), []),
        ("tune.addIOThread", lambda: dom("ep-tune").addIOThread(4, 0), []),
        ("tune.addIOThread.again", lambda: dom("ep-tune").addIOThread(4, 0), []),
        ("tune.addIOThread.zero", lambda: dom("ep-tune").addIOThread(0, 0), []),
        ("tune.addIOThread.config", lambda: dom("ep-tune").addIOThread(6, 2), []),
        ("tune.IOThreadInfo.added", lambda: dom("ep-tune").ioThreadInfo(0), []),
        ("tune.IOThreadInfo.config", lambda: dom("ep-tune").ioThreadInfo(2), []),
        ("tune.pinIOThread", lambda: dom("ep-tune").pinIOThread(4, (False, False, True), 0), []),
        ("tune.pinIOThread.autofilled", lambda: dom("ep-tune").pinIOThread(1, (True,), 0), []),
        ("tune.pinIOThread.missing", lambda: dom("ep-tune").pinIOThread(9, (True,), 0), []),
        ("tune.pinIOThread.empty", lambda: dom("ep-tune").pinIOThread(4, (False,), 0), []),
        ("tune.IOThreadInfo.pinned", lambda: dom("ep-tune").ioThreadInfo(0), []),
        ("tune.setIOThreadParams", lambda: dom("ep-tune").setIOThreadParams(4, {"poll_max_ns": 100, "poll_grow": 2}, 1), []),
        ("tune.setIOThreadParams.flags", lambda: dom("ep-tune").setIOThreadParams(4, {"poll_grow": 1}, 2), []),
        ("tune.setIOThreadParams.missing", lambda: dom("ep-tune").setIOThreadParams(9, {"poll_grow": 1}, 0), []),
        ("tune.setIOThreadParams.unpolled", lambda: dom("ep-tune").setIOThreadParams(2, {"poll_grow": 1}, 0), []),
        ("tune.setIOThreadParams.type", lambda: dom("ep-tune").setIOThreadParams(4, {"poll_grow": 2**40}, 0), []),
        ("tune.allDomainStats", lambda: sorted(plain(conn.getAllDomainStats(0, 0))), []),
        ("tune.allDomainStats.active", lambda: sorted(plain(conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 1))), []),
        ("tune.allDomainStats.inactive", lambda: sorted(plain(conn.getAllDomainStats(0, 2))), []),
        ("tune.allDomainStats.enforce", lambda: conn.getAllDomainStats(2, 1 << 31), []),
        ("tune.domainListGetStats", lambda: plain(conn.domainListGetStats([dom("ep-tune")], libvirt.VIR_DOMAIN_STATS_IOTHREAD, 0)), []),
        ("tune.XMLDesc.pinned", lambda: dom("ep-tune").XMLDesc(0), []),
        ("tune.XMLDesc.pinned.inactive", lambda: dom("ep-tune").XMLDesc(2), []),
        ("tune.delIOThread", lambda: dom("ep-tune").delIOThread(4, 0), []),
        ("tune.delIOThread.again", lambda: dom("ep-tune").delIOThread(4, 0), []),
        ("tune.delIOThread.first", lambda: dom("ep-tune").delIOThread(1, 0), []),
        ("tune.XMLDesc.deleted", lambda: dom("ep-tune").XMLDesc(0), []),
        ("tune.fsFreeze", lambda: dom("ep-tune").fsFreeze(None, 0), []),
        ("tune.fsFreeze.again", lambda: dom("ep-tune").fsFreeze(["/"], 0), []),
        ("tune.fsThaw.boot", lambda: dom("ep-tune").fsThaw(["/boot", "/boot"], 0), []),
        ("tune.fsFreeze.unknown", lambda: dom("ep-tune").fsFreeze(["/x"], 0), []),
        ("tune.fsThaw", lambda: dom("ep-tune").fsThaw(None, 0), []),
        ("tune.fsTrim", lambda: dom("ep-tune").fstrim(None, 0, 0), []),
        ("tune.fsTrim.boot", lambda: dom("ep-tune").fstrim("/boot", 10, 0), []),
        ("tune.fsTrim.unknown", lambda: dom("ep-tune").fstrim("/x", 0, 0), []),
        ("tune.fsInfo", lambda: dom("ep-tune").fsInfo(0), []),
        ("tune.interfaceAddresses", lambda: dom("ep-tune").interfaceAddresses(0, 0), []),
        ("tune.interfaceAddresses.arp", lambda: dom("ep-tune").interfaceAddresses(2, 0), []),
        ("tune.interfaceAddresses.source", lambda: dom("ep-tune").interfaceAddresses(7, 0), []),
        ("tune.interfaceStats", lambda: dom("ep-tune").interfaceStats("testnet1"), [0, 1, 2, 3, 4, 5, 6, 7]),
        ("tune.interfaceStats.mac", lambda: dom("ep-tune").interfaceStats("52:54:00:00:00:03"), [0, 1, 2, 3, 4, 5, 6, 7]),
        ("tune.interfaceStats.unknown", lambda: dom("ep-tune").interfaceStats("nope"), []),
        ("tune.blockStats", lambda: dom("ep-tune").blockStats("hdc"), [0, 1, 2, 3, 4]),
        ("tune.blockStats.path", lambda: dom("ep-tune").blockStats("/default-pool/tune.img"), [0, 1, 2, 3, 4]),
        ("tune.blockStats.unknown", lambda: dom("ep-tune").blockStats("vdz"), []),
        ("tune.memoryPeek", lambda: dom("ep-tune").memoryPeek(250, 10, 1), []),
        ("tune.memoryPeek.both", lambda: dom("ep-tune").memoryPeek(0, 4, 3), []),
        ("tune.memoryPeek.none", lambda: dom("ep-tune").memoryPeek(0, 4, 0), []),
        ("tune.setUserPassword", lambda: dom("ep-tune").setUserPassword("root", "pw", 0), []),
        ("tune.setUserPassword.flags", lambda: dom("ep-tune").setUserPassword("root", "pw", 4), []),
        ("tune.sendProcessSignal", lambda: dom("ep-tune").sendProcessSignal(1, 9, 0), []),
        ("tune.sendProcessSignal.pid", lambda: dom("ep-tune").sendProcessSignal(2, 9, 0), []),
        ("tune.sendProcessSignal.signum", lambda: dom("ep-tune").sendProcessSignal(1, 99, 0), []),
        ("tune.setMemoryStatsPeriod", lambda: dom("ep-tune").setMemoryStatsPeriod(10, 0), []),
        ("tune.setMemoryStatsPeriod.config", lambda: dom("ep-tune").setMemoryStatsPeriod(5, 2), []),
        ("tune.launchSecurityInfo", lambda: dom("ep-tune").launchSecurityInfo(0), []),
        ("tune.XMLDesc.guest", lambda: dom("ep-tune").XMLDesc(0), []),
        ("tune.XMLDesc.guest.inactive", lambda: dom("ep-tune").XMLDesc(2), []),
        ("tune.blkioParameters", lambda: dom("ep-tune").blkioParameters(0), []),
        ("tune.setBlkioParameters", lambda: dom("ep-tune").setBlkioParameters({"weight": 500, "device_weight": "/dev/sda,100,/dev/sdb,200", "device_read_bytes_sec": "/dev/sda,1024"}, 0), []),
        ("tune.setBlkioParameters.merge", lambda: dom("ep-tune").setBlkioParameters({"device_weight": "/dev/sdb,0,/dev/sdc,0", "device_write_iops_sec": "/dev/sdc,7"}, 0), []),
        ("tune.setBlkioParameters.odd", lambda: dom("ep-tune").setBlkioParameters({"device_weight": "/dev/sda", "weight": 300}, 0), []),
        ("tune.setBlkioParameters.value", lambda: dom("ep-tune").setBlkioParameters({"device_read_iops_sec": "/dev/sda,x,/dev/sdb,5"}, 0), []),
        ("tune.setBlkioParameters.config", lambda: dom("ep-tune").setBlkioParameters({"weight": 100}, 2), []),
        ("tune.blkioParameters.set", lambda: dom("ep-tune").blkioParameters(0), []),
        ("tune.blkioParameters.config", lambda: dom("ep-tune").blkioParameters(2), []),
        ("tune.blockIoTune", lambda: dom("ep-tune").blockIoTune("vda", 0), []),
        ("tune.setBlockIoTune", lambda: dom("ep-tune").setBlockIoTune("vda", {"total_bytes_sec": 1000, "total_bytes_sec_max": 2000, "read_iops_sec": 10, "read_iops_sec_max": 20, "group_name": "g1", "total_iops_sec_max_length": 5}, 0), []),
        ("tune.setBlockIoTune.both", lambda: dom("ep-tune").setBlockIoTune("vda", {"read_bytes_sec": 5, "read_bytes_sec_max": 6}, 0), []),
        ("tune.setBlockIoTune.max", lambda: dom("ep-tune").setBlockIoTune("vda", {"write_iops_sec": 50, "write_iops_sec_max": 10}, 0), []),
        ("tune.setBlockIoTune.limit", lambda: dom("ep-tune").setBlockIoTune("vda", {"size_iops_sec": 10**16}, 0), []),
        ("tune.setBlockIoTune.path", lambda: dom("ep-tune").setBlockIoTune("/default-pool/tune.img", {"size_iops_sec": 4096}, 0), []),
        ("tune.setBlockIoTune.missing", lambda: dom("ep-tune").setBlockIoTune("vdz", {"size_iops_sec": 1}, 0), []),
        ("tune.setBlockIoTune.config", lambda: dom("ep-tune").setBlockIoTune("hdc", {"read_bytes_sec": 1, "read_bytes_sec_max": 2}, 2), []),
        ("tune.blockIoTune.set", lambda: dom("ep-tune").blockIoTune("vda", 0), []),
        ("tune.blockIoTune.config", lambda: dom("ep-tune").blockIoTune("hdc", 2), []),
        ("tune.blockIoTune.missing", lambda: dom("ep-tune").blockIoTune("vdz", 0), []),
        ("tune.interfaceParameters", lambda: dom("ep-tune").interfaceParameters("testnet0", 0), []),
        ("tune.setInterfaceParameters", lambda: dom("ep-tune").setInterfaceParameters("testnet0", {"inbound.average": 100, "inbound.peak": 200, "inbound.burst": 300, "outbound.average": 50}, 0), []),
        ("tune.setInterfaceParameters.clear", lambda: dom("ep-tune").setInterfaceParameters("testnet0", {"outbound.average": 0}, 0), []),
        ("tune.setInterfaceParameters.empty", lambda: dom("ep-tune").setInterfaceParameters("testnet1", {"outbound.peak": 5}, 0), []),
        ("tune.setInterfaceParameters.floor", lambda: dom("ep-tune").setInterfaceParameters("52:54:00:00:00:04", {"inbound.floor": 10}, 0), []),
        ("tune.setInterfaceParameters.unknown", lambda: dom("ep-tune").setInterfaceParameters("nope", {"inbound.average": 1}, 0), []),
        ("tune.setInterfaceParameters.config", lambda: dom("ep-tune").setInterfaceParameters("testnet0", {"outbound.average": 9, "outbound.burst": 3}, 2), []),
        ("tune.interfaceParameters.set", lambda: dom("ep-tune").interfaceParameters("testnet0", 0), []),
        ("tune.interfaceParameters.mac", lambda: dom("ep-tune").interfaceParameters("52:54:00:00:00:04", 0), []),
        ("tune.interfaceParameters.config", lambda: dom("ep-tune").interfaceParameters("testnet0", 2), []),
        ("tune.interfaceParameters.unknown", lambda: dom("ep-tune").interfaceParameters("nope", 0), []),
        ("tune.perfEvents", lambda: dom("ep-tune").perfEvents(0), []),
        ("tune.setPerfEvents", lambda: dom("ep-tune").setPerfEvents({"cmt": True, "cpu_cycles": False, "emulation_faults": True}, 0), []),
        ("tune.setPerfEvents.config", lambda: dom("ep-tune").setPerfEvents({"mbml": True}, 2), []),
        ("tune.perfEvents.set", lambda: dom("ep-tune").perfEvents(0), []),
        ("tune.perfEvents.config", lambda: dom("ep-tune").perfEvents(2), []),
        ("tune.XMLDesc.tuned", lambda: dom("ep-tune").XMLDesc(0), []),
        ("tune.XMLDesc.tuned.inactive", lambda: dom("ep-tune").XMLDesc(2), []),
        ("tune.rename.active", lambda: dom("ep-tune").rename("ep-tune2", 0), []),
        ("tune.destroy", lambda: dom("ep-tune").destroy(), []),
        ("tune.fsFreeze.inactive", lambda: dom("ep-tune").fsFreeze(None, 0), []),
        ("tune.memoryPeek.inactive", lambda: dom("ep-tune").memoryPeek(0, 4, 1), []),
        ("tune.rename.self", lambda: dom("ep-tune").rename("ep-tune", 0), []),
        ("tune.rename.taken", lambda: dom("ep-tune").rename("test", 0), []),
        ("tune.rename.slash", lambda: dom("ep-tune").rename("a/b", 0), []),
        ("tune.rename.events", lambda: lifecycle_events(conn, [lambda: dom("ep-tune").rename("ep-tune2", 0)]), []),
        ("tune.rename.XMLDesc", lambda: dom("ep-tune2").XMLDesc(0), []),
        ("tune.ro.interfaceAddresses.agent", lambda: ro().lookupByName("test").interfaceAddresses(1, 0), []),
        ("tune.ro.interfaceAddresses.lease", lambda: ro().lookupByName("test").interfaceAddresses(0, 0), []),
        ("tune.ro.pinVcpu", lambda: ro().lookupByName("test").pinVcpu(0, (True,)), []),
        ("tune.ro.vcpuPinInfo", lambda: ro().lookupByName("test").vcpuPinInfo(0), []),
        ("tune.ro.fsInfo", lambda: ro().lookupByName("test").fsInfo(0), []),
        ("tune.ro.memoryPeek", lambda: ro().lookupByName("test").memoryPeek(0, 4, 1), []),
        ("tune.ro.launchSecurityInfo", lambda: ro().lookupByName("test").launchSecurityInfo(0), []),
        ("tune.ro.setPerfEvents", lambda: ro().lookupByName("test").setPerfEvents({"cmt": True}, 0), []),
        ("tune.ro.blockIoTune", lambda: ro().lookupByName("test").blockIoTune("vda", 0), []),
        ("tune.ro.allDomainStats", lambda: len(ro().getAllDomainStats(0, 0)), []),
        ("tune.ro.rename", lambda: ro().lookupByName("ep-tune2").rename("x", 0), []),
        ("tune.undefine", lambda: dom("ep-tune2").undefine(), []),
        ("tune.iothreadids.fill", lambda: conn.defineXML(IO_XML % (3, "<iothread id='5'/><iothread id='2'/>")).XMLDesc(0), []),
        ("tune.iothreadids.fill.info", lambda: [t[0] for t in dom("ep-io").ioThreadInfo(0)], []),
        ("tune.iothreadids.more", lambda: conn.defineXML(IO_XML % (1, "<iothread id='7'/><iothread id='3'/>")).XMLDesc(0), []),
        ("tune.iothreadids.del", lambda: dom("ep-io").delIOThread(7, 0), []),
        ("tune.iothreadids.del.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.iothreadids.undefine", lambda: dom("ep-io").undefine(), []),
        ("tune.autofill.define", lambda: conn.defineXML(IO_XML.replace("<iothreadids>%s</iothreadids>", "") % 3).name(), []),
        ("tune.autofill.add", lambda: dom("ep-io").addIOThread(4, 0), []),
        ("tune.autofill.add.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.autofill.del.added", lambda: dom("ep-io").delIOThread(4, 0), []),
        ("tune.autofill.del.added.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.autofill.pin", lambda: dom("ep-io").pinIOThread(3, (True,), 0), []),
        ("tune.autofill.pin.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.autofill.del.pinned", lambda: dom("ep-io").delIOThread(3, 0), []),
        ("tune.autofill.del.pinned.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.autofill.del.first", lambda: dom("ep-io").delIOThread(1, 0), []),
        ("tune.autofill.del.first.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.autofill.del.last", lambda: dom("ep-io").delIOThread(2, 0), []),
        ("tune.autofill.del.last.XMLDesc", lambda: dom("ep-io").XMLDesc(0), []),
        ("tune.autofill.undefine", lambda: dom("ep-io").undefine(), []),
        ("tune.parsed.define", lambda: conn.defineXML(TUNED_XML).XMLDesc(0), []),
        ("tune.parsed.blkioParameters", lambda: dom("ep-io").blkioParameters(0), []),
        ("tune.parsed.blockIoTune", lambda: dom("ep-io").blockIoTune("vda", 0), []),
        ("tune.parsed.interfaceParameters", lambda: dom("ep-io").interfaceParameters("52:54:00:00:00:05", 0), []),
        ("tune.parsed.perfEvents", lambda: dom("ep-io").perfEvents(0), []),
        ("tune.parsed.undefine", lambda: dom("ep-io").undefine(), []),
        ("tune.cputune.define", lambda: conn.defineXML(CPUTUNE_XML).XMLDesc(0), []),
        ("tune.cputune.vcpuPinInfo", lambda: dom("ep-io").vcpuPinInfo(0), []),
        ("tune.cputune.emulatorPinInfo", lambda: dom("ep-io").emulatorPinInfo(0), []),
        ("tune.cputune.IOThreadInfo", lambda: dom("ep-io").ioThreadInfo(0), []),
        ("tune.cputune.undefine", lambda: dom("ep-io").undefine(), []),
        ("tune.domainListGetStats.gone", lambda: stale_stats(conn), []),
        # --- snapshots and checkpoints ----------------------------------------------------
        ("snap.create", lambda: dom().snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0).getName(), []),
        ("snap.num", lambda: dom().snapshotNum(0), []),
        ("snap.list", lambda: dom().snapshotListNames(0), []),
        ("snap.current", lambda: dom().snapshotCurrent(0).getName(), []),
        ("snap.hasCurrent", lambda: dom().hasCurrentSnapshot(0), []),
        ("snap.create2", lambda: dom().snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>", 0).getName(), []),
        ("snap.parent", lambda: dom().snapshotLookupByName("s2", 0).getParent(0).getName(), []),
        ("snap.children", lambda: dom().snapshotLookupByName("s1", 0).listChildrenNames(0), []),
        ("snap.isCurrent", lambda: dom().snapshotLookupByName("s1", 0).isCurrent(0), []),
        ("snap.hasMetadata", lambda: dom().snapshotLookupByName("s1", 0).hasMetadata(0), []),
        ("snap.XMLDesc", lambda: dom().snapshotLookupByName("s1", 0).getXMLDesc(0), ["re:<creationTime>[0-9]+</creationTime>"]),
        ("snap.revert", lambda: dom().revertToSnapshot(dom().snapshotLookupByName("s1", 0), 0), []),
        ("snap.delete", lambda: dom().snapshotLookupByName("s2", 0).delete(0), []),
        ("snap.delete.missing", lambda: dom().snapshotLookupByName("s9", 0), []),
        ("snap.listAll", lambda: [s.getName() for s in dom().listAllSnapshots(0)], []),
        ("ckpt.create", lambda: dom("ep-dom2").checkpointCreateXML("<domaincheckpoint><name>c1</name></domaincheckpoint>", 0).getName(), []),
        ("ckpt.list", lambda: [c.getName() for c in dom("ep-dom2").listAllCheckpoints(0)], []),
        ("ckpt.delete", lambda: dom("ep-dom2").checkpointLookupByName("c1", 0).delete(0), []),
        ("ckpt.create.with-snapshot", lambda: dom().checkpointCreateXML("<domaincheckpoint><name>c0</name></domaincheckpoint>", 0).getName(), []),
        ("snap.delete.s1", lambda: dom().snapshotLookupByName("s1", 0).delete(0), []),
        ("ckpt.create.running", lambda: dom().checkpointCreateXML("<domaincheckpoint><name>c2</name><description>d</description></domaincheckpoint>", 0).getName(), []),
        ("ckpt.create.child", lambda: dom().checkpointCreateXML("<domaincheckpoint><name>c3</name></domaincheckpoint>", 0).getName(), []),
        ("ckpt.XMLDesc", lambda: dom().checkpointLookupByName("c3", 0).getXMLDesc(2), ["re:<creationTime>[0-9]+</creationTime>"]),
        ("ckpt.parent", lambda: dom().checkpointLookupByName("c3", 0).getParent(0).getName(), []),
        ("ckpt.parent.none", lambda: dom().checkpointLookupByName("c2", 0).getParent(0).getName(), []),
        ("ckpt.children", lambda: [c.getName() for c in dom().checkpointLookupByName("c2", 0).listAllChildren(0)], []),
        ("snap.create.with-checkpoint", lambda: dom().snapshotCreateXML("<domainsnapshot/>", 0).getName(), []),
        ("ckpt.delete.children", lambda: dom().checkpointLookupByName("c2", 0).delete(1), []),
        ("ckpt.list.after", lambda: [c.getName() for c in dom().listAllCheckpoints(0)], []),
        ("dom.undefine", lambda: dom("ep-dom2").undefine(), []),
        # --- networks ------------------------------------------------------------------------
        ("net.list", lambda: names(conn.listAllNetworks(0)), []),
        ("net.XMLDesc", lambda: net().XMLDesc(0), []),
        ("net.bridgeName", lambda: net().bridgeName(), []),
        ("net.define", lambda: conn.networkDefineXML(NET_XML).name(), []),
        ("net.create", lambda: net("ep-net").create(), []),
        ("net.update", lambda: net("ep-net").update(4, 8, -1, "<host mac='52:54:00:00:00:09' ip='10.9.0.9'/>", 0), []),
        ("net.update.host.add", lambda: net("ep-net").update(3, 4, -1, "<host mac='52:54:00:00:00:09' name='h9' ip='10.9.0.9'/>", 0), []),
        ("net.update.host.addfirst", lambda: net("ep-net").update(4, 4, -1, "<host mac='52:54:00:00:00:0A' ip='10.9.0.10'/>", 0), []),
        ("net.update.host.dup", lambda: net("ep-net").update(3, 4, -1, "<host mac='52:54:00:00:00:09' ip='10.9.0.11'/>", 0), []),
        ("net.update.host.dupname", lambda: net("ep-net").update(3, 4, -1, "<host name='h9' ip='10.9.0.11'/>", 0), []),
        ("net.update.host.modify", lambda: net("ep-net").update(1, 4, -1, "<host mac='52:54:00:00:00:09' name='h9b' ip='10.9.0.19'/>", 0), []),
        ("net.update.host.modify.missing", lambda: net("ep-net").update(1, 4, -1, "<host mac='52:54:00:00:00:99' ip='10.9.0.99'/>", 0), []),
        ("net.update.host.noname", lambda: net("ep-net").update(3, 4, -1, "<host ip='10.9.0.12'/>", 0), []),
        ("net.update.host.noip", lambda: net("ep-net").update(3, 4, -1, "<host mac='52:54:00:00:00:0c'/>", 0), []),
        ("net.update.host.badmac", lambda: net("ep-net").update(3, 4, -1, "<host mac='zz' ip='10.9.0.12'/>", 0), []),
        ("net.update.host.multicast", lambda: net("ep-net").update(3, 4, -1, "<host mac='01:00:00:00:00:01' ip='10.9.0.12'/>", 0), []),
        ("net.update.host.badname", lambda: net("ep-net").update(3, 4, -1, "<host name='-x' ip='10.9.0.12'/>", 0), []),
        ("net.update.host.badid", lambda: net("ep-net").update(3, 4, -1, "<host id='0g' name='x' ip='10.9.0.12'/>", 0), []),
        ("net.update.host.badip", lambda: net("ep-net").update(3, 4, -1, "<host name='x' ip='nope'/>", 0), []),
        ("net.update.host.v6ip", lambda: net("ep-net").update(3, 4, -1, "<host name='x' ip='fd00::1'/>", 0), []),
        ("net.update.host.badelem", lambda: net("ep-net").update(3, 4, -1, "<range start='10.9.0.2' end='10.9.0.5'/>", 0), []),
        ("net.update.host.index", lambda: net("ep-net").update(3, 4, 5, "<host name='x' ip='10.9.0.12'/>", 0), []),
        ("net.update.host.badcmd", lambda: net("ep-net").update(9, 4, -1, "<host name='x' ip='10.9.0.12'/>", 0), []),
        ("net.update.host.delete.empty", lambda: net("ep-net").update(2, 4, -1, "<host/>", 0), []),
        ("net.update.host.delete", lambda: net("ep-net").update(2, 4, -1, "<host mac='52:54:00:00:00:0a'/>", 0), []),
        ("net.update.host.delete.missing", lambda: net("ep-net").update(2, 4, -1, "<host name='zzz'/>", 0), []),
        ("net.update.range.add", lambda: net("ep-net").update(3, 5, -1, "<range start='10.9.0.100' end='10.9.0.200'/>", 0), []),
        ("net.update.range.dup", lambda: net("ep-net").update(4, 5, 0, "<range start='10.9.0.100' end='10.9.0.200'/>", 0), []),
        ("net.update.range.modify", lambda: net("ep-net").update(1, 5, -1, "<range start='10.9.0.100' end='10.9.0.200'/>", 0), []),
        ("net.update.range.outside", lambda: net("ep-net").update(3, 5, -1, "<range start='10.8.0.100' end='10.8.0.200'/>", 0), []),
        ("net.update.range.network", lambda: net("ep-net").update(3, 5, -1, "<range start='10.9.0.0' end='10.9.0.20'/>", 0), []),
        ("net.update.range.broadcast", lambda: net("ep-net").update(3, 5, -1, "<range start='10.9.0.2' end='10.9.0.255'/>", 0), []),
        ("net.update.range.reversed", lambda: net("ep-net").update(3, 5, -1, "<range start='10.9.0.50' end='10.9.0.40'/>", 0), []),
        ("net.update.range.noend", lambda: net("ep-net").update(3, 5, -1, "<range start='10.9.0.40'/>", 0), []),
        ("net.update.range.badstart", lambda: net("ep-net").update(3, 5, -1, "<range start='x' end='10.9.0.40'/>", 0), []),
        ("net.update.range.v6", lambda: net("ep-net").update(3, 5, -1, "<range start='fd00::2' end='fd00::9'/>", 0), []),
        ("net.update.range.addfirst", lambda: net("ep-net").update(4, 5, -1, "<range start='10.9.0.20' end='10.9.0.30'/>", 0), []),
        ("net.update.XMLDesc", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.range.delete", lambda: net("ep-net").update(2, 5, -1, "<range start='10.9.0.100' end='10.9.0.200'/>", 0), []),
        ("net.update.range.delete.missing", lambda: net("ep-net").update(2, 5, -1, "<range start='10.9.0.100' end='10.9.0.200'/>", 0), []),
        ("net.update.bridge", lambda: net("ep-net").update(3, 1, -1, "<bridge name='x'/>", 0), []),
        ("net.update.domain", lambda: net("ep-net").update(3, 2, -1, "<domain name='x'/>", 0), []),
        ("net.update.ip", lambda: net("ep-net").update(3, 3, -1, "<ip address='10.1.1.1'/>", 0), []),
        ("net.update.forward", lambda: net("ep-net").update(3, 6, -1, "<forward/>", 0), []),
        ("net.update.section0", lambda: net("ep-net").update(3, 0, -1, "<host/>", 0), []),
        ("net.update.section13", lambda: net("ep-net").update(3, 13, -1, "<host/>", 0), []),
        ("net.update.badxml", lambda: net("ep-net").update(3, 4, -1, "<host", 0), []),
        ("net.update.flags", lambda: net("ep-net").update(3, 4, -1, "<host name='x' ip='10.9.0.12'/>", 4), []),
        ("net.update.config", lambda: net("ep-net").update(3, 4, -1, "<host name='cfg' ip='10.9.0.30'/>", 2), []),
        ("net.update.XMLDesc.config", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.live", lambda: net("ep-net").update(3, 4, -1, "<host name='live' ip='10.9.0.31'/>", 1), []),
        ("net.update.default", lambda: net().update(3, 4, -1, "<host mac='52:54:00:00:00:33' ip='192.168.122.33'/>", 0), []),
        ("net.update.default.XMLDesc", lambda: net().XMLDesc(0), []),
        ("net.update.txt.add", lambda: net("ep-net").update(3, 11, -1, "<txt name='example' value='v=1'/>", 0), []),
        ("net.update.txt.addfirst", lambda: net("ep-net").update(4, 11, -1, "<txt name='first' value='x'/>", 0), []),
        ("net.update.txt.dup", lambda: net("ep-net").update(3, 11, -1, "<txt name='example' value='other'/>", 0), []),
        ("net.update.txt.modify", lambda: net("ep-net").update(1, 11, -1, "<txt name='example' value='v=2'/>", 0), []),
        ("net.update.txt.noname", lambda: net("ep-net").update(3, 11, -1, "<txt value='x'/>", 0), []),
        ("net.update.txt.badname", lambda: net("ep-net").update(3, 11, -1, "<txt name='a b' value='x'/>", 0), []),
        ("net.update.txt.novalue", lambda: net("ep-net").update(3, 11, -1, "<txt name='nv'/>", 0), []),
        ("net.update.txt.badelem", lambda: net("ep-net").update(3, 11, -1, "<srv/>", 0), []),
        ("net.update.host.dns.add", lambda: net("ep-net").update(3, 10, -1, "<host ip='10.9.0.50'><hostname>web</hostname><hostname>www</hostname></host>", 0), []),
        ("net.update.host.dns.add2", lambda: net("ep-net").update(4, 10, -1, "<host ip='10.9.0.51'><hostname>db</hostname></host>", 0), []),
        ("net.update.host.dns.dup", lambda: net("ep-net").update(3, 10, -1, "<host ip='10.9.0.50'><hostname>x</hostname></host>", 0), []),
        ("net.update.host.dns.noip", lambda: net("ep-net").update(3, 10, -1, "<host><hostname>x</hostname></host>", 0), []),
        ("net.update.host.dns.badip", lambda: net("ep-net").update(3, 10, -1, "<host ip='x'><hostname>x</hostname></host>", 0), []),
        ("net.update.host.dns.noname", lambda: net("ep-net").update(3, 10, -1, "<host ip='10.9.0.52'/>", 0), []),
        ("net.update.host.dns.modify", lambda: net("ep-net").update(1, 10, -1, "<host ip='10.9.0.50'><hostname>x</hostname></host>", 0), []),
        ("net.update.dns.XMLDesc", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.host.dns.delete.byname", lambda: net("ep-net").update(2, 10, -1, "<host><hostname>www</hostname></host>", 0), []),
        ("net.update.host.dns.delete.missing", lambda: net("ep-net").update(2, 10, -1, "<host ip='10.9.0.99'/>", 0), []),
        ("net.update.host.dns.delete.empty", lambda: net("ep-net").update(2, 10, -1, "<host/>", 0), []),
        ("net.update.txt.delete", lambda: net("ep-net").update(2, 11, -1, "<txt name='first'/>", 0), []),
        ("net.update.txt.delete.missing", lambda: net("ep-net").update(2, 11, -1, "<txt name='first'/>", 0), []),
        ("net.update.txt.badcmd", lambda: net("ep-net").update(0, 11, -1, "<txt name='z' value='1'/>", 0), []),
        ("net.update.dns.XMLDesc.after", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.host.dns.delete.last", lambda: net("ep-net").update(2, 10, -1, "<host ip='10.9.0.51'/>", 0), []),
        ("net.update.txt.delete.last", lambda: net("ep-net").update(2, 11, -1, "<txt name='example'/>", 0), []),
        ("net.update.dns.XMLDesc.empty", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.srv.add", lambda: net("ep-net").update(3, 12, -1, "<srv service='ldap' protocol='tcp' domain='ex.org' target='t.ex.org' port='389' priority='0' weight='10'/>", 0), []),
        ("net.update.srv.add2", lambda: net("ep-net").update(4, 12, -1, "<srv service='http' protocol='tcp'/>", 0), []),
        ("net.update.srv.dup", lambda: net("ep-net").update(3, 12, -1, "<srv service='http' protocol='tcp'/>", 0), []),
        ("net.update.srv.modify", lambda: net("ep-net").update(1, 12, -1, "<srv service='http' protocol='tcp'/>", 0), []),
        ("net.update.srv.noservice", lambda: net("ep-net").update(3, 12, -1, "<srv protocol='tcp'/>", 0), []),
        ("net.update.srv.noprotocol", lambda: net("ep-net").update(3, 12, -1, "<srv service='x'/>", 0), []),
        ("net.update.srv.badservice", lambda: net("ep-net").update(3, 12, -1, "<srv service='a b' protocol='tcp'/>", 0), []),
        ("net.update.srv.badprotocol", lambda: net("ep-net").update(3, 12, -1, "<srv service='x' protocol='t_p'/>", 0), []),
        ("net.update.srv.portnotarget", lambda: net("ep-net").update(3, 12, -1, "<srv service='x' protocol='tcp' port='1'/>", 0), []),
        ("net.update.srv.badport", lambda: net("ep-net").update(3, 12, -1, "<srv service='x' protocol='tcp' target='t' port='0'/>", 0), []),
        ("net.update.srv.badpriority", lambda: net("ep-net").update(3, 12, -1, "<srv service='x' protocol='tcp' target='t' priority='70000'/>", 0), []),
        ("net.update.srv.badweight", lambda: net("ep-net").update(3, 12, -1, "<srv service='x' protocol='tcp' target='t' weight='w'/>", 0), []),
        ("net.update.srv.XMLDesc", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.srv.delete.multi", lambda: net("ep-net").update(2, 12, -1, "<srv protocol='tcp'/>", 0), []),
        ("net.update.srv.delete", lambda: net("ep-net").update(2, 12, -1, "<srv service='http'/>", 0), []),
        ("net.update.srv.delete.missing", lambda: net("ep-net").update(2, 12, -1, "<srv service='http'/>", 0), []),
        ("net.update.srv.delete.last", lambda: net("ep-net").update(2, 12, -1, "<srv service='ldap' protocol='tcp'/>", 0), []),
        ("net.update.portgroup.add", lambda: net("ep-net").update(3, 9, -1, "<portgroup name='eng' default='YES'><bandwidth><inbound average='1000'/></bandwidth><vlan><tag id='42'/></vlan></portgroup>", 0), []),
        ("net.update.portgroup.add2", lambda: net("ep-net").update(4, 9, -1, "<portgroup name='sales' trustGuestRxFilters='no'/>", 0), []),
        ("net.update.portgroup.dup", lambda: net("ep-net").update(3, 9, -1, "<portgroup name='sales'/>", 0), []),
        ("net.update.portgroup.default2", lambda: net("ep-net").update(3, 9, -1, "<portgroup name='ops' default='yes'/>", 0), []),
        ("net.update.portgroup.noname", lambda: net("ep-net").update(3, 9, -1, "<portgroup/>", 0), []),
        ("net.update.portgroup.badtrust", lambda: net("ep-net").update(3, 9, -1, "<portgroup name='x' trustGuestRxFilters='maybe'/>", 0), []),
        ("net.update.portgroup.modify", lambda: net("ep-net").update(1, 9, -1, "<portgroup name='sales' default='no'/>", 0), []),
        ("net.update.portgroup.modify.missing", lambda: net("ep-net").update(1, 9, -1, "<portgroup name='none'/>", 0), []),
        ("net.update.portgroup.XMLDesc", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.portgroup.delete", lambda: net("ep-net").update(2, 9, -1, "<portgroup name='eng'/>", 0), []),
        ("net.update.portgroup.delete.missing", lambda: net("ep-net").update(2, 9, -1, "<portgroup name='eng'/>", 0), []),
        ("net.update.portgroup.badcmd", lambda: net("ep-net").update(7, 9, -1, "<portgroup name='zz'/>", 0), []),
        ("net.update.portgroup.XMLDesc.after", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.fwdif.add", lambda: net().update(3, 7, -1, "<interface dev='eth0'/>", 0), []),
        ("net.update.fwdif.addfirst", lambda: net().update(4, 7, -1, "<interface dev='eth1'/>", 0), []),
        ("net.update.fwdif.add3", lambda: net().update(3, 7, -1, "<interface dev='eth2'/>", 0), []),
        ("net.update.fwdif.dup", lambda: net().update(3, 7, -1, "<interface dev='eth0'/>", 0), []),
        ("net.update.fwdif.modify", lambda: net().update(1, 7, -1, "<interface dev='eth0'/>", 0), []),
        ("net.update.fwdif.nodev", lambda: net().update(3, 7, -1, "<interface/>", 0), []),
        ("net.update.fwdif.badelem", lambda: net().update(3, 7, -1, "<host/>", 0), []),
        ("net.update.fwdif.XMLDesc", lambda: net().XMLDesc(0), []),
        ("net.update.fwdif.delete.first", lambda: net().update(2, 7, -1, "<interface dev='eth1'/>", 0), []),
        ("net.update.fwdif.delete.missing", lambda: net().update(2, 7, -1, "<interface dev='eth1'/>", 0), []),
        ("net.update.fwdif.XMLDesc.after", lambda: net().XMLDesc(0), []),
        ("net.update.fwdif.delete.rest", lambda: [net().update(2, 7, -1, "<interface dev='eth0'/>", 0), net().update(2, 7, -1, "<interface dev='eth2'/>", 0)], []),
        ("net.update.fwdif.XMLDesc.none", lambda: net().XMLDesc(0), []),
        ("net.update.fwdif.noforward.add", lambda: net("ep-net").update(3, 7, -1, "<interface dev='eth5'/>", 0), []),
        ("net.update.fwdif.noforward.add2", lambda: net("ep-net").update(3, 7, -1, "<interface dev='eth6'/>", 0), []),
        ("net.update.fwdif.noforward.dup", lambda: net("ep-net").update(4, 7, -1, "<interface dev='eth5'/>", 0), []),
        ("net.update.fwdif.noforward.XMLDesc", lambda: net("ep-net").XMLDesc(0), []),
        ("net.update.fwdif.noforward.delete", lambda: net("ep-net").update(2, 7, -1, "<interface dev='eth5'/>", 0), []),
        ("net.update.fwdif.noforward.delete.again", lambda: net("ep-net").update(2, 7, -1, "<interface dev='eth5'/>", 0), []),
        ("net.DHCPLeases", lambda: net().DHCPLeases(None, 0), []),
        ("net.listAllPorts", lambda: net().listAllPorts(0), []),
        ("net.destroy", lambda: net("ep-net").destroy(), []),
        ("net.update.inactive.live", lambda: net("ep-net").update(3, 4, -1, "<host name='x' ip='10.9.0.12'/>", 1), []),
        ("net.update.inactive", lambda: net("ep-net").update(3, 4, -1, "<host name='off' ip='10.9.0.40'/>", 0), []),
        ("net.update.inactive.XMLDesc", lambda: net("ep-net").XMLDesc(0), []),
        ("net.undefine", lambda: net("ep-net").undefine(), []),
        # --- storage ------------------------------------------------------------------------
        ("pool.list", lambda: names(conn.listAllStoragePools(0)), []),
        ("pool.XMLDesc", lambda: pool().XMLDesc(0), []),
        ("pool.info", lambda: pool().info(), []),
        ("vol.create", lambda: plain(pool().createXML(VOL_XML, 0)), []),
        ("vol.createFrom", lambda: plain(pool().createXMLFrom(CLONE_XML, pool().storageVolLookupByName("ep.img"), 0)), []),
        ("vol.list", lambda: sorted(pool().listVolumes()), []),
        ("vol.XMLDesc", lambda: pool().storageVolLookupByName("ep-clone.img").XMLDesc(0), []),
        ("vol.info", lambda: pool().storageVolLookupByName("ep-clone.img").info(), []),
        ("vol.wipe", lambda: pool().storageVolLookupByName("ep.img").wipe(0), []),
        ("vol.resize", lambda: pool().storageVolLookupByName("ep.img").resize(20 * 1024 * 1024, 0), []),
        ("vol.delete", lambda: pool().storageVolLookupByName("ep-clone.img").delete(0), []),
        ("pool.sources", lambda: conn.findStoragePoolSources("logical", None, 0), []),
        ("pool.info.after", lambda: pool().info(), []),
        # --- interfaces ------------------------------------------------------------------------
        ("iface.list", lambda: names(conn.listAllInterfaces(0)), []),
        ("iface.num", lambda: [conn.numOfInterfaces(), conn.numOfDefinedInterfaces()], []),
        ("iface.XMLDesc", lambda: iface().XMLDesc(0), []),
        ("iface.MACString", lambda: iface().MACString(), []),
        ("iface.byMAC", lambda: conn.interfaceLookupByMACString("aa:bb:cc:dd:ee:ff").name(), []),
        ("iface.byMAC.missing", lambda: conn.interfaceLookupByMACString("00:00:00:00:00:00").name(), []),
        ("iface.missing", lambda: iface("nope").name(), []),
        ("iface.isActive", lambda: iface().isActive(), []),
        ("iface.create.active", lambda: iface().create(0), []),
        ("iface.commit.none", lambda: conn.changeCommit(0), []),
        ("iface.begin", lambda: conn.changeBegin(0), []),
        ("iface.begin.again", lambda: conn.changeBegin(0), []),
        ("iface.define", lambda: conn.interfaceDefineXML(IFACE_XML, 0).name(), []),
        ("iface.define.XMLDesc", lambda: iface("br-ep").XMLDesc(0), []),
        ("iface.define.noname", lambda: conn.interfaceDefineXML("<interface type='ethernet'/>", 0).name(), []),
        ("iface.define.badtype", lambda: conn.interfaceDefineXML("<interface type='x' name='y'/>", 0).name(), []),
        ("iface.rollback", lambda: conn.changeRollback(0), []),
        ("iface.list.after", lambda: [conn.listInterfaces(), conn.listDefinedInterfaces()], []),
        ("iface.create", lambda: iface().create(0), []),
        ("iface.destroy", lambda: iface().destroy(0), []),
        ("iface.undefine", lambda: iface().undefine(), []),
        # --- node devices ----------------------------------------------------------------------
        ("nodedev.list", lambda: sorted(d.name() for d in conn.listAllDevices(0)), []),
        ("nodedev.list.scsi_host", lambda: sorted(d.name() for d in conn.listAllDevices(32)), []),
        ("nodedev.list.active", lambda: sorted(d.name() for d in conn.listAllDevices(1 << 31)), []),
        ("nodedev.listDevices", lambda: sorted(conn.listDevices("system", 0)), []),
        ("nodedev.num", lambda: conn.numOfDevices(None, 0), []),
        ("nodedev.computer.XMLDesc", lambda: conn.nodeDeviceLookupByName("computer").XMLDesc(0), []),
        ("nodedev.scsi_host1.XMLDesc", lambda: conn.nodeDeviceLookupByName("scsi_host1").XMLDesc(0), []),
        ("nodedev.scsi_host11.XMLDesc", lambda: conn.nodeDeviceLookupByName("scsi_host11").XMLDesc(0), []),
        ("nodedev.parent", lambda: conn.nodeDeviceLookupByName("scsi_host11").parent(), []),
        ("nodedev.parent.none", lambda: conn.nodeDeviceLookupByName("computer").parent(), []),
        ("nodedev.caps", lambda: conn.nodeDeviceLookupByName("scsi_host1").listCaps(), []),
        ("nodedev.numOfCaps", lambda: conn.nodeDeviceLookupByName("scsi_host1").numOfCaps(), []),
        ("nodedev.missing", lambda: conn.nodeDeviceLookupByName("nope").name(), []),
        # --- save/restore, core dumps, starting with files -------------------------------------
        ("save.createXMLWithFiles", lambda: conn.createXMLWithFiles(SAVE_XML, [], 0).name(), []),
        ("save.createXMLWithFiles.flags", lambda: conn.createXMLWithFiles(SAVE_XML, [], 2).name(), []),
        ("save.createWithFiles.running", lambda: dom("ep-save").createWithFiles([], 0), []),
        ("save.createWithFiles.flags", lambda: dom("ep-save").createWithFiles([], 1), []),
        # Descriptors passed with the call (each after the message, with a byte of its own).
        ("save.createXMLWithFiles.fds", lambda: conn.createXMLWithFiles(FDS_XML, [os.open("/dev/null", os.O_RDONLY), os.open("/dev/null", os.O_RDONLY)], 0).name(), []),
        ("save.createWithFiles.fds", lambda: dom("ep-fds").createWithFiles([os.open("/dev/null", os.O_RDONLY)], 0), []),
        ("save.fds.connection", lambda: [conn.getType(), dom("ep-fds").state(0)], []),
        ("save.fds.destroy", lambda: dom("ep-fds").destroy(), []),
        ("save.badpath", lambda: dom("ep-save").save("/nonexistent-ep/ep.img"), []),
        ("save.flags.exclusive", lambda: dom("ep-save").saveFlags(TMP + "/ep.img", None, 6), []),
        ("save.flags", lambda: dom("ep-save").saveFlags(TMP + "/ep.img", None, 8), []),
        ("save.dxml", lambda: dom("ep-save").saveFlags(TMP + "/ep.img", SAVE_XML, 0), []),
        ("save.transient", lambda: lifecycle_results(conn, [lambda: dom("ep-save").save(TMP + "/ep.img")]), []),
        ("save.transient.list", lambda: "ep-save" in names(conn.listAllDomains(0)), []),
        ("save.image.XMLDesc", lambda: conn.saveImageGetXMLDesc(TMP + "/ep.img", 0), []),
        ("save.image.XMLDesc.secure", lambda: conn.saveImageGetXMLDesc(TMP + "/ep.img", 1), []),
        ("save.image.XMLDesc.flags", lambda: conn.saveImageGetXMLDesc(TMP + "/ep.img", 2), []),
        ("save.image.missing", lambda: conn.saveImageGetXMLDesc(TMP + "/none.img", 0), []),
        ("save.image.dir", lambda: conn.saveImageGetXMLDesc(TMP, 0), []),
        ("save.image.badmagic", lambda: conn.saveImageGetXMLDesc(image("m.img", b"NotTheMagic!!!!xxxx"), 0), []),
        ("save.image.short", lambda: short_read(lambda: conn.saveImageGetXMLDesc(image("s.img", b"Test"), 0)), []),
        ("save.image.nolength", lambda: short_read(lambda: conn.saveImageGetXMLDesc(image("n.img", b"TestGuestMagic\0\1"), 0)), []),
        ("save.image.toolong", lambda: conn.saveImageGetXMLDesc(image("l.img", b"TestGuestMagic\0" + (9000).to_bytes(4, "little") + b"x" * 9000), 0), []),
        ("save.image.truncated", lambda: short_read(lambda: conn.saveImageGetXMLDesc(image("t.img", b"TestGuestMagic\0" + (100).to_bytes(4, "little") + b"<domain"), 0)), []),
        ("save.image.badxml", lambda: conn.saveImageGetXMLDesc(image("x.img", b"TestGuestMagic\0" + (5).to_bytes(4, "little") + b"<a/>x"), 0), []),
        ("save.restore.badxml", lambda: conn.restore(TMP + "/x.img"), []),
        ("save.image.define", lambda: conn.saveImageDefineXML(TMP + "/ep.img", SAVE_XML.replace("1024", "2048"), 0), []),
        ("save.image.define.badxml", lambda: conn.saveImageDefineXML(TMP + "/ep.img", "<domain>", 0), []),
        ("save.image.define.flags", lambda: conn.saveImageDefineXML(TMP + "/ep.img", SAVE_XML, 8), []),
        ("save.image.define.exclusive", lambda: conn.saveImageDefineXML(TMP + "/ep.img", SAVE_XML, 6), []),
        ("save.image.define.badimage", lambda: conn.saveImageDefineXML(TMP + "/m.img", SAVE_XML, 0), []),
        ("save.image.XMLDesc.defined", lambda: conn.saveImageGetXMLDesc(TMP + "/ep.img", 0), []),
        ("save.restore.flags", lambda: conn.restoreFlags(TMP + "/ep.img", None, 2), []),
        ("save.restore.exclusive", lambda: conn.restoreFlags(TMP + "/ep.img", None, 6), []),
        ("save.restore.dxml", lambda: conn.restoreFlags(TMP + "/ep.img", SAVE_XML, 0), []),
        ("save.restore.missing", lambda: conn.restore(TMP + "/none.img"), []),
        ("save.restore", lambda: lifecycle_results(conn, [lambda: conn.restore(TMP + "/ep.img")]), []),
        ("save.restore.state", lambda: [dom("ep-save").state(0), dom("ep-save").isPersistent()], []),
        ("save.restore.XMLDesc", lambda: dom("ep-save").XMLDesc(0), []),
        ("save.restore.again", lambda: conn.restore(TMP + "/ep.img"), []),
        ("dump.format", lambda: dom("ep-save").coreDumpWithFormat(TMP + "/core1", 1, 0), []),
        ("dump.format.file", lambda: read_file("core1"), []),
        ("dump.format.bad", lambda: dom("ep-save").coreDumpWithFormat(TMP + "/core", 9, 0), []),
        ("dump.flags.exclusive", lambda: dom("ep-save").coreDump(TMP + "/core", 3), []),
        ("dump.flags.exclusive.reset", lambda: dom("ep-save").coreDump(TMP + "/core", 10), []),
        ("dump.flags", lambda: dom("ep-save").coreDump(TMP + "/core", 4), []),
        ("dump.badpath", lambda: dom("ep-save").coreDump("/nonexistent-ep/core", 0), []),
        ("dump", lambda: dom("ep-save").coreDump(TMP + "/core", 0), []),
        ("dump.file", lambda: read_file("core"), []),
        ("dump.crash", lambda: lifecycle_results(conn, [lambda: dom("ep-save").coreDumpWithFormat(TMP + "/core", 0, 1)]), []),
        ("dump.crash.list", lambda: "ep-save" in names(conn.listAllDomains(0)), []),
        ("save.persistent", lambda: lifecycle_results(conn, [lambda: dom().save(TMP + "/test.img")]), []),
        ("save.persistent.state", lambda: [dom().state(0), dom().isActive()], []),
        ("save.inactive", lambda: dom().save(TMP + "/test2.img"), []),
        ("dump.inactive", lambda: dom().coreDump(TMP + "/core", 0), []),
        ("save.restore.persistent", lambda: conn.restore(TMP + "/test.img"), []),
        ("save.restore.persistent.state", lambda: [dom().state(0), dom().isPersistent(), dom().ID() > 0], []),
        ("save.restore.persistent.XMLDesc", lambda: dom().XMLDesc(2), []),
        ("dump.crash.persistent", lambda: dom().coreDump(TMP + "/core", 1), []),
        ("dump.crash.persistent.state", lambda: dom().state(0), []),
        ("save.createWithFiles", lambda: lifecycle_results(conn, [lambda: dom().createWithFiles([], 0)]), []),
        # --- host CPU models, free pages, pool sources, network flags --------------------------
        ("host.getCPUModelNames.x86_64", lambda: conn.getCPUModelNames("x86_64", 0), []),
        ("host.getCPUModelNames.ppc64le", lambda: conn.getCPUModelNames("ppc64le", 0), []),
        ("host.getCPUModelNames.aarch64", lambda: conn.getCPUModelNames("aarch64", 0), []),
        ("host.getCPUModelNames.s390x", lambda: conn.getCPUModelNames("s390x", 0), []),
        ("host.getCPUModelNames.mips", lambda: conn.getCPUModelNames("mips", 0), []),
        ("host.getCPUModelNames.none", lambda: conn.getCPUModelNames("none", 0), []),
        ("host.getCPUModelNames.unknown", lambda: conn.getCPUModelNames("I686", 0), []),
        ("host.getCPUModelNames.flags", lambda: conn.getCPUModelNames("i686", 1), []),
        ("host.getFreePages.one", lambda: conn.getFreePages([4], 0, 1, 0), []),
        ("host.getFreePages.flags", lambda: conn.getFreePages([4], 0, 1, 1), []),
        ("pool.sources.netfs", lambda: conn.findStoragePoolSources("netfs", "<source><host name='nfs.example' port='2049'/></source>", 0), []),
        ("pool.sources.netfs.amp", lambda: conn.findStoragePoolSources("netfs", "<source><host name='a&amp;b'/><host name='c'/></source>", 0), []),
        ("pool.sources.netfs.nohost", lambda: conn.findStoragePoolSources("netfs", None, 0), []),
        ("pool.sources.logical.spec", lambda: conn.findStoragePoolSources("logical", "<source><device path='/dev/x'/></source>", 0), []),
        ("pool.sources.dir", lambda: conn.findStoragePoolSources("dir", None, 0), []),
        ("pool.sources.fs", lambda: conn.findStoragePoolSources("fs", "<source/>", 0), []),
        ("pool.sources.iscsi", lambda: conn.findStoragePoolSources("iscsi", None, 0), []),
        ("pool.sources.unknown", lambda: conn.findStoragePoolSources("nope", None, 0), []),
        ("pool.sources.unknown.spec", lambda: conn.findStoragePoolSources("nope", "<source/>", 0), []),
        ("pool.sources.badroot", lambda: conn.findStoragePoolSources("logical", "<foo/>", 0), []),
        ("pool.sources.badxml", lambda: conn.findStoragePoolSources("netfs", "<source>", 0), []),
        ("pool.sources.hostnoname", lambda: conn.findStoragePoolSources("netfs", "<source><host/></source>", 0), []),
        ("pool.sources.badport", lambda: conn.findStoragePoolSources("netfs", "<source><host name='a' port='x'/></source>", 0), []),
        ("pool.sources.baddevice", lambda: conn.findStoragePoolSources("logical", "<source><device/></source>", 0), []),
        ("pool.sources.badformat", lambda: conn.findStoragePoolSources("netfs", "<source><host name='a'/><format type='xx'/></source>", 0), []),
        ("pool.sources.protocol", lambda: conn.findStoragePoolSources("netfs", "<source><host name='a'/><format type='cifs'/><protocol ver='3'/></source>", 0), []),
        ("pool.sources.protocol.comma", lambda: conn.findStoragePoolSources("netfs", "<source><host name='a'/><protocol ver='3,4'/></source>", 0), []),
        ("pool.sources.flags", lambda: conn.findStoragePoolSources("logical", None, 1), []),
        ("net.defineXMLFlags", lambda: conn.networkDefineXMLFlags(NET_XML.replace("ep-net", "ep-net2").replace("0b02", "0b12").replace("virbr9", "virbr8").replace("10.9.", "10.8."), 0).name(), []),
        ("net.defineXMLFlags.validate", lambda: conn.networkDefineXMLFlags(NET_XML.replace("ep-net", "ep-net2").replace("0b02", "0b12").replace("virbr9", "virbr8").replace("10.9.", "10.8."), 1).name(), []),
        ("net.defineXMLFlags.flags", lambda: conn.networkDefineXMLFlags(NET_XML, 2).name(), []),
        ("net.createXMLFlags.flags", lambda: conn.networkCreateXMLFlags(NET_XML, 2).name(), []),
        ("net.createXMLFlags", lambda: conn.networkCreateXMLFlags(NET_XML.replace("ep-net", "ep-net3").replace("0b02", "0b13").replace("virbr9", "virbr7").replace("10.9.", "10.7."), 1).name(), []),
        ("net.createXMLFlags.list", lambda: [names(conn.listAllNetworks(1)), names(conn.listAllNetworks(2))], []),
        ("net.createXMLFlags.XMLDesc", lambda: net("ep-net3").XMLDesc(0), []),
        ("net.createXMLFlags.destroy", lambda: net("ep-net3").destroy(), []),
        ("net.defineXMLFlags.undefine", lambda: net("ep-net2").undefine(), []),
        # --- node devices: creating and destroying virtual HBAs ------------------------------
        ("nodedev.create.flags", lambda: conn.nodeDeviceCreateXML(VHBA_XML, 2).name(), []),
        ("nodedev.create.badxml", lambda: conn.nodeDeviceCreateXML("<device>", 0).name(), []),
        ("nodedev.create.badroot", lambda: conn.nodeDeviceCreateXML("<foo/>", 0).name(), []),
        ("nodedev.create.nocap", lambda: conn.nodeDeviceCreateXML("<device><parent>scsi_host1</parent></device>", 0).name(), []),
        ("nodedev.create.badcap", lambda: conn.nodeDeviceCreateXML("<device><capability type='x'/></device>", 0).name(), []),
        ("nodedev.create.notfc", lambda: conn.nodeDeviceCreateXML("<device><parent>scsi_host1</parent><capability type='scsi_host'/></device>", 0).name(), []),
        ("nodedev.create.system", lambda: conn.nodeDeviceCreateXML("<device><capability type='system'/></device>", 0).name(), []),
        ("nodedev.create.nowwn", lambda: conn.nodeDeviceCreateXML("<device><capability type='scsi_host'><capability type='fc_host'/></capability></device>", 0).name(), []),
        ("nodedev.create.badsub", lambda: conn.nodeDeviceCreateXML("<device><capability type='scsi_host'><capability type='x'/></capability></device>", 0).name(), []),
        ("nodedev.create.parentwwnn", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("<parent>", "<parent wwnn='1'>"), 0).name(), []),
        ("nodedev.create.badparent", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("scsi_host1<", "nope<"), 0).name(), []),
        ("nodedev.create.parentnotvport", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("scsi_host1<", "scsi_host11<"), 0).name(), []),
        ("nodedev.create", lambda: nodedev_events(conn, [lambda: conn.nodeDeviceCreateXML(VHBA_XML, 0).name()]), []),
        ("nodedev.create.XMLDesc", lambda: conn.nodeDeviceLookupByName("scsi_host12").XMLDesc(0), []),
        ("nodedev.create.parent", lambda: conn.nodeDeviceLookupByName("scsi_host12").parent(), []),
        ("nodedev.create.again", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("11112222", "33334444"), 0).name(), []),
        ("nodedev.create.again.XMLDesc", lambda: conn.nodeDeviceLookupByName("scsi_host12").XMLDesc(0), []),
        ("nodedev.create.list", lambda: sorted(d.name() for d in conn.listAllDevices(0)), []),
        ("nodedev.create.byparentwwn", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("<parent>scsi_host1</parent>", "<parent wwnn='2000000056785678' wwpn='1000000056785678'/>"), 0).name(), []),
        ("nodedev.create.byfabric", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("<parent>scsi_host1</parent>", "<parent fabric_wwn='2000000043214321'/>"), 0).name(), []),
        ("nodedev.create.noparent", lambda: conn.nodeDeviceCreateXML(VHBA_XML.replace("<parent>scsi_host1</parent>", ""), 0).name(), []),
        ("nodedev.destroy.computer", lambda: nodedev_events(conn, [lambda: conn.nodeDeviceLookupByName("computer").destroy()]), []),
        ("nodedev.destroy", lambda: nodedev_events(conn, [lambda: conn.nodeDeviceLookupByName("scsi_host12").destroy()]), []),
        ("nodedev.destroy.list", lambda: sorted(d.name() for d in conn.listAllDevices(0)), []),
        ("nodedev.destroy.missing", lambda: conn.nodeDeviceLookupByName("scsi_host12").destroy(), []),
        # --- drivers the test driver lacks ----------------------------------------------------
        ("secret.list", lambda: conn.listAllSecrets(0), []),
        ("secret.define", lambda: conn.secretDefineXML("<secret ephemeral='no' private='no'/>", 0), []),
        ("nwfilter.list", lambda: conn.listAllNWFilters(0), []),
        ("nwfilter.binding.list", lambda: conn.listAllNWFilterBindings(0), []),
        ("domcaps", lambda: conn.getDomainCapabilities(None, None, None, None, 0), []),
    ]
    for test_id, call, volatile in table:
        try:
            out = {"ok": mask(plain(call()), volatile)}
        except libvirt.libvirtError as e:
            out = {"error": [e.get_error_code(), e.get_error_domain(), e.get_error_message()]}
        except Exception as e:  # a client-side failure (e.g. a type the binding refuses)
            out = {"exception": type(e).__name__}
        print(f"{test_id}\t{json.dumps(out, sort_keys=True).replace(TMP, '$TMP')}", flush=True)
    conn.close()


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
