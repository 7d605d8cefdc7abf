import libvirt as V, sys, os
V.registerErrorHandler(lambda *a: None, None)
def out(label, f):
    try:
        print(label, "ok", f())
    except V.libvirtError as e:
        print(label, "err", e.get_error_code(), e.get_error_domain(), e.get_error_message())
for uri in sys.argv[1:]:
    c = V.open(uri)
    dom = c.lookupByName("test")
    def graphics():
        fd = dom.openGraphicsFD(0, 0)
        data = os.read(fd, 64).decode()
        os.close(fd)
        return data
    out("open-graphics-fd", graphics)
    out("alive", lambda: c.isAlive())
    out("after", lambda: dom.isActive())
    c = dom = None
