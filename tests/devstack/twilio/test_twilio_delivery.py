"""The delivery without threads or HTTP: a timer that runs steps when told and a webhook
client that records what it would post. Each step of a message is told to its StatusCallback
in order; a phone's SMS is posted to its webhook and the TwiML answer is delivered."""

import pytest
from standin_backend_kit import POOL_NUMBER, USER_PHONE, ManualTimer, new_backend, no_media

from devstack.twilio import outbound
from devstack.twilio.delivery import Delivery

CALLBACK = "https://bridge.example/twilio/status"
SMS_URL = "https://bridge.example/twilio/sms"


class RecordingWebhooks:
    """Stands in for the signed-webhook client (signing is checked over HTTP in
    tests/devstack/test_twilio_standin.py): records each post and answers `answer`."""

    def __init__(self, answer=(204, "")):
        self.posted: list[tuple[str, str, dict, str]] = []
        self.answer = answer

    def post(self, kind, url, params, method="POST"):
        self.posted.append((kind, url, dict(params), method))
        status, body = self.answer
        return {"kind": kind, "url": url, "status": status, "body": body, "error": None}


@pytest.fixture
def parts():
    backend = new_backend()
    backend.add_number(POOL_NUMBER, sms_url=SMS_URL)
    webhooks, timer = RecordingWebhooks(), ManualTimer()
    return backend, webhooks, timer, Delivery(backend, webhooks, callback_delay=0.25, timer=timer)


def send(backend, **fields):
    return outbound.send_message(
        backend,
        to=USER_PHONE,
        from_=POOL_NUMBER,
        messaging_service_sid=None,
        body="hello",
        smart_encoded=False,
        status_callback=fields.get("status_callback", CALLBACK),
        media_urls=[],
        fetch_media=no_media,
    )


def test_each_step_is_told_to_the_status_callback_in_order_after_the_delay(parts):
    backend, webhooks, timer, delivery = parts
    message = send(backend)
    delivery.start(message)
    assert message.status == "queued" and webhooks.posted == [], "nothing before the timer runs"
    assert timer.run_all() == 2
    assert [(kind, url, p["MessageStatus"]) for kind, url, p, _ in webhooks.posted] == [
        ("status", CALLBACK, "sent"),
        ("status", CALLBACK, "delivered"),
    ]
    assert timer.delays == [0.25, 0.25] and message.status == "delivered"


def test_a_message_without_status_callback_moves_on_silently(parts):
    backend, webhooks, timer, delivery = parts
    message = send(backend, status_callback=None)
    delivery.start(message)
    timer.run_all()
    assert message.status == "delivered" and webhooks.posted == []


def test_a_phone_s_sms_is_posted_to_its_webhook_and_the_twiml_reply_is_delivered(parts):
    _, webhooks, timer, delivery = parts
    webhooks.answer = (200, "<Response><Message>Got it</Message></Response>")
    texted = delivery.text_from_phone(USER_PHONE, POOL_NUMBER, "Hi")
    (kind, url, params, method), *_ = webhooks.posted
    assert (kind, url, method, params["Body"], params["From"]) == ("sms", SMS_URL, "POST", "Hi", USER_PHONE)
    assert [r.body for r in texted.replies] == ["Got it"] and texted.webhook["status"] == 200
    timer.run_all()
    assert texted.replies[0].status == "delivered"


def test_a_webhook_that_fails_gets_no_twiml_reply_but_stop_is_still_confirmed(parts):
    backend, webhooks, _, delivery = parts
    webhooks.answer = (500, "<Response><Message>never</Message></Response>")
    texted = delivery.text_from_phone(USER_PHONE, POOL_NUMBER, "stop")
    assert [r.auto_reply for r in texted.replies] == [True] and USER_PHONE in backend.opted_out


def test_a_number_without_sms_url_posts_nothing(parts):
    backend, webhooks, _, delivery = parts
    backend.number_by_phone(POOL_NUMBER).sms_url = None
    texted = delivery.text_from_phone(USER_PHONE, POOL_NUMBER, "Hi")
    assert (texted.webhook, webhooks.posted, texted.replies) == (None, [], [])


def test_closing_stops_the_timer_so_no_step_comes_after(parts):
    backend, webhooks, timer, delivery = parts
    delivery.start(send(backend))
    delivery.close()
    assert timer.stopped and timer.run_all() == 0 and webhooks.posted == []
