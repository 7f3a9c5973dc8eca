"""Fault injection end to end, the small run (bench/service_faults.py; `make
bench` runs it with 10,000 messages): Twilio failing 10% of calls in every
way, the sender dying between Twilio's answer and the record, SQS
redelivering, DynamoDB throttling and the chat webhook down long enough for
events to be dead-lettered and replayed.

Nothing lost, nothing sent twice, everything final, every chat event
delivered at least once."""
from __future__ import annotations

import json

import app as app_module
from bench import service_hooks
from bench.service_faults import FaultRun, Plan

SMALL = Plan(messages=150, users=4, partners_per_user=3, pool_size=4, per_round=10, chat_down=(0.2, 10),
             duplicate_event_rate=0.3, seed=11)


def test_no_message_is_lost_or_sent_twice_under_faults(aws_backend, api, twilio, chat, monkeypatch):
    service_hooks.install()
    try:
        run = FaultRun(SMALL, app_module=app_module, api=api.client, standin=twilio.server, chat=chat,
                       setattr=monkeypatch.setattr, out=lambda line: None)
        figures = run.run()
    finally:
        service_hooks.HOOKS.throttle_rate = 0.0
        service_hooks.forget_clients()
    faults = figures["faults"]
    summary = json.dumps(figures, indent=1)
    # The faults did happen, each kind of them.
    assert 0.05 <= faults["twilio_fault_share"] <= 0.15, summary
    kinds = set(faults["twilio_faults"])
    assert len(kinds) >= 4 and any(k.endswith("after") for k in kinds), summary  # some Twilio took, then lost the answer
    assert faults["sender_crashes"] > 0 and faults["lost_deletes"] > 0 and faults["duplicated_events"] > 0, summary
    assert faults["dynamodb_throttles"] > 0 and faults["api_retries"] > 0, summary
    assert sum(faults["dead_lettered"].values()) > 0, "the chat outage dead-lettered events: " + summary
    assert faults["replayed"] == faults["dead_lettered"], summary
    # And the service came through them.
    assert figures["messages"] == SMALL.messages and figures["replies"] > 0, summary
    assert figures["lost"] == 0, summary
    assert figures["sent_twice"] == 0, summary
    assert figures["not_final"] == 0, summary
    assert figures["replies_lost"] == 0, summary
    assert figures["chat_events_missing"] == 0, summary
    assert chat.rejected == 0

