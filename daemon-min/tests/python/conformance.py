#!/usr/bin/python3
"""python3-libvirt against a libvirt daemon: the same session against Debian's libvirtd 9.0
(test driver) and daemon-min prints the same transcript.

    conformance.py URI [--streams]

Lookups, define, create, suspend/resume/destroy, undefine, errors, and lifecycle events through
libvirt's default event loop (virEventRegisterDefaultImpl + domainEventRegisterAny, a thread
running virEventRunDefaultImpl). With --streams it also uploads and downloads volumes through
virStream: dense (sendAll/recvAll) and sparse (VIR_STORAGE_VOL_*_SPARSE_STREAM with
sparseSendAll/sparseRecvAll), checking the bytes and that holes come back as holes. Without
--streams it only checks that an upload is refused (libvirt's test driver has no volume
streams) and prints the error.

Everything after the line "== streams" is daemon-min's alone; the rest must match libvirtd's.
"""

import sys
import threading
import time

import libvirt

URI = sys.argv[1]
STREAMS = "--streams" in sys.argv[2:]

DOMAIN_XML = """<domain type='test'>
  <name>py1</name>
  <uuid>0a0b0c0d-1111-2222-3333-444455556677</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>
"""

TRANSIENT_XML = """<domain type='test'>
  <name>py-transient</name>
  <uuid>0a0b0c0d-1111-2222-3333-444455556688</uuid>
  <memory unit='KiB'>32768</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


def out(*parts):
    print(*parts, flush=True)


def error_line(what, e):
    out("%s: error code=%d domain=%d: %s" % (what, e.get_error_code(), e.get_error_domain(), e.get_error_message()))


def expect_error(what, f):
    try:
        r = f()
    except libvirt.libvirtError as e:
        error_line(what, e)
        return
    out("%s: unexpectedly succeeded: %r" % (what, r))


def ignore_errors(ctx, err):
    # libvirt prints every error on stderr unless a handler is set; errors are printed here.
    pass


libvirt.registerErrorHandler(ignore_errors, None)
libvirt.virEventRegisterDefaultImpl()


def event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=event_loop, daemon=True).start()

events = []
events_lock = threading.Condition()


def lifecycle(conn, dom, event, detail, opaque):
    with events_lock:
        events.append("%s: %s event=%d detail=%d" % (opaque, dom.name(), event, detail))
        events_lock.notify_all()


def wait_events(n, timeout=10.0):
    deadline = time.monotonic() + timeout
    with events_lock:
        while len(events) < n and time.monotonic() < deadline:
            events_lock.wait(deadline - time.monotonic())
        return list(events)


def wait_for(pred, timeout=10.0):
    """Waits until pred(events so far) holds (events are dispatched by the event loop thread,
    asynchronously to the calls that cause them)."""
    deadline = time.monotonic() + timeout
    with events_lock:
        while not pred(events) and time.monotonic() < deadline:
            events_lock.wait(max(0.0, deadline - time.monotonic()))


def describe(dom):
    state, reason = dom.state()
    info = dom.info()
    out(
        "domain %s id=%d uuid=%s state=%d reason=%d active=%d persistent=%d"
        % (dom.name(), dom.ID(), dom.UUIDString(), state, reason, dom.isActive(), dom.isPersistent())
    )
    # info: state, maxMem, memory, nrVirtCpu, cpuTime (the last is volatile by nature).
    out("  info state=%d maxmem=%d memory=%d vcpus=%d" % (info[0], info[1], info[2], info[3]))


conn = libvirt.open(URI)
out("type", conn.getType())
out("version", conn.getVersion(), "libversion", conn.getLibVersion())
out("hostname", conn.getHostname())
out("uri", conn.getURI() == URI and "<uri>" or conn.getURI())
out("alive", conn.isAlive(), "secure", conn.isSecure(), "encrypted", conn.isEncrypted())
out("maxvcpus", conn.getMaxVcpus(None))
out("nodeinfo", conn.getInfo())

cb_all = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "all")

# Lookups.
test = conn.lookupByName("test")
describe(test)
out("lookupByID(1)", conn.lookupByID(test.ID()).name())
out("lookupByUUIDString", conn.lookupByUUIDString(test.UUIDString()).name())
out("xml of test:")
out(test.XMLDesc(0))
expect_error("lookupByName(nope)", lambda: conn.lookupByName("nope"))
expect_error("lookupByID(42)", lambda: conn.lookupByID(42))
expect_error("lookupByUUIDString", lambda: conn.lookupByUUIDString("00000000-0000-0000-0000-000000000042"))
out("all domains", sorted(d.name() for d in conn.listAllDomains(0)))
out("listDomainsID", conn.listDomainsID(), "listDefinedDomains", conn.listDefinedDomains())

# Define, then a filtered callback on the new domain alone.
dom = conn.defineXML(DOMAIN_XML)
describe(dom)
cb_one = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "py1-only")
expect_error("define invalid", lambda: conn.defineXML("<domain type='test'><name>x</name>"))
out("all domains", sorted(d.name() for d in conn.listAllDomains(0)))
out("inactive", [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)])

# Life cycle.
dom.create()
describe(dom)
expect_error("create again", lambda: dom.create())
dom.suspend()
describe(dom)
expect_error("suspend again", lambda: dom.suspend())
dom.resume()
describe(dom)
dom.destroy()
describe(dom)
expect_error("destroy again", lambda: dom.destroy())
dom.setAutostart(1)
out("autostart", dom.autostart())
dom.setAutostart(0)
# The filtered callback's last event (stopped) is in before it is deregistered: a callback
# deregistered first would drop it on the client, with libvirtd as with daemon-min.
wait_for(lambda got: any(e.startswith("py1-only: py1 event=%d" % libvirt.VIR_DOMAIN_EVENT_STOPPED) for e in got))
conn.domainEventDeregisterAny(cb_one)
dom.undefine()
expect_error("lookup after undefine", lambda: conn.lookupByName("py1"))

# A transient domain: started by createXML, gone once destroyed.
tr = conn.createXML(TRANSIENT_XML, 0)
describe(tr)
tr.destroy()
expect_error("lookup transient after destroy", lambda: conn.lookupByName("py-transient"))

# The default domain, too.
test.suspend()
test.resume()

# 1 define + (2 for py1-only: started, suspended, resumed, stopped mirrored) ...: wait for the
# last one we expect (test resumed) rather than counting.
got = wait_events(0)
deadline = time.monotonic() + 10
while not any(e.startswith("all: test event=%d" % libvirt.VIR_DOMAIN_EVENT_RESUMED) for e in got):
    if time.monotonic() > deadline:
        break
    got = wait_events(len(got) + 1, 0.5)
time.sleep(0.3)  # anything that would arrive late and wrongly
out("events:")
for e in wait_events(0):
    out(" ", e)
conn.domainEventDeregisterAny(cb_all)
expect_error("deregister twice", lambda: conn.domainEventDeregisterAny(cb_all))

# Networks and pools, briefly.
net = conn.networkLookupByName("default")
out("network", net.name(), net.UUIDString(), "active", net.isActive(), "bridge", net.bridgeName())
pool = conn.storagePoolLookupByName("default-pool")
out("pool", pool.name(), "active", pool.isActive(), "volumes", pool.listVolumes())

out("== streams")
CHUNK = 256 * 1024


def pattern(n, seed):
    # Deterministic bytes with no zero runs: (i * 31 + seed) % 251 + 1.
    return bytes(((i * 31 + seed) % 251) + 1 for i in range(n))


if not STREAMS:
    vol = pool.createXML("<volume><name>up.img</name><capacity>4096</capacity></volume>", 0)
    st = conn.newStream(0)
    expect_error("upload", lambda: vol.upload(st, 0, 4096, 0))
    vol.delete(0)
    conn.close()
    sys.exit(0)

# Dense: sendAll / recvAll, more than one chunk and not a multiple of it.
size = 2 * CHUNK + 12345
data = pattern(size, 7)
vol = pool.createXML("<volume><name>up.img</name><capacity>%d</capacity></volume>" % size, 0)
st = conn.newStream(0)
vol.upload(st, 0, size, 0)
pos = [0]


def source(stream, nbytes, opaque):
    chunk = data[pos[0]:pos[0] + nbytes]
    pos[0] += len(chunk)
    return chunk


st.sendAll(source, None)
st.finish()
out("dense upload", size, "bytes")
st = conn.newStream(0)
vol.download(st, 0, size, 0)
received = []
st.recvAll(lambda s, buf, o: received.append(buf) or len(buf), None)
st.finish()
back = b"".join(received)
out("dense download", len(back), "bytes", "same" if back == data else "DIFFERENT")
# A part of it: offset and length.
st = conn.newStream(0)
vol.download(st, 1000, 5000, 0)
received = []
st.recvAll(lambda s, buf, o: received.append(buf) or len(buf), None)
st.finish()
out("ranged download", len(b"".join(received)), "bytes", "same" if b"".join(received) == data[1000:6000] else "DIFFERENT")

# Sparse: data, a hole, data, a hole at the end.
layout = [("data", 70000), ("hole", 3 * CHUNK), ("data", CHUNK + 5), ("hole", 100000)]
sections = []
at = 0
for kind, n in layout:
    sections.append((kind, at, n))
    at += n
total = at
image = bytearray(total)
for i, (kind, start, n) in enumerate(sections):
    if kind == "data":
        image[start:start + n] = pattern(n, i)
image = bytes(image)
svol = pool.createXML("<volume><name>sparse.img</name><capacity>%d</capacity></volume>" % total, 0)
st = conn.newStream(0)
svol.upload(st, 0, total, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
cur = [0]


def section_at(offset):
    for kind, start, n in sections:
        if start <= offset < start + n:
            return kind, start + n - offset
    return "data", 0


def hole_handler(stream, opaque):
    kind, left = section_at(cur[0])
    return [kind == "data", left]


def skip_handler(stream, length, opaque):
    cur[0] += length
    return cur[0]


def sparse_source(stream, nbytes, opaque):
    chunk = image[cur[0]:cur[0] + nbytes]
    cur[0] += len(chunk)
    return chunk


st.sparseSendAll(sparse_source, hole_handler, skip_handler, None)
st.finish()
out("sparse upload", total, "bytes:", " ".join("%s %d" % (k, n) for k, n in layout))

# Sparse download: holes come back as holes.
st = conn.newStream(0)
svol.download(st, 0, total, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
got_sections = []
buf = bytearray()


def sink(stream, chunk, opaque):
    if got_sections and got_sections[-1][0] == "data":
        got_sections[-1][1] += len(chunk)
    else:
        got_sections.append(["data", len(chunk)])
    buf.extend(chunk)
    return len(chunk)


def hole_sink(stream, length, opaque):
    if got_sections and got_sections[-1][0] == "hole":
        got_sections[-1][1] += length
    else:
        got_sections.append(["hole", length])
    buf.extend(bytes(length))
    return 0


st.sparseRecvAll(sink, hole_sink, None)
st.finish()
out("sparse download:", " ".join("%s %d" % (k, n) for k, n in got_sections))
out("sparse download bytes", len(buf), "same" if bytes(buf) == image else "DIFFERENT")
out("holes as holes", [tuple(s) for s in got_sections] == list(layout))

# The same volume downloaded without the sparse flag: holes arrive as zeros.
st = conn.newStream(0)
svol.download(st, 0, total, 0)
received = []
st.recvAll(lambda s, b, o: received.append(b) or len(b), None)
st.finish()
dense = b"".join(received)
out("dense download of sparse", len(dense), "bytes", "same" if dense == image else "DIFFERENT")

out("volumes", sorted(pool.listVolumes()))
vol.delete(0)
svol.delete(0)
out("volumes after delete", sorted(pool.listVolumes()))
conn.close()
