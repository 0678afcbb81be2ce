"""/health (host checks, IETF health-check draft shape) and /health/live (the process serves)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from . import __version__
from .auth import require_token
from .config import Thresholds
from .context import hostwatch
from .hostmetrics import HostFigures

bp = Blueprint("health", __name__)

HEALTH_JSON = "application/health+json"
_RANK = {"pass": 0, "warn": 1, "fail": 2}


def _status(value: float | None, limits: Thresholds) -> str:
    if value is None or value >= limits.fail:
        return "fail"
    return "warn" if value >= limits.warn else "pass"


# The last /health this worker built, with the figures it was built from. The figures are cached
# for health.cache_seconds; until they are taken again, every /health sends these same bytes (no
# document to build, no JSON to encode). Keyed by the figures object, held here so never reused.
_last: tuple[HostFigures, str, int] | None = None


def _health_response(text: str, status: int, cache_control: str) -> Response:
    response = Response(text, status, mimetype=HEALTH_JSON)
    response.headers["Cache-Control"] = cache_control
    return response


@bp.get("/health/live")
def live() -> Response:
    return _health_response('{"status": "pass"}\n', 200, "no-store")


@bp.get("/health")
def health() -> Response:
    global _last
    hw = hostwatch()
    if hw.config.auth.protect_health:
        require_token()
    fig = hw.host.get()
    last = _last
    if last is None or last[0] is not fig:
        body = document(fig)
        last = _last = (fig, json.dumps(body) + "\n", 503 if body["status"] == "fail" else 200)
    return _health_response(last[1], last[2], f"max-age={round(hw.config.health.cache_seconds)}")


def document(fig: HostFigures | None = None) -> dict[str, Any]:
    """The /health body from this worker's cached figures (the page renders the same)."""
    hw = hostwatch()
    cfg = hw.config.health
    fig = fig or hw.host.get()

    def check(
        value: float | None, unit: str, limits: Thresholds | None, **extra: str
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "observedValue": None if value is None else round(value, 3),
            "observedUnit": unit,
            "status": "pass" if limits is None else _status(value, limits),
            "time": fig.taken_at,
        }
        if value is None:
            entry["output"] = "could not be read"
        return entry | extra

    checks = {
        "cpu:loadPerCore": [check(fig.load_per_core, "load", cfg.load_per_core)],
        "memory:utilization": [check(fig.memory_percent, "percent", cfg.memory_percent)],
        "swap:utilization": [check(fig.swap_percent, "percent", cfg.swap_percent)],
        "disk:utilization": [
            check(used, "percent", cfg.mounts[mount], componentId=mount)
            for mount, used in fig.disk_percent.items()
        ],
        "uptime": [check(fig.uptime_seconds, "s", None, componentType="system")],
    }
    worst = max(
        (e["status"] for entries in checks.values() for e in entries), key=_RANK.__getitem__
    )
    release = {"releaseId": hw.release.id} if hw.release.id else {}
    return {
        "status": worst,
        "version": __version__,
        **release,
        "description": "hostwatch host health",
        "hostname": fig.hostname,
        "checks": checks,
    }
