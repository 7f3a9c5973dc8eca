"""Which phones a hook-up takes, by what Twilio Lookup v2 says of them (README "Security and
limits", "Lookup at hook-up"): pure, the answer's facts in, a refusal's reason out.

Only a mobile line gets SMS on a handset for sure. A landline cannot get SMS at all; VoIP lines
(fixed: cable and office lines; non-fixed: app numbers such as Google Voice) often can, but are
what scripted sign-ups and SMS pumping use, so they are refused unless a setting admits them;
every other type Twilio names (tollFree, premium, sharedCost, uan, voicemail, pager, personal:
a forwarding number) and `unknown` is refused. A type Twilio adds later is refused too, by name,
until this rule admits it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Lookup v2's data packages the bridge acts on (the Fields of GET /v2/PhoneNumbers/{PhoneNumber}).
LINE_TYPE_INTELLIGENCE = "line_type_intelligence"
SMS_PUMPING_RISK = "sms_pumping_risk"
FIELDS = (LINE_TYPE_INTELLIGENCE, SMS_PUMPING_RISK)

MOBILE = "mobile"
VOIP = frozenset({"fixedVoip", "nonFixedVoip"})
# Twilio's line types (line_type_intelligence.type), each with how a refusal names it.
LINE_TYPES = {
    "mobile": "a mobile phone",
    "landline": "a landline",
    "fixedVoip": "a fixed VoIP line",
    "nonFixedVoip": "a non-fixed VoIP number",
    "personal": "a personal (forwarding) number",
    "tollFree": "a toll-free number",
    "premium": "a premium-rate number",
    "sharedCost": "a shared-cost number",
    "uan": "a universal access number",
    "voicemail": "a voicemail-only number",
    "pager": "a pager",
    "unknown": "of a line type Twilio does not know",
}
# Twilio's SMS pumping risk score runs from 0 (no risk) to 100; the bridge refuses from here.
DEFAULT_MAX_PUMPING_RISK = 75


@dataclass(frozen=True)
class LookupFacts:
    """What one lookup told of a phone. `line_type` None: not asked, or Lookup could not tell
    (its error_code: e.g. 60601 for a Canadian number without Twilio's NPAC data access)."""

    line_type: str | None = None
    carrier: str | None = None
    pumping_risk: int | None = None
    valid: bool = True


@dataclass(frozen=True)
class Refusal:
    reason: str  # "invalid" | "line_type" | "pumping_risk"
    message: str  # names the line type or the risk, and what to do


def refusal(facts: LookupFacts, *, admit_voip: bool, max_pumping_risk: int) -> Refusal | None:
    """Why a hook-up of this phone is refused, or None when it is taken."""
    if not facts.valid:
        return Refusal("invalid", "Twilio Lookup says this is not a valid phone number; check the number typed")
    line_type = facts.line_type
    if line_type is not None and line_type != MOBILE and not (admit_voip and line_type in VOIP):
        what = LINE_TYPES.get(line_type, "of a line type the bridge does not take")
        return Refusal(
            "line_type", f"this phone is {what} (Twilio Lookup: line type {line_type}); hook up a mobile phone"
        )
    if facts.pumping_risk is not None and facts.pumping_risk >= max_pumping_risk:
        return Refusal(
            "pumping_risk",
            f"Twilio Lookup rates this phone's SMS pumping risk {facts.pumping_risk} of 100 "
            f"(refused from {max_pumping_risk}); hook up another phone",
        )
    return None


def is_fresh(looked_up_at: float | None, now: float, max_age_seconds: float) -> bool:
    """A kept lookup still answers for the phone (within the cache window)."""
    return looked_up_at is not None and 0 <= now - looked_up_at < max_age_seconds
