"""When a handed-back message is asked to be hidden, and for how long (pure)."""

from __future__ import annotations

import math

import pytest

from chalicelib.core.send_timing import (
    RETURN_LEAD_MAX,
    RETURN_LEAD_MIN,
    hand_back_at,
    visibility_timeout,
)


def comes_back(now: float, last: float, due: float) -> float | None:
    plan = hand_back_at(now, last, due)
    if plan is None:
        return None
    ask, seconds = plan
    assert now <= ask <= last and isinstance(seconds, int) and seconds >= 1
    return ask + seconds


def test_a_window_that_holds_the_moment_brings_it_back_the_longest_lead_early():
    # Asked 0.5 s after now for one second: back RETURN_LEAD_MAX before its slot.
    assert hand_back_at(100.0, 100.9, 101.5 + RETURN_LEAD_MAX) == (pytest.approx(100.5), 1)
    assert comes_back(100.0, 100.9, 101.5 + RETURN_LEAD_MAX) == pytest.approx(101.5)


def test_a_window_past_that_moment_asks_at_once_if_it_is_still_back_in_time():
    # now is 0.2 s before the slot less a second: asked at once, back 0.2 s early.
    assert comes_back(100.0, 100.1, 101.2) == pytest.approx(101.0)
    # Less than RETURN_LEAD_MIN left: no moment in the window will do.
    assert hand_back_at(100.0, 100.1, 101.0 + RETURN_LEAD_MIN / 2) is None


def _some_moment_brings_it_back_in_time(now: float, last: float, due: float) -> bool:
    """Brute force, by the millisecond: a request at a moment of [now, last] for whole seconds
    that brings the message back between the two leads before `due`."""
    asks = [now + i / 1000 for i in range(round((last - now) * 1000) + 1)] if last >= now else []
    return any(
        due - RETURN_LEAD_MAX - 1e-9 <= ask + seconds <= due - RETURN_LEAD_MIN + 1e-9
        for ask in asks
        for seconds in range(1, math.ceil(due - now) + 1)
    )


@pytest.mark.parametrize("lead", [0.0, 0.05, 0.12, 0.2, 0.24, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("gap", [1.0, 2.0, 3.0])
def test_it_comes_back_within_the_leads_whenever_a_moment_allows_and_only_then(lead, gap):
    # An invocation that started `lead` before its slot and asks until 0.1 s before it (a
    # lead under 0.1 s leaves no moment to ask in), the next slot `gap` after it.
    slot = 1_000.0
    now, last, due = slot - lead, slot - 0.1, slot + gap
    back = comes_back(now, last, due)
    if back is None:
        assert not _some_moment_brings_it_back_in_time(now, last, due), "a moment in the window would have done"
    else:
        assert due - RETURN_LEAD_MAX - 1e-9 <= back <= due - RETURN_LEAD_MIN + 1e-9


def test_after_the_send_it_comes_back_at_least_the_shortest_lead_early():
    seconds = visibility_timeout(1.75, early=True, pickup=RETURN_LEAD_MIN)
    assert seconds == math.floor(1.75 - RETURN_LEAD_MIN)
    assert visibility_timeout(0.7, early=True, pickup=RETURN_LEAD_MIN) == 0  # back at once
