"""A phone's SMS to the pool on the backend without HTTP: stored at the clock's time, its
keyword opting the phone out or in, the webhook's form (OptOutType by mode, media, service),
and the replies Twilio sends (TwiML, its own keyword answers, none to an opted-out phone)."""

import pytest
from standin_backend_kit import ACCOUNT_SID, POOL_NUMBER, START, USER_PHONE, new_backend

from devstack.twilio import inbound
from devstack.twilio.media import new_media


@pytest.fixture
def backend():
    backend = new_backend()
    backend.add_number(POOL_NUMBER)
    return backend


def text(backend, body, media=()):
    return inbound.receive(backend, USER_PHONE, POOL_NUMBER, body, list(media))


def test_a_phone_s_sms_is_stored_as_received_at_the_clock_s_time(backend):
    received = text(backend, "Hi Bob")
    message = received.message
    assert (message.direction, message.from_, message.to, message.status) == (
        "inbound",
        USER_PHONE,
        POOL_NUMBER,
        "received",
    )
    assert message.date_sent == START and received.keyword == "HI BOB" and received.service is None


def test_an_sms_to_a_number_the_account_does_not_own_is_refused(backend):
    with pytest.raises(LookupError, match="not a number of this account"):
        inbound.receive(backend, USER_PHONE, "+14155550199", "hi", [])
    assert backend.messages == {}


@pytest.mark.parametrize(
    "body, opted_out",
    [("STOP", True), (" stop ", True), ("Unsubscribe", True), ("stop please", False), ("STOP!", False)],
)
def test_only_a_whole_message_keyword_opts_the_phone_out(backend, body, opted_out):
    text(backend, body)
    assert (USER_PHONE in backend.opted_out) is opted_out


def test_start_opts_the_phone_back_in(backend):
    text(backend, "stop")
    text(backend, "Yes")
    assert USER_PHONE not in backend.opted_out


def test_the_webhook_form_carries_the_sms_its_media_and_its_service(backend):
    service = backend.add_service("bridge")
    backend.add_to_service(service.sid, POOL_NUMBER)
    received = text(backend, "look", media=[new_media("image/png", b"png"), new_media("image/gif", b"gif")])
    params = inbound.webhook_params(backend, received.message, received.keyword, received.service)
    sid, media = received.message.sid, received.message.media
    assert params["Body"] == "look" and params["MessageSid"] == sid and params["SmsStatus"] == "received"
    assert (params["From"], params["FromCountry"], params["To"], params["ToCountry"]) == (
        USER_PHONE,
        "US",
        POOL_NUMBER,
        "US",
    )
    assert (params["NumMedia"], params["MediaContentType1"]) == ("2", "image/gif")
    assert params["MediaUrl0"] == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/{media[0].sid}"
    )
    assert params["MessagingServiceSid"] == service.sid and "OptOutType" not in params


@pytest.mark.parametrize("body, opt_out_type", [("stop", "STOP"), ("unstop", "START"), ("info", "HELP")])
def test_every_keyword_webhook_carries_its_opt_out_type_in_always_mode(backend, body, opt_out_type):
    received = text(backend, body)
    assert inbound.webhook_params(backend, received.message, received.keyword)["OptOutType"] == opt_out_type


def test_in_advanced_mode_only_a_service_with_advanced_opt_out_adds_opt_out_type():
    backend = new_backend(opt_out_type="advanced")
    backend.add_number(POOL_NUMBER)
    received = text(backend, "STOP")
    assert "OptOutType" not in inbound.webhook_params(backend, received.message, received.keyword)
    service = backend.add_service("bridge", advanced_opt_out=True)
    backend.add_to_service(service.sid, POOL_NUMBER)
    received = text(backend, "STOP")
    params = inbound.webhook_params(backend, received.message, received.keyword, received.service)
    assert params["OptOutType"] == "STOP"


def test_twiml_messages_become_replies_from_the_pool_number_then_twilio_s_keyword_answer(backend):
    received = text(backend, "help")
    replies, blocked = inbound.replies(backend, received, "<Response><Message>We are here</Message></Response>")
    assert [(r.body, r.from_, r.to, r.direction, r.auto_reply) for r in replies] == [
        ("We are here", POOL_NUMBER, USER_PHONE, "outbound-reply", False),
        (inbound.HELP_AUTO_REPLY, POOL_NUMBER, USER_PHONE, "outbound-reply", True),
    ]
    assert blocked == [] and all(r.status == "queued" for r in replies)


def test_an_opted_out_phone_gets_no_twiml_reply_and_no_help_answer(backend):
    text(backend, "STOP")
    received = text(backend, "HELP")
    replies, blocked = inbound.replies(backend, received, "<Response><Message>Hi</Message></Response>")
    assert (replies, blocked) == ([], ["Hi"])


def test_stop_is_confirmed_by_twilio_even_when_the_webhook_failed(backend):
    received = text(backend, "STOP")
    replies, _ = inbound.replies(backend, received, None)
    assert [r.body for r in replies] == [inbound.STOP_AUTO_REPLY]


def test_without_keyword_auto_replies_twilio_answers_nothing_itself():
    backend = new_backend(keyword_auto_replies=False)
    backend.add_number(POOL_NUMBER)
    assert inbound.replies(backend, text(backend, "START"), None) == ([], [])


def test_twiml_bodies_are_read_from_both_forms_and_anything_else_is_no_reply():
    twiml = "<Response><Message>a</Message><Message><Body> b </Body></Message><Message> </Message></Response>"
    assert inbound.twiml_message_bodies(twiml) == ["a", "b"]
    assert inbound.twiml_message_bodies("<Message>a</Message>") == []
    assert inbound.twiml_message_bodies("OK") == []
