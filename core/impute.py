"""Per-channel online imputation of missing values.

A missing value (``None``: the device printed ``nan``, ``ovf``, an empty field or a token
that is not a number) is replaced so every channel has a value at every reading; the
sample is flagged as imputed and the detector does not learn from it.
"""

from __future__ import annotations

import math

import numpy as np

IMPUTERS = ("mean", "last")


class Imputer:
    """Fills a channel's missing values with its running mean or its last value.

    >>> imp = Imputer("mean")
    >>> [imp.fill(v) for v in (1.0, 3.0, None)]
    [(1.0, False), (3.0, False), (2.0, True)]
    >>> imp = Imputer("last")
    >>> [imp.fill(v) for v in (1.0, 3.0, None)]
    [(1.0, False), (3.0, False), (3.0, True)]
    >>> Imputer("mean").fill(None)  # nothing seen yet: nothing to impute from
    (None, True)
    """

    __slots__ = ("how", "count", "mean", "last")

    def __init__(self, how: str = "mean") -> None:
        if how not in IMPUTERS:
            raise ValueError(f"unknown imputation {how!r} (choose from: {', '.join(IMPUTERS)})")
        self.how = how
        self.count = 0
        self.mean = 0.0
        self.last: float | None = None

    def fill(self, value: float | None) -> tuple[float | None, bool]:
        """Return ``(value, imputed)``; value stays None until the channel has seen one."""
        if value is not None and math.isfinite(value):
            self.count += 1
            self.mean += (value - self.mean) / self.count
            self.last = value
            return value, False
        if self.last is None:
            return None, True
        return (self.mean if self.how == "mean" else self.last), True

    def fill_many(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``fill`` for each of ``values`` (NaN or inf: missing) in order, as arrays.

        Returns ``(filled, imputed)``; ``filled`` is NaN where nothing has been seen yet.

        >>> imp = Imputer("mean")
        >>> v, i = imp.fill_many(np.array([np.nan, 1.0, 3.0, np.nan, 5.0, np.nan]))
        >>> v.tolist(), i.tolist()
        ([nan, 1.0, 3.0, 2.0, 5.0, 3.0], [True, False, False, True, False, True])
        """
        values = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(values)
        imputed = ~ok
        if ok.all():
            out = values.copy()
        else:
            seen = self.count + np.cumsum(ok)
            if self.how == "mean":
                total = self.mean * self.count + np.cumsum(np.where(ok, values, 0.0))
                with np.errstate(invalid="ignore", divide="ignore"):
                    fill = total / seen
            else:
                idx = np.maximum.accumulate(np.where(ok, np.arange(len(values)), -1))
                prior = np.nan if self.last is None else self.last
                fill = np.where(idx >= 0, values[np.maximum(idx, 0)], prior)
            out = np.where(ok, values, np.where(seen > 0, fill, np.nan))
        if ok.any():
            good = values[ok]
            n = self.count + len(good)
            self.mean += (math.fsum(good.tolist()) - self.mean * len(good)) / n
            self.count = n
            self.last = float(good[-1])
        return out, imputed
