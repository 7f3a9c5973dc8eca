"""`make run` by default is the setup that works in the field (issue 26, item 2): the stand-in
has a Messaging Service whose A2P 10DLC campaign is VERIFIED, with AT&T's rate and a T-Mobile
tier; every pool number is one of its senders; SMS go out through it; `make doctor` passes;
and no 30034 warning is printed."""

from __future__ import annotations

from devstack.field_setup import FIELD_CAMPAIGN_RATE_LIMITS
from e2e.test_fresh_stack import doctor

DORA = "+14155550149"


def test_the_default_stack_sends_through_a_verified_campaign_and_doctor_agrees(stack):
    sid = stack.summary["twilio_messaging_service_sid"]
    assert sid and sid.startswith("MG")
    overview = stack.http.get(f"{stack.standin_url}/_standin/overview", timeout=10).json()
    (service,) = overview["messaging_services"]
    assert (service["sid"], service["senders"]) == (sid, len(stack.pool))
    assert service["campaign"]["campaign_status"] == "VERIFIED"
    assert service["campaign"]["rate_limits"] == FIELD_CAMPAIGN_RATE_LIMITS
    assert {p["phone_number"]: p["messaging_service"]["sid"] for p in overview["pool"]} == dict.fromkeys(
        stack.pool, sid
    )

    stack.verified_user("dora", DORA)  # the code goes out through the service
    sends = [r for r in stack.twilio_requests() if r.get("operation") == "CreateMessage"]
    assert sends and all(r["form"]["MessagingServiceSid"] == [sid] for r in sends)

    checked = doctor(stack, TWILIO_MESSAGING_SERVICE_SID=sid)
    assert checked.returncode == 0 and "[FAIL]" not in checked.stdout, checked.stdout + checked.stderr
    assert all(f"[ok] pool number {number}: in the service" in checked.stdout for number in stack.pool)
    assert "TWILIO_MESSAGING_SERVICE_SID is not set" not in stack.log()
    assert "30034" not in stack.log()
