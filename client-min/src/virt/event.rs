//! `virEvent…`: libvirt's default event loop, in pure Rust on poll(2).
//!
//! As libvirt's (`src/util/vireventglib.c`): nothing can be added before
//! [`event_register_default_impl`]; a handle watches a file descriptor for the
//! `VIR_EVENT_HANDLE_…` events asked (0: watched for nothing) and its callback is called with
//! the events that occurred, errors and hang-ups always included, every iteration while they
//! last (level-triggered); a timeout of -1 is disabled, 0 fires at every iteration, N fires
//! every N ms, counted again from each update; watch and timer numbers start at 1 and are
//! never reused; removing an unknown one fails, updating one is ignored;
//! [`event_run_default_impl`] waits until at least one handle or timeout is ready and calls
//! every ready one once.
//!
//! One difference, from `virt`'s signatures: its callbacks and `opaque` pointers are not
//! `Send`, so without `unsafe` they cannot be handed to another thread. Handles and timeouts
//! therefore belong to the thread that added them, and [`event_run_default_impl`] runs that
//! thread's (libvirt's loop is one per process). A program that adds them and runs the loop on
//! one thread, as `virt`'s users do, sees no difference.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::raw::{c_int, c_void};
use std::os::unix::io::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags};

use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::sys;

type HandleCallback = Rc<RefCell<dyn FnMut(c_int, c_int, sys::virEventHandleType, *mut c_void)>>;
type TimeoutCallback = Rc<RefCell<dyn FnMut(c_int, *mut c_void)>>;

struct Handle {
    fd: RawFd,
    events: sys::virEventHandleType,
    cb: HandleCallback,
    opaque: *mut c_void,
}

struct Timeout {
    interval: c_int,
    /// When it fires next; `None` while disabled.
    due: Option<Instant>,
    cb: TimeoutCallback,
    opaque: *mut c_void,
}

#[derive(Default)]
struct Loop {
    handles: BTreeMap<c_int, Handle>,
    timeouts: BTreeMap<c_int, Timeout>,
}

/// `virEventRegisterDefaultImpl` was called (process-wide, as libvirt's registration).
static REGISTERED: AtomicBool = AtomicBool::new(false);
/// libvirt's `nextwatch` and `nexttimer`.
static NEXT_WATCH: AtomicI32 = AtomicI32::new(1);
static NEXT_TIMER: AtomicI32 = AtomicI32::new(1);

thread_local! {
    static LOOP: RefCell<Loop> = RefCell::new(Loop::default());
}

fn due_after(interval: c_int) -> Option<Instant> {
    let ms = u64::try_from(interval).ok()?;
    Some(Instant::now() + Duration::from_millis(ms))
}

/// A registered file handle (`virEventAddHandle`'s watch number).
#[derive(Debug)]
pub struct EventHandleWatch(pub c_int);

impl EventHandleWatch {
    /// The watch number.
    pub fn as_raw(&self) -> c_int {
        self.0
    }

    /// `virEventRemoveHandle`: fails for a watch that is not (or no longer) registered.
    pub fn event_remove_handle(&self) -> Result<(), Error> {
        match LOOP.with(|l| l.borrow_mut().handles.remove(&self.0)) {
            Some(_) => Ok(()),
            None => Err(Error::last_error()),
        }
    }

    /// `virEventUpdateHandle`: watch for `events` from now on (0: for nothing); ignored for a
    /// watch that is not registered.
    pub fn event_update_handle(&self, events: sys::virEventHandleType) {
        LOOP.with(|l| {
            if let Some(h) = l.borrow_mut().handles.get_mut(&self.0) {
                h.events = events;
            }
        });
    }
}

/// `virEventAddHandle`: call `cb(watch, fd, events, opaque)` when `fd` has any of `events`
/// (`VIR_EVENT_HANDLE_READABLE`, `…_WRITABLE`, `…_ERROR`, `…_HANGUP`).
pub fn event_add_handle<F: 'static + FnMut(c_int, c_int, sys::virEventHandleType, *mut c_void)>(
    fd: RawFd,
    events: sys::virEventHandleType,
    cb: F,
    opaque: *mut c_void,
) -> Result<EventHandleWatch, Error> {
    if !REGISTERED.load(Ordering::SeqCst) {
        return Err(Error::last_error());
    }
    let watch = NEXT_WATCH.fetch_add(1, Ordering::SeqCst);
    let cb: HandleCallback = Rc::new(RefCell::new(cb));
    LOOP.with(|l| l.borrow_mut().handles.insert(watch, Handle { fd, events, cb, opaque }));
    Ok(EventHandleWatch(watch))
}

/// A registered timer (`virEventAddTimeout`'s timer number).
#[derive(Debug)]
pub struct EventTimeoutWatch(pub c_int);

impl EventTimeoutWatch {
    /// The timer number.
    pub fn as_raw(&self) -> c_int {
        self.0
    }

    /// `virEventRemoveTimeout`: fails for a timer that is not (or no longer) registered.
    pub fn event_remove_timeout(&self) -> Result<(), Error> {
        match LOOP.with(|l| l.borrow_mut().timeouts.remove(&self.0)) {
            Some(_) => Ok(()),
            None => Err(Error::last_error()),
        }
    }

    /// `virEventUpdateTimeout`: -1 disables it, 0 makes it fire at every iteration, N every N
    /// ms from now; ignored for a timer that is not registered.
    pub fn event_update_timeout(&self, timeout: c_int) {
        LOOP.with(|l| {
            if let Some(t) = l.borrow_mut().timeouts.get_mut(&self.0) {
                if timeout >= 0 {
                    t.interval = timeout;
                }
                t.due = due_after(timeout);
            }
        });
    }
}

/// `virEventAddTimeout`: call `cb(timer, opaque)` every `timeout` ms (0: every iteration; -1:
/// not until updated).
pub fn event_add_timeout<F: 'static + FnMut(c_int, *mut c_void)>(
    timeout: c_int,
    cb: F,
    opaque: *mut c_void,
) -> Result<EventTimeoutWatch, Error> {
    if !REGISTERED.load(Ordering::SeqCst) {
        return Err(Error::last_error());
    }
    let timer = NEXT_TIMER.fetch_add(1, Ordering::SeqCst);
    let cb: TimeoutCallback = Rc::new(RefCell::new(cb));
    let t = Timeout { interval: timeout, due: due_after(timeout), cb, opaque };
    LOOP.with(|l| l.borrow_mut().timeouts.insert(timer, t));
    Ok(EventTimeoutWatch(timer))
}

/// Whether [`event_register_default_impl`] was called (libvirt's client offers keepalive only
/// then).
pub(crate) fn registered() -> bool {
    REGISTERED.load(Ordering::SeqCst)
}

/// `virEventRegisterDefaultImpl`: makes the default loop the one handles and timeouts go to.
pub fn event_register_default_impl() -> Result<(), Error> {
    REGISTERED.store(true, Ordering::SeqCst);
    Ok(())
}

fn to_poll(events: sys::virEventHandleType) -> PollFlags {
    let mut f = PollFlags::empty();
    if events & sys::VIR_EVENT_HANDLE_READABLE != 0 {
        f |= PollFlags::POLLIN;
    }
    if events & sys::VIR_EVENT_HANDLE_WRITABLE != 0 {
        f |= PollFlags::POLLOUT;
    }
    f
}

/// poll(2)'s answer as libvirt's events (`virEventGLibConditionToEvents`: an invalid
/// descriptor is an error).
fn from_poll(r: PollFlags) -> sys::virEventHandleType {
    let mut e = 0;
    if r.contains(PollFlags::POLLIN) {
        e |= sys::VIR_EVENT_HANDLE_READABLE;
    }
    if r.contains(PollFlags::POLLOUT) {
        e |= sys::VIR_EVENT_HANDLE_WRITABLE;
    }
    if r.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
        e |= sys::VIR_EVENT_HANDLE_ERROR;
    }
    if r.contains(PollFlags::POLLHUP) {
        e |= sys::VIR_EVENT_HANDLE_HANGUP;
    }
    e
}

/// What one wait looks at: the watched descriptors and how long the nearest timer is away.
fn prepare() -> (Vec<c_int>, Vec<PollFd>, c_int) {
    LOOP.with(|l| {
        let l = l.borrow();
        let now = Instant::now();
        let (mut watches, mut fds) = (Vec::new(), Vec::new());
        for (w, h) in l.handles.iter().filter(|(_, h)| h.events != 0) {
            watches.push(*w);
            fds.push(PollFd::new(h.fd, to_poll(h.events)));
        }
        let wait = l
            .timeouts
            .values()
            .filter_map(|t| t.due)
            .map(|d| {
                let left = d.saturating_duration_since(now);
                // Rounded up, so that a timer is due when poll returns.
                c_int::try_from(left.as_micros().div_ceil(1000)).unwrap_or(c_int::MAX)
            })
            .min()
            .unwrap_or(-1);
        (watches, fds, wait)
    })
}

/// `virEventRunDefaultImpl`: one iteration: waits until a handle or a timeout is ready, then
/// calls each ready one once. With nothing registered on this thread it waits forever, as
/// libvirt's does.
pub fn event_run_default_impl() -> Result<(), Error> {
    loop {
        let (watches, mut fds, wait) = prepare();
        match nix::poll::poll(&mut fds, wait) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                return Err(Error::new(
                    ErrorNumber::SystemError,
                    ErrorDomain::Event,
                    format!("Unable to poll on file handles: {e}"),
                ))
            }
        }
        let ready: Vec<(c_int, sys::virEventHandleType)> = watches
            .iter()
            .zip(&fds)
            .filter_map(|(w, f)| Some((*w, from_poll(f.revents()?))))
            .filter(|(_, e)| *e != 0)
            .collect();
        let now = Instant::now();
        let due: Vec<c_int> = LOOP.with(|l| {
            l.borrow().timeouts.iter().filter(|(_, t)| t.due.is_some_and(|d| d <= now)).map(|(n, _)| *n).collect()
        });
        if ready.is_empty() && due.is_empty() {
            continue;
        }
        for (watch, events) in ready {
            // A callback earlier in this iteration may have removed or disabled it.
            let Some((fd, cb, opaque)) = LOOP.with(|l| {
                let l = l.borrow();
                let h = l.handles.get(&watch).filter(|h| h.events != 0)?;
                Some((h.fd, h.cb.clone(), h.opaque))
            }) else {
                continue;
            };
            if let Ok(mut f) = cb.try_borrow_mut() {
                (*f)(watch, fd, events, opaque);
            };
        }
        for timer in due {
            let Some((cb, opaque)) = LOOP.with(|l| {
                let mut l = l.borrow_mut();
                let t = l.timeouts.get_mut(&timer).filter(|t| t.due.is_some())?;
                t.due = due_after(t.interval);
                Some((t.cb.clone(), t.opaque))
            }) else {
                continue;
            };
            if let Ok(mut f) = cb.try_borrow_mut() {
                (*f)(timer, opaque);
            };
        }
        return Ok(());
    }
}
