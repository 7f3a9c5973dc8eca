"""The pool's numbers and their lifecycle at Twilio: adopt, buy, record,
drain, take back, release; the list the API shows.

Lifecycle of a number: active (takes new sessions) -> draining (keeps its
sessions, takes no new ones; the autoscaler may take it back) -> releasing
(Twilio DELETE under way) -> released (kept as a record of what was rented).
Buying happens under the growth lease (store/growth_lease.py) and within the
size and budget limits (core/pool_policy.limit_refusal). Where numbers are
placed and grown on demand is usecases/pool_growth.py; the scheduled run is
usecases/autoscale.py; docs/pool.md describes the policy.
"""

from __future__ import annotations

from chalicelib.adapters.logs import logger, mask
from chalicelib.adapters.twilio import TwilioError
from chalicelib.config import pool_settings, settings
from chalicelib.core import billing, phone_numbers
from chalicelib.core.errors import bad_request, not_found, pool_exhausted
from chalicelib.core.pool_policy import AUTO, REQUESTED, NumberState, limit_refusal, required
from chalicelib.store import growth_lease
from chalicelib.store.conditional import get_or_none, update_if
from chalicelib.store.models import POOL, DailyUsage, PoolNumber
from chalicelib.usecases import messaging_service
from chalicelib.usecases.context import Context

ACTIVE, DRAINING, RELEASING, RELEASED = "active", "draining", "releasing", "released"
HELD = (ACTIVE, DRAINING, RELEASING)  # rented from Twilio
MAX_SEGMENTS_PER_SECOND = 1000
MIN_SEGMENTS_PER_SECOND = 0.001
OFFERS_PER_SEARCH = 5


def all_numbers() -> list[PoolNumber]:
    """Every number the pool ever had, released ones included."""
    return list(PoolNumber.query(POOL, consistent_read=True))


def held_count(numbers: list[PoolNumber]) -> int:
    return sum(1 for n in numbers if n.status in HELD)


def describe(number: PoolNumber) -> dict:
    return {
        "phone_number": number.phone_number,
        # 'releasing' is a moment of 'draining' as far as callers are concerned.
        "status": DRAINING if number.status == RELEASING else number.status,
        "open_sessions": int(number.open_sessions or 0),
        "segments_per_second": number.segments_per_second,
        **({"held_back": number.held_back} if number.held_back else {}),
    }


def list_numbers() -> dict:
    return {"numbers": [describe(n) for n in all_numbers()]}


# --- adding numbers -----------------------------------------------------------


def add(ctx: Context, body: dict) -> dict:
    """POST /numbers: adopt {"phone_number"} the account owns, or buy one {"area_code"?, "country"?}."""
    rate = body.get("segments_per_second", settings().default_segments_per_second)
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
    country = body.get("country", settings().default_country)
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise bad_request("invalid_country", 'country must be an ISO 3166 alpha-2 code, e.g. "US"')
    return describe(buy(ctx, area_code, rate, country.upper()))


def adopt(ctx: Context, raw_phone: object, rate: float) -> PoolNumber:
    number = phone_numbers.parse(raw_phone, settings().default_country, field="phone_number")
    existing = get_or_none(PoolNumber, POOL, number.e164)
    if existing is None or existing.status not in HELD:
        # An adopted number is already rented, so only the size limit applies.
        held = held_count(all_numbers())
        policy = pool_settings().policy
        if held >= policy.max_size:
            raise pool_exhausted(required(limit_refusal(held, 0, policy), "refusal"))
    owned = ctx.twilio.find_owned_number(number.e164)
    if owned is None:
        raise bad_request(
            "number_not_owned",
            f'the Twilio account does not own {number.e164}; buy it in Twilio first, or POST {{"area_code"}} to buy one',
        )
    ctx.twilio.point_number_at(owned.sid, **_webhook_urls())
    messaging_service.join(ctx, owned.sid, number.e164)  # before the number is used
    return record(ctx, number, owned.sid, rate, owned.mms)


def buy(
    ctx: Context, area_code: str | None, rate: float, country: str | None = None, why: str = "requested"
) -> PoolNumber:
    """Buy a number within the size and budget limits: in the area code first, else
    anywhere in the country. Raises pool_exhausted saying which limit, or why not."""
    country = country or settings().default_country
    with growth_lease.held(ctx.clock):
        numbers = all_numbers()
        refusal = limit_refusal(held_count(numbers), rentals_this_month(numbers, ctx.now()), pool_settings().policy)
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
    default_country = settings().default_country
    if country != default_country:
        searches.append((default_country, None))
    tried = set()
    held_back = [n.held_back for n in all_numbers() if n.held_back and n.status in HELD]
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
                owned = ctx.twilio.buy(phone, **_webhook_urls())
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
    existing = get_or_none(PoolNumber, POOL, number.e164)
    item = existing or PoolNumber(POOL, number.e164, created_at=now, open_sessions=0, limiter_tat=0)
    if existing is None or existing.status == RELEASED:
        item.bought_at = now  # Twilio bills from here (for an adopted number: an estimate)
        item.released_at = None
    item.twilio_sid = sid
    item.status = ACTIVE
    item.changed_at = now
    item.drain_reason = None
    item.country = number.country
    item.area_code = number.area_code
    item.segments_per_second = rate
    item.mms = mms
    item.save()
    logger.info("pool number added", extra={"pool_number": mask(number.e164)})
    return item


def _webhook_urls() -> dict:
    config = settings()
    return {"sms_url": config.webhook_url("/twilio/sms"), "status_callback": config.webhook_url("/twilio/status")}


def reactivate(phone: str, now: float) -> bool:
    """Take back a number the autoscaler drained (it is still rented)."""
    taken_back = update_if(
        PoolNumber(POOL, phone),
        [PoolNumber.status.set(ACTIVE), PoolNumber.changed_at.set(int(now)), PoolNumber.drain_reason.remove()],
        (PoolNumber.status == DRAINING) & (PoolNumber.drain_reason == AUTO),
    )
    if taken_back:
        logger.info("pool number taken back", extra={"pool_number": mask(phone)})
    return taken_back


def clear_hold(raw_phone: str) -> dict:
    """POST /numbers/{n}/reactivate: an operator fixed what held the number back (a
    pool/account fault, usecases/carrier_outcomes.py); it takes new sessions again."""
    number = get(raw_phone)
    if number.held_back and update_if(
        number, [PoolNumber.held_back.remove(), PoolNumber.held_at.remove()], PoolNumber.held_back.exists()
    ):
        logger.info("pool number reactivated by an operator", extra={"pool_number": mask(number.phone_number)})
    return describe(number)


# --- draining and releasing ---------------------------------------------------------


def drain(ctx: Context, raw_phone: str) -> dict:
    """DELETE /numbers/{n}: no new sessions; released once empty (never taken back)."""
    number = get(raw_phone)
    if number.status in (ACTIVE, DRAINING):
        now = int(ctx.now())
        actions = [PoolNumber.status.set(DRAINING), PoolNumber.drain_reason.set(REQUESTED)]
        if number.status == ACTIVE:
            actions.append(PoolNumber.changed_at.set(now))
        if update_if(number, actions, PoolNumber.status.is_in(ACTIVE, DRAINING)):
            logger.info("pool number draining", extra={"pool_number": mask(number.phone_number), "reason": "requested"})
    return describe(number)


def drain_auto(phone: str, now: float) -> bool:
    """The autoscaler drains a surplus number (it may take it back later)."""
    return update_if(
        PoolNumber(POOL, phone),
        [
            PoolNumber.status.set(DRAINING),
            PoolNumber.drain_reason.set(AUTO),
            PoolNumber.changed_at.set(int(now)),
        ],
        PoolNumber.status == ACTIVE,
    )


def release(ctx: Context, phone: str, now: float) -> bool:
    """Give a drained number back to Twilio (DELETE) and keep its record."""
    item = get_or_none(PoolNumber, POOL, phone)
    if item is None or item.status not in (DRAINING, RELEASING):
        return False
    if item.status == DRAINING and not update_if(
        item, [PoolNumber.status.set(RELEASING)], PoolNumber.status == DRAINING
    ):
        return False  # taken back meanwhile
    if item.twilio_sid:
        try:
            messaging_service.leave(ctx, item.twilio_sid, phone)
            ctx.twilio.release(item.twilio_sid)
        except TwilioError as error:
            if error.status != 404:
                update_if(item, [PoolNumber.status.set(DRAINING)], PoolNumber.status == RELEASING)
                raise
            logger.warning(
                "Twilio no longer has the number (404); recording it released", extra={"pool_number": mask(phone)}
            )
    else:
        logger.warning(
            "pool number has no Twilio sid; marked released without a DELETE", extra={"pool_number": mask(phone)}
        )
    item.update(
        actions=[
            PoolNumber.status.set(RELEASED),
            PoolNumber.released_at.set(int(now)),
            PoolNumber.changed_at.set(int(now)),
        ]
    )
    logger.info("pool number released", extra={"pool_number": mask(phone)})
    return True


def get(raw_phone: str) -> PoolNumber:
    e164 = phone_numbers.parse(raw_phone, settings().default_country, field="phone_number").e164
    number = get_or_none(PoolNumber, POOL, e164)
    if number is None:
        raise not_found("number", e164)
    return number


def adjust_open_sessions(phone_number: str, delta: int, now: float) -> None:
    PoolNumber(POOL, phone_number).update(
        actions=[PoolNumber.open_sessions.add(delta), PoolNumber.last_used_at.set(int(now))]
    )


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
    tat = float(number.limiter_tat or 0)
    return NumberState(
        phone_number=number.phone_number,
        status=DRAINING if number.status == RELEASING else number.status,
        segments_per_second=float(number.segments_per_second),
        country=number.country or "",
        area_code=number.area_code or "",
        open_sessions=int(number.open_sessions or 0) if open_sessions is None else open_sessions,
        backlog_seconds=max(0.0, tat - now),
        segments_sent=float(usage.segments_out or 0) if usage else 0.0,
        messages_sent=float(usage.messages_out or 0) if usage else 0.0,
        last_activity=max(float(number.last_used_at or 0), tat),
        changed_at=float(number.changed_at or number.created_at),
        drain_reason=number.drain_reason if number.status != RELEASING else REQUESTED,
        bought_at=float(number.bought_at or number.created_at),
    )
