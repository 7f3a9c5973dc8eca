"""Twilio answers STOP, START and HELP itself (issue 13 part 5): the bridge keeps its
opt-out state from the webhook (OptOutType when Twilio sends it) and never answers a
second time; its own HELP reply only when TWILIO_ANSWERS_HELP=false."""

from __future__ import annotations

import pytest
from conftest import POOL

ALICE = "+14155550100"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture
def alice(bridge):
    bridge.add_pool(POOL[0])
    bridge.verified_user("alice", ALICE)
    return bridge


def keyword(bridge, body: str, opt_out_type: str | None = None):
    params = {"OptOutType": opt_out_type} if opt_out_type else {}
    import uuid

    from conftest import post_webhook

    return post_webhook(
        bridge.api,
        "/twilio/sms",
        {
            "From": ALICE,
            "To": POOL[0],
            "Body": body,
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "1" * 32,
            "NumMedia": "0",
            **params,
        },
    )


def status(bridge) -> str:
    return bridge.api.get("/users/alice/phone").json["status"]


@pytest.mark.parametrize("body", ["STOP", "stop ", "arrête"])
def test_stop_is_kept_and_never_answered_twice(alice, body):
    opt_out_type = "STOP" if body == "arrête" else None  # Advanced Opt-Out: a keyword of the service
    response = keyword(alice, body, opt_out_type)
    assert response.status_code == 200 and response.text == EMPTY
    assert status(alice) == "opted_out"


def test_start_by_optouttype_opts_back_in_without_an_answer(alice):
    keyword(alice, "STOP")
    response = keyword(alice, "volver", "START")
    assert response.text == EMPTY and status(alice) == "verified"


def test_help_is_twilios_to_answer_by_default(alice):
    assert keyword(alice, "HELP").text == EMPTY
    assert keyword(alice, "ayuda", "HELP").text == EMPTY
    assert status(alice) == "verified"


def test_the_bridge_answers_help_when_twilios_answer_is_off(alice, monkeypatch):
    monkeypatch.setenv("TWILIO_ANSWERS_HELP", "false")
    response = keyword(alice, "HELP")
    assert "Reply STOP to opt out" in response.text
