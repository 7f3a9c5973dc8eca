"""The stand-in's backend without HTTP: numbers bought and released, Messaging Services and
their sender pools, A2P campaigns, where an inbound SMS is posted, the clock, and reset."""

import pytest
from standin_backend_kit import POOL_NUMBER, SECOND_NUMBER, START, VirtualClock, new_backend

from devstack.twilio.errors import (
    ERR_IN_ANOTHER_SERVICE,
    ERR_NO_NUMBERS_IN_AREA_CODE,
    ERR_NOT_FOUND,
    ERR_NOT_MESSAGING_CAPABLE,
    ERR_PHONE_NUMBER_INVALID,
    ERR_PHONE_NUMBER_UNAVAILABLE,
    ApiError,
)
from devstack.twilio.resources import DEFAULT_RATE_LIMITS


def refused(call, *args, **kwargs) -> tuple[int, int]:
    with pytest.raises(ApiError) as error:
        call(*args, **kwargs)
    return error.value.status, error.value.code


def test_a_number_bought_by_phone_number_is_owned_with_its_settings_and_the_clock_s_date():
    clock = VirtualClock()
    backend = new_backend(clock)
    number = backend.buy_number("+1 415 555 0142", None, sms_url="https://bridge.example/twilio/sms")
    assert (number.phone_number, number.sms_url, number.friendly_name) == (
        "+14155550142",
        "https://bridge.example/twilio/sms",
        "(415) 555-0142",
    )
    assert number.date_created == START and number.sid.startswith("PN")
    assert backend.number_by_phone("+14155550142") is number


def test_a_purchase_is_refused_as_twilio_refuses_it():
    backend = new_backend()
    backend.add_number(POOL_NUMBER)
    assert refused(backend.buy_number, "+1415", None) == (400, ERR_PHONE_NUMBER_INVALID)
    assert refused(backend.buy_number, POOL_NUMBER, None) == (400, ERR_PHONE_NUMBER_UNAVAILABLE)
    assert refused(backend.buy_number, None, None) == (400, ERR_PHONE_NUMBER_INVALID)
    backend.set_area_code_available("212", False)
    assert refused(backend.buy_number, "+12125550142", None) == (400, ERR_PHONE_NUMBER_UNAVAILABLE)
    assert refused(backend.buy_number, None, "212") == (400, ERR_NO_NUMBERS_IN_AREA_CODE)
    assert len(backend.numbers) == 1, "nothing bought by a refused purchase"


def test_an_area_code_purchase_takes_the_first_number_in_stock_not_owned():
    backend = new_backend()
    first = backend.buy_number(None, "510")
    second = backend.buy_number(None, "510")
    assert (first.phone_number, second.phone_number) == ("+15105550100", "+15105550101")
    assert "+15105550100" not in backend.available_numbers("US", "510")


def test_searches_skip_owned_numbers_and_unavailable_area_codes():
    backend = new_backend()
    backend.add_number("+14155550100")
    us = backend.available_numbers("US")
    assert "+14155550100" not in us and "+14155550101" in us
    backend.set_area_code_available("415", False)
    assert not [n for n in backend.available_numbers("US") if n.startswith("+1415")]
    assert backend.available_numbers("US", "415") == []
    assert backend.available_numbers("GB", "415") == [], "AreaCode applies to US and CA only"
    assert all(n.startswith("+44") for n in backend.available_numbers("GB"))


def test_updating_a_number_stamps_it_with_the_clock_and_an_unknown_sid_changes_nothing():
    clock = VirtualClock()
    backend = new_backend(clock)
    number = backend.add_number(POOL_NUMBER, sms_url="https://old.example/sms")
    clock.advance(60)
    backend.update_number(number.sid, {"sms_url": None})
    assert number.sms_url is None and number.date_updated > number.date_created
    assert backend.update_number("PN" + "0" * 32, {"sms_url": "x"}) is None


def test_a_released_number_leaves_its_service_s_sender_pool():
    backend = new_backend()
    number = backend.add_number(POOL_NUMBER)
    service = backend.add_service("bridge")
    backend.add_to_service(service.sid, POOL_NUMBER)
    assert backend.remove_number(number.sid) is number
    assert service.senders == {} and backend.service_of(POOL_NUMBER) is None
    assert backend.remove_number(number.sid) is None


def test_a_sender_pool_takes_owned_sms_numbers_of_no_other_service():
    backend = new_backend()
    backend.add_number(POOL_NUMBER)
    voice_only = backend.add_number(SECOND_NUMBER, sms_capable=False)
    service, other = backend.add_service("bridge"), backend.add_service("other")
    backend.add_to_service(service.sid, POOL_NUMBER)
    assert refused(backend.add_to_service, other.sid, POOL_NUMBER) == (400, ERR_IN_ANOTHER_SERVICE)
    assert refused(backend.add_to_service, service.sid, voice_only.sid) == (400, ERR_NOT_MESSAGING_CAPABLE)
    assert refused(backend.add_to_service, service.sid, "+14155550199") == (404, ERR_NOT_FOUND)
    assert refused(backend.add_to_service, "MG" + "0" * 32, POOL_NUMBER) == (404, ERR_NOT_FOUND)
    assert [n.phone_number for n in backend.senders(service)] == [POOL_NUMBER]
    assert backend.service_of(POOL_NUMBER) is service


def test_adding_a_number_to_its_own_service_again_keeps_when_it_joined():
    clock = VirtualClock()
    backend = new_backend(clock)
    number = backend.add_number(POOL_NUMBER)
    service = backend.add_service("bridge")
    backend.add_to_service(service.sid, number.sid)
    clock.advance(3600)
    backend.add_to_service(service.sid, POOL_NUMBER)
    assert service.senders == {number.sid: START}


def test_removing_a_number_not_in_the_pool_is_not_found():
    backend = new_backend()
    service = backend.add_service("bridge")
    assert refused(backend.remove_from_service, service.sid, "PN" + "0" * 32) == (404, ERR_NOT_FOUND)


def test_a_campaign_gets_twilio_s_rate_limits_then_changes_status_in_place():
    clock = VirtualClock()
    backend = new_backend(clock)
    service = backend.add_service("bridge")
    assert not service.a2p_verified
    campaign = backend.set_campaign(service.sid, "PENDING")
    assert (campaign.campaign_status, campaign.rate_limits) == ("PENDING", DEFAULT_RATE_LIMITS)
    assert not service.a2p_verified
    clock.advance(60)
    limits = {"att": {"mps": 75, "msg_class": "A"}, "tmobile": {"brand_tier": "LOW"}}
    again = backend.set_campaign(service.sid, "VERIFIED", limits, us_app_to_person_usecase="SOLE_PROPRIETOR")
    assert again.sid == campaign.sid and again.date_updated > again.date_created
    assert (again.rate_limits, again.us_app_to_person_usecase) == (limits, "SOLE_PROPRIETOR")
    assert service.a2p_verified
    with pytest.raises(ValueError, match="campaign_status"):
        backend.set_campaign(service.sid, "APPROVED")
    backend.clear_campaign(service.sid)
    assert service.campaign is None and not service.a2p_verified


def test_an_inbound_sms_is_posted_to_the_service_s_url_unless_it_defers_to_the_number():
    backend = new_backend()
    backend.add_number(POOL_NUMBER, sms_url="https://bridge.example/number", sms_method="GET")
    assert backend.inbound_webhook(POOL_NUMBER) == ("https://bridge.example/number", "GET")
    service = backend.add_service("bridge", inbound_request_url="https://bridge.example/service")
    backend.add_to_service(service.sid, POOL_NUMBER)
    assert backend.inbound_webhook(POOL_NUMBER) == ("https://bridge.example/service", "POST")
    backend.update_service(service.sid, {"use_inbound_webhook_on_number": True})
    assert backend.inbound_webhook(POOL_NUMBER) == ("https://bridge.example/number", "GET")
    assert backend.inbound_webhook("+14155550199") == (None, "POST")


def test_a_phone_added_on_the_page_is_remembered_with_its_flags():
    backend = new_backend()
    backend.set_phone("+14155550123", opted_out=True)
    backend.set_phone("+14155550123", unreachable=True)
    assert backend.extra_phones == ["+14155550123"]
    assert "+14155550123" in backend.opted_out and "+14155550123" in backend.unreachable
    backend.set_phone("+14155550123", opted_out=False)
    assert "+14155550123" not in backend.opted_out and "+14155550123" in backend.unreachable


def test_every_change_notifies_waiters_and_reset_forgets_all_but_the_options():
    backend = new_backend(require_a2p=True, opt_out_type="advanced")
    version = backend.version
    backend.add_number(POOL_NUMBER)
    assert backend.wait_for(lambda: backend.version > version, timeout=0) is True
    backend.log_request({"path": "/x"})
    backend.reset()
    assert (backend.numbers, backend.requests, backend.callbacks) == ({}, [], [])
    assert (backend.require_a2p, backend.opt_out_type) == (True, "advanced")
    with pytest.raises(TimeoutError):
        backend.wait_for(lambda: backend.numbers, timeout=0)


def test_an_unknown_opt_out_mode_is_refused():
    with pytest.raises(ValueError, match="opt_out_type"):
        new_backend(opt_out_type="sometimes")
