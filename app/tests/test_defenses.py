"""What a hostile client found (issue 8), each fixed: these failed before the fixes."""

from __future__ import annotations

import logging
import os
import random
import socket
import string
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from hostwatch import create_app, tail

from .test_api import assert_problem
from .test_gunicorn import follow_status, running_gunicorn


def test_metrics_labels_stay_bounded_whatever_the_method(client: Any) -> None:
    rng = random.Random(8)
    for _ in range(200):
        method = "".join(rng.choices(string.ascii_uppercase, k=12))
        client.open("/health/live", method=method)
        client.open(f"/nope/{method}", method=method)
    text = client.get("/metrics").get_data(as_text=True)
    methods = {
        line.split('method="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("hostwatch_http_requests_total{")
    }
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}
    assert "other" in methods


def test_plain_tail_is_bounded_in_bytes_read(
    config: dict[str, Any], log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the NUL hole copytruncate leaves: a huge file without a newline (sparse: no disk used)
    with log_path.open("r+b") as f:
        f.truncate(1 << 30)
    read = 0
    real_pread = os.pread

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        nonlocal read
        data = real_pread(fd, n, offset)
        read += len(data)
        return data

    monkeypatch.setattr(os, "pread", counting_pread)
    r = create_app(config).test_client().get("/logs/app?lines=1")
    assert r.status_code == 200
    assert r.headers["X-Hostwatch-Scan-Budget-Exhausted"] == "true"
    # the tail's own look for whole lines (the response cap) plus the scan budget, not 1 GiB
    limits = config["limits"]
    assert read <= limits["scan_bytes"] + limits["max_response_bytes"] + 3 * tail.CHUNK_SIZE


def test_plain_tail_says_when_budget_was_enough(client: Any) -> None:
    assert client.get("/logs/app").headers["X-Hostwatch-Scan-Budget-Exhausted"] == "false"


def test_scan_stops_when_told(tmp_path: Path) -> None:
    p = tmp_path / "big.log"
    with p.open("wb") as f:
        f.truncate(64 << 20)
    asked = []

    def stop() -> bool:
        asked.append(1)
        return True

    m = tail.tail_matching(str(p), 1, lambda line: True, scan_bytes=64 << 20, stop=stop)
    assert asked and m.budget_exhausted
    assert m.scanned_bytes <= tail.STOP_CHECK_BYTES + tail.CHUNK_SIZE


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    secret = tmp_path / "canary.txt"
    secret.write_text("CANARY-8f3a\n")
    return secret


def test_symlinked_log_is_refused(client: Any, log_path: Path, canary: Path) -> None:
    link = log_path.with_suffix(".tmp")
    link.symlink_to(canary)
    link.replace(log_path)  # ln -s target .tmp && mv -T .tmp app.log
    for url in ("/logs/app", "/logs/app?contains=C", "/logs/app/follow"):
        r = client.get(url)
        assert_problem(r, 403, "symbolic link")
        assert b"CANARY" not in r.get_data()
    listing = client.get("/logs").get_json()
    assert [e["readable"] for e in listing if e["name"] == "app"] == [False]


def test_running_follower_does_not_switch_to_a_symlink(tmp_path: Path, canary: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    follower = tail.Follower(
        str(p),
        poll_seconds=0.1,
        heartbeat_seconds=10,
        max_seconds=1,
        clock=lambda: now[0],
        sleep=sleep,
    )
    p.with_suffix(".tmp").symlink_to(canary)
    p.with_suffix(".tmp").replace(p)
    with canary.open("a") as f:
        f.write("CANARY more\n")
    assert [line for line in follower if line is not None] == []


@pytest.mark.parametrize(
    ("make", "status", "detail"),
    [
        ("loop", 403, "symbolic link"),
        ("file_component", 404, "missing"),
    ],
)
def test_links_and_odd_paths_are_problems_not_500(
    config: dict[str, Any], tmp_path: Path, make: str, status: int, detail: str
) -> None:
    if make == "loop":
        a, b = tmp_path / "a.log", tmp_path / "b.log"
        a.symlink_to(b)
        b.symlink_to(a)
        config["logs"]["odd"] = str(a)
    else:
        config["logs"]["odd"] = str(Path(config["logs"]["app"]) / "inside.log")
    client = create_app(config).test_client()
    assert_problem(client.get("/logs/odd"), status, detail)
    assert_problem(client.get("/logs/odd/follow"), status, detail)


def test_loop_in_a_directory_component_is_403(config: dict[str, Any], tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.symlink_to(d)
    config["logs"]["odd"] = str(d / "x.log")
    assert_problem(create_app(config).test_client().get("/logs/odd"), 403, "symbolic link")


def test_every_answer_says_nosniff_and_the_list_is_not_cached(client: Any) -> None:
    for url in ("/health/live", "/health", "/metrics", "/logs", "/logs/app", "/logs/gone", "/x"):
        assert client.get(url).headers["X-Content-Type-Options"] == "nosniff", url
    assert client.get("/logs").headers["Cache-Control"] == "no-store"


def test_forwarded_address_is_logged_escaped(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from .conftest import TOKEN_SHA256

    config["auth"] = {"token_sha256": [TOKEN_SHA256]}
    client = create_app(config).test_client()
    with caplog.at_level(logging.WARNING):
        r = client.get(
            "/logs",
            headers={"Authorization": "Bearer wrong", "X-Forwarded-For": "1.2.3.4\x1b[2J\x07"},
        )
    assert r.status_code == 401
    messages = [rec.getMessage() for rec in caplog.records]
    assert any("rejected bearer token" in m for m in messages)
    assert not any("\x1b" in m or "\x07" in m for m in messages)
    assert any("\\x1b" in m for m in messages)


def test_reads_past_the_worker_cap_are_429_and_health_still_answers(
    config: dict[str, Any],
) -> None:
    config["limits"]["max_concurrent_reads"] = 1
    app: Flask = create_app(config)
    client = app.test_client()
    reads = app.extensions["hostwatch"].reads
    assert reads.acquire(blocking=False)  # one read in flight on this worker
    try:
        r = client.get("/logs/app")
        assert_problem(r, 429, "log reads")
        assert client.get("/health/live").status_code == 200
    finally:
        reads.release()
    assert client.get("/logs/app").status_code == 200  # and the slot came back


@pytest.mark.slow
def test_follow_slot_is_freed_when_the_client_stops_reading(tmp_path: Path) -> None:
    """A client that never reads blocks the server's writes; the slot must still come back soon
    after follow.max_seconds (here 1 s, the grace 5 s), not when the client finally hangs up."""
    from hostwatch.logs import FOLLOW_GRACE_SECONDS

    follow = "max_clients = 1\nmax_seconds = 1\nheartbeat_seconds = 0.2\npoll_seconds = 0.05\n"
    with running_gunicorn(tmp_path, follow) as (port, _):
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", port))
        stuck.sendall(b"GET /logs/app/follow HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            time.sleep(0.5)
            assert follow_status(port) == 429  # the stream holds the only slot

            def flood() -> None:  # far more than the socket buffers hold
                with (tmp_path / "app.log").open("a") as f:
                    for i in range(200_000):
                        f.write(f"flood line {i} {'x' * 80}\n")

            writer = threading.Thread(target=flood)
            writer.start()
            writer.join()
            started = time.monotonic()
            while follow_status(port) == 429:
                waited = time.monotonic() - started
                assert waited < 1 + FOLLOW_GRACE_SECONDS + 3, "slot held past max_seconds + grace"
                time.sleep(0.2)
        finally:
            stuck.close()
