"""The attacker's traffic, run inside the scenario's containers (stdlib only, python3 of Debian).

    attack.py corpus  HOST TOKEN PHASE CANARIES   bad-input cases through nginx -> JSON outcomes
                                            (CANARIES: comma-separated strings no answer may hold)
    attack.py flood   HOST N SECONDS        N requests spread over SECONDS from the limited address,
                                            with an exempt client alongside -> JSON counts
    attack.py starve  HOST TOKEN SECONDS    16 heavy log requests + the follows, /health/live timed
    attack.py methods SOCKET N              N random methods straight to the app's unix socket
    attack.py gunicorn SOCKET CANARIES      requests gunicorn refuses itself, straight to its socket
    attack.py plant   HOST MARK             a Referer full of terminal controls, from the denied
                                            address, lands in nginx's error.log
    attack.py slow    HOST N SECONDS        N idle and slowloris connections, timed until nginx
                                            closes them, while /health/live is timed
    attack.py slots   HOST TOKEN ROUNDS     all follow slots held, one client leaves: time until
                                            its address is served a stream again

Requests are written by hand on raw sockets, so malformed ones go out exactly as written, and each
goes out from a chosen source address: .21 allowed and rate limited, .22 on no allowlist, .23
allowed and exempt from the rate limit. Traffic goes only to the scenario's host.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import socket
import string
import sys
import threading
import time
from typing import Any

LIMITED, DENIED, EXEMPT = "172.30.3.21", "172.30.3.22", "172.30.3.23"
CLOSE = b"Connection: close\r\n\r\n"


def request(
    host: str,
    raw: bytes,
    src: str = EXEMPT,
    timeout: float = 5.0,
    family: int = socket.AF_INET,
) -> dict[str, Any]:
    """Send raw bytes, read the answer until close (an event stream: until its headers)."""
    started = time.monotonic()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    data = b""
    try:
        if family == socket.AF_INET:
            sock.bind((src, 0))
            sock.connect((host, 80))
        else:
            sock.connect(host)
        sock.sendall(raw)
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
            if b"text/event-stream" in data.split(b"\r\n\r\n")[0] and b"\r\n\r\n" in data:
                break
    except OSError as err:
        return {"status": None, "error": str(err), "ms": 0.0, "body": ""}
    finally:
        sock.close()
    head = data.partition(b"\r\n\r\n")[0]
    lines = head.decode("latin-1").split("\r\n")
    status = None
    if lines[0].startswith("HTTP/"):
        status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return {
        "status": status,
        "ctype": headers.get("content-type", ""),
        "ms": (time.monotonic() - started) * 1000,
        "body": data.decode("latin-1"),
    }


def get(
    path: str | bytes,
    *headers: str,
    method: str = "GET",
    host: str = "HOST",
    body: bytes = b"",
) -> bytes:
    """A request as bytes; the Host placeholder is filled in later."""
    p = path if isinstance(path, bytes) else path.encode()
    lines = [method.encode() + b" " + p + b" HTTP/1.1", f"Host: {host}".encode()]
    lines += [h.encode() for h in headers]
    lines.append(b"Connection: close")
    if body:
        lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# -- the corpus --------------------------------------------------------------------------------

TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "%e0%80%ae%e0%80%ae/etc/passwd",
    "..%c0%af..%c0%afetc/passwd",
    "%uff0e%uff0e%u2215etc%u2215passwd",
    "\uff0e\uff0e\u2215etc\u2215passwd",
    "..\\..\\..\\etc\\passwd",
    "..%5c..%5c..%5cetc%5cpasswd",
    "app%00.log",
    "app%00",
    "%00",
    "app.log%00../../canary.log",
    "..",
    ".",
    "%2e%2e",
    "%2e",
    "....//....//etc/passwd",
    "..;/..;/etc/passwd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//var/log/canary.log",
    "..%2fcanary.log",
    "..%2f..%2fcanary.log",
    "../canary.log",
    "app/../../canary.log",
    "app%2f..%2f..%2fcanary.log",
    "app/../app",
    "canary",
    "canary.log",
    "nginx_access/../../canary.log",
    "a" * 5000,
    "." * 300,
    "%2e" * 200,
    "app" + "/." * 500,
    "hostwatch.toml",
    "..%2f..%2f..%2fetc%2fhostwatch%2fhostwatch.toml",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fhostwatch%2fhostwatch.toml",
    "~root",
    "$HOME",
    "app%0d%0aX-Injected:%201",
    "app%0aSet-Cookie:x",
]

BAD_QUERIES = [
    "lines=-1",
    "lines=0",
    "lines=abc",
    "lines=1e3",
    "lines=99999999999999999999999999",
    "lines=5001",
    "lines=%201",
    "lines=1&lines=2",
    "lines=" + "9" * 5000,
    "lines=%EF%BC%91",
    "lines=",
    "lines",
    "format=xml",
    "format=json&format=text",
    "format=JSON",
    "format=",
    "contains=",
    "contains=" + "x" * 300,
    "contains=%00",
    "contains=%ff%fe",
    "contains=a&contains=b",
    "regex=(",
    "regex=[",
    "regex=a%7B100000%7D",
    "regex=(a%2B)%2B%24",
    "regex=(.*)*x",
    "regex=(a|a)*b",
    "regex=%5Cp%7BL%7D%2B",
    "regex=(%3F%3D)",
    "regex=(%3F%3C%3Dx)y",
    "regex=%5C1",
    "regex=" + "(" * 200,
    "regex=x&regex=y",
    "regex=.%7B0%2C1000%7D%7B0%2C1000%7D",
    "regex=%00",
    "foo=bar",
    "lines=5&debug=1",
    "%00=1",
    "a" * 3000 + "=1",
    "lines=5&format=json&contains=GET&regex=200",
    "lines=5%00",
    "format=json%0d%0aX-Injected:1",
]


def corpus(host: str, token: str, phase: str) -> list[dict[str, Any]]:
    auth = f"Authorization: Bearer {token}"
    cases: list[tuple[str, str, bytes, str]] = []  # (category, name, raw, source)

    def add(category: str, name: str, raw: bytes, src: str = EXEMPT) -> None:
        cases.append((category, name, raw.replace(b"Host: HOST", f"Host: {host}".encode()), src))

    if phase == "symlink":
        for path in ("/logs/app", "/logs/app?lines=5", "/logs/app?contains=CANARY", "/logs"):
            add("symlink swap", path, get(path, auth))
        add("symlink swap", "follow", get("/logs/app/follow", auth))
        return run_cases(host, cases)

    baseline = ("/health", "/health/live", "/metrics", "/logs", "/logs/app", "/logs/lines?lines=3")
    for path in baseline:
        add("baseline", path, get(path, auth))
    for t in TRAVERSALS:
        add("traversal", t[:40], get("/logs/" + t, auth))
        add("traversal", "follow " + t[:33], get(f"/logs/{t}/follow", auth))
    for t in TRAVERSALS[:12]:
        add("traversal", "root " + t[:35], get("/" + t, auth))
    for q in BAD_QUERIES:
        add("parameters", q[:40], get("/logs/app?" + q, auth))
        add("parameters", "lines " + q[:34], get("/logs/lines?" + q, auth))
    for q in BAD_QUERIES[:12]:
        add("parameters", "follow " + q[:33], get("/logs/app/follow?" + q, auth))
        add("parameters", "health " + q[:33], get("/health?" + q, auth))
    for n in (2000, 6000, 9000, 20000, 70000):
        add("long url", f"path {n}", get("/logs/" + "a" * n, auth))
        add("long url", f"query {n}", get("/logs/app?contains=" + "a" * n, auth))
    for n in (1000, 5000, 9000, 20000):
        add("long header", f"X-Long {n}", get("/health", auth, "X-Long: " + "b" * n))
        add("long header", f"cookie {n}", get("/logs/app", auth, "Cookie: c=" + "b" * n))
    add("long header", "200 headers", get("/health", auth, *[f"X-H{i}: v" for i in range(200)]))
    add("long header", "token 10k", get("/logs", "Authorization: Bearer " + "t" * 10000))
    for method in (
        "POST",
        "PUT",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "TRACE",
        "CONNECT",
        "PROPFIND",
        "FOO",
        "get",
        "G%T",
        "X" * 100,
    ):
        for path in ("/logs/app", "/health"):
            add("methods", f"{method[:10]} {path}", get(path, auth, method=method))
    for ctype in (
        "application/json",
        "text/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "../../etc/passwd",
        "\u00ff" * 20,
    ):
        typed = f"Content-Type: {ctype}"
        add("content types", ctype[:30], get("/logs/app", auth, typed, body=b"{}"))
        add(
            "content types",
            "POST " + ctype[:25],
            get("/logs/app", auth, typed, method="POST", body=b"a=1"),
        )
    add("content types", "GET body 100k", get("/logs/app", auth, body=b"x" * 100_000))
    add(
        "content types",
        "chunked body",
        get("/logs/app", auth, "Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\n\r\n",
    )
    for name, headers in [
        ("none", ()),
        ("wrong", ("Authorization: Bearer wrong",)),
        ("empty bearer", ("Authorization: Bearer ",)),
        ("basic", ("Authorization: Basic YWRtaW46YWRtaW4=",)),
        ("lowercase scheme", (f"Authorization: bearer {token}x",)),
        ("token with spaces", (f"Authorization: Bearer  {token} x",)),
        ("duplicate right+wrong", (auth, "Authorization: Bearer wrong")),
        ("duplicate wrong+right", ("Authorization: Bearer wrong", auth)),
        ("digest as token", ("Authorization: Bearer " + "0" * 64,)),
        ("nul in token", ("Authorization: Bearer a\x00b",)),
        ("utf8 token", ("Authorization: Bearer \u00e9\u00e9",)),
        ("no scheme", (f"Authorization: {token}",)),
    ]:
        for path in ("/logs", "/logs/app", "/logs/app/follow"):
            add("tokens", f"{name} {path}", get(path, *headers))
    for name, header in [
        ("xff loopback", "X-Forwarded-For: 127.0.0.1"),
        ("xff allowed", f"X-Forwarded-For: {EXEMPT}"),
        ("xff list", f"X-Forwarded-For: 127.0.0.1, {EXEMPT}"),
        ("x-real-ip", "X-Real-IP: 127.0.0.1"),
        ("forwarded", "Forwarded: for=127.0.0.1"),
        ("x-forwarded-host", "X-Forwarded-Host: localhost"),
        ("x-original-url", "X-Original-URL: /health"),
        ("x-rewrite-url", "X-Rewrite-URL: /logs"),
    ]:
        for path in ("/logs", "/health"):
            add(
                "forged forwarding (denied address)",
                f"{name} {path}",
                get(path, auth, header),
                src=DENIED,
            )
        add("forged forwarding (allowed address)", f"{name}", get("/logs/app", auth, header))
    for name, hostname in [
        ("evil", "evil.example"),
        ("empty", ""),
        ("port", "evil.example:80"),
        ("long", "h" * 300),
        ("dotted", "localhost."),
        ("bad chars", "a b"),
    ]:
        add("unknown host", name, get("/health", auth, host=hostname))
    add("unknown host", "absolute uri", get("http://evil.example/health", auth))
    add("unknown host", "http/1.0 no host", b"GET /health HTTP/1.0\r\n\r\n")
    add("unknown host", "http/0.9", b"GET /health\r\n\r\n")
    add(
        "unknown host",
        "two hosts",
        b"GET /health HTTP/1.1\r\nHost: HOST\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    for name, raw in [
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
        ("http/2.0", b"GET /health HTTP/2.0\r\nHost: HOST\r\n\r\n"),
        ("http/9.9", b"GET /health HTTP/9.9\r\nHost: HOST\r\n\r\n"),
        ("lf only", b"GET /health HTTP/1.1\nHost: HOST\nConnection: close\n\n"),
        ("header no colon", b"GET /health HTTP/1.1\r\nHost: HOST\r\nbroken\r\n" + CLOSE),
        ("space in name", b"GET /health HTTP/1.1\r\nHost: HOST\r\nX Y: z\r\n" + CLOSE),
        ("nul in path", b"GET /logs/app\x00x HTTP/1.1\r\nHost: HOST\r\n" + CLOSE),
        ("raw crlf in path", b"GET /logs/app\rX: y HTTP/1.1\r\nHost: HOST\r\n" + CLOSE),
        ("tab in path", b"GET /logs/\tapp HTTP/1.1\r\nHost: HOST\r\n" + CLOSE),
        ("high bytes", b"GET /logs/\xff\xfe HTTP/1.1\r\nHost: HOST\r\n" + CLOSE),
        ("star", b"OPTIONS * HTTP/1.1\r\nHost: HOST\r\n" + CLOSE),
        (
            "te+cl smuggle",
            b"GET /health HTTP/1.1\r\nHost: HOST\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
        ),
        (
            "bad chunked",
            b"GET /health HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\nzz\r\n",
        ),
        (
            "negative length",
            b"GET /health HTTP/1.1\r\nHost: HOST\r\nContent-Length: -1\r\n" + CLOSE,
        ),
        (
            "huge length",
            b"GET /health HTTP/1.1\r\nHost: HOST\r\nContent-Length: 99999999999\r\n" + CLOSE,
        ),
        ("folded header", b"GET /health HTTP/1.1\r\nHost: HOST\r\nX-A: a\r\n b\r\n" + CLOSE),
    ]:
        add("protocol", name, raw.replace(b"Host: HOST", f"Host: {host}".encode()))
    for name, raw in [
        # issue 16: what nginx and gunicorn answer on their own, each as problem+json
        ("control byte in a header", get("/health", auth, "User-Agent: UA\x01")),
        ("esc in referer", get("/health", auth, "Referer: \x1b]0;owned\x07\x1b[2J")),
        ("del in header", get("/logs/app", auth, "X-A: a\x7fb")),
        ("unknown transfer-encoding", get("/health", auth, "Transfer-Encoding: foo")),
        ("gzip transfer-encoding", get("/health", auth, "Transfer-Encoding: gzip")),
        ("expect", get("/health", auth, "Expect: 200-ok")),
        ("if-match on static", get("/static/hostwatch.css", 'If-Match: "nope"')),
        (
            "if-unmodified-since",
            get("/static/hostwatch.css", "If-Unmodified-Since: Sat, 1 Jan 2000 00:00:00 GMT"),
        ),
        ("range past the end", get("/static/hostwatch.css", "Range: bytes=999999-")),
        ("bad range", get("/static/hostwatch.css", "Range: bytes=z-y")),
        ("internal problem page", get("/.hostwatch-problem/400", auth)),
        ("uri 4.2k", get("/logs/app?contains=" + "a" * 4200, auth)),
        ("uri 7.2k", get("/logs/app?contains=" + "a" * 7200, auth)),
        (
            "header line 5k before host",
            b"GET /health HTTP/1.1\r\nX-Big: " + b"b" * 5000 + b"\r\nHost: HOST\r\n" + CLOSE,
        ),
        (
            "http/1.0 post chunked",
            b"POST /tail HTTP/1.0\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        ("follow backtracking regex", get("/logs/app/follow?regex=(a%2B)%2B%24", auth)),
        ("follow bad regex", get("/logs/app/follow?regex=(", auth)),
        ("follow lines", get("/logs/app/follow?lines=5", auth)),
    ]:
        add("round two", name, raw)
    return run_cases(host, cases)


def run_cases(host: str, cases: list[tuple[str, str, bytes, str]]) -> list[dict[str, Any]]:
    results = []
    for category, name, raw, src in cases:
        r = request(host, raw, src=src, timeout=30.0)
        results.append({"category": category, "name": name, "src": src, **r})
    return results


# -- load --------------------------------------------------------------------------------------


def flood(host: str, total: int, seconds: float) -> dict[str, Any]:
    """`total` requests spread evenly over `seconds` from the limited address (keep-alive
    connections, 8 senders), and meanwhile one request every 100 ms from the exempt address."""
    counts: dict[str, int] = {}
    exempt: dict[str, int] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    senders = 8
    times: list[float] = []

    def sender(k: int) -> None:
        conn: socket.socket | None = None
        for i in range(k, total, senders):
            at = start + seconds * i / total
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                if conn is None:
                    conn = socket.create_connection(
                        (host, 80), timeout=5, source_address=(LIMITED, 0)
                    )
                    conn_file = conn.makefile("rb")
                conn.sendall(f"GET /health/live HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                status_line = conn_file.readline()
                length = 0
                keep = True
                while True:
                    line = conn_file.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    if name.lower() == "connection" and "close" in value.lower():
                        keep = False
                conn_file.read(length)
                status = status_line.split()[1].decode() if status_line else "none"
                if not keep:
                    conn.close()
                    conn = None
            except OSError:
                status = "error"
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                counts[status] = counts.get(status, 0) + 1
                times.append(time.monotonic())

    def exempt_client() -> None:
        while time.monotonic() < start + seconds:
            r = request(host, get("/health/live").replace(b"HOST", host.encode()), src=EXEMPT)
            key = str(r["status"])
            with lock:
                exempt[key] = exempt.get(key, 0) + 1
            time.sleep(0.1)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
    threads.append(threading.Thread(target=exempt_client))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"counts": counts, "exempt": exempt, "elapsed": max(times) - start}


def starve(host: str, token: str, seconds: float) -> dict[str, Any]:
    """16 heavy requests at once, over and over, and the most follows the stack allows (2 per
    address in nginx, 4 in the app), while /health/live and /health are timed every 20 ms.

    The load runs in a child process, so the timings are not those of this process's own threads
    waiting for its GIL."""
    results: multiprocessing.Queue[dict[str, Any]] = multiprocessing.Queue()
    load = multiprocessing.Process(target=_load, args=(host, token, seconds, results))
    load.start()
    stop = time.monotonic() + seconds
    time.sleep(1.0)  # let the load build up
    live: list[float] = []
    health: list[float] = []
    failures = 0
    while time.monotonic() < stop - 0.5:
        for path, into in (("/health/live", live), ("/health", health)):
            r = request(host, get(path).replace(b"HOST", host.encode()), src=EXEMPT, timeout=10)
            if r["status"] not in (200, 503):
                failures += 1
            into.append(r["ms"])
        time.sleep(0.02)
    loaded = results.get(timeout=120)
    load.join()

    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else -1.0

    return {
        "live_p50": p(live, 0.5),
        "live_p99": p(live, 0.99),
        "live_max": max(live, default=-1),
        "health_p50": p(health, 0.5),
        "health_p99": p(health, 0.99),
        "samples": len(live),
        "failures": failures,
        **loaded,
    }


def _load(host: str, token: str, seconds: float, results: Any) -> None:
    auth = f"Authorization: Bearer {token}"
    stop = time.monotonic() + seconds
    heavy: dict[str, int] = {}
    follows: list[tuple[int | None, str]] = []
    lock = threading.Lock()
    heavy_paths = [
        "/logs/hole?lines=1",
        "/logs/hole?lines=5000",
        "/logs/lines?regex=(a%2B)%2Bb",
        "/logs/lines?contains=nomatch&lines=5000",
    ]

    def heavy_client(k: int) -> None:
        while time.monotonic() < stop:
            r = request(
                host,
                get(heavy_paths[k % 4], auth).replace(b"HOST", host.encode()),
                src=EXEMPT,
                timeout=60,
            )
            with lock:
                heavy[str(r["status"])] = heavy.get(str(r["status"]), 0) + 1
            if r["status"] == 429:
                time.sleep(1.0)  # as its Retry-After says: 16 clients, not a flood (see flood)

    def follower(src: str) -> None:
        sock = socket.create_connection((host, 80), timeout=5, source_address=(src, 0))
        sock.sendall(get("/logs/nginx_access/follow", auth).replace(b"HOST", host.encode()))
        head = sock.recv(4096)
        status = int(head.split()[1]) if head.startswith(b"HTTP/") else None
        detail = head.partition(b'"detail":')[2].decode("latin-1")[:80]
        with lock:
            follows.append((status, detail))
        sock.settimeout(0.5)
        while time.monotonic() < stop:
            try:
                if not sock.recv(65536):
                    break
            except TimeoutError:
                pass
        sock.close()

    sources = (EXEMPT, EXEMPT, LIMITED, LIMITED, LIMITED)  # the third from .21 is one too many
    threads = [threading.Thread(target=follower, args=(src,)) for src in sources]
    threads += [threading.Thread(target=heavy_client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put({"heavy": heavy, "follows": follows})


def methods(sock_path: str, n: int) -> dict[str, Any]:
    rng = random.Random(8)  # noqa: S311 - test traffic, not a secret
    statuses: dict[str, int] = {}
    for _ in range(n):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 16)))
        raw = get("/health/live", method=method, host="localhost")
        r = request(sock_path, raw, family=socket.AF_UNIX)
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    return {"statuses": statuses}


def gunicorn(sock_path: str) -> list[dict[str, Any]]:
    """What gunicorn refuses itself, sent past nginx: each must be problem+json too."""
    live = b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    cases = [
        ("control byte", live + b"User-Agent: UA\x01\r\n\r\n"),
        ("bad header name", live + b"Bad Name: x\r\n\r\n"),
        ("folded header", live + b"X-A: a\r\n b\r\n\r\n"),
        ("long line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("header too long", live + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n"),
        ("unknown transfer-encoding", live + b"Transfer-Encoding: foo\r\n\r\n"),
        ("expect", live + b"Expect: 200-ok\r\n\r\n"),
        ("bad version", b"GET /health/live HTTP/7.1\r\nHost: localhost\r\n\r\n"),
        ("bad method", b"G\x01T /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ]
    out = []
    for name, raw in cases:
        r = request(sock_path, raw, family=socket.AF_UNIX)
        out.append({"category": "gunicorn direct", "name": name, **r})
    return out


def plant(host: str, mark: str) -> dict[str, Any]:
    """From the denied address (its 403 is logged in error.log with the Referer as sent): an OSC
    title ended by BEL, cursor up and erase-line (over the entry before), a C1 CSI, a screen
    clear and a bidi override. (nginx refuses a CR in a header itself.)"""
    referer = f"http://x/{mark}\x1b]0;owned\x07\x1b[1A\x1b[2Kforged\x1b[2J\u202egnp.exe"
    raw = get("/logs/app", f"Referer: {referer}").replace(b"HOST", host.encode())
    raw = raw.replace(b"forged", b"forged\xc2\x9b31m")  # U+009B (CSI) as UTF-8
    return request(host, raw, src=DENIED)


def slow(host: str, n: int, seconds: float) -> dict[str, Any]:
    """n connections from the limited address, half idle (not one byte), half slowloris (a header
    line every 2 s, never the end): each timed until nginx closes it, at most `seconds`. Meanwhile
    /health/live is timed every 20 ms from the exempt address."""
    closed: dict[str, list[float]] = {"idle": [], "slowloris": []}
    still_open = {"idle": 0, "slowloris": 0}
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    def one(kind: str) -> None:
        sock = socket.create_connection((host, 80), timeout=5, source_address=(LIMITED, 0))
        opened = time.monotonic()
        sock.settimeout(0.5)
        sent = 0
        try:
            while time.monotonic() < deadline:
                if kind == "slowloris" and time.monotonic() - opened >= 2 * sent:
                    line = b"GET /health HTTP/1.1\r\n" if sent == 0 else b"X-Slow-%d: a\r\n" % sent
                    sock.sendall(line)
                    sent += 1
                try:
                    if not sock.recv(4096):  # closed by nginx (an answer first would be read too)
                        break
                except TimeoutError:
                    continue
            else:
                with lock:
                    still_open[kind] += 1
                return
        except OSError:
            pass  # reset, or a send after nginx closed: closed all the same
        finally:
            sock.close()
        with lock:
            closed[kind].append(time.monotonic() - opened)

    threads = [threading.Thread(target=one, args=(("idle", "slowloris")[k % 2],)) for k in range(n)]
    for t in threads:
        t.start()
    live: list[float] = []
    failures = 0
    probe = get("/health/live").replace(b"HOST", host.encode())
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        r = request(host, probe, src=EXEMPT, timeout=10)
        failures += r["status"] != 200
        live.append(r["ms"])
        time.sleep(0.02)
    for t in threads:
        t.join()
    ordered = sorted(live)
    return {
        "closed": {k: [round(v, 2) for v in sorted(vs)] for k, vs in closed.items()},
        "still_open": still_open,
        "live_p50": ordered[len(ordered) // 2] if ordered else -1.0,
        "live_p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else -1.0,
        "samples": len(live),
        "failures": failures,
    }


def slots(host: str, token: str, rounds: int) -> dict[str, Any]:
    """Hold every follow slot (2 streams from each of two addresses, as nginx allows 2 per
    address), then drop one stream and time how soon its address is served a stream again."""
    auth = f"Authorization: Bearer {token}"
    raw = get("/logs/app/follow", auth).replace(b"HOST", host.encode())

    def open_stream(src: str) -> tuple[int | None, socket.socket]:
        sock = socket.create_connection((host, 80), timeout=5, source_address=(src, 0))
        sock.sendall(raw)
        head = sock.recv(4096)
        return (int(head.split()[1]) if head.startswith(b"HTTP/") else None), sock

    held: list[tuple[str, socket.socket]] = []
    waits: list[float] = []
    refusals = 0  # the app's 429s while the slot of a gone client was still held
    try:
        for src in (EXEMPT, EXEMPT, LIMITED, LIMITED):
            status, sock = open_stream(src)
            held.append((src, sock))
            if status != 200:
                return {"error": f"could not hold 4 streams: {status}"}
        for _ in range(rounds):
            src, leaving = held.pop(0)
            leaving.close()
            left = time.monotonic()
            while True:
                status, sock = open_stream(src)
                if status == 200:
                    waits.append(time.monotonic() - left)
                    held.append((src, sock))
                    break
                sock.close()
                refusals += 1
                if time.monotonic() - left > 30:
                    waits.append(-1.0)
                    break
                time.sleep(0.05)
    finally:
        for _, sock in held:
            sock.close()
    return {"waits": [round(w, 3) for w in waits], "refusals": refusals}


def main(argv: list[str]) -> None:
    command, *args = argv
    if command in ("corpus", "gunicorn"):
        if command == "corpus":
            out: Any = corpus(args[0], args[1], args[2])
        else:
            out = gunicorn(args[0])
        canaries = [c for c in args[-1].split(",") if c]
        for r in out:
            r["leak"] = [c for c in canaries if c in r["body"]]
            r["body"] = r["body"][-300:]  # enough to read a failure, not megabytes of JSON
    elif command == "flood":
        out = flood(args[0], int(args[1]), float(args[2]))
    elif command == "starve":
        out = starve(args[0], args[1], float(args[2]))
    elif command == "methods":
        out = methods(args[0], int(args[1]))
    elif command == "plant":
        out = plant(args[0], args[1])
    elif command == "slow":
        out = slow(args[0], int(args[1]), float(args[2]))
    elif command == "slots":
        out = slots(args[0], args[1], int(args[2]))
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
