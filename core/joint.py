"""The joint view: a source's channels together, for faults that show only in how they move
with each other (a pump whose flow drops while its current stays: each channel inside its
usual range, the coupling broken).

Each reading that holds every one of the source's channels is a vector. Its channels are
standardised by the mean and spread learned over the warm-up, and the vector is compared with
the running mean and covariance of the vectors learned since: the Hotelling distance
``T2 = d' S^-1 d`` (``d`` the vector's distance from the mean). A vector along the directions
the channels usually move together is near; one that breaks their coupling is far, however
ordinary each channel is on its own. ``sqrt(T2 / k)`` (``k`` channels) is the raw error; it
goes through the same anomaly likelihood and per-``score_period`` step as a channel's views,
so the one threshold means the same here. Which channels made it far is each channel's share
of ``T2`` (``d_i (S^-1 d)_i``), largest first.

The statistics are updated in blocks of :data:`BLOCK` learned vectors, at fixed places in
the learned stream, so the scores are the same however the stream is cut into batches.
Vectors inside an open joint alert, and vectors that scored at the threshold, are never
learned: a fault that breaks the coupling for minutes stays alerted while it lasts instead
of becoming the new normal.
Alerts of the joint view are on the channel ``SOURCE:joint`` (``:joint`` alone for the only
source), with ``Alert.channels`` the channels that moved most.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.special import chdtrc

from sensorscope.detect.config import ScorerConfig
from sensorscope.episodes import Change, EpisodeRule, Event
from sensorscope.model import DEFAULT_HOLD, Alert, Reason

__all__ = ["BLOCK", "JointEngine", "JointViews", "joint_name"]

#: Vectors whose T2 is averaged: a single vector's distance is noisy, a fault lasts.
AVERAGE = 10
#: Learned vectors between updates of the mean and covariance.
BLOCK = 32
#: Covariance shrunk towards its diagonal by this much: a channel pair that was perfectly
#: coupled over the warm-up must not make every later wobble infinitely far.
SHRINK = 0.01
EPISODE_KEEP = 5000  # vectors of one episode a false-positive label can teach
EPISODES_KEPT = 8  # closed episodes whose vectors are kept for a label
#: At most this many channels are named as contributing; those under a quarter of the
#: largest share are left out.
MAX_NAMED = 3


#: The window flags of a stream whose last vectors were all learned (never written to).
_ALL_KEPT = np.ones(AVERAGE - 1, dtype=bool)
_ALL_KEPT.flags.writeable = False
_RIDGES: dict[int, np.ndarray] = {}


def _shrunk_inverse(cov: np.ndarray) -> np.ndarray:
    """The inverse of ``cov`` shrunk by :data:`SHRINK` towards its diagonal."""
    k = len(cov)
    ridge = _RIDGES.get(k)
    if ridge is None:
        ridge = _RIDGES[k] = 1e-9 * np.eye(k)
    diag = np.zeros((k, k))  # np.diag(v)'s own construction, without its wrapper
    diag.flat[:: k + 1] = cov.diagonal() + 1e-9
    shrunk = (1 - SHRINK) * cov + SHRINK * diag
    # Shrunk towards its diagonal (every variance > 0), the matrix is positive definite:
    # a plain inverse, not the pseudo-inverse's SVD.
    return np.linalg.inv(shrunk + ridge)


def _means(
    past: np.ndarray, t2: np.ndarray, own: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The averages of any segment (vectors still warming up among them, or fewer than
    :data:`AVERAGE` - 1 before it), whether each is mostly relational, and the last ready
    rows to keep as the next segment's ``past``."""
    cols = np.column_stack((t2, own))  # T2, then each channel's own distance
    ready = ~np.isnan(t2)
    both = np.concatenate((past, np.where(ready[:, None], cols, 0.0)))
    cnt = np.concatenate((np.ones(len(past)), ready.astype(float)))
    cs = np.concatenate((np.zeros((1, cols.shape[1])), np.cumsum(both, axis=0)))
    cc = np.concatenate(([0.0], np.cumsum(cnt)))
    hi = np.arange(len(past) + 1, len(both) + 1)
    lo = np.maximum(hi - AVERAGE, 0)
    m = cc[hi] - cc[lo]
    mean = (cs[hi] - cs[lo]) / np.maximum(m, 1)[:, None]
    full = m >= AVERAGE
    avg = np.where(full, mean[:, 0], np.nan)
    relational = full & (avg - mean[:, 1:].max(axis=1, initial=0.0) > 0.5 * avg)
    keep = len(both) - AVERAGE + 1
    recent = both[keep:][cnt[keep:] > 0] if keep < len(both) else both[:0]
    return avg, relational, recent


def _steady_means(
    past: np.ndarray, t2: np.ndarray, own: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The means over the last :data:`AVERAGE` rows of (T2, own distances) when the
    :data:`AVERAGE` - 1 rows before the segment are ``past`` and every vector is ready, and
    the rows to keep as the next segment's past. The same sums, in the same order, as the
    general case (a running sum from the first row of ``past``), in fewer numpy calls."""
    n, k = own.shape
    lp = len(past)
    cs = np.empty((1 + lp + n, 1 + k))
    cs[0] = 0.0
    cs[1 : 1 + lp] = past
    cs[1 + lp :, 0] = t2
    cs[1 + lp :, 1:] = own
    recent = cs[-(AVERAGE - 1) :].copy()
    np.cumsum(cs[1:], axis=0, out=cs[1:])
    # Each window holds AVERAGE vectors (the count the general case divides by is exact).
    return (cs[AVERAGE:] - cs[:-AVERAGE]) / float(AVERAGE), recent


def joint_name(source: str, multi: bool) -> str:
    """The channel a source's joint alerts are on."""
    return f"{source}:joint" if multi else ":joint"


class JointEngine:
    """One source's joint view and its alert episodes (the scoring worker's only)."""

    def __init__(
        self, source: str, channels: list[str], cfg: ScorerConfig, *, threshold: float,
        hysteresis: int, name: str, hold: int = DEFAULT_HOLD,
    ) -> None:  # fmt: skip
        self.source = source
        self.channels = list(channels)
        self.name = name
        self.warmup = max(cfg.warmup, 10 * len(channels))
        self.threshold = threshold
        self.hold = hold
        self.period = cfg.score_period
        # The last < AVERAGE vectors' T2 and own distances, for the averages.
        self._recent = np.zeros((0, 1 + len(channels)))
        self._avg = np.zeros(0)  # the averaged T2 of the segment just calibrated
        self._kept = np.zeros(0, dtype=bool)  # whether each of the last vectors was learned
        # Moments of the averaged T2 of learned vectors, folded in with their blocks.
        self.m1 = self.m2 = 0.0
        self.mc = 0
        self._pending_avg = np.zeros(0)
        self.rule = EpisodeRule(hysteresis)
        k = len(channels)
        self.n = 0  # vectors learned
        self._pending = np.zeros((0, k))  # learned vectors not yet in the statistics
        self.scale: tuple[np.ndarray, np.ndarray] | None = None  # warm-up mean, spread
        self.mean = np.zeros(k)
        self.cov = np.eye(k)
        self.inv = np.eye(k)
        self.count = 0  # vectors in mean/cov
        self.interval: float | None = None
        self._last_t: float | None = None
        self.open: Alert | None = None
        self.ep_len = 0
        self._was_learning = True
        # The vectors of the open episode, then of the last few closed ones (by start time):
        # what a false-positive label on one of them teaches.
        self._episode: list[np.ndarray] = []
        self._kept_episodes: dict[float, np.ndarray] = {}
        #: Labels known up front: does a false-positive label cover this closing episode?
        self.labelled_false: Callable[[Alert], bool] | None = None

    # -- scoring ----------------------------------------------------------------------------

    def process(
        self, t: np.ndarray, x: np.ndarray, busy: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[Event]]:
        """Scores of the source's complete vectors ``x`` (rows, in ``self.channels``' order)
        at times ``t``, and the joint alert events they open and close. ``busy``: a channel
        of the vector is in its own alert there (that alert already says it: no joint alert
        opens, and the vector is not learned)."""
        n = len(t)
        busy = np.zeros(n, dtype=bool) if busy is None else busy
        scores = np.zeros(n)
        events: list[Event] = []
        i = 0
        while i < n:
            # A segment scored with one state: up to the next block boundary of the learned
            # stream (or the next change of the episode state, which decides learning).
            room = BLOCK - len(self._pending) if self.scale is not None else self.warmup - self.n
            j = min(n, i + max(1, room))
            t2, own, contrib = self._raw(x[i:j])
            ck = self._recent
            s, relational = self._calibrate(t2, own)
            was_open = self.open
            k = self._advance(s, t[i:j], x[i:j], contrib, relational & ~busy[i:j], events, i)
            if k < j - i:
                # The episode state changed at sample k-1: what follows learns otherwise.
                self._recent = ck
                self._calibrate(t2[:k], own[:k], self._was_learning)
                j = i + k
            self._keep_vectors(was_open, x[i:j])
            scores[i:j] = s[: j - i]
            # What is learned is the normal the view compares with: never a vector inside
            # its alert, however long that lasts, nor one that scored at the threshold.
            keep = (s[: j - i] < self.threshold) & ~busy[i:j] & self._was_learning
            if keep.all() and len(self._kept) == AVERAGE - 1 and self._kept.all():
                # Every window is clean (the usual case): no masks to build per block.
                self._kept = _ALL_KEPT
                self._learn(x[i:j], t[i:j], True, self._avg[: j - i])
                i = j
                continue
            # An average whose window holds a vector not learned (a fault's last samples)
            # is not a normal one: it does not enter the moments the scores are read by.
            flags = np.concatenate((self._kept, keep))
            c = np.concatenate(([0], np.cumsum(~flags)))
            end = np.arange(len(self._kept) + 1, len(flags) + 1)
            clean = (c[end] - c[np.maximum(end - AVERAGE, 0)]) == 0
            self._kept = flags[-(AVERAGE - 1) :]
            avg = np.where(clean, self._avg[: j - i], np.nan)
            self._learn(x[i:j][keep], t[i:j], True, avg[keep])
            i = j
        return scores, events

    def _keep_vectors(self, was_open: Alert | None, x: np.ndarray) -> None:
        """Keep the vectors of the episode a segment belonged to (bounded), and put an
        episode that closed in it among the last few."""
        if was_open is not None:
            if sum(map(len, self._episode)) < EPISODE_KEEP:
                self._episode.append(x)
            if self.open is None:  # closed in this segment
                kept = np.concatenate(self._episode)[:EPISODE_KEEP]
                self._episode = []
                self._kept_episodes[was_open.start] = kept
                while len(self._kept_episodes) > EPISODES_KEPT:
                    del self._kept_episodes[next(iter(self._kept_episodes))]
                if self.labelled_false is not None and self.labelled_false(was_open):
                    self.feedback(was_open)
        elif self.open is not None:  # opened at the segment's last vector
            self._episode = [x[-1:]]

    def feedback(self, alert: Alert) -> bool:
        """A false-positive label on one of this view's alerts: its vectors are learned, so
        the channels sitting like that is part of what is normal. False when they are no
        longer kept (an alert older than the last few)."""
        if self.open is not None and alert.start == self.open.start:
            vectors = np.concatenate(self._episode) if self._episode else None
        else:
            vectors = self._kept_episodes.pop(alert.start, None)
        if vectors is None or not len(vectors):
            return False
        self._learn(vectors, np.zeros(0), True, np.full(len(vectors), np.nan))
        return True

    def _raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per vector: T2 (NaN while warming up), each channel's own distance
        (``d_i^2 / S_ii``) and each channel's share of T2 (``d_i (S^-1 d)_i``)."""
        n, k = x.shape
        if self.scale is None or self.count < 2 * k:
            return np.full(n, np.nan), np.zeros((n, k)), np.zeros((n, k))
        mu, sd = self.scale
        d = (x - mu) / sd - self.mean
        parts = d * (d @ self.inv)
        t2 = np.maximum(parts.sum(axis=1), 0.0)
        own = d * d / np.maximum(self.cov.diagonal(), 1e-12)
        return t2, own, parts

    def _calibrate(
        self, t2: np.ndarray, own: np.ndarray, learning: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The score of the mean T2 of the last :data:`AVERAGE` vectors, per score_period
        like a channel's views, and whether that mean is mostly relational: more than half
        of it left once the farthest channel's own (mean) distance is taken away."""
        if learning is None:
            learning = self.open is None
            self._was_learning = learning
        past = self._recent
        if len(past) == AVERAGE - 1 and not np.isnan(t2).any():
            mean, self._recent = _steady_means(past, t2, own)
            avg = mean[:, 0].copy()
            relational = avg - mean[:, 1:].max(axis=1, initial=0.0) > 0.5 * avg
        else:
            avg, relational, self._recent = _means(past, t2, own)
        self._avg = avg
        s = np.zeros(len(t2))
        mu = self.m1 / self.mc if self.mc else 0.0
        # Channels that never moved while it learned (a board printing one fixed line) give
        # no spread to weigh a vector against: the view stays silent, the channels' own
        # rules (stuck, range) speak for them.
        if self.mc >= self.warmup and mu > 1e-12:
            # The averaged T2 of normal vectors is not chi-square with k * AVERAGE degrees of
            # freedom (neighbours are not independent, tails are not Gaussian): it is matched
            # to a scaled chi-square by the mean and variance it had when learned
            # (Satterthwaite), and the tail is read there.
            var = max(self.m2 / self.mc - mu * mu, 1e-12)
            scale, dof = var / (2.0 * mu), 2.0 * mu * mu / var
            finite = np.isfinite(avg).all()
            with np.errstate(invalid="ignore", divide="ignore"):
                # nan_to_num and the NaN mask change nothing in a finite average.
                p = chdtrc(dof, (avg if finite else np.nan_to_num(avg, nan=0.0)) / scale)
                s = -np.log10(np.maximum(p, 1e-300)) / 10.0
                if not finite:
                    s = np.where(np.isnan(avg), 0.0, s)
        iv = self.interval
        if self.period > 0 and iv is not None and 0.0 < iv < math.inf:
            s = np.maximum(s - max(0.0, math.log10(self.period / iv)) / 10.0, 0.0)
        return np.minimum(s, 1.0), relational

    def _advance(
        self, s: np.ndarray, t: np.ndarray, x: np.ndarray, contrib: np.ndarray,
        relational: np.ndarray, events: list[Event], offset: int,
    ) -> int:  # fmt: skip
        """Move the episode state through the scores, up to and including the first sample
        that opens or closes an episode (learning changes there); returns how many it took."""
        # A vector far off because one channel alone is far off is that channel's alert (a
        # spike, a value beyond its range), not the joint view's: it speaks when most of the
        # distance is in how the channels sit against each other, not in one's own spread.
        above = (s >= self.threshold) & (relational if self.open is None else True)
        k = self.rule.next_change(above)
        end = len(s) if k is None else k + 1
        ep = self.open
        if ep is not None:
            self.ep_len += end
            idx = np.flatnonzero(above[:end])
            if len(idx):
                top = int(idx[np.argmax(s[idx])])
                if s[top] > ep.peak_score:
                    ep.peak_score, ep.peak_t = float(s[top]), float(t[top])
                    ep.peak_value = float(np.sqrt(max(contrib[top].sum(), 0.0)))
                    ep.channels = self._named(contrib[top])
                ep.last_above = float(t[int(idx[-1])])
        change = self.rule.advance(above[:end])
        at = end - 1
        if change is Change.OPENED:
            self.open = Alert(
                0, self.name, float(t[at]), None, float(s[at]),
                float(np.sqrt(max(contrib[at].sum(), 0.0))), float(t[at]), float(t[at]),
                reason="channels out of step", why=Reason.JOINT,
                channels=self._named(contrib[at]),
            )  # fmt: skip
            self.ep_len = 1
            events.append((offset + at, "open", self.open, replace(self.open)))
        elif change is Change.CLOSED and ep is not None:
            ep.end = ep.last_above
            self.open = None
            events.append((offset + at, "close", ep, replace(ep)))
        return end

    def _named(self, parts: np.ndarray) -> tuple[str, ...]:
        order = np.argsort(-parts, kind="stable")
        top = float(parts[order[0]]) if len(order) else 0.0
        if top <= 0.0:
            return ()
        keep = [int(i) for i in order[:MAX_NAMED] if parts[i] >= 0.25 * top]
        return tuple(self.channels[i] for i in keep)

    # -- learning ---------------------------------------------------------------------------

    def _learn(self, x: np.ndarray, t: np.ndarray, learning: bool, avg: np.ndarray) -> None:
        if self._last_t is None and len(t):
            self._last_t = float(t[0])
        if self.interval is None and len(t) > 1:
            gaps = np.diff(np.concatenate(([self._last_t], t)))
            gaps = gaps[gaps > 0]
            if len(gaps):
                self.interval = float(np.median(gaps))
        if len(t):
            self._last_t = float(t[-1])
        if not learning:
            return
        self.n += len(x)
        if self.scale is not None and len(x) == BLOCK and not len(self._pending):
            self._fold(x, avg)  # the usual block: no copy through the pending rows
            return
        self._pending = np.concatenate((self._pending, x))
        self._pending_avg = np.concatenate((self._pending_avg, avg))
        if self.scale is None:
            if len(self._pending) >= self.warmup:
                mu = self._pending.mean(axis=0)
                sd = self._pending.std(axis=0)
                sd = np.where(sd > 0, sd, 1.0)
                self.scale = (mu, sd)
                self._fold(self._pending, self._pending_avg)
                self._pending = self._pending[:0]
                self._pending_avg = self._pending_avg[:0]
            return
        while len(self._pending) >= BLOCK:
            self._fold(self._pending[:BLOCK], self._pending_avg[:BLOCK])
            self._pending = self._pending[BLOCK:]
            self._pending_avg = self._pending_avg[BLOCK:]

    def _fold(self, block: np.ndarray, avg: np.ndarray) -> None:
        """Merge a block of learned vectors into the running mean and covariance, and their
        averaged T2 (where there was one) into its moments."""
        assert self.scale is not None
        seen = avg[np.isfinite(avg)]
        self.m1 += float(seen.sum())
        self.m2 += float((seen * seen).sum())
        self.mc += len(seen)
        mu, sd = self.scale
        z = (block - mu) / sd
        m = len(z)
        bm = np.add.reduce(z, axis=0) / m  # what z.mean(axis=0) computes, without its wrapper
        zc = z - bm
        bc = zc.T @ zc / m  # the block's own (biased) covariance; np.cov costs 5x more here
        total = self.count + m
        delta = bm - self.mean
        if self.count == 0:
            self.mean, self.cov = bm, np.atleast_2d(bc)
        else:
            a = self.count / total
            outer = delta[:, None] * delta[None, :]  # np.outer's own product
            self.cov = a * self.cov + (1 - a) * bc + a * (1 - a) * outer
            self.mean = self.mean + (1 - a) * delta
        self.count = total
        self.inv = _shrunk_inverse(self.cov)

    def finish(self) -> Alert | None:
        if self.open is None:
            return None
        closed = self.open
        closed.end = closed.last_above
        self.open = None
        return closed


class JointViews:
    """Every source's :class:`JointEngine`, fed from a pipeline batch.

    A source gets its engine once it has shown two channels or more in one batch; those
    channels are its vector from then on (a channel born later is not in it). Readings that
    do not hold all of them, or hold a missing value, are not scored jointly.
    """

    def __init__(self, cfg: ScorerConfig, threshold: float, hysteresis: int, multi: bool) -> None:
        self.cfg = cfg
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.multi = multi
        self.engines: dict[str, JointEngine] = {}
        #: Labels known up front (the pipeline's): false positives teach as they close.
        self.labelled_false: Callable[[Alert], bool] | None = None

    def restart(self) -> None:
        self.engines.clear()

    def score(
        self, sources: list[str], reading: np.ndarray, ch: np.ndarray, raw: np.ndarray,
        t: np.ndarray, names: list[str], alert: np.ndarray,
    ) -> list[tuple[int, int, str, Alert, Alert]]:  # fmt: skip
        """The joint alert events of one batch, as the pipeline's alert events (the index
        is the first value of the reading that made the change). ``sources`` is each
        reading's source; ``reading``, ``ch``, ``raw``, ``t`` and ``alert`` (the channel's own
        episode is open) are per value."""
        out: list[tuple[int, int, str, Alert, Alert]] = []
        if not len(ch):
            return out
        src_of = np.array(sources, dtype=object)[reading]
        for src in dict.fromkeys(sources):
            mine = np.flatnonzero(src_of == src)
            engine = self.engines.get(src) or self._new(src, ch[mine], names)
            if engine is None:
                continue
            # Each channel index to its column in the vector (-1: not one of them).
            lut = np.full(len(names), -1)
            lut[[names.index(c) for c in engine.channels]] = np.arange(len(engine.channels))
            cols = lut[ch[mine]]
            ok = cols >= 0
            rows, inv = np.unique(reading[mine][ok], return_inverse=True)
            x = np.full((len(rows), len(engine.channels)), np.nan)
            x[inv, cols[ok]] = raw[mine][ok]
            whole = np.isfinite(x).all(axis=1)
            busy = np.zeros(len(rows), dtype=bool)
            busy[inv[alert[mine][ok]]] = True  # a reading is busy if any of its values is
            if not whole.any():
                continue
            starts = np.searchsorted(reading, rows[whole])
            t_rows = t[starts]
            _, events = engine.process(t_rows, x[whole], busy[whole])
            for k, kind, a, snap in events:
                out.append((int(starts[k]), 0 if kind == "open" else 1, kind, a, snap))
        return out

    def _new(self, src: str, ch: np.ndarray, names: list[str]) -> JointEngine | None:
        chans = [names[int(c)] for c in dict.fromkeys(ch.tolist())]
        if len(chans) < 2:
            return None
        engine = JointEngine(
            src, chans, self.cfg, threshold=self.threshold, hysteresis=self.hysteresis,
            name=joint_name(src, self.multi),
        )  # fmt: skip
        engine.labelled_false = self.labelled_false
        self.engines[src] = engine
        return engine

    def finish(self) -> list[Alert]:
        return [a for e in self.engines.values() if (a := e.finish()) is not None]

    def engine_of(self, alert: Alert) -> JointEngine | None:
        """The engine whose alert this is (None: a channel's alert)."""
        return next((e for e in self.engines.values() if e.name == alert.channel), None)
