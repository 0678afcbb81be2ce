"""The fleet as its Prometheus (the client container, hostwatch.stack.prometheus) sees it.

Runs after test_rollout.py and test_transport.py (pytest takes the files in name order), on the
fleet they leave (every host on release B). Every host is a target and up (its /metrics behind a
token); /metrics answers the Prometheus host and no other; a config promtool refuses is rolled
back; beside another role's Prometheus the role only drops its files; every query of the dashboard
returns series. Then a host made unhealthy (its configured small mount filled) raises
HostwatchCheckFailing, a rollout that stops halfway on that host raises HostwatchReleaseSkew, and
both resolve once fixed (the mount emptied, the host that took the new release rolled back).
group_vars/prometheus.yml shortens both alerts' `for` to 10 s, with a scrape and an evaluation
every 2 s; the times are printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from stackcheck import desire, docker, playbook

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
RELEASES = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "releases"
PROMETHEUS_HOST, PROMETHEUS = "hostwatch-roll-client", "http://172.30.2.20:9090"
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


def alert(name: str, **labels: str) -> dict[str, Any]:
    """The alert with these labels ({} when there is none): its state and since when (activeAt)."""
    for found in api("alerts")["alerts"]:
        if found["labels"].get("alertname") == name and labels.items() <= found["labels"].items():
            return dict(found)
    return {}


def alert_state(name: str, **labels: str) -> str:
    """ "firing", "pending" or "" (none)."""
    return str(alert(name, **labels).get("state", ""))


def active_since(name: str, **labels: str) -> float:
    """When the alert went pending, in seconds since the epoch."""
    stamp = alert(name, **labels)["activeAt"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def wait(what: str, holds: Callable[[], bool], within: float) -> float:
    """Seconds until `holds`, polled every 0.5 s; fails after `within`."""
    start = time.monotonic()
    while not holds():
        assert time.monotonic() - start < within, f"{what}: not within {within:.0f} s"
        time.sleep(0.5)
    took = time.monotonic() - start
    print(f"watch: {what} after {took:.1f} s")
    return took


def release_of(name: str) -> str:
    return Path(docker("exec", name, "readlink", "/opt/hostwatch/current").strip()).name


def test_every_host_is_a_target_and_up() -> None:
    def all_up() -> bool:
        targets = [t for t in api("targets")["activeTargets"] if t["labels"]["job"] == "hostwatch"]
        return sorted(t["labels"]["host"] for t in targets) == sorted(HOSTS) and all(
            t["health"] == "up" for t in targets
        )

    wait("all three targets up", all_up, 30)
    up = api("query", query='up{job="hostwatch"}')["result"]
    assert {r["metric"]["host"]: r["value"][1] for r in up} == dict.fromkeys(HOSTS, "1")


def test_metrics_answer_the_prometheus_host_with_the_token_and_no_other() -> None:
    fetch = (
        "import sys, urllib.request as u, urllib.error as e\n"
        "r = u.Request(sys.argv[1], headers={'Authorization': 'Bearer ' + sys.argv[2]})\n"
        "try: print(u.urlopen(r, timeout=5).status)\n"
        "except e.HTTPError as x: print(x.code)"
    )
    url = f"http://{HOSTS[SICK]}/metrics"
    token = docker("exec", PROMETHEUS_HOST, "cat", "/etc/prometheus/hostwatch.token")
    for host, sent, answer in [
        (PROMETHEUS_HOST, token, "200"),
        (PROMETHEUS_HOST, "wrong", "401"),  # the app's token check, behind nginx's allowlist
        ("hostwatch-roll-1", token, "403"),  # not on /metrics' allowlist
    ]:
        assert docker("exec", host, "python3", "-c", fetch, url, sent).strip() == answer, host
    assert docker(
        "exec", PROMETHEUS_HOST, "stat", "-c", "%U:%G %a", "/etc/prometheus/hostwatch.token"
    ) == ("root:prometheus 640\n")


def test_a_config_promtool_refuses_is_rolled_back() -> None:
    config = "/etc/prometheus/prometheus.yml"
    before = docker("exec", PROMETHEUS_HOST, "sha256sum", config)
    bad = '{"hostwatch_prometheus_tls_config": {"no_such_key": 1}}'
    run = playbook("site.yml", "--limit", PROMETHEUS_HOST, "-e", bad)
    assert run.returncode != 0
    said = " ".join((run.stdout + run.stderr).split())  # the callback wraps long messages
    assert "The new Prometheus config was not applied" in said, said
    assert "field no_such_key not found" in said  # promtool's own words
    assert docker("exec", PROMETHEUS_HOST, "sha256sum", config) == before
    assert "~" not in docker("exec", PROMETHEUS_HOST, "ls", "/etc/prometheus")  # no backup left
    assert api("query", query='count(up{job="hostwatch"} == 1)')["result"][0]["value"][1] == "3"


# prometheus.yml as prometheus-community's role writes it, with the job its README gives.
BESIDE = """\
rule_files: [{dir}/rules/*.rules]
scrape_configs:
  - job_name: hostwatch
    file_sd_configs: [{{files: [{dir}/file_sd/hostwatch.yml]}}]
    authorization: {{credentials_file: {dir}/hostwatch.token}}
"""


def test_beside_another_roles_prometheus_it_only_drops_its_files() -> None:
    beside = "/etc/prometheus-beside"
    docker("exec", PROMETHEUS_HOST, "mkdir", "-p", beside)
    write = f"cat > {beside}/prometheus.yml"
    subprocess.run(
        ["docker", "exec", "-i", PROMETHEUS_HOST, "sh", "-c", write],
        input=BESIDE.format(dir=beside),
        text=True,
        check=True,
    )
    config = docker("exec", PROMETHEUS_HOST, "sha256sum", f"{beside}/prometheus.yml")
    mode = json.dumps(
        {"hostwatch_prometheus_install": False, "hostwatch_prometheus_config_dir": beside}
    )
    try:
        for changed in ("changed=[1-9]", "changed=0 "):
            run = playbook("site.yml", "--limit", PROMETHEUS_HOST, "-e", mode)
            assert run.returncode == 0, run.stdout + run.stderr
            assert re.search(changed, run.stdout), run.stdout  # its files, then nothing
        assert docker("exec", PROMETHEUS_HOST, "sha256sum", f"{beside}/prometheus.yml") == config
        dropped = docker("exec", PROMETHEUS_HOST, "find", beside, "-type", "f").split()
        assert sorted(dropped) == sorted(
            f"{beside}/{name}"
            for name in (
                "prometheus.yml",
                "rules/hostwatch.rules",
                "file_sd/hostwatch.yml",
                "hostwatch.token",  # this fleet's /metrics need one (group_vars/)
            )
        )
    finally:
        docker("exec", PROMETHEUS_HOST, "rm", "-rf", beside)


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
    filled = time.time()  # the fixture filled it just now
    wait("the filled mount's alert pending", lambda: alert_state(CHECK, **failing) != "", LATE)
    firing = wait("then firing", lambda: alert_state(CHECK, **failing) == "firing", FOR + LATE)
    # pending is seen at the first evaluation after the scrape, so firing comes at most that much
    # (an interval, 2 s) less than `for` after it
    assert firing >= FOR - 2.5, "fired before its `for`"
    assert active_since(CHECK, **failing) >= filled - 1

    # The rollout of the other release, one host at a time: the first host takes it, the unhealthy
    # one stops it at its preflight, the third is never reached.
    first, before = "hostwatch-roll-1", release_of(SICK)
    desired = os.readlink(RELEASES / "desired")
    assert alert_state(SKEW) == ""
    desire("A" if desired == "B" else "B")
    started = time.time()
    run = playbook("deploy.yml", "-e", '{"hostwatch_deploy_serial": 1}')
    assert run.returncode != 0, run.stdout
    assert release_of(first) != before, run.stdout
    assert release_of(SICK) == before and release_of("hostwatch-roll-3") == before, run.stdout
    wait("release skew firing", lambda: alert_state(SKEW) == "firing", FOR + LATE)
    # it went pending while the rollout ran, once the first host served the new release
    print(f"watch: release skew pending {active_since(SKEW) - started:.1f} s into the rollout")
    assert active_since(SKEW) >= started - 1

    # Fixed: the mount emptied, the first host rolled back onto the release the others run.
    docker("exec", SICK, "rm", "-f", "/mnt/small/fill")
    wait("the check's alert resolved", lambda: alert_state(CHECK, **failing) == "", LATE)
    desire(desired)
    run = playbook("rollback.yml", "--limit", first, "-e", f"hostwatch_deploy_rollback_to={before}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert {release_of(name) for name in HOSTS} == {before}
    wait("the skew alert resolved", lambda: alert_state(SKEW) == "", LATE)
