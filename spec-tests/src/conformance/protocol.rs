//! The protocol tier: what a daemon does with frames, whatever its hypervisor. The rules are
//! libvirtd 9.0's (`protocol-facts.md` §1, §2, §4, §11; `corpus/probes/RESULTS.txt`).

use std::time::{Duration, Instant};

use proto_core::program::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use proto_core::programs::remote::{
    REMOTE_PROC_AUTH_LIST, REMOTE_PROC_CONNECT_GET_HOSTNAME, REMOTE_PROC_CONNECT_GET_URI, REMOTE_PROC_CONNECT_OPEN,
    REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, REMOTE_PROC_NETWORK_LOOKUP_BY_NAME,
};
use proto_core::xdr::{from_bytes, to_bytes};
use proto_core::{MessageType, XdrString};

use super::{ensure, Check, Target, Verdict};
use crate::wire::{call_frame, open_body, string_padded_with, Answer, Wire};

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
const FEATURE_KEEPALIVE: i32 = 10;
/// `VIR_ERR_RPC` / `VIR_FROM_RPC`.
const RPC: (i32, i32) = (39, 7);

/// The checks of the tier.
#[must_use]
pub fn checks() -> Vec<Check> {
    let mut v = vec![
        Check { name: "connect_open", run: connect_open },
        Check { name: "call_before_open", run: call_before_open },
        Check { name: "unknown_program", run: unknown_program },
        Check { name: "unknown_version", run: unknown_version },
        Check { name: "unknown_procedure", run: unknown_procedure },
        Check { name: "call_with_status_not_ok", run: call_with_status_not_ok },
        Check { name: "reply_from_client_ignored", run: reply_from_client_ignored },
        Check { name: "length_below_minimum_closes", run: length_below_minimum_closes },
        Check { name: "length_above_maximum_closes", run: length_above_maximum_closes },
        Check { name: "not_the_protocol_closes", run: not_the_protocol_closes },
        Check { name: "trailing_bytes_accepted", run: trailing_bytes_accepted },
        Check { name: "unknown_message_type_dropped", run: unknown_message_type_dropped },
        Check { name: "stream_packet_without_stream_dropped", run: stream_packet_without_stream_dropped },
        Check { name: "too_many_fds_closes", run: too_many_fds_closes },
        Check { name: "serials_echoed", run: serials_echoed },
        Check { name: "pipelined_calls_all_answered", run: pipelined_calls_all_answered },
        Check { name: "keepalive_ping_answered", run: keepalive_ping_answered },
        Check { name: "keepalive_server_pings_when_asked", run: keepalive_server_pings_when_asked },
        Check { name: "keepalive_drops_silent_peer", run: keepalive_drops_silent_peer },
    ];
    v.extend(xdr_checks());
    v
}

fn connect(t: &Target) -> Result<Wire, String> {
    Wire::connect(&t.uri).map_err(|e| format!("cannot connect: {e}"))
}

fn opened(t: &Target) -> Result<Wire, String> {
    let mut w = connect(t)?;
    match w.open(1).map_err(|e| e.to_string())? {
        Answer::Ok(_) => Ok(w),
        other => Err(format!("CONNECT_OPEN of {}: {other}", w.open_name)),
    }
}

fn io(e: std::io::Error) -> String {
    format!("socket: {e}")
}

fn rpc_error(a: &Answer, message: &str) -> Result<(), String> {
    match a {
        Answer::Error { code, domain, message: Some(m) } if (*code, *domain) == RPC && m == message => Ok(()),
        other => Err(format!("expected error {}/{} {message:?}, got {other}", RPC.0, RPC.1)),
    }
}

/// The connection still serves a call after what came before (AUTH_LIST needs no open).
fn still_serves(w: &mut Wire, serial: u32) -> Result<(), String> {
    w.call_raw(REMOTE_PROC_AUTH_LIST, serial, &[]).map_err(io)?;
    match w.answer(serial) {
        Answer::Ok(_) => Ok(()),
        other => Err(format!("the connection no longer serves calls: AUTH_LIST got {other}")),
    }
}

fn connect_open(t: &Target) -> Verdict {
    let mut w = opened(t)?;
    w.call_raw(REMOTE_PROC_CONNECT_GET_URI, 2, &[]).map_err(io)?;
    let a = w.answer(2);
    let Answer::Ok(body) = &a else { return Err(format!("CONNECT_GET_URI: {a}")) };
    let uri = from_bytes::<XdrString>(body.clone()).map_err(|e| format!("CONNECT_GET_URI reply: {e}"))?;
    Ok(vec![format!("uri {uri}")])
}

fn call_before_open(t: &Target) -> Verdict {
    let mut w = connect(t)?;
    w.call_raw(REMOTE_PROC_CONNECT_GET_HOSTNAME, 7, &[]).map_err(io)?;
    let a = w.answer(7);
    match &a {
        Answer::Error { code: 1, domain: 7, message: Some(m) }
            if m == "internal error: hypervisor connection not open" => {}
        other => {
            return Err(format!("expected error 1/7 \"internal error: hypervisor connection not open\", got {other}"))
        }
    }
    still_serves(&mut w, 8)?;
    Ok(vec![a.to_string()])
}

fn unknown_program(t: &Target) -> Verdict {
    let mut w = connect(t)?;
    w.send(&call_frame(0x1122_3344, 1, 1, &[])).map_err(io)?;
    let a = w.answer(1);
    rpc_error(&a, "Cannot find program 287454020 version 1")?;
    still_serves(&mut w, 2)?;
    Ok(vec![a.to_string()])
}

fn unknown_version(t: &Target) -> Verdict {
    let mut w = connect(t)?;
    let mut f = call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 2, &[]);
    f[8..12].copy_from_slice(&2u32.to_be_bytes());
    w.send(&f).map_err(io)?;
    let a = w.answer(2);
    rpc_error(&a, "Cannot find program 536903814 version 2")?;
    still_serves(&mut w, 3)?;
    Ok(vec![a.to_string()])
}

fn unknown_procedure(t: &Target) -> Verdict {
    let mut out = vec![];
    // Before and after CONNECT_OPEN: the same answer.
    let mut w = connect(t)?;
    for (serial, proc_) in [(3u32, 9999), (4, 0), (5, -1)] {
        w.call_raw(proc_, serial, &[]).map_err(io)?;
        let a = w.answer(serial);
        rpc_error(&a, &format!("unknown procedure: {proc_}"))?;
        out.push(a.to_string());
    }
    let mut w = opened(t)?;
    w.call_raw(9999, 9, &[]).map_err(io)?;
    let a = w.answer(9);
    rpc_error(&a, "unknown procedure: 9999")?;
    out.push(a.to_string());
    Ok(out)
}

fn call_with_status_not_ok(t: &Target) -> Verdict {
    let mut w = connect(t)?;
    let mut f = call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 4, &[]);
    f[24..28].copy_from_slice(&7u32.to_be_bytes());
    w.send(&f).map_err(io)?;
    let a = w.answer(4);
    rpc_error(&a, "Unexpected message status 7")?;
    still_serves(&mut w, 5)?;
    Ok(vec![a.to_string()])
}

fn reply_from_client_ignored(t: &Target) -> Verdict {
    let mut w = connect(t)?;
    let mut f = call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 5, &[]);
    f[16..20].copy_from_slice(&1u32.to_be_bytes());
    f.extend(call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 6, &[]));
    w.send(&f).map_err(io)?;
    let (frames, closed) = w.drain(Duration::from_millis(500)).map_err(io)?;
    let seen: Vec<String> = frames.iter().map(|f| format!("{:?} serial {}", f.header.ty, f.header.serial)).collect();
    ensure(!closed && seen == ["Reply serial 6"], || {
        format!("expected only the reply to serial 6 on an open connection, got {seen:?} (closed: {closed})")
    })?;
    Ok(seen)
}

fn closes_without_reply(t: &Target, bytes: &[u8]) -> Verdict {
    let mut w = connect(t)?;
    w.send(bytes).map_err(io)?;
    let (frames, closed) = w.drain(Duration::from_secs(5)).map_err(io)?;
    ensure(frames.is_empty() && closed, || {
        format!("expected the connection closed with no reply, got {} messages (closed: {closed})", frames.len())
    })?;
    Ok(vec!["closed without a reply".into()])
}

fn length_below_minimum_closes(t: &Target) -> Verdict {
    closes_without_reply(t, &4u32.to_be_bytes())
}

fn length_above_maximum_closes(t: &Target) -> Verdict {
    let mut b = 33_554_437u32.to_be_bytes().to_vec();
    b.extend([0u8; 24]);
    closes_without_reply(t, &b)
}

fn not_the_protocol_closes(t: &Target) -> Verdict {
    closes_without_reply(t, b"GET / HTTP/1.1\r\n")
}

fn trailing_bytes_accepted(t: &Target) -> Verdict {
    let mut w = opened(t)?;
    let mut body = to_bytes(&XdrString::from("default")).map_err(|e| e.to_string())?.to_vec();
    body.extend([0, 0, 0, 9]);
    w.call_raw(REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, 2, &body).map_err(io)?;
    let a = w.answer(2);
    ensure(matches!(a, Answer::Ok(_)), || format!("NETWORK_LOOKUP_BY_NAME with 4 trailing bytes: {a}"))?;
    Ok(vec![a.to_string()])
}

/// Sends `frame`, then AUTH_LIST serial 99: only that call is answered, the connection stays.
fn dropped_quietly(t: &Target, frame: &[u8]) -> Verdict {
    let mut w = connect(t)?;
    let mut bytes = frame.to_vec();
    bytes.extend(call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 99, &[]));
    w.send(&bytes).map_err(io)?;
    let (frames, closed) = w.drain(Duration::from_millis(500)).map_err(io)?;
    let seen: Vec<String> = frames.iter().map(|f| format!("{:?} serial {}", f.header.ty, f.header.serial)).collect();
    ensure(!closed && seen == ["Reply serial 99"], || {
        format!("expected the message dropped without an answer; got {seen:?} (closed: {closed})")
    })?;
    Ok(seen)
}

fn unknown_message_type_dropped(t: &Target) -> Verdict {
    let mut f = call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 98, &[]);
    f[16..20].copy_from_slice(&42u32.to_be_bytes());
    dropped_quietly(t, &f)
}

fn stream_packet_without_stream_dropped(t: &Target) -> Verdict {
    // A STREAM (3) CONTINUE (2) packet with data, for serial 97 which opened no stream.
    let mut f = call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 97, b"data");
    f[16..20].copy_from_slice(&3u32.to_be_bytes());
    f[24..28].copy_from_slice(&2u32.to_be_bytes());
    dropped_quietly(t, &f)
}

fn too_many_fds_closes(t: &Target) -> Verdict {
    // CALL_WITH_FDS (4) announcing 33 descriptors, more than VIR_NET_MESSAGE_NUM_FDS_MAX (32).
    let mut f = call_frame(REMOTE_PROGRAM, REMOTE_PROC_AUTH_LIST, 96, &33u32.to_be_bytes());
    f[16..20].copy_from_slice(&4u32.to_be_bytes());
    closes_without_reply(t, &f)
}

fn serials_echoed(t: &Target) -> Verdict {
    let mut w = opened(t)?;
    let mut out = vec![];
    // Any serial, reused once its call is answered.
    for serial in [0u32, u32::MAX, 12_345, 12_345, 2] {
        w.call_raw(REMOTE_PROC_CONNECT_GET_URI, serial, &[]).map_err(io)?;
        let (frames, _) = w.drain(Duration::from_millis(300)).map_err(io)?;
        let replies: Vec<u32> =
            frames.iter().filter(|f| f.header.ty == MessageType::Reply).map(|f| f.header.serial).collect();
        ensure(replies == [serial], || format!("call with serial {serial}: replies with serials {replies:?}"))?;
        out.push(format!("serial {serial} answered"));
    }
    Ok(out)
}

fn pipelined_calls_all_answered(t: &Target) -> Verdict {
    // More calls in one write than libvirtd's max_client_requests (5) and max_workers (20):
    // the daemon must stop reading, not drop calls.
    const N: u32 = 300;
    let mut w = opened(t)?;
    let name = to_bytes(&XdrString::from("test")).map_err(|e| e.to_string())?;
    let mut out = vec![];
    for i in 0..N {
        if i % 2 == 0 {
            out.extend(call_frame(REMOTE_PROGRAM, REMOTE_PROC_CONNECT_GET_URI, 100 + i, &[]));
        } else {
            out.extend(call_frame(REMOTE_PROGRAM, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 100 + i, &name));
        }
    }
    w.send(&out).map_err(io)?;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..N {
        match w.recv() {
            Ok(Some(f)) if f.header.ty == MessageType::Reply => {
                ensure(seen.insert(f.header.serial), || format!("serial {} answered twice", f.header.serial))?;
                ensure(matches!(crate::wire::answer_of(&f), Answer::Ok(_)), || {
                    format!("serial {} failed", f.header.serial)
                })?;
            }
            Ok(Some(_)) => {}
            other => return Err(format!("{} of {N} pipelined calls answered, then {other:?}", seen.len())),
        }
    }
    ensure(seen.iter().copied().eq(100..100 + N), || "not every serial was answered".into())?;
    Ok(vec![format!("{N} pipelined calls answered once each")])
}

fn keepalive_frame(proc_: i32) -> Vec<u8> {
    let mut f = call_frame(KEEPALIVE_PROGRAM, proc_, 0, &[]);
    f[16..20].copy_from_slice(&2u32.to_be_bytes()); // MESSAGE
    f
}

fn keepalive_ping_answered(t: &Target) -> Verdict {
    let mut w = connect(t)?;
    w.send(&keepalive_frame(KEEPALIVE_PROC_PING)).map_err(io)?;
    let (frames, closed) = w.drain(Duration::from_millis(500)).map_err(io)?;
    let seen: Vec<String> =
        frames.iter().map(|f| format!("prog {:#x} proc {} {:?}", f.header.prog, f.header.proc_, f.header.ty)).collect();
    let pong = format!("prog {KEEPALIVE_PROGRAM:#x} proc {KEEPALIVE_PROC_PONG} Message");
    ensure(!closed && seen == [pong.clone()], || format!("PING before CONNECT_OPEN: expected one PONG, got {seen:?}"))?;
    Ok(seen)
}

/// Opens and asks for keepalive (`CONNECT_SUPPORTS_FEATURE(PROGRAM_KEEPALIVE)`).
fn ask_keepalive(t: &Target) -> Result<Wire, String> {
    let mut w = opened(t)?;
    w.call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 2, &FEATURE_KEEPALIVE).map_err(io)?;
    let a = w.answer(2);
    let Answer::Ok(b) = &a else { return Err(format!("SUPPORTS_FEATURE(KEEPALIVE): {a}")) };
    ensure(from_bytes::<i32>(b.clone()) == Ok(1), || "keepalive is not supported".into())?;
    Ok(w)
}

fn keepalive_server_pings_when_asked(t: &Target) -> Verdict {
    let mut w = ask_keepalive(t)?;
    let t0 = Instant::now();
    let wait = t.keepalive_interval + Duration::from_secs(3);
    w.set_read_timeout(wait).map_err(io)?;
    loop {
        match w.recv() {
            Ok(Some(f)) if f.header.prog == KEEPALIVE_PROGRAM && f.header.proc_ == KEEPALIVE_PROC_PING => break,
            Ok(Some(_)) => {}
            other => return Err(format!("no PING within {wait:?} of asking for keepalive: {other:?}")),
        }
        ensure(t0.elapsed() < wait, || format!("no PING within {wait:?}"))?;
    }
    // Answering keeps the connection alive.
    w.send(&keepalive_frame(KEEPALIVE_PROC_PONG)).map_err(io)?;
    w.call_raw(REMOTE_PROC_CONNECT_GET_URI, 3, &[]).map_err(io)?;
    let a = w.answer(3);
    ensure(matches!(a, Answer::Ok(_)), || format!("after a PONG: {a}"))?;
    Ok(vec!["PING after asking for keepalive".into()])
}

fn keepalive_drops_silent_peer(t: &Target) -> Verdict {
    let mut w = ask_keepalive(t)?;
    let t0 = Instant::now();
    let limit = t.keepalive_interval * (t.keepalive_count + 1) + Duration::from_secs(3);
    w.set_read_timeout(limit).map_err(io)?;
    let mut pings = 0;
    loop {
        match w.recv() {
            Ok(Some(f)) if f.header.prog == KEEPALIVE_PROGRAM && f.header.proc_ == KEEPALIVE_PROC_PING => pings += 1,
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Err(format!("not dropped within {limit:?} ({pings} PINGs unanswered): {e}")),
        }
        ensure(t0.elapsed() < limit, || format!("not dropped within {limit:?}"))?;
    }
    ensure(pings >= 1, || "dropped without a PING first".into())?;
    ensure(t0.elapsed() >= t.keepalive_interval, || format!("dropped too early, after {:?}", t0.elapsed()))?;
    Ok(vec!["a silent peer is pinged, then dropped".into()])
}

// ---------------------------------------------------------------------------------------------
// XDR as libtirpc reads it: lenient where it is lenient, strict where it is strict.

/// Builds a case's calls, (procedure, raw body), from the encoded domain `test`.
pub type Calls = fn(&[u8]) -> Vec<(i32, Vec<u8>)>;

/// One frame sequence of the leniency table.
#[derive(Debug, Clone, Copy)]
pub struct XdrCase {
    /// The check's name.
    pub name: &'static str,
    /// Whether a canonical CONNECT_OPEN comes first.
    pub open_first: bool,
    /// Whether libvirtd serves every call (else it refuses the last one).
    pub served: bool,
    /// Whether the answers' bodies are compared (false where they hold per-daemon counters).
    pub exact_body: bool,
    /// The calls (procedure, raw body), built from the encoded domain `test`.
    pub calls: Calls,
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// The leniency table: each is served (or refused) by libvirtd 9.0 because libtirpc reads it so.
#[must_use]
pub fn xdr_cases() -> Vec<XdrCase> {
    use proto_core::programs::remote::{
        REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY as DEREGISTER_ANY,
        REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY as REGISTER_ANY, REMOTE_PROC_DOMAIN_DESTROY as DESTROY,
        REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS,
    };
    vec![
        XdrCase {
            name: "xdr_optional_flag_2_is_present",
            open_first: false,
            served: true,
            exact_body: true,
            calls: |_| {
                vec![
                    (REMOTE_PROC_CONNECT_OPEN, open_body(2, "test:///default", 0)),
                    (REMOTE_PROC_CONNECT_GET_URI, vec![]),
                ]
            },
        },
        XdrCase {
            name: "xdr_optional_flag_ffffffff_is_present",
            open_first: false,
            served: true,
            exact_body: true,
            calls: |_| {
                vec![
                    (REMOTE_PROC_CONNECT_OPEN, open_body(u32::MAX, "test:///default", 0)),
                    (REMOTE_PROC_CONNECT_GET_URI, vec![]),
                ]
            },
        },
        XdrCase {
            name: "xdr_padding_not_checked_in_connect_open",
            open_first: false,
            served: true,
            exact_body: true,
            calls: |_| {
                let mut b = words(&[1]);
                b.extend(string_padded_with("test:///default", 0xaa));
                b.extend(words(&[0]));
                vec![(REMOTE_PROC_CONNECT_OPEN, b), (REMOTE_PROC_CONNECT_GET_URI, vec![])]
            },
        },
        XdrCase {
            name: "xdr_padding_not_checked_in_network_lookup",
            open_first: true,
            served: true,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, string_padded_with("default", 0xff))],
        },
        XdrCase {
            name: "xdr_padding_not_checked_in_domain_lookup",
            open_first: true,
            served: true,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, string_padded_with("testx", 1))],
        },
        XdrCase {
            name: "xdr_optional_domain_flag_7_is_present",
            open_first: true,
            served: true,
            exact_body: false,
            calls: |test| {
                // eventID 0 (lifecycle), dom = flag 7 + the domain `test`
                let mut b = words(&[0, 7]);
                b.extend_from_slice(test);
                vec![(REGISTER_ANY, b)]
            },
        },
        XdrCase {
            name: "xdr_refuses_truncated_string",
            open_first: false,
            served: false,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_CONNECT_OPEN, [words(&[2, 15]), b"test".to_vec()].concat())],
        },
        XdrCase {
            name: "xdr_refuses_string_over_bound",
            open_first: true,
            served: false,
            exact_body: true,
            calls: |_| vec![(REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, [words(&[4_194_305]), b"defa".to_vec()].concat())],
        },
        XdrCase {
            name: "xdr_refuses_array_over_bound",
            open_first: true,
            served: false,
            exact_body: true,
            calls: |test| {
                // DOMAIN_SET_SCHEDULER_PARAMETERS: dom, then params<16> with a count of 17
                let mut b = test.to_vec();
                b.extend(words(&[17]));
                vec![(REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS, b)]
            },
        },
        XdrCase {
            name: "xdr_refuses_union_discriminant_without_arm",
            open_first: true,
            served: false,
            exact_body: true,
            calls: |test| {
                // one remote_typed_param "weight" whose value's discriminant is 9 (no such arm)
                let mut b = test.to_vec();
                b.extend(words(&[1]));
                b.extend(string_padded_with("weight", 0));
                b.extend(words(&[9, 0]));
                vec![(REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS, b)]
            },
        },
        XdrCase {
            name: "xdr_refuses_before_open_too",
            open_first: false,
            served: false,
            exact_body: true,
            // arguments are decoded before "hypervisor connection not open" is considered
            calls: |_| vec![(REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, [words(&[100]), b"defa".to_vec()].concat())],
        },
        XdrCase {
            name: "xdr_refuses_on_read_only_too",
            open_first: false,
            served: false,
            exact_body: true,
            // a read-only connection decodes the arguments before refusing the write
            calls: |_| {
                vec![
                    (REMOTE_PROC_CONNECT_OPEN, open_body(1, "test:///default", 1)),
                    (REMOTE_PROC_NETWORK_LOOKUP_BY_NAME, [words(&[100]), b"defa".to_vec()].concat()),
                    (DESTROY, vec![]),
                ]
            },
        },
        XdrCase {
            name: "xdr_refuses_missing_body",
            open_first: true,
            served: false,
            exact_body: true,
            calls: |_| vec![(DEREGISTER_ANY, vec![])],
        },
    ]
}

/// Runs one leniency case on a fresh connection: the answers.
///
/// # Errors
/// When the daemon cannot be reached or the set-up calls fail.
pub fn run_xdr_case(t: &Target, case: &XdrCase) -> Result<Vec<Answer>, String> {
    // The domain `test` as `remote_nonnull_domain`, for the registration case.
    let mut w = opened(t)?;
    let name = to_bytes(&XdrString::from("test")).map_err(|e| e.to_string())?;
    w.call_raw(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 2, &name).map_err(io)?;
    let test = match w.answer(2) {
        Answer::Ok(body) => body,
        other => return Err(format!("DOMAIN_LOOKUP_BY_NAME(test): {other}")),
    };
    drop(w);
    let mut w = if case.open_first { opened(t)? } else { connect(t)? };
    let mut answers = vec![];
    for (serial, (proc_, body)) in (2..).zip((case.calls)(&test)) {
        w.call_raw(proc_, serial, &body).map_err(io)?;
        let a = w.answer(serial);
        answers.push(if case.exact_body { a } else { a.shape() });
    }
    Ok(answers)
}

fn check_xdr_case(t: &Target, case: &XdrCase) -> Verdict {
    let answers = run_xdr_case(t, case)?;
    let last = answers.last().cloned().unwrap_or(Answer::Silent);
    if case.served {
        // A lookup of the missing `testx` is served: decoded, looked up, not found.
        let ok = answers.iter().all(|a| matches!(a, Answer::Ok(_))) || matches!(last, Answer::Error { code: 42, .. });
        ensure(ok, || format!("libvirtd serves this frame; got {}", show(&answers)))?;
    } else {
        rpc_error(&last, "Unable to decode message payload")?;
    }
    if case.name == "xdr_optional_flag_2_is_present" {
        let Answer::Ok(b) = &answers[1] else { return Err("CONNECT_GET_URI failed".into()) };
        ensure(from_bytes::<XdrString>(b.clone()).is_ok_and(|u| u == "test:///default"), || {
            "the name behind flag 2 was not used".into()
        })?;
    }
    Ok(answers.iter().map(ToString::to_string).collect())
}

fn show(answers: &[Answer]) -> String {
    answers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

macro_rules! xdr_check {
    ($($i:literal),*) => {
        vec![$(Check {
            name: xdr_cases()[$i].name,
            run: |t| check_xdr_case(t, &xdr_cases()[$i]),
        }),*]
    };
}

fn xdr_checks() -> Vec<Check> {
    let v = xdr_check!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    debug_assert_eq!(v.len(), xdr_cases().len());
    v
}
