"""The scheduled run's decisions, as pure functions of the pool's state.

`plan(view, policy, memory)` is what the scheduled function runs every minute:
given the numbers and their load (`PoolView`, read by usecases/autoscale.py)
and what the previous run remembered, it returns the decisions, each with its
reason, and what to remember next. bench/pool_sim.py drives it in virtual
time, so the simulation tests the code that runs.

How much the pool needs:
- for sessions: the largest number of open sessions any one user has (each of
  them needs its own number), plus `headroom`;
- for sending: the fewest numbers at which the projected wait of a new message
  stays within `target_wait_seconds`, at the measured send rate
  (core/queueing.py), assuming placement spreads the rate evenly;
- never fewer than `min_size` active numbers.

Then four steps, each a function below: take back drained numbers (they are
still rented), buy what is still missing for the send rate, drain the surplus
that went unneeded for the whole idle window, release drained numbers that are
empty and quiet.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from chalicelib.core import billing
from chalicelib.core.pool_policy import (
    ACTIVE,
    AUTO,
    BUY,
    DRAIN,
    DRAINING,
    HOLD,
    REACTIVATE,
    REFUSE,
    RELEASE,
    REQUESTED,
    Decision,
    NumberState,
    Plan,
    Policy,
    PoolView,
    limit_refusal,
)
from chalicelib.core.queueing import numbers_for_rate, projected_wait


@dataclass(frozen=True)
class Needs:
    """What the pool needs at this run, and why."""

    active: list[NumberState]
    draining: list[NumberState]
    required: int  # active numbers needed now
    why: str
    keep: int  # active numbers to keep: the most needed at any run of the idle window
    lookback_keep: int  # the most kept at any hour of the renewal lookback
    window_sessions: int
    window_rate: int
    projected_wait: float


def plan(view: PoolView, policy: Policy, memory: dict[str, Any] | None = None) -> Plan:
    memory = dict(memory or {})
    needs, figures = assess(view, policy, memory)
    decisions = take_back(needs, policy)
    taken_back = {d.phone_number for d in decisions if d.phone_number}
    decisions += buy_missing(view, needs, policy, len(taken_back))
    grew = any(d.action in (BUY, REACTIVATE, REFUSE) for d in decisions)
    if not grew and view.now - float(memory.get("since", view.now)) >= policy.idle_seconds:
        decisions += drain_surplus(view.now, needs, policy)
    released, kept_in_reserve = release_quiet(view, needs, policy, taken_back)
    decisions += released
    if not decisions:
        decisions.append(Decision(HOLD, _hold_reason(needs, policy, kept_in_reserve)))
    figures["kept_in_reserve"] = kept_in_reserve
    return Plan(decisions, memory, figures)


def assess(view: PoolView, policy: Policy, memory: dict[str, Any]) -> tuple[Needs, dict[str, Any]]:
    """Measure the send rate, project the wait, and say what the pool needs. Updates
    `memory` with what the next run needs to measure and remember."""
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

    history = [entry for entry in memory.get("history", []) if entry[0] > now - policy.idle_seconds]
    history.append([now, view.max_user_sessions, need_rate])
    window_sessions = max(entry[1] for entry in history)
    window_rate = max(entry[2] for entry in history)
    keep = max(policy.min_size, window_sessions + policy.headroom, window_rate)
    # The most the pool had to keep, per hour, over the renewal lookback.
    hour = str(int(now // 3600))
    peaks = {
        key: value
        for key, value in memory.get("hourly_keep", {}).items()
        if int(key) * 3600 > now - policy.renewal_lookback_seconds
    }
    peaks[hour] = max(peaks.get(hour, 0), keep)

    required, why = _required_now(policy, len(active), need_rate, rate, wait, least_backlog)
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
        "lookback_keep": max(peaks.values()),
    }
    memory.update(
        at=now,
        day=view.day,
        since=float(memory.get("since", now)),
        sent={n.phone_number: n.segments_sent for n in view.numbers},
        messages={n.phone_number: n.messages_sent for n in view.numbers},
        mean_segments=mean_segments,
        history=history,
        hourly_keep=peaks,
    )
    if sample is not None:
        memory["rate"] = rate
        figures["segments_per_second_since_last_run"] = round(sample, 4)
    needs = Needs(active, draining, required, why, keep, max(peaks.values()), window_sessions, window_rate, wait)
    return needs, figures


def _required_now(
    policy: Policy, active: int, need_rate: int, rate: float, wait: float, least_backlog: float
) -> tuple[int, str]:
    """How many active numbers the pool needs now, and why: the minimum, the send rate's
    need, or one more when every active number is behind."""
    required, why = policy.min_size, f"the minimum of {policy.min_size} active numbers (POOL_MIN_SIZE)"
    if need_rate > required:
        required, why = (
            need_rate,
            (
                f"projected wait {_seconds(wait)} > target {policy.target_wait_seconds:g} s at "
                f"{rate:.2f} segments/s on {active} active numbers; {need_rate} keep it within the target"
            ),
        )
    if active and least_backlog > policy.target_wait_seconds and active + 1 > required:
        required, why = (
            active + 1,
            (
                f"every active number is behind: the least send backlog is {least_backlog:.1f} s "
                f"> target {policy.target_wait_seconds:g} s"
            ),
        )
    return required, why


def take_back(needs: Needs, policy: Policy) -> list[Decision]:
    """1. Take back numbers the autoscaler drained while the pool has fewer active
    than it should keep (they are still rented, so this costs nothing)."""
    shortfall = max(needs.required, needs.keep) - len(needs.active)
    reclaimable = sorted(
        (n for n in needs.draining if n.drain_reason == AUTO),
        key=lambda n: (n.open_sessions, -n.changed_at, n.phone_number),
    )
    decisions: list[Decision] = []
    for number in reclaimable[: max(0, shortfall)]:
        active = len(needs.active) + len(decisions)
        reason = (
            needs.why
            if active < needs.required
            else (
                f"{active} active < {needs.keep} to keep (largest user {needs.window_sessions} sessions "
                f"+ headroom {policy.headroom}, or {needs.window_rate} for the send rate, over the last "
                f"{policy.idle_seconds / 60:g} min); the number is still rented"
            )
        )
        decisions.append(Decision(REACTIVATE, reason, number.phone_number))
    return decisions


def buy_missing(view: PoolView, needs: Needs, policy: Policy, taken_back: int) -> list[Decision]:
    """2. Buy what is still missing for the send rate (sessions grow on demand, in
    the API call), within the size and budget limits."""
    missing = needs.required - len(needs.active) - taken_back
    decisions: list[Decision] = []
    if missing <= 0:
        return decisions
    country, area_code = _busiest_place(needs.active)
    held, rentals = len(view.numbers), view.rentals_this_month
    for _ in range(min(missing, policy.max_buys_per_run)):
        refusal = limit_refusal(held, rentals, policy)
        if refusal:
            decisions.append(Decision(REFUSE, f"would buy: {needs.why}; but {refusal}"))
            break
        decisions.append(Decision(BUY, needs.why, None, country, area_code))
        held += 1
        rentals += 1
    return decisions


def drain_surplus(now: float, needs: Needs, policy: Policy) -> list[Decision]:
    """3. Drain the surplus once it has gone unneeded for the whole idle window: the
    least loaded first, never a number bought or taken back within that window."""
    surplus = len(needs.active) - needs.keep
    if surplus <= 0:
        return []
    settled = [n for n in needs.active if n.changed_at <= now - policy.idle_seconds]
    settled.sort(key=lambda n: (n.open_sessions, n.backlog_seconds, n.last_activity, n.phone_number))
    return [
        Decision(
            DRAIN,
            f"not needed: {len(needs.active)} active > {needs.keep} to keep (largest user {needs.window_sessions} "
            f"sessions + headroom {policy.headroom}, {needs.window_rate} for the send rate) at every run of the last "
            f"{policy.idle_seconds / 60:g} min; {number.open_sessions} open sessions, the fewest",
            number.phone_number,
        )
        for number in settled[:surplus]
    ]


def release_quiet(view: PoolView, needs: Needs, policy: Policy, taken_back: set[str]) -> tuple[list[Decision], int]:
    """4. Release drained numbers that are empty and quiet. With release_at "renewal",
    one the autoscaler drained is kept until its paid month is about to renew, and
    while the recent peak still needs it. Returns the releases and how many were kept."""
    decisions, kept_in_reserve, held_after = [], 0, len(view.numbers)
    for number in needs.draining:
        if number.phone_number in taken_back or number.open_sessions > 0 or number.backlog_seconds > 0:
            continue
        quiet_since = max(number.last_activity, number.changed_at)
        if quiet_since > view.now - policy.quiet_seconds:
            continue
        if policy.release_at == "renewal" and number.drain_reason == AUTO:
            renews_in = billing.next_bill(number.bought_at, view.now) - view.now
            if renews_in > policy.renewal_margin_seconds or held_after - 1 < needs.lookback_keep:
                kept_in_reserve += 1  # paid for until it renews, or needed at the recent peak
                continue
        held_after -= 1
        decisions.append(
            Decision(
                RELEASE,
                f"drained ({number.drain_reason or REQUESTED}), no open session, nothing sent for "
                f"{(view.now - quiet_since) / 60:.0f} min",
                number.phone_number,
            )
        )
    return decisions, kept_in_reserve


def _hold_reason(needs: Needs, policy: Policy, kept_in_reserve: int) -> str:
    reason = (
        f"{len(needs.active)} active numbers fit: need {needs.required} now ({needs.why}), keep {needs.keep} "
        f"(largest user {needs.window_sessions} sessions + headroom {policy.headroom}, {needs.window_rate} for "
        f"the send rate); projected wait {_seconds(needs.projected_wait)}"
    )
    if kept_in_reserve:
        reason += (
            f"; {kept_in_reserve} drained numbers kept: paid for until they renew, or needed at the peak of the "
            f"last {policy.renewal_lookback_seconds / 86400:g} days"
        )
    return reason


def _measure(view: PoolView, memory: dict[str, Any], policy: Policy) -> tuple[float | None, float, float]:
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


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if math.isfinite(value) else "unbounded (over capacity)"
