"""Per-channel online imputation of missing values.

A missing value (``None``: the device printed ``nan``, ``ovf``, an empty field or a token
that is not a number) is replaced so every channel has a value at every reading; the
sample is flagged as imputed and the detector does not learn from it.
"""

from __future__ import annotations

import math

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
