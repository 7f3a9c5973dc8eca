"""How many verification codes and tries are allowed (pure; the clock is an argument).

Per phone and per user the limits are sliding windows over the times of past
events (a log of at most `limit` times per window), so "5 an hour" means at most
5 in ANY 60 minutes and "1 per 30 s" at least 30 s apart, and the wait a refusal
names is exact. The global budget is a count per fixed window (a log of
thousands of times would not fit an item); at a window's edge up to twice the
budget can go out within an hour, which the alarm at a fraction of it catches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# How far apart racing requests' clocks (read on arrival, written in another order) may
# be and still count each other's events: a log keeps times this much past its longest window.
CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class Window:
    limit: int  # events allowed
    seconds: int  # within any this many seconds


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until it would be allowed (0 when allowed)
    times: tuple[float, ...]  # the log to store when allowed: the kept times and now


def admit(times: list[float] | tuple[float, ...], now: float, windows: list[Window]) -> Decision:
    """May one more event happen at `now`, given the times of the earlier ones?
    A time after `now` is kept, and counts in a window it shares with `now`: a racing
    request whose clock read later wrote it first (dropping it let every racer erase
    the one before)."""
    longest = max(window.seconds for window in windows)
    kept = sorted(t for t in times if t > now - longest - CLOCK_SKEW_SECONDS)
    wait = 0.0
    for window in windows:
        recent = _within(kept, now, window)
        if window.limit <= 0:
            wait = max(wait, window.seconds)
        elif len(recent) >= window.limit:
            # Allowed again once the oldest of the last `limit` events leaves the window.
            wait = max(wait, recent[-window.limit] + window.seconds - now)
    if wait > 0:
        return Decision(False, max(1, math.ceil(wait)), tuple(kept))
    return Decision(True, 0, (*kept, now))


def used(times: list[float] | tuple[float, ...], now: float, window: Window) -> int:
    return len(_within(times, now, window))


def _within(times: list[float] | tuple[float, ...], now: float, window: Window) -> list[float]:
    """The times less than a window's length from `now`, before or after it: any window
    holding both `now` and such a time holds no time outside these."""
    return [t for t in times if now - window.seconds < t < now + window.seconds]


def fixed_window(now: float, seconds: int) -> tuple[int, int]:
    """(start, end) of the fixed window `now` falls in."""
    start = int(now // seconds) * seconds
    return start, start + seconds


def near(count: int, budget: int, fraction: float) -> bool:
    """True when `count` has reached the alarm's share of `budget`."""
    return budget > 0 and count >= math.ceil(budget * fraction)
