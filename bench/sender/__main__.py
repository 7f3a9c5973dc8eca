"""The sender's simulation (`make bench`'s first part): the scenarios of issue 4 in virtual
time, their figures next to their goals, the deferral comparison and the capacity study.

Usage:

    python -m bench.sender                 every scenario, the deferral comparison, the capacity study
    python -m bench.sender --only faults   one scenario (by name; repeatable)
    python -m bench.sender --only capacity the capacity study alone (bench/sender/capacity.py, docs/capacity.md)
    python -m bench.sender --json out.json also write every figure as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Before anything imports boto3, PynamoDB or the app: moto's fake credentials, quiet logs.
from bench.kit import environment

environment.prepare(log_level="ERROR")

from bench.sender.capacity_report import run_capacity  # noqa: E402
from bench.sender.scenarios import COMPARISONS, SCENARIOS, run  # noqa: E402

INVOCATION_SECONDS_GOAL = 0.6
ZERO_FIGURES = ("spacing_violations", "order_violations", "duplicates", "lost", "not_final")


def _seconds(value) -> str:
    return "-" if value is None else f"{value:.3f} s"


def show(scenario, result: dict) -> list[str]:
    """Print one scenario's figures; returns the goals it missed."""
    missed = []
    r = result
    print(f"\n== {scenario.name}: {scenario.title}")
    zeros = " | ".join(f"{name.replace('_', ' ')} {r[name]}" for name in ZERO_FIGURES)
    ok = all(r[name] == 0 for name in ZERO_FIGURES)
    missed += [f"{scenario.name}: {name} = {r[name]}" for name in ZERO_FIGURES if r[name]]
    print(f"  {zeros}   [goal 0: {'ok' if ok else 'MISSED'}]")
    if "campaign_spacing_violations" in r:
        print(
            f"  campaign spacing violations {r['campaign_spacing_violations']}   [goal 0]; campaign utilisation "
            f"{r['campaign_utilisation']:.4f} (all segments at the campaign's rate / simulated drain time)"
        )
        if r["campaign_spacing_violations"]:
            missed.append(f"{scenario.name}: campaign spacing violations")
    print(
        f"  wrong records {r['wrong_record']} | dead-lettered {r['dead_lettered']} | statuses {r['statuses']} | "
        f"sent counters less segments sent {r['counted_less_sent']}"
    )
    backlog = scenario.arrival_load is None
    util_goal = ""
    if (
        backlog
        and not scenario.faults
        and not scenario.campaign_segments_per_second
        and scenario.max_wait_seconds is None
        and scenario.max_idle_seconds is None
    ):
        good = r["utilisation"] >= 0.99
        util_goal = f"   [goal >= 0.99: {'ok' if good else 'MISSED'}]"
        if not good:
            missed.append(f"{scenario.name}: utilisation {r['utilisation']:.4f}")
    print(
        f"  utilisation {r['utilisation']:.4f} (busiest number: ideal {r['ideal_seconds']:.1f} s, simulated "
        f"{r['simulated_seconds']:.1f} s; lowest number {r['utilisation_min_number']:.4f}){util_goal}"
    )
    reads, writes = r["dynamodb_reads_per_message"], r["dynamodb_writes_per_message"]
    budget = ""
    if not scenario.faults and not scenario.campaign_segments_per_second:
        good = reads <= 1 and writes <= 3
        budget = f"   [reads <= 1, writes <= 3: {'ok' if good else 'MISSED'}]"
        if not good:
            missed.append(f"{scenario.name}: DynamoDB {reads:.2f} reads, {writes:.2f} writes per message")
    print(
        f"  per message: DynamoDB reads {reads:.3f}, writes {writes:.3f} | SQS calls {r['sqs_calls_per_message']:.3f} "
        f"| invocation-seconds {r['invocation_seconds_per_message']:.3f}{budget}"
    )
    if util_goal:  # issue 14: the sender's invocation time, at full utilisation
        seconds = r["invocation_seconds_per_message"]
        good = seconds <= INVOCATION_SECONDS_GOAL
        print(
            f"  invocation-seconds per message {seconds:.3f} at utilisation {r['utilisation']:.4f}   "
            f"[goal <= {INVOCATION_SECONDS_GOAL} at >= 0.99: {'ok' if good else 'MISSED'}]"
        )
        if not good:
            missed.append(f"{scenario.name}: invocation-seconds per message {seconds:.3f}")
    print(
        f"    DynamoDB calls by the sender {r['dynamodb_sender_calls']} (conditional failures "
        f"{r['dynamodb_conditional_failures']}, {r['dynamodb_conditional_failures_per_segment']:.3f} per segment)"
    )
    print(f"    SQS calls {r['sqs_calls']} (+ {r['sqs_empty_receives']} empty long polls, not counted above)")
    print(
        f"  submit -> Twilio: p50 {_seconds(r['latency_p50'])}, p95 {_seconds(r['latency_p95'])}, "
        f"p99 {_seconds(r['latency_p99'])}; "
        f"on an idle number ({r['idle_messages']} messages): p50 {_seconds(r['idle_latency_p50'])}, "
        f"p99 {_seconds(r['idle_latency_p99'])}"
    )
    print(
        f"  invocations {r['invocations']} (cold starts {r['cold_starts']}, peak concurrency {r['peak_concurrency']}, "
        f"crashed {r['crashes']}, "
        f"over the timeout {r['overruns']}) | virtual time {r['virtual_seconds']:.1f} s"
    )
    print(f"  Twilio calls {r['twilio_calls']}")
    retries = {
        k: v
        for k, v in r["metrics"].items()
        if k.startswith(("SendRetries", "SendDeferrals", "SendsReconciled", "MessageFailed"))
    }
    print(f"  metrics {retries}")
    print(
        f"  wall {r['wall_total_seconds']:.1f} s (setup {r['setup_seconds']:.1f} s, simulation "
        f"{r['wall_seconds']:.1f} s, {r['shards']} process{'es' if r['shards'] > 1 else ''}; CPU "
        f"{r['cpu_seconds']:.1f} s; machine load average {r['load_average']:.1f} on {os.cpu_count()} cores)"
    )
    if scenario.name == "fifty_numbers":
        good = r["wall_total_seconds"] <= 90
        print(
            f"  wall time of the 10,000-message scenario {r['wall_total_seconds']:.1f} s   [goal <= 90 s: "
            f"{'ok' if good else 'MISSED'}]"
        )
        if not good:
            missed.append(f"{scenario.name}: wall {r['wall_total_seconds']:.1f} s")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sender", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--shards", type=int, help="worker processes for scenarios that split by number")
    parser.add_argument("--no-comparison", action="store_true", help="skip the deferral comparison")
    parser.add_argument("--no-capacity", action="store_true", help="skip the capacity study")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args(argv)

    chosen = SCENARIOS + ([] if args.no_comparison else COMPARISONS)
    capacity = not args.no_capacity
    if args.only:
        chosen = [s for s in SCENARIOS + COMPARISONS if s.name in args.only]
        capacity = "capacity" in args.only
        if not chosen and not capacity:
            known = [s.name for s in SCENARIOS + COMPARISONS] + ["capacity"]
            parser.error(f"no scenario named {args.only}; known: {known}")
    started = time.perf_counter()
    missed, results = [], {}
    for scenario in chosen:
        result = run(scenario, args.shards)
        results[scenario.name] = result
        missed += show(scenario, result)
    _comparison(results)
    if capacity:
        results["capacity"], capacity_missed = run_capacity(max(1, min(2, os.cpu_count() or 1)))
        missed += capacity_missed
    print(f"\nbench total wall time {time.perf_counter() - started:.1f} s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1, default=str)
    if missed:
        print("goals missed:\n  " + "\n  ".join(missed))
        return 1
    print("every goal met")
    return 0


def _comparison(results: dict) -> None:
    pairs = [
        ("one_number", "one_number_waits_inside", "one_number_visibility_only"),
        ("ten_numbers", "ten_numbers_visibility_only"),
    ]
    rows = [tuple(name for name in row if name in results) for row in pairs]
    rows = [row for row in rows if len(row) > 1]
    if not rows:
        return
    print("\n== deferral: handed back timed (the default) vs. waits inside the invocation vs. visibility timeouts only")
    print(
        f"  {'scenario':<30}{'utilisation':>12}{'reads/msg':>11}{'writes/msg':>11}{'SQS/msg':>9}"
        f"{'inv-s/msg':>11}{'invocations':>13}"
    )
    for pair in rows:
        for name in pair:
            r = results[name]
            print(
                f"  {name:<30}{r['utilisation']:>12.4f}{r['dynamodb_reads_per_message']:>11.3f}"
                f"{r['dynamodb_writes_per_message']:>11.3f}{r['sqs_calls_per_message']:>9.3f}"
                f"{r['invocation_seconds_per_message']:>11.3f}{r['invocations']:>13}"
            )


if __name__ == "__main__":
    sys.exit(main())
