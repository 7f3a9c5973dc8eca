"""usecases/messages.py's rules on memory repositories: a message moves forward only and
each move is told once; a client_message_id names one message; a stop owes its event."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.store.sessions import Session
from chalicelib.usecases import messages

from .conftest import ALICE, POOL

SESSION = Session("ses_1", "alice", "bob", ALICE, POOL[0], created_at=0, expires_at=10**10, partner_name="Bob")


def told(queues) -> list[tuple[str, str]]:
    return [(e["message_id"], e["status"]) for e in queues.of_type("message.status")]


def test_a_message_moves_forward_only_and_each_move_is_told_once(ctx, queues):
    accepted = messages.submit(ctx, SESSION, "hello")
    message_id = accepted["message_id"]
    assert [(job.message_id, group) for job, group in queues.outbound] == [(message_id, POOL[0])]
    claimed = messages.claim(ctx, message_id, ctx.now())
    assert claimed is not None and messages.claim(ctx, message_id, ctx.now()) is None
    assert messages.record_sent(ctx, claimed, "SM1", ctx.now()) is True
    assert messages.apply_status(ctx, message_id, "delivered") is not None
    for late in ("sent", "sending", "undelivered"):
        assert messages.apply_status(ctx, message_id, late) is None
    assert ctx.store.messages.get(message_id).status == "delivered"
    assert told(queues) == [(message_id, "sent"), (message_id, "delivered")]


def test_a_client_message_id_names_one_message(ctx, queues):
    first = messages.submit(ctx, SESSION, "hello", "c-1")
    assert messages.submit(ctx, SESSION, "hello", "c-1") == first
    with pytest.raises(BridgeError) as caught:
        messages.submit(ctx, SESSION, "other text", "c-1")
    assert caught.value.code == "client_message_id_reused"
    assert len(ctx.store.messages.messages) == 1


def test_a_stop_fails_only_the_queued_and_tells_each_once(ctx, queues):
    queued = messages.submit(ctx, SESSION, "one")["message_id"]
    sending = messages.submit(ctx, SESSION, "two")["message_id"]
    messages.claim(ctx, sending, ctx.now())
    assert messages.cancel_queued_for_user(ctx, "alice", status="failed", error_code="21610") == 1
    assert messages.cancel_queued_for_user(ctx, "alice") == 0
    assert (ctx.store.messages.get(queued).status, ctx.store.messages.get(sending).status) == ("failed", "sending")
    assert told(queues) == [(queued, "failed")]
    assert ctx.store.messages.get(queued).events_owed == frozenset(), "struck off once told"


def test_an_unclaimed_message_can_be_cancelled(ctx, queues):
    message_id = messages.submit(ctx, SESSION, "hello")["message_id"]
    messages.unclaim(ctx, messages.claim(ctx, message_id, ctx.now()))
    assert messages.cancel_queued_for_user(ctx, "alice") == 1
    assert told(queues) == [(message_id, "cancelled")]
