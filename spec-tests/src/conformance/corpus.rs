//! The corpus tier: the calls recorded from virsh ↔ libvirtd 9.0 (`corpus/sessions/main.*`)
//! and the raw probes (`corpus/probes/`) are sent again, byte for byte, and each answer is
//! compared structurally with the recorded one: the same header, the same error (every field
//! of `remote_error`), the same reply body but for volatile fields (`DOMAIN_GET_INFO`'s CPU
//! time).

use std::fs;
use std::path::Path;
use std::time::Duration;

use proto_core::programs::remote::{REMOTE_PROC_CONNECT_GET_HOSTNAME, REMOTE_PROC_DOMAIN_GET_INFO};
use proto_core::xdr::from_bytes;
use proto_core::{Frame, FrameDecoder, MessageStatus, MessageType, RemoteError};

use super::{ensure, Check, Target, Verdict};
use crate::wire::Wire;

/// The checks of the tier.
#[must_use]
pub fn checks() -> Vec<Check> {
    vec![
        Check { name: "session_main", run: session_main },
        Check { name: "probe_01_unknown_program", run: |t| probe(t, "01-unknown-program") },
        Check { name: "probe_02_wrong_version", run: |t| probe(t, "02-wrong-version") },
        Check { name: "probe_03_unknown_proc_0", run: |t| probe(t, "03-unknown-proc-0") },
        Check { name: "probe_04_unknown_proc_m1", run: |t| probe(t, "04-unknown-proc-m1") },
        Check { name: "probe_05_unknown_proc_9999", run: |t| probe(t, "05-unknown-proc-9999") },
        Check { name: "probe_06_unknown_proc_318", run: |t| probe(t, "06-unknown-proc-318") },
        Check { name: "probe_07_call_status_7", run: |t| probe(t, "07-call-status-7") },
        Check { name: "probe_08_http_get", run: |t| probe(t, "08-http-get") },
        Check { name: "probe_09_client_reply", run: |t| probe(t, "09-client-reply") },
        Check { name: "probe_10_length_4", run: |t| probe(t, "10-length-4") },
        Check { name: "probe_11_length_33554437", run: |t| probe(t, "11-length-33554437") },
        Check { name: "probe_12_length_33554437_bare", run: |t| probe(t, "12-length-33554437-bare") },
        Check { name: "probe_13_ping_fresh", run: |t| probe(t, "13-ping-fresh") },
        Check { name: "probe_14_before_open", run: |t| probe(t, "14-before-open") },
        Check { name: "probe_15_unknown_proc_9999_after_open", run: |t| probe(t, "15-unknown-proc-9999-after-open") },
    ]
}

fn read(t: &Target, rel: &str) -> Result<Vec<u8>, String> {
    let p = t.corpus_dir.join(rel);
    fs::read(&p).map_err(|e| format!("{}: {e} (give the corpus directory with --corpus)", p.display()))
}

/// The messages of a byte stream, in order.
fn messages(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let mut out = vec![];
    while let Some(f) = d.next_frame().map_err(|e| e.to_string())? {
        out.push(f);
    }
    Ok(out)
}

/// A message as compared: header fields, then the error or the body with volatile parts masked.
fn structure(f: &Frame) -> String {
    let h = &f.header;
    let head = format!("prog {:#x} v{} proc {} {:?} serial {} {:?}", h.prog, h.vers, h.proc_, h.ty, h.serial, h.status);
    if h.status == MessageStatus::Error {
        return match from_bytes::<RemoteError>(f.body.clone()) {
            Ok(e) => format!("{head} {e:?}"),
            Err(e) => format!("{head} undecodable error: {e}"),
        };
    }
    let mut body = f.body.to_vec();
    if h.ty == MessageType::Reply {
        match h.proc_ {
            // remote_domain_get_info_ret: state, maxMem, memory, nrVirtCpu, then cpuTime (8 bytes)
            REMOTE_PROC_DOMAIN_GET_INFO if body.len() == 32 => body[24..32].fill(0),
            // the host's name
            REMOTE_PROC_CONNECT_GET_HOSTNAME => body.clear(),
            _ => {}
        }
    }
    format!("{head} body {}", hex(&body))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn session_main(t: &Target) -> Verdict {
    let calls = messages(&read(t, "sessions/main.c2s.bin")?)?;
    let recorded = messages(&read(t, "sessions/main.s2c.bin")?)?;
    let mut w = Wire::connect(&t.uri).map_err(|e| format!("cannot connect: {e}"))?;
    let mut out = vec![];
    for call in &calls {
        let mut raw = bytes::BytesMut::new();
        proto_core::frame::encode_frame_raw(&mut raw, &call.header, &call.body);
        w.send(&raw).map_err(|e| e.to_string())?;
        if call.header.ty != MessageType::Call {
            continue;
        }
        let want = recorded
            .iter()
            .find(|r| r.header.ty == MessageType::Reply && r.header.serial == call.header.serial)
            .ok_or_else(|| format!("no recorded reply to serial {}", call.header.serial))?;
        let got = loop {
            match w.recv() {
                Ok(Some(f)) if f.header.ty == MessageType::Reply && f.header.serial == call.header.serial => break f,
                Ok(Some(_)) => {}
                other => return Err(format!("no reply to serial {}: {other:?}", call.header.serial)),
            }
        };
        let (g, r) = (structure(&got), structure(want));
        ensure(g == r, || format!("reply to call serial {}:\n  got      {g}\n  recorded {r}", call.header.serial))?;
        out.push(g);
    }
    Ok(out)
}

fn probe(t: &Target, id: &str) -> Verdict {
    let sent = read(t, &format!("probes/{id}.sent"))?;
    let mut want = vec![];
    for k in 1.. {
        let rel = format!("probes/{id}-reply-{k}.bin");
        if !Path::new(&t.corpus_dir).join(&rel).exists() {
            break;
        }
        want.extend(messages(&read(t, &rel)?)?);
    }
    let mut w = Wire::connect(&t.uri).map_err(|e| format!("cannot connect: {e}"))?;
    w.send(&sent).map_err(|e| e.to_string())?;
    let mut got = vec![];
    if want.is_empty() {
        // libvirtd closed these connections without a reply.
        let (frames, closed) = w.drain(Duration::from_secs(5)).map_err(|e| e.to_string())?;
        ensure(frames.is_empty() && closed, || {
            format!("libvirtd closed the connection without a reply; got {} messages (closed: {closed})", frames.len())
        })?;
        return Ok(vec!["closed without a reply".into()]);
    }
    while got.len() < want.len() {
        match w.recv() {
            Ok(Some(f)) => got.push(f),
            other => return Err(format!("{} of {} recorded replies, then {other:?}", got.len(), want.len())),
        }
    }
    // libvirtd's workers may answer pipelined calls in either order.
    let mut g: Vec<String> = got.iter().map(structure).collect();
    let mut r: Vec<String> = want.iter().map(structure).collect();
    g.sort();
    r.sort();
    ensure(g == r, || format!("\n  got      {g:?}\n  recorded {r:?}"))?;
    Ok(g)
}
