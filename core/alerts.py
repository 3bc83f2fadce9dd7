"""Alert episodes: one alert per anomalous stretch of a channel, not one per sample.

An episode opens on the first sample whose score reaches the threshold and closes after
``hysteresis`` consecutive samples below it, so a noisy score hovering at the threshold
gives one alert rather than a burst of them. ``end`` is the time of the last sample at or
above the threshold; the samples of the closing run belong to the episode too (their
``alert`` flag is set), which is what a reader of the score file expects to see.
"""

from __future__ import annotations

from sensorscope.model import Alert

DEFAULT_HYSTERESIS = 10


class AlertTracker:
    """Turns each channel's scores into alert episodes by the plain rule: open at the
    threshold, close after ``hysteresis`` samples below it.

    The pipeline's channels do more (evidence, holds, false-positive repeats: see
    :mod:`sensorscope.engine`); this rule is what ``tune``'s fast threshold search applies to stored
    scores (:func:`sensorscope.tune.episodes`, tested against this class) before its best
    candidates are scored again through the pipeline.

    >>> tr = AlertTracker(threshold=0.8, hysteresis=2)
    >>> scores = [0.1, 0.9, 0.5, 0.95, 0.1, 0.1, 0.1]
    >>> flags = [tr.update("temp", float(t), 20.0, s)[0] for t, s in enumerate(scores)]
    >>> flags
    [False, True, True, True, True, True, False]
    >>> [(a.id, a.start, a.end, a.peak_score) for a in tr.closed]
    [(1, 1.0, 3.0, 0.95)]
    """

    def __init__(self, threshold: float, hysteresis: int = DEFAULT_HYSTERESIS) -> None:
        if hysteresis < 1:
            raise ValueError("hysteresis must be at least 1 sample")
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.thresholds: dict[str, float] = {}
        self.open: dict[str, Alert] = {}
        self._quiet: dict[str, int] = {}
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
        above = score >= self.thresholds.get(channel, self.threshold)
        alert = self.open.get(channel)
        if alert is None:
            if not above:
                return False, None, None
            alert = Alert(self._next_id, channel, t, None, score, value, t, t, reason=reason)
            self._next_id += 1
            self.open[channel] = alert
            self._quiet[channel] = 0
            return True, alert, None
        if above:
            self._quiet[channel] = 0
            if reason and not alert.reason:
                alert.reason = reason
            if score > alert.peak_score:
                alert.peak_score, alert.peak_value, alert.peak_t = score, value, t
            alert.last_above = t
            return True, None, None
        quiet = self._quiet[channel] + 1
        self._quiet[channel] = quiet
        if quiet < self.hysteresis:
            return True, None, None
        return True, None, self._close(channel)

    def _close(self, channel: str) -> Alert:
        alert = self.open.pop(channel)
        del self._quiet[channel]
        alert.end = alert.last_above
        self.closed.append(alert)
        return alert

    def close_all(self) -> list[Alert]:
        """Close every open episode (end of input), ending each at its last sample."""
        return [self._close(ch) for ch in list(self.open)]
