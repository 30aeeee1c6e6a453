"""Every sampler against scipy.stats, through the kernel's own code path.

Thresholds: with n = 200,000 draws the KS statistic of a correct sampler
exceeds 1.95 / sqrt(n) = 0.0044 with probability 0.001; quantile tables add
at most 1/4096 = 0.00024 of CDF error, far below that. Discrete samplers are
checked with a chi-square test at the same level. Seeds are fixed, so each
test is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from roisim import _random as rnd
from roisim.distributions import AnyDist, Empirical, csv_number, read_empirical

N = 200_000
ALPHA = 0.001
adapter = TypeAdapter(AnyDist)


def dist(**spec):
    return adapter.validate_python(spec)


def pert_reference(lo, mode, hi, lam=4.0):
    # Vose (2008): alpha = 1 + lambda (mode - min) / (max - min)
    a = 1 + lam * (mode - lo) / (hi - lo)
    b = 1 + lam * (hi - mode) / (hi - lo)
    return stats.beta(a, b, loc=lo, scale=hi - lo)


def truncated(ref, lo, hi):
    """A scipy-like truncated version of a frozen continuous distribution."""
    flo, fhi = ref.cdf(lo), ref.cdf(hi)

    slo, shi = ref.sf(lo), ref.sf(hi)

    class T:
        # each from whichever of cdf and sf is small there: near 1 the other loses digits
        def cdf(self, x):
            below = np.where(ref.cdf(x) < 0.5, ref.cdf(x) - flo, slo - ref.sf(x))
            return np.clip(below / (fhi - flo), 0.0, 1.0)

        def sf(self, x):
            above = np.where(ref.sf(x) < 0.5, ref.sf(x) - shi, fhi - ref.cdf(x))
            return np.clip(above / (fhi - flo), 0.0, 1.0)

    return T()


Z95 = stats.norm.ppf(0.95)
CONTINUOUS = {
    "uniform": (dict(dist="uniform", min=2, max=9), stats.uniform(2, 7)),
    "triangular": (dict(dist="triangular", min=20, mode=35, max=60),
                   stats.triang(15 / 40, loc=20, scale=40)),
    "triangular_left": (dict(dist="triangular", min=0, mode=0, max=1), stats.triang(0, 0, 1)),
    "pert": (dict(dist="pert", min=150, mode=200, max=320), pert_reference(150, 200, 320)),
    "pert_lambda": (dict(dist="pert", min=0, mode=20, max=60, **{"lambda": 2}),
                    pert_reference(0, 20, 60, 2.0)),
    "normal": (dict(dist="normal", mean=28, sd=3), stats.norm(28, 3)),
    "normal_interval": (dict(dist="normal", p5=10, p95=30), stats.norm(20, 10 / Z95)),
    "lognormal_interval": (dict(dist="lognormal", p5=8000, p95=20000),
                           stats.lognorm((math.log(20000) - math.log(8000)) / (2 * Z95),
                                         scale=math.sqrt(8000 * 20000))),
    "lognormal_moments": (dict(dist="lognormal", mean=100, sd=50),
                          stats.lognorm(math.sqrt(math.log(1.25)),
                                        scale=100 / math.sqrt(1.25))),
    "beta": (dict(dist="beta", alpha=8, beta=2), stats.beta(8, 2)),
    "beta_u_shaped": (dict(dist="beta", alpha=0.5, beta=0.5), stats.beta(0.5, 0.5)),
    "normal_truncated": (dict(dist="normal", mean=28, sd=3, at_least=25, at_most=30),
                         stats.truncnorm(-1, 2 / 3, loc=28, scale=3)),
    "normal_lower_tail": (dict(dist="normal", mean=0, sd=1, at_most=-2),
                          stats.truncnorm(-np.inf, -2)),
    "lognormal_truncated": (dict(dist="lognormal", p5=8000, p95=20000, at_most=15000),
                            truncated(stats.lognorm((math.log(20000) - math.log(8000)) / (2 * Z95),
                                                    scale=math.sqrt(8000 * 20000)), 0, 15000)),
    "pert_truncated": (dict(dist="pert", min=150, mode=200, max=320, at_least=180),
                       truncated(pert_reference(150, 200, 320), 180, 320)),
    # a sliver far in the upper tail (probability 4e-5): its tables' points are
    # computed from the survival function, where the cdf is within 4e-5 of 1
    "beta_far_tail": (dict(dist="beta", alpha=2, beta=18, at_least=0.5),
                      truncated(stats.beta(2, 18), 0.5, 1.0)),
    "triangular_truncated": (dict(dist="triangular", min=20, mode=35, max=60, at_most=40),
                             truncated(stats.triang(15 / 40, loc=20, scale=40), 20, 40)),
}


def _poisson_probs(values):
    ks = np.arange(values.max() + 2)
    probs = stats.poisson(20).pmf(ks)
    return ks, probs


class TestContinuous:
    """The contract every continuous sampler meets."""

    @pytest.fixture(params=sorted(CONTINUOUS), ids=sorted(CONTINUOUS))
    def case(self, request):
        spec, ref = CONTINUOUS[request.param]
        return dist(**spec), ref, spec

    def test_matches_scipy(self, case):
        d, ref, _ = case
        x = d.sample(N, seed=11)
        result = stats.kstest(x, ref.cdf)
        assert result.pvalue > ALPHA, result

    def test_within_bounds(self, case):
        d, _, spec = case
        x = d.sample(N, seed=12)
        lo, hi = d.support()
        assert x.min() >= lo and x.max() <= hi
        if "at_least" in spec:
            assert x.min() >= spec["at_least"]
        if "at_most" in spec:
            assert x.max() <= spec["at_most"]

    def test_batched_quantiles_equal_the_scalar_function(self, case):
        # the kernel runs each input's quantile function over a batch of draws
        # (vectorised, tails redone apart); every value must equal the scalar
        # function's, bit for bit, including draws at the edges of the tails
        d, _, _ = case
        spec = d.compile()
        table_c = spec.table_c if spec.table_c.size else np.zeros(spec.table_x.size)
        guide = rnd.guide_table(spec.table_c)
        u = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 4001),
                            0.5 + np.array([-0.425, 0.425]) + 1e-17,
                            np.random.default_rng(3).random(2000)])
        batched = np.empty_like(u)
        a, b, c = spec.par[0], spec.par[1], spec.par[2]
        rnd.quantiles(spec.kind, a, b, c, spec.ulo, spec.uhi, spec.table_x, table_c, guide, 0,
                      spec.table_x.size, u, batched, np.empty(u.size, np.int64))
        scalar = [rnd.quantile(spec.kind, a, b, c, spec.ulo, spec.uhi, spec.table_x, table_c,
                               guide, 0, spec.table_x.size, p) for p in u]
        np.testing.assert_array_equal(batched, scalar)

    def test_tails_follow_the_distribution(self, case):
        # KS cannot see the tails: a beta(2, 18) whose last 1/4,096 of draws
        # spread evenly over 0.45..1 (the last cell of an evenly spaced table)
        # passes it, yet a value of 0.97 has a probability of about 1e-25. So
        # at probabilities u from 1e-10 to 0.5 from either end, F(x) of the
        # sampler's x must be within 0.1% of u's tail probability (tables
        # interpolate between points at most 2^(1/16) apart in it, or 1/64 in
        # their evenly spaced part: 2.4e-4 at worst). Where x is near the end of
        # the doubles' resolution (1 - 1e-20 is 1.0), it may be two doubles off:
        # interpolating rounds, and so does a value that no double represents.
        # The upper tail is judged by the survival function.
        d, ref, _ = case
        spec = d.compile()
        table_c = spec.table_c if spec.table_c.size else np.zeros(spec.table_x.size)
        tail = np.geomspace(1e-10, 0.5, 400)
        for u, chance, at in ((tail, ref.cdf, tail), (1.0 - tail, lambda x: -ref.sf(x), -tail)):
            x = np.empty_like(u)
            rnd.quantiles(spec.kind, spec.par[0], spec.par[1], spec.par[2], spec.ulo, spec.uhi,
                          spec.table_x, table_c, rnd.guide_table(spec.table_c), 0,
                          spec.table_x.size, u, x, np.empty(u.size, np.int64))
            # F(x) against u, or in the upper tail -sf(x) against -(1 - u)
            ulps = 2 * np.abs(np.spacing(x))
            below = chance(x - ulps) - at - 1e-3 * tail
            above = chance(x + ulps) - at + 1e-3 * tail
            wrong = (below > 0) | (above < 0)
            assert not wrong.any(), list(zip(u[wrong][:5], x[wrong][:5], strict=True))

    def test_bin_probabilities_are_scipys(self, case):
        # what the inputs chart draws as the stated distribution, bin by bin: bins
        # reaching past the support on both sides, so that they hold all its probability
        d, ref, _ = case
        lo, hi = d.support()
        inner = np.quantile(d.sample(2000, seed=14), np.linspace(0.01, 0.99, 9))
        edges = np.concatenate([[lo - 1.0 if math.isfinite(lo) else -1e300], inner,
                                [hi + 1.0 if math.isfinite(hi) else 1e300]])
        got = d.bin_probabilities(edges)
        np.testing.assert_allclose(got, np.diff(ref.cdf(edges)), rtol=1e-9, atol=1e-15)
        assert got.sum() == pytest.approx(1.0, abs=1e-12)

    def test_reproducible_and_position_keyed(self, case):
        d, _, _ = case
        whole = d.sample(1000, seed=5)
        np.testing.assert_array_equal(whole, d.sample(1000, seed=5))
        # trial k's draw depends on (seed, k) alone, not on where a block starts
        np.testing.assert_array_equal(whole[300:], d.sample(700, seed=5, first=300))
        assert not np.array_equal(whole, d.sample(1000, seed=6))


DISCRETE = {
    "poisson": (dict(dist="poisson", mean=20), lambda ks: stats.poisson(20).pmf(ks)),
    "poisson_small": (dict(dist="poisson", mean=0.3), lambda ks: stats.poisson(0.3).pmf(ks)),
    "bernoulli": (dict(dist="bernoulli", p=0.15), lambda ks: stats.bernoulli(0.15).pmf(ks)),
    "choice_weighted": (dict(dist="choice", values=[3, 1, 2], weights=[1, 2, 7]),
                        lambda ks: np.select([ks == 1, ks == 2, ks == 3], [0.2, 0.7, 0.1], 0.0)),
    "choice_equal": (dict(dist="choice", values=[10, 20, 30, 40]),
                     lambda ks: np.isin(ks, [10, 20, 30, 40]) * 0.25),
}


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_matches_scipy(name):
    spec, pmf = DISCRETE[name]
    x = dist(**spec).sample(N, seed=13)
    ks, counts = np.unique(x, return_counts=True)
    expected = pmf(ks) * N
    assert expected.min() > 0, "a value with probability 0 was drawn"
    # pool the sparse tail so every cell expects at least 5 (chi-square validity)
    keep = expected >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(expected[keep], N - expected[keep].sum())
    if obs[-1] == 0 and exp[-1] < 5:
        obs, exp = obs[:-1], exp[:-1] * (N / exp[:-1].sum())
    assert stats.chisquare(obs, exp).pvalue > ALPHA


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_batched_quantiles_equal_the_scalar_function(name):
    # the batch takes the guide table's first step without a branch, then the
    # rest; every value must be the scalar search's, also at and next to each
    # cumulative probability, where the search stops one outcome later or not
    spec = dist(**DISCRETE[name][0]).compile()
    guide = rnd.guide_table(spec.table_c)
    steps = spec.table_c[spec.table_c < 1.0]
    u = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 4001), steps,
                        np.nextafter(steps, 0.0), np.nextafter(steps, 1.0),
                        np.random.default_rng(4).random(2000)])
    batched = np.empty_like(u)
    a, b, c = spec.par[0], spec.par[1], spec.par[2]
    n = spec.table_x.size
    rnd.quantiles(spec.kind, a, b, c, spec.ulo, spec.uhi, spec.table_x, spec.table_c, guide, 0,
                  n, u, batched, np.empty(u.size, np.int64))
    scalar = [rnd.quantile(spec.kind, a, b, c, spec.ulo, spec.uhi, spec.table_x, spec.table_c,
                           guide, 0, n, p) for p in u]
    np.testing.assert_array_equal(batched, scalar)


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_bin_probabilities_are_the_pmf_summed_over_each_bin(name):
    spec, pmf = DISCRETE[name]
    edges = np.array([-0.5, 0.5, 1.5, 12.0, 19.5, 20.5, 35.0, 1e6])
    ks = np.arange(0, 1_000_001) if spec["dist"] == "poisson" else np.unique(
        dist(**spec).outcomes()[0])
    expected = np.histogram(ks, bins=edges, weights=pmf(ks))[0]
    np.testing.assert_allclose(dist(**spec).bin_probabilities(edges), expected, atol=1e-12)


def test_empirical_resamples_the_column(tmp_path):
    (tmp_path / "obs.csv").write_text("week,orders\n1,12\n2,15\n3,\n4,9\n5,15\n")
    d = Empirical.model_validate({"dist": "empirical", "file": "obs.csv", "column": "orders"},
                                 context={"base": tmp_path})
    assert d.data == (12.0, 15.0, 9.0, 15.0)  # the blank cell is skipped
    x = d.sample(N, seed=14)
    values, counts = np.unique(x, return_counts=True)
    np.testing.assert_array_equal(values, [9, 12, 15])
    assert stats.chisquare(counts, np.array([0.25, 0.25, 0.5]) * N).pvalue > ALPHA


@pytest.mark.parametrize(("text", "values"), [
    ("month,orders\n1,4406.5\n2,\"1,234.5\"\n3,1_000\n4,2.5e3\n", (4406.5, 1234.5, 1000.0, 2500.0)),
    # where ',' is the decimal mark, spreadsheets write ';' between columns
    ("month;orders\n1;4406,5\n2;1.234,5\n3;7\n", (4406.5, 1234.5, 7.0)),
    ("month\torders\n1\t4406.5\n2\t\n", (4406.5,)),
    # written by hand: spaces after the commas, in the header as in the cells
    ("month, orders\n1, 4406.5\n2, 7\n", (4406.5, 7.0)),
])
def test_empirical_reads_both_decimal_marks_by_the_column_separator(tmp_path, text, values):
    (tmp_path / "obs.csv").write_text(text)
    assert read_empirical("obs.csv", "orders", tmp_path) == values


@pytest.mark.parametrize(("text", "message"), [
    # read as 1234 or 12, these would be silently wrong
    ('month,orders\n1,"12,34"\n', "obs.csv, line 2, column 'orders': expected a number, found "
     "'12,34'; a decimal comma needs ';' between columns"),
    ("orders\n4406,5\n", "obs.csv, line 2: 2 cells, expected 1 as in the header (a decimal "
     "comma? save the file with ';' between columns)"),
    ("month;orders\n1;0.5\n", "obs.csv, line 2, column 'orders': expected a number, found "
     "'0.5'; with ';' between columns, ',' is the decimal mark (1.234,5)"),
    ("month,orders\n1,1,234\n", "obs.csv, line 2: 3 cells, expected 2 as in the header"),
    # lines are the file's, blank ones and cells quoted over two lines counted
    ('orders,note\n1,"a\nb"\n\n\nabc,x\n', "obs.csv, line 6, column 'orders': expected a number, "
     "found 'abc'"),
    ("orders,orders\n1,2\n", "obs.csv has 2 columns named 'orders'; expected one"),
    ("month,orders\n1,4000\n2,NaN\n", "obs.csv, line 3, column 'orders': expected a finite number, "
     "found 'NaN'"),
])
def test_empirical_rejects_numbers_it_could_misread(tmp_path, text, message):
    (tmp_path / "obs.csv").write_text(text)
    with pytest.raises(ValueError) as caught:
        read_empirical("obs.csv", "orders", tmp_path)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("cell", "decimal", "value"), [
    ("1,234,567.25", ".", 1234567.25), ("-1_234", ".", -1234.0), ("12", ".", 12.0),
    ("1.234.567,25", ",", 1234567.25), ("-3,5", ",", -3.5), ("1_234,5", ",", 1234.5)])
def test_csv_numbers_group_digits_in_threes(cell, decimal, value):
    assert csv_number(cell, decimal) == value


@pytest.mark.parametrize(("cell", "decimal"), [("12,34", "."), ("1,23", "."), ("1.2.3", ","),
                                               ("1,234.5", ","), ("abc", ".")])
def test_csv_numbers_that_could_be_misread_are_errors(cell, decimal):
    with pytest.raises(ValueError):
        csv_number(cell, decimal)


def test_fixed_is_constant():
    assert np.all(dist(dist="fixed", value=2.5).sample(100) == 2.5)


def test_pert_mean_matches_the_pert_formula():
    # beta-PERT mean (min + lambda mode + max) / (lambda + 2); se of the mean of N draws
    x = dist(dist="pert", min=150, mode=200, max=320).sample(N, seed=15)
    expected = (150 + 4 * 200 + 320) / 6
    assert abs(x.mean() - expected) < 4 * x.std() / math.sqrt(N)


@pytest.mark.parametrize("spec", [
    dict(dist="uniform", min=1, max=3),
    dict(dist="triangular", min=1, mode=2, max=5),
    dict(dist="triangular", min=1, mode=1, max=5),
    dict(dist="triangular", min=1, mode=5, max=5),
    dict(dist="normal", mean=3, sd=2),
    dict(dist="lognormal", mean=3, sd=2),
    dict(dist="pert", min=1, mode=2, max=5),
    dict(dist="beta", alpha=2, beta=5),
])
def test_survival_function_is_scipys_far_into_the_upper_tail(spec):
    d = dist(**spec)
    x = np.concatenate([np.linspace(-1.0, 12.0, 1001), [25.0, 40.0]])
    ref = d.reference()
    assert np.allclose(d.sf(x), ref.sf(x), rtol=1e-9, atol=1e-15)
    assert np.allclose(d.cdf(x), ref.cdf(x), rtol=1e-9, atol=1e-15)


def test_a_bound_of_zero_is_a_bound():
    from conftest import initiative

    assert dist(dist="normal", mean=4, sd=1, at_least=0).support() == (0.0, math.inf)
    assert dist(dist="normal", mean=-4, sd=1, at_most=0).support() == (-math.inf, 0.0)
    # a go-live month drawn from a normal kept at 0 or more is a month (it was refused as
    # "values from -inf to inf": a bound of 0 read as none)
    scenario = initiative("""
        go_live_month = { dist = "normal", mean = 2, sd = 1.5, at_least = 0 }
        benefits = [{ name = "b", amount = 10, every = "month" }]
        """)
    assert scenario.initiatives[0].go_live_month.support() == (0.0, math.inf)
