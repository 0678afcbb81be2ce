"""Benchmark: hostwatch's in-process tail of 1000 lines vs GNU `tail -n 1000`, 1 MiB and 1 GiB.

Not a test: it prints figures. Run with the project's venv python: `python bench/tail.py`.
The 1 GiB file is sparse (a hole, then real lines at the end), in a temp dir under /var/tmp
that is removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from hostwatch.tail import tail_lines

LINES = 1000
RUNS = 7
# GNU tail's own work is the small difference of two process runs: take the best of many of each.
GNU_RUNS = 60
GNU_TIME = "/usr/bin/time"
LINE = b"2025-01-01T00:00:00Z host app[1234]: GET /api/items?page=%06d 200 0.012s\n"


def make(path: Path, size: int) -> None:
    """`size` bytes ending in real log lines (20000 of them, or as many as fit)."""
    body = b"".join(LINE % i for i in range(20_000))
    body = body[-size:] if len(body) > size else body
    body = body[body.index(b"\n") + 1 :] if len(body) == size else body
    with path.open("wb") as f:
        f.truncate(size - len(body))  # a hole: takes no disk space
        f.seek(size - len(body))
        f.write(body)


def ours(path: Path) -> tuple[float, int]:
    best = min(_timed(lambda: tail_lines(str(path), LINES)) for _ in range(RUNS))
    tracemalloc.start()
    tail_lines(str(path), LINES)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def gnu(path: Path, lines: int = LINES) -> float:
    return min(
        _timed(
            lambda: subprocess.run(
                ["tail", "-n", str(lines), str(path)], stdout=subprocess.DEVNULL, check=True
            )
        )
        for _ in range(GNU_RUNS)
    )


def _gnu_maxrss(path: Path) -> int | None:
    """GNU tail's max RSS in bytes, as `/usr/bin/time -v` reports it.

    getrusage(RUSAGE_CHILDREN) here would count this Python process too: a child's max RSS
    includes what it held before exec, and a child of Python starts as a copy of Python.
    """
    if not Path(GNU_TIME).exists():
        return None
    run = subprocess.run(
        [GNU_TIME, "-f", "%M", "tail", "-n", str(LINES), str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return int(run.stderr.split()[-1]) * 1024


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    if not shutil.which("tail"):
        sys.exit("GNU tail not found")
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="hostwatch-bench-") as tmp:
        files = {"1 MiB": Path(tmp, "small.log"), "1 GiB": Path(tmp, "large.log")}
        make(files["1 MiB"], 1 << 20)
        make(files["1 GiB"], 1 << 30)
        if tail_lines(str(files["1 GiB"]), LINES) != tail_lines(str(files["1 MiB"]), LINES):
            sys.exit("the two files should end in the same lines")
        # `tail -n 0` starts, opens and seeks the same file but reads nothing: what it costs is
        # process start-up, so the difference is GNU tail's own work of finding the lines.
        results = {
            label: (ours(p), (gnu(p), gnu(p, 0), _gnu_maxrss(p))) for label, p in files.items()
        }

    print(f"tail of {LINES} lines (ms; ours best of {RUNS} runs, GNU tail best of {GNU_RUNS})")
    print(
        f"{'file':<7} {'hostwatch':>10} {'peak KiB':>9} {'GNU tail':>9} {'tail -n 0':>10} "
        f"{'GNU work':>9} {'maxrss KiB':>11} {'ours/GNU':>9} {'ours/GNU work':>14}"
    )
    for label, ((t, mem), (gt, g0, rss)) in results.items():
        rss_kib = f"{rss / 1024:.0f}" if rss is not None else "n/a"
        work = gt - g0
        print(
            f"{label:<7} {t * 1e3:>10.3f} {mem / 1024:>9.0f} {gt * 1e3:>9.3f} {g0 * 1e3:>10.3f} "
            f"{work * 1e3:>9.3f} {rss_kib:>11} {t / gt:>9.2f} {t / work:>14.2f}"
        )
    (small_t, small_m), _ = results["1 MiB"]
    (large_t, large_m), _ = results["1 GiB"]
    print(
        f"hostwatch 1 GiB / 1 MiB: time {large_t / small_t:.2f}x,",
        f"peak memory {large_m / small_m:.2f}x",
    )
    print("(GNU tail is a whole process: fork+exec included; GNU work = GNU tail - tail -n 0,")
    print(" a noisy difference of two small times. Its memory is the max RSS of the process,")
    print(" ours the Python heap the call allocates, traced with tracemalloc.)")


if __name__ == "__main__":
    main()
