//! `test:///PATH`: a node file in the test driver's format, compared with what libvirt 9.0.0's
//! test driver made of the same file (`tests/fixtures/node/expected*`, captured with
//! python3-libvirt on `test://.../node.xml`).

use std::path::Path;

use daemon_min::hypervisor::{DomainState, Hypervisor, NodeInfo};

const NODE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/node");

fn expected(name: &str) -> String {
    std::fs::read_to_string(format!("{NODE}/{name}")).unwrap()
}

fn load() -> Hypervisor {
    Hypervisor::from_node_file(&Path::new(NODE).join("node.xml"), "vm").unwrap()
}

#[test]
fn objects_and_documents_match_libvirt() {
    let h = load();
    assert_eq!(
        h.node_info(),
        NodeInfo {
            model: "x86_64".into(),
            memory: 16_777_216,
            cpus: 12,
            mhz: 3000,
            nodes: 1,
            sockets: 2,
            cores: 4,
            threads: 2
        }
    );
    assert_eq!(h.capabilities(), expected("expected-capabilities.xml"));
    let mut doms: Vec<(String, i32, DomainState, bool)> = h
        .list_all_domains(0)
        .unwrap()
        .into_iter()
        .map(|d| {
            let (state, reason) = h.domain_get_state(&d, 0).unwrap();
            assert_eq!(reason, 0);
            (d.name.clone(), d.id, state, h.domain_is_persistent(&d).unwrap())
        })
        .collect();
    doms.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        doms,
        [
            ("db".into(), -1, DomainState::Shutoff, true),
            ("scratch".into(), 2, DomainState::Running, false),
            ("web".into(), 1, DomainState::Running, true)
        ]
    );
    for name in ["db", "scratch", "web"] {
        let d = h.domain_lookup_by_name(name).unwrap();
        assert_eq!(h.domain_get_xml_desc(&d, 0).unwrap(), expected(&format!("expected-{name}.xml")), "{name}");
    }
    let n = h.network_lookup_by_name("lan").unwrap();
    assert!(h.network_is_active(&n).unwrap() && h.network_is_persistent(&n).unwrap());
    assert_eq!(h.network_get_xml_desc(&n, 0).unwrap(), expected("expected-lan.xml"));
    let p = h.storage_pool_lookup_by_name("images").unwrap();
    assert_eq!(h.storage_pool_get_xml_desc(&p, 0).unwrap(), expected("expected-images.xml"));
    let info = h.storage_pool_get_info(&p).unwrap();
    assert_eq!(
        (info.state, info.capacity, info.allocation, info.available),
        (2, 107_374_182_400, 210_763_776, 107_163_418_624)
    );
    let vols = h.storage_pool_list_all_volumes(&p, 0).unwrap();
    assert_eq!(
        vols.iter().map(|v| v.key.as_str()).collect::<Vec<_>>(),
        ["/var/images/web.qcow2", "/var/images/db.raw"]
    );
    for v in &vols {
        assert_eq!(
            h.storage_vol_get_xml_desc(v, 0).unwrap(),
            expected(&format!("expected-vol-{}.xml", v.name)),
            "{}",
            v.name
        );
    }
    let vi = h.storage_vol_get_info(&vols[0]).unwrap();
    assert_eq!((vi.kind, vi.capacity, vi.allocation), (0, 10_737_418_240, 209_715_200));
}

#[test]
fn bad_node_files() {
    let e = Hypervisor::from_node_file(Path::new("/nonexistent.xml"), "vm").unwrap_err();
    assert_eq!(e.triple(), (27, 12, "XML error: failed to parse xml document '/nonexistent.xml'"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<node><domain>\n").unwrap();
    let e = Hypervisor::from_node_file(&bad, "vm").unwrap_err();
    assert_eq!(
        e.triple(),
        (35, 12, format!("{}:2: Premature end of data in tag domain line 1\n(null)\n^", bad.display()).as_str())
    );
    let notnode = dir.path().join("notnode.xml");
    std::fs::write(&notnode, "<foo/>\n").unwrap();
    let e = Hypervisor::from_node_file(&notnode, "vm").unwrap_err();
    assert_eq!(e.triple(), (27, 5, "XML error: expecting root element of 'node', not 'foo'"));
}

/// A node file with `<auth>` users never opens through a daemon (libvirtd opens the driver with
/// no way to ask the client for credentials: `tier_libvirt_python` shows the same outcome on
/// both); an empty `<auth/>` asks for nothing.
#[test]
fn node_files_wanting_credentials_do_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let with_users = dir.path().join("auth.xml");
    std::fs::write(&with_users, "<node><auth><user password='1'>fred</user></auth></node>").unwrap();
    let e = Hypervisor::from_node_file(&with_users, "vm").unwrap_err();
    assert_eq!(e.triple(), (8, 46, "invalid argument: Missing authentication credentials"));
    let empty = dir.path().join("empty-auth.xml");
    std::fs::write(&empty, "<node><auth/></node>").unwrap();
    assert!(Hypervisor::from_node_file(&empty, "vm").is_ok());
}
