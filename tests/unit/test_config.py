"""chalicelib/config.py: the Lookup settings (TWILIO_LOOKUP_*), read and refused as documented."""

from __future__ import annotations

import pytest

from chalicelib import config


def test_lookup_is_off_unless_fields_are_named():
    lookup = config.load({}).lookup
    assert lookup.fields == ()
    assert (lookup.admit_voip, lookup.max_pumping_risk, lookup.fail_closed) == (False, 75, False)
    assert lookup.max_age_seconds == 30 * 86400


def test_lookup_settings_are_read():
    lookup = config.load(
        {
            "TWILIO_LOOKUP_FIELDS": " line_type_intelligence , sms_pumping_risk,line_type_intelligence",
            "TWILIO_LOOKUP_ADMIT_VOIP": "true",
            "TWILIO_LOOKUP_MAX_PUMPING_RISK": "60",
            "TWILIO_LOOKUP_MAX_AGE_SECONDS": "3600",
            "TWILIO_LOOKUP_ON_FAILURE": "closed",
        }
    ).lookup
    assert lookup.fields == ("line_type_intelligence", "sms_pumping_risk")
    assert (lookup.admit_voip, lookup.max_pumping_risk, lookup.max_age_seconds, lookup.fail_closed) == (
        True,
        60,
        3600,
        True,
    )


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"TWILIO_LOOKUP_FIELDS": "caller_name"}, "may name line_type_intelligence, sms_pumping_risk, not caller_name"),
        ({"TWILIO_LOOKUP_ON_FAILURE": "maybe"}, "must be 'open' or 'closed'"),
    ],
)
def test_a_lookup_setting_the_bridge_cannot_act_on_is_refused_saying_why(env, words):
    with pytest.raises(RuntimeError, match=words):
        config.load(env)
