"""Every endpoint and its error paths through Flask's test client."""

from __future__ import annotations

import json
import os
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask, request, url_for
from flask.testing import FlaskClient

from hostwatch import create_app, slots
from hostwatch.hostmetrics import HostFigures

from .conftest import TOKEN, TOKEN_SHA256, write_lines

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, detail_has: str = "") -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert detail_has in body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


# -- /health ---------------------------------------------------------------------------------


def fake_figures(**overrides: Any) -> HostFigures:
    values: dict[str, Any] = {
        "taken_at": "2025-01-01T00:00:00+00:00",
        "hostname": "testhost",
        "load_per_core": 0.2,
        "memory_percent": 40.0,
        "swap_percent": 0.0,
        "disk_percent": {"/": 50.0},
        "uptime_seconds": 1000.0,
    }
    return HostFigures(**(values | overrides))


def test_health_shape(client: FlaskClient) -> None:
    r = client.get("/health")
    assert r.status_code in (200, 503)
    assert r.mimetype == "application/health+json"
    assert r.headers["Cache-Control"] == "max-age=1"
    body = r.get_json(force=True)
    assert body["version"] == "0.1.0" and body["hostname"]
    assert set(body["checks"]) == {
        "cpu:loadPerCore",
        "memory:utilization",
        "swap:utilization",
        "disk:utilization",
        "uptime",
    }
    for entries in body["checks"].values():
        for e in entries:
            assert {"observedValue", "observedUnit", "status", "time"} <= set(e)
    assert body["checks"]["disk:utilization"][0]["componentId"] == "/"


@pytest.mark.parametrize(
    ("overrides", "status", "http"),
    [
        ({}, "pass", 200),
        ({"memory_percent": 95.0}, "warn", 200),
        ({"load_per_core": 3.5}, "fail", 503),
        ({"disk_percent": {"/": None}}, "fail", 503),  # an unreadable mount is a failure
    ],
)
def test_health_status(
    app: Flask, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any], status: str, http: int
) -> None:
    host = app.extensions["hostwatch"].host
    monkeypatch.setattr(host, "get", lambda: fake_figures(**overrides))
    r = app.test_client().get("/health")
    assert r.status_code == http
    assert r.get_json(force=True)["status"] == status


def test_host_figures_cached_per_ttl(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    host = app.extensions["hostwatch"].host
    now = [100.0]
    monkeypatch.setattr(host, "clock", lambda: now[0])
    first = host.get()
    assert host.get() is first  # within the 1 s TTL: no new psutil calls
    now[0] += 1.5
    assert host.get() is not first


def test_health_body_built_once_per_figures(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from hostwatch import health

    host = app.extensions["hostwatch"].host
    now = [100.0]
    monkeypatch.setattr(host, "clock", lambda: now[0])
    built: list[HostFigures | None] = []
    real = health.document

    def counted(fig: HostFigures | None = None) -> dict[str, Any]:
        built.append(fig)
        return real(fig)

    monkeypatch.setattr(health, "document", counted)
    c = app.test_client()
    first, second = c.get("/health"), c.get("/health")
    assert len(built) == 1 and first.data == second.data  # one set of figures: one document
    assert (first.status_code, first.headers["Cache-Control"]) == (second.status_code, "max-age=1")
    now[0] += 1.5  # the figures' TTL (health.cache_seconds) is over: new figures, a new body
    c.get("/health")
    assert len(built) == 2 and built[1] is not built[0]


def test_live(client: FlaskClient) -> None:
    r = client.get("/health/live")
    assert r.status_code == 200
    assert r.get_json(force=True) == {"status": "pass"}


# -- /metrics --------------------------------------------------------------------------------


def test_metrics_counts_requests_and_host(client: FlaskClient) -> None:
    client.get("/health/live")
    client.get("/health/live")
    client.get("/no/such/route")
    text = client.get("/metrics").get_data(as_text=True)
    live = [
        ln
        for ln in text.splitlines()
        if ln.startswith(
            'hostwatch_http_requests_total{method="GET",route="/health/live",status="200"}'
        )
    ]
    # the counters are module globals, shared by every app in this process: at least our two
    assert live and float(live[0].split()[-1]) >= 2
    assert 'route="<unmatched>",status="404"' in text
    assert "hostwatch_http_request_duration_seconds_bucket" in text
    assert 'hostwatch_disk_used_percent{mount="/"}' in text
    assert "hostwatch_load_per_core " in text


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of one metric in an exposition, by their label set."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        frozenset(s.labels.items()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


@pytest.mark.parametrize(
    ("memory", "disk"), [(40.0, 50.0), (95.0, 50.0), (40.0, 99.0), (40.0, None)]
)
def test_metrics_health_statuses_are_healths(
    config: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    memory: float,
    disk: float | None,
) -> None:
    config["health"] = {
        "mounts": {"/": {"warn": 85, "fail": 95}, str(tmp_path): {"warn": 80, "fail": 90}}
    }
    app = create_app(config)
    figures = fake_figures(memory_percent=memory, disk_percent={"/": 50.0, str(tmp_path): disk})
    monkeypatch.setattr(app.extensions["hostwatch"].host, "get", lambda: figures)
    client = app.test_client()
    body = client.get("/health").get_json(force=True)
    text = client.get("/metrics").get_data(as_text=True)

    overall = samples(text, "hostwatch_health_status")
    assert overall == {
        frozenset({("status", s)}): float(s == body["status"]) for s in ("pass", "warn", "fail")
    }
    expected = {
        frozenset({("check", name), ("component", e.get("componentId", "")), ("status", s)}): float(
            e["status"] == s
        )
        for name, entries in body["checks"].items()
        for e in entries
        for s in ("pass", "warn", "fail")
    }
    assert samples(text, "hostwatch_health_check_status") == expected
    # one series per check, component and status, and exactly one status of each is current
    assert len(expected) == 3 * 6 and sum(expected.values()) == 6


def test_metrics_and_health_name_the_release(config: dict[str, Any]) -> None:
    from hostwatch.release import Release

    app = create_app(config)
    hw = app.extensions["hostwatch"]
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert samples(text, "hostwatch_release_info") == {
        frozenset({("release", "unknown"), ("version", "0.1.0")}): 1.0
    }
    assert samples(text, "hostwatch_release_start_time_seconds") == {
        frozenset(): hw.release.started_at
    }
    assert "releaseId" not in app.test_client().get("/health").get_json(force=True)

    release = Release("20261207T110000Z-0123456789ab", "0.1.0", 1.0e9)
    app = create_app(config)  # a new app: /health's bytes are kept per figures taken
    hw = app.extensions["hostwatch"]
    app.extensions["hostwatch"] = type(hw)(hw.config, hw.host, release)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert samples(text, "hostwatch_release_info") == {
        frozenset({("release", release.id), ("version", "0.1.0")}): 1.0
    }
    assert samples(text, "hostwatch_release_start_time_seconds") == {frozenset(): 1.0e9}
    health_doc = app.test_client().get("/health").get_json(force=True)
    assert health_doc["releaseId"] == release.id


def test_release_id_is_the_real_release_directory(tmp_path: Path) -> None:
    from hostwatch.release import release_id

    venv = tmp_path / "releases" / "20261207T110000Z-0123456789ab" / "venv"
    venv.mkdir(parents=True)
    (tmp_path / "current").symlink_to("releases/20261207T110000Z-0123456789ab")
    assert release_id(str(tmp_path / "current" / "venv")) == "20261207T110000Z-0123456789ab"
    assert release_id(str(venv)) == "20261207T110000Z-0123456789ab"
    assert release_id(str(tmp_path)) == ""  # a venv elsewhere (tests, flask run)
    assert release_id(str(tmp_path / "releases" / "x")) == ""


# -- auth ------------------------------------------------------------------------------------


@pytest.fixture
def protected(config: dict[str, Any]) -> FlaskClient:
    config["auth"] = {
        "token_sha256": [TOKEN_SHA256],
        "protect_health": True,
        "protect_metrics": True,
    }
    return create_app(config).test_client()


@pytest.mark.parametrize("url", ["/logs", "/logs/app", "/logs/app/follow", "/health", "/metrics"])
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_auth_rejects(protected: FlaskClient, url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = protected.get(url, headers=headers)
    assert_problem(r, 401, "Bearer")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("url", ["/logs", "/logs/app", "/health", "/metrics"])
def test_auth_accepts(protected: FlaskClient, url: str) -> None:
    r = protected.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code in (200, 503) and r.mimetype != PROBLEM


def test_live_never_needs_a_token(protected: FlaskClient) -> None:
    assert protected.get("/health/live").status_code == 200


def test_health_and_metrics_open_by_default(config: dict[str, Any]) -> None:
    config["auth"] = {"token_sha256": [TOKEN_SHA256]}
    c = create_app(config).test_client()
    assert c.get("/metrics").status_code == 200
    assert c.get("/health").status_code in (200, 503)
    assert_problem(c.get("/logs"), 401)


# -- /logs -----------------------------------------------------------------------------------


def test_logs_index(client: FlaskClient) -> None:
    r = client.get("/logs")
    assert r.mimetype == "application/json"
    entries = {e["name"]: e for e in r.get_json()}
    assert set(entries) == {"app", "gone", "secret", "dir"}
    assert entries["app"]["readable"] is True and entries["app"]["size"] > 0
    assert entries["gone"] == {"name": "gone", "size": None, "mtime": None, "readable": False}


def test_tail_default_and_n(client: FlaskClient) -> None:
    r = client.get("/logs/app")
    assert r.mimetype == "text/plain"
    assert r.get_data(as_text=True).splitlines() == [f"line {i}" for i in range(291, 301)]
    r = client.get("/logs/app?lines=3&format=json")
    assert r.mimetype == "application/json"
    assert r.get_json() == ["line 298", "line 299", "line 300"]
    assert "X-Hostwatch-Truncated" not in r.headers


def test_tail_response_cap_drops_oldest(client: FlaskClient) -> None:
    # 200 lines of ~9 bytes exceed the 1024-byte cap of the test config
    for fmt in ("text", "json"):
        r = client.get(f"/logs/app?lines=200&format={fmt}")
        assert len(r.get_data()) <= 1024
        assert "oldest lines dropped" in r.headers["X-Hostwatch-Truncated"]
        lines = r.get_json() if fmt == "json" else r.get_data(as_text=True).splitlines()
        assert lines[-1] == "line 300" and len(lines) < 200


def test_tail_memory_bounded_by_response_cap(config: dict[str, Any], log_path: Path) -> None:
    """max_lines of max_line_bytes lines hold about max_response_bytes, not n x max_line_bytes."""
    cap = 64 * 1024
    config["limits"] |= {
        "max_lines": 1000,
        "max_line_bytes": 8192,
        "max_response_bytes": cap,
        "scan_bytes": 16 << 20,
    }
    log_path.write_bytes(b"".join(b"%04d %s\n" % (i, b"x" * 8000) for i in range(1000)))
    client = create_app(config).test_client()
    for query in ("lines=1000", "lines=1000&format=json", "lines=1000&contains=x"):
        client.get(f"/logs/app?{query}")  # warm up: first-call imports and caches are not ours
        tracemalloc.start()
        try:
            r = client.get(f"/logs/app?{query}")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert r.status_code == 200 and 0 < len(r.get_data()) <= cap
        assert (
            r.headers["X-Hostwatch-Truncated"] == "oldest lines dropped to fit max_response_bytes"
        )
        assert peak < 6 * cap, (query, peak)  # 8 MB of lines were wanted


def test_filters(client: FlaskClient, log_path: Path) -> None:
    r = client.get("/logs/app?contains=line 29&lines=3")
    assert r.get_data(as_text=True).splitlines() == ["line 297", "line 298", "line 299"]
    assert int(r.headers["X-Hostwatch-Scanned-Bytes"]) > 0
    assert r.headers["X-Hostwatch-Scan-Budget-Exhausted"] == "false"
    r = client.get("/logs/app", query_string={"regex": r"^line 1\d$", "format": "json"})
    assert r.get_json() == [f"line {i}" for i in range(10, 20)]
    r = client.get("/logs/app", query_string={"regex": "7$", "contains": "line 2"})
    assert r.get_data(as_text=True).splitlines()[-1] == "line 297"


def test_filter_budget_runs_out(config: dict[str, Any], log_path: Path) -> None:
    config["limits"]["scan_bytes"] = 50
    r = create_app(config).test_client().get("/logs/app?contains=line 1&lines=5")
    assert r.headers["X-Hostwatch-Scanned-Bytes"] == "50"
    assert r.headers["X-Hostwatch-Scan-Budget-Exhausted"] == "true"
    assert r.get_data(as_text=True) == ""


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("lines=abc", "lines must be"),
        ("lines=0", "lines must be"),
        ("lines=-3", "lines must be"),
        ("lines=201", "lines must be"),
        ("lines=%C2%B2", "lines must be"),  # a unicode digit is not a count
        ("lines=" + "9" * 5000, "lines must be"),  # past int()'s 4300-digit limit
        ("format=xml", "format must be"),
        ("regex=(", "not a valid RE2"),
        ("regex=" + "a" * 33, "regex must be 1 to 32"),
        ("regex=", "regex must be"),
        ("contains=", "contains must be"),
        ("colour=red", "unknown query parameter 'colour'"),
    ],
)
def test_bad_queries(client: FlaskClient, query: str, detail: str) -> None:
    assert_problem(client.get(f"/logs/app?{query}"), 400, detail)


@pytest.mark.parametrize(
    "url",
    [
        "/logs/nope",
        "/logs/..",
        "/logs/%2e%2e",
        "/logs/..%2Fetc%2Fpasswd",
        "/logs/app/../../etc",
        "/logs/etc/passwd",
        "/logs/nope/follow",
    ],
)
def test_unknown_and_path_like_names(client: FlaskClient, url: str) -> None:
    assert_problem(client.get(url), 404)


def test_missing_configured_log(client: FlaskClient) -> None:
    assert_problem(client.get("/logs/gone"), 404, "configured log 'gone' is missing")
    assert_problem(client.get("/logs/gone/follow"), 404, "is missing")


def test_unreadable_configured_log(
    client: FlaskClient, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() == 0:  # root reads mode-0 files: make the kernel's answer explicit
        real_open = os.open
        secret = config["logs"]["secret"]

        def deny(path: str, *args: Any, **kwargs: Any) -> int:
            if path == secret:
                raise PermissionError(13, "Permission denied", path)
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", deny)
    assert_problem(client.get("/logs/secret"), 403, "not readable")
    assert_problem(client.get("/logs/secret/follow"), 403, "not readable")


def test_not_a_regular_file(client: FlaskClient) -> None:
    assert_problem(client.get("/logs/dir"), 403, "not a regular file")


def test_long_lines_and_bad_utf8(config: dict[str, Any], log_path: Path) -> None:
    log_path.write_bytes(b"ok\n" + b"x" * 500 + b"\n" + b"caf\xc3\xa9 \xff\xfe\n")
    r = create_app(config).test_client().get("/logs/app?format=json")
    assert r.get_json() == ["ok", "x" * 100 + "… [line cut at 100 bytes]", "café \ufffd\ufffd"]


# -- errors ----------------------------------------------------------------------------------


def test_unknown_route_and_wrong_method(client: FlaskClient) -> None:
    assert_problem(client.get("/nope"), 404)
    r = client.post("/logs/app")
    assert_problem(r, 405)
    assert "GET" in r.headers["Allow"]
    assert_problem(client.delete("/health"), 405)


def test_unexpected_error_is_a_bare_500(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals /etc/shadow")

    monkeypatch.setattr(app.extensions["hostwatch"].host, "get", explode)
    r = app.test_client().get("/health")
    body = assert_problem(r, 500)
    assert "secret" not in json.dumps(body)


# -- proxies ---------------------------------------------------------------------------------


def _echo_app(config: dict[str, Any]) -> FlaskClient:
    app = create_app(config)
    app.add_url_rule("/ip", "ip", lambda: request.remote_addr or "")
    return app.test_client()


def test_proxy_fix_trusts_one_hop(config: dict[str, Any]) -> None:
    c = _echo_app(config)
    r = c.get(
        "/ip",
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert r.get_data(as_text=True) == "203.0.113.9"  # the spoofed first entry is ignored


def _scheme_app(config: dict[str, Any]) -> FlaskClient:
    app = create_app(config)
    app.add_url_rule("/scheme", "scheme", lambda: url_for("scheme", _external=True))
    return app.test_client()


def test_proxy_fix_trusts_forwarded_proto_of_each_hop(config: dict[str, Any]) -> None:
    # behind a TLS-terminating proxy, absolute URLs and redirects must keep the client's https;
    # with two proxies the client's scheme is the second entry from the right
    config["trusted_proxies"] = 2
    proto = {"X-Forwarded-Proto": "http, https, http"}  # the first entry is the client's spoof
    r = _scheme_app(config).get("/scheme", headers=proto)
    assert r.get_data(as_text=True) == "https://localhost/scheme"
    config["trusted_proxies"] = 0
    r = _scheme_app(config).get("/scheme", headers={"X-Forwarded-Proto": "https"})
    assert r.get_data(as_text=True) == "http://localhost/scheme"


def test_no_proxy_means_peer_address(config: dict[str, Any]) -> None:
    config["trusted_proxies"] = 0
    r = _echo_app(config).get(
        "/ip", headers={"X-Forwarded-For": "6.6.6.6"}, environ_base={"REMOTE_ADDR": "198.51.100.4"}
    )
    assert r.get_data(as_text=True) == "198.51.100.4"


# -- follow ----------------------------------------------------------------------------------


def test_follow_streams_sse(client: FlaskClient, log_path: Path) -> None:
    r = client.get("/logs/app/follow", buffered=False)
    assert r.status_code == 200
    assert r.mimetype == "text/event-stream"
    assert r.headers["X-Accel-Buffering"] == "no"
    chunks = iter(cast(Iterable[bytes], r.response))
    assert next(chunks) == b": following\n\n"
    with log_path.open("a") as f:
        f.write("fresh one\r\n")
    seen = b"".join(chunks)  # ends by itself after follow.max_seconds (0.5 s)
    r.close()
    assert b"data: fresh one\n\n" in seen
    assert b": heartbeat\n\n" in seen
    assert seen.endswith(b"event: end\ndata: follow.max_seconds reached\n\n")


def test_follow_cap_is_429_and_slots_come_back(client: FlaskClient, config: dict[str, Any]) -> None:
    streams = [client.get("/logs/app/follow", buffered=False) for _ in range(2)]
    assert all(s.status_code == 200 for s in streams)
    assert_problem(client.get("/logs/app/follow"), 429, "follower slots")
    for s in streams:
        s.close()  # what the WSGI server does when a client goes away
    # a slot freed even though the stream was never read
    again = client.get("/logs/app/follow", buffered=False)
    assert again.status_code == 200
    again.close()


def test_follow_slots_are_shared_across_processes(config: dict[str, Any]) -> None:
    slots.ensure_dir(config["follow"]["slots_dir"])
    held = [slots.acquire(config["follow"]["slots_dir"], 2) for _ in range(2)]
    assert all(held)
    pid = os.fork()
    if pid == 0:  # another worker process sees every slot taken
        os._exit(0 if slots.acquire(config["follow"]["slots_dir"], 2) is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for f in held:
        assert f is not None
        f.close()


def test_slots_dir_is_created(tmp_path: Path) -> None:
    config: dict[str, Any] = {"logs": {}, "follow": {"slots_dir": str(tmp_path / "a" / "b")}}
    create_app(config)
    assert (tmp_path / "a" / "b").is_dir()


def test_follow_takes_no_query(client: FlaskClient) -> None:
    assert_problem(client.get("/logs/app/follow?lines=5"), 400, "unknown query parameter")


def test_follow_after_rotation_through_http(client: FlaskClient, log_path: Path) -> None:
    r = client.get("/logs/app/follow", buffered=False)
    chunks = iter(cast(Iterable[bytes], r.response))
    next(chunks)
    log_path.rename(log_path.with_suffix(".1"))
    write_lines(log_path, 1, prefix="after rotation")
    seen = b"".join(chunks)
    r.close()
    assert b"data: after rotation 1\n\n" in seen
