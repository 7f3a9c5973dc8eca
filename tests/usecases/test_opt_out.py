"""usecases/opt_out.py: the words that change it, where it is kept, what follows."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.store.models import Message, Phone
from chalicelib.usecases import opt_out, phones, sessions

from .support import ALICE, POOL, add_pool, of_type, seed_verified_user


@pytest.fixture
def alice(ctx, twilio):
    add_pool(ctx, twilio, POOL[0])
    seed_verified_user(ctx, "alice", ALICE)
    return ctx


@pytest.mark.parametrize(
    "text, choice",
    [
        ("STOP", True),
        (" stop\n", True),
        ("Unsubscribe", True),
        ("quit", True),
        ("START", False),
        ("yes", False),
        ("unstop", False),
        ("stop please", None),
        ("help", None),
        ("", None),
    ],
)
def test_keywords(text, choice):
    assert opt_out.keyword_choice(text) is choice


def test_opting_out_fails_what_is_queued_and_says_who(alice, queued_events):
    opened, _ = sessions.open_session(alice, {"user_id": "alice", "partner_id": "bob"})
    queued = sessions.send_message(alice, opened["session_id"], "hi")["message_id"]
    assert opt_out.set_opted_out(alice, ALICE, True) == "alice"
    assert Phone.get(ALICE).opted_out is True
    failed = Message.get(queued)
    assert (failed.status, failed.error_code) == ("failed", "21610")
    assert [(e["status"], e["error_code"]) for e in of_type(queued_events, "message.status")] == [("failed", "21610")]
    # Nothing more goes out to the phone until it opts back in.
    with pytest.raises(BridgeError) as caught:
        sessions.send_message(alice, opened["session_id"], "again")
    assert (caught.value.code, caught.value.status) == ("opted_out", 409)
    assert opt_out.set_opted_out(alice, ALICE, False) == "alice"
    assert sessions.send_message(alice, opened["session_id"], "again")["status"] == "queued"


def test_the_opt_out_outlives_the_hook_up(alice):
    opt_out.set_opted_out(alice, ALICE, True)
    phones.remove(alice, "alice")
    assert Phone.get(ALICE).opted_out is True
    with pytest.raises(BridgeError) as caught:
        phones.hook_up(alice, "carol", ALICE)
    assert (caught.value.code, caught.value.status) == ("opted_out", 409)


def test_a_phone_nobody_owns_is_recorded_too(ctx):
    assert opt_out.set_opted_out(ctx, "+14155550177", True) is None
    stopped = Phone.get("+14155550177")
    assert (stopped.opted_out, stopped.user_id, stopped.updated_at) == (True, None, int(ctx.now()))
