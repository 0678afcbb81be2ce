"""Gunicorn server hooks, for a gunicorn config file or `-c python:hostwatch.gunicorn_hooks`.

Gunicorn reads every public module-level name here as a setting, so only the hooks are public.

on_starting also checks the config in the master, so a bad file stops gunicorn with one line
before any worker is forked.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from prometheus_client import multiprocess

from .config import ConfigError, config_path, load_file


def on_starting(server: Any) -> None:
    try:
        load_file(config_path())
    except ConfigError as err:
        print(f"hostwatch: invalid config {config_path()}: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        # files of a previous run would be summed into this one's counters
        os.makedirs(directory, exist_ok=True)
        for entry in os.scandir(directory):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def post_worker_init(worker: Any) -> None:
    # A thread that waits for the GIL gets it when the holder drops it, at the latest after the
    # switch interval (5 ms). A /health request needs the GIL a few dozen times, so behind a
    # CPU-bound log scan it would wait 5 ms each time; 0.5 ms keeps it fast for a few % of overhead.
    sys.setswitchinterval(0.0005)


def child_exit(server: Any, worker: Any) -> None:
    # keeps a dead worker's counters but drops its live gauges
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
