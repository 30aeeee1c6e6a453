"""Distributions fitted to observed values: which of a scenario's distributions suits them.

@RISK's and Crystal Ball's distribution fitting, for the distributions a
scenario file can state. :func:`fit` estimates each candidate's parameters
by maximum likelihood, rounds them to as few significant digits as keep the
fit, and ranks the candidates by AICc. Each row carries the inline table to
write in a scenario's ``[inputs]``, and every statistic beside it is that of
the rounded distribution, validated as a scenario file's would be: what the
table shows is what the scenario will draw. ``roisim fit data.csv`` does the
same from the command line.

Values that are all whole numbers (counts, amounts to the unit) may be
counts: there a Poisson is a candidate too, and so that its probabilities
compare with the continuous candidates' densities, every candidate is
scored by the probability it gives each recorded value ``k``; a continuous
one's is that of [k - 1/2, k + 1/2), the values that round to ``k``.
Values that are all 0 or 1 are a yes/no record: a Bernoulli is the one
candidate.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError
from scipy import optimize, special, stats

from roisim._toml import toml_key, toml_value
from roisim.distributions import AnyDist, Dist, csv_delimiter, read_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: fewest values a fit takes: below that, a triangular or PERT from the smallest, likeliest
#: and largest value one expects says more than a fit could (and AICc, which needs more
#: values than a candidate's parameters and one, would not be defined for every candidate)
MIN_VALUES = 5
#: the most that rounding a fit's parameters may lower its log-likelihood: a hundredth of
#: the least difference of log-likelihood (one unit of AICc is a half) that decides a ranking
ROUNDING_LOSS = 0.01
#: whole values spread less than this (sd) are fitted as recorded (:func:`_recorded_fit`); where
#: they spread more, a unit's probability is its density to within 1/(24 sd^2), a shift that
#: moves no estimate visibly
RECORDED_SD = 50.0
#: distinct values beyond which triangular and PERT are searched for on this many of them
SEARCH_VALUES = 20_000
#: candidates, in the order a tie keeps them
FAMILIES = ("normal", "lognormal", "uniform", "triangular", "pert", "beta", "poisson", "bernoulli")
#: parameters each candidate estimates (PERT's lambda is the format's default, 4)
PARAMETERS = {"normal": 2, "lognormal": 2, "uniform": 2, "triangular": 3, "pert": 3, "beta": 2,
              "poisson": 1, "bernoulli": 1}
#: columns of :attr:`Fits.table`, after the distribution's name (its index)
COLUMNS = ("toml", "parameters", "log_likelihood", "aicc", "delta_aicc", "weight", "bic", "ks",
           "mean", "sd", "p5", "p50", "p95")

_DIST: TypeAdapter[Dist] = TypeAdapter(AnyDist)


class _Skip(Exception):
    """A candidate that cannot describe these values; its message says why."""


@dataclass(frozen=True, eq=False)
class Fits:
    """The candidates fitted to one set of values, best first.

    Attributes
    ----------
    name : str
        What the values are (a CSV column's name): the input name
        :meth:`toml` writes.
    values : numpy.ndarray
        The values fitted, in the order given.
    table : pandas.DataFrame
        One row per candidate fitted, indexed by its ``dist``, ranked by
        AICc: ``toml`` (the inline table to write), ``parameters`` (how many
        were estimated), ``log_likelihood``, ``aicc``, ``delta_aicc`` (from
        the best), ``weight`` (Akaike weight: the chance that a candidate is
        the best of these, given the values), ``bic``, ``ks`` (the largest
        gap between the values' distribution function and the candidate's),
        and the candidate's ``mean``, ``sd``, ``p5``, ``p50`` and ``p95``.
    observed : pandas.Series
        The values' own ``n``, ``mean``, ``sd`` (n - 1 in the divisor),
        ``p5``, ``p50`` and ``p95``, to set beside the table's.
    distributions : dict of str to Dist
        Each fitted candidate as a scenario's distribution.
    skipped : dict of str to str
        Candidates not fitted, and why (a lognormal where a value is 0).
    whole : bool
        Whether the values are all whole numbers (at least 0), scored as
        recorded counts (see the module's notes).
    """

    name: str
    values: np.ndarray
    table: pd.DataFrame
    observed: pd.Series
    distributions: dict[str, Dist]
    skipped: dict[str, str] = field(default_factory=dict)
    whole: bool = False

    def __repr__(self) -> str:
        shown = self.table[["toml", "delta_aicc", "weight"]].to_string()
        return f"Fits of {self.name} ({self.values.size:,} values), best first by AICc:\n{shown}"

    def _repr_html_(self) -> str:
        return str(self.table.to_html())

    @property
    def best(self) -> Dist:
        """The distribution ranked first."""
        return self.distributions[self.table.index[0]]

    def toml(self, dist: str | None = None) -> str:
        """The line to write in a scenario's ``[inputs]`` for one fit (the best by default).

        >>> fits.toml()                                     # doctest: +SKIP
        'orders = { dist = "normal", mean = 41.3, sd = 8.19 }'
        """
        dist = self.table.index[0] if dist is None else dist
        return f"{toml_key(self.name)} = {self.table.loc[dist, 'toml']}"

    def plot(self, top: int = 3) -> Figure:
        """The values against the ``top`` best fits: histogram and densities, distribution functions."""
        from roisim.charts import fits as draw

        return draw(self, top)


def fit(values: Iterable[float] | pd.Series, name: str | None = None) -> Fits:
    """Fit every distribution of the scenario format that can describe ``values``.

    Parameters
    ----------
    values : array-like
        Observations of one quantity (a list, array or pandas Series); at
        least :data:`MIN_VALUES`, finite, not all equal.
    name : str, optional
        The input's name in :meth:`Fits.toml`; by default the Series' name,
        else ``"value"``.

    Returns
    -------
    Fits
        The candidates fitted, ranked by AICc.

    Raises
    ------
    ValueError
        Where there are too few values, a value is missing or not finite, or
        all are equal.

    Examples
    --------
    >>> fits = roisim.fit(pd.read_csv("orders.csv")["orders"])   # doctest: +SKIP
    >>> fits.table[["toml", "aicc", "weight"]]                    # doctest: +SKIP
    >>> fits.toml()                                               # doctest: +SKIP
    """
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ValueError(f"expected one column of values, got a table of {values.shape[1]} "
                             "columns; fit each: {c: roisim.fit(frame[c]) for c in frame}")
        values = values.iloc[:, 0]
    if name is None:
        name = str(values.name) if isinstance(values, pd.Series) and values.name is not None else "value"
    x = _checked(values)
    yes_no = bool(np.all((x == 0) | (x == 1)))
    whole = yes_no or bool(x.min() >= 0 and np.all(x == np.round(x)))
    families = ("bernoulli",) if yes_no else tuple(
        f for f in FAMILIES if f != "bernoulli" and (whole or f != "poisson"))
    counted = np.unique(x, return_counts=True)  # each distinct value and how often: sorted once
    as_recorded = whole and float(x.std()) < RECORDED_SD
    fitted: dict[str, tuple[Dist, float]] = {}
    skipped: dict[str, str] = {}
    for family in families:
        try:
            fitted[family] = _fitted(family, ESTIMATORS[family](x), counted, whole, as_recorded)
        except _Skip as exc:
            skipped[family] = str(exc)
    if not fitted:  # values beyond what doubles hold, as 1e308 and -1e308
        raise ValueError("no distribution of the format fits these values: "
                         + "; ".join(f"{family}: {why}" for family, why in skipped.items()))
    table = pd.DataFrame([_row(family, dist, ll, counted, whole) for family, (dist, ll) in fitted.items()],
                         index=pd.Index(list(fitted), name="dist"))
    table = table.sort_values("aicc", kind="stable")
    table["delta_aicc"] = table["aicc"] - table["aicc"].iloc[0]
    relative = np.exp(-0.5 * table["delta_aicc"])
    table["weight"] = relative / relative.sum()
    observed = pd.Series({"n": x.size, "mean": x.mean(), "sd": x.std(ddof=1),
                          "p5": np.quantile(x, 0.05), "p50": np.quantile(x, 0.5),
                          "p95": np.quantile(x, 0.95)}, name=name)
    return Fits(name, x, table[list(COLUMNS)], observed,
                {family: fitted[family][0] for family in table.index}, skipped, whole)


def _checked(values: Iterable[float] | pd.Series) -> np.ndarray:
    """``values`` as floats, refused where a fit could not be made of them."""
    given = np.asarray(values)
    if given.dtype.kind in "mM":  # dates and durations would be read as nanoseconds
        raise ValueError(f"expected numbers to fit a distribution to, found {given.dtype} values "
                         "(dates or durations)")
    if given.ndim > 1 and sorted(given.shape)[-2] > 1:
        raise ValueError(f"expected one column of values, got an array of shape {given.shape}")
    try:
        x = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"expected numbers to fit a distribution to: {exc}") from None
    if missing := int(np.isnan(x).sum()):
        raise ValueError(f"{missing} of the {x.size:,} values are missing (NaN); drop them first "
                         "(values.dropna()) or fill them, as you judge right")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{int((~np.isfinite(x)).sum())} of the values are infinite; "
                         "expected finite numbers")
    if x.size < MIN_VALUES:
        raise ValueError(f"{x.size} value{'s are' if x.size != 1 else ' is'} too few to fit a distribution "
                         f"(at least {MIN_VALUES}); write a triangular or PERT from the smallest, "
                         "likeliest and largest value you expect")
    if x.min() == x.max():
        raise ValueError(f"all {x.size:,} values are {_number(x[0])}: a constant, not a "
                         f"distribution (write {_number(x[0])})")
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(x.std())
    if not math.isfinite(spread):
        raise ValueError(f"the values, from {_number(x.min())} to {_number(x.max())}, spread beyond "
                         "what a double holds; write them in a larger unit (thousands, millions)")
    return x


# --- estimators: each gives a candidate's parameters by maximum likelihood --------------

def _normal(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(x.mean()), "sd": float(x.std())}


def _lognormal(x: np.ndarray) -> dict[str, float]:
    if x.min() <= 0:
        raise _Skip(f"needs every value above 0; found {_number(x.min())}")
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    mean = math.exp(mu + sigma**2 / 2)  # the value's own mean and sd, as the format takes them
    return {"mean": mean, "sd": mean * math.sqrt(math.expm1(sigma**2))}


def _uniform(x: np.ndarray) -> dict[str, float]:
    # the unbiased estimators of the ends, not the likelihood's (the smallest and largest
    # value, which no draw would then pass): each end a mean gap between values further out
    lo, hi = float(x.min()), float(x.max())
    gap = (hi - lo) / (x.size - 1)
    if lo >= 0 and np.all(x == np.round(x)):  # whole values: at least the half unit that rounds to them
        gap = max(gap, 0.5)
    return {"min": lo - gap, "max": hi + gap}


def _triangular_logpdf(x: np.ndarray, a: float, c: float, b: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        side = np.where(x < c, np.log(x - a) - math.log(c - a), np.log(b - x) - math.log(b - c))
    return math.log(2.0) - math.log(b - a) + side


def _pert_logpdf(x: np.ndarray, a: float, c: float, b: float) -> np.ndarray:
    alpha, beta = 1 + 4 * (c - a) / (b - a), 1 + 4 * (b - c) / (b - a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((alpha - 1) * np.log(x - a) + (beta - 1) * np.log(b - x) - 5 * math.log(b - a)
                - special.betaln(alpha, beta))


def _min_mode_max(logpdf: Callable[[np.ndarray, float, float, float], np.ndarray],
                  mean_weight: float) -> Callable[[np.ndarray], dict[str, float]]:
    """The maximum-likelihood estimator of a distribution on [min, max] with a mode.

    Both ends lie beyond the values (a density of 0 at an end makes a value
    there impossible), so the search is unconstrained in (log of the
    distance from the smallest value to min, the same above the largest,
    the mode's place between the ends as a logit). Nelder-Mead from the
    mode that matches the values' mean (``mean = (min + w mode + max) /
    (2 + w)``) and from three other places, then once more from the best.
    """
    def estimate(x: np.ndarray) -> dict[str, float]:
        lo, hi = float(x.min()), float(x.max())
        width = hi - lo
        values, counts = np.unique(x, return_counts=True)

        def ends(p: np.ndarray) -> tuple[float, float, float]:
            a, b = lo - width * math.exp(p[0]), hi + width * math.exp(p[1])
            return a, a + (b - a) * float(special.expit(p[2])), b

        def cost_of(values: np.ndarray, counts: np.ndarray) -> Callable[[np.ndarray], float]:
            def cost(p: np.ndarray) -> float:
                if np.any(np.abs(p) > 50):
                    return math.inf
                a, c, b = ends(p)
                if not a < c < b:  # the mode at an end, as far as doubles tell
                    return math.inf
                total = float(np.sum(logpdf(values, a, c, b) * counts))
                return -total if math.isfinite(total) else math.inf

            return cost

        # many values: the search on the smallest, the largest (which bound the ends) and
        # SEARCH_VALUES between them evenly spaced in rank, each standing for its share of
        # the others; the last refinement on all of them
        few = (values, counts)
        if values.size > SEARCH_VALUES:
            inner = (np.arange(SEARCH_VALUES) + 0.5) * (x.size - 2) / SEARCH_VALUES + 1
            few = (np.concatenate([[lo], values[np.searchsorted(np.cumsum(counts), inner)], [hi]]),
                   np.concatenate([[1.0], np.full(SEARCH_VALUES, (x.size - 2) / SEARCH_VALUES), [1.0]]))
        search = cost_of(*few)
        out = math.log(1.0 / x.size)  # each end a value's share of the range beyond the values
        a0, b0 = lo - width / x.size, hi + width / x.size
        mode = ((2 + mean_weight) * float(x.mean()) - a0 - b0) / mean_weight
        places = [(mode - a0) / (b0 - a0), 0.1, 0.5, 0.9]
        best = None
        for place in places:
            start = np.array([out, out, float(special.logit(min(max(place, 0.02), 0.98)))])
            found = optimize.minimize(search, start, method="Nelder-Mead",
                                      options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 3000})
            if best is None or found.fun < best.fun:
                best = found
        assert best is not None
        best = optimize.minimize(cost_of(values, counts), best.x, method="Nelder-Mead",
                                 options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 600})
        a, c, b = ends(best.x)
        return {"min": a, "mode": c, "max": b}

    return estimate


def _beta(x: np.ndarray) -> dict[str, float]:
    if x.min() <= 0 or x.max() >= 1:
        raise _Skip("needs every value between 0 and 1, both excluded (a share); found "
                    f"{_number(x.min() if x.min() <= 0 else x.max())}")
    alpha, beta, _, _ = stats.beta.fit(x, floc=0, fscale=1)
    return {"alpha": float(alpha), "beta": float(beta)}


def _poisson(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(x.mean())}


def _bernoulli(x: np.ndarray) -> dict[str, float]:
    return {"p": float(x.mean())}


ESTIMATORS: dict[str, Callable[[np.ndarray], dict[str, float]]] = {
    "normal": _normal, "lognormal": _lognormal, "uniform": _uniform,
    "triangular": _min_mode_max(_triangular_logpdf, 1.0), "pert": _min_mode_max(_pert_logpdf, 4.0),
    "beta": _beta, "poisson": _poisson, "bernoulli": _bernoulli,
}


# --- scoring ------------------------------------------------------------------------------

def log_likelihood(dist: Dist, x: np.ndarray, whole: bool, counts: np.ndarray | None = None) -> float:
    """The log-likelihood of ``dist`` for ``x``; recorded counts' where ``whole`` (module notes).

    ``x`` may be distinct values, each seen ``counts`` times.
    """
    each = log_probabilities(dist, x, whole)
    return float(np.sum(each if counts is None else each * counts))


def log_probabilities(dist: Dist, x: np.ndarray, whole: bool) -> np.ndarray:
    """Log of each value's density, or of its probability as recorded where ``whole``."""
    with np.errstate(divide="ignore"):
        if not dist.continuous:
            return np.asarray(dist.reference().logpmf(x), dtype=np.float64)
        if not whole:
            return np.asarray(dist.reference().logpdf(x), dtype=np.float64)
        return np.log(_recorded(dist, np.asarray(x, dtype=np.float64)))


def _recorded(dist: Dist, k: np.ndarray) -> np.ndarray:
    """The probability that a draw of continuous ``dist`` rounds to each ``k``."""
    low, high = k - 0.5, k + 0.5
    upper = dist.cdf(k) > 0.5  # above the median, from the survival function: exact there
    return np.where(upper, dist.sf(low) - dist.sf(high), dist.cdf(high) - dist.cdf(low))  # type: ignore[attr-defined]


def recorded_cdf(dist: Dist, t: Any, whole: bool) -> np.ndarray:
    """P(a value as recorded is at most ``t``): the distribution function set against the values'."""
    t = np.asarray(t, dtype=np.float64)
    if not dist.continuous:
        return np.asarray(dist.reference().cdf(np.floor(t)), dtype=np.float64)
    return np.asarray(dist.cdf(np.floor(t) + 0.5 if whole else t), dtype=np.float64)


def ks_distance(dist: Dist, counted: tuple[np.ndarray, np.ndarray], whole: bool) -> float:
    """The largest gap between the values' distribution function and ``dist``'s (as recorded).

    ``counted``: each distinct value and how often it was seen
    (``np.unique(x, return_counts=True)``).
    """
    values, counts = counted
    after = np.cumsum(counts) / counts.sum()
    before = after - counts / counts.sum()
    # just before each value: the model's function there (whole values: at the value less one,
    # where it is highest on the stretch the values' function is flat)
    left = recorded_cdf(dist, values - 1.0, True) if whole else recorded_cdf(dist, values, False)
    return float(max(np.max(np.abs(after - recorded_cdf(dist, values, whole))),
                     np.max(np.abs(before - left))))


def _fitted(family: str, exact: dict[str, float], counted: tuple[np.ndarray, np.ndarray],
            whole: bool, as_recorded: bool) -> tuple[Dist, float]:
    """The candidate with its parameters rounded to as few significant digits as keep the fit.

    Returns the distribution, validated as a scenario's, and its
    log-likelihood. The fewest digits, from 3, that lower the
    log-likelihood by at most :data:`ROUNDING_LOSS`. ``counted`` as
    :func:`ks_distance` takes it; ``as_recorded``: whole values that spread
    little, whose continuous fits are made as recorded (:func:`_recorded_fit`).
    """
    values, counts = counted
    if as_recorded and family not in ("poisson", "bernoulli", "uniform"):
        exact = _recorded_fit(family, exact, values, counts)
    try:
        fitted = _DIST.validate_python({"dist": family, **exact})
    except ValidationError as exc:  # beyond what the format takes, as a Poisson of mean 1e9
        raise _Skip(exc.errors()[0]["msg"]) from None
    best = log_likelihood(fitted, values, whole, counts)
    if not math.isfinite(best):
        raise _Skip("its fit gives a value no probability")
    for digits in range(3, 18):
        rounded = {key: float(f"{value:.{digits}g}") for key, value in exact.items()}
        try:
            dist = _DIST.validate_python({"dist": family, **rounded})
        except ValidationError:  # rounding closed a gap, as between min and mode
            continue
        ll = log_likelihood(dist, values, whole, counts)
        if ll >= best - ROUNDING_LOSS or digits == 17:
            return dist, ll
    raise AssertionError("17 significant digits are any double")


def _recorded_fit(family: str, start: dict[str, float], values: np.ndarray,
                  counts: np.ndarray) -> dict[str, float]:
    """A continuous candidate's parameters that best explain whole values as recorded.

    The density's estimates (``start``) explain values far apart from each
    other as well as the probabilities of rounding to them do, but not small
    counts: for 0, 1, 2, ... a triangular's density puts its lower end at
    the smallest value, where values that round to it are half as likely.
    Nelder-Mead from ``start``, over the parameters as the format writes
    them (where they are invalid, no likelihood).
    """
    keys = list(start)

    def cost(p: np.ndarray) -> float:
        try:
            dist = _DIST.validate_python({"dist": family, **dict(zip(keys, map(float, p), strict=True))})
        except ValidationError:
            return math.inf
        ll = log_likelihood(dist, values, True, counts)
        return -ll if math.isfinite(ll) else math.inf

    p0 = np.array([start[key] for key in keys])
    scale = max(1.0, float(np.max(np.abs(p0))))
    found = optimize.minimize(cost, p0, method="Nelder-Mead",
                              options={"xatol": 1e-9 * scale, "fatol": 1e-9, "maxiter": 4000})
    return dict(zip(keys, map(float, found.x), strict=True)) if found.fun < cost(p0) else start


def _row(family: str, dist: Dist, ll: float, counted: tuple[np.ndarray, np.ndarray], whole: bool
         ) -> dict[str, Any]:
    k, n = PARAMETERS[family], int(counted[1].sum())
    ref = dist.reference()
    p5, p50, p95 = (float(q) for q in ref.ppf([0.05, 0.5, 0.95]))
    return {"toml": inline_table(dist), "parameters": k, "log_likelihood": ll,
            "aicc": 2 * k - 2 * ll + 2 * k * (k + 1) / (n - k - 1), "bic": k * math.log(n) - 2 * ll,
            "ks": ks_distance(dist, counted, whole), "mean": float(ref.mean()), "sd": float(ref.std()),
            "p5": p5, "p50": p50, "p95": p95}


# --- writing ------------------------------------------------------------------------------

def inline_table(dist: Dist) -> str:
    """``dist`` as a scenario file writes it in place: ``{ dist = "normal", mean = 41.3, sd = 8.19 }``."""
    return toml_value(dist.model_dump(by_alias=True, exclude_defaults=True) | {"dist": dist.dist})


def _number(x: float) -> str:
    from roisim.distributions import number

    return number(float(f"{x:.6g}"))


def csv_columns(path: str | Path) -> list[str]:
    """The column names of a CSV file, as :func:`~roisim.distributions.read_empirical` reads them.

    Raises ValueError with the reason where the file cannot be read.
    """
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            header = handle.readline()
    except FileNotFoundError:
        raise ValueError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    row = next(csv.reader([header], delimiter=csv_delimiter(header)), [])
    columns = [name.strip() for name in row]
    if not any(columns):
        raise ValueError(f"{path}: no header line naming its columns")
    return columns


def read_column(path: str | Path, column: str) -> list[tuple[int, float]]:
    """A CSV file's column as an ``empirical`` input reads it, each value with its line.

    Raises ValueError naming the file, and the line where a cell is not a
    number.
    """
    csv_columns(path)  # a missing file said as such, not as an empirical input's
    return read_rows(str(path), column, Path("."))


def fit_column(path: str | Path, column: str, rows: Sequence[tuple[int, float]]) -> Fits:
    """:func:`fit` to a column's values as :func:`read_column` read them, errors naming the column."""
    try:
        return fit([value for _, value in rows], name=column)
    except ValueError as exc:
        raise ValueError(f"{path}, column '{column}': {exc}") from None


#: the chance of a rank correlation as large arising between independent columns, below which
#: ``roisim fit`` writes it as a correlation of the scenario
CORRELATION_P = 0.05


def rank_correlations(observed: Mapping[str, Sequence[tuple[int, float]]]) -> pd.DataFrame:
    """Spearman's rank correlation of each pair of columns of a CSV file, as observed together.

    ``observed`` maps each column to its values with their lines
    (:func:`read_column`). On the lines where every column has a value (a
    matrix of them is then a valid correlation matrix). One row per pair: ``a``,
    ``b``, ``n`` (the lines), ``rank``, its 95% interval ``low`` to
    ``high`` (Fisher's z with Fieller, Hartley and Pearson's variance
    1.06 / (n - 3)), and ``p_value`` (scipy's, of no correlation).
    """
    columns = list(observed)
    rows = [dict(observed[column]) for column in columns]
    lines = sorted(set.intersection(*(set(r) for r in rows)))
    table = np.array([[r[line] for line in lines] for r in rows])
    out = []
    n = len(lines)
    for i in range(len(columns)):
        for j in range(i + 1, len(columns)):
            if n < MIN_VALUES or np.ptp(table[i]) == 0 or np.ptp(table[j]) == 0:
                rank = low = high = p = math.nan
            else:
                found = stats.spearmanr(table[i], table[j])
                rank, p = float(found.statistic), float(found.pvalue)
                half = 1.96 * math.sqrt(1.06 / (n - 3)) if n > 3 else math.inf
                z = math.atanh(min(max(rank, -0.999999), 0.999999))
                low, high = math.tanh(z - half), math.tanh(z + half)
            out.append({"a": columns[i], "b": columns[j], "n": n, "rank": rank, "low": low,
                        "high": high, "p_value": p})
    return pd.DataFrame(out, columns=["a", "b", "n", "rank", "low", "high", "p_value"])


def correlation_lines(pairs: pd.DataFrame) -> list[str]:
    """The ``[[correlations]]`` to write for the pairs correlated beyond chance, as TOML lines.

    Each rank to two decimals, with its interval in a comment. Where those
    alone (the other pairs at 0) would not be a matrix roisim can sample,
    every pair is written, as observed; where even that is not, the
    nearest one that is (:func:`roisim.correlation.nearest_usable`), said
    in a comment.
    """
    from roisim.correlation import nearest_usable, usable

    names = list(dict.fromkeys([*pairs["a"], *pairs["b"]]))
    chosen = pairs[pairs["p_value"] < CORRELATION_P]
    if chosen.empty:
        return []
    note = ""

    def matrix(rows: pd.DataFrame) -> np.ndarray:
        m = np.eye(len(names))
        for row in rows.itertuples():
            i, j = names.index(row.a), names.index(row.b)
            m[i, j] = m[j, i] = round(row.rank, 2)
        return m

    if not usable(matrix(chosen)):
        chosen = pairs.dropna(subset=["rank"])
        note = "every pair written: those beyond chance alone are not a valid correlation matrix"
    ranks = matrix(chosen)
    if not usable(ranks):
        nearest = nearest_usable(ranks)
        while not usable(np.round(nearest, 2)):  # valid after rounding to the two decimals written
            nearest = 0.99 * nearest + 0.01 * np.eye(len(names))
        ranks = np.round(nearest, 2)
        note = "the nearest valid correlation matrix to the ranks observed"
    lines = [f"# rank correlations observed together, on {int(pairs['n'].iloc[0]):,} lines; for inputs "
             "drawn once per trial (not those resampled monthly)"]
    if note:
        lines.append(f"# {note}")
    for row in chosen.itertuples():
        rank = ranks[names.index(row.a), names.index(row.b)]
        lines += ["[[correlations]]",
                  f"inputs = [{toml_value(row.a)}, {toml_value(row.b)}]",
                  f"rank = {toml_value(float(rank))}   # observed {row.rank:.3f}, 95%: "
                  f"{row.low:.2f} to {row.high:.2f}"]
    return lines
