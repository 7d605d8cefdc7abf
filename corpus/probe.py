#!/usr/bin/env python3
"""Raw probes against a running libvirtd (9.0) to pin its exact answers to odd input.

Usage: probe.py PORT [OUTDIR]

Each probe opens a fresh TCP connection to 127.0.0.1:PORT, sends hand-built bytes and
records what came back: whole reply frames, EOF (the daemon closed the socket), a reset,
or silence (no bytes within the timeout, connection still open).  Results are printed; when
OUTDIR is given, every reply frame is written to OUTDIR/NN-<probe>-reply-K.bin, the bytes
sent to OUTDIR/NN-<probe>.sent, and a summary to OUTDIR/results.json.

The frames are built here from the wire layout (length word, six header words, payload);
nothing is taken from libvirt's client library.  Only loopback is used.
"""

import json
import os
import socket
import struct
import sys

REMOTE = 0x20008086
KEEPALIVE = 0x6B656570
CALL, REPLY, MESSAGE = 0, 1, 2
TIMEOUT = 2.0


def frame(prog, vers, proc, mtype, serial, status, payload=b""):
    """A whole message: the length word counts itself, the 24-byte header and the payload."""
    body = struct.pack(">IIiIIi", prog, vers, proc, mtype, serial, status) + payload
    return struct.pack(">I", 4 + len(body)) + body


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


def decode_error(payload):
    """Decodes a remote_error payload into a dict (enough for the summary)."""
    pos = 0

    def u32():
        nonlocal pos
        (v,) = struct.unpack_from(">i", payload, pos)
        pos += 4
        return v

    def opt_string():
        nonlocal pos
        if u32() == 0:
            return None
        n = u32() & 0xFFFFFFFF
        s = payload[pos : pos + n].decode(errors="replace")
        pos += n + (-n % 4)
        return s

    out = {"code": u32(), "domain": u32(), "message": opt_string(), "level": u32()}
    out["dom_present"] = u32() != 0
    if out["dom_present"]:
        return out  # libvirt never fills it; stop rather than guess
    out["str1"], out["str2"], out["str3"] = opt_string(), opt_string(), opt_string()
    out["int1"], out["int2"] = u32(), u32()
    out["net_present"] = u32() != 0
    return out


def describe(fr):
    ln, prog, vers, proc, mtype, serial, status = struct.unpack_from(">IIIiIIi", fr)
    d = {
        "len": ln,
        "prog": f"0x{prog:08x}",
        "vers": vers,
        "proc": proc,
        "type": mtype,
        "serial": serial,
        "status": status,
        "hex": fr.hex(),
    }
    if status == 1 and len(fr) > 28:
        d["error"] = decode_error(fr[28:])
    return d


def exchange(port, chunks, timeout=TIMEOUT, expect_frames=None):
    """Sends each chunk, then reads until EOF, reset, silence, or `expect_frames` frames."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(timeout)
    buf = b""
    end = None
    try:
        for c in chunks:
            s.sendall(c)
        while True:
            if expect_frames is not None and len(split_frames(buf)[0]) >= expect_frames:
                end = "open (expected frames received)"
                break
            try:
                data = s.recv(65536)
            except socket.timeout:
                end = f"silence: no more bytes within {timeout:.0f} s, connection still open"
                break
            except ConnectionResetError:
                end = "connection reset (ECONNRESET)"
                break
            if not data:
                end = "EOF: the daemon closed the connection"
                break
            buf += data
    except (BrokenPipeError, ConnectionResetError) as e:
        end = f"send failed: {e.__class__.__name__}"
    finally:
        s.close()
    frames, rest = split_frames(buf)
    return frames, rest, end, s


def split_frames(buf):
    frames = []
    pos = 0
    while len(buf) - pos >= 4:
        (ln,) = struct.unpack_from(">I", buf, pos)
        if ln < 28 or len(buf) - pos < ln:
            break
        frames.append(buf[pos : pos + ln])
        pos += ln
    return frames, buf[pos:]


def probes():
    """(name, description, chunks, expected number of reply frames or None)."""
    auth_list = frame(REMOTE, 1, 66, CALL, 6, 0)
    yield ("unknown-program", "CALL to program 0x11223344 v1 proc 1 serial 1",
           [frame(0x11223344, 1, 1, CALL, 1, 0)], None)
    yield ("wrong-version", "CALL to REMOTE version 2, proc 66 (AUTH_LIST) serial 2",
           [frame(REMOTE, 2, 66, CALL, 2, 0)], None)
    for proc in (0, -1, 9999, 318):
        yield (f"unknown-proc-{proc}".replace("--", "-m"),
               f"CALL to REMOTE v1 proc {proc} serial 3 (fresh connection, before CONNECT_OPEN)",
               [frame(REMOTE, 1, proc, CALL, 3, 0)], None)
    yield ("call-status-7", "CALL REMOTE v1 proc 66 (AUTH_LIST) serial 4 with status 7",
           [frame(REMOTE, 1, 66, CALL, 4, 7)], None)
    yield ("http-get", "the bytes 'GET / HTTP/1.1\\r\\n' (length word 0x47455420)",
           [b"GET / HTTP/1.1\r\n"], None)
    yield ("client-reply", "a REPLY (type 1) for REMOTE proc 66 serial 5 sent by the client, "
           "then a normal AUTH_LIST CALL serial 6 on the same connection",
           [frame(REMOTE, 1, 66, REPLY, 5, 0), auth_list], None)
    yield ("length-4", "a bare length word of 4 (no header)", [struct.pack(">I", 4)], None)
    yield ("length-33554437", "length word 33554437 (0x02000005, one above the largest legal), "
           "then 24 header bytes", [struct.pack(">I", 33554437) + bytes(24)], None)
    yield ("length-33554437-bare", "only the length word 33554437, nothing after it",
           [struct.pack(">I", 33554437)], None)
    # Extras that pin behaviour the core also has to reproduce.
    yield ("ping-fresh", "keepalive PING (MESSAGE serial 0) as the first message of a connection",
           [frame(KEEPALIVE, 1, 1, MESSAGE, 0, 0)], None)
    yield ("before-open", "CONNECT_GET_HOSTNAME (59) CALL serial 7 before CONNECT_OPEN",
           [frame(REMOTE, 1, 59, CALL, 7, 0)], None)
    yield ("unknown-proc-9999-after-open", "CONNECT_OPEN(\"test:///default\", 0) serial 8, "
           "then CALL proc 9999 serial 9",
           [frame(REMOTE, 1, 1, CALL, 8, 0, struct.pack(">I", 1) + xdr_string("test:///default")
                  + struct.pack(">I", 0)),
            frame(REMOTE, 1, 9999, CALL, 9, 0)], 2)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    outdir = sys.argv[2] if len(sys.argv) > 2 else None
    if outdir:
        os.makedirs(outdir, exist_ok=True)
    results = []
    for i, (name, what, chunks, expect) in enumerate(probes(), 1):
        frames, rest, end, _ = exchange(port, chunks, expect_frames=expect)
        tag = f"{i:02d}-{name}"
        r = {"id": tag, "sent": what, "sent_hex": b"".join(chunks).hex(), "end": end,
             "replies": [], "trailing_bytes": rest.hex()}
        print(f"== {tag}: {what}")
        print(f"   sent {b''.join(chunks).hex()}")
        for k, fr in enumerate(frames, 1):
            d = describe(fr)
            d["file"] = f"{tag}-reply-{k}.bin" if outdir else None
            r["replies"].append(d)
            print(f"   reply {k}: len={d['len']} prog={d['prog']} vers={d['vers']} proc={d['proc']} "
                  f"type={d['type']} serial={d['serial']} status={d['status']}")
            if "error" in d:
                e = d["error"]
                print(f"     error code={e['code']} domain={e['domain']} level={e['level']} "
                      f"message={e['message']!r} str1={e.get('str1')!r} str2={e.get('str2')!r} str3={e.get('str3')!r} "
                      f"int1={e.get('int1')} int2={e.get('int2')}")
            print(f"     hex {d['hex']}")
            if outdir:
                with open(os.path.join(outdir, d["file"]), "wb") as f:
                    f.write(fr)
        if not frames:
            print("   no reply frame")
        if rest:
            print(f"   trailing bytes that are not a whole frame: {rest.hex()}")
        print(f"   then: {end}")
        if outdir:
            with open(os.path.join(outdir, f"{tag}.sent"), "wb") as f:
                f.write(b"".join(chunks))
        results.append(r)
    if outdir:
        with open(os.path.join(outdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
