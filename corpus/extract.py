#!/usr/bin/env python3
"""Turns the loopback captures made by capture.sh into the corpus files.

Usage: extract.py WORKDIR CORPUSDIR PORT

WORKDIR holds, for every scenario listed in WORKDIR/scenarios (one line per scenario:
"NAME [LABEL-OF-TCP-STREAM-0 LABEL-OF-TCP-STREAM-1 ...]"), NAME.pcapng and NAME.cmd (the exact
command that produced the traffic), plus WORKDIR/versions.txt and, when the probes ran,
probes.pcapng and CORPUSDIR/probes/results.json.

What it does:
  1. reassembles the TCP payload of every connection, per direction, from the capture
     (tshark fields, no libvirt decoding), and splits it into messages by the length word;
  2. decodes the same capture with libvirt's Wireshark dissector (tshark -d tcp.port==PORT,libvirt,
     PDML output) and checks that it sees exactly the same messages (length, program, procedure,
     type, serial, status) in the same order; the dissector's procedure names name the files;
  3. writes CORPUSDIR/sessions/<session>.c2s.bin / .s2c.bin (whole byte streams),
     CORPUSDIR/frames/NNN-<dir>-<program>-<proc>-<name>-<type>[-<status>].bin (selected messages),
     CORPUSDIR/pcap/<scenario>.pcapng, and the generated blocks of CORPUSDIR/MANIFEST.md.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

REMOTE = 0x20008086
KEEPALIVE = 0x6B656570
TYPE_NAMES = {0: "call", 1: "reply", 2: "message", 3: "stream", 4: "call_with_fds", 5: "reply_with_fds",
              6: "stream_hole"}
STATUS_NAMES = {0: "ok", 1: "error", 2: "continue"}


def tshark(*args):
    return subprocess.run(["tshark", *args], check=True, capture_output=True, text=True).stdout


def reassemble(pcap, port):
    """{tcp.stream: {"c2s"|"s2c": (bytes, [(end_offset, epoch)])}} from the raw TCP payloads."""
    out = tshark("-r", pcap, "-Y", "tcp.len>0", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
                 "-e", "tcp.seq", "-e", "frame.time_epoch", "-e", "tcp.payload")
    segs = {}
    for line in out.splitlines():
        stream, sport, seq, t, payload = line.split("\t")
        d = "s2c" if int(sport) == port else "c2s"
        segs.setdefault(int(stream), {}).setdefault(d, []).append((int(seq), float(t), bytes.fromhex(payload)))
    result = {}
    for stream, dirs in segs.items():
        for d, lst in dirs.items():
            lst.sort(key=lambda x: x[0])
            data = bytearray()
            ends = []
            base = lst[0][0]
            for seq, t, p in lst:
                off = seq - base
                if off > len(data):
                    raise SystemExit(f"{pcap}: gap in stream {stream} {d} at {len(data)}")
                new = p[len(data) - off:]
                if new:
                    data += new
                    ends.append((len(data), t))
            result.setdefault(stream, {})[d] = (bytes(data), ends)
    return result


def split(data, ends):
    """Messages of a byte stream, each with the capture time of the packet holding its last byte."""
    msgs = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise SystemExit(f"trailing {len(data) - pos} bytes")
        (ln,) = struct.unpack_from(">I", data, pos)
        if ln < 28 or pos + ln > len(data):
            raise SystemExit(f"bad or truncated message at {pos}: length {ln}")
        t = next(t for end, t in ends if end >= pos + ln)
        msgs.append((data[pos:pos + ln], t))
        pos += ln
    return msgs


def dissect(pcap, port):
    """What libvirt's dissector sees: {(stream, dir): [dict per PDU]} in wire order."""
    xml = subprocess.run(["tshark", "-r", pcap, "-d", f"tcp.port=={port},libvirt", "-T", "pdml"],
                         check=True, capture_output=True).stdout
    pdus = {}
    for packet in ET.fromstring(xml).iter("packet"):
        protos = packet.findall("proto")
        tcp = next(p for p in protos if p.get("name") == "tcp")
        stream = int(tcp.find("field[@name='tcp.stream']").get("show"))
        sport = int(tcp.find("field[@name='tcp.srcport']").get("show"))
        d = "s2c" if sport == port else "c2s"
        packet_malformed = any(p.get("name") == "_ws.malformed" for p in protos)
        for p in protos:
            if p.get("name") != "libvirt":
                continue
            f = {}
            for fld in p.findall("field"):
                n = fld.get("name")
                if n.startswith("libvirt.") and n.count(".") == 1 and n not in f:
                    f[n] = fld
            def show(n):
                return f[n].get("show")
            def named(n):
                m = re.match(r"^\w+: (\S+) \(", f[n].get("showname"))
                return m.group(1) if m else None
            expert = any(e.get("name", "").startswith("_ws.expert") or e.get("name") == "_ws.malformed"
                         for e in p.iter("field")) or any(e.get("name") == "_ws.malformed" for e in p.iter("proto"))
            pdus.setdefault((stream, d), []).append({
                "length": int(show("libvirt.length")),
                "prog": int(show("libvirt.program"), 16),
                "prog_name": named("libvirt.program"),
                "vers": int(show("libvirt.version")),
                "proc": int(show("libvirt.procedure")),
                "proc_name": named("libvirt.procedure"),
                "type": int(show("libvirt.type")),
                "type_name": named("libvirt.type"),
                "serial": int(show("libvirt.serial")),
                "status": int(show("libvirt.status")),
                "status_name": named("libvirt.status"),
                "flagged": expert or packet_malformed,
            })
    return pdus


def header(msg):
    return struct.unpack_from(">IIIiIIi", msg)


def check_against_dissector(name, msgs, pdus):
    if len(msgs) != len(pdus):
        raise SystemExit(f"{name}: {len(msgs)} messages reassembled, dissector saw {len(pdus)}")
    for (m, _), p in zip(msgs, pdus):
        ln, prog, vers, proc, ty, serial, status = header(m)
        mine = (ln, prog, vers, proc, ty, serial, status)
        theirs = (p["length"], p["prog"], p["vers"], p["proc"], p["type"], p["serial"], p["status"])
        if mine != theirs:
            raise SystemExit(f"{name}: mismatch {mine} vs dissector {theirs}")


def first_of(proc, ty):
    seen = set()

    def pred(h, d):
        key = (h[3], h[4])
        if h[3] == proc and h[4] == ty and key not in seen:
            seen.add(key)
            return True
        return False
    return pred


def select(session):
    """Which messages of a session get their own file under frames/ (all are in sessions/)."""
    if session == "main":
        return lambda h, d: True
    if session == "list-as-user":
        return lambda h, d: h[3] == 1 and h[1] == REMOTE
    if session == "keepalive":
        return lambda h, d: h[1] == KEEPALIVE
    if session == "events-listener":
        firsts = [first_of(316, 0), first_of(316, 1), first_of(317, 0), first_of(317, 1)]
        return lambda h, d: h[3] == 318 or any(f(h, d) for f in firsts)
    if session == "events-trigger":
        return lambda h, d: h[3] in (34, 28)
    if session == "screenshot":
        return lambda h, d: h[3] == 211
    return lambda h, d: False


def frame_name(n, d, p):
    proc = str(p["proc"]).replace("-", "m")
    parts = [f"{n:03d}", d, (p["prog_name"] or f"{p['prog']:08x}").lower(), proc,
             (p["proc_name"] or "unknown").lower(), TYPE_NAMES.get(p["type"], f"type{p['type']}")]
    if p["status"] != 0:
        parts.append(STATUS_NAMES.get(p["status"], f"status{p['status']}"))
    return "-".join(parts) + ".bin"


def replace_block(text, tag, body):
    begin, end = f"<!-- BEGIN GENERATED {tag} -->", f"<!-- END GENERATED {tag} -->"
    if begin not in text:
        return text + f"\n{begin}\n{body}\n{end}\n"
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    return f"{pre}{begin}\n{body}\n{end}{post}"


def describe_pdu(p):
    s = (f"{p['prog_name'] or '?'} {p['proc_name'] or '?'} ({p['proc']}) {p['type_name']} serial={p['serial']} "
         f"status={p['status_name']}")
    if p["flagged"]:
        s += " **dissector flagged malformed/expert info**"
    return s


def error_text(r):
    if "error" not in r:
        return ""
    e = r["error"]
    s = f" code={e['code']} domain={e['domain']} level={e['level']} message=\"{e['message']}\" str1=\"{e['str1']}\""
    if e["str2"] is not None:
        s += f" str2=\"{e['str2']}\""
    return s


def main():
    work, corpus, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for sub in ("sessions", "frames", "pcap"):
        path = os.path.join(corpus, sub)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.makedirs(path)
    scenarios = [line.split() for line in open(os.path.join(work, "scenarios")) if line.strip()]
    session_rows, frame_rows, cmd_rows = [], [], []
    n = 0
    for scen in scenarios:
        name, labels = scen[0], scen[1:] or [scen[0]]
        pcap = os.path.join(work, f"{name}.pcapng")
        shutil.copy(pcap, os.path.join(corpus, "pcap", f"{name}.pcapng"))
        cmd_rows.append((name, open(os.path.join(work, f"{name}.cmd")).read().strip()))
        streams = reassemble(pcap, port)
        pdus = dissect(pcap, port)
        if len(streams) != len(labels):
            raise SystemExit(f"{name}: {len(streams)} TCP connections, expected {len(labels)}")
        picked = []
        for stream, label in zip(sorted(streams), labels):
            session = label if label == name else f"{name}-{label}"
            pred = select(session)
            for d in ("c2s", "s2c"):
                data, ends = streams[stream].get(d, (b"", []))
                msgs = split(data, ends)
                check_against_dissector(f"{session} {d}", msgs, pdus.get((stream, d), []))
                fname = f"{session}.{d}.bin"
                with open(os.path.join(corpus, "sessions", fname), "wb") as f:
                    f.write(data)
                session_rows.append((fname, len(data), len(msgs), name))
                for (m, t), p in zip(msgs, pdus.get((stream, d), [])):
                    if pred(header(m), d):
                        picked.append((t, d, m, p, session))
        picked.sort(key=lambda x: x[0])
        for t, d, m, p, session in picked:
            n += 1
            fname = frame_name(n, d, p)
            with open(os.path.join(corpus, "frames", fname), "wb") as f:
                f.write(m)
            frame_rows.append((fname, len(m), session, describe_pdu(p)))

    probe_rows = []
    results_path = os.path.join(corpus, "probes", "results.json")
    probes_pcap = os.path.join(work, "probes.pcapng")
    if os.path.exists(results_path) and os.path.exists(probes_pcap):
        shutil.copy(probes_pcap, os.path.join(corpus, "pcap", "probes.pcapng"))
        pdus = dissect(probes_pcap, port)
        s2c = [p for (stream, d), lst in sorted(pdus.items()) if d == "s2c" for p in lst]
        results = json.load(open(results_path))
        replies = [r for res in results for r in res["replies"]]
        if len(replies) != len(s2c):
            raise SystemExit(f"probes: {len(replies)} reply frames recorded, dissector saw {len(s2c)}")
        for r, p in zip(replies, s2c):
            if (r["len"], r["proc"], r["serial"], r["status"]) != (p["length"], p["proc"], p["serial"], p["status"]):
                raise SystemExit(f"probes: {r['file']} differs from the dissector's view")
            r["dissector"] = describe_pdu(p)
        for res in results:
            if res["replies"]:
                out = "; ".join(f"`{r['file']}`: {r['dissector']}{error_text(r)}" for r in res["replies"])
            else:
                out = "no reply frame"
            probe_rows.append((res["id"], res["sent"], res["sent_hex"], out, res["end"]))

    versions = open(os.path.join(work, "versions.txt")).read().strip()
    manifest_path = os.path.join(corpus, "MANIFEST.md")
    text = open(manifest_path).read() if os.path.exists(manifest_path) else "# Corpus\n"
    text = replace_block(text, "capture", versions + f"\n- daemon TCP port during the capture: `{port}` "
                         f"(decode with `tshark -r corpus/pcap/<file> -d tcp.port=={port},libvirt -Y libvirt -V`)\n\n"
                         + "\n".join(f"- `{name}`: `{cmd}`" for name, cmd in cmd_rows))
    text = replace_block(text, "sessions", "| file | bytes | messages | scenario |\n|---|---|---|---|\n"
                         + "\n".join(f"| `sessions/{f}` | {b} | {k} | `{s}` |" for f, b, k, s in session_rows))
    text = replace_block(text, "frames", "| file | bytes | session | libvirt dissector says |\n|---|---|---|---|\n"
                         + "\n".join(f"| `frames/{f}` | {b} | {s} | {desc} |" for f, b, s, desc in frame_rows))
    if probe_rows:
        text = replace_block(text, "probes", "| probe | sent | sent (hex) | reply (files under `probes/`) | then |\n"
                             "|---|---|---|---|---|\n"
                             + "\n".join(f"| `{i}` | {w} | `{h}` | {o} | {e} |" for i, w, h, o, e in probe_rows))
        with open(results_path, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    with open(manifest_path, "w") as f:
        f.write(text)
    print(f"{len(session_rows)} session streams, {len(frame_rows)} frames, {len(probe_rows)} probes")


if __name__ == "__main__":
    main()
