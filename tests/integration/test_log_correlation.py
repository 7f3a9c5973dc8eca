"""One SMS can be followed through the logs: every line about it, from the API
call through the sender and Twilio's status callback to the chat delivery,
carries its message_id and the request id of the invocation that wrote it."""

from __future__ import annotations

import io
import json

import pytest
from conftest import POOL, post_webhook

from chalicelib.adapters.logs import logger as service_logger

ALICE = "+14155550100"


@pytest.fixture
def log_lines(capsys):
    """The service's JSON log lines: its logger's, and the state-change lines the metrics
    adapter prints with their figures (EMF) on stdout."""
    stream = io.StringIO()
    handler = service_logger.registered_handler
    previous_stream, previous_level = handler.setStream(stream), service_logger.log_level
    service_logger.setLevel("DEBUG")

    def read() -> list[dict]:
        text = stream.getvalue() + "\n" + capsys.readouterr().out
        stream.seek(0)
        stream.truncate()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return [line for line in lines if "message" in line]  # EMF-only lines are figures, not log lines

    yield read
    handler.setStream(previous_stream)
    service_logger.setLevel(previous_level)


def test_one_sms_is_followed_by_its_message_id_across_functions(bridge, log_lines):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    bridge.queues.drain()
    log_lines()  # the set-up's lines

    sent = bridge.send(session["session_id"], "see you at noon")
    api_lines = log_lines()
    bridge.queues.drain()  # the sender, then the chat delivery of message.status 'sent'
    sender_lines = log_lines()
    params = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered", "AccountSid": "AC" + "1" * 32}
    post_webhook(bridge.api, f"/twilio/status?message_id={sent['message_id']}", params)
    callback_lines = log_lines()
    bridge.queues.drain()
    delivery_lines = log_lines()

    steps = {"api": api_lines, "sender": sender_lines, "callback": callback_lines, "delivery": delivery_lines}
    for step, lines in steps.items():
        assert lines, f"the {step} step wrote no line"
        assert all(line.get("message_id") == sent["message_id"] for line in lines), (step, lines)
        assert all(line.get("lambda_request_id") or line.get("api_request_id") for line in lines), (step, lines)
    assert {line["message"] for line in sender_lines} >= {"sms sent"}
    # Nothing of one invocation leaks into the next.
    bridge.api.get("/numbers")
    assert not any(line.get("message_id") for line in log_lines())
