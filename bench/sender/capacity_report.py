"""The capacity study's report (bench/sender/capacity.py measures): each figure next to its ceiling or
goal, the projections to issue 14's loads, and the goals missed. `run_capacity` is what
`python -m bench.sender --only capacity` runs."""

from __future__ import annotations

import time

from bench.sender.capacity import (
    ACCOUNT_CONCURRENCY,
    LINEAR_TOLERANCE,
    LOADS,
    MAPPING_MAX_CONCURRENCY,
    PARTITION_READ_UNITS,
    PARTITION_WRITE_UNITS,
    ZERO_FIGURES,
    Measured,
    early_sends,
    partition_units,
    simulate_all,
    throughput,
    top_partitions,
)
from bench.sender.results import campaign_figures
from chalicelib.store.models import LIMITS, POOL
from chalicelib.usecases.rate_limits import SETTLE_WRITE_SECONDS
from infra.template import STAGES


class Goals:
    """Prints a figure next to its goal, and remembers the goals missed."""

    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, line: str, ok: bool, goal: str) -> None:
        print(f"  {line}   [{goal}: {'ok' if ok else 'MISSED'}]")
        if not ok:
            self.missed.append(f"capacity: {line} (goal {goal})")


def _pct(value: float, ceiling: float) -> str:
    return f"{value:,.0f}/s of {ceiling:,} ({value / ceiling:.0%})"


def _table(runs: list[Measured], deep: list[Measured]) -> dict:
    print(
        f"  {'run':<24}{'window (s)':>11}{'arrivals/s':>11}{'sent msg/s':>11}{'seg/s':>7}{'seg/s/sender':>13}"
        f"{'running':>9}{'oldest age (s) mid -> end':>27}{'depth mid -> end':>18}"
    )
    rows = {}
    for m in runs:
        r = throughput(m, any(m is d for d in deep)) | {
            "senders": m.scenario.concurrency,
            "numbers": m.scenario.numbers,
        }
        rows[m.scenario.name] = r
        r["per_sender"] = r["segments_per_second"] / m.scenario.concurrency
        window = f"{r['window'][0]:.0f}-{r['window'][1]:.0f}"
        print(
            f"  {m.scenario.name:<24}{window:>11}{r['arrivals_per_second']:>11.2f}{r['messages_per_second']:>11.2f}"
            f"{r['segments_per_second']:>7.2f}{r['per_sender']:>13.3f}{r['mean_concurrency']:>9.2f}"
            f"{r['age_mid']:>14.1f} -> {r['age_end']:<10.1f}{r['depth_mid']:>8} -> {r['depth_end']:<7}"
        )
    return rows


def _check_delivery(runs: list[Measured], goals: Goals) -> None:
    zeros = {name: sum(m.figures[name] for m in runs) for name in ZERO_FIGURES if name != "spacing_violations"}
    text = " | ".join(f"{k.replace('_', ' ')} {v}" for k, v in zeros.items())
    goals.check(f"every run: {text}", not any(zeros.values()), "goal 0")
    early = [early_sends(m.data) for m in runs]
    count, worst = sum(n for n, _ in early), max(w for _, w in early)
    goals.check(
        f"sends closer than a number's rate: {count}, the earliest {worst * 1000:.1f} ms early",
        worst <= SETTLE_WRITE_SECONDS,
        f"none over the {SETTLE_WRITE_SECONDS * 1000:.0f} ms an invocation leaves unwritten (rate_limits.flush_late)",
    )


def report_concurrency(capped: list[Measured], shallow: Measured, steady: Measured, goals: Goals) -> dict:
    print("\n-- 1. the sender's concurrency (the outbound event source's MaximumConcurrency)")
    rows = _table([*capped, shallow, steady], capped)
    _check_delivery([*capped, shallow, steady], goals)
    capped_rows = [rows[m.scenario.name] for m in capped]
    per_sender = [r["per_sender"] for r in capped_rows]
    mean = sum(per_sender) / len(per_sender)
    spread = max(abs(p - mean) for p in per_sender) / mean
    goals.check(
        f"throughput linear in the cap: {mean:.3f} segments/s per sender (each within {spread:.1%} of it)",
        spread <= LINEAR_TOLERANCE,
        f"within {LINEAR_TOLERANCE:.0%}",
    )
    growth = [r["age_growth"] for r in capped_rows]
    goals.check(
        "backpressure: the oldest message ages " + ", ".join(f"{g:.2f}" for g in growth) + " s per s at the cap",
        min(growth) > 0 and all(r["depth_end"] > r["depth_mid"] for r in capped_rows),
        "age and depth grow in every deep run",
    )
    for m in (shallow, steady):
        r = rows[m.scenario.name]
        kept = r["messages_per_second"] / r["arrivals_per_second"]
        print(
            f"  {m.scenario.name}: {r['senders'] / r['numbers']:.2f} senders per number sent {kept:.3f} of what "
            f"arrived ({r['per_sender']:.3f} segments/s per sender; oldest message {r['age_end']:.1f} s at the end)"
        )
    prod = STAGES["prod"]
    project_concurrency(mean, prod.max_concurrency["outbound"], prod.oldest_message_seconds["outbound"])
    return {"runs": rows, "segments_per_second_per_sender": mean}


def project_concurrency(per_sender: float, prod_cap: int, alarm_age: int) -> None:
    """Linear projection of the measured segments/s per sender to issue 14's loads."""
    print(f"  projected (linear in senders, {per_sender:.3f} segments/s each, numbers backlogged at 1 segment/s):")
    for load in LOADS:
        needed = load / per_sender
        print(
            f"    at {load:,} segments/s: {needed:,.0f} concurrent senders; the mapping's maximum "
            f"{MAPPING_MAX_CONCURRENCY:,} and the account's {ACCOUNT_CONCURRENCY:,} carry "
            f"{MAPPING_MAX_CONCURRENCY * per_sender:,.0f} segments/s ({MAPPING_MAX_CONCURRENCY * per_sender / load:.0%})"
        )
        carried = prod_cap * per_sender
        growth = 1 - carried / load
        print(
            f"      prod's {prod_cap} senders (infra/template.py) carry {carried:.1f} segments/s ({carried / load:.1%}): "
            f"the oldest message ages {growth:.3f} s per s, past the outbound alarm's {alarm_age} s after "
            f"{alarm_age / growth:.0f} s (the alarm needs 5 one-minute periods over it)"
        )


def report_pool_partition(capped: list[Measured], shallow: Measured, steady: Measured, goals: Goals) -> dict:
    print(f"\n-- 2. DynamoDB: the pool partition (numbers table, partition key '{POOL}': every PoolNumber item)")
    figures_out = {}
    for label, runs in (("deep backlogs", capped), ("short backlogs", [shallow]), ("steady", [steady])):
        writes, writes_per_second = partition_units(runs, "numbers", POOL)
        reads, _ = partition_units(runs, "numbers", POOL, "read")
        figures_out[label] = {"writes_per_segment": writes, "reads_per_segment": reads}
        print(
            f"  {label} ({', '.join(m.scenario.name for m in runs)}): {writes:.3f} write units and {reads:.3f} reads "
            f"per segment sent ({writes_per_second:.2f} writes/s in the run)"
        )
    worst = max(f["writes_per_segment"] for f in figures_out.values())
    worst_reads = max(f["reads_per_segment"] for f in figures_out.values())
    for load in LOADS:
        line = f"pool partition writes at {load:,} seg/s: {_pct(worst * load, PARTITION_WRITE_UNITS)}"
        if load == LOADS[0]:
            goals.check(line + " (the worst of the three)", worst * load <= PARTITION_WRITE_UNITS, "<= one partition")
        else:
            print(f"  {line}: beyond one partition, only after splits for heat (no goal)")
        print(f"    reads {_pct(worst_reads * load, PARTITION_READ_UNITS)}")
    print(
        "  the numbers table's partitions written most (every run): "
        + ", ".join(f"{p} {n}" for p, n in top_partitions([*capped, shallow, steady], "numbers"))
    )
    return figures_out


def report_campaign(campaign: Measured, goals: Goals) -> dict:
    rate = campaign.scenario.campaign_segments_per_second or 0.0
    print(f"\n-- 3. the campaign limiter ({campaign.scenario.name}: {campaign.scenario.title})")
    held = campaign_figures(campaign.data, rate)
    goals.check(
        f"campaign spacing violations {held['campaign_spacing_violations']}",
        not held["campaign_spacing_violations"],
        "goal 0",
    )
    print(
        f"  campaign utilisation {held['campaign_utilisation']:.4f} (every segment at the campaign's rate over the "
        "simulated drain time; no goal: the limit is a ceiling)"
    )
    item, _ = partition_units([campaign], "numbers", LIMITS)
    pool, _ = partition_units([campaign], "numbers", POOL)
    zeros = {name: campaign.figures[name] for name in ZERO_FIGURES}
    goals.check(" | ".join(f"{k.replace('_', ' ')} {v}" for k, v in zeros.items()), not any(zeros.values()), "goal 0")
    print(
        f"  write units per segment: the campaign item (partition '{LIMITS}') {item:.3f}, the pool partition {pool:.3f} "
        f"({campaign.figures['dynamodb_conditional_failures']} conditional writes failed, "
        f"{campaign.scenario.numbers} senders racing for the one item, and consumed units too)"
    )
    print(
        f"  at the campaign's {rate:g} segments/s the campaign item takes {_pct(item * rate, PARTITION_WRITE_UNITS)}; "
        f"one item carries a campaign of up to {PARTITION_WRITE_UNITS / item:,.0f} segments/s at this contention"
    )
    return held | {"campaign_item_writes_per_segment": item, "pool_writes_per_segment": pool}


def run_capacity(workers: int = 2) -> tuple[dict, list[str]]:
    """Simulate and print the capacity study; its figures and the goals it missed."""
    started = time.perf_counter()
    print("\n== capacity: what limits the bridge at 10x and 100x (docs/capacity.md)")
    print("  measured on a few dozen numbers in virtual time; projections scale the per-sender and per-segment figures")
    measured = simulate_all(workers)
    *capped, shallow, steady, campaign = measured
    goals = Goals()
    result = {
        "concurrency": report_concurrency(capped, shallow, steady, goals),
        "pool_partition": report_pool_partition(capped, shallow, steady, goals),
        "campaign": report_campaign(campaign, goals),
        "wall_seconds": time.perf_counter() - started,
    }
    print(f"  capacity study wall time {result['wall_seconds']:.1f} s ({workers} processes)")
    return result, goals.missed
