"""Twilio Lookup v2 at hook-up (README "Lookup at hook-up"): what kind of line a phone is,
its carrier and its SMS pumping risk, looked up once per TWILIO_LOOKUP_MAX_AGE_SECONDS and
kept with the phone; a phone core/line_types.py refuses answers 400 `invalid_phone` before it
is claimed or texted.

Lookup unreachable (or refusing the request) does not block a hook-up by default: the phone is
taken with its carrier unknown, `LookupFailed` counts it, and nothing is kept, so the next
hook-up looks it up again. TWILIO_LOOKUP_ON_FAILURE=closed answers 503 `lookup_unavailable`
instead (nothing claimed or sent; the caller retries). A package Twilio answered with its
error code only (a Canadian number without Twilio's NPAC data access: 60601) is "could not
tell": `LookupFailed` too; taken when open, refused when closed.

Each lookup Twilio answered is counted per data package and day (`lookups_between`), for the
cost report (GET /numbers/stats, at core/billing.py's prices)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.adapters.logs import logger, mask
from chalicelib.adapters.metrics import LOOKUP_FAILED, LOOKUP_REFUSED
from chalicelib.adapters.twilio_answers import TwilioError
from chalicelib.config import LookupSettings
from chalicelib.core import line_types
from chalicelib.core.errors import BridgeError, bad_request
from chalicelib.core.line_types import LookupFacts
from chalicelib.store.phones import Phone
from chalicelib.usecases.context import Context

# How long a day's lookup counts are kept: beyond any report period (pool_usage.MAX_REPORT_DAYS).
COUNT_RETENTION_SECONDS = 400 * 86400
RETRY_AFTER_SECONDS = 30


def check(ctx: Context, phone: str, kept: Phone | None) -> None:
    """Before the claim and any SMS: raise 400 `invalid_phone` (naming the line type or the
    risk) for a phone Lookup says is no mobile phone, or too risky. `kept`: the Phone as the
    hook-up read it. Nothing happens while TWILIO_LOOKUP_FIELDS is empty."""
    settings = ctx.settings.lookup
    if not settings.fields:
        return
    now = ctx.now()
    if kept is not None and line_types.is_fresh(kept.looked_up_at, now, settings.max_age_seconds):
        facts: LookupFacts | None = LookupFacts(kept.line_type, kept.carrier, kept.pumping_risk)
    else:
        facts = _look_up(ctx, phone, settings, now)
    if facts is None:
        return  # Lookup failed open: taken, the carrier unknown
    untold = line_types.LINE_TYPE_INTELLIGENCE in settings.fields and facts.line_type is None
    if untold and settings.fail_closed:
        _refuse(
            ctx, phone, "no_line_type", "Twilio Lookup could not tell this phone's line type; hook up a mobile phone"
        )
    found = line_types.refusal(facts, admit_voip=settings.admit_voip, max_pumping_risk=settings.max_pumping_risk)
    if found is not None:
        _refuse(ctx, phone, found.reason, found.message)


def _look_up(ctx: Context, phone: str, settings: LookupSettings, now: float) -> LookupFacts | None:
    """Ask Lookup, count its cost and keep its answer; None when it failed open."""
    try:
        facts = ctx.twilio.lookup(phone, settings.fields)
    except TwilioError as error:
        ctx.metrics.twilio_call(error.code or error.status or "unreachable")
        ctx.metrics.count(LOOKUP_FAILED, Reason="unreachable")
        logger.warning("lookup failed", extra={"phone": mask(phone), "error": str(error)})
        if settings.fail_closed:
            raise BridgeError(
                "lookup_unavailable",
                "Twilio Lookup cannot check this phone right now; nothing was sent: retry in a minute",
                503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        return None
    ctx.metrics.twilio_call()
    if line_types.LINE_TYPE_INTELLIGENCE in settings.fields and facts.line_type is None:
        ctx.metrics.count(LOOKUP_FAILED, Reason="no_line_type")
    _count(ctx, settings.fields, now)
    ctx.store.phones.keep_lookup(phone, facts, now)
    logger.info(
        "phone looked up",
        extra={"phone": mask(phone), "line_type": facts.line_type, "carrier": facts.carrier},
    )
    return facts


def _refuse(ctx: Context, phone: str, reason: str, why: str) -> None:
    ctx.metrics.count(LOOKUP_REFUSED, Reason=reason)
    logger.info("hook-up refused on lookup", extra={"phone": mask(phone), "reason": reason})
    raise bad_request("invalid_phone", why)


def _day(moment: float | date) -> str:
    return (moment if isinstance(moment, date) else datetime.fromtimestamp(moment, tz=UTC).date()).isoformat()


def _key(day: str, field: str) -> str:
    return f"lookups#{day}#{field}"


def _count(ctx: Context, fields: tuple[str, ...], now: float) -> None:
    """One request of each package asked for, on today's counts (a count must never fail
    the hook-up it counts)."""
    try:
        for field in fields:
            ctx.store.counters.add(_key(_day(now), field), int(now) + COUNT_RETENTION_SECONDS)
    except Exception:
        logger.exception("lookup not counted")


def lookups_between(ctx: Context, first: date, last: date) -> dict[str, int]:
    """Lookup requests per data package on the days first..last (UTC), for the cost report."""
    days = [_day(first + timedelta(days=n)) for n in range((last - first).days + 1)]
    keys = {_key(day, field): field for day in days for field in line_types.FIELDS}
    totals = dict.fromkeys(line_types.FIELDS, 0)
    for key, count in ctx.store.counters.counts(list(keys)).items():
        totals[keys[key]] += count
    return totals
