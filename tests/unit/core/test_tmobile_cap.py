"""T-Mobile's daily cap: the cap each tier means, the Pacific day and its midnight (DST too)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core import carrier_errors
from chalicelib.core import tmobile_cap as cap


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "tier, use_case, override, segments",
    [
        ("TOP", "MIXED", None, 200_000),
        ("HIGH", None, None, 40_000),
        ("upper-mid", None, None, 40_000),
        ("MID", None, None, 10_000),
        ("LOW", None, None, 2_000),
        ("BASIC", None, None, 2_000),
        ("SOMETHING_NEW", None, None, 2_000),  # unknown: T-Mobile's default
        (None, None, None, 2_000),
        ("TOP", "SOLE_PROPRIETOR", None, 1_000),  # a sole proprietor's brand, whatever the tier says
        ("TOP", "SOLE_PROPRIETOR", 5_000, 5_000),  # TMOBILE_DAILY_SEGMENTS wins
    ],
)
def test_the_cap_follows_the_tier_the_use_case_and_the_override(tier, use_case, override, segments):
    found = cap.daily_cap(tier, use_case, override)
    assert found.segments == segments
    assert found.source


def test_an_mms_counts_one_and_an_sms_its_segments():
    assert (cap.units(3, mms=False), cap.units(3, mms=True), cap.units(0, mms=False)) == (3, 1, 1)


@pytest.mark.parametrize(
    "now, day, reset",
    [
        # Winter (PST, UTC-8): the day ends at 08:00 UTC.
        (utc(2026, 12, 7, 7, 59, 59), "2026-12-06", utc(2026, 12, 7, 8)),
        (utc(2026, 12, 7, 8, 0, 0), "2026-12-07", utc(2026, 12, 8, 8)),
        # Summer (PDT, UTC-7): at 07:00 UTC.
        (utc(2026, 7, 1, 6, 59), "2026-06-30", utc(2026, 7, 1, 7)),
        # 2026-03-08 springs forward: a 23-hour day, midnight to midnight.
        (utc(2026, 3, 8, 8, 0), "2026-03-08", utc(2026, 3, 9, 7)),
        # 2026-11-01 falls back: a 25-hour day.
        (utc(2026, 11, 1, 7, 0), "2026-11-01", utc(2026, 11, 2, 8)),
        (utc(2026, 11, 2, 7, 59), "2026-11-01", utc(2026, 11, 2, 8)),
    ],
)
def test_the_day_is_pacific_and_resets_at_its_midnight(now, day, reset):
    assert cap.pacific_day(now).isoformat() == day
    assert cap.resets_at(now) == reset


def test_the_day_lengths_around_dst():
    assert cap.resets_at(utc(2026, 3, 8, 8)) - utc(2026, 3, 8, 8) == 23 * 3600
    assert cap.resets_at(utc(2026, 11, 1, 7)) - utc(2026, 11, 1, 7) == 25 * 3600


def test_the_warning_starts_at_80_percent():
    assert not cap.near(1_599, 2_000)
    assert cap.near(1_600, 2_000)


def test_only_us_long_codes_to_us_phones_are_capped():
    assert cap.capped_route("+14155550100", "+14155550123")
    assert not cap.capped_route("+18885550100", "+14155550123"), "toll-free: verified, not 10DLC"
    assert not cap.capped_route("+447700900100", "+14155550123")
    assert not cap.capped_route("+14155550100", "+447700900123")
    assert not cap.capped_route("12345", "+14155550123"), "a short code"


def test_the_reason_names_the_cap_and_when_it_resets():
    reason = carrier_errors.reason("30023", utc(2026, 12, 7, 20))
    assert "T-Mobile's daily cap" in reason and "midnight Pacific (2026-12-08T00:00:00-08:00)" in reason
    assert "of 2,000" in cap.reason(utc(2026, 12, 7, 20), 2_000)
    assert carrier_errors.classify("30023") == carrier_errors.TMOBILE_CAP
    assert carrier_errors.reason("30023").startswith("T-Mobile's daily cap")
