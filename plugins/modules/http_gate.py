#!/usr/bin/python
"""hostwatch.stack.http_gate: poll a health URL until it passes N times in a row, or time is up."""

from __future__ import annotations

DOCUMENTATION = r"""
module: http_gate
short_description: Wait until a health endpoint passes a number of times in a row
description:
  - Sends C(GET) to O(url) every O(interval) seconds, over TCP or a unix socket, until it has
    passed O(passes) times in a row (any failure starts the count again), has failed O(failures)
    times in a row, or O(timeout) seconds have gone by.
  - A pass is an answer with a status in O(status_code). For an C(application/health+json) body, the
    checks whose status is not C(pass) are returned, so a failure can name them.
  - Read-only, so it runs in check mode too and never reports a change.
options:
  url:
    description: The URL to ask; with O(unix_socket) only its path and Host are used.
    type: str
    required: true
  unix_socket:
    description: Connect to this unix socket instead of the URL's host and port.
    type: path
  host_header:
    description: Host header to send instead of the URL's host (for name-based virtual hosts).
    type: str
  passes:
    description: Passes in a row needed.
    type: int
    default: 1
  failures:
    description:
      - Failures in a row that end the gate at once, failed (fail fast); 0 waits for O(timeout).
      - A request that gets no answer at all counts too.
    type: int
    default: 0
  timeout:
    description: Seconds allowed to collect O(passes) passes.
    type: float
    default: 30
  interval:
    description: Seconds between two requests.
    type: float
    default: 1
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 5
  status_code:
    description: HTTP statuses that count as a pass.
    type: list
    elements: int
    default: [200]
  validate_certs:
    description: Verify the server's TLS certificate (https URLs).
    type: bool
    default: true
  strict:
    description: Fail the task when the gate is not passed; false just reports (a probe).
    type: bool
    default: true
author: hostwatch developers (@hostwatch)
"""

EXAMPLES = r"""
- name: Gate /health through nginx (5 passes in a row within 30 s)
  hostwatch.stack.http_gate:
    url: http://127.0.0.1/health
    host_header: localhost
    passes: 5
    failures: 3
    timeout: 30
"""

RETURN = r"""
passed:
  description: Whether O(passes) passes in a row were seen in time.
  type: bool
  returned: always
status:
  description: HTTP status of the last answer, or null when the last request got none.
  type: int
  returned: always
failure:
  description:
    - What the last failing request got (status and checks, or the connection error).
    - Empty if none failed.
  type: str
  returned: always
not_passing:
  description: Checks of the last answer whose status is not pass, as C(name=status) strings.
  type: list
  elements: str
  returned: always
body:
  description: Last answer's JSON body (null when not JSON).
  type: raw
  returned: always
attempts:
  description: Requests sent.
  type: int
  returned: always
elapsed:
  description: Seconds the gate took.
  type: float
  returned: always
"""

import http.client
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def not_passing(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("checks"), dict):
        return []
    found = []
    for name, entries in sorted(body["checks"].items()):
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("status") not in (None, "pass"):
                component = entry.get("componentId")
                label = f"{name}[{component}]" if component else name
                found.append(f"{label}={entry['status']}")
    return found


def ask(params: dict[str, Any]) -> tuple[int | None, Any, str]:
    """One GET: (status, parsed JSON body or None, error text when no answer came)."""
    parts = urlsplit(params["url"])
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if params["unix_socket"]:
        conn = UnixHTTPConnection(params["unix_socket"], params["request_timeout"])
    elif parts.scheme == "https":
        context = ssl.create_default_context()
        if not params["validate_certs"]:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(
            parts.hostname or "localhost",
            parts.port,
            timeout=params["request_timeout"],
            context=context,
        )
    else:
        conn = http.client.HTTPConnection(
            parts.hostname or "localhost", parts.port, timeout=params["request_timeout"]
        )
    headers = {"Host": params["host_header"] or parts.netloc or "localhost"}
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as err:
        return None, None, f"{type(err).__name__}: {err}"
    finally:
        conn.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return response.status, body, ""


def gate(params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Ask until passed, failed `failures` times in a row or out of time: (result, failure)."""
    start = time.monotonic()
    deadline = start + params["timeout"]
    streak = failed = attempts = 0
    failure = ""
    status: int | None = None
    body: Any = None
    while True:
        attempts += 1
        status, body, error = ask(params)
        if status in params["status_code"]:
            streak, failed = streak + 1, 0
        else:
            streak, failed = 0, failed + 1
            checks = not_passing(body)
            failure = error or f"HTTP {status}" + (
                f", checks not passing: {', '.join(checks)}" if checks else ""
            )
        decided = streak >= params["passes"] or 0 < params["failures"] <= failed
        if decided or time.monotonic() + params["interval"] > deadline:
            break
        time.sleep(params["interval"])
    result = {
        "changed": False,
        "passed": streak >= params["passes"],
        "status": status,
        "failure": failure,
        "not_passing": not_passing(body),
        "body": body,
        "attempts": attempts,
        "elapsed": round(time.monotonic() - start, 3),
    }
    if result["passed"]:
        return result, ""
    ended = f"{failed} failures in a row" if failed >= params["failures"] > 0 else "time up"
    return result, (
        f"{params['url']}: {streak} of {params['passes']} passes in a row after "
        f"{result['elapsed']} s ({ended}); last failure: "
        f"{failure or 'none (too few answers in time)'}"
    )


ARGUMENT_SPEC: dict[str, Any] = {
    "url": {"type": "str", "required": True},
    "unix_socket": {"type": "path"},
    "host_header": {"type": "str"},
    # a count of successes, not a password
    "passes": {"type": "int", "default": 1, "no_log": False},
    "failures": {"type": "int", "default": 0},
    "timeout": {"type": "float", "default": 30},
    "interval": {"type": "float", "default": 1},
    "request_timeout": {"type": "float", "default": 5},
    "status_code": {"type": "list", "elements": "int", "default": [200]},
    "validate_certs": {"type": "bool", "default": True},
    "strict": {"type": "bool", "default": True},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["passes"] < 1:
        module.fail_json(msg=f"passes must be 1 or more, not {params['passes']}")
    result, failed = gate(params)
    if failed and params["strict"]:
        module.fail_json(msg=failed, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
