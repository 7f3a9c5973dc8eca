"""The scheduled run (every minute): sweep expired sessions, correct the
open-session counters, read the pool, decide (core/pool_plan.plan), log every
decision with its reason, and carry it out unless POOL_DRY_RUN."""

from __future__ import annotations

from collections import Counter

from chalicelib.adapters.logs import logger, mask
from chalicelib.core import pool_plan
from chalicelib.core.pool_policy import BUY, DRAIN, HOLD, REACTIVATE, REFUSE, RELEASE, Decision, PoolView, required
from chalicelib.store.pool import HELD, PoolNumber
from chalicelib.usecases import pool_growth, pool_numbers, pool_usage, sessions
from chalicelib.usecases.context import Context

# A number's open-session counter is only corrected when no session opened or closed on it this
# recently (the sessions index is eventually consistent).
SETTLED_SECONDS = 60


def autoscale(ctx: Context) -> dict:
    """The scheduled function. Returns what it did."""
    now = ctx.now()
    config = ctx.settings.pool
    swept, per_user, per_number = sessions.sweep_expired(ctx, now)
    numbers = pool_numbers.all_numbers(ctx)
    repaired = repair_counters(ctx, numbers, per_number, now)
    pool_usage.fold_sent(ctx, numbers, now)
    today = pool_usage.today(now)
    usage = pool_usage.usage_for_day(ctx, today)
    view = PoolView(
        now=now,
        day=today.isoformat(),
        numbers=tuple(
            pool_numbers.number_state(n, now, usage.get(n.phone_number), per_number.get(n.phone_number, 0))
            for n in numbers
            if n.status in HELD
        ),
        max_user_sessions=max(per_user.values(), default=0),
        rentals_this_month=pool_numbers.rentals_this_month(numbers, now),
    )
    plan = pool_plan.plan(view, config.policy, _load_memory(ctx))
    done = []
    for decision in plan.decisions:
        pool_growth.log_decision(decision, dry_run=config.dry_run, figures=plan.figures)
        outcome = "logged" if config.dry_run or decision.action in (HOLD, REFUSE) else None
        if outcome is None:
            try:
                outcome = _carry_out(ctx, decision, now)
            except Exception as error:
                logger.exception(
                    "pool decision failed",
                    extra={"action": decision.action, "pool_number": mask(decision.phone_number)},
                )
                outcome = f"failed: {type(error).__name__}"
        done.append(
            {
                "action": decision.action,
                "phone_number": decision.phone_number,
                "reason": decision.reason,
                "outcome": outcome,
            }
        )
    ctx.store.pool.keep_autoscaler_memory(plan.memory)
    return {
        "dry_run": config.dry_run,
        "decisions": done,
        "figures": plan.figures,
        "expired_sessions_closed": swept,
        "counters_corrected": repaired,
    }


def _carry_out(ctx: Context, decision: Decision, now: float) -> str:
    if decision.action == BUY:
        rate = ctx.settings.default_segments_per_second
        number = pool_numbers.buy(ctx, decision.area_code, rate, decision.country, why=decision.reason)
        return f"bought {mask(number.phone_number)}"
    if decision.action == REACTIVATE:
        return (
            "taken back"
            if pool_numbers.reactivate(ctx, required(decision.phone_number, "phone_number"), now)
            else "skipped: no longer drained"
        )
    if decision.action == DRAIN:
        return (
            "draining"
            if pool_numbers.drain_auto(ctx, required(decision.phone_number, "phone_number"), now)
            else "skipped: no longer active"
        )
    if decision.action == RELEASE:
        released = pool_numbers.release(ctx, required(decision.phone_number, "phone_number"), now)
        return "released" if released else "skipped: no longer draining"
    return "logged"


def repair_counters(ctx: Context, numbers: list[PoolNumber], per_number: Counter, now: float) -> int:
    """Set a number's open-session counter to the count the sweep found, when they differ
    and nothing opened or closed on the number lately (both conditions in the write)."""
    repaired = 0
    for number in numbers:
        if number.status not in HELD:
            continue
        counted, found = number.open_sessions, per_number.get(number.phone_number, 0)
        last_used = number.last_used_at
        if counted == found or (last_used is not None and last_used > now - SETTLED_SECONDS):
            continue
        if ctx.store.pool.correct_open_sessions(number.phone_number, counted, last_used, found):
            logger.warning(
                "open-session counter corrected",
                extra={"pool_number": mask(number.phone_number), "counted": counted, "found": found},
            )
            repaired += 1
    return repaired


def _load_memory(ctx: Context) -> dict:
    try:
        return ctx.store.pool.autoscaler_memory()
    except ValueError:
        logger.warning("autoscaler memory unreadable; starting afresh")
        return {}
