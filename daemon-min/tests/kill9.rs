//! `--state-dir` under `kill -9`: clients define domains, define and undefine others, and create
//! volumes and upload into them, as fast as they can, recording each change the daemon
//! acknowledged; the daemon is killed in the middle of it and restarted on the same directory,
//! three times over (`KILL_ROUNDS` for more). Then every acknowledged define is there and every
//! acknowledged undefine is not, every acknowledged upload reads back byte for byte and an
//! unacknowledged one is either all there or not at all, nothing is torn (every domain's XML, as
//! dumped and as stored, parses), no temporary file is left anywhere in the directory, and the
//! transient domains (create-xml) are gone. On both runtimes.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions, StreamItem};
use bytes::Bytes;
use common::{daemon_bin, RUNTIMES};
use daemon_min::hypervisor::Hypervisor;
use proto_core::client::CallSpec;
use proto_core::programs::remote::{
    ConnectListAllDomains, DomainCreateXml, DomainDefineXml, DomainGetXmlDesc, RemoteConnectListAllDomainsArgs,
    RemoteDomainCreateXmlArgs, RemoteDomainDefineXmlArgs, RemoteDomainGetXmlDescArgs,
};
use proto_core::programs::remote::{
    DomainUndefine, RemoteDomainUndefineArgs, RemoteStoragePoolLookupByNameArgs, RemoteStorageVolCreateXmlArgs,
    RemoteStorageVolDownloadArgs, RemoteStorageVolLookupByNameArgs, RemoteStorageVolUploadArgs,
    StoragePoolLookupByName, StorageVolCreateXml, StorageVolDownload, StorageVolLookupByName, StorageVolUpload,
};
use proto_core::xdr::to_bytes;
use proto_core::XdrString;
use spec_tests::daemon_min::DaemonMin;

/// Threads defining persistent domains.
const DEFINERS: usize = 3;
/// Acknowledged defines to wait for before the kill.
const KILL_AFTER: usize = 150;
/// `VIR_DOMAIN_XML_INACTIVE`.
const XML_INACTIVE: u32 = 2;

fn xml(name: &str, n: usize) -> String {
    // Sizes vary, so that a torn write would show as a truncated document.
    let description = "x".repeat(n % 700);
    format!(
        "<domain type='test'><name>{name}</name><description>{description}</description>\
         <memory unit='KiB'>{}</memory><vcpu>{}</vcpu><os><type>hvm</type></os></domain>",
        1024 * (1 + n % 64),
        1 + n % 4
    )
}

/// What one burst did: defines acknowledged, defines attempted, transient domains created,
/// undefines acknowledged, uploads acknowledged and attempted (volume name → content byte).
#[derive(Debug, Default)]
struct Burst {
    acked: BTreeSet<String>,
    attempted: BTreeSet<String>,
    transient: Vec<String>,
    undefined: BTreeSet<String>,
    uploaded: BTreeSet<(String, u8)>,
    upload_attempted: BTreeSet<(String, u8)>,
}

/// Bytes per upload: several of libvirt's stream packets.
const UPLOAD: usize = 600_000;

/// Starts the daemon on the state directory, runs the clients until `KILL_AFTER` defines are
/// acknowledged, then kills the daemon with SIGKILL.
fn burst(args: &[&str], round: usize) -> Burst {
    let mut d = DaemonMin::start(daemon_bin(), "", args);
    let uri = d.unix_uri();
    let acked = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let attempted = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let transient = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..DEFINERS {
        let (uri, acked, attempted, stop) = (uri.clone(), acked.clone(), attempted.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let c = Client::connect(&uri, &ConnectOptions::default()).expect("connect");
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("crash-{round}-{t}-{n}");
                attempted.lock().unwrap().insert(name.clone());
                let args = RemoteDomainDefineXmlArgs { xml: XdrString::from(xml(&name, n).as_str()) };
                match c.call::<DomainDefineXml>(&args) {
                    Ok(r) => {
                        assert_eq!(r.dom.name.to_string(), name);
                        acked.lock().unwrap().insert(name);
                    }
                    Err(_) => break, // killed
                }
            }
        }));
    }
    {
        let (uri, transient, stop) = (uri.clone(), transient.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let c = Client::connect(&uri, &ConnectOptions::default()).expect("connect");
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("transient-{round}-{n}");
                let args = RemoteDomainCreateXmlArgs { xml_desc: XdrString::from(xml(&name, n).as_str()), flags: 0 };
                match c.call::<DomainCreateXml>(&args) {
                    Ok(_) => transient.lock().unwrap().push(name),
                    Err(_) => break,
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }
    let undefined = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    {
        let (uri, undefined, attempted, stop) = (uri.clone(), undefined.clone(), attempted.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let c = Client::connect(&uri, &ConnectOptions::default()).expect("connect");
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("gone-{round}-{n}");
                attempted.lock().unwrap().insert(name.clone());
                let args = RemoteDomainDefineXmlArgs { xml: XdrString::from(xml(&name, n).as_str()) };
                let Ok(r) = c.call::<DomainDefineXml>(&args) else { break };
                if c.call::<DomainUndefine>(&RemoteDomainUndefineArgs { dom: r.dom }).is_err() {
                    break;
                }
                undefined.lock().unwrap().insert(name);
            }
        }));
    }
    let uploaded = Arc::new(Mutex::new(BTreeSet::<(String, u8)>::new()));
    let upload_attempted = Arc::new(Mutex::new(BTreeSet::<(String, u8)>::new()));
    {
        let (uri, uploaded, upload_attempted, stop) =
            (uri.clone(), uploaded.clone(), upload_attempted.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let c = Client::connect(&uri, &ConnectOptions::default()).expect("connect");
            let pool_args = RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() };
            let Ok(pool) = c.call::<StoragePoolLookupByName>(&pool_args) else { return };
            for n in 0..200usize {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("up-{round}-{n}");
                let byte = 1 + (n % 250) as u8;
                let vxml = format!("<volume><name>{name}</name><capacity>{UPLOAD}</capacity></volume>");
                let args = RemoteStorageVolCreateXmlArgs { pool: pool.pool.clone(), xml: vxml.into(), flags: 0 };
                let Ok(v) = c.call::<StorageVolCreateXml>(&args) else { break };
                upload_attempted.lock().unwrap().insert((name.clone(), byte));
                let args = RemoteStorageVolUploadArgs { vol: v.vol, offset: 0, length: 0, flags: 0 };
                let Ok((_, mut up)) = c.call_stream(CallSpec::of::<StorageVolUpload>(), &to_bytes(&args).unwrap())
                else {
                    break;
                };
                if up.send(Bytes::from(vec![byte; UPLOAD])).is_err() || up.finish().is_err() {
                    break;
                }
                uploaded.lock().unwrap().insert((name, byte));
            }
        }));
    }
    let t0 = Instant::now();
    while acked.lock().unwrap().len() < KILL_AFTER && t0.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(5));
    }
    d.signal("KILL");
    let status = d.wait_exit(Duration::from_secs(5)).expect("killed");
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a client thread failed");
    }
    assert!(!status.success(), "{status}");
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let transient = transient.lock().unwrap().clone();
    assert!(acked.len() >= KILL_AFTER, "only {} defines acknowledged in {:?}", acked.len(), t0.elapsed());
    assert!(!transient.is_empty());
    let undefined = undefined.lock().unwrap().clone();
    let uploaded = uploaded.lock().unwrap().clone();
    let upload_attempted = upload_attempted.lock().unwrap().clone();
    Burst { acked, attempted, transient, undefined, uploaded, upload_attempted }
}

/// A volume's content, downloaded.
fn download(c: &Client, name: &str) -> Option<Vec<u8>> {
    let pool = c
        .call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() })
        .unwrap()
        .pool;
    let vol = c.call::<StorageVolLookupByName>(&RemoteStorageVolLookupByNameArgs { pool, name: name.into() }).ok()?.vol;
    let args = RemoteStorageVolDownloadArgs { vol, offset: 0, length: 0, flags: 0 };
    let (_, mut down) = c.call_stream(CallSpec::of::<StorageVolDownload>(), &to_bytes(&args).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(item) = down.recv() {
        match item {
            StreamItem::Data(d) => out.extend_from_slice(&d),
            StreamItem::Eof => break,
            other => panic!("download {name}: {other:?}"),
        }
    }
    down.finish().unwrap();
    Some(out)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Rounds of define bursts ended by `kill -9` on the same state directory, then the checks.
fn kill_9_in_a_burst_of_defines(runtime: &[&str]) {
    let rounds: usize = std::env::var("KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let state = tempfile::tempdir().unwrap();
    let args: Vec<&str> = runtime.iter().copied().chain(["--state-dir", state.path().to_str().unwrap()]).collect();
    let mut all_bursts = Burst::default();
    for round in 0..rounds {
        let b = burst(&args, round);
        all_bursts.acked.extend(b.acked);
        all_bursts.attempted.extend(b.attempted);
        all_bursts.transient.extend(b.transient);
        all_bursts.undefined.extend(b.undefined);
        all_bursts.uploaded.extend(b.uploaded);
        all_bursts.upload_attempted.extend(b.upload_attempted);
    }
    let Burst { acked, attempted, transient, undefined, uploaded, upload_attempted } = all_bursts;

    let d = DaemonMin::start(daemon_bin(), "", &args);
    let c = Client::connect(&d.unix_uri(), &ConnectOptions::default()).expect("connect after the restart");
    let all = c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }).unwrap();
    let names: BTreeSet<String> = all.domains.iter().map(|dom| dom.name.to_string()).collect();
    let missing: Vec<&String> = acked.difference(&names).collect();
    assert!(missing.is_empty(), "acknowledged defines lost by kill -9: {missing:?}");
    let revived: Vec<&String> = undefined.iter().filter(|n| names.contains(*n)).collect();
    assert!(revived.is_empty(), "acknowledged undefines undone by kill -9: {revived:?}");
    // Uploads: acknowledged ones read back exactly; any other is all there or not at all.
    for (name, byte) in &upload_attempted {
        let Some(content) = download(&c, name) else {
            panic!("volume {name} (its create was acknowledged) is gone");
        };
        let whole = content.len() == UPLOAD && content.iter().all(|b| b == byte);
        let none = content.iter().all(|&b| b == 0);
        if uploaded.contains(&(name.clone(), *byte)) {
            assert!(whole, "acknowledged upload into {name} lost or torn");
        } else {
            assert!(whole || none, "unacknowledged upload into {name} half there");
        }
    }
    let back: Vec<&String> = transient.iter().filter(|n| names.contains(*n)).collect();
    assert!(back.is_empty(), "transient domains came back: {back:?}");
    let unknown: Vec<&String> =
        names.iter().filter(|n| n.as_str() != "test" && !attempted.contains(n.as_str())).collect();
    assert!(unknown.is_empty(), "domains nobody defined: {unknown:?}");
    // Nothing torn: every domain dumps, and what it dumps parses as a definition.
    let mut check = Hypervisor::new_default("check");
    let test = check.domain_lookup_by_name("test").unwrap();
    check.domain_destroy(&test, 0).unwrap();
    check.domain_undefine(&test, 0).unwrap();
    for dom in &all.domains {
        for flags in [0, XML_INACTIVE] {
            let x = c
                .call::<DomainGetXmlDesc>(&RemoteDomainGetXmlDescArgs { dom: dom.clone(), flags })
                .unwrap_or_else(|e| panic!("dumpxml {}: {e}", dom.name))
                .xml
                .to_string();
            let h =
                check.domain_define_xml(&x, 0).unwrap_or_else(|e| panic!("{} does not parse: {e:?}\n{x}", dom.name));
            check.domain_undefine(&h, 0).unwrap();
        }
    }
    // No temporary file is left anywhere in the directory.
    let mut files = Vec::new();
    files_under(state.path(), &mut files);
    let tmp: Vec<_> = files.iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(tmp.is_empty(), "left over: {tmp:?}");
    // And every stored document parses.
    for entry in std::fs::read_dir(state.path().join("domains")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".xml") && !name.ends_with(".live.xml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let h = check.domain_define_xml(&text, 0).unwrap_or_else(|e| panic!("{name} is torn: {e:?}\n{text}"));
            check.domain_undefine(&h, 0).unwrap();
        }
    }
    eprintln!(
        "{runtime:?}: {rounds} rounds, {} defines acknowledged before kill -9 ({} attempted), {} on restart; \
         {} undefines acknowledged, none back; {} uploads acknowledged ({} attempted), all intact; {} transient gone",
        acked.len(),
        attempted.len(),
        names.len() - 1,
        undefined.len(),
        uploaded.len(),
        upload_attempted.len(),
        transient.len()
    );
}

#[test]
fn smol_runtime() {
    kill_9_in_a_burst_of_defines(RUNTIMES[0].1);
}

#[test]
fn blocking_runtime() {
    kill_9_in_a_burst_of_defines(RUNTIMES[1].1);
}
