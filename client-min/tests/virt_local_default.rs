//! The in-process `test:///default` driver's sharing, alone in its process (other tests'
//! connections to `test:///default` would share the state it checks).

use virt::connect::Connect;

/// The in-process `test:///default`, as libvirt's test driver: connections open at the same
/// time share one state (blocking and async alike); once all are closed the next one starts
/// afresh. A `test:///PATH` connection has a state of its own.
#[test]
fn in_process_default_is_shared_while_open() {
    use virt::domain::DomainState;
    let paused = |c: &Connect| c.lookup_domain_by_name("test").unwrap().state().unwrap().0.is(DomainState::Paused);
    let a = Connect::open(Some("test:///default")).unwrap();
    let b = Connect::open(Some("test:///default")).unwrap();
    a.lookup_domain_by_name("test").unwrap().suspend().unwrap();
    assert!(paused(&b), "a change through one connection is seen through the other");
    smol::block_on(async {
        let c = virt::asynchronous::connect::Connect::open(Some("test:///default")).await.unwrap();
        let (state, _) = c.lookup_domain_by_name("test").await.unwrap().state().await.unwrap();
        assert!(state.is(DomainState::Paused), "and through the async twin");
    });
    drop(a);
    drop(b);
    let fresh = Connect::open(Some("test:///default")).unwrap();
    assert!(!paused(&fresh), "a new state once every connection was closed");
}
