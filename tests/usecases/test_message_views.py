"""usecases/message_views.py: messages as the API shows them (reads only)."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.usecases import message_views, messages

from .support import SessionStub


def refused(call, *args) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        call(*args)
    return caught.value


def test_a_session_pages_in_the_order_messages_were_made(ctx):
    session = SessionStub()
    made = []
    for i in range(5):
        made.append(messages.submit(ctx, session, f"text {i}")["message_id"])
        ctx.clock.advance(1)
    messages.store_inbound(
        ctx, "msg_in_x", "SM" + "7" * 32, session, "reply", json.dumps(["https://m.example/1"]), ctx.now()
    )
    messages.submit(ctx, SessionStub(session_id="ses_other"), "elsewhere")
    seen, cursor, pages = [], None, 0
    while True:
        page = message_views.list_for_session(ctx, session.session_id, "2", cursor)
        seen += page["messages"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [m["message_id"] for m in seen] == [*made, "msg_in_x"]
    assert pages >= 3
    first, reply = seen[0], seen[-1]
    assert first == {
        "message_id": made[0],
        "session_id": "ses_1",
        "direction": "outbound",
        "text": "text 0",
        "status": "queued",
        "error_code": None,
        "segments": 1,
        "created_at": "2027-01-15T08:00:00.000Z",
        "sent_at": None,  # T0
    }
    assert (reply["direction"], reply["status"], reply["media_urls"]) == (
        "inbound",
        "received",
        ["https://m.example/1"],
    )


def test_one_message_and_its_moves(ctx):
    message_id = messages.submit(ctx, SessionStub(), "hello")["message_id"]
    ctx.clock.advance(2.5)
    messages.record_sent(ctx, messages.claim(ctx, message_id, ctx.now()), "SM" + "8" * 32, ctx.now())
    shown = message_views.describe(ctx, message_views.get(ctx, message_id))
    assert (shown["status"], shown["sent_at"]) == ("sent", "2027-01-15T08:00:02.500Z")
    error = refused(message_views.get, ctx, "msg_nope")
    assert (error.code, error.status) == ("message_not_found", 404)


def test_bad_limits_and_cursors_are_400(ctx):
    for limit in ("0", "101", "ten", -1):
        error = refused(message_views.list_for_session, ctx, "ses_1", limit, None)
        assert (error.code, error.status) == ("invalid_limit", 400)
    for cursor in ("not base64 json", "WzFd"):  # WzFd: a list, not a key
        error = refused(message_views.list_for_session, ctx, "ses_1", None, cursor)
        assert (error.code, error.status) == ("invalid_cursor", 400)
    assert message_views.list_for_session(ctx, "ses_none") == {"messages": [], "next_cursor": None}
