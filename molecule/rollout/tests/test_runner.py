"""The playbooks as AWX / Ansible Automation Platform runs them: through ansible-runner.

AWX runs a job with ansible-runner in a private data directory: the project checked out in
project/, the inventory in inventory/, the job's extra vars in env/extravars; it reads the job's
outcome from the runner's status and rc and the host summary from its events. These tests do the
same with the scenario's fleet as test_rollout.py leaves it (every host on one release, the config
of its steps 3-7): status.yml, then site.yml, which on that fleet must change nothing on any host.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import ansible_runner

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
INVENTORY = Path(os.environ["MOLECULE_INVENTORY_FILE"])
# The config test_rollout.py's steps 3 to 7 leave live on every host (its CACHE % 2.5): the job's
# extra vars, as an operator's job template states what the fleet should run.
EXTRAVARS = {"hostwatch_app_health_cache_seconds": 2.5}


def fleet() -> set[str]:
    """The hosts of group hostwatch, as the inventory lists them."""
    out = subprocess.run(
        ["ansible-inventory", "-i", str(INVENTORY), "--list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(json.loads(out)["hostwatch"]["hosts"])


def job(tmp_path: Path, playbook: str, extravars: dict[str, Any]) -> dict[str, dict[str, int]]:
    """One job through ansible_runner.run in a private data directory laid out as AWX lays it;
    returns the per-host stats of its playbook_on_stats event (ok, changed, failures, dark...)."""
    data = tmp_path / f"runner{len(list(tmp_path.glob('runner*')))}"
    (data / "env").mkdir(parents=True)
    (data / "project").symlink_to(PROJECT)
    # the directory, so that its host_vars/ and group_vars/ come along as in the scenario's runs
    (data / "inventory").symlink_to(INVENTORY.parent)
    (data / "env" / "extravars").write_text(json.dumps(extravars))
    run = ansible_runner.run(private_data_dir=str(data), playbook=playbook, quiet=True)
    stdout = run.stdout.read() if run.stdout else ""
    assert run.status == "successful" and run.rc == 0, (run.status, run.rc, stdout[-4000:])
    stats = [e for e in run.events if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1, [e.get("event") for e in run.events]
    data_ = stats[0]["event_data"]
    hosts = fleet()
    assert set(data_["ok"]) >= hosts, data_  # every host ran (the client may be in other plays)
    assert not data_["failures"] and not data_["dark"], data_
    return {key: data_[key] for key in ("ok", "changed", "failures", "dark", "skipped")}


def test_status_through_ansible_runner(tmp_path: Path) -> None:
    out = tmp_path / "status.json"
    stats = job(tmp_path, "playbooks/status.yml", {"hostwatch_deploy_status_json": str(out)})
    assert not any(stats["changed"].values()), stats
    # the extra vars reached the play: it wrote the status where they said, a row per host, all
    # on one release and healthy
    rows = {row["host"]: row for row in json.loads(out.read_text())}
    assert set(rows) == fleet(), rows
    assert len({row["release"] for row in rows.values()}) == 1, rows
    for name, row in rows.items():
        assert row["health"] in ("pass", "warn") and row["http_status"] == 200, (name, row)


def test_site_through_ansible_runner_changes_nothing(tmp_path: Path) -> None:
    stats = job(tmp_path, "site.yml", EXTRAVARS)
    # every host of the play (the client, the fleet's Prometheus, too): nothing changed
    assert not any(stats["changed"].values()), stats
    # a run that skipped the stack would also change nothing: each host ran its tasks
    assert all(stats["ok"][host] >= 20 for host in fleet()), stats
