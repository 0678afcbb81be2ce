"""Tail, filter and follow of log files: plain functions, no Flask.

Reading goes backwards from the end in fixed-size chunks, as GNU tail's file_lines() does, so the
cost depends on how many lines are wanted and how long they are, never on the size of the file.
Each line is held only up to `max_line_bytes` (+1 byte to know it was longer), so even a giant line
cannot grow memory. Bytes are decoded at the very end with invalid UTF-8 replaced.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_SIZE = 64 * 1024
DEFAULT_MAX_LINE_BYTES = 8192


class NotARegularFile(OSError):
    """The configured path exists but is no regular file (a directory, a FIFO, ...)."""


def open_log(path: str) -> BinaryIO:
    """Open for reading without ever blocking (a FIFO would block a plain open) and only files."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path} is not a regular file")
    return os.fdopen(fd, "rb", buffering=0)


def render(line: bytes, max_line_bytes: int) -> str:
    """Decode one line; a line longer than the cap is cut there and marked."""
    if len(line) > max_line_bytes:
        cut = line[:max_line_bytes].decode("utf-8", "replace")
        return f"{cut}… [line cut at {max_line_bytes} bytes]"
    return line.decode("utf-8", "replace")


class _BackwardLines:
    """Complete lines of f[:end], newest first, each cut to max_line_bytes + 1 bytes.

    Reading stops after `budget` bytes; `scanned` is what was read and `at_start` says whether the
    beginning of the file was reached (so every line has been seen).
    """

    def __init__(self, f: BinaryIO, end: int, max_line_bytes: int, budget: int | None) -> None:
        self.f = f
        self.end = end
        self.keep = max_line_bytes + 1
        self.budget = end if budget is None else min(budget, end)
        self.scanned = 0
        self.at_start = end == 0

    def __iter__(self) -> Iterator[bytes]:
        fd = self.f.fileno()
        pos = self.end
        carry = b""  # the head of a line whose newline (to its left) is not read yet
        while self.scanned < self.budget:
            # chunks aligned to CHUNK_SIZE after the first, like GNU tail, so reads stay aligned
            start = max(self.end - self.budget, (pos - 1) // CHUNK_SIZE * CHUNK_SIZE)
            block = os.pread(fd, pos - start, start)
            if not block:  # the file shrank under us: what is left is all there is
                break
            self.scanned += len(block)
            pos = start
            parts = block.split(b"\n")
            parts[-1] = (parts[-1] + carry)[: self.keep]
            carry = parts[0][: self.keep]
            yield from reversed(parts[1:])
        if pos == 0:
            self.at_start = True
            yield carry  # the first line of the file has no newline before it


def _content_end(f: BinaryIO) -> int:
    """Where the last line ends: a final newline terminates it, it does not start another."""
    size = os.fstat(f.fileno()).st_size
    if size and os.pread(f.fileno(), 1, size - 1) == b"\n":
        return size - 1
    return size


def tail_lines(path: str, n: int, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> list[str]:
    """The last n lines of the file, oldest first."""
    with open_log(path) as f:
        lines: list[bytes] = []
        end = _content_end(f)
        if end == 0 and os.fstat(f.fileno()).st_size == 0:
            return []
        for line in _BackwardLines(f, end, max_line_bytes, None):
            lines.append(line)
            if len(lines) == n:
                break
    return [render(line, max_line_bytes) for line in reversed(lines)]


@dataclass(frozen=True)
class Matches:
    lines: list[str]
    scanned_bytes: int
    budget_exhausted: bool  # stopped by the byte budget before finding n lines or the file start


def tail_matching(
    path: str,
    n: int,
    matches: Callable[[bytes], bool],
    *,
    scan_bytes: int,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Matches:
    """The last n lines for which matches(line bytes) is true, scanning back at most scan_bytes.

    A line is matched on its first max_line_bytes bytes, which is what a client would see of it.
    """
    with open_log(path) as f:
        end = _content_end(f)
        found: list[bytes] = []
        scan = _BackwardLines(f, end, max_line_bytes, scan_bytes)
        if end or os.fstat(f.fileno()).st_size:
            for line in scan:
                if matches(line[:max_line_bytes]):
                    found.append(line)
                    if len(found) == n:
                        break
    exhausted = len(found) < n and not scan.at_start
    lines = [render(line, max_line_bytes) for line in reversed(found)]
    return Matches(lines, scan.scanned, exhausted)


def fit(lines: list[str], max_bytes: int, cost: Callable[[str], int]) -> tuple[list[str], int]:
    """Keep the newest lines whose total cost fits in max_bytes; returns (kept, dropped count)."""
    total = 0
    keep = 0
    for line in reversed(lines):
        total += cost(line)
        if total > max_bytes:
            break
        keep += 1
    return lines[len(lines) - keep :], len(lines) - keep


class Follower:
    """New lines of a log as they are written, with `tail -F` semantics.

    Opened at construction (so a missing or unreadable file fails before any stream starts) at the
    current end. Iterating yields each new line, or None when `heartbeat_seconds` passed without
    one; it ends after `max_seconds`. It keeps going across rotation by rename (the path gets a new
    inode: finish the old file, then read the new one from its start) and by copytruncate (the file
    becomes shorter than what was read: start again from its beginning). close() releases the file.
    """

    def __init__(
        self,
        path: str,
        *,
        poll_seconds: float,
        heartbeat_seconds: float,
        max_seconds: float,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.max_seconds = max_seconds
        self.max_line_bytes = max_line_bytes
        self.clock = clock
        self.sleep = sleep
        self.f = open_log(path)
        self.pos = os.fstat(self.f.fileno()).st_size
        self.partial = b""  # a line still being written, kept up to the cap

    def close(self) -> None:
        self.f.close()

    def __iter__(self) -> Iterator[str | None]:
        started = last_sent = self.clock()
        try:
            while self.clock() - started < self.max_seconds:
                lines = self._read_new()
                if self._rotated():
                    lines += self._read_new()  # what was written to the old file before the switch
                    self._reopen()
                    lines += self._read_new()
                for line in lines:
                    yield render(line, self.max_line_bytes)
                now = self.clock()
                if lines:
                    last_sent = now
                elif now - last_sent >= self.heartbeat_seconds:
                    last_sent = now
                    yield None
                self.sleep(self.poll_seconds)
        finally:
            self.close()

    def _read_new(self) -> list[bytes]:
        fd = self.f.fileno()
        if os.fstat(fd).st_size < self.pos:  # copytruncate: the same file, cut back
            self.pos = 0
            self.partial = b""
        lines: list[bytes] = []
        while block := os.pread(fd, CHUNK_SIZE, self.pos):
            self.pos += len(block)
            *complete, rest = block.split(b"\n")
            for part in complete:
                lines.append((self.partial + part)[: self.max_line_bytes + 1])
                self.partial = b""
            self.partial = (self.partial + rest)[: self.max_line_bytes + 1]
        return lines

    def _rotated(self) -> bool:
        """True when the path now names another file; a path briefly missing is not yet rotation."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        mine = os.fstat(self.f.fileno())
        return (st.st_ino, st.st_dev) != (mine.st_ino, mine.st_dev)

    def _reopen(self) -> None:
        try:
            new = open_log(self.path)
        except OSError:
            return  # gone again or unreadable: stay on the old file and try on the next poll
        self.f.close()
        self.f = new
        self.pos = 0
        self.partial = b""
