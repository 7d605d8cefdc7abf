//! The `virt` API (blocking and async) on behaviour virt's own tests do not reach: read-only
//! refusals, errors as libvirt reports them, the handle's id across start and stop, and the
//! async twin's events — through the in-process driver, against daemon-min and against
//! Debian's libvirtd 9.0.

use spec_tests::libvirtd::Libvirtd;
use virt::asynchronous::domain::{DomainEvent, DomainEventKind};
use virt::connect::Connect;
use virt::error::{ErrorDomain, ErrorNumber};
use virt::sys;

/// A read-only connection refuses a state change locally, with libvirt's error.
fn read_only_refuses(uri: &str) {
    let conn = Connect::open_read_only(Some(uri)).unwrap();
    let dom = conn.lookup_domain_by_name("test").unwrap();
    let e = dom.suspend().unwrap_err();
    assert!(e.code().is(ErrorNumber::OperationDenied), "{e}");
    assert_eq!(e.message(), "operation forbidden: read only access prevents virDomainSuspend");
    assert!(dom.is_active().unwrap());
}

/// A missing domain is `VIR_ERR_NO_DOMAIN` from the driver, as the server reports it.
fn missing_domain(uri: &str) {
    let conn = Connect::open(Some(uri)).unwrap();
    let e = conn.lookup_domain_by_name("no-such-domain").unwrap_err();
    assert!(e.code().is(ErrorNumber::NoDomain), "{e}");
    assert!(e.domain().is(ErrorDomain::Test), "{e}");
    assert!(e.to_string().starts_with("error: Domain not found"), "{e}");
}

/// Lifecycle through the handle: the id follows start and stop, the state its reason.
fn lifecycle(uri: &str) {
    let conn = Connect::open(Some(uri)).unwrap();
    let name = format!("virt-api-{}", std::process::id());
    let xml =
        format!("<domain type='test'><name>{name}</name><memory>65536</memory><os><type>hvm</type></os></domain>");
    let dom = conn.define_domain_xml(&xml).unwrap();
    assert_eq!(dom.id(), None);
    dom.create().unwrap();
    assert!(dom.id().is_some_and(|id| id > 0));
    assert_eq!(conn.lookup_domain_by_id(dom.id().unwrap()).unwrap().name().unwrap(), name);
    dom.destroy().unwrap();
    assert_eq!(dom.id(), None);
    let (state, _) = dom.state().unwrap();
    assert!(state.is(virt::domain::DomainState::Shutoff));
    dom.undefine().unwrap();
    assert!(conn.lookup_domain_by_name(&name).is_err());
}

/// The async twin: a lifecycle event arrives for a suspend made through the async API.
fn async_events(uri: &str) {
    smol::block_on(async {
        let conn = virt::asynchronous::connect::Connect::open(Some(uri)).await.unwrap();
        let dom = conn.lookup_domain_by_name("test").await.unwrap();
        let events = conn.domain_events(Some(&dom), sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as i32).await.unwrap();
        dom.suspend().await.unwrap();
        let ev = smol::future::or(async { Some(events.recv().await) }, async {
            smol::Timer::after(std::time::Duration::from_secs(10)).await;
            None
        })
        .await
        .expect("an event within 10 s")
        .unwrap();
        match ev {
            DomainEvent::Lifecycle { domain, event, .. } => {
                assert_eq!(domain.name().unwrap(), "test");
                assert!(event.is(DomainEventKind::Suspended), "{event:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
        dom.resume().await.unwrap();
        assert!(dom.state().await.unwrap().0.is(virt::domain::DomainState::Running));
        // The async twin and the blocking API see the same domain.
        let blocking = Connect::open(Some(uri)).unwrap().lookup_domain_by_name("test").unwrap();
        assert_eq!(dom.os_type().await.unwrap(), blocking.os_type().unwrap());
        assert_eq!(dom.max_memory().await.unwrap(), blocking.max_memory().unwrap());
        let before = dom.autostart().await.unwrap();
        dom.set_autostart(!before).await.unwrap();
        assert_eq!(blocking.autostart().unwrap(), !before);
        dom.set_autostart(before).await.unwrap();
    });
}

/// The async twin's networks and pools: listing, lookup, lifecycle.
fn async_objects(uri: &str) {
    smol::block_on(async {
        let conn = virt::asynchronous::connect::Connect::open(Some(uri)).await.unwrap();
        let nets = conn.list_all_networks(0).await.unwrap();
        assert!(nets.iter().any(|n| n.name().unwrap() == "default"));
        let net = conn.lookup_network_by_name("default").await.unwrap();
        assert!(net.is_active().await.unwrap());
        net.destroy().await.unwrap();
        assert!(!net.is_active().await.unwrap());
        net.create().await.unwrap();
        assert!(net.is_active().await.unwrap());
        assert!(net.xml_desc(0).await.unwrap().contains("<name>default</name>"));
        let pools = conn.list_all_storage_pools(0).await.unwrap();
        let pool = conn.lookup_storage_pool_by_name(&pools[0].name().unwrap()).await.unwrap();
        assert_eq!(pool.uuid_string().unwrap(), pools[0].uuid_string().unwrap());
        assert!(pool.is_active().await.unwrap());
    });
}

#[test]
fn in_process_driver() {
    read_only_refuses("test:///default");
    missing_domain("test:///default");
    lifecycle("test:///default");
    async_events("test:///default");
    async_objects("test:///default");
}

#[test]
fn against_libvirtd() {
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.tcp_uri();
    eprintln!("libvirtd (pid {}) at {uri}", daemon.pid());
    read_only_refuses(&uri);
    missing_domain(&uri);
    lifecycle(&uri);
    async_events(&uri);
    async_objects(&uri);
}

#[test]
fn against_daemon_min() {
    let binary = spec_tests::differential::daemon_min_binary();
    let daemon = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uri = daemon.tcp_uri();
    read_only_refuses(&uri);
    missing_domain(&uri);
    lifecycle(&uri);
    async_events(&uri);
    async_objects(&uri);
}
