"""The alert-episode rule: one alert per anomalous stretch of a channel, not one per sample.

An episode opens on the first sample at or above the threshold and closes after
``hysteresis`` consecutive samples below it, so a noisy score hovering at the threshold gives
one alert rather than a burst of them. Its ``end`` is the time of the last sample at or above
the threshold; the samples of the closing run belong to the episode too (their ``alert`` flag
is set, the closing sample's included), which is what a reader of the score file expects.

The rule exists here once, in two forms that the tests hold to each other:

- streaming, sample by sample: :meth:`EpisodeRule.step` (and :class:`AlertTracker`, which
  keeps one rule and one open :class:`~sensorscope.model.Alert` per channel);
- vectorised: :func:`spans` finds the episodes of a whole series (or of a batch, carrying an
  open episode in from the batch before), used by ``tune``'s threshold search
  (:func:`episodes`), by ``evaluate`` on score files (runs of alert flags are the episodes of
  hysteresis 1) and, through :meth:`EpisodeRule.next_change` and
  :meth:`EpisodeRule.advance`, by the channel engine (:mod:`sensorscope.engine`), which builds
  its holds, evidence and false-positive repeats around it.

"At or above the threshold" is the caller's mask: the engine opens on the score and keeps an
episode open on its evidence; everyone else passes ``score >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TypeAlias

import numpy as np

from sensorscope.model import Alert

__all__ = [
    "AlertTracker",
    "Change",
    "EpisodeRule",
    "Event",
    "alerts_of",
    "episodes",
    "event",
    "span_flags",
    "spans",
]


#: An episode event: the sample it happened at (in its batch; -1: between batches), "open" or
#: "close", the live alert (which later samples go on changing) and a copy of it as it was then.
Event: TypeAlias = tuple[int, str, Alert, Alert]


def event(k: int, kind: str, alert: Alert) -> Event:
    """The event of ``alert`` opening or closing at sample ``k``, with its copy as it is now."""
    return (k, kind, alert, replace(alert))


class Change(Enum):
    """What a sample (or the last sample of a slice) did to the episode state."""

    NONE = 0
    OPENED = 1
    CLOSED = 2


def spans(
    above: np.ndarray, hysteresis: int, quiet: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The episodes of a series as ``(firsts, lasts)``: for each, the index of its first and
    of its last sample at or above the threshold (``above``).

    ``quiet`` carries in an episode open before the series, whose last sample above was
    ``quiet`` samples before the first one (``quiet < hysteresis``): its first index is then
    ``-1 - quiet``, before the series. An episode whose last index plus ``hysteresis`` lies
    beyond the series is still open at its end.

    >>> spans(np.array([0, 1, 0, 1, 0, 0, 0], dtype=bool), 2)
    (array([1]), array([3]))
    >>> spans(np.array([0, 0, 1, 0, 0, 0], dtype=bool), 2, quiet=0)
    (array([-1,  2]), array([-1,  2]))
    """
    idx = np.flatnonzero(above)
    if quiet is not None:
        idx = np.concatenate(([-1 - quiet], idx))
    if not len(idx):
        return idx, idx
    # An episode ends when `hysteresis` samples in a row are below the threshold.
    breaks = np.flatnonzero(np.diff(idx) - 1 >= hysteresis)
    firsts = np.concatenate((idx[:1], idx[breaks + 1]))
    lasts = np.concatenate((idx[breaks], idx[-1:]))
    return firsts, lasts


def span_flags(n: int, firsts: np.ndarray, lasts: np.ndarray, hysteresis: int) -> np.ndarray:
    """The alert flags of ``n`` samples whose episodes are ``firsts, lasts``: each episode's
    samples through the one that closes it (``hysteresis`` after its last above).

    >>> span_flags(7, np.array([1]), np.array([3]), 2).astype(int).tolist()
    [0, 1, 1, 1, 1, 1, 0]
    """
    # Episodes do not overlap (a gap of `hysteresis` separates them): count starts minus ends.
    edge = np.zeros(n + 1, dtype=np.int32)
    edge[np.maximum(firsts, 0)] += 1
    edge[np.minimum(n, lasts + hysteresis + 1)] -= 1
    return np.cumsum(edge[:n]) > 0


def alerts_of(
    channel: str, t: np.ndarray, score: np.ndarray, firsts: np.ndarray, lasts: np.ndarray,
    value: np.ndarray | None = None,
) -> list[Alert]:  # fmt: skip
    """One :class:`Alert` per episode, numbered from 1, ending at its last sample above; its
    peak is its highest score (the first of equals; NaN scores are passed over), with the value
    there (0 without ``value``)."""
    out = []
    for k, (a, b) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True), 1):
        seg = score[a : b + 1]
        p = a + int(np.nanargmax(seg)) if np.isfinite(seg).any() else a
        v = 0.0 if value is None else float(value[p])
        out.append(Alert(k, channel, float(t[a]), float(t[b]), float(score[p]), v,
                         float(t[p]), float(t[b])))  # fmt: skip
    return out


def episodes(
    channel: str, t: np.ndarray, value: np.ndarray, score: np.ndarray, threshold: float,
    hysteresis: int,
) -> tuple[np.ndarray, list[Alert]]:  # fmt: skip
    """Alert flags and episodes of a whole series by the plain rule (score at the threshold
    opens, ``hysteresis`` below closes), exactly as :class:`AlertTracker` makes them sample by
    sample; ``tune``'s fast search applies it to stored scores.

    >>> t = np.arange(7.0)
    >>> flags, eps = episodes("x", t, t, np.array([.1, .9, .5, .95, .1, .1, .1]), .8, 2)
    >>> flags.astype(int).tolist(), [(a.start, a.end, a.peak_score) for a in eps]
    ([0, 1, 1, 1, 1, 1, 0], [(1.0, 3.0, 0.95)])
    """
    firsts, lasts = spans(score >= threshold, hysteresis)
    flags = span_flags(len(score), firsts, lasts, hysteresis)
    return flags, alerts_of(channel, t, score, firsts, lasts, value)


@dataclass(slots=True)
class EpisodeRule:
    """Where one channel stands in the rule: an episode open or not and, while one is, how
    many samples in a row have been below the threshold (``quiet``).

    >>> rule = EpisodeRule(hysteresis=2)
    >>> [rule.step(a).name for a in (False, True, False, True, False, False)]
    ['NONE', 'OPENED', 'NONE', 'NONE', 'NONE', 'CLOSED']
    """

    hysteresis: int
    open: bool = False
    quiet: int = 0

    def __post_init__(self) -> None:
        if self.hysteresis < 1:
            raise ValueError("hysteresis must be at least 1 sample")

    def step(self, above: bool) -> Change:
        """One sample: the streaming form of the rule."""
        if not self.open:
            if not above:
                return Change.NONE
            self.open, self.quiet = True, 0
            return Change.OPENED
        if above:
            self.quiet = 0
            return Change.NONE
        self.quiet += 1
        if self.quiet < self.hysteresis:
            return Change.NONE
        self.close()
        return Change.CLOSED

    def next_change(self, above: np.ndarray) -> int | None:
        """The index of the first sample of ``above`` that opens or closes an episode from
        the state as it is, or None."""
        firsts, lasts = spans(above, self.hysteresis, self.quiet if self.open else None)
        if not self.open:
            return int(firsts[0]) if len(firsts) else None
        k = int(lasts[0]) + self.hysteresis
        return k if k < len(above) else None

    def advance(self, above: np.ndarray) -> Change:
        """Move through samples among which at most the last changes the state (the slice
        was cut at :meth:`next_change`); what that last one did."""
        n = len(above)
        if n == 0:
            return Change.NONE
        if not self.open:
            if not above[-1]:
                return Change.NONE
            self.open, self.quiet = True, 0
            return Change.OPENED
        hits = np.flatnonzero(above)
        self.quiet = n - 1 - int(hits[-1]) if len(hits) else self.quiet + n
        if self.quiet < self.hysteresis:
            return Change.NONE
        self.close()
        return Change.CLOSED

    def close(self) -> None:
        """End the open episode (end of input, or the caller's own reason)."""
        self.open, self.quiet = False, 0


class AlertTracker:
    """The streaming rule over many channels, with an :class:`Alert` per episode.

    The pipeline's channels do more (evidence, holds, false-positive repeats: see
    :mod:`sensorscope.engine`); this is the plain rule, which :func:`episodes` gives for a
    whole series at once.

    >>> tr = AlertTracker(threshold=0.8, hysteresis=2)
    >>> scores = [0.1, 0.9, 0.5, 0.95, 0.1, 0.1, 0.1]
    >>> flags = [tr.update("temp", float(t), 20.0, s)[0] for t, s in enumerate(scores)]
    >>> flags
    [False, True, True, True, True, True, False]
    >>> [(a.id, a.start, a.end, a.peak_score) for a in tr.closed]
    [(1, 1.0, 3.0, 0.95)]
    """

    def __init__(self, threshold: float, hysteresis: int) -> None:
        EpisodeRule(hysteresis)  # refuses a hysteresis below 1, as every rule does
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.thresholds: dict[str, float] = {}
        self.open: dict[str, Alert] = {}
        self._rules: dict[str, EpisodeRule] = {}
        self.closed: list[Alert] = []
        self._next_id = 1

    def threshold_for(self, channel: str) -> float:
        return self.thresholds.get(channel, self.threshold)

    def update(
        self, channel: str, t: float, value: float, score: float, reason: str = ""
    ) -> tuple[bool, Alert | None, Alert | None]:
        """Feed one scored sample; return ``(in_alert, opened, closed)``.

        ``reason`` is a rule's one-line explanation of the score; the episode keeps the
        first one given while it is above the threshold.
        """
        above = score >= self.threshold_for(channel)
        rule = self._rules.get(channel)
        if rule is None:
            rule = self._rules[channel] = EpisodeRule(self.hysteresis)
        was_open = rule.open
        change = rule.step(above)
        if change is Change.OPENED:
            alert = Alert(self._next_id, channel, t, None, score, value, t, t, reason=reason)
            self._next_id += 1
            self.open[channel] = alert
            return True, alert, None
        if change is Change.CLOSED:
            return True, None, self._close(channel)
        if not was_open:
            return False, None, None
        if above:
            alert = self.open[channel]
            if reason and not alert.reason:
                alert.reason = reason
            if score > alert.peak_score:
                alert.peak_score, alert.peak_value, alert.peak_t = score, value, t
            alert.last_above = t
        return True, None, None

    def _close(self, channel: str) -> Alert:
        alert = self.open.pop(channel)
        self._rules[channel].close()
        alert.end = alert.last_above
        self.closed.append(alert)
        return alert

    def close_all(self) -> list[Alert]:
        """Close every open episode (end of input), ending each at its last sample."""
        return [self._close(ch) for ch in list(self.open)]
