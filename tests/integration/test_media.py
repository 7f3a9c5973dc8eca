"""Pictures both ways, through the API, the queues and the Twilio stand-in over loopback:
an upload through its presigned PUT reaches the phone as an MMS of the same bytes;
what Twilio cannot send is refused with invalid_media and nothing goes out."""

from __future__ import annotations

import boto3
import pytest
import requests
from conftest import POOL, PREFIX

from chalicelib.adapters.twilio import TwilioError, TwilioGateway
from chalicelib.core import media_rules
from chalicelib.usecases.context import Context

ALICE = "+14155550100"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
GIF = b"GIF89a" + b"\x01" * 2048


def upload(bridge, content: bytes, content_type: str) -> str:
    created = bridge.api.post("/media", {"content_type": content_type, "size": len(content)})
    assert created.status_code == 201, created.body
    answer = created.json
    assert answer["max_bytes"] == media_rules.MAX_TOTAL_BYTES and answer["expires_at"] > 0
    put = requests.put(answer["upload_url"], data=content, headers=answer["upload_headers"], timeout=10)
    assert put.status_code == 200, put.text
    return answer["media_id"]


@pytest.fixture
def session(bridge):
    bridge.add_pool(POOL[0])
    bridge.verified_user("alice", ALICE)
    return bridge.open_session("alice", "bob", "Bob")


def test_an_attachment_reaches_the_phone_as_an_mms_of_the_same_bytes(bridge, session):
    png, gif = upload(bridge, PNG, "image/png"), upload(bridge, GIF, "image/gif")
    accepted = bridge.send(session["session_id"], "", media_ids=[png, gif])
    bridge.queues.drain()

    (mms,) = [m for m in bridge.twilio.sms_to(ALICE) if m.media_urls]
    assert mms.error_code is None, (mms.error_code, mms.error_message)
    # Twilio is given the bridge's links, which answer its HEAD as well as its GET.
    assert all(url.startswith("https://bridge.example.test/api/l/med_") for url in mms.media_urls)
    assert [(m.content_type, m.content) for m in mms.media] == [("image/png", PNG), ("image/gif", GIF)]
    assert mms.body == "Bob: " and mms.status != "failed"
    message = bridge.api.get(f"/messages/{accepted['message_id']}").json
    assert message["status"] == "sent" and message["segments"] == 1  # an MMS is one message


def test_text_with_a_picture(bridge, session):
    media_id = upload(bridge, PNG, "image/png")
    bridge.send(session["session_id"], "Look at this", media_ids=[media_id])
    bridge.queues.drain()
    (mms,) = [m for m in bridge.twilio.sms_to(ALICE) if m.media_urls]
    assert mms.body == "Bob: Look at this" and mms.media[0].content == PNG


def _refused(bridge, session, body: dict, words: str) -> None:
    before = len(bridge.twilio.sms_to(ALICE))
    answer = bridge.api.post(f"/sessions/{session['session_id']}/messages", body)
    assert answer.status_code == 400, answer.body
    assert answer.json["error"]["code"] == "invalid_media"
    assert words in answer.json["error"]["message"]
    bridge.queues.drain()
    assert len(bridge.twilio.sms_to(ALICE)) == before


def test_what_twilio_cannot_send_is_refused_and_nothing_is_sent(bridge, session):
    refused = bridge.api.post("/media", {"content_type": "text/html", "size": 10})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid_media"
    too_big = bridge.api.post("/media", {"content_type": "image/png", "size": media_rules.MAX_TOTAL_BYTES + 1})
    assert too_big.status_code == 400 and too_big.json["error"]["code"] == "invalid_media"

    never_uploaded = media_rules.new_media_id()
    _refused(bridge, session, {"media_ids": [never_uploaded]}, never_uploaded)
    _refused(bridge, session, {"media_ids": ["../etc/passwd"]}, "not a media id")
    _refused(bridge, session, {"media_ids": [media_rules.new_media_id() for _ in range(11)]}, "at most 10")

    # An object whose stored type is not one Twilio sends (a PUT that lied about it).
    s3 = boto3.client("s3")
    html = media_rules.new_media_id()
    s3.put_object(Bucket=f"{PREFIX}media", Key=media_rules.outbound_key(html), Body=b"<p>", ContentType="text/html")
    _refused(bridge, session, {"text": "hi", "media_ids": [html]}, "text/html")

    # Two pictures that are each allowed but together over Twilio's 5 MB.
    half = media_rules.MAX_TOTAL_BYTES // 2 + 1
    big = [upload(bridge, b"\xff" * half, "image/jpeg") for _ in range(2)]
    _refused(bridge, session, {"media_ids": big}, "add up to")


def test_an_mms_whose_media_twilio_cannot_fetch_fails_by_status(bridge):
    from devstack.twilio.media import ERR_MEDIA_FETCH
    from devstack.twilio.media_fetch import fetch_media

    media, error = fetch_media(["http://127.0.0.1:9/nothing.png"])
    assert media == [] and error[0] == ERR_MEDIA_FETCH


# --- inbound: an MMS from a phone -------------------------------------------------------


def phone_sends_mms(bridge, pool_number: str, text: str, media: list[tuple[str, bytes]]):
    """The phone's MMS as the stand-in keeps it, and Twilio's signed webhook for it."""
    from conftest import post_webhook

    from devstack.twilio.inbound import webhook_params
    from devstack.twilio.media import new_media

    state = bridge.twilio.state
    inbound = state.add_message(
        direction="inbound",
        from_=ALICE,
        to=pool_number,
        body=text,
        status="received",
        media=[new_media(kind, content) for kind, content in media],
    )
    params = webhook_params(state, inbound, "")
    return params, inbound, lambda: post_webhook(bridge.api, "/twilio/sms", params)


def test_an_mms_from_a_phone_reaches_chat_as_our_own_urls_and_leaves_twilio(bridge, session):
    params, inbound, post = phone_sends_mms(
        bridge, session["pool_number"], "Here", [("image/png", PNG), ("image/gif", GIF)]
    )
    assert params["MediaUrl0"].startswith("https://api.twilio.com/")
    assert post().status_code == 200
    bridge.queues.drain()

    (event,) = bridge.chat.of_type("message.received")
    media = event["data"]["media"] if "data" in event else event["media"]
    assert [(m["content_type"], m["size"]) for m in media] == [("image/png", len(PNG)), ("image/gif", len(GIF))]
    assert [requests.get(m["url"], timeout=10).content for m in media] == [PNG, GIF]
    urls = event["data"]["media_urls"] if "data" in event else event["media_urls"]
    assert urls == [m["url"] for m in media] and not any("twilio.com" in u for u in urls)
    assert inbound.media == []  # deleted at Twilio

    # Twilio retries the webhook: nothing is copied again, nothing reported twice.
    assert post().status_code == 200
    bridge.queues.drain()
    assert len(bridge.chat.of_type("message.received")) == 1
    shown = bridge.api.get(f"/sessions/{session['session_id']}/messages").json["messages"][-1]
    assert [requests.get(m["url"], timeout=10).content for m in shown["media"]] == [PNG, GIF]


class FlakyTwilio(TwilioGateway):
    """Twilio answering 503 for the media named in `failing`."""

    def __init__(self):
        super().__init__()
        self.failing: set[str] = set()
        self.fetched: list[str] = []

    def fetch_media(self, url, timeout=10):
        self.fetched.append(url)
        if url.rsplit("/", 1)[-1] in self.failing:
            raise TwilioError("media answered 503", status=503, code=None, retryable=True)
        return super().fetch_media(url, timeout)


def test_a_retry_after_a_partial_copy_fetches_only_what_is_missing(bridge, session):
    import app as app_module

    flaky = FlakyTwilio()
    app_module.configure(Context(twilio=flaky))
    params, inbound, post = phone_sends_mms(
        bridge, session["pool_number"], "", [("image/png", PNG), ("image/gif", GIF)]
    )
    flaky.failing = {inbound.media[1].sid}
    assert post().status_code == 503  # Twilio retries; the text is not reported without its pictures
    bridge.queues.drain()
    assert bridge.chat.of_type("message.received") == []
    assert len(inbound.media) == 2, "nothing is deleted at Twilio while a copy is missing"

    flaky.failing, flaky.fetched = set(), []
    assert post().status_code == 200
    assert flaky.fetched == [params["MediaUrl1"]]  # the first came from the bucket
    bridge.queues.drain()
    (event,) = bridge.chat.of_type("message.received")
    media = event["data"]["media"] if "data" in event else event["media"]
    assert [requests.get(m["url"], timeout=10).content for m in media] == [PNG, GIF]
    assert inbound.media == []


def test_media_urls_that_are_not_twilios_are_not_fetched(bridge, session):
    from conftest import post_webhook

    params = {
        "From": ALICE,
        "To": session["pool_number"],
        "Body": "hi",
        "MessageSid": "SM" + "a" * 32,
        "NumMedia": "1",
        "MediaUrl0": "https://media.example/1",
    }
    assert post_webhook(bridge.api, "/twilio/sms", params).status_code == 200
    bridge.queues.drain()
    (event,) = bridge.chat.of_type("message.received")
    assert (event.get("data") or event)["media_urls"] == []


def test_a_phone_outside_the_us_and_canada_gets_links_instead(bridge, monkeypatch):
    abroad = "+447911123456"
    monkeypatch.setenv("ALLOWED_COUNTRIES", "US,CA,GG")  # this operator also verifies Guernsey's mobiles
    bridge.add_pool(POOL[0])
    bridge.verified_user("alice", abroad)
    session = bridge.open_session("alice", "bob", "Bob")
    media_id = upload(bridge, PNG, "image/png")
    accepted = bridge.send(session["session_id"], "Look", media_ids=[media_id])
    assert accepted["media_delivery"] == "links"
    bridge.queues.drain()

    (sms,) = [m for m in bridge.twilio.sms_to(abroad) if "Look" in m.body]
    assert sms.media_urls == () and sms.body.startswith("Bob: Look\nPicture: https://bridge.example.test/api/l/med_")
    link = sms.body.rsplit(" ", 1)[-1]
    opened = bridge.api.get(link.removeprefix("https://bridge.example.test/api"), token=None)
    assert opened.status_code == 302
    assert requests.get(opened.headers["Location"], timeout=10).content == PNG
    shown = bridge.api.get(f"/messages/{accepted['message_id']}").json
    assert shown["media_delivery"] == "links" and shown["status"] == "sent"
    (status,) = [
        e for e in bridge.chat.of_type("message.status") if (e.get("data") or e)["message_id"] == accepted["message_id"]
    ]
    assert (status.get("data") or status)["media_delivery"] == "links"

    forged = link.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    assert bridge.api.get(forged.removeprefix("https://bridge.example.test/api"), token=None).status_code == 404


def test_an_unrouted_mms_leaves_nothing_at_twilio(bridge, session):
    other = POOL[1]
    bridge.twilio.own(other)
    _, inbound, post = phone_sends_mms(bridge, other, "hello?", [("image/png", PNG)])
    assert post().status_code == 200
    bridge.queues.drain()
    assert bridge.chat.of_type("sms.unrouted") and inbound.media == []


def test_mms_are_counted_and_priced_apart_from_segments(bridge, session):
    bridge.send(session["session_id"], "Plain text")
    bridge.send(session["session_id"], "With a picture", media_ids=[upload(bridge, PNG, "image/png")])
    bridge.queues.drain()
    # The picture's slot is a second after the text's: the sender handed it back to SQS until
    # then (moto keeps real time; the test's clock is virtual).
    bridge.queues.end_waits("sms-bridge-dev-outbound.fifo")
    bridge.queues.drain()
    _, _, post = phone_sends_mms(bridge, session["pool_number"], "back", [("image/png", PNG)])
    assert post().status_code == 200
    bridge.queues.drain()  # what came in is counted by the delivery consumer, from the event it causes
    report = bridge.api.get("/numbers/stats").json
    (row,) = [r for r in report["numbers"] if r["phone_number"] == session["pool_number"]]
    # Alice's verification code and "Plain text" are SMS; the MMS each way are counted apart.
    assert (row["mms_sent"], row["mms_received"], row["segments_sent"], row["segments_received"]) == (1, 1, 2, 0)
    assert row["messages_sent"] == 3 and row["messages_received"] == 1
    prices = report["prices"]
    assert report["estimated_cost_usd"]["mms_sent"] == prices["mms_out_usd"]
    assert report["estimated_cost_usd"]["mms_received"] == prices["mms_in_usd"]


def test_a_number_without_mms_sends_links_instead(bridge):
    bridge.twilio.state.add_number(POOL[2], mms_capable=False)  # an SMS-only number
    assert bridge.api.post("/numbers", {"phone_number": POOL[2]}).status_code == 201
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    assert session["pool_number"] == POOL[2]
    accepted = bridge.send(session["session_id"], "Look", media_ids=[upload(bridge, PNG, "image/png")])
    assert accepted["media_delivery"] == "links"
    bridge.queues.drain()
    (sms,) = [m for m in bridge.twilio.sms_to(ALICE) if "Look" in m.body]
    assert sms.media_urls == () and "\nPicture: https://bridge.example.test/api/l/med_" in sms.body
