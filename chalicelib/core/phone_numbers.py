"""Phone number parsing: anything a person types -> E.164, or a clear error."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from chalicelib.core.errors import bad_request


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    country: str  # ISO 3166 alpha-2, e.g. "US"
    area_code: str  # national destination code, e.g. "415"; "" when the plan has none


def parse(raw: object, default_region: str, field: str = "phone") -> ParsedNumber:
    """`default_region` is the country of a number typed without a country code."""
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
    national = phonenumbers.national_significant_number(number)
    ndc_length = phonenumbers.length_of_national_destination_code(number)
    return ParsedNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or "",
        area_code=national[:ndc_length],
    )
