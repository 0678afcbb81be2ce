"""`make bench`, step 1: measure every section into docs/benchmarks.json.

hostwatch beside its peers on a lab host, its logs against GNU tools, and Ansible at fleet scale
(bench/sections/), on containers of this machine (bench/harness.py); every comparison is run side
by side in rounds (A B A B ...), and all traffic is bounded in count and time. bench/report.py then
writes the report. The options default to what `make bench` passes on in the environment
(BENCH_QUICK=1, BENCH_SECTIONS=a,b, BENCH_KEEP=1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from typing import Any

from harness import CACHE, LOG, RESULTS, ROOT, Config, agent_host, remove_lab, run, say
from sections import MEASURED


def flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def config() -> Config:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        default=flag("BENCH_QUICK"),
        help="the same steps at small scale, to check the harness (noisy figures)",
    )
    parser.add_argument(
        "--sections",
        default=os.environ.get("BENCH_SECTIONS", ",".join(MEASURED)),
        help=f"only some of {','.join(MEASURED)} (the others keep their last figures)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        default=flag("BENCH_KEEP"),
        help="leave the containers up afterwards",
    )
    args = parser.parse_args()
    sections = tuple(args.sections.split(","))
    if unknown := set(sections) - set(MEASURED):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return Config(quick=args.quick, sections=sections, keep=args.keep)


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
    cfg = config()
    CACHE.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    # sections not run this time keep their figures and their timings
    seconds = results.get("meta", {}).get("seconds", {})
    sections = results.get("meta", {}).get("sections", {})
    for kept in sections.values():  # each section says how it ran (BENCH_QUICK may differ per run)
        kept.setdefault("quick", results["meta"].get("quick", False))
    results["meta"] = {
        "quick": cfg.quick,
        "start": machine(),
        "seconds": seconds,
        "sections": sections,
    }
    host_ready = False
    for name, section in MEASURED.items():
        if name not in cfg.sections:
            continue
        start = time.perf_counter()
        if name != "fleet" and not host_ready:  # one lab host with hostwatch, its peers and logs
            agent_host()
            host_ready = True
        results[name] = section.measure(cfg)
        results["meta"]["seconds"][name] = time.perf_counter() - start
        results["meta"]["sections"][name] = machine() | {"quick": cfg.quick}
        RESULTS.write_text(json.dumps(results))
    results["meta"]["end"] = machine()
    RESULTS.write_text(json.dumps(results))
    if not cfg.keep:
        remove_lab()
    say(f"results in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
