"""One SMS can be followed through the logs: every line about it, from the API
call through the sender and Twilio's status callback to the chat delivery,
carries its message_id and the request id of the invocation that wrote it."""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.logs import logger as service_logger
from conftest import POOL, post_webhook

ALICE = "+14155550100"


@pytest.fixture
def log_lines(capfd):
    previous = service_logger.log_level
    service_logger.setLevel("DEBUG")

    def read() -> list[dict]:
        out, _ = capfd.readouterr()
        return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"level"' in line]

    yield read
    service_logger.setLevel(previous)


def test_one_sms_is_followed_by_its_message_id_across_functions(bridge, log_lines):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    bridge.queues.drain()
    log_lines()  # the set-up's lines

    sent = bridge.send(session["session_id"], "see you at noon")
    bridge.queues.drain()  # the sender, then the chat delivery of message.status
    params = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered", "AccountSid": "AC" + "1" * 32}
    post_webhook(bridge.api, f"/twilio/status?message_id={sent['message_id']}", params)
    bridge.queues.drain()

    lines = log_lines()
    mine = [line for line in lines if line.get("message_id") == sent["message_id"]]
    texts = {line["message"] for line in mine}
    assert "sms sent" in texts, texts  # the sender's line
    assert len(mine) >= 3, mine
    assert all(line.get("lambda_request_id") or line.get("api_request_id") for line in lines), [
        line for line in lines if not (line.get("lambda_request_id") or line.get("api_request_id"))
    ]
    # Nothing of one invocation leaks into the next.
    assert not any(line.get("message_id") == sent["message_id"] for line in log_lines())
