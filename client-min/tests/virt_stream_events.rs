//! `Stream::event_add_callback`/`event_update_callback`/`event_remove_callback`, blocking and
//! async, against libvirt's client (libvirt.so through python3-libvirt, `eventAddCallback`
//! with `virEventRegisterDefaultImpl`/`virEventRunDefaultImpl`): the same steps on a
//! screenshot stream give the same errors (unopened stream, no event loop, a second callback,
//! update/remove without one) and the same callback events (readable until the end of the
//! stream, then writable), against Debian's libvirtd 9.0 and daemon-min.
//!
//! One test: the event loop is registered process-wide, and the first step needs it not to be.

use std::cell::RefCell;
use std::rc::Rc;

use spec_tests::libvirtd::{require_python_libvirt, Libvirtd};
use virt::connect::Connect;
use virt::error::Error;
use virt::event::{event_register_default_impl, event_run_default_impl};
use virt::stream::Stream;
use virt::sys;

const PYTHON: &str = include_str!("virt_stream_events.py");

fn err<T>(label: &str, r: Result<T, Error>) -> String {
    match r {
        Ok(_) => format!("{label} ok"),
        Err(e) => format!("{label} {} {} {}", e.code().to_raw(), e.domain().to_raw(), e.message()),
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

#[derive(Default)]
struct Seen {
    rec: Vec<String>,
    eof: bool,
    writable: bool,
    total: usize,
}

type Shared = Rc<RefCell<Seen>>;

/// python's `cb`: on readable, one receive (the end: stop asking for events); else record.
fn on_event(
    seen: &Shared,
    recv: impl Fn(&mut [u8]) -> isize,
    update: impl Fn(sys::virStreamEventType),
    ev: sys::virStreamEventType,
) {
    if ev & sys::VIR_STREAM_EVENT_READABLE != 0 {
        let mut buf = vec![0; 1 << 20];
        let n = usize::try_from(recv(&mut buf)).unwrap();
        let mut s = seen.borrow_mut();
        s.total += n;
        s.rec.push(if n > 0 { format!("r{ev}") } else { format!("eof{ev}") });
        if n == 0 {
            s.eof = true;
            drop(s);
            update(0);
        }
    } else {
        let mut s = seen.borrow_mut();
        s.rec.push(format!("w{ev}"));
        s.writable = true;
    }
}

fn summary(seen: &Shared, out: &mut Vec<String>) {
    let s = seen.borrow();
    let kinds: std::collections::BTreeSet<&String> = s.rec.iter().collect();
    let kinds: Vec<&str> = kinds.into_iter().map(String::as_str).collect();
    out.push(format!(
        "reads {} {} {}",
        kinds.join(" "),
        py_bool(s.rec.iter().any(|r| r.starts_with("eof"))),
        py_bool(s.total > 0)
    ));
}

/// The steps of `virt_stream_events.py`, blocking. `first`: the loop is not registered yet
/// (else the steps start at `unopened-add`).
fn blocking(uri: &str, first: bool) -> Vec<String> {
    let mut out = Vec::new();
    let c0 = Connect::open(Some(uri)).unwrap();
    let mut st0 = Stream::new(&c0, 0).unwrap();
    c0.lookup_domain_by_name("test").unwrap().screenshot(&st0, 0, 0).unwrap();
    if first {
        out.push(err("no-loop-add", st0.event_add_callback(sys::VIR_STREAM_EVENT_READABLE, |_, _| {})));
        event_register_default_impl().unwrap();
    }
    st0.abort().unwrap();
    let c = Connect::open(Some(uri)).unwrap();
    let dom = c.lookup_domain_by_name("test").unwrap();
    let mut st = Stream::new(&c, 0).unwrap();
    let seen = Shared::default();
    let cb = {
        let seen = seen.clone();
        move |s: &Stream, ev| {
            on_event(&seen, |b| s.recv(b).unwrap(), |e| s.event_update_callback(e).unwrap(), ev);
        }
    };
    let r = sys::VIR_STREAM_EVENT_READABLE;
    out.push(err("unopened-add", st.event_add_callback(r, cb.clone())));
    out.push(err("unopened-update", st.event_update_callback(1)));
    out.push(err("unopened-remove", st.event_remove_callback()));
    dom.screenshot(&st, 0, 0).unwrap();
    out.push(err("update-none", st.event_update_callback(1)));
    out.push(err("remove-none", st.event_remove_callback()));
    out.push(err("add", st.event_add_callback(r, cb.clone())));
    out.push(err("add-again", st.event_add_callback(r, cb)));
    while !seen.borrow().eof {
        event_run_default_impl().unwrap();
    }
    summary(&seen, &mut out);
    seen.borrow_mut().rec.clear();
    out.push(err("update-writable", st.event_update_callback(sys::VIR_STREAM_EVENT_WRITABLE)));
    while !seen.borrow().writable {
        event_run_default_impl().unwrap();
    }
    out.push(format!("writable {}", seen.borrow().rec[0]));
    out.push(err("remove", st.event_remove_callback()));
    out.push(err("remove-again", st.event_remove_callback()));
    out.push(err("update-after-remove", st.event_update_callback(1)));
    out.push(err("finish", st.finish()));
    let (active, lib) = (dom.is_active().unwrap(), c.lib_version().unwrap() > 0);
    out.push(format!("after {} {}", py_bool(active), py_bool(lib)));
    out
}

/// The same steps on the async twin (the loop is registered by then: from `unopened-add`).
fn asynchronous(uri: &str) -> Vec<String> {
    use virt::asynchronous::{connect::Connect, stream::Stream};
    smol::block_on(async {
        let mut out = Vec::new();
        let c = Connect::open(Some(uri)).await.unwrap();
        let dom = c.lookup_domain_by_name("test").await.unwrap();
        let mut st = Stream::new(&c, 0).unwrap();
        let seen = Shared::default();
        let cb = {
            let seen = seen.clone();
            move |s: &Stream, ev| {
                let recv = |b: &mut [u8]| smol::block_on(s.recv(b)).unwrap();
                on_event(&seen, recv, |e| s.event_update_callback(e).unwrap(), ev);
            }
        };
        let r = sys::VIR_STREAM_EVENT_READABLE;
        out.push(err("unopened-add", st.event_add_callback(r, cb.clone())));
        out.push(err("unopened-update", st.event_update_callback(1)));
        out.push(err("unopened-remove", st.event_remove_callback()));
        dom.screenshot(&st, 0, 0).await.unwrap();
        out.push(err("update-none", st.event_update_callback(1)));
        out.push(err("remove-none", st.event_remove_callback()));
        out.push(err("add", st.event_add_callback(r, cb.clone())));
        out.push(err("add-again", st.event_add_callback(r, cb)));
        while !seen.borrow().eof {
            event_run_default_impl().unwrap();
        }
        summary(&seen, &mut out);
        seen.borrow_mut().rec.clear();
        out.push(err("update-writable", st.event_update_callback(sys::VIR_STREAM_EVENT_WRITABLE)));
        while !seen.borrow().writable {
            event_run_default_impl().unwrap();
        }
        out.push(format!("writable {}", seen.borrow().rec[0]));
        out.push(err("remove", st.event_remove_callback()));
        out.push(err("remove-again", st.event_remove_callback()));
        out.push(err("update-after-remove", st.event_update_callback(1)));
        out.push(err("finish", st.finish().await));
        let (active, lib) = (dom.is_active().await.unwrap(), c.lib_version().await.unwrap() > 0);
        out.push(format!("after {} {}", py_bool(active), py_bool(lib)));
        out
    })
}

fn python(python: &str, uri: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("virt-stream-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("probe.py");
    std::fs::write(&script, PYTHON).unwrap();
    let out = spec_tests::libvirtd::run_python_script(python, &script, &[uri]);
    let _ = std::fs::remove_dir_all(&dir);
    out.lines().map(str::to_string).collect()
}

#[test]
fn stream_callbacks_as_libvirt() {
    let Some(py) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uri = daemon.unix_uri();
    let theirs = python(py, &uri);
    eprintln!("libvirt.so:\n{}", theirs.join("\n"));
    assert!(theirs.iter().any(|l| l == "reads eof1 r1 True True"), "{theirs:?}");
    assert_eq!(blocking(&uri, true), theirs, "blocking, libvirtd");
    assert_eq!(asynchronous(&uri), theirs[1..], "async, libvirtd");
    let binary = spec_tests::differential::daemon_min_binary();
    let dm = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uri = dm.unix_uri();
    let theirs = python(py, &uri);
    assert_eq!(blocking(&uri, false), theirs[1..], "blocking, daemon-min");
    assert_eq!(asynchronous(&uri), theirs[1..], "async, daemon-min");
}
