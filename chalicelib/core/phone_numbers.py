"""Phone number parsing: anything a person types -> E.164, or a clear error."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from chalicelib.core.errors import bad_request


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    country: str  # ISO 3166 alpha-2, e.g. "US"
    area_code: str  # national destination code, e.g. "415"; "" when the plan has none


# The kinds of number a chat user may hook up: those that receive SMS on a handset.
# US and Canadian numbers are all FIXED_LINE_OR_MOBILE (the plan does not tell them apart).
# Refused: toll-free, premium-rate and shared-cost numbers (the kinds SMS pumping pays out
# on), VoIP, personal, pager, UAN and voicemail numbers, and plain fixed lines.
TEXTABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed-line",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal (follow-me)",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "universal access",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


def _parse(raw: object, default_region: str, field: str) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("invalid_phone", f"{field} must be a phone number in E.164 form, e.g. +14155550100")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise bad_request(
            "invalid_phone",
            f"{field} {raw!r} is not a valid phone number; send it in E.164 form, e.g. +14155550100",
        )
    return number


def _parsed(number: phonenumbers.PhoneNumber) -> ParsedNumber:
    national = phonenumbers.national_significant_number(number)
    ndc_length = phonenumbers.length_of_national_destination_code(number)
    return ParsedNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or "",
        area_code=national[:ndc_length],
    )


def parse(raw: object, default_region: str, field: str = "phone") -> ParsedNumber:
    """`default_region` is the country of a number typed without a country code."""
    return _parsed(_parse(raw, default_region, field))


def parse_textable(raw: object, default_region: str, allowed_countries: frozenset[str]) -> ParsedNumber:
    """A user's phone: valid, of a kind that receives SMS, in an allowed country
    (else 400 invalid_phone saying which)."""
    number = _parse(raw, default_region, "phone")
    parsed = _parsed(number)
    kind = phonenumbers.number_type(number)
    if kind not in TEXTABLE_TYPES:
        name = _TYPE_NAMES.get(kind, "unknown kind of")
        raise bad_request(
            "invalid_phone", f"phone {parsed.e164} is a {name} number, which cannot get SMS here; use a mobile number"
        )
    if parsed.country not in allowed_countries:
        raise bad_request(
            "invalid_phone",
            f"phone {parsed.e164} is in {parsed.country or 'no country'}; "
            f"the bridge texts only numbers in {', '.join(sorted(allowed_countries))}",
        )
    return parsed
