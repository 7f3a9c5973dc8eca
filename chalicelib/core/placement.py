"""Which pool number a new session gets: a pure choice over plain values.

Among usable numbers not already carrying a session of this user, prefer
(1) the number this same pair used last time (sticky), (2) the user's area
code, then country, (3) the most spare send capacity: the least expected wait
for a new message on the number, its current send backlog plus a share per
open session. A number whose send backlog already exceeds the target wait
comes after every number within it: a preference never piles a new session
onto a number that is behind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    phone_number: str
    country: str
    area_code: str
    segments_per_second: float
    open_sessions: int = 0
    backlog_seconds: float = 0.0

    @property
    def expected_wait(self) -> float:
        return self.backlog_seconds + self.open_sessions / self.segments_per_second


def rank(
    candidates: list[Candidate],
    *,
    taken: set[str],
    country: str,
    area_code: str,
    sticky: str | None,
    target_wait: float | None = None,
) -> list[str]:
    """Usable numbers for the session, best first (empty: the pool must grow).
    With `target_wait`, numbers whose backlog exceeds it come last."""
    free = [c for c in candidates if c.phone_number not in taken]

    def preference(c: Candidate) -> tuple[bool, bool, bool, bool, float, str]:
        return (
            target_wait is not None and c.backlog_seconds > target_wait,
            c.phone_number != sticky,
            not (c.country == country and c.area_code == area_code),
            c.country != country,
            c.expected_wait,
            c.phone_number,  # a stable order for equal numbers
        )

    return [c.phone_number for c in sorted(free, key=preference)]
