"""The gateway's Messaging API v1 calls and its sends through a Messaging Service, each
checked against Twilio's OpenAPI description by the recording client (no network)."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from chalicelib.adapters.twilio import TwilioError, TwilioGateway
from devstack.twilio_spec import recording_http_client

SERVICE = "MG" + "a" * 32
NUMBER = "PN" + "b" * 32


def answer(prepared):
    path = urllib.parse.urlsplit(prepared.url).path
    if prepared.method == "DELETE":
        return 204, ""
    if path.endswith("/Compliance/Usa2p"):
        campaign = {
            "sid": "QE" + "c" * 32,
            "campaign_status": "VERIFIED",
            "rate_limits": {"att": {"mps": 75, "msg_class": "C"}},
        }
        return 200, json.dumps({"compliance": [campaign], "meta": {"key": "compliance", "next_page_url": None}})
    if path.endswith("/PhoneNumbers") and prepared.method == "GET":
        return 200, json.dumps(
            {"phone_numbers": [{"sid": NUMBER}], "meta": {"key": "phone_numbers", "next_page_url": None}}
        )
    if path.endswith("/PhoneNumbers"):
        return 201, json.dumps({"sid": NUMBER, "service_sid": SERVICE})
    if path.endswith("/Messages.json"):
        return 201, json.dumps({"sid": "SM" + "d" * 32, "status": "accepted", "num_segments": "1"})
    return 200, json.dumps(
        {"sid": SERVICE, "friendly_name": "bridge", "inbound_request_url": None, "use_inbound_webhook_on_number": True}
    )


@pytest.fixture
def http():
    return recording_http_client(validate=True, respond=answer)


def test_every_messaging_call_keeps_the_spec(http):
    gateway = TwilioGateway(http_client=http)
    assert gateway.fetch_service(SERVICE).use_inbound_webhook_on_number is True
    gateway.defer_inbound_to_numbers(SERVICE)
    gateway.join_service(SERVICE, NUMBER)
    assert gateway.service_number_sids(SERVICE) == {NUMBER}
    (campaign,) = gateway.us_campaigns(SERVICE)
    assert (campaign.campaign_status, campaign.rate_limits["att"]["mps"]) == ("VERIFIED", 75)
    gateway.leave_service(SERVICE, NUMBER)
    seen = [(r.method, urllib.parse.urlsplit(r.url).path) for r in http.requests]
    assert seen == [
        ("GET", f"/v1/Services/{SERVICE}"),
        ("POST", f"/v1/Services/{SERVICE}"),
        ("POST", f"/v1/Services/{SERVICE}/PhoneNumbers"),
        ("GET", f"/v1/Services/{SERVICE}/PhoneNumbers"),
        ("GET", f"/v1/Services/{SERVICE}/Compliance/Usa2p"),
        ("DELETE", f"/v1/Services/{SERVICE}/PhoneNumbers/{NUMBER}"),
    ]
    assert dict(urllib.parse.parse_qsl(http.requests[1].body)) == {"UseInboundWebhookOnNumber": "true"}
    assert dict(urllib.parse.parse_qsl(http.requests[2].body)) == {"PhoneNumberSid": NUMBER}


def test_a_send_names_the_service_and_from(http):
    TwilioGateway(http_client=http).send_sms(
        from_="+14155550100",
        to="+14155552671",
        body="hi",
        status_callback="https://b.example/twilio/status",
        messaging_service_sid=SERVICE,
    )
    form = dict(urllib.parse.parse_qsl(http.requests[-1].body))
    assert (form["MessagingServiceSid"], form["From"]) == (SERVICE, "+14155550100")


def test_already_a_member_is_fine_and_other_refusals_say_twilios_code():
    def refuse(code):
        return lambda prepared: (400, json.dumps({"code": code, "message": "no", "status": 400}))

    TwilioGateway(http_client=recording_http_client(respond=refuse(21710))).join_service(SERVICE, NUMBER)
    with pytest.raises(TwilioError) as raised:
        TwilioGateway(http_client=recording_http_client(respond=refuse(21712))).join_service(SERVICE, NUMBER)
    assert (raised.value.code, raised.value.retryable) == (21712, False)
