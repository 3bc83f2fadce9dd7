"""Append-only JSON Lines files: how labels and recordings are appended and read back.

Both are appended one record a line and never rewritten, so a crash mid-write leaves at
most one torn line, at the end. Two rules keep that from spreading:

- an append starts on a line of its own (:func:`start_on_new_line`): a record written
  after a torn line would otherwise be glued onto it and lost with it;
- a reader skips a line that is not a complete record and says so (:class:`Damage`),
  rather than refusing the file: every complete record in it is kept.

A last line that is complete JSON without its newline is a record like any other (it was
written whole; only the newline is missing).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Line numbers listed in a damage report; the rest are counted.
MAX_LISTED = 5


def ends_mid_line(fd: int) -> bool:
    """Whether the file open at ``fd`` (readable) ends without a newline: a torn or
    unterminated last line."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def start_on_new_line(fd: int) -> None:
    """End an unterminated last line, so the next record written starts a line of its own."""
    if ends_mid_line(fd):
        _write_all(fd, b"\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def append_lines(path: str, text: str) -> None:
    """Append ``text`` (whole lines) on a line of its own and fsync before returning.

    The check for a torn end and the write happen under an exclusive lock, so two
    processes appending to one file (``serve``: a monitor per browser tab) never split or
    glue each other's lines. The file is created even when ``text`` is empty. OSError
    propagates for the caller to word.
    """
    # Read as well as write: the torn-end check reads the last byte.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if not text:
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = text.encode("utf-8")
        if ends_mid_line(fd):
            data = b"\n" + data
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock


@dataclass
class Damage:
    """The lines of a file that were not complete records, for a one-line report."""

    path: str
    skipped: list[int] = field(default_factory=list)  # line numbers, 1-based
    torn_last: bool = False  # the last skipped line is the file's unterminated last line
    salvaged: list[int] = field(default_factory=list)  # a torn record glued to a whole one

    def __bool__(self) -> bool:
        return bool(self.skipped or self.salvaged)

    def __str__(self) -> str:
        parts = []
        middle = self.skipped[:-1] if self.torn_last else self.skipped
        if middle:
            s = "s" if len(middle) > 1 else ""
            parts.append(
                f"skipped line{s} {_numbers(middle)} (not a complete record: torn or damaged)"
            )
        if self.torn_last:
            parts.append(f"skipped the torn last line {self.skipped[-1]} (an interrupted write)")
        if self.salvaged:
            s = "s" if len(self.salvaged) > 1 else ""
            parts.append(f"kept the record after a torn one on line{s} {_numbers(self.salvaged)}")
        return f"{self.path}: " + "; ".join(parts)


def _numbers(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:MAX_LISTED])
    more = len(lines) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _salvage(raw: bytes, whole: Callable[[dict[str, Any]], bool]) -> Any:
    """The complete record at the end of a damaged line, or None.

    Before appends started on a line of their own, a record written after a torn line was
    glued onto it (``{"id": "a1{"id": "b2", ...}``): the whole record after the torn start
    is still there. The leftmost ``{`` from which the rest parses as a record is where it
    starts; ``whole`` tells a record from an object nested in a torn one.
    """
    start = raw.find(b"{", 1)
    while start != -1:
        try:
            obj = json.loads(raw[start:])
        except ValueError:
            obj = None
        if isinstance(obj, dict) and whole(obj):
            return obj
        start = raw.find(b"{", start + 1)
    return None


def read_records(
    data: bytes, path: str, whole: Callable[[dict[str, Any]], bool] | None = None
) -> tuple[list[tuple[int, Any]], Damage]:
    """The JSON value of each non-blank line of ``data`` with its line number, and the
    lines that were not complete records.

    Lines are split on LF only (as the writers end them); bytes that are not UTF-8 make
    their line damaged, never the whole file unreadable. With ``whole`` (which objects are
    records), a record glued after a torn one is recovered (:func:`_salvage`).
    """
    lines = data.split(b"\n")
    terminated = data.endswith(b"\n")
    if terminated:
        lines.pop()
    out: list[tuple[int, Any]] = []
    damage = Damage(path)
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            out.append((n, json.loads(raw)))
            continue
        except ValueError:  # UnicodeDecodeError is one too
            pass
        rescued = _salvage(raw, whole) if whole is not None else None
        if rescued is not None:
            out.append((n, rescued))
            damage.salvaged.append(n)
            continue
        damage.skipped.append(n)
        damage.torn_last = n == len(lines) and not terminated
    return out, damage
