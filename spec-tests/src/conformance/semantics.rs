//! The semantics tier: scenarios over the test driver's `test:///default` (the domain `test`,
//! the network `default`, the pool `default-pool`), through the typed client
//! ([`adapter_blocking::Client`]). Replies are decoded with the generated types and observed
//! field by field; volatile fields (CPU time, callback ids) are masked. Every scenario puts
//! the driver back as it found it, so the tier can run again on the same daemon.

use std::time::Duration;

use adapter_blocking::{Client, ConnectOptions, Error, StreamItem};
use proto_core::client::CallSpec;
use proto_core::events::{EventFamily, TypedEvent};
use proto_core::programs::remote::*;
use proto_core::xdr::to_bytes;
use proto_core::CallError;

use super::{ensure, Check, Observation, Target, Verdict};

/// The checks of the tier.
#[must_use]
pub fn checks() -> Vec<Check> {
    vec![
        Check { name: "domain_lifecycle", run: domain_lifecycle },
        Check { name: "domain_define_undefine", run: domain_define_undefine },
        Check { name: "domain_errors", run: domain_errors },
        Check { name: "networks", run: networks },
        Check { name: "pools_and_volumes", run: pools_and_volumes },
        Check { name: "stream_screenshot", run: stream_screenshot },
        Check { name: "stream_volume_holes_both_ways", run: stream_volume_holes_both_ways },
        Check { name: "events_domain", run: events_domain },
        Check { name: "events_network", run: events_network },
        Check { name: "events_storage_pool", run: events_storage_pool },
        Check { name: "read_only_refusals", run: read_only_refusals },
    ]
}

fn client(t: &Target, read_only: bool) -> Result<Client, String> {
    let opts = ConnectOptions { read_only, call_timeout: Some(Duration::from_secs(20)), ..ConnectOptions::default() };
    Client::connect(&t.uri, &opts).map_err(|e| format!("cannot connect to {}: {e}", t.uri))
}

/// A call's outcome as an observation line: the decoded reply, or the error triple.
fn seen<T: std::fmt::Debug>(what: &str, r: &Result<T, Error>) -> String {
    match r {
        Ok(v) => format!("{what}: {v:?}"),
        Err(e) => format!("{what}: {}", error_line(e)),
    }
}

fn error_line(e: &Error) -> String {
    match e {
        Error::Call(CallError::Remote(r)) => format!(
            "error {}/{} {:?}",
            r.code.0,
            r.domain.0,
            r.message.as_ref().map(ToString::to_string).unwrap_or_default()
        ),
        other => format!("failed: {other}"),
    }
}

fn ok<T>(what: &str, r: Result<T, Error>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {}", error_line(&e)))
}

fn lookup(c: &Client, name: &str) -> Result<RemoteNonnullDomain, String> {
    ok("DOMAIN_LOOKUP_BY_NAME", c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: name.into() }))
        .map(|r| r.dom)
}

fn state(c: &Client, dom: &RemoteNonnullDomain) -> Result<(i32, i32), String> {
    let r = ok("DOMAIN_GET_STATE", c.call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 }))?;
    Ok((r.state, r.reason))
}

fn domain_names(c: &Client) -> Result<Vec<String>, String> {
    let r = ok(
        "CONNECT_LIST_ALL_DOMAINS",
        c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }),
    )?;
    let mut v: Vec<String> = r.domains.iter().map(|d| d.name.to_string()).collect();
    v.sort();
    Ok(v)
}

fn domain_lifecycle(t: &Target) -> Verdict {
    let c = client(t, false)?;
    let test = lookup(&c, "test")?;
    let mut out = vec![format!("test: uuid {:02x?} id {}", test.uuid, test.id)];
    out.push(format!("test state {:?}", state(&c, &test)?));
    // A domain of its own, so that `test` (and its id) stays as the corpus recorded it.
    let xml = LIFECYCLE.into();
    let dom = ok("DOMAIN_DEFINE_XML", c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml }))?.dom;
    let result = (|| -> Result<(), String> {
        let s = state(&c, &dom)?;
        ensure(s == (5, 0), || format!("defined: state {s:?}, libvirtd gives (5, 0) shut off, unknown"))?;
        ok("create", c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom: dom.clone() }))?;
        let started = lookup(&c, "conformance-life")?;
        out.push(format!("started: id {} state {:?}", started.id, state(&c, &dom)?));
        type Step = fn(&Client, &RemoteNonnullDomain) -> Result<(), Error>;
        let steps: [(&str, Step, (i32, i32)); 4] = [
            ("suspend", |c, d| c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: d.clone() }), (3, 1)),
            ("resume", |c, d| c.call::<DomainResume>(&RemoteDomainResumeArgs { dom: d.clone() }), (1, 5)),
            ("destroy", |c, d| c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: d.clone() }), (5, 2)),
            ("create", |c, d| c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom: d.clone() }), (1, 1)),
        ];
        for (what, f, expect) in steps {
            ok(what, f(&c, &dom))?;
            let s = state(&c, &dom)?;
            ensure(s == expect, || format!("after {what}: state {s:?}, libvirtd gives {expect:?}"))?;
            out.push(format!("after {what}: {s:?}"));
        }
        // Refusals: resume while running, suspend twice.
        out.push(seen("resume while running", &c.call::<DomainResume>(&RemoteDomainResumeArgs { dom: dom.clone() })));
        ok("suspend", c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: dom.clone() }))?;
        out.push(seen("suspend twice", &c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: dom.clone() })));
        let info = ok("DOMAIN_GET_INFO", c.call::<DomainGetInfo>(&RemoteDomainGetInfoArgs { dom: dom.clone() }))?;
        out.push(format!(
            "info: state {} max_mem {} memory {} nr_virt_cpu {} (cpu_time masked)",
            info.state, info.max_mem, info.memory, info.nr_virt_cpu
        ));
        ok("destroy", c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: dom.clone() }))?;
        Ok(())
    })();
    let _ = c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: dom.clone() });
    ok("DOMAIN_UNDEFINE", c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom }))?;
    result.map(|()| out)
}

const LIFECYCLE: &str = "<domain type='test'><name>conformance-life</name><memory>8192</memory>\
<os><type>hvm</type></os></domain>";

const DEFINED: &str = "<domain type='test'><name>conformance-defined</name><memory>8192</memory>\
<os><type>hvm</type></os></domain>";

fn domain_define_undefine(t: &Target) -> Verdict {
    let c = client(t, false)?;
    let before = domain_names(&c)?;
    let dom =
        ok("DOMAIN_DEFINE_XML", c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: DEFINED.into() }))?.dom;
    let mut out = vec![format!("defined {} id {}", dom.name, dom.id)];
    let names = domain_names(&c)?;
    ensure(names.contains(&"conformance-defined".to_owned()), || format!("not listed after define: {names:?}"))?;
    out.push(format!("domains {names:?}"));
    out.push(seen("persistent", &c.call::<DomainIsPersistent>(&RemoteDomainIsPersistentArgs { dom: dom.clone() })));
    out.push(seen("active", &c.call::<DomainIsActive>(&RemoteDomainIsActiveArgs { dom: dom.clone() })));
    out.push(seen("state", &c.call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 })));
    ok("DOMAIN_UNDEFINE", c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom: dom.clone() }))?;
    let after = domain_names(&c)?;
    ensure(after == before, || format!("after undefine: {after:?}, before define: {before:?}"))?;
    out.push(seen(
        "lookup after undefine",
        &c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "conformance-defined".into() }),
    ));
    Ok(out)
}

fn domain_errors(t: &Target) -> Verdict {
    let c = client(t, false)?;
    let mut out =
        vec![seen("lookup nope", &c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "nope".into() }))];
    out.push(seen("lookup id 4242", &c.call::<DomainLookupById>(&RemoteDomainLookupByIdArgs { id: 4242 })));
    out.push(seen("define garbage", &c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: "<domain".into() })));
    ensure(out[0].contains("error 42/12"), || {
        format!("{}: libvirtd gives error 42/12 (VIR_ERR_NO_DOMAIN, VIR_FROM_TEST)", out[0])
    })?;
    Ok(out)
}

fn networks(t: &Target) -> Verdict {
    let c = client(t, false)?;
    let all = ok(
        "CONNECT_LIST_ALL_NETWORKS",
        c.call::<ConnectListAllNetworks>(&RemoteConnectListAllNetworksArgs { need_results: 1, flags: 0 }),
    )?;
    let mut names: Vec<String> = all.nets.iter().map(|n| n.name.to_string()).collect();
    names.sort();
    let mut out = vec![format!("networks {names:?}")];
    let net = ok(
        "NETWORK_LOOKUP_BY_NAME",
        c.call::<NetworkLookupByName>(&RemoteNetworkLookupByNameArgs { name: "default".into() }),
    )?
    .net;
    out.push(format!("default uuid {:02x?}", net.uuid));
    out.push(seen("bridge", &c.call::<NetworkGetBridgeName>(&RemoteNetworkGetBridgeNameArgs { net: net.clone() })));
    out.push(seen("active", &c.call::<NetworkIsActive>(&RemoteNetworkIsActiveArgs { net: net.clone() })));
    out.push(seen("persistent", &c.call::<NetworkIsPersistent>(&RemoteNetworkIsPersistentArgs { net: net.clone() })));
    out.push(seen("autostart", &c.call::<NetworkGetAutostart>(&RemoteNetworkGetAutostartArgs { net: net.clone() })));
    ok("NETWORK_DESTROY", c.call::<NetworkDestroy>(&RemoteNetworkDestroyArgs { net: net.clone() }))?;
    out.push(seen("active after destroy", &c.call::<NetworkIsActive>(&RemoteNetworkIsActiveArgs { net: net.clone() })));
    out.push(seen("destroy again", &c.call::<NetworkDestroy>(&RemoteNetworkDestroyArgs { net: net.clone() })));
    ok("NETWORK_CREATE", c.call::<NetworkCreate>(&RemoteNetworkCreateArgs { net: net.clone() }))?;
    out.push(seen(
        "lookup nope",
        &c.call::<NetworkLookupByName>(&RemoteNetworkLookupByNameArgs { name: "nope".into() }),
    ));
    Ok(out)
}

fn pool(c: &Client) -> Result<RemoteNonnullStoragePool, String> {
    ok(
        "STORAGE_POOL_LOOKUP_BY_NAME",
        c.call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() }),
    )
    .map(|r| r.pool)
}

fn volume_xml(name: &str) -> String {
    format!("<volume><name>{name}</name><capacity unit='MiB'>16</capacity><allocation>0</allocation></volume>")
}

fn pools_and_volumes(t: &Target) -> Verdict {
    let c = client(t, false)?;
    let all = ok(
        "CONNECT_LIST_ALL_STORAGE_POOLS",
        c.call::<ConnectListAllStoragePools>(&RemoteConnectListAllStoragePoolsArgs { need_results: 1, flags: 0 }),
    )?;
    let mut names: Vec<String> = all.pools.iter().map(|p| p.name.to_string()).collect();
    names.sort();
    let mut out = vec![format!("pools {names:?}")];
    let pool = pool(&c)?;
    out.push(seen("pool info", &c.call::<StoragePoolGetInfo>(&RemoteStoragePoolGetInfoArgs { pool: pool.clone() })));
    let vol = ok(
        "STORAGE_VOL_CREATE_XML",
        c.call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs {
            pool: pool.clone(),
            xml: volume_xml("conformance.img").into(),
            flags: 0,
        }),
    )?
    .vol;
    out.push(format!("volume {} key {}", vol.name, vol.key));
    out.push(seen("volume info", &c.call::<StorageVolGetInfo>(&RemoteStorageVolGetInfoArgs { vol: vol.clone() })));
    let vols = ok(
        "STORAGE_POOL_LIST_ALL_VOLUMES",
        c.call::<StoragePoolListAllVolumes>(&RemoteStoragePoolListAllVolumesArgs {
            pool: pool.clone(),
            need_results: 1,
            flags: 0,
        }),
    )?;
    let listed: Vec<String> = vols.vols.iter().map(|v| v.name.to_string()).collect();
    ensure(listed.contains(&"conformance.img".to_owned()), || format!("volume not listed: {listed:?}"))?;
    out.push(format!("volumes {listed:?}"));
    out.push(seen(
        "create it again",
        &c.call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs {
            pool: pool.clone(),
            xml: volume_xml("conformance.img").into(),
            flags: 0,
        }),
    ));
    ok("STORAGE_VOL_DELETE", c.call::<StorageVolDelete>(&RemoteStorageVolDeleteArgs { vol: vol.clone(), flags: 0 }))?;
    out.push(seen(
        "lookup after delete",
        &c.call::<StorageVolLookupByName>(&RemoteStorageVolLookupByNameArgs { pool, name: "conformance.img".into() }),
    ));
    Ok(out)
}

fn stream_screenshot(t: &Target) -> Verdict {
    let c = client(t, false)?;
    let dom = lookup(&c, "test")?;
    let args = to_bytes(&RemoteDomainScreenshotArgs { dom, screen: 0, flags: 0 }).map_err(|e| e.to_string())?;
    let (reply, mut s) = ok("DOMAIN_SCREENSHOT", c.call_stream(CallSpec::of::<DomainScreenshot>(), &args))?;
    let mime = proto_core::xdr::from_bytes::<RemoteDomainScreenshotRet>(reply).map_err(|e| e.to_string())?;
    let mut data = vec![];
    loop {
        match s.recv() {
            Some(StreamItem::Data(d)) => data.extend_from_slice(&d),
            Some(StreamItem::Eof) => break,
            other => return Err(format!("screenshot stream: {other:?}")),
        }
    }
    ok("finish", s.finish())?;
    ensure(data.starts_with(b"\x89PNG"), || "the screenshot is not a PNG".into())?;
    Ok(vec![format!("mime {:?}, {} bytes", mime.mime, data.len())])
}

/// libvirt's test driver has no volume upload/download (it answers "not supported"); where a
/// daemon serves them, holes must survive both ways. The observation is the same either way.
fn stream_volume_holes_both_ways(t: &Target) -> Verdict {
    const SPARSE: u32 = 1;
    const HOLE: i64 = 1 << 20;
    let c = client(t, false)?;
    let pool = pool(&c)?;
    let vol = ok(
        "STORAGE_VOL_CREATE_XML",
        c.call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs {
            pool,
            xml: volume_xml("holes.img").into(),
            flags: 0,
        }),
    )?
    .vol;
    let result = (|| -> Result<bool, String> {
        let args = to_bytes(&RemoteStorageVolUploadArgs { vol: vol.clone(), offset: 0, length: 0, flags: SPARSE })
            .map_err(|e| e.to_string())?;
        let mut up = match c.call_stream(CallSpec::of::<StorageVolUpload>(), &args) {
            Ok((_, up)) => up,
            Err(Error::Call(CallError::Remote(e))) if e.code.0 == 3 => return Ok(false),
            Err(e) => return Err(format!("STORAGE_VOL_UPLOAD: {}", error_line(&e))),
        };
        up.send(bytes::Bytes::from_static(b"head")).map_err(|e| e.to_string())?;
        up.send_hole(HOLE).map_err(|e| e.to_string())?;
        up.send(bytes::Bytes::from_static(b"tail")).map_err(|e| e.to_string())?;
        ok("upload finish", up.finish())?;
        let args = to_bytes(&RemoteStorageVolDownloadArgs {
            vol: vol.clone(),
            offset: 0,
            length: 8 + HOLE as u64,
            flags: SPARSE,
        })
        .map_err(|e| e.to_string())?;
        let (_, mut down) = ok("STORAGE_VOL_DOWNLOAD", c.call_stream(CallSpec::of::<StorageVolDownload>(), &args))?;
        let mut shape = vec![];
        loop {
            match down.recv() {
                Some(StreamItem::Data(d)) => shape.push(format!("data {:?}", String::from_utf8_lossy(&d))),
                Some(StreamItem::Hole(h)) => shape.push(format!("hole {}", h.length)),
                Some(StreamItem::Eof) => break,
                other => return Err(format!("download: {other:?}")),
            }
        }
        ok("download finish", down.finish())?;
        let want = ["data \"head\"".to_owned(), format!("hole {HOLE}"), "data \"tail\"".to_owned()];
        ensure(shape == want, || format!("downloaded {shape:?}, uploaded {want:?}"))?;
        Ok(true)
    })();
    ok("STORAGE_VOL_DELETE", c.call::<StorageVolDelete>(&RemoteStorageVolDeleteArgs { vol, flags: 0 }))?;
    result.map(|_| vec!["holes preserved both ways, or upload not supported".into()])
}

/// Registers for `family` event `event_id` on one connection, runs `trigger` on another, and
/// returns the events' observation lines (callback ids masked).
fn events(
    t: &Target,
    family: EventFamily,
    event_id: i32,
    want: usize,
    trigger: impl FnOnce(&Client) -> Result<(), String>,
) -> Result<Observation, String> {
    let listener = client(t, false)?;
    let reg = ok("register", listener.register_events::<RemoteNonnullDomain>(family, event_id, None))?;
    let c = client(t, false)?;
    trigger(&c)?;
    let mut out = vec![];
    while out.len() < want {
        match reg.recv_timeout(Duration::from_secs(5)) {
            Some(Ok(TypedEvent::Remote(ev))) => out.push(event_line(&ev)),
            Some(Ok(other)) => out.push(format!("{other:?}")),
            Some(Err(e)) => return Err(format!("event stream ended: {e}")),
            None => return Err(format!("{} of {want} events within 5 s: {out:?}", out.len())),
        }
    }
    Ok(out)
}

fn event_line(ev: &Event) -> String {
    match ev {
        Event::DomainEventCallbackLifecycle(m) => {
            format!("domain {} lifecycle {} detail {}", m.msg.dom.name, m.msg.event, m.msg.detail)
        }
        Event::NetworkEventLifecycle(m) => format!("network {} lifecycle {} detail {}", m.net.name, m.event, m.detail),
        Event::StoragePoolEventLifecycle(m) => {
            format!("pool {} lifecycle {} detail {}", m.pool.name, m.event, m.detail)
        }
        other => format!("{other:?}"),
    }
}

fn events_domain(t: &Target) -> Verdict {
    // A domain of its own: `test` keeps the state reasons the corpus recorded.
    let c = client(t, false)?;
    let dom =
        ok("DOMAIN_DEFINE_XML", c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: EVENTS.into() }))?.dom;
    ok("create", c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom: dom.clone() }))?;
    let out = events(t, EventFamily::Domain, 0, 2, |c| {
        let dom = lookup(c, "conformance-events")?;
        ok("suspend", c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: dom.clone() }))?;
        ok("resume", c.call::<DomainResume>(&RemoteDomainResumeArgs { dom }))
    });
    let _ = c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom: dom.clone() });
    ok("DOMAIN_UNDEFINE", c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom }))?;
    let out = out?;
    // VIR_DOMAIN_EVENT_SUSPENDED (3) PAUSED (0), RESUMED (4) UNPAUSED (0)
    let want = ["domain conformance-events lifecycle 3 detail 0", "domain conformance-events lifecycle 4 detail 0"];
    ensure(out == want, || format!("events {out:?}, libvirtd sends {want:?}"))?;
    Ok(out)
}

const EVENTS: &str = "<domain type='test'><name>conformance-events</name><memory>8192</memory>\
<os><type>hvm</type></os></domain>";

fn events_network(t: &Target) -> Verdict {
    let out = events(t, EventFamily::Network, 0, 2, |c| {
        let net =
            ok("lookup", c.call::<NetworkLookupByName>(&RemoteNetworkLookupByNameArgs { name: "default".into() }))?.net;
        ok("destroy", c.call::<NetworkDestroy>(&RemoteNetworkDestroyArgs { net: net.clone() }))?;
        ok("create", c.call::<NetworkCreate>(&RemoteNetworkCreateArgs { net }))
    })?;
    // VIR_NETWORK_EVENT_STOPPED (3), STARTED (2)
    let want = ["network default lifecycle 3 detail 0", "network default lifecycle 2 detail 0"];
    ensure(out == want, || format!("events {out:?}, libvirtd sends {want:?}"))?;
    Ok(out)
}

fn events_storage_pool(t: &Target) -> Verdict {
    let out = events(t, EventFamily::StoragePool, 0, 2, |c| {
        let p = pool(c)?;
        ok("destroy", c.call::<StoragePoolDestroy>(&RemoteStoragePoolDestroyArgs { pool: p.clone() }))?;
        ok("create", c.call::<StoragePoolCreate>(&RemoteStoragePoolCreateArgs { pool: p, flags: 0 }))
    })?;
    // VIR_STORAGE_POOL_EVENT_STOPPED (3), STARTED (2)
    let want = ["pool default-pool lifecycle 3 detail 0", "pool default-pool lifecycle 2 detail 0"];
    ensure(out == want, || format!("events {out:?}, libvirtd sends {want:?}"))?;
    Ok(out)
}

fn read_only_refusals(t: &Target) -> Verdict {
    let c = client(t, true)?;
    let dom = lookup(&c, "test")?;
    let mut out = vec![seen(
        "state (allowed)",
        &c.call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 }),
    )];
    let refused = [
        seen("suspend", &c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom: dom.clone() })),
        seen("destroy", &c.call::<DomainDestroy>(&RemoteDomainDestroyArgs { dom })),
        seen("define", &c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: DEFINED.into() })),
    ];
    for line in &refused {
        // "operation forbidden: read only access prevents …" (29, VIR_ERR_OPERATION_DENIED), VIR_FROM_CONN (20)
        ensure(line.contains("error 29/20"), || format!("{line}: libvirtd refuses it with error 29/20"))?;
    }
    out.extend(refused);
    Ok(out)
}
