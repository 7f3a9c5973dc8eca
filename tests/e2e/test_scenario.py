"""The core story over real HTTP, black-box: the stack as `make run` starts it;
API calls with requests, SMS read back from the Twilio stand-in's Messages list,
replies sent by simulated phones as signed webhooks, events read at the chat
receiver."""

import requests

ALICE = "+14155550142"
ERIN = "+14155550143"


def test_three_sessions_a_routed_reply_and_an_unrouted_one(stack):
    stack.verified_user("alice", ALICE)
    sessions = {partner: stack.open_session("alice", partner, partner.title()) for partner in ("bob", "carol", "dave")}
    numbers = {partner: session["pool_number"] for partner, session in sessions.items()}
    assert sorted(numbers.values()) == sorted(stack.pool), "each of alice's chats gets its own pool number"

    # Bob's message reaches alice's phone from bob's number, and Twilio reports it delivered.
    sent = stack.send(sessions["bob"]["session_id"], "Lunch at noon?")
    sms = stack.wait_for(lambda: [m for m in stack.sms(to=ALICE) if "Lunch" in m["body"]], "bob's SMS at Twilio")
    assert [(m["from"], m["body"]) for m in sms] == [(numbers["bob"], "Bob: Lunch at noon?")]
    stack.wait_for(
        lambda: stack.call("GET", f"/messages/{sent['message_id']}").json()["status"] == "delivered",
        "the delivered status callback to reach the bridge",
    )
    stack.wait_for_event(
        lambda e: (
            e["type"] == "message.status" and e["message_id"] == sent["message_id"] and e["status"] == "delivered"
        ),
        "message.status delivered at the chat receiver",
    )

    # Alice's reply to carol's number reaches carol's session, and only it.
    answer = stack.send_from_phone(ALICE, numbers["carol"], "On my way, Carol")
    assert answer["webhook"]["status"] == 200 and answer["replies"] == []
    event = stack.wait_for_event(
        lambda e: e["type"] == "message.received" and e["user_id"] == "alice", "alice's reply at the chat receiver"
    )
    assert (event["session_id"], event["user_id"], event["partner_id"], event["text"]) == (
        sessions["carol"]["session_id"],
        "alice",
        "carol",
        "On my way, Carol",
    )
    assert [
        m["text"] for m in stack.session_messages(sessions["carol"]["session_id"]) if m["direction"] == "inbound"
    ] == ["On my way, Carol"]

    # Dave's chat ends; a text to its number reaches nobody and the phone is told.
    assert stack.call("DELETE", f"/sessions/{sessions['dave']['session_id']}", expect=200).json()["status"] == "closed"
    answer = stack.send_from_phone(ALICE, numbers["dave"], "Dave, you there?")
    assert [reply["body"] for reply in answer["replies"]] == [
        "This conversation has ended. Your message was not delivered."
    ]
    unrouted = stack.wait_for_event(
        lambda e: e["type"] == "sms.unrouted" and e["user_id"] == "alice", "sms.unrouted at the chat receiver"
    )
    assert unrouted["pool_number"] == numbers["dave"] and "text" not in unrouted
    thread = stack.phone_thread(ALICE)
    assert [(m["direction"], m["pool_number"], m["body"]) for m in thread[-2:]] == [
        ("sent", numbers["dave"], "Dave, you there?"),
        ("received", numbers["dave"], "This conversation has ended. Your message was not delivered."),
    ]
    received = [e["text"] for e in stack.events() if e["type"] == "message.received" and e["user_id"] == "alice"]
    assert received == ["On my way, Carol"]
    assert "Dave, you there?" not in str(stack.events())
    for session in sessions.values():
        assert "Dave, you there?" not in [m["text"] for m in stack.session_messages(session["session_id"])]


def test_numbers_are_shared_between_users(stack):
    stack.verified_user("erin", ERIN)
    session = stack.open_session("erin", "bob", "Bob")
    assert session["pool_number"] in stack.pool
    stack.send(session["session_id"], "Hi Erin")
    stack.wait_for(
        lambda: [m for m in stack.sms(to=ERIN, from_=session["pool_number"]) if m["body"] == "Bob: Hi Erin"],
        "bob's SMS to erin",
    )


# The User-Agent of the requests the stand-in must refuse, sent on purpose: what the stand-in's
# log holds besides is the bridge's (and the other tests' reads), whatever ran before.
REFUSED_ON_PURPOSE = "sms-bridge-e2e (a wrong request, on purpose)"


def test_the_project_sent_twilio_only_requests_its_spec_accepts(stack):
    """The stand-in checks every REST request against Twilio's OpenAPI description
    and answers 4xx to a wrong one; none of the bridge's was refused (since the stack
    started: its numbers' set-up too), and every webhook and status callback it signed
    was accepted by the bridge."""
    stack.verified_user("gina", "+14155550144")
    logged = stack.twilio_requests()
    assert {"CreateMessage", "ListIncomingPhoneNumber", "UpdateIncomingPhoneNumber"} <= {
        r.get("operation") for r in logged
    }
    refused = [r for r in logged if r["status"] >= 400 and r["user_agent"] != REFUSED_ON_PURPOSE]
    assert refused == []
    stack.wait_for(lambda: stack.callbacks(), "a status callback")
    failed = [c for c in stack.callbacks() if c["error"] or not 200 <= c["status"] < 300]
    assert failed == []


def test_the_stand_in_refuses_what_twilio_refuses(stack):
    """So a wrong request from the project would fail the test above (these requests stay in
    the stand-in's log, marked by their User-Agent)."""
    _refused_requests(stack)
    logged = [r for r in stack.twilio_requests() if r["user_agent"] == REFUSED_ON_PURPOSE]
    assert len(logged) == 4 and all(r["status"] >= 400 for r in logged)


def _refused_requests(stack):
    http = requests.Session()
    http.headers["User-Agent"] = REFUSED_ON_PURPOSE
    base = f"{stack.standin_url}/2010-04-01/Accounts/{stack.account_sid}/Messages.json"
    form = {"From": stack.pool[0], "To": "+14155550145", "Body": "hi"}
    no_auth = http.post(base, data=form, timeout=10)
    assert no_auth.status_code == 401 and no_auth.json()["code"] == 20003
    missing_to = http.post(base, data={"From": stack.pool[0], "Body": "hi"}, auth=stack.twilio_auth, timeout=10)
    assert missing_to.status_code == 400
    other_account = base.replace(stack.account_sid, "AC" + "0" * 32)
    wrong_account = http.post(other_account, data=form, auth=stack.twilio_auth, timeout=10)
    assert wrong_account.status_code in (401, 403, 404)
    bad_sid = base.replace(stack.account_sid, "not-an-account-sid")
    assert http.post(bad_sid, data=form, auth=stack.twilio_auth, timeout=10).status_code in (400, 404)


def test_a_path_no_route_has_is_answered_404_as_the_http_api_does(stack):
    """The chat API is deployed on an HTTP API, which answers a path it does not have itself:
    404 {"message": "Not Found"}, whatever the method, token or body. The local stack answers
    the same, and the connection stays usable after it. A method a path does not have reaches
    the app (the HTTP API's routes take any method): 405 in openapi.yaml's error shape."""
    for method, path in (("GET", "/nope"), ("POST", "/sessions/ses_x/nope"), ("DELETE", "/")):
        response = stack.call(method, path, {"any": "body"} if method != "GET" else None)
        assert (response.status_code, response.json()) == (404, {"message": "Not Found"}), (method, path)
    wrong_method = stack.call("PATCH", "/numbers", {"any": "body"})
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")
    assert stack.call("GET", "/numbers", expect=200).json()["numbers"], "the same session's next request is served"


def test_the_api_needs_the_configured_token(stack):
    assert stack.http.get(f"{stack.api_url}/numbers", timeout=10).status_code == 401
    numbers = stack.call("GET", "/numbers", expect=200).json()["numbers"]
    assert sorted(n["phone_number"] for n in numbers) == sorted(stack.pool)
