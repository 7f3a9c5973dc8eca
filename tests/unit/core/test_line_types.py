"""core/line_types.py: which phones a hook-up takes, by Twilio Lookup's line type and pumping risk."""

from __future__ import annotations

import pytest

from chalicelib.core.line_types import DEFAULT_MAX_PUMPING_RISK, LINE_TYPES, LookupFacts, is_fresh, refusal


def refused(line_type=None, risk=None, *, admit_voip=False, valid=True) -> str | None:
    facts = LookupFacts(line_type=line_type, carrier=None, pumping_risk=risk, valid=valid)
    found = refusal(facts, admit_voip=admit_voip, max_pumping_risk=DEFAULT_MAX_PUMPING_RISK)
    return None if found is None else found.message


def test_a_mobile_phone_is_taken():
    assert refused("mobile") is None


@pytest.mark.parametrize("line_type", sorted(set(LINE_TYPES) - {"mobile"}))
def test_every_other_line_type_is_refused_by_name(line_type):
    reason = refused(line_type)
    assert reason is not None and f"line type {line_type}" in reason and "mobile" in reason
    assert refusal(LookupFacts(line_type), admit_voip=False, max_pumping_risk=75).reason == "line_type"


def test_a_landline_is_called_a_landline():
    assert "is a landline" in (refused("landline") or "")


@pytest.mark.parametrize("line_type", ["fixedVoip", "nonFixedVoip"])
def test_voip_is_taken_only_when_the_setting_admits_it(line_type):
    assert refused(line_type) is not None
    assert refused(line_type, admit_voip=True) is None


def test_admitting_voip_admits_nothing_else():
    assert refused("landline", admit_voip=True) is not None


def test_a_line_type_twilio_adds_later_is_refused_by_its_name():
    assert "line type satellite" in (refused("satellite") or "")


def test_a_lookup_that_could_not_tell_the_line_type_refuses_nothing_by_itself():
    assert refused(None) is None


def test_pumping_risk_is_refused_from_the_threshold_and_named():
    assert refused("mobile", DEFAULT_MAX_PUMPING_RISK - 1) is None
    reason = refused("mobile", DEFAULT_MAX_PUMPING_RISK)
    assert reason is not None and f"risk {DEFAULT_MAX_PUMPING_RISK} of 100" in reason


def test_the_line_type_is_named_before_the_risk():
    assert "line type landline" in (refused("landline", 99) or "")


def test_a_number_lookup_calls_invalid_is_refused():
    assert "not a valid phone number" in (refused("mobile", valid=False) or "")


def test_a_kept_lookup_answers_within_its_window_only():
    assert is_fresh(1000.0, 1000.0 + 59, 60)
    assert not is_fresh(1000.0, 1000.0 + 60, 60)
    assert not is_fresh(None, 1000.0, 60)
    assert not is_fresh(2000.0, 1000.0, 60), "a time from the future (a clock moved back) is not trusted"
