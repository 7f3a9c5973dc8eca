"""The pool month's figures against their goals (bench/pool/month.py says what they are),
and one month simulated for a release policy."""

from __future__ import annotations

import argparse
import math
import time as wallclock
from datetime import UTC, datetime

from bench.pool.month import HOUR, MINUTE, PRICE_NUMBER_MONTH, PRICE_SEGMENT, START, Month, Workload
from chalicelib.core.pool_policy import Policy


def report(month: Month, seconds: float) -> tuple[str, list[str]]:
    """The figures against their goals; returns the text and the goals missed."""
    f = month.figures()
    p = month.policy
    held = f["number_months"] / f["lower_bound_months"] if f["lower_bound_months"] else math.inf
    billed = f["twilio_billed_months"] / f["peak_lower_bound"] if f["peak_lower_bound"] else math.inf
    floor = 1 + p.headroom / f["lower_bound_months"] if f["lower_bound_months"] else math.inf
    checks = [
        (
            "peak pool (numbers held)",
            f"{f['peak_pool']}",
            f"<= peak lower bound {f['peak_lower_bound']} + headroom {p.headroom} = {f['peak_lower_bound'] + p.headroom}",
            f["peak_pool"] <= f["peak_lower_bound"] + p.headroom,
        ),
        (
            "number-months billed by Twilio",
            f"{f['twilio_billed_months']} = {billed:.3f} x its lower bound "
            f"{f['peak_lower_bound']} (every number held at the peak is billed)",
            "<= 1.10 x",
            billed <= 1.10,
        ),
        (
            "p95 wait submit -> send",
            f"{f['p95']:.2f} s (p50 {f['p50']:.2f}, p99 {f['p99']:.2f}, max {f['max_wait']:.0f})",
            f"<= target {p.target_wait_seconds:g} s",
            f["p95"] <= p.target_wait_seconds,
        ),
        (
            "sessions refused under the cap",
            f"{f['refused_under_cap']} (of {f['refused']} refused)",
            "= 0",
            f["refused_under_cap"] == 0,
        ),
        (
            "flapping (bought/released in a loop)",
            f"{f['flaps']}",
            f"= 0 within the idle time {p.idle_seconds / 60:g} min",
            f["flaps"] == 0,
        ),
    ]
    lines = [
        f"release at {p.release_at!r}: {month.sessions} sessions, {f['messages']} SMS ({month.segments_out} segments "
        f"out, {month.segments_in} in), {len(month.bursts)} bursts; simulated in {seconds:.0f} s",
    ]
    width = max(len(c[0]) for c in checks)
    for name, value, goal, ok in checks:
        lines.append(f"  {'ok  ' if ok else 'MISS'} {name:<{width}}  {value}  [{goal}]")
    lines.append(
        f"       number-months held pro rata (not what Twilio bills): {f['number_months']:.2f} = {held:.3f} x the "
        f"lower bound summed per minute, {f['lower_bound_months']:.2f}; keeping the headroom alone makes "
        f">= {floor:.2f} x"
    )
    rental = f["twilio_billed_months"] * PRICE_NUMBER_MONTH
    messages = (month.segments_out + month.segments_in) * PRICE_SEGMENT
    lines.append(f"       Twilio bill: rentals ${rental:.2f} + messages ${messages:.2f} (${PRICE_SEGMENT}/segment)")
    worst, hour = f["worst_hour"]
    lines.append(
        f"       p95 wait in the busiest hour for waits: {worst:.2f} s "
        f"({datetime.fromtimestamp(START + hour * HOUR, tz=UTC):%m-%d %H:00} UTC)"
    )
    lines.append(
        f"       lower bound parts at their peaks: largest user {month.peak_user} sessions, send rate "
        f"{month.peak_rate_bound} numbers"
    )
    lines.append("       decisions: " + ", ".join(f"{name} {count}" for name, count in sorted(month.counts.items())))
    return "\n".join(lines), [f"{p.release_at}: {c[0]}" for c in checks if not c[3]]


def simulate(release_at: str, args) -> tuple[str, list[str], list]:
    policy = Policy(
        target_wait_seconds=args.target_wait,
        headroom=args.headroom,
        idle_seconds=args.idle_minutes * MINUTE,
        max_size=args.max_size,
        monthly_budget_usd=args.budget,
        release_at=release_at,
    )
    started = wallclock.monotonic()
    month = Month(Workload(), policy, args.days, args.seed).run()
    text, missed = report(month, wallclock.monotonic() - started)
    return text, missed, month.decision_log if args.log else []


def main_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pool", description="A month of the number pool in virtual time (bench/pool/month.py)."
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--release-at",
        choices=("renewal", "empty"),
        action="append",
        help="the release policy to run (repeatable; default: renewal, then empty for comparison)",
    )
    parser.add_argument("--headroom", type=int, default=Policy.headroom)
    parser.add_argument("--idle-minutes", type=float, default=Policy.idle_seconds / MINUTE)
    parser.add_argument("--target-wait", type=float, default=Policy.target_wait_seconds)
    parser.add_argument("--max-size", type=int, default=50)
    parser.add_argument("--budget", type=float, default=100.0, help="monthly rental budget, USD")
    parser.add_argument("--log", action="store_true", help="print every decision but 'hold'")
    return parser.parse_args(argv)
