//! Writes the seed corpus of the daemon and parser targets (`proto_core_fuzz::targets`) to
//! `fuzz/seeds/<target>/`, then runs every seed, and every input already under
//! `fuzz/corpus/<target>/`, through its harness once (a plain build: a broken seed or harness
//! shows up here, and a finding can be replayed).
//!
//! `daemon_dispatch` seeds are the calls captured from real virsh sessions under `../corpus/`
//! (each session one seed, each call frame another) plus a hand-made life cycle; the parser seeds
//! are small documents written here.
//!
//! Usage (from `fuzz/`): `cargo run --bin gen_seeds_daemon`; `-- --check` only runs the inputs;
//! `-- --replay <target> <file>…` runs single files.

use std::fs;
use std::path::{Path, PathBuf};

use proto_core::frame::{FrameDecoder, MessageType};
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote::{self, *};
use proto_core::xdr::{to_bytes, XdrEncode};
use proto_core_fuzz::targets;

const TARGETS: [&str; 5] = ["daemon_dispatch", "hypervisor_xml", "libvirt_uri", "libvirtd_conf", "xdr_compiler"];

fn run(target: &str, data: &[u8]) {
    match target {
        "daemon_dispatch" => targets::daemon_dispatch(data),
        "hypervisor_xml" => targets::hypervisor_xml(data),
        "libvirt_uri" => targets::libvirt_uri(data),
        "libvirtd_conf" => targets::libvirtd_conf(data),
        _ => targets::xdr_compiler(data),
    }
}

/// A `daemon_dispatch` record for a call of `proc_` with `args`.
fn record(proc_: i32, args: &[u8]) -> Vec<u8> {
    let callable: Vec<i32> = remote::PROCEDURES.iter().filter(|i| !i.is_event).map(|i| i.number).collect();
    let sel = callable.iter().position(|&n| n == proc_).map_or(0xF000 + (proc_ + 64) as u16, |i| i as u16);
    let len = u16::try_from(args.len()).unwrap_or(u16::MAX);
    let mut out = Vec::new();
    out.extend_from_slice(&sel.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&args[..usize::from(len)]);
    out
}

fn typed(proc_: i32, args: &impl XdrEncode) -> Vec<u8> {
    record(proc_, &to_bytes(args).expect("encode"))
}

/// The REMOTE calls in a captured client-to-server byte stream.
fn calls_in(bytes: &[u8]) -> Vec<(i32, Vec<u8>)> {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(f)) = d.next_frame() {
        if f.header.prog == REMOTE_PROGRAM && f.header.ty == MessageType::Call {
            out.push((f.header.proc_, f.body.to_vec()));
        }
    }
    out
}

fn dispatch_seeds(corpus: &Path) -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for sub in ["sessions", "frames"] {
        let Ok(dir) = fs::read_dir(corpus.join(sub)) else { continue };
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for p in files {
            let name = p.file_name().unwrap_or_default().to_string_lossy().replace('.', "_");
            if !name.contains("c2s") {
                continue;
            }
            let Ok(bytes) = fs::read(&p) else { continue };
            let calls = calls_in(&bytes);
            if calls.is_empty() {
                continue;
            }
            let mut seed = vec![0u8];
            for (proc_, args) in calls {
                seed.extend(record(proc_, &args));
            }
            seeds.push((format!("captured__{sub}__{name}"), seed));
        }
    }
    let dom = RemoteNonnullDomain { name: "f1".into(), uuid: [0; 16], id: -1 };
    let xml = "<domain type='test'><name>f1</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    let mut life = vec![0u8];
    life.extend(typed(REMOTE_PROC_DOMAIN_DEFINE_XML, &RemoteDomainDefineXmlArgs { xml: xml.into() }));
    life.extend(typed(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, &RemoteDomainLookupByNameArgs { name: "f1".into() }));
    life.extend(typed(REMOTE_PROC_DOMAIN_CREATE, &RemoteDomainCreateArgs { dom: dom.clone() }));
    life.extend(typed(REMOTE_PROC_DOMAIN_SUSPEND, &RemoteDomainSuspendArgs { dom: dom.clone() }));
    life.extend(typed(REMOTE_PROC_DOMAIN_GET_STATE, &RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 }));
    life.extend(typed(REMOTE_PROC_DOMAIN_DESTROY, &RemoteDomainDestroyArgs { dom: dom.clone() }));
    life.extend(typed(REMOTE_PROC_DOMAIN_UNDEFINE, &RemoteDomainUndefineArgs { dom }));
    seeds.push(("domain_life_cycle".into(), life.clone()));
    life[0] = 1;
    seeds.push(("domain_life_cycle_read_only".into(), life));
    let pool = RemotePoolByName::default_pool();
    let mut vol = vec![0u8];
    let vxml = "<volume><name>v</name><capacity unit='KiB'>64</capacity></volume>";
    vol.extend(typed(
        REMOTE_PROC_STORAGE_VOL_CREATE_XML,
        &RemoteStorageVolCreateXmlArgs { pool: pool.clone(), xml: vxml.into(), flags: 0 },
    ));
    vol.extend(typed(
        REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES,
        &RemoteStoragePoolListAllVolumesArgs { pool, need_results: 1, flags: 0 },
    ));
    seeds.push(("volumes".into(), vol));
    let mut net = vec![0u8];
    let nxml =
        "<network><name>n</name><bridge name='virbr9'/><ip address='10.9.0.1' netmask='255.255.255.0'/></network>";
    net.extend(typed(REMOTE_PROC_NETWORK_DEFINE_XML, &RemoteNetworkDefineXmlArgs { xml: nxml.into() }));
    net.extend(typed(
        REMOTE_PROC_CONNECT_LIST_ALL_NETWORKS,
        &RemoteConnectListAllNetworksArgs { need_results: 1, flags: 0 },
    ));
    seeds.push(("networks".into(), net));
    seeds
}

/// The default pool, as a client names it.
struct RemotePoolByName;

impl RemotePoolByName {
    fn default_pool() -> RemoteNonnullStoragePool {
        RemoteNonnullStoragePool { name: "default-pool".into(), uuid: [0; 16] }
    }
}

fn xml_seeds() -> Vec<(String, Vec<u8>)> {
    let docs: [(&str, u8, &str); 12] = [
        ("interface", 5, "<interface type='ethernet' name='eth9'><start mode='onboot'/><mac address='aa:bb:cc:dd:ee:ff'/><mtu size='1492'/><protocol family='ipv4'><ip address='192.168.0.5' prefix='24'/><route gateway='192.168.0.1'/></protocol></interface>"),
        ("snapshot", 6, "<domainsnapshot><name>s1</name><description>first</description><memory snapshot='no'/></domainsnapshot>"),
        ("checkpoint", 7, "<domaincheckpoint><name>c1</name><description>first</description><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>"),
        ("domain", 0, "<domain type='test'><name>x</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory unit='MiB'>64</memory><currentMemory>1024</currentMemory><vcpu>2</vcpu><os><type arch='i686'>hvm</type><boot dev='hd'/></os><on_poweroff>destroy</on_poweroff><devices><disk type='file' device='disk'><source file='/a.img'/><target dev='hda' bus='ide'/></disk><interface type='network'><source network='default'/><mac address='52:54:00:00:00:01'/></interface><graphics type='vnc' port='-1'/><serial type='pty'/><console type='pty'/></devices><metadata><m:x xmlns:m='http://x/'>1</m:x></metadata><description>d &amp; e</description></domain>"),
        ("domain_entities", 0, "<!DOCTYPE d [<!ENTITY n 'ent'><!ENTITY m '&n;&n;'>]><domain type='test'><name>&m;</name><memory>1024</memory><os><type>hvm</type></os></domain>"),
        ("network", 1, "<network><name>n</name><uuid>11111111-2222-3333-4444-555555555556</uuid><forward mode='nat'/><bridge name='virbr3' stp='on' delay='0'/><mac address='52:54:00:0a:0b:0c'/><ip address='192.168.150.1' netmask='255.255.255.0'><dhcp><range start='192.168.150.2' end='192.168.150.254'/><host mac='52:54:00:00:00:02' name='h' ip='192.168.150.3'/></dhcp></ip></network>"),
        ("pool_dir", 2, "<pool type='dir'><name>p</name><capacity unit='G'>10</capacity><target><path>/var/lib/p</path><permissions><mode>0755</mode></permissions></target></pool>"),
        ("pool_logical", 2, "<pool type='logical'><name>vg</name><source><device path='/dev/sdb'/><name>vg</name><format type='lvm2'/></source><target><path>/dev/vg</path></target></pool>"),
        ("volume", 3, "<volume><name>v.img</name><capacity unit='M'>10</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>"),
        ("volume_bytes", 3, "<volume type='file'><name>w</name><key>k</key><capacity>1099511627776</capacity></volume>"),
        ("node", 4, "<node><cpu><mhz>2000</mhz><model>i686</model><active>2</active><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu><memory>2097152</memory><domain type='test'><name>a</name><memory>1024</memory><os><type>hvm</type></os></domain><network><name>n</name></network><pool type='dir'><name>p</name><target><path>/p</path></target><volume><name>v</name><capacity>10</capacity></volume></pool></node>"),
        ("deep", 0, "<domain type='test'><name>deep</name><metadata><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></metadata><memory>1</memory><os><type>hvm</type></os></domain>"),
    ];
    docs.iter()
        .map(|(name, which, doc)| {
            let mut v = vec![*which];
            v.extend_from_slice(doc.as_bytes());
            ((*name).to_owned(), v)
        })
        .collect()
}

fn text_seeds(items: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    items.iter().map(|(n, t)| ((*n).to_owned(), t.as_bytes().to_vec())).collect()
}

fn uri_seeds() -> Vec<(String, Vec<u8>)> {
    text_seeds(&[
        ("test_default", "test:///default"),
        ("test_unix", "test+unix:///default?socket=/run/libvirt/libvirt-sock&mode=direct"),
        ("tcp", "test+tcp://127.0.0.1:16509/default"),
        ("tls", "qemu+tls://host.example.com/system?pkipath=/etc/pki&no_verify=1&tls_priority=NORMAL"),
        ("ssh", "qemu+ssh://user@host:2222/system?keyfile=/k&no_tty=1&proxy=netcat&netcat=/bin/nc&socket=/s"),
        ("libssh", "qemu+libssh://user@[::1]:22/session?known_hosts=/k&sshauth=privkey,agent"),
        ("ext", "test+ext:///default?command=/usr/bin/nc%20-U%20/sock"),
        ("escaped", "test+tcp://%5B::1%5D/default?name=test%3A%2F%2F%2Fdefault"),
        ("xen", "xen"),
        ("qemu_session", "qemu:///session"),
    ])
}

fn conf_seeds() -> Vec<(String, Vec<u8>)> {
    text_seeds(&[
        ("listen", "listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"127.0.0.1\"\ntcp_port = \"16509\"\n"),
        ("limits", "max_clients = 5000\nmax_anonymous_clients = 20\nmax_client_requests = 5\nkeepalive_interval = 5\nkeepalive_count = 5\n"),
        ("tls", "key_file = \"/k.pem\"\ncert_file = \"/c.pem\"\nca_file = \"/ca.pem\"\ncrl_file = \"/crl.pem\"\ntls_no_verify_certificate = 1\ntls_allowed_dn_list = [\"DC=fr,O=example, CN=*\", \"C=GB\"]\n"),
        ("unix", "unix_sock_dir = \"/run/x\"\nunix_sock_rw_perms = \"0770\"\nunix_sock_ro_perms = \"0777\"\nauth_unix_rw = \"none\"\nauth_tcp = \"sasl\"\n"),
        ("comments", "# comment\n\n  listen_tcp=1 # trailing\nlisten_addr = \"::1\"\n"),
    ])
}

fn x_seeds() -> Vec<(String, Vec<u8>)> {
    text_seeds(&[(
        "small_program",
        "/* a small protocol */\n%#include <x.h>\nconst MAX = 16;\ntypedef string name_t<MAX>;\ntypedef opaque uuid_t[16];\n\
         enum color { RED = 0, GREEN = 1, BLUE = 2 };\nstruct point { int x; unsigned hyper y; name_t *label; uuid_t id; int arr<MAX>; };\n\
         union result switch (int status) { case 0: point ok; case 1: case 2: string err<>; default: void; };\n\
         struct ping_args { point p; bool flag; double d; };\n\
         enum demo_procedure {\n    /**\n     * @generate: both\n     * @acl: connect:read\n     */\n    DEMO_PROC_PING = 1,\n    /** @readstream: 1 */\n    DEMO_PROC_STREAM = 2\n};\n\
         program DEMO_PROGRAM { version DEMO_V1 { void PING(ping_args) = 1; } = 1; } = 0x12345;\n",
    )])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match args.next().as_deref() {
        Some("--replay") => {
            let target = args.next().expect("--replay TARGET FILE…");
            for f in args {
                println!("{f}");
                run(&target, &fs::read(&f).expect("read input"));
            }
            return;
        }
        Some("--check") => {}
        _ => {
            let all = [dispatch_seeds(&root.join("../corpus")), xml_seeds(), uri_seeds(), conf_seeds(), x_seeds()];
            for (target, seeds) in TARGETS.iter().zip(all) {
                let dir = root.join("seeds").join(target);
                let _ = fs::remove_dir_all(&dir);
                fs::create_dir_all(&dir).expect("create the seed directory");
                for (name, data) in seeds {
                    fs::write(dir.join(name), data).expect("write a seed");
                }
            }
        }
    }
    for target in TARGETS {
        let mut n = 0;
        for sub in ["seeds", "corpus"] {
            let Ok(dir) = fs::read_dir(root.join(sub).join(target)) else { continue };
            for e in dir.flatten() {
                run(target, &fs::read(e.path()).expect("read input"));
                n += 1;
            }
        }
        println!("{target}: {n} inputs ran clean");
    }
}
