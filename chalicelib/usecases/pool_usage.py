"""What the pool's numbers did and cost: per-day usage counters (ADD on a
DailyUsage item per number and day) and the report GET /numbers/stats serves
(core/billing.py does the arithmetic)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from chalicelib.adapters.logs import logger, mask
from chalicelib.config import pool_settings
from chalicelib.core import billing
from chalicelib.core.errors import bad_request
from chalicelib.store.models import USAGE_PREFIX, DailyUsage
from chalicelib.usecases import pool_numbers
from chalicelib.usecases.context import Context

MAX_REPORT_DAYS = 92


def usage_key(day: date) -> str:
    return USAGE_PREFIX + day.isoformat()


def today(now: float) -> date:
    return datetime.fromtimestamp(now, tz=timezone.utc).date()


def count_sent(phone_number: str, segments: int, messages: int, now: float) -> None:
    """SMS Twilio accepted from `phone_number` (the sender calls this once per
    number and batch, so counting costs no write per message)."""
    added = [DailyUsage.segments_out.add(max(1, int(segments or 1))), DailyUsage.messages_out.add(messages)]
    _count(phone_number, added, now)


def count_received(phone_number: str, segments: int, now: float, mms: bool = False) -> None:
    """One SMS (or MMS) Twilio delivered to `phone_number` (the inbound webhook calls this)."""
    added = [DailyUsage.segments_in.add(1 if mms else max(1, int(segments or 1))), DailyUsage.messages_in.add(1)]
    _count(phone_number, [*added, DailyUsage.mms_in.add(1)] if mms else added, now)


def count_mms_sent(phone_number: str, now: float) -> None:
    """One of the messages count_sent counts was an MMS (billed per message, not segment)."""
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
    for day in billing.days(first, last):
        for phone, item in usage_for_day(day).items():
            totals = usage.setdefault(
                phone, {"segments_out": 0, "segments_in": 0, "messages_out": 0, "messages_in": 0, "mms_out": 0, "mms_in": 0}
            )
            for field in totals:
                totals[field] += int(getattr(item, field) or 0)
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc).timestamp()
    end = datetime(last.year, last.month, last.day, tzinfo=timezone.utc).timestamp() + billing.DAY
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
