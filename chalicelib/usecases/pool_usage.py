"""What the pool's numbers did and cost: per-day usage counters (per number and day, in
the pool store) and the report GET /numbers/stats serves (core/billing.py does the
arithmetic).

Sent SMS are counted by the sender in the limiter's write that charges the send,
as cumulative counters on the number (PoolNumber.segments_out/messages_out);
the scheduled run adds what they moved since its last run to the day's item
(fold_sent), so the sender writes nothing of its own to count. Received SMS ride
on the event they cause to the delivery consumer, which adds a batch's to the
day's counters, each once under its event's id whatever the retries (one write for
the batch, none on the webhook's path)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chalicelib.adapters.logs import logger, mask
from chalicelib.core import billing
from chalicelib.core.errors import bad_request
from chalicelib.store.pool import DailyUsage, PoolNumber, Received
from chalicelib.usecases import phone_lookup, pool_numbers
from chalicelib.usecases.context import Context

MAX_REPORT_DAYS = 92


def today(now: float) -> date:
    return datetime.fromtimestamp(now, tz=UTC).date()


def uncount_sent(ctx: Context, phone_number: str, segments: int, messages: int = 1) -> None:
    """Take back sends the limiter counted that did not go (Twilio refused them, 429 or a
    final 4xx; or slots booked ahead that were not used)."""
    try:
        ctx.store.pool.uncount_sent(phone_number, max(1, int(segments or 1)), messages)
    except Exception:
        logger.exception("sent counter not taken back", extra={"pool_number": mask(phone_number)})


def unfolded_sent(ctx: Context, numbers: list[PoolNumber]) -> dict[str, tuple[int, int]]:
    """Per number, (segments, messages) sent that no day has yet."""
    marks = ctx.store.pool.folded()
    pending = {}
    for number in numbers:
        folded = marks.get(number.phone_number, (0, 0))
        segments, count = number.segments_out - folded[0], number.messages_out - folded[1]
        if segments or count:
            pending[number.phone_number] = (segments, count)
    return pending


def fold_sent(ctx: Context, numbers: list[PoolNumber], now: float) -> int:
    """Add what each number sent since the last fold (its cumulative counters less the
    mark kept of the last fold) to today's usage, moving the mark in the same write: a
    fold that fails or runs twice counts nothing twice. Sends in the minute before
    midnight may land on the next day. Returns the numbers folded."""
    marks = ctx.store.pool.folded()
    day = today(now)
    folded = 0
    for number in numbers:
        totals = (number.segments_out, number.messages_out)
        before = marks.get(number.phone_number)
        if totals == (before or (0, 0)):
            continue
        try:
            folded += ctx.store.pool.fold(number.phone_number, day, before, totals)
        except Exception:
            logger.exception(
                "sent usage not folded; the next run tries again", extra={"pool_number": mask(number.phone_number)}
            )
    return folded


def count_received(ctx: Context, received: list[Received]) -> None:
    """SMS (and MMS) Twilio delivered to pool numbers, each counted once under its key (the
    delivery consumer counts a batch's at once, from its events; the inbound webhook counts
    a HELP). An MMS is one message and no segment. Raises when the count was not written:
    the caller keeps what it counts for a retry."""
    if received:
        now = ctx.now()
        ctx.store.pool.count_received(today(now), received, now)


def count_mms_sent(ctx: Context, phone_number: str, now: float) -> None:
    """One of the messages the sender counted was an MMS (billed per message, not segment)."""
    try:
        ctx.store.pool.count_mms_sent(phone_number, today(now))
    except Exception:
        # A counter must never fail the send it counts.
        logger.exception("usage counter not updated", extra={"pool_number": mask(phone_number)})


def usage_for_day(ctx: Context, day: date) -> dict[str, DailyUsage]:
    return ctx.store.pool.usage(day)


def stats(ctx: Context, query: dict) -> dict:
    """GET /numbers/stats?from=YYYY-MM-DD&to=YYYY-MM-DD (default: this month so far)."""
    now = ctx.now()
    first, last = _period(query, today(now))
    numbers = pool_numbers.all_numbers(ctx)
    config = ctx.settings.pool
    usage: dict[str, dict[str, float]] = {}

    def totals_of(phone: str) -> dict[str, float]:
        fields = ("segments_out", "segments_in", "messages_out", "messages_in", "mms_out", "mms_in")
        return usage.setdefault(phone, dict.fromkeys(fields, 0))

    for day in billing.days(first, last):
        for phone, item in usage_for_day(ctx, day).items():
            totals = totals_of(phone)
            for field in totals:
                totals[field] += getattr(item, field)
    if first <= today(now) <= last:
        # What was sent since the scheduled run last folded the counters belongs to today.
        for phone, (segments_out, messages_out) in unfolded_sent(ctx, numbers).items():
            totals = totals_of(phone)
            totals["segments_out"] += segments_out
            totals["messages_out"] += messages_out
    start = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    end = datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp() + billing.DAY
    return billing.report(
        numbers=[
            {
                "phone_number": n.phone_number,
                "status": pool_numbers.describe(n)["status"],
                "area_code": n.area_code,
                "bought_at": n.bought_at or n.created_at,
                "released_at": n.released_at,
            }
            for n in numbers
        ],
        usage=usage,
        rentals=pool_numbers.rentals(numbers),
        start=start,
        end=end,
        prices=config.prices,
        monthly_budget_usd=config.policy.monthly_budget_usd,
        this_month_rentals=pool_numbers.rentals_this_month(numbers, now),
        lookups=phone_lookup.lookups_between(ctx, first, last),
    ) | {"period": {"from": first.isoformat(), "to": last.isoformat()}}


def _period(query: dict, today: date) -> tuple[date, date]:
    def parse(name: str, default: date) -> date:
        raw = query.get(name)
        if raw is None:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise bad_request("invalid_period", f"{name} must be a date, YYYY-MM-DD") from None

    first = parse("from", today.replace(day=1))
    last = parse("to", today)
    if last < first:
        raise bad_request("invalid_period", "'to' must not be before 'from'")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise bad_request("invalid_period", f"a report covers at most {MAX_REPORT_DAYS} days; ask for a shorter period")
    return first, last
