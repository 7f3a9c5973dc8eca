"""Logs carry no message text and only masked phone numbers.

A whole scenario runs with the service's logger at DEBUG and every other
logger at INFO (the most a production stage would turn on): hook-up and
verification code, sessions, outbound SMS (one through a Twilio fault and its
reconciliation), replies, a reply with no session, STOP/START/HELP, status
callbacks, a chat backend that is down for a while, a producer's request, a
refused one, removal. Everything written to stdout/stderr (Powertools' JSON
lines) and every log record (message and extra fields) is then searched."""

from __future__ import annotations

import json
import logging
import re

import boto3
import pytest
from conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, POOL, WEBHOOK_SECRET, post_webhook, sign_webhook

from chalicelib.adapters.logs import logger as service_logger
from chalicelib.adapters.logs import mask
from devstack.twilio.faults import Fault

ALICE, ERIN, STRANGER = "+14155550100", "+14155550177", "+14155550166"
TEXTS = {
    "outbound": "Outbound secret about the quarterly numbers",
    "outbound-fault": "Second outbound secret, through a fault",
    "inbound": "Inbound secret reply from the phone",
    "unrouted": "Unrouted secret nobody should read",
    "producer": "Producer secret sent through the queue",
    "refused": "Refused producer secret for a stranger",
}


@pytest.fixture
def captured_logs(capfd, caplog):
    caplog.set_level(logging.INFO)  # the root, and so twilio, urllib3, botocore ...
    previous = service_logger.log_level
    service_logger.setLevel("DEBUG")
    texts = []

    def collect() -> str:
        out, _ = capfd.readouterr()
        # stdout: Powertools' JSON lines. Left out: stderr and werkzeug's records (the
        # Twilio stand-in's access log, Twilio's side) and `responses`' (moto's mock).
        texts.append(out)
        for record in caplog.records:
            if record.name.split(".")[0] in ("werkzeug", "responses"):
                continue
            texts.append(f"{record.name} {record.levelname} {record.getMessage()}")
            texts.append(repr({k: v for k, v in record.__dict__.items() if k not in ("args", "msg")}))
        return "\n".join(texts)

    yield collect
    service_logger.setLevel(previous)


def _scenario(bridge):
    api, twilio, queues = bridge.api, bridge.twilio, bridge.queues
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    bridge.verified_user("erin", ERIN)
    assert api.put("/users/alice/presence", {"away": True}).status_code == 200
    session = bridge.open_session("alice", "bob", "Bob")
    other = bridge.open_session("alice", "carol", "Carol")

    bridge.send(session["session_id"], TEXTS["outbound"])
    queues.drain()
    twilio.server.faults.add(Fault(operation="CreateMessage", status=500, count=1, applied=True))
    faulted = bridge.send(session["session_id"], TEXTS["outbound-fault"])
    queues.drain()
    queues.end_waits("sms-bridge-dev-outbound.fifo")
    queues.drain()
    assert api.get(f"/messages/{faulted['message_id']}").json["status"] == "sent"

    bridge.chat.failing = True
    assert bridge.sms_from_phone(ALICE, session["pool_number"], TEXTS["inbound"]).status_code == 200
    queues.drain()
    bridge.chat.failing = False
    queues.end_waits("sms-bridge-dev-delivery")
    queues.drain()
    assert [e["text"] for e in bridge.chat.of_type("message.received")] == [TEXTS["inbound"]]

    path = f"/twilio/status?message_id={faulted['message_id']}"
    for status, code in (("delivered", None), ("undelivered", "30003")):
        params = {"MessageSid": "SM" + "7" * 32, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        if code:
            params["ErrorCode"] = code
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign_webhook(path, params),
        }
        from urllib.parse import urlencode

        assert api.client.http.post(path, headers=headers, body=urlencode(params)).status_code == 204

    api.delete(f"/sessions/{other['session_id']}")
    assert "ended" in bridge.sms_from_phone(ALICE, other["pool_number"], TEXTS["unrouted"]).text
    assert "ended" in bridge.sms_from_phone(STRANGER, POOL[0], TEXTS["unrouted"]).text
    for word in ("HELP", "STOP", "START"):
        bridge.sms_from_phone(ERIN, POOL[0], word)
    assert (
        post_webhook(
            api, "/twilio/sms", {"From": ALICE, "To": POOL[0], "Body": TEXTS["inbound"]}, signature="forged"
        ).status_code
        == 403
    )

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="sms-bridge-dev-requests")["QueueUrl"]
    for user_id in ("alice", "nobody"):
        text = TEXTS["producer"] if user_id == "alice" else TEXTS["refused"]
        request = {"type": "message.send", "user_id": user_id, "partner_id": "dave", "text": text}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(request))
    queues.drain()

    assert api.put("/users/zed/phone", {"phone": "12345"}).status_code == 400
    assert api.get("/numbers", token="wrong").status_code == 401
    assert api.delete("/users/alice/phone").status_code == 204
    queues.drain()
    return [twilio.last_code(ALICE), twilio.last_code(ERIN)]


def test_logs_carry_no_message_text_and_only_masked_numbers(bridge, captured_logs):
    codes = _scenario(bridge)
    logs = captured_logs()
    assert "sms sent" in logs and "session opened" in logs, "the scenario was logged at all"
    assert mask(ALICE) in logs, "numbers do appear, masked"

    for name, text in TEXTS.items():
        assert text not in logs and text[:20] not in logs, f"{name} message text is in the logs"
    for code in codes:
        assert not re.search(rf"\b{code}\b", logs), "a verification code is in the logs"

    # The pool's own numbers (the business's, not a person's) are a metric dimension: PoolNumber
    # in the EMF lines of chalicelib/adapters/metrics.py, and the 'sms sent' line's pool_number,
    # which metric filters read as PoolNumber (per-number throughput); in every other line and
    # field they are masked too.
    def metric_line(line: str) -> bool:
        return line.startswith('{"_aws"') or '"message":"sms sent"' in line

    metric_lines = [line for line in logs.splitlines() if metric_line(line)]
    assert all(re.search(r'"(PoolNumber|pool_number)"', line) for line in metric_lines if "+1415555010" in line)
    logs = (
        "\n".join(line for line in logs.splitlines() if not metric_line(line))
        + "\n"
        + "\n".join(re.sub(r'"(PoolNumber|pool_number)":"\+1415555010[1-3]"', "", line) for line in metric_lines)
    )
    for phone in (ALICE, ERIN, STRANGER, *POOL):
        national = phone[2:]
        for form in (phone, phone.replace("+", "%2B"), national, f"({national[:3]}) {national[3:6]}-{national[6:]}"):
            assert form not in logs, f"{form} appears unmasked in the logs"
    assert not re.search(r"\+\d{8,15}", logs), "an unmasked E.164 number is in the logs"
    for secret in (API_TOKEN, AUTH_TOKEN, WEBHOOK_SECRET):
        assert secret not in logs, "a secret is in the logs"
