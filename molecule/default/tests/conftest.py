"""Helpers shared by the verify tests: HTTP from inside a host, and the scenario's constants."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parent.parent
GROUP_VARS = yaml.safe_load((SCENARIO / "group_vars" / "hostwatch.yml").read_text())
TOKEN = GROUP_VARS["molecule_token"]
SOCKET = "/run/hostwatch/hostwatch.sock"
# Fixed in molecule.yml (platforms[].networks).
ADDRESSES = {"hostwatch-mol-deb12": "172.30.1.11", "hostwatch-mol-deb13": "172.30.1.12"}


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


def wait_for(check: Any, seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def bearer() -> tuple[str, str]:
    return ("-H", f"Authorization: Bearer {TOKEN}")
