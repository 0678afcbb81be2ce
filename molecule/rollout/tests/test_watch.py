"""The fleet as its Prometheus (the client container, hostwatch.stack.prometheus) sees it.

Runs after test_rollout.py and test_transport.py (pytest takes the files in name order), on the
fleet they leave (every host on release B). Every host is a target and up; /metrics answers the
Prometheus host and no other; every query of the dashboard returns series. Then a host made
unhealthy (its configured small mount filled) raises HostwatchCheckFailing, a rollout that stops
halfway on that host raises HostwatchReleaseSkew, and both resolve once fixed. group_vars/
prometheus.yml shortens both alerts' `for` to 10 s, with a scrape and an evaluation every 2 s; the
times are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
RELEASES = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "releases"
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROMETHEUS = "http://172.30.2.20:9090"
HOSTS = {
    "hostwatch-roll-1": "172.30.2.11",
    "hostwatch-roll-2": "172.30.2.12",
    "hostwatch-roll-3": "172.30.2.13",
}
SICK = "hostwatch-roll-2"  # second in the group: the rollout passes the first host, then stops here
CHECK, SKEW = "HostwatchCheckFailing", "HostwatchReleaseSkew"
FOR = 10.0  # the shortened `for` of both alerts (group_vars/prometheus.yml)
# An alert can be seen firing at most this long after its condition holds for FOR: /health's cache
# (1 s), a scrape and an evaluation (2 s each), and a margin for a busy machine.
LATE = 12.0


def api(path: str, **params: str) -> Any:
    url = f"{PROMETHEUS}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (http, a fixed address)
        body = json.load(answer)
    assert body["status"] == "success", body
    return body["data"]


def alert_state(name: str, **labels: str) -> str:
    """ "firing", "pending" or "" for the alert with these labels."""
    for alert in api("alerts")["alerts"]:
        if alert["labels"].get("alertname") == name and labels.items() <= alert["labels"].items():
            return str(alert["state"])
    return ""


def wait(what: str, holds: Callable[[], bool], within: float) -> float:
    """Seconds until `holds`, polled every 0.5 s; fails after `within`."""
    start = time.monotonic()
    while not holds():
        assert time.monotonic() - start < within, f"{what}: not within {within:.0f} s"
        time.sleep(0.5)
    took = time.monotonic() - start
    print(f"watch: {what} after {took:.1f} s")
    return took


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def playbook(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / name), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)


def release_of(name: str) -> str:
    return Path(docker("exec", name, "readlink", "/opt/hostwatch/current").strip()).name


def desire(release: str) -> None:
    (RELEASES / "desired.new").symlink_to(release)
    (RELEASES / "desired.new").replace(RELEASES / "desired")


def test_every_host_is_a_target_and_up() -> None:
    def all_up() -> bool:
        targets = [t for t in api("targets")["activeTargets"] if t["labels"]["job"] == "hostwatch"]
        return sorted(t["labels"]["host"] for t in targets) == sorted(HOSTS) and all(
            t["health"] == "up" for t in targets
        )

    wait("all three targets up", all_up, 30)
    up = api("query", query='up{job="hostwatch"}')["result"]
    assert {r["metric"]["host"]: r["value"][1] for r in up} == dict.fromkeys(HOSTS, "1")


def test_metrics_answer_the_prometheus_host_and_no_other() -> None:
    fetch = (
        "import sys, urllib.request as u, urllib.error as e\n"
        "try: print(u.urlopen(sys.argv[1], timeout=5).status)\n"
        "except e.HTTPError as x: print(x.code)"
    )
    url = f"http://{HOSTS[SICK]}/metrics"
    assert docker("exec", "hostwatch-roll-client", "python3", "-c", fetch, url).strip() == "200"
    assert docker("exec", "hostwatch-roll-1", "python3", "-c", fetch, url).strip() == "403"


def test_every_dashboard_query_returns_series() -> None:
    sys.path.insert(0, str(PROJECT / "tools"))  # not a package: the dashboard's own helper
    import dashboard

    board = json.loads((PROJECT / "monitoring" / "dashboards" / "hostwatch.json").read_text())
    assert dashboard.check(board) == []
    found = {}
    for title, expr in dashboard.queries(board, host="hostwatch-roll-1"):
        found[title] = len(api("query", query=expr)["result"])
        print(f"watch: dashboard {title}: {found[title]} series")
    assert found and all(found.values()), {t: n for t, n in found.items() if not n}


@pytest.fixture
def small_mount_filled() -> Any:
    """SICK's configured small mount, full (its disk check fails) until the test empties it."""
    docker("exec", SICK, "dd", "if=/dev/zero", "of=/mnt/small/fill", "bs=64k", "count=16")
    yield
    docker("exec", SICK, "rm", "-f", "/mnt/small/fill")


def test_unhealthy_host_and_halted_rollout_raise_their_alerts_until_fixed(
    small_mount_filled: None,
) -> None:
    failing = {"host": SICK, "component": "/mnt/small"}
    wait("the filled mount's alert pending", lambda: alert_state(CHECK, **failing) != "", LATE)
    firing = wait("then firing", lambda: alert_state(CHECK, **failing) == "firing", FOR + LATE)
    # pending is seen at the first evaluation after the scrape, so firing comes at most that much
    # (an interval, 2 s) less than `for` after it
    assert firing >= FOR - 2.5, "fired before its `for`"

    # The rollout of the other release: the first host takes it, the unhealthy one stops it (its
    # preflight).
    first, before = "hostwatch-roll-1", release_of(SICK)
    desired = os.readlink(RELEASES / "desired")
    desire("A" if desired == "B" else "B")
    run = playbook("deploy.yml")
    assert run.returncode != 0, run.stdout
    assert release_of(first) != before and release_of(SICK) == before, run.stdout
    print(f"watch: halted rollout left {[release_of(name)[-4:] for name in HOSTS]}")
    wait("release skew firing", lambda: alert_state(SKEW) == "firing", FOR + LATE)

    # Fixed: the mount emptied, then the fleet rolled back onto the release it ran before.
    docker("exec", SICK, "rm", "-f", "/mnt/small/fill")
    wait("the check's alert resolved", lambda: alert_state(CHECK, **failing) == "", LATE)
    desire(desired)
    run = playbook("deploy.yml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert {release_of(name) for name in HOSTS} == {before}
    wait("the skew alert resolved", lambda: alert_state(SKEW) == "", LATE)
