"""tail.py on its own: backwards reading, cuts, filters, follow across rotation, bounded memory."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostwatch import tail
from hostwatch.tail import CHUNK_SIZE, READ_STEP, Follower, fit, tail_lines, tail_matching


@pytest.mark.parametrize(
    ("content", "n", "expected"),
    [
        (b"", 5, []),
        (b"\n", 5, [""]),
        (b"a\nb\nc\n", 2, ["b", "c"]),
        (b"a\nb\nc", 2, ["b", "c"]),  # an unterminated last line still counts
        (b"a\nb\nc\n", 10, ["a", "b", "c"]),
        (b"a\n\n\nb\n", 3, ["", "", "b"]),
    ],
)
def test_tail_small(tmp_path: Path, content: bytes, n: int, expected: list[str]) -> None:
    p = tmp_path / "f"
    p.write_bytes(content)
    assert tail_lines(str(p), n).lines == expected


def test_tail_across_many_chunks(tmp_path: Path) -> None:
    p = tmp_path / "f"
    lines = [f"{i:07d} " + "y" * (i % 97) for i in range(60_000)]  # ~3.3 MB, lines of all lengths
    p.write_text("\n".join(lines) + "\n")
    for n in (1, 999, 5000, 60_000):
        assert tail_lines(str(p), n, max_line_bytes=200).lines == lines[-n:]


def test_long_line_cut_at_any_chunk_position(tmp_path: Path) -> None:
    p = tmp_path / "f"
    giant = b"G" * (3 * CHUNK_SIZE + 17)
    p.write_bytes(b"first\n" + giant + b"\nlast\n")
    got = tail_lines(str(p), 3, max_line_bytes=10).lines
    assert got == ["first", "GGGGGGGGGG… [line cut at 10 bytes]", "last"]


def test_exactly_max_line_bytes_is_not_cut(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"1234567890\n")
    assert tail_lines(str(p), 1, max_line_bytes=10).lines == ["1234567890"]


def test_invalid_utf8_replaced(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"\xff\xfeok\n\xe2\x82\n")
    assert tail_lines(str(p), 2).lines == ["\ufffd\ufffdok", "\ufffd"]


def test_matching_scans_backwards_under_budget(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_text("".join(f"{'ERR' if i % 10 == 0 else 'ok'} {i}\n" for i in range(1000)))
    size = p.stat().st_size
    m = tail_matching(str(p), 3, lambda b: b.startswith(b"ERR"), scan_bytes=size)
    assert m.lines == ["ERR 970", "ERR 980", "ERR 990"]
    assert 0 < m.scanned_bytes < size and not m.budget_exhausted
    m = tail_matching(str(p), 500, lambda b: b.startswith(b"ERR"), scan_bytes=size)
    assert len(m.lines) == 100 and m.scanned_bytes == size - 1 and not m.budget_exhausted
    m = tail_matching(str(p), 500, lambda b: b.startswith(b"ERR"), scan_bytes=100)
    assert m.scanned_bytes == 100 and m.budget_exhausted
    assert m.lines == ["ERR 990"]  # only lines wholly inside the budget


def test_collection_stops_at_max_bytes(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"".join(b"line %d\n" % i for i in range(10)))  # 7 bytes each with the newline
    assert tail_lines(str(p), 10, max_bytes=21) == tail.Tail(["line 7", "line 8", "line 9"], True)
    assert tail_lines(str(p), 3, max_bytes=21) == tail.Tail(["line 7", "line 8", "line 9"], False)
    assert tail_lines(str(p), 10, max_bytes=70) == tail.Tail(
        [f"line {i}" for i in range(10)], False
    )
    assert tail_lines(str(p), 10, max_bytes=3) == tail.Tail([], True)
    m = tail_matching(
        str(p), 10, lambda b: b.endswith((b"1", b"5", b"9")), scan_bytes=100, max_bytes=14
    )
    assert (m.lines, m.truncated, m.budget_exhausted) == (["line 5", "line 9"], True, False)
    m = tail_matching(
        str(p), 10, lambda b: b.endswith((b"1", b"5", b"9")), scan_bytes=100, max_bytes=21
    )
    assert (m.lines, m.truncated, m.budget_exhausted) == (
        ["line 1", "line 5", "line 9"],
        False,
        False,
    )


def test_fit_keeps_newest() -> None:
    assert fit(["aa", "bb", "cc"], 6, lambda s: len(s) + 1) == (["bb", "cc"], 1)
    assert fit(["aa"], 1, lambda s: len(s) + 1) == ([], 1)
    assert fit([], 10, len) == ([], 0)


@pytest.mark.slow
def test_gigabyte_tail_memory_bounded_by_n(tmp_path: Path) -> None:
    """A 1 GiB sparse file: peak memory follows n and the line cap, not the size."""
    p = tmp_path / "big.log"
    tail_bytes = b"".join(b"%06d %s\n" % (i, b"z" * 80) for i in range(2000))
    with p.open("wb") as f:
        f.truncate(1 << 30)
        f.seek(1 << 30)
        f.write(b"\n" + tail_bytes)
    assert p.stat().st_size > 1 << 30
    assert p.stat().st_blocks * 512 < 16 << 20  # really sparse: this test writes almost nothing

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            got = tail_lines(str(p), n).lines
            assert len(got) == n and got[-1].startswith("001999 ")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(100), peak(1000)
    line = 90
    # at most a few chunks of read buffer plus the wanted lines, whatever the file size
    assert small < 4 * CHUNK_SIZE + 100 * line * 4
    assert large < 4 * CHUNK_SIZE + 1000 * line * 4


@pytest.mark.slow
def test_giant_line_does_not_grow_memory(tmp_path: Path) -> None:
    p = tmp_path / "one-line.log"
    with p.open("wb") as f:
        f.truncate(64 << 20)  # 64 MiB of NULs and not one newline
    tracemalloc.start()
    try:
        got = tail_lines(str(p), 1, max_line_bytes=1000).lines
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == ["\\x00" * 1000 + "… [line cut at 1000 bytes]"]  # NUL shown escaped
    assert peak < 4 * CHUNK_SIZE + 4000


# -- follow ----------------------------------------------------------------------------------


def start(path: Path) -> tuple[Follower, Iterator[str | None]]:
    follower = Follower(str(path), poll_seconds=0.005, heartbeat_seconds=0.05, max_seconds=5.0)
    return follower, iter(follower)


def next_line(it: Iterator[str | None]) -> str:
    """The next line, skipping heartbeats (bounded: a missing line fails fast, never hangs)."""
    for _ in range(200):
        item = next(it)
        if item is not None:
            return item
    raise AssertionError("no line arrived")


def append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def test_follow_new_lines_only(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("old\n")
    follower, it = start(p)
    append(p, "new 1\nnew 2\npart")
    assert next_line(it) == "new 1"
    assert next_line(it) == "new 2"
    append(p, "ial\n")  # a line written in two pieces arrives whole
    assert next_line(it) == "partial"
    follower.close()


def test_follow_rename_rotation(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("")
    follower, it = start(p)
    append(p, "before\n")
    assert next_line(it) == "before"
    p.rename(tmp_path / "f.log.1")
    append(tmp_path / "f.log.1", "late write to the old file\n")
    assert next_line(it) == "late write to the old file"  # path missing: stay on the old file
    p.write_text("in the new file\n")
    assert next_line(it) == "in the new file"
    append(p, "and more\n")
    assert next_line(it) == "and more"
    follower.close()


def test_follow_copytruncate(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("x" * 1000 + "\n")
    follower, it = start(p)
    append(p, "before\n")
    assert next_line(it) == "before"
    shutil.copy(p, tmp_path / "f.log.1")
    with p.open("r+") as f:
        f.truncate(0)
    next(it)  # one poll sees the file shorter than what was read
    append(p, "after truncate\n")
    assert next_line(it) == "after truncate"
    follower.close()


def fake_clock_follower(path: Path, *, heartbeat_seconds: float, max_seconds: float) -> Follower:
    """A follower on virtual time: each poll advances a fake clock by 1 s, nothing really waits."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    return Follower(
        str(path),
        poll_seconds=1.0,
        heartbeat_seconds=heartbeat_seconds,
        max_seconds=max_seconds,
        clock=lambda: clock[0],
        sleep=sleep,
    )


def test_follow_heartbeat_and_end(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("")
    follower = fake_clock_follower(p, heartbeat_seconds=3.0, max_seconds=10.0)
    items = list(follower)  # a fake clock: ten polls of virtual time, no real waiting
    assert items == [None, None, None]
    assert follower.f.closed


def test_follow_long_partial_line_is_capped(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("")
    follower = Follower(
        str(p), poll_seconds=0.005, heartbeat_seconds=0.01, max_seconds=5, max_line_bytes=50
    )
    it = iter(follower)
    append(p, "b" * (3 * CHUNK_SIZE))
    assert next(it) is None  # no newline yet: nothing to send, and only 51 bytes are held
    assert len(follower.partial) == 51
    append(p, "\n")
    assert next_line(it) == "b" * 50 + "… [line cut at 50 bytes]"
    assert follower.partial == b""
    follower.close()


def test_follow_rename_onto_a_big_file_reads_it_a_step_at_a_time(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("")
    big = tmp_path / "big.log"
    big.write_bytes(b"".join(b"%06d %s\n" % (i, b"r" * 92) for i in range(40_000)))  # 4 MB
    follower = fake_clock_follower(p, heartbeat_seconds=5.0, max_seconds=3.0)
    big.rename(p)  # a rotation onto a file that already holds 4 MB
    count = 0
    tracemalloc.start()
    try:
        for line in follower:  # a fake clock: the backlog must not wait for poll_seconds per step
            assert line == f"{count:06d} {'r' * 92}"
            count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 40_000
    assert peak < 8 * READ_STEP  # a few steps at a time, not the whole 4 MB file


def test_follow_finishes_a_big_old_file_before_switching(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_text("")
    follower = fake_clock_follower(p, heartbeat_seconds=5.0, max_seconds=3.0)
    old = [f"old {i:05d} {'o' * 50}" for i in range(5000)]  # several read steps
    append(p, "".join(f"{line}\n" for line in old))
    p.rename(tmp_path / "f.log.1")
    p.write_text("new\n")
    assert [line for line in follower if line is not None] == [*old, "new"]


def test_follow_missing_file_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Follower(str(tmp_path / "nope"), poll_seconds=1, heartbeat_seconds=1, max_seconds=1)


def test_open_log_refuses_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(tail.NotARegularFile):
        tail_lines(str(fifo), 1)  # and does not block waiting for a writer


# Bytes for the two paths' edges: newlines, invalid UTF-8, a 2-byte and a cut 3-byte character.
PIECES = st.sampled_from([b"a", b"\n", b"\n\n", b"\xff", "é".encode(), b"\xe2\x82", b"x" * 40])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.lists(PIECES, max_size=400).map(b"".join),
    chunk=st.sampled_from([1, 3, 64, CHUNK_SIZE]),  # tiny blocks: lines across many block edges
    n=st.integers(1, 60),
    max_line_bytes=st.integers(1, 50),
    max_bytes=st.none() | st.integers(1, 3000),
)
def test_whole_line_path_equals_line_by_line_path(
    tmp_path: Path, content: bytes, chunk: int, n: int, max_line_bytes: int, max_bytes: int | None
) -> None:
    path = tmp_path / "eq.log"
    path.write_bytes(content)
    with mock.patch.object(tail, "CHUNK_SIZE", chunk):
        fast = tail_lines(str(path), n, max_line_bytes=max_line_bytes, max_bytes=max_bytes)
        with tail.open_log(str(path)) as f:
            backward = tail._BackwardLines(f, max_line_bytes, None)
            lines, truncated = tail._newest(backward, n, max_bytes)
    assert fast == tail.Tail([tail.render(line, max_line_bytes) for line in lines], truncated)
