"""Append-only label files (``*.labels.jsonl``): one JSON object per act of labeling.

A label is ``{"id", "channel", "start", "end", "label": "anomaly" | "false_positive",
"alert": id or null, "at": wall time}``; undo appends ``{"retract": id}``. Nothing is ever
rewritten, and each append is fsynced, so a label made a moment before a crash is kept;
a torn last line such a crash leaves is skipped, reported, and written past
(:mod:`sensorscope.jsonl`).

Labels a tool generated rather than a person made (the simulator's faults, imported NAB
windows) carry ``"source"``: a file of only such labels is ground truth, which the
monitor reads but never appends to unless its path is given explicitly.

This module alone knows the file's keys: it reads records into
:class:`~sensorscope.model.Label` and :class:`~sensorscope.model.Retract` and writes them
from those, in the key order the monitor has always written, so a file read and written
back keeps its bytes.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sensorscope.errors import UserError
from sensorscope.jsonl import Damage, append_lines, read_records
from sensorscope.model import Label, LabelKind, Retract

KINDS = tuple(k.value for k in LabelKind)
#: The keys of a label, in the order the file holds them; anything after them is ``extra``.
FIELDS = ("id", "channel", "start", "end", "label", "alert", "at")


def new_label(
    channel: str,
    start: float,
    end: float,
    label: str = "anomaly",
    alert: int | None = None,
    **extra: Any,
) -> Label:
    if label not in KINDS:
        raise ValueError(f"unknown label {label!r} (choose from: {', '.join(KINDS)})")
    if end < start:
        start, end = end, start
    return Label(uuid.uuid4().hex[:12], channel, start, end, LabelKind(label), alert,
                 time.time(), extra)  # fmt: skip


def to_record(rec: Label | Retract) -> dict[str, Any]:
    """The object a labels file holds for a label or a retraction (``at`` left out when
    unknown, as a retraction written by hand has none)."""
    if isinstance(rec, Retract):
        return {"retract": rec.label} if rec.at is None else {"retract": rec.label, "at": rec.at}
    out: dict[str, Any] = {
        "id": rec.id,
        "channel": rec.channel,
        "start": rec.start,
        "end": rec.end,
        "label": rec.kind.value,
        "alert": rec.alert,
    }
    if rec.at is not None:
        out["at"] = rec.at
    out.update(rec.extra)
    return out


def from_record(obj: Any, where: str) -> Label | Retract:
    """A labels file's object as a label or a retraction, or one line saying what is wrong."""
    if not isinstance(obj, dict):
        raise UserError(f"{where}: not a label record")
    if "retract" in obj:
        return Retract(str(obj["retract"]), obj.get("at"))
    if not {"id", "channel", "start", "end", "label"} <= obj.keys():
        raise UserError(f"{where}: a label needs id, channel, start, end and label")
    _check(obj, where)
    return Label(
        id=str(obj["id"]),
        channel=obj["channel"],
        start=obj["start"],
        end=obj["end"],
        kind=LabelKind(obj["label"]),
        alert=obj.get("alert"),
        at=obj.get("at"),
        extra={k: v for k, v in obj.items() if k not in FIELDS},
    )


def append_labels(path: str, records: Iterable[Label | Retract]) -> None:
    """Append records on a line of their own and fsync before returning (the file is
    created even for none): a torn last line left by a crash stays apart, skipped."""
    text = "".join(json.dumps(to_record(r), ensure_ascii=False) + "\n" for r in records)
    try:
        append_lines(path, text)
    except OSError as exc:
        raise UserError(f"cannot write labels {path}: {exc.strerror or exc}") from None


@dataclass
class LabelFile:
    """What a labels file holds: the labels in force, whether they are ground truth, and
    the lines that were skipped as damaged (falsy when none were)."""

    labels: list[Label]
    ground_truth: bool
    damage: Damage


def _is_record(obj: dict[str, Any]) -> bool:
    return "retract" in obj or "id" in obj


def _read(path: str) -> tuple[list[Label | Retract], Damage]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise UserError(f"cannot read labels {path}: {exc.strerror or exc}") from None
    records, damage = read_records(data, path, whole=_is_record)
    return [from_record(obj, f"{path}:{n}") for n, obj in records], damage


def read_acts(path: str) -> list[Label | Retract]:
    """Every record of a labels file, retractions included, in file order (damaged lines
    skipped): what :func:`append_labels` writes back to the same bytes."""
    return _read(path)[0]


def read_label_file(path: str) -> LabelFile:
    """Read a labels file: every label not retracted, in the order they were made.

    A line that is not a complete record (the torn last line of a crash, or damage) is
    skipped and reported in ``damage``; it never makes the file unreadable. A complete
    record that is not a label (a recording given as labels) is an error.

    The labels are ground truth when every one was generated rather than made by a person:
    generators (the simulator, NAB import) name themselves in a ``source`` field. The
    monitor never appends to such a file unless told to.
    """
    acts, damage = _read(path)
    labels: dict[str, Label] = {}
    generated = made = 0
    for rec in acts:
        if isinstance(rec, Retract):
            labels.pop(rec.label, None)
            continue
        labels[rec.id] = rec
        if rec.source:
            generated += 1
        else:
            made += 1
    return LabelFile(list(labels.values()), generated > 0 and made == 0, damage)


def read_labels(path: str, report: Callable[[str], None] | None = None) -> list[Label]:
    """The labels in force in ``path`` (:func:`read_label_file`); damaged lines are skipped
    and, if ``report`` is given, told to it in one line."""
    got = read_label_file(path)
    if got.damage and report is not None:
        report(str(got.damage))
    return got.labels


def is_ground_truth(path: str) -> bool:
    """Whether ``path`` exists and holds ground truth (see :func:`read_label_file`)."""
    if not os.path.isfile(path):
        return False
    try:
        return read_label_file(path).ground_truth
    except UserError:
        return False


def _check(obj: dict[str, Any], where: str) -> None:
    """Raise one line saying which field of a label record cannot be used, if one cannot."""
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


class LabelStore:
    """The labels of one monitor session: read on start, appended by a writer thread.

    A key press must not wait for the disk (the UI thread never blocks on I/O), so labels
    are queued and a writer thread appends and fsyncs each at once; :meth:`flush` waits
    until everything queued is on disk. Undo retracts, in reverse order, the labels made
    in this session.

    A damaged line found on start is skipped and kept, worded, in ``notice``. A file of
    ground truth is refused unless ``ground_truth_ok`` (the user named it).
    """

    def __init__(self, path: str, ground_truth_ok: bool = False) -> None:
        self.path = path
        self._in_force: dict[str, Label] = {}
        self.notice: str | None = None
        if os.path.exists(path):
            got = read_label_file(path)
            if got.ground_truth and not ground_truth_ok:
                raise UserError(
                    f"{path} holds ground truth, not labels of yours; "
                    "name it with --labels to add to it"
                )
            for rec in got.labels:
                self._in_force[rec.id] = rec
            if got.damage:
                self.notice = str(got.damage)
        self._made: list[str] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[Label | Retract | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.error: str | None = None
        self._thread = threading.Thread(target=self._write, name="labels", daemon=True)
        self._thread.start()

    def labels(self) -> list[Label]:
        with self._lock:
            return list(self._in_force.values())

    def add(self, record: Label) -> Label:
        with self._lock:
            self._in_force[record.id] = record
            self._made.append(record.id)
            self._pending += 1
        self._queue.put(record)
        return record

    def undo(self) -> Label | None:
        with self._lock:
            while self._made:
                label_id = self._made.pop()
                rec = self._in_force.pop(label_id, None)
                if rec is not None:
                    self._pending += 1
                    break
            else:
                return None
        self._queue.put(Retract(rec.id, time.time()))
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


def to_nab_windows(labels: Iterable[Label], key: str) -> dict[str, list[list[str]]]:
    """NAB windows (``{"file": [["start", "end"], ...]}``) from the anomaly labels in force.

    NAB windows belong to a file, not a channel, so the anomaly spans of every channel are
    joined; false-positive labels are not windows and are left out.
    """
    spans = [(lab.start, lab.end) for lab in labels if lab.kind is LabelKind.ANOMALY]
    return {key: [[_nab_time(s), _nab_time(e)] for s, e in merge_spans(spans)]}


def from_nab_windows(
    windows: dict[str, list[tuple[float, float]]], key: str, channel: str = "value"
) -> list[Label]:
    """Label records for one file's NAB windows (NAB series have one channel, ``value``)."""
    if key not in windows:
        raise UserError(f"no windows for {key!r} (the file has: {', '.join(sorted(windows))})")
    return [
        new_label(channel, start, end, "anomaly", file=key, source="nab")
        for start, end in windows[key]
    ]


def parse_nab_windows(data: dict[str, Any], path: str) -> dict[str, list[tuple[float, float]]]:
    """NAB windows as epoch seconds; NAB's timestamps have no zone and are read as UTC."""
    from sensorscope.formats import parse_time

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
