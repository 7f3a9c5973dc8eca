"""The pool's numbers and their lifecycle at Twilio: adopt, buy, record,
drain, take back, release; the list the API shows.

Lifecycle of a number: active (takes new sessions) -> draining (keeps its
sessions, takes no new ones; the autoscaler may take it back) -> releasing
(Twilio DELETE under way) -> released (kept as a record of what was rented).
Buying happens under the growth lease (usecases/growth_lease.py) and within the
size and budget limits (core/pool_policy.limit_refusal). Where numbers are
placed and grown on demand is usecases/pool_growth.py; the scheduled run is
usecases/autoscale.py; docs/pool.md describes the policy.
"""

from __future__ import annotations

import dataclasses

from chalicelib.adapters.logs import logger, mask
from chalicelib.adapters.twilio import TwilioError
from chalicelib.core import billing, phone_numbers
from chalicelib.core.errors import bad_request, not_found, pool_exhausted
from chalicelib.core.pool_policy import AUTO, REQUESTED, NumberState, limit_refusal, required
from chalicelib.store.pool import ACTIVE, DRAINING, HELD, RELEASED, RELEASING, DailyUsage, PoolNumber
from chalicelib.usecases import growth_lease, messaging_service
from chalicelib.usecases.context import Context

MAX_SEGMENTS_PER_SECOND = 1000
MIN_SEGMENTS_PER_SECOND = 0.001
OFFERS_PER_SEARCH = 5


def all_numbers(ctx: Context) -> list[PoolNumber]:
    """Every number the pool ever had, released ones included."""
    return ctx.store.pool.numbers()


def held_count(numbers: list[PoolNumber]) -> int:
    return sum(1 for n in numbers if n.status in HELD)


def describe(number: PoolNumber) -> dict:
    return {
        "phone_number": number.phone_number,
        # 'releasing' is a moment of 'draining' as far as callers are concerned.
        "status": DRAINING if number.status == RELEASING else number.status,
        "open_sessions": number.open_sessions,
        "segments_per_second": number.segments_per_second,
        **({"held_back": number.held_back} if number.held_back else {}),
    }


def list_numbers(ctx: Context) -> dict:
    return {"numbers": [describe(n) for n in all_numbers(ctx)]}


# --- adding numbers -----------------------------------------------------------


def add(ctx: Context, body: dict) -> dict:
    """POST /numbers: adopt {"phone_number"} the account owns, or buy one {"area_code"?, "country"?}."""
    rate = body.get("segments_per_second", ctx.settings.default_segments_per_second)
    # A floor, not just above 0: DynamoDB cannot store a number below 1e-130 (5e-324 was a 500).
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not MIN_SEGMENTS_PER_SECOND <= rate <= MAX_SEGMENTS_PER_SECOND
    ):
        raise bad_request(
            "invalid_segments_per_second",
            f"segments_per_second must be a number from {MIN_SEGMENTS_PER_SECOND} to {MAX_SEGMENTS_PER_SECOND}",
        )
    if "phone_number" in body:
        return describe(adopt(ctx, body["phone_number"], rate))
    area_code = body.get("area_code")
    if area_code is not None and not (isinstance(area_code, str) and area_code.isdigit() and 2 <= len(area_code) <= 5):
        raise bad_request("invalid_area_code", 'area_code must be a string of digits, e.g. "415"')
    country = body.get("country", ctx.settings.default_country)
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise bad_request("invalid_country", 'country must be an ISO 3166 alpha-2 code, e.g. "US"')
    return describe(buy(ctx, area_code, rate, country.upper()))


def adopt(ctx: Context, raw_phone: object, rate: float) -> PoolNumber:
    number = phone_numbers.parse(raw_phone, ctx.settings.default_country, field="phone_number")
    existing = ctx.store.pool.number(number.e164)
    if existing is None or existing.status not in HELD:
        # An adopted number is already rented, so only the size limit applies.
        held = held_count(all_numbers(ctx))
        policy = ctx.settings.pool.policy
        if held >= policy.max_size:
            raise pool_exhausted(required(limit_refusal(held, 0, policy), "refusal"))
    owned = ctx.twilio.find_owned_number(number.e164)
    if owned is None:
        raise bad_request(
            "number_not_owned",
            f'the Twilio account does not own {number.e164}; buy it in Twilio first, or POST {{"area_code"}} to buy one',
        )
    ctx.twilio.point_number_at(owned.sid, **_webhook_urls(ctx))
    messaging_service.join(ctx, owned.sid, number.e164)  # before the number is used
    return record(ctx, number, owned.sid, rate, owned.mms)


def buy(
    ctx: Context, area_code: str | None, rate: float, country: str | None = None, why: str = "requested"
) -> PoolNumber:
    """Buy a number within the size and budget limits: in the area code first, else
    anywhere in the country. Raises pool_exhausted saying which limit, or why not."""
    country = country or ctx.settings.default_country
    with growth_lease.held(ctx):
        numbers = all_numbers(ctx)
        refusal = limit_refusal(held_count(numbers), rentals_this_month(numbers, ctx.now()), ctx.settings.pool.policy)
        if refusal:
            logger.info("pool decision", extra={"action": "refuse", "reason": refusal, "why": why})
            raise pool_exhausted(refusal)
        return buy_at_twilio(ctx, country, area_code, rate, why)


def buy_at_twilio(ctx: Context, country: str, area_code: str | None, rate: float, why: str) -> PoolNumber:
    """Search and buy (the caller holds the growth lease and checked the limits)."""
    searches: list[tuple[str, str | None]] = []
    if area_code and country in ("US", "CA"):  # Twilio's AreaCode filter is North American only
        searches.append((country, area_code))
    searches.append((country, None))
    default_country = ctx.settings.default_country
    if country != default_country:
        searches.append((default_country, None))
    tried = set()
    held_back = [n.held_back for n in all_numbers(ctx) if n.held_back and n.status in HELD]
    for search_country, search_area in searches:
        messaging_service.require_campaign_for(ctx, search_country, held_back)
        try:
            offered = ctx.twilio.search_local(search_country, search_area, limit=OFFERS_PER_SEARCH)
        except TwilioError as error:
            raise pool_exhausted(f"could not search Twilio for a number ({error}); retry later") from None
        for phone in offered:
            if phone in tried:
                continue
            tried.add(phone)
            try:
                owned = ctx.twilio.buy(phone, **_webhook_urls(ctx))
            except TwilioError as error:
                if error.status == 400:
                    continue  # bought by someone else since the search: try the next offer
                raise pool_exhausted(f"could not buy a number at Twilio ({error}); retry later") from None
            _join_bought(ctx, owned)
            number = record(ctx, phone_numbers.parse(owned.phone_number, default_country), owned.sid, rate, owned.mms)
            logger.info(
                "pool number bought",
                extra={
                    "pool_number": mask(owned.phone_number),
                    "wanted": f"{country} {area_code or 'any area code'}",
                    "got_area_code": number.area_code,
                    "reason": why,
                },
            )
            return number
        if search_area:
            logger.info(
                "no number in the area code; searching the whole country",
                extra={"country": search_country, "area_code": search_area},
            )
    where = f"{country} area code {area_code} or any other" if area_code else country
    raise pool_exhausted(f"Twilio offers no local number in {where}; try another country or area code")


def _join_bought(ctx: Context, owned) -> None:
    """A bought number joins the service, or goes straight back to Twilio."""
    try:
        messaging_service.join(ctx, owned.sid, owned.phone_number)
    except Exception:
        try:
            ctx.twilio.release(owned.sid)
        except TwilioError:
            logger.exception(
                "a bought number that could not join the service was not released: release it in the Twilio Console",
                extra={"pool_number": mask(owned.phone_number)},
            )
        raise


def record(
    ctx: Context, number: phone_numbers.ParsedNumber, sid: str, rate: float, mms: bool | None = None
) -> PoolNumber:
    now = int(ctx.now())
    existing = ctx.store.pool.number(number.e164)
    item = existing or PoolNumber(number.e164, rate, created_at=now)
    if existing is None or existing.status == RELEASED:
        # Twilio bills from here (for an adopted number: an estimate).
        item = dataclasses.replace(item, bought_at=now, released_at=None)
    item = dataclasses.replace(
        item,
        twilio_sid=sid,
        status=ACTIVE,
        changed_at=now,
        drain_reason=None,
        country=number.country,
        area_code=number.area_code,
        segments_per_second=rate,
        mms=mms,
    )
    ctx.store.pool.record(item)
    logger.info("pool number added", extra={"pool_number": mask(number.e164)})
    return item


def _webhook_urls(ctx: Context) -> dict:
    config = ctx.settings
    return {"sms_url": config.webhook_url("/twilio/sms"), "status_callback": config.webhook_url("/twilio/status")}


def reactivate(ctx: Context, phone: str, now: float) -> bool:
    """Take back a number the autoscaler drained (it is still rented)."""
    taken_back = ctx.store.pool.take_back(phone, int(now))
    if taken_back:
        logger.info("pool number taken back", extra={"pool_number": mask(phone)})
    return taken_back


def clear_hold(ctx: Context, raw_phone: str) -> dict:
    """POST /numbers/{n}/reactivate: an operator fixed what held the number back (a
    pool/account fault, usecases/carrier_outcomes.py); it takes new sessions again."""
    number = get(ctx, raw_phone)
    if number.held_back and ctx.store.pool.clear_hold(number.phone_number):
        logger.info("pool number reactivated by an operator", extra={"pool_number": mask(number.phone_number)})
        number = dataclasses.replace(number, held_back=None, held_at=None)
    return describe(number)


# --- draining and releasing ---------------------------------------------------------


def drain(ctx: Context, raw_phone: str) -> dict:
    """DELETE /numbers/{n}: no new sessions; released once empty (never taken back)."""
    number = get(ctx, raw_phone)
    if number.status in (ACTIVE, DRAINING):
        drained = ctx.store.pool.drain(number, REQUESTED, int(ctx.now()))
        if drained is not None:
            logger.info("pool number draining", extra={"pool_number": mask(number.phone_number), "reason": "requested"})
            number = drained
    return describe(number)


def drain_auto(ctx: Context, phone: str, now: float) -> bool:
    """The autoscaler drains a surplus number (it may take it back later)."""
    return ctx.store.pool.drain_auto(phone, AUTO, int(now))


def release(ctx: Context, phone: str, now: float) -> bool:
    """Give a drained number back to Twilio (DELETE) and keep its record."""
    item = ctx.store.pool.number(phone)
    if item is None or item.status not in (DRAINING, RELEASING):
        return False
    if item.status == DRAINING and not ctx.store.pool.start_release(phone):
        return False  # taken back meanwhile
    if item.twilio_sid:
        try:
            messaging_service.leave(ctx, item.twilio_sid, phone)
            ctx.twilio.release(item.twilio_sid)
        except TwilioError as error:
            if error.status != 404:
                ctx.store.pool.undo_release(phone)
                raise
            logger.warning(
                "Twilio no longer has the number (404); recording it released", extra={"pool_number": mask(phone)}
            )
    else:
        logger.warning(
            "pool number has no Twilio sid; marked released without a DELETE", extra={"pool_number": mask(phone)}
        )
    ctx.store.pool.released(phone, int(now))
    logger.info("pool number released", extra={"pool_number": mask(phone)})
    return True


def get(ctx: Context, raw_phone: str) -> PoolNumber:
    e164 = phone_numbers.parse(raw_phone, ctx.settings.default_country, field="phone_number").e164
    number = ctx.store.pool.number(e164)
    if number is None:
        raise not_found("number", e164)
    return number


def adjust_open_sessions(ctx: Context, phone_number: str, delta: int, now: float) -> None:
    ctx.store.pool.adjust_open_sessions(phone_number, delta, int(now))


def rentals(numbers: list[PoolNumber]) -> list[billing.Rental]:
    return [
        billing.Rental(n.phone_number, float(n.bought_at or n.created_at), n.released_at)
        for n in numbers
        if n.status in HELD or n.released_at is not None
    ]


def rentals_this_month(numbers: list[PoolNumber], now: float) -> int:
    return billing.projected_rentals_this_month(rentals(numbers), now)


def number_state(
    number: PoolNumber, now: float, usage: DailyUsage | None = None, open_sessions: int | None = None
) -> NumberState:
    """A held number as the pool policy sees it ('releasing' counts as draining)."""
    tat = number.limiter_tat
    return NumberState(
        phone_number=number.phone_number,
        status=DRAINING if number.status == RELEASING else number.status,
        segments_per_second=float(number.segments_per_second),
        country=number.country or "",
        area_code=number.area_code or "",
        open_sessions=number.open_sessions if open_sessions is None else open_sessions,
        backlog_seconds=max(0.0, tat - now),
        segments_sent=float(usage.segments_out) if usage else 0.0,
        messages_sent=float(usage.messages_out) if usage else 0.0,
        last_activity=max(float(number.last_used_at or 0), tat),
        changed_at=float(number.changed_at or number.created_at),
        drain_reason=number.drain_reason if number.status != RELEASING else REQUESTED,
        bought_at=float(number.bought_at or number.created_at),
    )
