"""Phone numbers as Twilio sees them: E.164 parsing, country and area code, US long codes
(A2P 10DLC applies), the numbers the stand-in 'has in stock', and Twilio's Contains filter."""

from __future__ import annotations

import re

import phonenumbers

# Area codes searched when a US/CA search names none.
DEFAULT_AREA_CODES = {"US": ("415", "510", "650", "212", "312", "617"), "CA": ("416", "604")}
# US A2P 10DLC: traffic to these regions from a US long code must come from a number in the
# sender pool of a Messaging Service whose campaign is VERIFIED (Twilio's FAQ on unregistered
# 10DLC messaging: US, PR, VI, Guam, American Samoa).
US_BOUND_REGIONS = {"US", "PR", "VI", "GU", "AS"}
_KEYPAD = {
    c: d
    for d, letters in {
        "2": "ABC",
        "3": "DEF",
        "4": "GHI",
        "5": "JKL",
        "6": "MNO",
        "7": "PQRS",
        "8": "TUV",
        "9": "WXYZ",
    }.items()
    for c in letters
}


def parse_e164(text: str | None, default_region: str | None = None) -> str | None:
    """The E.164 form of a valid phone number, or None."""
    if not text:
        return None
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_format(e164: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)


def country_of(e164: str) -> str:
    """The number's ISO country ('US'), or '' when it has none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
    except phonenumbers.NumberParseException:
        return ""


def area_code_of(e164: str) -> str | None:
    return e164[2:5] if e164.startswith("+1") else None


def is_us_long_code(e164: str) -> bool:
    """A US 10-digit long code (A2P 10DLC applies): +1, US, not toll-free."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    return (
        parsed.country_code == 1
        and phonenumbers.region_code_for_number(parsed) == "US"
        and phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.TOLL_FREE
    )


def candidate_numbers(country: str, area_code: str | None = None) -> list[str]:
    """Valid local numbers the stand-in 'has in stock' for a country (and area code).

    North America: the fictional 555-0100..0199 block of each area code (valid for
    phonenumbers, reserved for fiction so nobody real gets texted from a demo). Elsewhere:
    phonenumbers' example fixed-line number with its last two digits varied."""
    country = country.upper()
    found = []
    if country in ("US", "CA"):
        area_codes = (area_code,) if area_code else DEFAULT_AREA_CODES[country]
        texts = [f"+1{code}55501{n:02d}" for code in area_codes for n in range(100)]
    else:
        if area_code:
            return []  # Twilio's AreaCode filter applies to US/CA only
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.FIXED_LINE)
        if example is None:
            return []
        national = str(example.national_number)
        texts = [f"+{example.country_code}{national[:-2]}{n:02d}" for n in range(100)]
    for text in texts:
        e164 = parse_e164(text)
        if e164 and phonenumbers.region_code_for_number(phonenumbers.parse(e164)) == country:
            found.append(e164)
    return found


def contains_pattern(contains: str) -> re.Pattern:
    """Twilio's Contains filter: digits, '*' for any digit, letters as on a phone keypad."""
    parts = []
    for char in contains.upper():
        if char == "*":
            parts.append(r"\d")
        elif char.isdigit():
            parts.append(char)
        elif char in _KEYPAD:
            parts.append(_KEYPAD[char])
        # anything else ('+', spaces) is ignored, as Twilio does
    return re.compile("".join(parts))
