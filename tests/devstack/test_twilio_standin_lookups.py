"""The stand-in's Lookup API v2: a phone's line type, carrier and SMS pumping risk, set per phone
through the control API, answered to the real twilio-python client over real HTTP. Every request
it gets is validated against the committed spec cut (twilio_oai/twilio_lookups_v2.json) and
every answer is checked to be shaped as that spec says."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from devstack.twilio.server import StandinHttpClient, serve
from devstack.twilio_spec import validate_response

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "standin-test-token"
USER_PHONE = "+14155550123"
WAIT = 5


class _Recording(StandinHttpClient):
    """StandinHttpClient that keeps every answer, for the spec check after the test."""

    def __init__(self, server):
        super().__init__(server.url)
        self.server = server

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        path = url.split("twilio.com", 1)[-1]
        self.server.answers.append((method, self.server.url + path, response.status_code, response.text))
        return response


@pytest.fixture
def standin():
    server = serve(port=0, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, callback_delay=0)
    server.answers = []
    yield server
    server.shutdown()
    for entry in server.state.requests:
        assert entry.get("operation") == "FetchPhoneNumber" or entry.get("spec_error"), entry
    for method, url, status, body in server.answers:
        if status < 300:
            validate_response(method, url, status, {"Content-Type": "application/json"}, body)


@pytest.fixture
def lookups(standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=_Recording(standin)).lookups.v2


def set_phone(server, phone, **fields):
    return requests.put(f"{server.url}/_standin/phones/{phone}", json=fields, timeout=WAIT)


def test_a_phone_is_a_mobile_phone_by_default_and_answers_the_same_each_time(standin, lookups):
    found = lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence,sms_pumping_risk")
    assert (found.valid, found.country_code, found.phone_number) == (True, "US", USER_PHONE)
    assert found.line_type_intelligence["type"] == "mobile"
    assert found.line_type_intelligence["carrier_name"] in ("T-Mobile USA, Inc.", "Verizon Wireless", "AT&T Wireless")
    assert 0 <= found.sms_pumping_risk["sms_pumping_risk_score"] < 20
    again = lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence,sms_pumping_risk")
    assert again.line_type_intelligence == found.line_type_intelligence
    assert standin.state.requests[-1]["query"] == {"Fields": ["line_type_intelligence,sms_pumping_risk"]}


def test_only_the_packages_asked_for_are_answered(lookups):
    found = lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence")
    assert found.line_type_intelligence is not None and found.sms_pumping_risk is None
    assert lookups.phone_numbers(USER_PHONE).fetch().line_type_intelligence is None


def test_the_control_api_sets_what_lookup_answers_of_a_phone(standin, lookups):
    answer = set_phone(standin, USER_PHONE, line_type="landline", carrier="AT&T", sms_pumping_risk=91)
    assert answer.status_code == 200
    assert answer.json()["line"] == {"line_type": "landline", "carrier": "AT&T", "sms_pumping_risk": 91}
    found = lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence,sms_pumping_risk")
    assert (found.line_type_intelligence["type"], found.line_type_intelligence["carrier_name"]) == ("landline", "AT&T")
    assert found.sms_pumping_risk["sms_pumping_risk_score"] == 91
    set_phone(standin, USER_PHONE, line_type="tollFree")
    found = lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence")
    assert found.line_type_intelligence["type"] == "tollFree"
    assert found.line_type_intelligence.get("carrier_name") is None, "Twilio names no carrier for a toll-free number"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"line_type": "cellphone"}, "line_type must be one of Twilio's"),
        ({"sms_pumping_risk": 101}, "from 0 to 100"),
        ({"sms_pumping_risk": "high"}, "from 0 to 100"),
        ({"carrier": 7}, "carrier must be"),
    ],
)
def test_the_control_api_refuses_a_line_twilio_would_never_answer(standin, fields, words):
    answer = set_phone(standin, USER_PHONE, **fields)
    assert answer.status_code == 400 and words in answer.json()["error"]["message"]


def test_a_lookup_twilio_would_refuse_is_refused_as_twilio_does(standin, lookups):
    with pytest.raises(TwilioRestException) as refused:
        lookups.phone_numbers(USER_PHONE).fetch(fields="line_type")
    assert (refused.value.status, refused.value.code) == (400, 60200)
    assert "no Lookup data package 'line_type'" in standin.state.requests[-1]["spec_error"]


def test_a_fault_on_lookup_answers_as_twilio_failing(standin, lookups):
    added = requests.post(f"{standin.url}/_standin/faults", json={"operation": "FetchPhoneNumber", "status": 503})
    assert added.status_code == 201
    with pytest.raises(TwilioRestException) as failed:
        lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence")
    assert failed.value.status == 503
    assert lookups.phone_numbers(USER_PHONE).fetch(fields="line_type_intelligence").valid


def test_a_number_lookup_cannot_parse_is_answered_invalid(lookups):
    found = lookups.phone_numbers("12").fetch(fields="line_type_intelligence")
    assert (found.valid, found.line_type_intelligence) == (False, None)
