"""The two-sided 95 % quantile of Student's t for integer degrees of freedom (no SciPy).

P(|T| <= t) has a closed form for integer df (Abramowitz & Stegun 26.7.3-4); the quantile is
found by bisection on it.
"""
from __future__ import annotations

import math


def central_probability(t: float, df: int) -> float:
    """P(-t <= T <= t) for Student's t with `df` (>= 1, integer) degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = 0.0, c
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):
                term *= (k - 1) / k * c * c
                total += term
        return 2.0 / math.pi * (theta + s * total)
    total, term = 1.0, 1.0
    for k in range(2, df - 1, 2):
        term *= (k - 1) / k * c * c
        total += term
    return s * total


def t_quantile_975(df: int) -> float:
    """t such that P(|T| <= t) = 0.95 (the half-width multiplier of a 95 % interval)."""
    lo, hi = 0.0, 1000.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if central_probability(mid, df) < 0.95:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
