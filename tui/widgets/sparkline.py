"""Text sparklines for table cells: block characters, NaN-tolerant, spikes kept.

A DataTable cell holds text, so a sparkline is a string of ``▁▂▃▄▅▆▇█``, one character a
column. When there are more samples than columns each column stands for a run of samples
and shows that run's minimum or maximum, whichever lies farther from the median of the
window: a single-sample spike (up or down) is never averaged away.
"""

from __future__ import annotations

import numpy as np

BLOCKS = "▁▂▃▄▅▆▇█"


def decimate(values: np.ndarray, width: int) -> np.ndarray:
    """One value per column (at most ``width``), keeping extremes; NaN where a column
    has no finite sample.

    >>> decimate(np.array([1.0, 1, 1, 9, 1, 1, 1, 1]), 4).tolist()
    [1.0, 9.0, 1.0, 1.0]
    >>> decimate(np.array([5.0, 5, 0, 5]), 2).tolist()
    [5.0, 0.0]
    >>> decimate(np.array([np.nan, np.nan, 2.0, 3.0]), 2).tolist()
    [nan, 3.0]
    """
    v = np.asarray(values, dtype=float)
    if width <= 0:
        return np.empty(0)
    if len(v) <= width:
        return v.copy()
    finite = np.isfinite(v)
    if not finite.any():
        return np.full(width, np.nan)
    ref = float(np.median(v[finite]))
    starts = np.linspace(0, len(v), width + 1).astype(int)[:-1]
    lo_src = np.where(finite, v, np.inf)
    hi_src = np.where(finite, v, -np.inf)
    lo = np.minimum.reduceat(lo_src, starts)
    hi = np.maximum.reduceat(hi_src, starts)
    out = np.where(hi - ref >= ref - lo, hi, lo)
    out[~np.isfinite(out)] = np.nan
    return out


def spark_text(values: np.ndarray, width: int) -> str:
    """``width`` characters: the newest samples at the right, blanks where there is no data.

    >>> spark_text(np.array([0.0, 1, 2, 3, 4, 5, 6, 7]), 8)
    '▁▂▃▄▅▆▇█'
    >>> spark_text(np.array([1.0, np.nan, 3.0]), 5)
    '  ▁ █'
    >>> spark_text(np.array([2.0, 2.0]), 3)
    ' ▄▄'
    >>> spark_text(np.array([]), 3)
    '   '
    """
    if width <= 0:
        return ""
    d = decimate(values, width)
    finite = np.isfinite(d)
    if not finite.any():
        return " " * width
    lo = float(np.min(d[finite]))
    hi = float(np.max(d[finite]))
    top = len(BLOCKS) - 1
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        levels = np.full(len(d), top // 2)
    else:
        levels = np.rint((np.where(finite, d, lo) - lo) / (hi - lo) * top).astype(int)
    chars = [BLOCKS[k] if ok else " " for k, ok in zip(levels, finite, strict=True)]
    return "".join(chars).rjust(width)
