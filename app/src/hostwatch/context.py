"""What the blueprints share: the validated config and this worker's host-figure cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import current_app

from .config import Config
from .hostmetrics import CachedHost


@dataclass(frozen=True)
class Hostwatch:
    config: Config
    host: CachedHost


def hostwatch() -> Hostwatch:
    return cast(Hostwatch, current_app.extensions["hostwatch"])
