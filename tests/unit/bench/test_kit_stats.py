"""bench/kit/stats.py: the one percentile definition every bench prints with (linear
interpolation between the closest ranks, as numpy's default)."""

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.kit.stats import percentile, percentiles


def test_a_percentile_interpolates_between_the_closest_ranks():
    values = [4.0, 1.0, 3.0, 2.0]  # sorted: 1 2 3 4, ranks 0..3
    assert percentiles(values, 0, 50, 100) == [1.0, 2.5, 4.0]
    assert percentile(values, 95) == pytest.approx(3.85)  # rank 2.85: 3 + 0.85 * (4 - 3)
    assert percentile([7.0], 99) == 7.0
    assert percentiles([], 50, 99) == [None, None]
    with pytest.raises(ValueError):
        percentile(values, 101)


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50), st.integers(1, 99))
def test_it_is_the_inclusive_quantile_of_the_standard_library(values, p):
    expected = statistics.quantiles(values, n=100, method="inclusive")[p - 1]
    assert percentile(values, p) == pytest.approx(expected, rel=1e-9, abs=1e-6)
