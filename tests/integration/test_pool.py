"""The pool through the API and the scheduled function, against the Twilio stand-in:
buying with the area-code fallback, growing on demand up to the size and budget
limits, draining and releasing, the autoscaler's run, the cost report. Every
Twilio request must be valid against Twilio's OpenAPI description."""

from __future__ import annotations

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import pytest
from conftest import PUBLIC_BASE_URL

import app as app_module
from chalicelib.core.errors import BridgeError
from chalicelib.store.models import POOL, PoolNumber, Session
from chalicelib.usecases import autoscale, pool_numbers, pool_usage, sessions

pool_report = importlib.import_module("scripts.pool_report")

ALICE = "+14155552671"  # not one of the stand-in's numbers for sale (555-01xx)
BOB = "+12125552671"
SF = ("+14155550181", "+14155550182")


def twilio_requests(twilio, operation: str | None = None) -> list[dict]:
    return [r for r in twilio.rest_requests() if operation is None or r.get("operation") == operation]


def assert_twilio_spec_kept(twilio) -> None:
    """Every request reached Twilio's operation: none refused by the spec check."""
    refused = [r for r in twilio_requests(twilio) if r.get("spec_error") or r.get("operation") is None]
    assert not refused, refused


@pytest.fixture
def alice(bridge):
    bridge.add_pool(*SF)
    bridge.verified_user("alice", ALICE)
    return bridge


def open_for(bridge, user: str, partner: str):
    return bridge.api.post("/sessions", {"user_id": user, "partner_id": partner})


def statuses(bridge) -> dict[str, str]:
    return {n["phone_number"]: n["status"] for n in bridge.api.get("/numbers").json["numbers"]}


# --- buying ------------------------------------------------------------------------


def test_buying_searches_the_area_code_then_the_whole_country(bridge):
    bridge.twilio.state.unavailable_area_codes.add("415")

    response = bridge.api.post("/numbers", {"area_code": "415"})

    assert response.status_code == 201, response.body
    bought = response.json["phone_number"]
    assert not bought.startswith("+1415") and bought.startswith("+1")
    searches = twilio_requests(bridge.twilio, "ListAvailablePhoneNumberLocal")
    assert [s["query"].get("AreaCode") for s in searches] == [["415"], None]
    (purchase,) = twilio_requests(bridge.twilio, "CreateIncomingPhoneNumber")
    assert purchase["form"]["PhoneNumber"] == [bought]
    assert purchase["form"]["SmsUrl"] == [PUBLIC_BASE_URL + "/twilio/sms"]
    assert purchase["form"]["StatusCallback"] == [PUBLIC_BASE_URL + "/twilio/status"]
    owned = bridge.twilio.state.number_by_phone(bought)
    assert owned.sms_url == PUBLIC_BASE_URL + "/twilio/sms"
    assert statuses(bridge) == {bought: "active"}
    assert_twilio_spec_kept(bridge.twilio)


def test_buying_in_an_area_code_with_stock_stays_there(bridge):
    response = bridge.api.post("/numbers", {"area_code": "212"})
    assert response.status_code == 201 and response.json["phone_number"].startswith("+1212")
    assert len(twilio_requests(bridge.twilio, "ListAvailablePhoneNumberLocal")) == 1
    assert_twilio_spec_kept(bridge.twilio)


def test_buying_by_hand_respects_the_maximum(bridge, monkeypatch):
    bridge.seed_pool(*SF)
    monkeypatch.setenv("POOL_MAX_SIZE", "2")
    response = bridge.api.post("/numbers", {"area_code": "415"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "pool_exhausted"
    assert "maximum size of 2 numbers" in response.json["error"]["message"]
    assert not twilio_requests(bridge.twilio, "CreateIncomingPhoneNumber")


# --- growing on demand ---------------------------------------------------------------


def test_a_user_who_needs_one_more_number_gets_one_bought_in_their_area_code(alice):
    first, second = open_for(alice, "alice", "p1"), open_for(alice, "alice", "p2")
    assert {first.json["pool_number"], second.json["pool_number"]} == set(SF)

    third = open_for(alice, "alice", "p3")

    assert third.status_code == 201, third.body
    grown = third.json["pool_number"]
    assert grown not in SF and grown.startswith("+1415")
    assert len(twilio_requests(alice.twilio, "CreateIncomingPhoneNumber")) == 1
    assert statuses(alice)[grown] == "active"
    number = PoolNumber.get(POOL, grown)
    assert int(number.open_sessions) == 1 and number.bought_at
    assert_twilio_spec_kept(alice.twilio)


def test_growth_takes_back_a_number_the_autoscaler_drained_instead_of_buying(alice):
    open_for(alice, "alice", "p1")
    third = "+14155550183"
    alice.seed_pool(third)
    pool_numbers.drain_auto(app_module.context, third, app_module.context.now())
    open_for(alice, "alice", "p2")

    grown = open_for(alice, "alice", "p3")

    assert grown.json["pool_number"] == third
    assert statuses(alice)[third] == "active"
    assert not twilio_requests(alice.twilio, "CreateIncomingPhoneNumber")


def test_at_the_maximum_size_a_session_is_refused_saying_so(alice, monkeypatch):
    monkeypatch.setenv("POOL_MAX_SIZE", "2")
    open_for(alice, "alice", "p1"), open_for(alice, "alice", "p2")

    refused = open_for(alice, "alice", "p3")

    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "pool_exhausted"
    assert "maximum size of 2 numbers (POOL_MAX_SIZE)" in refused.json["error"]["message"]
    assert not twilio_requests(alice.twilio, "CreateIncomingPhoneNumber")
    assert alice.api.get("/users/alice/sessions").json["sessions"].__len__() == 2


def test_over_the_monthly_budget_a_session_is_refused_saying_so(alice, monkeypatch):
    monkeypatch.setenv("POOL_MONTHLY_BUDGET_USD", "2.50")  # two numbers at $1.15 fit, a third does not
    open_for(alice, "alice", "p1"), open_for(alice, "alice", "p2")

    refused = open_for(alice, "alice", "p3")

    assert refused.status_code == 503
    message = refused.json["error"]["message"]
    assert "$3.45" in message and "monthly budget of $2.50 (POOL_MONTHLY_BUDGET_USD)" in message
    assert "maximum size" not in message
    assert not twilio_requests(alice.twilio, "CreateIncomingPhoneNumber")


def test_racing_opens_grow_the_pool_exactly_to_the_maximum(alice, atomic_moto, monkeypatch):
    monkeypatch.setenv("POOL_MAX_SIZE", "5")
    app_module.context.refresh()  # the settings the use case is called with below, as an invocation takes them
    start = threading.Barrier(6)

    def open_one(partner):
        start.wait()
        try:
            return sessions.open_session(app_module.context, {"user_id": "alice", "partner_id": partner})[0][
                "pool_number"
            ]
        except BridgeError as error:
            return error.message

    with ThreadPoolExecutor(6) as workers:
        results = list(workers.map(open_one, [f"p{i}" for i in range(6)]))

    placed = [r for r in results if r.startswith("+")]
    assert len(placed) == len(set(placed)) == 5
    assert [r for r in results if not r.startswith("+")] == [
        "the pool is at its maximum size of 5 numbers (POOL_MAX_SIZE); close sessions or raise the limit"
    ]
    assert len(twilio_requests(alice.twilio, "CreateIncomingPhoneNumber")) == 3
    assert_twilio_spec_kept(alice.twilio)


# --- draining and releasing --------------------------------------------------------------


def test_a_draining_number_gets_no_new_sessions_and_is_released_only_when_empty(alice, clock):
    session = open_for(alice, "alice", "p1").json
    draining = session["pool_number"]
    other = next(n for n in SF if n != draining)
    assert alice.api.delete(f"/numbers/{draining}").json["status"] == "draining"

    # No new session lands there: not another partner's, not even the pair's sticky one.
    assert open_for(alice, "alice", "p2").json["pool_number"] == other
    alice.api.delete(f"/sessions/{session['session_id']}")
    assert open_for(alice, "alice", "p1").json["pool_number"] not in (draining, other)  # grown instead

    alice.verified_user("bob", BOB)
    assert open_for(alice, "bob", "p1").json["pool_number"] != draining

    # With its session closed the number is empty, but it released only once quiet.
    clock.advance(60)
    autoscale.autoscale(app_module.context)
    assert statuses(alice)[draining] == "draining"
    assert not twilio_requests(alice.twilio, "DeleteIncomingPhoneNumber")

    clock.advance(600)
    run = autoscale.autoscale(app_module.context)

    assert {"action": "release", "phone_number": draining, "outcome": "released"}.items() <= {
        k: v for d in run["decisions"] if d["phone_number"] == draining for k, v in d.items()
    }.items()
    assert statuses(alice)[draining] == "released"
    (deletion,) = twilio_requests(alice.twilio, "DeleteIncomingPhoneNumber")
    assert deletion["path"].endswith(PoolNumber.get(POOL, draining).twilio_sid + ".json")
    assert alice.twilio.state.number_by_phone(draining) is None
    assert_twilio_spec_kept(alice.twilio)


def test_a_draining_number_with_an_open_session_is_kept(alice, clock):
    session = open_for(alice, "alice", "p1").json
    alice.api.delete(f"/numbers/{session['pool_number']}")
    clock.advance(3600)
    run = autoscale.autoscale(app_module.context)
    assert not [d for d in run["decisions"] if d["action"] == "release"]
    assert statuses(alice)[session["pool_number"]] == "draining"


# --- the scheduled function --------------------------------------------------------------


def invoke_schedule(bridge):
    event = bridge.api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["rule"]
    )
    response = bridge.api.client.lambda_.invoke("autoscale_pool", event)
    return response.payload


def test_the_schedule_sweeps_expired_sessions_corrects_counters_and_drains_the_surplus(alice, clock, monkeypatch):
    monkeypatch.setenv("POOL_HEADROOM", "2")
    extra = [f"+1415555018{i}" for i in range(3, 8)]
    alice.seed_pool(*extra)  # 7 numbers for one user with at most 2 sessions: 3 more than needed + headroom
    kept = open_for(alice, "alice", "p1").json
    expiring = open_for(alice, "alice", "p2").json
    Session(expiring["session_id"]).update(actions=[Session.expires_at.set(int(clock.now()) - 1)])
    PoolNumber(POOL, kept["pool_number"]).update(actions=[PoolNumber.open_sessions.add(3)])  # drifted

    start = clock.now()
    clock.set(start + 120)
    first = invoke_schedule(alice)
    assert first["expired_sessions_closed"] == 1
    assert first["counters_corrected"] == 1
    assert int(PoolNumber.get(POOL, kept["pool_number"]).open_sessions) == 1
    assert alice.api.get(f"/sessions/{expiring['session_id']}").json["close_reason"] == "expired"
    assert [d["action"] for d in first["decisions"]] == ["hold"], "nothing drains before an idle window"

    clock.set(start + 120 + 1800)
    second = invoke_schedule(alice)
    drained = [d for d in second["decisions"] if d["action"] == "drain"]
    assert len(drained) == 7 - (1 + 2)
    assert all(d["outcome"] == "draining" and "not needed" in d["reason"] for d in drained)
    assert kept["pool_number"] not in {d["phone_number"] for d in drained}, "the fewest sessions drain first"
    assert sum(s == "draining" for s in statuses(alice).values()) == 4


def test_a_dry_run_logs_its_decisions_and_changes_nothing(alice, clock, monkeypatch):
    alice.seed_pool(*[f"+1415555018{i}" for i in range(3, 8)])
    monkeypatch.setenv("POOL_DRY_RUN", "true")
    monkeypatch.setenv("POOL_HEADROOM", "2")  # keeps 2 of the 7 idle numbers
    start = clock.now()
    for minutes in (2, 40):
        clock.set(start + 60 * minutes)
        run = invoke_schedule(alice)
    assert run["dry_run"] is True
    assert [d["action"] for d in run["decisions"]] == ["drain"] * 5
    assert all(d["outcome"] == "logged" for d in run["decisions"])
    assert set(statuses(alice).values()) == {"active"}


def test_the_schedule_buys_when_the_projected_wait_exceeds_the_target(alice, clock):
    from datetime import datetime

    start = clock.now()
    today = datetime.fromtimestamp(start, tz=UTC).date()
    autoscale.autoscale(app_module.context)  # remembers the counters
    for number in SF:  # 3 segments/s over the next minute, on two numbers of 1 segment/s
        # as the sender's limiter counts them: cumulative, on the number; the run folds them
        PoolNumber(POOL, number).update(actions=[PoolNumber.segments_out.add(90), PoolNumber.messages_out.add(90)])
    clock.set(start + 60)

    run = autoscale.autoscale(app_module.context)

    bought = [d for d in run["decisions"] if d["action"] == "buy"]
    assert bought and all("projected wait" in d["reason"] and d["outcome"].startswith("bought") for d in bought)
    usage = pool_usage.usage_for_day(
        app_module.context, today
    )  # the 90s folded in (and the verification code sent before)
    assert all(int(usage[n].segments_out) - 90 in (0, 1) for n in SF)
    assert sum(s == "active" for s in statuses(alice).values()) == 2 + len(bought)
    assert_twilio_spec_kept(alice.twilio)


def test_sent_counters_reach_the_day_once_however_often_the_run_folds_them(alice, clock):
    session = open_for(alice, "alice", "bob").json
    alice.send(session["session_id"], "x" * 200)  # two segments
    alice.queues.drain()
    number, today = session["pool_number"], pool_usage.today(clock.now())
    assert pool_usage.usage_for_day(app_module.context, today).get(number) is None  # the sender wrote no usage item

    def reported():  # what no run folded yet is reported as today's
        row = next(r for r in alice.api.get("/numbers/stats").json["numbers"] if r["phone_number"] == number)
        return row["segments_sent"], row["messages_sent"]

    before = reported()
    assert before[0] >= 2
    for _ in range(2):
        autoscale.autoscale(app_module.context)
        usage = pool_usage.usage_for_day(app_module.context, today)[number]
        assert (usage.segments_out, usage.messages_out) == before
        assert reported() == before


# --- the cost report --------------------------------------------------------------------------


def test_stats_report_numbers_by_state_rentals_segments_and_cost(alice):
    session = open_for(alice, "alice", "bob").json
    alice.send(session["session_id"], "x" * 200)  # two segments
    alice.queues.drain()
    alice.sms_from_phone(ALICE, session["pool_number"], "thanks")
    alice.queues.drain()  # the SMS received is counted with the event it caused, when delivered
    alice.api.delete(f"/numbers/{next(n for n in SF if n != session['pool_number'])}")

    report = alice.api.get("/numbers/stats")

    assert report.status_code == 200, report.body
    body = report.json
    assert body["numbers_by_state"] == {"active": 1, "draining": 1, "released": 0}
    assert body["rentals_by_month"][-1]["rentals"] == 2
    row = next(r for r in body["numbers"] if r["phone_number"] == session["pool_number"])
    assert (row["segments_sent"], row["segments_received"]) == (2, 1)
    # The verification code went out from a pool number too.
    assert body["totals"]["messages_sent"] == 2 and body["totals"]["segments_received"] == 1
    cost = body["estimated_cost_usd"]
    assert cost["rentals"] == pytest.approx(2 * 1.15)
    assert cost["total"] == pytest.approx(cost["rentals"] + cost["segments_sent"] + cost["segments_received"])
    assert body["this_month"]["monthly_budget_usd"] == 100.0

    table = pool_report.render(body)  # what `make pool-report` prints
    assert f"{session['pool_number']:<16} active" in table and "estimated Twilio cost: $" in table


def test_stats_refuse_a_bad_period(api):
    assert api.get("/numbers/stats?from=2026-13-01").json["error"]["code"] == "invalid_period"
    assert api.get("/numbers/stats?from=2026-06-10&to=2026-06-01").status_code == 400
    assert api.get("/numbers/stats?from=2026-01-01&to=2026-12-31").status_code == 400
