"""usecases/delivery.py: events POSTed, signed, to the chat backend (the `chat`
receiver of tests/conftest.py checks the signature against real time); a failed
delivery stays queued, hidden for its backoff."""

from __future__ import annotations

import dataclasses
import json
import random
import time

import pytest

from chalicelib.adapters.clock import ManualClock
from chalicelib.core import events
from chalicelib.usecases import chat_events, delivery, pool_usage
from chalicelib.wiring import production_context

from .support import T0, receive

DELIVERY = "sms-bridge-dev-delivery"


@pytest.fixture
def now_ctx(aws_backend):
    """The receiver checks signatures against the wall clock, so this context starts there.
    Its settings are read as it is made: tests that deliver ask for `chat` (its URL) first."""
    return production_context(clock=ManualClock(time.time()))


def queue_one(ctx, cause: str = "c-1") -> dict:
    return chat_events.emit(ctx, events.SESSION_CLOSED, cause, session_id="ses_1", reason="closed")


def test_an_event_delivered_twice_by_sqs_reaches_the_chat_backend_signed_and_as_the_same_event(chat, now_ctx):
    """At least once: a second SQS delivery POSTs the event again, byte for byte, under
    the same event_id, so a receiver that dedupes on it (as the contract asks) keeps one."""
    event = queue_one(now_ctx)
    records = receive(DELIVERY)
    assert delivery.process_batch(now_ctx, records) == []
    assert delivery.process_batch(now_ctx, records) == []  # SQS delivered it twice
    assert chat.rejected == 0, "each POST carries a valid X-Bridge-Signature"
    assert [json.loads(body) for body in chat.posted] == [event, event]
    assert chat.posted[0] == chat.posted[1]
    assert event["created_at"] == int(now_ctx.now())


def test_a_backend_that_is_down_keeps_the_event_queued_and_hidden(chat, now_ctx):
    queue_one(now_ctx)
    chat.failing = True
    records = receive(DELIVERY)
    assert delivery.process_batch(now_ctx, records) == [records[0]["messageId"]]
    assert receive(DELIVERY) == [], "hidden for its backoff, not retried at once"
    assert chat.events == []


def test_without_a_chat_url_events_wait(now_ctx, monkeypatch):
    monkeypatch.delenv("CHAT_WEBHOOK_URL", raising=False)
    now_ctx.refresh()  # the next invocation's settings
    queue_one(now_ctx)
    records = receive(DELIVERY)
    assert delivery.process_batch(now_ctx, records) == [records[0]["messageId"]]


def test_an_event_signed_by_a_clock_far_from_the_receivers_is_refused(aws_backend, chat):
    skewed = production_context(clock=ManualClock(T0))  # 2027: outside the receiver's tolerance
    queue_one(skewed)
    records = receive(DELIVERY)
    assert delivery.process_batch(skewed, records) == [records[0]["messageId"]]
    assert chat.rejected == 1 and chat.events == []


def test_backoff_grows_with_the_attempt_within_bounds():
    rng = random.Random(7)
    for attempt in range(1, 20):
        delays = [delivery.backoff_seconds(attempt, rng) for _ in range(50)]
        assert all(0.8 * min(900, 2**attempt) <= d <= min(900, 2**attempt) for d in delays)


class CountFailsOnce:
    """The pool store, whose first count of SMS received fails (DynamoDB throttled it)."""

    def __init__(self, pool):
        self.pool, self.failed = pool, False

    def count_received(self, *args, **kwargs):
        if not self.failed:
            self.failed = True
            raise RuntimeError("ProvisionedThroughputExceededException (injected)")
        return self.pool.count_received(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.pool, name)


def received_today(ctx, number: str) -> tuple[int, int]:
    usage = pool_usage.usage_for_day(ctx, pool_usage.today(ctx.now())).get(number)
    return (usage.messages_in, usage.segments_in) if usage else (0, 0)


def test_an_sms_whose_count_failed_is_counted_on_the_retry_and_a_repeat_counts_nothing(chat, now_ctx):
    number = "+14155550101"
    flaky = production_context(
        clock=now_ctx.clock, store=dataclasses.replace(now_ctx.store, pool=CountFailsOnce(now_ctx.store.pool))
    )
    event = chat_events.emit(flaky, events.SMS_UNROUTED, "SM" + "1" * 32, (number, 2), pool_number=number)
    first = receive(DELIVERY)
    assert delivery.process_batch(flaky, first) == [first[0]["messageId"]], "not counted: kept for its retry"
    assert chat.events == [] and received_today(now_ctx, number) == (0, 0)
    end_waits()
    retry = receive(DELIVERY)
    assert retry[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert delivery.process_batch(flaky, retry) == []
    assert chat.events == [event] and received_today(now_ctx, number) == (1, 2)
    assert delivery.process_batch(flaky, retry) == [], "SQS delivered it again"
    assert received_today(now_ctx, number) == (1, 2), "counted once"


def end_waits() -> None:
    """Make the messages hidden for their backoff visible now (SQS keeps real time)."""
    from moto.backends import get_backend

    for message in get_backend("sqs")["123456789012"]["us-east-1"].queues[DELIVERY]._messages:
        message.change_visibility(0)
