#!/usr/bin/env python3
"""The differential tier's own table: libvirt entry points called through python3-libvirt, in
order (later calls see what earlier ones did), each result printed as one line:
`id<TAB>json`, the json being {"ok": value} or {"error": [code, domain, message]}.

Volatile fields (different on every run or host, never compared) are replaced by "*" and named
in the table's third column. Usage: entry_points.py URI
"""
# The rows live in ep_domains.py, ep_objects.py, ep_files.py, ep_cpu.py and ep_conf.py (in this order), the documents and
# helpers they use in ep_common.py.
# pylint: disable=unused-wildcard-import,wildcard-import
from ep_common import *  # noqa: F401,F403
import ep_domains
import ep_objects
import ep_files
import ep_cpu
import ep_conf


def main():
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(URI)
    libvirt.registerErrorHandler(lambda *_: None, None)
    dom = lambda name="test": conn.lookupByName(name)
    net = lambda name="default": conn.networkLookupByName(name)
    pool = lambda: conn.storagePoolLookupByName("default-pool")
    iface = lambda name="eth1": conn.interfaceLookupByName(name)
    names = lambda objs: sorted(o.name() for o in objs)
    ro = lambda: libvirt.openReadOnly(URI)

    # (id, call, volatile fields)
    table = (
        ep_domains.rows(conn, dom, net, pool, iface, names, ro)
        + ep_objects.rows(conn, dom, net, pool, iface, names, ro)
        + ep_files.rows(conn, dom, net, pool, iface, names, ro)
        + ep_cpu.rows(conn, dom, net, pool, iface, names, ro)
        + ep_conf.rows(conn, dom, net, pool, iface, names, ro)
    )
    for test_id, call, volatile in table:
        try:
            out = {"ok": mask(plain(call()), volatile)}
        except libvirt.libvirtError as e:
            out = {"error": [e.get_error_code(), e.get_error_domain(), e.get_error_message()]}
        except Exception as e:  # a client-side failure (e.g. a type the binding refuses)
            out = {"exception": type(e).__name__}
        print(f"{test_id}\t{json.dumps(out, sort_keys=True).replace(TMP, '$TMP')}", flush=True)
    conn.close()


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
