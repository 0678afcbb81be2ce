"""The default scenario's constants, and the shared helpers for its tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from stackcheck import converge, headers, http, platform_addresses, recap, scenario_vars, wait_for

__all__ = [
    "ADDRESSES",
    "ON_DEFAULTS",
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
# The fixed addresses of molecule.yml (platforms[].networks), read from there.
ADDRESSES = platform_addresses()
# The hosts on the roles' defaults (those with a fixed address); the variants host has its own.
ON_DEFAULTS = [f"ansible://{name}" for name in ADDRESSES]


@pytest.fixture
def bearer() -> tuple[str, str]:
    return ("-H", f"Authorization: Bearer {TOKEN}")
