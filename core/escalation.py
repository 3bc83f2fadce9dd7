"""A much bigger event is a new alert: an open episode (or the refractory step after one)
must not swallow it.

An alert episode covers the event that opened it, however it goes on, so that one fault is
one alert. But an episode can stay open a long time (a level shift, a fault that lasts
minutes), and the refractory step lowers high scores for a while after one: without a rule
for it, a spike far beyond anything the episode showed, or a value beyond the learned
range, would be folded into it and never announced.

The one measure is the event's *reach*: how far from the level the episode started from
(:attr:`sensorscope.feedback.OpenEpisode.level`, the median of the values before it) its
samples have gone, at least the channel's noise tolerance. Scores cannot be the measure:
they are calibrated probabilities, capped near 1, and a spike of 25 noise deviations scores
no higher than the shift it lands in. A sample the detector finds anomalous (its evidence
at the threshold) that goes :data:`~sensorscope.detect.config.ScorerConfig.escalate` times
further from that level than the episode's reach so far is a new event:

- inside an announced episode, past its onset (its first ``hysteresis`` samples, in which
  a noise burst or a step is still showing how big it is), the episode closes and a new one
  opens at that sample, through the same "open" event as any alert (the alert log, hooks,
  MQTT and ``score``'s summary all see it);
- after an episode has closed, a high that the refractory step lowered opens an alert
  after all when it goes that much further than the episode did: an earlier alert does not
  blind the channel to a much larger event. The step lowers highs as the episode's tail,
  so the lowered highs that do not go that far grow its reach; and a value that goes that
  far without being a high at all means the channel has moved on (a trend, a recovery from
  a failure): the old episode is then no measure of what comes, and nothing is raised
  until the next one (on the NAB files this is what keeps a machine's recovery ramp, hours
  after a small alert, from being announced).

A drift or a growing burst raises its reach as it grows, so it stays one alert; a new
alert's reach is that of the much bigger sample that opened it, so a chain of them needs
values ever further out and cannot flood.
"""

from __future__ import annotations

import math

import numpy as np

from sensorscope.model import Reason

__all__ = ["Escalation"]


class Escalation:
    """The reach of a channel's open (or last) episode and the test against it.

    ``factor`` 0 turns it off: nothing escalates and nothing is raised back.
    """

    def __init__(self, factor: float, onset: int) -> None:
        self.factor = float(factor)
        self.onset = int(onset)
        self.level = math.nan  # the level the episode started from
        # How far from it the episode has gone (inf: none yet, or the channel moved on since).
        self.reach = math.inf

    def start(self, level: float, tolerance: float, value: float) -> None:
        """An episode opens at ``value`` from ``level`` (``tolerance``: the noise band)."""
        self.level = float(level)
        dev = abs(float(value) - self.level)
        self.reach = max(dev if math.isfinite(dev) else 0.0, float(tolerance))

    def _dev(self, value: np.ndarray) -> np.ndarray:
        return np.abs(value - self.level)

    def first(self, value: np.ndarray, ev: np.ndarray, threshold: float, done: int) -> int | None:
        """The first of an open episode's next samples (``done`` of it before them) that is
        a new event: anomalous, past the onset, and ``factor`` times further from the level
        than the episode reached before it. None: none is."""
        if self.factor <= 0.0 or not len(value) or not math.isfinite(self.level):
            return None
        dev = self._dev(value)
        before = np.fmax.accumulate(np.concatenate(([self.reach], dev[:-1])))
        past_onset = done + np.arange(len(value)) >= self.onset
        with np.errstate(invalid="ignore"):
            hit = (ev >= threshold) & past_onset & (dev > self.factor * before)
        at = np.flatnonzero(hit)
        return int(at[0]) if len(at) else None

    def take(self, value: np.ndarray, observed: np.ndarray) -> None:
        """More of the open episode's samples: its reach grows with them."""
        seen = value[observed & np.isfinite(value)]
        if len(seen) and math.isfinite(self.level):
            self.reach = max(self.reach, float(self._dev(seen).max()))

    def _far(
        self, s: np.ndarray, ev: np.ndarray, w: np.ndarray, value: np.ndarray, threshold: float
    ) -> tuple[int | None, bool]:
        """After an episode: the first sample ``factor`` times further from its level than
        it and the highs lowered since reached, and whether that one is a lowered high (its
        evidence at the threshold, its score under it; a rule hit a false-positive label
        suppressed has lost its reason and is none)."""
        low = (s < threshold) & (ev >= threshold) & (w != Reason.NONE)
        dev = self._dev(value)
        grown = np.where(low, dev, -np.inf)
        before = np.fmax.accumulate(np.concatenate(([self.reach], grown[:-1])))
        with np.errstate(invalid="ignore"):
            at = np.flatnonzero(dev > self.factor * before)
        return (None, False) if not len(at) else (int(at[0]), bool(low[at[0]]))

    def first_lowered(
        self, s: np.ndarray, ev: np.ndarray, w: np.ndarray, value: np.ndarray, threshold: float
    ) -> int | None:
        """No episode open: the first high the refractory step lowered that goes ``factor``
        times further from the last episode's level than it reached: it opens an alert after
        all. The step lowers highs as that event's tail, so those that do not go that far
        grow its reach, as an episode's samples do; and once any value has gone that far
        without being a high, the channel has moved on (a trend, a recovery) and the old
        event is no measure of it (:meth:`take_outside`)."""
        if self.factor <= 0.0 or not math.isfinite(self.reach) or not len(value):
            return None
        k, lowered = self._far(s, ev, w, value, threshold)
        return k if lowered else None

    def take_outside(
        self, s: np.ndarray, ev: np.ndarray, w: np.ndarray, value: np.ndarray, threshold: float
    ) -> None:
        """Samples after the episode, none of them a new event: the lowered highs grow its
        reach, and a value beyond it that was not a high ends it."""
        if self.factor <= 0.0 or not math.isfinite(self.reach) or not len(value):
            return
        k, _ = self._far(s, ev, w, value, threshold)
        if k is not None:
            self.reach = math.inf
            return
        low = (s < threshold) & (ev >= threshold) & (w != Reason.NONE)
        if low.any():
            self.reach = float(np.fmax(self.reach, np.fmax.reduce(self._dev(value[low]))))
