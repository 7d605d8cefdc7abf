import libvirt as V, sys
V.registerErrorHandler(lambda *a: None, None)
uri = sys.argv[1]
def err(label, f):
    try:
        r = f(); print(label, "ok")
    except V.libvirtError as e:
        print(label, e.get_error_code(), e.get_error_domain(), e.get_error_message())
c0 = V.open(uri)
st0 = c0.newStream(0)
c0.lookupByName("test").screenshot(st0, 0, 0)
err("no-loop-add", lambda: st0.eventAddCallback(V.VIR_STREAM_EVENT_READABLE, lambda *a: None, None))
st0.abort()
c0.close()
V.virEventRegisterDefaultImpl()
c = V.open(uri)
dom = c.lookupByName("test")
st = c.newStream(0)
rec = []
state = {"eof": False, "total": 0}
def cb(stream, ev, op):
    if ev & V.VIR_STREAM_EVENT_READABLE:
        d = stream.recv(1 << 20)
        n = len(d)
        state["total"] += n
        rec.append("r%d" % ev if n else "eof%d" % ev)
        if n == 0:
            state["eof"] = True
            stream.eventUpdateCallback(0)
    else:
        rec.append("w%d" % ev)
        state["w"] = True
err("unopened-add", lambda: st.eventAddCallback(V.VIR_STREAM_EVENT_READABLE, cb, None))
err("unopened-update", lambda: st.eventUpdateCallback(1))
err("unopened-remove", lambda: st.eventRemoveCallback())
dom.screenshot(st, 0, 0)
err("update-none", lambda: st.eventUpdateCallback(1))
err("remove-none", lambda: st.eventRemoveCallback())
err("add", lambda: st.eventAddCallback(V.VIR_STREAM_EVENT_READABLE, cb, None))
err("add-again", lambda: st.eventAddCallback(V.VIR_STREAM_EVENT_READABLE, cb, None))
while not state["eof"]:
    V.virEventRunDefaultImpl()
print("reads", " ".join(sorted(set(rec))), "eof" in " ".join(rec), state["total"] > 0)
del rec[:]
err("update-writable", lambda: st.eventUpdateCallback(V.VIR_STREAM_EVENT_WRITABLE))
while "w" not in state:
    V.virEventRunDefaultImpl()
print("writable", rec[0])
err("remove", lambda: st.eventRemoveCallback())
err("remove-again", lambda: st.eventRemoveCallback())
err("update-after-remove", lambda: st.eventUpdateCallback(1))
err("finish", lambda: st.finish())
print("after", dom.isActive() == 1, c.getLibVersion() > 0)
