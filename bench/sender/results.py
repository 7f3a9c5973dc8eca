"""What a run of the sender's simulation leaves behind (`RunData`, picklable, so the runs of
a scenario split over processes can be merged) and the figures of issue 4 worked out from it.

A send is measured when its request leaves the sender (Twilio's `accepted` record). Spacing:
two consecutive sends on a number closer than the first one's segments / rate (1 µs
tolerance). Utilisation: the busiest number's ideal drain time at its full rate over the
simulated one, for messages all submitted at the start."""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field

from bench.kit.stats import percentiles
from bench.sender.partitions import READ_OPERATIONS, WRITE_OPERATIONS

SPACING_TOLERANCE = 1e-6


@dataclass
class Submitted:
    message_id: str
    session_id: str
    number: str
    seq: int  # order of submission within the session
    submitted_at: float
    segments: int
    idle_at_submit: bool = False
    first_accept: float | None = None


@dataclass
class RunData:
    """Everything a run leaves behind (picklable, so shards can be merged)."""

    numbers: dict
    submitted: list
    accepted: list
    statuses: dict
    dynamo_counts: dict
    conditional_failures: dict
    sqs_calls: dict
    empty_receives: int
    events_sent: int
    invocations: int
    cold_starts: int
    invocation_seconds: float
    crashes: int
    overruns: int
    peak_running: int
    twilio_calls: dict
    metrics: dict
    dead_lettered: int
    counted_segments: int  # the pool numbers' cumulative sent counters (segments_out), summed
    started_at: float
    ended_at: float
    wall_seconds: float
    partitions: dict = field(default_factory=dict)  # DynamoCalls.partitions

    @classmethod
    def merge(cls, parts: list[RunData]) -> RunData:
        def add(dicts):
            total = collections.Counter()
            for d in dicts:
                total.update(d)
            return dict(total)

        roles = {role for part in parts for role in part.dynamo_counts}
        return cls(
            numbers={k: v for part in parts for k, v in part.numbers.items()},
            submitted=[s for part in parts for s in part.submitted],
            accepted=[a for part in parts for a in part.accepted],
            statuses={k: v for part in parts for k, v in part.statuses.items()},
            dynamo_counts={role: add(part.dynamo_counts.get(role, {}) for part in parts) for role in roles},
            conditional_failures=add(part.conditional_failures for part in parts),
            sqs_calls=add(part.sqs_calls for part in parts),
            empty_receives=sum(part.empty_receives for part in parts),
            events_sent=sum(part.events_sent for part in parts),
            invocations=sum(part.invocations for part in parts),
            cold_starts=sum(part.cold_starts for part in parts),
            invocation_seconds=sum(part.invocation_seconds for part in parts),
            crashes=sum(part.crashes for part in parts),
            overruns=sum(part.overruns for part in parts),
            peak_running=sum(part.peak_running for part in parts),
            twilio_calls=add(part.twilio_calls for part in parts),
            metrics=add(part.metrics for part in parts),
            dead_lettered=sum(part.dead_lettered for part in parts),
            counted_segments=sum(part.counted_segments for part in parts),
            started_at=min(part.started_at for part in parts),
            ended_at=max(part.ended_at for part in parts),
            wall_seconds=max(part.wall_seconds for part in parts),
            partitions=add(part.partitions for part in parts),
        )


def figures(run: RunData) -> dict:
    """The figures of issue 4 from what a run left behind."""
    n = len(run.submitted)
    accepted_by_message = collections.Counter(a.message_id for a in run.accepted)

    # spacing: consecutive acceptances on a number closer than the first one's segments allow
    spacing = 0
    by_number = collections.defaultdict(list)
    for record in run.accepted:
        by_number[record.from_].append(record)
    for number, records in by_number.items():
        rate = run.numbers.get(number, 1.0)
        records.sort(key=lambda r: r.at)
        for before, after in itertools.pairwise(records):
            if after.at - before.at < before.segments / rate - SPACING_TOLERANCE:
                spacing += 1

    # order: within a session, first acceptances in submission order
    order = 0
    by_session = collections.defaultdict(list)
    for item in run.submitted:
        if item.first_accept is not None:
            by_session[item.session_id].append(item)
    for items in by_session.values():
        items.sort(key=lambda i: (i.first_accept, i.seq))
        order += sum(1 for a, b in itertools.pairwise(items) if b.seq < a.seq)

    duplicates = sum(count - 1 for count in accepted_by_message.values() if count > 1)
    lost = not_final = wrong_record = 0
    for item in run.submitted:
        status = run.statuses.get(item.message_id, "missing")
        if status in ("queued", "sending", "missing"):
            not_final += 1
        sent = accepted_by_message[item.message_id] > 0
        if not sent and status not in ("failed", "cancelled"):
            lost += 1  # never reached Twilio, and not for a reason the record gives
        if sent and status != "sent":
            wrong_record += 1  # Twilio has it, the record says otherwise

    # utilisation: the busiest number's ideal drain time over the simulated one
    ideal = collections.Counter()
    for item in run.submitted:
        ideal[item.number] += item.segments / run.numbers.get(item.number, 1.0)
    drained = {}
    for number, records in by_number.items():
        last = records[-1]
        drained[number] = last.at + last.segments / run.numbers.get(number, 1.0) - run.started_at
    bottleneck = max(ideal, key=lambda k: ideal[k]) if ideal else None
    utilisation = ideal[bottleneck] / max(drained.values()) if drained else 0.0
    per_number = [ideal[k] / drained[k] for k in drained if ideal[k] > 0]

    latency_p50, latency_p95, latency_p99 = percentiles(
        (i.first_accept - i.submitted_at for i in run.submitted if i.first_accept), 50, 95, 99
    )
    idle = [i.first_accept - i.submitted_at for i in run.submitted if i.first_accept and i.idle_at_submit]
    idle_p50, idle_p99 = percentiles(idle, 50, 99)
    sender_calls = run.dynamo_counts.get("sender", {})
    reads = sum(v for k, v in sender_calls.items() if k in READ_OPERATIONS)
    writes = sum(v for k, v in sender_calls.items() if k in WRITE_OPERATIONS)
    sqs_total = sum(run.sqs_calls.values())
    segments = sum(i.segments for i in run.submitted)
    return {
        "messages": n,
        "segments": segments,
        "numbers": len(run.numbers),
        "spacing_violations": spacing,
        "order_violations": order,
        "duplicates": duplicates,
        "lost": lost,
        "not_final": not_final,
        "wrong_record": wrong_record,
        "dead_lettered": run.dead_lettered,
        # what the sent counters say less the segments of the messages recorded sent
        "counted_less_sent": run.counted_segments
        - sum(i.segments for i in run.submitted if run.statuses.get(i.message_id) == "sent"),
        "statuses": dict(collections.Counter(run.statuses.values())),
        "utilisation": utilisation,
        "utilisation_min_number": min(per_number) if per_number else 0.0,
        "ideal_seconds": ideal[bottleneck] if bottleneck else 0.0,
        "simulated_seconds": max(drained.values()) if drained else 0.0,
        "dynamodb_reads_per_message": reads / n if n else 0.0,
        "dynamodb_writes_per_message": writes / n if n else 0.0,
        "dynamodb_sender_calls": sender_calls,
        "dynamodb_conditional_failures": run.conditional_failures.get("sender", 0),
        "dynamodb_conditional_failures_per_segment": run.conditional_failures.get("sender", 0) / segments
        if segments
        else 0.0,
        "sqs_calls_per_message": (sqs_total - run.empty_receives) / n if n else 0.0,
        "sqs_calls": run.sqs_calls,
        "sqs_empty_receives": run.empty_receives,
        "invocations": run.invocations,
        "cold_starts": run.cold_starts,
        "invocation_seconds_per_message": run.invocation_seconds / n if n else 0.0,
        "peak_concurrency": run.peak_running,
        "crashes": run.crashes,
        "overruns": run.overruns,
        "twilio_calls": run.twilio_calls,
        "latency_p50": latency_p50,
        "latency_p95": latency_p95,
        "latency_p99": latency_p99,
        "idle_latency_p50": idle_p50,
        "idle_latency_p99": idle_p99,
        "idle_messages": len(idle),
        "metrics": run.metrics,
        "virtual_seconds": run.ended_at - run.started_at,
        "wall_seconds": run.wall_seconds,
    }


def campaign_figures(data: RunData, rate: float) -> dict:
    """Sends closer than the campaign's rate allows, and the campaign's utilisation:
    every segment at its rate over the simulated drain time."""
    records = sorted(data.accepted, key=lambda r: r.at)
    spacing = sum(1 for a, b in itertools.pairwise(records) if b.at - a.at < a.segments / rate - SPACING_TOLERANCE)
    last = records[-1]
    drained = last.at + last.segments / rate - data.started_at
    segments = sum(item.segments for item in data.submitted)
    return {"campaign_spacing_violations": spacing, "campaign_utilisation": segments / rate / drained}
