"""Scored series: what ``evaluate`` and ``tune`` measure.

A source file is either scored here with the pipeline (the detector settings given) or
read back from a score file (``sensorscope score`` output, or a NAB result file). Either way
each channel becomes one :class:`ChannelSeries` with its times, values, scores, alert flags
and alert episodes, and labels are matched to it by file and channel.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensorscope.episodes import alerts_of, spans
from sensorscope.errors import UserError
from sensorscope.evaluate import read_score_csv
from sensorscope.labels import read_labels
from sensorscope.model import Alert, Label, LabelKind, ScoredBatch, Settings, overlaps
from sensorscope.pipeline import Pipeline
from sensorscope.sources.csv import CsvSource
from sensorscope.sources.replay import RecordingSource


@dataclass
class ChannelSeries:
    key: str  # the source file, as labels name it
    channel: str
    t: np.ndarray
    value: np.ndarray
    score: np.ndarray
    alert: np.ndarray | None  # bool flags; None when a score file has no alert column
    alerts: list[Alert] = field(default_factory=list)
    threshold: float | None = None

    @property
    def duration(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self.t) > 1 else 0.0


def score_file(path: str, settings: Settings, labels: Sequence[Label] = ()) -> list[ChannelSeries]:
    """Run the pipeline over a recording or CSV series, as fast as it goes.

    False-positive ``labels`` act as they would have in the monitor (see
    :meth:`sensorscope.pipeline.Pipeline.learn_labels`).
    """
    src = CsvSource(path) if path.lower().endswith(".csv") else RecordingSource(path)
    batches: list[ScoredBatch] = []
    pipeline = Pipeline(settings, src.names, on_batch=batches.append)
    if labels:
        pipeline.learn_labels(labels)
    if src.parser_args is not None:
        pipeline.use_parser(src.name, **src.parser_args)
    for batch in src.batches(threading.Event()):
        pipeline.process(batch)
    pipeline.finish()
    if not batches:
        return []
    names = batches[-1].names
    cols = {
        k: np.concatenate([getattr(b, k) for b in batches])
        for k in ("t", "channel", "value", "score", "alert")
    }
    out = []
    for i, channel in enumerate(names):
        sel = cols["channel"] == i
        if not sel.any():
            continue
        out.append(
            ChannelSeries(
                key=path,
                channel=channel,
                t=cols["t"][sel],
                value=cols["value"][sel],
                score=cols["score"][sel],
                alert=cols["alert"][sel],
                alerts=[a for a in pipeline.alerts if a.channel == channel],
                threshold=pipeline.threshold_for(channel),
            )
        )
    return out


def read_scores(path: str, key: str) -> list[ChannelSeries]:
    """Channels of a score file: sensorscope's (one row per channel sample) or NAB's."""
    from sensorscope.evaluate import _read_rows

    rows = _read_rows(Path(path))
    if not rows:
        raise UserError(f"{path}: no rows")
    channels = sorted({str(r["channel"]) for r in rows}) if "channel" in rows[0] else [None]
    has_alert = "alert" in rows[0]
    out = []
    for ch in channels:
        t, value, score = read_score_csv(path, channel=ch)
        alert = None
        if has_alert:
            alert = read_score_csv(path, channel=ch, column="alert")[2] > 0.5
        name = ch or "value"
        out.append(
            ChannelSeries(
                key=key,
                channel=name,
                t=t,
                value=value,
                score=score,
                alert=alert,
                alerts=[] if alert is None else alerts_of(name, t, score, *spans(alert, 1)),
            )
        )
    return out


def matches(path: str, key: str) -> bool:
    """Does the source at ``path`` answer to ``key`` (a NAB-style relative path or a name)?"""
    p = Path(os.path.normpath(path)).as_posix()
    k = Path(os.path.normpath(key)).as_posix()
    return p == k or p.endswith("/" + k) or Path(p).name == Path(k).name


def pair_scores(sources: Sequence[str], scores: Sequence[str]) -> dict[str, str]:
    """Give each source its score file by relative path or file name; refuse ambiguity."""
    out: dict[str, str] = {}
    for src in sources:
        found = [s for s in scores if matches(s, Path(src).name)]
        if len(found) > 1:
            raise UserError(f"several score files fit {src}: {', '.join(found)}")
        if found:
            out[src] = found[0]
    return out


@dataclass
class Windows:
    """Labeled spans by (source, channel): anomaly windows and false-positive spans."""

    anomaly: dict[tuple[str, str], list[tuple[float, float]]]
    false_positive: dict[tuple[str, str], list[tuple[float, float]]]


def load_windows(path: str, series: Sequence[ChannelSeries]) -> Windows:
    """Labels from a labels JSONL or a NAB windows JSON, matched to the series.

    NAB windows belong to a file: they apply to every channel of the source they name.
    A JSONL label with a ``file`` applies to that source; without one, to every source
    with that channel.
    """
    anomaly: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    false_pos: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    keys = sorted({s.key for s in series})
    if path.lower().endswith(".json"):
        from sensorscope.evaluate import load_nab_windows

        try:
            nab = load_nab_windows(path)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"cannot read NAB windows {path}: {exc}") from None
        for name, wins in nab.items():
            for key in keys:
                if matches(key, name):
                    for s in series:
                        if s.key == key:
                            anomaly[(key, s.channel)].extend(wins)
        return Windows(dict(anomaly), {})
    for rec in read_labels(path):
        target = rec.file
        for key in keys:
            if target is not None and not matches(key, target):
                continue
            bucket = anomaly if rec.kind is LabelKind.ANOMALY else false_pos
            bucket[(key, rec.channel)].append((float(rec.start), float(rec.end)))
    return Windows(dict(anomaly), dict(false_pos))


def apply_false_positive_labels(series: Sequence[ChannelSeries], windows: Windows) -> None:
    """Mark the alerts that a false-positive label covers, so metrics count them as false."""
    for s in series:
        spans = windows.false_positive.get((s.key, s.channel), [])
        for alert in s.alerts:
            if any(overlaps(a, b, alert.start, alert.until) for a, b in spans):
                alert.label = "false_positive"


def load_series(
    sources: Sequence[str],
    settings: Settings,
    scores: Sequence[str] = (),
    feedback_labels: str | None = None,
) -> list[ChannelSeries]:
    """Every channel of every source: read from its score file, else scored now (with the
    false positives of ``feedback_labels`` acting, when given)."""
    for src in sources:
        if not os.path.isfile(src):
            raise UserError(f"no such file: {src}")
    paired = pair_scores(sources, scores)
    labels = read_labels(feedback_labels) if feedback_labels else []
    out: list[ChannelSeries] = []
    for src in sources:
        mine = [lab for lab in labels if lab.file is None or matches(src, lab.file)]
        got = read_scores(paired[src], src) if src in paired else score_file(src, settings, mine)
        for s in got:
            s.key = src
        out.extend(got)
    return out


def describe(series: Sequence[ChannelSeries]) -> list[dict[str, Any]]:
    return [{"source": s.key, "channel": s.channel, "samples": len(s.t)} for s in series]


def _asdict(m: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(m)


def evaluate_series(series: Sequence[ChannelSeries], windows: Windows) -> dict[str, Any]:
    """Event, point-wise and NAB metrics per channel, per file and in total, as plain data."""
    from sensorscope.evaluate import (
        NabSeries,
        alert_onsets,
        event_metrics,
        nab_scores,
        point_metrics,
    )

    apply_false_positive_labels(series, windows)

    def wins(s: ChannelSeries) -> list[dict[str, Any]]:
        spans = windows.anomaly.get((s.key, s.channel), [])
        return [{"channel": s.channel, "start": a, "end": b} for a, b in spans]

    def flags(s: ChannelSeries) -> np.ndarray:
        return s.alert if s.alert is not None else np.zeros(len(s.t), dtype=bool)

    def group(members: Sequence[ChannelSeries]) -> dict[str, Any]:
        tagged = [(f"{s.key}\0{s.channel}", s) for s in members]
        # Channels of different files may share a name; tag them so they stay apart.
        alerts = [
            {"channel": tag, "start": a.start, "end": a.end, "last_above": a.last_above,
             "label": a.label}
            for tag, s in tagged
            for a in s.alerts
        ]  # fmt: skip
        ws = [{**w, "channel": tag} for tag, s in tagged for w in wins(s)]
        duration = sum(s.duration for s in members)
        events = event_metrics(alerts, ws, duration)
        t = np.concatenate([s.t for s in members]) if members else np.zeros(0)
        pts = [point_metrics(s.t, flags(s), [(w["start"], w["end"]) for w in wins(s)])
               for s in members]  # fmt: skip
        tp, fp, fn = (sum(getattr(p, k) for p in pts) for k in ("tp", "fp", "fn"))
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision and recall
            else (0.0 if precision == 0 or recall == 0 else None)
        )
        return {
            "samples": int(len(t)),
            "hours": duration / 3600.0,
            "alerts": len(alerts),
            "windows": len(ws),
            "events": _asdict(events),
            "points": {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall,
                       "f1": f1},
        }  # fmt: skip

    by_file: dict[str, list[ChannelSeries]] = defaultdict(list)
    for s in series:
        by_file[s.key].append(s)
    result: dict[str, Any] = {
        "channels": [{"source": s.key, "channel": s.channel, **group([s])} for s in series],
        "files": [{"source": k, **group(v)} for k, v in by_file.items()],
        "total": group(series),
        "nab": {},
    }
    nab_in = [(s, [(w["start"], w["end"]) for w in wins(s)]) for s in series]
    if any(w for _, w in nab_in):
        raw = nab_scores([NabSeries(f"{s.key}:{s.channel}", s.t, s.score, w) for s, w in nab_in])
        result["nab"]["raw"] = {p: {"score": r.score, "threshold": r.threshold}
                                for p, r in raw.items()}  # fmt: skip
        if all(s.alert is not None for s in series):
            shipped = nab_scores(
                [NabSeries(f"{s.key}:{s.channel}", s.t, alert_onsets(s.alert).astype(float), w)
                 for s, w in nab_in],
                threshold=0.5,
            )  # fmt: skip
            result["nab"]["shipped"] = {p: {"score": r.score} for p, r in shipped.items()}
    return result
