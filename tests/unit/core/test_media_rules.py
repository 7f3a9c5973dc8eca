import pytest

from chalicelib.core import media_rules
from chalicelib.core.errors import BridgeError
from chalicelib.core.media_rules import MAX_TOTAL_BYTES, Media


def test_uploads_of_types_twilio_sends_within_the_limit():
    assert media_rules.validate_upload("Image/JPEG; charset=binary", 10) == ("image/jpeg", 10)
    for content_type, size in (
        ("text/html", 10),
        ("image/png", 0),
        ("image/png", MAX_TOTAL_BYTES + 1),
        ("image/png", True),
        ("image/png", "10"),
        (None, 10),
    ):
        with pytest.raises(BridgeError) as refused:
            media_rules.validate_upload(content_type, size)
        assert refused.value.code == "invalid_media"


def test_a_set_names_what_is_wrong():
    ok = Media("out/a", "image/png", 10)
    assert media_rules.check_set({"a": ok}) == [ok]
    with pytest.raises(BridgeError, match="med_x not uploaded"):
        media_rules.check_set({"a": ok, "med_x": None})
    with pytest.raises(BridgeError, match="text/html"):
        media_rules.check_set({"a": Media("k", "text/html", 1)})
    with pytest.raises(BridgeError, match="add up to"):
        media_rules.check_set({"a": Media("k", "image/png", MAX_TOTAL_BYTES), "b": Media("l", "image/gif", 1)})


def test_media_ids():
    ids = [media_rules.new_media_id() for _ in range(10)]
    assert media_rules.validate_media_ids(ids) == ids
    assert media_rules.validate_media_ids(None) == []
    for bad in ([*ids, media_rules.new_media_id()], [ids[0], ids[0]], ["out/../x"], "med_1", [1]):
        with pytest.raises(BridgeError):
            media_rules.validate_media_ids(bad)


@pytest.mark.parametrize(
    "phone, reaches",
    [("+14155550100", True), ("+16045550100", True), ("+447911123456", False), ("+33612345678", False)],
)
def test_mms_goes_to_the_us_and_canada_only(phone, reaches):
    assert media_rules.mms_reaches(phone) is reaches


def test_links_are_signed_and_expire():
    key, other = b"secret", b"other"
    media_id = media_rules.new_media_id()
    token = media_rules.link_token(key, media_id, 2000)
    assert len(token) < 80
    assert media_rules.media_id_of_link(token, [other, key], now=1999) == media_id  # during a rotation
    assert media_rules.media_id_of_link(token, [key], now=2001) is None
    assert media_rules.media_id_of_link(token, [other], now=1999) is None
    assert media_rules.media_id_of_link(token.replace(".2000.", ".3000."), [key], now=1999) is None
    assert media_rules.delivery("+447911123456") == media_rules.LINKS
    assert media_rules.delivery("+14155550100") == media_rules.MMS
    assert media_rules.delivery("+14155550100", number_has_mms=False) == media_rules.LINKS
