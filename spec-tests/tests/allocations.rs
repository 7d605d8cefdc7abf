//! Heap allocations per small call, adapter and core together, in steady state, for both
//! clients: at most 2 (issue 10). A counting allocator counts every allocation of every thread
//! but the server's (an in-process `ServerConnection` on the other end of a socket pair), so the
//! blocking client's background reader and smol's own threads count too. One test measures both
//! clients one after the other: the counter is process-wide.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use adapter_blocking::transport::Channel;
use adapter_blocking::ConnectOptions;
use proto_core::client::CallSpec;
use proto_core::{ServerConfig, ServerConnection, ServerEvent};
use smol::Async;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static NOT_COUNTED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only an
// atomic and a const-initialised thread-local (neither allocates).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !NOT_COUNTED.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller promised to `alloc`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller promised to `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !NOT_COUNTED.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller promised to `realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A server answering the open sequence and every other call with `remote_domain_get_state_ret`
/// (two ints), without keepalive.
fn serve(mut sock: UnixStream) {
    NOT_COUNTED.with(|c| c.set(true));
    let mut core = ServerConnection::new(ServerConfig::default(), Instant::now());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match sock.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        core.handle_input(Instant::now(), &buf[..n]);
        loop {
            if core.poll_timeout().is_some_and(|t| t <= Instant::now()) {
                core.handle_timeout(Instant::now());
            }
            let Some(ev) = core.poll_event() else { break };
            let ServerEvent::Call { id, header, .. } = ev else { continue };
            let _ = match header.proc_ {
                // REMOTE_PROC_AUTH_LIST: [REMOTE_AUTH_NONE].
                66 => core.reply_raw(id, &[0, 0, 0, 1, 0, 0, 0, 0]),
                // REMOTE_PROC_CONNECT_SUPPORTS_FEATURE: no.
                60 => core.reply(id, &0i32),
                // REMOTE_PROC_CONNECT_OPEN, REMOTE_PROC_CONNECT_CLOSE.
                1 | 2 => core.reply(id, &()),
                _ => core.reply_raw(id, &[0, 0, 0, 1, 0, 0, 0, 1]),
            };
        }
        while let Some(b) = core.poll_transmit() {
            if sock.write_all(&b).is_err() {
                return;
            }
        }
    }
}

/// REMOTE_PROC_DOMAIN_GET_STATE (212) with a `remote_nonnull_domain` "test" and flags 0.
fn get_state_args() -> Vec<u8> {
    [&[0, 0, 0, 4][..], b"test", &[7; 16], &[0, 0, 0, 1], &[0, 0, 0, 0]].concat()
}

/// Calls counted, after a warm-up of 2,000.
const CALLS: usize = 5000;

/// Allocations per call over [`CALLS`] calls made by `call` (after the warm-up).
fn per_call(mut call: impl FnMut()) -> f64 {
    for _ in 0..2000 {
        call();
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..CALLS {
        call();
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / CALLS as f64
}

#[test]
fn a_small_call_allocates_at_most_twice() {
    // The counter counts: a typed call encodes its arguments into a new buffer.
    let before = ALLOCS.load(Ordering::Relaxed);
    let _ = std::hint::black_box(proto_core::xdr::to_bytes(&7u32).unwrap());
    assert!(ALLOCS.load(Ordering::Relaxed) > before, "the counting allocator is in use");
    let (args, spec) = (get_state_args(), CallSpec::remote(212));

    let (ours, theirs) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || serve(theirs));
    let c = adapter_blocking::Client::connect_channel(
        Channel::Unix(ours),
        Some("test:///default".into()),
        0,
        &ConnectOptions::default(),
    )
    .unwrap();
    let blocking = per_call(|| assert_eq!(c.call_raw(spec, &args).unwrap().len(), 8));
    c.close().unwrap();
    drop(c);
    server.join().unwrap();

    let (ours, theirs) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || serve(theirs));
    let smol = smol::block_on(async {
        // Calls straight away (the fake server answers anything): no open sequence needed.
        let c = adapter_smol::Client::start(Box::new(Async::new(ours).unwrap()), None, ConnectOptions::default());
        let call = || async { assert_eq!(c.call_raw(spec, &args).await.unwrap().len(), 8) };
        for _ in 0..2000 {
            call().await;
        }
        let before = ALLOCS.load(Ordering::Relaxed);
        for _ in 0..CALLS {
            call().await;
        }
        let n = (ALLOCS.load(Ordering::Relaxed) - before) as f64 / CALLS as f64;
        c.close().await.unwrap();
        n
    });
    server.join().unwrap();

    eprintln!("heap allocations per call (adapter and core): blocking {blocking:.2}, smol {smol:.2}");
    assert!(blocking <= 2.0, "blocking: {blocking:.2} allocations per small call, at most 2 wanted");
    assert!(smol <= 2.0, "smol: {smol:.2} allocations per small call, at most 2 wanted");
}
