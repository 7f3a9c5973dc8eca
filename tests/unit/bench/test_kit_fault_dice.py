"""bench/kit/fault_dice.py: a kind's faults fall at the same chances whatever else is drawn
in between, and with first_chances_strike every kind (and each of its ways) strikes first."""

from __future__ import annotations

from bench.kit.fault_dice import FaultDice

WAYS = {"500 before": 0.5, "429": 0.3, "reset after": 0.2}


def _crashes(dice: FaultDice, chances: int, interleaved: int) -> list[bool]:
    """The crash chances' answers, with `interleaved` throttle draws before each."""
    answers = []
    for _ in range(chances):
        for _ in range(interleaved):
            dice.strikes("dynamodb throttle", 0.5)
        answers.append(dice.strikes("sender crash", 0.2))
    return answers


def test_a_kinds_answers_do_not_move_with_what_is_drawn_between_them():
    alone = _crashes(FaultDice(seed=11), 200, interleaved=0)
    assert _crashes(FaultDice(seed=11), 200, interleaved=3) == alone
    assert _crashes(FaultDice(seed=11), 200, interleaved=7) == alone
    assert 20 <= sum(alone) <= 60  # at its rate, 0.2 of 200
    assert _crashes(FaultDice(seed=12), 200, interleaved=0) != alone


def test_the_first_chances_strike_once_per_way_each_way_in_turn_then_the_rate_decides():
    dice = FaultDice(seed=11, first_chances_strike=True)
    first = []
    for _ in range(len(WAYS)):
        assert dice.strikes("twilio request", 0.01, ways=len(WAYS))
        first.append(dice.way("twilio request", WAYS))
    assert first == list(WAYS)
    later = [dice.strikes("twilio request", 0.01, ways=len(WAYS)) for _ in range(300)]
    assert sum(later) < 15
    assert dice.strikes("lost deletes", 0.01) and not all(dice.strikes("lost deletes", 0.01) for _ in range(5))


def test_without_first_chances_striking_and_at_rate_zero_nothing_is_forced():
    dice = FaultDice(seed=11)
    assert [dice.strikes("sender crash", 0.0) for _ in range(100)] == [False] * 100
    forced = FaultDice(seed=11, first_chances_strike=True)
    assert not forced.strikes("sender crash", 0.0), "a fault the plan turned off never strikes"
