"""What every source shares: frames, a source's status, line framing and the base class.

Every source turns its input into :class:`Frame` batches: one frame per received line (raw
text, never parsed here) plus connect/disconnect events. Live and replayed sources share
this one shape so that a replay runs exactly the parser and detector a live run does.

A source is driven by calling :meth:`Source.batches` with a stop event; a live runner does
that in one thread per source, a headless file scorer may do it in the main thread.

This module is the bottom of the sources: the recording and MQTT modules build on it, so it
imports neither of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from sensorscope.model import Frame, SourceStatus

DEFAULT_MAX_LINE = 4096
# Reads block at most this long so a stop request is seen promptly.
READ_TIMEOUT = 0.2
# How many frames a file replay hands over at once when it need not wait between lines.
FILE_BATCH = 2048


def decode_line(data: bytes) -> tuple[str, bytes | None]:
    """Decode a framed line; keep the bytes when they are not UTF-8 so nothing is lost."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), data


class LineFramer:
    """Splits a byte stream into lines on LF, CRLF or CR, with a cap on line length.

    A line longer than ``max_line`` is emitted cut at the cap (``cut=True``) and the rest of
    it, up to the next terminator, is dropped: without a cap a device spewing binary noise
    with no newline would grow the buffer forever.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._t_first: float | None = None
        self._skip_lf = False
        self._discarding = False
        self.cut_lines = 0

    def reset(self) -> None:
        self._buf.clear()
        self._t_first = None
        self._skip_lf = False
        self._discarding = False

    def feed(self, data: bytes, t: float) -> list[tuple[float, bytes, bool]]:
        """Return ``(t_first_byte, line, cut)`` for every line completed by ``data``."""
        out: list[tuple[float, bytes, bool]] = []
        if self._skip_lf and data[:1] == b"\n":
            data = data[1:]
        self._skip_lf = False
        if not data:
            return out
        parts = data.splitlines(keepends=True)
        for part in parts:
            if part.endswith(b"\r\n"):
                body, done = part[:-2], True
            elif part.endswith((b"\n", b"\r")):
                body, done = part[:-1], True
            else:
                body, done = part, False
            if self._discarding:
                if done:
                    self._discarding = False
                continue
            if self._t_first is None:
                self._t_first = t
            self._buf += body
            if len(self._buf) > self.max_line:
                out.append((self._t_first, bytes(self._buf[: self.max_line]), True))
                self.cut_lines += 1
                self._buf.clear()
                self._t_first = None
                self._discarding = not done
                continue
            if done:
                out.append((self._t_first, bytes(self._buf), False))
                self._buf.clear()
                self._t_first = None
        # A CR at the end of a read may be the first half of a CRLF split across reads.
        if data.endswith(b"\r"):
            self._skip_lf = True
        return out


class Source:
    """Base of all sources: a name, a status and a generator of frame batches."""

    kind = "source"
    live = True
    # True when reading later loses nothing: the input waits for the reader (a file on
    # disk, a pipe whose writer is then held back). A reader of such a source waits while
    # scoring is behind; a serial port or a broker would drop what is not read in time.
    can_wait = False
    # Set when the source knows how its lines must be parsed (a CSV file's header).
    parser_args: dict | None = None
    # Whether send() reaches a device: only a port can be written; recordings, files,
    # stdin and MQTT are read-only.
    writable = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = SourceStatus(name=name, kind=self.kind)

    @property
    def names(self) -> list[str]:
        """Source names this source will emit (a recording may hold several)."""
        return [self.name]

    def open(self) -> None:
        """Check the source can be used at all; raise UserError with one clear line if not."""

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        """Queue bytes for the device (a writable source only)."""
        raise NotImplementedError(f"{self.kind} is read-only")

    def close(self) -> None:
        """Release the underlying device or file."""
