"""bench/service/costs.py: the bill the service bench prices per million messages."""

import pytest

from bench.kit.prices import PRICES
from bench.service import costs


def test_the_bill_prices_each_sqs_request_at_its_queues_price_and_api_calls_on_the_http_api():
    per_message = {"sqs.SendMessage": 3.0, "sqs.ReceiveMessage": 2.0}
    all_fifo = costs.cost_per_million(per_message, 0.0, fifo_sqs_requests=5.0)
    two_standard = costs.cost_per_million(per_message, 0.0, fifo_sqs_requests=3.0)
    prices = PRICES
    assert all_fifo["parts"]["sqs"] == pytest.approx(5 * prices["sqs"]["fifo_per_million_requests"])
    assert two_standard["parts"]["sqs"] == pytest.approx(
        3 * prices["sqs"]["fifo_per_million_requests"] + 2 * prices["sqs"]["standard_per_million_requests"]
    )
    # The submit and both status callbacks reach the handler through HTTP APIs (infra/template.py).
    assert all_fifo["parts"]["api_gateway"] == pytest.approx(3 * prices["api_gateway"]["http_per_million_requests"])
