"""Twilio's rules for a message sent, on the backend without HTTP: what a create is refused
for, which sender a Messaging Service picks, and the steps a message then moves through
(sent, delivered; undelivered 30003 and 30034; failed for its media), in virtual time."""

import pytest
from standin_backend_kit import (
    ACCOUNT_SID,
    POOL_NUMBER,
    SECOND_NUMBER,
    START,
    UK_PHONE,
    USER_PHONE,
    VirtualClock,
    new_backend,
    no_media,
)

from devstack.twilio import outbound
from devstack.twilio.errors import (
    ERR_A2P_UNREGISTERED,
    ERR_FROM_NOT_OWNED,
    ERR_INVALID_TO,
    ERR_MESSAGING_SERVICE,
    ERR_NOT_IN_SERVICE,
    ERR_SERVICE_HAS_NO_SENDER,
    ERR_UNREACHABLE,
    ERR_UNSUBSCRIBED,
    ApiError,
)
from devstack.twilio.media import ERR_MEDIA_TYPE, ERR_TOO_MANY_MEDIA, new_media

NO_SERVICE = "MG" + "0" * 32


def send(backend, to=USER_PHONE, from_=POOL_NUMBER, **fields):
    request = {
        "to": to,
        "from_": from_,
        "messaging_service_sid": None,
        "body": "hello",
        "smart_encoded": False,
        "status_callback": None,
        "media_urls": [],
        "fetch_media": no_media,
    }
    request.update(fields)
    return outbound.send_message(backend, **request)


def refused(backend, **fields) -> int:
    with pytest.raises(ApiError) as error:
        send(backend, **fields)
    assert error.value.status == 400
    assert backend.messages == {}, "a refused message is not kept"
    return error.value.code


def steps(backend, message) -> list[tuple]:
    """Advance the message until it has no step left: (status, error code) after each."""
    seen = []
    while outbound.advance(backend, message.sid) is not None:
        seen.append((message.status, message.error_code))
    return seen


@pytest.fixture
def backend():
    backend = new_backend()
    backend.add_number(POOL_NUMBER)
    return backend


def test_a_create_is_refused_with_twilio_s_code_and_nothing_is_kept(backend):
    backend.add_number(SECOND_NUMBER, sms_capable=False)
    empty = backend.add_service("empty")
    service = backend.add_service("bridge")
    assert refused(backend, to="4155550123") == ERR_INVALID_TO
    assert refused(backend, to="+1415555") == ERR_INVALID_TO
    assert refused(backend, from_=None, messaging_service_sid=NO_SERVICE) == ERR_MESSAGING_SERVICE
    assert refused(backend, from_=None, messaging_service_sid=empty.sid) == ERR_SERVICE_HAS_NO_SENDER
    assert refused(backend, from_="+14155550199") == ERR_FROM_NOT_OWNED
    assert refused(backend, from_=SECOND_NUMBER) == ERR_FROM_NOT_OWNED, "a voice-only number cannot send"
    assert refused(backend, messaging_service_sid=service.sid) == ERR_NOT_IN_SERVICE
    backend.opted_out.add(USER_PHONE)
    assert refused(backend) == ERR_UNSUBSCRIBED


def test_more_than_ten_media_are_refused_before_any_is_fetched(backend):
    def fetch(urls):
        raise AssertionError("fetched")

    urls = [f"https://bridge.example/m/{i}.png" for i in range(11)]
    assert refused(backend, media_urls=urls, fetch_media=fetch) == ERR_TOO_MANY_MEDIA


def test_an_accepted_message_is_queued_with_the_clock_s_date_and_its_segments(backend):
    message = send(backend, body="x" * 161)
    assert (message.status, message.direction, message.num_segments) == ("queued", "outbound-api", 2)
    assert message.date_created == START and message.date_sent is None
    assert backend.messages == {message.sid: message}


def test_smart_encoding_replaces_look_alike_punctuation_only_when_asked(backend):
    assert send(backend, body="it’s “fine”…", smart_encoded=True).body == 'it\'s "fine"...'
    assert send(backend, body="it’s", smart_encoded=False).body == "it’s"


def test_a_service_picks_the_sticky_sender_then_the_same_area_code_then_the_first(backend):
    backend.add_number(SECOND_NUMBER)
    nyc = backend.add_number("+12125550100")
    service = backend.add_service("bridge", status_callback="https://bridge.example/status")
    for phone in (POOL_NUMBER, nyc.phone_number):
        backend.add_to_service(service.sid, phone)
    pick = {"from_": None, "messaging_service_sid": service.sid}
    assert send(backend, to="+12125550142", **pick).from_ == nyc.phone_number, "same area code"
    assert send(backend, to="+13125550142", **pick).from_ == POOL_NUMBER, "first of the pool"
    send(backend, to="+13125550143", from_=nyc.phone_number, messaging_service_sid=service.sid)
    sticky = send(backend, to="+13125550143", **pick)
    assert sticky.from_ == nyc.phone_number, "the number that last texted this phone"
    assert sticky.status_callback == "https://bridge.example/status", "the service's callback"
    assert sticky.messaging_service_sid == service.sid


def test_a_message_is_sent_then_delivered_each_step_at_the_clock_s_time(backend):
    clock = VirtualClock()
    backend.clock = clock
    message = send(backend, body="x" * 200)
    clock.advance(1)
    outbound.advance(backend, message.sid)
    assert (message.status, message.date_sent, message.price) == ("sent", clock.now, "-0.01580")
    clock.advance(1)
    outbound.advance(backend, message.sid)
    assert (message.status, message.date_updated, message.error_code) == ("delivered", clock.now, None)
    assert outbound.advance(backend, message.sid) is None, "delivered is final"


def test_an_unreachable_phone_s_message_is_sent_then_undelivered_30003(backend):
    backend.unreachable.add(USER_PHONE)
    message = send(backend)
    assert steps(backend, message) == [("sent", None), ("undelivered", ERR_UNREACHABLE)]
    assert message.error_message == "Unreachable destination handset"


def test_with_a2p_enforced_an_unregistered_us_long_code_is_undelivered_30034_without_being_sent(backend):
    backend.require_a2p = True
    message = send(backend)
    assert steps(backend, message) == [("undelivered", ERR_A2P_UNREGISTERED)]
    assert message.date_sent is None and message.price is None


def test_a2p_lets_through_a_verified_campaign_s_pool_another_country_and_twilio_s_own_replies(backend):
    backend.require_a2p = True
    assert steps(backend, send(backend, to=UK_PHONE))[-1] == ("delivered", None), "not US-bound"
    auto = outbound.send_reply(backend, POOL_NUMBER, USER_PHONE, "Reply STOP to unsubscribe.", auto=True)
    assert steps(backend, auto)[-1] == ("delivered", None), "Twilio's own keyword answer"
    service = backend.add_service("bridge")
    backend.add_to_service(service.sid, POOL_NUMBER)
    backend.set_campaign(service.sid, "PENDING")
    assert steps(backend, send(backend)) == [("undelivered", ERR_A2P_UNREGISTERED)], "not yet VERIFIED"
    backend.set_campaign(service.sid, "VERIFIED")
    assert steps(backend, send(backend))[-1] == ("delivered", None)


def test_a_message_whose_media_twilio_could_not_take_fails_with_the_media_s_code(backend):
    def fetch(urls):
        return [new_media("image/png", b"png")], (ERR_MEDIA_TYPE, "Invalid Content-Type: text/html")

    message = send(backend, media_urls=["https://a/1.png", "https://a/2.html"], fetch_media=fetch)
    assert message.status == "queued" and message.media_urls == ("https://a/1.png", "https://a/2.html")
    assert steps(backend, message) == [("failed", ERR_MEDIA_TYPE)]
    assert message.error_message == "Invalid Content-Type: text/html"


def test_a_message_forgotten_by_a_reset_has_no_step_left(backend):
    message = send(backend)
    backend.reset()
    assert outbound.advance(backend, message.sid) is None


def test_the_status_callback_form_names_the_status_the_error_and_the_service(backend):
    service = backend.add_service("bridge")
    backend.add_to_service(service.sid, POOL_NUMBER)
    backend.unreachable.add(USER_PHONE)
    message = send(backend, messaging_service_sid=service.sid)
    steps(backend, message)
    params = outbound.status_callback_params(ACCOUNT_SID, message)
    assert params == {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": POOL_NUMBER,
        "MessageSid": message.sid,
        "MessageStatus": "undelivered",
        "SmsSid": message.sid,
        "SmsStatus": "undelivered",
        "To": USER_PHONE,
        "MessagingServiceSid": service.sid,
        "ErrorCode": str(ERR_UNREACHABLE),
    }
