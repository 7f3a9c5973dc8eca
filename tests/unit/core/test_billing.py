"""core/billing.py: the hook-ups' Lookup requests in the cost report, at the price table's prices."""

from __future__ import annotations

import pytest

from chalicelib.core import billing


def report(lookups: dict[str, int] | None) -> dict:
    return billing.report(
        numbers=[],
        usage={},
        rentals=[],
        start=0.0,
        end=billing.DAY,
        prices=billing.Prices(1.15),
        monthly_budget_usd=None,
        this_month_rentals=0,
        lookups=lookups,
    )


def test_each_lookup_costs_the_data_packages_it_asked_for():
    body = report({"line_type_intelligence": 10, "sms_pumping_risk": 4})
    assert body["totals"]["lookups"] == {"line_type_intelligence": 10, "sms_pumping_risk": 4}
    assert body["estimated_cost_usd"]["lookups"] == pytest.approx(10 * 0.008 + 4 * 0.025)
    assert body["estimated_cost_usd"]["total"] == pytest.approx(10 * 0.008 + 4 * 0.025)
    assert body["prices"]["lookup_usd"] == {"line_type_intelligence": 0.008, "sms_pumping_risk": 0.025}


def test_no_lookups_cost_nothing():
    body = report(None)
    assert body["totals"]["lookups"] == {"line_type_intelligence": 0, "sms_pumping_risk": 0}
    assert body["estimated_cost_usd"]["lookups"] == 0
