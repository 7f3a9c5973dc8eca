"""An empty pool starts itself (issue 13 part 6): a verification code that finds
no usable number grows the pool through the session's path, limits and budget."""

from __future__ import annotations

from integration.test_pool import assert_twilio_spec_kept, twilio_requests

ALICE = "+14155552671"


def test_a_fresh_deployment_buys_its_first_number_for_the_first_code(bridge):
    assert bridge.api.get("/numbers").json["numbers"] == []

    bridge.verified_user("alice", ALICE)  # hook-up, the code arrives, verify

    numbers = bridge.api.get("/numbers").json["numbers"]
    assert len(numbers) == 1 and numbers[0]["status"] == "active"
    assert numbers[0]["phone_number"].startswith("+1415")  # the phone's area code first
    assert bridge.twilio.sms_to(ALICE)[-1].from_ == numbers[0]["phone_number"]
    assert len(twilio_requests(bridge.twilio, "CreateIncomingPhoneNumber")) == 1
    assert_twilio_spec_kept(bridge.twilio)


def test_in_a_messaging_service_the_first_number_joins_it_before_the_code(bridge, monkeypatch):
    service = bridge.twilio.state.add_service("sms-bridge")
    bridge.twilio.state.set_campaign(service.sid, "VERIFIED")
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", service.sid)
    bridge.verified_user("alice", ALICE)
    number = bridge.api.get("/numbers").json["numbers"][0]["phone_number"]
    assert bridge.twilio.state.service_of(number).sid == service.sid
    assert_twilio_spec_kept(bridge.twilio)


def test_the_growth_keeps_the_budget(bridge, monkeypatch):
    monkeypatch.setenv("POOL_MONTHLY_BUDGET_USD", "0.5")  # less than one number's month

    response = bridge.api.put("/users/alice/phone", {"phone": ALICE})

    assert response.status_code == 503
    assert response.json["error"]["code"] == "pool_exhausted"
    assert "budget" in response.json["error"]["message"].lower()
    assert twilio_requests(bridge.twilio, "CreateIncomingPhoneNumber") == []
