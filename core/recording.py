"""Recordings: raw received lines as JSON Lines, so a replay runs the live parser again.

The first line is a header ``{"sensorscope": 1, "sources": {...}, "started": ISO}``; each
further line is one received line ``{"t": ..., "src": ..., "line": ...}`` (``"b64"`` instead
of ``"line"`` for bytes that are not UTF-8, ``"cut": true`` for a line cut at the length cap,
``"first": true`` for the first line after a connect), an event
``{"t": ..., "src": ..., "event": "connect" | "disconnect", "detail": ...}``, or what was sent
to the board ``{"t": ..., "src": ..., "tx": "rate 50\n"}`` (``"tx_b64"`` for bytes that are
not UTF-8); a replay shows what was sent and never sends it.

Lines are appended and flushed one by one: a killed recorder loses at most the line being
written, and the reader skips such a torn last line.

Reading is done a block at a time: almost every record is a plain ``{"t", "src", "line"}``
object exactly as :class:`RecordingWriter` spells it, and one regular expression over the
block picks those apart far faster than a ``json.loads`` per line; anything else (events,
``b64``, escapes, damage) is decoded by ``json`` as before.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, BinaryIO

from sensorscope.errors import UserError
from sensorscope.jsonl import start_on_new_line
from sensorscope.model import Frame

FORMAT_VERSION = 1
# Bytes read at once: a few thousand records of a typical recording. Reading starts with
# small blocks, so that a replay (or a restarted one) shows its first lines at once.
READ_BLOCK = 1 << 18
FIRST_BLOCK = 1 << 12


def block_sizes() -> Iterator[int]:
    """FIRST_BLOCK, doubling up to READ_BLOCK, then READ_BLOCK for ever."""
    size = min(FIRST_BLOCK, READ_BLOCK)
    while True:
        yield size
        size = min(2 * size, READ_BLOCK)


def line_blocks(fh: BinaryIO) -> Iterator[bytes]:
    """The rest of ``fh`` in blocks of whole lines (of :func:`block_sizes`; a line longer
    than a block joins the next), then the last line if it has no newline."""
    tail = b""
    for size in block_sizes():
        data = fh.read(size)
        if not data:
            break
        if tail:
            data = tail + data
        cut = data.rfind(b"\n") + 1
        if not cut:
            tail = data
            continue
        tail = data[cut:]
        yield data[:cut] if tail else data
    if tail:
        yield tail


# One record as the writer spells a plain line (json.dumps: ", " and ": " separators, a
# JSON number for t, strings without escapes), else any other line. Only lines this
# matches skip json: their JSON value is exactly the three groups (a non-negative JSON
# number converts the same through float() as through json's int or float).
_PLAIN_RECORD = re.compile(
    r'^(?:\{"t": ((?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?), '
    r'"src": "([^"\\\x00-\x1f]*)", "line": "([^"\\\x00-\x1f]*)"\}|(.*))$',
    re.MULTILINE,
)


def frame_to_dict(frame: Frame) -> dict[str, Any]:
    obj: dict[str, Any] = {"t": frame.t, "src": frame.src}
    if frame.event == "tx":
        data = frame.raw or b""
        try:
            obj["tx"] = data.decode("utf-8")
        except UnicodeDecodeError:
            obj["tx_b64"] = base64.b64encode(data).decode("ascii")
        return obj
    if frame.event is not None:
        obj["event"] = frame.event
        if frame.detail:
            obj["detail"] = frame.detail
        return obj
    if frame.raw is not None:
        obj["b64"] = base64.b64encode(frame.raw).decode("ascii")
    else:
        obj["line"] = frame.line
    if frame.cut:
        obj["cut"] = True
    if frame.first:
        obj["first"] = True
    return obj


def dict_to_frame(obj: dict[str, Any]) -> Frame:
    t = float(obj["t"])
    src = str(obj["src"])
    if "event" in obj:
        return Frame(t, src, event=str(obj["event"]), detail=str(obj.get("detail", "")))
    if "tx" in obj or "tx_b64" in obj:
        sent = str(obj["tx"]).encode("utf-8") if "tx" in obj else base64.b64decode(obj["tx_b64"])
        return Frame(t, src, event="tx", raw=sent)
    raw = None
    if "b64" in obj:
        raw = base64.b64decode(obj["b64"])
        line = raw.decode("utf-8", errors="replace")
    else:
        line = str(obj["line"])
    return Frame(t, src, line, raw, cut=bool(obj.get("cut")), first=bool(obj.get("first")))


class RecordingWriter:
    """Appends frames to a recording; safe to call from several reader threads.

    An existing recording is appended to, never truncated: restarting a recorder on the
    same file, or a reconnect, continues the same file, on a line of its own after a
    torn one. Only a header cut short with nothing after it is written again.
    """

    def __init__(self, path: str, sources: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.frames = 0
        try:
            exists = os.path.exists(path) and os.path.getsize(path) > 0
            if exists and _torn_header_only(path):
                # A recorder killed while writing the header: nothing was recorded yet.
                exists = False
                os.truncate(path, 0)
            if exists:
                read_header(path)  # refuse to append to something that is not a recording
            self._fh = open(path, "a+", encoding="utf-8")  # + : start_on_new_line reads
            if exists:
                # A killed recorder may have left a torn last line; ours start on a new one.
                start_on_new_line(self._fh.fileno())
        except OSError as exc:
            raise UserError(f"cannot write recording {path}: {exc.strerror or exc}") from None
        if not exists:
            header = {
                "sensorscope": FORMAT_VERSION,
                "sources": sources or {},
                "started": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            }
            self._write_line(json.dumps(header))

    def _write_line(self, text: str) -> None:
        self._fh.write(text + "\n")
        self._fh.flush()

    def write(self, frames: list[Frame]) -> None:
        if not frames:
            return
        text = "".join(json.dumps(frame_to_dict(f), ensure_ascii=False) + "\n" for f in frames)
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(text)
            self._fh.flush()
            self.frames += len(frames)

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()


def _torn_header_only(path: str) -> bool:
    """Whether the file is only the start of a header line, cut before its end."""
    with open(path, "rb") as fh:
        data = fh.read(1 << 20)
    if b"\n" in data or not data.startswith(b'{"sensorscope"'):
        return False
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


def read_header(path: str) -> dict[str, Any]:
    """The header of a recording; a clear UserError if the file is not one."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or "sensorscope" not in header:
        raise UserError(f"{path}: not a sensorscope recording (no header line)")
    if header["sensorscope"] != FORMAT_VERSION:
        raise UserError(f"{path}: recording format {header['sensorscope']} is not supported")
    return header


def decode_record(raw: bytes) -> Frame | None:
    """One recorded line as a frame; None for a line that does not decode (torn, damaged)."""
    try:
        return dict_to_frame(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return None


def decode_block(data: bytes) -> tuple[list[Frame], int, int]:
    """The frames of whole lines ``data`` (split on LF only, as files are iterated), how many
    of them are lines rather than events, and how many non-blank lines did not decode.

    Gives what :func:`decode_record` gives line by line, blank lines skipped.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    frames: list[Frame] = []
    bad = 0
    if text is None:
        # Damaged bytes somewhere in the block: the block goes the per-line way.
        for raw in data.split(b"\n"):
            if raw.strip():
                frame = decode_record(raw)
                if frame is None:
                    bad += 1
                else:
                    frames.append(frame)
        return frames, sum(f.event is None for f in frames), bad
    found = _PLAIN_RECORD.findall(text)
    if found and not any(found[-1]):
        found.pop()  # the empty "line" after the block's last newline
    stamps = list(map(itemgetter(0), found))
    if "" not in stamps:
        # Every line a plain record (the usual block): its frames made column by column.
        frames = list(map(Frame, map(float, stamps), map(itemgetter(1), found),
                          map(itemgetter(2), found)))  # fmt: skip
        return frames, len(frames), 0
    append = frames.append
    events = 0
    for t, src, line, other in found:
        if t:
            append(Frame(float(t), src, line))
        elif other:
            raw = other.encode("utf-8")
            if raw.strip():
                frame = decode_record(raw)
                if frame is None:
                    bad += 1
                else:
                    append(frame)
                    events += frame.event is not None
    return frames, len(frames) - events, bad


class RecordingReader:
    """Iterates the frames of a recording, or (:meth:`chunks`) lists of them.

    A line that does not decode is skipped and counted: the last one is normal after a
    killed recorder, one in the middle means damage but should not hide the rest.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.header = read_header(path)
        self.offset = 0
        self.skipped = 0

    def __iter__(self) -> Iterator[Frame]:
        for frames, _lines in self.chunks():
            yield from frames

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        """Lists of frames in file order, each with how many of its frames are lines (not
        events); ``offset`` is the end of the last list's bytes when it is yielded."""
        with open(self.path, "rb") as fh:
            self.offset = len(fh.readline())
            for block in line_blocks(fh):
                frames, lines, bad = decode_block(block)
                self.offset += len(block)
                self.skipped += bad
                if frames:
                    yield frames, lines
