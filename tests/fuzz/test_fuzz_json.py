"""Hypothesis over the JSON bodies of the API: for every route that takes a
body, random JSON values (any type, NaN and huge numbers included), objects
with the route's own fields set to random values, and bytes that are not JSON.

Properties: never a 5xx; every error is {"error": {"code", "message"}} with a
snake_case code; every success is a JSON object."""

from __future__ import annotations

import json
import re

import pytest
from conftest import API_TOKEN, FUZZ_SETTINGS, POOL
from hypothesis import given
from hypothesis import strategies as st

ALICE = "+14155550100"
# Each JSON route: (method, path template, the fields it reads).
JSON_ROUTES = [
    ("PUT", "/users/{user}/phone", ["phone"]),
    ("POST", "/users/{user}/phone/verify", ["code"]),
    ("PUT", "/users/{user}/presence", ["away"]),
    ("POST", "/sessions", ["user_id", "partner_id", "partner_name"]),
    ("POST", "/sessions/{session}/messages", ["text", "client_message_id"]),
    ("POST", "/numbers", ["area_code", "phone_number", "segments_per_second"]),
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.sampled_from(["", " ", "alice", "bob", ALICE, *POOL, "415", "123456", "0", "-1", "1e309", "\x00", "🙂" * 5]),
    st.text(min_size=1500, max_size=1700),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


def shaped(fields):
    """Objects with the route's own fields (some, all, or extra) set to random values."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(fields, json_values)).flatmap(
        lambda base: st.dictionaries(st.text(max_size=12), json_values, max_size=3).map(lambda extra: {**extra, **base})
    )


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"[]", b"null", b"{}", b'{"a":1}{"b":2}', b"\xff\xfe{}", b'{"text": "\\ud800"}']),
)


@pytest.fixture
def world(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    assert bridge.api.put("/users/alice/presence", {"away": True}).status_code == 200
    session = bridge.open_session("alice", "bob", "Bob")
    return bridge, {"user": "alice", "session": session["session_id"]}


def _assert_answer(response):
    assert response.status_code < 500, (response.status_code, response.body[:500])
    if response.status_code == 204:
        return
    answer = json.loads(response.body)
    assert isinstance(answer, dict)
    if response.status_code >= 400:
        assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message"}, answer
        assert re.fullmatch(r"[a-z0-9_]+", answer["error"]["code"]), answer
        assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
        assert "Traceback" not in answer["error"]["message"]


def _call(bridge, method, path, raw: bytes):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"}
    return getattr(bridge.api.client.http, method.lower())(path, headers=headers, body=raw)


@FUZZ_SETTINGS
@given(data=st.data())
def test_route_fields_with_random_values(world, data):
    bridge, ids = world
    method, template, fields = data.draw(st.sampled_from(JSON_ROUTES))
    body = data.draw(shaped(fields))
    _assert_answer(_call(bridge, method, template.format(**ids), json.dumps(body).encode()))


@FUZZ_SETTINGS
@given(data=st.data())
def test_any_body_at_all(world, data):
    bridge, ids = world
    method, template, _ = data.draw(st.sampled_from(JSON_ROUTES))
    _assert_answer(_call(bridge, method, template.format(**ids), data.draw(bodies)))
