"""Where hostwatch's workers spend their time under load on /health and /metrics (py-spy from
this machine on every process of the unit, while wrk runs); part of the agent section."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness import BASE, CACHE, HOST, Config, run, wrk
from render import Page, percent

PATHS = ("/health", "/metrics")


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


def measure(config: Config) -> dict[str, Any]:
    pyspy = shutil.which("py-spy")
    pids = host_pids(HOST, "hostwatch.service")
    if not pyspy or not pids:
        return {"note": "py-spy not installed or hostwatch's processes not found: no profile"}
    seconds = config.scale.profile_seconds
    out: dict[str, Any] = {}
    for path in PATHS:
        raw = CACHE / f"profile{path.replace('/', '-')}.txt"
        load = threading.Thread(target=wrk, args=(f"{BASE}{path}", seconds + 2))
        load.start()
        time.sleep(1)
        spy = [pyspy, "record", "--duration", str(seconds), "--format", "raw", "--rate", "200"]
        procs = [
            subprocess.Popen(
                [*spy, "--nonblocking", "--gil", "--pid", str(pid), "--output", f"{raw}.{pid}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in pids
        ]
        for proc in procs:
            proc.wait()
        load.join()
        own: Counter[str] = Counter()
        packages: Counter[str] = Counter()
        # inclusive: samples with the frame anywhere on the stack (hostwatch's own code, and the
        # per-request metrics hook, which hello-world does not run)
        within = Counter({"hostwatch": 0, "request metrics": 0})
        for pid in pids:
            part = Path(f"{raw}.{pid}")
            if not part.exists():
                continue
            for line in part.read_text().splitlines():
                stack, _, text = line.rpartition(" ")
                count = int(text)
                leaf = stack.split(";")[-1] or "(native)"
                own[leaf] += count
                # "func (flask/app.py:902)" -> flask; "func (<frozen os>:1)" -> stdlib
                where = re.search(r"\(([^/()]+)/", leaf)
                packages[where.group(1) if where else "stdlib/other"] += count
                within["hostwatch"] += count * ("(hostwatch/" in stack)
                within["request metrics"] += count * bool(
                    re.search(r"(_count|_start_timer) \(hostwatch/metrics\.py", stack)
                )
            part.unlink()
        total = own.total()
        out[path] = {
            "samples": total,
            "top": shares(own, total, 10),
            "packages": shares(packages, total, 6),
            "within": shares(within, total, len(within)),
        }
    return out


def shares(counts: Counter[str], total: int, n: int) -> list[list[Any]]:
    """The n largest counts as [name, share of total]."""
    return [[name, count / total if total else 0.0] for name, count in counts.most_common(n)]


def render(profile: dict[str, Any], page: Page) -> str:
    paths = {
        path: data | {"rows": [[f"`{frame}`", percent(share, 1)] for frame, share in data["top"]]}
        for path, data in profile.items()
        if path != "note"
    }
    return page.text("sections/profile.md.j2", note=profile.get("note"), paths=paths)
