//! `event` (`tools/virsh-domain-event.c`): waits for domain events and prints them.
//!
//! As virsh, one `virConnectDomainEventRegisterAny` per event (the API registers
//! callback-style or old-style as the daemon supports, `protocol-facts.md` §7.4), then
//! `virConnectDomainEventDeregisterAny` for each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use virt::domain_event::DomainEvent;

use crate::cmd_domain::{api_domain, opt_domain};
use crate::conn::ApiError;
use crate::vsh::{flag, int, string, Cmd, CmdDef, Reporter};
use crate::Virsh;

pub(crate) static COMMANDS: &[CmdDef] = &[CmdDef {
    name: "event",
    opts: &[
        string("domain"),
        string("event"),
        flag("all"),
        flag("loop"),
        int("timeout"),
        flag("list"),
        flag("timestamp"),
    ],
    handler: cmd_event,
    no_connect: false,
}];

/// The event names, indexed by `VIR_DOMAIN_EVENT_ID_*`.
const EVENTS: [&str; 27] = [
    "lifecycle",
    "reboot",
    "rtc-change",
    "watchdog",
    "io-error",
    "graphics",
    "io-error-reason",
    "control-error",
    "block-job",
    "disk-change",
    "tray-change",
    "pm-wakeup",
    "pm-suspend",
    "balloon-change",
    "pm-suspend-disk",
    "device-removed",
    "block-job-2",
    "tunable",
    "agent-lifecycle",
    "device-added",
    "migration-iteration",
    "job-completed",
    "device-removal-failed",
    "metadata-change",
    "block-threshold",
    "memory-failure",
    "memory-device-size-change",
];

fn lifecycle_text(event: i32, detail: i32) -> (&'static str, &'static str) {
    let details: &[&str] = match event {
        0 => &["Added", "Updated", "Renamed", "Snapshot"],
        1 => &["Removed", "Renamed"],
        2 => &["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"],
        3 => &[
            "Paused",
            "Migrated",
            "I/O Error",
            "Watchdog",
            "Restored",
            "Snapshot",
            "API error",
            "Post-copy",
            "Post-copy Error",
        ],
        4 => &["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"],
        5 => &["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"],
        6 => &["Finished", "Finished after guest request", "Finished after host request"],
        7 => &["Memory", "Disk"],
        8 => &["Panicked", "Crashloaded"],
        _ => &[],
    };
    let names =
        ["Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped", "Shutdown", "PMSuspended", "Crashed"];
    let pick =
        |t: &[&'static str], i: i32| usize::try_from(i).ok().and_then(|i| t.get(i)).copied().unwrap_or("unknown");
    (pick(&names, event), pick(details, detail))
}

/// virsh's text for an event of `EVENTS[index]` (`virshEventPrint` and the typed callbacks
/// of `tools/virsh-domain-event.c`).
fn describe(index: usize, ev: &DomainEvent) -> String {
    let name = EVENTS[index];
    let dn = |d: &virt::domain::Domain| d.name().unwrap_or_default();
    match ev {
        DomainEvent::Lifecycle { domain, event, detail } => {
            let (e, d) = lifecycle_text(i32::try_from(event.to_raw()).unwrap_or(i32::MAX), *detail);
            format!("event 'lifecycle' for domain '{}': {e} {d}\n", dn(domain))
        }
        DomainEvent::RtcChange { domain, utcoffset } => {
            format!("event 'rtc-change' for domain '{}': {utcoffset}\n", dn(domain))
        }
        DomainEvent::Watchdog { domain, action } => {
            let actions = ["none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi"];
            let a = usize::try_from(*action).ok().and_then(|i| actions.get(i)).copied().unwrap_or("unknown");
            format!("event 'watchdog' for domain '{}': {a}\n", dn(domain))
        }
        DomainEvent::BalloonChange { domain, actual } => {
            format!("event 'balloon-change' for domain '{}': {actual}KiB\n", dn(domain))
        }
        DomainEvent::DeviceRemoved { domain, dev_alias } => {
            format!("event 'device-removed' for domain '{}': {dev_alias}\n", dn(domain))
        }
        DomainEvent::DeviceAdded { domain, dev_alias } => {
            format!("event 'device-added' for domain '{}': {dev_alias}\n", dn(domain))
        }
        DomainEvent::DeviceRemovalFailed { domain, dev_alias } => {
            format!("event 'device-removal-failed' for domain '{}': {dev_alias}\n", dn(domain))
        }
        DomainEvent::MetadataChange { domain, kind, nsuri } => {
            let ty = ["description", "title", "element"]
                .get(usize::try_from(*kind).unwrap_or(usize::MAX))
                .copied()
                .unwrap_or("unknown");
            let uri = nsuri.as_deref().unwrap_or("(null)");
            format!("event 'metadata-change' for domain '{}': type {ty}, uri {uri}\n", dn(domain))
        }
        DomainEvent::Other { domain, .. } => format!("event '{name}' for domain '{}'\n", dn(domain)),
    }
}

/// Ctrl-C while waiting for events ends the wait ("event loop interrupted"), as in virsh;
/// at any other time it keeps its default action. Returns the flag a SIGINT sets, or `None`
/// when the handlers cannot be installed.
fn sigint_flag(waiting: bool) -> Option<Arc<AtomicBool>> {
    static FLAGS: OnceLock<Option<(Arc<AtomicBool>, Arc<AtomicBool>)>> = OnceLock::new();
    let (interrupted, default) = FLAGS
        .get_or_init(|| {
            let interrupted = Arc::new(AtomicBool::new(false));
            let default = Arc::new(AtomicBool::new(true));
            let sigint = signal_hook::consts::SIGINT;
            signal_hook::flag::register_conditional_default(sigint, default.clone()).ok()?;
            signal_hook::flag::register(sigint, interrupted.clone()).ok()?;
            Some((interrupted, default))
        })
        .as_ref()?;
    interrupted.store(false, Ordering::SeqCst);
    default.store(!waiting, Ordering::SeqCst);
    Some(interrupted.clone())
}

/// Unread events kept while printing (later ones are dropped).
const QUEUED_EVENTS: usize = 1024;

fn cmd_event(v: &mut Virsh, cmd: &Cmd) -> bool {
    let all = cmd.flag("all");
    let looping = cmd.flag("loop");
    let timestamp = cmd.flag("timestamp");
    if !cmd.exclusive(v, "all", "event") || !cmd.exclusive(v, "list", "all") || !cmd.exclusive(v, "list", "event") {
        return false;
    }
    if cmd.flag("list") {
        let mut out = String::new();
        for e in EVENTS {
            out += e;
            out.push('\n');
        }
        v.print(&out);
        return true;
    }
    let Ok(event_name) = cmd.string_req(v, "event") else { return false };
    if event_name.is_none() && !all {
        v.error("one of --list, --all, or --event <type> is required");
        return false;
    }
    let selected: Vec<usize> = (0..EVENTS.len()).filter(|&i| event_name.is_none_or(|n| n == EVENTS[i])).collect();
    if selected.is_empty() {
        v.error(&format!("unknown event type {}", event_name.unwrap_or_default()));
        return false;
    }
    let Ok(timeout) = cmd.uint(v, "timeout") else { return false };
    let timeout = match timeout {
        Some(t) if t == 0 || t > i32::MAX as u32 / 1000 => {
            v.error(&format!("Numeric value '{t}' for <timeout> option is malformed or out of range"));
            return false;
        }
        Some(t) => Some(Duration::from_secs(t.into())),
        None => None,
    };
    let mut dom = None;
    if cmd.flag("domain") {
        let Some((d, _)) = opt_domain(v, cmd) else { return false };
        dom = Some(d);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let dom = dom.map(|d| api_domain(v, &d));
    // One callback per event, all feeding this loop in arrival order.
    let (tx, events) = mpsc::sync_channel::<(usize, DomainEvent)>(QUEUED_EVENTS);
    let mut registered = Vec::new();
    let mut ok = true;
    for (n, &i) in selected.iter().enumerate() {
        let event_id = i32::try_from(i).unwrap_or(i32::MAX);
        let tx = tx.clone();
        let r = v.conn().api().domain_event_register_any(dom.as_ref(), event_id, move |ev| {
            let _ = tx.try_send((i, ev));
        });
        match r {
            Ok(id) => registered.push(id),
            Err(e) => {
                v.last_error = Some(e.into());
                if n == 0 {
                    ok = false;
                    break;
                }
                v.reset_error();
            }
        }
    }
    drop(tx);
    let mut count = 0u32;
    let mut ret = false;
    if ok {
        let interrupted = sigint_flag(true);
        // virshEventPrint: without --loop only the first event is printed.
        let outcome = loop {
            if !looping && count > 0 {
                break None;
            }
            if interrupted.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                break Some("event loop interrupted\n");
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(w) => w.min(Duration::from_millis(100)),
                    None => break Some("event loop timed out\n"),
                },
                None => Duration::from_millis(100),
            };
            let text = match events.recv_timeout(wait) {
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // The connection closed (its callbacks went); the close watcher says why
                    // and virsh's close callback ends the wait.
                    v.conn().wait_lost_reported();
                    v.disconnected = true;
                    break None;
                }
                Ok((index, ev)) => describe(index, &ev),
            };
            if timestamp {
                v.print(&format!("{}: {text}", crate::progress::local_timestamp_millis()));
            } else {
                v.print(&text);
            }
            count += 1;
        };
        sigint_flag(false);
        if let Some(msg) = outcome {
            v.print(msg);
        }
        v.print(&format!("events received: {count}\n"));
        ret = count > 0;
    }
    for id in registered {
        let r = v.conn().api().domain_event_deregister_any(id).map_err(ApiError::from);
        if v.api(r).is_none() {
            ret = false;
        }
    }
    ret
}
