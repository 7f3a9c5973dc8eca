import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.core.phone_numbers import parse


@pytest.mark.parametrize(
    "raw, e164, country, area",
    [
        ("+14155550100", "+14155550100", "US", "415"),
        ("(415) 555-0100", "+14155550100", "US", "415"),
        ("415.555.0100", "+14155550100", "US", "415"),
        ("+44 20 7946 0000", "+442079460000", "GB", "20"),
    ],
)
def test_common_forms_normalise_to_e164(raw, e164, country, area):
    number = parse(raw, "US")
    assert (number.e164, number.country, number.area_code) == (e164, country, area)


@pytest.mark.parametrize("raw", ["", "12345", "+1415555010", "not a phone", None, 14155550100])
def test_invalid_numbers_are_refused_with_invalid_phone(raw):
    with pytest.raises(BridgeError) as error:
        parse(raw, "US")
    assert error.value.code == "invalid_phone" and error.value.status == 400
