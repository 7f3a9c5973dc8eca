"""devstack.twilio_spec: requests shaped by the real twilio-python client are checked against
Twilio's OpenAPI description (the cut in twilio_oai/)."""

import datetime
import json
from urllib.parse import parse_qsl, urlencode

import pytest
import responses
from twilio.rest import Client

from devstack.twilio_spec import (
    TwilioSpecError,
    assert_valid_prepared,
    recording_http_client,
    validate_request,
)

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token"
NUMBER_SID = "PN" + "1" * 32
POOL_NUMBER = "+14155550100"
USER_PHONE = "+14155550123"


@pytest.fixture
def recorded():
    """A twilio Client whose requests are captured (not sent, not yet validated)."""
    http = recording_http_client(validate=False)
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http), http.requests


def _without_form_field(prepared, field):
    form = [(k, v) for k, v in parse_qsl(prepared.body) if k != field]
    copy = prepared.copy()
    copy.prepare_body(data=form, files=None)
    return copy


def test_valid_message_create_passes(recorded):
    client, sent = recorded
    client.messages.create(
        to=USER_PHONE, from_=POOL_NUMBER, body="Hi from chat", status_callback="http://127.0.0.1:8000/twilio/status"
    )
    assert_valid_prepared(sent[-1])


def test_message_create_with_media_and_options_passes(recorded):
    client, sent = recorded
    client.messages.create(
        to=USER_PHONE, from_=POOL_NUMBER, media_url=["https://e.x/a.png"], smart_encoded=True, validity_period=600
    )
    assert_valid_prepared(sent[-1])


def test_message_create_without_to_fails(recorded):
    client, sent = recorded
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi")
    with pytest.raises(TwilioSpecError, match="'To' is a required property") as error:
        assert_valid_prepared(_without_form_field(sent[-1], "To"))
    assert error.value.code == 21604


def test_message_create_without_from_or_service_fails(recorded):
    client, sent = recorded
    client.messages.create(to=USER_PHONE, body="Hi")
    with pytest.raises(TwilioSpecError, match="'From'") as error:
        assert_valid_prepared(sent[-1])
    assert error.value.code == 21603


def test_message_create_without_body_or_media_fails(recorded):
    client, sent = recorded
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER)
    with pytest.raises(TwilioSpecError, match="Body"):
        assert_valid_prepared(sent[-1])


def test_message_body_over_1600_characters_fails(recorded):
    client, sent = recorded
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="x" * 1601)
    with pytest.raises(TwilioSpecError, match="1600") as error:
        assert_valid_prepared(sent[-1])
    assert error.value.code == 21617


def test_bad_account_sid_fails():
    bad_client = Client("XX123", AUTH_TOKEN, http_client=recording_http_client(validate=False))
    bad_client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi")
    with pytest.raises(TwilioSpecError, match=r"AccountSid.*\^AC\[0-9a-fA-F\]\{32\}\$"):
        assert_valid_prepared(bad_client.http_client.requests[-1])


def test_unknown_path_fails(recorded):
    client, sent = recorded
    client.calls.list(limit=1)  # Calls are not part of what the project uses
    with pytest.raises(TwilioSpecError, match="not a path") as error:
        assert_valid_prepared(sent[-1])
    assert (error.value.status, error.value.code) == (404, 20404)


def test_operation_the_project_does_not_use_fails(recorded):
    client, sent = recorded
    client.messages("SM" + "2" * 32).delete()
    with pytest.raises(TwilioSpecError, match="no DELETE") as error:
        assert_valid_prepared(sent[-1])
    assert error.value.status == 405


def test_incoming_number_update_with_sms_url_passes(recorded):
    client, sent = recorded
    client.incoming_phone_numbers(NUMBER_SID).update(
        sms_url="http://127.0.0.1:8000/twilio/sms",
        sms_method="POST",
        status_callback="http://127.0.0.1:8000/twilio/status",
    )
    assert_valid_prepared(sent[-1])


def test_incoming_number_update_with_bad_enum_fails(recorded):
    client, sent = recorded
    client.incoming_phone_numbers(NUMBER_SID).update(sms_method="PUT")
    with pytest.raises(TwilioSpecError, match=r"SmsMethod.*not one of"):
        assert_valid_prepared(sent[-1])


def test_message_list_with_filters_passes(recorded):
    client, sent = recorded
    client.messages.list(to=USER_PHONE, from_=POOL_NUMBER, date_sent=datetime.datetime(2024, 5, 1), limit=20)
    client.messages.list(
        date_sent_after=datetime.datetime(2024, 5, 1), date_sent_before=datetime.datetime(2024, 5, 2), limit=20
    )
    assert "DateSent=" in sent[0].url and "DateSent%3E=" in sent[1].url
    for prepared in sent:
        assert_valid_prepared(prepared)


def test_other_operations_the_project_uses_pass(recorded):
    client, sent = recorded
    client.messages("SM" + "2" * 32).fetch()
    client.incoming_phone_numbers.list(phone_number=POOL_NUMBER, limit=5)
    client.incoming_phone_numbers.create(area_code="415", sms_url="http://127.0.0.1:8000/twilio/sms")
    client.incoming_phone_numbers.create(phone_number=POOL_NUMBER)
    client.incoming_phone_numbers(NUMBER_SID).fetch()
    client.incoming_phone_numbers(NUMBER_SID).delete()
    client.available_phone_numbers("US").local.list(area_code=415, sms_enabled=True, limit=5)
    assert len(sent) == 7
    for prepared in sent:
        assert_valid_prepared(prepared)


def test_unknown_form_parameter_fails():
    """Twilio ignores unknown parameters; a typo like StatusCallBack must not pass silently."""
    body = urlencode({"To": USER_PHONE, "From": POOL_NUMBER, "Body": "Hi", "StatusCallBack": "http://127.0.0.1/x"})
    with pytest.raises(TwilioSpecError, match="StatusCallBack"):
        validate_request(
            "POST",
            f"http://127.0.0.1:8010/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic eDp5"},
            body,
        )


def test_json_body_fails():
    with pytest.raises(TwilioSpecError, match="x-www-form-urlencoded"):
        validate_request(
            "POST",
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            {"Content-Type": "application/json", "Authorization": "Basic eDp5"},
            json.dumps({"To": USER_PHONE, "From": POOL_NUMBER, "Body": "Hi"}),
        )


def test_any_host_validates_like_api_twilio_com():
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic eDp5"}
    body = urlencode({"To": USER_PHONE, "From": POOL_NUMBER, "Body": "Hi"})
    for base in ("https://api.twilio.com", "http://127.0.0.1:8010", "http://localhost:1"):
        validate_request("POST", f"{base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", headers, body)


@responses.activate
def test_requests_captured_from_the_real_http_client_validate():
    """What TwilioHttpClient itself puts on the wire (captured by `responses`) validates."""
    messages_url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    responses.post(messages_url, status=201, json={"sid": "SM" + "3" * 32, "status": "queued"})
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    message = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi")
    assert message.sid.startswith("SM")
    assert_valid_prepared(responses.calls[0].request)


# --- the Messaging API v1 cut (messaging.twilio.com, paths under /v1/) ---------------------------

SERVICE_SID = "MG" + "a" * 32


def test_messaging_requests_from_the_client_pass(recorded):
    client, sent = recorded
    services = client.messaging.v1.services
    services.create(
        friendly_name="sms-bridge",
        inbound_request_url="https://e.x/twilio/sms",
        use_inbound_webhook_on_number=False,
        usecase="discussion",
    )
    services.list()
    services(SERVICE_SID).update(status_callback="https://e.x/twilio/status", sticky_sender=True)
    services(SERVICE_SID).fetch()
    services(SERVICE_SID).phone_numbers.create(phone_number_sid=NUMBER_SID)
    services(SERVICE_SID).phone_numbers.list()
    services(SERVICE_SID).phone_numbers(NUMBER_SID).fetch()
    services(SERVICE_SID).phone_numbers(NUMBER_SID).delete()
    services(SERVICE_SID).us_app_to_person.list()
    services(SERVICE_SID).us_app_to_person("QE" + "c" * 32).fetch()
    client.messages.create(to=USER_PHONE, messaging_service_sid=SERVICE_SID, body="via a service")
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, messaging_service_sid=SERVICE_SID, body="both")
    assert {p.url.split("/")[2] for p in sent} == {"messaging.twilio.com", "api.twilio.com"}
    for prepared in sent:
        assert_valid_prepared(prepared)


def _v1(method, path, form=None):
    headers = {"Authorization": "Basic eDp5"}
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    validate_request(
        method, f"https://messaging.twilio.com{path}", headers, urlencode(form) if form is not None else None
    )


@pytest.mark.parametrize(
    "method, path, form, status, code, words",
    [
        (
            "POST",
            "/v1/Services",
            {"InboundRequestUrl": "https://e.x/sms"},
            400,
            20001,
            "'FriendlyName' is a required property",
        ),
        (
            "POST",
            "/v1/Services",
            {"FriendlyName": "x", "InboundRequestURL": "https://e.x/sms"},
            400,
            20001,
            "InboundRequestURL",
        ),  # a typo Twilio would silently ignore
        ("POST", f"/v1/Services/{SERVICE_SID}", {"UseInboundWebhookOnNumber": "maybe"}, 400, 20001, "boolean"),
        ("GET", "/v1/Services/MG123", None, 400, 20001, "Sid"),
        (
            "POST",
            f"/v1/Services/{SERVICE_SID}/PhoneNumbers",
            {"PhoneNumberSid": "+14155550100"},
            400,
            21421,
            "PhoneNumberSid",
        ),
        ("DELETE", f"/v1/Services/{SERVICE_SID}", None, 405, 20004, "no DELETE"),
        ("GET", f"/v1/Services/{SERVICE_SID}/ShortCodes", None, 404, 20404, "Messaging API v1"),
    ],
)
def test_messaging_requests_twilio_refuses_fail(method, path, form, status, code, words):
    with pytest.raises(TwilioSpecError, match=None) as error:
        _v1(method, path, form)
    assert (error.value.status, error.value.code) == (status, code)
    assert words in error.value.message


def test_a_malformed_messaging_service_sid_is_21705(recorded):
    client, sent = recorded
    client.messages.create(to=USER_PHONE, messaging_service_sid="MG123", body="x")
    with pytest.raises(TwilioSpecError) as error:
        assert_valid_prepared(sent[-1])
    assert error.value.code == 21705


def test_a_lookup_from_the_client_passes(recorded):
    client, sent = recorded
    client.lookups.v2.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence,sms_pumping_risk")
    assert sent[-1].url.startswith("https://lookups.twilio.com/v2/PhoneNumbers/")
    assert_valid_prepared(sent[-1])


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"/v2/PhoneNumbers/{USER_PHONE}?Fields=line_type", "no Lookup data package 'line_type'"),
        (f"/v2/PhoneNumbers/{USER_PHONE}?Field=line_type_intelligence", "Field not in Twilio's spec"),
        (f"/v2/PhoneNumbers/{USER_PHONE}/Carrier", "not a path of Twilio's Lookup API v2"),
    ],
)
def test_lookups_twilio_refuses_fail(url, words):
    with pytest.raises(TwilioSpecError, match=words):
        validate_request("GET", "http://127.0.0.1:8010" + url, {"Authorization": "Basic eDp5"}, None)


def test_a_lookup_without_credentials_fails():
    with pytest.raises(TwilioSpecError) as error:
        validate_request("GET", f"https://lookups.twilio.com/v2/PhoneNumbers/{USER_PHONE}", {}, None)
    assert error.value.status == 401
