"""3. Ansible at fleet scale: on N fresh lab hosts (1, 8, 16, 32; BENCH_FLEET_SIZES), a fresh
converge, the no-op re-run against a bare play (forks 10, and once at forks 32), status.yml, and
deploy.yml with serial 1 (on the first 4 hosts) and with [1, "25%", "100%"] (on all) while the
client streams /health at every host;
the controller's CPU per host-task apart from the hosts'; the memory of one lab host; and what the
slopes say about 500 hosts. Mitogen for Ansible is weighed on the same hosts: the no-op, status.yml
and the serial-1 deploy on its strategy, then the default strategy's no-op and the per-host tests
every molecule scenario runs, to show it left each host as the default would."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import (
    CACHE,
    CLIENT,
    NET,
    PREFIX,
    ROOT,
    Config,
    dexec,
    host_cpu,
    host_memory,
    lab_hosts,
    play,
    playbook,
    remove_hosts,
    run,
    say,
)
from render import Page, figure, num
from stats import Ratio, fit, median

STREAM = ROOT / "molecule" / "rollout" / "tests" / "stream.py"  # the rollout scenario's client
STREAM_RATE = 2.0  # requests per second per host: 64/s at 32 hosts, from one client on 2 cores
SERIAL_ONE = json.dumps({"hostwatch_deploy_serial": [1]})
BATCHES = json.dumps({"hostwatch_deploy_serial": [1, "25%", "100%"]})
FORKS = 32  # beside ansible.cfg's 10: a 32-host fleet in one wave
# serial 1 costs the same per host at any size, and N times that for N hosts: it is timed on the
# first hosts of each fleet (--limit) while the whole fleet serves the stream.
SERIAL_ONE_HOSTS = 4
PAPER = 500  # hosts on paper
PER_HOST_TESTS = ROOT / "molecule" / "common" / "test_common.py"  # every scenario's verify runs it
GOAL_NOOP, GOAL_BATCHES = 4.0, 1.5


def release_source(tag: str) -> Path:
    return CACHE / f"app-{tag}"


def next_release(tag: str) -> Path:
    """A copy of app/ whose content hash differs from the deployed one (a comment added)."""
    source = release_source(tag)
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(
        ROOT / "app", source, ignore=shutil.ignore_patterns("tests", "*.egg-info", "__pycache__")
    )
    init = source / "src" / "hostwatch" / "__init__.py"
    init.write_text(init.read_text() + f"# bench release {tag}\n")
    return source


class Stream:
    """The client's steady /health stream at every host, for the length of one step: requests
    made, and those that failed (no answer or not 200)."""

    def __init__(self, count: int, step: str) -> None:
        self.hosts = [f"{NET}.{10 + i}" for i in range(1, count + 1)]
        self.out, self.stop = f"/root/stream-{step}.json", f"/root/stream-{step}.stop"
        self.requests, self.failed = 0, 0

    def __enter__(self) -> Stream:
        dexec(CLIENT, "rm", "-f", self.out, self.stop)
        argv = ["python3", "/usr/local/bin/hostwatch-stream", *self.hosts]
        options = ["--out", self.out, "--stop", self.stop, "--rate", f"{STREAM_RATE:g}"]
        run(["docker", "exec", "-d", CLIENT, *argv, *options, "--max-seconds", "3600"])
        return self

    def __exit__(self, *exc: object) -> None:
        dexec(CLIENT, "touch", self.stop)
        # each thread ends after its request in flight (timeout 30 s); the stream writes .tmp, then
        # renames it: wait for the name itself (a substring match took the .tmp at 32 hosts)
        name, deadline = self.out.rsplit("/", 1)[-1], time.monotonic() + 120
        while name not in dexec(CLIENT, "ls", "-1", "/root").split():
            if time.monotonic() > deadline:
                sys.exit(f"the /health stream wrote no {self.out} within 120 s of its stop")
            time.sleep(0.5)
        results = json.loads(dexec(CLIENT, "cat", self.out))
        self.requests = len(results)
        self.failed = sum(1 for *_, status in results if status != 200)


@functools.cache  # the same for every run: found once
def mitogen_env() -> dict[str, str]:
    """Settings for a run on Mitogen for Ansible's strategy: its plugin, from the package."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if not spec or not spec.origin:
        sys.exit("mitogen is not installed: `make bench` installs bench/requirements.txt")
    plugins = Path(spec.origin).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


@functools.cache  # written once per fleet size, not once per run
def mitogen_inventory(inv: Path) -> Path:
    """The same hosts with their connection by its short name, the only one Mitogen takes over
    (README: Mitogen); `docker` is routed to the same community.docker.docker without it."""
    out = inv.with_name(f"{inv.name}-mitogen")
    out.mkdir(exist_ok=True)
    if not (out / "group_vars").is_symlink():
        (out / "group_vars").symlink_to((inv / "group_vars").resolve())
    hosts = (inv / "hosts.yml").read_text()
    (out / "hosts.yml").write_text(hosts.replace('"community.docker.docker"', '"docker"'))
    return out


def step(
    inv: Path, path: str, hosts: list[str], *extra: str, mitogen: bool = False
) -> dict[str, Any]:
    """One timed run: seconds, the controller's CPU seconds (ansible-playbook and all it started),
    the hosts' CPU seconds (their containers' cgroups), host-tasks (task results over all hosts)
    and the recap's changed. mitogen: on Mitogen's strategy instead of the default."""
    if mitogen:
        inv = mitogen_inventory(inv)
    before = host_cpu(hosts)
    seconds, recap, cpu = play(inv, path, *extra, env=mitogen_env() if mitogen else None)
    tasks = sum(recap.get(key, 0) for key in ("ok", "skipped", "failed", "unreachable"))
    return {
        "seconds": seconds,
        "cpu": cpu,
        "host_cpu": host_cpu(hosts) - before,
        "tasks": tasks,
        "changed": recap.get("changed", 0),
    }


def client(inv: Path) -> None:
    """The load client on the bench network, with the rollout scenario's stream script."""
    playbook(inv, "bench/lab.yml")
    run(["docker", "cp", str(STREAM), f"{CLIENT}:/usr/local/bin/hostwatch-stream"])


def streamed(
    inv: Path, count: int, hosts: list[str], name: str, serial: str, mitogen: bool = False
) -> dict[str, Any]:
    """deploy.yml of a new release (another content hash) over `hosts`, while the client streams
    /health at every host of the fleet."""
    source = next_release(f"{count}-{name}")
    release = ("-e", f"hostwatch_app_source={source}", "-e", serial, "--limit", ",".join(hosts))
    with Stream(count, name) as stream:
        entry = step(inv, "playbooks/deploy.yml", hosts, *release, mitogen=mitogen)
    return entry | {"hosts": len(hosts), "requests": stream.requests, "failed": stream.failed}


def per_host_tests(inv: Path) -> dict[str, int]:
    """The molecule scenarios' shared per-host tests (units up, the app's user, the unit's
    exposure) on every host of the fleet, through testinfra on this inventory."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PER_HOST_TESTS)]
    argv += [f"--ansible-inventory={inv / 'hosts.yml'}"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error)", summary)}
    if proc.returncode != 0 and not counts.get("failed"):  # not collected, or pytest itself failed
        counts["error"] = counts.get("error", 0) or 1
    return {key: counts.get(key, 0) for key in ("passed", "failed", "error")}


def measure(config: Config) -> dict[str, Any]:
    scale = config.scale
    runs = []
    for count in scale.fleet_sizes:
        remove_hosts()
        inv = lab_hosts(count)
        client(inv)
        hosts = [f"{PREFIX}-{i}" for i in range(1, count + 1)]
        say(f"fleet: fresh converge of {count} host(s)")
        entry: dict[str, Any] = {"hosts": count, "fresh": step(inv, "site.yml", hosts)}
        time.sleep(5)  # the services settle before their memory is read
        entry["memory"] = [host_memory(name) for name in hosts]
        entry["noop"], entry["bare"], entry["noop_mitogen"] = [], [], []
        # A B C A B C: the no-op, the bare play, Mitogen's no-op
        for _ in range(scale.fleet_rounds):
            entry["noop"].append(step(inv, "site.yml", hosts))
            entry["bare"].append(step(inv, "bench/baseline.yml", hosts))
            entry["noop_mitogen"].append(step(inv, "site.yml", hosts, mitogen=True))
        # forks: ansible.cfg's 10 in the rounds; the same no-op with up to 32 hosts in one wave
        entry["noop_forks"] = step(inv, "site.yml", hosts, "--forks", str(FORKS))
        entry["status"] = step(inv, "playbooks/status.yml", hosts)
        entry["status_mitogen"] = step(inv, "playbooks/status.yml", hosts, mitogen=True)
        say(f"fleet {count}: deploy, serial 1 then [1, 25%, 100%], under the /health stream")
        first = hosts[:SERIAL_ONE_HOSTS]
        entry["deploy_one"] = streamed(inv, count, first, "one", SERIAL_ONE)
        entry["deploy_batches"] = streamed(inv, count, hosts, "batches", BATCHES)
        say(f"fleet {count}: Mitogen's deploy, then the default's no-op and the per-host tests")
        entry["deploy_mitogen"] = streamed(inv, count, first, "mitogen", SERIAL_ONE, mitogen=True)
        # site.yml converges to the release it is given (README: Rolling out a release)
        mitogen_release = f"hostwatch_app_source={release_source(f'{count}-mitogen')}"
        limit = ("--limit", ",".join(first))
        entry["after_mitogen"] = step(inv, "site.yml", first, "-e", mitogen_release, *limit)
        entry["tests_after_mitogen"] = per_host_tests(inv)
        say(
            f"fleet {count}: fresh {entry['fresh']['seconds']:.0f} s, no-op "
            f"{[round(r['seconds'], 1) for r in entry['noop']]}, bare "
            f"{[round(r['seconds'], 1) for r in entry['bare']]}, status "
            f"{entry['status']['seconds']:.1f} s, deploy serial 1 "
            f"{entry['deploy_one']['seconds']:.0f} s, batches "
            f"{entry['deploy_batches']['seconds']:.0f} s, "
            f"failed requests {entry['deploy_one']['failed'] + entry['deploy_batches']['failed']}; "
            f"Mitogen: no-op {[round(r['seconds'], 1) for r in entry['noop_mitogen']]}, deploy "
            f"{entry['deploy_mitogen']['seconds']:.0f} s, then changed "
            f"{entry['after_mitogen']['changed']}, tests {entry['tests_after_mitogen']}"
        )
        runs.append(entry)
        # each size as it ends: a run stopped at the next one keeps these to read
        (CACHE / "fleet-partial.json").write_text(json.dumps(runs))
    return {
        "version": 3,
        "sizes": scale.fleet_sizes,
        "rounds": scale.fleet_rounds,
        "runs": runs,
        "mitogen": importlib.metadata.version("mitogen"),
    }


# --- The report -----------------------------------------------------------------------------------

KINDS = {  # name in the report -> the run's seconds
    "fresh converge": lambda r: r["fresh"]["seconds"],
    "no-op re-run": lambda r: median([x["seconds"] for x in r["noop"]]),
    "bare play": lambda r: median([x["seconds"] for x in r["bare"]]),
    "status.yml": lambda r: r["status"]["seconds"],
    f"deploy, serial 1 (first {SERIAL_ONE_HOSTS} hosts)": lambda r: r["deploy_one"]["seconds"],
    'deploy, [1, "25%", "100%"]': lambda r: r["deploy_batches"]["seconds"],
}


def per_task(entries: list[dict[str, Any]], key: str) -> float:
    """CPU milliseconds per host-task over some runs (key: cpu for the controller, host_cpu)."""
    tasks = sum(e["tasks"] for e in entries)
    return 1e3 * sum(e[key] for e in entries) / tasks if tasks else math.nan


def all_steps(run_: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [run_["fresh"], *run_["noop"], *run_["bare"], run_["status"]]
    return [*steps, run_["noop_forks"], run_["deploy_one"], run_["deploy_batches"]]


def render(results: dict[str, Any], page: Page) -> str:
    fl = results["fleet"]
    if fl.get("version") != 3:  # results from before this section measured what it does now
        return (
            "## 3. Ansible at fleet scale\n\nNot measured since the section changed: `make bench`."
        )
    runs = fl["runs"]
    rows = [
        [
            str(r["hosts"]),
            *(num(seconds(r)) for seconds in KINDS.values()),
            num(r["deploy_one"]["seconds"] / r["deploy_one"]["hosts"]),
            str(Ratio.of([x["seconds"] for x in r["noop"]], [x["seconds"] for x in r["bare"]])),
            ",".join(str(x["changed"]) for x in r["noop"]),
            f"{num(median([x['seconds'] for x in r['noop']]))} / {num(r['noop_forks']['seconds'])}",
            f"{r['deploy_one']['failed'] + r['deploy_batches']['failed']} of "
            f"{r['deploy_one']['requests'] + r['deploy_batches']['requests']}",
        ]
        for r in runs
    ]
    cpu_rows = [
        [
            str(r["hosts"]),
            str(sum(x["tasks"] for x in all_steps(r))),
            num(per_task(all_steps(r), "cpu")),
            num(per_task(all_steps(r), "host_cpu")),
            num(per_task(r["noop"], "cpu")),
            num(per_task([r["fresh"]], "cpu")),
            num(median([m["anon"] for m in r["memory"]]), 0),
            num(median([m["cache"] for m in r["memory"]]), 0),
        ]
        for r in runs
    ]
    mitogen_rows = [
        [
            str(r["hosts"]),
            f"{num(median([x['seconds'] for x in r['noop']]))} / "
            f"{num(median([x['seconds'] for x in r['noop_mitogen']]))}",
            str(
                Ratio.of(
                    [x["seconds"] for x in r["noop_mitogen"]], [x["seconds"] for x in r["noop"]]
                )
            ),
            f"{num(per_task(r['noop'], 'cpu'))} / {num(per_task(r['noop_mitogen'], 'cpu'))}",
            f"{num(r['status']['seconds'])} / {num(r['status_mitogen']['seconds'])}",
            f"{num(r['deploy_one']['seconds'])} / {num(r['deploy_mitogen']['seconds'])}",
            f"{num(per_task([r['deploy_one']], 'cpu'))} / "
            f"{num(per_task([r['deploy_mitogen']], 'cpu'))}",
            ",".join(str(x["changed"]) for x in r["noop_mitogen"]),
            str(r["after_mitogen"]["changed"]),
            f"{r['tests_after_mitogen']['passed']} passed, "
            f"{r['tests_after_mitogen']['failed'] + r['tests_after_mitogen']['error']} failed",
            f"{r['deploy_mitogen']['failed']} of {r['deploy_mitogen']['requests']}",
        ]
        for r in runs
    ]
    goals(page, runs)
    # What the lab's shared cores allow: the hosts' own CPU for the largest batched rollout.
    last, cores = runs[-1], results["meta"]["start"]["cores"]
    floor = {
        "hosts": last["hosts"],
        "host_cpu": last["deploy_batches"]["host_cpu"],
        "controller_cpu": last["deploy_batches"]["cpu"],
        "cores": cores,
        "seconds": (last["deploy_batches"]["host_cpu"] + last["deploy_batches"]["cpu"]) / cores,
        "took": last["deploy_batches"]["seconds"],
    }
    # A host-task's wall time on one host against the controller's CPU for it: how many hosts one
    # controller core keeps busy (more forks than cores times this only queue on the controller).
    first = runs[0]
    wall = median([x["seconds"] for x in first["noop"]]) / (
        first["noop"][0]["tasks"] / first["hosts"]
    )
    cpu = per_task(first["noop"], "cpu") / 1e3
    return page.text(
        "sections/fleet.md.j2",
        fleet=fl,
        rows=rows,
        cpu_rows=cpu_rows,
        mitogen_rows=mitogen_rows,
        mitogen_version=fl["mitogen"],
        paper=paper(runs),
        plot=plot_runs(page, runs),
        cpu_plot=plot_cpu(page, runs),
        forks=FORKS,
        serial_one_hosts=SERIAL_ONE_HOSTS,
        floor=floor,
        stream_rate=STREAM_RATE,
        paper_hosts=PAPER,
        per_core={"wall": wall * 1e3, "cpu": cpu * 1e3, "hosts": wall / cpu if cpu else math.nan},
        forks_gain={
            "hosts": last["hosts"],
            "at_10": median([x["seconds"] for x in last["noop"]]),
            "at_forks": last["noop_forks"]["seconds"],
            "cpu": per_task(last["noop"], "cpu"),
        },
    )


def goals(page: Page, runs: list[dict[str, Any]]) -> None:
    last = runs[-1]
    hosts = last["hosts"]
    noop = Ratio.of([x["seconds"] for x in last["noop"]], [x["seconds"] for x in last["bare"]])
    page.goal(
        f"no-op at {hosts} hosts / bare play at {hosts} hosts", noop.median, f"<= {GOAL_NOOP}"
    )
    one = next((r for r in runs if r["hosts"] == 1), None)
    if one:
        ratio = last["deploy_batches"]["seconds"] / (3 * one["deploy_one"]["seconds"])
        text = f'[1, "25%", "100%"] rollout of {hosts} hosts / three one-host rollouts'
        page.goal(text, ratio, f"<= {GOAL_BATCHES}")
    deploys = ("deploy_one", "deploy_batches", "deploy_mitogen")
    failed = sum(r[k]["failed"] for r in runs for k in deploys)
    requests = sum(r[k]["requests"] for r in runs for k in deploys)
    page.goals.append(
        [
            "failed /health requests during every rollout",
            f"{failed} of {requests}",
            "met" if not failed else "**missed**",
        ]
    )


def paper(runs: list[dict[str, Any]]) -> list[list[str]]:
    """500 hosts from the measured runs, two ways per kind of run: the straight line through the
    sizes (this machine, where the hosts' CPU is the controller's: an upper bound), and the
    controller's own CPU for 500 hosts' task results on one core (what grows on real hosts)."""
    rows = []
    steps = {
        "fresh converge": lambda r: [r["fresh"]],
        "no-op re-run": lambda r: r["noop"],
        "status.yml": lambda r: [r["status"]],
        'deploy, [1, "25%", "100%"]': lambda r: [r["deploy_batches"]],
    }
    for name, entries in steps.items():
        intercept, slope = fit([(r["hosts"], KINDS[name](r)) for r in runs])
        last = runs[-1]
        tasks_per_host = sum(e["tasks"] for e in entries(last)) / len(entries(last)) / last["hosts"]
        cpu = per_task(entries(last), "cpu") / 1e3 * tasks_per_host * PAPER
        rows.append(
            [
                name,
                num(slope, 2),
                num((intercept + slope * PAPER) / 60),
                num(tasks_per_host, 0),
                num(cpu / 60),
            ]
        )
    return rows


def plot_runs(page: Page, runs: list[dict[str, Any]]) -> str:
    hosts = [r["hosts"] for r in runs]
    fig, ax = figure(figsize=(7, 4))
    for name, seconds in KINDS.items():
        style = "o--" if name == "bare play" else "o-"
        ax.plot(hosts, [seconds(r) for r in runs], style, label=name)
    noop_mitogen = [median([x["seconds"] for x in r["noop_mitogen"]]) for r in runs]
    ax.plot(hosts, noop_mitogen, "s:", label="no-op re-run on Mitogen")
    ax.set_xlabel("lab hosts")
    ax.set_ylabel("seconds per run")
    ax.set_xticks(hosts)
    ax.set_ylim(bottom=0)
    return page.plot(
        fig,
        ax,
        "one ansible-playbook run",
        "bench-fleet.png",
        "seconds per run against the number of hosts",
    )


def plot_cpu(page: Page, runs: list[dict[str, Any]]) -> str:
    hosts = [r["hosts"] for r in runs]
    fig, ax = figure(figsize=(7, 4))
    ax.plot(
        hosts, [per_task(all_steps(r), "cpu") for r in runs], "o-", label="controller, all runs"
    )
    ax.plot(hosts, [per_task(r["noop"], "cpu") for r in runs], "o-", label="controller, no-op")
    ax.plot(
        hosts, [per_task(all_steps(r), "host_cpu") for r in runs], "o--", label="hosts, all runs"
    )
    ax.set_xlabel("lab hosts")
    ax.set_ylabel("CPU ms per host-task")
    ax.set_xticks(hosts)
    ax.set_ylim(bottom=0)
    return page.plot(
        fig, ax, "CPU per host-task", "bench-fleet-cpu.png", "CPU per host-task against hosts"
    )
