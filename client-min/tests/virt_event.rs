//! The `event` module's default loop: the same sequence of handles and timeouts as libvirt's
//! own default loop (libvirt.so's, through python3-libvirt) gives the same watch numbers and
//! the same callbacks with the same events at each iteration; then libvirt's timing and
//! re-entrancy rules, on ours alone (glib's loop may end an iteration with nothing dispatched,
//! so those steps are not compared).
//!
//! One test: the loop is registered process-wide and its numbers count from 1 per process.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::raw::c_void;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use virt::event::{
    event_add_handle, event_add_timeout, event_register_default_impl, event_run_default_impl, EventHandleWatch,
    EventTimeoutWatch,
};
use virt::sys;

const PYTHON: &str = r#"
import libvirt as V, socket
V.registerErrorHandler(lambda *a: None, None)
rec = []
def hcb(w, fd, ev, op): rec.append("h%d:%d:%s" % (w, ev, op))
def tcb(t, op): rec.append("t%d:%s" % (t, op))
def run(label):
    del rec[:]
    V.virEventRunDefaultImpl()
    print(label, " ".join(sorted(rec)))
def ok(label, f):
    try:
        print(label, f())
    except V.libvirtError:
        print(label, "err")
V.virEventRegisterDefaultImpl()
a, b = socket.socketpair()
h = V.virEventAddHandle(a.fileno(), V.VIR_EVENT_HANDLE_READABLE, hcb, 7)
t0 = V.virEventAddTimeout(0, tcb, 8)
print("ids", h, t0)
run("idle")
b.send(b"x")
run("readable")
run("still")
V.virEventUpdateTimeout(t0, -1)
run("timer-off")
a.recv(1)
b.close()
run("hangup")
ok("remove", lambda: V.virEventRemoveHandle(h))
ok("remove-again", lambda: V.virEventRemoveHandle(h))
ok("remove-timer", lambda: V.virEventRemoveTimeout(t0))
ok("remove-timer-again", lambda: V.virEventRemoveTimeout(t0))
"#;

type Records = Rc<RefCell<Vec<String>>>;

fn handle_cb(rec: &Records) -> impl FnMut(i32, i32, sys::virEventHandleType, *mut c_void) + 'static {
    let rec = rec.clone();
    move |w, _fd, ev, op| rec.borrow_mut().push(format!("h{w}:{ev}:{}", op as usize))
}

fn timeout_cb(rec: &Records) -> impl FnMut(i32, *mut c_void) + 'static {
    let rec = rec.clone();
    move |t, op| rec.borrow_mut().push(format!("t{t}:{}", op as usize))
}

/// One iteration; what was called, sorted (glib's order among ready sources is its own).
fn run(rec: &Records, label: &str) -> String {
    rec.borrow_mut().clear();
    event_run_default_impl().unwrap();
    let mut r = rec.borrow().clone();
    r.sort();
    format!("{label} {}", r.join(" "))
}

fn ok(label: &str, r: Result<(), virt::error::Error>) -> String {
    format!("{label} {}", if r.is_ok() { "0" } else { "err" })
}

/// `PYTHON`'s steps on our loop.
fn ours(rec: &Records) -> Vec<String> {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let h = event_add_handle(a.as_raw_fd(), sys::VIR_EVENT_HANDLE_READABLE, handle_cb(rec), 7 as *mut c_void).unwrap();
    let t0 = event_add_timeout(0, timeout_cb(rec), 8 as *mut c_void).unwrap();
    let mut out = vec![format!("ids {} {}", h.as_raw(), t0.as_raw())];
    out.push(run(rec, "idle"));
    b.write_all(b"x").unwrap();
    out.push(run(rec, "readable"));
    out.push(run(rec, "still"));
    t0.event_update_timeout(-1);
    out.push(run(rec, "timer-off"));
    a.read_exact(&mut [0]).unwrap();
    drop(b);
    out.push(run(rec, "hangup"));
    out.push(ok("remove", h.event_remove_handle()));
    out.push(ok("remove-again", h.event_remove_handle()));
    out.push(ok("remove-timer", t0.event_remove_timeout()));
    out.push(ok("remove-timer-again", t0.event_remove_timeout()));
    out
}

/// libvirt's rules that glib's loop does not show deterministically, on ours.
fn timing_and_reentrancy(rec: &Records) {
    let (a, mut b) = UnixStream::pair().unwrap();
    // A handle watched for nothing is not called, even when its descriptor is ready; an
    // N ms timer fires no sooner than N ms after it was set.
    let h = event_add_handle(a.as_raw_fd(), 0, handle_cb(rec), std::ptr::null_mut()).unwrap();
    b.write_all(b"y").unwrap();
    let start = Instant::now();
    let t = event_add_timeout(40, timeout_cb(rec), std::ptr::null_mut()).unwrap();
    assert_eq!(run(rec, "wait"), format!("wait t{}:0", t.as_raw()));
    assert!(start.elapsed() >= Duration::from_millis(40), "{:?}", start.elapsed());
    // Periodic: again after another interval; an update restarts the count.
    let start = Instant::now();
    t.event_update_timeout(60);
    assert_eq!(run(rec, "again"), format!("again t{}:0", t.as_raw()));
    assert!(start.elapsed() >= Duration::from_millis(60), "{:?}", start.elapsed());
    t.event_update_timeout(-1);
    // Watched again: called with what is ready, writable included when asked.
    h.event_update_handle(sys::VIR_EVENT_HANDLE_READABLE | sys::VIR_EVENT_HANDLE_WRITABLE);
    assert_eq!(run(rec, "rw"), format!("rw h{}:3:0", h.as_raw()));
    h.event_remove_handle().unwrap();
    // A callback may remove its own timer (and add another) while it runs.
    let slot: Rc<RefCell<Option<EventTimeoutWatch>>> = Rc::default();
    let (s, r2) = (slot.clone(), rec.clone());
    let me = event_add_timeout(
        0,
        move |n, _| {
            r2.borrow_mut().push(format!("self{n}"));
            if let Some(w) = s.borrow_mut().take() {
                w.event_remove_timeout().unwrap();
            }
        },
        std::ptr::null_mut(),
    )
    .unwrap();
    let raw = me.as_raw();
    *slot.borrow_mut() = Some(me);
    let other = event_add_timeout(0, timeout_cb(rec), std::ptr::null_mut()).unwrap();
    assert_eq!(run(rec, "x"), format!("x self{raw} t{}:0", other.as_raw()));
    assert_eq!(run(rec, "x"), format!("x t{}:0", other.as_raw()));
    assert!(EventTimeoutWatch(raw).event_remove_timeout().is_err());
    other.event_remove_timeout().unwrap();
    // Numbers are never reused; unknown ones are ignored by updates and refused by removals.
    assert!(other.as_raw() > raw && raw > t.as_raw());
    EventHandleWatch(9999).event_update_handle(1);
    assert!(EventHandleWatch(9999).event_remove_handle().is_err());
    t.event_remove_timeout().unwrap();
}

#[test]
fn default_loop_as_libvirts() {
    // Nothing is added before a loop is registered (libvirt answers -1 without an error).
    let before = event_add_timeout(0, |_, _| {}, std::ptr::null_mut()).unwrap_err();
    assert_eq!(before.message(), "an unknown libvirt error occurred");
    assert!(event_add_handle(0, 1, |_, _, _, _| {}, std::ptr::null_mut()).is_err());
    event_register_default_impl().unwrap();
    let rec: Records = Rc::default();
    let ours = ours(&rec);
    assert_eq!(ours[0], "ids 1 1");
    assert_eq!(ours[5], "hangup h1:9:7", "readable and hung up");
    if let Some(python) = spec_tests::libvirtd::require_python_libvirt() {
        let out = std::process::Command::new(python).args(["-c", PYTHON]).output().expect("run python3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        assert_eq!(ours, theirs);
    }
    timing_and_reentrancy(&rec);
}
