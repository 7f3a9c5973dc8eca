"""Events reach the chat backend signed, at least once; a backend that is down
gets them later, after a day down too; after the queue's retention they wait in the
dead-letter queue, and `make replay-dlq` delivers them. The long outages are played in
virtual time: moto's SQS, the service and the chat receiver read one ManualClock, moved on
to whenever the next hidden event shows (bench/kit/seams.py's clock seams), never slept."""

import dataclasses
import json
import time

import pytest
from conftest import PREFIX, WEBHOOK_SECRET
from moto.backends import get_backend

import app as app_module
from bench.kit import sqs_feeding
from bench.kit.seams import Seams
from chalicelib.adapters.clock import ManualClock
from chalicelib.config import QUEUE_MAX_RECEIVES
from chalicelib.core import delivery_retry, events
from chalicelib.usecases import chat_events
from scripts import replay_dlq

DELIVERY = "sms-bridge-dev-delivery"
DEAD = "sms-bridge-dev-delivery-dlq"


DAY = 86400


def _queue_event(cause: str = "cause-1"):
    return chat_events.emit(
        app_module.context,
        events.SESSION_CLOSED,
        cause,
        session_id="ses_1",
        user_id="u",
        partner_id="p",
        reason="x",
    )


def test_events_are_delivered_signed(api, queues, chat):
    sent = _queue_event()
    queues.drain()
    assert chat.events == [sent]
    assert chat.rejected == 0


def test_a_backend_that_is_down_gets_the_event_later(api, queues, chat):
    sent = _queue_event()
    chat.failing = True
    queues.drain()
    assert chat.events == []
    chat.failing = False
    queues.end_waits(DELIVERY)
    queues.drain()
    assert chat.events == [sent]


@pytest.fixture
def virtual_time(api, queues, chat):
    """One ManualClock for moto's SQS, the service and the chat receiver (which checks each
    event's signature time against it)."""
    clock = ManualClock(time.time())
    with Seams() as seams:
        seams.moto_sqs_clock(clock.now)
        seams.chat_receiver_clock(clock.now)
        seams.service_context(app_module, dataclasses.replace(app_module.context, clock=clock))
        yield clock


def _play_until(queues, clock, until: float) -> None:
    """Lambda's poller of the delivery queue in virtual time: hand over what is visible, then
    move the clock to when the next hidden event shows, until `until`."""
    (feed,) = [feed for feed in queues.feeds if feed.queue_name == DELIVERY]
    while True:
        while feed.poll_once(queues.sqs):
            pass
        wait = sqs_feeding.next_visible_in([DELIVERY])
        if wait is None or clock.now() + wait > until:
            break
        clock.advance(wait + 0.001)  # moto: visible once its time is strictly past
    clock.set(max(clock.now(), until))


def _receive_counts() -> list[int]:
    queue = get_backend("sqs")["123456789012"]["us-east-1"].queues[DELIVERY]
    return [m.approximate_receive_count for m in queue._messages]


def test_after_a_day_down_every_event_reaches_the_backend_exactly_once(virtual_time, queues, chat):
    clock = virtual_time
    chat.failing = True
    sent = [_queue_event(f"cause-{i}") for i in range(4)]
    start = clock.now()
    _play_until(queues, clock, start + DAY)
    # A day of retries, each hidden for its own backoff (at most 15 minutes, at least 12 once
    # there): nothing dead-lettered, nothing delivered, nothing lost.
    counts = _receive_counts()
    assert len(counts) == len(sent) and queues.messages_in(DEAD) == [] and chat.events == []
    assert all(DAY / 900 <= n <= 10 + DAY / 720 for n in counts), counts
    assert max(counts) < QUEUE_MAX_RECEIVES["delivery"] / 3
    chat.failing = False
    _play_until(queues, clock, clock.now() + 901)  # within 15 minutes of the backend's return
    assert sorted(e["event_id"] for e in chat.events) == sorted(e["event_id"] for e in sent)
    assert all(chat.deliveries[e["event_id"]] == 1 for e in sent), chat.deliveries
    assert _receive_counts() == [] and queues.messages_in(DEAD) == []


def test_down_for_the_whole_retention_the_events_are_dead_lettered_before_sqs_would_delete_them(
    virtual_time, queues, chat
):
    clock = virtual_time
    chat.failing = True
    sent = [_queue_event(f"cause-{i}") for i in range(2)]
    start = clock.now()
    retention = delivery_retry.DEFAULT_RETENTION_DAYS * DAY
    _play_until(queues, clock, start + 0.7 * retention)
    assert len(_receive_counts()) == len(sent)  # most of the retention: still retried
    _play_until(queues, clock, start + retention - delivery_retry.MARGIN_SECONDS)
    dead = queues.messages_in(DEAD)
    assert sorted(json.loads(m["Body"])["event_id"] for m in dead) == sorted(e["event_id"] for e in sent)
    assert _receive_counts() == []
    # make replay-dlq, once the backend is back: each event delivered, once.
    chat.failing = False
    assert replay_dlq.main(["--prefix", PREFIX, "--queue", "delivery"]) == 0
    _play_until(queues, clock, clock.now() + 60)
    assert sorted(e["event_id"] for e in chat.events) == sorted(e["event_id"] for e in sent)
    assert all(chat.deliveries[e["event_id"]] == 1 for e in sent)


def test_a_receiver_with_another_secret_refuses_the_event(api, queues, chat):
    chat.secrets = ["rotated-away-" + WEBHOOK_SECRET]
    _queue_event()
    queues.drain()
    assert chat.events == [] and chat.rejected == 1
