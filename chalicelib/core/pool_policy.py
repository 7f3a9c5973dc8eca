"""The pool's policy and its state, as plain values; the decisions that an API
call needs at once (may one more number be bought? which number grows the
pool for a session that cannot be placed?). Pure: no I/O, no clock.

The scheduled run's decisions are in core/pool_plan.py; docs/pool.md
describes the policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ACTIVE, DRAINING = "active", "draining"
AUTO, REQUESTED = "auto", "requested"  # who drained a number: only the autoscaler's drains are taken back

BUY, REACTIVATE, DRAIN, RELEASE, REFUSE, HOLD = "buy", "reactivate", "drain", "release", "refuse", "hold"


@dataclass(frozen=True)
class Policy:
    """How the pool grows and shrinks (docs/pool.md). These defaults are the only ones:
    config.load() (its `pool` group) overrides just the fields whose environment variable is set."""

    target_wait_seconds: float = 10.0
    headroom: int = 1
    idle_seconds: float = 1800.0
    min_size: int = 1
    max_size: int = 50
    monthly_budget_usd: float | None = 100.0  # None: no cap
    number_month_usd: float = 1.15
    # A drained number is released once it has sent nothing for this long: more than the
    # sender's longest retry backoff, so no send of it is still waiting in the queue.
    quiet_seconds: float = 300.0
    # Time constant of the smoothed send rate the pool is sized on.
    rate_time_constant_seconds: float = 120.0
    max_buys_per_run: int = 5
    # Texts come in runs (a person sends several in a row): the projection treats this many
    # messages as arriving together, which is what makes a number's queue wait. Calibrated on
    # bench/pool_sim.py's month: 1.0 lets the busiest hour's p95 reach 10.9 s (target 10 s),
    # 2.0 holds it at 10.0 s for two more numbers at the peak, 1.5 gives 10.2 s for one.
    messages_per_burst: float = 1.5
    default_segments_per_second: float = 1.0
    # When an empty drained number is released: "empty" at once, or "renewal": kept (and
    # taken back for free when needed) until its paid month is about to renew.
    release_at: str = "renewal"
    renewal_margin_seconds: float = 86400.0
    # With release_at "renewal": a number renews unless the pool without it still covers
    # the most it had to keep at any time in this window.
    renewal_lookback_seconds: float = 7 * 86400.0


@dataclass(frozen=True)
class NumberState:
    phone_number: str
    status: str  # active | draining
    segments_per_second: float = 1.0
    country: str = ""
    area_code: str = ""
    open_sessions: int = 0
    backlog_seconds: float = 0.0
    segments_sent: float = 0.0  # the day's counter, cumulative
    messages_sent: float = 0.0  # the day's counter, cumulative
    last_activity: float = 0.0  # last session opened or closed on it, or the end of its last send slot
    changed_at: float = 0.0  # when it was bought, taken back or drained
    drain_reason: str | None = None
    bought_at: float = 0.0  # Twilio bills it then and monthly after


@dataclass(frozen=True)
class PoolView:
    now: float
    day: str  # the day the counters count (they restart each day)
    numbers: tuple[NumberState, ...]
    max_user_sessions: int
    rentals_this_month: int  # number-months Twilio bills this calendar month if the pool stays as it is


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str
    phone_number: str | None = None
    country: str | None = None
    area_code: str | None = None


def required(value: str | None, what: str) -> str:
    """A Decision's `value` that its action always carries (REACTIVATE, DRAIN and RELEASE
    a phone_number, BUY a country); raises if it is missing, which would be a bug."""
    if value is None:
        raise ValueError(f"pool decision without its {what}")
    return value


@dataclass
class Plan:
    decisions: list[Decision]
    memory: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)


def limit_refusal(held: int, rentals_this_month: int, policy: Policy) -> str | None:
    """Why one more number may not be bought, or None when it may."""
    if held >= policy.max_size:
        return (
            f"the pool is at its maximum size of {policy.max_size} numbers (POOL_MAX_SIZE); "
            "close sessions or raise the limit"
        )
    if policy.monthly_budget_usd is not None:
        bill = (rentals_this_month + 1) * policy.number_month_usd
        if bill > policy.monthly_budget_usd + 1e-9:
            return (
                f"another number would take this month's number rental to ${bill:.2f}, over the monthly "
                f"budget of ${policy.monthly_budget_usd:.2f} (POOL_MONTHLY_BUDGET_USD)"
            )
    return None


def grow_choice(
    numbers: Iterable[NumberState],
    *,
    exclude: set[str],
    country: str,
    area_code: str,
    policy: Policy,
    rentals_this_month: int,
) -> Decision:
    """A session cannot be placed: take back a number the autoscaler drained,
    else buy one in the user's country and area code, unless a limit forbids it."""
    numbers = list(numbers)
    reclaimable = [
        n for n in numbers if n.status == DRAINING and n.drain_reason == AUTO and n.phone_number not in exclude
    ]
    if reclaimable:
        best = min(
            reclaimable,
            key=lambda n: (n.country != country, n.area_code != area_code, n.open_sessions, n.phone_number),
        )
        return Decision(
            REACTIVATE, "a session could not be placed; a draining number is still rented", best.phone_number
        )
    refusal = limit_refusal(len(numbers), rentals_this_month, policy)
    if refusal:
        return Decision(REFUSE, refusal)
    return Decision(
        BUY, "a session could not be placed: its user has a session on every usable number", None, country, area_code
    )
