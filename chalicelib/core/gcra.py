"""Send-rate arithmetic: the generic cell rate algorithm (GCRA), pure.

In its "virtual scheduling" form, as redis-cell uses it: each key keeps one
number, its theoretical arrival time (TAT, epoch seconds). A send is allowed
when `now >= TAT - burst`; it moves the TAT to `max(TAT, now) + cost`, where
cost is segments / rate. Whether a send is allowed depends only on the TAT,
not on the send's own cost, so the sender can ask before it knows the
segments (it learns them from the claim) and charge the cost once it has them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Float sums of costs such as 1/3 drift by ulps; a send this close to its slot is on time.
EPSILON = 1e-6


@dataclass(frozen=True)
class Decision:
    allowed: bool
    new_tat: float  # the TAT to store when allowed; the unchanged TAT when not
    wait_seconds: float  # 0 when allowed, else how long until the key allows a send


def decide(tat: float, now: float, cost_seconds: float, burst_seconds: float = 0.0) -> Decision:
    """May a send costing `cost_seconds` go at `now` on a key whose TAT is `tat`?"""
    if cost_seconds < 0 or burst_seconds < 0:
        raise ValueError("cost and burst must not be negative")
    allow_at = tat - burst_seconds
    if now + EPSILON < allow_at:
        return Decision(False, tat, allow_at - now)
    return Decision(True, max(tat, now) + cost_seconds, 0.0)


def cost_seconds(segments: int, segments_per_second: float) -> float:
    return max(1, int(segments or 1)) / segments_per_second
