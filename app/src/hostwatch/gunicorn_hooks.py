"""Gunicorn server hooks, for a gunicorn config file or `-c python:hostwatch.gunicorn_hooks`.

Gunicorn reads every public module-level name here as a setting, so only the hooks are public.

on_starting also checks the config in the master, so a bad file stops gunicorn with one line
before any worker is forked.

gunicorn's own error answers (a request it cannot parse: a control byte in a header, a line or
headers over its limits) are problem+json like the app's, not its HTML page: on_starting swaps its
one writer of them in the master, before any worker is forked.

Its access log escapes what clients wrote (request line, Referer, User-Agent, any header) as the
API escapes log lines, so reading it in a terminal is as safe as reading an answer.

With `--preload` (as the service runs it) pre_fork readies the loaded app in the master, so that the
workers keep sharing its memory instead of each copying it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import shutil
import signal
import sys
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger, SafeAtoms
from prometheus_client import multiprocess

from .config import ConfigError, config_path, load_file
from .tail import escape

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class _EscapedAtoms(SafeAtoms):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's access-log values, each escaped like a log line, then its quotes as gunicorn does.

    WSGI strings are the request's bytes as latin-1: read them back as the UTF-8 a client sent, so
    a bidi override is shown as \\u202e, not as three characters of mojibake one of which is C1.
    """

    def __init__(self, atoms: dict[str, Any]) -> None:
        super().__init__({})  # not SafeAtoms' quoting first: the escape would double its backslash
        for key, value in atoms.items():
            if isinstance(value, str):
                with contextlib.suppress(UnicodeEncodeError):  # else text already, not WSGI's
                    value = value.encode("latin-1").decode("utf-8", "replace")
                value = escape(value).replace('"', '\\"')
            self[key] = value


class _EscapingLogger(Logger):  # type: ignore[misc]
    atoms_wrapper_class = _EscapedAtoms


logger_class = _EscapingLogger  # a gunicorn setting, like the hooks below


def _write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's answer (its status, reason and words) as problem+json."""
    detail = escape(mesg)  # gunicorn quotes the client's bytes in its message
    body = json.dumps(
        {"type": "about:blank", "title": reason, "status": status_int, "detail": detail}
    )
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body) + 1}\r\n\r\n"
    )
    util.write_nonblock(sock, f"{head}{body}\n".encode("latin-1"))


def on_starting(server: Any) -> None:
    util.write_error = _write_problem
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


def pre_fork(server: Any, worker: Any) -> None:
    if not server.cfg.preload_app:
        return  # the app is loaded in each worker, after the fork: nothing here to share
    # Build now what the first requests would otherwise build in each worker: the compiled
    # templates and URL matcher then sit in pages all processes share.
    app = server.app.wsgi()
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    app.url_map.update()
    # Move every object so far out of the collector's reach: a collection in a worker writes to
    # the header of each object it scans, which would copy every page of the preloaded app into
    # each worker (measured: --preload alone saves no memory, with this about a fifth).
    gc.freeze()


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
