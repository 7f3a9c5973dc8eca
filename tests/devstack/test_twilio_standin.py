"""The Twilio stand-in, driven by the real twilio-python client over real HTTP on 127.0.0.1.

Nothing here sleeps to let time pass: tests wait on the stand-in's state or on the webhook
receiver's condition, with a timeout.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import phonenumbers
import pytest
import requests
from standin_receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from devstack.twilio.inbound import twiml_message_bodies
from devstack.twilio.segments import count_segments
from devstack.twilio.server import StandinHttpClient, serve
from devstack.twilio_spec import validate_response

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "standin-test-token"
POOL_NUMBER = "+14155550100"
USER_PHONE = "+14155550123"
OTHER_PHONE = "+12125550142"
WAIT = 5  # seconds: an upper bound for conditions, never a sleep


class MutableClock:
    """A clock tests can move; the stand-in stamps dates with it."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return MutableClock(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def standin(clock):
    server = serve(
        port=0,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        callback_delay=0,
        seed_numbers=(POOL_NUMBER,),
        clock=clock,
        queue_depth=lambda: 7,
    )
    yield server
    server.shutdown()


@pytest.fixture
def client(standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=StandinHttpClient(standin.url))


def api_url(standin, path, account_sid=ACCOUNT_SID):
    return f"{standin.url}/2010-04-01/Accounts/{account_sid}{path}"


def control(standin, method, path, json=None):
    return requests.request(method, f"{standin.url}/_standin{path}", json=json, timeout=WAIT)


def assert_signed(call, url=None):
    validator = RequestValidator(AUTH_TOKEN)
    assert call["signature"], "no X-Twilio-Signature header"
    assert validator.validate(url or call["url"], call["form"], call["signature"])


# --- Messages ----------------------------------------------------------------------------------


def test_create_fetch_and_list_messages(standin, client):
    created = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hello from chat")
    assert created.sid.startswith("SM") and len(created.sid) == 34
    assert (created.status, created.to, created.from_, created.body) == (
        "queued",
        USER_PHONE,
        POOL_NUMBER,
        "Hello from chat",
    )
    assert created.num_segments == "1" and created.direction == "outbound-api"
    assert created.date_created == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    fetched = client.messages(created.sid).fetch()
    assert (fetched.sid, fetched.body, fetched.account_sid) == (created.sid, created.body, ACCOUNT_SID)
    listed = client.messages.list(to=USER_PHONE, from_=POOL_NUMBER)
    assert [m.sid for m in listed] == [created.sid]
    assert client.messages.list(to=OTHER_PHONE) == []


def test_list_follows_next_page_uri(standin, client):
    sids = {client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body=f"m{i}").sid for i in range(5)}
    listed = client.messages.list(page_size=2)
    assert {m.sid for m in listed} == sids
    pages = [r for r in standin.state.requests if r.get("operation") == "ListMessage"]
    assert len(pages) == 3


def test_list_filters_on_date_sent(standin, client, clock):
    first = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="May 1st")
    standin.state.wait_for(lambda: standin.state.messages[first.sid].status == "delivered")
    clock.now += timedelta(days=2)
    second = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="May 3rd")
    standin.state.wait_for(lambda: standin.state.messages[second.sid].status == "delivered")

    def sids(**filters):
        return [m.sid for m in client.messages.list(to=USER_PHONE, **filters)]

    assert sids(date_sent=datetime(2024, 5, 1)) == [first.sid]
    assert sids(date_sent_before=datetime(2024, 5, 2)) == [first.sid]
    assert sids(date_sent_after=datetime(2024, 5, 2)) == [second.sid]
    assert sids(date_sent_after=datetime(2024, 5, 1)) == [second.sid, first.sid]  # newest first


def test_segments_follow_the_encoding(client):
    assert client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="a" * 161).num_segments == "2"
    assert client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="ü ☺").num_segments == "1"
    assert client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="☺" * 71).num_segments == "2"


# --- what the spec rejects, and auth -------------------------------------------------------------


def test_rejects_a_message_without_to(standin):
    answer = requests.post(
        api_url(standin, "/Messages.json"),
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        data={"From": POOL_NUMBER, "Body": "Hi"},
        timeout=WAIT,
    )
    assert answer.status_code == 400
    error = answer.json()
    assert set(error) == {"code", "message", "more_info", "status"}
    assert error["code"] == 21604 and error["status"] == 400 and "'To'" in error["message"]
    assert standin.state.messages == {}


def test_rejects_a_bad_account_sid(standin):
    answer = requests.post(
        api_url(standin, "/Messages.json", account_sid="XX123"),
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        data={"To": USER_PHONE, "From": POOL_NUMBER, "Body": "Hi"},
        timeout=WAIT,
    )
    assert answer.status_code == 400
    assert "AccountSid" in answer.json()["message"]


def test_rejects_a_request_without_auth(standin):
    answer = requests.get(api_url(standin, "/Messages.json"), timeout=WAIT)
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_rejects_a_wrong_auth_token(standin):
    wrong = Client(ACCOUNT_SID, "not-the-token", http_client=StandinHttpClient(standin.url))
    with pytest.raises(TwilioRestException) as error:
        wrong.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi")
    assert (error.value.status, error.value.code) == (401, 20003)


def test_rejects_what_the_project_rules_forbid(client):
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, body="no sender")
    assert error.value.code == 21603


def test_answers_404_for_an_unknown_path(standin):
    answer = requests.get(api_url(standin, "/Calls.json"), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=WAIT)
    assert answer.status_code == 404 and answer.json()["code"] == 20404


# --- Twilio's business errors --------------------------------------------------------------------


def test_invalid_to_is_21211(client):
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to="+1415555", from_=POOL_NUMBER, body="Hi")
    assert (error.value.status, error.value.code) == (400, 21211)


def test_from_not_owned_is_21606(client):
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, from_="+14155550199", body="Hi")
    assert error.value.code == 21606


def test_opted_out_phone_is_21610(standin, client):
    assert control(standin, "PUT", f"/phones/{quote(USER_PHONE)}", {"opted_out": True}).json()["opted_out"] is True
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi")
    assert (error.value.status, error.value.code) == (400, 21610)
    control(standin, "PUT", f"/phones/{quote(USER_PHONE)}", {"opted_out": False})
    assert client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi").status == "queued"


# --- faults --------------------------------------------------------------------------------------


def test_429_on_demand_then_normal(standin, client):
    assert control(standin, "POST", "/faults", {"status": 429, "count": 1}).status_code == 201
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi")
    assert (error.value.status, error.value.code) == (429, 20429)
    assert standin.state.messages == {}  # refused, not sent
    assert client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi").status == "queued"


def test_a_lost_answer_still_sends(standin, client):
    """'applied': Twilio accepted the message but the caller got a 500 (outcome unknown)."""
    control(standin, "POST", "/faults", {"status": 500, "applied": True})
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Did it go?")
    assert (error.value.status, error.value.code) == (500, 20500)
    assert [m.body for m in client.messages.list(to=USER_PHONE)] == ["Did it go?"]


def test_503_for_other_operations(standin, client):
    control(standin, "POST", "/faults", {"status": 503, "operation": "ListMessage", "count": 2})
    for _ in range(2):
        # twilio-python raises plain TwilioException (not TwilioRestException) for a list page
        with pytest.raises(TwilioException, match="Unable to fetch page") as error:
            client.messages.list()
        assert error.value.args[1].status_code == 503
    assert client.messages.list() == []


def test_slow_answers_time_out_the_caller(standin):
    control(standin, "POST", "/faults", {"delay_ms": 300})
    impatient = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=StandinHttpClient(standin.url, timeout=0.05))
    with pytest.raises(requests.exceptions.Timeout):
        impatient.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="slow")
    # The stand-in still finishes the call: the message exists once the delay is over.
    standin.state.wait_for(lambda: len(standin.state.messages) == 1)


def test_fault_rate_hits_about_that_share(standin, client):
    control(standin, "POST", "/faults", {"status": 500, "rate": 0.5})
    outcomes = []
    for _ in range(40):
        try:
            client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="coin")
            outcomes.append("ok")
        except TwilioRestException:
            outcomes.append("fault")
    assert 5 < outcomes.count("fault") < 35
    assert control(standin, "DELETE", "/faults").status_code == 204
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="clean")


def test_bad_fault_requests_are_refused(standin):
    assert control(standin, "POST", "/faults", {"status": 418}).status_code == 400
    assert control(standin, "POST", "/faults", {"operation": "SendFax"}).status_code == 400


# --- callbacks and webhooks ----------------------------------------------------------------------


def test_status_callbacks_are_signed_and_ordered(client, receiver):
    callback_url = f"{receiver.url}/twilio/status"
    message = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi", status_callback=callback_url)
    calls = receiver.wait_for_calls(2, "/twilio/status")
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "delivered"]
    for call in calls:
        assert_signed(call, callback_url)
        assert call["method"] == "POST"
        assert call["form"]["MessageSid"] == call["form"]["SmsSid"] == message.sid
        assert (call["form"]["AccountSid"], call["form"]["From"], call["form"]["To"], call["form"]["ApiVersion"]) == (
            ACCOUNT_SID,
            POOL_NUMBER,
            USER_PHONE,
            "2010-04-01",
        )
        assert "ErrorCode" not in call["form"]
    assert client.messages(message.sid).fetch().status == "delivered"


def test_unreachable_phone_gets_undelivered_with_error_code(standin, client, receiver):
    control(standin, "PUT", f"/phones/{quote(USER_PHONE)}", {"unreachable": True})
    callback_url = f"{receiver.url}/twilio/status"
    message = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="Hi", status_callback=callback_url)
    calls = receiver.wait_for_calls(2, "/twilio/status")
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "undelivered"]
    assert calls[1]["form"]["ErrorCode"] == "30003"
    assert_signed(calls[1], callback_url)
    assert client.messages(message.sid).fetch().error_code == 30003


def test_inbound_sms_posts_a_signed_webhook_and_delivers_the_twiml_reply(standin, client, receiver):
    sms_url = f"{receiver.url}/twilio/sms"
    number = client.incoming_phone_numbers.list(phone_number=POOL_NUMBER)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=sms_url, sms_method="POST")
    receiver.replies["/twilio/sms"] = (
        200,
        "<?xml version='1.0'?><Response><Message>Got it, thanks</Message></Response>",
        "text/xml",
    )

    answer = control(standin, "POST", f"/phones/{quote(USER_PHONE)}/send", {"to": POOL_NUMBER, "body": "Hi there"})
    assert answer.status_code == 200
    result = answer.json()

    (call,) = receiver.wait_for_calls(1, "/twilio/sms")
    assert_signed(call, sms_url)
    form = call["form"]
    assert (form["From"], form["To"], form["Body"]) == (USER_PHONE, POOL_NUMBER, "Hi there")
    assert form["MessageSid"].startswith("SM") and form["MessageSid"] == result["message"]["sid"]
    assert (form["AccountSid"], form["NumMedia"], form["NumSegments"], form["SmsStatus"], form["ApiVersion"]) == (
        ACCOUNT_SID,
        "0",
        "1",
        "received",
        "2010-04-01",
    )
    assert result["webhook"]["status"] == 200
    assert [r["body"] for r in result["replies"]] == ["Got it, thanks"]

    thread = control(standin, "GET", "/phones").json()["phones"][0]
    assert thread["phone"] == USER_PHONE
    assert [(m["direction"], m["pool_number"], m["body"]) for m in thread["thread"]] == [
        ("sent", POOL_NUMBER, "Hi there"),
        ("received", POOL_NUMBER, "Got it, thanks"),
    ]
    inbound = client.messages.list(from_=USER_PHONE)
    assert [(m.direction, m.status) for m in inbound] == [("inbound", "received")]


def test_inbound_to_an_unknown_pool_number_is_404(standin):
    answer = control(standin, "POST", f"/phones/{quote(USER_PHONE)}/send", {"to": "+14155550177", "body": "Hi"})
    assert answer.status_code == 404


def test_stop_from_the_phone_opts_it_out_until_start(standin, client, receiver):
    standin.state.number_by_phone(POOL_NUMBER).sms_url = f"{receiver.url}/twilio/sms"
    result = control(standin, "POST", f"/phones/{quote(USER_PHONE)}/send", {"to": POOL_NUMBER, "body": " stop "}).json()
    assert receiver.wait_for_calls(1)[0]["form"]["OptOutType"] == "STOP"
    assert "unsubscribed" in result["replies"][0]["body"]  # Twilio's own confirmation
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="still there?")
    assert error.value.code == 21610

    control(standin, "POST", f"/phones/{quote(USER_PHONE)}/send", {"to": POOL_NUMBER, "body": "START"})
    assert client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="welcome back").sid


# --- numbers -------------------------------------------------------------------------------------


def test_available_numbers_are_valid_and_in_the_area_code(client):
    found = client.available_phone_numbers("US").local.list(area_code=212, sms_enabled=True, limit=5)
    assert len(found) == 5
    for number in found:
        parsed = phonenumbers.parse(number.phone_number)
        assert phonenumbers.is_valid_number(parsed)
        assert number.phone_number.startswith("+1212")
        assert (number.iso_country, number.region, number.locality) == ("US", "NY", "New York")
    contains = client.available_phone_numbers("US").local.list(area_code=212, contains="5550*17", limit=20)
    assert [n.phone_number for n in contains] == ["+12125550117"]


def test_an_area_code_can_be_told_to_have_no_numbers(standin, client):
    assert control(standin, "PUT", "/area_codes/415", {"available": False}).status_code == 200
    assert client.available_phone_numbers("US").local.list(area_code=415) == []
    with pytest.raises(TwilioRestException) as error:
        client.incoming_phone_numbers.create(area_code="415")
    assert error.value.code == 21452


def test_incoming_number_lifecycle(standin, client):
    bought = client.incoming_phone_numbers.create(
        area_code="510", sms_url="http://127.0.0.1:9/twilio/sms", status_callback="http://127.0.0.1:9/twilio/status"
    )
    assert bought.sid.startswith("PN") and bought.phone_number.startswith("+1510")
    assert (bought.sms_url, bought.sms_method, bought.capabilities["sms"]) == (
        "http://127.0.0.1:9/twilio/sms",
        "POST",
        True,
    )
    assert bought.phone_number not in {
        n.phone_number for n in client.available_phone_numbers("US").local.list(area_code=510)
    }

    assert [n.sid for n in client.incoming_phone_numbers.list(phone_number=bought.phone_number)] == [bought.sid]
    updated = client.incoming_phone_numbers(bought.sid).update(sms_url="http://127.0.0.1:9/new")
    assert updated.sms_url == "http://127.0.0.1:9/new"
    assert client.incoming_phone_numbers(bought.sid).fetch().sms_url == "http://127.0.0.1:9/new"

    assert client.incoming_phone_numbers(bought.sid).delete() is True
    with pytest.raises(TwilioRestException) as error:
        client.incoming_phone_numbers(bought.sid).fetch()
    assert error.value.status == 404
    with pytest.raises(TwilioRestException) as error:
        client.incoming_phone_numbers.create(phone_number=POOL_NUMBER)  # already owned
    assert error.value.code == 21422


# --- answers are shaped like Twilio's ------------------------------------------------------------


def test_answers_match_the_spec_response_schemas(standin, client):
    message = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="shape")
    standin.state.wait_for(lambda: standin.state.messages[message.sid].status == "delivered")
    number_sid = standin.state.number_by_phone(POOL_NUMBER).sid
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    calls = [
        ("POST", "/Messages.json", {"To": USER_PHONE, "From": POOL_NUMBER, "Body": "x"}),
        ("GET", f"/Messages/{message.sid}.json", None),
        ("GET", f"/Messages.json?To={quote(USER_PHONE)}&PageSize=1", None),
        ("GET", "/IncomingPhoneNumbers.json", None),
        ("POST", "/IncomingPhoneNumbers.json", {"AreaCode": "650"}),
        ("GET", f"/IncomingPhoneNumbers/{number_sid}.json", None),
        ("POST", f"/IncomingPhoneNumbers/{number_sid}.json", {"SmsUrl": "http://127.0.0.1/x"}),
        ("GET", "/AvailablePhoneNumbers/US/Local.json?AreaCode=415", None),
        ("DELETE", f"/IncomingPhoneNumbers/{number_sid}.json", None),
    ]
    for method, path, form in calls:
        url = api_url(standin, path)
        answer = requests.request(method, url, auth=auth, data=form, timeout=WAIT)
        assert answer.status_code < 300, (path, answer.text)
        validate_response(method, url, answer.status_code, answer.headers, answer.content)


# --- control API, page ---------------------------------------------------------------------------


def test_requests_are_recorded(standin, client):
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="logged")
    recorded = control(standin, "GET", "/requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in recorded] == [
        ("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", 201)
    ]
    assert recorded[0]["form"] == {"To": [USER_PHONE], "From": [POOL_NUMBER], "Body": ["logged"]}
    assert control(standin, "DELETE", "/requests").status_code == 204
    assert control(standin, "GET", "/requests").json()["requests"] == []


def test_seed_numbers_and_reset(standin):
    seeded = control(standin, "POST", "/numbers", {"area_code": "617"})
    assert seeded.status_code == 201 and seeded.json()["phone_number"].startswith("+1617")
    assert control(standin, "POST", "/numbers", {"phone_number": POOL_NUMBER}).status_code == 409
    assert len(control(standin, "GET", "/numbers").json()["numbers"]) == 2
    assert control(standin, "POST", "/reset").status_code == 204
    assert control(standin, "GET", "/numbers").json()["numbers"] == []


def test_overview_feeds_the_page(standin, client):
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="to the page")
    control(standin, "PUT", f"/phones/{quote(OTHER_PHONE)}", {})
    overview = control(standin, "GET", "/overview").json()
    assert overview["queue_depth"] == 7
    assert [p["phone_number"] for p in overview["pool"]] == [POOL_NUMBER]
    assert overview["pool"][0]["sent"] == 1
    assert {p["phone"] for p in overview["phones"]} == {USER_PHONE, OTHER_PHONE}


def test_page_is_served_and_self_contained(standin):
    page = requests.get(standin.url + "/", timeout=WAIT)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Phone simulator" in page.text and "/_standin/overview" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing external


def test_only_loopback(standin):
    assert standin.host == "127.0.0.1"


# --- pure helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, segments",
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),  # GSM extension characters count twice
        ("é" * 160, 1),  # é is in GSM-7's basic set
        ("ç" * 70, 1),
        ("ç" * 71, 2),  # ç is not: UCS-2
        ("😀" * 35, 1),
        ("😀" * 36, 2),  # astral characters are two UTF-16 units
    ],
)
def test_count_segments(body, segments):
    assert count_segments(body) == segments


def test_twiml_message_bodies():
    assert twiml_message_bodies("<Response><Message>a</Message><Message><Body>b</Body></Message></Response>") == [
        "a",
        "b",
    ]
    assert twiml_message_bodies("<Response/>") == []
    assert twiml_message_bodies("") == []
    assert twiml_message_bodies('{"ok": true}') == []
