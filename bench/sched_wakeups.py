#!/usr/bin/env python3
"""Who woke whom, on which CPU, during a benchmark run (BENCHMARKS.md, sixth pass).

    perf record -a -e sched:sched_switch,sched:sched_waking,sched:sched_wakeup -o run.data -- \
        target/release/bench_client blocking URI threads 8 10000
    bench/sched_wakeups.py run.data bench_client 10000 [LIBVIRTD_PID]

Every wake-up is sorted by waker and wakee (the client's process, libvirtd's main thread,
libvirtd's other threads), and by whether the woken thread was placed on the waker's CPU
("local"), on another busy CPU or on another idle one. Then each group's time on each CPU.
All per call. LIBVIRTD_PID defaults to the oldest `libvirtd` running.
"""
import collections
import re
import subprocess
import sys

data, client_comm, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
lvd = sys.argv[4] if len(sys.argv) > 4 else subprocess.check_output(["pgrep", "-o", "-x", "libvirtd"]).split()[0].decode()
script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,cpu,time,event,trace"],
                        capture_output=True, text=True, check=True).stdout
line = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)$")
events, tgid, client = [], {}, None
for l in script.splitlines():
    m = line.match(l)
    if m:
        comm, pid, tid, cpu, t, ev, trace = m.groups()
        tgid[tid] = pid
        if client is None and comm.startswith(client_comm[:15]):
            client = pid
        events.append((tid, int(cpu), float(t), ev, trace))


def group(tid):
    if tid == "0":
        return "idle"
    if tgid.get(tid) == lvd:
        return "libvirtd-main" if tid == lvd else "libvirtd-other"
    return "client" if tgid.get(tid) == client else "other"


running, since, waking = {}, {}, {}
wakeups, busy = collections.Counter(), collections.Counter()
for tid, cpu, t, ev, trace in events:
    if ev == "sched:sched_switch":
        prev, nxt = re.search(r"prev_pid=(\d+)", trace)[1], re.search(r"next_pid=(\d+)", trace)[1]
        if cpu in since:
            busy[(cpu, group(prev))] += t - since[cpu]
        since[cpu], running[cpu] = t, nxt
    elif ev == "sched:sched_waking":
        waking[re.search(r" pid=(\d+)", trace)[1]] = (cpu, group(tid))
    elif ev == "sched:sched_wakeup":
        woken, target = re.search(r" pid=(\d+)", trace)[1], int(re.search(r"target_cpu=(\d+)", trace)[1])
        from_cpu, waker = waking.get(woken, (cpu, group(tid)))
        where = "local" if from_cpu == target else ("to an idle CPU" if running.get(target, "0") == "0" else "to a busy CPU")
        wakeups[(waker, group(woken), where)] += 1

print(f"wake-ups per call ({calls} calls)")
for (waker, woken, where), n in sorted(wakeups.items(), key=lambda kv: -kv[1]):
    if n / calls >= 0.02:
        print(f"  {waker:15s} -> {woken:15s} {where:15s} {n / calls:5.2f}")
print("time per call on each CPU (µs)")
for cpu in sorted({c for c, _ in busy}):
    print(f"  CPU {cpu}: " + ", ".join(f"{g} {s * 1e6 / calls:.1f}" for (c, g), s in sorted(busy.items()) if c == cpu and s * 1e6 / calls >= 0.5))
