"""T-Mobile's daily cap held before Twilio (usecases/tmobile_cap.py), through the sender
against moto and the Twilio stand-in (each request checked against Twilio's OpenAPI
description there), on virtual time: past the cap a message to a T-Mobile phone fails 30023
with no request to Twilio; the count starts again at midnight Pacific; a send Twilio refuses
gives its count back; a 30023 from Twilio teaches an unknown phone's carrier."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from chalicelib import config
from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.metrics import TMOBILE_CAP_NEAR, Collector, Metrics
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.core import phone_numbers
from chalicelib.core.carriers import TMOBILE_CARRIER_NAME
from chalicelib.usecases import inbound, messages, pool_numbers, tmobile_cap
from chalicelib.wiring import production_context

from .support import ALICE, BOB_PHONE, POOL, SessionStub, of_type, seed_verified_user, send_outbound

# Noon in San Francisco on a winter day (PST, UTC-8): the day ends at 08:00 UTC.
NOON_PST = datetime(2026, 12, 7, 20, 0, tzinfo=UTC).timestamp()
MIDNIGHT_PST = datetime(2026, 12, 8, 8, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def figures():
    return []


def context(figures, clock: ManualClock, **settings):
    return production_context(
        settings=dataclasses.replace(config.load(), **settings),
        clock=clock,
        twilio=TwilioGateway(),
        metrics=Metrics(Collector(lambda name, *_: figures.append(name))),
    )


@pytest.fixture
def capped(aws_backend, twilio, figures):
    """A cap of 5 segments a day (TMOBILE_DAILY_SEGMENTS), Alice on T-Mobile, Bob's carrier unknown."""
    ctx = context(figures, ManualClock(NOON_PST), tmobile_daily_segments=5)
    twilio.own(POOL[0])  # fast enough that a batch goes in one invocation: the cap, not the rate, is tested
    pool_numbers.record(ctx, phone_numbers.parse(POOL[0], "US"), "PN" + POOL[0][1:].rjust(32, "0"), 100.0)
    seed_verified_user(ctx, "alice", ALICE)
    seed_verified_user(ctx, "bob", BOB_PHONE)
    assert ctx.store.phones.learn_carrier(ALICE, TMOBILE_CARRIER_NAME, int(ctx.now()))
    return ctx


def to_alice(ctx, text: str) -> str:
    return messages.submit(ctx, SessionStub(), text)["message_id"]


def to_bob(ctx, text: str) -> str:
    return messages.submit(ctx, SessionStub(user_id="bob", user_phone=BOB_PHONE), text)["message_id"]


def outcome(ctx, message_id: str) -> tuple[str, str | None]:
    message = ctx.store.messages.get(message_id)
    return message.status, message.error_code


def test_past_the_cap_a_message_to_t_mobile_fails_30023_without_calling_twilio(capped, twilio, queued_events):
    ctx = capped
    long_text = "x" * 200  # 2 segments
    sent = [to_alice(ctx, long_text), to_alice(ctx, long_text), to_alice(ctx, "one")]  # 5 segments: the cap
    over = to_alice(ctx, "one more")
    send_outbound(ctx)
    assert [outcome(ctx, m)[0] for m in sent] == ["sent"] * 3
    assert outcome(ctx, over) == ("failed", "30023")
    assert len(twilio.sms_to(ALICE)) == 3, "the fourth never reached Twilio"
    told = [e for e in of_type(queued_events, "message.status") if e["message_id"] == over]
    assert [(e["status"], e["error_code"]) for e in told] == [("failed", "30023")]
    assert "T-Mobile's daily cap" in told[0]["error_reason"]
    assert "resets at midnight Pacific (2026-12-08T00:00:00-08:00)" in told[0]["error_reason"]

    not_tmobile = to_bob(ctx, "hello Bob")
    send_outbound(ctx)
    assert outcome(ctx, not_tmobile)[0] == "sent", "a phone not on T-Mobile is not capped"
    assert tmobile_cap.today(ctx, ctx.now()).count == 5


def test_the_alarm_metric_starts_at_80_percent(capped, figures):
    ctx = capped
    to_alice(ctx, "x" * 200)  # 2 of 5
    to_alice(ctx, "x" * 200)  # 4 of 5: 80%
    to_alice(ctx, "x" * 200)  # refused
    send_outbound(ctx)
    assert figures.count(TMOBILE_CAP_NEAR) == 2


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "morning, midnight",
    [
        (NOON_PST, MIDNIGHT_PST),
        # 2026-11-01 falls back: its midnight is 25 hours after the one before (08:00 UTC, not 07:00).
        (utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 8)),
        # 2026-03-08 springs forward: 23 hours (07:00 UTC, not 08:00).
        (utc(2026, 3, 8, 8, 30), utc(2026, 3, 9, 7)),
    ],
)
def test_the_count_starts_again_at_midnight_pacific(capped, twilio, morning, midnight):
    ctx = capped
    ctx.clock.set(morning)
    for _ in range(5):
        to_alice(ctx, "one")
    send_outbound(ctx)
    ctx.clock.set(midnight - 1)
    late = to_alice(ctx, "still today")
    send_outbound(ctx)
    assert outcome(ctx, late) == ("failed", "30023")
    ctx.clock.set(midnight)
    tomorrow = to_alice(ctx, "a new day")
    send_outbound(ctx)
    assert outcome(ctx, tomorrow)[0] == "sent"
    assert len(twilio.sms_to(ALICE)) == 6
    assert tmobile_cap.today(ctx, ctx.now()).count == 1


def test_a_send_twilio_refuses_gives_its_count_back(capped, twilio):
    ctx = capped
    twilio.state.set_phone(ALICE, opted_out=True)  # Twilio refuses it: 21610
    refused = to_alice(ctx, "x" * 200)
    send_outbound(ctx)
    assert outcome(ctx, refused) == ("failed", "21610")
    assert tmobile_cap.today(ctx, ctx.now()).count == 0


def test_the_campaigns_tier_sets_the_cap(aws_backend, twilio, figures, monkeypatch):
    service = twilio.state.add_service("sms-bridge")
    twilio.state.set_campaign(
        service.sid, "VERIFIED", rate_limits={"att": {"mps": 5, "msg_class": "A"}, "tmobile": {"brand_tier": "TOP"}}
    )
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", service.sid)
    ctx = context(figures, ManualClock(NOON_PST))
    assert tmobile_cap.today(ctx, ctx.now()).cap.segments == 200_000
    twilio.state.set_campaign(service.sid, "VERIFIED", us_app_to_person_usecase="SOLE_PROPRIETOR")
    ctx = context(figures, ManualClock(NOON_PST))
    assert tmobile_cap.today(ctx, ctx.now()).cap.segments == 1_000


def test_without_a_campaign_or_the_setting_no_cap_is_held(aws_backend, twilio, figures):
    ctx = context(figures, ManualClock(NOON_PST))
    assert tmobile_cap.today(ctx, ctx.now()).cap is None


def test_a_30023_from_twilio_teaches_an_unknown_carrier_and_fills_the_day(capped, twilio):
    ctx = capped
    first = to_bob(ctx, "hello Bob")
    send_outbound(ctx)
    assert ctx.store.phones.phone(BOB_PHONE).carrier is None
    inbound.delivery_status(ctx, first, {"MessageStatus": "undelivered", "ErrorCode": "30023"})
    assert ctx.store.phones.phone(BOB_PHONE).carrier == TMOBILE_CARRIER_NAME
    assert tmobile_cap.today(ctx, ctx.now()).count == 5, "T-Mobile says the brand's day is full"
    held = to_bob(ctx, "again")
    send_outbound(ctx)
    assert outcome(ctx, held) == ("failed", "30023")
    assert len(twilio.sms_to(BOB_PHONE)) == 1
