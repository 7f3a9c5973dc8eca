"""What the pool costs at Twilio: rental arithmetic and the usage report, pure.

Twilio bills a number's full monthly price up front when it is bought and
again on the same day of every following month until it is released; there is
no proration (https://support.twilio.com/hc/en-us/articles/223182908). A day
that a month lacks (the 31st) bills on its last day. Messages bill per segment,
in and out. Prices come from configuration (config.load().pool), so every
figure here is an estimate; carrier fees are not included.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

DAY = 86400
# Twilio Lookup v2's list price per request of each data package (USD; the free basic lookup
# carries them), https://www.twilio.com/en-us/user-authentication-identity/pricing/lookup as of
# 2025-26: Line Type Intelligence $0.008, SMS Pumping Risk $0.025.
LOOKUP_PRICES_USD = (("line_type_intelligence", 0.008), ("sms_pumping_risk", 0.025))


@dataclass(frozen=True)
class Prices:
    """Twilio's prices the report estimates with (USD)."""

    number_month_usd: float  # a local number, per month (the pool policy's own figure)
    segment_out_usd: float = 0.0083
    segment_in_usd: float = 0.0083
    # An MMS is billed per message, not per segment (Twilio's US list price).
    mms_out_usd: float = 0.0200
    mms_in_usd: float = 0.0200
    # (Lookup data package, USD per request): a hook-up's lookup costs the packages it asks for.
    lookup_usd: tuple[tuple[str, float], ...] = LOOKUP_PRICES_USD


@dataclass(frozen=True)
class Rental:
    """One number's tenure: bought (or adopted) at, released at (None: still held)."""

    phone_number: str
    bought_at: float
    released_at: float | None = None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; a day the month lacks becomes its last."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def bill_times(bought_at: float, until: float) -> list[float]:
    """Every moment Twilio bills the number, from purchase up to (not including) `until`."""
    start = _utc(bought_at)
    times: list[float] = []
    months = 0
    while True:
        moment = add_months(start, months).timestamp()
        if moment >= until:
            return times
        times.append(moment)
        months += 1


def next_bill(bought_at: float, now: float) -> float:
    """When Twilio next bills a number bought at `bought_at` (after `now`)."""
    start, months = _utc(bought_at), 1
    while True:
        moment = add_months(start, months).timestamp()
        if moment > now:
            return moment
        months += 1


def month_bounds(epoch: float) -> tuple[float, float]:
    moment = _utc(epoch)
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first.timestamp(), add_months(first, 1).timestamp()


def month_key(epoch: float) -> str:
    return _utc(epoch).strftime("%Y-%m")


def rentals_in_month(rentals: list[Rental], month_start: float, month_end: float) -> int:
    """Number-months Twilio bills in the month [month_start, month_end), numbers
    still held counted as held to the month's end."""
    count = 0
    for rental in rentals:
        end = month_end if rental.released_at is None else min(rental.released_at, month_end)
        count += sum(1 for moment in bill_times(rental.bought_at, end) if moment >= month_start)
    return count


def projected_rentals_this_month(rentals: list[Rental], now: float) -> int:
    """This calendar month's rental bill, in number-months, if the pool stays as it is."""
    start, end = month_bounds(now)
    return rentals_in_month(rentals, start, end)


def rentals_by_month(rentals: list[Rental], start: float, end: float) -> dict[str, int]:
    """Bills per calendar month ('YYYY-MM') that fall in [start, end)."""
    found: dict[str, int] = {}
    month = month_bounds(start)[0]
    while month < end:
        found[month_key(month)] = 0
        month = month_bounds(month)[1]
    for rental in rentals:
        stop = min(end, rental.released_at if rental.released_at is not None else end)
        for moment in bill_times(rental.bought_at, stop):
            if moment >= start:
                found[month_key(moment)] = found.get(month_key(moment), 0) + 1
    return found


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def report(
    *,
    numbers: list[dict[str, Any]],
    usage: dict[str, dict[str, Any]],
    rentals: list[Rental],
    start: float,
    end: float,
    prices: Prices,
    monthly_budget_usd: float | None,
    this_month_rentals: int,
    lookups: dict[str, int] | None = None,
) -> dict[str, Any]:
    """GET /numbers/stats: numbers by state, rentals per month, segments per number, the
    hook-ups' lookups (requests per data package) and the estimated Twilio cost over [start, end)."""
    by_state = Counter(n["status"] for n in numbers)
    rows = _number_rows(numbers, usage, rentals, start, end, prices)
    monthly = rentals_by_month(rentals, start, end)
    rented = sum(monthly.values())
    segments_out = sum(row["segments_sent"] for row in rows)
    segments_in = sum(row["segments_received"] for row in rows)
    mms_out, mms_in = sum(row["mms_sent"] for row in rows), sum(row["mms_received"] for row in rows)
    cost = {
        "rentals": _usd(rented * prices.number_month_usd),
        "segments_sent": _usd(segments_out * prices.segment_out_usd),
        "segments_received": _usd(segments_in * prices.segment_in_usd),
        "mms_sent": _usd(mms_out * prices.mms_out_usd),
        "mms_received": _usd(mms_in * prices.mms_in_usd),
        "lookups": _usd(sum(n * dict(prices.lookup_usd).get(field, 0.0) for field, n in (lookups or {}).items())),
    }
    cost["total"] = _usd(sum(cost.values()))
    return {
        "numbers_by_state": {state: by_state.get(state, 0) for state in ("active", "draining", "released")},
        "rentals_by_month": [
            {"month": month, "rentals": count, "cost_usd": _usd(count * prices.number_month_usd)}
            for month, count in sorted(monthly.items())
        ],
        "numbers": rows,
        "totals": {
            "segments_sent": segments_out,
            "segments_received": segments_in,
            "messages_sent": sum(row["messages_sent"] for row in rows),
            "messages_received": sum(row["messages_received"] for row in rows),
            "mms_sent": mms_out,
            "mms_received": mms_in,
            "lookups": {field: (lookups or {}).get(field, 0) for field, _ in prices.lookup_usd},
        },
        "estimated_cost_usd": cost,
        "prices": _prices(prices),
        "this_month": {
            "rentals": this_month_rentals,
            "rental_usd": _usd(this_month_rentals * prices.number_month_usd),
            "monthly_budget_usd": monthly_budget_usd,
        },
    }


def _prices(prices: Prices) -> dict[str, Any]:
    return {
        "number_month_usd": prices.number_month_usd,
        "segment_out_usd": prices.segment_out_usd,
        "segment_in_usd": prices.segment_in_usd,
        "mms_out_usd": prices.mms_out_usd,
        "mms_in_usd": prices.mms_in_usd,
        "lookup_usd": dict(prices.lookup_usd),
    }


def _number_rows(
    numbers: list[dict[str, Any]],
    usage: dict[str, dict[str, Any]],
    rentals: list[Rental],
    start: float,
    end: float,
    prices: Prices,
) -> list[dict[str, Any]]:
    """One row per number held in [start, end): its rentals, usage and estimated cost."""
    rentals_by_phone = {r.phone_number: r for r in rentals}
    rows = []
    for number in numbers:
        phone = number["phone_number"]
        used = usage.get(phone, {})
        rental = rentals_by_phone.get(phone)
        months = sum(rentals_by_month([rental], start, end).values()) if rental else 0
        if not used and not months and number["status"] == "released" and (number["released_at"] or 0) < start:
            continue  # gone before the period
        mms_out, mms_in = int(used.get("mms_out", 0)), int(used.get("mms_in", 0))
        # Each MMS was also counted as one message of one segment: the segments are the SMS'.
        segments_out = max(0, int(used.get("segments_out", 0)) - mms_out)
        segments_in = max(0, int(used.get("segments_in", 0)) - mms_in)
        rows.append(
            {
                "phone_number": phone,
                "status": number["status"],
                "area_code": number.get("area_code"),
                "rentals": months,
                "segments_sent": segments_out,
                "segments_received": segments_in,
                "messages_sent": int(used.get("messages_out", 0)),
                "messages_received": int(used.get("messages_in", 0)),
                "mms_sent": mms_out,
                "mms_received": mms_in,
                "estimated_cost_usd": _usd(
                    months * prices.number_month_usd
                    + segments_out * prices.segment_out_usd
                    + segments_in * prices.segment_in_usd
                    + mms_out * prices.mms_out_usd
                    + mms_in * prices.mms_in_usd
                ),
            }
        )
    return rows


def _usd(value: float) -> float:
    return round(value + 0.0, 4)
