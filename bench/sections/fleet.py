"""3. Ansible at fleet scale: fresh converge, no-op re-run against a bare play, and a rolling deploy
on 1 to 6 fresh lab hosts; and what the figures say about hundreds of hosts."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import CACHE, ROOT, Config, lab_hosts, playbook, remove_hosts, say
from render import Page, figure, num
from stats import Ratio, fit, median

DEPLOY = ROOT / "playbooks" / "deploy.yml"


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


def measure(config: Config) -> dict[str, Any]:
    scale = config.scale
    runs = []
    for count in scale.fleet_sizes:
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
        for _ in range(scale.fleet_rounds):  # A B A B: the no-op converge, then the bare play
            seconds, recap = playbook(inv, "site.yml")
            entry["noop"].append(seconds)
            entry["noop_changed"].append(recap.get("changed", -1))
            entry["bare"].append(playbook(inv, "bench/baseline.yml")[0])
        if DEPLOY.exists():  # a new release (other content hash) rolled over the same hosts
            source = next_release(count)
            extra = ["-e", f"hostwatch_app_source={source}"]
            entry["deploy"] = playbook(inv, "playbooks/deploy.yml", *extra)[0]
        say(f"fleet {count}: fresh {fresh:.0f} s, no-op {entry['noop']}, bare {entry['bare']}")
        runs.append(entry)
    note = (
        ""
        if DEPLOY.exists()
        else "playbooks/deploy.yml does not exist on this branch: rolling deploy skipped"
    )
    return {
        "sizes": scale.fleet_sizes,
        "rounds": scale.fleet_rounds,
        "runs": runs,
        "deploy_note": note,
    }


def render(results: dict[str, Any], page: Page) -> str:
    fl = results["fleet"]
    runs = fl["runs"]
    rows = [
        [
            str(run["hosts"]),
            num(run["fresh"]),
            num(run["fresh"] / run["hosts"]),
            num(median(run["noop"])),
            num(median(run["noop"]) / run["hosts"]),
            ",".join(str(c) for c in run["noop_changed"]),
            num(median(run["bare"])),
            str(Ratio.of(run["noop"], run["bare"])),
            num(run["deploy"], 1) if "deploy" in run else "-",
        ]
        for run in runs
    ]
    return page.text(
        "sections/fleet.md.j2",
        fleet=fl,
        rows=rows,
        plot=plot_runs(page, runs),
        hosts=runs[-1]["hosts"],
        fresh=scaling(runs, lambda run: run["fresh"]),
        noop=scaling(runs, lambda run: median(run["noop"])),
    )


def scaling(
    runs: list[dict[str, Any]], seconds: Callable[[dict[str, Any]], float]
) -> dict[str, Any]:
    """One kind of run against the number of hosts: a straight line through the runs, and from it
    one run of 50 hosts in parallel (the line at 50 when it rises, else the 1-host run)."""
    intercept, slope = fit([(run["hosts"], seconds(run)) for run in runs])
    rises = len(runs) > 1 and slope > 0
    one, last = seconds(runs[0]), runs[-1]
    return {
        "intercept": intercept,
        "slope": slope,
        "rises": rises,
        "per_host": seconds(last) / last["hosts"],  # at the most hosts
        "one": one,
        "wave": intercept + 50 * slope if rises else one,
    }


def plot_runs(page: Page, runs: list[dict[str, Any]]) -> str:
    hosts = [r["hosts"] for r in runs]
    fig, ax = figure(figsize=(7, 4))
    ax.plot(hosts, [r["fresh"] for r in runs], "o-", label="fresh converge")
    ax.plot(hosts, [median(r["noop"]) for r in runs], "o-", label="no-op re-run")
    ax.plot(hosts, [median(r["bare"]) for r in runs], "o--", label="gather_facts + ping")
    if all("deploy" in r for r in runs):
        ax.plot(hosts, [r["deploy"] for r in runs], "o-", label="rolling deploy")
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
