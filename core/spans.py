"""The span a person means by "the detector missed an anomaly here", and editing it.

When someone presses ``m`` the monitor proposes a span of the selected channel's visible
history: the most anomalous stretch (by score) that no alert or label covers yet, not the
whole window. The person then moves its edges sample by sample; both live here so that the
UI only asks and shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sensorscope.model import Alert, Label

#: The smallest span proposed, in samples: one sample is not an episode.
MIN_SAMPLES = 5
#: The largest span proposed, as a share of the visible window.
MAX_SHARE = 0.25
#: How many raised stretches are looked at before giving up on finding one no alert covers.
MAX_TRIES = 50
#: A peak stands out when it is this far above the window's median score (scores are
#: calibrated: 0.05 is far below any threshold, well above a quiet channel's jitter) and
#: four times as far as the scores' median distance from it.
MIN_RISE = 0.05
#: With nothing anomalous to go by, the span proposed is this share of the window, at its end.
FALLBACK_SHARE = 0.1
#: Edge steps, as a share of the visible window (at least one sample): a key press, and a
#: key press with shift.
STEP_SHARE = 0.01
BIG_STEP_SHARE = 0.1


def covered_spans(
    channel: str, alerts: Iterable[Alert], labels: Iterable[Label]
) -> list[tuple[float, float]]:
    """``(start, end)`` of every alert episode and labelled span on ``channel``."""
    spans = []
    for a in alerts:
        if a.channel == channel:
            spans.append((a.start, a.until))
    for lab in labels:
        if lab.channel == channel:
            spans.append((float(lab.start), float(lab.end)))
    return spans


def propose_span(
    t: np.ndarray, score: np.ndarray, covered: Sequence[tuple[float, float]] = ()
) -> tuple[int, int] | None:
    """Indexes ``(first, last)`` of the samples a missed-anomaly label should cover.

    Around the highest score not inside a ``covered`` span, the run of samples whose score
    stays in the upper half between the window's typical (median) score and that peak,
    widened to ``MIN_SAMPLES`` and cut to ``MAX_SHARE`` of the window. A run that reaches
    a covered span is the tail of an episode already alerted or labelled: the next peak is
    taken instead. With no peak that
    stands out (``MIN_RISE``; warming up, all covered, jitter alone) the last
    ``FALLBACK_SHARE`` of the window.
    None without samples.

    >>> t = np.arange(100.0)
    >>> s = np.full(100, 0.1); s[40:46] = [0.31, 0.45, 0.5, 0.48, 0.4, 0.32]
    >>> propose_span(t, s)
    (40, 45)
    >>> propose_span(t, s, covered=[(39.0, 47.0)])  # already alerted: nothing stands out
    (90, 99)
    """
    n = len(t)
    if n == 0:
        return None
    t = np.asarray(t, dtype=float)
    s = np.nan_to_num(np.asarray(score, dtype=float), nan=0.0)
    free = np.ones(n, dtype=bool)
    for start, end in covered:
        free &= ~((t >= start) & (t <= end))
    width = max(1, min(n, MIN_SAMPLES))
    level0 = spread = 0.0
    if free.any():
        level0 = float(np.median(s[free]))
        spread = float(np.median(np.abs(s[free] - level0)))
    found = None
    for _ in range(MAX_TRIES):
        if not free.any():
            break
        peak = int(np.argmax(np.where(free, s, -np.inf)))
        top = float(s[peak])
        if top - level0 < max(MIN_RISE, 4 * spread):
            break
        level = level0 + 0.5 * (top - level0)
        lo, hi = _run(s >= level, free, peak)
        if (lo > 0 and not free[lo - 1]) or (hi < n - 1 and not free[hi + 1]):
            # It runs into an alert or a label: the end of an episode already dealt with.
            free[lo : hi + 1] = False
            continue
        found = peak, lo, hi
        break
    if found is None:
        first = max(0, n - max(width, int(round(n * FALLBACK_SHARE))))
        return first, n - 1
    peak, lo, hi = found
    cap = max(width, int(n * MAX_SHARE))
    if hi - lo + 1 > cap:
        # Cut around the peak, as evenly as the run allows.
        lo = max(lo, min(peak - cap // 2, hi - cap + 1))
        hi = lo + cap - 1
    while hi - lo + 1 < width:
        if hi < n - 1 and (lo == 0 or hi - peak <= peak - lo):
            hi += 1
        elif lo > 0:
            lo -= 1
        else:
            break
    return lo, hi


def _run(high: np.ndarray, free: np.ndarray, i: int) -> tuple[int, int]:
    """The run of free samples marked ``high`` around sample ``i``."""
    ok = high & free
    lo = hi = i
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(ok) - 1 and ok[hi + 1]:
        hi += 1
    return lo, hi


def edge_step(n: int, big: bool = False) -> int:
    """How many samples one key press moves an edge in a window of ``n`` samples.

    >>> edge_step(2500), edge_step(2500, big=True), edge_step(30)
    (25, 250, 1)
    """
    return max(1, int(n * (BIG_STEP_SHARE if big else STEP_SHARE)))


def move_edge(span: tuple[int, int], edge: str, samples: int, n: int) -> tuple[int, int]:
    """``span`` with its ``"start"`` or ``"end"`` moved by ``samples`` (negative: earlier),
    kept inside the window of ``n`` samples and never past the other edge.

    >>> move_edge((10, 20), "start", -3, 100), move_edge((10, 20), "end", 50, 30)
    ((7, 20), (10, 29))
    >>> move_edge((10, 20), "start", 15, 100), move_edge((10, 20), "end", -15, 100)
    ((20, 20), (10, 10))
    """
    lo, hi = span
    if edge == "start":
        return min(max(0, lo + samples), hi), hi
    return lo, max(min(n - 1, hi + samples), lo)
