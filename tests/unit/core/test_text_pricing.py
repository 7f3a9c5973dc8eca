"""Spec for chalicelib/core/text_pricing.py: when one MMS costs less than a text's SMS segments."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.text_pricing import (
    US_10DLC_ESTIMATE,
    TextPrices,
    break_even_segments,
    cheaper_as_mms,
    mms_cost,
    sms_cost,
)

LIST_ONLY = TextPrices(sms_segment_usd=0.0083, mms_usd=0.0220)  # Twilio's US list prices, no carrier fees
NO_MMS = TextPrices(sms_segment_usd=0.0500)  # e.g. a country Twilio sends no MMS to


def test_us_estimate_a_text_of_3_segments_goes_cheaper_as_mms():
    assert sms_cost(2, US_10DLC_ESTIMATE) == pytest.approx(0.0226)  # 2 x (0.0083 + 0.003)
    assert sms_cost(3, US_10DLC_ESTIMATE) == pytest.approx(0.0339)
    assert mms_cost(US_10DLC_ESTIMATE) == pytest.approx(0.0270)  # 0.0220 + 0.005
    assert not cheaper_as_mms(2, US_10DLC_ESTIMATE)
    assert cheaper_as_mms(3, US_10DLC_ESTIMATE)
    assert break_even_segments(US_10DLC_ESTIMATE) == 3


@pytest.mark.parametrize(
    "prices,break_even",
    [
        (LIST_ONLY, 3),  # 0.0220 / 0.0083 = 2.65
        (TextPrices(0.0083, 0.003, 0.0220, 0.010), 3),  # T-Mobile's registered MMS fee of $0.01: 2.83
        (TextPrices(0.0083, 0.0, 0.0500, 0.0), 7),  # a dear MMS: 6.02
        (TextPrices(0.0100, 0.0, 0.0050, 0.0), 1),  # MMS cheaper than one segment
        (TextPrices(0.0100, 0.0, 0.0, 0.0), 1),  # free MMS
    ],
    ids=["us-list-prices", "t-mobile-mms-fee", "dear-mms", "cheap-mms", "free-mms"],
)
def test_break_even(prices, break_even):
    assert break_even_segments(prices) == break_even
    assert cheaper_as_mms(break_even, prices)
    assert break_even == 1 or not cheaper_as_mms(break_even - 1, prices)


def test_a_tie_stays_sms_even_where_floats_would_say_otherwise():
    """5 x $0.0044 is $0.0220, the MMS's price; in floats it is 0.022000000000000002."""
    tie = TextPrices(sms_segment_usd=0.0044, mms_usd=0.0220)
    assert 5 * 0.0044 > 0.0220  # what a float comparison would get wrong
    assert not cheaper_as_mms(5, tie)
    assert cheaper_as_mms(6, tie)
    assert break_even_segments(tie) == 6
    assert break_even_segments(TextPrices(0.0100, 0.0, 0.0200, 0.0)) == 3  # 2 segments cost what the MMS does


def test_no_mms_price_or_no_prices_is_never_mms():
    assert break_even_segments(NO_MMS) is None and mms_cost(NO_MMS) is None
    assert not any(cheaper_as_mms(n, NO_MMS) for n in range(1, 11))
    assert not cheaper_as_mms(10, None)  # a country the table lacks


def test_free_sms_is_never_beaten():
    free = TextPrices(sms_segment_usd=0.0, mms_usd=0.0)
    assert break_even_segments(free) is None
    assert not cheaper_as_mms(10, free)


@pytest.mark.parametrize("field", ["sms_segment_usd", "sms_carrier_fee_usd", "mms_usd", "mms_carrier_fee_usd"])
@pytest.mark.parametrize("value", [-0.001, float("nan")])
def test_a_price_that_is_not_one_is_refused_by_name(field, value):
    fields = {"sms_segment_usd": 0.0083, "mms_usd": 0.0220, field: value}
    with pytest.raises(ValueError, match=field):
        TextPrices(**fields)


def test_a_text_has_at_least_one_segment():
    with pytest.raises(ValueError, match="1 segment or more"):
        cheaper_as_mms(0, LIST_ONLY)
    with pytest.raises(ValueError, match="1 segment or more"):
        sms_cost(0, LIST_ONLY)


cents = st.integers(0, 500).map(lambda tenths_of_a_mill: tenths_of_a_mill / 10_000)  # $0.0000 .. $0.0500


@settings(deadline=None)  # a loaded CI machine must not fail it on time
@given(cents.filter(bool), cents, cents, cents)
def test_mms_is_cheaper_exactly_from_the_break_even_on(sms, sms_fee, mms, mms_fee):
    prices = TextPrices(sms, sms_fee, mms, mms_fee)
    break_even = break_even_segments(prices)
    assert break_even is not None
    for segments in range(1, 40):
        assert cheaper_as_mms(segments, prices) == (segments >= break_even)
        # in cents, rounded as the decimals are: the float costs agree with the decision
        if cheaper_as_mms(segments, prices):
            assert round(mms_cost(prices), 6) < round(sms_cost(segments, prices), 6)
        else:
            assert round(mms_cost(prices), 6) >= round(sms_cost(segments, prices), 6)
