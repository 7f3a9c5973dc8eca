"""MMS in the Twilio stand-in: MediaUrl fetched as Twilio does (a failure fails the
message by its status callback), inbound media behind basic auth, the Media resource
listed, fetched and deleted, every request checked against the 2010 spec."""

import base64

import pytest
import requests
from standin_receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from devstack.twilio import media as standin_media
from devstack.twilio.server import StandinHttpClient, serve

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "standin-test-token"
POOL_NUMBER = "+14155550100"
USER_PHONE = "+14155550123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
WAIT = 5


@pytest.fixture
def standin():
    server = serve(
        port=0, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, callback_delay=0, seed_numbers=(POOL_NUMBER,)
    )
    yield server
    server.shutdown()


@pytest.fixture
def client(standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=StandinHttpClient(standin.url))


def test_media_urls_are_fetched_and_kept_with_the_message(standin, client, receiver):
    receiver.replies["/pic.png"] = (200, PNG, "image/png")
    created = client.messages.create(
        to=USER_PHONE, from_=POOL_NUMBER, body="look", media_url=[f"{receiver.url}/pic.png"]
    )
    assert created.num_media == "1"
    message = standin.state.messages[created.sid]
    assert [(m.content_type, m.content) for m in message.media] == [("image/png", PNG)]
    (listed,) = client.messages(created.sid).media.list()
    assert listed.content_type == "image/png"


@pytest.mark.parametrize(
    "reply, code",
    [
        ((404, "gone", "text/plain"), standin_media.ERR_MEDIA_FETCH),
        ((200, "<html>", "text/html"), standin_media.ERR_MEDIA_TYPE),
    ],
)
def test_media_twilio_cannot_take_fail_the_message_by_callback(standin, client, receiver, reply, code):
    receiver.replies["/pic"] = reply
    created = client.messages.create(
        to=USER_PHONE,
        from_=POOL_NUMBER,
        body="look",
        media_url=[f"{receiver.url}/pic"],
        status_callback=f"{receiver.url}/twilio/status",
    )
    (call,) = receiver.wait_for_calls(1, "/twilio/status")
    assert call["form"]["MessageStatus"] == "failed" and call["form"]["ErrorCode"] == str(code)
    assert standin.state.messages[created.sid].status == "failed"


def test_more_than_ten_media_are_refused(standin, client, receiver):
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(
            to=USER_PHONE, from_=POOL_NUMBER, body="x", media_url=[f"{receiver.url}/{i}" for i in range(11)]
        )
    assert refused.value.code == standin_media.ERR_TOO_MANY_MEDIA


def test_inbound_media_are_served_to_the_account_only_and_can_be_deleted(standin, client, receiver):
    standin.state.number_by_phone(POOL_NUMBER).sms_url = f"{receiver.url}/twilio/sms"
    sent = requests.post(
        f"{standin.url}/_standin/phones/{USER_PHONE}/send",
        json={
            "to": POOL_NUMBER,
            "body": "",
            "media": [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode()}],
        },
        timeout=WAIT,
    )
    assert sent.status_code == 200, sent.text
    (call,) = receiver.wait_for_calls(1, "/twilio/sms")
    form = call["form"]
    assert form["NumMedia"] == "1" and form["MediaContentType0"] == "image/png"
    url = form["MediaUrl0"].replace("https://api.twilio.com", standin.url)
    assert requests.get(url, timeout=WAIT).status_code == 401
    fetched = requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=WAIT)
    assert fetched.status_code == 200 and fetched.content == PNG
    assert fetched.headers["Content-Type"] == "image/png"

    message_sid, media_sid = form["MessageSid"], url.rsplit("/", 1)[-1]
    assert client.messages(message_sid).media(media_sid).delete() is True
    assert requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=WAIT).status_code == 404
    assert client.messages(message_sid).media.list() == []
