"""The carriers behind the stand-in's simulated phones, and what T-Mobile does with a brand's
traffic: each phone's carrier (set from the control API or the phone page, else a default rule),
which Lookup v2 answers and T-Mobile's daily cap counts; a campaign's queue, which sends its 10DLC
messages at the campaign's rate (AT&T's `mps`), whichever of its numbers they come from; and that cap, as T-Mobile keeps it per
brand (one per stand-in account): SMS segments and MMS to T-Mobile phones from the 10DLC senders
of a campaign, per calendar day in Pacific time, past which messages fail 30023.

The stand-in's own table of T-Mobile's published tiers (the bridge has its own in
chalicelib/core/tmobile_cap.py; the two are kept apart so tests compare them): TOP 200,000,
HIGH 40,000, MID 10,000, LOW and BASIC 2,000, an unknown tier T-Mobile's default 2,000, a
SOLE_PROPRIETOR campaign 1,000.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TMOBILE, ATT, VERIZON = "T-Mobile USA, Inc.", "AT&T Wireless", "Verizon Wireless"
# The default rule: a +1 phone's carrier by its last digit (so a page of phones shows all three).
_BY_LAST_DIGIT = (TMOBILE, ATT, VERIZON)
PACIFIC = ZoneInfo("America/Los_Angeles")
TIERS = {"TOP": 200_000, "HIGH": 40_000, "MID": 10_000, "LOW": 2_000, "BASIC": 2_000}
DEFAULT_CAP, SOLE_PROPRIETOR_CAP = 2_000, 1_000
ERR_DAILY_CAP = 30023
DAILY_CAP_MESSAGE = "US A2P 10DLC - Daily Message Cap Reached"


def default_carrier(phone: str) -> str | None:
    """A North American phone's carrier by the default rule; None elsewhere (unknown)."""
    if not phone.startswith("+1") or not phone[-1:].isdigit():
        return None
    return _BY_LAST_DIGIT[int(phone[-1]) % 3]


def is_tmobile(carrier: str | None) -> bool:
    return bool(carrier) and any(n in (carrier or "").lower() for n in ("t-mobile", "sprint", "metropcs"))


def brand_cap(rate_limits: dict | None, use_case: str | None, override: int | None) -> int:
    """The brand's daily cap at T-Mobile: set on the control API, else by use case and tier."""
    if override:
        return override
    if (use_case or "").upper() == "SOLE_PROPRIETOR":
        return SOLE_PROPRIETOR_CAP
    tmobile = (rate_limits or {}).get("tmobile") or {}
    return TIERS.get(str(tmobile.get("brand_tier") or "").upper(), DEFAULT_CAP)


def pacific_day(at: datetime) -> str:
    return at.astimezone(PACIFIC).date().isoformat()


class Carriers:
    """Each phone's carrier, and the brand's count of the day at T-Mobile."""

    def __init__(self) -> None:
        self.chosen: dict[str, str | None] = {}  # phone -> carrier set on the control API or the page
        self.tmobile_counts: dict[str, int] = {}  # Pacific day -> segments and MMS
        self.daily_cap: int | None = None  # the brand's cap, when set on the control API
        self.campaign_free_at: dict[str, float] = {}  # campaign sid -> when its queue sends next (epoch s)

    def carrier_of(self, phone: str) -> str | None:
        return self.chosen[phone] if phone in self.chosen else default_carrier(phone)

    def set_carrier(self, phone: str, carrier: str | None) -> None:
        self.chosen[phone] = carrier

    def count(self, at: datetime) -> int:
        return self.tmobile_counts.get(pacific_day(at), 0)

    def take(self, at: datetime, units: int, cap: int) -> bool:
        """Count a message's units for the day, while within the cap; False past it (30023)."""
        day = pacific_day(at)
        count = self.tmobile_counts.get(day, 0)
        if count + units > cap:
            return False
        self.tmobile_counts[day] = count + units
        return True

    def queue_wait(self, campaign_sid: str, mps: float | None, now: float, segments: int) -> float:
        """Seconds a message waits in the campaign's queue: its segments leave at `mps`, shared by
        all the campaign's numbers (0 without a rate)."""
        if not mps or mps <= 0:
            return 0.0
        starts = max(now, self.campaign_free_at.get(campaign_sid, now))
        self.campaign_free_at[campaign_sid] = starts + segments / mps
        return starts - now


def campaign_mps(rate_limits: dict | None) -> float | None:
    """The campaign's rate Twilio reports (AT&T's `mps`), if any."""
    mps = ((rate_limits or {}).get("att") or {}).get("mps")
    return float(mps) if isinstance(mps, (int, float)) and not isinstance(mps, bool) and mps > 0 else None
