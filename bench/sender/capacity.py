"""The capacity study of issue 14 (docs/capacity.md): the limits the simulation can measure.

`python -m bench.sender --only capacity` (and `make capacity-bench`) runs, in virtual time, on the
real sender over moto's DynamoDB (bench/sender/harness.py):

1. the sender's concurrency ceiling: 24 numbers of 1 segment/s, messages arriving at 90%
   of their rate, under Lambda concurrency caps below the number count (3, 6, 12): the
   throughput each cap carries, the backlog and the age of its oldest message (what the
   outbound queue's alarm watches) growing meanwhile, nothing lost, reordered or sent twice;
   and a steady run (30% of the rate, a cap as large as the number count) for contrast;
2. the DynamoDB writes landing on the numbers table's pool partition (every PoolNumber
   item, partition key POOL) per segment sent, backlogged and steady, projected to 1,000
   and 5,000 segments/s against one partition's 1,000 write units/s;
3. the campaign limiter under load (the `campaign` scenario) and the writes on the
   campaign's one item.

The runs are small (24 numbers, a few thousand messages) and the figures are per sender,
per segment or per number; the projections to 1,000 and 5,000 numbers scale them linearly,
which holds while numbers do not interact (no campaign limit: each number's limiter state is
its own item and each batch holds one number's messages).
"""

from __future__ import annotations

import itertools
import multiprocessing
from dataclasses import dataclass, replace

from bench.sender.results import RunData, figures
from bench.sender.scenarios import SCENARIOS, Scenario, plan, run_shard

# Ceilings, each from its published source (check them for the account: several can be raised).
# DynamoDB developer guide, "Partitions and data distribution" / "Burst and adaptive capacity":
# one partition serves at most 1,000 write units and 3,000 read units per second.
PARTITION_WRITE_UNITS = 1000
PARTITION_READ_UNITS = 3000
# Lambda developer guide, "Lambda quotas": concurrent executions, 1,000 per region by default;
# "Configuring maximum concurrency for Amazon SQS event sources": 2 to 1,000 per mapping.
ACCOUNT_CONCURRENCY = 1000
MAPPING_MAX_CONCURRENCY = 1000
# Issue 14's loads: 10x-20x and 100x today's largest scenario (segments per second).
LOADS = (1000, 5000)

# (numbers, senders, messages): a quarter as many senders as numbers, so every number's backlog
# passes a batch (10 messages) soon; messages for about 75 s of arrivals at 90% of the numbers' rate.
CAPPED = ((24, 3, 1200), (24, 6, 1200), (48, 12, 2400), (96, 24, 4800))
# Half as many senders as numbers: backlogs stay short, so a batch holds several numbers' messages.
SHALLOW = (96, 48, 4000)
WARMUP_SECONDS = 20.0  # throughput is measured from here (at the earliest) to the last arrival
BATCH = 10  # the outbound event source's batch size (app.py: on_sqs_message(queue=OUTBOUND_QUEUE, batch_size=10))
LINEAR_TOLERANCE = 0.15  # the per-sender throughput of every cap within 15% of their mean
ZERO_FIGURES = ("spacing_violations", "order_violations", "duplicates", "lost", "not_final")

BASE = Scenario("capacity", "", numbers=24, messages=1400, arrival_load=0.9, seed=14)


def studies() -> list[Scenario]:
    capped = [
        replace(BASE, name=f"{n}_numbers_{cap}_senders", numbers=n, concurrency=cap, messages=messages)
        for n, cap, messages in CAPPED
    ]
    n, cap, messages = SHALLOW
    shallow = replace(BASE, name=f"{n}_numbers_{cap}_senders", numbers=n, concurrency=cap, messages=messages)
    steady = replace(BASE, name="24_numbers_steady", messages=600, arrival_load=0.3, concurrency=24)
    campaign = next(s for s in SCENARIOS if s.name == "campaign")
    return [*capped, shallow, steady, campaign]


def _simulate(scenario: Scenario) -> RunData:
    return run_shard(scenario, plan(scenario), 0, 1)


@dataclass
class Measured:
    scenario: Scenario
    data: RunData
    figures: dict

    @property
    def segments(self) -> int:
        return self.figures["segments"]

    @property
    def seconds(self) -> float:
        return self.data.ended_at - self.data.started_at


def simulate_all(workers: int = 2) -> list[Measured]:
    """Every study, two at a time (each a single process: its concurrency cap is exact)."""
    chosen = studies()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        runs = pool.map(_simulate, chosen)
    return [Measured(s, data, figures(data)) for s, data in zip(chosen, runs, strict=True)]


# --- what a run shows ------------------------------------------------------------------------


def backlog_at(data: RunData, t: float) -> tuple[int, float]:
    """Messages submitted and not yet sent at virtual time t, and the oldest one's age: what
    SQS reports as the queue's depth and ApproximateAgeOfOldestMessage (within a batch)."""
    waiting = [
        i.submitted_at for i in data.submitted if i.submitted_at <= t and (i.first_accept is None or i.first_accept > t)
    ]
    return len(waiting), (t - min(waiting)) if waiting else 0.0


def deep_from(data: RunData, numbers: int, end: float) -> float:
    """The first second after the warm-up at which the backlog holds a batch per number on
    average (so a batch is mostly one number's messages); the warm-up's end if it never does."""
    t = data.started_at + WARMUP_SECONDS
    while t < end - WARMUP_SECONDS:
        if backlog_at(data, t)[0] >= BATCH * numbers:
            return t
        t += 1.0
    return data.started_at + WARMUP_SECONDS


def throughput(m: Measured, deep: bool) -> dict:
    """Messages and segments per second sent from the warm-up (with `deep`, from when the backlog
    holds a batch per number) to the last arrival, the backlog halfway and at the end of that
    window, and the senders' mean concurrency over the whole run."""
    data = m.data
    end = max(i.submitted_at for i in data.submitted)
    start = deep_from(data, m.scenario.numbers, end) if deep else data.started_at + WARMUP_SECONDS
    sent = [a for a in data.accepted if start <= a.at < end]
    middle = (start + end) / 2
    (depth_mid, age_mid), (depth_end, age_end) = backlog_at(data, middle), backlog_at(data, end)
    return {
        "window": (start - data.started_at, end - data.started_at),
        "messages_per_second": len(sent) / (end - start),
        "segments_per_second": sum(a.segments for a in sent) / (end - start),
        "arrivals_per_second": len(data.submitted) / (end - data.started_at),
        "depth_mid": depth_mid,
        "depth_end": depth_end,
        "age_mid": age_mid,
        "age_end": age_end,
        "age_growth": (age_end - age_mid) / (end - middle),  # seconds of age per second
        "mean_concurrency": data.invocation_seconds / m.seconds,
    }


def partition_units(runs: list[Measured], table: str, partition: str, kind: str = "write") -> tuple[float, float]:
    """Request units on one partition per segment sent, and per virtual second, over `runs`."""
    units = sum(
        n for m in runs for (_, k, t, p), n in m.data.partitions.items() if (k, t, p) == (kind, table, partition)
    )
    segments = sum(m.segments for m in runs)
    seconds = sum(m.seconds for m in runs)
    return units / segments, units / seconds


def top_partitions(runs: list[Measured], table: str, limit: int = 4) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for m in runs:
        for (_, kind, t, p), n in m.data.partitions.items():
            if kind == "write" and t == table:
                totals[p] = totals.get(p, 0) + n
    return sorted(totals.items(), key=lambda kv: -kv[1])[:limit]


def early_sends(data: RunData) -> tuple[int, float]:
    """Sends on a number closer than its rate allows, and the earliest by how much (seconds)."""
    by_number: dict[str, list] = {}
    for record in data.accepted:
        by_number.setdefault(record.from_, []).append(record)
    early = []
    for number, records in by_number.items():
        records.sort(key=lambda r: r.at)
        rate = data.numbers.get(number, 1.0)
        early += [a.segments / rate - (b.at - a.at) for a, b in itertools.pairwise(records)]
    early = [e for e in early if e > 1e-6]
    return len(early), max(early, default=0.0)
