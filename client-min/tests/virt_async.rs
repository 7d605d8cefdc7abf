//! The async twin (`virt::asynchronous`) calling a representative set of the API — host
//! queries, every object type's listing and lookup, domain, snapshot, network and secret
//! life cycles, streams (a screenshot; volume upload and download with holes), domain, network
//! and secret events through typed callbacks — and answering as the blocking API does on the
//! same daemon: in-process, against daemon-min and against Debian's libvirtd 9.0.

use std::sync::mpsc;
use std::time::Duration;

use spec_tests::libvirtd::Libvirtd;
use virt::asynchronous::connect::Connect;
use virt::asynchronous::network::NetworkEvent;
use virt::asynchronous::secret::SecretEvent;
use virt::asynchronous::stream::Stream;
use virt::domain_event::{DomainEvent, DomainEventKind};
use virt::sys;

/// Host queries and the listings of every object type agree with the blocking API's.
async fn host_and_listings(uri: &str) {
    let conn = Connect::open(Some(uri)).await.unwrap();
    let blocking = virt::connect::Connect::open(Some(uri)).unwrap();
    assert_eq!(conn.uri().unwrap(), blocking.uri().unwrap());
    assert!(conn.is_alive().unwrap());
    assert_eq!(conn.hostname().await.unwrap(), blocking.hostname().unwrap());
    assert_eq!(conn.driver_type().await.unwrap(), blocking.driver_type().unwrap());
    assert_eq!(conn.lib_version().await.unwrap(), blocking.lib_version().unwrap());
    assert_eq!(conn.node_info().await.unwrap().cpus, blocking.node_info().unwrap().cpus);
    assert!(conn.capabilities().await.unwrap().contains("<capabilities>"));
    assert_eq!(conn.is_secure().await.unwrap(), blocking.is_secure().unwrap());
    assert_eq!(conn.list_domains().await.unwrap(), blocking.list_domains().unwrap());
    assert_eq!(conn.list_networks().await.unwrap(), blocking.list_networks().unwrap());
    assert_eq!(conn.num_of_storage_pools().await.unwrap(), blocking.num_of_storage_pools().unwrap());
    let names = |v: Vec<String>| {
        let mut v = v;
        v.sort();
        v
    };
    let doms: Vec<String> = conn.list_all_domains(0).await.unwrap().iter().map(|d| d.name().unwrap()).collect();
    let bdoms: Vec<String> = blocking.list_all_domains(0).unwrap().iter().map(|d| d.name().unwrap()).collect();
    assert_eq!(names(doms), names(bdoms));
    let ifaces = conn.list_all_interfaces(0).await.unwrap();
    assert_eq!(ifaces.len(), blocking.list_all_interfaces(0).unwrap().len());
    if let Some(i) = ifaces.first() {
        let again = conn.lookup_interface_by_name(&i.name().unwrap()).await.unwrap();
        assert_eq!(again.mac_string().unwrap(), i.mac_string().unwrap());
    }
    let devs = conn.list_all_node_devices(0).await.unwrap();
    assert_eq!(devs.len(), blocking.list_all_node_devices(0).unwrap().len());
    if let Some(d) = devs.first() {
        assert!(d.xml_desc(0).await.unwrap().contains("<device>"));
    }
    // The test driver has no network filter driver: the same refusal on both sides.
    let filters = conn.list_all_nw_filters(0).await.map(|f| f.len()).map_err(|e| e.message().to_owned());
    let bfilters = blocking.list_all_nw_filters(0).map(|f| f.len()).map_err(|e| e.message().to_owned());
    assert_eq!(filters, bfilters);
    let pools = conn.list_all_storage_pools(0).await.unwrap();
    assert_eq!(pools.len(), blocking.list_all_storage_pools(0).unwrap().len());
    for p in &pools {
        let info = p.info().await.unwrap();
        assert_eq!(
            info.capacity,
            blocking.lookup_storage_pool_by_name(&p.name().unwrap()).unwrap().info().unwrap().capacity
        );
        if p.is_active().await.unwrap() {
            for v in p.list_all_volumes(0).await.unwrap() {
                assert_eq!(v.lookup_storage_pool().await.unwrap().name().unwrap(), p.name().unwrap());
                assert!(!v.path().await.unwrap().is_empty());
            }
        }
    }
    // Failures are libvirt's errors, as on the blocking side.
    let e = conn.lookup_domain_by_name("no-such-domain").await.unwrap_err();
    let b = blocking.lookup_domain_by_name("no-such-domain").unwrap_err();
    assert_eq!((e.code(), e.domain(), e.message()), (b.code(), b.domain(), b.message()));
    let ro = Connect::open_read_only(Some(uri)).await.unwrap();
    let e = ro.lookup_domain_by_name("test").await.unwrap().suspend().await.unwrap_err();
    assert_eq!(e.message(), "operation forbidden: read only access prevents virDomainSuspend");
}

/// A domain's life cycle, a snapshot and a network, made through the async API; the
/// lifecycle events arrive at a typed callback.
async fn life_cycles(uri: &str) {
    let conn = Connect::open(Some(uri)).await.unwrap();
    let tag = std::process::id();
    let name = format!("virt-async-{tag}");
    let (tx, rx) = mpsc::channel();
    let id = conn
        .domain_event_register_any(None, sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as i32, move |ev| {
            if let DomainEvent::Lifecycle { domain, event, .. } = ev {
                let _ = tx.send((domain.name().unwrap(), event));
            }
        })
        .await
        .unwrap();
    let xml =
        format!("<domain type='test'><name>{name}</name><memory>65536</memory><os><type>hvm</type></os></domain>");
    let dom = conn.define_domain_xml(&xml).await.unwrap();
    dom.create().await.unwrap();
    assert!(dom.id().is_some());
    assert!(dom.is_active().await.unwrap());
    assert_eq!(dom.info().await.unwrap().max_mem, 65536);
    dom.suspend().await.unwrap();
    dom.resume().await.unwrap();
    let snap = dom.create_snapshot_xml("<domainsnapshot><name>s1</name></domainsnapshot>", 0).await.unwrap();
    assert_eq!(dom.num_snapshots(0).await.unwrap(), 1);
    assert_eq!(snap.name().unwrap(), "s1");
    assert!(snap.xml_desc(0).await.unwrap().contains("<name>s1</name>"));
    snap.delete(0).await.unwrap();
    dom.destroy().await.unwrap();
    assert_eq!(dom.id(), None);
    dom.undefine().await.unwrap();
    let mut seen = Vec::new();
    while let Ok((dname, event)) = rx.recv_timeout(Duration::from_secs(10)) {
        if dname == name {
            seen.push(event.known());
        }
        if seen.contains(&Some(DomainEventKind::Undefined)) {
            break;
        }
    }
    let want = [
        DomainEventKind::Defined,
        DomainEventKind::Started,
        DomainEventKind::Suspended,
        DomainEventKind::Resumed,
        DomainEventKind::Stopped,
        DomainEventKind::Undefined,
    ];
    for k in want {
        assert!(seen.contains(&Some(k)), "{k:?} not in {seen:?}");
    }
    conn.domain_event_deregister_any(id).await.unwrap();
    let e = conn.domain_event_deregister_any(id).await.unwrap_err();
    assert_eq!(e.message(), format!("event callback id {id} not registered"));

    let (ntx, nrx) = mpsc::channel();
    let net_cb = conn
        .network_event_register_any(None, sys::VIR_NETWORK_EVENT_ID_LIFECYCLE as i32, move |ev| {
            let NetworkEvent::Lifecycle { network, event, .. } = ev;
            let _ = ntx.send((network.name().unwrap(), event));
        })
        .await
        .unwrap();
    let net_xml = format!("<network><name>vnet-{tag}</name><bridge name='vbr{}'/></network>", tag % 10000);
    let net = conn.define_network_xml(&net_xml).await.unwrap();
    assert!(!net.is_active().await.unwrap());
    net.create().await.unwrap();
    assert!(net.is_active().await.unwrap());
    assert_eq!(conn.lookup_network_by_uuid(net.uuid().unwrap()).await.unwrap().name().unwrap(), net.name().unwrap());
    net.destroy().await.unwrap();
    net.undefine().await.unwrap();
    let net_name = format!("vnet-{tag}");
    let mut seen = Vec::new();
    while let Ok((n, event)) = nrx.recv_timeout(Duration::from_secs(10)) {
        if n == net_name {
            seen.push(u32::try_from(event).unwrap());
        }
        if seen.contains(&sys::VIR_NETWORK_EVENT_UNDEFINED) {
            break;
        }
    }
    let want = [
        sys::VIR_NETWORK_EVENT_DEFINED,
        sys::VIR_NETWORK_EVENT_STARTED,
        sys::VIR_NETWORK_EVENT_STOPPED,
        sys::VIR_NETWORK_EVENT_UNDEFINED,
    ];
    assert_eq!(seen, want, "network lifecycle events");
    conn.network_event_deregister_any(net_cb).await.unwrap();
    assert!(conn.network_event_deregister_any(net_cb).await.is_err());
}

/// A stream read to its end: a screenshot is a PNG.
async fn screenshot(uri: &str) {
    let conn = Connect::open(Some(uri)).await.unwrap();
    let dom = conn.lookup_domain_by_name("test").await.unwrap();
    let st = Stream::new(&conn, 0).unwrap();
    let mime = dom.screenshot(&st, 0, 0).await.unwrap();
    assert_eq!(mime, "image/png");
    let mut png = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = usize::try_from(st.recv(&mut buf).await.unwrap()).unwrap();
        if n == 0 {
            break;
        }
        png.extend_from_slice(&buf[..n]);
    }
    st.finish().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{} bytes", png.len());
}

/// Volume upload with a hole and download stopping at holes, through async streams, on a
/// directory pool of libvirtd's session QEMU driver; a secret's life cycle there.
async fn session_objects(daemon: &Libvirtd) {
    use std::os::unix::fs::MetadataExt;
    let pool_dir = daemon.dir().join("async-pool");
    std::fs::create_dir_all(&pool_dir).unwrap();
    let owner = std::fs::metadata(daemon.dir().join("home")).unwrap();
    std::os::unix::fs::chown(&pool_dir, Some(owner.uid()), Some(owner.gid())).unwrap();
    let uri = format!("qemu+tcp://127.0.0.1:{}/session", daemon.port());
    let conn = Connect::open(Some(&uri)).await.unwrap();
    let pool_xml =
        format!("<pool type='dir'><name>apool</name><target><path>{}</path></target></pool>", pool_dir.display());
    let pool = conn.create_storage_pool_xml(&pool_xml, 0).await.unwrap();
    let vol = virt::asynchronous::storage_vol::StorageVol::create_xml(
        &pool,
        "<volume><name>av</name><capacity>3145728</capacity><allocation>0</allocation></volume>",
        0,
    )
    .await
    .unwrap();
    // 1 MiB of data, a 1 MiB hole, 1 MiB of data.
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1).collect();
    let up = Stream::new(&conn, 0).unwrap();
    vol.upload(&up, 0, 0, sys::VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM).await.unwrap();
    assert_eq!(up.send(&data).await.unwrap(), 1 << 20);
    up.send_hole(1 << 20, 0).await.unwrap();
    up.send(&data).await.unwrap();
    up.finish().await.unwrap();

    let down = Stream::new(&conn, 0).unwrap();
    vol.download(&down, 0, 0, sys::VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM).await.unwrap();
    let (mut got, mut holes) = (Vec::new(), 0i64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match down.recv_flags(&mut buf, sys::VIR_STREAM_RECV_STOP_AT_HOLE).await.unwrap() {
            0 => break,
            -3 => {
                let n = down.recv_hole(0).await.unwrap();
                holes += n;
                got.resize(got.len() + usize::try_from(n).unwrap(), 0);
            }
            n => got.extend_from_slice(&buf[..usize::try_from(n).unwrap()]),
        }
    }
    down.finish().await.unwrap();
    assert_eq!(got.len(), 3 << 20);
    assert!(holes >= 1 << 20, "the hole came back as a hole: {holes}");
    assert_eq!(&got[..1 << 20], &data[..]);
    assert!(got[1 << 20..2 << 20].iter().all(|&b| b == 0));
    assert_eq!(&got[2 << 20..], &data[..]);
    vol.delete(0).await.unwrap();
    pool.destroy().await.unwrap();

    // Secrets (the test driver has none).
    let tag = std::process::id();
    let sec_xml =
        format!("<secret ephemeral='no' private='yes'><usage type='volume'><volume>/v/{tag}</volume></usage></secret>");
    let (stx, srx) = mpsc::channel();
    let sec_cb = conn
        .secret_event_register_any(None, sys::VIR_SECRET_EVENT_ID_VALUE_CHANGED as i32, move |ev| {
            if let SecretEvent::ValueChanged { secret } = ev {
                let _ = stx.send(secret.uuid_string().unwrap());
            }
        })
        .await
        .unwrap();
    let sec = conn.define_secret_xml(&sec_xml, 0).await.unwrap();
    sec.set_value(b"s3cr3t", 0).await.unwrap();
    assert_eq!(srx.recv_timeout(Duration::from_secs(10)).unwrap(), sec.uuid_string().unwrap());
    conn.secret_event_deregister_any(sec_cb).await.unwrap();
    assert_eq!(
        conn.lookup_secret_by_uuid_string(&sec.uuid_string().unwrap()).await.unwrap().usage_id().unwrap(),
        format!("/v/{tag}")
    );
    sec.undefine().await.unwrap();
}

/// Says when it is dropped.
struct Dropped(mpsc::Sender<()>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// `register_close_callback`: one at a time, with libvirt's errors; called once with the
/// reason when the connection closes (here this side's close: `VIR_CONNECT_CLOSE_REASON_CLIENT`).
async fn close_callback_on_close(uri: &str) {
    let conn = Connect::open(Some(uri)).await.unwrap();
    let (tx, rx) = mpsc::channel();
    conn.register_close_callback(move |reason| {
        let _ = tx.send(reason);
    })
    .await
    .unwrap();
    let e = conn.register_close_callback(|_| {}).await.unwrap_err();
    assert_eq!(e.message(), "Requested operation is not valid: A close callback is already registered");
    conn.unregister_close_callback().await.unwrap();
    let e = conn.unregister_close_callback().await.unwrap_err();
    assert_eq!(e.message(), "Requested operation is not valid: A different callback was requested");
    let (tx, rx2) = mpsc::channel();
    conn.register_close_callback(move |reason| {
        let _ = tx.send(reason);
    })
    .await
    .unwrap();
    conn.close().await.unwrap();
    assert_eq!(rx2.recv_timeout(Duration::from_secs(10)).unwrap(), sys::VIR_CONNECT_CLOSE_REASON_CLIENT);
    assert!(rx.try_recv().is_err(), "the unregistered callback is not called");
}

#[test]
fn in_process_driver() {
    smol::block_on(async {
        host_and_listings("test:///default").await;
        life_cycles("test:///default").await;
        screenshot("test:///default").await;
        close_callback_on_close("test:///default").await;
    });
}

#[test]
fn against_libvirtd() {
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.tcp_uri();
    eprintln!("libvirtd (pid {}) at {uri}", daemon.pid());
    smol::block_on(async {
        host_and_listings(&uri).await;
        life_cycles(&uri).await;
        screenshot(&uri).await;
        close_callback_on_close(&uri).await;
        session_objects(&daemon).await;
    });
}

#[test]
fn against_daemon_min() {
    let binary = spec_tests::differential::daemon_min_binary();
    let daemon = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uri = daemon.tcp_uri();
    smol::block_on(async {
        host_and_listings(&uri).await;
        life_cycles(&uri).await;
        screenshot(&uri).await;
        close_callback_on_close(&uri).await;
        // The daemon goes away: end of file on its UNIX socket, an error on TCP (as libvirt's
        // client tells them apart: a hang-up or not).
        let (tx, rx) = mpsc::channel();
        let mut open = Vec::new();
        for u in [daemon.unix_uri(), uri.clone()] {
            let conn = Connect::open(Some(&u)).await.unwrap();
            let tx = tx.clone();
            conn.register_close_callback(move |reason| {
                let _ = tx.send((u.clone(), reason));
            })
            .await
            .unwrap();
            open.push(conn);
        }
        // A blocking connection whose only handle is held by its own event callback: when the
        // daemon goes, the callback (and with it the connection) is dropped, not leaked.
        let (dtx, drx) = mpsc::channel();
        {
            let b = virt::connect::Connect::open(Some(&daemon.unix_uri())).unwrap();
            let keep = (b.clone(), Dropped(dtx));
            b.domain_event_register_any(None, 0, move |_| {
                let _ = &keep;
            })
            .unwrap();
        }
        drop(daemon);
        drx.recv_timeout(Duration::from_secs(10)).expect("the callback is dropped once the connection closed");
        let mut got =
            [rx.recv_timeout(Duration::from_secs(10)).unwrap(), rx.recv_timeout(Duration::from_secs(10)).unwrap()];
        got.sort();
        let unix = got.iter().find(|(u, _)| u.contains("+unix")).unwrap().1;
        let tcp = got.iter().find(|(u, _)| u.contains("+tcp")).unwrap().1;
        assert_eq!((unix, tcp), (sys::VIR_CONNECT_CLOSE_REASON_EOF, sys::VIR_CONNECT_CLOSE_REASON_ERROR));
        assert!(open.iter().all(|c| !c.is_alive().unwrap()));
    });
}
