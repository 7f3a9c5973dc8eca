"""The pool's decisions on crafted states (core/pool_policy.py, core/pool_plan.py,
core/queueing.py, core/billing.py): no I/O, no clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from chalicelib.core import billing as costs
from chalicelib.core import pool_plan, pool_policy, queueing
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
    NumberState,
    Policy,
    PoolView,
)

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC).timestamp()
DAY = "2026-06-10"
MONTH_AGO = datetime(2026, 5, 20, tzinfo=UTC).timestamp()  # bought then: renews on 2026-06-20
POLICY = Policy(
    target_wait_seconds=10,
    headroom=2,
    idle_seconds=1800,
    min_size=1,
    max_size=50,
    monthly_budget_usd=None,
    quiet_seconds=300,
    release_at="empty",
)


def number(i: int, status: str = ACTIVE, **fields) -> NumberState:
    defaults = {
        "phone_number": f"+1415555{i:04d}",
        "status": status,
        "area_code": "415",
        "country": "US",
        "changed_at": MONTH_AGO,
        "bought_at": MONTH_AGO,
        "last_activity": NOW - 3600,
        "drain_reason": AUTO if status == DRAINING else None,
    }
    return NumberState(**{**defaults, **fields})


def view(numbers, max_user_sessions=0, now=NOW, rentals=None) -> PoolView:
    return PoolView(
        now=now,
        day=DAY,
        numbers=tuple(numbers),
        max_user_sessions=max_user_sessions,
        rentals_this_month=len(numbers) if rentals is None else rentals,
    )


def steady(
    numbers, rate: float, segments_per_message: float = 1.0, since: float = NOW - 7200, max_user_sessions: int = 0
) -> tuple[list[NumberState], dict]:
    """Numbers that sent `rate` segments/s over the last minute, and a memory that saw the
    same rate before (so the smoothed rate is `rate`)."""
    share = rate * 60 / len(numbers)
    sent = [
        NumberState(**{**n.__dict__, "segments_sent": share, "messages_sent": share / segments_per_message})
        for n in numbers
    ]
    history = [[NOW - 60 * k, max_user_sessions, 0] for k in range(1, 30)]
    memory = {
        "at": NOW - 60,
        "day": DAY,
        "since": since,
        "sent": {},
        "messages": {},
        "rate": rate,
        "mean_segments": segments_per_message,
        "history": history,
    }
    return sent, memory


def actions(plan, action=None):
    return [d for d in plan.decisions if action is None or d.action == action]


# --- queueing arithmetic ---------------------------------------------------------------


def test_projected_wait_grows_with_utilisation_and_is_unbounded_at_capacity():
    waits = [queueing.projected_wait(rate, 10.0) for rate in (0.0, 2.0, 5.0, 8.0, 9.5)]
    assert waits[0] == 0.0
    assert waits == sorted(waits)
    assert 5 < queueing.projected_wait(8.0, 10.0) < 8  # M/D/1 at 80%: mean 2 s, p95 about 6.4 s
    assert math.isinf(queueing.projected_wait(10.0, 10.0))
    assert math.isinf(queueing.projected_wait(1.0, 0.0))


def test_longer_messages_wait_longer_at_the_same_segment_rate():
    assert queueing.projected_wait(8.0, 10.0, segments_per_message=2) > queueing.projected_wait(8.0, 10.0)


def test_numbers_for_rate_is_the_fewest_within_the_target():
    needed = queueing.numbers_for_rate(10.0, 1.0, 1.0, 10.0)
    assert queueing.projected_wait(10.0, needed, 1.0, 1.0) <= 10.0
    assert queueing.projected_wait(10.0, needed - 1, 1.0, 1.0) > 10.0
    assert queueing.numbers_for_rate(0.0, 1.0, 1.0, 10.0) == 0


# --- limits ---------------------------------------------------------------------------


def test_the_maximum_size_and_the_budget_refuse_with_their_own_message():
    assert pool_policy.limit_refusal(4, 4, Policy(max_size=5)) is None
    at_max = pool_policy.limit_refusal(5, 0, Policy(max_size=5))
    assert "maximum size of 5 numbers" in at_max and "POOL_MAX_SIZE" in at_max
    over_budget = pool_policy.limit_refusal(3, 4, Policy(max_size=50, monthly_budget_usd=5.0, number_month_usd=1.15))
    assert "$5.75" in over_budget and "budget of $5.00" in over_budget and "POOL_MONTHLY_BUDGET_USD" in over_budget


# --- growing on demand -----------------------------------------------------------------


def test_growth_takes_back_a_drained_number_the_user_has_no_session_on():
    pool = [number(1), number(2, DRAINING, open_sessions=3), number(3, DRAINING, open_sessions=1)]
    choice = pool_policy.grow_choice(
        pool,
        exclude={pool[0].phone_number, pool[2].phone_number},
        country="US",
        area_code="415",
        policy=POLICY,
        rentals_this_month=3,
    )
    assert (choice.action, choice.phone_number) == (REACTIVATE, pool[1].phone_number)


def test_growth_never_takes_back_a_number_drained_by_hand():
    pool = [number(1), number(2, DRAINING, drain_reason=REQUESTED)]
    choice = pool_policy.grow_choice(
        pool, exclude={pool[0].phone_number}, country="US", area_code="212", policy=POLICY, rentals_this_month=2
    )
    assert (choice.action, choice.country, choice.area_code) == (BUY, "US", "212")


def test_growth_refuses_at_the_maximum_and_over_the_budget():
    pool = [number(1), number(2)]
    at_max = pool_policy.grow_choice(
        pool,
        exclude={n.phone_number for n in pool},
        country="US",
        area_code="415",
        policy=Policy(max_size=2),
        rentals_this_month=2,
    )
    assert at_max.action == REFUSE and "maximum size of 2" in at_max.reason
    broke = pool_policy.grow_choice(
        pool,
        exclude={n.phone_number for n in pool},
        country="US",
        area_code="415",
        policy=Policy(max_size=10, monthly_budget_usd=3.0),
        rentals_this_month=2,
    )
    assert broke.action == REFUSE and "budget" in broke.reason


# --- the scheduled run: growing ---------------------------------------------------------


def test_an_empty_pool_buys_its_minimum():
    plan = pool_plan.plan(view([]), POLICY, {})
    assert [d.action for d in plan.decisions] == [BUY]
    assert "minimum" in plan.decisions[0].reason


def test_projected_wait_over_the_target_buys_what_brings_it_within():
    pool, memory = steady([number(i) for i in range(4)], rate=4.5)
    plan = pool_plan.plan(view(pool), POLICY, memory)
    buys = actions(plan, BUY)
    needed = queueing.numbers_for_rate(4.5, 1.0, POLICY.messages_per_burst, 10)
    assert len(buys) == needed - 4 > 0
    assert "projected wait" in buys[0].reason and "> target 10 s" in buys[0].reason
    assert (buys[0].country, buys[0].area_code) == ("US", "415")


def test_a_rate_within_the_target_buys_nothing():
    pool, memory = steady([number(i) for i in range(6)], rate=3.0, max_user_sessions=4)
    plan = pool_plan.plan(view(pool, max_user_sessions=4), POLICY, memory)
    assert [d.action for d in plan.decisions] == [HOLD]
    assert "projected wait" in plan.decisions[0].reason


def test_every_number_behind_buys_one_where_the_backlog_is():
    pool = [number(1, backlog_seconds=25), number(2, backlog_seconds=40, area_code="212")]
    plan = pool_plan.plan(view(pool, max_user_sessions=1), Policy(headroom=0, min_size=1), {})
    buys = actions(plan, BUY)
    assert len(buys) == 1 and "least send backlog is 25.0 s" in buys[0].reason
    assert buys[0].area_code == "212"


def test_drained_numbers_are_taken_back_before_anything_is_bought():
    pool, memory = steady([number(i) for i in range(4)] + [number(9, DRAINING, open_sessions=2)], rate=4.5)
    plan = pool_plan.plan(view(pool), POLICY, memory)
    assert actions(plan)[0].action == REACTIVATE and actions(plan)[0].phone_number == pool[4].phone_number
    assert len(actions(plan, BUY)) == queueing.numbers_for_rate(4.5, 1.0, POLICY.messages_per_burst, 10) - 5


def test_a_scheduled_buy_past_the_maximum_is_refused_and_logged():
    pool, memory = steady([number(i) for i in range(4)], rate=4.5)
    plan = pool_plan.plan(view(pool), Policy(max_size=5, headroom=2), memory)
    assert [d.action for d in plan.decisions] == [BUY, REFUSE]
    assert "maximum size of 5" in plan.decisions[1].reason


def test_a_scheduled_buy_over_the_budget_is_refused():
    pool, memory = steady([number(i) for i in range(4)], rate=4.5)
    plan = pool_plan.plan(view(pool, rentals=4), Policy(monthly_budget_usd=4 * 1.15), memory)
    assert [d.action for d in plan.decisions] == [REFUSE]
    assert "budget" in plan.decisions[0].reason


# --- the scheduled run: shrinking -------------------------------------------------------


def test_surplus_unneeded_for_the_idle_window_drains_the_least_loaded():
    pool = [number(i, open_sessions=5 - i % 3) for i in range(8)]
    pool[6] = number(6, open_sessions=0)
    _, memory = steady(pool, rate=0.0, max_user_sessions=3)
    plan = pool_plan.plan(view(pool, max_user_sessions=3), POLICY, memory)
    drained = actions(plan, DRAIN)
    assert len(drained) == 8 - (3 + 2)
    assert drained[0].phone_number == pool[6].phone_number
    assert "not needed" in drained[0].reason and "headroom 2" in drained[0].reason


def test_nothing_drains_before_the_autoscaler_has_watched_a_whole_idle_window():
    pool = [number(i) for i in range(8)]
    _, memory = steady(pool, rate=0.0, since=NOW - 600)
    assert not actions(pool_plan.plan(view(pool, max_user_sessions=1), POLICY, memory), DRAIN)


def test_a_peak_within_the_idle_window_keeps_the_numbers_it_needed():
    pool = [number(i) for i in range(8)]
    _, memory = steady(pool, rate=0.0)
    memory["history"].append([NOW - 900, 6, 0])  # a user had 6 sessions 15 minutes ago
    plan = pool_plan.plan(view(pool, max_user_sessions=1), POLICY, memory)
    assert not actions(plan, DRAIN)


def test_a_number_bought_within_the_idle_window_is_not_drained():
    pool = [number(i) for i in range(6)] + [number(7, changed_at=NOW - 600)]
    _, memory = steady(pool, rate=0.0)
    drained = {d.phone_number for d in actions(pool_plan.plan(view(pool, max_user_sessions=1), POLICY, memory), DRAIN)}
    assert pool[6].phone_number not in drained and len(drained) == 7 - 3


def test_the_send_rate_also_keeps_numbers():
    pool, memory = steady([number(i) for i in range(12)], rate=6.0)
    plan = pool_plan.plan(view(pool, max_user_sessions=1), POLICY, memory)
    kept = 12 - len(actions(plan, DRAIN))
    assert kept == queueing.numbers_for_rate(6.0, 1.0, POLICY.messages_per_burst, 10)


def test_a_drained_number_is_released_only_once_empty_and_quiet():
    quiet = NOW - 600
    empty = number(1, DRAINING, last_activity=quiet, changed_at=quiet)
    busy = number(2, DRAINING, open_sessions=1, last_activity=quiet, changed_at=quiet)
    sending = number(3, DRAINING, backlog_seconds=4, last_activity=quiet, changed_at=quiet)
    just_now = number(4, DRAINING, last_activity=NOW - 60, changed_at=quiet)
    by_hand = number(5, DRAINING, drain_reason=REQUESTED, last_activity=quiet, changed_at=quiet)
    pool = [number(10), number(11), number(12), empty, busy, sending, just_now, by_hand]
    plan = pool_plan.plan(view(pool, max_user_sessions=1), POLICY, steady(pool, 0.0)[1])
    assert {d.phone_number for d in actions(plan, RELEASE)} == {empty.phone_number, by_hand.phone_number}


def test_a_drained_number_the_pool_needs_again_is_taken_back_not_released():
    quiet = NOW - 600
    pool = [number(1), number(2), number(3, DRAINING, last_activity=quiet, changed_at=quiet)]
    plan = pool_plan.plan(view(pool, max_user_sessions=2), POLICY, steady(pool, 0.0, max_user_sessions=2)[1])
    assert [(d.action, d.phone_number) for d in plan.decisions] == [(REACTIVATE, pool[2].phone_number)]


def test_at_renewal_a_drained_number_stays_until_its_paid_month_is_nearly_over():
    renewal = Policy(headroom=0, min_size=1, idle_seconds=1800, release_at="renewal")
    bought = datetime(2026, 5, 11, 12, tzinfo=UTC).timestamp()  # renews 2026-06-11 12:00, in 21 h
    quiet = NOW - 600
    early = number(1, DRAINING, last_activity=quiet, changed_at=quiet, bought_at=MONTH_AGO)
    due = number(2, DRAINING, last_activity=quiet, changed_at=quiet, bought_at=bought)
    pool = [number(10), early, due]
    plan = pool_plan.plan(view(pool, max_user_sessions=1), renewal, steady(pool, 0.0)[1])
    assert [(d.action, d.phone_number) for d in plan.decisions] == [(RELEASE, due.phone_number)]
    _, memory = steady(pool, 0.0)
    memory["hourly_keep"] = {str(int((NOW - 86400) // 3600)): 3}  # yesterday the pool needed all three
    plan = pool_plan.plan(view(pool, max_user_sessions=1), renewal, memory)
    assert not actions(plan, RELEASE)
    assert "kept" in plan.decisions[-1].reason


# --- memory ---------------------------------------------------------------------------------


def test_the_send_rate_is_measured_from_the_days_counters():
    pool = [number(1, segments_sent=100, messages_sent=50), number(2, segments_sent=20, messages_sent=10)]
    first = pool_plan.plan(view(pool), POLICY, {})
    later = [number(1, segments_sent=160, messages_sent=80), number(2, segments_sent=80, messages_sent=40)]
    second = pool_plan.plan(view(later, now=NOW + 60), POLICY, first.memory)
    assert second.figures["segments_per_second_since_last_run"] == pytest.approx(2.0)
    assert second.figures["segments_per_second"] == pytest.approx(2.0)  # the first measurement
    assert second.figures["segments_per_message"] == pytest.approx(2.0)
    next_day = pool_policy.PoolView(
        now=NOW + 120,
        day="2026-06-11",
        numbers=(number(1, segments_sent=30),),
        max_user_sessions=0,
        rentals_this_month=1,
    )
    third = pool_plan.plan(next_day, POLICY, second.memory)
    assert third.figures["segments_per_second_since_last_run"] == pytest.approx(0.5)  # counters restarted
    assert 0.5 < third.figures["segments_per_second"] < 2.0  # smoothed


def test_every_decision_has_a_reason():
    pool, memory = steady([number(i) for i in range(3)], rate=4.5)
    for plan in (pool_plan.plan(view(pool), POLICY, memory), pool_plan.plan(view([]), POLICY, {})):
        assert all(d.reason for d in plan.decisions)


def test_monthly_rentals_count_purchase_and_renewal_days():
    start, end = costs.month_bounds(NOW)
    rentals = [
        costs.Rental("a", MONTH_AGO),  # renews on the 20th
        costs.Rental("b", datetime(2026, 6, 2, tzinfo=UTC).timestamp()),  # bought this month
        costs.Rental(
            "c", datetime(2026, 6, 3, tzinfo=UTC).timestamp(), datetime(2026, 6, 4, tzinfo=UTC).timestamp()
        ),  # a day, a whole month's bill
        costs.Rental(
            "d", datetime(2026, 4, 25, tzinfo=UTC).timestamp(), datetime(2026, 5, 30, tzinfo=UTC).timestamp()
        ),  # gone before June
    ]
    assert costs.rentals_in_month(rentals, start, end) == 3
    assert costs.rentals_by_month(rentals, datetime(2026, 4, 1, tzinfo=UTC).timestamp(), end) == {
        "2026-04": 1,
        "2026-05": 2,
        "2026-06": 3,
    }
    jan31 = datetime(2026, 1, 31, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(costs.next_bill(jan31, jan31 + 86400), tz=UTC).day == 28
