"""Steps 2-5 of the rollout scenario, in order, from the controller (step 1 is converge: release A).

The tests run the project's playbooks against the molecule hosts and read the fleet with status.yml
after each step; the client container streams /health at all three hosts during every deploy.
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

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
RELEASES = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "releases"
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
CLIENT = "hostwatch-roll-client"
# Fixed in molecule.yml; hostwatch-roll-1 is first in the group, so it is the first batch.
HOSTS = {
    "hostwatch-roll-1": "172.30.2.11",
    "hostwatch-roll-2": "172.30.2.12",
    "hostwatch-roll-3": "172.30.2.13",
}
FIRST, OTHERS = "hostwatch-roll-1", ["hostwatch-roll-2", "hostwatch-roll-3"]
RATE = 4  # requests per second per host: below nginx's 10 r/s

# What the steps found, for the later steps (pytest runs the tests of this file in order).
seen: dict[str, Any] = {}


def playbook(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / name), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)


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


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def summary(step: str, results: list[list[Any]]) -> dict[str, dict[str, Any]]:
    """Counts by status or error, failures and the longest answer (the switch window), per host."""
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


def test_step1_all_hosts_run_release_a() -> None:
    rows = status()
    releases = set(releases_of(rows).values())
    assert len(releases) == 1, rows
    seen["A"] = releases.pop()


def test_step2_rollout_of_b_fails_no_request() -> None:
    with Stream("2") as stream:
        started = time.monotonic()
        run = playbook(
            "deploy.yml",
            "-e",
            f"hostwatch_app_source={RELEASES / 'B'}",
            "-e",
            "hostwatch_deploy_serial=1",
        )
        seconds = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"step 2: 3-host rollout (serial 1) took {seconds:.1f} s")
    by_host = summary("step 2", stream.results())
    rows = status()
    b = rows[FIRST]["release"]
    assert b > seen["A"], rows  # ids sort in build order
    assert set(releases_of(rows).values()) == {b}, rows
    assert all(seen["A"] in row["releases"] for row in rows.values()), rows  # kept for a rollback
    assert re.search(rf"{FIRST}\s+{b}\s+switched\s+from {seen['A']}", run.stdout), (
        run.stdout
    )  # the recap
    for name, found in by_host.items():
        assert found["sent"] > 0 and not found["failed"], (name, found["counts"])
    seen["B"], seen["releases"] = b, {name: row["releases"] for name, row in rows.items()}


def test_step2_again_changes_nothing() -> None:
    run = playbook("deploy.yml", "-e", f"hostwatch_app_source={RELEASES / 'B'}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"changed=[1-9]", run.stdout) is None, run.stdout


def test_step3_release_that_cannot_start_stops_at_preflight() -> None:
    with Stream("3") as stream:
        run = playbook(
            "deploy.yml",
            "-e",
            f"hostwatch_app_source={RELEASES / 'broken-start'}",
            "-e",
            "hostwatch_deploy_serial=1",
        )
    said = " ".join((run.stdout + run.stderr).split())  # the callback wraps long messages
    assert run.returncode != 0, said
    assert re.search(
        rf"failed its preflight on {FIRST} at 'Start the release on a side socket", said
    ), said
    assert "hostwatch_no_such_module" in said, said  # the release's own words
    assert f"Not switched: {FIRST} still runs {seen['B']}" in said, said
    by_host = summary("step 3", stream.results())
    rows = status()
    assert releases_of(rows) == dict.fromkeys(HOSTS, seen["B"]), rows
    # the staged release was removed again; the other hosts were never touched
    assert {name: row["releases"] for name, row in rows.items()} == seen["releases"], rows
    for name, found in by_host.items():
        assert found["sent"] > 0 and not found["failed"], (name, found["counts"])


def test_step4_release_failing_health_is_rolled_back_by_the_gate() -> None:
    with Stream("4") as stream:
        run = playbook(
            "deploy.yml",
            "-e",
            f"hostwatch_app_source={RELEASES / 'broken-health'}",
            "-e",
            "hostwatch_deploy_serial=1",
        )
    said = " ".join((run.stdout + run.stderr).split())  # the callback wraps long messages
    assert run.returncode != 0, said
    failed = re.search(
        rf"Release (\S+) failed on {FIRST} after the switch "
        rf"\(Gate /health through nginx: (.*?)\)\. Rolled back: {FIRST} runs {seen['B']} again, "
        rf"healthy \(switched at ([\d:.]+), back at ([\d:.]+) UTC\)",
        said,
    )
    assert failed, said
    assert "checks not passing: " in failed.group(2) and "=fail" in failed.group(2), failed.group(2)
    print(f"step 4: the play failed with: {failed.group(0)}")
    by_host = summary("step 4", stream.results())
    rows = status()
    assert releases_of(rows) == dict.fromkeys(HOSTS, seen["B"]), rows
    assert {name: row["releases"] for name, row in rows.items()} == seen["releases"], rows
    for name in OTHERS:
        assert by_host[name]["sent"] > 0 and not by_host[name]["failed"], (
            name,
            by_host[name]["counts"],
        )
    # The first host's failures: only 503s of the bad release, between the switch and the way back.
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    window = [datetime.fromisoformat(f"{today}T{t}+00:00").timestamp() for t in failed.group(3, 4)]
    bad = by_host[FIRST]["failed"]
    assert bad, "the gate window showed no failure: the broken release never served"
    assert {r[3] for r in bad} == {503}, bad
    outside = [r for r in bad if not window[0] - 1.0 <= r[1] <= window[1] + 0.5]
    print(
        f"step 4: {FIRST} failed {len(bad)} requests, all within the gate window "
        f"{failed.group(3)}-{failed.group(4)} UTC ({window[1] - window[0]:.1f} s)"
    )
    assert not outside, (window, outside)


def test_step5_rollback_by_limit_then_by_id() -> None:
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
    said = " ".join((run.stdout + run.stderr).split())  # the callback wraps long messages
    assert run.returncode != 0
    assert "Release 20990101T000000Z-000000000000 is not on hostwatch-roll-1" in said, said
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
