"""Which release this process serves, and since when: for /health and /metrics.

The roles install each release as /opt/hostwatch/releases/<id>/venv and start gunicorn through the
`current` link; the real path of the running venv names the release, whatever `current` points at
later (a switch that has not restarted the service yet).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__


@dataclass(frozen=True)
class Release:
    id: str  # "" when not run from a release directory (tests, `flask run`)
    version: str
    started_at: float  # Unix time the app was loaded: with --preload, when the service started


def release_id(prefix: str) -> str:
    """The <id> of <...>/releases/<id>/venv, the real path of the venv at `prefix`; else ""."""
    venv = Path(os.path.realpath(prefix))
    if venv.name == "venv" and venv.parent.parent.name == "releases":
        return venv.parent.name
    return ""


def this_process() -> Release:
    return Release(release_id(sys.prefix), __version__, time.time())
