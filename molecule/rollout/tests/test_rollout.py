"""Steps 2-8 of the rollout scenario, in order, from the controller (step 1 is converge: release A).

The tests run the project's playbooks against the molecule hosts (over SSH, as the inventory
says) and read the fleet with status.yml after each step; the client container streams /health at
all three hosts during every step that may restart one. The release the fleet should run is the
inventory's (group_vars: hostwatch_app_source, the link releases/desired): a step changes it by
relinking, as an operator edits group_vars; a config change is given with -e.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from stackcheck import desire, docker, playbook

CLIENT = "hostwatch-roll-client"
# Fixed in molecule.yml; hostwatch-roll-1 is first in the group, so it is the first batch.
HOSTS = {
    "hostwatch-roll-1": "172.30.2.11",
    "hostwatch-roll-2": "172.30.2.12",
    "hostwatch-roll-3": "172.30.2.13",
}
FIRST, OTHERS = "hostwatch-roll-1", ["hostwatch-roll-2", "hostwatch-roll-3"]
RATE = 4  # requests per second per host: below nginx's 10 r/s
CACHE = '{"hostwatch_app_health_cache_seconds": %s}'  # a config change that changes nothing else

# What the steps found, for the later steps (pytest runs the tests of this file in order).
seen: dict[str, Any] = {}


def status() -> dict[str, dict[str, Any]]:
    out = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "status.json"
    out.unlink(missing_ok=True)
    run = playbook("status.yml", "-e", f"hostwatch_deploy_status_json={out}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"changed=[1-9]", run.stdout) is None, run.stdout
    rows = {row["host"]: row for row in json.loads(out.read_text())}
    assert set(rows) == set(HOSTS)
    for name, row in rows.items():
        assert row["units"] == {
            "hostwatch.socket": "active",
            "hostwatch.service": "active",
            "nginx.service": "active",
        }, name
        assert row["health"] in ("pass", "warn") and row["http_status"] == 200, (name, row)
    return rows


def releases_of(rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: row["release"] for name, row in rows.items()}


class Stream:
    """The client's /health stream at all three hosts, for the length of one step."""

    def __init__(self, step: str) -> None:
        self.out, self.stop = f"/root/stream-{step}.json", f"/root/stream-{step}.stop"

    def __enter__(self) -> Stream:
        docker(
            "exec",
            "-d",
            CLIENT,
            "hostwatch-stream",
            "--out",
            self.out,
            "--stop",
            self.stop,
            "--rate",
            str(RATE),
            "--max-seconds",
            "400",
            *HOSTS.values(),
        )
        time.sleep(1)  # some requests before the play starts
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1)  # and some after it ended
        docker("exec", CLIENT, "touch", self.stop)

    def results(self) -> list[list[Any]]:
        for _ in range(100):
            done = subprocess.run(
                ["docker", "exec", CLIENT, "cat", self.out],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                return list(json.loads(done.stdout))
            time.sleep(0.5)
        raise AssertionError(f"the client wrote no {self.out}")


def live_config(name: str) -> str:
    return docker("exec", name, "cat", "/etc/hostwatch/hostwatch.toml")


def said(run: subprocess.CompletedProcess[str]) -> str:
    return " ".join((run.stdout + run.stderr).split())  # the callback wraps long messages


def restarted(run: subprocess.CompletedProcess[str]) -> list[str]:
    """The hosts whose service the rollout restarted, in the order it did."""
    found = []
    for part in run.stdout.split("Restart hostwatch.service (the socket stays open)")[1:]:
        task = part.split("\nTASK [")[0]  # up to the next task
        found += re.findall(r"^changed: \[(\S+)\]", task, re.M)
    return found


def summary(step: str, results: list[list[Any]]) -> dict[str, dict[str, Any]]:
    """Counts by status or error, failures and the longest answer (a restart's wait), per host."""
    by_host = {}
    for name, address in HOSTS.items():
        mine = [r for r in results if r[0] == address]
        by_host[name] = {
            "sent": len(mine),
            "counts": dict(Counter(str(r[3]) for r in mine)),
            "failed": [r for r in mine if r[3] != 200],
            "longest": max((r[2] for r in mine), default=0.0),
        }
        print(
            f"{step}: {name} sent {len(mine)} {by_host[name]['counts']}"
            f" longest {by_host[name]['longest']:.3f} s"
        )
    return by_host


def no_failed(by_host: dict[str, dict[str, Any]], hosts: list[str] | None = None) -> None:
    for name in hosts or list(HOSTS):
        found = by_host[name]
        assert found["sent"] > 0 and not found["failed"], (name, found["counts"])


def test_step1_all_hosts_run_release_a() -> None:
    rows = status()
    releases = set(releases_of(rows).values())
    assert len(releases) == 1, rows
    seen["A"] = releases.pop()


def test_step2_deploy_rolls_the_inventorys_new_release_without_a_failed_request() -> None:
    desire("B")
    with Stream("2") as stream:
        started = time.monotonic()
        run = playbook("deploy.yml")
        seconds = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"step 2: 3-host rollout (the canary, then the other two) took {seconds:.1f} s")
    no_failed(summary("step 2", stream.results()))
    rows = status()
    b = rows[FIRST]["release"]
    assert b > seen["A"], rows  # ids sort in build order
    assert set(releases_of(rows).values()) == {b}, rows
    assert all(seen["A"] in row["releases"] for row in rows.values()), rows  # kept for a rollback
    # the canary alone (the first in the inventory), then the rest
    assert restarted(run)[0] == FIRST and sorted(restarted(run)) == sorted(HOSTS), run.stdout
    assert re.search(rf"{FIRST}\s+{b}\s+switched\s+from {seen['A']}", run.stdout), run.stdout
    seen["B"], seen["releases"] = b, {name: row["releases"] for name, row in rows.items()}


def test_step2_again_deploy_and_site_change_nothing_and_keep_b() -> None:
    for name in ("deploy.yml", "site.yml"):
        run = playbook(name)
        assert run.returncode == 0, run.stdout + run.stderr
        assert re.search(r"changed=[1-9]", run.stdout) is None, (name, run.stdout)
    assert releases_of(status()) == dict.fromkeys(HOSTS, seen["B"])


def test_step3_site_config_change_keeps_b_and_rolls_its_restart_through_the_gate() -> None:
    with Stream("3") as stream:
        run = playbook("site.yml", "-e", CACHE % 2.5)
    assert run.returncode == 0, run.stdout + run.stderr
    no_failed(summary("step 3", stream.results()))
    assert releases_of(status()) == dict.fromkeys(HOSTS, seen["B"])
    # the canary alone first, then the rest (the default batches); each one gated
    assert restarted(run)[0] == FIRST and set(restarted(run)) == set(HOSTS), run.stdout
    gates = run.stdout.count("TASK [hostwatch.stack.deploy : Gate /health through nginx]")
    assert gates == 2, run.stdout  # one per batch
    for name in HOSTS:
        assert "cache_seconds = 2.5" in live_config(name), name
    seen["config"] = live_config(FIRST)


def test_step4_config_failing_health_stops_at_preflight_and_changes_nothing() -> None:
    failing = '{"hostwatch_app_health_memory_percent": {"warn": 0.1, "fail": 0.2}}'
    with Stream("4") as stream:
        run = playbook("site.yml", "-e", CACHE % 2.5, "-e", failing)
    text = said(run)
    assert run.returncode != 0, text
    assert re.search(
        rf"failed its preflight on {FIRST} at 'Gate /health of the side instance': .*"
        rf"memory:utilization=fail.* Not switched: {FIRST} still runs {seen['B']}",
        text,
    ), text
    stopped = re.search(r"Release \S+ failed its preflight.*?started\.", text)
    print(f"step 4: {stopped.group(0) if stopped else text}")
    no_failed(summary("step 4", stream.results()))
    assert releases_of(status()) == dict.fromkeys(HOSTS, seen["B"])
    assert all(live_config(name) == seen["config"] for name in HOSTS)  # the live config untouched


def stopped_at_preflight(step: str, release: str, cause: str) -> None:
    """Deploy `release` (the inventory's now): the first host stops it at the preflight, saying
    `cause`; no request fails, no host is switched, and the staged release is removed again."""
    desire(release)
    with Stream(step) as stream:
        run = playbook("deploy.yml", "-e", CACHE % 2.5)
    text = said(run)
    assert run.returncode != 0, text
    assert re.search(rf"failed its preflight on {FIRST} at {cause}", text), text
    kept = f"Not switched: {FIRST} still runs {seen['B']}; the staged release was removed"
    assert kept in text, text
    no_failed(summary(f"step {step}", stream.results()))
    rows = status()
    assert releases_of(rows) == dict.fromkeys(HOSTS, seen["B"]), rows
    assert {name: row["releases"] for name, row in rows.items()} == seen["releases"], rows


def test_step5_release_that_cannot_start_stops_at_preflight_naming_why() -> None:
    stopped_at_preflight(
        "5",
        "broken-start",
        r".*did not start: result exit-code, exit status 1/FAILURE\. "
        r"It said: ModuleNotFoundError: No module named 'hostwatch_no_such_module'",
    )


def test_step6_release_failing_health_stops_at_preflight_without_a_failed_request() -> None:
    # 154 x 503 on a 2-host lab before the preflight asked /health
    stopped_at_preflight(
        "6",
        "broken-health",
        r"'Gate /health of the side instance': .*\(3 failures in a row\); "
        r"last failure: HTTP 503, checks not passing: .*=fail",
    )


def test_step7_release_failing_behind_nginx_is_rolled_back_fast_with_its_config() -> None:
    desire("behind-nginx")
    with Stream("7") as stream:
        run = playbook("site.yml", "-e", CACHE % 3.5, "-e", "hostwatch_deploy_serial=1")
    text = said(run)
    assert run.returncode != 0, text
    failed = re.search(
        rf"Release (\S+) failed on {FIRST} after the switch "
        rf"\(Gate /health through nginx: (.*?)\)\. Rolled back: {FIRST} runs {seen['B']} again "
        rf"with its config, healthy \(switched at ([\d:.]+), back at ([\d:.]+) UTC\)",
        text,
    )
    assert failed, text
    assert "(3 failures in a row); last failure: HTTP 503" in failed.group(2), failed.group(2)
    print(f"step 7: the play failed with: {failed.group(0)}")
    by_host = summary("step 7", stream.results())
    no_failed(by_host, OTHERS)
    rows = status()
    assert releases_of(rows) == dict.fromkeys(HOSTS, seen["B"]), rows
    assert {name: row["releases"] for name, row in rows.items()} == seen["releases"], rows
    assert live_config(FIRST) == seen["config"]  # 2.5 again: the config went back with the release
    # The first host's failures: only 503s of the bad release, between the switch and the way back.
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    window = [datetime.fromisoformat(f"{today}T{t}+00:00").timestamp() for t in failed.group(3, 4)]
    bad = by_host[FIRST]["failed"]
    assert bad, "the gate window showed no failure: the bad release never served"
    assert {r[3] for r in bad} == {503}, bad
    outside = [r for r in bad if not window[0] - 1.0 <= r[1] <= window[1] + 0.5]
    served = max(r[1] + r[2] for r in bad) - min(r[1] for r in bad)
    print(
        f"step 7: {FIRST} failed {len(bad)} requests over {served:.1f} s, all within the "
        f"switch window {failed.group(3)}-{failed.group(4)} UTC ({window[1] - window[0]:.1f} s)"
    )
    assert not outside, (window, outside)
    # fail fast: 3 failures in a row end the gate at once (without it: its time limit, 30 s by
    # default); the rest is the way back (link, config, restart), slower on a loaded machine
    assert served <= 8.0, bad
    desire("B")


def test_step8_rollback_by_limit_then_by_id() -> None:
    run = playbook("rollback.yml", "--limit", FIRST)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = status()
    assert releases_of(rows) == {FIRST: seen["A"], **dict.fromkeys(OTHERS, seen["B"])}, rows

    run = playbook(
        "rollback.yml",
        "--limit",
        FIRST,
        "-e",
        "hostwatch_deploy_rollback_to=20990101T000000Z-000000000000",
    )
    assert run.returncode != 0
    assert "Release 20990101T000000Z-000000000000 is not on hostwatch-roll-1" in said(run), said(
        run
    )
    assert re.search(r"changed=[1-9]", run.stdout) is None, run.stdout
    assert releases_of(status()) == releases_of(rows)

    run = playbook(
        "rollback.yml", "--limit", FIRST, "-e", f"hostwatch_deploy_rollback_to={seen['B']}"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert releases_of(status()) == dict.fromkeys(HOSTS, seen["B"])


def test_status_in_check_mode_changes_nothing() -> None:
    run = playbook("status.yml", "--check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"changed=[1-9]", run.stdout) is None, run.stdout
    for name in HOSTS:
        assert re.search(
            rf"{name}\s+{seen['B']}\s+active/active/active\s+(pass|warn)", run.stdout
        ), run.stdout


@pytest.fixture(autouse=True)
def _in_order(request: pytest.FixtureRequest) -> None:
    # each step builds on the one before: after a failure the rest would only repeat it
    if request.session.testsfailed:
        pytest.skip("an earlier step failed")
