"""What a second hostile review found through nginx (issue 16), each fixed: these failed before."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

import pytest
from flask.testing import FlaskClient

from hostwatch import tail

from .test_api import assert_problem
from .test_gunicorn import follow_status, running_gunicorn

# What an attacker plants through a Referer: a screen clear, an OSC window title ended by BEL, a
# CR that sends the cursor back over the real entry, a CSI as a C1 byte, DEL, a bidi override and
# an isolate. Then a literal backslash-x, which must not read as one of our escapes.
HOSTILE = "GET /x \x1b[2J\x1b]0;owned\x07\rforged\x9b31m\x7f \u202egnp.exe\u2066 \\x1b\t!"
SHOWN = "GET /x \\x1b[2J\\x1b]0;owned\\x07\\x0dforged\\x9b31m\\x7f \\u202egnp.exe\\u2066 \\\\x1b\t!"


def test_escape_shows_every_control_and_keeps_backslashes_unambiguous() -> None:
    assert tail.escape(HOSTILE) == SHOWN
    controls = [*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F)]
    for code in [*controls, *range(0x2066, 0x206A)]:
        if code != 0x09:
            assert tail.escape(chr(code)).startswith("\\"), hex(code)
    kept = "plain text, tab\tand é ü 中 are kept"
    assert tail.escape(kept) == kept
    # our own escapes map back to exactly the line that was read
    assert tail.escape("\\x1b") != tail.escape("\x1b")


@pytest.fixture
def hostile(log_path: Path) -> Path:
    with log_path.open("a", encoding="utf-8") as f:
        f.write(f"{HOSTILE}\r\n")
    return log_path


def _no_raw_controls(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\r\x9b\x7f\u202e\u2066"), repr(text)


@pytest.mark.parametrize("query", ["lines=1", "lines=1&contains=forged", "lines=1&regex=gnp"])
def test_text_answers_show_controls_escaped(client: FlaskClient, hostile: Path, query: str) -> None:
    r = client.get(f"/logs/app?{query}")
    assert r.status_code == 200
    _no_raw_controls(r.get_data(as_text=True))
    assert r.get_data(as_text=True) == f"{SHOWN}\n"


def test_json_answers_hold_the_escaped_text(client: FlaskClient, hostile: Path) -> None:
    for query in ("lines=1&format=json", "lines=1&format=json&contains=forged"):
        assert client.get(f"/logs/app?{query}").get_json() == [SHOWN]


def test_long_lines_are_escaped_after_the_cut(client: FlaskClient, log_path: Path) -> None:
    # longer than max_line_bytes (100): the slow path of a tail, cut on the raw bytes
    log_path.write_text("\x1b" * 150 + "\n")
    line = client.get("/logs/app?format=json").get_json()[0]
    assert line == "\\x1b" * 100 + "… [line cut at 100 bytes]"


def test_tail_page_shows_controls_escaped(client: FlaskClient, hostile: Path) -> None:
    html = client.get("/tail?log=app&lines=1").get_data(as_text=True)
    _no_raw_controls(html)
    assert "\\u202egnp.exe" in html and "\\x1b]0;owned\\x07" in html


def test_follow_stream_shows_controls_escaped(client: FlaskClient, log_path: Path) -> None:
    r = client.get("/logs/app/follow", buffered=False)
    chunks = iter(cast(Iterable[bytes], r.response))
    next(chunks)
    with log_path.open("a", encoding="utf-8") as f:
        f.write(f"{HOSTILE}\r\n")
    seen = b"".join(chunks).decode()
    r.close()
    _no_raw_controls(seen)
    assert f"data: {SHOWN}\n\n" in seen


def test_follower_lines_are_escaped(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("")
    follower = tail.Follower(
        log.as_posix(), poll_seconds=0.01, heartbeat_seconds=9, max_seconds=0.3
    )
    log.write_text(f"{HOSTILE}\n")
    assert [line for line in follower if line is not None] == [SHOWN]


def test_plain_functions_escape_on_every_path(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(f"ok\n{HOSTILE}\n")
    assert tail.tail_lines(str(log), 2).lines == ["ok", SHOWN]
    cut = tail.tail_lines(str(log), 2, max_bytes=50, max_line_bytes=20).lines[-1]
    assert cut.startswith("GET /x \\x1b")
    found = tail.tail_matching(str(log), 5, lambda b: b"forged" in b, scan_bytes=1000)
    assert found.lines == [SHOWN]


@pytest.mark.slow
def test_follow_slot_is_free_within_a_second_of_its_client_leaving(tmp_path: Path) -> None:
    """One follower slot, a heartbeat far away and a quiet log: only noticing the hang-up itself
    frees the slot (before: at the next heartbeat write, 15 s later)."""
    follow = "max_clients = 1\nheartbeat_seconds = 15\nmax_seconds = 60\npoll_seconds = 0.5\n"
    with running_gunicorn(tmp_path, follow) as (port, _):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/logs/app/follow")
        response = conn.getresponse()
        assert response.status == 200
        assert response.readline() == b": following\n"
        assert follow_status(port) == 429  # the stream holds the only slot
        # and while it watches its client, it still streams (a check that waited on the socket
        # would hold the stream until the client spoke or left)
        with (tmp_path / "app.log").open("a") as f:
            f.write("still streaming\n")
        written = time.monotonic()
        assert response.readline() == b"\n"
        assert response.readline() == b"data: still streaming\n"
        assert time.monotonic() - written < 1.5
        conn.close()
        left = time.monotonic()
        while follow_status(port) == 429:
            assert time.monotonic() - left < 1.5, "the slot outlived its client"
            time.sleep(0.05)


def _followed(client: FlaskClient, log_path: Path, query: str, *lines: str) -> bytes:
    r = client.get(f"/logs/app/follow?{query}", buffered=False)
    assert r.status_code == 200
    chunks = iter(cast(Iterable[bytes], r.response))
    next(chunks)
    with log_path.open("a") as f:
        f.writelines(f"{line}\n" for line in lines)
    seen = b"".join(chunks)
    r.close()
    return seen


def test_follow_filters_by_the_servers_rules(client: FlaskClient, log_path: Path) -> None:
    lines = ("GET /a 200", "GET /b 404", "POST /a 200", "aaaaaaaaaaaaaaaaaaaaaaa!")
    seen = _followed(client, log_path, "contains=GET&regex=%5E%5Cw%2B%20%2Fa", *lines)
    assert [ln for ln in seen.split(b"\n\n") if ln.startswith(b"data: ")] == [b"data: GET /a 200"]
    # RE2 syntax a JavaScript RegExp refuses, and the pattern that backtracks there: linear here
    assert b"data: GET /b 404\n\n" in _followed(client, log_path, "regex=(%3Fi)get%20%2Fb", *lines)
    started = time.monotonic()
    assert b"data: aaaa" not in _followed(client, log_path, "regex=(a%2B)%2B%24", *lines)
    assert time.monotonic() - started < 2  # the stream's own 0.5 s, not a backtracking scan


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("regex=(", "not a valid RE2 pattern"),
        ("regex=%5C1", "not a valid RE2 pattern"),
        ("contains=", "1 to 32 characters"),
        ("regex=" + "x" * 33, "1 to 32 characters"),
        ("lines=5", "unknown query parameter"),
        ("format=json", "unknown query parameter"),
    ],
)
def test_follow_filters_are_checked_like_a_tails(
    client: FlaskClient, query: str, detail: str
) -> None:
    assert_problem(client.get(f"/logs/app/follow?{query}"), 400, detail)
    if query.startswith(("regex", "contains")):  # the very words a tail answers
        assert_problem(client.get(f"/logs/app?{query}"), 400, detail)


@pytest.mark.slow
def test_gunicorns_access_log_is_escaped(tmp_path: Path) -> None:
    """The app's own log: what a client wrote lands in access.log escaped, as in an answer."""
    with running_gunicorn(tmp_path, "") as (port, access_log):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request(
            "GET", "/logs/x%E2%80%AE%1B%5D0%3Bowned%07%5C%22", headers={"Connection": "close"}
        )
        assert conn.getresponse().status == 404
        conn.close()
        deadline = time.monotonic() + 5
        while "/logs/x" not in access_log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    logged = access_log.read_text(encoding="utf-8", errors="surrogateescape")
    _no_raw_controls(logged)
    # the literal backslash doubled, the quote escaped as gunicorn does: \\ then \"
    assert '/logs/x\\u202e\\x1b]0;owned\\x07\\\\\\"\n' in logged, logged


def test_the_escaping_logger_is_gunicorns_setting() -> None:
    from gunicorn.config import Config

    from hostwatch import gunicorn_hooks

    cfg = Config()
    cfg.set("logger_class", gunicorn_hooks.logger_class)
    assert cfg.logger_class is gunicorn_hooks.logger_class
    atoms = cfg.logger_class.atoms_wrapper_class({"f": "\xe2\x80\xae", "a": 'UA\x01"', "s": 200})
    assert (atoms["f"], atoms["a"], atoms["s"]) == ("\\u202e", 'UA\\x01\\"', 200)


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_gunicorn(tmp_path_factory.mktemp("gunicorn"), "") as (port, _):
        yield port


def _raw(port: int, request: bytes) -> tuple[int, str, str]:
    """Send raw bytes, read to the close: (status, Content-Type, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    ctype = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in head.split("\r\n")
            if ln.lower().startswith("content-type:")
        ),
        "",
    )
    return int(head.split()[1]), ctype, body


GET = b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (GET + b"User-Agent: UA\x01\x1b[2J\r\n\r\n", 400),  # a control byte in a header
        (GET + b"Bad Name: x\r\n\r\n", 400),
        (GET + b"X-Folded: a\r\n b\r\n\r\n", 400),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (GET + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", 431),
        (GET + b"Transfer-Encoding: foo\r\n\r\n", 501),
        (GET + b"Transfer-Encoding: gzip\r\n\r\n", 400),
        (GET + b"Expect: 200-ok\r\n\r\n", 417),
    ],
)
def test_gunicorns_own_errors_are_problems(
    gunicorn_port: int, request_bytes: bytes, status: int
) -> None:
    got, ctype, body = _raw(gunicorn_port, request_bytes)
    assert (got, ctype) == (status, "application/problem+json"), body
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"] == "about:blank" and problem["detail"]
    assert "\x1b" not in body and "<" not in body


def test_a_failed_precondition_on_a_static_file_is_a_problem(client: FlaskClient) -> None:
    r = client.get("/static/hostwatch.css", headers={"If-Match": '"nope"'})
    problem = assert_problem(r, 412)
    assert "hostwatch page" not in r.get_data(as_text=True)  # not the file itself
    assert problem["title"] == "Precondition Failed"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
