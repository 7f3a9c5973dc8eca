"""core/campaign_rates.py: a 10DLC campaign's rate from what Twilio reports."""

import pytest

from chalicelib.core.campaign_rates import campaign_segments_per_second


@pytest.mark.parametrize(
    "limits, rate",
    [
        ({"att": {"mps": 75, "msg_class": "C"}, "tmobile": {"brand_tier": "LOW"}}, 75.0),
        ({"att": {"mps": 4}, "verizon": {"mps": 2}}, 2.0),
        ({"tmobile": {"brand_tier": "TOP"}}, None),
        (None, None),
        ({"att": {"mps": True}}, None),
    ],
)
def test_the_campaigns_rate_is_the_smallest_reported_per_second_figure(limits, rate):
    assert campaign_segments_per_second(limits) == rate
