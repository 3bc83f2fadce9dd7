"""Bursty count series, like social-media volumes: the simulator's family for issue 13 item 2.

One sample every ``interval`` seconds (5 minutes), weeks long: negative-binomial counts (a
Poisson whose rate is gamma-distributed, so the variance grows faster than the mean) around a
daily profile, with benign bursts (a few samples of a heavy-tailed surge, several a day) that
are normal for such data and must not be alerted. Runs with ``anomalies`` carry real ones of
known ground truth, labelled like the Board's faults (:func:`sensorscope.simulate.write_labels`):

- ``surge``: the rate many times its usual for hours, far beyond what a burst does;
- ``drop``: the counts fall to near zero for hours (a broken feed, an outage);
- ``rhythm``: for a day the daily profile is turned round by 12 hours (night looks like day).

Seeded: the same seed gives the same counts and the same anomalies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensorscope.simulate.board import Fault, write_labels

__all__ = ["COUNT_ANOMALIES", "CountSeries", "write_count_recording"]

COUNT_ANOMALIES = ("surge", "drop", "rhythm")
DAY = 86400.0
#: Hours each anomaly lasts.
ANOMALY_HOURS = {"surge": 3.0, "drop": 4.0, "rhythm": 24.0}


@dataclass(frozen=True)
class CountSeries:
    """A seeded bursty count series (no I/O): :meth:`values` and :meth:`faults`.

    ``days`` of data at ``interval`` s; ``mean`` counts per sample at the daily average;
    ``dispersion`` is the negative binomial's shape (smaller: more overdispersed); ``bursts``
    benign bursts per day. ``anomalies`` are placed one after the other from day
    ``first_day``, ``every_days`` apart, on the channel ``channel``.

    >>> s = CountSeries(seed=3, days=1)
    >>> v = s.values()
    >>> len(v), bool((v >= 0).all()), bool((v == np.round(v)).all())
    (288, True, True)
    """

    seed: int = 0
    days: float = 14.0
    interval: float = 300.0
    mean: float = 40.0
    dispersion: float = 8.0
    bursts: float = 4.0
    anomalies: tuple[str, ...] = ()
    first_day: float = 6.0
    every_days: float = 2.5
    channel: str = "count"

    def __post_init__(self) -> None:
        unknown = [a for a in self.anomalies if a not in COUNT_ANOMALIES]
        if unknown:
            raise ValueError(f"unknown count anomalies {unknown}; expected {COUNT_ANOMALIES}")
        if not (self.days > 0 and self.interval > 0 and self.mean > 0 and self.dispersion > 0):
            raise ValueError("days, interval, mean and dispersion must be positive")

    @property
    def n(self) -> int:
        return int(self.days * DAY / self.interval)

    def faults(self) -> list[Fault]:
        """The real anomalies, in seconds since sample 0 (the ground truth)."""
        out = []
        for k, kind in enumerate(self.anomalies):
            start = (self.first_day + k * self.every_days) * DAY + 10 * 3600.0
            out.append(Fault(kind, self.channel, start, start + ANOMALY_HOURS[kind] * 3600.0))
        return [f for f in out if f.start < self.n * self.interval]

    def values(self) -> np.ndarray:
        """The counts, one per sample (floats holding non-negative integers)."""
        rng = np.random.default_rng(self.seed)
        t = np.arange(self.n) * self.interval
        phase = 2 * math.pi * (t % DAY) / DAY
        hour_shift = np.zeros(self.n)
        factor = np.ones(self.n)
        for f in self.faults():
            inside = (t >= f.start) & (t < f.end)
            if f.kind == "surge":
                factor[inside] *= 8.0
            elif f.kind == "drop":
                factor[inside] *= 0.01
            else:  # rhythm: the profile turned round, night looks like day
                hour_shift[inside] = math.pi
        # A daily profile (quiet nights, a busy afternoon), and a slow day-to-day wander.
        profile = np.exp(0.9 * np.cos(phase + hour_shift - 2 * math.pi * 15 / 24))
        profile /= float(np.exp(0.9 * np.cos(phase - 2 * math.pi * 15 / 24)).mean())
        wander = np.exp(0.15 * np.sin(2 * math.pi * t / (5.3 * DAY) + rng.uniform(0, 6.3)))
        rate = self.mean * profile * wander * factor
        rate *= self._bursts(rng)
        # Negative binomial: Poisson of a gamma-distributed rate (mean `rate`).
        lam = rng.gamma(self.dispersion, rate / self.dispersion)
        return rng.poisson(lam).astype(np.float64)

    def _bursts(self, rng: np.random.Generator) -> np.ndarray:
        """Benign bursts: a few samples at a Pareto-distributed multiple of the rate (normal
        for such data; decays over the burst)."""
        out = np.ones(self.n)
        count = rng.poisson(self.bursts * self.days)
        starts = rng.integers(0, self.n, count)
        lengths = rng.integers(1, 7, count)
        sizes = 1.0 + rng.pareto(2.5, count) * 1.5
        for s, ln, sz in zip(starts.tolist(), lengths.tolist(), sizes.tolist(), strict=True):
            k = np.arange(min(ln, self.n - s))
            out[s : s + len(k)] *= 1.0 + (sz - 1.0) * np.exp(-k / max(1.0, ln / 2))
        return out


def write_count_recording(
    path: str, series: CountSeries, t0: float, labels_path: str | None = None,
    src: str = "counts",
) -> tuple[int, int]:  # fmt: skip
    """Write ``series`` as a recording (``count:N`` lines at its sample times from ``t0``)
    and, with ``labels_path``, its anomalies as labels; returns ``(lines, labels)``."""
    from sensorscope.model import Frame
    from sensorscope.recording import RecordingWriter

    values = series.values()
    writer = RecordingWriter(path, {src: {"kind": "simulator", "seed": series.seed}})
    frames = [Frame(t0, src, event="connect", detail="simulator")]
    frames += [
        Frame(t0 + i * series.interval, src, f"{series.channel}:{int(v)}")
        for i, v in enumerate(values.tolist())
    ]
    writer.write(frames)
    writer.close()
    labels = 0
    if labels_path is not None:
        labels = write_labels(labels_path, series.faults(), t0, until=series.n * series.interval)
    return len(values), labels
