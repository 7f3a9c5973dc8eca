"""T-Mobile's daily cap on a 10DLC brand (pure; usecases/tmobile_cap.py holds it before Twilio).

T-Mobile counts each brand's SMS segments and MMS messages to its subscribers per calendar
day in Pacific time, shared by all the brand's campaigns (even across providers), and fails
the rest of the day's with Twilio error 30023 until midnight Pacific. The cap comes from the
brand's tier, which Twilio reports in the campaign's `rate_limits.tmobile.brand_tier`:

| brand_tier | segments + MMS a day |
|---|---|
| TOP | 200,000 |
| HIGH (UPPER_MID) | 40,000 |
| MID (LOWER_MID) | 10,000 |
| LOW, BASIC | 2,000 |
| a sole proprietor's campaign (use case SOLE_PROPRIETOR) | 1,000 |
| none or unknown | 2,000 (T-Mobile's default) |

Sources: Twilio, "T-Mobile daily message limits for long code messaging with A2P 10DLC" (the
tiers 200,000 / 40,000 / 10,000 / 2,000 by trust score, 2,000 by default, the cap shared by the
brand's campaigns and providers, reset on the next calendar day, Pacific); Twilio, "I send almost
3,000 messages/day..." (1,000 for the smallest brands); error 30023 "Daily Message Cap Reached".
`TMOBILE_DAILY_SEGMENTS` overrides the table (a cap T-Mobile granted by hand, or a lower one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
DAILY_CAP_ERROR = "30023"  # Twilio's "US A2P 10DLC - Daily Message Cap Reached"
DEFAULT_DAILY_CAP = 2_000
SOLE_PROPRIETOR_DAILY_CAP = 1_000
SOLE_PROPRIETOR = "SOLE_PROPRIETOR"  # Twilio's us_app_to_person_usecase of a sole proprietor's campaign
TIER_DAILY_CAPS: dict[str, int] = {
    "TOP": 200_000,
    "HIGH": 40_000,
    "UPPER_MID": 40_000,
    "MID": 10_000,
    "LOWER_MID": 10_000,
    "LOW": 2_000,
    "BASIC": 2_000,
}
WARNING_FRACTION = 0.8  # past this share of the day's cap: the TMobileCapNear metric (alarmed)


@dataclass(frozen=True)
class DailyCap:
    segments: int  # segments and MMS a day
    source: str  # what it comes from, for operators: "TMOBILE_DAILY_SEGMENTS", "brand tier TOP", ...


def daily_cap(brand_tier: str | None, use_case: str | None, override: int | None) -> DailyCap:
    """The day's cap: the override, else a sole proprietor's, else the tier's, else the default."""
    if override is not None and override > 0:
        return DailyCap(override, "TMOBILE_DAILY_SEGMENTS")
    if (use_case or "").strip().upper() == SOLE_PROPRIETOR:
        return DailyCap(SOLE_PROPRIETOR_DAILY_CAP, "a sole proprietor's campaign")
    tier = (brand_tier or "").strip().upper().replace("-", "_").replace(" ", "_")
    if tier in TIER_DAILY_CAPS:
        return DailyCap(TIER_DAILY_CAPS[tier], f"brand tier {tier}")
    return DailyCap(DEFAULT_DAILY_CAP, f"T-Mobile's default (brand tier {tier or 'not reported'})")


def units(segments: int, mms: bool) -> int:
    """What a message counts against the cap: an MMS is one, an SMS its segments."""
    return 1 if mms else max(1, segments)


def pacific_day(now: float) -> date:
    """The calendar day in Pacific time (PST or PDT) at epoch `now`."""
    return datetime.fromtimestamp(now, PACIFIC).date()


def resets_at(now: float) -> float:
    """Epoch seconds of the next midnight Pacific after `now` (23, 24 or 25 hours a day)."""
    tomorrow = pacific_day(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), PACIFIC).timestamp()


def near(count: int, cap: int) -> bool:
    """The day's count is at or past WARNING_FRACTION of the cap."""
    return count >= WARNING_FRACTION * cap


def reason(at: float, cap: int | None = None) -> str:
    """The error_reason of a message failed 30023 at epoch `at`: the cap and when it resets."""
    reset = datetime.fromtimestamp(resets_at(at), PACIFIC)
    figure = f" of {cap:,} SMS segments and MMS" if cap else ""
    return (
        f"T-Mobile's daily cap{figure} for the brand's 10DLC traffic to T-Mobile phones is reached; "
        f"it resets at midnight Pacific ({reset.isoformat()})"
    )


# US toll-free area codes: toll-free numbers are verified, not 10DLC, and not under the brand's cap.
TOLL_FREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})


def capped_route(from_number: str, to_number: str) -> bool:
    """A send T-Mobile's 10DLC cap counts: from a US/NANP long code (not toll-free) to a +1 phone."""
    if not (from_number.startswith("+1") and to_number.startswith("+1") and len(from_number) == 12):
        return False
    return from_number[2:5] not in TOLL_FREE_AREA_CODES
