"""How good is a detector: event and point-wise metrics from labels, and NAB's score.

Three views of the same question, for different readers:

- :func:`event_metrics` counts alert *episodes* against labeled anomaly windows: what a
  person watching the monitor experiences (was the anomaly caught, how late, how many
  false alarms an hour).
- :func:`point_metrics` counts *samples*: the usual precision/recall of a classifier,
  which rewards long alerts and punishes short ones, so read it beside the event view.
- :func:`nab_score` is the Numenta Anomaly Benchmark's score, so a detector's figures can
  be set beside published ones. It follows NAB's rules (and its sweeper's quirks) exactly;
  ``bench/nab_reference.py`` checks that against NAB's published results.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensorscope.errors import UserError
from sensorscope.formats import parse_time
from sensorscope.labels import merge_spans, parse_nab_windows, read_nab_windows
from sensorscope.model import Label, overlaps

# --------------------------------------------------------------------------- NAB

#: NAB's application profiles as (tp, fn, fp) weights, from NAB's ``profiles.json``.
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, 1.0, 0.11),
    "reward_low_FP_rate": (1.0, 1.0, 0.22),
    "reward_low_FN_rate": (1.0, 2.0, 0.11),
}

PROBATION_FRACTION = 0.15
# NAB caps probation at 15% of 5000 rows, so long files are not mostly unscored.
PROBATION_MAX_ROWS = 750

# The threshold NAB reports when never detecting scores best; any score in [0, 1] is
# below it.
NAB_NO_DETECTION_THRESHOLD = 1.1


def scaled_sigmoid(y: float | np.ndarray) -> np.ndarray:
    """NAB's weight of a detection at relative position ``y``: 2 / (1 + e^(5y)) - 1.

    Negative inside a window (-1 at its left edge), positive after it; NAB treats
    anything three window widths or more past a window as a full false positive (-1).

    >>> [round(float(v), 5) for v in scaled_sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.0]))]
    [0.98661, 0.84828, 0.0, -0.98661, -1.0]
    """
    y = np.asarray(y, dtype=float)
    # Clipping keeps exp() from overflowing far past a window; those points are -1 anyway.
    out = 2.0 / (1.0 + np.exp(5.0 * np.minimum(y, 3.0))) - 1.0
    return np.where(y >= 3.0, -1.0, out)


_MAX_TP = float(scaled_sigmoid(-1.0))


def probation_rows(n: int) -> int:
    """Rows at the start of an ``n``-row file that NAB leaves unscored.

    >>> probation_rows(1000), probation_rows(4032), probation_rows(22695)
    (150, 604, 750)
    """
    return min(math.floor(PROBATION_FRACTION * n), PROBATION_MAX_ROWS)


@dataclass
class NabSeries:
    """One scored file: sample times (epoch s, in file order), scores, its NAB windows."""

    name: str
    t: np.ndarray
    score: np.ndarray
    windows: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class NabResult:
    """A NAB score over a set of files.

    ``score`` is normalised (never detecting 0, every window at its first row 100);
    ``raw`` is the weighted sum it comes from and ``per_file`` that sum file by file.
    ``tp``/``fn`` count windows detected/missed, ``fp`` counts detections outside every
    window (rows, as NAB counts them).
    """

    score: float
    threshold: float
    raw: float
    tp: int
    fp: int
    fn: int
    per_file: dict[str, float]
    profile: str = "standard"


@dataclass(frozen=True)
class _Prepared:
    """One file's scorable rows (after probation), with NAB's weights per row.

    Only what depends on the windows is here, not on the profile, so the three profiles
    share one preparation.
    """

    name: str
    score: np.ndarray
    window: np.ndarray  # index of the window a row is in, -1 outside every window
    tp_unit: np.ndarray  # s(position) / s(-1) inside a window
    fp_unit: np.ndarray  # s(distance past the previous window) outside, -1 before any
    n_windows: int  # windows with at least one scorable row


def _prepare(series: NabSeries) -> _Prepared:
    t = np.asarray(series.t, dtype=float)
    score = np.asarray(series.score, dtype=float)
    if t.shape != score.shape or t.ndim != 1:
        raise ValueError(f"{series.name}: t and score must be 1-d arrays of one length")
    n = t.size
    spans = merge_spans((float(a), float(b)) for a, b in series.windows)
    starts = np.array([s for s, _ in spans], dtype=float)
    ends = np.array([e for _, e in spans], dtype=float)
    # NAB finds a window's rows by exact timestamp. A window here runs from the first row
    # at or after its start to the row before the first one past its end: the same rows
    # when the limits are sample times, and still sound when they fall between samples.
    # Searching the running maximum keeps that true where a clock steps back (NAB's
    # machine_temperature file has one such step).
    reached = np.maximum.accumulate(t) if n else t
    left = np.searchsorted(reached, starts, "left")
    right = np.searchsorted(reached, ends, "right") - 1
    has_rows = right >= left
    left, right = left[has_rows], right[has_rows]
    width = (right - left + 1).astype(float)

    idx = np.arange(n)
    k = np.searchsorted(left, idx, "right") - 1
    kc = np.maximum(k, 0)
    inside = (k >= 0) & (idx <= right[kc]) if left.size else np.zeros(n, dtype=bool)
    window = np.where(inside, k, -1)

    tp_unit = np.zeros(n)
    if inside.any():
        ki = k[inside]
        pos = -(right[ki] - idx[inside] + 1) / width[ki]
        tp_unit[inside] = scaled_sigmoid(pos) / _MAX_TP

    # A point after a window is weighed by how far past the most recent window it is,
    # in units of that window's width less one (NAB's formula); a one-row window would
    # divide by zero in NAB, so its width counts as two here.
    fp_unit = np.full(n, -1.0)
    prev = np.searchsorted(right, idx, "left") - 1
    after = ~inside & (prev >= 0)
    if after.any():
        pa = prev[after]
        dist = (idx[after] - right[pa]) / np.maximum(width[pa] - 1.0, 1.0)
        fp_unit[after] = scaled_sigmoid(dist)
    fp_unit[inside] = 0.0

    scored = idx >= probation_rows(n)
    n_windows = int(np.unique(window[scored & inside]).size)
    # A NaN score is never a detection; dropping the row keeps NaN out of the sweep's
    # thresholds while its window still counts (as missed) through n_windows.
    keep = scored & ~np.isnan(score)
    return _Prepared(
        series.name, score[keep], window[keep], tp_unit[keep], fp_unit[keep], n_windows
    )


def _weights(profile: str) -> tuple[float, float, float]:
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"unknown NAB profile {profile!r} (choose from: {', '.join(PROFILES)})"
        ) from None


def _best_threshold(files: Sequence[_Prepared], weights: tuple[float, float, float]) -> float:
    """The threshold whose total over all files is highest (NAB's sweep).

    Lowering the threshold past each score switches rows on in descending score order; a
    row outside windows adds its false-positive cost, a row inside a window changes that
    window's term only when it is earlier than the window's earliest detection so far.
    The running total is one cumulative sum, read at the end of each run of equal scores.
    On equal totals the higher threshold wins, as in NAB (a stable sort from the top).
    """
    tp_w, fn_w, fp_w = weights
    if not files or sum(f.score.size for f in files) == 0:
        return NAB_NO_DETECTION_THRESHOLD
    base = -fn_w * sum(f.n_windows for f in files)
    score = np.concatenate([f.score for f in files])
    offsets = np.cumsum([0] + [int(f.window.max(initial=-1)) + 1 for f in files])
    window = np.concatenate(
        [
            np.where(f.window >= 0, f.window + off, -1)
            for f, off in zip(files, offsets[:-1], strict=True)
        ]
    )
    tp_unit = np.concatenate([f.tp_unit for f in files])
    fp_unit = np.concatenate([f.fp_unit for f in files])

    order = np.argsort(-score, kind="stable")
    s_sorted = score[order]
    w_sorted = window[order]
    delta = np.where(w_sorted < 0, fp_w * fp_unit[order], 0.0)

    in_pos = np.flatnonzero(w_sorted >= 0)
    if in_pos.size:
        # Per window, in sweep order, the earliest row switched on so far: a running max
        # of (window * big - row) cannot leak between windows because every row < big, and
        # it is exact in integers, so an unchanged earliest row adds exactly zero.
        rows = order[in_pos]  # row numbers follow file order, files one after another
        win = w_sorted[in_pos]
        by_win = np.lexsort((in_pos, win))
        win, rows = win[by_win], rows[by_win]
        big = np.int64(score.size + 1)
        earliest = win * big - np.maximum.accumulate(win * big - rows)
        value = tp_w * tp_unit[earliest]
        first = np.r_[True, win[1:] != win[:-1]]
        change = np.where(first, value + fn_w, value - np.r_[0.0, value[:-1]])
        delta[in_pos[by_win]] = change

    totals = base + np.cumsum(delta)
    run_end = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    candidates = np.r_[base, totals[run_end]]
    best = int(np.argmax(candidates))
    if best == 0:
        return max(NAB_NO_DETECTION_THRESHOLD, float(np.nextafter(s_sorted[0], np.inf)))
    return float(s_sorted[run_end][best - 1])


def _score_file(
    f: _Prepared, threshold: float, weights: tuple[float, float, float]
) -> tuple[float, int, int, int]:
    tp_w, fn_w, fp_w = weights
    on = f.score >= threshold
    in_window = f.window >= 0
    false_on = on & ~in_window
    fp_cost = fp_w * float(f.fp_unit[false_on].sum())
    hit_rows = np.flatnonzero(on & in_window)
    # Rows are in file order, so each window's first occurrence is its earliest detection.
    hit_windows, first = np.unique(f.window[hit_rows], return_index=True)
    tp_gain = tp_w * float(f.tp_unit[hit_rows[first]].sum())
    tp = int(hit_windows.size)
    fn = f.n_windows - tp
    return tp_gain - fn_w * fn + fp_cost, tp, int(false_on.sum()), fn


def _nab(files: Sequence[_Prepared], profile: str, threshold: float | None) -> NabResult:
    weights = _weights(profile)
    tp_w, fn_w, _ = weights
    n_windows = sum(f.n_windows for f in files)
    if n_windows == 0:
        raise UserError("NAB score: no labeled window has a scored row, nothing to score")
    if threshold is None:
        threshold = _best_threshold(files, weights)
    per_file: dict[str, float] = {}
    tp = fp = fn = 0
    for f in files:
        raw_f, tp_f, fp_f, fn_f = _score_file(f, threshold, weights)
        per_file[f.name] = raw_f
        tp, fp, fn = tp + tp_f, fp + fp_f, fn + fn_f
    raw = sum(per_file.values())
    null, perfect = -fn_w * n_windows, tp_w * n_windows
    score = 100.0 * (raw - null) / (perfect - null)
    return NabResult(score, threshold, raw, tp, fp, fn, per_file, profile)


def nab_score(
    series: Sequence[NabSeries], profile: str = "standard", threshold: float | None = None
) -> NabResult:
    """NAB's score of ``series`` under ``profile``.

    A row is a detection when its score is at least ``threshold``; with ``threshold``
    None the threshold best over all files together is chosen, as NAB does. To score
    alerts as shipped, pass the onsets (:func:`alert_onsets`) as the score with
    ``threshold=0.5``.

    >>> t = np.arange(20.0)
    >>> s = NabSeries("f", t, (t == 10).astype(float), [(10.0, 13.0)])
    >>> r = nab_score([s])
    >>> round(r.score, 6), r.threshold, (r.tp, r.fp, r.fn)
    (100.0, 1.0, (1, 0, 0))
    """
    return _nab([_prepare(s) for s in series], profile, threshold)


def nab_scores(series: Sequence[NabSeries], threshold: float | None = None) -> dict[str, NabResult]:
    """:func:`nab_score` under every profile in :data:`PROFILES`."""
    files = [_prepare(s) for s in series]
    return {name: _nab(files, name, threshold) for name in PROFILES}


def alert_onsets(alert: np.ndarray) -> np.ndarray:
    """1.0 at the first sample of each run of alert flags, else 0.0.

    NAB counts only the earliest detection in a window and charges every later one
    outside windows, so an episode is scored as one detection at its start.

    >>> alert_onsets(np.array([0, 1, 1, 0, 1], dtype=bool)).tolist()
    [0.0, 1.0, 0.0, 0.0, 1.0]
    """
    a = np.asarray(alert, dtype=bool)
    return (a & ~np.r_[False, a[:-1]]).astype(float)


def load_nab_windows(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """NAB windows (``combined_windows.json``) as epoch seconds, keyed as in the file.

    NAB's timestamps have no zone; they are read as UTC.
    """
    return parse_nab_windows(read_nab_windows(str(path)), str(path))


def _number(text: Any) -> float:
    if text is None or text == "":
        return math.nan
    if isinstance(text, bool):
        return float(text)
    if isinstance(text, str) and text.strip().lower() in ("true", "false"):
        return float(text.strip().lower() == "true")
    return float(text)


def read_score_csv(
    path: str | Path, channel: str | None = None, column: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t, value, score)`` from a NAB result file or a sensorscope score file.

    NAB results are ``timestamp,value,anomaly_score``; sensorscope's are
    ``timestamp,channel,value,imputed,score,alert`` (CSV, or JSONL by extension) with
    one row per channel sample, so ``channel`` picks one when there are several.
    ``column`` names the score column to return (say ``"alert"`` for the alert flags);
    by default ``anomaly_score`` or ``score``. Empty values are NaN.
    """
    path = Path(path)
    rows = _read_rows(path)
    if not rows:
        raise UserError(f"{path}: no rows")
    fields = rows[0].keys()
    if "timestamp" not in fields and "t" not in fields:
        raise UserError(f"{path}: no timestamp column")
    if column is None:
        column = next((c for c in ("anomaly_score", "score") if c in fields), None)
        if column is None:
            raise UserError(f"{path}: no anomaly_score or score column")
    elif column not in fields:
        raise UserError(f"{path}: no column {column!r} (it has: {', '.join(fields)})")
    if "channel" in fields:
        present = sorted({str(r.get("channel")) for r in rows})
        if channel is None and len(present) > 1:
            raise UserError(f"{path}: several channels, pick one of: {', '.join(present)}")
        if channel is not None and channel not in present:
            raise UserError(f"{path}: no channel {channel!r} (it has: {', '.join(present)})")
        if channel is not None:
            rows = [r for r in rows if str(r.get("channel")) == channel]
    n = len(rows)
    t, value, score = np.empty(n), np.empty(n), np.empty(n)
    for i, r in enumerate(rows):
        raw_t = r.get("t") if r.get("t") not in (None, "") else r.get("timestamp")
        ts = parse_time(str(raw_t)) if isinstance(raw_t, str) else _number(raw_t)
        if ts is None or math.isnan(ts):
            raise UserError(f"{path}: row {i + 1}: cannot read the time {raw_t!r}")
        try:
            t[i], value[i], score[i] = ts, _number(r.get("value")), _number(r.get(column))
        except (TypeError, ValueError):
            raise UserError(f"{path}: row {i + 1}: value or {column} is not a number") from None
    return t, value, score


def _read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            if path.suffix.lower() in (".jsonl", ".ndjson"):
                rows = []
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except ValueError:
                            raise UserError(f"{path}:{n}: not a JSON object") from None
                return rows
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- events


def _get(obj: Any, name: str, default: Any = None) -> Any:
    # Alerts and labels come as dataclasses, rows of a file as dicts; all are welcome.
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    if name == "label" and isinstance(obj, Label):
        return obj.kind.value  # a label's kind is what an alert calls its label
    return getattr(obj, name, default)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        # With one side undefined, a zero on the other still decides: nothing was right.
        return 0.0 if precision == 0.0 or recall == 0.0 else None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class EventMetrics:
    """Alert episodes against labeled windows.

    ``tp``/``fn``: windows detected/missed; ``fp``: false alerts; ``true_alerts``: alerts
    that overlap a window. ``precision`` is over alerts (true / all), ``recall`` over
    windows (detected / all); None where there is nothing to divide by (no alerts, no
    windows), and ``f1`` None when it cannot be told (0 when either side is 0).
    ``median_delay_s`` is over detected windows; ``false_alerts_per_hour`` None when
    the duration is not positive.
    """

    tp: int
    fn: int
    fp: int
    true_alerts: int
    precision: float | None
    recall: float | None
    f1: float | None
    median_delay_s: float | None
    false_alerts_per_hour: float | None


def _span(obj: Any) -> tuple[str, float, float]:
    start = float(_get(obj, "start"))
    end = _get(obj, "end")
    if end is None:
        # An alert still open at the end of the data reaches its last high score.
        end = _get(obj, "last_above", start)
    return str(_get(obj, "channel")), start, float(end)


def event_metrics(alerts: Iterable[Any], windows: Iterable[Any], duration_s: float) -> EventMetrics:
    """Event metrics of alert episodes against labeled anomaly windows.

    Alerts and windows need ``channel``, ``start`` and ``end`` (attributes or keys), so
    :class:`sensorscope.model.Alert` and label records both fit. A window is detected when an
    alert on its channel overlaps it (ends touching count); its delay is that alert's
    start less the window's start, 0 when the alert began first. An alert labeled
    ``false_positive`` is a false alert and detects nothing, like one that overlaps no
    window. Label records labeled ``false_positive`` are not windows and are skipped, so
    :func:`sensorscope.labels.read_labels` output can be passed as it is.

    >>> hit = {"channel": "a", "start": 12, "end": 14}
    >>> stray = {"channel": "a", "start": 40, "end": 41}
    >>> m = event_metrics([hit, stray], [{"channel": "a", "start": 10, "end": 20}], 3600)
    >>> m.tp, m.fn, m.fp, m.precision, m.recall, m.median_delay_s, m.false_alerts_per_hour
    (1, 0, 1, 0.5, 1.0, 2.0, 1.0)
    """
    wins = [_span(w) for w in windows if _get(w, "label") != "false_positive"]
    by_channel: dict[str, list[int]] = defaultdict(list)
    for i, (ch, _, _) in enumerate(wins):
        by_channel[ch].append(i)
    delay: dict[int, float] = {}
    true_alerts = false_alerts = 0
    for alert in alerts:
        ch, start, end = _span(alert)
        hits = [i for i in by_channel.get(ch, ()) if overlaps(start, end, *wins[i][1:])]
        if not hits or _get(alert, "label") == "false_positive":
            false_alerts += 1
            continue
        true_alerts += 1
        for i in hits:
            d = max(0.0, start - wins[i][1])
            delay[i] = min(d, delay.get(i, d))
    tp = len(delay)
    precision = _ratio(true_alerts, true_alerts + false_alerts)
    recall = _ratio(tp, len(wins))
    return EventMetrics(
        tp=tp,
        fn=len(wins) - tp,
        fp=false_alerts,
        true_alerts=true_alerts,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        median_delay_s=statistics.median(delay.values()) if delay else None,
        false_alerts_per_hour=false_alerts / (duration_s / 3600.0) if duration_s > 0 else None,
    )


def event_metrics_by_channel(
    alerts: Iterable[Any], windows: Iterable[Any], duration_s: float
) -> dict[str, EventMetrics]:
    """:func:`event_metrics` for each channel that has an alert or a window, by name."""
    alerts, windows = list(alerts), list(windows)
    windows = [w for w in windows if _get(w, "label") != "false_positive"]
    channels = sorted({str(_get(x, "channel")) for x in [*alerts, *windows]})
    return {
        ch: event_metrics(
            [a for a in alerts if str(_get(a, "channel")) == ch],
            [w for w in windows if str(_get(w, "channel")) == ch],
            duration_s,
        )
        for ch in channels
    }


# --------------------------------------------------------------------------- points


@dataclass(frozen=True)
class PointMetrics:
    """Samples flagged by alerts against samples inside labeled windows.

    ``precision`` is None with no flagged sample, ``recall`` None with no sample in a
    window; ``f1`` as in :class:`EventMetrics`.
    """

    precision: float | None
    recall: float | None
    f1: float | None
    tp: int
    fp: int
    fn: int


def in_windows(t: np.ndarray, windows: Iterable[tuple[float, float]]) -> np.ndarray:
    """Whether each time falls in some window (ends included).

    >>> in_windows(np.array([0.0, 1.0, 2.5, 4.0, 5.0]), [(1, 2), (2.5, 4)]).tolist()
    [False, True, True, True, False]
    """
    t = np.asarray(t, dtype=float)
    spans = merge_spans((float(a), float(b)) for a, b in windows)
    if not spans:
        return np.zeros(t.shape, dtype=bool)
    starts = np.array([s for s, _ in spans])
    ends = np.array([e for _, e in spans])
    k = np.searchsorted(starts, t, "right") - 1
    return (k >= 0) & (t <= ends[np.maximum(k, 0)])


def point_metrics(
    t: np.ndarray, alert_flags: np.ndarray, windows: Iterable[tuple[float, float]]
) -> PointMetrics:
    """Point-wise precision/recall/F1: a sample is positive when its time is in a window.

    >>> t = np.arange(10.0)
    >>> flags = np.isin(t, [3, 4, 8])
    >>> point_metrics(t, flags, [(2, 5)])
    PointMetrics(precision=0.6666666666666666, recall=0.5, f1=0.5714285714285715, tp=2, fp=1, fn=2)
    """
    flags = np.asarray(alert_flags, dtype=bool)
    positive = in_windows(t, windows)
    if flags.shape != positive.shape:
        raise ValueError("t and alert_flags must have one length")
    tp = int((flags & positive).sum())
    fp = int((flags & ~positive).sum())
    fn = int((~flags & positive).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return PointMetrics(precision, recall, _f1(precision, recall), tp, fp, fn)
