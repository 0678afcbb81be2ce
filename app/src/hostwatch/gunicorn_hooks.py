"""Gunicorn server hooks, for a gunicorn config file or `-c python:hostwatch.gunicorn_hooks`.

Gunicorn reads every public module-level name here as a setting, so only the hooks are public.

on_starting also checks the config in the master, so a bad file stops gunicorn with one line
before any worker is forked.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
from typing import Any

from prometheus_client import multiprocess

from .config import ConfigError, config_path, load_file

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


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
    _die_with_master(worker.ppid)


def _die_with_master(master_pid: int) -> None:
    """SIGKILL this worker when its master dies (kill -9): left alone it would first finish its
    follow streams, for up to graceful_timeout, and systemd restarts the service only once the
    last process of the old one is gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        return  # not on Linux: gunicorn's own parent check remains
    if os.getppid() != master_pid:  # the master died before the prctl
        os._exit(1)


def child_exit(server: Any, worker: Any) -> None:
    # keeps a dead worker's counters but drops its live gauges
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
