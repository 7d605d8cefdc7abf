"""Rows of the entry-points tier: CPU baselines (virConnectBaselineCPU through python3-libvirt,
and `virsh cpu-baseline FILE` as users run it), computed from the CPU map libvirt installs."""
# The rows are lambdas run in order by entry_points.py; they see its connection helpers.
# pylint: disable=unused-wildcard-import,wildcard-import
import subprocess

from ep_common import *  # noqa: F401,F403

EXPAND = libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES


def host_cpu(model, vendor=None, features=(), arch="x86_64", extra=""):
    """A host CPU as `virsh capabilities` shows one (<cpu> of <host>)."""
    v = f"<vendor>{vendor}</vendor>" if vendor else ""
    f = "".join(f"<feature name='{x}'/>" for x in features)
    return f"<cpu><arch>{arch}</arch><model>{model}</model>{v}{extra}{f}</cpu>"


# Two hosts' <cpu> as `virsh capabilities` prints them on real machines: microcode, signature,
# TSC counter, topology, physical address size and the features beyond the model.
SKYLAKE_HOST = """<cpu>
      <arch>x86_64</arch>
      <model>Skylake-Client-IBRS</model>
      <vendor>Intel</vendor>
      <microcode version='240'/>
      <signature family='6' model='94' stepping='3'/>
      <counter name='tsc' frequency='2591996000' scaling='no'/>
      <topology sockets='1' dies='1' cores='4' threads='2'/>
      <maxphysaddr mode='emulate' bits='39'/>
      <feature name='ds'/>
      <feature name='acpi'/>
      <feature name='ss'/>
      <feature name='ht'/>
      <feature name='tm'/>
      <feature name='pbe'/>
      <feature name='dtes64'/>
      <feature name='monitor'/>
      <feature name='ds_cpl'/>
      <feature name='vmx'/>
      <feature name='smx'/>
      <feature name='est'/>
      <feature name='tm2'/>
      <feature name='xtpr'/>
      <feature name='pdcm'/>
      <feature name='osxsave'/>
      <feature name='tsc_adjust'/>
      <feature name='clflushopt'/>
      <feature name='intel-pt'/>
      <feature name='md-clear'/>
      <feature name='stibp'/>
      <feature name='ssbd'/>
      <feature name='xsaves'/>
      <feature name='pdpe1gb'/>
      <feature name='invtsc'/>
    </cpu>"""

HASWELL_HOST = """<cpu>
      <arch>x86_64</arch>
      <model>Haswell-noTSX-IBRS</model>
      <vendor>Intel</vendor>
      <signature family='6' model='63' stepping='2'/>
      <topology sockets='2' cores='8' threads='2'/>
      <feature name='vme'/>
      <feature name='ds'/>
      <feature name='acpi'/>
      <feature name='ss'/>
      <feature name='ht'/>
      <feature name='vmx'/>
      <feature name='pdcm'/>
      <feature name='dca'/>
      <feature name='osxsave'/>
      <feature name='f16c'/>
      <feature name='rdrand'/>
      <feature name='arat'/>
      <feature name='tsc_adjust'/>
      <feature name='ssbd'/>
      <feature name='xsaveopt'/>
      <feature name='pdpe1gb'/>
      <feature name='abm'/>
      <feature name='invtsc'/>
    </cpu>"""

EPYC_HOST = host_cpu("EPYC-Rome", "AMD", ["x2apic", "tsc-deadline", "hypervisor", "tsc_adjust", "cmp_legacy", "skinit", "topoext"])

CAPS_FILE = f"""<capabilities>
  <host>
    <uuid>5a1f7a2e-5b07-4d52-9e6e-2a4c1f1a0c01</uuid>
    {SKYLAKE_HOST}
    <power_management><suspend_mem/></power_management>
  </host>
  <guest><os_type>hvm</os_type><arch name='x86_64'><wordsize>64</wordsize></arch></guest>
</capabilities>
<!-- the second host of the cluster -->
<capabilities><host>{HASWELL_HOST}</host></capabilities>
"""


def virsh_baseline(text, *options):
    """`virsh -c URI cpu-baseline [OPTIONS] FILE`: exit status, output and error output."""
    path = image("cpus.xml", text.encode())
    p = subprocess.run(["virsh", "-c", URI, "cpu-baseline", *options, path],
                       capture_output=True, text=True, timeout=60, check=False)
    return [p.returncode, p.stdout, p.stderr]


def rows(conn, dom, net, pool, iface, names, ro):
    b = conn.baselineCPU
    haswell = host_cpu("Haswell", "Intel")
    return [
        # --- x86 baselines: the model libvirt picks and the <feature> lines it prints ------
        ("cpu.baseline.identical", lambda: b([haswell, haswell], 0), []),
        ("cpu.baseline.one", lambda: b([host_cpu("Icelake-Server", "Intel")], 0), []),
        ("cpu.baseline.two_intel", lambda: b([haswell, host_cpu("Broadwell", "Intel", ["vmx"])], 0), []),
        ("cpu.baseline.intel_features", lambda: b([host_cpu("Haswell-noTSX", "Intel", ["vmx", "ht", "pdpe1gb"]), host_cpu("Skylake-Client", "Intel", ["vmx", "pdpe1gb", "invtsc"])], 0), []),
        ("cpu.baseline.older_newer", lambda: b([host_cpu("Nehalem", "Intel"), host_cpu("Cascadelake-Server", "Intel")], 0), []),
        ("cpu.baseline.hosts", lambda: b([SKYLAKE_HOST, HASWELL_HOST], 0), []),
        ("cpu.baseline.hosts.expand", lambda: b([SKYLAKE_HOST, HASWELL_HOST], EXPAND), []),
        ("cpu.baseline.amd", lambda: b([EPYC_HOST, host_cpu("Opteron_G5", "AMD", ["svm"])], 0), []),
        ("cpu.baseline.amd.expand", lambda: b([EPYC_HOST, host_cpu("EPYC", "AMD")], EXPAND), []),
        ("cpu.baseline.hygon", lambda: b([host_cpu("Dhyana", "Hygon"), host_cpu("Dhyana")], 0), []),
        ("cpu.baseline.novendor", lambda: b([host_cpu("Haswell"), host_cpu("SandyBridge")], 0), []),
        ("cpu.baseline.generic", lambda: b([host_cpu("qemu64"), host_cpu("Penryn", "Intel")], 0), []),
        ("cpu.baseline.i686", lambda: b([host_cpu("pentium3", arch="i686"), host_cpu("coreduo", arch="i686")], EXPAND), []),
        ("cpu.baseline.identical.expand", lambda: b([haswell, haswell], EXPAND), []),
        ("cpu.baseline.expand.removed", lambda: b([host_cpu("Icelake-Client", "Intel")], EXPAND), []),
        ("cpu.baseline.many", lambda: b([host_cpu("Westmere", "Intel", ["vmx"])] * 256, 0), []),
        # --- other architectures -------------------------------------------------------------
        ("cpu.baseline.aarch64", lambda: b([host_cpu("cortex-a72", arch="aarch64"), host_cpu("cortex-a53", arch="aarch64")], EXPAND), []),
        ("cpu.baseline.ppc64", lambda: b([host_cpu("POWER9", "IBM", arch="ppc64le"), host_cpu("POWER9", arch="ppc64le")], 0), []),
        ("cpu.baseline.ppc64.incompatible", lambda: b([host_cpu("POWER9", arch="ppc64le"), host_cpu("POWER8", arch="ppc64le")], 0), []),
        ("cpu.baseline.ppc64.vendor", lambda: b([host_cpu("POWER9", "Freescale", arch="ppc64")], 0), []),
        ("cpu.baseline.s390x", lambda: b([host_cpu("z13", arch="s390x")], 0), []),
        ("cpu.baseline.mips", lambda: b([host_cpu("m", arch="mips64")], 0), []),
        # --- refusals --------------------------------------------------------------------------
        ("cpu.baseline.none", lambda: b([], 0), []),
        ("cpu.baseline.toomany", lambda: b([haswell] * 257, 0), []),
        ("cpu.baseline.flags", lambda: b([haswell], 2), []),
        ("cpu.baseline.badxml", lambda: b(["<cpu><arch>x86_64</arch>"], 0), []),
        ("cpu.baseline.notcpu", lambda: b(["<host/>"], 0), []),
        ("cpu.baseline.noarch", lambda: b(["<cpu><model>Haswell</model></cpu>"], 0), []),
        ("cpu.baseline.badarch", lambda: b([host_cpu("Haswell", arch="x86")], 0), []),
        ("cpu.baseline.nomodel", lambda: b(["<cpu><arch>x86_64</arch><vendor>Intel</vendor></cpu>"], 0), []),
        ("cpu.baseline.guestmode", lambda: b(["<cpu mode='host-model'><arch>x86_64</arch><model>Haswell</model></cpu>"], 0), []),
        ("cpu.baseline.badtopology", lambda: b([host_cpu("Haswell", extra="<topology sockets='0' cores='1' threads='1'/>")], 0), []),
        ("cpu.baseline.badsignature", lambda: b([host_cpu("Haswell", extra="<signature family='6'/>")], 0), []),
        ("cpu.baseline.duplicate_feature", lambda: b([host_cpu("Haswell", features=["vmx", "vmx"])], 0), []),
        ("cpu.baseline.unknown_model", lambda: b([haswell, host_cpu("Pentium99", "Intel")], 0), []),
        ("cpu.baseline.unknown_feature", lambda: b([host_cpu("Haswell", "Intel", ["warp-drive"])], 0), []),
        ("cpu.baseline.unknown_vendor", lambda: b([host_cpu("Haswell", "Cyrix")], 0), []),
        ("cpu.baseline.mixed_vendors", lambda: b([haswell, EPYC_HOST], 0), []),
        ("cpu.baseline.model_vendor", lambda: b([haswell, host_cpu("EPYC", "Intel")], 0), []),
        ("cpu.baseline.mixed_archs", lambda: b([haswell, host_cpu("Haswell", arch="aarch64")], 0), []),
        ("cpu.baseline.mixed_archs.arm_first", lambda: b([host_cpu("cortex-a53", arch="aarch64"), haswell], 0), []),
        # --- virsh cpu-baseline FILE, as users run it ----------------------------------------
        ("cpu.virsh.caps", lambda: virsh_baseline(CAPS_FILE), []),
        ("cpu.virsh.caps.features", lambda: virsh_baseline(CAPS_FILE, "--features"), []),
        ("cpu.virsh.caps.migratable", lambda: virsh_baseline(CAPS_FILE, "--migratable"), []),
        ("cpu.virsh.test_caps", lambda: virsh_baseline(conn.getCapabilities()), []),
        ("cpu.virsh.empty", lambda: virsh_baseline("<capabilities/>"), []),
    ]
