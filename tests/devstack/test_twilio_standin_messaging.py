"""The stand-in's Messaging API v1 (Services, sender pools, US A2P campaigns), A2P 10DLC
enforcement (30034), inbound routing through a service, Twilio's own keyword replies, and the
page's view of service membership: driven by the real twilio-python client over real HTTP.

Every Twilio API request the stand-in receives is validated against the committed spec cut
(devstack.twilio_spec); the `standin` fixture also checks, after each test, that every request
it got matched an operation of the cut and that every 2xx answer is shaped as the spec says.
"""

from urllib.parse import quote

import pytest
import requests
from standin_receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from devstack.twilio.inbound import HELP_AUTO_REPLY, STOP_AUTO_REPLY
from devstack.twilio.server import StandinHttpClient, serve
from devstack.twilio_spec import validate_response

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "standin-test-token"
POOL_NUMBER = "+14155550100"
SECOND_NUMBER = "+14155550101"
USER_PHONE = "+14155550123"
UK_PHONE = "+442079460958"
WAIT = 5
ERROR_KEYS = {"code", "message", "more_info", "status"}


def _start(**options):
    return serve(
        port=0,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        callback_delay=0,
        seed_numbers=(POOL_NUMBER, SECOND_NUMBER),
        **options,
    )


def _check_every_request(server):
    """Each authenticated request matched an operation of the cut spec (or was refused by it
    with a Twilio error), and each success answer it got is shaped as the spec says."""
    for entry in server.state.requests:
        assert entry.get("operation") or entry.get("spec_error") or entry["status"] == 401, entry
    for method, url, status, headers, body in server.answers:
        if status < 300:
            validate_response(method, url, status, headers, body)


class _Recording(StandinHttpClient):
    """StandinHttpClient that keeps every answer, for the spec check after the test."""

    def __init__(self, server, **kwargs):
        super().__init__(server.url, **kwargs)
        self.server = server

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        path = url.split("twilio.com", 1)[-1]
        self.server.answers.append(
            (method, self.server.url + path, response.status_code, {"Content-Type": "application/json"}, response.text)
        )
        return response


@pytest.fixture
def standin():
    server = _start(require_a2p=False)
    server.answers = []
    yield server
    server.shutdown()
    _check_every_request(server)


@pytest.fixture
def a2p_standin():
    server = _start(require_a2p=True)
    server.answers = []
    yield server
    server.shutdown()
    _check_every_request(server)


@pytest.fixture
def client(standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=_Recording(standin))


@pytest.fixture
def a2p_client(a2p_standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=_Recording(a2p_standin))


def services(client):
    return client.messaging.v1.services


def number_sid(server, phone):
    return server.state.number_by_phone(phone).sid


def control(server, method, path, json=None):
    return requests.request(method, f"{server.url}/_standin{path}", json=json, timeout=WAIT)


def assert_signed(call, url):
    assert RequestValidator(AUTH_TOKEN).validate(url, call["form"], call["signature"])


# --- Services ------------------------------------------------------------------------------------


def test_create_fetch_update_and_list_services(standin, client):
    created = services(client).create(
        friendly_name="sms-bridge dev",
        inbound_request_url="http://127.0.0.1:9/twilio/sms",
        use_inbound_webhook_on_number=False,
        usecase="discussion",
        status_callback="http://127.0.0.1:9/twilio/status",
    )
    assert created.sid.startswith("MG") and len(created.sid) == 34
    assert (
        created.friendly_name,
        created.inbound_request_url,
        created.inbound_method,
        created.use_inbound_webhook_on_number,
        created.usecase,
        created.validity_period,
        created.us_app_to_person_registered,
        created.account_sid,
    ) == ("sms-bridge dev", "http://127.0.0.1:9/twilio/sms", "POST", False, "discussion", 36000, False, ACCOUNT_SID)
    assert created.status_callback == "http://127.0.0.1:9/twilio/status"
    assert created.links["phone_numbers"].endswith(f"/v1/Services/{created.sid}/PhoneNumbers")

    updated = services(client)(created.sid).update(
        use_inbound_webhook_on_number=True, validity_period=600, inbound_request_url=""
    )
    assert (updated.use_inbound_webhook_on_number, updated.validity_period, updated.inbound_request_url) == (
        True,
        600,
        None,
    )
    assert services(client)(created.sid).fetch().validity_period == 600

    second = services(client).create(friendly_name="second")
    assert [s.sid for s in services(client).list()] == [created.sid, second.sid]
    assert [s.sid for s in services(client).list(page_size=1)] == [created.sid, second.sid]


def test_unknown_service_is_a_twilio_404(standin, client):
    with pytest.raises(TwilioRestException) as error:
        services(client)("MG" + "0" * 32).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)


def test_the_spec_refuses_what_twilio_refuses(standin):
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    no_name = requests.post(
        f"{standin.url}/v1/Services", auth=auth, data={"InboundRequestUrl": "http://127.0.0.1:9/x"}, timeout=WAIT
    )
    assert no_name.status_code == 400 and set(no_name.json()) == ERROR_KEYS
    assert "FriendlyName" in no_name.json()["message"]
    bad_sid = requests.get(f"{standin.url}/v1/Services/MG123", auth=auth, timeout=WAIT)
    assert bad_sid.status_code == 400 and bad_sid.json()["code"] == 20001
    not_cut = requests.get(f"{standin.url}/v1/Services/{'MG' + '0' * 32}/ShortCodes", auth=auth, timeout=WAIT)
    assert (not_cut.status_code, not_cut.json()["code"]) == (404, 20404)
    no_delete = requests.delete(f"{standin.url}/v1/Services/{'MG' + '0' * 32}", auth=auth, timeout=WAIT)
    assert (no_delete.status_code, no_delete.json()["code"]) == (405, 20004)
    no_auth = requests.get(f"{standin.url}/v1/Services", timeout=WAIT)
    assert (no_auth.status_code, no_auth.json()["code"]) == (401, 20003)


# --- the sender pool ------------------------------------------------------------------------------


def test_add_list_fetch_and_remove_pool_numbers(standin, client):
    service = services(client).create(friendly_name="pool")
    pn = number_sid(standin, POOL_NUMBER)
    added = services(client)(service.sid).phone_numbers.create(phone_number_sid=pn)
    assert (added.sid, added.service_sid, added.phone_number, added.country_code) == (
        pn,
        service.sid,
        POOL_NUMBER,
        "US",
    )
    assert "SMS" in added.capabilities
    assert [n.phone_number for n in services(client)(service.sid).phone_numbers.list()] == [POOL_NUMBER]
    assert services(client)(service.sid).phone_numbers(pn).fetch().phone_number == POOL_NUMBER
    assert standin.state.service_of(POOL_NUMBER).sid == service.sid

    assert services(client)(service.sid).phone_numbers(pn).delete() is True
    assert services(client)(service.sid).phone_numbers.list() == []
    assert standin.state.service_of(POOL_NUMBER) is None
    with pytest.raises(TwilioRestException) as error:
        services(client)(service.sid).phone_numbers(pn).delete()
    assert (error.value.status, error.value.code) == (404, 20404)


def test_pool_errors_are_twilios(standin, client):
    first = services(client).create(friendly_name="first")
    second = services(client).create(friendly_name="second")
    pn = number_sid(standin, POOL_NUMBER)
    services(client)(first.sid).phone_numbers.create(phone_number_sid=pn)

    def add(service_sid, sid):
        with pytest.raises(TwilioRestException) as error:
            services(client)(service_sid).phone_numbers.create(phone_number_sid=sid)
        return error.value.status, error.value.code

    assert add(second.sid, pn) == (400, 21712)  # in another Messaging Service
    assert add(second.sid, "PN" + "f" * 32) == (404, 20404)  # not a number of this account
    assert add(second.sid, "not-a-sid") == (400, 21421)  # not a Phone Number SID
    voice_only = standin.state.add_number("+14155550102", sms_capable=False)
    assert add(second.sid, voice_only.sid) == (400, 21715)  # no SMS/MMS capability
    assert add("MG" + "0" * 32, number_sid(standin, SECOND_NUMBER)) == (404, 20404)

    answer = requests.post(
        f"{standin.url}/v1/Services/{second.sid}/PhoneNumbers",
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        data={"PhoneNumberSid": pn},
        timeout=WAIT,
    )
    error = answer.json()
    assert set(error) == ERROR_KEYS
    assert error["more_info"] == "https://www.twilio.com/docs/errors/21712"


def test_releasing_a_number_takes_it_out_of_its_pool(standin, client):
    service = services(client).create(friendly_name="pool")
    pn = number_sid(standin, POOL_NUMBER)
    services(client)(service.sid).phone_numbers.create(phone_number_sid=pn)
    client.incoming_phone_numbers(pn).delete()
    assert services(client)(service.sid).phone_numbers.list() == []


# --- US A2P campaign ------------------------------------------------------------------------------


def test_campaign_is_read_through_compliance_usa2p(standin, client):
    service = services(client).create(friendly_name="a2p")
    assert services(client)(service.sid).us_app_to_person.list() == []

    standin.state.set_campaign(service.sid, "PENDING")
    (pending,) = services(client)(service.sid).us_app_to_person.list()
    assert pending.sid.startswith("QE") and pending.campaign_status == "PENDING"
    assert pending.messaging_service_sid == service.sid
    assert services(client)(service.sid).fetch().us_app_to_person_registered is False

    limits = {"att": {"mps": 75, "msg_class": "B"}, "tmobile": {"brand_tier": "LOW"}}
    standin.state.set_campaign(service.sid, "VERIFIED", rate_limits=limits)
    verified = services(client)(service.sid).us_app_to_person(pending.sid).fetch()
    assert (verified.sid, verified.campaign_status, verified.rate_limits) == (pending.sid, "VERIFIED", limits)
    assert services(client)(service.sid).fetch().us_app_to_person_registered is True

    with pytest.raises(TwilioRestException) as error:
        services(client)(service.sid).us_app_to_person("QE" + "0" * 32).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)
    with pytest.raises(ValueError):
        standin.state.set_campaign(service.sid, "APPROVED")


# --- Messages through a Messaging Service ---------------------------------------------------------


def test_messaging_service_sid_picks_a_sender_from_the_pool(standin, client, receiver):
    service = services(client).create(friendly_name="send", status_callback=f"{receiver.url}/service/status")
    standin.state.add_to_service(service.sid, SECOND_NUMBER)
    message = client.messages.create(to=USER_PHONE, messaging_service_sid=service.sid, body="via the service")
    assert (message.status, message.from_, message.messaging_service_sid) == ("queued", SECOND_NUMBER, service.sid)
    calls = receiver.wait_for_calls(2, "/service/status")  # the service's StatusCallback
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "delivered"]
    assert calls[0]["form"]["MessagingServiceSid"] == service.sid

    # Sticky Sender: the same sender again for the same phone
    standin.state.add_to_service(service.sid, POOL_NUMBER)
    again = client.messages.create(to=USER_PHONE, messaging_service_sid=service.sid, body="2")
    assert again.from_ == SECOND_NUMBER


def test_messaging_service_sid_with_from(standin, client):
    service = services(client).create(friendly_name="send")
    standin.state.add_to_service(service.sid, POOL_NUMBER)
    message = client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, messaging_service_sid=service.sid, body="both")
    assert (message.from_, message.messaging_service_sid) == (POOL_NUMBER, service.sid)

    with pytest.raises(TwilioRestException) as error:  # owned, but not in this pool
        client.messages.create(
            to=USER_PHONE, from_=SECOND_NUMBER, messaging_service_sid=service.sid, body="not in the pool"
        )
    assert (error.value.status, error.value.code) == (400, 21711)


def test_messaging_service_errors(standin, client):
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, messaging_service_sid="MG" + "0" * 32, body="x")
    assert (error.value.status, error.value.code) == (400, 21701)
    empty = services(client).create(friendly_name="empty")
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=USER_PHONE, messaging_service_sid=empty.sid, body="x")
    assert (error.value.status, error.value.code) == (400, 21704)
    assert standin.state.messages == {}


# --- A2P 10DLC enforcement (30034) ----------------------------------------------------------------


def test_unregistered_long_code_fails_with_30034_through_the_status_callback(a2p_standin, a2p_client, receiver):
    callback = f"{receiver.url}/twilio/status"
    message = a2p_client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="blocked", status_callback=callback)
    assert message.status == "queued"  # accepted: the failure comes later, as on Twilio
    (call,) = receiver.wait_for_calls(1, "/twilio/status")
    assert_signed(call, callback)
    form = call["form"]
    assert (
        form["MessageStatus"],
        form["SmsStatus"],
        form["ErrorCode"],
        form["MessageSid"],
        form["From"],
        form["To"],
    ) == ("undelivered", "undelivered", "30034", message.sid, POOL_NUMBER, USER_PHONE)
    fetched = a2p_client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30034)


def test_a_pending_campaign_does_not_register_its_numbers(a2p_standin, a2p_client, receiver):
    service = a2p_standin.state.add_service("pending")
    a2p_standin.state.add_to_service(service.sid, POOL_NUMBER)
    a2p_standin.state.set_campaign(service.sid, "PENDING")
    a2p_client.messages.create(
        to=USER_PHONE, from_=POOL_NUMBER, body="still blocked", status_callback=f"{receiver.url}/s"
    )
    assert receiver.wait_for_calls(1, "/s")[0]["form"]["ErrorCode"] == "30034"


def test_a_verified_campaign_delivers(a2p_standin, a2p_client, receiver):
    service = a2p_standin.state.add_service("verified")
    a2p_standin.state.add_to_service(service.sid, POOL_NUMBER)
    a2p_standin.state.set_campaign(service.sid, "VERIFIED")
    a2p_client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="registered", status_callback=f"{receiver.url}/s")
    via_service = a2p_client.messages.create(
        to=USER_PHONE, messaging_service_sid=service.sid, body="also registered", status_callback=f"{receiver.url}/s"
    )
    calls = receiver.wait_for_calls(4, "/s")
    assert [c["form"]["MessageStatus"] for c in calls].count("delivered") == 2
    assert all("ErrorCode" not in c["form"] for c in calls)
    assert via_service.from_ == POOL_NUMBER
    # the other number is not in the pool: blocked
    blocked = a2p_client.messages.create(
        to=USER_PHONE, from_=SECOND_NUMBER, body="no", status_callback=f"{receiver.url}/b"
    )
    assert receiver.wait_for_calls(1, "/b")[0]["form"]["ErrorCode"] == "30034"
    assert a2p_standin.state.messages[blocked.sid].status == "undelivered"


def test_enforcement_applies_to_us_bound_traffic_only(a2p_standin, a2p_client, receiver):
    a2p_client.messages.create(to=UK_PHONE, from_=POOL_NUMBER, body="abroad", status_callback=f"{receiver.url}/s")
    calls = receiver.wait_for_calls(2, "/s")
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "delivered"]


def test_enforcement_is_off_by_default_and_switchable(standin, client, receiver):
    assert standin.state.require_a2p is False
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="fine", status_callback=f"{receiver.url}/s")
    assert receiver.wait_for_calls(2, "/s")[1]["form"]["MessageStatus"] == "delivered"
    assert control(standin, "PUT", "/a2p", {"required": True}).json() == {"required": True}
    client.messages.create(to=USER_PHONE, from_=POOL_NUMBER, body="now blocked", status_callback=f"{receiver.url}/b")
    assert receiver.wait_for_calls(1, "/b")[0]["form"]["ErrorCode"] == "30034"


def test_enforcement_from_the_environment(monkeypatch):
    monkeypatch.setenv("STANDIN_REQUIRE_A2P", "1")
    server = _start()
    try:
        assert server.state.require_a2p is True
    finally:
        server.shutdown()


# --- inbound through a service --------------------------------------------------------------------


def _text_the_pool(server, body="Hi there", to=POOL_NUMBER):
    answer = control(server, "POST", f"/phones/{quote(USER_PHONE)}/send", {"to": to, "body": body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_inbound_goes_to_the_service_url_unless_it_defers_to_the_number(standin, client, receiver):
    number = standin.state.number_by_phone(POOL_NUMBER)
    client.incoming_phone_numbers(number.sid).update(sms_url=f"{receiver.url}/number/sms")
    service_url = f"{receiver.url}/service/sms"
    service = services(client).create(
        friendly_name="inbound", inbound_request_url=service_url, use_inbound_webhook_on_number=False
    )
    services(client)(service.sid).phone_numbers.create(phone_number_sid=number.sid)

    result = _text_the_pool(standin)
    (call,) = receiver.wait_for_calls(1, "/service/sms")
    assert_signed(call, service_url)
    assert (call["form"]["To"], call["form"]["Body"], call["form"]["MessagingServiceSid"]) == (
        POOL_NUMBER,
        "Hi there",
        service.sid,
    )
    assert result["webhook"]["url"] == service_url
    assert [c for c in receiver.calls if c["path"] == "/number/sms"] == []

    services(client)(service.sid).update(use_inbound_webhook_on_number=True)
    _text_the_pool(standin, "second")
    (call,) = receiver.wait_for_calls(1, "/number/sms")
    assert call["form"]["Body"] == "second"


def test_a_service_without_an_inbound_url_leaves_the_number_s_sms_url(standin, client, receiver):
    number = standin.state.number_by_phone(POOL_NUMBER)
    number.sms_url = f"{receiver.url}/number/sms"
    service = services(client).create(friendly_name="no inbound url")
    services(client)(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    _text_the_pool(standin)
    (call,) = receiver.wait_for_calls(1, "/number/sms")
    assert call["form"]["MessagingServiceSid"] == service.sid


# --- Twilio's own keyword handling ----------------------------------------------------------------


def test_help_is_answered_by_twilio_and_still_reaches_the_webhook(standin, receiver):
    standin.state.number_by_phone(POOL_NUMBER).sms_url = f"{receiver.url}/sms"
    result = _text_the_pool(standin, "help")
    assert receiver.wait_for_calls(1, "/sms")[0]["form"]["Body"] == "help"
    assert [(r["body"], r["from"]) for r in result["replies"]] == [(HELP_AUTO_REPLY, POOL_NUMBER)]
    thread = control(standin, "GET", "/phones").json()["phones"][0]["thread"]
    assert thread[-1]["auto_reply"] is True
    _text_the_pool(standin, "STOP")
    assert _text_the_pool(standin, "INFO")["replies"] == []  # opted out: no HELP reply


def test_opt_out_type_only_with_advanced_opt_out_when_asked(receiver):
    server = _start(opt_out_type="advanced")
    try:
        server.state.number_by_phone(POOL_NUMBER).sms_url = f"{receiver.url}/plain"
        result = _text_the_pool(server, "STOP")
        assert "OptOutType" not in receiver.wait_for_calls(1, "/plain")[0]["form"]
        assert result["replies"][0]["body"] == STOP_AUTO_REPLY

        service = server.state.add_service(
            "advanced", advanced_opt_out=True, inbound_request_url=f"{receiver.url}/advanced"
        )
        server.state.add_to_service(service.sid, SECOND_NUMBER)
        _text_the_pool(server, "START", to=SECOND_NUMBER)
        form = receiver.wait_for_calls(1, "/advanced")[0]["form"]
        assert (form["OptOutType"], form["MessagingServiceSid"]) == ("START", service.sid)
    finally:
        server.shutdown()


# --- the page: service membership -----------------------------------------------------------------


def test_overview_shows_each_pool_number_s_service(standin):
    created = control(
        standin,
        "POST",
        "/services",
        {"friendly_name": "Bridge US", "numbers": [POOL_NUMBER], "campaign_status": "VERIFIED"},
    )
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["phone_numbers"] == [POOL_NUMBER]
    assert service["campaign"]["campaign_status"] == "VERIFIED"

    pool = {p["phone_number"]: p for p in control(standin, "GET", "/overview").json()["pool"]}
    assert pool[POOL_NUMBER]["messaging_service"] == {
        "sid": service["sid"],
        "friendly_name": "Bridge US",
        "campaign_status": "VERIFIED",
    }
    assert pool[SECOND_NUMBER]["messaging_service"] is None

    again = control(standin, "POST", "/services", {"numbers": [POOL_NUMBER]})
    assert (again.status_code, again.json()["error"]["code"]) == (400, "21712")
    listed = control(standin, "GET", "/services").json()["services"]
    assert [s["friendly_name"] for s in listed] == ["Bridge US", "sms-bridge"]

    page = requests.get(standin.url + "/", timeout=WAIT).text
    assert "messaging_service" in page  # the page renders the membership it is given


def test_overview_shows_each_service_s_campaign_and_its_senders(standin):
    service = standin.state.add_service("Bridge US")
    standin.state.set_campaign(
        service.sid, "VERIFIED", {"att": {"mps": 4, "msg_class": "E"}, "tmobile": {"brand_tier": "LOW"}}
    )
    standin.state.add_to_service(service.sid, POOL_NUMBER)
    bare = standin.state.add_service("no campaign yet")

    services = control(standin, "GET", "/overview").json()["messaging_services"]

    assert [(s["sid"], s["friendly_name"], s["senders"]) for s in services] == [
        (service.sid, "Bridge US", 1),
        (bare.sid, "no campaign yet", 0),
    ]
    campaign = services[0]["campaign"]
    assert (campaign["campaign_status"], campaign["use_case"]) == ("VERIFIED", "MIXED")
    assert campaign["rate_limits"] == {"att": {"mps": 4, "msg_class": "E"}, "tmobile": {"brand_tier": "LOW"}}
    assert services[1]["campaign"] is None
    page = requests.get(standin.url + "/", timeout=WAIT).text
    assert "messaging_services" in page and "brand_tier" in page  # the page renders the rate it is given


def test_reset_forgets_services(standin):
    standin.state.add_service("gone")
    assert control(standin, "POST", "/reset").status_code == 204
    assert standin.state.services == {}


# --- the carriers: the campaign's facts, each phone's carrier, T-Mobile's cap ---------------------


def test_usa2p_answers_the_rate_limits_and_use_case_the_control_api_sets(standin, client):
    limits = {"att": {"mps": 5, "msg_class": "A"}, "tmobile": {"brand_tier": "MID"}}
    created = control(
        standin,
        "POST",
        "/services",
        {"numbers": [POOL_NUMBER], "campaign_status": "VERIFIED", "rate_limits": limits, "use_case": "LOW_VOLUME"},
    ).json()
    (campaign,) = services(client)(created["sid"]).us_app_to_person.list()
    assert (campaign.rate_limits, campaign.us_app_to_person_usecase) == (limits, "LOW_VOLUME")
    changed = control(
        standin, "PUT", f"/services/{created['sid']}", {"campaign_status": "VERIFIED", "use_case": "SOLE_PROPRIETOR"}
    )
    assert changed.json()["campaign"]["us_app_to_person_usecase"] == "SOLE_PROPRIETOR"
    (campaign,) = services(client)(created["sid"]).us_app_to_person.list()
    assert campaign.us_app_to_person_usecase == "SOLE_PROPRIETOR"

    carriers = control(standin, "GET", "/overview").json()["carriers"]
    assert carriers["campaigns"][0]["mps"] == 5 and carriers["campaigns"][0]["numbers_cap"] == 1
    assert carriers["tmobile"]["daily_cap"] == 1_000


def test_a_phones_carrier_and_the_brands_cap_are_set_on_the_control_api(standin):
    phone = quote(USER_PHONE)
    assert control(standin, "PUT", f"/phones/{phone}", {"carrier": "T-Mobile USA, Inc."}).json()["carrier"] == (
        "T-Mobile USA, Inc."
    )
    assert control(standin, "PUT", f"/phones/{phone}", {"carrier": None}).json()["carrier"] is None
    bad = control(standin, "PUT", f"/phones/{phone}", {"carrier": 7})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_line")
    control(standin, "POST", "/services", {"numbers": [POOL_NUMBER], "campaign_status": "VERIFIED"})
    assert control(standin, "PUT", "/tmobile", {"daily_cap": 3}).json()["tmobile"]["daily_cap"] == 3
    refused = control(standin, "PUT", "/tmobile", {"daily_cap": -1})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_cap")
    assert control(standin, "PUT", "/tmobile", {"daily_cap": None}).json()["tmobile"]["daily_cap"] == 200_000
