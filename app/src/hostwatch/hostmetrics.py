"""Host figures from psutil, cheap to take and cached per worker for a short TTL.

Nothing here blocks: no cpu_percent(interval) (it sleeps, and its first non-blocking call returns
0.0 anyway), so CPU is judged by the load average per core; disks only for configured mounts (a
dead network mount elsewhere must not hang a probe).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import psutil


@dataclass(frozen=True)
class HostFigures:
    taken_at: str  # ISO 8601 UTC
    hostname: str
    load_per_core: float  # 1-minute load average / logical CPUs
    memory_percent: float
    swap_percent: float
    disk_percent: Mapping[str, float | None]  # None: the mount could not be read
    uptime_seconds: float


def take(mounts: Iterable[str]) -> HostFigures:
    disks: dict[str, float | None] = {}
    for mount in mounts:
        try:
            disks[mount] = psutil.disk_usage(mount).percent
        except OSError:
            disks[mount] = None
    return HostFigures(
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
        load_per_core=os.getloadavg()[0] / (psutil.cpu_count() or 1),
        memory_percent=psutil.virtual_memory().percent,
        swap_percent=psutil.swap_memory().percent,
        disk_percent=disks,
        uptime_seconds=time.time() - psutil.boot_time(),
    )


class CachedHost:
    """take() at most once per ttl seconds in this process; threads share the figures."""

    def __init__(
        self, mounts: Iterable[str], ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.mounts = tuple(mounts)
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._figures: HostFigures | None = None
        self._taken = 0.0

    def get(self) -> HostFigures:
        with self._lock:
            now = self.clock()
            if self._figures is None or now - self._taken >= self.ttl:
                self._figures = take(self.mounts)
                self._taken = now
            return self._figures
