"""Whether a long text costs less as one MMS than as its SMS segments (pure).

Twilio bills an SMS per segment and an MMS per message, whatever its length
(the body's 1,600 characters at most, as for SMS). In the US and Canada the
carriers add a fee per SMS segment and per MMS, which Twilio passes through
(support.twilio.com, "What are SMS and MMS carrier fees"). So past some
number of segments one MMS is cheaper: the break-even, from a price table.

Only the price is decided here. Whether an MMS can go at all (the phone's
country, the number's MMS capability) is core/media_rules.py's `delivery`.
Prices are compared exactly, as the decimals they are written as: 3 segments
at $0.0083 cost what an MMS at $0.0249 costs, and the SMS stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class TextPrices:
    """What one outbound text costs in one country, in USD."""

    sms_segment_usd: float  # Twilio's price per SMS segment
    sms_carrier_fee_usd: float = 0.0  # carriers' fee per SMS segment
    mms_usd: float | None = None  # Twilio's price per MMS; None: no MMS to this country
    mms_carrier_fee_usd: float = 0.0  # carriers' fee per MMS

    def __post_init__(self) -> None:
        for name in ("sms_segment_usd", "sms_carrier_fee_usd", "mms_usd", "mms_carrier_fee_usd"):
            value = getattr(self, name)
            if value is not None and not value >= 0:  # also refuses NaN
                raise ValueError(f"{name} must be a price in USD of 0 or more, not {value!r}")


# Country (ISO 3166-1 alpha-2, as phonenumbers gives it) -> its prices.
PriceTable = Mapping[str, TextPrices]

# Twilio's US list prices (twilio.com/en-us/sms/pricing/us: $0.0083 per SMS segment,
# $0.0220 per MMS) with estimated carrier fees for registered 10DLC traffic: about
# $0.003 per SMS segment and $0.005 per MMS on AT&T and T-Mobile (they differ by
# carrier and change; the configuration's table is what counts). Break-even: 3 segments
# ($0.0339 as SMS, $0.0270 as one MMS); at the list prices alone also 3 ($0.0249, $0.0220).
US_10DLC_ESTIMATE = TextPrices(
    sms_segment_usd=0.0083, sms_carrier_fee_usd=0.003, mms_usd=0.0220, mms_carrier_fee_usd=0.005
)


def _exact(usd: float) -> Fraction:
    return Fraction(str(usd))  # the decimal as written, not the float's binary neighbour


def _per_segment(prices: TextPrices) -> Fraction:
    return _exact(prices.sms_segment_usd) + _exact(prices.sms_carrier_fee_usd)


def _per_mms(prices: TextPrices) -> Fraction | None:
    if prices.mms_usd is None:
        return None
    return _exact(prices.mms_usd) + _exact(prices.mms_carrier_fee_usd)


def sms_cost(segments: int, prices: TextPrices) -> float:
    """What the text costs as SMS: every segment at Twilio's price plus the carrier fee."""
    if segments < 1:
        raise ValueError(f"a text has 1 segment or more, not {segments}")
    return float(segments * _per_segment(prices))


def mms_cost(prices: TextPrices) -> float | None:
    """What the text costs as one MMS; None where no MMS goes."""
    per_mms = _per_mms(prices)
    return None if per_mms is None else float(per_mms)


def cheaper_as_mms(segments: int, prices: TextPrices | None) -> bool:
    """Whether one MMS costs strictly less than the text's segments as SMS (a tie stays
    SMS). None (no prices for the country) or no MMS price: False."""
    if segments < 1:
        raise ValueError(f"a text has 1 segment or more, not {segments}")
    if prices is None:
        return False
    per_mms = _per_mms(prices)
    return per_mms is not None and per_mms < segments * _per_segment(prices)


def break_even_segments(prices: TextPrices) -> int | None:
    """The fewest segments from which one MMS is cheaper; None where it never is."""
    per_mms, per_segment = _per_mms(prices), _per_segment(prices)
    if per_mms is None or per_segment == 0:
        return None
    return max(1, int(per_mms // per_segment) + 1)
