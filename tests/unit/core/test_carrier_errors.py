"""The table of carrier outcomes (README "Carrier outcomes") and the campaign's rate."""

import pytest

from chalicelib.core import carrier_errors as ce


@pytest.mark.parametrize(
    "code, kind",
    [
        ("30003", ce.PHONE),
        ("30005", ce.PHONE),
        (30006, ce.PHONE),
        ("30007", ce.POOL),
        ("30034", ce.POOL),
        ("30032", ce.POOL),
        ("21408", ce.POOL),
        ("21610", ce.OPTED_OUT),
        ("30008", ce.UNKNOWN),
        ("30001", ce.OTHER),
        (None, ce.OTHER),
    ],
)
def test_each_code_has_its_class(code, kind):
    assert ce.classify(code) == kind


def test_reasons_are_short_and_always_there_for_a_code():
    assert ce.reason("30034").startswith("sending number not registered")
    assert ce.reason("30001") == "Twilio error 30001"
    assert ce.reason("expired").startswith("not sent within")
    assert ce.reason(None) is None
    assert all(len(reason) <= 80 for _, reason in ce.OUTCOMES.values())
