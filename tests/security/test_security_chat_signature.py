"""The events the bridge POSTs to the chat backend are signed so a receiver can
tell them from forgeries (X-Bridge-Signature, README "Events and the requests queue"), and the secret can be
rotated without refusing a single event.

Rotation, as decided here (chalicelib/core/event_signing.py): CHAT_WEBHOOK_SECRET lists
secrets newest first ("new,old"); while both are listed the bridge signs with
each (one v1 per secret, the newest first) and a receiver accepts an event when
any v1 matches a secret it knows. So a receiver still on the old secret, one
already on the new, and one that knows both all accept during the window; once
the old secret is dropped ("new"), only receivers that know the new one do."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time

import pytest

import app as app_module
from chalicelib.core import event_signing as signing
from chalicelib.core import events
from chalicelib.usecases import chat_events
from devstack.chat_receiver import ChatReceiver

OLD, NEW = "old-webhook-secret", "new-webhook-secret"


class CapturingReceiver(ChatReceiver):
    """A chat receiver that also keeps each raw request (body, signature header)."""

    def __init__(self, secrets):
        super().__init__(secrets)
        self.raw = []

    def _accept(self, body, signature):
        self.raw.append((body, signature))
        return super()._accept(body, signature)


@pytest.fixture
def receiver_for(monkeypatch):
    started = []

    def start(secrets):
        receiver = CapturingReceiver(secrets).start()
        started.append(receiver)
        monkeypatch.setenv("CHAT_WEBHOOK_URL", receiver.url)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def _deliver_one(queues, cause):
    sent = chat_events.emit(
        app_module.context, events.SESSION_CLOSED, cause, session_id="ses_1", user_id="u", partner_id="p", reason="x"
    )
    queues.drain()
    return sent


def independent_verify(body: bytes, header: str, secrets: list[str], now: float) -> bool:
    """A receiver written from the README's words alone, sharing no code with the bridge."""
    timestamp = re.search(r"(?:^|,)t=(\d+)(?:,|$)", header)
    if not timestamp or abs(now - int(timestamp.group(1))) > 300:
        return False
    for given in re.findall(r"(?:^|,)v1=([0-9a-f]{64})(?=,|$)", header):
        for secret in secrets:
            mac = hmac.new(secret.encode(), timestamp.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(mac, given):
                return True
    return False


def test_a_delivered_event_verifies_at_a_receiver_that_shares_no_code(aws_backend, queues, receiver_for, monkeypatch):
    monkeypatch.setenv("CHAT_WEBHOOK_SECRET", OLD)
    receiver = receiver_for([OLD])
    sent = _deliver_one(queues, "verify-1")
    assert receiver.events == [sent] and receiver.rejected == 0
    ((body, header),) = receiver.raw
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header), "one secret: the single-v1 form of the README"
    assert abs(int(header[2 : header.index(",")]) - time.time()) < 60
    assert independent_verify(body, header, [OLD], time.time())
    assert signing.verify(body, header, [OLD], time.time())
    # What a receiver must refuse: any change to the body, another secret, a stale timestamp.
    assert not independent_verify(body + b" ", header, [OLD], time.time())
    assert not signing.verify(body.replace(b"ses_1", b"ses_2"), header, [OLD], time.time())
    assert not signing.verify(body, header, [NEW], time.time())
    assert not signing.verify(body, header, [OLD], time.time() + signing.DEFAULT_TOLERANCE_SECONDS + 5)
    forged_time = re.sub(r"t=\d+", f"t={int(time.time()) + 1}", header)
    assert not signing.verify(body, forged_time, [OLD], time.time())


@pytest.mark.parametrize(
    "receiver_secrets",
    [[OLD], [NEW], [NEW, OLD], [OLD, NEW]],
    ids=["receiver on the old secret", "receiver on the new secret", "receiver on both", "both, other order"],
)
def test_during_a_rotation_every_receiver_accepts(aws_backend, queues, receiver_for, monkeypatch, receiver_secrets):
    monkeypatch.setenv("CHAT_WEBHOOK_SECRET", f"{NEW},{OLD}")
    receiver = receiver_for(receiver_secrets)
    sent = _deliver_one(queues, "rotation-" + "-".join(receiver_secrets))
    assert receiver.events == [sent] and receiver.rejected == 0
    ((body, header),) = receiver.raw
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}", header)
    # The newest secret's signature comes first (what a single-v1 parser reads first).
    assert header.split(",")[1] == signing.sign_all(body, [NEW], int(header[2 : header.index(",")])).split(",")[1]
    assert independent_verify(body, header, receiver_secrets, time.time())


def test_a_receiver_with_neither_secret_refuses_during_a_rotation(aws_backend, queues, receiver_for, monkeypatch):
    monkeypatch.setenv("CHAT_WEBHOOK_SECRET", f"{NEW},{OLD}")
    receiver = receiver_for(["some-other-secret"])
    _deliver_one(queues, "rotation-stranger")
    assert receiver.events == [] and receiver.rejected >= 1


def test_after_the_rotation_the_old_secret_no_longer_verifies(aws_backend, queues, receiver_for, monkeypatch):
    monkeypatch.setenv("CHAT_WEBHOOK_SECRET", NEW)
    old_only = receiver_for([OLD])
    _deliver_one(queues, "after-rotation-old")
    assert old_only.events == [] and old_only.rejected >= 1
    new_only = receiver_for([NEW])
    sent = _deliver_one(queues, "after-rotation-new")
    assert new_only.events == [sent]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=,v1=",
        "t=abc,v1=00",
        "v1=" + "0" * 64,
        "t=1700000000",
        "t=1700000000,t=1700000001,v1=" + "0" * 64,
        "t=1700000000,v1=é" + "0" * 63,
        "t=1700000000,v1=\x00",
        "=,=,=",
        "t=1700000000," + ",".join(["v1=" + "0" * 64] * 50),
    ],
)
def test_malformed_headers_are_refused_without_raising(header):
    assert signing.verify(b"{}", header, [OLD, NEW], now=1700000000) is False


def test_the_environment_of_the_suite_is_left_as_found():
    assert os.environ.get("CHAT_WEBHOOK_SECRET") not in (OLD, NEW, f"{NEW},{OLD}")
