//! `event` (`tools/virsh-domain-event.c`): waits for domain events and prints them.
//!
//! Registration follows the server's features (`protocol-facts.md` §7.4): callback-style
//! `CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY` (316) per event id when feature 14 is there,
//! else the old `CONNECT_DOMAIN_EVENT_REGISTER_ANY` (167) with the domain filtered here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::programs::remote::*;
use proto_core::{Procedure, XdrDecode, XdrReader};

use crate::cmd_domain::{opt_domain, Dom};
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

fn decode<T: XdrDecode>(body: &Bytes) -> Option<T> {
    proto_core::xdr::from_bytes(body.clone()).ok()
}

/// A callback-style event: its callback id, domain and text (`None` when undecodable).
fn describe_callback_event(proc_: i32, index: usize, body: &Bytes) -> Option<(i32, Dom, String)> {
    let name = EVENTS[index];
    let dn = |d: &Dom| d.name.to_string_lossy().into_owned();
    let generic = |id: i32, d: Dom| {
        let text = format!("event '{name}' for domain '{}'\n", dn(&d));
        Some((id, d, text))
    };
    match proc_ {
        DomainEventCallbackLifecycle::NUMBER => {
            let m: RemoteDomainEventCallbackLifecycleMsg = decode(body)?;
            let (e, d) = lifecycle_text(m.msg.event, m.msg.detail);
            let text = format!("event 'lifecycle' for domain '{}': {e} {d}\n", dn(&m.msg.dom));
            Some((m.callback_id, m.msg.dom, text))
        }
        DomainEventCallbackRtcChange::NUMBER => {
            let m: RemoteDomainEventCallbackRtcChangeMsg = decode(body)?;
            let text = format!("event 'rtc-change' for domain '{}': {}\n", dn(&m.msg.dom), m.msg.offset);
            Some((m.callback_id, m.msg.dom, text))
        }
        DomainEventCallbackWatchdog::NUMBER => {
            let m: RemoteDomainEventCallbackWatchdogMsg = decode(body)?;
            let actions = ["none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi"];
            let a = usize::try_from(m.msg.action).ok().and_then(|i| actions.get(i)).copied().unwrap_or("unknown");
            let text = format!("event 'watchdog' for domain '{}': {a}\n", dn(&m.msg.dom));
            Some((m.callback_id, m.msg.dom, text))
        }
        DomainEventCallbackBalloonChange::NUMBER => {
            let m: RemoteDomainEventCallbackBalloonChangeMsg = decode(body)?;
            let text = format!("event 'balloon-change' for domain '{}': {}KiB\n", dn(&m.msg.dom), m.msg.actual);
            Some((m.callback_id, m.msg.dom, text))
        }
        DomainEventCallbackDeviceRemoved::NUMBER => {
            let m: RemoteDomainEventCallbackDeviceRemovedMsg = decode(body)?;
            let text = format!("event 'device-removed' for domain '{}': {}\n", dn(&m.msg.dom), m.msg.dev_alias);
            Some((m.callback_id, m.msg.dom, text))
        }
        DomainEventCallbackDeviceAdded::NUMBER => {
            let m: RemoteDomainEventCallbackDeviceAddedMsg = decode(body)?;
            let text = format!("event 'device-added' for domain '{}': {}\n", dn(&m.dom), m.dev_alias);
            Some((m.callback_id, m.dom, text))
        }
        DomainEventCallbackDeviceRemovalFailed::NUMBER => {
            let m: RemoteDomainEventCallbackDeviceRemovalFailedMsg = decode(body)?;
            let text = format!("event 'device-removal-failed' for domain '{}': {}\n", dn(&m.dom), m.dev_alias);
            Some((m.callback_id, m.dom, text))
        }
        DomainEventCallbackMetadataChange::NUMBER => {
            let m: RemoteDomainEventCallbackMetadataChangeMsg = decode(body)?;
            let ty = ["description", "title", "element"]
                .get(usize::try_from(m.type_).unwrap_or(usize::MAX))
                .copied()
                .unwrap_or("unknown");
            let uri = m.nsuri.map_or_else(|| "(null)".to_owned(), |u| u.to_string());
            let text = format!("event 'metadata-change' for domain '{}': type {ty}, uri {uri}\n", dn(&m.dom));
            Some((m.callback_id, m.dom, text))
        }
        _ => {
            // Every other callback event starts with the callback id and the domain.
            let mut r = XdrReader::new(body.clone());
            let id = r.i32().ok()?;
            let dom = Dom::decode(&mut r).ok()?;
            generic(id, dom)
        }
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

/// Registrations: callback id → event index (callback style), or the old-style event ids.
enum Registered {
    Callbacks(HashMap<i32, usize>),
    Old(Vec<usize>),
}

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
    let client = v.conn().client().clone();
    let events = client.subscribe();
    let callbacks = client.features().event_callbacks;
    let mut registered = if callbacks { Registered::Callbacks(HashMap::new()) } else { Registered::Old(Vec::new()) };
    let mut ok = true;
    for (n, &i) in selected.iter().enumerate() {
        let event_id = i32::try_from(i).unwrap_or(i32::MAX);
        let r = match &mut registered {
            Registered::Callbacks(map) => v
                .conn()
                .call::<ConnectDomainEventCallbackRegisterAny>(&RemoteConnectDomainEventCallbackRegisterAnyArgs {
                    event_id,
                    dom: dom.clone(),
                })
                .map(|r| {
                    map.insert(r.callback_id, i);
                }),
            Registered::Old(ids) => v
                .conn()
                .call::<ConnectDomainEventRegisterAny>(&RemoteConnectDomainEventRegisterAnyArgs { event_id })
                .map(|()| ids.push(i)),
        };
        if let Err(e) = r {
            v.last_error = Some(e);
            if n == 0 {
                ok = false;
                break;
            }
            v.reset_error();
        }
    }
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
            let ev = match events.recv_timeout(wait) {
                None => continue,
                Some(Err(_)) => {
                    // The close watcher says why; virsh's close callback ends the wait.
                    v.conn().wait_lost_reported();
                    v.disconnected = true;
                    break None;
                }
                Some(Ok(ev)) => ev,
            };
            let text = match &registered {
                Registered::Callbacks(map) => {
                    let Some(&index) = lookup_index(map, &ev.body) else { continue };
                    describe_callback_event(ev.proc_, index, &ev.body).map(|(_, _, t)| t)
                }
                Registered::Old(ids) => describe_old_event(ev.proc_, &ev.body, ids, dom.as_ref()),
            };
            let Some(text) = text else { continue };
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
    match registered {
        Registered::Callbacks(map) => {
            let mut ids: Vec<i32> = map.into_keys().collect();
            ids.sort_unstable();
            for id in ids {
                let r = v.conn().call::<ConnectDomainEventCallbackDeregisterAny>(
                    &RemoteConnectDomainEventCallbackDeregisterAnyArgs { callback_id: id },
                );
                if v.api(r).is_none() {
                    ret = false;
                }
            }
        }
        Registered::Old(ids) => {
            for i in ids {
                let event_id = i32::try_from(i).unwrap_or(i32::MAX);
                let r = v
                    .conn()
                    .call::<ConnectDomainEventDeregisterAny>(&RemoteConnectDomainEventDeregisterAnyArgs { event_id });
                if v.api(r).is_none() {
                    ret = false;
                }
            }
        }
    }
    ret
}

/// The event index of a callback-style event, from the callback id at the start of its body.
fn lookup_index<'a>(map: &'a HashMap<i32, usize>, body: &Bytes) -> Option<&'a usize> {
    let id = XdrReader::new(body.clone()).i32().ok()?;
    map.get(&id)
}

/// Old-style events (no callback id): lifecycle in full, the others by name.
fn describe_old_event(proc_: i32, body: &Bytes, ids: &[usize], dom: Option<&Dom>) -> Option<String> {
    let (index, d, text) = if proc_ == DomainEventLifecycle::NUMBER {
        let m: RemoteDomainEventLifecycleMsg = decode(body)?;
        let (e, det) = lifecycle_text(m.event, m.detail);
        let text = format!("event 'lifecycle' for domain '{}': {e} {det}\n", m.dom.name);
        (0, m.dom, text)
    } else {
        let index = match proc_ {
            DomainEventReboot::NUMBER => 1,
            DomainEventRtcChange::NUMBER => 2,
            DomainEventWatchdog::NUMBER => 3,
            DomainEventIoError::NUMBER => 4,
            DomainEventGraphics::NUMBER => 5,
            DomainEventIoErrorReason::NUMBER => 6,
            DomainEventControlError::NUMBER => 7,
            DomainEventBlockJob::NUMBER => 8,
            DomainEventDiskChange::NUMBER => 9,
            DomainEventTrayChange::NUMBER => 10,
            DomainEventPmwakeup::NUMBER => 11,
            DomainEventPmsuspend::NUMBER => 12,
            DomainEventBalloonChange::NUMBER => 13,
            DomainEventPmsuspendDisk::NUMBER => 14,
            DomainEventDeviceRemoved::NUMBER => 15,
            _ => return None,
        };
        let d: Dom = decode(body)?;
        let text = format!("event '{}' for domain '{}'\n", EVENTS[index], d.name);
        (index, d, text)
    };
    if !ids.contains(&index) || dom.is_some_and(|want| want.uuid != d.uuid) {
        return None;
    }
    Some(text)
}
