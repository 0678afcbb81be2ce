"""`make bench`: hostwatch beside its peers on a lab host, its logs against GNU tools, and Ansible
at fleet scale.

Every figure comes from containers of this machine (network hostwatch-bench, 172.30.4.0/24,
containers hostwatch-bench-*), every comparison is run side by side in rounds (A B A B ...), and
all traffic is bounded in count and time. Writes .cache/bench/results.json; bench/report.py
writes docs/benchmarks.md and docs/bench-*.png from it.

Environment:
  BENCH_QUICK=1          the same steps at small scale (for checking the harness; noisy figures)
  BENCH_SECTIONS=a,b     only some of: fleet, agent, logs (the others keep their last figures)
  BENCH_KEEP=1           leave the containers up afterwards
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
RESULTS = CACHE / "results.json"
LOG = CACHE / "ansible.log"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SECTIONS = os.environ.get("BENCH_SECTIONS", "fleet,agent,variants,logs").split(",")

NETWORK, SUBNET = "hostwatch-bench", "172.30.4.0/24"
CLIENT = "hostwatch-bench-client"
HOST = "hostwatch-bench-1"
HOST_IP = "172.30.4.11"
MAX_HOSTS = 6

# Scale: (full, quick)
FLEET_SIZES = [1, 2] if QUICK else [1, 2, 4, 6]
FLEET_ROUNDS = 2 if QUICK else 3  # no-op / bare-play pairs per size
WRK_SECONDS = 3 if QUICK else 10
WRK_THREADS, WRK_CONNECTIONS = 2, 8
AGENT_ROUNDS = 2 if QUICK else 5
CURVE_RATE, CURVE_SECONDS, CURVE_WORKERS = 40, (5 if QUICK else 20), 8  # below node_exporter's peak
CURVE_ROUNDS = 1 if QUICK else 2
LOG_SIZES = {"1m": 1 << 20, "100m": 100 << 20, "1g": 1 << 30}
TAIL_LINES = [10, 1000, 10000]
LOG_COUNT = 5 if QUICK else 20  # requests / runs per round and case
LOG_ROUNDS = 2 if QUICK else 3
STARVE_LEVELS = [0, 2, 8] if QUICK else [0, 1, 2, 4, 8, 16, 24]
STARVE_SECONDS = 4 if QUICK else 10
STARVE_RATE, STARVE_WORKERS = 20, 4
PROFILE_SECONDS = 4 if QUICK else 10

BASE = f"http://{HOST_IP}"
# name -> (URL, systemd unit of the server)
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
CURVE_TARGETS = [
    "hostwatch /health",
    "hello-world /",
    "hostwatch /metrics",
    "node_exporter /metrics",
    "Glances /api/4/mem",
]
UNITS = sorted({unit for _, unit in TARGETS.values()})
HEAVY = "/logs/bench_1g?lines=100&contains=NEVER-IN-THIS-LOG"  # scans the whole 64 MiB budget


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
        f"hostwatch-bench-{i}": {
            "hostwatch_lab_image": "local/hostwatch-lab:bookworm",
            "hostwatch_lab_ip": f"172.30.4.{10 + i}",
        }
        for i in range(1, count + 1)
    }
    docker = {"ansible_connection": "community.docker.docker"}
    data = {
        "hostwatch": {"hosts": hosts, "vars": docker},
        "bench_client": {"hosts": {CLIENT: docker}},
    }
    (inv / "hosts.yml").write_text(json.dumps(data, indent=1))  # JSON is YAML
    return inv


def playbook(inv: Path, path: str, *extra: str, tries: int = 1) -> tuple[float, dict[str, int]]:
    """Seconds of one ansible-playbook run, and its recap summed over hosts (changed, failed...)."""
    argv = ["ansible-playbook", "-i", str(inv), str(ROOT / path), *extra]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - start
    with LOG.open("a") as log:
        log.write(f"\n### {' '.join(argv)}  ({seconds:.1f} s, rc={proc.returncode})\n")
        log.write(proc.stdout + proc.stderr)
    if proc.returncode != 0 and tries > 1:
        time.sleep(3)
        return playbook(inv, path, *extra, tries=tries - 1)
    if proc.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} failed (rc={proc.returncode}); see {LOG}\n{proc.stdout[-2500:]}"
        )
    recap: dict[str, int] = {}
    for key, value in re.findall(r"(\w+)=(\d+)", proc.stdout.split("PLAY RECAP")[-1]):
        recap[key] = recap.get(key, 0) + int(value)
    return seconds, recap


def lab_hosts(count: int) -> Path:
    """Exactly the first `count` bench hosts up (the others removed); returns their inventory."""
    for i in range(count + 1, MAX_HOSTS + 1):
        subprocess.run(
            ["docker", "rm", "-f", f"hostwatch-bench-{i}"], capture_output=True, check=False
        )
    inv = inventory(count)
    # A second try: the containers' systemd may clean /tmp under the first command while it boots.
    playbook(
        inv,
        "playbooks/lab.yml",
        "-e",
        f"hostwatch_lab_network={NETWORK}",
        "-e",
        f"hostwatch_lab_subnet={SUBNET}",
        tries=2,
    )
    return inv


def remove_hosts() -> None:
    names = [f"hostwatch-bench-{i}" for i in range(1, MAX_HOSTS + 1)]
    subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


def next_release(tag: int) -> Path:
    """A copy of app/ whose content hash differs from the deployed one (a comment added)."""
    source = CACHE / "app-next"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(
        ROOT / "app", source, ignore=shutil.ignore_patterns("tests", "*.egg-info", "__pycache__")
    )
    init = source / "src" / "hostwatch" / "__init__.py"
    init.write_text(init.read_text() + f"# bench release {tag}\n")
    return source


def fleet() -> dict[str, Any]:
    deploy = ROOT / "playbooks" / "deploy.yml"
    runs = []
    for count in FLEET_SIZES:
        remove_hosts()
        inv = lab_hosts(count)
        say(f"fleet: fresh converge of {count} host(s)")
        fresh, _ = playbook(inv, "site.yml")
        entry: dict[str, Any] = {
            "hosts": count,
            "fresh": fresh,
            "noop": [],
            "noop_changed": [],
            "bare": [],
        }
        for _ in range(FLEET_ROUNDS):  # A B A B: the no-op converge, then the bare play
            seconds, recap = playbook(inv, "site.yml")
            entry["noop"].append(seconds)
            entry["noop_changed"].append(recap.get("changed", -1))
            entry["bare"].append(playbook(inv, "bench/baseline.yml")[0])
        if deploy.exists():  # a new release (other content hash) rolled over the same hosts
            source = next_release(count)
            extra = ["-e", f"hostwatch_app_source={source}"]
            entry["deploy"] = playbook(inv, "playbooks/deploy.yml", *extra)[0]
        say(f"fleet {count}: fresh {fresh:.0f} s, no-op {entry['noop']}, bare {entry['bare']}")
        runs.append(entry)
    note = (
        ""
        if deploy.exists()
        else "playbooks/deploy.yml does not exist on this branch: rolling deploy skipped"
    )
    return {"sizes": FLEET_SIZES, "rounds": FLEET_ROUNDS, "runs": runs, "deploy_note": note}


# --- The lab host with its peers ------------------------------------------------------------------


def setup_agent_host() -> None:
    inv = lab_hosts(1)
    say("agent host: site.yml, client, peers, logs")
    playbook(inv, "site.yml")
    playbook(inv, "bench/lab.yml")
    playbook(inv, "bench/peers.yml", "-e", json.dumps({"hostwatch_bench_log_sizes": LOG_SIZES}))
    run(
        [
            "docker",
            "cp",
            str(ROOT / "bench" / "files" / "probe.py"),
            f"{HOST}:/usr/local/bin/hostwatch-bench-probe",
        ]
    )


def stats() -> dict[str, dict[str, Any]]:
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
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
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


def body_size(url: str) -> int:
    """Bytes of one answer, fetched from the client; anything but 200 stops the run."""
    code = f"import urllib.request as u; r = u.urlopen({url!r}, timeout=30); print(len(r.read()))"
    return int(dexec(CLIENT, "python3", "-c", code))


def agent() -> dict[str, Any]:
    names = list(TARGETS)
    sizes = {name: body_size(url) for name, (url, _) in TARGETS.items()}
    for name in names:  # warm every server once (imports, caches, keep-alive pools)
        wrk(TARGETS[name][0], 1)
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    pss: dict[str, list[int]] = {unit: [] for unit in UNITS}
    for r in range(AGENT_ROUNDS):
        say(f"agent: round {r + 1}/{AGENT_ROUNDS} of wrk on {len(names)} targets")
        for name in names if r % 2 == 0 else reversed(names):  # A B ... B A: drift hits both sides
            url, unit = TARGETS[name]
            before = stats()[unit]["cpu_s"]
            result = wrk(url, WRK_SECONDS)
            result["cpu_s"] = stats()[unit]["cpu_s"] - before
            rounds[name].append(result)
        for unit, figures in stats().items():
            pss[unit].append(figures["pss_kib"])
    procs = {unit: figures["procs"] for unit, figures in stats().items()}
    curve: dict[str, dict[str, Any]] = {
        name: {"latencies_ms": [], "errors": 0} for name in CURVE_TARGETS
    }
    per_worker = f"{CURVE_RATE / CURVE_WORKERS:g}"
    for r in range(CURVE_ROUNDS):
        say(f"agent: latency at {CURVE_RATE} req/s, round {r + 1}/{CURVE_ROUNDS}")
        for name in CURVE_TARGETS if r % 2 == 0 else reversed(CURVE_TARGETS):
            latencies, errors = hey(
                TARGETS[name][0],
                "-z",
                f"{CURVE_SECONDS}s",
                "-c",
                str(CURVE_WORKERS),
                "-q",
                per_worker,
            )
            curve[name]["latencies_ms"] = sorted(curve[name]["latencies_ms"] + latencies)
            curve[name]["errors"] += errors
    return {
        "wrk": {
            "threads": WRK_THREADS,
            "connections": WRK_CONNECTIONS,
            "seconds": WRK_SECONDS,
            "rounds": AGENT_ROUNDS,
        },
        "targets": {
            name: {
                "url": TARGETS[name][0],
                "unit": TARGETS[name][1],
                "bytes": sizes[name],
                "rounds": rounds[name],
            }
            for name in names
        },
        "pss_kib": pss,
        "procs": procs,
        "curve": {
            "rate": CURVE_RATE,
            "seconds": CURVE_SECONDS,
            "workers": CURVE_WORKERS,
            "rounds": CURVE_ROUNDS,
            "targets": curve,
        },
        "profile": profile(),
    }


# --- gunicorn settings that might close the gaps (bench host only; restored afterwards) ---------

# name -> (workers, threads) through the service role's variables (None: as deployed). The unit runs
# gunicorn with --preload (the app's pre_fork hook freezes the loaded app), so every variant has it.
VARIANTS: dict[str, tuple[int, int] | None] = {
    "as deployed": None,
    "1 worker x 16 threads": (1, 16),
}


def apply_variant(size: tuple[int, int] | None, redeploy: bool) -> None:
    if redeploy:
        extra = []
        if size:
            workers = {"hostwatch_service_workers": size[0], "hostwatch_service_threads": size[1]}
            extra = ["-e", json.dumps(workers)]
        playbook(inventory(1), "site.yml", *extra)
    dexec(HOST, "systemctl", "restart", "hostwatch.service")  # fresh processes: PSS from a start
    body_size(f"{BASE}/health/live")  # up again


def variants() -> dict[str, Any]:
    """/health against hello-world and PSS against Glances under each gunicorn variant."""
    out: dict[str, Any] = {}
    deployed: tuple[int, int] | None = None
    try:
        for name, size in VARIANTS.items():
            say(f"variants: {name}")
            apply_variant(size, redeploy=size != deployed)
            deployed = size
            wrk(f"{BASE}/health", 1)  # warm
            entry: dict[str, list[float]] = {
                "health": [],
                "hello": [],
                "pss": [],
                "glances_pss": [],
            }
            for r in range(AGENT_ROUNDS):
                pair = [("health", f"{BASE}/health"), ("hello", TARGETS["hello-world /"][0])]
                for key, url in pair if r % 2 == 0 else reversed(pair):
                    entry[key].append(wrk(url, WRK_SECONDS)["rps"])
                figures = stats()
                entry["pss"].append(figures["hostwatch.service"]["pss_kib"])
                entry["glances_pss"].append(figures["glances.service"]["pss_kib"])
            entry["procs"] = [stats()["hostwatch.service"]["procs"]]
            out[name] = {"extra": f"workers={size[0]} threads={size[1]}" if size else "", **entry}
    finally:
        apply_variant(None, redeploy=deployed is not None)
    return out


# --- py-spy on the workers under load -------------------------------------------------------------


def host_pids(container: str, unit: str) -> list[int]:
    """This machine's PIDs of a unit's processes inside a container (py-spy runs out here)."""
    ident = run(["docker", "inspect", "-f", "{{.Id}}", container]).strip()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "cgroup").read_text()
            except OSError:
                continue
            if ident in text and f"/{unit}\n" in text:
                pids.append(int(entry.name))
    return sorted(pids)


def profile() -> dict[str, Any]:
    """Where hostwatch's workers spend their time under load on /health and /metrics (py-spy)."""
    pyspy = shutil.which("py-spy")
    pids = host_pids(HOST, "hostwatch.service")
    if not pyspy or not pids:
        return {"note": "py-spy not installed or hostwatch's processes not found: no profile"}
    out: dict[str, Any] = {}
    for path in ("/health", "/metrics"):
        raw = CACHE / f"profile{path.replace('/', '-')}.txt"
        load = threading.Thread(target=wrk, args=(f"{BASE}{path}", PROFILE_SECONDS + 2))
        load.start()
        time.sleep(1)
        procs = [
            subprocess.Popen(
                [
                    pyspy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(PROFILE_SECONDS),
                    "--format",
                    "raw",
                    "--output",
                    f"{raw}.{pid}",
                    "--nonblocking",
                    "--gil",
                    "--rate",
                    "200",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in pids
        ]
        for proc in procs:
            proc.wait()
        load.join()
        own: dict[str, int] = {}
        packages: dict[str, int] = {}
        # inclusive: samples with the frame anywhere on the stack (hostwatch's own code, and the
        # per-request metrics hook, which hello-world does not run)
        within = {"hostwatch": 0, "request metrics": 0}
        total = 0
        for pid in pids:
            part = Path(f"{raw}.{pid}")
            if not part.exists():
                continue
            for line in part.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                leaf = stack.split(";")[-1] or "(native)"
                own[leaf] = own.get(leaf, 0) + int(count)
                # "func (flask/app.py:902)" -> flask; "func (<frozen os>:1)" -> stdlib
                where = re.search(r"\(([^/()]+)/", leaf)
                package = where.group(1) if where else "stdlib/other"
                packages[package] = packages.get(package, 0) + int(count)
                within["hostwatch"] += int(count) * ("(hostwatch/" in stack)
                within["request metrics"] += int(count) * bool(
                    re.search(r"(_count|_start_timer) \(hostwatch/metrics\.py", stack)
                )
                total += int(count)
            part.unlink()

        out[path] = {
            "samples": total,
            "top": shares(own, total, 10),
            "packages": shares(packages, total, 6),
            "within": shares(within, total, len(within)),
        }
    return out


def shares(counts: dict[str, int], total: int, n: int) -> list[list[Any]]:
    """The n largest counts as [name, share of total]."""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
    return [[name, count / total if total else 0.0] for name, count in ranked]


# --- Logs -----------------------------------------------------------------------------------------


def median_ms(values: list[float]) -> float:
    return statistics.median(values)


def log_cases(cases: list[tuple[str, list[str], int]]) -> list[dict[str, Any]]:
    """hostwatch through the stack (hey, one client, LOG_COUNT requests) against the GNU command on
    the host (LOG_COUNT runs), for every (URL, command, lines wanted) of one comparison: each round
    measures every case, in alternating order, so cases compare with each other round by round
    (1 GiB against 1 MiB) as well as with GNU. Medians per round."""
    out: list[dict[str, Any]] = []
    for url, _, lines in cases:
        code = f"import urllib.request as u; print(u.urlopen({url!r}, timeout=30).read().count(10))"
        got = int(dexec(CLIENT, "python3", "-c", code))
        out.append(
            {
                "hostwatch_ms": [],
                "gnu_ms": [],
                "errors": 0,
                "lines_returned": got,
                "lines_wanted": lines,
            }
        )
    probe = ["python3", "/usr/local/bin/hostwatch-bench-probe", "time", str(LOG_COUNT)]
    for r in range(LOG_ROUNDS):
        order = list(range(len(cases)))
        for i in order if r % 2 == 0 else reversed(order):
            url, gnu, _ = cases[i]
            for side in ("hw", "gnu") if r % 2 == 0 else ("gnu", "hw"):
                if side == "hw":
                    latencies, errors = hey(url, "-n", str(LOG_COUNT), "-c", "1")
                    out[i]["hostwatch_ms"].append(median_ms(latencies))
                    out[i]["errors"] += errors
                else:
                    times = json.loads(dexec(HOST, *probe, *gnu))
                    out[i]["gnu_ms"].append(median_ms([t * 1e3 for t in times]))
    return out


def logs() -> dict[str, Any]:
    tail, contains = [], []
    paths = {size: f"/var/log/hostwatch-bench/{size}.log" for size in LOG_SIZES}
    for lines in TAIL_LINES:
        say(f"logs: tail {lines} lines of {', '.join(LOG_SIZES)}")
        cases = [
            (f"{BASE}/logs/bench_{size}?lines={lines}", ["tail", "-n", str(lines), path], lines)
            for size, path in paths.items()
        ]
        for size, case in zip(paths, log_cases(cases), strict=True):
            tail.append({"size": size, "lines": lines, **case})
    say(f"logs: last 100 matches in {', '.join(LOG_SIZES)}")
    cases = [
        (
            f"{BASE}/logs/bench_{size}?lines=100&contains=ERROR",
            ["tac", path, "|", "grep", "-m", "100", "ERROR"],
            100,
        )
        for size, path in paths.items()
    ]
    for size, case in zip(paths, log_cases(cases), strict=True):
        contains.append({"size": size, **case})
    starvation = []
    for level in STARVE_LEVELS:
        say(f"logs: /health/live while {level} heavy log requests run")
        heavy = None
        if level:
            heavy = subprocess.Popen(
                [
                    "docker",
                    "exec",
                    CLIENT,
                    "hey",
                    "-z",
                    f"{STARVE_SECONDS + 2}s",
                    "-c",
                    str(level),
                    "-t",
                    "60",
                    f"{BASE}{HEAVY}",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(1)
        per_worker = f"{STARVE_RATE / STARVE_WORKERS:g}"
        latencies, errors = hey(
            f"{BASE}/health/live",
            "-z",
            f"{STARVE_SECONDS}s",
            "-c",
            str(STARVE_WORKERS),
            "-q",
            per_worker,
        )
        heavy_rps = 0.0
        if heavy:
            out, _ = heavy.communicate(timeout=STARVE_SECONDS + 90)
            found = re.search(r"Requests/sec:\s+([\d.]+)", out)
            heavy_rps = float(found.group(1)) if found else 0.0
        starvation.append(
            {
                "heavy": level,
                "p50_ms": percentile(latencies, 50),
                "p99_ms": percentile(latencies, 99),
                "requests": len(latencies),
                "errors": errors,
                "heavy_rps": heavy_rps,
            }
        )
    return {
        "count": LOG_COUNT,
        "rounds": LOG_ROUNDS,
        "sizes": LOG_SIZES,
        "tail": tail,
        "contains": contains,
        "starvation": {
            "rate": STARVE_RATE,
            "seconds": STARVE_SECONDS,
            "heavy_url": HEAVY,
            "levels": starvation,
        },
    }


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


# --- Main -----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit.stdout.strip(),
        "cores": os.cpu_count(),
        "loadavg": os.getloadavg()[0],
        "containers": len(run(["docker", "ps", "-q"]).split()),
    }


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    # sections not run this time keep their figures and their timings
    seconds = results.get("meta", {}).get("seconds", {})
    sections = results.get("meta", {}).get("sections", {})
    for kept in sections.values():  # each section says how it ran (BENCH_QUICK may differ per run)
        kept.setdefault("quick", results["meta"].get("quick", False))
    results["meta"] = {"quick": QUICK, "start": machine(), "seconds": seconds, "sections": sections}
    host_ready = False
    for name, step in (("fleet", fleet), ("agent", agent), ("variants", variants), ("logs", logs)):
        if name not in SECTIONS:
            continue
        start = time.perf_counter()
        if name != "fleet" and not host_ready:  # one lab host with hostwatch, its peers and logs
            setup_agent_host()
            host_ready = True
        results[name] = step()
        results["meta"]["seconds"][name] = time.perf_counter() - start
        results["meta"].setdefault("sections", {})[name] = machine() | {"quick": QUICK}
        RESULTS.write_text(json.dumps(results))
    results["meta"]["end"] = machine()
    RESULTS.write_text(json.dumps(results))
    if os.environ.get("BENCH_KEEP", "") in ("", "0"):
        remove_hosts()
        subprocess.run(["docker", "rm", "-f", CLIENT], capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)
    say(f"results in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
