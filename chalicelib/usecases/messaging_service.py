"""The Twilio Messaging Service the pool's numbers send through (issue 13).

US carriers deliver SMS from a 10-digit long code only when it is a sender of a
Messaging Service whose A2P 10DLC campaign is approved (else error 30034). So,
with TWILIO_MESSAGING_SERVICE_SID set:
- every number the pool buys or adopts joins the service before its first send,
  and leaves it before it is released;
- the service must hand incoming SMS to the numbers' own SmsUrl (a service with
  its own inbound_request_url and use_inbound_webhook_on_number false would take
  them): it is configured so, or refused when TWILIO_SERVICE_CONFIGURE_INBOUND=false;
- US local numbers are bought only while the service's campaign is approved, and
  the campaign's rate (where Twilio reports one) limits the sender.
Without the setting the bridge uses plain numbers, as before, and says so once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chalicelib.adapters.logs import logger, mask
from chalicelib.adapters.twilio import A2pCampaign, TwilioError
from chalicelib.config import LimitSettings
from chalicelib.core.campaign_rates import campaign_segments_per_second
from chalicelib.core.errors import BridgeError, pool_exhausted
from chalicelib.usecases.context import Context

APPROVED = "VERIFIED"  # Twilio's campaign_status of an approved campaign
A2P_COUNTRIES = ("US",)  # local numbers there need a campaign (toll-free numbers need verification instead)
CAMPAIGN_CACHE_SECONDS = 300.0

# Why a number cannot join, and what the operator does about it.
JOIN_FIXES: dict[int | None, str] = {
    21712: "it is a sender of another Messaging Service: remove it there (Console > Messaging > Services > "
    "that service > Sender Pool) or adopt another number",
    21715: "it cannot send SMS: adopt an SMS-capable number",
    20404: "Twilio does not know the number or the service: check TWILIO_MESSAGING_SERVICE_SID and that the "
    "account owns the number",
}
CONSOLE_A2P = "Twilio Console > Messaging > Regulatory Compliance > A2P 10DLC (docs/deploy.md, 'Twilio side')"


def service_sid(ctx: Context) -> str | None:
    """The configured service, or None (logged once per process: the context's service_cache)."""
    sid = ctx.settings.twilio_messaging_service_sid
    if sid is None and ctx.service_cache.first_announcement():
        logger.warning(
            "TWILIO_MESSAGING_SERVICE_SID is not set: pool numbers send as plain numbers, outside any "
            "Messaging Service (US carriers block unregistered 10DLC traffic: error 30034)"
        )
    return sid


def service_unusable(reason: str) -> BridgeError:
    return BridgeError("messaging_service_unusable", reason, 503)


def ensure_inbound_deferred(ctx: Context, sid: str) -> None:
    """Check once per process that the service leaves inbound SMS to the numbers' webhooks."""
    if ctx.service_cache.is_checked(sid):
        return
    try:
        service = ctx.twilio.fetch_service(sid)
        if service.inbound_request_url and not service.use_inbound_webhook_on_number:
            if not ctx.settings.configure_service_inbound:
                raise service_unusable(
                    f"Messaging Service {sid} sends incoming SMS to its own URL ({service.inbound_request_url}), "
                    "not to the numbers' /twilio/sms: set its Integration to 'Defer to sender's webhook' "
                    "(use_inbound_webhook_on_number=true) or allow TWILIO_SERVICE_CONFIGURE_INBOUND"
                )
            ctx.twilio.defer_inbound_to_numbers(sid)
            logger.warning(
                "Messaging Service sent incoming SMS to its own URL; set it to defer to the numbers' webhooks",
                extra={"service_sid": sid},
            )
    except TwilioError as error:
        raise service_unusable(
            f"could not read Messaging Service {sid} at Twilio ({error}); check "
            "TWILIO_MESSAGING_SERVICE_SID and the credentials (make doctor)"
        ) from None
    ctx.service_cache.checked(sid)


def join(ctx: Context, number_sid: str, phone: str) -> None:
    """Make a pool number a sender of the service (before its first send)."""
    sid = service_sid(ctx)
    if sid is None:
        return
    ensure_inbound_deferred(ctx, sid)
    try:
        ctx.twilio.join_service(sid, number_sid)
    except TwilioError as error:
        if error.retryable:
            raise service_unusable(f"could not add {phone} to Messaging Service {sid} ({error}); retry later") from None
        fix = JOIN_FIXES.get(error.code, "see https://www.twilio.com/docs/errors/" + str(error.code))
        raise BridgeError(
            "number_not_joinable",
            f"{phone} cannot join Messaging Service {sid}: Twilio error {error.code}: {fix}",
            400,
        ) from None
    logger.info("pool number joined the messaging service", extra={"pool_number": mask(phone), "service_sid": sid})


def leave(ctx: Context, number_sid: str, phone: str) -> None:
    """Take a number out of the service's sender pool (before it is released)."""
    sid = service_sid(ctx)
    if sid is None:
        return
    ctx.twilio.leave_service(sid, number_sid)
    logger.info("pool number left the messaging service", extra={"pool_number": mask(phone), "service_sid": sid})


def campaign(ctx: Context, sid: str) -> A2pCampaign | None:
    """The service's US A2P campaign, read at most every CAMPAIGN_CACHE_SECONDS."""
    now = ctx.now()
    cached, found = ctx.service_cache.campaign(sid, now, CAMPAIGN_CACHE_SECONDS)
    if cached:
        return found
    campaigns = ctx.twilio.us_campaigns(sid)
    approved = [c for c in campaigns if c.campaign_status == APPROVED]
    found = approved[0] if approved else campaigns[0] if campaigns else None
    ctx.service_cache.keep_campaign(sid, now, found)
    return found


def require_campaign_for(ctx: Context, country: str, held_back: Sequence[str] = ()) -> None:
    """Before buying a local number in `country`: 503 pool_exhausted unless the
    service has an approved US A2P 10DLC campaign (US numbers only). Without a
    service, as before, unless carriers already block the pool's numbers as
    unregistered (30034 in `held_back`, the pool's hold reasons): another plain
    number would be blocked too, so none is bought."""
    if country not in A2P_COUNTRIES or not ctx.settings.require_a2p_campaign:
        return
    sid = service_sid(ctx)
    if sid is None:
        if any(reason.startswith("30034") for reason in held_back):
            raise pool_exhausted(
                "carriers block the pool's numbers as unregistered A2P 10DLC traffic (30034) and another plain "
                "number would be blocked too: set TWILIO_MESSAGING_SERVICE_SID to a Messaging Service with an "
                f"approved campaign ({CONSOLE_A2P})"
            )
        return  # plain numbers, as before (announced once)
    ctx.service_cache.forget_campaign(sid)  # a buy reads the campaign afresh
    try:
        found = campaign(ctx, sid)
    except TwilioError as error:
        raise pool_exhausted(f"could not read the A2P 10DLC campaign of {sid} ({error}); retry later") from None
    if found is None:
        raise pool_exhausted(
            f"Messaging Service {sid} has no US A2P 10DLC campaign, so US carriers would block its numbers "
            f"(30034): register a brand and a campaign for the service in {CONSOLE_A2P}"
        )
    if found.campaign_status != APPROVED:
        raise pool_exhausted(
            f"the A2P 10DLC campaign of Messaging Service {sid} is {found.campaign_status or 'not approved'}, "
            f"not approved yet: US numbers are bought once it is VERIFIED ({CONSOLE_A2P})"
        )


def reported_campaign_rate(ctx: Context) -> tuple[str, float] | None:
    """(campaign sid, segments per second) of the approved campaign, when Twilio reports a rate."""
    sid = service_sid(ctx)
    if sid is None:
        return None
    try:
        found = campaign(ctx, sid)
    except TwilioError as error:
        logger.warning("could not read the campaign's rate; no campaign limit from Twilio", extra={"error": str(error)})
        return None
    if found is None or found.campaign_status != APPROVED:
        return None
    rate = campaign_segments_per_second(found.rate_limits)
    return (found.sid, rate) if rate else None


@dataclass(frozen=True)
class CampaignFacts:
    """What Twilio reports of the service's A2P campaign that the carriers' limits follow."""

    sid: str
    status: str  # VERIFIED when approved
    use_case: str | None  # us_app_to_person_usecase (SOLE_PROPRIETOR allows one number, 1,000 a day to T-Mobile)
    att_mps: float | None  # rate_limits.att.mps
    att_msg_class: str | None  # rate_limits.att.msg_class
    tmobile_brand_tier: str | None  # rate_limits.tmobile.brand_tier (core/tmobile_cap.py's table)


def _carrier(rate_limits: Mapping | None, carrier: str, field: str) -> object:
    limits = (rate_limits or {}).get(carrier)
    return limits.get(field) if isinstance(limits, Mapping) else None


def campaign_facts(ctx: Context) -> CampaignFacts | None:
    """The facts of the service's campaign (read at most every CAMPAIGN_CACHE_SECONDS), None
    without a service or a campaign; a Twilio fault raises TwilioError."""
    sid = service_sid(ctx)
    found = campaign(ctx, sid) if sid is not None else None
    return facts_of(found) if found is not None else None


def facts_of(found: A2pCampaign) -> CampaignFacts:
    """A campaign as Twilio answers it -> its facts (make doctor reads them too)."""
    mps, msg_class, tier = (
        _carrier(found.rate_limits, "att", "mps"),
        _carrier(found.rate_limits, "att", "msg_class"),
        _carrier(found.rate_limits, "tmobile", "brand_tier"),
    )
    return CampaignFacts(
        sid=found.sid,
        status=found.campaign_status,
        use_case=found.use_case,
        att_mps=float(mps) if isinstance(mps, (int, float)) and not isinstance(mps, bool) else None,
        att_msg_class=msg_class if isinstance(msg_class, str) else None,
        tmobile_brand_tier=tier if isinstance(tier, str) else None,
    )


def limits_with_campaign(ctx: Context, limits: LimitSettings) -> LimitSettings:
    """The sender's limits: a configured campaign rate (CAMPAIGN_SEGMENTS_PER_SECOND)
    wins; else the rate Twilio reports for the service's approved campaign."""
    if limits.campaign_segments_per_second is not None:
        return limits
    reported = reported_campaign_rate(ctx)
    if reported is None:
        return limits
    campaign_id, rate = reported
    return dataclasses.replace(limits, campaign_id=campaign_id, campaign_segments_per_second=rate)
