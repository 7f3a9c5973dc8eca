"""T-Mobile's daily cap, held before Twilio (core/tmobile_cap.py has the rules).

The sender asks `hold` after its claim and before it books a slot: a message to a T-Mobile
phone (its carrier known from Lookup, or learned from a 30023) from a US long code is counted
against the Pacific day's cap, once per message (a retry adds nothing); past the cap it fails
at once with 30023, Twilio never called. From 80% of the cap every such send counts in the
TMobileCapNear metric (alarmed, infra/template.py).

The count follows what T-Mobile sees: a send Twilio refused (a 4xx, a 429) or one that never
went (expired after it was counted) gives its count back; one whose fate is unknown (a 5xx, a
timeout) keeps it, as T-Mobile may have counted it. A message counted and then cancelled while
it waited for its slot keeps its count until the day ends (the count is never inflated longer).
A 30023 from Twilio means T-Mobile's own count is full (the cap is shared with the brand's other
campaigns and providers): `learned` fills the day's count, so the rest of the day is held here.

The cap applies only with a Messaging Service's campaign (10DLC traffic) or TMOBILE_DAILY_SEGMENTS
set: plain numbers are not 10DLC senders (carriers block them, 30034).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.logs import logger, mask
from chalicelib.adapters.metrics import TMOBILE_CAP_NEAR
from chalicelib.adapters.twilio import TwilioError
from chalicelib.core import carriers
from chalicelib.core import tmobile_cap as rules
from chalicelib.core.media_rules import MMS
from chalicelib.store.messages import Message
from chalicelib.usecases import messaging_service
from chalicelib.usecases.context import Context

# A day's count and marks outlive the day (and a reader in another time zone) before TTL takes them.
KEEP_SECONDS = 3 * 86400


@dataclass(frozen=True)
class Today:
    """The day's figures, for `make doctor` and the operator."""

    day: str  # the Pacific date
    count: int  # SMS segments and MMS to T-Mobile phones so far
    cap: rules.DailyCap | None  # None: no cap applies (no campaign, no TMOBILE_DAILY_SEGMENTS)
    resets_at: float


def daily_cap(ctx: Context) -> rules.DailyCap | None:
    """Today's cap from TMOBILE_DAILY_SEGMENTS or the campaign's tier; None when none applies.
    A campaign Twilio cannot tell now is not guessed at: no cap (logged)."""
    override = ctx.settings.tmobile_daily_segments
    if override:
        return rules.daily_cap(None, None, override)
    try:
        facts = messaging_service.campaign_facts(ctx)
    except TwilioError as error:
        logger.warning("could not read the campaign; T-Mobile's daily cap not held", extra={"error": str(error)})
        return None
    if facts is None:
        return None
    return rules.daily_cap(facts.tmobile_brand_tier, facts.use_case, None)


def _capped_route(message: Message) -> bool:
    return rules.capped_route(message.from_number, message.to_number)


def _units(message: Message) -> int:
    return rules.units(message.segments, message.media_delivery == MMS)


def hold(ctx: Context, message: Message, now: float) -> str | None:
    """Count a claimed message against today's cap; DAILY_CAP_ERROR when it is past it."""
    if not _capped_route(message):
        return None
    cap = daily_cap(ctx)
    if cap is None:
        return None
    phone = ctx.store.phones.phone(message.to_number)
    if phone is None or not carriers.is_tmobile(phone.carrier):
        return None
    day = rules.pacific_day(now).isoformat()
    admission = ctx.store.tmobile.admit(day, message.message_id, _units(message), cap.segments, int(now) + KEEP_SECONDS)
    if rules.near(admission.count if admission.admitted else cap.segments, cap.segments):
        ctx.metrics.count(TMOBILE_CAP_NEAR)
    if admission.admitted:
        return None
    logger.warning(
        "T-Mobile's daily cap is reached: the message fails without calling Twilio",
        extra={
            "message_id": message.message_id,
            "phone": mask(message.to_number),
            "count": admission.count,
            "cap": cap.segments,
            "cap_source": cap.source,
            "resets_at": rules.resets_at(now),
        },
    )
    return rules.DAILY_CAP_ERROR


def give_back(ctx: Context, message: Message, counted_at: float) -> None:
    """The send did not go (Twilio refused it, or it expired): its count is taken back."""
    if _capped_route(message):
        ctx.store.tmobile.give_back(rules.pacific_day(counted_at).isoformat(), message.message_id)


def learned(ctx: Context, phone: str, at: float) -> None:
    """Twilio answered 30023 for a send to `phone`: it is a T-Mobile phone (recorded when its
    carrier was unknown), and T-Mobile's count for the day is full."""
    if ctx.store.phones.learn_carrier(phone, carriers.TMOBILE_CARRIER_NAME, int(at)):
        logger.info("phone learned as T-Mobile from a 30023", extra={"phone": mask(phone)})
    cap = daily_cap(ctx)
    if cap is not None:
        ctx.store.tmobile.fill(rules.pacific_day(at).isoformat(), cap.segments, int(at) + KEEP_SECONDS)


def today(ctx: Context, now: float) -> Today:
    day = rules.pacific_day(now).isoformat()
    return Today(day, ctx.store.tmobile.count(day), daily_cap(ctx), rules.resets_at(now))
