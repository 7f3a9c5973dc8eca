"""bench/sender/capacity.py's measures on a hand-made run: the backlog (depth, oldest message's age)
at a moment, and the sends closer than a number's rate."""

from bench.kit.twilio_fakes import Accepted
from bench.sender.capacity import backlog_at, early_sends
from bench.sender.results import RunData, Submitted


def run(submitted: list[Submitted], accepted: list[Accepted]) -> RunData:
    return RunData(
        numbers={"+1": 1.0},
        submitted=submitted,
        accepted=accepted,
        statuses={},
        dynamo_counts={},
        conditional_failures={},
        sqs_calls={},
        empty_receives=0,
        events_sent=0,
        invocations=0,
        invocation_seconds=0.0,
        crashes=0,
        overruns=0,
        peak_running=0,
        cold_starts=0,
        counted_segments=0,
        twilio_calls={},
        metrics={},
        dead_lettered=0,
        started_at=0.0,
        ended_at=10.0,
        wall_seconds=0.0,
    )


def submitted(message_id: str, at: float, sent: float | None) -> Submitted:
    return Submitted(message_id, "ses", "+1", 1, at, 1, first_accept=sent)


def accepted(message_id: str, at: float, segments: int = 1) -> Accepted:
    return Accepted(at, "+1", "+2", "hi", "SM" + message_id, message_id, segments)


def test_the_backlog_is_what_was_submitted_and_not_yet_sent_and_its_age_the_oldest_ones():
    data = run([submitted("a", 0.0, 1.0), submitted("b", 0.5, 4.0), submitted("c", 2.0, None)], [])
    assert backlog_at(data, 0.25) == (1, 0.25)
    assert backlog_at(data, 3.0) == (2, 2.5)  # a sent at 1.0; b (0.5) is the oldest left
    assert backlog_at(data, 5.0) == (1, 3.0)  # c never sent
    assert backlog_at(run([], []), 1.0) == (0, 0.0)


def test_early_sends_are_those_closer_than_the_first_ones_segments_allow():
    on_time = [accepted("a", 0.0, 2), accepted("b", 2.0), accepted("c", 3.0)]
    assert early_sends(run([], on_time)) == (0, 0.0)
    early = [accepted("a", 0.0, 2), accepted("b", 1.99), accepted("c", 2.5)]
    count, worst = early_sends(run([], early))
    assert count == 2 and abs(worst - 0.49) < 1e-9  # b 0.01 s early, c 0.49 s (after b at 1.99)
