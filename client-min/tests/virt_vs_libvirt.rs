//! The `virt` API against libvirt's own client library (libvirt.so through python3-libvirt),
//! both talking to the same Debian libvirtd 9.0: the same calls give the same values, and the
//! same failures give the same error code, domain and message.

use spec_tests::libvirtd::{require_python_libvirt, Libvirtd};
use virt::connect::Connect;
use virt::error::Error;
use virt::sys;

/// What a call gave, printed the same way on both sides.
fn outcome<T: std::fmt::Display>(r: Result<T, Error>) -> String {
    match r {
        Ok(v) => format!("ok {v}"),
        Err(e) => format!("err {} {} {}", e.code().to_raw(), e.domain().to_raw(), e.message().replace('\n', "\\n")),
    }
}

/// The same cases as `PYTHON`, in the same order.
fn ours(uri: &str) -> Vec<String> {
    let conn = Connect::open(Some(uri)).unwrap();
    let ro = Connect::open_read_only(Some(uri)).unwrap();
    let dom = conn.lookup_domain_by_name("test").unwrap();
    vec![
        outcome(conn.lookup_domain_by_name("nope").map(|d| d.name().unwrap())),
        outcome(ro.lookup_domain_by_name("test").and_then(|d| d.suspend()).map(|()| 0)),
        outcome(conn.define_domain_xml("<domain").map(|d| d.name().unwrap())),
        outcome(conn.lookup_domain_by_name("test").and_then(|d| d.create()).map(|()| 0)),
        outcome(conn.lookup_network_by_name("nope").map(|n| n.name().unwrap())),
        outcome(conn.lookup_storage_pool_by_name("nope").map(|p| p.name().unwrap())),
        outcome(ro.lookup_domain_by_name("test").and_then(|d| d.xml_desc(sys::VIR_DOMAIN_XML_SECURE)).map(|x| x.len())),
        outcome(conn.lookup_domain_by_uuid_string("not-a-uuid").map(|d| d.name().unwrap())),
        outcome(conn.lookup_network_by_uuid_string("not-a-uuid").map(|d| d.name().unwrap())),
        outcome(virt::stream::Stream::new(&conn, 4).map(|_| 0)),
        outcome(ro.lookup_network_by_name("default").and_then(|n| n.destroy()).map(|()| 0)),
        outcome(ro.lookup_storage_pool_by_name("default-pool").and_then(|p| p.destroy()).map(|()| 0)),
        outcome(conn.lookup_domain_by_id(9999).map(|d| d.name().unwrap())),
        outcome(conn.hostname()),
        // python's getInfo gives the memory in MiB.
        outcome(conn.node_info().map(|i| format!("{} {} {} {}", i.model, i.memory / 1024, i.cpus, i.mhz))),
        outcome(conn.max_vcpus(None)),
        outcome(conn.list_all_domains(0).map(|l| {
            let mut names: Vec<String> = l.iter().map(|d| d.name().unwrap()).collect();
            names.sort();
            names.join(",")
        })),
        outcome(
            conn.lookup_domain_by_name("test")
                .and_then(|d| d.state())
                .map(|(s, r)| format!("{} {}", s.to_raw(), r.to_raw())),
        ),
        outcome(
            conn.lookup_domain_by_name("test").and_then(|d| d.metadata(sys::VIR_DOMAIN_METADATA_TITLE as i32, None, 0)),
        ),
        outcome(conn.driver_type()),
        outcome(conn.lib_version()),
        outcome(conn.lookup_domain_by_name("test").and_then(|d| d.set_memory(1)).map(|()| 0)),
        outcome(conn.lookup_network_by_name("default").and_then(|n| n.bridge_name())),
        outcome(
            dom.info().map(|i| {
                format!("{},{},{},{},{}", i.state.to_raw(), i.max_mem, i.memory, i.nr_virt_cpu, i.cpu_time > 0)
            }),
        ),
        outcome(dom.xml_desc(0).map(|x| x.len())),
        outcome(dom.max_memory()),
        outcome(dom.os_type()),
        outcome(dom.is_persistent()),
        outcome(dom.autostart()),
        outcome(dom.vcpus_flags(0)),
        outcome(dom.scheduler_type().map(|(t, n)| format!("{t},{n}"))),
        outcome(dom.memory_parameters(0).map(|m| format!("{:?},{:?}", m.hard_limit, m.soft_limit))),
        outcome(dom.numa_parameters(0).map(|m| format!("{:?},{:?}", m.node_set, m.mode))),
        outcome(dom.num_snapshots(0)),
        outcome(dom.has_managed_save(0)),
        outcome(dom.is_updated()),
        outcome(conn.list_interfaces().map(|l| l.join(","))),
        outcome(conn.list_defined_domains().map(|l| l.join(","))),
        outcome(conn.num_of_domains()),
        outcome(conn.list_domains().map(|l| l.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))),
        outcome(conn.list_networks().map(|l| l.join(","))),
        outcome(conn.list_storage_pools().map(|l| l.join(","))),
        outcome(conn.list_secrets().map(|l| l.join(","))),
        outcome(conn.num_of_node_devices(None, 0)),
        outcome(conn.capabilities().map(|c| c.len())),
        outcome(conn.sys_info(0).map(|c| c.len())),
        outcome(conn.free_memory()),
        outcome(conn.cells_free_memory(0, 2).map(|l| l.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))),
        outcome(conn.is_secure()),
        outcome(conn.is_encrypted()),
        outcome(conn.hyp_version()),
        outcome(
            conn.lookup_storage_pool_by_name("default-pool")
                .and_then(|p| p.info())
                .map(|i| format!("{},{},{},{}", i.state, i.capacity, i.allocation, i.available)),
        ),
        outcome(conn.lookup_storage_pool_by_name("default-pool").and_then(|p| p.list_volumes()).map(|l| l.join(","))),
        outcome(conn.lookup_interface_by_name("eth1").and_then(|i| i.mac_string())),
        outcome(conn.lookup_interface_by_name("nope").and_then(|i| i.mac_string())),
        outcome(ro.define_network_xml("<network><name>x</name></network>").and_then(|n| n.name())),
        outcome(conn.lookup_domain_by_name("").map(|d| d.name().unwrap())),
        outcome(dom.set_metadata(sys::VIR_DOMAIN_METADATA_TITLE as i32, Some("t1"), None, None, 0).map(|()| 0)),
        outcome(dom.metadata(sys::VIR_DOMAIN_METADATA_TITLE as i32, None, 0)),
        outcome(dom.screenshot(&virt::stream::Stream::new(&ro, 0).unwrap(), 0, 0)),
        outcome(dom.job_info().map(|j| j.r#type)),
    ]
}

const PYTHON: &str = r#"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
uri = sys.argv[1]
conn = libvirt.open(uri)
ro = libvirt.openReadOnly(uri)
def out(f):
    try:
        print("ok %s" % (f(),))
    except libvirt.libvirtError as e:
        print("err %d %d %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message().replace("\n", "\\n")))
out(lambda: conn.lookupByName("nope").name())
out(lambda: ro.lookupByName("test").suspend())
out(lambda: conn.defineXML("<domain").name())
out(lambda: conn.lookupByName("test").create())
out(lambda: conn.networkLookupByName("nope").name())
out(lambda: conn.storagePoolLookupByName("nope").name())
out(lambda: len(ro.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)))
out(lambda: conn.lookupByUUIDString("not-a-uuid").name())
out(lambda: conn.networkLookupByUUIDString("not-a-uuid").name())
out(lambda: conn.newStream(4) and 0)
out(lambda: ro.networkLookupByName("default").destroy())
out(lambda: ro.storagePoolLookupByName("default-pool").destroy())
out(lambda: conn.lookupByID(9999).name())
out(lambda: conn.getHostname())
out(lambda: "%s %d %d %d" % tuple(conn.getInfo()[0:4]))
out(lambda: conn.getMaxVcpus(None))
out(lambda: ",".join(sorted(d.name() for d in conn.listAllDomains(0))))
out(lambda: "%d %d" % tuple(conn.lookupByName("test").state()))
out(lambda: conn.lookupByName("test").metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0))
out(lambda: conn.getType())
out(lambda: conn.getLibVersion())
out(lambda: conn.lookupByName("test").setMemory(1))
out(lambda: conn.networkLookupByName("default").bridgeName())
dom = conn.lookupByName("test")
b = lambda v: "true" if v else "false"
opt = lambda d, k, f: ("Some(%s)" % f(d[k])) if k in d else "None"
out(lambda: "%d,%d,%d,%d,%s" % (lambda i: (i[0], i[1], i[2], i[3], b(i[4] > 0)))(dom.info()))
out(lambda: len(dom.XMLDesc(0)))
out(lambda: dom.maxMemory())
out(lambda: dom.OSType())
out(lambda: b(dom.isPersistent()))
out(lambda: b(dom.autostart()))
out(lambda: dom.vcpusFlags(0))
out(lambda: "%s,%d" % tuple(dom.schedulerType()))
out(lambda: (lambda m: "%s,%s" % (opt(m, "hard_limit", str), opt(m, "soft_limit", str)))(dom.memoryParameters(0)))
out(lambda: (lambda m: "%s,%s" % (opt(m, "numa_nodeset", lambda v: '"%s"' % v), opt(m, "numa_mode", str)))(dom.numaParameters(0)))
out(lambda: dom.snapshotNum(0))
out(lambda: b(dom.hasManagedSaveImage(0)))
out(lambda: b(dom.isUpdated()))
out(lambda: ",".join(conn.listInterfaces()))
out(lambda: ",".join(conn.listDefinedDomains()))
out(lambda: conn.numOfDomains())
out(lambda: ",".join(str(i) for i in conn.listDomainsID()))
out(lambda: ",".join(conn.listNetworks()))
out(lambda: ",".join(conn.listStoragePools()))
out(lambda: ",".join(conn.listSecrets()))
out(lambda: conn.numOfDevices(None, 0))
out(lambda: len(conn.getCapabilities()))
out(lambda: len(conn.getSysinfo(0)))
out(lambda: conn.getFreeMemory())
out(lambda: ",".join(str(c) for c in conn.getCellsFreeMemory(0, 2)))
out(lambda: b(conn.isSecure()))
out(lambda: b(conn.isEncrypted()))
out(lambda: conn.getVersion())
out(lambda: "%d,%d,%d,%d" % tuple(conn.storagePoolLookupByName("default-pool").info()))
out(lambda: ",".join(conn.storagePoolLookupByName("default-pool").listVolumes()))
out(lambda: conn.interfaceLookupByName("eth1").MACString())
out(lambda: conn.interfaceLookupByName("nope").MACString())
out(lambda: ro.networkDefineXML("<network><name>x</name></network>").name())
out(lambda: conn.lookupByName("").name())
out(lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "t1", None, None, 0))
out(lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0))
out(lambda: dom.screenshot(ro.newStream(0), 0, 0))
out(lambda: dom.jobInfo()[0])
"#;

#[test]
fn same_values_and_errors_as_libvirts_client() {
    let Some(python) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.tcp_uri();
    let out = std::process::Command::new(python).args(["-c", PYTHON, &uri]).output().expect("run python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    let ours = ours(&uri);
    assert_eq!(ours.len(), theirs.len(), "ours {ours:#?} theirs {theirs:#?}");
    let mut differ = Vec::new();
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        // python prints None for calls returning nothing; ours print 0.
        let t = if t == "ok None" || t == "ok 0" { "ok 0" } else { t.as_str() };
        if o != t {
            differ.push(format!("case {i}: ours {o:?}, libvirt {t:?}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    let failed = ours.iter().filter(|o| o.starts_with("err")).count();
    eprintln!("{} calls agree with libvirt's client ({failed} of them failures): {ours:?}", ours.len());
}

/// Object lifecycles, each side on objects of its own (`NAME` is `py` or `rs` in the XML).
const LIFECYCLE_PY: &str = r#"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
uri, tag = sys.argv[1], sys.argv[2]
conn = libvirt.open(uri)
def out(f):
    try:
        r = f()
        print("ok %s" % ("0" if r is None else r,))
    except libvirt.libvirtError as e:
        print("err %d %d %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message().replace(tag, "NAME").replace("\n", "\\n")))
b = lambda v: "true" if v else "false"
dxml = "<domain type='test'><name>%s-dom</name><memory>65536</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>" % tag
out(lambda: conn.defineXML(dxml).name().replace(tag, "NAME"))
d = conn.lookupByName(tag + "-dom")
out(lambda: b(d.isActive()))
out(lambda: d.create())
out(lambda: b(d.isActive()))
out(lambda: d.ID() > 0)
out(lambda: d.suspend())
out(lambda: "%d %d" % tuple(d.state()))
out(lambda: d.resume())
out(lambda: d.setMemory(32768))
out(lambda: d.info()[2])
out(lambda: d.setAutostart(1))
out(lambda: b(d.autostart()))
out(lambda: d.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0).getName())
out(lambda: ",".join(s.getName() for s in d.listAllSnapshots(0)))
out(lambda: d.snapshotCurrent(0).getName())
out(lambda: d.snapshotLookupByName("s1", 0).delete(0))
out(lambda: d.snapshotNum(0))
out(lambda: d.destroy())
out(lambda: "%d %d" % tuple(d.state()))
out(lambda: d.undefine())
out(lambda: conn.lookupByName(tag + "-dom").name())
nxml = "<network><name>%s-net</name><bridge name='%sbr0'/><ip address='192.168.%d.1' netmask='255.255.255.0'/></network>" % (tag, tag, 200 if tag == "py" else 201)
out(lambda: conn.networkDefineXML(nxml).name().replace(tag, "NAME"))
n = conn.networkLookupByName(tag + "-net")
out(lambda: n.create())
out(lambda: b(n.isActive()))
out(lambda: b(n.isPersistent()))
out(lambda: n.bridgeName().replace(tag, "NAME"))
out(lambda: n.destroy())
out(lambda: n.undefine())
pxml = "<pool type='dir'><name>%s-pool</name><target><path>/%s-pool</path></target></pool>" % (tag, tag)
out(lambda: conn.storagePoolDefineXML(pxml, 0).name().replace(tag, "NAME"))
p = conn.storagePoolLookupByName(tag + "-pool")
out(lambda: p.create(0))
vxml = "<volume><name>v1</name><capacity>1048576</capacity></volume>"
out(lambda: p.createXML(vxml, 0).name())
out(lambda: ",".join(v.name() for v in p.listAllVolumes(0)))
out(lambda: p.storageVolLookupByName("v1").info()[1])
out(lambda: p.storageVolLookupByName("v1").path().replace(tag, "NAME"))
out(lambda: p.storageVolLookupByName("v1").resize(2097152, 0))
out(lambda: p.storageVolLookupByName("v1").info()[1])
out(lambda: p.storageVolLookupByName("v1").delete(0))
out(lambda: p.numOfVolumes())
out(lambda: p.destroy())
out(lambda: p.undefine())
sxml = "<secret ephemeral='no' private='yes'><usage type='volume'><volume>/%s-vol</volume></usage></secret>" % tag
out(lambda: conn.secretDefineXML(sxml, 0).usageID().replace(tag, "NAME"))
sec = lambda: conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, "/%s-vol" % tag)
out(lambda: sec().usageType())
out(lambda: sec().setValue(b"hunter2", 0))
out(lambda: sec().value(0).decode())
out(lambda: sec().undefine())
"#;

fn lifecycle_ours(uri: &str) -> Vec<String> {
    let tag = "rs";
    let conn = Connect::open(Some(uri)).unwrap();
    let n = |s: String| s.replace(tag, "NAME");
    let o = |r: Result<String, Error>| match r {
        Ok(v) => format!("ok {v}"),
        Err(e) => format!(
            "err {} {} {}",
            e.code().to_raw(),
            e.domain().to_raw(),
            e.message().replace(tag, "NAME").replace('\n', "\\n")
        ),
    };
    let unit = |r: Result<(), Error>| o(r.map(|()| "0".to_owned()));
    let b = |r: Result<bool, Error>| o(r.map(|v| v.to_string()));
    let mut out = Vec::new();
    let dxml = format!("<domain type='test'><name>{tag}-dom</name><memory>65536</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>");
    out.push(o(conn.define_domain_xml(&dxml).and_then(|d| d.name()).map(n)));
    let d = conn.lookup_domain_by_name(&format!("{tag}-dom")).unwrap();
    out.push(b(d.is_active()));
    out.push(unit(d.create()));
    out.push(b(d.is_active()));
    out.push(o(Ok(if d.id().is_some_and(|i| i > 0) { "True" } else { "False" }.to_owned())));
    out.push(unit(d.suspend()));
    out.push(o(d.state().map(|(s, r)| format!("{} {}", s.to_raw(), r.to_raw()))));
    out.push(unit(d.resume()));
    out.push(unit(d.set_memory(32768)));
    out.push(o(d.info().map(|i| i.memory.to_string())));
    out.push(unit(d.set_autostart(true)));
    out.push(b(d.autostart()));
    out.push(o(d.create_snapshot_xml("<domainsnapshot><name>s1</name></domainsnapshot>", 0).and_then(|s| s.name())));
    out.push(o(d.list_all_snapshots(0).map(|l| l.iter().map(|s| s.name().unwrap()).collect::<Vec<_>>().join(","))));
    out.push(o(d.current_snapshot(0).and_then(|s| s.name())));
    out.push(unit(virt::domain::Domain::lookup_snapshot_by_name(&d, "s1", 0).and_then(|s| s.delete(0))));
    out.push(o(d.num_snapshots(0).map(|x| x.to_string())));
    out.push(unit(d.destroy()));
    out.push(o(d.state().map(|(s, r)| format!("{} {}", s.to_raw(), r.to_raw()))));
    out.push(unit(d.undefine()));
    out.push(o(conn.lookup_domain_by_name(&format!("{tag}-dom")).and_then(|d| d.name())));
    let nxml = format!("<network><name>{tag}-net</name><bridge name='{tag}br0'/><ip address='192.168.201.1' netmask='255.255.255.0'/></network>");
    out.push(o(conn.define_network_xml(&nxml).and_then(|x| x.name()).map(n)));
    let net = conn.lookup_network_by_name(&format!("{tag}-net")).unwrap();
    out.push(unit(net.create()));
    out.push(b(net.is_active()));
    out.push(b(net.is_persistent()));
    out.push(o(net.bridge_name().map(n)));
    out.push(unit(net.destroy()));
    out.push(unit(net.undefine()));
    let pxml = format!("<pool type='dir'><name>{tag}-pool</name><target><path>/{tag}-pool</path></target></pool>");
    out.push(o(conn.define_storage_pool_xml(&pxml, 0).and_then(|x| x.name()).map(n)));
    let p = conn.lookup_storage_pool_by_name(&format!("{tag}-pool")).unwrap();
    out.push(unit(p.create(0)));
    let vxml = "<volume><name>v1</name><capacity>1048576</capacity></volume>";
    out.push(o(virt::storage_vol::StorageVol::create_xml(&p, vxml, 0).and_then(|v| v.name())));
    out.push(o(p.list_all_volumes(0).map(|l| l.iter().map(|v| v.name().unwrap()).collect::<Vec<_>>().join(","))));
    let vol = || p.lookup_storage_vol_by_name("v1");
    out.push(o(vol().and_then(|v| v.info()).map(|i| i.capacity.to_string())));
    out.push(o(vol().and_then(|v| v.path()).map(n)));
    out.push(unit(vol().and_then(|v| v.resize(2_097_152, 0))));
    out.push(o(vol().and_then(|v| v.info()).map(|i| i.capacity.to_string())));
    out.push(unit(vol().and_then(|v| v.delete(0))));
    out.push(o(p.num_of_volumes().map(|x| x.to_string())));
    out.push(unit(p.destroy()));
    out.push(unit(p.undefine()));
    let sxml = format!(
        "<secret ephemeral='no' private='yes'><usage type='volume'><volume>/{tag}-vol</volume></usage></secret>"
    );
    out.push(o(conn.define_secret_xml(&sxml, 0).and_then(|x| x.usage_id()).map(n)));
    let sec = || conn.lookup_secret_by_usage(sys::VIR_SECRET_USAGE_TYPE_VOLUME as i32, &format!("/{tag}-vol"));
    out.push(o(sec().and_then(|s| s.usage_type()).map(|x| x.to_string())));
    out.push(unit(sec().and_then(|s| s.set_value(b"hunter2", 0))));
    out.push(o(sec().and_then(|s| s.value(0)).map(|v| String::from_utf8_lossy(&v).into_owned())));
    out.push(unit(sec().and_then(|s| s.undefine())));
    out
}

#[test]
fn object_lifecycles_as_libvirts_client() {
    let Some(python) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.tcp_uri();
    let out = std::process::Command::new(python).args(["-c", LIFECYCLE_PY, &uri, "py"]).output().expect("run python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    let ours = lifecycle_ours(&uri);
    assert_eq!(ours.len(), theirs.len(), "ours {ours:#?} theirs {theirs:#?}");
    let differ: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .filter(|(_, (o, t))| o != t)
        .map(|(i, (o, t))| format!("case {i}: ours {o:?}, libvirt {t:?}"))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    let failed = ours.iter().filter(|o| o.starts_with("err")).count();
    eprintln!("{} calls agree with libvirt's client ({failed} of them failures): {ours:?}", ours.len());
}
