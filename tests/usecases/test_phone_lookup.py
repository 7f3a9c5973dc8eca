"""usecases/phone_lookup.py through phones.hook_up: Twilio Lookup v2 at hook-up, against the
stand-in over HTTP (every Lookup request checked against twilio_oai/twilio_lookups_v2.json):
refusals before any claim or SMS, the kept answer and its window, failing open or closed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.metrics import Collector, Metrics
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.core.errors import BridgeError
from chalicelib.store.conditional import get_or_none
from chalicelib.store.models import Message, Phone
from chalicelib.usecases import phones, pool_usage
from chalicelib.wiring import production_context
from devstack.twilio.faults import Fault
from devstack.twilio_spec import recording_http_client

from .support import ALICE, POOL, T0, add_pool, send_outbound

BOTH = ("line_type_intelligence", "sms_pumping_risk")
CANADIAN = "+16135550123"
DAY = 86400


@pytest.fixture
def metrics():
    return []


@pytest.fixture
def ctx(aws_backend, twilio, metrics):
    """The use-case context (virtual time, the stand-in), metrics collected, Lookup on."""
    context = production_context(
        clock=ManualClock(T0),
        twilio=TwilioGateway(),
        metrics=Metrics(Collector(lambda name, value, dims: metrics.append((name, dims)))),
    )
    with_lookup(context)
    add_pool(context, twilio, *POOL)
    return context


def with_lookup(ctx, **changes) -> None:
    lookup = dataclasses.replace(ctx.settings.lookup, **({"fields": BOTH} | changes))
    ctx.refresh(dataclasses.replace(ctx.settings, lookup=lookup))


def set_line(twilio, phone: str, **line) -> None:
    twilio.state.set_phone(phone, line=line)


def lookups_made(twilio) -> list[dict]:
    return [r for r in twilio.rest_requests() if r.get("operation") == "FetchPhoneNumber"]


def refused(ctx, user_id: str, phone: str) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        phones.hook_up(ctx, user_id, phone)
    return caught.value


def test_a_mobile_phone_is_looked_up_once_and_its_carrier_kept(ctx, twilio):
    set_line(twilio, ALICE, line_type="mobile", carrier="T-Mobile USA, Inc.", sms_pumping_risk=3)
    phones.hook_up(ctx, "alice", ALICE)
    kept = Phone.get(ALICE)
    assert (kept.line_type, kept.carrier, kept.pumping_risk, kept.looked_up_at) == (
        "mobile",
        "T-Mobile USA, Inc.",
        3,
        T0,
    )
    [made] = lookups_made(twilio)
    assert made["query"] == {"Fields": ["line_type_intelligence,sms_pumping_risk"]} and "spec_error" not in made
    assert phones.describe(ctx, ctx.store.phones.user("alice"))["carrier"] == "T-Mobile USA, Inc."


@pytest.mark.parametrize("line_type", ["landline", "nonFixedVoip", "fixedVoip", "tollFree", "unknown"])
def test_a_phone_that_is_not_mobile_is_refused_naming_its_line_type_before_any_sms(ctx, twilio, metrics, line_type):
    set_line(twilio, ALICE, line_type=line_type)
    error = refused(ctx, "alice", ALICE)
    assert (error.status, error.code) == (400, "invalid_phone")
    assert f"line type {line_type}" in error.message
    assert send_outbound(ctx) == 0 and twilio.sms_to(ALICE) == [] and not list(Message.scan())
    assert Phone.get(ALICE).user_id is None, "nothing claimed"
    assert ("LookupRefused", {"Reason": "line_type"}) in metrics


def test_voip_is_taken_when_the_setting_admits_it(ctx, twilio):
    with_lookup(ctx, admit_voip=True)
    set_line(twilio, ALICE, line_type="nonFixedVoip", carrier="Google (Grand Central)")
    assert phones.hook_up(ctx, "alice", ALICE)["status"] == "pending"
    assert Phone.get(ALICE).line_type == "nonFixedVoip"


def test_a_pumping_risk_at_the_threshold_is_refused_naming_it(ctx, twilio, metrics):
    set_line(twilio, ALICE, sms_pumping_risk=ctx.settings.lookup.max_pumping_risk)
    error = refused(ctx, "alice", ALICE)
    assert (
        error.code == "invalid_phone"
        and f"SMS pumping risk {ctx.settings.lookup.max_pumping_risk} of 100" in error.message
    )
    assert twilio.sms_to(ALICE) == []
    assert ("LookupRefused", {"Reason": "pumping_risk"}) in metrics


def test_the_kept_answer_is_used_within_the_window_and_looked_up_again_after(ctx, twilio):
    with_lookup(ctx, max_age_seconds=3600)
    set_line(twilio, ALICE, line_type="landline")
    refused(ctx, "alice", ALICE)
    set_line(twilio, ALICE, line_type="mobile")  # ported to a mobile carrier meanwhile
    ctx.clock.advance(3000)
    assert "line type landline" in refused(ctx, "alice", ALICE).message, "the kept answer, not a new lookup"
    assert len(lookups_made(twilio)) == 1
    ctx.clock.advance(600)
    assert phones.hook_up(ctx, "alice", ALICE)["status"] == "pending"
    assert len(lookups_made(twilio)) == 2 and Phone.get(ALICE).line_type == "mobile"


def test_lookup_failing_does_not_block_a_hook_up_by_default(ctx, twilio, metrics):
    twilio.server.faults.add(Fault(operation="FetchPhoneNumber", status=503))
    assert phones.hook_up(ctx, "alice", ALICE)["status"] == "pending"
    assert send_outbound(ctx) == 1 and twilio.last_code(ALICE)
    kept = Phone.get(ALICE)
    assert (kept.carrier, kept.line_type, kept.looked_up_at) == (None, None, None), "unknown, and not kept"
    assert ("LookupFailed", {"Reason": "unreachable"}) in metrics
    ctx.clock.advance(31)  # one code per phone per 30 s
    phones.hook_up(ctx, "alice", ALICE)
    assert Phone.get(ALICE).line_type == "mobile", "the next hook-up looked it up"


def test_lookup_failing_refuses_the_hook_up_when_closed_and_nothing_is_lost(ctx, twilio, metrics):
    with_lookup(ctx, fail_closed=True)
    twilio.server.faults.add(Fault(operation="FetchPhoneNumber", status=503))
    error = refused(ctx, "alice", ALICE)
    assert (error.status, error.code, error.headers) == (503, "lookup_unavailable", {"Retry-After": "30"})
    assert get_or_none(Phone, ALICE) is None and send_outbound(ctx) == 0
    assert ("LookupFailed", {"Reason": "unreachable"}) in metrics
    ctx.clock.advance(31)
    assert phones.hook_up(ctx, "alice", ALICE)["status"] == "pending", "the retry goes through"


def test_each_lookup_is_in_the_cost_report_at_its_packages_prices(ctx, twilio):
    set_line(twilio, ALICE, line_type="landline")
    refused(ctx, "alice", ALICE)
    phones.hook_up(ctx, "bob", "+14155550124")
    report = pool_usage.stats(ctx, {})
    assert report["totals"]["lookups"] == {"line_type_intelligence": 2, "sms_pumping_risk": 2}
    assert report["estimated_cost_usd"]["lookups"] == pytest.approx(2 * 0.008 + 2 * 0.025)
    ctx.clock.advance(DAY)
    tomorrow = pool_usage.today(ctx.now()).isoformat()
    assert pool_usage.stats(ctx, {"from": tomorrow, "to": tomorrow})["totals"]["lookups"]["line_type_intelligence"] == 0


def test_with_lookup_off_nothing_is_looked_up(ctx, twilio):
    ctx.refresh(dataclasses.replace(ctx.settings, lookup=dataclasses.replace(ctx.settings.lookup, fields=())))
    set_line(twilio, ALICE, line_type="landline")
    assert phones.hook_up(ctx, "alice", ALICE)["status"] == "pending"
    assert lookups_made(twilio) == []


def canadian_answer(prepared):
    """Lookup's answer for an account without Twilio's Canadian (NPAC) data: the package's error only."""
    line = {"type": None, "carrier_name": None, "error_code": 60601}
    return 200, json.dumps({"phone_number": CANADIAN, "valid": True, "line_type_intelligence": line})


@pytest.mark.parametrize("fail_closed", [False, True])
def test_a_line_type_lookup_could_not_tell_is_counted_and_refused_only_when_closed(ctx, twilio, metrics, fail_closed):
    http = recording_http_client(validate=True, respond=canadian_answer)
    context = dataclasses.replace(ctx, twilio=TwilioGateway(http_client=http))
    with_lookup(context, fields=("line_type_intelligence",), fail_closed=fail_closed)
    if fail_closed:
        error = refused(context, "carl", CANADIAN)
        assert (error.code, error.status) == ("invalid_phone", 400) and "could not tell" in error.message
        assert ("LookupRefused", {"Reason": "no_line_type"}) in metrics
    else:
        assert phones.hook_up(context, "carl", CANADIAN)["status"] == "pending"
    assert ("LookupFailed", {"Reason": "no_line_type"}) in metrics
    assert Phone.get(CANADIAN).looked_up_at == T0, "kept: the same phone is not looked up again in the window"
    assert len(http.requests) == 1
