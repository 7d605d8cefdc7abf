import libvirt as V, socket, sys, os
V.registerErrorHandler(lambda *a: None, None)
a, b = socket.socketpair()
r, w = os.pipe()
def out(label, f):
    try:
        print(label, "ok", f())
    except V.libvirtError as e:
        msg = e.get_error_message().replace("fd %d " % r, "fd N ")
        print(label, "err", e.get_error_code(), e.get_error_domain(), msg)
for uri in sys.argv[1:]:
    ro = V.openReadOnly(uri)
    out("read-only", lambda: ro.lookupByName("test").openGraphics(0, a.fileno(), 0))
    out("read-only-fd", lambda: ro.lookupByName("test").openGraphicsFD(0, 0))
    c = V.open(uri)
    dom = c.lookupByName("test")
    out("negative", lambda: dom.openGraphics(0, -1, 0))
    out("closed", lambda: dom.openGraphics(0, 999, 0))
    out("not-a-socket", lambda: dom.openGraphics(0, r, 0))
    out("open-graphics", lambda: dom.openGraphics(0, a.fileno(), 0))
    out("after", lambda: dom.isActive())
    out("open-graphics-fd", lambda: dom.openGraphicsFD(0, 0))
    out("after-fd", lambda: dom.isActive())
