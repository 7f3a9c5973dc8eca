"""The pool's numbers in a Twilio Messaging Service (issue 13, parts 1-3), through the
API against the Twilio stand-in: joining before the first send, leaving before the
release, the service's inbound setting, the A2P 10DLC campaign before a US buy and its
rate for the sender. Every request to Twilio (2010 and Messaging v1) keeps the spec."""

from __future__ import annotations

import pytest
from integration.test_pool import ALICE, assert_twilio_spec_kept, twilio_requests

import app as app_module
from chalicelib.usecases import messaging_service, pool_numbers

SF = "+14155550181"


@pytest.fixture
def service(bridge, monkeypatch):
    """A Messaging Service with an approved campaign, named by the configuration."""
    created = bridge.twilio.state.add_service("sms-bridge")
    bridge.twilio.state.set_campaign(created.sid, "VERIFIED")
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", created.sid)
    return created


def member_of(bridge, phone: str) -> str | None:
    found = bridge.twilio.state.service_of(phone)
    return found.sid if found else None


def test_an_adopted_number_joins_the_service_before_its_first_send(bridge, service):
    bridge.add_pool(SF)
    assert member_of(bridge, SF) == service.sid
    operations = [r.get("operation") for r in twilio_requests(bridge.twilio)]
    joined = operations.index("CreatePhoneNumber")  # v1 sender-pool add
    bridge.verified_user("alice", ALICE)  # the code goes out from the pool's number

    sends = list(twilio_requests(bridge.twilio, "CreateMessage"))
    operations = [r.get("operation") for r in twilio_requests(bridge.twilio)]
    assert sends and operations.index("CreateMessage") > joined
    form = sends[-1]["form"]
    assert (form["MessagingServiceSid"], form["From"]) == ([service.sid], [SF])
    assert_twilio_spec_kept(bridge.twilio)


def test_a_bought_number_joins_and_a_released_one_leaves(bridge, service):
    bought = bridge.api.post("/numbers", {"area_code": "415"})
    assert bought.status_code == 201, bought.body
    phone = bought.json["phone_number"]
    assert member_of(bridge, phone) == service.sid

    assert bridge.api.delete(f"/numbers/{phone}").status_code == 202
    assert pool_numbers.release(app_module.context, phone, app_module.context.now())
    operations = [r.get("operation") for r in twilio_requests(bridge.twilio)]
    assert operations.index("DeletePhoneNumber") < operations.index("DeleteIncomingPhoneNumber")
    assert_twilio_spec_kept(bridge.twilio)


def test_a_number_in_another_service_is_refused_with_twilios_code_and_the_fix(bridge, service):
    other = bridge.twilio.state.add_service("someone else")
    bridge.twilio.own(SF)
    bridge.twilio.state.add_to_service(other.sid, SF)

    response = bridge.api.post("/numbers", {"phone_number": SF})

    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "number_not_joinable"
    assert "21712" in error["message"] and "another Messaging Service" in error["message"]
    assert bridge.api.get("/numbers").json["numbers"] == []


def test_a_service_sending_its_own_inbound_webhook_is_set_to_defer(bridge, service):
    service.inbound_request_url = "https://elsewhere.example/sms"
    bridge.add_pool(SF)
    assert bridge.twilio.state.service(service.sid).use_inbound_webhook_on_number is True
    url, _ = bridge.twilio.state.inbound_webhook(SF)
    assert url.endswith("/twilio/sms")
    assert_twilio_spec_kept(bridge.twilio)


def test_or_refused_with_the_reason_when_the_bridge_may_not_change_it(bridge, service, monkeypatch):
    monkeypatch.setenv("TWILIO_SERVICE_CONFIGURE_INBOUND", "false")
    service.inbound_request_url = "https://elsewhere.example/sms"
    bridge.twilio.own(SF)

    response = bridge.api.post("/numbers", {"phone_number": SF})

    assert response.status_code == 503
    assert response.json["error"]["code"] == "messaging_service_unusable"
    assert "Defer to sender's webhook" in response.json["error"]["message"]
    assert member_of(bridge, SF) is None


@pytest.mark.parametrize("status", [None, "PENDING", "FAILED"])
def test_without_an_approved_campaign_a_us_buy_is_refused_with_the_reason(bridge, service, status):
    if status is None:
        bridge.twilio.state.clear_campaign(service.sid)
    else:
        bridge.twilio.state.set_campaign(service.sid, status)

    response = bridge.api.post("/numbers", {"area_code": "415"})

    assert response.status_code == 503
    error = response.json["error"]
    assert error["code"] == "pool_exhausted"
    assert "A2P 10DLC" in error["message"] and "Console" in error["message"]
    assert (status or "no US A2P 10DLC campaign") in error["message"]
    assert twilio_requests(bridge.twilio, "CreateIncomingPhoneNumber") == []
    assert_twilio_spec_kept(bridge.twilio)


def test_the_campaigns_rate_limits_the_sender_unless_one_is_configured(bridge, service, monkeypatch):
    bridge.twilio.state.set_campaign(
        service.sid, "VERIFIED", {"att": {"mps": 4, "msg_class": "E"}, "tmobile": {"brand_tier": "LOW"}}
    )
    ctx = app_module.context
    ctx.refresh()  # the settings of this moment, as an invocation would take them
    limits = messaging_service.limits_with_campaign(ctx, ctx.settings.limits)
    assert limits.campaign_segments_per_second == 4.0
    assert limits.campaign_id == bridge.twilio.state.service(service.sid).campaign.sid
    from chalicelib.usecases.sending.batch import Batch

    assert Batch(ctx, []).limiter.limits == limits  # what the sender charges

    monkeypatch.setenv("CAMPAIGN_SEGMENTS_PER_SECOND", "2.5")
    ctx.refresh()
    limits = messaging_service.limits_with_campaign(ctx, ctx.settings.limits)
    assert limits.campaign_segments_per_second == 2.5


def test_without_the_setting_numbers_stay_plain_and_it_is_said_once(bridge, caplog):
    bridge.add_pool(SF)
    bridge.add_pool("+14155550182")
    said = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len([m for m in said if "TWILIO_MESSAGING_SERVICE_SID is not set" in m]) == 1
    assert member_of(bridge, SF) is None
    assert not [r for r in twilio_requests(bridge.twilio) if r.get("path", "").startswith("/v1/")]
