"""Placement: sticky pair first, then area code, country, then spare capacity."""

import pytest

from chalicelib.core.placement import Candidate, rank

SF_1 = Candidate("+14155550101", "US", "415", 1.0)
SF_2 = Candidate("+14155550102", "US", "415", 1.0, open_sessions=3)
NY = Candidate("+12125550103", "US", "212", 1.0)
LONDON = Candidate("+442079460104", "GB", "20", 1.0)
BUSY_SF = Candidate("+14155550105", "US", "415", 1.0, backlog_seconds=30)


@pytest.mark.parametrize(
    "candidates, taken, sticky, expected_first",
    [
        pytest.param([NY, SF_1], set(), None, SF_1.phone_number, id="same area code beats other area"),
        pytest.param([LONDON, NY], set(), None, NY.phone_number, id="same country beats abroad"),
        pytest.param([SF_1, NY], set(), NY.phone_number, NY.phone_number, id="sticky beats area code"),
        pytest.param([SF_1, SF_2], set(), None, SF_1.phone_number, id="fewer sessions per rate wins"),
        pytest.param([BUSY_SF, SF_2], set(), None, SF_2.phone_number, id="send backlog counts as load"),
        pytest.param([SF_1, NY], {SF_1.phone_number}, None, NY.phone_number, id="a number the user holds is skipped"),
        pytest.param([SF_1, NY], {NY.phone_number}, NY.phone_number, SF_1.phone_number, id="sticky but taken"),
    ],
)
def test_preference(candidates, taken, sticky, expected_first):
    ranked = rank(candidates, taken=taken, country="US", area_code="415", sticky=sticky)
    assert ranked[0] == expected_first


def test_no_free_number_gives_nothing():
    assert rank([SF_1], taken={SF_1.phone_number}, country="US", area_code="415", sticky=None) == []


def test_faster_number_carries_more_sessions():
    short_code = Candidate("+14155550199", "US", "415", 100.0, open_sessions=50)
    assert (
        rank([SF_2, short_code], taken=set(), country="US", area_code="415", sticky=None)[0] == short_code.phone_number
    )


# --- the backlog rule ---------------------------------------------------------------------


def test_a_number_behind_the_target_wait_comes_after_every_number_within_it():
    sticky_but_behind = Candidate("+14155550101", "US", "415", 1.0, backlog_seconds=30)
    local = Candidate("+14155550102", "US", "415", 1.0, open_sessions=4)
    elsewhere = Candidate("+12125550103", "US", "212", 1.0)
    order = rank(
        [sticky_but_behind, local, elsewhere],
        taken=set(),
        country="US",
        area_code="415",
        sticky=sticky_but_behind.phone_number,
        target_wait=10,
    )
    assert order == [local.phone_number, elsewhere.phone_number, sticky_but_behind.phone_number]


def test_within_the_target_placement_keeps_allocations_order():
    a = Candidate("+14155550101", "US", "415", 1.0, open_sessions=2, backlog_seconds=5)
    b = Candidate("+14155550102", "US", "415", 1.0, open_sessions=1)
    order = rank([a, b], taken=set(), country="US", area_code="415", sticky=a.phone_number, target_wait=10)
    assert order == [a.phone_number, b.phone_number]
