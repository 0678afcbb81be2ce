"""Gunicorn settings against the agent's goals: hostwatch redeployed on the agent host with the
service role's workers/threads, /health against hello-world and PSS against Glances under each;
the deployed settings put back afterwards."""

from __future__ import annotations

import json
from typing import Any

from harness import (
    BASE,
    HOST,
    TARGETS,
    Config,
    body_size,
    dexec,
    inventory,
    playbook,
    say,
    unit_stats,
    wrk,
)
from render import Page, num
from stats import Ratio, median

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


def measure(config: Config) -> dict[str, Any]:
    scale = config.scale
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
            for r in range(scale.agent_rounds):
                pair = [("health", f"{BASE}/health"), ("hello", TARGETS["hello-world /"][0])]
                for key, url in pair if r % 2 == 0 else reversed(pair):
                    entry[key].append(wrk(url, scale.wrk_seconds)["rps"])
                figures = unit_stats()
                entry["pss"].append(figures["hostwatch.service"]["pss_kib"])
                entry["glances_pss"].append(figures["glances.service"]["pss_kib"])
            entry["procs"] = [unit_stats()["hostwatch.service"]["procs"]]
            out[name] = {"extra": f"workers={size[0]} threads={size[1]}" if size else "", **entry}
    finally:
        apply_variant(None, redeploy=deployed is not None)
    return out


def render(results: dict[str, Any], page: Page) -> str:
    rows = [
        [
            name,
            f"`{e['extra']}`" if e["extra"] else "-",
            str(e["procs"][0]),
            num(median(e["health"]), 0),
            num(median(e["hello"]), 0),
            str(Ratio.of(e["health"], e["hello"])),
            num(median([k / 1024 for k in e["pss"]])),
            str(Ratio.of(e["pss"], e["glances_pss"])),
        ]
        for name, e in results["variants"].items()
    ]
    return page.text("sections/variants.md.j2", rows=rows)
