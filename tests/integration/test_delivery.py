"""Events reach the chat backend signed, at least once; a backend that is down
gets them later; after the last try they wait in the dead-letter queue."""

import json

from conftest import WEBHOOK_SECRET

import app as app_module
from chalicelib.core import events
from chalicelib.usecases import chat_events

DELIVERY = "sms-bridge-dev-delivery"
DEAD = "sms-bridge-dev-delivery-dlq"


def _queue_event():
    return chat_events.emit(
        app_module.context,
        events.SESSION_CLOSED,
        "cause-1",
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


def test_after_the_last_try_the_event_waits_in_the_dead_letter_queue(api, queues, chat):
    sent = _queue_event()
    chat.failing = True
    for _ in range(8):  # DeliveryQueue's maxReceiveCount
        queues.drain()
        queues.end_waits(DELIVERY)
    queues.drain()
    dead = queues.messages_in(DEAD)
    assert [json.loads(m["Body"]) for m in dead] == [sent]


def test_a_receiver_with_another_secret_refuses_the_event(api, queues, chat):
    chat.secrets = ["rotated-away-" + WEBHOOK_SECRET]
    _queue_event()
    queues.drain()
    assert chat.events == [] and chat.rejected == 1
