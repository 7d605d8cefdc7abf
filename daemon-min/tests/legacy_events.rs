//! The oldest domain event API (`REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER` 105 and
//! `_DEREGISTER` 106: life-cycle events only, as `REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE` 107
//! messages), which no current client library calls any more (they register callbacks), and
//! node-device events (`REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY` with the life-cycle
//! events `NODE_DEVICE_CREATE_XML` and `NODE_DEVICE_DESTROY` raise): the same frames sent to a
//! fresh libvirtd 9.0 and to a fresh daemon-min, every answer and every event compared.
//!
//! Fails under `CI=true` when libvirtd is missing; skips loudly otherwise.

use std::time::Duration;

use adapter_blocking::{Client, ConnectOptions, Subscription};
use proto_core::client::CallSpec;
use proto_core::programs::remote::*;
use proto_core::xdr;
use spec_tests::daemon_min::DaemonMin;
use spec_tests::libvirtd::Libvirtd;

/// What a call answered: its reply body, or its error triple.
fn outcome(r: Result<bytes::Bytes, adapter_blocking::Error>) -> String {
    match r {
        Ok(b) => format!("ok {b:02x?}"),
        Err(e) => match e.remote() {
            Some(e) => format!("error {} {} {}", e.code.0, e.domain.0, e),
            None => format!("failed {e}"),
        },
    }
}

/// The events that arrived within `wait`, as (procedure, decoded fields).
fn events(sub: &Subscription, wait: Duration) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(Ok(ev)) = sub.recv_timeout(wait) {
        let text = match ev.proc_ {
            REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE => {
                let m: RemoteDomainEventLifecycleMsg = ev.decode().unwrap();
                format!("lifecycle {} {} {}", m.dom.name, m.event, m.detail)
            }
            REMOTE_PROC_NODE_DEVICE_EVENT_LIFECYCLE => {
                let m: RemoteNodeDeviceEventLifecycleMsg = ev.decode().unwrap();
                // Callback ids are the daemon's own numbering: compared as "registered first".
                format!("nodedev {} {} {}", m.dev.name, m.event, m.detail)
            }
            other => format!("event {other}"),
        };
        out.push(text);
    }
    out
}

fn raw(c: &Client, proc_: i32, args: &[u8]) -> String {
    outcome(c.call_raw(CallSpec::remote(proc_), args))
}

fn enc<T: xdr::XdrEncode>(v: &T) -> Vec<u8> {
    xdr::to_bytes(v).unwrap().to_vec()
}

/// One run of the scenario against the daemon at `uri`.
fn observe(uri: &str) -> Vec<String> {
    let wait = Duration::from_millis(700);
    let watcher = Client::connect(uri, &ConnectOptions::default()).unwrap();
    let sub = watcher.subscribe();
    let actor = Client::connect(uri, &ConnectOptions::default()).unwrap();
    let test = || actor.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let mut log = Vec::new();
    let mut step = |what: &str, result: String| log.push(format!("{what}: {result}"));

    step("deregister.none", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, &[]));
    step("register", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER, &[]));
    actor.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: test() }).unwrap();
    step("suspend.events", events(&sub, wait).join("; "));
    step("register.again", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER, &[]));
    step("register_any.lifecycle", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &enc(&0i32)));
    actor.call::<DomainResume>(&RemoteDomainResumeArgs { dom: test() }).unwrap();
    step("resume.events", events(&sub, wait).join("; "));
    step("deregister", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, &[]));
    step("deregister.again", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, &[]));
    step("deregister.third", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, &[]));
    actor.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: test() }).unwrap();
    step("after.events", events(&sub, wait).join("; "));
    actor.call::<DomainResume>(&RemoteDomainResumeArgs { dom: test() }).unwrap();
    let _ = events(&sub, wait);

    step("register_any.unsupported", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &enc(&16i32)));
    step("register_any.agent", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &enc(&15i32)));
    step("register_any.agent.again", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &enc(&15i32)));
    step("deregister_any.agent", raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &enc(&15i32)));
    let unknown = 4242i32;
    step("network.deregister.unknown", raw(&watcher, REMOTE_PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY, &enc(&unknown)));
    step(
        "pool.deregister.unknown",
        raw(&watcher, REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY, &enc(&unknown)),
    );
    step(
        "domain.callback.deregister.unknown",
        raw(&watcher, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &enc(&unknown)),
    );

    // Node devices: a callback for every device, one for scsi_host12 only, and a bad event id.
    let reg = |dev: Option<&str>, id: i32| {
        let args = RemoteConnectNodeDeviceEventRegisterAnyArgs {
            event_id: id,
            dev: dev.map(|n| RemoteNonnullNodeDevice { name: n.into() }),
        };
        watcher.call_raw(CallSpec::remote(REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY), &enc(&args))
    };
    step("nodedev.register.bad", outcome(reg(None, 2)));
    step("nodedev.register.missing", outcome(reg(Some("nope"), 0)));
    let all = reg(None, 0).map(|b| xdr::from_bytes::<RemoteConnectNodeDeviceEventRegisterAnyRet>(b).unwrap());
    step("nodedev.register", all.as_ref().map(|_| "ok").unwrap_or("error").to_owned());
    step("nodedev.register.update", outcome(reg(None, 1).map(|_| bytes::Bytes::new())));
    let xml = "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>\
               <wwnn>2000000011112222</wwnn><wwpn>1000000011112222</wwpn></capability></capability></device>";
    let create = RemoteNodeDeviceCreateXmlArgs { xml_desc: xml.into(), flags: 0 };
    step("nodedev.create", raw(&actor, REMOTE_PROC_NODE_DEVICE_CREATE_XML, &enc(&create)));
    step("nodedev.create.events", events(&sub, wait).join("; "));
    step("nodedev.register.one", outcome(reg(Some("scsi_host12"), 0).map(|_| bytes::Bytes::new())));
    let destroy = |name: &str| {
        raw(&actor, REMOTE_PROC_NODE_DEVICE_DESTROY, &enc(&RemoteNodeDeviceDestroyArgs { name: name.into() }))
    };
    step("nodedev.destroy", destroy("scsi_host12"));
    step("nodedev.destroy.events", events(&sub, wait).join("; "));
    step("nodedev.destroy.computer", destroy("computer"));
    step("nodedev.destroy.computer.events", events(&sub, wait).join("; "));
    if let Ok(r) = all {
        let args = RemoteConnectNodeDeviceEventDeregisterAnyArgs { callback_id: r.callback_id };
        step("nodedev.deregister", raw(&watcher, REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY, &enc(&args)));
        step("nodedev.deregister.again", {
            let text = raw(&watcher, REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY, &enc(&args));
            text.replace(&r.callback_id.to_string(), "ID")
        });
    }
    step("nodedev.create.again", raw(&actor, REMOTE_PROC_NODE_DEVICE_CREATE_XML, &enc(&create)));
    step("nodedev.create.again.events", events(&sub, wait).join("; "));
    log
}

#[test]
fn legacy_domain_events_and_node_device_events_as_libvirtd() {
    let Some(libvirtd) = Libvirtd::start_or_skip() else { return };
    let theirs = observe(&libvirtd.unix_uri());
    drop(libvirtd);
    let d = DaemonMin::start(std::path::Path::new(env!("CARGO_BIN_EXE_daemon-min")), "", &[]);
    let ours = observe(&d.unix_uri());
    drop(d);
    for (t, o) in theirs.iter().zip(&ours) {
        println!("libvirtd   {t}\ndaemon-min {o}");
    }
    assert_eq!(theirs, ours);
    // What the scenario shows, so that the comparison cannot pass on two empty logs.
    assert!(ours.iter().any(|l| l == "suspend.events: lifecycle test 3 0"), "{ours:#?}");
    assert!(ours.iter().any(|l| l == "nodedev.create.events: nodedev scsi_host12 0 0"), "{ours:#?}");
}
