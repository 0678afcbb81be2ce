from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hostwatch import create_app

TOKEN = "s3cret-token"
TOKEN_SHA256 = hashlib.sha256(TOKEN.encode()).hexdigest()


def write_lines(path: Path, count: int, prefix: str = "line") -> None:
    path.write_text("".join(f"{prefix} {i}\n" for i in range(1, count + 1)))


def base_config(tmp: Path) -> dict[str, Any]:
    """A config for tests: three logs (one present, one missing, one unreadable), fast follow."""
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    write_lines(logs / "app.log", 300)
    secret = logs / "secret.log"
    secret.write_text("hidden\n")
    secret.chmod(0)
    return {
        "trusted_proxies": 1,
        "logs": {
            "app": str(logs / "app.log"),
            "gone": str(logs / "gone.log"),
            "secret": str(secret),
            "dir": str(logs),
        },
        "limits": {
            "default_lines": 10,
            "max_lines": 200,
            "max_response_bytes": 1024,
            "max_line_bytes": 100,
            "scan_bytes": 100_000,
            "max_pattern_length": 32,
        },
        "follow": {
            "max_clients": 2,
            "max_seconds": 0.5,
            "heartbeat_seconds": 0.1,
            "poll_seconds": 0.02,
            "slots_dir": str(tmp / "slots"),
        },
    }


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    return base_config(tmp_path)


@pytest.fixture
def app(config: dict[str, Any]) -> Flask:
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def log_path(config: dict[str, Any]) -> Path:
    return Path(config["logs"]["app"])
