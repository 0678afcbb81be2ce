"""Measure on a lab host (copied there by bench/harness.py; stdlib only). Prints JSON.

probe.py stats UNIT...          per systemd unit: PSS (KiB, /proc/<pid>/smaps_rollup summed over
                                every process of the unit) and CPU seconds used so far (the unit's
                                cgroup cpuacct.usage, else utime+stime of its live processes)
probe.py time N CMD [| CMD]...  wall seconds of N runs of a command or pipeline, output read
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def unit_pids(unit: str) -> tuple[list[int], str]:
    """Every process whose cgroup ends in /<unit>, and that cgroup's CPU accounting file if any."""
    pids, cpuacct = [], ""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            lines = (entry / "cgroup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if path.endswith("/" + unit):
                pids.append(int(entry.name))
                if "cpuacct" in controllers.split(","):
                    cpuacct = f"/sys/fs/cgroup/{controllers}{path}/cpuacct.usage"
                elif controllers == "" and not cpuacct:  # cgroup v2
                    cpuacct = f"/sys/fs/cgroup{path}/cpu.stat"
                break
    return sorted(set(pids)), cpuacct


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def cgroup_cpu(path: str) -> float | None:
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    if path.endswith("cpuacct.usage"):
        return int(text) / 1e9
    for line in text.splitlines():
        if line.startswith("usage_usec "):
            return int(line.split()[1]) / 1e6
    return None


def stats(units: list[str]) -> dict[str, dict[str, float | int | str]]:
    out: dict[str, dict[str, float | int | str]] = {}
    for unit in units:
        pids, cpu_path = unit_pids(unit)
        cpu = cgroup_cpu(cpu_path) if cpu_path else None
        out[unit] = {
            "procs": len(pids),
            "pss_kib": sum(pss_kib(p) for p in pids),
            "cpu_s": cpu if cpu is not None else sum(proc_cpu(p) for p in pids),
            "cpu_source": "cgroup" if cpu is not None else "proc",
        }
    return out


def timed(count: int, argv: list[str]) -> list[float]:
    stages: list[list[str]] = [[]]
    for word in argv:
        if word == "|":
            stages.append([])
        else:
            stages[-1].append(word)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        procs: list[subprocess.Popen[bytes]] = []
        stdin = None
        for stage in stages:
            proc = subprocess.Popen(stage, stdin=stdin, stdout=subprocess.PIPE)
            if stdin is not None:
                stdin.close()  # the next stage owns it now: SIGPIPE reaches the writer
            stdin = proc.stdout
            procs.append(proc)
        if stdin is not None:
            stdin.read()
        for proc in procs:
            proc.wait()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "stats":
        print(json.dumps(stats(args)))
    elif command == "time":
        print(json.dumps(timed(int(args[0]), args[1:])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
