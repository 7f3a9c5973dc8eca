"""Fault injection without HTTP: a counted fault is used up by the calls it names, a rate
fault draws from a seeded random (a run repeats), and the control API's input is checked."""

import pytest

from devstack.twilio.faults import Fault, FaultInjector, fault_from_json

OPERATIONS = ("CreateMessage", "FetchMessage")


def test_a_counted_fault_applies_to_its_operation_until_used_up():
    faults = FaultInjector()
    faults.add(Fault(operation="CreateMessage", status=500, count=2))
    assert faults.take("FetchMessage") is None
    assert [faults.take("CreateMessage") is not None for _ in range(3)] == [True, True, False]
    assert faults.listed() == []


def test_a_star_fault_applies_to_every_operation_and_the_first_listed_wins():
    faults = FaultInjector()
    first = faults.add(Fault(operation="*", status=503, count=1))
    faults.add(Fault(operation="FetchMessage", status=429, count=1))
    assert faults.take("FetchMessage") is first
    assert faults.take("FetchMessage").status == 429


def test_a_rate_fault_stays_and_draws_the_same_calls_for_the_same_seed():
    def draws(seed):
        faults = FaultInjector(seed=seed)
        faults.add(Fault(operation="*", status=500, count=None, rate=0.5))
        return [faults.take("CreateMessage") is not None for _ in range(40)]

    assert draws(7) == draws(7)
    assert 5 < sum(draws(7)) < 35, "about half the calls"


def test_every_change_notifies():
    changes = []
    faults = FaultInjector(notify=lambda: changes.append(1))
    faults.add(Fault())
    faults.take("CreateMessage")
    faults.clear()
    assert len(changes) == 3


def test_the_control_api_s_fault_is_read_with_its_defaults():
    assert fault_from_json({}, OPERATIONS) == Fault()
    assert fault_from_json({"status": 429, "rate": 0.1, "count": 5}, OPERATIONS) == Fault(
        status=429, rate=0.1, count=None
    )


@pytest.mark.parametrize(
    "payload, says",
    [
        ({"status": 404}, "429, 500 or 503"),
        ({"operation": "DeleteEverything"}, "one of"),
        ({"delay_ms": "soon"}, "invalid literal"),
    ],
)
def test_a_bad_fault_is_refused_saying_why(payload, says):
    with pytest.raises(ValueError, match=says):
        fault_from_json(payload, OPERATIONS)
