"""1. The agent on a host, against its peers: wrk on every target in rounds, PSS and CPU of their
units, latency at a fixed rate with hey, and where hostwatch's workers spend the time (profile)."""

from __future__ import annotations

from typing import Any

from harness import (
    TARGETS,
    UNITS,
    WRK_CONNECTIONS,
    WRK_THREADS,
    Config,
    body_size,
    hey_paced,
    say,
    unit_stats,
    wrk,
)
from render import Page, figure, num
from sections import profile
from stats import Ratio, median, percentile

CURVE_RATE, CURVE_WORKERS = 40, 8  # below node_exporter's peak
CURVE_TARGETS = [
    "hostwatch /health",
    "hello-world /",
    "hostwatch /metrics",
    "node_exporter /metrics",
    "Glances /api/4/mem",
]
# The ratios of the first table: (figure, hostwatch's target, the reference, wrk's key, goal)
PAIRS = [
    ("req/s", "hostwatch /health", "hello-world /", "rps", ">= 0.95"),
    ("req/s", "hostwatch /health/live", "hello-world /", "rps", ""),
    ("p50 ms", "hostwatch /metrics", "node_exporter /metrics", "p50_ms", "<= 1.0"),
    ("p99 ms", "hostwatch /metrics", "node_exporter /metrics", "p99_ms", ""),
    ("req/s", "hostwatch /metrics", "node_exporter /metrics", "rps", ""),
    ("req/s", "hostwatch /health", "Glances /api/4/all", "rps", ">= 10"),
    ("req/s", "hostwatch /health", "Glances /api/4/mem", "rps", ">= 3"),
    ("req/s", "hostwatch /health", "Glances /api/4/status", "rps", ""),
]
CPU_PAIRS = [
    ("hostwatch /metrics", "node_exporter /metrics"),
    ("hostwatch /health", "hello-world /"),
]
PSS_GOALS = {
    "glances.service": "<= 0.75",
    "hello.service": "",
    "prometheus-node-exporter.service": "",
}


def measure(config: Config) -> dict[str, Any]:
    scale = config.scale
    names = list(TARGETS)
    sizes = {name: body_size(url) for name, (url, _) in TARGETS.items()}
    for name in names:  # warm every server once (imports, caches, keep-alive pools)
        wrk(TARGETS[name][0], 1)
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    pss: dict[str, list[int]] = {unit: [] for unit in UNITS}
    for r in range(scale.agent_rounds):
        say(f"agent: round {r + 1}/{scale.agent_rounds} of wrk on {len(names)} targets")
        for name in names if r % 2 == 0 else reversed(names):  # A B ... B A: drift hits both sides
            url, unit = TARGETS[name]
            before = unit_stats()[unit]["cpu_s"]
            result = wrk(url, scale.wrk_seconds)
            result["cpu_s"] = unit_stats()[unit]["cpu_s"] - before
            rounds[name].append(result)
        for unit, figures in unit_stats().items():
            pss[unit].append(figures["pss_kib"])
    procs = {unit: figures["procs"] for unit, figures in unit_stats().items()}
    curve: dict[str, dict[str, Any]] = {
        name: {"latencies_ms": [], "errors": 0} for name in CURVE_TARGETS
    }
    for r in range(scale.curve_rounds):
        say(f"agent: latency at {CURVE_RATE} req/s, round {r + 1}/{scale.curve_rounds}")
        for name in CURVE_TARGETS if r % 2 == 0 else reversed(CURVE_TARGETS):
            url = TARGETS[name][0]
            latencies, errors = hey_paced(url, scale.curve_seconds, CURVE_WORKERS, CURVE_RATE)
            curve[name]["latencies_ms"] = sorted(curve[name]["latencies_ms"] + latencies)
            curve[name]["errors"] += errors
    return {
        "wrk": {
            "threads": WRK_THREADS,
            "connections": WRK_CONNECTIONS,
            "seconds": scale.wrk_seconds,
            "rounds": scale.agent_rounds,
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
            "seconds": scale.curve_seconds,
            "workers": CURVE_WORKERS,
            "rounds": scale.curve_rounds,
            "targets": curve,
        },
        "profile": profile.measure(config),
    }


def render(results: dict[str, Any], page: Page) -> str:
    a = results["agent"]
    t = a["targets"]
    w = a["wrk"]
    wrk_cmd = f"`wrk -t{w['threads']} -c{w['connections']} -d{w['seconds']}s --latency URL`"

    def series(name: str, key: str) -> list[float]:
        return [r[key] for r in t[name]["rounds"]]

    def per_1000(name: str) -> list[float]:
        return [r["cpu_s"] / r["requests"] * 1000 for r in t[name]["rounds"] if r["requests"]]

    comparisons = []
    for label, ours, ref, key, goal in PAIRS:
        mine, theirs = series(ours, key), series(ref, key)
        ratio = Ratio.of(mine, theirs)
        comparisons.append(
            [
                f"{label}: {ours} vs {ref}",
                num(median(mine)),
                num(median(theirs)),
                str(ratio),
                goal or "-",
                wrk_cmd,
            ]
        )
        if goal:
            page.goal(f"{ours} {label} vs {ref} {goal}", ratio.median, goal)
    for ours, ref in CPU_PAIRS:
        mine, theirs = per_1000(ours), per_1000(ref)
        comparisons.append(
            [
                f"CPU s per 1000: {ours} vs {ref}",
                num(median(mine), 2),
                num(median(theirs), 2),
                str(Ratio.of(mine, theirs)),
                "reported",
                "CPU s of the unit's processes during the wrk run / requests",
            ]
        )
    pss = {unit: [v / 1024 for v in values] for unit, values in a["pss_kib"].items()}
    ours_pss = pss["hostwatch.service"]
    for ref, goal in PSS_GOALS.items():
        ratio = Ratio.of(ours_pss, pss[ref])
        comparisons.append(
            [
                f"PSS MiB: hostwatch.service vs {ref}",
                num(median(ours_pss)),
                num(median(pss[ref])),
                str(ratio),
                goal or "-",
                "`hostwatch-bench-probe stats UNIT` (smaps_rollup)",
            ]
        )
        if goal:
            page.goal(f"hostwatch PSS vs Glances {goal}", ratio.median, goal)

    targets = [
        [
            name,
            num(median(series(name, "rps")), 0),
            num(median(series(name, "p50_ms")), 2),
            num(median(series(name, "p99_ms")), 2),
            str(sum(int(r["errors"]) for r in data["rounds"])),
            f"{data.get('bytes', 0):,}",
            num(median(per_1000(name)), 2),
            f"`{data['url']}`",
        ]
        for name, data in t.items()
    ]
    hello = series("hello-world /", "rps")
    floor = {end: Ratio.of(hello, series(f"Glances /api/4/{end}", "rps")) for end in ("all", "mem")}
    plot_rates(page, {name: series(name, "rps") for name in t}, pss)

    curve = a["curve"]
    latency = [
        [
            name,
            str(len(data["latencies_ms"])),
            *(num(percentile(data["latencies_ms"], p), 2) for p in (50, 90, 99, 99.9)),
            str(data["errors"]),
        ]
        for name, data in curve["targets"].items()
    ]
    return page.text(
        "sections/agent.md.j2",
        wrk=w,
        hello_procs=a["procs"].get("hello.service", "?"),
        comparisons=comparisons,
        targets=targets,
        floor=floor,
        one_worker=one_worker(results.get("variants", {})),
        curve=curve,
        per_worker=f"{curve['rate'] / curve['workers']:g}",
        latency=latency,
        latency_plot=plot_latency(page, curve),
        profile=profile.render(a.get("profile", {}), page),
    )


def one_worker(variants: dict[str, Any]) -> dict[str, Ratio] | None:
    """The one-worker variant's PSS and rate, if it ran: what the agent's memory goal costs."""
    one = variants.get("1 worker x 16 threads")
    if not one:
        return None
    return {
        "pss": Ratio.of(one["pss"], one["glances_pss"]),
        "rate": Ratio.of(one["health"], one["hello"]),
    }


def plot_rates(page: Page, rates: dict[str, list[float]], pss: dict[str, list[float]]) -> None:
    """Requests/s of every target and PSS of every unit: the report's first figure."""
    fig, (left, right) = figure(
        nrows=1, ncols=2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 1.3]}
    )
    names = list(rates)
    values = [median(rates[n]) for n in names]
    lows = [v - min(rates[n]) for n, v in zip(names, values, strict=True)]
    highs = [max(rates[n]) - v for n, v in zip(names, values, strict=True)]
    colors = ["tab:blue" if n.startswith("hostwatch") else "tab:gray" for n in names]
    left.barh(names, values, xerr=[lows, highs], color=colors)
    left.invert_yaxis()
    left.set_xlabel("requests/s through nginx (median, spread over rounds)")
    units = list(pss)
    right.bar(
        [u.replace(".service", "").replace("prometheus-", "") for u in units],
        [median(pss[u]) for u in units],
        color=["tab:blue" if u.startswith("hostwatch") else "tab:gray" for u in units],
    )
    right.set_ylabel("PSS MiB (all processes)")
    right.tick_params(axis="x", rotation=30)
    fig.suptitle(page.title("hostwatch beside its peers on one lab host"))
    page.save(fig, "bench-agent.png")


def plot_latency(page: Page, curve: dict[str, Any]) -> str:
    fig, ax = figure(figsize=(8, 4.2))
    for name, data in curve["targets"].items():
        lat = data["latencies_ms"]
        if not lat:
            continue
        n = len(lat)
        # x: 1/(1-p), the HdrHistogram way, so the tail gets room
        xs = [1 / (1 - (i + 0.5) / n) for i in range(n)]
        ax.plot(xs, lat, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1, 2, 10, 100, 1000], ["0%", "50%", "90%", "99%", "99.9%"])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency ms")
    return page.plot(
        fig,
        ax,
        f"latency at {curve['rate']} req/s",
        "bench-latency.png",
        "latency by percentile at a fixed rate",
    )
