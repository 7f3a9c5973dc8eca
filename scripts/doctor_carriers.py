"""`make doctor`'s carrier side (scripts/doctor.py calls `examine`): what the campaign's use case,
AT&T rate and T-Mobile tier mean, today's count against T-Mobile's daily cap, and the numbers in
the campaign against their cap (README "Twilio side"; issue 22).

Number caps: T-Mobile allows a campaign 49 numbers without an approved Number Pool (more is
"snowshoeing", fined as program evasion), a SOLE_PROPRIETOR campaign one, and a Messaging Service
holds at most 400 (Twilio error 21714). CAMPAIGN_MAX_NUMBERS raises the 49 once T-Mobile approved a
Number Pool for the campaign.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.adapters.twilio import A2pCampaign, TwilioError
from chalicelib.core import tmobile_cap
from chalicelib.usecases.messaging_service import CampaignFacts, facts_of

TMOBILE_CAMPAIGN_NUMBERS = 49  # without an approved Number Pool
SOLE_PROPRIETOR_NUMBERS = 1
SERVICE_NUMBERS = 400  # Twilio error 21714
CONSOLE_TRUST = "Twilio Console > Trust Hub > A2P Messaging"


def examine(target, campaign: A2pCampaign, check: Callable[..., None]) -> None:
    """Add the carrier-side checks of `campaign` (the service's approved one) through `check(title, ok,
    detail, fix)`."""
    facts = facts_of(campaign)
    cap = tmobile_cap.daily_cap(facts.tmobile_brand_tier, facts.use_case, _int(target, "TMOBILE_DAILY_SEGMENTS"))
    check("campaign's carrier limits", True, _limits(facts, cap))
    _today(target, cap, check)
    _numbers(target, facts, check)


def _int(target, name: str) -> int | None:
    value = (target.environment.get(name) or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _limits(facts: CampaignFacts, cap: tmobile_cap.DailyCap) -> str:
    att = f"AT&T {facts.att_mps:g} MPS" if facts.att_mps else "AT&T reports no rate"
    att += f" (class {facts.att_msg_class})" if facts.att_msg_class else ""
    return (
        f"use case {facts.use_case or 'not reported'}; {att}; T-Mobile tier "
        f"{facts.tmobile_brand_tier or 'not reported'}: {cap.segments:,} segments and MMS a day ({cap.source})"
    )


def _today(target, cap: tmobile_cap.DailyCap, check: Callable[..., None]) -> None:
    title = "T-Mobile's daily cap today"
    now = target.now()
    day = tmobile_cap.pacific_day(now).isoformat()
    resets = datetime.fromtimestamp(tmobile_cap.resets_at(now), tmobile_cap.PACIFIC).isoformat()
    try:
        count = target.tmobile_count(day)
    except Exception as error:  # the table unreachable: the AWS check says why
        check(title, False, f"could not read the day's count ({type(error).__name__})", "see the AWS check below")
        return
    share = count / cap.segments
    detail = f"{count:,} of {cap.segments:,} ({share:.0%}) since midnight Pacific ({day}); resets {resets}"
    if count >= cap.segments:
        check(
            title,
            False,
            detail + ": sends to T-Mobile phones fail 30023 until then",
            f"wait for midnight Pacific; for a higher cap raise the brand's trust score ({CONSOLE_TRUST})",
        )
    else:
        check(
            title,
            True,
            detail + (" (near the cap: alarm tmobile-cap-near)" if tmobile_cap.near(count, cap.segments) else ""),
        )


def _numbers(target, facts: CampaignFacts, check: Callable[..., None]) -> None:
    title = "numbers in the campaign within its cap"
    try:
        held = len(target.twilio.service_number_sids(target.service_sid))
    except TwilioError as error:
        check(title, False, str(error), "retry; check the credentials")
        return
    sole = (facts.use_case or "").upper() == tmobile_cap.SOLE_PROPRIETOR
    raised = _int(target, "CAMPAIGN_MAX_NUMBERS")
    cap = SOLE_PROPRIETOR_NUMBERS if sole else min(raised or TMOBILE_CAMPAIGN_NUMBERS, SERVICE_NUMBERS)
    why = "a sole proprietor's campaign" if sole else ("CAMPAIGN_MAX_NUMBERS" if raised else "T-Mobile's per campaign")
    detail = f"{held} of {cap} ({why}; a Messaging Service holds {SERVICE_NUMBERS})"
    number_pool = (
        f"a pool of proxy numbers past {TMOBILE_CAMPAIGN_NUMBERS} needs an approved T-Mobile Number Pool (else "
        "snowshoeing: T-Mobile fines program evasion $1,000 per instance)"
    )
    if held > cap:
        fix = (
            "a SOLE_PROPRIETOR campaign allows one number: release the others (DELETE /numbers/{n}) or register a "
            "standard brand"
            if sole
            else f"release numbers (DELETE /numbers/{{n}}) down to {cap}; {number_pool}"
        )
        check(title, False, detail, fix)
    elif held > TMOBILE_CAMPAIGN_NUMBERS or (raised or 0) > TMOBILE_CAMPAIGN_NUMBERS:
        check(title, True, f"{detail}; warning: {number_pool}")
    else:
        check(title, True, detail)
