"""2. Logs, against the tools people use: hostwatch's /logs through nginx against GNU tail and
tac | grep on the host, at 1 MiB, 100 MiB and 1 GiB; /health/live while heavy log requests run."""

from __future__ import annotations

import json
import re
import subprocess
import time
from typing import Any

from harness import BASE, CLIENT, HOST, LOG_SIZES, Config, dexec, hey, hey_paced, say
from render import Page, figure, num
from stats import Ratio, median, percentile

TAIL_LINES = [10, 1000, 10000]
STARVE_RATE, STARVE_WORKERS = 20, 4
HEAVY = "/logs/bench_1g?lines=100&contains=NEVER-IN-THIS-LOG"  # scans the whole 64 MiB budget
FLAT = "<= 1.2"  # the goal on 1 GiB against the smaller file


def log_cases(config: Config, cases: list[tuple[str, list[str], int]]) -> list[dict[str, Any]]:
    """hostwatch through the stack (hey, one client, log_count requests) against the GNU command on
    the host (log_count runs), for every (URL, command, lines wanted) of one comparison: each round
    measures every case, in alternating order, so cases compare with each other round by round
    (1 GiB against 1 MiB) as well as with GNU. Medians per round."""
    scale = config.scale
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
    probe = ["python3", "/usr/local/bin/hostwatch-bench-probe", "time", str(scale.log_count)]
    for r in range(scale.log_rounds):
        order = list(range(len(cases)))
        for i in order if r % 2 == 0 else reversed(order):
            url, gnu, _ = cases[i]
            for side in ("hw", "gnu") if r % 2 == 0 else ("gnu", "hw"):
                if side == "hw":
                    latencies, errors = hey(url, "-n", str(scale.log_count), "-c", "1")
                    out[i]["hostwatch_ms"].append(median(latencies))
                    out[i]["errors"] += errors
                else:
                    times = json.loads(dexec(HOST, *probe, *gnu))
                    out[i]["gnu_ms"].append(median([t * 1e3 for t in times]))
    return out


def starvation(config: Config, level: int) -> dict[str, Any]:
    """/health/live at a fixed rate while `level` clients loop on the heavy log request."""
    seconds = config.scale.starve_seconds
    heavy = None
    if level:
        argv = ["hey", "-z", f"{seconds + 2}s", "-c", str(level), "-t", "60", f"{BASE}{HEAVY}"]
        heavy = subprocess.Popen(
            ["docker", "exec", CLIENT, *argv], stdout=subprocess.PIPE, text=True
        )
        time.sleep(1)
    latencies, errors = hey_paced(f"{BASE}/health/live", seconds, STARVE_WORKERS, STARVE_RATE)
    heavy_rps = 0.0
    if heavy:
        out, _ = heavy.communicate(timeout=seconds + 90)
        found = re.search(r"Requests/sec:\s+([\d.]+)", out)
        heavy_rps = float(found.group(1)) if found else 0.0
    return {
        "heavy": level,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "requests": len(latencies),
        "errors": errors,
        "heavy_rps": heavy_rps,
    }


def measure(config: Config) -> dict[str, Any]:
    scale = config.scale
    tail, contains = [], []
    paths = {size: f"/var/log/hostwatch-bench/{size}.log" for size in LOG_SIZES}
    for lines in TAIL_LINES:
        say(f"logs: tail {lines} lines of {', '.join(LOG_SIZES)}")
        cases = [
            (f"{BASE}/logs/bench_{size}?lines={lines}", ["tail", "-n", str(lines), path], lines)
            for size, path in paths.items()
        ]
        for size, case in zip(paths, log_cases(config, cases), strict=True):
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
    for size, case in zip(paths, log_cases(config, cases), strict=True):
        contains.append({"size": size, **case})
    levels = []
    for level in scale.starve_levels:
        say(f"logs: /health/live while {level} heavy log requests run")
        levels.append(starvation(config, level))
    return {
        "count": scale.log_count,
        "rounds": scale.log_rounds,
        "sizes": LOG_SIZES,
        "tail": tail,
        "contains": contains,
        "starvation": {
            "rate": STARVE_RATE,
            "seconds": scale.starve_seconds,
            "heavy_url": HEAVY,
            "levels": levels,
        },
    }


def render(results: dict[str, Any], page: Page) -> str:
    lg = results["logs"]

    def row(case: dict[str, Any], label: str, command: str) -> list[str]:
        if case["lines_returned"] != case["lines_wanted"]:
            label += f" (returned {case['lines_returned']} lines)"
        mine, gnu = case["hostwatch_ms"], case["gnu_ms"]
        return [label, num(median(mine), 2), num(median(gnu), 2), str(Ratio.of(mine, gnu)), command]

    against_gnu = [
        row(
            c,
            f"tail {c['lines']} lines, {c['size']}",
            f"`/logs/bench_{c['size']}?lines={c['lines']}` vs `tail -n {c['lines']} FILE`",
        )
        for c in lg["tail"]
    ] + [
        row(
            c,
            f"last 100 matches, {c['size']}",
            f"`/logs/bench_{c['size']}?lines=100&contains=ERROR` vs `tac FILE \\| grep -m 100 "
            "ERROR`",
        )
        for c in lg["contains"]
    ]

    big = list(lg["sizes"])[-1]
    groups = [
        (f"tail {n}", [c for c in lg["tail"] if c["lines"] == n])
        for n in sorted({c["lines"] for c in lg["tail"]})
    ]
    groups.append(("last 100 matches", lg["contains"]))
    flat, worst = [], 0.0
    for label, group in groups:
        # against the smallest file that holds every line asked for: like for like
        small = next(c for c in group if c["lines_returned"] == c["lines_wanted"])
        large = next(c for c in group if c["size"] == big)
        ratio = Ratio.of(large["hostwatch_ms"], small["hostwatch_ms"])
        worst = max(worst, ratio.median)
        flat.append(
            [
                f"{label}: {big} / {small['size']}",
                num(median(large["hostwatch_ms"]), 2),
                num(median(small["hostwatch_ms"]), 2),
                str(ratio),
                FLAT,
            ]
        )
    page.goal(f"log answers flat in size ({big} / smaller {FLAT}, worst case)", worst, FLAT)

    st = lg["starvation"]
    levels = [
        [
            str(x["heavy"]),
            num(x["heavy_rps"], 1),
            num(x["p50_ms"], 2),
            num(x["p99_ms"], 2),
            str(x["requests"]),
            str(x["errors"]),
        ]
        for x in st["levels"]
    ]
    return page.text(
        "sections/logs.md.j2",
        logs=lg,
        against_gnu=against_gnu,
        big=big,
        flat=flat,
        starvation=st,
        levels=levels,
        starvation_plot=plot_starvation(page, st["levels"]),
    )


def plot_starvation(page: Page, levels: list[dict[str, Any]]) -> str:
    fig, ax = figure(figsize=(7, 4))
    ax.plot([x["heavy"] for x in levels], [x["p99_ms"] for x in levels], "o-", label="p99")
    ax.plot([x["heavy"] for x in levels], [x["p50_ms"] for x in levels], "o--", label="p50")
    ax.set_xlabel("concurrent heavy log requests")
    ax.set_ylabel("/health/live latency ms")
    ax.set_yscale("log")
    return page.plot(
        fig,
        ax,
        "/health/live under log load",
        "bench-starvation.png",
        "/health/live latency against concurrent heavy log requests",
    )
