"""False-positive memory: what a false-positive label teaches a channel.

A false-positive label acts (:meth:`FalsePositiveMemory.learn`): the episode's samples are
learned late (by the parts where order does not matter: HST and the learned range), and its
pattern is remembered: for the detector's alerts its shape (how far above and below the level
before it, and for how long), for the rules the stuck or error value, the values outside a
range, the length of a gap. A later episode that starts within that shape is followed quietly
(:class:`OpenEpisode`): if it stays within it (no further from the level than the labelled
one, by a margin, and not much longer) it ends unannounced, a repeat, and is learned; the
moment it goes beyond, it is announced as an alert. Rule alerts that repeat a labelled value
are not raised at all (:meth:`FalsePositiveMemory.suppress`).

The channel engine (:mod:`sensorscope.engine`) owns one memory and one open episode.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sensorscope.model import Alert, Reason

__all__ = ["FalsePositiveMemory", "OpenEpisode", "Pattern", "Record", "learn_late"]

# An episode's samples kept for learning them late on a false-positive label.
EPISODE_KEEP = 1024
EPISODES_KEPT = 64
PATTERNS_KEPT = 32
# A repeat counts as the same pattern while it stays within this multiple of the labelled
# one's distance from the level, and lasts at most this multiple of its length (+ hysteresis).
PATTERN_MARGIN = 1.25
PATTERN_LONGER = 2.0
# Observed values kept as the level an episode starts from (their median: an event shorter
# than half of them does not move it) and to measure the channel's noise.
LEVEL_SAMPLES = 256
# A repeat may also stray this many noise deviations beyond the labelled shape.
PATTERN_NOISE = 3.0
# ... and must start at least this abruptly, as a share of the labelled one's largest step
# (over the last ONSET_SAMPLES samples up to its start).
PATTERN_ABRUPT = 0.5
ONSET_SAMPLES = 32

# Rule alerts: a repeat is known by its value (or gap) alone, and not raised at all.
BY_VALUE = (Reason.STUCK, Reason.SENTINEL, Reason.BELOW, Reason.ABOVE)


def learn_late(model: object, values: np.ndarray) -> None:
    """Teach ``model`` samples it did not learn in time, if it can learn out of order."""
    learn = getattr(model, "learn_late", None)
    if len(values) and learn is not None:
        learn(values)


def _median(a: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-D array of finite values: the same partition and the
    same mean of the middle two, without its wrappers (two for every episode that opens).

    >>> _median(np.array([3.0, 1.0, 2.0])), _median(np.array([4.0, 1.0, 2.0, 3.0]))
    (2.0, 2.5)
    """
    h = len(a) // 2
    if len(a) % 2:
        return float(np.partition(a, h)[h])
    part = np.partition(a, (h - 1, h))
    return float((part[h - 1] + part[h]) / 2)


class Record(NamedTuple):
    """What a false-positive label remembers of an episode: its reason and value at the
    start, the level it started from, its length and how abruptly it started."""

    why: int
    value: float
    level: float
    length: int
    jump: float


DROPOUT_RECORD = Record(Reason.DROPOUT, 0.0, 0.0, 0, 0.0)


@dataclass
class Pattern:
    """What a false positive looked like, to recognise a repeat.

    For the detector's alerts, its shape: how far above and below the level before it the
    values went, how many samples it lasted, and how abruptly it started (a door opening is a
    step, a drift a ramp). For the rules, the value (stuck, error value), the values (outside
    a range) or the gap (dropout).
    """

    alert: Alert  # the labelled one (its id may be numbered after the label acted)
    why: int
    lo: float  # the episode's values
    hi: float
    value: float  # the value that decided it (stuck, error value)
    up: float = 0.0  # furthest above the level before the episode
    down: float = 0.0  # furthest below it
    length: int = 0  # samples
    jump: float = 0.0  # the largest step between two samples around its start
    gap: float = 0.0  # dropouts: the silence (s)


class FalsePositiveMemory:
    """One channel's recent episodes (what a label would remember of each) and the
    patterns of those labelled false positives."""

    def __init__(self) -> None:
        self.episodes: deque[tuple[Alert, np.ndarray, Record]] = deque(maxlen=EPISODES_KEPT)
        self.patterns: deque[Pattern] = deque(maxlen=PATTERNS_KEPT)
        self.feedback_count = 0
        self.repeats = 0  # episodes that stayed within a false positive's shape

    def keep(self, alert: Alert, values: np.ndarray, record: Record) -> None:
        """A closed episode, for a label that may come later."""
        self.episodes.append((alert, values, record))

    def keep_dropout(self, alert: Alert) -> None:
        self.episodes.append((alert, np.zeros(0), DROPOUT_RECORD))

    def learn(
        self, alert: Alert, current: tuple[Alert, np.ndarray, Record] | None, late_after: float,
        model: object,
    ) -> bool:  # fmt: skip
        """A false-positive label on ``alert``: learn its samples, remember its pattern.

        ``current`` is the open episode (announced), if any; ``late_after`` the silence that
        is a dropout now. Returns False when the alert is neither a recent episode nor that.
        """
        if any(p.alert is alert or p.alert.id == alert.id for p in self.patterns):
            return True
        kept = next((e for e in reversed(self.episodes) if e[0].id == alert.id), None)
        if kept is None:
            if current is None or current[0].id != alert.id:
                return False
            kept = current
        ep, values, (why, value, level, length, jump) = kept
        lo = float(values.min()) if len(values) else ep.peak_value
        hi = float(values.max()) if len(values) else ep.peak_value
        p = Pattern(ep, why, lo, hi, value)
        if why == Reason.DROPOUT:
            p.gap = ep.until - ep.start + late_after
        elif why not in BY_VALUE:
            p.up, p.down, p.length = max(0.0, hi - level), max(0.0, level - lo), int(length)
            p.jump = jump
        self.patterns.append(p)
        self.feedback_count += 1
        learn_late(model, values)
        return True

    def retract(self, alert_id: int) -> None:
        """Undo a false-positive label: the pattern is forgotten (what was learned stays)."""
        for p in list(self.patterns):
            if p.alert.id == alert_id:
                self.patterns.remove(p)

    # -- what the rules and the detector are told ------------------------------------------

    def sentinel_values(self) -> set[float]:
        """Error values labelled false positives: not sentinels on this channel."""
        return {p.value for p in self.patterns if p.why == Reason.SENTINEL}

    def dropout_known(self, gap: float) -> bool:
        return any(p.why == Reason.DROPOUT and gap <= PATTERN_MARGIN * p.gap for p in self.patterns)

    def suppress(self, s: np.ndarray, w: np.ndarray, value: np.ndarray, threshold: float) -> None:
        """Lower the scores of rule alerts that repeat a false positive's value."""
        if not any(p.why in BY_VALUE for p in self.patterns):
            return
        for k in np.flatnonzero(s >= threshold).tolist():
            if int(w[k]) in BY_VALUE and self._matches(int(w[k]), float(value[k])):
                s[k] = min(s[k], 0.6 * threshold)
                w[k] = Reason.NONE

    def _matches(self, why: int, value: float) -> bool:
        for p in self.patterns:
            if p.why != why:
                continue
            if why in (Reason.STUCK, Reason.SENTINEL):
                if value == p.value:
                    return True
            else:  # outside the physical range: within what was labelled
                tol = 0.05 * (p.hi - p.lo) + 1e-9 * abs(p.hi)
                if p.lo - tol <= value <= p.hi + tol:
                    return True
        return False

    def shape_match(self, dev: float, jump: float, level: float, tol: float) -> Pattern | None:
        """A false positive of the detector whose shape a start ``dev`` from the level, as
        abrupt as ``jump``, lies within."""
        for p in self.patterns:
            if p.why in BY_VALUE or p.why == Reason.DROPOUT:
                continue
            if not -PATTERN_MARGIN * p.down - tol <= dev <= PATTERN_MARGIN * p.up + tol:
                continue
            # Abruptness is compared as it is: noise alone makes steps of a few noise widths.
            if jump >= PATTERN_ABRUPT * p.jump - 1e-9 * (abs(level) + 1.0):
                return p
        return None


class OpenEpisode:
    """The open episode as the memory sees it, and the values before it.

    It keeps the last observed values (the level an episode starts from, the channel's
    noise), and for the open episode: its reason and value at the start, its samples (up to
    :data:`EPISODE_KEEP`, to learn late), how abruptly it started, and whether it started
    within a false positive's shape (``like``): then it is followed quietly, not announced,
    until it goes beyond that shape.
    """

    def __init__(self) -> None:
        self.why: tuple[int, float] = (Reason.NONE, math.nan)  # reason code, value
        self.level = 0.0
        self.noise = 0.0
        self.jump = 0.0
        self.announced = True
        self.like: Pattern | None = None
        self._recent = np.zeros(0)  # the last LEVEL_SAMPLES observed values
        self._values: list[np.ndarray] = []
        self._kept = 0

    def remember(self, value: np.ndarray, observed: np.ndarray) -> None:
        """Keep the last observed values: the level the next episode starts from."""
        seen = value[observed]
        if len(seen):
            self._recent = np.concatenate((self._recent, seen))[-LEVEL_SAMPLES:]

    def start(self, v: float, code: int, first: np.ndarray, memory: FalsePositiveMemory) -> bool:
        """An episode opens at value ``v`` for reason ``code`` (``first``: its first sample if
        observed); whether it is announced."""
        self.why = (code, v)
        self._values = [first]
        self._kept = len(first)
        r = self._recent
        self.level = _median(r) if len(r) else v
        # Noise from successive differences (robust to level changes): MAD / 0.6745 / sqrt 2.
        self.noise = _median(np.abs(np.diff(r))) * 1.0484 if len(r) > 2 else 0.0
        tail = np.concatenate((r[-ONSET_SAMPLES:], [v]))
        self.jump = float(np.abs(np.diff(tail)).max()) if len(tail) > 1 else 0.0
        self.like = (
            memory.shape_match(v - self.level, self.jump, self.level, self.tolerance())
            if code not in BY_VALUE
            else None
        )
        self.announced = self.like is None
        return self.announced

    def collect(self, value: np.ndarray, observed: np.ndarray) -> None:
        """More of the episode's samples (the observed ones, up to EPISODE_KEEP)."""
        if self._kept < EPISODE_KEEP:
            part = value[observed][: EPISODE_KEEP - self._kept]
            self._values.append(part)
            self._kept += len(part)

    def values(self) -> np.ndarray:
        return np.concatenate(self._values) if self._values else np.zeros(0)

    def end(self) -> np.ndarray:
        """The episode closed: its kept samples (and they are let go)."""
        vals = self.values()
        self._values = []
        self._kept = 0
        return vals

    def tolerance(self) -> float:
        return PATTERN_NOISE * self.noise + 1e-9 * (abs(self.level) + 1.0)

    def away(self, value: np.ndarray) -> np.ndarray:
        """An episode that started like a false positive is not over while its values stay
        away from the level (more than half the labelled excursion), followed quietly or
        announced: the detector may have stopped seeing it as new, but a door left open is
        still open."""
        p = self.like
        if p is None:
            return np.zeros(len(value), dtype=bool)
        dev = value - self.level
        tol = self.tolerance()
        with np.errstate(invalid="ignore"):
            return ((p.up > tol) & (dev > 0.5 * p.up + tol)) | (
                (p.down > tol) & (dev < -0.5 * p.down - tol)
            )

    def beyond(
        self, value: np.ndarray, observed: np.ndarray, start_len: int, hysteresis: int
    ) -> tuple[int, str] | None:
        """A quietly followed episode's next samples (``start_len`` of it before them): the
        first that goes further from the level, or lasts longer, than the false positive it
        is like, and how ("bigger" or "longer"); it is then announced."""
        p = self.like
        assert p is not None
        tol = self.tolerance()
        dev = value - self.level
        over = observed & (
            (dev > PATTERN_MARGIN * p.up + tol) | (dev < -PATTERN_MARGIN * p.down - tol)
        )
        too_long = start_len + np.arange(1, len(value) + 1) > PATTERN_LONGER * p.length + (
            hysteresis
        )
        hit = np.flatnonzero(over | too_long)
        if not len(hit):
            return None
        # `like` stays: announced or not, the episode is not over while it stays away.
        self.announced = True
        return int(hit[0]), "bigger" if over[hit[0]] else "longer"

    def record(self, length: int, values: np.ndarray) -> Record:
        """What a label would remember of the episode, given its kept samples."""
        code, v = self.why
        return Record(code, v, self.level, length, self._jump_of(values))

    def _jump_of(self, episode: np.ndarray) -> float:
        """The largest step between two samples around an episode's start: the last samples
        before it (the detector may speak some samples after a step) and its first ones."""
        head = episode[:ONSET_SAMPLES]
        head = head[np.isfinite(head)]
        inside = float(np.abs(np.diff(head)).max()) if len(head) > 1 else 0.0
        return max(self.jump, inside)
