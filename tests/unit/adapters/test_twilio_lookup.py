"""TwilioGateway.lookup: Lookup v2's request (checked against twilio_oai/twilio_lookups_v2.json
by the recording client, no network) and its answer as LookupFacts, a package Twilio could not
answer (its error_code) included."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from chalicelib.adapters.twilio import TwilioError, TwilioGateway
from chalicelib.core.line_types import LookupFacts
from devstack.twilio_spec import recording_http_client

PHONE = "+14155550123"
CANADIAN = "+16135550123"


def answer(prepared):
    phone = urllib.parse.unquote(urllib.parse.urlsplit(prepared.url).path.rsplit("/", 1)[-1])
    if phone == CANADIAN:  # no NPAC access on the account: Twilio answers the package's error only
        line = {"mobile_country_code": None, "carrier_name": None, "type": None, "error_code": 60601}
        return 200, json.dumps({"phone_number": phone, "valid": True, "line_type_intelligence": line})
    line = {"mobile_country_code": "310", "carrier_name": "T-Mobile USA, Inc.", "type": "mobile", "error_code": None}
    risk = {"carrier_risk_category": "low", "sms_pumping_risk_score": 7, "error_code": None}
    return 200, json.dumps(
        {"phone_number": phone, "valid": True, "line_type_intelligence": line, "sms_pumping_risk": risk}
    )


@pytest.fixture
def http():
    return recording_http_client(validate=True, respond=answer)


def test_a_lookup_asks_for_the_packages_and_reads_the_answer(http):
    facts = TwilioGateway(http_client=http).lookup(PHONE, ("line_type_intelligence", "sms_pumping_risk"))
    assert facts == LookupFacts(line_type="mobile", carrier="T-Mobile USA, Inc.", pumping_risk=7, valid=True)
    sent = http.requests[-1]
    assert sent.method == "GET" and urllib.parse.urlsplit(sent.url).netloc == "lookups.twilio.com"
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(sent.url).query) == {
        "Fields": ["line_type_intelligence,sms_pumping_risk"]
    }


def test_a_package_twilio_could_not_answer_leaves_its_facts_unknown(http):
    facts = TwilioGateway(http_client=http).lookup(CANADIAN, ("line_type_intelligence",))
    assert (facts.line_type, facts.carrier, facts.pumping_risk) == (None, None, None)


def test_a_refused_lookup_is_a_twilio_error():
    http = recording_http_client(validate=True, respond=lambda prepared: (401, json.dumps({"code": 20003})))
    with pytest.raises(TwilioError) as failed:
        TwilioGateway(http_client=http).lookup(PHONE, ("line_type_intelligence",))
    assert (failed.value.status, failed.value.retryable) == (401, False)
