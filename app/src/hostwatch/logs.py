"""/logs: list, tail, filter and follow of the configured log files, and nothing else."""

from __future__ import annotations

import errno
import json as stdlib_json
import os
import select
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

import re2
from flask import Blueprint, Response, abort, json, request

from . import slots, tail
from .auth import require_token
from .context import hostwatch

bp = Blueprint("logs", __name__, url_prefix="/logs")

FILTER_PARAMS = {"contains", "regex"}
TAIL_PARAMS = {"lines", "format", *FILTER_PARAMS}
TRUNCATED = "oldest lines dropped to fit max_response_bytes"
# A stream that its client stopped reading ends at most this long after follow.max_seconds.
FOLLOW_GRACE_SECONDS = 5.0


@bp.before_request
def _auth() -> None:
    require_token()


@bp.get("")
def index() -> Response:
    return Response(
        json.dumps(listing()) + "\n",
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )


def listing() -> list[dict[str, Any]]:
    """Each configured log: name, size, mtime (ISO 8601 UTC) and whether hostwatch can read it."""
    entries = []
    for name, path in hostwatch().config.logs.items():
        entry: dict[str, Any] = {"name": name, "size": None, "mtime": None, "readable": False}
        try:
            st = os.stat(path)
            entry["size"] = st.st_size
            entry["mtime"] = datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="seconds")
            # what a tail would do: a symlink is never opened
            entry["readable"] = os.access(path, os.R_OK) and not os.path.islink(path)
        except OSError:
            pass  # missing: size and mtime stay null
        entries.append(entry)
    return entries


@bp.get("/<name>")
def show(name: str) -> Response:
    _configured_path(name)  # an unknown log is a 404 before anything else is judged
    _only_params(TAIL_PARAMS)
    args = request.args
    as_json = _format(args.get("format"))
    found, headers = gather(name, args.get("lines"), args.get("contains"), args.get("regex"))
    limits = hostwatch().config.limits
    if as_json:
        # compact ASCII JSON: each line costs its string plus a comma, the brackets 2 bytes
        lines, dropped = tail.fit(
            found.lines, limits.max_response_bytes - 2, lambda s: len(_json(s)) + 1
        )
        body = _json(lines)
        mimetype = "application/json"
    else:
        lines, dropped = fit_text(found.lines)
        body = "".join(f"{line}\n" for line in lines)
        mimetype = "text/plain"
    if found.truncated or dropped:
        # no count: how many lines were never gathered is not known
        headers["X-Hostwatch-Truncated"] = TRUNCATED
    return Response(body, headers=headers, mimetype=mimetype)


def gather(
    name: str, lines: str | None, contains: str | None, regex: str | None
) -> tuple[tail.Tail, dict[str, str]]:
    """The last `lines` (matching) lines of a configured log, and the headers that describe them.

    The query values are checked here (a bad one aborts with 400, a missing or unreadable log
    with 404/403), so the API and the page accept exactly the same input.
    """
    path = _configured_path(name)
    n = _lines(lines)
    matcher = _matcher(contains, regex)
    headers: dict[str, str] = {"Cache-Control": "no-store"}
    limits = hostwatch().config.limits
    found: tail.Tail
    # a cap per worker on reads at once: the worker's other threads stay free for /health
    if not hostwatch().reads.acquire(blocking=False):
        abort(
            429,
            description=f"this worker already runs {limits.max_concurrent_reads} log reads; "
            "retry in a moment",
        )
    try:
        # what is gathered is bounded by the response cap already; fit() then trims
        # exactly, by what each line costs once rendered
        stop = _client_gone_check()
        if matcher is None:
            found = tail.tail_lines(
                path,
                n,
                max_line_bytes=limits.max_line_bytes,
                max_bytes=limits.max_response_bytes,
                scan_bytes=limits.scan_bytes,
                stop=stop,
            )
        else:
            found = tail.tail_matching(
                path,
                n,
                matcher,
                scan_bytes=limits.scan_bytes,
                max_line_bytes=limits.max_line_bytes,
                max_bytes=limits.max_response_bytes,
                stop=stop,
            )
            headers["X-Hostwatch-Scanned-Bytes"] = str(found.scanned_bytes)
        headers["X-Hostwatch-Scan-Budget-Exhausted"] = "true" if found.budget_exhausted else "false"
    except OSError as err:
        _file_error(name, err)
    finally:
        hostwatch().reads.release()
    return found, headers


def fit_text(lines: list[str]) -> tuple[list[str], int]:
    """The newest lines that fit max_response_bytes as text, and how many were dropped."""
    cap = hostwatch().config.limits.max_response_bytes
    return tail.fit(lines, cap, lambda s: len(s.encode()) + 1)


@bp.get("/<name>/follow")
def follow(name: str) -> Response:
    cfg = hostwatch().config
    path = _configured_path(name)
    # the same filters as a tail, checked the same way: followed lines are matched here, by RE2,
    # never by a backtracking engine in the browser
    _only_params(FILTER_PARAMS)
    matcher = _matcher(request.args.get("contains"), request.args.get("regex"))
    slot = slots.acquire(cfg.follow.slots_dir, cfg.follow.max_clients)
    if slot is None:
        abort(
            429, description=f"all {cfg.follow.max_clients} follower slots are taken; retry later"
        )
    try:
        follower = tail.Follower(
            path,
            poll_seconds=cfg.follow.poll_seconds,
            heartbeat_seconds=cfg.follow.heartbeat_seconds,
            max_seconds=cfg.follow.max_seconds,
            max_line_bytes=cfg.limits.max_line_bytes,
            matches=matcher,
            # a client that hung up frees its slot at once, not at the next write (a heartbeat)
            stop=_client_gone_check(),
        )
    except OSError as err:
        slot.close()
        _file_error(name, err)

    # A client that stops reading blocks the server's write, and with it the loop that would end
    # the stream: a send timeout up to the end (plus a grace) bounds how long the slot is held.
    sock = request.environ.get("gunicorn.socket")
    deadline = time.monotonic() + cfg.follow.max_seconds + FOLLOW_GRACE_SECONDS

    def bounded(chunk: str) -> str:
        if isinstance(sock, socket.socket):
            sock.settimeout(max(deadline - time.monotonic(), 0.1))
        return chunk

    def events() -> Iterator[str]:
        yield bounded(": following\n\n")  # so clients and proxies see the stream start at once
        for line in follower:
            if line is None:
                yield bounded(": heartbeat\n\n")
            else:  # rendered lines hold no CR or LF (escaped), which SSE data may not hold
                yield bounded(f"data: {line}\n\n")
        yield bounded("event: end\ndata: follow.max_seconds reached\n\n")

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx must pass events on as they come
    # called by the WSGI server when the stream ends or the client goes away, even before it started
    response.call_on_close(follower.close)
    response.call_on_close(slot.close)
    return response


def _client_gone_check() -> Callable[[], bool] | None:
    """A check that the client hung up, so a long scan can stop; None off gunicorn (tests)."""
    sock = request.environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return None

    # Asked first, without waiting: a socket with a timeout (a follow stream sets one) makes
    # Python's recv() wait for data up to that timeout before it even tries, MSG_DONTWAIT or not.
    poller = select.poll()
    poller.register(sock, select.POLLIN)

    def gone() -> bool:
        if not poller.poll(0):  # nothing to read and no hang-up: still there
            return False
        try:
            # b"" is an orderly close; pipelined bytes mean it is still there
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True  # reset

    return gone


def _json(value: object) -> str:
    return stdlib_json.dumps(value, separators=(",", ":"))


def _configured_path(name: str) -> str:
    path = hostwatch().config.logs.get(name)
    if path is None:
        abort(404, description=f"no configured log named {name!r}")
    return path


def _only_params(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        expected = ", ".join(sorted(allowed)) or "none"
        abort(400, description=f"unknown query parameter {unknown[0]!r} (expected: {expected})")


def _lines(value: str | None) -> int:
    limits = hostwatch().config.limits
    if value is None:
        return limits.default_lines
    # the length check comes before int(), which raises on strings of more than 4300 digits
    if (
        not value.isascii()
        or not value.isdigit()
        or len(value) > len(str(limits.max_lines))
        or not 1 <= int(value) <= limits.max_lines
    ):
        abort(
            400, description=f"lines must be an integer from 1 to {limits.max_lines}, got {value!r}"
        )
    return int(value)


def _format(value: str | None) -> bool:
    if value not in (None, "text", "json"):
        abort(400, description=f"format must be 'text' or 'json', got {value!r}")
    return value == "json"


def _matcher(contains: str | None, regex: str | None) -> Callable[[bytes], bool] | None:
    limit = hostwatch().config.limits.max_pattern_length
    for param, value in (("contains", contains), ("regex", regex)):
        if value is not None and not 1 <= len(value) <= limit:
            abort(400, description=f"{param} must be 1 to {limit} characters long")
    tests: list[Callable[[bytes], bool]] = []
    if contains is not None:
        needle = contains.encode()
        tests.append(lambda line: needle in line)
    if regex is not None:
        options = re2.Options()
        options.log_errors = False  # a bad pattern is the client's error, not something to log
        try:
            pattern = re2.compile(regex.encode(), options)
        except re2.error as err:
            message = err.args[0] if err.args else "invalid"
            if isinstance(message, bytes):
                message = message.decode(errors="replace")
            abort(400, description=f"regex is not a valid RE2 pattern: {message}")
        tests.append(lambda line: pattern.search(line) is not None)
    if not tests:
        return None
    return lambda line: all(test(line) for test in tests)


def _file_error(name: str, err: OSError) -> NoReturn:
    # ENOTDIR: a component of the path is a file, so the log cannot exist
    if isinstance(err, FileNotFoundError | NotADirectoryError):
        abort(404, description=f"configured log {name!r} is missing on this host")
    if isinstance(err, PermissionError):
        abort(403, description=f"configured log {name!r} is not readable by hostwatch")
    if isinstance(err, tail.NotARegularFile):
        abort(403, description=f"configured log {name!r} is not a regular file")
    if err.errno == errno.ELOOP:  # O_NOFOLLOW on a symlink, or a loop of links on the way
        abort(
            403,
            description=f"configured log {name!r} is a symbolic link (or a loop of them); "
            "hostwatch does not follow links",
        )
    raise err  # anything else is a server fault: the 500 handler logs it
