"""Fault injection end to end, the small run (bench/service/fault_run.py; `make
bench` runs it with 10,000 messages): Twilio failing 10% of calls in every
way, the sender dying between Twilio's answer and the record, SQS
redelivering, DynamoDB throttling and the chat webhook down long enough for
events to be dead-lettered and replayed.

Nothing lost, nothing sent twice, everything final, every chat event
delivered at least once."""

from __future__ import annotations

import json

import pytest

import app as app_module
from bench.kit.seams import Seams
from bench.kit.twilio_fakes import TWILIO_FAULTS
from bench.service.fault_plan import Plan, merge_figures
from bench.service.fault_run import FaultRun

SMALL = Plan(
    messages=150,
    users=4,
    partners_per_user=3,
    pool_size=4,
    per_round=10,
    chat_down=(0.2, 10),
    # make bench's rates, and the first chance of every fault strikes (each of Twilio's ways
    # in turn), each kind from its own seeded stream: this small run has every fault, at the
    # same chances every time, however the machine's load moves its timing.
    first_chances_strike=True,
    seed=11,
)


def test_no_message_is_lost_or_sent_twice_under_faults(aws_backend, api, twilio, chat):
    with Seams() as seams:  # the run's hooks, clocks, faults and moto speed-ups, undone after
        run = FaultRun(
            SMALL,
            app_module=app_module,
            api=api.client,
            standin=twilio.server,
            chat=chat,
            seams=seams,
            out=lambda line: None,
        )
        figures = run.run()
    faults = figures["faults"]
    summary = json.dumps(figures, indent=1)
    # The faults did happen, each kind of them.
    assert 0.05 <= faults["twilio_fault_share"] <= 0.15, summary
    assert set(faults["twilio_faults"]) == set(TWILIO_FAULTS), summary  # "... after": Twilio took it, the answer lost
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


def test_a_split_run_shares_users_numbers_and_messages_and_keeps_its_rounds():
    plan = Plan()  # make bench's: 10,000 messages, 25 users, 8 pool numbers, 200 a round
    shards = plan.split(2)
    assert [s.messages for s in shards] == [5000, 5000] and [s.users for s in shards] == [13, 12]
    assert [s.pool_size for s in shards] == [4, 4] and [s.per_round for s in shards] == [100, 100]
    assert [(s.first_user, s.first_number, s.first_message) for s in shards] == [(0, 0, 0), (13, 4, 5000)]
    assert len({s.seed for s in shards}) == 2
    assert all(-(-s.messages // s.per_round) == -(-plan.messages // plan.per_round) for s in shards)  # as many rounds
    assert all(s.twilio_fault_rate == plan.twilio_fault_rate and s.chat_down == plan.chat_down for s in shards)
    assert plan.split(1) == [plan]

    def part(n, faults, dead):
        return {
            "messages": n,
            "replies": 1,
            "lost": 0,
            "sent_twice": 0,
            "not_final": 0,
            "replies_lost": 0,
            "chat_events_expected": n + 1,
            "chat_events_missing": 0,
            "chat_events_delivered": n + 1,
            "chat_events_received_all_types": 2 * n,
            "examples": {"lost": [], "twice": []},
            "faults": {
                "twilio_calls": 10 * n,
                "twilio_faults": faults,
                "twilio_fault_share": 0.0,
                "sender_crashes": 2,
                "dead_lettered": {"q": dead},
                "replayed": {"q": dead},
            },
            "rounds": n,
            "seconds": {"setup": 1.0, "run": float(n)},
        }

    merged = merge_figures([part(10, {"429": 5, "500 after": 5}, 3), part(20, {"429": 10}, 4)])
    assert merged["messages"] == 30 and merged["chat_events_delivered"] == 32 and merged["rounds"] == 20
    assert merged["faults"]["twilio_faults"] == {"429": 15, "500 after": 5}
    assert merged["faults"]["twilio_fault_share"] == 0.0667 and merged["faults"]["sender_crashes"] == 4
    assert merged["faults"]["dead_lettered"] == merged["faults"]["replayed"] == {"q": 7}
    assert merged["seconds"] == {"setup": 1.0, "run": 20.0} and len(merged["shards"]) == 2
    with pytest.raises(ValueError):
        plan.split(3)  # 2 or 3 pool numbers a shard: a user needs 4
