"""Benchmark: hostwatch served by real gunicorn on loopback, next to a hello-world Flask app.

Not a test: it prints figures. Run with the project's venv python: `python bench/http_bench.py`.
Both servers run with the same gunicorn settings; the clients are threads of this process,
one keep-alive connection each, so the figures include the client's own cost.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection, HTTPException
from pathlib import Path

import psutil

REQUESTS = 2000
WARMUP = 100
CLIENTS = 4
CAP_SECONDS = 10.0  # per endpoint: a slow machine gets fewer requests, not a hung run
GUNICORN = ["-k", "gthread", "-w", "2", "--threads", "4", "--no-control-socket", "--preload"]
HELLO = "from flask import Flask\n\napp = Flask(__name__)\napp.get('/')(lambda: 'ok')\n"
# name -> gunicorn's extra arguments and app
SERVERS = {
    "hello": ["hello:app"],
    "hostwatch": ["-c", "python:hostwatch.gunicorn_hooks", "hostwatch:create_app()"],
}
ENDPOINTS = [("hello", "/")] + [
    ("hostwatch", path) for path in ("/health/live", "/health", "/metrics", "/logs/app?lines=100")
]


def write_log(path: Path, count: int = 10_000) -> None:
    """nginx-style access lines that vary in client, path, status and size."""
    paths = ["/", "/api/items", "/api/items/42", "/static/app.js", "/login", "/health"]
    with path.open("w") as f:
        for i in range(count):
            f.write(
                f"10.0.{i % 7}.{i % 251} - - [01/Jan/2025:10:{i // 600 % 60:02d}:{i // 10 % 60:02d}"
                f' +0000] "GET {paths[i % len(paths)]}?page={i} HTTP/1.1"'
                f' {(200, 200, 200, 304, 404, 500)[i % 6]} {(i * 7919) % 50_000} "-"'
                f' "Mozilla/5.0 (X11; Linux x86_64) bench/{i % 13}"\n'
            )


def write_config(tmp: Path) -> Path:
    config = tmp / "hostwatch.toml"
    # thresholds nothing reaches: /health must answer 200 whatever load this host is under
    config.write_text(
        f'[logs]\napp = "{tmp}/app.log"\n'
        "[health]\nload_per_core = { warn = 1e6, fail = 1e6 }\n"
        "memory_percent = { warn = 101, fail = 101 }\nswap_percent = { warn = 101, fail = 101 }\n"
        '[health.mounts]\n"/" = { warn = 101, fail = 101 }\n'
        f'[follow]\nslots_dir = "{tmp}/slots"\n'
        # the per-worker cap on log reads (a defense, default 1) would answer some clients 429:
        # this measures throughput, so every client may read at once
        f"[limits]\nmax_concurrent_reads = {CLIENTS}\n"
    )
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp: Path, name: str, env: dict[str, str]) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"127.0.0.1:{port}"]
    with (tmp / f"{name}.err").open("wb") as err:  # the child keeps its own copy of the fd
        proc = subprocess.Popen(
            [*command, *SERVERS[name]],
            cwd=tmp,  # where hello.py is
            env=os.environ | env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return port, proc


def wait_ready(tmp: Path, name: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    """Until the server answers anything over HTTP (10 s at most), or exits."""
    for _ in range(100):
        conn = HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        except (OSError, HTTPException):
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        finally:
            conn.close()
    sys.exit(f"{name} did not start:\n{(tmp / f'{name}.err').read_text()}")


def client(port: int, path: str, count: int, deadline: float) -> tuple[list[float], int, int]:
    """`count` GETs on one keep-alive connection: latencies (s), errors, bytes of the last body."""
    conn = HTTPConnection("127.0.0.1", port, timeout=5)
    latencies: list[float] = []
    errors = size = 0
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            latencies.append(time.perf_counter() - start)
            size = len(body)
            errors += response.status != 200
        except (OSError, HTTPException):
            errors += 1
            conn.close()  # the next request opens a fresh connection
    conn.close()
    return latencies, errors, size


def run(port: int, path: str) -> tuple[float, float, float, int, int, int]:
    """requests/s, p50 ms, p99 ms, errors, requests done, bytes per response."""
    client(port, path, WARMUP, time.monotonic() + CAP_SECONDS)
    with ThreadPoolExecutor(CLIENTS) as pool:
        started = time.perf_counter()
        deadline = time.monotonic() + CAP_SECONDS
        futures = [
            pool.submit(client, port, path, REQUESTS // CLIENTS, deadline) for _ in range(CLIENTS)
        ]
        results = [f.result() for f in futures]
        elapsed = time.perf_counter() - started
    latencies = sorted(t for lat, _, _ in results for t in lat)
    errors = sum(e for _, e, _ in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [math.nan] * 99
    done = len(latencies) + errors
    return done / elapsed, q[49] * 1e3, q[98] * 1e3, errors, done, results[0][2]


def rss_mib(proc: subprocess.Popen[bytes]) -> float:
    master = psutil.Process(proc.pid)
    procs = [master, *master.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / (1 << 20)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hostwatch-bench-") as name:
        tmp = Path(name)
        write_log(tmp / "app.log")
        (tmp / "hello.py").write_text(HELLO)
        env = {
            "HOSTWATCH_CONFIG": str(write_config(tmp)),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"),
        }
        servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
        try:
            for server in SERVERS:
                servers[server] = start(tmp, server, env)
            for server, (port, proc) in servers.items():
                wait_ready(tmp, server, port, proc)
            rows = [(server, path, run(servers[server][0], path)) for server, path in ENDPOINTS]
            rss = {server: rss_mib(proc) for server, (_, proc) in servers.items()}
        finally:
            for _, proc in servers.values():
                proc.terminate()
            for _, proc in servers.values():
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    print(
        f"gunicorn {' '.join(GUNICORN)}; {REQUESTS} requests after {WARMUP} warm-up, "
        f"{CLIENTS} keep-alive clients, cap {CAP_SECONDS:.0f} s per endpoint"
    )
    print(
        f"{'server':<10} {'endpoint':<22} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'done':>5} {'bytes':>6}"
    )
    for server, path, (rate, p50, p99, errors, done, size) in rows:
        print(
            f"{server:<10} {path:<22} {rate:>7.0f} {p50:>7.2f} {p99:>7.2f} "
            f"{errors:>6} {done:>5} {size:>6}"
        )
    print(
        "worker RSS after the run (master + 2 workers): "
        + ", ".join(f"{server} {mib:.1f} MiB" for server, mib in rss.items())
    )
    print("(clients are threads of this Python process, on the same cores as the servers;")
    print(" RSS sums resident memory, so pages the processes share are counted in each.)")
    if any(errors for _, _, (_, _, _, errors, _, _) in rows):
        sys.exit("errors above: every request should have answered 200")


if __name__ == "__main__":
    main()
