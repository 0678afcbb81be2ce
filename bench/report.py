"""Write docs/benchmarks.md and docs/bench-*.png from .cache/bench/results.json (bench/run.py).

Every ratio is taken per round (both sides measured in the same round, A B A B ...) and reported
as the median over rounds with its spread (lowest-highest).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".cache" / "bench" / "results.json"
DOCS = ROOT / "docs"
REPORT = DOCS / "benchmarks.md"


def med(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def ratio_cell(a: list[float], b: list[float]) -> tuple[float, str]:
    ratios = [x / y for x, y in zip(a, b, strict=False) if y]
    return med(ratios), f"**{med(ratios):.2f}x** ({spread(ratios)})" if ratios else "-"


def fmt(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


class Report:
    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results
        self.out: list[str] = []
        self.goals: list[tuple[str, str, str]] = []
        self.section = ""  # the section being written (its plots say whether it ran in quick mode)

    def line(self, text: str = "") -> None:
        self.out.append(text)

    def heading(self, text: str) -> None:
        self.line(text)
        self.line()

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        self.line("| " + " | ".join(head) + " |")
        self.line("|" + "---|" * len(head))
        for row in rows:
            self.line("| " + " | ".join(row) + " |")
        self.line()

    # --- 1. the agent and its peers -------------------------------------------------------------

    def agent(self) -> None:
        a = self.r["agent"]
        t = a["targets"]
        w = a["wrk"]
        wrk_cmd = f"`wrk -t{w['threads']} -c{w['connections']} -d{w['seconds']}s --latency URL`"

        def series(name: str, key: str) -> list[float]:
            return [r[key] for r in t[name]["rounds"]]

        def per_1000(name: str) -> list[float]:
            return [r["cpu_s"] / r["requests"] * 1000 for r in t[name]["rounds"] if r["requests"]]

        self.heading("## 1. The agent on a host, against its peers")
        self.line(
            "One lab host runs hostwatch (`site.yml`) and, behind the same nginx with the same "
            "proxy settings and rate-limit zone, a hello-world Flask app on hostwatch's gunicorn "
            f"settings (same venv, {a['procs'].get('hello.service', '?')} processes), Debian's "
            "prometheus-node-exporter (default collectors) and Glances' REST API (`glances -w "
            "--disable-webui`, from a wheelhouse built on the controller). The load comes from a "
            "client container (wrk and hey from Debian), exempt from the rate limit. "
            f"{w['rounds']} rounds; in each round every target gets {w['seconds']} s of wrk at "
            f"{w['connections']} connections, in alternating order. CPU is utime + stime of the "
            "unit's processes during the run; PSS is `/proc/<pid>/smaps_rollup` summed over all "
            "processes of the unit, after each round."
        )
        self.line()
        rows = []
        pairs = [
            ("req/s", "hostwatch /health", "hello-world /", "rps", ">= 0.95", lambda x: x >= 0.95),
            ("req/s", "hostwatch /health/live", "hello-world /", "rps", "", None),
            (
                "p50 ms",
                "hostwatch /metrics",
                "node_exporter /metrics",
                "p50_ms",
                "<= 1.0",
                lambda x: x <= 1.0,
            ),
            ("p99 ms", "hostwatch /metrics", "node_exporter /metrics", "p99_ms", "", None),
            ("req/s", "hostwatch /metrics", "node_exporter /metrics", "rps", "", None),
            ("req/s", "hostwatch /health", "Glances /api/4/all", "rps", ">= 10", lambda x: x >= 10),
            ("req/s", "hostwatch /health", "Glances /api/4/mem", "rps", ">= 3", lambda x: x >= 3),
            ("req/s", "hostwatch /health", "Glances /api/4/status", "rps", "", None),
        ]
        for label, ours, ref, key, goal, check in pairs:
            mine, theirs = series(ours, key), series(ref, key)
            value, cell = ratio_cell(mine, theirs)
            rows.append(
                [
                    f"{label}: {ours} vs {ref}",
                    fmt(med(mine)),
                    fmt(med(theirs)),
                    cell,
                    goal or "-",
                    wrk_cmd,
                ]
            )
            if check:
                self.goals.append(
                    (f"{ours} {label} vs {ref} {goal}", f"{value:.2f}x", verdict(check(value)))
                )
        for ours, ref in (
            ("hostwatch /metrics", "node_exporter /metrics"),
            ("hostwatch /health", "hello-world /"),
        ):
            mine, theirs = per_1000(ours), per_1000(ref)
            rows.append(
                [
                    f"CPU s per 1000: {ours} vs {ref}",
                    fmt(med(mine), 2),
                    fmt(med(theirs), 2),
                    ratio_cell(mine, theirs)[1],
                    "reported",
                    "CPU s of the unit's processes during the wrk run / requests",
                ]
            )
        pss = {unit: [v / 1024 for v in values] for unit, values in a["pss_kib"].items()}
        references: list[tuple[str, float | None]] = [
            ("glances.service", 0.75),
            ("hello.service", None),
            ("prometheus-node-exporter.service", None),
        ]
        for ref, limit in references:
            value, cell = ratio_cell(pss["hostwatch.service"], pss[ref])
            rows.append(
                [
                    f"PSS MiB: hostwatch.service vs {ref}",
                    fmt(med(pss["hostwatch.service"])),
                    fmt(med(pss[ref])),
                    cell,
                    f"<= {limit}" if limit else "-",
                    "`hostwatch-bench-probe stats UNIT` (smaps_rollup)",
                ]
            )
            if limit is not None:
                self.goals.append(
                    (
                        f"hostwatch PSS vs Glances <= {limit}",
                        f"{value:.2f}x",
                        verdict(value <= limit),
                    )
                )
        self.table(
            ["figure", "hostwatch", "reference", "ratio (median, spread)", "goal", "command"], rows
        )

        self.line("Every target, medians over the rounds:")
        self.line()
        rows = []
        for name, data in t.items():
            rows.append(
                [
                    name,
                    fmt(med(series(name, "rps")), 0),
                    fmt(med(series(name, "p50_ms")), 2),
                    fmt(med(series(name, "p99_ms")), 2),
                    str(sum(int(r["errors"]) for r in data["rounds"])),
                    f"{data.get('bytes', 0):,}",
                    fmt(med(per_1000(name)), 2),
                    f"`{data['url']}`",
                ]
            )
        self.table(
            ["target", "req/s", "p50 ms", "p99 ms", "errors", "bytes", "CPU s / 1000 req", "URL"],
            rows,
        )
        self.line(
            "Glances' `/api/4/all` lists every process of the host: on a lab container with a "
            "dozen processes it is small and fast; on a real host it grows with the process "
            "count."
        )
        self.line()
        hello = series("hello-world /", "rps")
        floor = {
            end: ratio_cell(hello, series(f"Glances /api/4/{end}", "rps"))[1]
            for end in ("all", "mem")
        }
        self.line(
            "What stands in the way of the missed goals, from the figures above and below: "
            f"the floor itself, hello-world `/`, answers {floor['all']} Glances' `/api/4/all` "
            f"rate and {floor['mem']} its `/api/4/mem` rate here, so no Flask app behind this "
            "nginx and gunicorn reaches 10x and 3x on this host; what hostwatch can close is its "
            "own distance to hello-world (first row): the profile below shows how much of "
            "/health's time runs under hostwatch's own frames, and under its per-request "
            "metrics, work hello-world does not do. PSS: the service runs gunicorn with "
            "`--preload` and the app's `pre_fork` hook freezes the loaded app (`gc.freeze()`), so "
            "the workers share its pages instead of each copying them; what is left per worker is "
            "what it builds while it serves." + self.one_worker_note()
        )
        self.line()
        self.plot_agent(t, pss, series)

        c = a["curve"]
        self.line(
            f"### Latency at a fixed rate\n\n{c['rate']} req/s for {c['seconds']} s per target and "
            f"round ({c['rounds']} round(s)), `hey -z {c['seconds']}s -c {c['workers']} -q "
            f"{c['rate'] / c['workers']:g} -o csv URL`. hey paces each of its workers (it is not "
            "wrk2's open loop): a slow answer delays that worker's next request, so the high "
            "percentiles are, if anything, flattered."
        )
        self.line()
        rows = []
        for name, data in c["targets"].items():
            lat = data["latencies_ms"]
            rows.append(
                [
                    name,
                    str(len(lat)),
                    *(fmt(pct(lat, p), 2) for p in (50, 90, 99, 99.9)),
                    str(data["errors"]),
                ]
            )
        self.table(["target", "requests", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "errors"], rows)
        self.plot_curve(c)
        prof = a.get("profile", {})
        if prof.get("note"):
            self.line(f"Profile: {prof['note']}.")
        elif prof:
            self.line(
                "### Where a hostwatch worker spends its time under load (py-spy)\n\n`py-spy "
                "record --pid PID --format raw --nonblocking --gil` on every process of "
                "hostwatch.service from this machine while wrk runs: own time of the frame "
                "holding the GIL."
            )
            self.line()
            for path, data in prof.items():
                rows = [[f"`{frame}`", f"{share * 100:.1f}%"] for frame, share in data["top"]]
                by_package = ", ".join(
                    f"{name} {share * 100:.0f}%" for name, share in data["packages"]
                )
                within = "".join(
                    f"; under {name} frames {share * 100:.0f}%"
                    for name, share in data.get("within", [])
                )
                self.line(
                    f"{path} ({data['samples']} samples holding the GIL; by package: {by_package}"
                    f"{within}):"
                )
                self.line()
                self.table(["frame (own time)", "share"], rows)

    def plot_agent(self, t: dict[str, Any], pss: dict[str, list[float]], series: Any) -> None:
        fig, (left, right) = plt.subplots(
            1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 1.3]}
        )
        names = list(t)
        values = [med(series(n, "rps")) for n in names]
        lows = [v - min(series(n, "rps")) for n, v in zip(names, values, strict=True)]
        highs = [max(series(n, "rps")) - v for n, v in zip(names, values, strict=True)]
        colors = ["tab:blue" if n.startswith("hostwatch") else "tab:gray" for n in names]
        left.barh(names, values, xerr=[lows, highs], color=colors)
        left.invert_yaxis()
        left.set_xlabel("requests/s through nginx (median, spread over rounds)")
        units = list(pss)
        right.bar(
            [u.replace(".service", "").replace("prometheus-", "") for u in units],
            [med(pss[u]) for u in units],
            color=["tab:blue" if u.startswith("hostwatch") else "tab:gray" for u in units],
        )
        right.set_ylabel("PSS MiB (all processes)")
        right.tick_params(axis="x", rotation=30)
        fig.suptitle(self.title("hostwatch beside its peers on one lab host"))
        fig.tight_layout()
        fig.savefig(DOCS / "bench-agent.png", dpi=100)
        plt.close(fig)

    def plot_curve(self, c: dict[str, Any]) -> None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        for name, data in c["targets"].items():
            lat = data["latencies_ms"]
            if not lat:
                continue
            n = len(lat)
            # x: 1/(1-p), the HdrHistogram way, so the tail gets room
            xs = [1 / (1 - (i + 0.5) / n) for i in range(n)]
            ax.plot(xs, lat, label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [1, 2, 10, 100, 1000]
        ax.set_xticks(ticks, ["0%", "50%", "90%", "99%", "99.9%"])
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency ms")
        self.plot(
            fig,
            ax,
            f"latency at {c['rate']} req/s",
            "bench-latency.png",
            "latency by percentile at a fixed rate",
        )

    def one_worker_note(self) -> str:
        one = self.r.get("variants", {}).get("1 worker x 16 threads")
        if not one:
            return ""
        return (
            f" One worker with 16 threads makes {ratio_cell(one['pss'], one['glances_pss'])[1]} "
            f"Glances' PSS at {ratio_cell(one['health'], one['hello'])[1]} hello-world's /health "
            "rate (next section), and puts heavy log reads and health checks behind one GIL and "
            "one per-worker read cap: the default stays at two workers, and "
            "`hostwatch_service_workers: 1` is the setting for memory-tight hosts."
        )

    def variants(self) -> None:
        v = self.r["variants"]
        self.heading("### Gunicorn settings against the goals")
        self.line(
            "The same host, hostwatch redeployed with the service role's "
            "`hostwatch_service_workers`/`_threads`, put back afterwards; every variant runs "
            "gunicorn with `--preload`, as the unit does; /health "
            "and the hello-world app (unchanged) alternate under wrk as above, PSS after each "
            "round."
        )
        self.line()
        rows = []
        for name, e in v.items():
            rows.append(
                [
                    name,
                    f"`{e['extra']}`" if e["extra"] else "-",
                    str(e["procs"][0]),
                    fmt(med(e["health"]), 0),
                    fmt(med(e["hello"]), 0),
                    ratio_cell(e["health"], e["hello"])[1],
                    fmt(med([k / 1024 for k in e["pss"]])),
                    ratio_cell(e["pss"], e["glances_pss"])[1],
                ]
            )
        self.table(
            [
                "variant",
                "settings",
                "processes",
                "/health req/s",
                "hello req/s",
                "/health / hello (>= 0.95)",
                "PSS MiB",
                "PSS / Glances (<= 0.75)",
            ],
            rows,
        )

    # --- 2. logs ---------------------------------------------------------------------------------

    def logs(self) -> None:
        lg = self.r["logs"]
        self.heading("## 2. Logs, against the tools people use")
        self.line(
            "nginx-style logs of 1 MiB, 100 MiB and 1 GiB on the lab host. hostwatch is asked "
            f"through nginx from the client (`hey -n {lg['count']} -c 1 URL`, one request at a "
            f"time); GNU tools run on the host itself ({lg['count']} runs, output read through a "
            "pipe, process start included — what an operator with a shell pays). Median ms per "
            f"round, {lg['rounds']} rounds, sides alternating."
        )
        self.line()

        def row(case: dict[str, Any], label: str, command: str) -> list[str]:
            if case["lines_returned"] != case["lines_wanted"]:
                label += f" (returned {case['lines_returned']} lines)"
            mine, gnu = case["hostwatch_ms"], case["gnu_ms"]
            return [label, fmt(med(mine), 2), fmt(med(gnu), 2), ratio_cell(mine, gnu)[1], command]

        rows = [
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
        self.table(["figure", "hostwatch ms", "GNU ms", "ratio (median, spread)", "command"], rows)

        big = list(lg["sizes"])[-1]
        rows = []
        cases = [
            (f"tail {n}", [c for c in lg["tail"] if c["lines"] == n])
            for n in sorted({c["lines"] for c in lg["tail"]})
        ]
        cases.append(("last 100 matches", lg["contains"]))
        worst = 0.0
        for label, group in cases:
            # against the smallest file that holds every line asked for: like for like
            small = next(c for c in group if c["lines_returned"] == c["lines_wanted"])
            large = next(c for c in group if c["size"] == big)
            value, cell = ratio_cell(large["hostwatch_ms"], small["hostwatch_ms"])
            worst = max(worst, value)
            rows.append(
                [
                    f"{label}: {big} / {small['size']}",
                    fmt(med(large["hostwatch_ms"]), 2),
                    fmt(med(small["hostwatch_ms"]), 2),
                    cell,
                    "<= 1.2",
                ]
            )
        self.line(
            f"Flat in file size (hostwatch, {big} against the smallest file that holds all the "
            "lines asked for; both in the same rounds):"
        )
        self.line()
        self.table(["figure", f"{big} ms", "smaller ms", "ratio (median, spread)", "goal"], rows)
        self.goals.append(
            (
                f"log answers flat in size ({big} / smaller <= 1.2, worst case)",
                f"{worst:.2f}x",
                verdict(worst <= 1.2),
            )
        )

        st = lg["starvation"]
        self.line(
            "### /health/live while heavy log requests run\n\nN clients loop on "
            f"`{st['heavy_url']}` (a filter that scans the whole 64 MiB budget and finds nothing) "
            f"with `hey -c N`, while `hey -z {st['seconds']}s -q` asks `/health/live` at "
            f"{st['rate']} req/s."
        )
        self.line()
        rows = [
            [
                str(x["heavy"]),
                fmt(x["heavy_rps"], 1),
                fmt(x["p50_ms"], 2),
                fmt(x["p99_ms"], 2),
                str(x["requests"]),
                str(x["errors"]),
            ]
            for x in st["levels"]
        ]
        self.table(
            [
                "heavy requests in flight",
                "heavy req/s",
                "/health/live p50 ms",
                "p99 ms",
                "requests",
                "errors",
            ],
            rows,
        )
        fig, ax = plt.subplots(figsize=(7, 4))
        levels = st["levels"]
        ax.plot([x["heavy"] for x in levels], [x["p99_ms"] for x in levels], "o-", label="p99")
        ax.plot([x["heavy"] for x in levels], [x["p50_ms"] for x in levels], "o--", label="p50")
        ax.set_xlabel("concurrent heavy log requests")
        ax.set_ylabel("/health/live latency ms")
        ax.set_yscale("log")
        self.plot(
            fig,
            ax,
            "/health/live under log load",
            "bench-starvation.png",
            "/health/live latency against concurrent heavy log requests",
        )

    # --- 3. fleet --------------------------------------------------------------------------------

    def fleet(self) -> None:
        fl = self.r["fleet"]
        self.heading("## 3. Ansible at fleet scale")
        self.line(
            "Fresh lab hosts (Debian 12 containers, created before the clock starts) on this "
            "machine; the controller is the same machine (`forks = 10` from ansible.cfg, so every "
            "host runs in parallel). Fresh: `ansible-playbook -i INV site.yml` on new hosts (apt "
            "from Debian's mirror; the app artifact cached on the controller). Then "
            f"{fl['rounds']} rounds of the no-op re-run and the bare play (`bench/baseline.yml`: "
            "gather_facts + ping), alternating."
        )
        self.line()
        rows = []
        for run in fl["runs"]:
            n = run["hosts"]
            cell = ratio_cell(run["noop"], run["bare"])[1]
            deploy = fmt(run["deploy"], 1) if "deploy" in run else "-"
            rows.append(
                [
                    str(n),
                    fmt(run["fresh"]),
                    fmt(run["fresh"] / n),
                    fmt(med(run["noop"])),
                    fmt(med(run["noop"]) / n),
                    ",".join(str(c) for c in run["noop_changed"]),
                    fmt(med(run["bare"])),
                    cell,
                    deploy,
                ]
            )
        self.table(
            [
                "hosts",
                "fresh s",
                "fresh s/host",
                "no-op s",
                "no-op s/host",
                "no-op changed",
                "bare play s",
                "no-op / bare (median, spread)",
                "rolling deploy s",
            ],
            rows,
        )
        if fl["deploy_note"]:
            self.line(f"Rolling deploy: {fl['deploy_note']}.")
            self.line()
        hosts = [r["hosts"] for r in fl["runs"]]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(hosts, [r["fresh"] for r in fl["runs"]], "o-", label="fresh converge")
        ax.plot(hosts, [med(r["noop"]) for r in fl["runs"]], "o-", label="no-op re-run")
        ax.plot(hosts, [med(r["bare"]) for r in fl["runs"]], "o--", label="gather_facts + ping")
        if all("deploy" in r for r in fl["runs"]):
            ax.plot(hosts, [r["deploy"] for r in fl["runs"]], "o-", label="rolling deploy")
        ax.set_xlabel("lab hosts")
        ax.set_ylabel("seconds per run")
        ax.set_xticks(hosts)
        ax.set_ylim(bottom=0)
        self.plot(
            fig,
            ax,
            "one ansible-playbook run",
            "bench-fleet.png",
            "seconds per run against the number of hosts",
        )
        self.beyond(fl)

    def beyond(self, fl: dict[str, Any]) -> None:
        runs = fl["runs"]
        fresh = fit([(r["hosts"], r["fresh"]) for r in runs])
        noop = fit([(r["hosts"], med(r["noop"])) for r in runs])
        self.line("### Beyond one controller")
        self.line()
        last = runs[-1]
        n = last["hosts"]

        def slope_text(label: str, line: tuple[float, float]) -> str:
            if len(runs) < 2 or line[1] <= 0:
                return f"{label}: the cost per added host is below this run's noise"
            return f"{label} {line[0]:.0f} s + {line[1]:.1f} s per host"

        self.line(
            f"Per host at {n} hosts: fresh converge {last['fresh'] / n:.0f} s, no-op "
            f"{med(last['noop']) / n:.0f} s. A straight line through the runs ("
            + "; ".join([slope_text("fresh", fresh), slope_text("no-op", noop)])
            + "). Here the controller and every host share the same 2 cores, so the slope is "
            "mostly CPU contention; on real hosts their side runs elsewhere and the controller's "
            "share is what grows. How the same playbooks reach hundreds of hosts with Ansible's "
            "own means:"
        )
        self.line()

        def wave(line: tuple[float, float], one: float) -> float:
            # one run of 50 hosts in parallel: the line at 50 when it rises, else the 1-host run
            return line[0] + 50 * line[1] if len(runs) > 1 and line[1] > 0 else one

        fresh_one, noop_one = runs[0]["fresh"], med(runs[0]["noop"])
        self.line(
            "- **Forks.** With `forks = 50` (this repo's ansible.cfg has 10) a controller runs 50 "
            "hosts at once, and with the default linear strategy each task waits for the slowest "
            f"of them. 500 hosts are 10 waves of 50: about {10 * wave(fresh, fresh_one) / 60:.0f} "
            f"min for a fresh converge and {10 * wave(noop, noop_one) / 60:.0f} min for a no-op "
            f"run from the figures above (one host alone: {fresh_one:.0f} s fresh, {noop_one:.0f} "
            "s no-op). The no-op run is the one to shrink: against the bare play it shows what "
            "every task's round trip costs per run."
        )
        self.line(
            "- **serial.** A rollout (`playbooks/deploy.yml`) runs in batches, e.g. `serial: [1, "
            "10%, 25%]` with `max_fail_percentage: 0`: a bad release stops after one host, and "
            "each batch costs about one batch-sized run; 500 hosts in batches of 50 are 10 runs "
            "of the 50-host figure."
        )
        self.line(
            "- **strategy.** `strategy: free` lets a fast host run ahead instead of waiting for "
            "the slowest at every task; worth it for converges, not for a rollout that must stop "
            "on the first unhealthy host. Mitogen-style connection plugins or `pipelining = True` "
            "(on here) cut the per-task round trips."
        )
        self.line(
            "- **Fact caching.** `fact_caching = jsonfile` (or redis) with `gathering = smart` "
            "skips the setup step on re-runs; the bare play above (mostly fact gathering) is what "
            "it saves per run."
        )
        self.line(
            "- **AWX / AAP.** A job template per playbook (site, deploy) with the inventory "
            "synced from the source of truth; job slicing (`job_slice_count`) splits 500 hosts "
            "into N slices that run on N execution nodes in parallel, so the wall time is one "
            "slice's: with 5 slices of 100 hosts, the 100-host figure."
        )
        self.line()

    def plot(self, fig: Any, ax: Any, title: str, name: str, alt: str) -> None:
        """Finish a one-axis plot, save it under docs/ and show it in the report."""
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.set_title(self.title(title))
        fig.tight_layout()
        fig.savefig(DOCS / name, dpi=100)
        plt.close(fig)
        self.line(f"![{alt}]({name})")
        self.line()

    # --- assembly --------------------------------------------------------------------------------

    def quick(self, section: str) -> bool:
        ran = self.r["meta"].get("sections", {}).get(section, {})
        return bool(ran.get("quick", self.r["meta"]["quick"]))

    def title(self, text: str) -> str:
        return text + (" (quick mode, busy machine)" if self.quick(self.section) else "")

    def write(self) -> None:
        meta = self.r["meta"]
        body_start = len(self.out)
        for name in ("agent", "variants", "logs", "fleet"):
            if name in self.r:
                self.section, first_goal = name, len(self.goals)
                getattr(self, name)()
                if self.quick(name):  # a goal judged from a quick run says so
                    self.goals[first_goal:] = [
                        (g, f"{fig} (quick mode)", v) for g, fig, v in self.goals[first_goal:]
                    ]
        body = self.out[body_start:]
        self.out = self.out[:body_start]
        self.line("# Benchmarks")
        self.line()
        start = meta["start"]
        quick = (
            "**Quick mode** (`make bench BENCH_QUICK=1`): every step at small scale, on a machine "
            "busy with other work — the figures check the harness; they are not the project's "
            "figures. "
            if meta["quick"]
            else ""
        )
        self.line(
            f"{quick}Run of {start['date']} at commit `{start['commit']}` on {start['cores']} "
            f"cores (load average {start['loadavg']:.1f} at the start, "
            f"{meta.get('end', start)['loadavg']:.1f} at the end; {start['containers']} containers "
            "running). Sections took "
            + ", ".join(
                f"{k} {meta['seconds'][k] / 60:.1f} min"
                for k in ("fleet", "agent", "variants", "logs")
                if k in meta["seconds"]
            )
            + ". Written by `make bench` (bench/run.py, then bench/report.py); every figure is "
            "printed from `.cache/bench/results.json`. Client, hosts and controller share this "
            "machine's cores."
        )
        self.line()
        ran = meta.get("sections", {})
        earlier = [
            name
            for name in meta["seconds"]
            if name not in ran or ran[name]["date"][:16] < start["date"][:16]
        ]
        if earlier:  # BENCH_SECTIONS ran the others on their own
            self.line(
                "Sections from an earlier run (kept in results.json): "
                + ", ".join(
                    f"{n} ({ran[n]['date']}, `{ran[n]['commit']}`"
                    + (", quick mode" if self.quick(n) else "")
                    + ")"
                    if n in ran
                    else n
                    for n in earlier
                )
                + "."
            )
            self.line()
        self.line("![requests/s and memory of hostwatch and its peers](bench-agent.png)")
        self.line()
        self.heading("## Goals")
        self.table(["goal", "figure", "verdict"], [list(g) for g in self.goals])
        self.out.extend(body)
        REPORT.write_text("\n".join(self.out).rstrip() + "\n")


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line: (intercept, slope); one point: (0, its per-host figure)."""
    if len(points) < 2:
        n, t = points[0]
        return 0.0, t / n
    slope, intercept = statistics.linear_regression([p[0] for p in points], [p[1] for p in points])
    return intercept, slope


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    Report(json.loads(RESULTS.read_text())).write()
    print(f"wrote {REPORT.relative_to(ROOT)} and its plots")


if __name__ == "__main__":
    main()
