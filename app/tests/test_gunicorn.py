"""Real gunicorn, 2 gthread workers on a loopback port: request counters summed across workers."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import write_lines

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, str]:
    # a new connection per request, so the kernel can hand each one to either worker
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    follow = "max_clients = 2\nheartbeat_seconds = 0.2\nmax_seconds = 20\n"
    with running_gunicorn(tmp_path, follow) as started:
        yield started


@contextmanager
def running_gunicorn(tmp_path: Path, follow: str) -> Iterator[tuple[int, Path]]:
    """gunicorn with 2 gthread workers of 4 threads serving tmp_path/app.log; `follow` is the body
    of the [follow] table. Yields the port and the access log."""
    write_lines(tmp_path / "app.log", 20)
    config = tmp_path / "hostwatch.toml"
    config.write_text(
        f'[logs]\napp = "{tmp_path}/app.log"\n[follow]\n{follow}slots_dir = "{tmp_path}/slots"\n'
    )
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    (multiproc / "stale_counter_123.db").write_bytes(b"old run")  # on_starting must wipe it
    access_log = tmp_path / "access.log"
    port = free_port()
    env = os.environ | {"HOSTWATCH_CONFIG": str(config), "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    stderr = (tmp_path / "gunicorn.err").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:hostwatch.gunicorn_hooks",
            "--preload",  # as the service runs it: workers forked from a loaded app
            "--no-control-socket",
            "-k",
            "gthread",
            "--threads",
            "4",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(p)s %(U)s",
            "hostwatch:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if get(port, "/health/live")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"gunicorn did not start: {(tmp_path / 'gunicorn.err').read_text()}"
                )
            time.sleep(0.1)
        yield port, access_log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


def follow_status(port: int) -> int:
    """Open a follow stream, note its status and hang up at once."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/logs/app/follow")
        return conn.getresponse().status
    finally:
        conn.close()


def served_pids(access_log: Path, path: str) -> list[str]:
    return [ln.split()[0] for ln in access_log.read_text().splitlines() if ln.split()[1:] == [path]]


def test_request_counter_sums_both_workers(server: tuple[int, Path]) -> None:
    port, access_log = server
    sent = 0
    # Keep asking, four connections at a time, until both workers answered (bounded): the kernel
    # picks who accepts, and on a busy machine one worker can win many sequential accepts.
    with ThreadPoolExecutor(max_workers=4) as pool:
        while sent < 2000:
            assert all(s == 200 for s, _ in pool.map(lambda _i: get(port, "/logs"), range(20)))
            sent += 20
            if len(set(served_pids(access_log, "/logs"))) > 1:
                break
    # gunicorn writes the access line after the response: wait (bounded) until all are written
    deadline = time.monotonic() + 5
    while len(served_pids(access_log, "/logs")) < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = served_pids(access_log, "/logs")
    assert len(pids) == sent
    assert len(set(pids)) == 2, "both workers should have served requests"

    status, text = get(port, "/metrics")
    assert status == 200
    samples = [
        ln
        for ln in text.splitlines()
        if ln.startswith("hostwatch_http_requests_total{") and 'route="/logs"' in ln
    ]
    assert len(samples) == 1, samples  # summed over workers: one series, not one per pid
    assert float(samples[0].split()[-1]) == sent
    assert "hostwatch_load_per_core" in text
    # computed at scrape in the worker that answers, beside the summed files
    assert text.count('hostwatch_health_status{status="pass"}') == 1
    assert text.count('hostwatch_release_info{release="unknown",version="0.1.0"} 1.0') == 1
    assert "stale" not in text


def test_follow_cap_and_no_starvation(server: tuple[int, Path]) -> None:
    """max_clients streams across the workers, the next one is 429, and the app still answers.

    Each stream holds a gthread thread, and both may land on one worker: threads per worker must
    exceed follow.max_clients (here 4 > 2), or that worker queues other requests behind them.
    """
    port, _ = server
    streams = []
    try:
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/logs/app/follow")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Content-Type", "").startswith("text/event-stream")
            assert response.getheader("X-Accel-Buffering") == "no"
            assert response.readline() == b": following\n"
            streams.append(conn)
        status, body = get(port, "/logs/app/follow")  # a 429 is a short problem body
        assert status == 429 and '"status":429' in body.replace(" ", "")
        started = time.monotonic()
        for _ in range(5):
            assert get(port, "/health/live")[0] == 200
        assert time.monotonic() - started < 3
    finally:
        for conn in streams:
            conn.close()
    # a gone client is noticed at the next poll, which frees its slot
    deadline = time.monotonic() + 5
    while follow_status(port) == 429:
        assert time.monotonic() < deadline, "slots of closed streams were not freed"
        time.sleep(0.1)
