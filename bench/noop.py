#!/usr/bin/env python3
"""A no-op re-run of site.yml against a bare gather_facts + ping play on the same hosts.

Converges the hosts first (not timed), then times the two plays alternately (A B A B ...), so both
see the same machine load, and prints each pair and the ratio. Every timed site.yml run must report
changed=0. By default the lab hosts (`ansible-playbook playbooks/lab.yml` starts them).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 4.0


def play(inventory: str, playbook: Path, *extra: str) -> tuple[float, str]:
    cmd = ["ansible-playbook", "-i", inventory, str(playbook), *extra]
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc={run.returncode}):\n{run.stdout[-3000:]}{run.stderr}")
    return took, run.stdout


def recap(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for name, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        found[name] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", default="inventory/lab")
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs (default 2)")
    args = parser.parse_args()

    site, bare = ROOT / "site.yml", ROOT / "bench" / "baseline.yml"
    play(args.inventory, site)  # converge (or find converged); not timed
    rows = []
    for _ in range(args.rounds):
        noop, out = play(args.inventory, site)
        counts = recap(out)
        changed = sum(c["changed"] for c in counts.values())
        if changed:
            sys.exit(f"the re-run of site.yml changed {changed} things: not a no-op\n{out[-3000:]}")
        tasks = len(re.findall(r"^TASK \[", out, re.MULTILINE))
        base, _ = play(args.inventory, bare)
        rows.append((noop, base, tasks, len(counts)))

    hosts = rows[0][3]
    if not hosts:
        sys.exit(f"{args.inventory}: site.yml ran on no host (is it the right inventory?)")
    print(
        f"no-op site.yml vs bare gather_facts + ping, {args.inventory} ({hosts} hosts), "
        f"alternating A B ({args.rounds} pairs)"
    )
    head = ("pair", "site.yml no-op s", "tasks", "changed", "bare play s", "ratio")
    print("  ".join(f"{h:>{w}}" for h, w in zip(head, (4, 16, 5, 7, 11, 5), strict=True)))
    for n, (noop, base, tasks, _) in enumerate(rows, 1):
        print(f"{n:>4}  {noop:>16.1f}  {tasks:>5}  {0:>7}  {base:>11.1f}  {noop / base:>5.2f}")
    ratio = statistics.median(noop / base for noop, base, _, _ in rows)
    print(f"median ratio {ratio:.2f} (goal: at most {GOAL:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
