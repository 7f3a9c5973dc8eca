"""The id rule (core/identifiers.py): an id that passes reads the same encoded
and decoded, so no two distinct ids can name one thing."""

from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import identifiers
from chalicelib.core.errors import BridgeError


@settings(deadline=None)  # a loaded CI machine must not fail it on time
@given(st.text(max_size=140))
def test_a_valid_id_needs_no_percent_encoding_and_decodes_to_itself(value):
    if identifiers.is_valid_id(value):
        assert quote(value, safe="") == value == unquote(value)
        assert 1 <= len(value) <= identifiers.MAX_ID


@settings(deadline=None)  # a loaded CI machine must not fail it on time
@given(st.text(min_size=1, max_size=20))
def test_an_id_and_its_encoding_are_never_both_valid_unless_equal(value):
    encoded = quote(value, safe="")
    if encoded != value:
        assert not (identifiers.is_valid_id(value) and identifiers.is_valid_id(encoded))


@pytest.mark.parametrize("good", ["alice", "a.b_c~d-e", "A" * 128, "0"])
def test_good_ids(good):
    assert identifiers.require_id(good, "user_id") == good


@pytest.mark.parametrize("bad", ["", "a" * 129, "a%23b", "p/q", "a b", "a#b", "é", "a+b", "a\nb", None, 7, ["a"]])
def test_bad_ids_are_invalid_id(bad):
    with pytest.raises(BridgeError) as raised:
        identifiers.require_id(bad, "partner_id")
    assert raised.value.code == "invalid_id" and "partner_id" in raised.value.message
