"""Append-only label files (``*.labels.jsonl``): one JSON object per act of labeling.

A label is ``{"id", "channel", "start", "end", "label": "anomaly" | "false_positive",
"alert": id or null, "at": wall time}``; undo appends ``{"retract": id}``. Nothing is ever
rewritten, and each append is fsynced, so a label made a moment before a crash is kept.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
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
            labels[str(obj["id"])] = obj
        else:
            raise UserError(f"{path}:{n}: a label needs id, channel, start, end and label")
    return list(labels.values())
