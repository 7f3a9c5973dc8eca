"""usecases/inbound.py: what Twilio tells the bridge, called directly: an SMS
in (routed, unrouted, keywords, a retried webhook) and delivery statuses."""

from __future__ import annotations

import uuid

import pytest

from chalicelib import config
from chalicelib.core.message_rules import inbound_message_id
from chalicelib.store.models import Message, Phone, Session
from chalicelib.usecases import delivery, inbound, messages, pool_usage, sessions

from .support import ACCOUNT_SID, ALICE, POOL, add_pool, of_type, receive, seed_verified_user

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
ENDED = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    "This conversation has ended. Your message was not delivered.</Message></Response>"
)


@pytest.fixture
def session(ctx, twilio):
    add_pool(ctx, twilio, *POOL)
    seed_verified_user(ctx, "alice", ALICE)
    opened, _ = sessions.open_session(ctx, {"user_id": "alice", "partner_id": "bob"})
    return Session.get(opened["session_id"])


def inbound_stored() -> int:
    return sum(1 for m in Message.scan() if m.direction == "inbound")


def sms(frm: str, to: str, body: str, sid: str | None = None, **extra) -> dict:
    return {
        "From": frm,
        "To": to,
        "Body": body,
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "NumMedia": "0",
        **extra,
    }


def test_a_routed_reply_is_told_once_and_stored_once(ctx, session, queued_events):
    params = sms(ALICE, session.pool_number, "hi Bob")  # with pictures: tests/integration/test_media.py
    assert inbound.receive_sms(ctx, params) == EMPTY
    assert inbound.receive_sms(ctx, params) == EMPTY  # Twilio retries the webhook
    [told] = of_type(queued_events, "message.received")
    message_id = inbound_message_id(params["MessageSid"])
    assert (told["session_id"], told["user_id"], told["partner_id"]) == (session.session_id, "alice", "bob")
    assert (told["message_id"], told["text"], told["media_urls"], told["media"]) == (message_id, "hi Bob", [], [])
    assert told["received_at"] == int(ctx.now())
    stored = Message.get(message_id)
    assert (stored.status, stored.text, stored.session_id) == ("received", "hi Bob", session.session_id)
    assert inbound_stored() == 1


def test_every_sms_in_is_counted_for_the_bill(ctx, session):
    """Counted by the delivery consumer, from the events the SMS cause (none on the webhook's path)."""
    inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "hi", NumSegments="2"))
    inbound.receive_sms(ctx, sms("+14155550177", session.pool_number, "who is this?"))
    events = receive(config.load().queues.delivery)
    delivery.count_received(ctx, events)
    usage = pool_usage.usage_for_day(ctx, pool_usage.today(ctx.now()))[session.pool_number]
    assert (usage.messages_in, usage.segments_in) == (2, 3)


def test_a_reply_moves_the_sessions_expiry_on(ctx, session):
    ctx.clock.advance(8 * 3600)
    inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "still here"))
    assert Session.get(session.session_id).expires_at == int(ctx.now()) + 12 * 3600


def test_an_unrouted_sms_gets_the_ended_answer_and_is_told(ctx, session, queued_events):
    other = next(n for n in POOL if n != session.pool_number)
    assert inbound.receive_sms(ctx, sms(ALICE, other, "hello?")) == ENDED
    [told] = of_type(queued_events, "sms.unrouted")
    assert (told["user_id"], told["pool_number"]) == ("alice", other)
    assert of_type(queued_events, "message.received") == []
    # After the session ends, its route is no way in either.
    sessions.close(ctx, session)
    assert inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "hello?")) == ENDED
    assert inbound.receive_sms(ctx, sms("+14155550177", session.pool_number, "hi")) == ENDED
    assert [e["user_id"] for e in of_type(queued_events, "sms.unrouted")] == ["alice", "alice", None]
    assert inbound_stored() == 0


def test_an_expired_session_routes_nothing(ctx, session, queued_events):
    ctx.clock.advance(12 * 3600)
    assert inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "late")) == ENDED
    assert of_type(queued_events, "message.received") == []


def test_stop_and_start_flip_the_opt_out_with_events(ctx, session, queued_events):
    queued = messages.submit(ctx, session, "waiting to go")["message_id"]
    assert inbound.receive_sms(ctx, sms(ALICE, session.pool_number, " stop ")) == EMPTY
    assert Phone.get(ALICE).opted_out is True
    failed = Message.get(queued)
    assert (failed.status, failed.error_code) == ("failed", "21610")
    assert [e["user_id"] for e in of_type(queued_events, "phone.opted_out")] == ["alice"]
    assert inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "START")) == EMPTY
    assert Phone.get(ALICE).opted_out is False
    assert [e["pool_number"] for e in of_type(queued_events, "phone.opted_in")] == [session.pool_number]
    assert of_type(queued_events, "message.received") == [], "keywords are not chat messages"


def test_help_is_answered_and_not_routed(ctx, session, queued_events, monkeypatch):
    assert "<Message>" not in inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "help")), "Twilio answers it"
    monkeypatch.setenv("TWILIO_ANSWERS_HELP", "false")  # an operator who turned Twilio's answer off
    ctx.refresh()  # the next invocation's settings
    answer = inbound.receive_sms(ctx, sms(ALICE, session.pool_number, "help", sid="SM" + "4" * 32))
    assert "Reply STOP to opt out" in answer
    assert queued_events == []


def test_a_webhook_without_an_address_is_ignored(ctx, session, queued_events):
    for missing in ("From", "To", "MessageSid"):
        params = sms(ALICE, session.pool_number, "hi")
        del params[missing]
        assert inbound.receive_sms(ctx, params) == EMPTY
    assert queued_events == [] and inbound_stored() == 0


def sent_message(ctx, session) -> str:
    message_id = messages.submit(ctx, session, "hello")["message_id"]
    messages.record_sent(ctx, messages.claim(ctx, message_id, ctx.now()), "SM" + "9" * 32, ctx.now())
    return message_id


def test_status_callbacks_move_the_message_forward_and_tell_once(ctx, session, queued_events):
    message_id = sent_message(ctx, session)
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "delivered"})
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "sent"})  # late: ignored
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "delivered"})  # retried: told once
    assert Message.get(message_id).status == "delivered"
    told = [(e["message_id"], e["status"]) for e in of_type(queued_events, "message.status")]
    assert told == [(message_id, "sent"), (message_id, "delivered")]


def test_a_callback_writes_once_and_only_when_it_moves_the_message(ctx, session, dynamodb_writes):
    message_id = sent_message(ctx, session)
    dynamodb_writes.clear()
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "sent"})  # the sender recorded it
    assert dynamodb_writes == [], "Twilio's 'sent' after the sender's record costs no write"
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "delivered"})
    assert dynamodb_writes == [("UpdateItem", "messages")], "the move alone: nothing owed, no phone failures"
    dynamodb_writes.clear()
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "delivered"})  # retried
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "undelivered", "ErrorCode": "30003"})  # late
    assert dynamodb_writes == []


def test_a_delivery_clears_the_phones_failures_in_a_row(ctx, session):
    failed = sent_message(ctx, session)
    inbound.delivery_status(ctx, failed, {"MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert Phone.get(ALICE).delivery_failures == 1
    inbound.delivery_status(ctx, sent_message(ctx, session), {"MessageStatus": "delivered"})
    assert Phone.get(ALICE).delivery_failures == 0


def test_a_21610_failure_opts_the_phone_out(ctx, session, queued_events):
    message_id = sent_message(ctx, session)
    inbound.delivery_status(ctx, message_id, {"MessageStatus": "failed", "ErrorCode": "21610"})
    failed = Message.get(message_id)
    assert (failed.status, failed.error_code) == ("failed", "21610")
    assert Phone.get(ALICE).opted_out is True
    assert [e["error_code"] for e in of_type(queued_events, "message.status")][-1] == "21610"


def test_a_callback_for_no_known_message_changes_nothing(ctx, session, queued_events):
    inbound.delivery_status(ctx, "msg_unknown", {"MessageStatus": "delivered"})
    inbound.delivery_status(ctx, None, {"MessageStatus": "delivered"})
    assert Message.count() == 0
    assert of_type(queued_events, "message.status") == []
