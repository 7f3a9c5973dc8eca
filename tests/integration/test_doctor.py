"""`make doctor` (scripts/doctor.py) against the Twilio stand-in, the app and moto:
it passes on a good setup and fails, with the right fix, on each broken one."""

from __future__ import annotations

import importlib

import pytest
from conftest import PREFIX, PUBLIC_BASE_URL
from integration.test_pool import assert_twilio_spec_kept

from chalicelib.adapters.twilio import TwilioGateway

doctor = importlib.import_module("scripts.doctor")
doctor_targets = importlib.import_module("scripts.doctor_targets")

SF = "+14155550181"
NOW = 1_796_673_600.0  # 2026-12-07 12:00 PST
TODAY = "2026-12-07"


@pytest.fixture
def setup(bridge, monkeypatch):
    """A good setup: a service with an approved campaign, deferring inbound; one number in it."""
    service = bridge.twilio.state.add_service("sms-bridge")
    bridge.twilio.state.set_campaign(service.sid, "VERIFIED")
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", service.sid)
    bridge.add_pool(SF)
    bridge.service = service
    return bridge


def target(bridge, service_sid: str | None = "default", prefix: str = PREFIX, **environment: str):
    return doctor_targets.Target(
        name="test",
        twilio=TwilioGateway(),
        service_sid=bridge.service.sid if service_sid == "default" else service_sid,
        public_base_url=PUBLIC_BASE_URL,
        list_numbers=lambda: bridge.api.get("/numbers").json["numbers"],
        missing_aws_resources=doctor_targets.missing_resources(prefix),
        tmobile_count=doctor_targets.tmobile_count(prefix),
        environment=environment,
        now=lambda: NOW,
    )


def checked(bridge, **kwargs) -> dict[str, doctor.Check]:
    checks = doctor.examine(target(bridge, **kwargs))
    print(doctor.render(target(bridge, **kwargs), checks))
    return {c.title: c for c in checks}


def failures(bridge, **kwargs) -> dict[str, doctor.Check]:
    checks = doctor.examine(target(bridge, **kwargs))
    print(doctor.render(target(bridge, **kwargs), checks))
    return {c.title: c for c in checks if not c.ok}


def test_a_good_setup_passes(setup):
    checks = doctor.examine(target(setup))
    assert all(c.ok for c in checks), doctor.render(target(setup), checks)
    titles = [c.title for c in checks]
    assert titles == [
        "Twilio credentials",
        "Messaging Service exists",
        "PUBLIC_BASE_URL reaches this stage's API",
        "service defers incoming SMS to the numbers' webhooks",
        "approved US A2P 10DLC campaign",
        "campaign's carrier limits",
        "T-Mobile's daily cap today",
        "numbers in the campaign within its cap",
        f"pool number {SF}",
        "AWS resources of the stage",
    ]
    assert "all 10 checks passed" in doctor.render(target(setup), checks)
    assert_twilio_spec_kept(setup.twilio)


def test_a_number_outside_the_service(setup):
    number = setup.twilio.state.number_by_phone(SF)
    setup.twilio.state.remove_from_service(setup.service.sid, number.sid)
    failed = failures(setup)
    assert list(failed) == [f"pool number {SF}"]
    assert "not a sender of the Messaging Service" in failed[f"pool number {SF}"].detail
    assert '"phone_number": "+14155550181"' in failed[f"pool number {SF}"].fix


def test_a_service_sending_its_own_inbound_webhook(setup):
    service = setup.twilio.state.service(setup.service.sid)
    service.inbound_request_url, service.use_inbound_webhook_on_number = "https://elsewhere.example/in", False
    failed = failures(setup)
    check = failed["service defers incoming SMS to the numbers' webhooks"]
    assert "elsewhere.example" in check.detail and "Defer to sender's webhook" in check.fix


@pytest.mark.parametrize("status", [None, "PENDING"])
def test_no_approved_campaign(setup, status):
    if status is None:
        setup.twilio.state.clear_campaign(setup.service.sid)
    else:
        setup.twilio.state.set_campaign(setup.service.sid, status)
    check = failures(setup)["approved US A2P 10DLC campaign"]
    assert (status or "no US A2P 10DLC campaign") in check.detail and "A2P 10DLC" in check.fix


def test_a_wrong_sms_url(setup):
    setup.twilio.state.number_by_phone(SF).sms_url = "https://old.example/twilio/sms"
    check = failures(setup)[f"pool number {SF}"]
    assert "SmsUrl is https://old.example/twilio/sms" in check.detail
    assert "re-points its webhooks" in check.fix


def test_no_service_configured(setup):
    check = failures(setup, service_sid=None)["Messaging Service exists"]
    assert "TWILIO_MESSAGING_SERVICE_SID" in check.fix


def test_wrong_credentials_and_missing_resources(setup, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    failed = failures(setup, prefix="sms-bridge-nowhere-")
    assert "Twilio credentials" in failed and "auth token" in failed["Twilio credentials"].fix
    assert "table sms-bridge-nowhere-" in failed["AWS resources of the stage"].detail


def test_a_held_back_number_is_reported_with_the_reactivate_fix(setup):
    import app as app_module
    from chalicelib.usecases import carrier_outcomes

    carrier_outcomes.hold_back(app_module.context, SF, "30007")
    check = failures(setup)[f"pool number {SF}"]
    assert "30007" in check.detail and f"POST /numbers/{SF}/reactivate" in check.fix


def test_main_exits_non_zero_when_something_fails(setup, capsys):
    assert doctor.main([], target=target(setup, service_sid=None)) == 1
    assert "[FAIL] Messaging Service exists" in capsys.readouterr().out


def test_the_carrier_side_says_what_the_campaign_means(setup):
    rates = {"att": {"mps": 5, "msg_class": "A"}, "tmobile": {"brand_tier": "MID"}}
    setup.twilio.state.set_campaign(setup.service.sid, "VERIFIED", rate_limits=rates)
    limits = checked(setup)["campaign's carrier limits"]
    assert limits.ok
    assert "use case MIXED; AT&T 5 MPS (class A); T-Mobile tier MID: 10,000 segments and MMS a day" in limits.detail
    today = checked(setup)["T-Mobile's daily cap today"]
    assert today.ok and f"0 of 10,000 (0%) since midnight Pacific ({TODAY}); resets 2026-12-08T00:00:00-08:00" in (
        today.detail
    )
    overridden = checked(setup, TMOBILE_DAILY_SEGMENTS="500")["campaign's carrier limits"]
    assert "500 segments and MMS a day (TMOBILE_DAILY_SEGMENTS)" in overridden.detail
    assert "1 of 49 (T-Mobile's per campaign" in checked(setup)["numbers in the campaign within its cap"].detail


def test_todays_t_mobile_count_near_and_at_the_cap(setup):
    from chalicelib.store.dynamodb.tmobile_counts import DynamoTMobileCounts

    rates = {"att": {"mps": 1.25}, "tmobile": {"brand_tier": "LOW"}}
    setup.twilio.state.set_campaign(setup.service.sid, "VERIFIED", rate_limits=rates)
    counts = DynamoTMobileCounts()
    counts.admit(TODAY, "msg_1", 1_600, cap=2_000, expires_at=int(NOW) + 86400)
    near = checked(setup)["T-Mobile's daily cap today"]
    assert near.ok and "1,600 of 2,000 (80%)" in near.detail and "tmobile-cap-near" in near.detail
    counts.fill(TODAY, 2_000, expires_at=int(NOW) + 86400)
    full = failures(setup)["T-Mobile's daily cap today"]
    assert "fail 30023 until then" in full.detail and "trust score" in full.fix


def test_a_sole_proprietors_campaign_allows_one_number(setup):
    setup.twilio.state.set_campaign(setup.service.sid, "VERIFIED", us_app_to_person_usecase="SOLE_PROPRIETOR")
    setup.add_pool("+14155550182")
    check = failures(setup)["numbers in the campaign within its cap"]
    assert "2 of 1 (a sole proprietor's campaign" in check.detail and "allows one number" in check.fix
    assert "1,000 segments and MMS a day" in checked(setup)["campaign's carrier limits"].detail


def test_numbers_past_49_need_an_approved_number_pool(setup):
    state = setup.twilio.state
    for i in range(49):
        number = state.add_number(f"+1415555{2000 + i}")
        state.add_to_service(setup.service.sid, number.sid)
    check = failures(setup)["numbers in the campaign within its cap"]
    assert "50 of 49" in check.detail and "approved T-Mobile Number Pool" in check.fix
    raised = checked(setup, CAMPAIGN_MAX_NUMBERS="100")["numbers in the campaign within its cap"]
    assert raised.ok and "50 of 100 (CAMPAIGN_MAX_NUMBERS" in raised.detail
    assert "warning: a pool of proxy numbers past 49 needs an approved T-Mobile Number Pool" in raised.detail
