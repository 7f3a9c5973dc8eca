"""core/request_body.py: the size and depth a body is held to before parsing."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import request_body
from chalicelib.core.errors import BridgeError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\x', max_size=3), inner, max_size=3)
    ),
    max_leaves=20,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(deadline=None)  # a loaded CI machine must not fail it on time
@given(JSON)
def test_the_scan_finds_the_depth_the_parser_would(value):
    assert request_body.nesting_depth(json.dumps(value).encode()) == _depth(value)


def test_limits():
    request_body.check(b"[" * 8 + b"]" * 8)
    request_body.check(b"x" * request_body.MAX_BODY_BYTES)
    with pytest.raises(BridgeError) as deep:
        request_body.check(b"[" * 9 + b"]" * 9)
    assert (deep.value.status, deep.value.code) == (400, "invalid_json")
    with pytest.raises(BridgeError) as big:
        request_body.check(b"x" * (request_body.MAX_BODY_BYTES + 1))
    assert (big.value.status, big.value.code) == (413, "payload_too_large")


def test_brackets_inside_strings_do_not_count():
    assert request_body.nesting_depth(b'{"text": "[[[[[[[[[[{{{{{{ \\" [[[["}') == 1


@pytest.mark.parametrize(
    "raw", ["NaN", "[Infinity]", '{"a": -Infinity}', '"\\ud800"', '{"\\udfff": 1}', b"\xff", "1e999", '{"n": -1e400}']
)
def test_what_is_not_json_of_utf8_text_is_refused(raw):
    with pytest.raises(BridgeError) as refused:
        request_body.parse(raw)
    assert (refused.value.status, refused.value.code) == (400, "invalid_json")


def test_an_object_naming_a_key_twice_is_refused_saying_which():
    """A proxy or validator in front may read the first, Python the last: neither is taken."""
    with pytest.raises(BridgeError) as refused:
        request_body.parse('{"phone": "+14155550100", "text": "x", "phone": "+14155550199"}')
    assert (refused.value.status, refused.value.code) == (400, "invalid_json")
    assert "'phone' twice" in refused.value.message
    with pytest.raises(BridgeError):
        request_body.parse('{"a": {"b": 1, "b": 1}}')  # nested, and even when the values agree


def test_json_is_read_as_it_is():
    assert request_body.parse('{"text": "\\ud83d\\ude00", "n": 1.5}') == {"text": "😀", "n": 1.5}
