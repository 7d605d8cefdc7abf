//! Persistence never runs on the threads that serve clients: with a deliberately slow state
//! directory (every fsync 25 ms longer, so a define takes ~100 ms to become durable), one
//! client defining domains in a loop does not raise another client's `DOMAIN_GET_STATE`
//! latency by more than 2× (medians over 1.5 s of calls with the writer on, and 1.5 s with it
//! paused, in six alternating rounds), on both runtimes. Each define is
//! still acknowledged only once it is durable (it takes at least the slow fsyncs' time).
//!
//! Before persistence had its own thread the fsyncs ran on the thread that dispatched the define:
//! the reader's median went from 40–110 µs to 445 ms on the blocking runtime (its one poll loop
//! stood still) and to 112 ms on smol.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_blocking::{Client, ConnectOptions};
use common::{daemon_bin, serial};
use proto_core::programs::remote::*;
use spec_tests::daemon_min::DaemonMin;

const FSYNC_DELAY_MS: u64 = 25;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Latencies of `DOMAIN_GET_STATE` calls made for `how_long`.
fn get_state_latencies(c: &Client, how_long: Duration) -> Vec<Duration> {
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let args = RemoteDomainGetStateArgs { dom, flags: 0 };
    let t0 = Instant::now();
    let mut out = Vec::new();
    while t0.elapsed() < how_long {
        let t = Instant::now();
        c.call::<DomainGetState>(&args).unwrap();
        out.push(t.elapsed());
    }
    out
}

fn definer_does_not_slow_the_reader(runtime: &[&str]) {
    let _one = serial();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let delay = FSYNC_DELAY_MS.to_string();
    let mut args = vec!["--state-dir", state_dir, "--debug-slow-fsync-ms", &delay];
    args.extend_from_slice(runtime);
    let d = DaemonMin::start(daemon_bin(), "", &args);
    let reader = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let writer = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();

    // A/B alternation (the machine is shared and noisy): the writer pauses and resumes six
    // times; the reader's latencies are pooled per phase.
    let stop = Arc::new(AtomicBool::new(false));
    let active = Arc::new(AtomicBool::new(false));
    let define_times = {
        let (stop, active) = (stop.clone(), active.clone());
        std::thread::spawn(move || {
            let mut times = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if !active.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                let xml = format!(
                    "<domain type='test'><name>slow{i}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
                );
                let t = Instant::now();
                writer.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: xml.into() }).unwrap();
                times.push(t.elapsed());
            }
            times
        })
    };
    let (mut alone, mut beside) = (Vec::new(), Vec::new());
    for _ in 0..6 {
        active.store(false, Ordering::Relaxed);
        // Let a define in progress finish (each takes ~4 slow fsyncs).
        std::thread::sleep(Duration::from_millis(6 * FSYNC_DELAY_MS));
        alone.extend(get_state_latencies(&reader, Duration::from_millis(250)));
        active.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(FSYNC_DELAY_MS));
        beside.extend(get_state_latencies(&reader, Duration::from_millis(250)));
    }
    stop.store(true, Ordering::Relaxed);
    let define_times = define_times.join().unwrap();
    let (baseline, during) = (median(alone), median(beside));

    eprintln!(
        "{runtime:?}: GET_STATE median {baseline:?} alone, {during:?} while {} defines ran (median define {:?})",
        define_times.len(),
        median(define_times.clone())
    );
    assert!(define_times.len() >= 5, "only {} defines", define_times.len());
    // Acknowledged only once durable: the file and its directory were each fsynced.
    assert!(median(define_times) >= Duration::from_millis(2 * FSYNC_DELAY_MS));
    assert!(during <= baseline * 2, "GET_STATE median {baseline:?} alone, {during:?} while defining");
}

on_both_runtimes!(definer_does_not_slow_the_reader);
