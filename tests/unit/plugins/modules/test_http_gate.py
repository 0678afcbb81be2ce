"""hostwatch.stack.http_gate against a real HTTP server on loopback: passes, failures, fail fast."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from ansible_collections.hostwatch.stack.plugins.modules.http_gate import gate

FAILING = {"status": "fail", "checks": {"memory:utilization": [{"status": "fail"}]}}


class Health(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []  # the statuses to give, in order; the last one repeats

    def do_GET(self) -> None:
        status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        body = json.dumps(FAILING if status == 503 else {"status": "pass"}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def params(httpd: ThreadingHTTPServer, **given: Any) -> dict[str, Any]:
    base = {
        "url": f"http://127.0.0.1:{httpd.server_address[1]}/health",
        "unix_socket": None,
        "host_header": "localhost",
        "passes": 3,
        "failures": 0,
        "timeout": 5.0,
        "interval": 0.05,
        "request_timeout": 2.0,
        "status_code": [200],
        "validate_certs": True,
    }
    return base | given


def test_passes_in_a_row_after_a_failure(server: ThreadingHTTPServer) -> None:
    Health.answers = [503, 200]
    result, failed = gate(params(server))
    assert (result["passed"], failed, result["attempts"]) == (True, "", 4)


def test_failures_in_a_row_end_the_gate_at_once(server: ThreadingHTTPServer) -> None:
    Health.answers = [503]
    result, failed = gate(params(server, failures=3, timeout=30.0))
    assert not result["passed"] and result["attempts"] == 3
    assert result["elapsed"] < 5.0  # not the 30 s time limit
    assert "(3 failures in a row)" in failed
    assert "HTTP 503, checks not passing: memory:utilization=fail" in failed


def test_a_pass_between_failures_starts_the_count_again(server: ThreadingHTTPServer) -> None:
    Health.answers = [503, 503, 200, 503, 503, 503]
    result, failed = gate(params(server, failures=3, passes=5))
    assert result["attempts"] == 6 and "(3 failures in a row)" in failed


def test_without_failures_it_waits_for_the_time_limit(server: ThreadingHTTPServer) -> None:
    Health.answers = [503]
    result, failed = gate(params(server, timeout=0.5))
    assert not result["passed"] and result["attempts"] > 3
    assert "(time up)" in failed


def test_no_answer_counts_as_a_failure() -> None:
    closed = {"url": "http://127.0.0.1:9/health", "unix_socket": None, "host_header": None}
    result, failed = gate(
        closed
        | {
            "passes": 1,
            "failures": 2,
            "timeout": 5.0,
            "interval": 0.01,
            "request_timeout": 1.0,
            "status_code": [200],
            "validate_certs": True,
        }
    )
    assert result["attempts"] == 2 and result["status"] is None
    assert "ConnectionRefusedError" in failed
