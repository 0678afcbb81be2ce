"""A cap on concurrent followers across all worker processes: one lock file per slot.

A follower holds a non-blocking exclusive flock on one free slot file for as long as it streams.
The kernel drops the lock when the file is closed or the process dies, so a crashed worker can
never leak a slot.
"""

from __future__ import annotations

import fcntl
import os
from typing import BinaryIO


def ensure_dir(slots_dir: str) -> None:
    os.makedirs(slots_dir, mode=0o700, exist_ok=True)


def acquire(slots_dir: str, max_clients: int) -> BinaryIO | None:
    """An open, locked slot file (close it to free the slot), or None when all are taken."""
    for i in range(max_clients):
        f = open(os.path.join(slots_dir, f"slot-{i}.lock"), "ab")  # noqa: SIM115 - closed by caller
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            continue
        return f
    return None
