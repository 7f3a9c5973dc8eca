"""The chat receiver's side of the chat page (devstack/chat_receiver.py): what the page is
shown of each signed POST (its signature checked, a repeat marked, a forgery refused with the
reason), the users it learns of, and the page's calls refused before they reach any bridge."""

from __future__ import annotations

import json
import time

import pytest
import requests

from chalicelib.core import event_signing as signing
from devstack.chat_receiver import FEED_LIMIT, ChatReceiver

SECRET = "receiver-test-secret"


@pytest.fixture
def receiver():
    started = ChatReceiver([SECRET]).start()
    yield started
    started.stop()


def post(receiver: ChatReceiver, event: dict, secret: str = SECRET) -> requests.Response:
    body = json.dumps(event).encode()
    header = signing.sign_all(body, [secret], int(time.time()))
    return requests.post(receiver.url, data=body, headers={"X-Bridge-Signature": header}, timeout=5)


def received(event_id: str, user_id: str = "nora") -> dict:
    return {"type": "message.received", "event_id": event_id, "created_at": 1, "user_id": user_id, "text": "hi"}


def test_the_feed_shows_each_post_with_its_signature_checked(receiver):
    assert post(receiver, received("ev1")).status_code == 204
    assert post(receiver, received("ev1")).status_code == 204  # the bridge's retry
    assert post(receiver, received("ev2"), secret="someone-else").status_code == 401
    unsigned = requests.post(receiver.url, data=b"{}", timeout=5)
    assert unsigned.status_code == 401

    feed = requests.get(receiver.base_url + "/chat/feed", timeout=5).json()

    first, repeat, forged, bare = feed["arrivals"]
    assert [a["n"] for a in feed["arrivals"]] == [1, 2, 3, 4]
    assert (first["verified"], first["repeat"], first["event"]["event_id"]) == (True, False, "ev1")
    assert first["signature"].startswith("t=") and ",v1=" in first["signature"]
    assert (repeat["verified"], repeat["repeat"]) == (True, True)
    assert (forged["verified"], forged["event"]) == (False, None)
    assert "CHAT_WEBHOOK_SECRET" in forged["rejected"]
    assert bare["rejected"] == "no X-Bridge-Signature"
    assert (feed["rejected"], feed["users"]) == (2, ["nora"])
    assert [e["event_id"] for e in receiver.events] == ["ev1"]  # GET /events as before: deduped


def test_the_feed_keeps_the_latest_arrivals(receiver):
    for n in range(FEED_LIMIT + 3):
        post(receiver, received(f"ev{n}", user_id=f"user{n % 2}"))
    arrivals = requests.get(receiver.base_url + "/chat/feed", timeout=5).json()["arrivals"]
    assert len(arrivals) == FEED_LIMIT and arrivals[-1]["n"] == FEED_LIMIT + 3


def test_the_page_and_both_pages_are_served_at_the_root(receiver):
    page = requests.get(receiver.base_url + "/", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "/chat/api" in page.text and "/chat/feed" in page.text
    both = requests.get(receiver.base_url + "/both", timeout=5).text
    assert 'src="/"' in both and "phone_page_url" in both


@pytest.mark.parametrize(
    "headers, path, status, code",
    [
        ({}, "/users/nora/phone", 403, "not_the_chat_page"),  # another site's page cannot add the header
        ({"X-Chat-Page": "1"}, "/users/nora/phone", 503, "no_bridge"),  # started without a bridge
        ({"X-Chat-Page": "1"}, "/numbers", 404, "not_forwarded"),
        ({"X-Chat-Page": "1"}, "/users/../numbers/phone", 404, "not_forwarded"),
        ({"X-Chat-Page": "1"}, "/sessions/..", 404, "not_forwarded"),
    ],
)
def test_a_call_the_page_may_not_make_is_refused_with_the_reason(receiver, headers, path, status, code):
    answer = requests.get(receiver.base_url + "/chat/api" + path, headers=headers, timeout=5)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert answer.json()["error"]["message"]
