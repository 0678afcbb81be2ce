"""Tail, filter and follow of log files: plain functions, no Flask.

Reading goes backwards from the end in fixed-size chunks, as GNU tail's file_lines() does, so the
cost depends on how many lines are wanted and how long they are, never on the size of the file.
A tail holds its lines whole only while they fit in `max_bytes` (the response cap); past that, and
for filters, each line is held only up to `max_line_bytes` (+1 byte to know it was longer), so even
a giant line cannot grow memory. Bytes are decoded at the very end with invalid UTF-8 replaced,
and every character that could act on a reader's terminal or reorder the text is escaped.
What is read is bounded too: tails and filters stop after `scan_bytes` (a file of giant lines,
or the NUL hole copytruncate leaves, must not make a request read gigabytes) or as soon as
`stop()` says the client has gone.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

# GNU tail's BUFSIZ: a small tail reads one small block; a long one just reads more of them.
CHUNK_SIZE = 8 * 1024
DEFAULT_MAX_LINE_BYTES = 8192
READ_STEP = 64 * 1024  # what a follower reads at most per step
STOP_CHECK_BYTES = 1 << 20  # how often a backward scan asks whether to go on
STOP_CHECK_SECONDS = 0.5  # how often a waiting follower asks whether its client is still there


class NotARegularFile(OSError):
    """The configured path exists but is no regular file (a directory, a FIFO, ...)."""


def open_log(path: str) -> BinaryIO:
    """Open for reading without ever blocking (a FIFO would block a plain open) and only files.

    A symlink in the last component is refused (ELOOP): a log swapped for a link to another file
    must not serve that file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path} is not a regular file")
    return os.fdopen(fd, "rb", buffering=0)


# Log lines are the text of whoever reached the host (nginx writes a client's Referer raw into
# error.log): C0 controls but TAB, DEL and C1 controls (ESC sequences, OSC titles, BEL, CR) act on
# a terminal, and the bidi embeddings, overrides and isolates reorder what a reader sees. Each is
# shown as a Python-style escape, \xHH or \uHHHH, and a literal backslash as \\, so an escape in
# the answer can only come from us and every answer maps back to exactly one line.
_CONTROLS = [*range(0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]  # C0 but TAB, DEL, C1
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = (
    {code: f"\\x{code:02x}" for code in _CONTROLS}
    | {code: f"\\u{code:04x}" for code in _BIDI}
    | {ord("\\"): "\\\\"}
)
_UNSAFE = re.compile(f"[{re.escape(''.join(map(chr, _ESCAPES)))}]")
# Printable ASCII but the backslash, TAB and LF: lines of only these bytes need no escaping, which
# bytes.translate finds for a whole block at once, in C (10x faster than a regex search)
_PLAIN_BYTES = bytes([0x09, 0x0A, *(c for c in range(0x20, 0x7F) if c != ord("\\"))])


def escape(text: str) -> str:
    """`text` with terminal controls and bidi controls made visible and inert (see _UNSAFE).

    The search (C, fast) spares the common line the translate, which goes character by character
    (and, unlike a re.sub with a function, holds no more than its answer)."""
    return text.translate(_ESCAPES) if _UNSAFE.search(text) else text


def render(line: bytes, max_line_bytes: int) -> str:
    """Decode one line, escaped; a line longer than the cap is cut there and marked. The CR of a
    CRLF line end is dropped: it ends the line, it is not in it."""
    if len(line) > max_line_bytes:
        cut = line[:max_line_bytes].decode("utf-8", "replace")
        return f"{escape(cut)}… [line cut at {max_line_bytes} bytes]"
    return escape(line.removesuffix(b"\r").decode("utf-8", "replace"))


class _BackwardLines:
    """Complete lines of the file, newest first, each cut to max_line_bytes + 1 bytes.

    Reading stops after `budget` bytes, or when `stop()` (asked every STOP_CHECK_BYTES) is true;
    `scanned` is what was read and `at_start` says whether the beginning of the file was reached (so
    every line has been seen). An empty file has no lines.
    """

    def __init__(
        self,
        f: BinaryIO,
        max_line_bytes: int,
        budget: int | None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        # a final newline ends the last line, it does not start another; "\n" is one empty line
        self.end = size - 1 if size and os.pread(fd, 1, size - 1) == b"\n" else size
        self.empty = size == 0
        self.f = f
        self.keep = max_line_bytes + 1
        self.budget = self.end if budget is None else min(budget, self.end)
        self.scanned = 0
        self.at_start = False
        self.stop = stop

    def __iter__(self) -> Iterator[bytes]:
        fd = self.f.fileno()
        pos = self.end
        carry = b""  # the head of a line whose newline (to its left) is not read yet
        next_check = STOP_CHECK_BYTES
        while self.scanned < self.budget:
            if self.stop is not None and self.scanned >= next_check:
                next_check += STOP_CHECK_BYTES
                if self.stop():
                    break
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
            if not self.empty:
                yield carry  # the first line of the file has no newline before it


@dataclass(frozen=True)
class Tail:
    lines: list[str]  # oldest first
    truncated: bool  # older lines were wanted but left out: they would not fit max_bytes
    budget_exhausted: bool = False  # stopped by scan_bytes (or stop()) before n lines or the start


def _newest(lines: Iterable[bytes], n: int, max_bytes: int | None) -> tuple[list[bytes], bool]:
    """Up to n of `lines` (given newest first) whose bytes fit max_bytes, oldest first.

    A line costs its bytes and one more (its newline, or a comma in JSON): never more than it will
    cost rendered, so a line that does not fit here would not fit in the response either. The
    second value says whether a line was left out for the lack of room.
    """
    kept: list[bytes] = []
    total = 0
    for line in lines:
        total += len(line) + 1
        if max_bytes is not None and total > max_bytes:
            return kept[::-1], True
        kept.append(line)
        if len(kept) == n:
            break
    return kept[::-1], False


def tail_lines(
    path: str,
    n: int,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_bytes: int | None = None,
    scan_bytes: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> Tail:
    """The last n lines of the file that fit in max_bytes (None: no limit but n), found within the
    last scan_bytes of it (None: no limit)."""
    room = n * (max_line_bytes + 1) if max_bytes is None else max_bytes
    with open_log(path) as f:
        if os.fstat(f.fileno()).st_size == 0:
            return Tail([], False)  # no lines, where a file of just "\n" has one empty line
        region = _last_lines(f, n, room)
        if region is None:  # too long to hold whole: keep only the head of each line
            scan = _BackwardLines(f, max_line_bytes, scan_bytes, stop)
            lines, truncated = _newest(scan, n, max_bytes)
            exhausted = len(lines) < n and not truncated and not scan.at_start
            return Tail(_render_all(lines, max_line_bytes), truncated, exhausted)
    # One decode and one split, all in C. A character is at most 4 bytes, so lines this short in
    # characters cannot be over the cap in bytes; otherwise cut line by line.
    text = region.decode("utf-8", "replace").split("\n")
    if max(map(len, text)) * 4 <= max_line_bytes:
        if not region.translate(None, _PLAIN_BYTES):  # the common case
            return Tail(text, False)
        return Tail([escape(line.removesuffix("\r")) for line in text], False)
    return Tail(_render_all(region.split(b"\n"), max_line_bytes), False)


def _last_lines(f: BinaryIO, n: int, room: int) -> bytes | None:
    """The bytes of the last n lines of a non-empty file, found as GNU tail finds them: newlines
    counted block by block from the end.

    None when they would not fit in `room` (a newline counted for each line): giant lines, or more
    than the response can hold.
    """
    fd = f.fileno()
    size = os.fstat(fd).st_size
    end = size - 1 if os.pread(fd, 1, size - 1) == b"\n" else size
    blocks: list[bytes] = []
    newlines = 0
    pos = end
    while pos > 0 and newlines < n:
        start = (pos - 1) // CHUNK_SIZE * CHUNK_SIZE
        block = os.pread(fd, pos - start, start)
        if not block:  # the file shrank under us: what is left is all there is
            break
        blocks.append(block)
        newlines += block.count(b"\n")
        pos = start
        if end - pos > room + CHUNK_SIZE:  # more than the lines can need, whatever the block edges
            return None
    data = b"".join(reversed(blocks))
    # with more newlines than n, what comes before the last n lines is skipped, all in C
    region = data.split(b"\n", newlines - n + 1)[-1] if newlines >= n else data
    return None if len(region) + 1 > room else region


def _render_all(lines: list[bytes], max_line_bytes: int) -> list[str]:
    return [render(line, max_line_bytes) for line in lines]


@dataclass(frozen=True)
class Matches(Tail):
    scanned_bytes: int = 0


def tail_matching(
    path: str,
    n: int,
    matches: Callable[[bytes], bool],
    *,
    scan_bytes: int,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_bytes: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> Matches:
    """The last n lines for which matches(line bytes) is true, scanning back at most scan_bytes.

    A line is matched on its first max_line_bytes bytes, which is what a client would see of it.
    """
    with open_log(path) as f:
        scan = _BackwardLines(f, max_line_bytes, scan_bytes, stop)
        found = (line for line in scan if matches(line[:max_line_bytes]))
        lines, truncated = _newest(found, n, max_bytes)
    # fewer than n without running out of room: the scan ended, at the file start or the budget
    exhausted = len(lines) < n and not truncated and not scan.at_start
    return Matches(
        lines=_render_all(lines, max_line_bytes),
        truncated=truncated,
        scanned_bytes=scan.scanned,
        budget_exhausted=exhausted,
    )


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
    one (a line counts only if `matches(line bytes)`, when given, as in tail_matching); it ends
    after `max_seconds`, or as soon as `stop()` says so (asked at each poll, and at least every
    STOP_CHECK_SECONDS while waiting). It keeps going across rotation by rename (the path gets a
    new inode: finish the old file, then read the new one from its start) and by copytruncate (the
    file becomes shorter than what was read: start again from its beginning). A backlog is read
    READ_STEP bytes at a time, without waiting between steps. close() releases the file.
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
        matches: Callable[[bytes], bool] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.path = path
        self.matches = matches
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.max_seconds = max_seconds
        self.max_line_bytes = max_line_bytes
        self.clock = clock
        self.sleep = sleep
        self.f = open_log(path)
        self.pos = os.fstat(self.f.fileno()).st_size
        self.partial = b""  # a line still being written, kept up to the cap
        self.caught_up = True  # the last read reached the end of the file

    def close(self) -> None:
        self.f.close()

    def __iter__(self) -> Iterator[str | None]:
        started = last_sent = self.clock()
        try:
            while self.clock() - started < self.max_seconds and not self._stopped():
                lines = self._read_new()
                if self.caught_up and self._rotated():
                    lines += self._read_new()  # what was written to the old file before the switch
                    if self.caught_up:  # else finish the old file first, over the next polls
                        self._reopen()
                        lines += self._read_new()
                if self.matches is not None:
                    lines = [line for line in lines if self.matches(line[: self.max_line_bytes])]
                for line in lines:
                    yield render(line, self.max_line_bytes)
                now = self.clock()
                if lines:
                    last_sent = now
                elif now - last_sent >= self.heartbeat_seconds:
                    last_sent = now
                    yield None
                if self.caught_up:  # a backlog is sent on at once, one bounded read at a time
                    self._wait()
        finally:
            self.close()

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop()

    def _wait(self) -> None:
        """Sleep poll_seconds, in slices of STOP_CHECK_SECONDS, until stop() says to end."""
        left = self.poll_seconds
        while left > 0 and not self._stopped():
            step = min(left, STOP_CHECK_SECONDS)
            self.sleep(step)
            left -= step

    def _read_new(self) -> list[bytes]:
        """Lines completed by at most READ_STEP new bytes; sets caught_up if that was all."""
        fd = self.f.fileno()
        if os.fstat(fd).st_size < self.pos:  # copytruncate: the same file, cut back
            self.pos = 0
            self.partial = b""
        # bounded so a big backlog (a rename onto a large file) is never held all at once
        block = os.pread(fd, READ_STEP, self.pos)
        self.pos += len(block)
        self.caught_up = len(block) < READ_STEP
        *complete, rest = block.split(b"\n")
        lines: list[bytes] = []
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
