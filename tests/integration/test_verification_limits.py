"""Issue 12, part 2: verification resists SMS pumping and guessing. Limits per
phone, per user and for the whole bridge, tries counted per phone across codes,
only textable numbers in allowed countries; over a limit 429 with Retry-After
and nothing sent."""

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from conftest import POOL

from chalicelib.adapters import metrics
from chalicelib.store.models import RateCounter, User

ALICE = "+14155550100"


@pytest.fixture
def pool(bridge, clock):
    bridge.add_pool(*POOL)
    return bridge


def _put(bridge, user_id, phone):
    return bridge.api.put(f"/users/{user_id}/phone", {"phone": phone})


def _refused(response, code):
    assert response.status_code == 429, response.body
    assert response.json["error"]["code"] == code
    return int(response.headers["Retry-After"])


def test_one_code_per_30_seconds_and_5_per_hour_per_phone_whoever_asks(pool, clock, codes):
    sent = 0
    for i in range(5):
        assert _put(pool, f"user-{i}", ALICE).status_code == 202  # any user id, the same phone
        sent += 1
        assert _refused(_put(pool, f"other-{i}", ALICE), "too_many_codes") == (30 if i < 4 else 3600 - 4 * 30)
        clock.advance(30)
    assert _refused(_put(pool, "user-6", ALICE), "too_many_codes") == 3600 - 5 * 30
    assert len(codes) == sent == 5, "a refusal sends nothing"
    clock.advance(3600 - 5 * 30)
    assert _put(pool, "user-6", ALICE).status_code == 202


def test_the_most_code_sms_one_phone_gets_in_any_hour_is_5(pool, clock, codes):
    """Hammered every 23 s (closer than the 30 s between codes) for two hours by ten user
    ids: 5 in any 60 minutes."""
    admitted = []
    for second in range(0, 7200, 23):
        clock.advance(23)
        if _put(pool, f"u{second % 10}", ALICE).status_code == 202:
            admitted.append(second)
    assert len(codes) == len(admitted)
    assert max(sum(1 for t in admitted if start <= t < start + 3600) for start in admitted) == 5
    assert len(admitted) == 10


def test_codes_per_user(pool, clock, monkeypatch, codes):
    monkeypatch.setenv("VERIFY_USER_MAX_PER_HOUR", "3")
    for i in range(3):
        assert _put(pool, "alice", f"+1415555{200 + i:04d}").status_code == 202
    assert _refused(_put(pool, "alice", "+14155550300"), "too_many_codes") == 3600
    assert len(codes) == 3


def test_global_budget_refuses_and_raises_the_alarm_metric(pool, clock, monkeypatch, codes):
    monkeypatch.setenv("VERIFY_GLOBAL_MAX_PER_HOUR", "4")
    monkeypatch.setenv("VERIFY_GLOBAL_ALARM_FRACTION", "0.75")
    clock.set(3600 * 500_000 + 600)  # 10 minutes into an hour
    figures = []
    with metrics.collected(lambda name, value, dims: figures.append(name)):
        answers = [_put(pool, f"user-{i}", f"+1415555{200 + i:04d}").status_code for i in range(6)]
    assert answers == [202, 202, 202, 202, 429, 429]
    assert figures.count(metrics.VERIFICATION_SMS) == 4 == len(codes)
    assert figures.count(metrics.VERIFICATION_BUDGET_NEAR) == 4  # the 3rd and 4th sent, both refused
    assert _refused(_put(pool, "late", "+14155550999"), "too_many_codes") == 3000  # the hour's end
    clock.advance(3000)
    assert _put(pool, "late", "+14155550999").status_code == 202


def test_tries_count_per_phone_across_codes_and_a_locked_phone_stays_locked(pool, clock, codes):
    assert _put(pool, "alice", ALICE).status_code == 202
    wrong = lambda: "000000" if codes[-1] != "000000" else "111111"  # noqa: E731
    for left in (4, 3, 2):
        response = pool.api.post("/users/alice/phone/verify", {"code": wrong()})
        assert (
            response.json["error"]["code"] == "wrong_code" and f"{left} tries left" in response.json["error"]["message"]
        )
    clock.advance(30)
    assert _put(pool, "alice", ALICE).status_code == 202  # a new code does not reset the tries
    for left in (1, 0):
        response = pool.api.post("/users/alice/phone/verify", {"code": wrong()})
        assert f"{left} tries left" in response.json["error"]["message"]
    right = pool.api.post("/users/alice/phone/verify", {"code": codes[-1]})
    wait = _refused(right, "too_many_tries")
    assert wait == 3600 - 30
    clock.advance(31)
    assert _refused(_put(pool, "alice", ALICE), "too_many_tries") > 0  # no code goes to a locked phone
    assert len(codes) == 2
    clock.advance(wait - 31)
    assert _put(pool, "alice", ALICE).status_code == 202
    assert pool.api.post("/users/alice/phone/verify", {"code": codes[-1]}).json == {"status": "verified"}


def test_racing_guesses_get_at_most_5_tries(pool, codes, atomic_moto):
    assert _put(pool, "alice", ALICE).status_code == 202
    guesses = [f"{n:06d}" for n in range(20) if f"{n:06d}" != codes[-1]][:16] + [codes[-1]] * 4
    start = threading.Barrier(len(guesses))

    def guess(code):
        start.wait()
        return pool.api.post("/users/alice/phone/verify", {"code": code})

    with ThreadPoolExecutor(len(guesses)) as workers:
        answers = list(workers.map(guess, guesses))
    statuses = sorted(a.status_code for a in answers)
    assert all(s in (200, 400, 409, 429) for s in statuses), statuses
    # A right guess that races another right guess answers 200 "verified" too (the phone is
    # verified by its claim); one that arrives once it is verified answers so without a try.
    assert all(a.json == {"status": "verified"} for a in answers if a.status_code == 200)
    # What was counted is the invariant: at most 5 tries.
    assert len(RateCounter.get(f"tries#{ALICE}", consistent_read=True).times) <= 5, "at most 5 tries were counted"
    assert sum(1 for s in statuses if s == 400) <= 5
    assert User.get("alice").phone_status in ("verified", "pending")


def test_tries_whose_clocks_were_read_out_of_order_all_count(pool, clock, codes):
    """Racing guesses each read the clock when they arrive and write their try later, in
    another order: a try stamped a millisecond after a later writer's `now` still counts
    (it was erased by the write that came after it, so every guess got `wrong_code`)."""
    assert _put(pool, "alice", ALICE).status_code == 202
    start = clock.now()
    wrong = "000000" if codes[-1] != "000000" else "111111"
    for i in range(5):
        clock.set(start + 0.010 - i * 0.001)  # each guess's clock read earlier than the last one's
        response = pool.api.post("/users/alice/phone/verify", {"code": wrong})
        assert response.json["error"]["code"] == "wrong_code", response.json
        assert f"{4 - i} tries left" in response.json["error"]["message"]
    clock.set(start)
    _refused(pool.api.post("/users/alice/phone/verify", {"code": codes[-1]}), "too_many_tries")
    assert len(RateCounter.get(f"tries#{ALICE}", consistent_read=True).times) == 5


def test_racing_code_requests_send_one(pool, codes, atomic_moto):
    start = threading.Barrier(12)

    def claim(i):
        start.wait()
        return _put(pool, f"user-{i}", ALICE).status_code

    with ThreadPoolExecutor(12) as workers:
        statuses = list(workers.map(claim, range(12)))
    assert statuses.count(202) == 1 and statuses.count(429) == 11 and len(codes) == 1


@pytest.mark.parametrize(
    "phone, reason",
    [
        ("+18002345678", "toll-free"),
        ("+19002345678", "premium-rate"),
        ("+15005550006", "personal"),
        ("+447400123456", "the bridge texts only numbers in CA, US"),
        ("+33612345678", "is in FR"),
    ],
)
def test_only_textable_numbers_in_allowed_countries(pool, codes, phone, reason):
    response = _put(pool, "alice", phone)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_phone"
    assert reason in response.json["error"]["message"]
    assert codes == [] and boto3.client("dynamodb").scan(TableName="sms-bridge-dev-counters")["Count"] == 0


def test_other_countries_by_setting_and_their_non_mobile_kinds(pool, codes, monkeypatch):
    import phonenumbers
    from phonenumbers import PhoneNumberType as T

    monkeypatch.setenv("ALLOWED_COUNTRIES", "US,CA,GB,FR")
    for region, kind, name in (
        ("GB", T.VOIP, "VoIP"),
        ("FR", T.SHARED_COST, "shared-cost"),
        ("GB", T.FIXED_LINE, "fixed-line"),
    ):
        example = phonenumbers.format_number(
            phonenumbers.example_number_for_type(region, kind), phonenumbers.PhoneNumberFormat.E164
        )
        response = _put(pool, "alice", example)
        assert response.status_code == 400 and name in response.json["error"]["message"], (example, response.body)
    assert _put(pool, "alice", "+447400123456").status_code == 202
    assert _put(pool, "carl", "+16135550100").status_code == 202  # Canada
