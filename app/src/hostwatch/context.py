"""What the blueprints share: the validated config and this worker's host-figure cache."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import cast

from flask import current_app

from .config import Config
from .hostmetrics import CachedHost
from .release import Release


@dataclass(frozen=True)
class Hostwatch:
    config: Config
    host: CachedHost
    release: Release
    # this worker's log reads at once (limits.max_concurrent_reads)
    reads: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        semaphore = threading.BoundedSemaphore(self.config.limits.max_concurrent_reads)
        object.__setattr__(self, "reads", semaphore)  # frozen: set once, here


def hostwatch() -> Hostwatch:
    return cast(Hostwatch, current_app.extensions["hostwatch"])
