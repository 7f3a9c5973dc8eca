"""Hypothesis over the form-encoded webhook path (app._twilio_form and what
follows it): random parameters, raw bodies, encodings and content types,
posted to /twilio/sms and /twilio/status, signed and unsigned.

Properties: never a 5xx; an unsigned or wrongly signed request is 403 in the
error shape (415 for a content type the route does not take); a correctly
signed one is handled: 200 with TwiML from /twilio/sms, 204 from /twilio/status."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from conftest import ACCOUNT_SID, FUZZ_SETTINGS, POOL, sign_webhook
from hypothesis import given
from hypothesis import strategies as st

ALICE = "+14155550100"
TWILIO_NAMES = [
    "From",
    "To",
    "Body",
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "NumMedia",
    "MediaUrl0",
    "MediaUrl9",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "NumSegments",
    "OptOutType",
    "ApiVersion",
]
KEYWORDS = ["STOP", "stop ", "START", "HELP", "UNSUBSCRIBE", "Yes", "info", "STOPALL", "quit"]
STATUSES = [
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "accepted",
    "scheduled",
    "read",
    "canceled",
    "",
]

text = st.text(max_size=300)
phone_like = st.one_of(
    st.sampled_from([ALICE, *POOL, "+14155550199", "", " ", "+", "+1", "alice", "+1" + "9" * 20]),
    st.from_regex(r"\+[0-9]{1,15}", fullmatch=True),
    st.text(max_size=40),
)
values = st.one_of(text, phone_like, st.sampled_from(KEYWORDS + STATUSES), st.integers().map(str))
names = st.one_of(st.sampled_from(TWILIO_NAMES), st.text(min_size=1, max_size=30))
params = st.dictionaries(names, values, max_size=12)
# Parameters shaped like Twilio's, with the fields a route reads filled in (so the
# signed cases reach routing, keywords and status changes, not only the early exits).
inbound_params = st.fixed_dictionaries(
    {
        "From": phone_like,
        "To": st.sampled_from([*POOL, "+14155550188"]) | phone_like,
        "Body": st.one_of(text, st.sampled_from(KEYWORDS)),
        "MessageSid": st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), text),
    },
    optional={"NumMedia": values, "MediaUrl0": values, "AccountSid": st.just(ACCOUNT_SID)},
)
status_params = st.fixed_dictionaries(
    {"MessageStatus": st.sampled_from(STATUSES) | text},
    optional={"MessageSid": text, "ErrorCode": st.sampled_from(["30003", "21610", "", "x"]) | text, "SmsStatus": text},
)
raw_bodies = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8")),
    st.text(alphabet="%&=+;aZ09\x00", max_size=100).map(lambda t: t.encode("latin-1")),
)
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded; charset=ISO-8859-1",
    ]
)
other_content_types = st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x", "text/xml"])
query_ids = st.one_of(st.none(), st.just("msg_real"), text.filter(lambda t: t != ""))


@pytest.fixture
def world(bridge):
    """A pool, a verified user and an open session with one sent message, so
    signed requests can route, opt out and move a real message's status."""
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    sent = bridge.send(session["session_id"], "hello")
    bridge.queues.drain()
    return bridge, sent["message_id"]


def _post(bridge, path, body: bytes, content_type, signature, query: dict | None):
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    full = path + ("?" + urlencode(query) if query else "")
    return bridge.api.client.http.post(full, headers=headers, body=body)


def _assert_error_shape(response, status):
    assert response.status_code == status, (response.status_code, response.body[:500])
    answer = json.loads(response.body)
    assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message"}, answer
    assert isinstance(answer["error"]["code"], str) and answer["error"]["message"]
    assert b"Traceback" not in response.body


def _query(message_id, real_id):
    if message_id is None:
        return None
    return {"message_id": real_id if message_id == "msg_real" else message_id}


@FUZZ_SETTINGS
@given(data=st.data())
def test_signed_well_formed_webhooks_are_handled(world, data):
    bridge, real_id = world
    path = data.draw(st.sampled_from(["/twilio/sms", "/twilio/status"]))
    form = data.draw(inbound_params if path == "/twilio/sms" else status_params)
    query = _query(data.draw(query_ids), real_id) if path == "/twilio/status" else None
    signed_url_path = path + ("?" + urlencode(query) if query else "")
    response = _post(
        bridge, path, urlencode(form).encode(), data.draw(content_types), sign_webhook(signed_url_path, form), query
    )
    assert response.status_code < 500, response.body[:500]
    if path == "/twilio/sms":
        assert response.status_code == 200, response.body[:500]
        assert response.body.decode().startswith('<?xml version="1.0" encoding="UTF-8"?><Response')
    else:
        assert response.status_code == 204, response.body[:500]


@FUZZ_SETTINGS
@given(data=st.data())
def test_unsigned_or_wrongly_signed_webhooks_are_refused(world, data):
    bridge, real_id = world
    path = data.draw(st.sampled_from(["/twilio/sms", "/twilio/status"]))
    form = data.draw(params)
    signature = data.draw(
        st.one_of(
            st.none(),
            st.text(max_size=40).filter(lambda s: s.isascii() and s.isprintable()),
            st.just(sign_webhook(path, {**form, "Extra": "x"})),
            st.just(sign_webhook(path, form, token="not-the-auth-token")),
        )
    )
    query = _query(data.draw(query_ids), real_id)
    response = _post(bridge, path, urlencode(form).encode(), data.draw(content_types), signature, query)
    _assert_error_shape(response, 403)


@FUZZ_SETTINGS
@given(data=st.data())
def test_raw_bodies_in_any_encoding_never_cause_a_5xx(world, data):
    """Bodies that are not valid form encoding, nor UTF-8: refused unless the
    signature matches what the parser made of them (then handled)."""
    from urllib.parse import parse_qsl

    bridge, _ = world
    path = data.draw(st.sampled_from(["/twilio/sms", "/twilio/status"]))
    body = data.draw(raw_bodies)
    sign = data.draw(st.booleans())
    signature = None
    if sign:  # sign what the bridge will read, as Twilio would have signed it
        parsed = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        signature = sign_webhook(path, parsed)
    response = _post(bridge, path, body, data.draw(content_types), signature, None)
    assert response.status_code < 500, response.body[:500]
    if not sign:
        _assert_error_shape(response, 403)


@FUZZ_SETTINGS
@given(data=st.data())
def test_other_content_types_are_refused_in_the_error_shape(world, data):
    bridge, _ = world
    path = data.draw(st.sampled_from(["/twilio/sms", "/twilio/status"]))
    form = data.draw(params)
    response = _post(
        bridge, path, urlencode(form).encode(), data.draw(other_content_types), sign_webhook(path, form), None
    )
    _assert_error_shape(response, 415)
