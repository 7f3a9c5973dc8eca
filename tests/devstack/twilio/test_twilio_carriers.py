"""The stand-in as the carriers behave (devstack/twilio/carriers.py), on the backend in virtual
time: each phone's carrier (a default rule, settable); a 10DLC campaign's messages leave Twilio's
queue at the campaign's rate, whichever of its numbers sends them; T-Mobile fails a brand's
messages past its daily cap with 30023 (told through the status callback) until midnight Pacific."""

from datetime import UTC, datetime

import pytest
from standin_backend_kit import POOL_NUMBER, SECOND_NUMBER, ManualTimer, VirtualClock, new_backend, no_media
from test_twilio_delivery import CALLBACK, RecordingWebhooks

from devstack.twilio import carriers, outbound, phone_page
from devstack.twilio.delivery import Delivery

TMOBILE_PHONE = "+14155550120"  # last digit 0: T-Mobile by the default rule
ATT_PHONE = "+14155550121"
VERIZON_PHONE = "+14155550122"
# 23:59 in San Francisco on a summer day (PDT, UTC-7).
BEFORE_MIDNIGHT = datetime(2026, 7, 1, 6, 59, tzinfo=UTC)


@pytest.fixture
def world():
    clock = VirtualClock(BEFORE_MIDNIGHT)
    backend = new_backend(clock)
    backend.add_number(POOL_NUMBER)
    backend.add_number(SECOND_NUMBER)
    service = backend.add_service("bridge")
    backend.add_to_service(service.sid, POOL_NUMBER)
    backend.add_to_service(service.sid, SECOND_NUMBER)
    backend.set_campaign(service.sid, "VERIFIED", {"att": {"mps": 2}, "tmobile": {"brand_tier": "LOW"}})
    webhooks, timer = RecordingWebhooks(), ManualTimer()
    delivery = Delivery(backend, webhooks, callback_delay=0.25, timer=timer)
    return backend, clock, service, webhooks, timer, delivery


def send(backend, to=TMOBILE_PHONE, from_=POOL_NUMBER, body="hello"):
    return outbound.send_message(
        backend,
        to=to,
        from_=from_,
        messaging_service_sid=None,
        body=body,
        smart_encoded=False,
        status_callback=CALLBACK,
        media_urls=[],
        fetch_media=no_media,
    )


def test_each_phone_has_a_carrier_by_the_default_rule_or_as_set():
    backend = new_backend()
    assert [backend.carriers.carrier_of(p) for p in (TMOBILE_PHONE, ATT_PHONE, VERIZON_PHONE)] == [
        carriers.TMOBILE,
        carriers.ATT,
        carriers.VERIZON,
    ]
    assert backend.carriers.carrier_of("+442079460958") is None, "unknown outside North America"
    backend.carriers.set_carrier(ATT_PHONE, carriers.TMOBILE)
    assert backend.carriers.carrier_of(ATT_PHONE) == carriers.TMOBILE
    assert phone_page.phone_view(backend, ATT_PHONE)["carrier"] == carriers.TMOBILE


def test_a_campaigns_messages_leave_at_its_rate_whichever_number_sends(world):
    backend, _, _, _, timer, delivery = world
    for from_ in (POOL_NUMBER, SECOND_NUMBER, POOL_NUMBER):
        delivery.start(send(backend, to=ATT_PHONE, from_=from_))
    assert timer.delays == [0.25, 0.75, 1.25], "2 MPS for the campaign, not per number"
    delivery.start(send(backend, to=ATT_PHONE, body="x" * 161))  # 2 segments
    delivery.start(send(backend, to=ATT_PHONE))
    assert timer.delays[3:] == [1.75, 2.75]


def test_past_the_brands_cap_t_mobile_fails_30023_through_the_status_callback(world):
    backend, clock, _, webhooks, timer, delivery = world
    backend.carriers.tmobile_counts[carriers.pacific_day(clock())] = 1_999  # LOW: 2,000 a day
    delivery.start(send(backend))
    delivery.start(send(backend))
    delivery.start(send(backend, to=ATT_PHONE))
    timer.run_all()
    finals = [
        (p["To"], p["MessageStatus"], p.get("ErrorCode"))
        for _, _, p, _ in webhooks.posted
        if p["MessageStatus"] != "sent"
    ]
    assert finals == [
        (TMOBILE_PHONE, "delivered", None),
        (TMOBILE_PHONE, "failed", "30023"),
        (ATT_PHONE, "delivered", None),
    ]
    assert phone_page.carrier_view(backend)["tmobile"]["count"] == 2_000

    clock.advance(60)  # midnight Pacific: a new day at T-Mobile
    delivery.start(send(backend))
    timer.run_all()
    assert webhooks.posted[-1][2]["MessageStatus"] == "delivered"
    assert phone_page.carrier_view(backend)["tmobile"] == {"day": "2026-07-01", "count": 1, "daily_cap": 2_000}


@pytest.mark.parametrize(
    "rate_limits, use_case, override, cap",
    [
        ({"tmobile": {"brand_tier": "TOP"}}, "MIXED", None, 200_000),
        ({"tmobile": {"brand_tier": "MID"}}, "MIXED", None, 10_000),
        (None, "MIXED", None, 2_000),
        ({"tmobile": {"brand_tier": "TOP"}}, "SOLE_PROPRIETOR", None, 1_000),
        ({"tmobile": {"brand_tier": "TOP"}}, "MIXED", 50, 50),
    ],
)
def test_the_brands_cap_follows_its_tier(rate_limits, use_case, override, cap):
    assert carriers.brand_cap(rate_limits, use_case, override) == cap


def test_the_page_shows_the_campaigns_rate_and_numbers_against_the_cap(world):
    backend, _, service, *_ = world
    view = phone_page.carrier_view(backend)
    assert view["campaigns"] == [
        {
            "service_sid": service.sid,
            "campaign_status": "VERIFIED",
            "use_case": "MIXED",
            "mps": 2.0,
            "numbers": 2,
            "numbers_cap": 49,
            "service_numbers_cap": 400,
        }
    ]
    backend.set_campaign(service.sid, "VERIFIED", us_app_to_person_usecase="SOLE_PROPRIETOR")
    assert phone_page.carrier_view(backend)["campaigns"][0]["numbers_cap"] == 1
