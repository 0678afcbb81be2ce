#!/usr/bin/env python3
"""A steady, bounded stream of GET /health to several hosts, for the rollout scenario's client.

One thread per host sends a request every 1/rate seconds (a new connection each, so a switch window
shows as one long answer) until the stop file appears or --max-seconds pass, then writes every
result as JSON: [host, start (epoch), seconds, status or error].
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time


def stream(host: str, args: argparse.Namespace, deadline: float, out: list[list[object]]) -> None:
    interval = 1.0 / args.rate
    due = time.monotonic()
    while time.monotonic() < deadline and not os.path.exists(args.stop):
        started, clock = time.time(), time.monotonic()
        conn = http.client.HTTPConnection(host, 80, timeout=args.timeout)
        try:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            result: object = response.status
        except (OSError, http.client.HTTPException) as err:
            result = type(err).__name__
        finally:
            conn.close()
        out.append([host, round(started, 3), round(time.monotonic() - clock, 4), result])
        # never catch up in a burst after a slow answer: that could cross nginx's rate limit
        due = max(due + interval, time.monotonic())
        time.sleep(max(0.0, due - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop", required=True, help="stop when this file exists")
    parser.add_argument("--rate", type=float, default=4.0, help="requests per second per host")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds
    results: dict[str, list[list[object]]] = {host: [] for host in args.hosts}
    threads = [
        threading.Thread(target=stream, args=(host, args, deadline, results[host]))
        for host in args.hosts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(args.out + ".tmp", "w") as f:
        json.dump([r for host in args.hosts for r in results[host]], f)
    os.rename(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
