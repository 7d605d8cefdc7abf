//! Writes the seed corpus of the three fuzz targets to `fuzz/seeds/<target>/`, then runs every
//! seed through its harness once (a plain build, so a broken seed or harness shows up here).
//!
//! Seeds are built from hand-made valid and invalid frames that match what the harnesses expect
//! (the client harness's serials and procedures, the server harness's stream rules), plus every
//! `*.bin` file found under `../corpus/` (frames captured from real libvirtd/virsh sessions):
//! each becomes a `decode_frame` seed, and a client or server seed depending on whether its
//! first frame is a call.
//!
//! Usage: `cargo run --bin gen_seeds` (from `fuzz/`). `cargo run --bin gen_seeds -- --check`
//! only runs the existing seeds and `fuzz/corpus/` through the harnesses;
//! `cargo run --bin gen_seeds -- --replay <target> <file>…` runs single inputs (set
//! `FUZZ_TRACE=1` to print every event).

use std::fs;
use std::path::{Path, PathBuf};

use proto_core::frame::{FrameDecoder, MessageStatus as St, MessageType as Ty};
use proto_core::program::{
    KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, REMOTE_PROGRAM, VIR_DRV_FEATURE_PROGRAM_KEEPALIVE,
};
use proto_core::{ErrorCode, ErrorDomain, RemoteError, StreamHole, XdrString};
use proto_core_fuzz::*;

const TARGETS: [&str; 3] = ["decode_frame", "client_handle_input", "server_handle_input"];

fn run(target: &str, data: &[u8]) {
    match target {
        "decode_frame" => run_decode_frame(data),
        "client_handle_input" => run_client(data),
        _ => run_server(data),
    }
}

/// Control bytes that feed exactly `n` wire bytes.
fn feeds(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(128);
        v.push(Ctrl::feed(k));
        left -= k;
    }
    v
}

/// Builds `[ctrl][wire]` from steps: each step either feeds a frame (its exact length) or is a
/// raw control byte.
enum Step {
    Wire(Vec<u8>),
    Ctrl(u8),
}

fn script(steps: Vec<Step>) -> Vec<u8> {
    let mut ctrl = Vec::new();
    let mut wire = Vec::new();
    for s in steps {
        match s {
            Step::Wire(w) => {
                ctrl.extend(feeds(w.len()));
                wire.extend(w);
            }
            Step::Ctrl(c) => ctrl.push(c),
        }
    }
    assert!(ctrl.len() <= 127, "script too long: {} control bytes", ctrl.len());
    Split::build(false, &ctrl, &wire)
}

fn remote_error(msg: &str) -> Vec<u8> {
    xdr_of(&RemoteError::new(ErrorCode::VIR_ERR_NO_DOMAIN, ErrorDomain::VIR_FROM_QEMU, msg))
}

fn hole(length: i64) -> Vec<u8> {
    xdr_of(&StreamHole { length, flags: 0 })
}

fn be(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------------------------
// What the server sends to the client harness (serial i answers CLIENT_CALLS[i]).

fn reply(i: u32, status: St, body: &[u8]) -> Vec<u8> {
    let c = CLIENT_CALLS[i as usize];
    let ty = if c.proc_ == PROC_OPEN_GRAPHICS_FD { Ty::ReplyWithFds } else { Ty::Reply };
    let body = if ty == Ty::ReplyWithFds && status == St::Ok { cat(&[&be(1), body]) } else { body.to_vec() };
    frame(c.prog, c.proc_, ty, i, status, &body)
}

fn stream(i: u32, ty: Ty, status: St, body: &[u8]) -> Vec<u8> {
    let c = CLIENT_CALLS[i as usize];
    frame(c.prog, c.proc_, ty, i, status, body)
}

fn domain_ret() -> Vec<u8> {
    cat(&[&xdr_of(&XdrString::from("vm1")), &[7u8; 16], &be(3)])
}

fn ping() -> Vec<u8> {
    frame(KEEPALIVE_PROGRAM, KEEPALIVE_PROC_PING, Ty::Message, 0, St::Ok, &[])
}

fn pong() -> Vec<u8> {
    frame(KEEPALIVE_PROGRAM, KEEPALIVE_PROC_PONG, Ty::Message, 0, St::Ok, &[])
}

fn lifecycle_event() -> Vec<u8> {
    let body = cat(&[&be(1), &xdr_of(&XdrString::from("vm1")), &[7u8; 16], &be(3), &be(2), &be(0)]);
    frame(REMOTE_PROGRAM, PROC_EVENT_LIFECYCLE, Ty::Message, 1, St::Ok, &body)
}

fn client_valid_frames() -> Vec<Vec<u8>> {
    vec![
        reply(0, St::Ok, &[]),
        reply(1, St::Ok, &be(1)),
        reply(2, St::Ok, &[]),
        stream(2, Ty::Stream, St::Continue, b"disk image bytes, first chunk"),
        stream(2, Ty::StreamHole, St::Continue, &hole(1 << 20)),
        stream(2, Ty::Stream, St::Continue, b"after the hole"),
        stream(2, Ty::Stream, St::Continue, &[]),
        stream(2, Ty::Stream, St::Ok, &[]),
        reply(3, St::Ok, &[]),
        stream(3, Ty::Stream, St::Error, &remote_error("upload failed")),
        reply(4, St::Error, &remote_error("monitor gone")),
        reply(5, St::Ok, &[]),
        reply(6, St::Ok, &domain_ret()),
        lifecycle_event(),
        ping(),
        pong(),
    ]
}

fn client_seeds() -> Vec<(String, Vec<u8>)> {
    let valid = client_valid_frames();
    let all: Vec<u8> = valid.concat();
    let mut seeds = vec![
        ("all_valid_at_once".to_owned(), Split::build(false, &[], &all)),
        ("all_valid_7_byte_chunks".to_owned(), Split::build(false, &[Ctrl::feed(7); 127], &all)),
        ("all_valid_1_byte_chunks".to_owned(), Split::build(false, &[Ctrl::feed(1); 127], &all)),
    ];
    for (i, f) in valid.iter().enumerate() {
        seeds.push((format!("single_{i:02}"), Split::build(false, &[], f)));
    }
    use Step::{Ctrl as C, Wire as W};
    seeds.push((
        "download_stream".into(),
        script(vec![
            W(reply(2, St::Ok, &[])),
            C(Ctrl::cmd(2, 0)),
            W(stream(2, Ty::Stream, St::Continue, b"data")),
            W(stream(2, Ty::StreamHole, St::Continue, &hole(4096))),
            W(stream(2, Ty::Stream, St::Continue, &[])),
            C(Ctrl::cmd(4, 0)),
            W(stream(2, Ty::Stream, St::Ok, &[])),
            C(Ctrl::cmd(4, 0)),
        ]),
    ));
    seeds.push((
        "upload_stream".into(),
        script(vec![
            C(Ctrl::cmd(2, 0)),
            W(reply(3, St::Ok, &[])),
            C(Ctrl::cmd(2, 7)),
            C(Ctrl::cmd(3, 0)),
            C(Ctrl::cmd(5, 0)),
            W(stream(3, Ty::Stream, St::Ok, &[])),
            C(Ctrl::cmd(2, 0)),
        ]),
    ));
    seeds.push((
        "upload_stream_error".into(),
        script(vec![
            W(reply(3, St::Ok, &[])),
            C(Ctrl::cmd(2, 1)),
            W(stream(3, Ty::Stream, St::Error, &remote_error("no space"))),
        ]),
    ));
    seeds.push((
        "cancel_then_late_reply".into(),
        script(vec![C(Ctrl::cmd(1, 0)), C(Ctrl::cmd(1, 2)), W(reply(0, St::Ok, &[])), W(reply(2, St::Ok, &[]))]),
    ));
    seeds.push((
        "deadlines_fire".into(),
        script(vec![
            W(reply(0, St::Ok, &[])),
            C(Ctrl::cmd(6, 0)),
            W(reply(1, St::Ok, &be(1))),
            C(Ctrl::cmd(6, 0)),
            C(Ctrl::cmd(6, 0)),
            W(reply(3, St::Ok, &[])),
        ]),
    ));
    seeds.push((
        "keepalive_ping_then_silence".into(),
        script(vec![
            W(ping()),
            C(Ctrl::tick(30)),
            W(pong()),
            C(Ctrl::tick(63)),
            C(Ctrl::tick(63)),
            C(Ctrl::tick(63)),
            C(Ctrl::tick(63)),
        ]),
    ));
    seeds.push((
        "more_calls_up_to_the_bound".into(),
        script(vec![
            C(Ctrl::cmd(0, 0)),
            C(Ctrl::cmd(0, 2)),
            C(Ctrl::cmd(0, 3)),
            C(Ctrl::cmd(0, 6)),
            C(Ctrl::cmd(0, 1)),
            W(frame(REMOTE_PROGRAM, PROC_CONNECT_OPEN, Ty::Reply, 7, St::Ok, &[])),
            C(Ctrl::cmd(0, 4)),
        ]),
    ));
    seeds.push((
        "eof_mid_frame".into(),
        script(vec![W(reply(0, St::Ok, &[])), W(reply(1, St::Ok, &be(1))[..10].to_vec()), C(Ctrl::cmd(7, 7))]),
    ));
    // Invalid frames after a valid one: each closes the connection (or is ignored).
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("bad_length_5", be(5)),
        ("bad_length_huge", be(0x0200_0005)),
        ("call_to_client", frame(REMOTE_PROGRAM, 1, Ty::Call, 0, St::Ok, &[])),
        ("reply_unknown_serial", frame(REMOTE_PROGRAM, 1, Ty::Reply, 99, St::Ok, &[])),
        ("reply_wrong_proc", frame(REMOTE_PROGRAM, 2, Ty::Reply, 1, St::Ok, &[])),
        ("reply_status_continue", reply(1, St::Continue, &[])),
        ("reply_unknown_type", {
            let mut f = reply(1, St::Ok, &[]);
            f[15] = 9;
            f
        }),
        ("reply_unknown_status", {
            let mut f = reply(1, St::Ok, &[]);
            f[27] = 7;
            f
        }),
        ("reply_with_33_fds", frame(REMOTE_PROGRAM, PROC_OPEN_GRAPHICS_FD, Ty::ReplyWithFds, 5, St::Ok, &be(33))),
        ("reply_error_truncated", reply(4, St::Error, &remote_error("x")[..9])),
        ("stream_hole_truncated", stream(2, Ty::StreamHole, St::Continue, &[0, 0, 0, 1])),
        ("stream_error_garbage", stream(2, Ty::Stream, St::Error, &[0xff; 12])),
    ];
    for (name, f) in bad {
        let mut w = reply(2, St::Ok, &[]);
        w.extend(&f);
        w.extend(reply(0, St::Ok, &[]));
        seeds.push((format!("invalid_{name}"), Split::build(false, &[], &w)));
    }
    seeds
}

// ---------------------------------------------------------------------------------------------
// What a client sends to the server harness.

fn call(prog: u32, proc_: i32, serial: u32, body: &[u8]) -> Vec<u8> {
    frame(prog, proc_, Ty::Call, serial, St::Ok, body)
}

fn open_args() -> Vec<u8> {
    xdr_of(&OpenArgs { name: Some(XdrString::from("qemu:///system")), flags: 0 })
}

fn get_state_args() -> Vec<u8> {
    cat(&[&xdr_of(&XdrString::from("vm1")), &[7u8; 16], &be(3), &be(0)])
}

fn vol_args() -> Vec<u8> {
    cat(&[
        &xdr_of(&XdrString::from("default")),
        &xdr_of(&XdrString::from("disk.qcow2")),
        &xdr_of(&XdrString::from("/var/lib/libvirt/images/disk.qcow2")),
        &[0, 0, 0, 0, 0, 0, 0, 0],
        &[0, 0, 0, 0, 0, 0, 0x10, 0],
        &be(0),
    ])
}

fn cstream(proc_: i32, serial: u32, ty: Ty, status: St, body: &[u8]) -> Vec<u8> {
    frame(REMOTE_PROGRAM, proc_, ty, serial, status, body)
}

fn server_valid_frames() -> Vec<Vec<u8>> {
    vec![
        call(REMOTE_PROGRAM, PROC_CONNECT_OPEN, 0, &open_args()),
        call(REMOTE_PROGRAM, PROC_SUPPORTS_FEATURE, 1, &be(VIR_DRV_FEATURE_PROGRAM_KEEPALIVE as u32)),
        call(REMOTE_PROGRAM, PROC_DOMAIN_GET_STATE, 2, &get_state_args()),
        call(REMOTE_PROGRAM, PROC_VOL_UPLOAD, 3, &vol_args()),
        cstream(PROC_VOL_UPLOAD, 3, Ty::Stream, St::Continue, b"uploaded bytes"),
        cstream(PROC_VOL_UPLOAD, 3, Ty::StreamHole, St::Continue, &hole(65536)),
        cstream(PROC_VOL_UPLOAD, 3, Ty::Stream, St::Continue, b"more bytes"),
        cstream(PROC_VOL_UPLOAD, 3, Ty::Stream, St::Ok, &[]),
        call(REMOTE_PROGRAM, PROC_VOL_DOWNLOAD, 4, &vol_args()),
        cstream(PROC_VOL_DOWNLOAD, 4, Ty::Stream, St::Error, &[]),
        call(QEMU.0, QEMU_PROC_MONITOR_COMMAND, 5, &cat(&[&get_state_args(), &xdr_of(&XdrString::from("info"))])),
        frame(REMOTE_PROGRAM, PROC_CREATE_XML_WITH_FILES, Ty::CallWithFds, 6, St::Ok, &cat(&[&be(2), &be(0)])),
        call(REMOTE_PROGRAM, PROC_CONNECT_GET_HOSTNAME, 7, &[]),
        ping(),
        pong(),
    ]
}

fn server_seeds() -> Vec<(String, Vec<u8>)> {
    let valid = server_valid_frames();
    let all: Vec<u8> = valid.concat();
    let mut seeds = vec![
        ("all_valid_at_once".to_owned(), Split::build(false, &[], &all)),
        ("all_valid_9_byte_chunks".to_owned(), Split::build(false, &[Ctrl::feed(9); 127], &all)),
        ("all_valid_1_byte_chunks".to_owned(), Split::build(false, &[Ctrl::feed(1); 127], &all)),
        ("all_valid_held".to_owned(), Split::build(false, &[Ctrl::cmd(0, 0), Ctrl::cmd(7, 3)], &all)),
    ];
    for (i, f) in valid.iter().enumerate() {
        seeds.push((format!("single_{i:02}"), Split::build(false, &[], f)));
    }
    use Step::{Ctrl as C, Wire as W};
    let burst: Vec<u8> = (0..8).flat_map(|s| call(REMOTE_PROGRAM, PROC_CONNECT_GET_HOSTNAME, s, &[])).collect();
    seeds.push((
        "burst_over_max_client_requests".into(),
        script(vec![C(Ctrl::cmd(0, 0)), W(burst.clone()), C(Ctrl::cmd(1, 0)), C(Ctrl::cmd(0, 0))]),
    ));
    seeds.push(("burst_answered_at_once".into(), Split::build(false, &[], &burst)));
    // proto-core/tests/fuzz_regressions.rs: packets after the client's finish / abort.
    seeds.push((
        "regression_stream_packets_after_finish".into(),
        script(vec![
            W(call(REMOTE_PROGRAM, PROC_VOL_UPLOAD, 3, &[])),
            W(cat(&[
                &cstream(PROC_VOL_UPLOAD, 3, Ty::Stream, St::Ok, &[]),
                &cstream(PROC_VOL_UPLOAD, 3, Ty::Stream, St::Continue, b"late"),
            ])),
        ]),
    ));
    seeds.push((
        "regression_stream_packets_after_abort".into(),
        script(vec![
            W(call(REMOTE_PROGRAM, PROC_VOL_UPLOAD, 5, &[])),
            W(cat(&[
                &cstream(PROC_VOL_UPLOAD, 5, Ty::Stream, St::Error, &[]),
                &cstream(PROC_VOL_UPLOAD, 5, Ty::StreamHole, St::Continue, &hole(4096)),
            ])),
        ]),
    ));
    seeds.push((
        "download_from_server".into(),
        script(vec![
            W(call(REMOTE_PROGRAM, PROC_VOL_DOWNLOAD, 0, &vol_args())),
            C(Ctrl::cmd(2, 0)),
            C(Ctrl::cmd(3, 0)),
            C(Ctrl::cmd(2, 7)),
            C(Ctrl::cmd(4, 0)),
            W(cstream(PROC_VOL_DOWNLOAD, 0, Ty::Stream, St::Ok, &[])),
            C(Ctrl::cmd(2, 0)),
        ]),
    ));
    seeds.push((
        "keepalive_started_then_silence".into(),
        script(vec![
            W(call(REMOTE_PROGRAM, PROC_SUPPORTS_FEATURE, 0, &be(VIR_DRV_FEATURE_PROGRAM_KEEPALIVE as u32))),
            C(Ctrl::tick(30)),
            W(pong()),
            C(Ctrl::cmd(6, 0)),
            C(Ctrl::cmd(6, 0)),
            C(Ctrl::cmd(6, 0)),
            C(Ctrl::cmd(5, 0)),
            C(Ctrl::cmd(6, 0)),
        ]),
    ));
    seeds.push((
        "close_locally_with_calls_held".into(),
        script(vec![
            C(Ctrl::cmd(0, 0)),
            W(call(REMOTE_PROGRAM, PROC_CONNECT_OPEN, 0, &open_args())),
            W(call(REMOTE_PROGRAM, PROC_VOL_UPLOAD, 1, &vol_args())),
            C(Ctrl::cmd(7, 6)),
            C(Ctrl::cmd(0, 0)),
        ]),
    ));
    let odd: Vec<(&str, Vec<u8>)> = vec![
        ("unknown_program", frame(0x1234_5678, 1, Ty::Call, 9, St::Ok, &[])),
        ("unknown_version", {
            let mut f = call(REMOTE_PROGRAM, 1, 9, &[]);
            f[11] = 2;
            f
        }),
        ("call_status_error", frame(REMOTE_PROGRAM, 1, Ty::Call, 9, St::Error, &[])),
        ("call_status_7", {
            let mut f = call(REMOTE_PROGRAM, 1, 9, &[]);
            f[27] = 7;
            f
        }),
        ("call_negative_proc", call(REMOTE_PROGRAM, -5, 9, &[])),
        ("reply_from_client", frame(REMOTE_PROGRAM, 1, Ty::Reply, 9, St::Ok, &[])),
        ("message_from_client", frame(REMOTE_PROGRAM, PROC_EVENT_LIFECYCLE, Ty::Message, 9, St::Ok, &[])),
        ("type_9", {
            let mut f = call(REMOTE_PROGRAM, 1, 9, &[]);
            f[15] = 9;
            f
        }),
        ("stream_for_no_stream", cstream(PROC_VOL_UPLOAD, 77, Ty::Stream, St::Continue, b"x")),
        ("call_with_33_fds", frame(REMOTE_PROGRAM, PROC_CREATE_XML_WITH_FILES, Ty::CallWithFds, 9, St::Ok, &be(33))),
        ("call_with_fds_no_count", frame(REMOTE_PROGRAM, PROC_CREATE_XML_WITH_FILES, Ty::CallWithFds, 9, St::Ok, &[])),
        ("bad_length_0", be(0)),
        ("bad_length_huge", be(0xffff_ffff)),
        ("stream_hole_truncated", cstream(PROC_VOL_UPLOAD, 0, Ty::StreamHole, St::Continue, &[1, 2])),
        ("stream_empty_continue", cstream(PROC_VOL_UPLOAD, 0, Ty::Stream, St::Continue, &[])),
    ];
    for (name, f) in odd {
        let mut w = call(REMOTE_PROGRAM, PROC_VOL_UPLOAD, 0, &vol_args());
        w.extend(&f);
        w.extend(call(REMOTE_PROGRAM, PROC_CONNECT_GET_HOSTNAME, 1, &[]));
        seeds.push((format!("odd_{name}"), Split::build(false, &[], &w)));
    }
    seeds
}

// ---------------------------------------------------------------------------------------------

fn decode_seeds(client: &[(String, Vec<u8>)], server: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (who, set) in [("to_client", client), ("to_server", server)] {
        for (name, data) in set {
            let wire = Split::parse(data).wire;
            if wire.is_empty() {
                continue;
            }
            let split = (wire.len() / 2) as u16;
            seeds.push((format!("{who}_{name}"), cat(&[&split.to_be_bytes(), wire])));
        }
    }
    seeds
}

fn captured(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captured(&p, out);
        } else if p.extension().is_some_and(|e| e == "bin" || e == "sent") {
            out.push(p);
        }
    }
}

/// Seeds from captured frames: (decode_frame seeds, client seeds, server seeds).
type Seeds = Vec<(String, Vec<u8>)>;

fn corpus_seeds(root: &Path) -> (Seeds, Seeds, Seeds) {
    let mut files = Vec::new();
    captured(root, &mut files);
    let (mut dec, mut cli, mut srv) = (Vec::new(), Vec::new(), Vec::new());
    for p in files {
        let Ok(bytes) = fs::read(&p) else { continue };
        if bytes.is_empty() {
            continue;
        }
        let bytes = shrink(bytes);
        let name = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace(['/', '\\'], "__");
        dec.push((
            format!("captured__{}", name.replace('.', "_")),
            cat(&[&((bytes.len() / 2) as u16).to_be_bytes(), &bytes]),
        ));
        // Single frames only seed decode_frame; the sessions and probes hold them in context.
        if name.starts_with("frames") {
            continue;
        }
        let dir_c2s = name.contains("c2s") || name.ends_with(".sent");
        let dir_s2c = name.contains("s2c") || name.contains("-reply-");
        let name = format!("captured__{}", name.replace('.', "_"));
        let mut d = FrameDecoder::new();
        d.push(&bytes);
        let first = d.next_frame().ok().flatten().map(|f| f.header.ty);
        let to_server = dir_c2s || (!dir_s2c && matches!(first, Some(Ty::Call | Ty::CallWithFds)));
        let to_client = dir_s2c || (!dir_c2s && !to_server);
        // Captured replies answer calls the fixed harness never made: mirror mode makes them.
        if to_client {
            cli.push((format!("{name}__mirror"), Split::build(true, &[], &bytes)));
            cli.push((name.clone(), Split::build(false, &[], &bytes)));
        }
        if to_server {
            srv.push((format!("{name}__streams"), Split::build(true, &[], &bytes)));
            srv.push((name, Split::build(false, &[], &bytes)));
        }
    }
    (dec, cli, srv)
}

/// Captured files above 4 KiB (the screenshot's PNG stream) are re-encoded with every body cut
/// to 512 bytes, so that seeds stay small and libFuzzer's `-max_len` stays low.
fn shrink(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() <= 4096 {
        return bytes;
    }
    let mut d = FrameDecoder::new();
    d.push(&bytes);
    let mut out = bytes::BytesMut::new();
    loop {
        match d.next_frame() {
            Ok(Some(f)) => {
                let body = &f.body[..f.body.len().min(512)];
                proto_core::frame::encode_frame_raw(&mut out, &f.header, body);
            }
            Ok(None) if !d.has_partial() => return out.to_vec(),
            // Not a clean sequence of frames: keep its start as it is.
            _ => return bytes[..4096].to_vec(),
        }
    }
}

fn check_dir(target: &str, dir: &Path) -> usize {
    let mut files = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    files.extend(rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()));
    files.sort();
    let mut failed = Vec::new();
    for p in &files {
        let data = fs::read(p).expect("readable seed");
        if std::panic::catch_unwind(|| run(target, &data)).is_err() {
            failed.push(p.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: {} inputs panicked: {failed:#?}", failed.len());
    files.len()
}

fn main() {
    let fuzz_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--replay") {
        // `--replay <target> <file>…`: run inputs (e.g. a crash artifact) outside libFuzzer.
        let target = args.get(1).expect("--replay <target> <file>…");
        for f in &args[2..] {
            run(target, &fs::read(f).expect("readable input"));
            println!("{f}: ok");
        }
        return;
    }
    let check_only = args.iter().any(|a| a == "--check");
    if !check_only {
        let client = client_seeds();
        let server = server_seeds();
        let mut decode = decode_seeds(&client, &server);
        let (cdec, ccli, csrv) = corpus_seeds(&fuzz_dir.join("../corpus"));
        let captured_count = cdec.len();
        decode.extend(cdec);
        let sets = [(TARGETS[0], decode), (TARGETS[1], [client, ccli].concat()), (TARGETS[2], [server, csrv].concat())];
        for (target, seeds) in sets {
            let dir = fuzz_dir.join("seeds").join(target);
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create seeds dir");
            for (name, data) in &seeds {
                fs::write(dir.join(name), data).expect("write seed");
            }
            println!("{target}: wrote {} seeds", seeds.len());
        }
        println!("captured frame files used: {captured_count}");
    }
    for target in TARGETS {
        let n = check_dir(target, &fuzz_dir.join("seeds").join(target));
        let m = check_dir(target, &fuzz_dir.join("corpus").join(target));
        println!("{target}: {n} seeds and {m} corpus entries ran clean");
    }
}
