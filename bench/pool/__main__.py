"""A month of the number pool in virtual time (bench/pool/month.py): both release policies,
side by side, printed against their goals; the exit status is the first policy's.

    python -m bench.pool [--days 30] [--seed 5] [--release-at renewal|empty] [--log]
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from bench.pool.month import START, Workload
from bench.pool.report import main_arguments, simulate


def main(argv: list[str] | None = None) -> int:
    args = main_arguments(argv)
    modes = args.release_at or ["renewal", "empty"]
    w = Workload()
    print(
        f"== pool: {args.days} simulated days from {datetime.fromtimestamp(START, tz=UTC).date()}, seed "
        f"{args.seed}, {w.users} users, {w.segments_per_second:g} segment/s per number; policy: target wait "
        f"{args.target_wait:g} s, headroom {args.headroom}, idle {args.idle_minutes:g} min, max {args.max_size} "
        f"numbers, budget ${args.budget:g}/month"
    )
    with ProcessPoolExecutor(len(modes)) as workers:
        results = list(workers.map(simulate, modes, [args] * len(modes)))
    missed = []
    for mode, (text, mode_missed, log) in zip(modes, results, strict=True):
        for t, action, reason in log:
            print(f"{datetime.fromtimestamp(t, tz=UTC):%m-%d %H:%M} {action:<10} {reason}")
        print(text)
        if mode == modes[0]:
            missed += mode_missed
    if missed:
        print("goals missed (" + modes[0] + "): " + "; ".join(m.split(": ", 1)[1] for m in missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
