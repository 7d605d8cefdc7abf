//! Codec and connection benchmarks for proto-core (`cargo bench -p proto-core --bench codec`).
//!
//! - `small_call/*`: a `REMOTE_PROC_DOMAIN_GET_STATE` call (name, 16-byte uuid, id, flags; 64-byte
//!   frame): client encode (`call` → `poll_transmit`), server decode (`handle_input` →
//!   `poll_event`), and the whole round trip client → server → client, reported as calls/s.
//! - `reply_4mib/*`: a reply whose body is a 4 MiB opaque: server encode (`reply` →
//!   `poll_transmit`) and client decode (`handle_input` → `poll_event` → zero-copy `opaque`),
//!   reported in bytes/s.
//!
//! Before the benchmarks run, the steady-state number of heap allocations per small round trip
//! is counted and printed per stage. The counting global allocator is [`stats_alloc`]'s wrapper
//! around `System`: a `GlobalAlloc` impl needs `unsafe impl`, and with the crate this bench has no
//! unsafe code of its own.

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, Criterion, Throughput};
use proto_core::client::CallSpec;
use proto_core::frame::VIR_NET_MESSAGE_PAYLOAD_MAX;
use proto_core::xdr::{self, put_opaque, DecodeError, EncodeError, XdrDecode, XdrEncode, XdrReader};
use proto_core::{ClientConfig, ClientConnection, ClientEvent, ServerConfig, ServerConnection, ServerEvent, XdrString};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// `REMOTE_PROC_DOMAIN_GET_STATE`.
const DOMAIN_GET_STATE: i32 = 212;
/// `REMOTE_PROC_STORAGE_VOL_DOWNLOAD`-sized payload: 4 MiB.
const BIG: usize = 4 << 20;

/// `remote_domain_get_state_args`: `remote_nonnull_domain dom; unsigned int flags;`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GetStateArgs {
    name: XdrString,
    uuid: [u8; 16],
    id: i32,
    flags: u32,
}

impl XdrEncode for GetStateArgs {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.name.encode(out)?;
        self.uuid.encode(out)?;
        self.id.encode(out)?;
        self.flags.encode(out)
    }
}

impl XdrDecode for GetStateArgs {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        Ok(Self { name: r.string(xdr::STRING_MAX)?, uuid: r.opaque_fixed()?, id: r.i32()?, flags: r.u32()? })
    }
}

/// `remote_domain_get_state_ret`: `int state; int reason;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GetStateRet {
    state: i32,
    reason: i32,
}

impl XdrEncode for GetStateRet {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.state.encode(out)?;
        self.reason.encode(out)
    }
}

impl XdrDecode for GetStateRet {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        Ok(Self { state: r.i32()?, reason: r.i32()? })
    }
}

/// A large `opaque<>` body (as in a big `_ret`), decoded as a slice of the frame.
struct Blob(Bytes);

impl XdrEncode for Blob {
    fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_opaque(out, &self.0, VIR_NET_MESSAGE_PAYLOAD_MAX as u32)
    }
}

impl XdrDecode for Blob {
    fn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {
        r.opaque(VIR_NET_MESSAGE_PAYLOAD_MAX as u32).map(Self)
    }
}

fn args() -> GetStateArgs {
    GetStateArgs { name: XdrString::from("guest-vm-01"), uuid: [0x5a; 16], id: 7, flags: 0 }
}

fn spec() -> CallSpec {
    CallSpec::remote(DOMAIN_GET_STATE)
}

fn server_config() -> ServerConfig {
    ServerConfig::default().with_keepalive(None)
}

/// The wire bytes of one small call, as the client sends it.
fn small_call_wire(now: Instant) -> Vec<u8> {
    let mut c = ClientConnection::new(ClientConfig::default(), now);
    c.call(now, spec(), &args()).expect("call");
    let mut wire = Vec::new();
    while let Some(b) = c.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    wire
}

/// One whole small round trip; returns the decoded return value.
fn round_trip(
    now: Instant,
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    a: &GetStateArgs,
) -> GetStateRet {
    let serial = client.call(now, spec(), a).expect("call");
    while let Some(b) = client.poll_transmit() {
        server.handle_input(now, &b);
    }
    let Some(ServerEvent::Call { id, args, .. }) = server.poll_event() else { panic!("no call") };
    let decoded: GetStateArgs = xdr::from_bytes(args).expect("args");
    black_box(&decoded);
    server.reply(id, &GetStateRet { state: 1, reason: 1 }).expect("reply");
    while let Some(b) = server.poll_transmit() {
        client.handle_input(now, &b);
    }
    let Some(ClientEvent::Reply { serial: s, body, .. }) = client.poll_event() else { panic!("no reply") };
    assert_eq!(s, serial);
    xdr::from_bytes(body).expect("ret")
}

fn small_call(c: &mut Criterion) {
    let now = Instant::now();
    let a = args();
    let mut g = c.benchmark_group("small_call");
    g.throughput(Throughput::Elements(1));

    // Client encode: call + poll_transmit. The call is then cancelled (a map removal) so that
    // the in-flight table stays small and the measurement is steady-state.
    g.bench_function("client_encode", |b| {
        let mut client = ClientConnection::new(ClientConfig::default(), now);
        b.iter(|| {
            let serial = client.call(now, spec(), &a).expect("call");
            while let Some(out) = client.poll_transmit() {
                black_box(out);
            }
            client.cancel(serial);
        });
    });

    // Server decode: handle_input + poll_event of one call frame. Each connection takes 10 000
    // calls (the bound is raised so that none is answered) and is then dropped untimed.
    let wire = small_call_wire(now);
    g.bench_function("server_decode", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(10_000);
                left -= n;
                let mut server = ServerConnection::new(server_config().with_max_client_requests(n as usize + 1), now);
                let t0 = Instant::now();
                for _ in 0..n {
                    server.handle_input(now, &wire);
                    black_box(server.poll_event());
                }
                total += t0.elapsed();
                drop(server);
            }
            total
        });
    });

    // Round trip: call → transmit → server input → event → args decode → reply → transmit →
    // client input → event → ret decode.
    g.bench_function("round_trip", |b| {
        let mut client = ClientConnection::new(ClientConfig::default(), now);
        let mut server = ServerConnection::new(server_config(), now);
        b.iter(|| black_box(round_trip(now, &mut client, &mut server, &a)));
    });
    g.finish();
}

fn big_reply(c: &mut Criterion) {
    let now = Instant::now();
    let blob = Blob(Bytes::from(vec![0xab; BIG]));
    let call_wire = small_call_wire(now);
    let mut g = c.benchmark_group("reply_4mib");
    g.throughput(Throughput::Bytes(BIG as u64));
    g.sample_size(20);

    // Server encode: a call comes in (small, included), the 4 MiB reply is encoded and taken
    // from poll_transmit.
    g.bench_function("server_encode", |b| {
        let mut server = ServerConnection::new(server_config(), now);
        b.iter(|| {
            server.handle_input(now, &call_wire);
            let Some(ServerEvent::Call { id, .. }) = server.poll_event() else { panic!("no call") };
            server.reply(id, &blob).expect("reply");
            while let Some(out) = server.poll_transmit() {
                black_box(out);
            }
        });
    });

    // The reply's wire bytes, once; the serial word (bytes 20..24) is patched per iteration.
    let mut reply_wire = {
        let mut server = ServerConnection::new(server_config(), now);
        server.handle_input(now, &call_wire);
        let Some(ServerEvent::Call { id, .. }) = server.poll_event() else { panic!("no call") };
        server.reply(id, &blob).expect("reply");
        let mut w = Vec::with_capacity(BIG + 64);
        while let Some(out) = server.poll_transmit() {
            w.extend_from_slice(&out);
        }
        w
    };
    assert_eq!(reply_wire.len(), 28 + 4 + BIG);

    // Client decode: the whole reply handed over as one slice (deframe + slice the body).
    for (name, read_size) in [("client_decode_one_slice", usize::MAX), ("client_decode_64k_reads", 64 << 10)] {
        g.bench_function(name, |b| {
            let mut client = ClientConnection::new(ClientConfig::default(), now);
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Untimed: the call the reply answers.
                    let serial = client.call(now, spec(), &args()).expect("call");
                    while client.poll_transmit().is_some() {}
                    reply_wire[20..24].copy_from_slice(&serial.to_be_bytes());
                    let t0 = Instant::now();
                    for chunk in reply_wire.chunks(read_size.min(reply_wire.len())) {
                        client.handle_input(now, chunk);
                    }
                    let Some(ClientEvent::Reply { body, .. }) = client.poll_event() else { panic!("no reply") };
                    let blob: Blob = xdr::from_bytes(body).expect("blob");
                    black_box(&blob.0);
                    total += t0.elapsed();
                    assert_eq!(blob.0.len(), BIG);
                }
                total
            });
        });
    }
    g.finish();
}

/// Counts heap allocations per steady-state small round trip, by stage, and prints them.
fn report_allocations() {
    const N: usize = 10_000;
    let now = Instant::now();
    let a = args();
    // The counter is live: one Vec is one allocation.
    let probe = Region::new(GLOBAL);
    black_box(Vec::<u8>::with_capacity(16));
    assert_eq!(probe.change().allocations, 1, "the counting allocator is not installed");

    let cold = Region::new(GLOBAL);
    let mut client = ClientConnection::new(ClientConfig::default(), now);
    let mut server = ServerConnection::new(server_config(), now);
    round_trip(now, &mut client, &mut server, &a);
    let cold = cold.change().allocations;
    for _ in 0..1_000 {
        round_trip(now, &mut client, &mut server, &a);
    }
    // Reused buffers for the transmitted chunks, so that the bench itself allocates nothing.
    let mut out: Vec<Bytes> = Vec::with_capacity(16);
    let mut back: Vec<Bytes> = Vec::with_capacity(16);
    let mut stages = [0usize; 5];
    let whole = Region::new(GLOBAL);
    for _ in 0..N {
        let mut r = Region::new(GLOBAL);
        let serial = client.call(now, spec(), &a).expect("call");
        out.extend(std::iter::from_fn(|| client.poll_transmit()));
        stages[0] += r.change_and_reset().allocations;
        for b in out.drain(..) {
            server.handle_input(now, &b);
        }
        let Some(ServerEvent::Call { id, args, .. }) = server.poll_event() else { panic!("no call") };
        stages[1] += r.change_and_reset().allocations;
        let decoded: GetStateArgs = xdr::from_bytes(args).expect("args");
        black_box(decoded);
        server.reply(id, &GetStateRet { state: 1, reason: 1 }).expect("reply");
        back.extend(std::iter::from_fn(|| server.poll_transmit()));
        stages[2] += r.change_and_reset().allocations;
        for b in back.drain(..) {
            client.handle_input(now, &b);
        }
        let Some(ClientEvent::Reply { serial: s, body, .. }) = client.poll_event() else { panic!("no reply") };
        stages[3] += r.change_and_reset().allocations;
        assert_eq!(s, serial);
        let ret: GetStateRet = xdr::from_bytes(body).expect("ret");
        black_box(ret);
        stages[4] += r.change().allocations;
    }
    let total = whole.change();
    let per = |n: usize| n as f64 / N as f64;
    println!("allocations for the first round trip on new connections (both created): {cold}");
    println!("allocations per small round trip (steady state, mean of {N} after 1000 warm-up calls):");
    println!("  client call + poll_transmit:            {:.2}", per(stages[0]));
    println!("  server handle_input + poll_event:       {:.2}", per(stages[1]));
    println!("  server args decode + reply + transmit:  {:.2}", per(stages[2]));
    println!("  client handle_input + poll_event:       {:.2}", per(stages[3]));
    println!("  ret decode and drops:                   {:.2}", per(stages[4]));
    println!(
        "  total: {:.2} allocations, {:.2} reallocations, {:.0} bytes allocated per call",
        per(total.allocations),
        per(total.reallocations),
        per(total.bytes_allocated)
    );
}

criterion_group!(benches, small_call, big_reply);

fn main() {
    report_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
