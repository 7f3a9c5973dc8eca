"""Where sessions go, and growing the pool when they cannot go anywhere.

Placement's rules are core/placement.py; this reads the active numbers and
their load for it. A session (or a verification code) that finds no usable
number grows the pool within the call: a number the autoscaler drained is
taken back, else one is bought, under the growth lease and within the limits
(core/pool_policy.grow_choice).
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.adapters.logs import logger, mask
from chalicelib.core import phone_numbers, placement
from chalicelib.core.errors import pool_exhausted
from chalicelib.core.pool_policy import REACTIVATE, REFUSE, Decision, grow_choice, required
from chalicelib.store.pool import ACTIVE, HELD, PoolNumber
from chalicelib.usecases import growth_lease, pool_numbers
from chalicelib.usecases.context import Context


def candidates(now: float, numbers: list[PoolNumber]) -> list[placement.Candidate]:
    """Every active number, with the load placement weighs."""
    return [
        placement.Candidate(
            phone_number=n.phone_number,
            country=n.country or "",
            area_code=n.area_code or "",
            segments_per_second=n.segments_per_second,
            open_sessions=n.open_sessions,
            backlog_seconds=max(0.0, n.limiter_tat - now),
        )
        for n in numbers
        if n.status == ACTIVE and not n.held_back  # held back: a pool/account fault
    ]


def rank_for_session(
    ctx: Context,
    now: float,
    *,
    taken: set[str],
    number: phone_numbers.ParsedNumber,
    sticky: str | None,
    numbers: list[PoolNumber] | None = None,
) -> list[str]:
    """The usable numbers for a new session of the user on `number`, best first."""
    return placement.rank(
        candidates(now, pool_numbers.all_numbers(ctx) if numbers is None else numbers),
        taken=taken,
        country=number.country,
        area_code=number.area_code,
        sticky=sticky,
        target_wait=ctx.settings.pool.policy.target_wait_seconds,
    )


def pick_for_notice(ctx: Context, number: phone_numbers.ParsedNumber) -> str:
    """A number to send a one-off notice (a verification code) from. With none usable
    (a fresh deployment's empty pool) the pool grows as it does for a session: same
    path, limits and budget, within the call."""
    ranked = rank_for_session(ctx, ctx.now(), taken=set(), number=number, sticky=None)
    if ranked:
        return ranked[0]
    logger.info("no usable number for a notice; growing the pool", extra={"phone": mask(number.e164)})
    return grow_for_session(ctx, number, exclude=set(), claim=lambda phone: True)


def grow_for_session(
    ctx: Context, user_number: phone_numbers.ParsedNumber, exclude: set[str], claim: Callable[[str], bool]
) -> str:
    """A session of this user cannot be placed on any number outside `exclude`: take
    back a drained number or buy one, within the limits (else 503 pool_exhausted saying
    which limit), and `claim(number)` the session's route on it, all under the growth
    lease, so a racing open never takes the number this one grew the pool by."""
    exclude = set(exclude)
    with growth_lease.held(ctx):
        now = ctx.now()
        numbers = pool_numbers.all_numbers(ctx)
        # Another call may have grown the pool while this one waited for the lease.
        for phone in rank_for_session(ctx, now, taken=exclude, number=user_number, sticky=None, numbers=numbers):
            if claim(phone):
                return phone
            exclude.add(phone)
        held = [n for n in numbers if n.status in HELD]
        exclude |= {n.phone_number for n in held if n.held_back}  # no new sessions until reactivated
        choice = grow_choice(
            [pool_numbers.number_state(n, now) for n in held],
            exclude=exclude,
            country=user_number.country,
            area_code=user_number.area_code,
            policy=ctx.settings.pool.policy,
            rentals_this_month=pool_numbers.rentals_this_month(numbers, now),
        )
        log_decision(choice, dry_run=False, on_demand=True)
        if choice.action == REFUSE:
            raise pool_exhausted(choice.reason)
        if choice.action == REACTIVATE:
            phone = required(choice.phone_number, "phone_number")
            if not pool_numbers.reactivate(ctx, phone, now):
                raise pool_exhausted("the pool changed while growing; retry")
        else:
            rate = ctx.settings.default_segments_per_second
            bought = pool_numbers.buy_at_twilio(
                ctx, required(choice.country, "country"), choice.area_code, rate, "session could not be placed"
            )
            phone = bought.phone_number
        if not claim(phone):
            raise pool_exhausted("the pool changed while growing; retry")
        return phone


def log_decision(decision: Decision, *, dry_run: bool, on_demand: bool = False, figures: dict | None = None) -> None:
    logger.info(
        "pool decision",
        extra={
            "action": decision.action,
            "reason": decision.reason,
            "pool_number": mask(decision.phone_number) if decision.phone_number else None,
            "area_code": decision.area_code,
            "dry_run": dry_run,
            "on_demand": on_demand,
            **({"figures": figures} if figures else {}),
        },
    )
