//! States, reasons, ids, events and list filters, as measured on libvirt 9.0.0's test driver
//! (python3-libvirt with `virEventRegisterDefaultImpl` and lifecycle callbacks on
//! `test:///default`).

use daemon_min::hypervisor::events::Event;
use daemon_min::hypervisor::{DomainState, Hypervisor, SharedHypervisor};

fn model() -> Hypervisor {
    let mut h = Hypervisor::new_default("vm");
    h.set_clock(|| 1_795_561_016_593_037_000);
    h
}

/// Domain events as `(name, id, event, detail)`.
fn dom_events(h: &mut Hypervisor) -> Vec<(String, i32, i32, i32)> {
    h.drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::DomainLifecycle { dom, event, detail } => Some((dom.name, dom.id, event, detail)),
            _ => None,
        })
        .collect()
}

fn ev(name: &str, id: i32, event: i32, detail: i32) -> Vec<(String, i32, i32, i32)> {
    vec![(name.to_owned(), id, event, detail)]
}

const A: &str = "<domain type=\"test\"><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
                 <memory>1024</memory><os><type>hvm</type></os></domain>";

#[test]
fn default_domain_state_info_and_flags() {
    let h = model();
    let d = h.domain_lookup_by_name("test").unwrap();
    assert_eq!(h.domain_get_state(&d, 0).unwrap(), (DomainState::Running, 0));
    let info = h.domain_get_info(&d).unwrap();
    assert_eq!((info.state, info.max_mem, info.memory, info.nr_virt_cpu), (1, 8_388_608, 2_097_152, 2));
    assert_eq!(info.cpu_time, 1_795_561_016_593_037_000);
    assert!(h.domain_is_active(&d).unwrap());
    assert!(h.domain_is_persistent(&d).unwrap());
    assert!(!h.domain_get_autostart(&d).unwrap());
    assert!(!h.domain_has_managed_save_image(&d, 0).unwrap());
    assert_eq!(h.domain_get_os_type(&d), "linux");
    let label = h.domain_get_security_label(&d).unwrap();
    assert_eq!((label.label.as_str(), label.enforcing), ("libvirt-test", true));
    assert!(h.domain_get_messages(&d, 0).unwrap().is_empty());
    assert_eq!(h.domain_lookup_by_id(1).unwrap(), d);
    assert_eq!(h.domain_lookup_by_uuid(&d.uuid).unwrap(), d);
    assert_eq!(h.domain_snapshot_num(&d, 0).unwrap(), 0);
}

#[test]
fn test_domain_life_cycle() {
    let mut h = model();
    let d = h.domain_lookup_by_name("test").unwrap();
    h.domain_suspend(&d).unwrap();
    assert_eq!(h.domain_get_state(&d, 0).unwrap(), (DomainState::Paused, 1));
    assert_eq!(dom_events(&mut h), ev("test", 1, 3, 0));
    h.domain_resume(&d).unwrap();
    assert_eq!(h.domain_get_state(&d, 0).unwrap(), (DomainState::Running, 5));
    assert_eq!(dom_events(&mut h), ev("test", 1, 4, 0));
    h.domain_destroy(&d, 0).unwrap();
    assert_eq!(h.domain_get_state(&d, 0).unwrap(), (DomainState::Shutoff, 2));
    assert_eq!(dom_events(&mut h), ev("test", -1, 5, 1));
    let off = h.domain_lookup_by_name("test").unwrap();
    assert_eq!(off.id, -1);
    assert_eq!(h.domain_get_info(&off).unwrap().state, 5);
    assert_eq!(h.domain_get_security_label(&off).unwrap().label, "");
    // Ids keep counting: 2, 3, ...
    let on = h.domain_create(&off, 0).unwrap();
    assert_eq!(on.id, 2);
    assert_eq!(h.domain_get_state(&on, 0).unwrap(), (DomainState::Running, 1));
    assert_eq!(dom_events(&mut h), ev("test", 2, 2, 0));
    h.domain_shutdown(&on, 0).unwrap();
    assert_eq!(h.domain_get_state(&on, 0).unwrap(), (DomainState::Shutoff, 1));
    assert_eq!(dom_events(&mut h), ev("test", -1, 5, 0));
    let on = h.domain_create(&off, 0).unwrap();
    assert_eq!(on.id, 3);
    h.drain_events();
    // Reboot with on_reboot=restart: still running, no event.
    h.domain_reboot(&on, 0).unwrap();
    assert_eq!(h.domain_get_state(&on, 0).unwrap(), (DomainState::Running, 1));
    assert!(dom_events(&mut h).is_empty());
    // A paused domain can be shut down.
    h.domain_suspend(&on).unwrap();
    h.domain_shutdown(&on, 0).unwrap();
    assert_eq!(h.domain_get_state(&on, 0).unwrap(), (DomainState::Shutoff, 1));
    assert_eq!(dom_events(&mut h), vec![("test".into(), 3, 3, 0), ("test".into(), -1, 5, 0)]);
    // Undefining a running domain makes it transient; stopping it then removes it.
    let on = h.domain_create(&off, 0).unwrap();
    h.drain_events();
    h.domain_undefine(&on, 0).unwrap();
    assert_eq!(dom_events(&mut h), ev("test", 4, 1, 0));
    assert!(!h.domain_is_persistent(&on).unwrap());
    h.domain_destroy(&on, 0).unwrap();
    assert_eq!(dom_events(&mut h), ev("test", -1, 5, 1));
    assert!(h.domain_lookup_by_name("test").is_err());
}

#[test]
fn define_create_xml_and_transient_domains() {
    let mut h = model();
    let a = h.domain_define_xml(A, 0).unwrap();
    assert_eq!(a.id, -1);
    assert_eq!(dom_events(&mut h), ev("a", -1, 0, 0));
    h.domain_define_xml(A, 0).unwrap();
    assert_eq!(dom_events(&mut h), ev("a", -1, 0, 1));
    let a = h.domain_create(&a, 0).unwrap();
    assert_eq!(a.id, 2);
    h.drain_events();
    // Redefining a running domain changes only its persistent definition.
    h.domain_define_xml(&A.replace("1024", "2048"), 0).unwrap();
    assert_eq!(dom_events(&mut h), ev("a", 2, 0, 1));
    assert!(h.domain_get_xml_desc(&a, 0).unwrap().contains("<memory unit='KiB'>1024</memory>"));
    assert!(h.domain_get_xml_desc(&a, 2).unwrap().contains("<memory unit='KiB'>2048</memory>"));
    h.domain_destroy(&a, 0).unwrap();
    assert!(h.domain_get_xml_desc(&a, 0).unwrap().contains("<memory unit='KiB'>2048</memory>"));
    h.domain_undefine(&a, 0).unwrap();
    assert_eq!(dom_events(&mut h), vec![("a".into(), -1, 5, 1), ("a".into(), -1, 1, 0)]);
    assert!(h.domain_lookup_by_name("a").is_err());

    // create-xml: transient, gone once stopped; the stop event keeps the id.
    let t = h.domain_create_xml(A, 0).unwrap();
    assert_eq!(t.id, 3);
    assert!(!h.domain_is_persistent(&t).unwrap());
    assert_eq!(dom_events(&mut h), ev("a", 3, 2, 0));
    h.domain_destroy(&t, 0).unwrap();
    assert_eq!(dom_events(&mut h), ev("a", 3, 5, 1));
    assert!(h.domain_lookup_by_name("a").is_err());
    let t = h.domain_create_xml(A, 0).unwrap();
    h.domain_shutdown(&t, 0).unwrap();
    assert_eq!(dom_events(&mut h), vec![("a".into(), 4, 2, 0), ("a".into(), 4, 5, 0)]);
    // Defining over a running transient domain makes it persistent: ADDED, not UPDATED.
    let t = h.domain_create_xml(A, 0).unwrap();
    h.drain_events();
    h.domain_define_xml(A, 0).unwrap();
    assert_eq!(dom_events(&mut h), ev("a", 5, 0, 0));
    assert!(h.domain_is_persistent(&t).unwrap());

    // create-xml over an inactive persistent domain runs the new definition, keeps the old one.
    let d = h.domain_lookup_by_name("test").unwrap();
    h.domain_destroy(&d, 0).unwrap();
    let both = "<domain type=\"test\"><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\
                <memory>1024</memory><os><type>hvm</type></os></domain>";
    let d = h.domain_create_xml(both, 0).unwrap();
    assert!(h.domain_is_persistent(&d).unwrap());
    assert!(h.domain_get_xml_desc(&d, 0).unwrap().contains("<memory unit='KiB'>1024</memory>"));
    assert!(h.domain_get_xml_desc(&d, 2).unwrap().contains("<memory unit='KiB'>8388608</memory>"));
}

#[test]
fn autostart_and_list_filters() {
    let mut h = model();
    let names = |h: &Hypervisor, flags: u32| {
        let mut v: Vec<String> = h.list_all_domains(flags).unwrap().into_iter().map(|d| d.name).collect();
        v.sort();
        v
    };
    let a = h.domain_define_xml(A, 0).unwrap();
    h.domain_set_autostart(&a, true).unwrap();
    assert!(h.domain_get_autostart(&a).unwrap());
    let t = h.domain_create_xml(&A.replace(">a<", ">t<").replace("5555</uuid>", "5556</uuid>"), 0).unwrap();
    let d = h.domain_lookup_by_name("test").unwrap();
    h.domain_suspend(&d).unwrap();
    assert_eq!(names(&h, 0), ["a", "t", "test"]);
    assert_eq!(names(&h, 1), ["t", "test"]);
    assert_eq!(names(&h, 2), ["a"]);
    assert_eq!(names(&h, 3), ["a", "t", "test"]);
    assert_eq!(names(&h, 4), ["a", "test"]);
    assert_eq!(names(&h, 8), ["t"]);
    assert_eq!(names(&h, 16), ["t"]);
    assert_eq!(names(&h, 32), ["test"]);
    assert_eq!(names(&h, 64), ["a"]);
    assert!(names(&h, 128).is_empty());
    assert!(names(&h, 256).is_empty());
    assert_eq!(names(&h, 512), ["a", "t", "test"]);
    assert_eq!(names(&h, 1024), ["a"]);
    assert_eq!(names(&h, 2048), ["t", "test"]);
    assert_eq!(names(&h, 1 | 4), ["test"]);
    assert_eq!(h.num_of_domains(), 2);
    assert_eq!(h.num_of_defined_domains(), 1);
    let mut ids = h.list_domain_ids(10);
    ids.sort_unstable();
    assert_eq!(ids, [1, t.id]);
    assert_eq!(h.list_defined_domains(10), ["a"]);
    assert!(h.list_domain_ids(0).is_empty());
}

#[test]
fn networks() {
    let mut h = model();
    let n = h.network_lookup_by_name("default").unwrap();
    assert!(h.network_is_active(&n).unwrap() && h.network_is_persistent(&n).unwrap());
    assert!(!h.network_get_autostart(&n).unwrap());
    assert_eq!(h.network_get_bridge_name(&n).unwrap(), "virbr0");
    h.network_destroy(&n).unwrap();
    h.network_create(&n).unwrap();
    h.network_set_autostart(&n, true).unwrap();
    assert!(h.network_get_autostart(&n).unwrap());
    h.network_destroy(&n).unwrap();
    h.network_undefine(&n).unwrap();
    let n1 = h.network_define_xml("<network><name>n1</name></network>", 0).unwrap();
    let n2 = h.network_create_xml("<network><name>n2</name><bridge name='virbr9'/></network>", 0).unwrap();
    let events: Vec<(String, i32)> = h
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::NetworkLifecycle { net, event, .. } => Some((net.name, event)),
            _ => None,
        })
        .collect();
    let expected: Vec<(String, i32)> =
        [("default", 3), ("default", 2), ("default", 3), ("default", 1), ("n1", 0), ("n2", 2)]
            .map(|(n, e)| (n.to_owned(), e))
            .into();
    assert_eq!(events, expected);
    assert!(!h.network_is_active(&n1).unwrap() && h.network_is_persistent(&n1).unwrap());
    assert!(h.network_is_active(&n2).unwrap() && !h.network_is_persistent(&n2).unwrap());
    let xml = h.network_get_xml_desc(&n1, 0).unwrap();
    assert_eq!(
        xml,
        format!(
            "<network>\n  <name>n1</name>\n  <uuid>{}</uuid>\n  <bridge stp='on' delay='0'/>\n</network>\n",
            n1.uuid
        )
    );
    assert_eq!(
        h.network_get_xml_desc(&n2, 0).unwrap(),
        format!("<network>\n  <name>n2</name>\n  <uuid>{}</uuid>\n  <bridge name='virbr9' stp='on' delay='0'/>\n</network>\n", n2.uuid)
    );
    let names = |f: u32| h.list_all_networks(f).unwrap().into_iter().map(|n| n.name).collect::<Vec<_>>();
    assert_eq!(names(1), ["n1"]);
    assert_eq!(names(2), ["n2"]);
    assert_eq!(names(4), ["n1"]);
    assert_eq!(names(8), ["n2"]);
    assert!(names(16).is_empty());
    assert_eq!(names(32), ["n1", "n2"]);
    assert_eq!((h.num_of_networks(), h.num_of_defined_networks()), (1, 1));
    assert_eq!((h.list_networks(9), h.list_defined_networks(9)), (vec!["n2".to_owned()], vec!["n1".to_owned()]));
    h.network_destroy(&n2).unwrap();
    assert!(h.network_lookup_by_name("n2").is_err());
    // A forward mode without a bridge of its own: no stp/delay.
    let n3 = h
        .network_define_xml(
            "<network><name>n3</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5d1</uuid><bridge name=\"virbr5\"/>\
             <forward mode=\"bridge\"/><ip address=\"10.0.0.1\" prefix=\"24\"/></network>",
            0,
        )
        .unwrap();
    assert_eq!(
        h.network_get_xml_desc(&n3, 0).unwrap(),
        "<network>\n  <name>n3</name>\n  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5d1</uuid>\n  <forward mode='bridge'/>\n  \
         <bridge name='virbr5'/>\n  <ip address='10.0.0.1' prefix='24'>\n  </ip>\n</network>\n"
    );
}

#[test]
fn pools_and_volumes() {
    let mut h = model();
    let p = h.storage_pool_lookup_by_name("default-pool").unwrap();
    let info = h.storage_pool_get_info(&p).unwrap();
    assert_eq!((info.state, info.capacity, info.allocation, info.available), (2, 107_374_182_400, 0, 107_374_182_400));
    assert_eq!(h.storage_pool_num_of_volumes(&p).unwrap(), 0);
    let v2 = h.storage_vol_create_xml(&p, "<volume><name>v2</name><capacity>1000</capacity></volume>", 0).unwrap();
    assert_eq!(v2.key, "/default-pool/v2");
    let vi = h.storage_vol_get_info(&v2).unwrap();
    assert_eq!((vi.kind, vi.capacity, vi.allocation), (0, 1000, 1000));
    assert_eq!(h.storage_vol_get_path(&v2).unwrap(), "/default-pool/v2");
    assert_eq!(h.storage_vol_lookup_by_key("/default-pool/v2").unwrap(), v2);
    assert_eq!(h.storage_vol_lookup_by_path("/default-pool/v2").unwrap(), v2);
    assert_eq!(h.storage_pool_lookup_by_volume(&v2).unwrap(), p);
    assert_eq!(
        h.storage_vol_get_xml_desc(&v2, 0).unwrap(),
        "<volume type='file'>\n  <name>v2</name>\n  <key>/default-pool/v2</key>\n  <capacity unit='bytes'>1000</capacity>\n  \
         <allocation unit='bytes'>1000</allocation>\n  <target>\n    <path>/default-pool/v2</path>\n    <format type='raw'/>\n  \
         </target>\n</volume>\n"
    );
    let v3 = h
        .storage_vol_create_xml(
            &p,
            "<volume type='file'><name>v3.img</name><capacity unit='G'>1</capacity><allocation unit='G'>1</allocation>\
             <target><format type='raw'/><permissions><mode>0600</mode></permissions></target></volume>",
            0,
        )
        .unwrap();
    assert_eq!(
        h.storage_vol_get_xml_desc(&v3, 0).unwrap(),
        "<volume type='file'>\n  <name>v3.img</name>\n  <key>/default-pool/v3.img</key>\n  \
         <capacity unit='bytes'>1073741824</capacity>\n  <allocation unit='bytes'>1073741824</allocation>\n  <target>\n    \
         <path>/default-pool/v3.img</path>\n    <format type='raw'/>\n    <permissions>\n      <mode>0600</mode>\n    \
         </permissions>\n  </target>\n</volume>\n"
    );
    assert_eq!(h.storage_pool_list_volumes(&p, 10).unwrap(), ["v2", "v3.img"]);
    assert_eq!(h.storage_pool_list_all_volumes(&p, 0).unwrap().len(), 2);
    h.storage_vol_delete(&v2, 0).unwrap();
    assert_eq!(h.storage_pool_get_info(&p).unwrap().allocation, 1_073_741_824);

    // Life cycle and its events (STOPPED 3, CREATED 4, STARTED 2, refresh, DELETED 5, UNDEFINED 1).
    h.drain_events();
    h.storage_pool_destroy(&p).unwrap();
    assert_eq!(h.storage_pool_get_info(&p).unwrap().state, 0);
    h.storage_pool_build(&p, 0).unwrap();
    h.storage_pool_create(&p, 0).unwrap();
    assert_eq!(h.storage_pool_list_volumes(&p, 10).unwrap(), ["v3.img"]);
    h.storage_pool_refresh(&p, 0).unwrap();
    h.storage_pool_destroy(&p).unwrap();
    h.storage_pool_delete(&p, 0).unwrap();
    h.storage_pool_set_autostart(&p, true).unwrap();
    assert!(h.storage_pool_get_autostart(&p).unwrap());
    h.storage_pool_undefine(&p).unwrap();
    let p2 = h
        .storage_pool_define_xml("<pool type='dir'><name>p2</name><target><path>/p2</path></target></pool>", 0)
        .unwrap();
    let p3 = h
        .storage_pool_create_xml("<pool type='dir'><name>p3</name><target><path>/p3</path></target></pool>", 0)
        .unwrap();
    let events: Vec<String> = h
        .drain_events()
        .into_iter()
        .map(|e| match e {
            Event::PoolLifecycle { pool, event, .. } => format!("{} {event}", pool.name),
            Event::PoolRefresh { pool } => format!("{} refresh", pool.name),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        events,
        [
            "default-pool 3",
            "default-pool 4",
            "default-pool 2",
            "default-pool refresh",
            "default-pool 3",
            "default-pool 5",
            "default-pool 1",
            "p2 0",
            "p3 2"
        ]
    );
    assert!(!h.storage_pool_is_active(&p2).unwrap() && h.storage_pool_is_persistent(&p2).unwrap());
    assert!(h.storage_pool_is_active(&p3).unwrap() && !h.storage_pool_is_persistent(&p3).unwrap());
    assert!(!h.storage_pool_get_autostart(&p3).unwrap());
    let lv = h
        .storage_pool_define_xml(
            "<pool type='logical'><name>lv</name><uuid>3b19bc1c-cb0e-428c-86e9-e2affc7aaf54</uuid><source><name>vg</name>\
             <device path='/dev/sdb'/></source><target><path>/dev/vg</path></target></pool>",
            0,
        )
        .unwrap();
    assert_eq!(
        h.storage_pool_get_xml_desc(&lv, 0).unwrap(),
        "<pool type='logical'>\n  <name>lv</name>\n  <uuid>3b19bc1c-cb0e-428c-86e9-e2affc7aaf54</uuid>\n  \
         <capacity unit='bytes'>107374182400</capacity>\n  <allocation unit='bytes'>0</allocation>\n  \
         <available unit='bytes'>107374182400</available>\n  <source>\n    <device path='/dev/sdb'/>\n    <name>vg</name>\n    \
         <format type='lvm2'/>\n  </source>\n  <target>\n    <path>/dev/vg</path>\n  </target>\n</pool>\n"
    );
    let names = |f: u32| {
        let mut v: Vec<String> = h.list_all_storage_pools(f).unwrap().into_iter().map(|p| p.name).collect();
        v.sort();
        v
    };
    assert_eq!(names(1), ["lv", "p2"]);
    assert_eq!(names(2), ["p3"]);
    assert_eq!(names(4), ["lv", "p2"]);
    assert_eq!(names(8), ["p3"]);
    assert_eq!(names(64), ["p2", "p3"]);
    assert_eq!(names(512), ["lv"]);
    assert_eq!((h.num_of_storage_pools(), h.num_of_defined_storage_pools()), (1, 2));
}

#[test]
fn volume_content_is_sparse_and_bounded() {
    let mut h = model();
    let p = h.storage_pool_lookup_by_name("default-pool").unwrap();
    let v = h
        .storage_vol_create_xml(
            &p,
            "<volume><name>d</name><capacity>100</capacity><allocation>0</allocation></volume>",
            0,
        )
        .unwrap();
    use daemon_min::hypervisor::Chunk;
    assert_eq!(h.storage_vol_read(&v, 0, 0).unwrap(), [Chunk::Hole(100)]);
    h.storage_vol_write(&v, 10, b"abcdef").unwrap();
    h.storage_vol_write_hole(&v, 12, 2).unwrap();
    assert_eq!(
        h.storage_vol_read(&v, 0, 0).unwrap(),
        [Chunk::Hole(10), Chunk::Data(b"ab".to_vec()), Chunk::Hole(2), Chunk::Data(b"ef".to_vec()), Chunk::Hole(84)]
    );
    assert_eq!(h.storage_vol_read(&v, 11, 2).unwrap(), [Chunk::Data(b"b".to_vec()), Chunk::Hole(1)]);
    assert_eq!(h.storage_vol_write(&v, 98, b"xyz").unwrap_err().triple().0, 8);
    assert!(h.storage_vol_read(&v, 90, 11).is_err());
    h.storage_vol_commit(&v).unwrap();
}

#[test]
fn shared_hypervisor_delivers_events_to_subscribers() {
    use std::sync::{Arc, Mutex};
    let shared = SharedHypervisor::new(model());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let id = shared.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let s = shared.clone();
            std::thread::spawn(move || {
                let xml = format!(
                    "<domain type='test'><name>d{i}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
                );
                let d = s.call(|h| h.domain_define_xml(&xml, 0)).unwrap();
                s.call(|h| h.domain_create(&d, 0)).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(seen.lock().unwrap().len(), 8);
    let mut ids: Vec<i32> = shared.with(|h| h.list_all_domains(1).unwrap().into_iter().map(|d| d.id).collect());
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert!(shared.unsubscribe(id));
    shared.call(|h| h.domain_suspend(&h.domain_lookup_by_name("test")?)).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 8);
}
