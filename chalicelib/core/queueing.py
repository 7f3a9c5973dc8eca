"""Queueing arithmetic the pool is sized by (pure): how long a new message
waits, and how many numbers keep that wait within a target."""

from __future__ import annotations

import math

WAIT_QUANTILE = 0.95


def projected_wait(
    rate: float, capacity: float, segments_per_message: float = 1.0, per_number_rate: float = 1.0
) -> float:
    """Projected 95th percentile wait (seconds) from submit to send of a message,
    when `rate` segments/s spread evenly over numbers of `capacity` segments/s in all.

    Per number an M/D/1 queue: P(wait > t) ~ rho * exp(-theta t), where theta > 0
    solves lam * (exp(theta d) - 1) = theta (d: one message's send time)."""
    if rate <= 0:
        return 0.0
    if capacity <= 0:
        return math.inf
    rho = rate / capacity
    if rho >= 1:
        return math.inf
    tail = 1 - WAIT_QUANTILE
    if rho <= tail:
        return 0.0
    d = max(1.0, segments_per_message) / per_number_rate
    lam = rho / d

    def excess(theta: float) -> float:
        return lam * math.expm1(theta * d) - theta

    low, high = 0.0, 1.0 / d
    while excess(high) < 0:
        low, high = high, high * 2
    for _ in range(60):
        middle = (low + high) / 2
        if excess(middle) < 0:
            low = middle
        else:
            high = middle
    return math.log(rho / tail) / high


def numbers_for_rate(rate: float, per_number_rate: float, segments_per_message: float, target_wait: float) -> int:
    """The fewest numbers whose projected wait at `rate` is within `target_wait`."""
    if rate <= 0:
        return 0
    count = int(rate / per_number_rate) + 1
    while projected_wait(rate, count * per_number_rate, segments_per_message, per_number_rate) > target_wait:
        count += 1
    return count
