"""Helpers for the scenarios' verify tests: HTTP from inside a host, waiting, scenario vars."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Reply:
    status: int
    content_type: str
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http(host: Any, url: str, *curl_args: str) -> Reply:
    """GET `url` with curl inside `host` (status 000 = no HTTP answer at all)."""
    cmd = [
        "curl",
        "-sS",
        "--max-time",
        "5",
        "-w",
        r"\n%{http_code} %{content_type}",
        *curl_args,
        url,
    ]
    out = host.run(shlex.join(cmd)).stdout
    body, _, tail = out.rpartition("\n")
    status, _, ctype = tail.partition(" ")
    return Reply(int(status or 0), ctype, body)


def headers(host: Any, url: str, *curl_args: str) -> dict[str, str]:
    """The response headers of GET `url` from inside `host`, names in lower case."""
    cmd = ["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-D", "-", *curl_args, url]
    lines = host.run(shlex.join(cmd)).stdout.splitlines()[1:]  # after the status line
    pairs = (line.partition(":") for line in lines)
    return {name.strip().lower(): value.strip() for name, _, value in pairs if value}


def wait_for(check: Any, seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def scenario_vars(tests_dir: Path) -> dict[str, Any]:
    """The scenario's group_vars/hostwatch.yml (beside its tests/)."""
    return dict(yaml.safe_load((tests_dir.parent / "group_vars" / "hostwatch.yml").read_text()))


def platform_addresses() -> dict[str, str]:
    """Instance name -> its fixed IPv4 address, from the scenario's platforms (molecule.yml)."""
    config = yaml.safe_load(Path(os.environ["MOLECULE_FILE"]).read_text())
    return {
        platform["name"]: network["ipv4_address"]
        for platform in config["platforms"]
        for network in platform.get("networks", [])
        if "ipv4_address" in network
    }


def converge(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the site playbook (what every scenario converges with) from the controller."""
    playbook = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "playbooks" / "site.yml"
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {"ok": n, "changed": n, ...}}."""
    found = {}
    for name, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        found[name] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


# For the rollout scenario's tests: the project's playbooks on the scenario's hosts, the hosts'
# state through docker exec, the release the inventory states (its `desired` link, prepare.yml).
def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def playbook(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run playbooks/<name> on the scenario's inventory; prints how long it took."""
    project = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    cmd = [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(project / "playbooks" / name),
        *args,
    ]
    start = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    print(f"playbook {name} {' '.join(args)} took {time.monotonic() - start:.1f} s")
    return run


def desire(release: str) -> None:
    """State the release the fleet should run, as an operator edits the inventory."""
    releases = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "releases"
    (releases / "desired.new").symlink_to(release)
    (releases / "desired.new").replace(releases / "desired")
