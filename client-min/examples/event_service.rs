//! An async service on smol: connects to several libvirt URIs at once, subscribes to domain
//! lifecycle events on each, and prints them as they come; when a connection drops it
//! reconnects with exponential backoff (0.5 s doubling up to 8 s).
//!
//! ```text
//! cargo run -p client-min --example event_service -- URI [URI…] [--for SECS]
//! ```
//!
//! Each event is printed as `URI: domain NAME EVENT DETAIL` (numbers as libvirt defines them,
//! e.g. 3 = SUSPENDED). `--for SECS` stops after that many seconds (for tests).

use std::time::{Duration, Instant};

use adapter_smol::{Client, ConnectOptions};
use proto_core::events::{EventFamily, TypedEvent};
use proto_core::programs::remote::{Event, RemoteNonnullDomain};
use smol::future::FutureExt;
use smol::Timer;

/// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`.
const LIFECYCLE: i32 = 0;

async fn watch(uri: String) {
    let mut backoff = Duration::from_millis(500);
    loop {
        match Client::connect(&uri, &ConnectOptions::default()).await {
            Ok(client) => {
                backoff = Duration::from_millis(500);
                match client.register_events::<RemoteNonnullDomain>(EventFamily::Domain, LIFECYCLE, None).await {
                    Ok(events) => {
                        println!("{uri}: connected, watching lifecycle events");
                        loop {
                            match events.recv().await {
                                Ok(TypedEvent::Remote(Event::DomainEventCallbackLifecycle(m))) => {
                                    println!("{uri}: domain {} {} {}", m.msg.dom.name, m.msg.event, m.msg.detail);
                                }
                                Ok(_) => {}
                                Err(reason) => {
                                    println!("{uri}: connection lost ({reason}), reconnecting");
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => println!("{uri}: cannot register for events: {e}"),
                }
            }
            Err(e) => println!("{uri}: cannot connect: {e}; retrying in {backoff:?}"),
        }
        Timer::after(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(8));
    }
}

fn main() {
    let mut uris = Vec::new();
    let mut limit = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--for" {
            limit = args.next().and_then(|s| s.parse::<u64>().ok()).map(Duration::from_secs);
        } else {
            uris.push(a);
        }
    }
    if uris.is_empty() {
        eprintln!("usage: event_service URI [URI…] [--for SECS]");
        std::process::exit(2);
    }
    let started = Instant::now();
    smol::block_on(async {
        let tasks: Vec<_> = uris.into_iter().map(|u| smol::spawn(watch(u))).collect();
        let all = async {
            for t in tasks {
                t.await;
            }
        };
        match limit {
            Some(d) => {
                all.or(async {
                    Timer::after(d).await;
                })
                .await
            }
            None => all.await,
        }
    });
    eprintln!("event_service: stopped after {:?}", started.elapsed());
}
