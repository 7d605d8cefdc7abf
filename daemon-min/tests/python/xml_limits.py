"""Hostile XML documents through python3-libvirt: one line per case with the error triple (or OK),
then proof that the daemon still serves. Run against libvirtd and daemon-min; the transcripts
must be identical. Usage: xml_limits.py URI"""
import hashlib
import sys

import libvirt

libvirt.registerErrorHandler(lambda *_: None, None)
conn = libvirt.open(sys.argv[1])
pool = conn.storagePoolLookupByName("default-pool")

TAIL = "<memory>1024</memory><os><type>hvm</type></os></domain>"


def nested(depth):
    return "<a>" * depth + "</a>" * depth


def case(label, call, xml):
    try:
        obj = call(xml)
        name = obj.getName() if hasattr(obj, "getName") else obj.name()
        print(f"{label}: OK {name}")
    except libvirt.libvirtError as e:
        msg = e.get_error_message()
        # Long messages quote the whole document: show the start, compare all of it by digest.
        digest = hashlib.sha1(msg.encode()).hexdigest()[:16]
        print(f"{label}: {e.get_error_code()} {e.get_error_domain()} {msg[:160]!r} sha1:{digest}")


LOL = "".join(
    [f"<!ENTITY a 'aaaaaaaaaa'>"]
    + [f"<!ENTITY {n} '{('&' + p + ';') * 10}'>" for p, n in zip("abcdefg", "bcdefgh")]
)

for depth in (254, 255, 256, 300):
    case(f"domain depth {depth}", conn.defineXML,
         f"<domain type='test'><name>d{depth}</name><metadata>{nested(depth)}</metadata>{TAIL}")
    case(f"network depth {depth}", conn.networkDefineXML, f"<network><name>n{depth}</name>{nested(depth)}</network>")
    case(f"pool depth {depth}", conn.storagePoolDefineXML,
         f"<pool type='dir'><name>p{depth}</name><target><path>/p{depth}</path></target>{nested(depth)}</pool>")
    case(f"volume depth {depth}", pool.createXML,
         f"<volume><name>v{depth}</name><capacity>1024</capacity>{nested(depth)}</volume>")
dom = conn.lookupByName("test")
for depth in (255, 256):
    case(f"interface depth {depth}", conn.interfaceDefineXML,
         f"<interface type='ethernet' name='e{depth}'>{nested(depth)}</interface>")
    case(f"snapshot depth {depth}", dom.snapshotCreateXML,
         f"<domainsnapshot><name>s{depth}</name><description>{nested(depth)}</description></domainsnapshot>")
# Half a million levels in one document (3.5 MB, under libvirt's 4 MiB string limit).
case("domain depth 500000", conn.defineXML,
     f"<domain type='test'><name>deep</name><metadata>{nested(500000)}</metadata>{TAIL}")
case("network depth 500000", conn.networkDefineXML, f"<network><name>deep</name>{nested(500000)}</network>")

case("internal entity", conn.defineXML, f"<!DOCTYPE d [<!ENTITY x 'ent'>]><domain type='test'><name>&x;</name>{TAIL}")
case("external entity", conn.defineXML,
     f"<!DOCTYPE d [<!ENTITY x SYSTEM '/etc/hostname'>]><domain type='test'><name>e&x;</name>{TAIL}")
case("undefined entity", conn.defineXML, f"<domain type='test'><name>&zz;</name>{TAIL}")
case("entity loop", conn.defineXML,
     f"<!DOCTYPE d [<!ENTITY a '&b;'><!ENTITY b '&a;'>]><domain type='test'><name>&a;</name>{TAIL}")
case("billion laughs", conn.defineXML, f"<!DOCTYPE d [{LOL}]><domain type='test'><name>&h;</name>{TAIL}")
case("billion laughs network", conn.networkDefineXML, f"<!DOCTYPE d [{LOL}]><network><name>&h;</name></network>")
case("DTD not fetched", conn.defineXML,
     f"<!DOCTYPE domain SYSTEM 'http://127.0.0.1:9/x.dtd'><domain type='test'><name>dtd</name>{TAIL}")


def baseline(label, cpus, flags=0):
    """CONNECT_BASELINE_CPU: the result's digest, or the error triple."""
    try:
        out = conn.baselineCPU(cpus, flags)
        print(f"{label}: OK sha1:{hashlib.sha1(out.encode()).hexdigest()[:16]}")
    except libvirt.libvirtError as e:
        print(f"{label}: {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()[:160]!r}")


CPU = "<cpu><arch>x86_64</arch><model>Haswell</model>%s</cpu>"
FEATURES = [line.split("'")[1] for line in open("/usr/share/libvirt/cpu_map/x86_features.xml", encoding="utf-8")
            if "<feature name=" in line]
for depth in (255, 256, 500000):
    baseline(f"cpu depth {depth}", [CPU % nested(depth)])
baseline("cpu billion laughs", [f"<!DOCTYPE d [{LOL}]>" + CPU % "<vendor>&h;</vendor>"])
# libvirt compares each feature with every earlier one; 20,000 distinct unknown names.
baseline("cpu 20000 features", [CPU % "".join(f"<feature name='f{i}'/>" for i in range(20000))])
baseline("cpu 20000 features, last repeated",
         [CPU % "".join(f"<feature name='f{i}'/>" for i in list(range(20000)) + [19999])])
# The most the protocol carries: 256 CPUs, each with every feature of the map.
baseline("cpu 256 with every feature", [CPU % "".join(f"<feature name='{f}'/>" for f in FEATURES)] * 256, 1)

print("still serving:", sorted(d.name() for d in conn.listAllDomains(0)))

# A node file the client names is read by the daemon: a device that never ends is no document.
# (Only refusal is compared: daemon-min reports every unreadable node file as libvirt's "failed
# to parse xml document", where libvirtd passes libxml2's own message on.)
for path in ("/dev/zero", "/dev/null"):
    try:
        libvirt.open(sys.argv[1].replace("/default", path))
        print(f"open {path}: OK")
    except libvirt.libvirtError as e:
        print(f"open {path}: refused ({e.get_error_domain()})")
print("still serving:", sorted(d.name() for d in conn.listAllDomains(0)))
