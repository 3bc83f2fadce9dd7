"""Numeric helpers the views, the likelihood and the rules share: recurrences and tails in numpy.

Each turns a per-sample recurrence into a few vector passes, so a batch costs numpy calls, not
Python work per sample; they give what the plain loop gives (to rounding, as their docstrings
say).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["count_before", "ewma_states", "log_scores", "squash", "squashed_errors"]

LN10 = math.log(10.0)
_LN_HALF = math.log(0.5)
_SQRT_HALF = math.sqrt(0.5)
# Below this many items a recurrence runs as a plain loop: numpy's per-call cost dominates.
_SMALL = 64


def count_before(mask: np.ndarray) -> np.ndarray:
    """For each position, how many of the earlier positions are True.

    >>> count_before(np.array([True, False, True, True])).tolist()
    [0, 1, 1, 2]
    """
    c = np.cumsum(mask, dtype=np.int64)
    return c - mask


def ewma_states(x: np.ndarray, alpha: float, y0: float) -> np.ndarray:
    """States of ``y <- y + alpha * (x_k - y)`` from ``y0``: ``out[k]`` is the state after k steps.

    ``len(out) == len(x) + 1``. Long inputs use a doubling scan: the recurrence is linear, so
    after step ``s`` of ``log2(n)`` vector passes every state holds the weighted sum of the
    last ``2**s`` inputs. (A blocked matrix product would be faster on paper, but BLAS spreads
    it over threads that spin and take the cores from the reader thread.)

    >>> ewma_states(np.array([1.0, 1.0, 3.0]), 0.5, 0.0).tolist()
    [0.0, 0.5, 0.75, 1.875]
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < _SMALL:
        out = [y0]
        y = y0
        for v in x.tolist():
            y += alpha * (v - y)
            out.append(y)
        return np.array(out)
    b = 1.0 - alpha
    z = alpha * x
    p, step = b, 1
    while step < n and p > 0.0:
        z[step:] += p * z[:-step]
        p *= p
        step *= 2
    out = np.empty(n + 1)
    out[0] = y0
    if y0 != 0.0:
        with np.errstate(under="ignore"):
            z += y0 * np.power(b, np.arange(1, n + 1))
    out[1:] = z
    return out


def log_scores(z: np.ndarray) -> np.ndarray:
    """``-log10(p) / 10`` clipped to [0, 1] for the Gaussian upper tail ``p`` of each ``z``.

    Computed in logs throughout, so a z of 40 is a score of 1 rather than an underflow: the
    complementary error function by the rational Chebyshev fit of Numerical Recipes' ``erfcc``
    (fractional error below 1.2e-7 everywhere, so scores are right to 1e-8).

    >>> [f"{s:.6f}" for s in log_scores(np.array([-3.0, 0.0, 4.264891, 30.0]))]
    ['0.000059', '0.030103', '0.500000', '1.000000']
    """
    z = np.asarray(z, dtype=np.float64)
    x = np.abs(z) * _SQRT_HALF
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))  # fmt: skip
    ln_erfc = np.log(t) - x * x + poly  # ln erfc(|z| / sqrt 2)
    # Upper tail: 0.5 * erfc(z / sqrt 2); for z < 0 it is 1 - 0.5 * erfc(|z| / sqrt 2).
    ln_tail = np.where(z >= 0.0, _LN_HALF + ln_erfc, np.log1p(-0.5 * np.exp(ln_erfc)))
    s = -ln_tail / (10.0 * LN10)
    s = np.where(np.isnan(z), 0.0, s)
    return np.clip(s, 0.0, 1.0)


def squash(z: np.ndarray, scale: float) -> np.ndarray:
    """Errors in units of their typical size mapped into [0, 1): 1 - exp(-z / scale)."""
    return -np.expm1(-z / scale)


def squashed_errors(
    z: np.ndarray, scale: float, power: float = 1.0, power_scale: float = 3.0
) -> np.ndarray:
    """What an error view's likelihood sees: ``squash(z, scale)``, or with a ``power`` other
    than 1, ``squash(z ** power, power_scale)`` (``ScorerConfig.error_power``, measured).

    >>> squashed_errors(np.array([0.0, 6.0]), 6.0).round(4).tolist()
    [0.0, 0.6321]
    """
    if power == 1.0:
        return squash(z, scale)
    return squash(z**power, power_scale)
