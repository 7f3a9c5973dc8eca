"""core/verification_limits.py: sliding windows with exact waits, in virtual time."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.verification_limits import CLOCK_SKEW_SECONDS, Window, admit, fixed_window, near

PHONE = [Window(1, 30), Window(5, 3600)]


def test_one_per_30_seconds_and_five_per_hour():
    times, now = (), 1000.0
    for i in range(5):
        decision = admit(times, now, PHONE)
        assert decision.allowed
        times = decision.times
        refused = admit(times, now + 29, PHONE)
        assert not refused.allowed and refused.retry_after == (1 if i < 4 else 3600 - 29 - 4 * 30)
        now += 30
    sixth = admit(times, now, PHONE)
    assert not sixth.allowed and sixth.retry_after == 3600 - 5 * 30
    assert admit(times, 1000.0 + 3600, PHONE).allowed


@settings(deadline=None)  # a loaded CI machine must not fail it on time
@given(st.lists(st.floats(min_value=0, max_value=20_000, allow_nan=False), max_size=80))
def test_admitted_events_never_exceed_any_window(requests):
    times, admitted = (), []
    for now in sorted(requests):
        decision = admit(times, now, PHONE)
        if decision.allowed:
            admitted.append(now)
            times = decision.times
        else:
            assert decision.retry_after >= 1
            # Waiting what the refusal says is enough.
            assert admit(times, now + decision.retry_after, PHONE).allowed
    for i, start in enumerate(admitted):
        in_hour = [t for t in admitted[i:] if t < start + 3600]
        assert len(in_hour) <= 5
        assert all(b - a >= 30 for a, b in itertools.pairwise(admitted))


def test_an_event_stamped_later_than_now_counts_and_stays_in_the_log():
    """Racing requests read their clocks in one order and write in another: the log a
    request reads may hold an event stamped after its own `now`. That event happened;
    it counts, and the log written back keeps it."""
    later = admit((), 1000.5, PHONE).times
    earlier = admit(later, 1000.0, PHONE)
    assert not earlier.allowed and earlier.times == (1000.5,)
    assert earlier.retry_after == 31  # 30 s after the later event
    assert admit(later, 1000.0, [Window(1, 0)]).allowed, "a window of 0 s holds no other event"


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=20_000), st.floats(min_value=0, max_value=CLOCK_SKEW_SECONDS)),
        max_size=80,
    )
)
def test_admitted_events_never_exceed_any_window_whatever_order_the_clocks_were_read_in(requests):
    """Each request decides on the log the one before it wrote (conditional writes
    serialise them), with the time its own clock read: in the order they write, give or
    take up to CLOCK_SKEW_SECONDS."""
    times, admitted = (), []
    for now in [start + late for start, late in sorted(requests)]:
        decision = admit(times, now, PHONE)
        if decision.allowed:
            admitted.append(now)
            times = decision.times
    admitted.sort()
    for i, start in enumerate(admitted):
        assert len([t for t in admitted[i:] if t < start + 3600]) <= 5
    assert all(b - a >= 30 for a, b in itertools.pairwise(admitted))


def test_fixed_window_and_near():
    assert fixed_window(7300, 3600) == (7200, 10800)
    assert not near(799, 1000, 0.8) and near(800, 1000, 0.8)
