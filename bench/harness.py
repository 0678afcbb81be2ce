"""The bench lab and how the sections drive it: its configuration, the containers (network
hostwatch-bench, 172.30.4.0/24, containers hostwatch-bench-*), ansible-playbook, wrk and hey on the
client, and the probe on the host (bench/files/probe.py).

BENCH_LAB=N runs the same lab under other names (hostwatch-benchN-*, 172.30.N.0/24), so that a
second checkout on the same machine does not take this one's containers."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
# Committed beside the report: a later run of some sections keeps the others' figures.
RESULTS = ROOT / "docs" / "benchmarks.json"
LOG = CACHE / "ansible.log"

LAB = os.environ.get("BENCH_LAB", "")
PREFIX = f"hostwatch-bench{LAB}"
NET = f"172.30.{int(LAB) if LAB else 4}"
NETWORK, SUBNET = PREFIX, f"{NET}.0/24"
CLIENT, CLIENT_IP = f"{PREFIX}-client", f"{NET}.100"
HOST = f"{PREFIX}-1"
BASE = f"http://{NET}.11"
MAX_HOSTS = 32  # the fleet section's largest size: hosts 1..32 are .11 to .42

# What runs on the agent host. name -> (URL, systemd unit of the server)
TARGETS = {
    "hostwatch /health": (f"{BASE}/health", "hostwatch.service"),
    "hostwatch /health/live": (f"{BASE}/health/live", "hostwatch.service"),
    "hostwatch /metrics": (f"{BASE}/metrics", "hostwatch.service"),
    "hello-world /": (f"{BASE}:8081/", "hello.service"),
    "node_exporter /metrics": (f"{BASE}:8083/metrics", "prometheus-node-exporter.service"),
    "Glances /api/4/status": (f"{BASE}:8082/api/4/status", "glances.service"),
    "Glances /api/4/mem": (f"{BASE}:8082/api/4/mem", "glances.service"),
    "Glances /api/4/all": (f"{BASE}:8082/api/4/all", "glances.service"),
}
UNITS = sorted({unit for _, unit in TARGETS.values()})
LOG_SIZES = {"1m": 1 << 20, "100m": 100 << 20, "1g": 1 << 30}  # bench/peers.yml writes them
WRK_THREADS, WRK_CONNECTIONS = 2, 8


@dataclass(frozen=True)
class Scale:
    """How long and how often each section measures: the full run's figures by default."""

    fleet_sizes: tuple[int, ...] = (1, 8, 16, 32)
    fleet_rounds: int = 2  # no-op / bare-play / Mitogen no-op triples per size
    wrk_seconds: int = 10
    agent_rounds: int = 5
    curve_seconds: int = 20
    curve_rounds: int = 2
    log_count: int = 20  # requests / runs per round and case
    log_rounds: int = 3
    starve_levels: tuple[int, ...] = (0, 1, 2, 4, 8, 16, 24)
    starve_seconds: int = 10
    profile_seconds: int = 10


# The same steps at small scale, for checking the harness (noisy figures).
QUICK = Scale(
    fleet_sizes=(1, 2),
    fleet_rounds=2,
    wrk_seconds=3,
    agent_rounds=2,
    curve_seconds=5,
    curve_rounds=1,
    log_count=5,
    log_rounds=2,
    starve_levels=(0, 2, 8),
    starve_seconds=4,
    profile_seconds=4,
)


@dataclass(frozen=True)
class Config:
    """One `make bench` run, as bench/run.py's command line sets it."""

    quick: bool
    sections: tuple[str, ...]
    keep: bool  # leave the containers up afterwards

    @property
    def scale(self) -> Scale:
        scale = QUICK if self.quick else Scale()
        # BENCH_FLEET_SIZES=1,2: other sizes (to prove the fleet section's steps on a tiny lab)
        if sizes := os.environ.get("BENCH_FLEET_SIZES"):
            scale = replace(scale, fleet_sizes=tuple(int(n) for n in sizes.split(",")))
        return scale


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def run(argv: list[str], **kw: Any) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    if proc.returncode != 0:
        tail = (proc.stdout[-3000:] + proc.stderr[-3000:]).strip()
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{tail}")
    return str(proc.stdout)


def dexec(container: str, *argv: str) -> str:
    return run(["docker", "exec", container, *argv])


# --- Ansible --------------------------------------------------------------------------------------


def inventory(count: int) -> Path:
    """Inventory of the first `count` bench hosts and the client (group_vars: bench/inventory)."""
    inv = CACHE / f"inv-{count}"
    inv.mkdir(parents=True, exist_ok=True)
    link = inv / "group_vars"
    if not link.is_symlink():
        link.symlink_to(ROOT / "bench" / "inventory" / "group_vars")
    hosts = {
        f"{PREFIX}-{i}": {
            "hostwatch_lab_image": "local/hostwatch-lab:bookworm",
            "hostwatch_lab_ip": f"{NET}.{10 + i}",
        }
        for i in range(1, count + 1)
    }
    docker = {"ansible_connection": "community.docker.docker"}
    lab = {"hostwatch_bench_client_ip": CLIENT_IP, "hostwatch_lab_network": NETWORK}
    data = {
        "hostwatch": {"hosts": hosts, "vars": docker | lab},
        "bench_client": {"hosts": {CLIENT: docker | lab}},
    }
    (inv / "hosts.yml").write_text(json.dumps(data, indent=1))  # JSON is YAML
    return inv


def playbook(inv: Path, path: str, *extra: str, tries: int = 1) -> tuple[float, dict[str, int]]:
    """Seconds of one ansible-playbook run, and its recap summed over hosts (changed, failed...)."""
    return play(inv, path, *extra, tries=tries)[:2]


def play(
    inv: Path, path: str, *extra: str, tries: int = 1, env: dict[str, str] | None = None
) -> tuple[float, dict[str, int], float]:
    """playbook(), and the CPU seconds (user + system) of the ansible-playbook process and all it
    started (workers, the docker or ssh clients): the controller's side of the run. env: added
    to this process's environment (ANSIBLE_* settings)."""
    argv = ["ansible-playbook", "-i", str(inv), str(ROOT / path), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv, capture_output=True, text=True, check=False, cwd=ROOT, env=os.environ | (env or {})
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with LOG.open("a") as log:
        log.write(f"\n### {' '.join(argv)}  ({seconds:.1f} s, rc={proc.returncode})\n")
        log.write(proc.stdout + proc.stderr)
    if proc.returncode != 0 and tries > 1:
        time.sleep(3)
        return play(inv, path, *extra, tries=tries - 1, env=env)
    if proc.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} failed (rc={proc.returncode}); see {LOG}\n{proc.stdout[-2500:]}"
        )
    recap: dict[str, int] = {}
    for key, value in re.findall(r"(\w+)=(\d+)", proc.stdout.split("PLAY RECAP")[-1]):
        recap[key] = recap.get(key, 0) + int(value)
    return seconds, recap, cpu


def lab_hosts(count: int) -> Path:
    """Exactly the first `count` bench hosts up (the others removed); returns their inventory."""
    inotify_instances(count)
    extra = [f"{PREFIX}-{i}" for i in range(count + 1, MAX_HOSTS + 1)]
    subprocess.run(["docker", "rm", "-f", *extra], capture_output=True, check=False)
    inv = inventory(count)
    network = ["-e", f"hostwatch_lab_network={NETWORK}", "-e", f"hostwatch_lab_subnet={SUBNET}"]
    # A second try: the containers' systemd may clean /tmp under the first command while it boots.
    playbook(inv, "playbooks/lab.yml", *network, tries=2)
    return inv


def inotify_instances(count: int) -> None:
    """Room for `count` systemd containers: each takes about 6 inotify instances of root's
    (systemd, journald, udev...); Debian's default, 128, lets the 23rd one's systemd die at boot."""
    path = Path("/proc/sys/fs/inotify/max_user_instances")
    need = 16 * (count + 8)
    if int(path.read_text()) < need:
        say(f"fs.inotify.max_user_instances raised to {need} for {count} lab hosts")
        path.write_text(str(need))


def remove_hosts() -> None:
    names = [f"{PREFIX}-{i}" for i in range(1, MAX_HOSTS + 1)]
    subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


def remove_lab() -> None:
    remove_hosts()
    subprocess.run(["docker", "rm", "-f", CLIENT], capture_output=True, check=False)
    subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)


def agent_host() -> None:
    """One lab host with hostwatch, its peers and the logs, and the client: what every section
    but fleet measures on."""
    inv = lab_hosts(1)
    say("agent host: site.yml, client, peers, logs")
    playbook(inv, "site.yml")
    playbook(inv, "bench/lab.yml")
    playbook(inv, "bench/peers.yml", "-e", json.dumps({"hostwatch_bench_log_sizes": LOG_SIZES}))
    probe = str(ROOT / "bench" / "files" / "probe.py")
    run(["docker", "cp", probe, f"{HOST}:/usr/local/bin/hostwatch-bench-probe"])


# --- The lab hosts' own share: CPU and memory of their containers' cgroups ------------------------


def cgroup(container: str, controller: str) -> Path:
    """The container's cgroup directory for a v1 controller (cpuacct, memory), or its v2 one."""
    cid = run(["docker", "inspect", "-f", "{{.Id}}", container]).strip()
    for path in (
        Path("/sys/fs/cgroup") / controller / "docker" / cid,  # v1, cgroupfs driver (the lab's)
        Path("/sys/fs/cgroup/system.slice") / f"docker-{cid}.scope",  # v2, systemd driver
        Path("/sys/fs/cgroup/docker") / cid,  # v2, cgroupfs driver
    ):
        if path.is_dir():
            return path
    sys.exit(f"no cgroup found for {container} ({cid[:12]})")


def host_cpu(containers: list[str]) -> float:
    """CPU seconds the containers have used since they started (systemd and all under it: the
    cgroup is hierarchical, so the units systemd moves into sub-cgroups are counted too)."""
    total = 0.0
    for name in containers:
        path = cgroup(name, "cpuacct")
        if (v1 := path / "cpuacct.usage").exists():
            total += int(v1.read_text()) / 1e9
        else:
            usage = re.search(r"^usage_usec (\d+)", (path / "cpu.stat").read_text(), re.M)
            total += int(usage.group(1)) / 1e6 if usage else 0.0
    return total


def host_memory(container: str) -> dict[str, float]:
    """MiB of one container: anonymous memory (its processes' own) and page cache (files read
    or written, reclaimable). `docker stats` shows 0 B here: systemd moves its units into
    sub-cgroups that docker does not sum."""
    stat = dict(
        line.split()
        for line in (cgroup(container, "memory") / "memory.stat").read_text().splitlines()
    )
    anon, cache = ("total_rss", "total_cache") if "total_rss" in stat else ("anon", "file")
    return {"anon": int(stat[anon]) / 2**20, "cache": int(stat[cache]) / 2**20}


# --- Measuring on the agent host ------------------------------------------------------------------


def unit_stats() -> dict[str, dict[str, Any]]:
    """PSS and CPU seconds so far of every peer's unit (bench/files/probe.py on the host)."""
    out = dexec(HOST, "python3", "/usr/local/bin/hostwatch-bench-probe", "stats", *UNITS)
    figures: dict[str, dict[str, Any]] = json.loads(out)
    return figures


UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_duration_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNIT_SECONDS[unit] * 1e3


def wrk(url: str, seconds: int) -> dict[str, float]:
    out = dexec(
        CLIENT, "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", url
    )
    # wrk pads a duration in whole seconds with a space: "     99%    1.12s "
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+) *$", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": wrk_duration_ms(pct["50"]),
        "p99_ms": wrk_duration_ms(pct["99"]),
        "requests": requests,
        "errors": (int(non2xx.group(1)) if non2xx else 0)
        + (sum(map(int, sock.groups())) if sock else 0),
    }


def hey(url: str, *args: str) -> tuple[list[float], int]:
    """Per-request latencies (ms, sorted) from hey's CSV, and the answers that were not 200."""
    out = dexec(CLIENT, "hey", *args, "-o", "csv", url)
    latencies, errors = [], 0
    for line in out.splitlines()[1:]:
        fields = line.split(",")
        if len(fields) >= 7:
            latencies.append(float(fields[0]) * 1e3)
            errors += fields[6] != "200"
    return sorted(latencies), errors


def hey_paced(url: str, seconds: int, workers: int, rate: float) -> tuple[list[float], int]:
    """hey at a fixed total rate: each of its workers paced at rate / workers."""
    return hey(url, "-z", f"{seconds}s", "-c", str(workers), "-q", f"{rate / workers:g}")


def body_size(url: str) -> int:
    """Bytes of one answer, fetched from the client; anything but 200 stops the run."""
    code = f"import urllib.request as u; r = u.urlopen({url!r}, timeout=30); print(len(r.read()))"
    return int(dexec(CLIENT, "python3", "-c", code))
