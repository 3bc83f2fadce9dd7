"""Fault rules: what statistics cannot see, each with a one-line reason.

Values outside a physical range the user gives for the channel (:func:`limits_for`), the
sentinel values sensors print when they fail (:data:`~sensorscope.model.DEFAULT_SENTINELS`:
DS18B20's -127 and 85.00 among them) while the channel's real readings stay elsewhere
(:class:`FaultRules`), and dropouts: no sample for ``dropout`` times the usual interval
(:class:`Dropouts`). The channel engine (:mod:`sensorscope.engine`) runs them beside its model;
what a false-positive label taught (:mod:`sensorscope.feedback`) comes in as the values and gaps
that are known and not raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from sensorscope.channel_file import for_channel
from sensorscope.detect.numeric import ewma_states
from sensorscope.episodes import Event, event
from sensorscope.model import DEFAULT_DROPOUT, DEFAULT_SENTINELS, Alert, Reason

__all__ = [
    "Dropouts",
    "FaultRules",
    "limits_for",
    "unmatched_limits",
    "unmatched_limits_message",
]

# The usual interval is known after this many gaps; before, nothing is late.
DROPOUT_MIN_GAPS = 20
DROPOUT_RATE = 0.1
# However fast a channel, a silence shorter than this is not worth an alert (s).
DROPOUT_MIN_GAP = 1.0
# The long gaps a channel usually has fade from memory over about this many samples, so a
# device that sends in bursts (ten lines, then a pause) is judged by its pauses.
DROPOUT_MEMORY = 200


def limits_for(channel: str, limits: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The physical range given for ``channel``: by its name, its name without the source
    prefix, or a shell pattern (``temp*``); an exact name wins over a pattern.

    >>> limits_for("lab1/temp", {"temp": (-40.0, 125.0)})
    (-40.0, 125.0)
    >>> limits_for("hum", {"t*": (0.0, 1.0)}) is None
    True
    """
    return for_channel(channel, limits)


def unmatched_limits(limits: dict[str, tuple[float, float]], channels: Iterable[str]) -> list[str]:
    """The names and patterns of ``limits`` that no channel answers to (a typo in
    ``--range``), in the order given.

    >>> unmatched_limits({"temp": (0.0, 1.0), "hmu": (0.0, 1.0)}, ["lab/temp", "lab/hum"])
    ['hmu']
    """
    names = list(channels)
    return [
        pattern
        for pattern in limits
        if not any(limits_for(ch, {pattern: limits[pattern]}) is not None for ch in names)
    ]


def unmatched_limits_message(
    limits: dict[str, tuple[float, float]], channels: Iterable[str]
) -> str:
    """One line for the ``--range`` names that match no channel, or "" when all match."""
    names = sorted(channels)
    bad = unmatched_limits(limits, names)
    if not bad:
        return ""
    which = ", ".join(bad)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    verb = "matches" if len(bad) == 1 else "match"
    return f"--range {which} {verb} no channel (channels: {shown})"


class FaultRules:
    """The value rules of one channel: its physical range and the sentinel values, which
    count as faults only while they lie outside the range of its real readings so far."""

    def __init__(
        self, limits: tuple[float, float] | None = None,
        sentinels: Sequence[float] = DEFAULT_SENTINELS,
    ) -> None:  # fmt: skip
        self.limits = limits
        self.sentinels = np.array(sorted(set(float(s) for s in sentinels)), dtype=np.float64)
        # Range of the real readings (no sentinels, within limits) that a sentinel must leave.
        self._seen_lo = math.inf
        self._seen_hi = -math.inf

    def codes(
        self, value: np.ndarray, observed: np.ndarray, known: Iterable[float] = ()
    ) -> np.ndarray:
        """Reason codes of the rules per sample (0: none fired); a sentinel among ``known``
        (labelled false positive) is not one."""
        n = len(value)
        out = np.zeros(n, dtype=np.int8)
        if n == 0:
            return out
        if self.limits is not None:
            lo, hi = self.limits
            out[observed & (value < lo)] = Reason.BELOW
            out[observed & (value > hi)] = Reason.ABOVE
        sentinel = observed & np.isin(value, self.sentinels) if len(self.sentinels) else None
        real = observed & (out == Reason.NONE)
        if sentinel is not None:
            real &= ~sentinel
        vr = np.where(real, value, np.nan)
        # The range of real readings before each sample.
        los = np.fmin.accumulate(np.concatenate(([self._seen_lo], np.where(real, vr, np.inf))))
        his = np.fmax.accumulate(np.concatenate(([self._seen_hi], np.where(real, vr, -np.inf))))
        if sentinel is not None and sentinel.any():
            lo_b, hi_b = los[:-1], his[:-1]
            tol = np.maximum(0.05 * (hi_b - lo_b), 1e-9 * np.abs(value))
            with np.errstate(invalid="ignore"):
                outside = ~np.isfinite(lo_b) | (value < lo_b - tol) | (value > hi_b + tol)
            fp_values = set(known)
            flagged = sentinel & outside
            if fp_values:
                flagged &= ~np.isin(value, list(fp_values))
            out[flagged] = Reason.SENTINEL
        self._seen_lo, self._seen_hi = float(los[-1]), float(his[-1])
        return out


class Dropouts:
    """Gaps in one channel's data: the usual interval between samples (its mean and the long
    gaps it has lately), and a dropout opened by a live clock while nothing came.

    ``known(gap)`` says a gap is within a labelled false positive's, and is not raised.
    """

    def __init__(
        self, name: str, dropout: float = DEFAULT_DROPOUT,
        known: Callable[[float], bool] = lambda gap: False,
    ) -> None:  # fmt: skip
        self.name = name
        self.dropout = dropout
        self.known = known
        # Data time of the last sample, usual interval, the long gaps seen lately (a bursty
        # device), gaps seen, the dropout a live tick opened.
        self.last_t: float | None = None
        self.interval: float | None = None
        self.gap_high: float | None = None
        self.gaps = 0
        self.alert: Alert | None = None

    def scan(
        self, t: np.ndarray, value: np.ndarray, alert: np.ndarray, events: list[Event]
    ) -> list[Alert]:
        """Find gaps longer than ``dropout`` times the usual interval (and close a dropout
        that a live tick opened, at the first sample that came): flag the sample after each,
        add its events, and return the dropouts ended, in order."""
        n = len(t)
        done: list[Alert] = []
        if n == 0:
            return done
        if self.alert is not None:
            ep = self.close(float(t[0]))
            done.append(ep)
            alert[0] = True
            events.append(event(0, "close", ep))
            # The gap that was reported is not learned as an interval.
            self.last_t = float(t[0])
            start = 1
        else:
            start = 0
        if self.last_t is None:
            self.last_t = float(t[0])
            start = 1
        if start >= n:
            return done
        gaps = np.diff(np.concatenate(([self.last_t], t[start:])))
        gaps = np.where(np.isfinite(gaps), np.maximum(gaps, 0.0), 0.0)
        pos = 0
        while pos < len(gaps):
            g = gaps[pos:]
            if self.interval is None:
                self.interval = self.gap_high = float(g[0])
                self.gaps = 1
                pos += 1
                continue
            k = self._first_late(g)
            if k is None:
                break
            j = start + pos + k  # the sample after the gap
            gap = float(g[k])
            if not self.known(gap):
                prev_t = float(t[j - 1]) if j > 0 else self.last_t
                ep = Alert(
                    0, self.name, prev_t + self.late_after(), None, 1.0,
                    float(value[j]) if np.isfinite(value[j]) else 0.0, float(t[j]), float(t[j]),
                    reason=_dropout_reason(gap, self.interval), why=Reason.DROPOUT,
                )  # fmt: skip
                events.append(event(j, "open", ep))
                ep.end = float(t[j])
                done.append(ep)
                alert[j] = True
                events.append(event(j, "close", ep))
            pos += k + 1
        self.last_t = float(t[-1])
        return done

    def _first_late(self, g: np.ndarray) -> int | None:
        """Learn the usual interval from the gaps ``g`` up to the first one that is late, and
        return its index (None: none is, and all are learned)."""
        assert self.interval is not None and self.gap_high is not None
        means = ewma_states(g, DROPOUT_RATE, self.interval)
        highs = _envelope(g, self.gap_high)
        usual = np.maximum(means[:-1], highs[:-1])
        count = self.gaps + np.arange(len(g))
        late = self.dropout > 0
        late = late & (count >= DROPOUT_MIN_GAPS)
        late &= g > np.maximum(self.dropout * usual, DROPOUT_MIN_GAP)
        hits = np.flatnonzero(late)
        if not len(hits):
            self.interval, self.gap_high = float(means[-1]), float(highs[-1])
            self.gaps += len(g)
            return None
        # The gap itself is not learned as an interval: the rest starts from before it.
        k = int(hits[0])
        self.interval, self.gap_high = float(means[k]), float(highs[k])
        self.gaps += k
        return k

    def late_after(self) -> float:
        """Silence longer than this is a dropout."""
        usual = max(self.interval or 0.0, self.gap_high or 0.0)
        return max(self.dropout * usual, DROPOUT_MIN_GAP)

    def tick(self, now_t: float, last_value: float | None) -> list[Event]:
        """A live clock's "now" in this channel's data time: open a dropout when late."""
        if (
            self.dropout <= 0
            or self.alert is not None
            or self.last_t is None
            or self.interval is None
            or self.gaps < DROPOUT_MIN_GAPS
        ):
            return []
        gap = now_t - self.last_t
        if gap <= self.late_after() or self.known(gap):
            return []
        ep = Alert(
            0, self.name, self.last_t + self.late_after(), None, 1.0,
            last_value if last_value is not None else 0.0, now_t, now_t,
            reason=_dropout_reason(gap, self.interval), why=Reason.DROPOUT,
        )  # fmt: skip
        self.alert = ep
        return [event(-1, "open", ep)]

    def close(self, t: float) -> Alert:
        """End the dropout a live tick opened, at data time ``t``."""
        ep = self.alert
        assert ep is not None
        self.alert = None
        ep.end = ep.last_above = max(t, ep.start)
        if self.interval:
            ep.reason = _dropout_reason(t - (self.last_t or t), self.interval)
        return ep


def _envelope(g: np.ndarray, h0: float) -> np.ndarray:
    """``h <- max(g_k, h * d)`` from ``h0`` (``d = 1 - 1/DROPOUT_MEMORY``): the states, len + 1.

    In logs the decay is a straight line, so the envelope is a running maximum.

    >>> _envelope(np.array([1.0, 0.0, 0.0]), 0.5).round(4).tolist()
    [0.5, 1.0, 0.995, 0.99]
    """
    ld = math.log1p(-1.0 / DROPOUT_MEMORY)
    k = np.arange(1, len(g) + 1)
    with np.errstate(divide="ignore"):
        lg = np.log(np.concatenate(([max(h0, 1e-300)], np.maximum(g, 1e-300))))
    steps = np.concatenate(([0], k))
    best = np.maximum.accumulate(lg - steps * ld)
    return np.exp(best + steps * ld)


def _dropout_reason(gap: float, usual: float) -> str:
    return f"no data for {_secs(gap)} (usual {_secs(usual)})"


def _secs(s: float) -> str:
    if s >= 120:
        return f"{s / 60:.1f} min"
    if s >= 10:
        return f"{s:.0f} s"
    return f"{s:.2g} s"
