"""Append-only label files (``*.labels.jsonl``): one JSON object per act of labeling.

A label is ``{"id", "channel", "start", "end", "label": "anomaly" | "false_positive",
"alert": id or null, "at": wall time}``; undo appends ``{"retract": id}``. Nothing is ever
rewritten, and each append is fsynced, so a label made a moment before a crash is kept.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from core.errors import UserError

KINDS = ("anomaly", "false_positive")


def new_label(
    channel: str,
    start: float,
    end: float,
    label: str = "anomaly",
    alert: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if label not in KINDS:
        raise ValueError(f"unknown label {label!r} (choose from: {', '.join(KINDS)})")
    if end < start:
        start, end = end, start
    return {
        "id": uuid.uuid4().hex[:12],
        "channel": channel,
        "start": start,
        "end": end,
        "label": label,
        "alert": alert,
        "at": time.time(),
        **extra,
    }


def append_labels(path: str, records: Iterable[dict[str, Any]]) -> None:
    """Append records and fsync before returning (the file is created even for none)."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"cannot write labels {path}: {exc.strerror or exc}") from None
    try:
        if text:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
    finally:
        os.close(fd)


def read_labels(path: str) -> list[dict[str, Any]]:
    """The labels in force: every label not retracted, in the order they were made.

    A torn last line (a crash mid-append) is skipped.
    """
    labels: dict[str, dict[str, Any]] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except OSError as exc:
        raise UserError(f"cannot read labels {path}: {exc.strerror or exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            if n == len(lines):
                continue
            raise UserError(f"{path}:{n}: not a label record") from None
        if not isinstance(obj, dict):
            raise UserError(f"{path}:{n}: not a label record")
        if "retract" in obj:
            labels.pop(str(obj["retract"]), None)
        elif {"id", "channel", "start", "end", "label"} <= obj.keys():
            labels[str(obj["id"])] = _checked(obj, f"{path}:{n}")
        else:
            raise UserError(f"{path}:{n}: a label needs id, channel, start, end and label")
    return list(labels.values())


def _checked(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """A label record whose fields can be used, or one line saying which is wrong."""
    for key in ("start", "end"):
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise UserError(f"{where}: the label's {key} is not a time in seconds: {v!r}")
    if obj["end"] < obj["start"]:
        raise UserError(f"{where}: the label ends before it starts")
    if obj["label"] not in KINDS:
        raise UserError(f"{where}: unknown label {obj['label']!r} (expected {' or '.join(KINDS)})")
    if not isinstance(obj["channel"], str):
        raise UserError(f"{where}: the label's channel is not a name: {obj['channel']!r}")
    return obj


class LabelStore:
    """The labels of one monitor session: read on start, appended by a writer thread.

    A key press must not wait for the disk (the UI thread never blocks on I/O), so labels
    are queued and a writer thread appends and fsyncs each at once; :meth:`flush` waits
    until everything queued is on disk. Undo retracts, in reverse order, the labels made
    in this session.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._in_force: dict[str, dict[str, Any]] = {}
        if os.path.exists(path):
            for rec in read_labels(path):
                self._in_force[str(rec["id"])] = rec
        self._made: list[str] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.error: str | None = None
        self._thread = threading.Thread(target=self._write, name="labels", daemon=True)
        self._thread.start()

    def labels(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._in_force.values())

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._in_force[str(record["id"])] = record
            self._made.append(str(record["id"]))
            self._pending += 1
        self._queue.put(record)
        return record

    def undo(self) -> dict[str, Any] | None:
        with self._lock:
            while self._made:
                label_id = self._made.pop()
                rec = self._in_force.pop(label_id, None)
                if rec is not None:
                    self._pending += 1
                    break
            else:
                return None
        self._queue.put({"retract": rec["id"], "at": time.time()})
        return rec

    def _write(self) -> None:
        while True:
            rec = self._queue.get()
            if rec is None:
                return
            try:
                append_labels(self.path, [rec])
            except UserError as exc:
                # Kept for the UI to show; the label stays in memory and in force.
                self.error = str(exc)
            with self._lock:
                self._pending -= 1
                self._idle.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued label is on disk; False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(5)


NAB_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _nab_time(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime(NAB_TIME)


def merge_spans(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted spans with overlapping ones joined.

    >>> merge_spans([(5, 6), (1, 3), (2, 4)])
    [(1, 4), (5, 6)]
    """
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def to_nab_windows(labels: Iterable[dict[str, Any]], key: str) -> dict[str, list[list[str]]]:
    """NAB windows (``{"file": [["start", "end"], ...]}``) from the anomaly labels in force.

    NAB windows belong to a file, not a channel, so the anomaly spans of every channel are
    joined; false-positive labels are not windows and are left out.
    """
    spans = [(lab["start"], lab["end"]) for lab in labels if lab["label"] == "anomaly"]
    return {key: [[_nab_time(s), _nab_time(e)] for s, e in merge_spans(spans)]}


def from_nab_windows(
    windows: dict[str, list[tuple[float, float]]], key: str, channel: str = "value"
) -> list[dict[str, Any]]:
    """Label records for one file's NAB windows (NAB series have one channel, ``value``)."""
    if key not in windows:
        raise UserError(f"no windows for {key!r} (the file has: {', '.join(sorted(windows))})")
    return [new_label(channel, start, end, "anomaly", file=key) for start, end in windows[key]]


def parse_nab_windows(data: dict[str, Any], path: str) -> dict[str, list[tuple[float, float]]]:
    """NAB windows as epoch seconds; NAB's timestamps have no zone and are read as UTC."""
    from core.parse import parse_time

    out: dict[str, list[tuple[float, float]]] = {}
    for key, pairs in data.items():
        spans = []
        for pair in pairs if isinstance(pairs, list) else [pairs]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise UserError(f"{path}: {key}: a window is a [start, end] pair, got {pair!r}")
            start, end = (parse_time(str(x)) for x in pair)
            if start is None or end is None:
                raise UserError(f"{path}: {key}: cannot read the times of window {pair!r}")
            spans.append((start, end))
        out[key] = spans
    return out


def read_nab_windows(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: NAB windows are an object of file -> [[start, end], ...]")
    return data
