//! Heap allocations per small call, adapter and core together, in steady state, for both
//! clients: at most 2 (issue 10). The workspace's counting allocator (`stats_alloc`) counts
//! every allocation of this process, the blocking client's background reader and smol's own
//! threads included; the daemon (daemon-min) runs in a process of its own. One test measures
//! both clients one after the other: the counter is process-wide.

use std::alloc::System;

use adapter_blocking::ConnectOptions;
use proto_core::client::CallSpec;
use proto_core::programs::remote::{
    DomainGetState, DomainLookupByName, RemoteDomainGetStateArgs, RemoteDomainLookupByNameArgs,
};
use spec_tests::daemon_min::DaemonMin;
use spec_tests::differential::daemon_min_binary;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations and reallocations so far.
fn allocations() -> usize {
    let s = GLOBAL.stats();
    s.allocations + s.reallocations
}

/// Calls counted, after a warm-up of 2,000.
const CALLS: usize = 5000;

/// Allocations per call over [`CALLS`] calls made by `calls(n)` (after the warm-up).
fn per_call(mut calls: impl FnMut(usize)) -> f64 {
    calls(2000);
    let before = allocations();
    calls(CALLS);
    (allocations() - before) as f64 / CALLS as f64
}

#[test]
fn a_small_call_allocates_at_most_twice() {
    // The counter counts: a typed call encodes its arguments into a new buffer.
    let before = allocations();
    let _ = std::hint::black_box(proto_core::xdr::to_bytes(&7u32).unwrap());
    assert!(allocations() > before, "the counting allocator is in use");
    let daemon = DaemonMin::start(&daemon_min_binary(), "", &[]);
    let uri = daemon.unix_uri();
    let opts = ConnectOptions::default();
    // REMOTE_PROC_DOMAIN_GET_STATE of domain "test" (its reply: two ints).
    let spec = CallSpec::of::<DomainGetState>();

    let c = adapter_blocking::Client::connect(&uri, &opts).unwrap();
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let args = proto_core::xdr::to_bytes(&RemoteDomainGetStateArgs { dom, flags: 0 }).unwrap();
    let blocking = per_call(|n| (0..n).for_each(|_| assert_eq!(c.call_raw(spec, &args).unwrap().len(), 8)));
    c.close().unwrap();
    drop(c);

    let c = smol::block_on(adapter_smol::Client::connect(&uri, &opts)).unwrap();
    let smol = per_call(|n| {
        smol::block_on(async {
            for _ in 0..n {
                assert_eq!(c.call_raw(spec, &args).await.unwrap().len(), 8);
            }
        });
    });
    smol::block_on(c.close()).unwrap();

    eprintln!("heap allocations per call (adapter and core): blocking {blocking:.2}, smol {smol:.2}");
    assert!(blocking <= 2.0, "blocking: {blocking:.2} allocations per small call, at most 2 wanted");
    assert!(smol <= 2.0, "smol: {smol:.2} allocations per small call, at most 2 wanted");
}
