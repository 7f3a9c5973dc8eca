"""Every API route (all of app.app.routes but Twilio's) needs a valid bearer
token: without one, or with a wrong one, it answers 401 in the error shape and
touches nothing (no AWS call, no Twilio call). Tokens and signatures are
compared in constant time (twilio's compare by counting the character comparisons it makes)."""

from __future__ import annotations

import ast
import dataclasses
import hmac
import inspect
import json
import re

import pytest
from conftest import API_TOKEN

import app as app_module
from chalicelib.core import event_signing as signing
from chalicelib.usecases import api_auth as auth

SAMPLE_PATH_VALUES = {"phone_number": "+14155550101"}
SAMPLE_BODIES = {
    ("/users/{user_id}/phone", "PUT"): {"phone": "+14155550100"},
    ("/users/{user_id}/phone/verify", "POST"): {"code": "123456"},
    ("/users/{user_id}/presence", "PUT"): {"away": True},
    ("/sessions", "POST"): {"user_id": "alice", "partner_id": "bob"},
    ("/sessions/{session_id}/messages", "POST"): {"text": "hi"},
    ("/numbers", "POST"): {"area_code": "415"},
}


def api_routes() -> list[tuple[str, str]]:
    found = [
        (path, method)
        for path, methods in sorted(app_module.app.routes.items())
        for method in sorted(methods)
        # Public by design: Twilio's webhooks (signed by Twilio) and the media links Twilio and
        # phones open (each signed by the bridge: tests/integration/test_media.py).
        if not path.startswith(("/twilio/", "/l/"))
    ]
    assert len(found) >= 15, found  # every route of openapi.yaml but Twilio's two
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x1"), path)


BAD_AUTHORIZATIONS = {
    "missing": None,
    "empty": "",
    "scheme only": "Bearer",
    "scheme and space": "Bearer ",
    "wrong token": "Bearer not-the-token",
    "token with a suffix": f"Bearer {API_TOKEN}x",
    "prefix of the token": f"Bearer {API_TOKEN[:-1]}",
    "token in upper case": f"Bearer {API_TOKEN.upper()}",
    "basic scheme": f"Basic {API_TOKEN}",
    "token without scheme": API_TOKEN,
    "two tokens": f"Bearer {API_TOKEN},{API_TOKEN}",
    "non-ASCII token": "Bearer tökén",
}


class Recorded:
    """A part of the app's context that notes each of its methods called (and then does it)."""

    def __init__(self, part, calls: list[str], name: str):
        self._part, self._calls, self._name = part, calls, name

    def __getattr__(self, attribute):
        value = getattr(self._part, attribute)
        if not callable(value) or attribute == "configure":  # the settings handed over: no AWS call
            return value

        def called(*args, **kwargs):
            self._calls.append(f"{self._name}.{attribute}")
            return value(*args, **kwargs)

        return called


@pytest.fixture
def aws_calls(api):
    """Every use of the app's AWS parts: its repositories (DynamoDB), queues (SQS), media bucket (S3)."""
    calls: list[str] = []
    ctx = app_module.context
    store = dataclasses.replace(
        ctx.store,
        **{f.name: Recorded(getattr(ctx.store, f.name), calls, f.name) for f in dataclasses.fields(ctx.store)},
    )
    app_module.configure(
        dataclasses.replace(
            ctx,
            store=store,
            queues=Recorded(ctx.queues, calls, "queues"),
            media_store=Recorded(ctx.media_store, calls, "media_store"),
        )
    )
    yield calls
    app_module.configure(ctx)


@pytest.mark.parametrize("route", api_routes(), ids=lambda r: f"{r[1]} {r[0]}")
def test_every_api_route_refuses_a_missing_or_wrong_token(api, aws_calls, route):
    path, method = route
    body = SAMPLE_BODIES.get((path, method))
    for name, authorization in BAD_AUTHORIZATIONS.items():
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        response = getattr(api.client.http, method.lower())(
            concrete(path), headers=headers, body=json.dumps(body) if body is not None else None
        )
        assert response.status_code == 401, (name, response.status_code, response.body)
        answer = json.loads(response.body)
        assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message"}, (name, answer)
        assert answer["error"]["code"] == "unauthorized" and answer["error"]["message"]
        assert API_TOKEN not in response.body.decode(), "the answer never echoes a token"
    assert aws_calls == [], "an unauthenticated request reached DynamoDB or SQS"


def test_the_right_token_is_let_through_on_every_route(api, aws_calls):
    """The negative test above is only meaningful if the same calls with the
    token get past authentication (any answer but 401)."""
    for path, method in api_routes():
        body = SAMPLE_BODIES.get((path, method))
        response = api.call(method, concrete(path), body)
        assert response.status_code != 401, (method, path, response.body)
    assert "phones.user" in aws_calls and "pool.numbers" in aws_calls, "and the recorder sees what they touch"


def test_every_configured_token_is_compared_with_compare_digest(api, monkeypatch):
    """Each request compares the candidate with every configured token through
    hmac.compare_digest, whether and wherever it matches: no early exit, no ==."""
    tokens = ["first-token", "second-token", "third-token"]
    monkeypatch.setenv("API_TOKENS", ",".join(tokens))
    compared = []
    real = hmac.compare_digest

    def recording(a, b):
        compared.append((a, b))
        return real(a, b)

    # A spy on the standard library's compare_digest, the thing observed (not replaced): no
    # seam passes it in, and sys.monitoring sees a call's first argument only.
    monkeypatch.setattr(auth.hmac, "compare_digest", recording)
    for candidate, expected_status in [
        ("first-token", 200),
        ("third-token", 200),
        ("wrong", 401),
        ("first-tokenx", 401),
    ]:
        compared.clear()
        response = api.get("/numbers", token=candidate)
        assert response.status_code == expected_status, (candidate, response.body)
        assert sorted(b for _, b in compared) == sorted(t.encode() for t in tokens), candidate
        assert {a for a, _ in compared} == {candidate.encode()}


def test_no_secret_is_compared_with_an_ordinary_operator():
    """Structural: in the functions that check secrets, no ==, !=, in or
    startswith touches a secret value; only hmac.compare_digest does."""
    secret_names = {"candidate", "known", "token", "given", "expected", "e", "g", "signature"}
    for function in (auth.require_bearer, signing.verify):
        tree = ast.parse(inspect.getsource(function).lstrip())
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                # `not token` (emptiness) is not a comparison; scheme and timestamp checks are public values.
                assert not (names & secret_names - {"token"}), ast.unparse(node)
                if "token" in names:
                    pytest.fail(f"token compared with an operator: {ast.unparse(node)}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr
                in (
                    "startswith",
                    "endswith",
                    "find",
                    "index",
                )
            ):
                names = {n.id for n in ast.walk(node.func.value) if isinstance(n, ast.Name)}
                assert not names & secret_names, ast.unparse(node)


_COMPARED: list[str] = []  # the characters compared so far, one entry per comparison


class _CountedCharacter(str):
    """One character that counts the comparisons made with it."""

    def __eq__(self, other):
        _COMPARED.append(str(self))
        return str.__eq__(self, other)

    def __ne__(self, other):
        _COMPARED.append(str(self))
        return str.__ne__(self, other)

    __hash__ = str.__hash__


class _Counted(str):
    """A string whose characters count their comparisons, however they are walked."""

    def __iter__(self):
        return (_CountedCharacter(c) for c in str.__str__(self))

    def __getitem__(self, index):
        return _CountedCharacter(str.__getitem__(self, index))


def _comparisons(compare, expected: str, given: str) -> tuple[bool, int]:
    _COMPARED.clear()
    return compare(_Counted(expected), _Counted(given)), len(_COMPARED)


def test_twilio_signatures_are_compared_in_constant_time(bridge, monkeypatch):
    """The webhook check is twilio's RequestValidator, whose compare() decides; and that
    compare takes as long for a forgery wrong in its first character as for one wrong in
    its last or for the right signature: it compares every character (or hands the pair to
    hmac.compare_digest), never stopping at the first difference."""
    from conftest import post_webhook
    from twilio import request_validator

    calls = []
    real = request_validator.compare
    # Spies on twilio's compare and compare_digest, observed and not replaced (as above).
    monkeypatch.setattr(request_validator, "compare", lambda a, b: calls.append((a, b)) or real(a, b))
    params = {"From": "+14155550100", "To": "+14155550101", "Body": "x", "MessageSid": "SM" + "c" * 32}
    assert post_webhook(bridge.api, "/twilio/sms", params, signature="forged").status_code == 403
    assert calls and all(b == "forged" for _, b in calls)

    expected = calls[0][0]  # the signature the bridge computed for this request
    digests = []
    real_digest = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: digests.append((a, b)) or real_digest(a, b))
    flip = {"A": "B"}.get
    wrong_first = (flip(expected[0]) or "A") + expected[1:]
    wrong_last = expected[:-1] + (flip(expected[-1]) or "A")
    outcomes = {given: _comparisons(real, expected, given) for given in (wrong_first, wrong_last, expected)}
    assert [ok for ok, _ in outcomes.values()] == [False, False, True]
    if digests:
        assert len(digests) == 3, "every pair goes to hmac.compare_digest"
    else:
        assert {count for _, count in outcomes.values()} == {len(expected)}, outcomes


def test_chat_signatures_are_compared_with_compare_digest(monkeypatch):
    compared = []
    real = hmac.compare_digest
    # A spy on compare_digest, as above: what is observed, not replaced.
    monkeypatch.setattr(signing.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    header = signing.sign_all(b"{}", ["s1"], 1000)
    assert signing.verify(b"{}", header, ["s0", "s1", "s2"], now=1000)
    assert len(compared) >= 2 and all(isinstance(a, bytes) for a, _ in compared)


def test_a_media_link_that_is_not_the_bridges_own_signature_opens_nothing(api, aws_calls):
    """/l/{token} needs no bearer token (Twilio and phones open it), so the token itself
    is the credential: anything but a token the bridge signed is refused, touching nothing."""
    for token in ("0", "med_x.1799999999.deadbeef", "../../etc/passwd", "a" * 300):
        for method in ("get", "head"):
            response = getattr(api.client.http, method)(f"/l/{token}")
            assert response.status_code in (403, 404), (token, method, response.status_code)
    assert aws_calls == [], "a forged link reached S3, DynamoDB or SQS"
