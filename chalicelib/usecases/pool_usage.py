"""What the pool's numbers did and cost: per-day usage counters (a DailyUsage
item per number and day) and the report GET /numbers/stats serves
(core/billing.py does the arithmetic).

Sent SMS are counted by the sender in the limiter's write that charges the send,
as cumulative counters on the number (PoolNumber.segments_out/messages_out);
the scheduled run adds what they moved since its last run to the day's item
(fold_sent), so the sender writes nothing of its own to count. Received SMS ride
on the event they cause to the delivery consumer, which adds a batch's to the
day's items (one write per number and batch, none on the webhook's path)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chalicelib.adapters.logs import logger, mask
from chalicelib.config import pool_settings
from chalicelib.core import billing
from chalicelib.core.errors import bad_request
from chalicelib.store.conditional import update_if, update_together
from chalicelib.store.models import POOL, USAGE_COUNTED, USAGE_PREFIX, DailyUsage, PoolNumber
from chalicelib.usecases import pool_numbers
from chalicelib.usecases.context import Context

MAX_REPORT_DAYS = 92


def usage_key(day: date) -> str:
    return USAGE_PREFIX + day.isoformat()


def today(now: float) -> date:
    return datetime.fromtimestamp(now, tz=UTC).date()


def uncount_sent(phone_number: str, segments: int, messages: int = 1) -> None:
    """Take back sends the limiter counted that did not go (Twilio refused them, 429 or a
    final 4xx; or slots booked ahead that were not used)."""
    try:
        update_if(
            PoolNumber(POOL, phone_number),
            [PoolNumber.segments_out.add(-max(1, int(segments or 1))), PoolNumber.messages_out.add(-messages)],
            PoolNumber.phone_number.exists(),
        )
    except Exception:
        logger.exception("sent counter not taken back", extra={"pool_number": mask(phone_number)})


def unfolded_sent(numbers: list[PoolNumber]) -> dict[str, tuple[int, int]]:
    """Per number, (segments, messages) sent that no day has yet."""
    marks = {item.phone_number: item for item in DailyUsage.query(USAGE_COUNTED)}
    pending = {}
    for number in numbers:
        mark = marks.get(number.phone_number)
        segments = int(number.segments_out or 0) - int(mark.segments_out or 0 if mark else 0)
        count = int(number.messages_out or 0) - int(mark.messages_out or 0 if mark else 0)
        if segments or count:
            pending[number.phone_number] = (segments, count)
    return pending


def fold_sent(numbers: list[PoolNumber], now: float) -> int:
    """Add what each number sent since the last fold (its cumulative counters less the
    mark kept under USAGE_COUNTED) to today's DailyUsage item, moving the mark in the
    same transaction: a fold that fails or runs twice counts nothing twice. Sends in
    the minute before midnight may land on the next day. Returns the numbers folded."""
    marks = {item.phone_number: item for item in DailyUsage.query(USAGE_COUNTED)}
    day = usage_key(today(now))
    folded = 0
    for number in numbers:
        totals = (int(number.segments_out or 0), int(number.messages_out or 0))
        mark = marks.get(number.phone_number)
        before = (int(mark.segments_out or 0), int(mark.messages_out or 0)) if mark else (0, 0)
        if totals == before:
            continue
        unchanged = (
            DailyUsage.phone_number.does_not_exist()
            if mark is None
            else (DailyUsage.segments_out == before[0]) & (DailyUsage.messages_out == before[1])
        )
        try:
            moved = update_together(
                [
                    (
                        DailyUsage(day, number.phone_number),
                        [
                            DailyUsage.segments_out.add(totals[0] - before[0]),
                            DailyUsage.messages_out.add(totals[1] - before[1]),
                        ],
                        None,
                    ),
                    (
                        DailyUsage(USAGE_COUNTED, number.phone_number),
                        [DailyUsage.segments_out.set(totals[0]), DailyUsage.messages_out.set(totals[1])],
                        unchanged,
                    ),
                ]
            )
        except Exception:
            logger.exception(
                "sent usage not folded; the next run tries again", extra={"pool_number": mask(number.phone_number)}
            )
            continue
        folded += moved
    return folded


def count_received(phone_number: str, segments: int, now: float, messages: int = 1, mms: int = 0) -> None:
    """SMS (and MMS) Twilio delivered to `phone_number` (the delivery consumer counts a
    batch's at once, from its events; the inbound webhook counts a HELP). An MMS is one
    message and no segment."""
    added = [DailyUsage.messages_in.add(messages)]
    if segments:
        added.append(DailyUsage.segments_in.add(int(segments)))
    if mms:
        added.append(DailyUsage.mms_in.add(mms))
    _count(phone_number, added, now)


def count_mms_sent(phone_number: str, now: float) -> None:
    """One of the messages the sender counted was an MMS (billed per message, not segment)."""
    _count(phone_number, [DailyUsage.mms_out.add(1)], now)


def _count(phone_number: str, actions: list, now: float) -> None:
    try:
        DailyUsage(usage_key(today(now)), phone_number).update(actions=actions)
    except Exception:
        # A counter must never fail the send or the webhook it counts.
        logger.exception("usage counter not updated", extra={"pool_number": mask(phone_number)})


def usage_for_day(day: date) -> dict[str, DailyUsage]:
    return {item.phone_number: item for item in DailyUsage.query(usage_key(day))}


def stats(ctx: Context, query: dict) -> dict:
    """GET /numbers/stats?from=YYYY-MM-DD&to=YYYY-MM-DD (default: this month so far)."""
    now = ctx.now()
    first, last = _period(query, today(now))
    numbers = pool_numbers.all_numbers()
    config = pool_settings()
    usage: dict[str, dict[str, float]] = {}

    def totals_of(phone: str) -> dict[str, float]:
        fields = ("segments_out", "segments_in", "messages_out", "messages_in", "mms_out", "mms_in")
        return usage.setdefault(phone, dict.fromkeys(fields, 0))

    for day in billing.days(first, last):
        for phone, item in usage_for_day(day).items():
            totals = totals_of(phone)
            for field in totals:
                totals[field] += int(getattr(item, field) or 0)
    if first <= today(now) <= last:
        # What was sent since the scheduled run last folded the counters belongs to today.
        for phone, (segments_out, messages_out) in unfolded_sent(numbers).items():
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
