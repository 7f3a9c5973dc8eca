"""usecases/messages.py: the message state machine, the only writer of Message items."""

from __future__ import annotations

import pytest

from chalicelib.core import phone_numbers
from chalicelib.core.errors import BridgeError
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.store.models import Message
from chalicelib.usecases import messages

from .support import ALICE, OUTBOUND, POOL, SessionStub, of_type, receive


def status(message_id: str) -> str:
    return Message.get(message_id, consistent_read=True).status


def statuses_told(queued_events) -> list[tuple[str, str]]:
    return [(e["message_id"], e["status"]) for e in of_type(queued_events, "message.status")]


def test_submit_stores_it_queued_and_puts_it_on_the_outbound_queue(ctx):
    accepted = messages.submit(ctx, SessionStub(), "hello")
    assert accepted["status"] == "queued" and accepted["segments"] == 1 and accepted["encoding"] == "GSM-7"
    stored = Message.get(accepted["message_id"])
    assert (stored.body, stored.from_number, stored.to_number) == ("Bob: hello", POOL[0], ALICE)
    assert stored.queued_user_id == "alice"
    records = receive(OUTBOUND)
    assert [OutboundJob.decode(r["body"]) for r in records] == [OutboundJob(accepted["message_id"], segments=1)]
    assert records[0]["attributes"]["MessageGroupId"] == POOL[0]


def test_the_state_machine_moves_forward_only(ctx, queued_events):
    message_id = messages.submit(ctx, SessionStub(), "hello")["message_id"]
    claimed = messages.claim(ctx, message_id, ctx.now())
    assert claimed is not None and status(message_id) == "sending"
    assert messages.claim(ctx, message_id, ctx.now()) is None, "a second claim never wins"
    assert messages.record_sent(ctx, claimed, "SM" + "1" * 32, ctx.now()) is True
    assert status(message_id) == "sent"
    assert messages.apply_status(ctx, message_id, "delivered") is not None
    assert status(message_id) == "delivered"
    # Late or out-of-order callbacks never move it back.
    for earlier in ("sent", "sending"):
        assert messages.apply_status(ctx, message_id, earlier) is None
    assert messages.apply_status(ctx, message_id, "undelivered", "30003") is None
    assert messages.apply_status(ctx, message_id, "no-such-state") is None
    assert status(message_id) == "delivered"
    assert statuses_told(queued_events) == [(message_id, "sent"), (message_id, "delivered")], "each move told once"


def test_apply_status_back_to_queued_is_a_no_op(ctx):
    message_id = messages.submit(ctx, SessionStub(), "hello")["message_id"]
    messages.claim(ctx, message_id, ctx.now())
    assert messages.apply_status(ctx, message_id, "queued") is None
    assert status(message_id) == "sending"


def test_a_callback_ahead_of_the_sender_keeps_its_status_and_the_sid(ctx, queued_events):
    message_id = messages.submit(ctx, SessionStub(), "hello")["message_id"]
    claimed = messages.claim(ctx, message_id, ctx.now())
    assert messages.apply_status(ctx, message_id, "delivered") is not None
    assert messages.record_sent(ctx, claimed, "SM" + "2" * 32, ctx.now()) is False
    stored = Message.get(message_id)
    assert (stored.status, stored.twilio_sid) == ("delivered", "SM" + "2" * 32)
    # The sender tells 'sent' before it records it (so a fault between them loses nothing);
    # events reach the chat backend in no set order anyway (a standard queue).
    assert statuses_told(queued_events) == [(message_id, "delivered"), (message_id, "sent")]


def test_unclaim_gives_it_back_to_queued_and_so_to_cancellation(ctx):
    message_id = messages.submit(ctx, SessionStub(), "hello")["message_id"]
    claimed = messages.claim(ctx, message_id, ctx.now())
    assert Message.get(message_id).queued_user_id is None
    messages.unclaim(ctx, claimed)
    assert status(message_id) == "queued"
    assert messages.cancel_queued_for_user(ctx, "alice") == 1


def test_cancel_queued_for_user_stops_only_queued_ones(ctx, queued_events):
    queued = messages.submit(ctx, SessionStub(), "one")["message_id"]
    sending = messages.submit(ctx, SessionStub(), "two")["message_id"]
    sent = messages.submit(ctx, SessionStub(), "three")["message_id"]
    other = messages.submit(ctx, SessionStub(session_id="ses_2", user_id="carol"), "four")["message_id"]
    messages.claim(ctx, sending, ctx.now())
    messages.record_sent(ctx, messages.claim(ctx, sent, ctx.now()), "SM" + "3" * 32, ctx.now())
    assert messages.cancel_queued_for_user(ctx, "alice") == 1
    assert [status(m) for m in (queued, sending, sent, other)] == ["cancelled", "sending", "sent", "queued"]
    assert (queued, "cancelled") in statuses_told(queued_events)
    # A cancelled message is not claimed by the sender later.
    assert messages.claim(ctx, queued, ctx.now()) is None
    assert messages.cancel_queued_for_user(ctx, "alice") == 0


def test_an_opt_out_fails_the_queued_ones_with_its_code(ctx):
    message_id = messages.submit(ctx, SessionStub(), "hello")["message_id"]
    assert messages.cancel_queued_for_user(ctx, "alice", status="failed", error_code="21610") == 1
    stored = Message.get(message_id)
    assert (stored.status, stored.error_code) == ("failed", "21610")


def test_a_client_message_id_names_one_message(ctx):
    first = messages.submit(ctx, SessionStub(), "hello", "c-1")
    again = messages.submit(ctx, SessionStub(), "hello", "c-1")
    assert again == first
    assert Message.count() == 1
    with pytest.raises(BridgeError) as caught:
        messages.submit(ctx, SessionStub(), "other text", "c-1")
    assert (caught.value.code, caught.value.status) == ("client_message_id_reused", 409)
    # The same client id in another session is another message.
    assert messages.submit(ctx, SessionStub(session_id="ses_2"), "hello", "c-1")["message_id"] != first["message_id"]


def test_a_retried_submit_after_sending_queues_nothing_new(ctx):
    message_id = messages.submit(ctx, SessionStub(), "hello", "c-1")["message_id"]
    receive(OUTBOUND)  # the first copy, taken by the sender
    messages.claim(ctx, message_id, ctx.now())
    assert messages.submit(ctx, SessionStub(), "hello", "c-1")["status"] == "sending"
    assert status(message_id) == "sending" and Message.count() == 1


def test_unsendable_text_is_refused_and_nothing_is_stored(ctx):
    for text, code in [
        ("", "invalid_text"),
        ("   ", "invalid_text"),
        (None, "invalid_text"),
        ("x" * 1600, "text_too_long"),
    ]:  # 1600 fits alone, not with "Bob: "
        with pytest.raises(BridgeError) as caught:
            messages.submit(ctx, SessionStub(), text)
        assert (caught.value.code, caught.value.status) == (code, 400)
    with pytest.raises(BridgeError) as caught:
        messages.submit(ctx, SessionStub(), "hi", "")
    assert (caught.value.code, caught.value.status) == ("invalid_client_message_id", 400)
    assert Message.count() == 0
    assert receive(OUTBOUND) == []


def test_a_verification_code_rides_only_in_the_queue(ctx, queued_events):
    messages.queue_verification_code(ctx, "alice", phone_numbers.parse(ALICE, "US"), POOL[0], "424242")
    [stored] = list(Message.scan())
    assert stored.kind == "verification" and "424242" not in f"{stored.text} {stored.body}"
    [record] = receive(OUTBOUND)
    assert "424242" in OutboundJob.decode(record["body"]).secret_text
    claimed = messages.claim(ctx, stored.message_id, ctx.now())
    messages.record_sent(ctx, claimed, "SM" + "4" * 32, ctx.now())
    assert statuses_told(queued_events) == [], "the chat backend hears nothing of verification codes"


def test_store_inbound_stores_once(ctx):
    session = SessionStub()
    messages.store_inbound(ctx, "msg_in_1", "SM" + "5" * 32, session, "first", None, ctx.now())
    ctx.clock.advance(5)
    messages.store_inbound(ctx, "msg_in_1", "SM" + "5" * 32, session, "again", None, ctx.now())
    stored = Message.get("msg_in_1")
    assert (stored.text, stored.status, stored.direction, stored.created_at) == (
        "first",
        "received",
        "inbound",
        ctx.now() - 5,
    )
    assert (stored.from_number, stored.to_number) == (ALICE, POOL[0])
    assert Message.count() == 1
