"""The pool's decisions, as pure functions of its state: no I/O, no clock.

`plan(view, policy, memory)` is what the scheduled function runs every minute:
given the numbers and their load (`PoolView`, read by chalicelib/pool.py) and
what the previous run remembered, it returns the decisions, each with its
reason, and what to remember next. `grow_choice` is the same policy for the
API call that cannot place a session, and `placement_order` is the load-aware
order new sessions try numbers in. bench/pool_sim.py drives these functions in
virtual time, so the simulation tests the code that runs.

How much the pool needs:
- for sessions: the largest number of open sessions any one user has (each of
  them needs its own number), plus `headroom`;
- for sending: the fewest numbers at which the projected wait of a new message
  stays within `target_wait_seconds`, at the measured send rate. The
  projection is the 95th percentile wait of an M/D/1 queue per number (Poisson
  arrivals of messages of the measured mean size, a number sending at its fixed
  rate), assuming placement spreads the rate evenly;
- never fewer than `min_size` active numbers.

Growing: a session that cannot be placed grows the pool at once (API call,
`grow_choice`); the scheduled run buys when the projected wait exceeds the
target, or when even the least busy number has a backlog over it. A number
drained by the autoscaler is taken back (reactivated, free: it is still
rented) before anything is bought. Nothing is bought past `max_size` numbers
held or past the monthly rental budget.

Shrinking: with sessions spread evenly, no single number sits idle while there
is traffic, so idleness is judged on the surplus: numbers beyond the most the
pool needed at any run in the last `idle_seconds` (plus headroom) drain, the
least loaded first, never one bought or taken back within that window. A
draining number takes no new sessions and is released once it has no open
session and has sent nothing for `quiet_seconds`.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable

from chalicelib import allocation, costs

ACTIVE, DRAINING = "active", "draining"
AUTO, REQUESTED = "auto", "requested"  # who drained a number: only the autoscaler's drains are taken back

BUY, REACTIVATE, DRAIN, RELEASE, REFUSE, HOLD = "buy", "reactivate", "drain", "release", "refuse", "hold"

WAIT_QUANTILE = 0.95


@dataclass(frozen=True)
class Policy:
    target_wait_seconds: float = 10.0
    headroom: int = 1
    idle_seconds: float = 1800.0
    min_size: int = 1
    max_size: int = 50
    monthly_budget_usd: float | None = None
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

    @classmethod
    def from_settings(cls, settings, default_segments_per_second: float = 1.0) -> "Policy":
        return cls(
            target_wait_seconds=settings.target_wait_seconds,
            headroom=settings.headroom,
            idle_seconds=settings.idle_seconds,
            min_size=settings.min_size,
            max_size=settings.max_size,
            monthly_budget_usd=settings.monthly_budget_usd,
            number_month_usd=settings.number_month_usd,
            default_segments_per_second=default_segments_per_second,
            release_at=settings.release_at,
        )


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


@dataclass
class Plan:
    decisions: list[Decision]
    memory: dict
    figures: dict = field(default_factory=dict)


# --- queueing arithmetic ------------------------------------------------------


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


# --- limits -------------------------------------------------------------------


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


# --- placement ------------------------------------------------------------------


def placement_order(
    candidates: list[allocation.Candidate],
    *,
    taken: set[str],
    country: str,
    area_code: str,
    sticky: str | None,
    target_wait: float,
) -> list[str]:
    """allocation.rank's order (sticky, area code, country, least expected wait),
    except that a number whose send backlog already exceeds the target wait comes
    after every number within it: a preference never piles a new session onto a
    number that is behind."""
    fit = [c for c in candidates if c.backlog_seconds <= target_wait]
    behind = [c for c in candidates if c.backlog_seconds > target_wait]
    ranked = allocation.rank(fit, taken=taken, country=country, area_code=area_code, sticky=sticky)
    return ranked + allocation.rank(behind, taken=taken, country=country, area_code=area_code, sticky=sticky)


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
        return Decision(REACTIVATE, "a session could not be placed; a draining number is still rented", best.phone_number)
    refusal = limit_refusal(len(numbers), rentals_this_month, policy)
    if refusal:
        return Decision(REFUSE, refusal)
    return Decision(
        BUY, "a session could not be placed: its user has a session on every usable number", None, country, area_code
    )


# --- the scheduled run ------------------------------------------------------------


def _measure(view: PoolView, memory: dict, policy: Policy) -> tuple[float | None, float, float]:
    """(the send rate since the last run or None, smoothed rate, smoothed segments per message)."""
    previous_at = memory.get("at")
    same_day = memory.get("day") == view.day
    sent_before = memory.get("sent", {}) if same_day else {}
    messages_before = memory.get("messages", {}) if same_day else {}
    rate = float(memory.get("rate", 0.0))
    mean_segments = float(memory.get("mean_segments", 1.0))
    if previous_at is None or view.now <= previous_at:
        return None, rate, mean_segments
    elapsed = view.now - previous_at
    segments = sum(max(0.0, n.segments_sent - sent_before.get(n.phone_number, 0.0)) for n in view.numbers)
    messages = sum(max(0.0, n.messages_sent - messages_before.get(n.phone_number, 0.0)) for n in view.numbers)
    sample = segments / elapsed
    # The first measurement is the rate; later ones move it by how much time they cover.
    weight = 1 - math.exp(-elapsed / policy.rate_time_constant_seconds) if "rate" in memory else 1.0
    rate += weight * (sample - rate)
    if messages > 0:
        mean_segments += weight * (segments / messages - mean_segments)
    return sample, rate, max(1.0, mean_segments)


def _busiest_place(active: list[NumberState]) -> tuple[str | None, str | None]:
    """Where a number bought for load helps most: the area code of the number
    furthest behind, else the most common one in the pool."""
    if not active:
        return None, None
    behind = max(active, key=lambda n: n.backlog_seconds)
    if behind.backlog_seconds > 0:
        return behind.country or None, behind.area_code or None
    (country, area_code), _ = Counter((n.country, n.area_code) for n in active).most_common(1)[0]
    return country or None, area_code or None


def plan(view: PoolView, policy: Policy, memory: dict | None = None) -> Plan:
    memory = dict(memory or {})
    now = view.now
    active = [n for n in view.numbers if n.status == ACTIVE]
    draining = [n for n in view.numbers if n.status == DRAINING]
    per_number_rate = (
        sum(n.segments_per_second for n in active) / len(active) if active else policy.default_segments_per_second
    )
    sample, rate, mean_segments = _measure(view, memory, policy)
    capacity = sum(n.segments_per_second for n in active)
    burst_segments = mean_segments * policy.messages_per_burst
    wait = projected_wait(rate, capacity, burst_segments, per_number_rate)
    least_backlog = min((n.backlog_seconds for n in active), default=0.0)
    need_rate = numbers_for_rate(rate, per_number_rate, burst_segments, policy.target_wait_seconds)

    since = float(memory.get("since", now))
    history = [entry for entry in memory.get("history", []) if entry[0] > now - policy.idle_seconds]
    history.append([now, view.max_user_sessions, need_rate])
    window_sessions = max(entry[1] for entry in history)
    window_rate = max(entry[2] for entry in history)
    keep = max(policy.min_size, window_sessions + policy.headroom, window_rate)
    # The most the pool had to keep, per hour, over the renewal lookback.
    hour = str(int(now // 3600))
    peaks = {
        key: value for key, value in memory.get("hourly_keep", {}).items()
        if int(key) * 3600 > now - policy.renewal_lookback_seconds
    }
    peaks[hour] = max(peaks.get(hour, 0), keep)
    lookback_keep = max(peaks.values())

    figures = {
        "active": len(active),
        "draining": len(draining),
        "max_user_sessions": view.max_user_sessions,
        "segments_per_second": round(rate, 4),
        "segments_per_message": round(mean_segments, 3),
        "projected_wait_seconds": round(wait, 2) if math.isfinite(wait) else None,
        "least_backlog_seconds": round(least_backlog, 2),
        "numbers_for_rate": need_rate,
        "keep": keep,
        "lookback_keep": lookback_keep,
    }
    decisions: list[Decision] = []

    # What the pool needs now, and why.
    required, why = policy.min_size, f"the minimum of {policy.min_size} active numbers (POOL_MIN_SIZE)"
    if need_rate > required:
        required, why = need_rate, (
            f"projected wait {_seconds(wait)} > target {policy.target_wait_seconds:g} s at "
            f"{rate:.2f} segments/s on {len(active)} active numbers; {need_rate} keep it within the target"
        )
    if active and least_backlog > policy.target_wait_seconds and len(active) + 1 > required:
        required, why = len(active) + 1, (
            f"every active number is behind: the least send backlog is {least_backlog:.1f} s "
            f"> target {policy.target_wait_seconds:g} s"
        )

    # 1. Take back drained numbers while the pool has fewer than it should keep (they are still rented).
    shortfall = max(required, keep) - len(active)
    reclaimable = sorted(
        (n for n in draining if n.drain_reason == AUTO),
        key=lambda n: (n.open_sessions, -n.changed_at, n.phone_number),
    )
    taken_back: set[str] = set()
    for number in reclaimable[: max(0, shortfall)]:
        reason = why if len(active) + len(taken_back) < required else (
            f"{len(active) + len(taken_back)} active < {keep} to keep (largest user {window_sessions} sessions "
            f"+ headroom {policy.headroom}, or {window_rate} for the send rate, over the last "
            f"{policy.idle_seconds / 60:g} min); the number is still rented"
        )
        decisions.append(Decision(REACTIVATE, reason, number.phone_number))
        taken_back.add(number.phone_number)

    # 2. Buy what is still missing for the send rate (sessions grow on demand, in the API call).
    missing = required - len(active) - len(taken_back)
    if missing > 0:
        country, area_code = _busiest_place(active)
        held = len(view.numbers)
        rentals = view.rentals_this_month
        for _ in range(min(missing, policy.max_buys_per_run)):
            refusal = limit_refusal(held, rentals, policy)
            if refusal:
                decisions.append(Decision(REFUSE, f"would buy: {why}; but {refusal}"))
                break
            decisions.append(Decision(BUY, why, None, country, area_code))
            held += 1
            rentals += 1

    # 3. Drain the surplus once it has gone unneeded for the whole idle window.
    grew = any(d.action in (BUY, REACTIVATE, REFUSE) for d in decisions)
    observed_long_enough = now - since >= policy.idle_seconds
    surplus = len(active) - keep
    if not grew and observed_long_enough and surplus > 0:
        settled = [n for n in active if n.changed_at <= now - policy.idle_seconds]
        settled.sort(key=lambda n: (n.open_sessions, n.backlog_seconds, n.last_activity, n.phone_number))
        for number in settled[:surplus]:
            decisions.append(
                Decision(
                    DRAIN,
                    f"not needed: {len(active)} active > {keep} to keep (largest user {window_sessions} sessions + "
                    f"headroom {policy.headroom}, {window_rate} for the send rate) at every run of the last "
                    f"{policy.idle_seconds / 60:g} min; {number.open_sessions} open sessions, the fewest",
                    number.phone_number,
                )
            )

    # 4. Release drained numbers that are empty and quiet.
    kept_in_reserve = 0
    held_after = len(view.numbers)
    for number in draining:
        if number.phone_number in taken_back:
            continue
        if number.open_sessions > 0 or number.backlog_seconds > 0:
            continue
        quiet_since = max(number.last_activity, number.changed_at)
        if quiet_since > now - policy.quiet_seconds:
            continue
        if policy.release_at == "renewal" and number.drain_reason == AUTO:
            renews_in = costs.next_bill(number.bought_at, now) - now
            if renews_in > policy.renewal_margin_seconds or held_after - 1 < lookback_keep:
                kept_in_reserve += 1  # paid for until it renews, or needed at the recent peak
                continue
        held_after -= 1
        decisions.append(
            Decision(
                RELEASE,
                f"drained ({number.drain_reason or REQUESTED}), no open session, nothing sent for "
                f"{(now - quiet_since) / 60:.0f} min",
                number.phone_number,
            )
        )

    if not decisions:
        decisions.append(
            Decision(
                HOLD,
                f"{len(active)} active numbers fit: need {required} now ({why}), keep {keep} (largest user "
                f"{window_sessions} sessions + headroom {policy.headroom}, {window_rate} for the send rate); "
                f"projected wait {_seconds(wait)}"
                + (f"; {kept_in_reserve} drained numbers kept: paid for until they renew, or needed at the peak of the last {policy.renewal_lookback_seconds / 86400:g} days" if kept_in_reserve else ""),
            )
        )
    figures["kept_in_reserve"] = kept_in_reserve

    memory.update(
        at=now,
        day=view.day,
        since=since,
        sent={n.phone_number: n.segments_sent for n in view.numbers},
        messages={n.phone_number: n.messages_sent for n in view.numbers},
        mean_segments=mean_segments,
        history=history,
        hourly_keep=peaks,
    )
    if sample is not None:
        memory["rate"] = rate
        figures["segments_per_second_since_last_run"] = round(sample, 4)
    return Plan(decisions, memory, figures)


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if math.isfinite(value) else "unbounded (over capacity)"


def with_status(number: NumberState, status: str, now: float, drain_reason: str | None = None) -> NumberState:
    """The number after a decision (the simulation applies decisions with it)."""
    return replace(number, status=status, changed_at=now, drain_reason=drain_reason)
