//! Findings of the daemon and parser fuzz targets (`fuzz/src/targets.rs`), each kept as a test.

use daemon_min::hypervisor::Hypervisor;

/// hypervisor_xml, finding 1: a network whose name held NUL bytes and whose `<bridge>` had an
/// attribute glued to the previous one (`stp='on'`delay='0'`) was accepted; its dumpxml then
/// named a different network (the NULs dropped) carrying an attribute no XML parser takes, so
/// defining it again failed. libvirt reads the document as a C string (it ends at the first NUL)
/// and refuses the glued attribute; so do we now.
#[test]
fn network_name_with_nul_and_glued_attribute() {
    let mut h = Hypervisor::new_default("vm");
    let with_nul = "<network><name>nA\0\0\0\0</name><uuid>11111111-2222-3333-4444-555555555556</uuid></network>";
    let e = h.network_define_xml(with_nul, 0).unwrap_err();
    assert!(e.to_string().contains("Premature end of data in tag name"), "{e}");
    let glued = "<network><name>n</name><bridge name='virbr3' stp='on'`delay='0'/></network>";
    let e = h.network_define_xml(glued, 0).unwrap_err();
    assert!(e.to_string().contains("attributes construct error"), "{e}");
    // What is accepted reads back as a document that is accepted again.
    let ok = "<network><name>n</name><bridge name='virbr3' stp='on' delay='0'/></network>";
    let n = h.network_define_xml(ok, 0).unwrap();
    let xml = h.network_get_xml_desc(&n, 0).unwrap();
    h.network_define_xml(&xml, 0).unwrap();
}

/// daemon_dispatch, finding 1: an error reported at a byte offset inside a multi-byte character
/// (here the document starts with a byte-order mark, and `<>` is no element) panicked while the
/// message's caret line was cut out of the document; it is an error like any other now.
#[test]
fn error_position_inside_a_multibyte_character() {
    let mut h = Hypervisor::new_default("vm");
    let doc = "\u{feff}<domain type='test'><name>f1</name><memory>1024<></domain>";
    let e = h.domain_define_xml(doc, 0).unwrap_err();
    assert!(e.to_string().contains("StartTag: invalid element name"), "{e}");
    for doc in ["\u{e9}<", "<a>\u{20ac}", "<a \u{20ac}='1'/>", "<\u{10348}\u{10348}", "<a>&\u{e9};</a>"] {
        assert!(h.domain_define_xml(doc, 0).is_err());
    }
}

/// hypervisor_xml, finding 3: a control character in an entity's value (or from a character
/// reference) reached a domain's name, and dumpxml (which drops control characters) named another
/// domain. libxml2 refuses characters XML does not allow wherever they stand; so do we now.
#[test]
fn control_characters_are_refused_wherever_they_stand() {
    let mut h = Hypervisor::new_default("vm");
    let t = "<memory>1024</memory><os><type>hvm</type></os></domain>";
    for doc in [
        format!("<!DOCTYPE d [<!ENTITY n 'ent'><!ENTITY m '\u{1}9;&n;'>]><domain type='test'><name>&m;</name>{t}"),
        format!("<!DOCTYPE d [<!ENTITY m '&#1;9'>]><domain type='test'><name>&m;</name>{t}"),
        format!("<domain type='test'><name>a\u{1}b</name>{t}"),
        format!("<domain type='test'><name>a&#1;b</name>{t}"),
        format!("<domain type='test' x='\u{2}'><name>ab</name>{t}"),
    ] {
        assert!(h.domain_define_xml(&doc, 0).is_err(), "{doc:?} was accepted");
    }
}

/// hypervisor_xml, finding 4: a byte-order mark followed by white space put the reader's position
/// inside the mark when the first tag started, and the name check sliced the document there.
#[test]
fn byte_order_mark_then_white_space() {
    let mut h = Hypervisor::new_default("vm");
    let doc = "\u{feff}\n\n<network><name>bom</name></network>";
    let n = h.network_define_xml(doc, 0).expect("a document after a BOM and blank lines");
    assert_eq!(n.name, "bom");
    assert!(h.network_define_xml("\u{feff}\n<1network/>", 0).is_err());
}

/// hypervisor_xml, finding 5 (a timeout): a disk named `hdbqsa` implies 11,785 IDE controllers
/// (libvirt adds them all, in 0.05 s); adding them one by one took daemon-min 78 s. They are added
/// in one pass now, and a name implying more than 65,536 controllers of a type is refused.
#[test]
fn disk_names_implying_many_controllers() {
    let mut h = Hypervisor::new_default("vm");
    let doc = |name: &str, dev: &str| {
        format!(
            "<domain type='test'><name>{name}</name><memory>1024</memory><os><type>hvm</type></os><devices>\
             <disk type='file' device='disk'><source file='/a.img'/><target dev='{dev}' bus='ide'/></disk></devices></domain>"
        )
    };
    let t = std::time::Instant::now();
    let d = h.domain_define_xml(&doc("many", "hdbqsa"), 0).unwrap();
    let xml = h.domain_get_xml_desc(&d, 0).unwrap();
    assert_eq!(xml.matches("<controller type='ide'").count(), 11_785, "as libvirt 9.0");
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "{:?}", t.elapsed());
    let e = h.domain_define_xml(&doc("too-many", "hdzzzz"), 0).unwrap_err();
    assert!(e.to_string().contains("daemon-min adds at most 65536"), "{e}");
}

/// hypervisor_xml, finding 6: an attribute value inside `<metadata>` (kept verbatim) held a
/// character reference to a control character, or an unescaped `<`; the dumped document could
/// not be defined again. libxml2 refuses both; so do we now.
#[test]
fn attribute_values_libxml2_refuses() {
    let mut h = Hypervisor::new_default("vm");
    let t = "<memory>1024</memory><os><type>hvm</type></os></domain>";
    for doc in [
        format!("<domain type='test'><name>m1</name><metadata><a x='&#1;'/></metadata>{t}"),
        format!("<domain type='test'><name>m2</name><metadata><a x='52:<<54'/></metadata>{t}"),
    ] {
        assert!(h.domain_define_xml(&doc, 0).is_err(), "{doc:?} was accepted");
    }
    let ok = format!("<domain type='test'><name>m3</name><metadata><a x='&#65;&amp;'/></metadata>{t}");
    let d = h.domain_define_xml(&ok, 0).unwrap();
    let xml = h.domain_get_xml_desc(&d, 0).unwrap();
    h.domain_define_xml(&xml, 0).unwrap();
}

/// hypervisor_xml, finding 7: a node file whose CPU topology multiplies past an unsigned int
/// (`<sockets>2029916656</sockets>` with two nodes and two cores) panicked on the overflow. As
/// libvirt's test driver, the product wraps; a value over an unsigned int is refused with
/// libvirt's "invalid node cpu … value".
#[test]
fn node_cpu_topology_past_an_unsigned_int() {
    let dir = std::env::temp_dir().join(format!("fuzz-regression-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let node = |cpu: &str| {
        let path = dir.join("node.xml");
        std::fs::write(&path, format!("<node><cpu>{cpu}</cpu><memory>2097152</memory></node>")).unwrap();
        Hypervisor::from_node_file(&path, "fuzz")
    };
    let h = node("<nodes>+2</nodes><sockets>2029916656</sockets><cores>2</cores><threads>1</threads>").unwrap();
    assert_eq!(h.node_info().cpus, 2u32.wrapping_mul(2_029_916_656).wrapping_mul(2));
    let h = node("<nodes>1</nodes><sockets>2</sockets><cores>2</cores><threads>2</threads><active>3</active>").unwrap();
    assert_eq!(h.node_info().cpus, 3);
    let e = node("<sockets>4294967296</sockets>").map(drop).unwrap_err();
    assert!(e.to_string().contains("invalid node cpu sockets value"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
