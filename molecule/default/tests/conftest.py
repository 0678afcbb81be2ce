"""The default scenario's constants, and the shared helpers for its tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from stackcheck import converge, headers, http, recap, scenario_vars, wait_for

__all__ = [
    "ADDRESSES",
    "SOCKET",
    "TOKEN",
    "converge",
    "headers",
    "http",
    "recap",
    "wait_for",
]

TOKEN = scenario_vars(Path(__file__).parent)["molecule_token"]
SOCKET = "/run/hostwatch/hostwatch.sock"
# Fixed in molecule.yml (platforms[].networks).
ADDRESSES = {"hostwatch-mol-deb12": "172.30.1.11", "hostwatch-mol-deb13": "172.30.1.12"}


@pytest.fixture
def bearer() -> tuple[str, str]:
    return ("-H", f"Authorization: Bearer {TOKEN}")
