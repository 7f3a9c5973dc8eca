"""The delivery queue's retry delays and the receive count that turns its retention into a
wait (core/delivery_retry.py): an event is retried for most of the retention, and its last
receive comes before SQS would delete it, whatever the jitter draws."""

import random

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core import delivery_retry as retry

DAY = 86400


@given(attempt=st.integers(min_value=1, max_value=5000), seed=st.integers())
def test_a_delay_is_in_the_top_fifth_of_its_ceiling_which_grows_to_15_minutes(attempt, seed):
    delay = retry.retry_delay(attempt, random.Random(seed))
    top = retry.ceiling(attempt)
    assert 0.8 * top <= delay <= top <= 900
    assert top == min(900, 2**attempt)


def test_the_backoff_reaches_minutes_within_ten_tries():
    assert [retry.ceiling(a) for a in range(1, 12)] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


@given(days=st.sampled_from(list(retry.RETENTION_DAYS)), seed=st.integers())
def test_every_retention_is_waited_out_and_dead_lettered_before_sqs_deletes(days, seed):
    """Replay the receives with drawn delays, each receive's handler taking from nothing to
    the function's timeout: the dead-lettering receive comes after about three quarters of
    the retention and at least an hour before its end."""
    rng = random.Random(seed)
    receives = retry.max_receives(days * DAY)
    assert receives <= 1000
    elapsed = 0.0
    for attempt in range(1, receives + 1):
        handler = rng.uniform(0, retry.HANDLER_SECONDS)
        poll = rng.uniform(0, retry.POLL_SECONDS)
        elapsed += handler + retry.retry_delay(attempt, rng) + poll
    assert 0.7 * days * DAY <= retry.shortest_wait(receives) <= elapsed
    assert elapsed <= retry.longest_wait(receives) <= days * DAY - retry.MARGIN_SECONDS


def test_one_more_receive_could_outlast_the_retention():
    """max_receives is the most that fits: one more and the worst case runs past the margin."""
    for days in retry.RETENTION_DAYS:
        receives = retry.max_receives(days * DAY)
        assert retry.longest_wait(receives + 1) > days * DAY - retry.MARGIN_SECONDS


def test_the_default_is_four_days_and_a_day_outage_is_far_from_dead_lettering():
    receives = retry.max_receives(retry.DEFAULT_RETENTION_DAYS * DAY)
    assert retry.DEFAULT_RETENTION_DAYS == 4
    assert retry.shortest_wait(receives) > 2.5 * DAY
