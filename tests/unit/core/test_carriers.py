"""Which carrier names are T-Mobile's network (its daily cap counts their SMS)."""

from __future__ import annotations

import pytest

from chalicelib.core.carriers import TMOBILE_CARRIER_NAME, is_tmobile


@pytest.mark.parametrize(
    "name", [TMOBILE_CARRIER_NAME, "T-Mobile USA, Inc.", "Sprint Spectrum, L.P.", "Metro by T-Mobile", "TMobile"]
)
def test_t_mobile_and_the_networks_it_runs(name):
    assert is_tmobile(name)


@pytest.mark.parametrize("name", [None, "", "Verizon Wireless", "AT&T Wireless", "Rogers Communications"])
def test_others_and_unknown(name):
    assert not is_tmobile(name)
