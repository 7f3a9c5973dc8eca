"""The scenarios of issue 4, and how one is run (optionally split over processes).

A scenario is planned once from its seed (which number, which session, what
text, when), then simulated. Numbers never interact unless a campaign limit
is set, so a large scenario can be split by number over worker processes
(`shards`): each simulates its numbers with its share of the Lambda
concurrency, and the runs are merged before the figures are computed.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import resource
import time
from dataclasses import dataclass, replace

from bench.kit.twilio_fakes import FaultMix
from bench.sender.harness import Config, Harness
from bench.sender.results import RunData, campaign_figures, figures

WORDS = [
    "ok",
    "thanks",
    "see",
    "you",
    "at",
    "lunch",
    "tomorrow",
    "call",
    "me",
    "later",
    "on",
    "my",
    "way",
    "running",
    "late",
    "sounds",
    "good",
    "meeting",
    "moved",
    "to",
    "three",
    "can",
    "you",
    "send",
    "the",
    "file",
    "please",
    "the",
    "build",
    "is",
    "green",
    "again",
    "let",
    "us",
    "ship",
    "it",
]
UCS2_WORDS = ["привет", "как", "дела", "спасибо", "😀", "👍", "да", "нет", "увидимся", "🎉"]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    numbers: int
    messages: int
    sessions_per_number: int = 4
    hot_share: float = 0.0  # share of all messages on number 0
    arrival_load: float | None = None  # None: all submitted at once; else share of each number's rate
    faults: float = 0.0
    multi_share: float = 0.15  # multi-segment messages (GSM-7 and UCS-2)
    ucs2_share: float = 0.10
    segments_per_second: float = 1.0
    campaign_segments_per_second: float | None = None
    max_wait_seconds: float | None = None  # None: the sender's default (SENDER_MAX_WAIT_SECONDS)
    max_idle_seconds: float | None = None  # None: the sender's default (SENDER_MAX_IDLE_SECONDS)
    concurrency: int = 60
    shards: int = 1
    seed: int = 4


@dataclass(frozen=True)
class Planned:
    number: int
    session: int
    text: str
    at: float  # seconds after the start (0: backlog)


def phone(index: int) -> str:
    return f"+1415555{index:04d}"


def _text(rng: random.Random, multi_share: float, ucs2_share: float) -> str:
    ucs2 = rng.random() < ucs2_share
    multi = rng.random() < multi_share
    words = UCS2_WORDS + WORDS if ucs2 else WORDS
    # With the sender's prefix ("P12: ", up to 5 characters) a single segment is 160/70.
    if ucs2:
        length = rng.randint(80, 200) if multi else rng.randint(5, 60)
    else:
        length = rng.randint(170, 600) if multi else rng.randint(8, 150)
    parts, size = [], 0
    while size < length:
        word = rng.choice(words)
        parts.append(word)
        size += len(word) + 1
    text = " ".join(parts)[:length].strip()
    if ucs2 and not any(w in text for w in UCS2_WORDS):
        text = (UCS2_WORDS[0] + " " + text)[:length]
    return text


def plan(scenario: Scenario) -> list[Planned]:
    rng = random.Random(scenario.seed)
    mean_segments = 1 + scenario.multi_share * 2.5
    total_rate = None
    if scenario.arrival_load is not None:
        total_rate = scenario.numbers * scenario.arrival_load * scenario.segments_per_second / mean_segments
    planned, at = [], 0.0
    for _ in range(scenario.messages):
        if scenario.hot_share and rng.random() < scenario.hot_share:
            number = 0
        else:
            number = rng.randrange(1 if scenario.hot_share else 0, scenario.numbers)
        if total_rate:
            at += rng.expovariate(total_rate)
        planned.append(
            Planned(
                number,
                rng.randrange(scenario.sessions_per_number),
                _text(rng, scenario.multi_share, scenario.ucs2_share),
                at,
            )
        )
    return planned


def run_shard(scenario: Scenario, planned: list[Planned], shard: int, shards: int) -> RunData:
    started = time.perf_counter()
    config = Config(
        seed=scenario.seed * 1000 + shard,
        concurrency=max(1, math.ceil(scenario.concurrency / shards)),
        max_wait_seconds=scenario.max_wait_seconds,
        max_idle_seconds=scenario.max_idle_seconds,
        faults=FaultMix.total(scenario.faults) if scenario.faults else FaultMix(),
        campaign_segments_per_second=scenario.campaign_segments_per_second,
    )
    with Harness(config) as sim:
        sessions = {}
        for number in range(shard, scenario.numbers, shards):
            sim.add_number(phone(number), scenario.segments_per_second)
            for index in range(scenario.sessions_per_number):
                sessions[(number, index)] = sim.add_session(phone(number))
        mine = [p for p in planned if p.number % shards == shard]
        if scenario.arrival_load is None:
            sim.submit_backlog([(sessions[(p.number, p.session)], p.text) for p in mine])
        else:
            sim.arrivals([(p.at, sessions[(p.number, p.session)], p.text) for p in mine])
        setup = time.perf_counter() - started
        sim.run()
        data = sim.collect()
    data.setup_seconds = setup
    return data


def run(scenario: Scenario, shards: int | None = None) -> dict:
    """Simulate a scenario; its figures, plus wall-clock times."""
    shards = shards or scenario.shards
    if scenario.campaign_segments_per_second:
        shards = 1  # the campaign couples every number
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    planned = plan(scenario)
    if shards == 1:
        data = run_shard(scenario, planned, 0, 1)
        setup = data.setup_seconds
    else:
        with multiprocessing.get_context("fork").Pool(shards) as pool:
            parts = pool.starmap(run_shard, [(scenario, planned, shard, shards) for shard in range(shards)])
        data = RunData.merge(parts)
        setup = max(part.setup_seconds for part in parts)
    result = figures(data)
    if scenario.campaign_segments_per_second:
        result.update(campaign_figures(data, scenario.campaign_segments_per_second))
    result["wall_total_seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = _cpu_seconds() - cpu_started
    result["load_average"] = os.getloadavg()[0]
    result["setup_seconds"] = setup
    result["shards"] = shards
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the shards)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


SCENARIOS = [
    Scenario("one_number", "one number, 1,000 messages submitted at once", numbers=1, messages=1000),
    Scenario(
        "fifty_numbers",
        "50 numbers, 10,000 messages at once (15% multi-segment, 10% UCS-2)",
        numbers=50,
        messages=10_000,
        shards=2,
    ),
    Scenario(
        "hot_number",
        "one hot number among 50: a third of 2,000 messages on one number",
        numbers=50,
        messages=2000,
        hot_share=1 / 3,
        shards=2,
    ),
    Scenario(
        "faults",
        "fault mix 10% (429, 5xx, timeouts, crash after accept, 4xx) on 10 numbers, 1,000 messages",
        numbers=10,
        messages=1000,
        faults=0.10,
    ),
    Scenario(
        "steady",
        "not backlogged: 50 numbers at 30% of their rate, 1,000 messages over time",
        numbers=50,
        messages=1000,
        arrival_load=0.3,
        shards=2,
    ),
    Scenario(
        "campaign",
        "campaign limit 3 segments/s across 5 numbers of 1 segment/s, 500 messages",
        numbers=5,
        messages=500,
        campaign_segments_per_second=3.0,
    ),
]

# The deferral choice: the same backlogs with every wait left to SQS visibility timeouts, and
# with a number's waits between its sends slept out inside the invocation (before issue 14's hand-back).
COMPARISONS = [
    replace(
        SCENARIOS[0],
        name="one_number_waits_inside",
        max_idle_seconds=15.0,
        title="one number, 1,000 messages, waits between sends inside the invocation (SENDER_MAX_IDLE_SECONDS=15)",
    ),
    replace(
        SCENARIOS[0],
        name="one_number_visibility_only",
        max_wait_seconds=0.0,
        title="one number, 1,000 messages, waits by visibility timeout only",
    ),
    Scenario("ten_numbers", "10 numbers, 1,000 messages at once (the sender's defaults)", numbers=10, messages=1000),
    Scenario(
        "ten_numbers_visibility_only",
        "10 numbers, 1,000 messages, waits by visibility timeout only",
        numbers=10,
        messages=1000,
        max_wait_seconds=0.0,
    ),
]
