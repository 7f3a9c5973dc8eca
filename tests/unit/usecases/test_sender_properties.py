"""Properties of the sender over random schedules, on the bench's simulation
(bench/sender/harness.py) at small size: virtual time, SQS FIFO and Lambda modelled,
Twilio with faults, the real sender on moto's DynamoDB. Whatever the
schedule: no two sends on a number closer than their segments allow, each
session's messages reach Twilio in order, nothing is sent twice, nothing is
lost, everything ends final, and a cancelled message is never sent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.kit.twilio_fakes import FaultMix
from bench.sender.harness import Config, Harness
from bench.sender.results import figures

TEXTS = st.sampled_from(
    [
        "ok",
        "see you at lunch",
        "x" * 200,  # two segments
        "y" * 400,  # three
        "привет",  # UCS-2
        "🙂 " * 40,  # UCS-2, two segments
    ]
)


@st.composite
def schedules(draw):
    numbers = draw(st.integers(1, 3))
    sessions = draw(st.integers(1, 3))
    messages = draw(
        st.lists(
            st.tuples(st.integers(0, numbers * sessions - 1), TEXTS, st.floats(0, 30, allow_nan=False)),
            min_size=1,
            max_size=20,
        )
    )
    return {
        "numbers": numbers,
        "sessions": sessions,
        "messages": messages,
        "spread": draw(st.booleans()),  # arrivals over time, or all at once
        "faults": draw(st.sampled_from([0.0, 0.0, 0.2, 0.5])),
        "cancel": draw(st.lists(st.tuples(st.integers(0, numbers * sessions - 1), st.floats(0, 20)), max_size=2)),
        "rate": draw(st.sampled_from([1.0, 1.0, 3.0])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(schedule=schedules())
def test_random_schedules_keep_spacing_order_and_each_message_once(schedule):
    config = Config(seed=schedule["seed"], concurrency=4, faults=FaultMix.total(schedule["faults"]))
    with Harness(config) as sim:
        sessions = []
        for n in range(schedule["numbers"]):
            number = f"+1415555{n:04d}"
            sim.add_number(number, schedule["rate"])
            sessions += [sim.add_session(number) for _ in range(schedule["sessions"])]
        plan = [
            (at if schedule["spread"] else 0.0, sessions[i % len(sessions)], text)
            for i, text, at in schedule["messages"]
        ]
        if schedule["spread"]:
            sim.arrivals(plan)
        else:
            sim.submit_backlog([(session, text) for _, session, text in plan])
        for index, at in schedule["cancel"]:
            sim.cancel_at(at, sessions[index % len(sessions)].user_id)
        sim.run(max_virtual_seconds=6 * 3600)
        result = figures(sim.collect())
    assert result["spacing_violations"] == 0
    assert result["order_violations"] == 0
    assert result["duplicates"] == 0
    assert result["lost"] == 0
    assert result["not_final"] == 0
    assert result["wrong_record"] == 0  # e.g. a cancelled message that Twilio has
    assert result["overruns"] == 0


def test_the_visibility_only_policy_keeps_the_same_promises():
    with Harness(Config(seed=7, concurrency=4, max_wait_seconds=0.0)) as sim:
        session = sim.add_session("+14155550000")
        sim.add_number("+14155550000")
        sim.submit_backlog([(session, f"message {i}") for i in range(12)])
        sim.run()
        result = figures(sim.collect())
    assert [result[k] for k in ("spacing_violations", "order_violations", "duplicates", "lost", "not_final")] == [0] * 5
    assert result["sqs_calls"].get("ChangeMessageVisibilityBatch", 0) > 0
