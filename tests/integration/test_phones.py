"""Phone hook-up, verification, presence and opt-out, as the chat backend sees them."""

import pytest
from conftest import POOL

ALICE = "+14155550100"


@pytest.fixture
def pool(bridge):
    bridge.add_pool(*POOL)
    return bridge


def test_code_sms_goes_through_the_outbound_queue_and_is_never_stored(pool):
    response = pool.api.put("/users/alice/phone", {"phone": "(415) 555-0100"})
    assert response.status_code == 202
    assert response.json == {"user_id": "alice", "phone": ALICE, "status": "pending"}
    assert pool.twilio.sms_to(ALICE) == [], "nothing is sent before the sender runs"
    pool.queues.drain()
    code = pool.twilio.last_code(ALICE)
    from chalicelib.store.models import Message

    assert all(code not in (m.text or "") + (m.body or "") for m in Message.scan())
    assert pool.api.get("/users/alice/phone").json["status"] == "pending"


def test_wrong_code_then_too_many_tries(pool):
    pool.api.put("/users/alice/phone", {"phone": ALICE})
    pool.queues.drain()
    code = pool.twilio.last_code(ALICE)
    wrong = "000000" if code != "000000" else "111111"
    for tries_left in (4, 3, 2, 1, 0):
        response = pool.api.post("/users/alice/phone/verify", {"code": wrong})
        assert response.status_code == 400 and response.json["error"]["code"] == "wrong_code"
        assert f"{tries_left} tries left" in response.json["error"]["message"]
    blocked = pool.api.post("/users/alice/phone/verify", {"code": code})
    assert blocked.status_code == 429 and blocked.json["error"]["code"] == "too_many_tries"


def test_expired_code_is_410(pool, clock):
    pool.api.put("/users/alice/phone", {"phone": ALICE})
    pool.queues.drain()
    code = pool.twilio.last_code(ALICE)
    clock.advance(601)
    response = pool.api.post("/users/alice/phone/verify", {"code": code})
    assert response.status_code == 410 and response.json["error"]["code"] == "code_expired"


def test_unverified_phone_cannot_open_sessions(pool):
    pool.api.put("/users/alice/phone", {"phone": ALICE})
    response = pool.api.post("/sessions", {"user_id": "alice", "partner_id": "bob"})
    assert response.status_code == 409 and response.json["error"]["code"] == "phone_not_verified"


def test_a_verified_phone_belongs_to_one_user(pool):
    pool.verified_user("alice", ALICE)
    response = pool.api.put("/users/mallory/phone", {"phone": ALICE})
    assert response.status_code == 409 and response.json["error"]["code"] == "phone_in_use"


def test_stop_opts_out_on_any_number_and_start_opts_back_in(pool):
    pool.verified_user("alice", ALICE)
    session = pool.open_session("alice", "bob", "Bob")
    queued = pool.send(session["session_id"], "queued before STOP")

    stop = pool.sms_from_phone(ALICE, POOL[2], " stop ")
    assert stop.status_code == 200
    pool.queues.drain()
    assert pool.api.get("/users/alice/phone").json["status"] == "opted_out"
    assert pool.api.get(f"/messages/{queued['message_id']}").json["status"] == "failed"
    assert not [m for m in pool.twilio.sms_to(ALICE) if "queued before STOP" in m.body]
    refused = pool.api.post("/sessions", {"user_id": "alice", "partner_id": "carol"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "opted_out"
    assert [e["user_id"] for e in pool.chat.of_type("phone.opted_out")] == ["alice"]

    pool.sms_from_phone(ALICE, POOL[0], "START")
    pool.queues.drain()
    assert pool.api.get("/users/alice/phone").json["status"] == "verified"
    assert pool.api.post("/sessions", {"user_id": "alice", "partner_id": "carol"}).status_code == 201
    assert [e["user_id"] for e in pool.chat.of_type("phone.opted_in")] == ["alice"]


def test_help_answers_with_help_text_when_twilios_answer_is_off(pool, monkeypatch):
    monkeypatch.setenv("TWILIO_ANSWERS_HELP", "false")  # by default Twilio answers (test_twilio_keywords.py)
    pool.verified_user("alice", ALICE)
    response = pool.sms_from_phone(ALICE, POOL[0], "help")
    assert "STOP" in response.text and "<Message>" in response.text


def test_back_in_chat_cancels_queued_sms(pool):
    pool.verified_user("alice", ALICE)
    session = pool.open_session("alice", "bob", "Bob")
    message = pool.send(session["session_id"], "are you there?")
    response = pool.api.put("/users/alice/presence", {"away": False})
    assert response.status_code == 200 and response.json["cancelled"] == 1
    pool.queues.drain()
    assert pool.api.get(f"/messages/{message['message_id']}").json["status"] == "cancelled"
    assert not [m for m in pool.twilio.sms_to(ALICE) if "are you there" in m.body]
    statuses = [(e["message_id"], e["status"]) for e in pool.chat.of_type("message.status")]
    assert (message["message_id"], "cancelled") in statuses


def test_removing_the_phone_closes_sessions(pool):
    pool.verified_user("alice", ALICE)
    session = pool.open_session("alice", "bob", "Bob")
    assert pool.api.delete("/users/alice/phone").status_code == 204
    assert pool.api.get(f"/sessions/{session['session_id']}").json["status"] == "closed"
    assert pool.api.get("/users/alice/phone").status_code == 404
    pool.queues.drain()
    assert [e["session_id"] for e in pool.chat.of_type("session.closed")] == [session["session_id"]]


def test_no_sms_while_the_user_is_in_chat(pool):
    pool.verified_user("alice", ALICE)
    session = pool.open_session("alice", "bob", "Bob")
    pool.api.put("/users/alice/presence", {"away": False})
    refused = pool.api.post(f"/sessions/{session['session_id']}/messages", {"text": "hi"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "user_present"
    pool.api.put("/users/alice/presence", {"away": True})
    assert pool.api.post(f"/sessions/{session['session_id']}/messages", {"text": "hi"}).status_code == 202


def test_no_sms_to_a_phone_that_opted_out_after_the_session_opened(pool):
    pool.verified_user("alice", ALICE)
    session = pool.open_session("alice", "bob", "Bob")
    pool.sms_from_phone(ALICE, session["pool_number"], "STOP")
    refused = pool.api.post(f"/sessions/{session['session_id']}/messages", {"text": "hi"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "opted_out"


def test_a_landline_is_refused_at_hook_up_naming_its_line_type_and_gets_no_sms(pool, monkeypatch):
    monkeypatch.setenv("TWILIO_LOOKUP_FIELDS", "line_type_intelligence")
    pool.twilio.state.set_phone(ALICE, line={"line_type": "landline", "carrier": "AT&T"})
    response = pool.api.put("/users/alice/phone", {"phone": ALICE})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_phone"
    assert "landline" in response.json["error"]["message"]
    pool.queues.drain()
    assert pool.twilio.sms_to(ALICE) == []
    assert pool.api.get("/users/alice/phone").status_code == 404, "nothing hooked up"
    [lookup] = [r for r in pool.twilio.rest_requests() if r.get("operation") == "FetchPhoneNumber"]
    assert "spec_error" not in lookup, "the request is one Twilio's Lookup v2 accepts"


def test_a_mobile_phone_hooked_up_shows_its_carrier(pool, monkeypatch):
    monkeypatch.setenv("TWILIO_LOOKUP_FIELDS", "line_type_intelligence")
    pool.twilio.state.set_phone(ALICE, line={"line_type": "mobile", "carrier": "Verizon Wireless"})
    assert pool.api.put("/users/alice/phone", {"phone": ALICE}).status_code == 202
    shown = pool.api.get("/users/alice/phone").json
    assert (shown["carrier"], shown["line_type"]) == ("Verizon Wireless", "mobile")
