//! `--state-dir` under `kill -9`: clients define domains as fast as they can and record each
//! define the daemon acknowledged; the daemon is killed in the middle of it and restarted on
//! the same directory, three times over. Then every acknowledged define is there, nothing is
//! torn (every domain's XML, as dumped and as stored, parses), and the transient domains
//! (create-xml) are gone. On both runtimes.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions};
use common::{daemon_bin, RUNTIMES};
use daemon_min::hypervisor::Hypervisor;
use proto_core::programs::remote::{
    ConnectListAllDomains, DomainCreateXml, DomainDefineXml, DomainGetXmlDesc, RemoteConnectListAllDomainsArgs,
    RemoteDomainCreateXmlArgs, RemoteDomainDefineXmlArgs, RemoteDomainGetXmlDescArgs,
};
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

/// What one burst did: defines acknowledged, defines attempted, transient domains created.
#[derive(Debug, Default)]
struct Burst {
    acked: BTreeSet<String>,
    attempted: BTreeSet<String>,
    transient: Vec<String>,
}

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
    Burst { acked, attempted, transient }
}

/// Rounds of define bursts ended by `kill -9` on the same state directory, then the checks.
fn kill_9_in_a_burst_of_defines(runtime: &[&str]) {
    const ROUNDS: usize = 3;
    let state = tempfile::tempdir().unwrap();
    let args: Vec<&str> = runtime.iter().copied().chain(["--state-dir", state.path().to_str().unwrap()]).collect();
    let mut all_bursts = Burst::default();
    for round in 0..ROUNDS {
        let b = burst(&args, round);
        all_bursts.acked.extend(b.acked);
        all_bursts.attempted.extend(b.attempted);
        all_bursts.transient.extend(b.transient);
    }
    let Burst { acked, attempted, transient } = all_bursts;

    let d = DaemonMin::start(daemon_bin(), "", &args);
    let c = Client::connect(&d.unix_uri(), &ConnectOptions::default()).expect("connect after the restart");
    let all = c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 }).unwrap();
    let names: BTreeSet<String> = all.domains.iter().map(|dom| dom.name.to_string()).collect();
    let missing: Vec<&String> = acked.difference(&names).collect();
    assert!(missing.is_empty(), "acknowledged defines lost by kill -9: {missing:?}");
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
    // And so does every stored document; no temporary file is left.
    for entry in std::fs::read_dir(state.path().join("domains")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "left over: {name}");
        if name.ends_with(".xml") && !name.ends_with(".live.xml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let h = check.domain_define_xml(&text, 0).unwrap_or_else(|e| panic!("{name} is torn: {e:?}\n{text}"));
            check.domain_undefine(&h, 0).unwrap();
        }
    }
    eprintln!(
        "{runtime:?}: {ROUNDS} rounds, {} defines acknowledged before kill -9 ({} attempted), {} on restart; \
         {} transient gone",
        acked.len(),
        attempted.len(),
        names.len() - 1,
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
