"""Order statistics without sorting a copy: the values a sort would give, to the bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from roisim import selection
from roisim.metrics import PERCENTILES, cvar, describe
from roisim.selection import Computed, order_statistics


def sorted_finite(values: np.ndarray, with_inf: bool = False) -> np.ndarray:
    keep = np.isfinite(values) | (with_inf & (values == np.inf))
    return np.sort(values[keep].astype(np.float64))


RNG = np.random.default_rng(11)
CASES = {
    "normal": RNG.normal(size=300_001),
    "months": RNG.integers(0, 60, size=200_000).astype(np.float32),
    "wide whole numbers": RNG.integers(-(10**9), 10**9, size=100_000).astype(np.float64),
    "a point mass": np.where(RNG.random(200_000) < 0.7, -1.25, RNG.normal(size=200_000)),
    "two point masses": np.where(RNG.random(200_000) < 0.5, 0.0, 7.5),
    "constant": np.full(70_000, 3.5),
    "one value": np.array([2.0]),
    "undefined among them": np.where(RNG.random(100_000) < 0.3, np.nan, RNG.lognormal(size=100_000)),
    "near the largest floats": np.concatenate([RNG.normal(size=999) * 1e300, [1.7e308, -1.7e308]]),
    "a few ulps apart": 1.0 + RNG.integers(0, 5, size=100_000) * np.finfo(float).eps,
    "subnormal": RNG.normal(size=100_000) * 1e-310,
}


@pytest.mark.parametrize("name", list(CASES))
def test_order_statistics_are_a_sorts(name, monkeypatch):
    monkeypatch.setattr(selection, "GATHER", 1_000)  # narrow down often, even on small data
    values = CASES[name]
    ordered = sorted_finite(values)
    ranks = np.unique(np.concatenate([[0, ordered.size - 1],
                                      RNG.integers(0, ordered.size, size=60)]))
    np.testing.assert_array_equal(order_statistics(values, ranks), ordered[ranks])


def test_never_counts_as_the_largest_month():
    months = np.where(RNG.random(50_000) < 0.2, np.inf, RNG.integers(0, 36, size=50_000))
    ordered = sorted_finite(months, with_inf=True)
    ranks = np.arange(0, months.size, 101)
    np.testing.assert_array_equal(order_statistics(months, ranks, with_inf=True), ordered[ranks])
    with pytest.raises(ValueError, match="ranks must lie in"):
        order_statistics(months, np.array([months.size]), with_inf=True)


def test_computed_values_are_read_a_slice_at_a_time():
    a, b = RNG.normal(size=200_000), RNG.normal(size=200_000)
    reads = []

    def npv(at: slice) -> np.ndarray:
        reads.append(at.stop - at.start)
        return a[at] - b[at]

    ranks = np.array([0, 9_999, 100_000, 199_999])
    got = order_statistics(Computed(a.size, npv), ranks)
    np.testing.assert_array_equal(got, np.sort(a - b)[ranks])
    assert max(reads) <= selection.SLICE


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 3_000),
                  elements=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, -3.0, np.nan]))),
       st.data())
def test_any_values_any_ranks(values, data):
    ordered = sorted_finite(values)
    if ordered.size == 0:
        return
    ranks = np.array(data.draw(st.lists(st.integers(0, ordered.size - 1), min_size=1, max_size=8)))
    np.testing.assert_array_equal(order_statistics(values, ranks), ordered[ranks])


@pytest.mark.parametrize("name", ["normal", "a point mass", "undefined among them", "months"])
def test_describe_gives_numpys_percentiles(name):
    values = CASES[name]
    months = name == "months"
    row = describe(values, "x", months=months)
    finite = values[np.isfinite(values)].astype(np.float64)
    for q in PERCENTILES:
        expected = np.quantile(finite, q / 100, method="inverted_cdf" if months else "linear")
        assert row[f"x_p{q}"] == expected
    assert row["x_min"] == finite.min() and row["x_max"] == finite.max()


def test_cvar_is_the_mean_of_the_worst_share():
    values = CASES["a point mass"]  # 70% at -1.25: the worst 5% are all but ties of it
    for alpha in (0.05, 0.5, 0.9):
        k = math.ceil(alpha * values.size)
        worst = np.sort(values)[:k]
        value, se = cvar(values, alpha)
        assert value == pytest.approx(worst.mean(), rel=1e-12, abs=1e-12)
        shortfall = worst - worst.max()
        variance = np.dot(shortfall, shortfall) / values.size - (shortfall.sum() / values.size) ** 2
        assert se == pytest.approx(math.sqrt(max(variance, 0.0) * values.size / (values.size - 1))
                                   / (alpha * math.sqrt(values.size)), rel=1e-9, abs=1e-15)
