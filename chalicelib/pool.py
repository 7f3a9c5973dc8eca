"""The pool of Twilio numbers: adopt or buy, list, drain, and the live load
that placement reads."""
from __future__ import annotations

from chalicelib import allocation, clock, phone_numbers, twilio_gateway
from chalicelib.config import settings
from chalicelib.db import get_or_none
from chalicelib.errors import BridgeError, bad_request, not_found
from chalicelib.logs import logger, mask
from chalicelib.models import POOL, PoolNumber

ACTIVE, DRAINING, RELEASED = "active", "draining", "released"
MAX_SEGMENTS_PER_SECOND = 1000
MIN_SEGMENTS_PER_SECOND = 0.001


def pool_exhausted(why: str) -> BridgeError:
    return BridgeError("pool_exhausted", why, 503)


def all_numbers() -> list[PoolNumber]:
    return list(PoolNumber.query(POOL, consistent_read=True))


def candidates(now: float) -> list[allocation.Candidate]:
    """Every active number, with the load placement weighs."""
    return [
        allocation.Candidate(
            phone_number=n.phone_number,
            country=n.country or "",
            area_code=n.area_code or "",
            segments_per_second=n.segments_per_second,
            open_sessions=int(n.open_sessions or 0),
            backlog_seconds=max(0.0, (n.limiter_tat or 0) - now),
        )
        for n in all_numbers()
        if n.status == ACTIVE
    ]


def pick_for_notice(number: phone_numbers.ParsedNumber) -> str:
    """A number to send a one-off notice (a verification code) from."""
    ranked = allocation.rank(
        candidates(clock.now()), taken=set(), country=number.country, area_code=number.area_code, sticky=None
    )
    if not ranked:
        raise pool_exhausted("the pool has no active number to send from; add one with POST /numbers")
    return ranked[0]


def describe(number: PoolNumber) -> dict:
    return {
        "phone_number": number.phone_number,
        "status": number.status,
        "open_sessions": int(number.open_sessions or 0),
        "segments_per_second": number.segments_per_second,
    }


def list_numbers() -> dict:
    return {"numbers": [describe(n) for n in all_numbers()]}


def add(body: dict) -> dict:
    """POST /numbers: adopt {"phone_number"} the account owns, or buy one {"area_code"}."""
    rate = body.get("segments_per_second", settings().default_segments_per_second)
    # A floor, not just above 0: DynamoDB cannot store a number below 1e-130 (5e-324 was a 500).
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not MIN_SEGMENTS_PER_SECOND <= rate <= MAX_SEGMENTS_PER_SECOND:
        raise bad_request(
            "invalid_segments_per_second",
            f"segments_per_second must be a number from {MIN_SEGMENTS_PER_SECOND} to {MAX_SEGMENTS_PER_SECOND}",
        )
    if "phone_number" in body:
        return describe(adopt(body["phone_number"], rate))
    area_code = body.get("area_code")
    if area_code is not None and not (isinstance(area_code, str) and area_code.isdigit() and 2 <= len(area_code) <= 5):
        raise bad_request("invalid_area_code", "area_code must be a string of digits, e.g. \"415\"")
    return describe(buy(area_code, rate))


def adopt(raw_phone: object, rate: float) -> PoolNumber:
    number = phone_numbers.parse(raw_phone, field="phone_number")
    owned = twilio_gateway.find_owned_number(number.e164)
    if owned is None:
        raise bad_request(
            "number_not_owned",
            f"the Twilio account does not own {number.e164}; buy it in Twilio first, or POST {{\"area_code\"}} to buy one",
        )
    urls = _webhook_urls()
    twilio_gateway.point_number_at(owned.sid, **urls)
    return record(number, owned.sid, rate)


def buy(area_code: str | None, rate: float) -> PoolNumber:
    country = settings().default_country
    offered = twilio_gateway.search_local(country, area_code, limit=1)
    if not offered:
        raise pool_exhausted(f"Twilio offers no local number in {country} area code {area_code}; try another area code")
    owned = twilio_gateway.buy(offered[0], **_webhook_urls())
    return record(phone_numbers.parse(owned.phone_number), owned.sid, rate)


def drain(raw_phone: str) -> dict:
    number = get(raw_phone)
    if number.status == ACTIVE:
        number.update(actions=[PoolNumber.status.set(DRAINING)])
        logger.info("pool number draining", extra={"pool_number": mask(number.phone_number), "reason": "requested"})
    return describe(number)


def get(raw_phone: str) -> PoolNumber:
    e164 = phone_numbers.parse(raw_phone, field="phone_number").e164
    number = get_or_none(PoolNumber, POOL, e164)
    if number is None:
        raise not_found("number", e164)
    return number


def adjust_open_sessions(phone_number: str, delta: int) -> None:
    PoolNumber(POOL, phone_number).update(
        actions=[PoolNumber.open_sessions.add(delta), PoolNumber.last_used_at.set(int(clock.now()))]
    )


def _webhook_urls() -> dict:
    config = settings()
    return {"sms_url": config.webhook_url("/twilio/sms"), "status_callback": config.webhook_url("/twilio/status")}


def record(number: phone_numbers.ParsedNumber, sid: str, rate: float) -> PoolNumber:
    existing = get_or_none(PoolNumber, POOL, number.e164)
    item = existing or PoolNumber(POOL, number.e164, created_at=int(clock.now()), open_sessions=0, limiter_tat=0)
    item.twilio_sid = sid
    item.status = ACTIVE
    item.country = number.country
    item.area_code = number.area_code
    item.segments_per_second = rate
    item.save()
    logger.info("pool number added", extra={"pool_number": mask(number.e164)})
    return item
