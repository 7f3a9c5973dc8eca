"""Statistics the benches print, with one percentile definition for all of them.

A percentile is linear interpolation between the closest ranks (numpy's default, and
`statistics.quantiles(method="inclusive")`): the p-th percentile of n sorted values is at
rank p/100 * (n - 1), counted from 0, interpolated between the two values around it. So
p0 is the smallest value, p100 the largest and p50 the median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentiles(values: Iterable[float], *ps: float) -> list[float | None]:
    """The percentiles `ps` (0-100) of `values`, sorting them once; None for each if empty."""
    ordered = sorted(values)
    return [_at(ordered, p) for p in ps]


def percentile(values: Iterable[float], p: float) -> float | None:
    return percentiles(values, p)[0]


def _at(ordered: list[float], p: float) -> float | None:
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p}")
    if not ordered:
        return None
    rank = p / 100 * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)
