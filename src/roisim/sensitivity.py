"""What drives the risk, and what is worth measuring before deciding.

Both answers come from the trials already simulated: no re-simulation.

Sensitivity (per subject and input)
-----------------------------------
- ``npv_low_decile`` / ``npv_high_decile``: mean npv over the trials whose
  input value is in its lowest / highest 10% (trials ranked by the input,
  ties in trial order), and ``swing`` = high - low;
- ``npv_decile_1`` ... ``npv_decile_10``: mean npv in each tenth of the
  trials so ranked (:func:`decile_bounds`), the first and last being the
  lowest and highest deciles above: the spider chart's lines, which show
  where between its extremes an input moves the npv (a threshold, a
  plateau) where the tornado shows only how far;
- ``deciles_p_value``: the p-value of a one-way analysis of variance of npv
  across those tenths, the chance that means as far apart as these come
  from an input that moves nothing (an input of another initiative, say);
  the tornado and spider charts draw an input only below :data:`SIGNIFICANT`
  (:func:`beyond_chance`). Undefined (NaN)
  in runs of fewer than 20 trials; 1 where the npv is the same in every
  trial;
- ``spearman``: rank correlation of the input with npv;
- ``variance_share``: spearman^2 divided by its sum over the inputs (the
  "contribution to variance" of Crystal Ball; exact for a linear model in
  independent inputs, an approximation otherwise);
- ``npv_per_sd`` and ``regression_coefficient``: from a multiple linear
  regression of npv on every input at once (:func:`regression`), the change
  in npv for one standard deviation more of the input with the others held
  fixed (@RISK's "regression - mapped values"), and that change in
  standard deviations of npv (its "regression coefficients"). Where inputs
  are correlated, a rank correlation credits an input with what its partner
  does; the regression does not. ``regression_r2``, the same in every row
  of a subject, is the share of the npv's variance the linear model
  explains: near 1, the npv is close to linear in the inputs and the two
  coefficients say it all; far below, thresholds, risks and products
  matter, and the tenths (the spider) show how;
- ``input_mean`` and ``input_mean_worst_decile``: the input's mean over all
  trials and over the trials whose npv is in its lowest 10% (what the worst
  outcomes have in common, @RISK's "scenario analysis"; for a risk, how often
  it struck), and ``worst_decile_shift``: their difference in standard
  deviations of the input.

Value of information (Hubbard's Applied Information Economics)
-------------------------------------------------------------
The decision is "which subject, or none (npv 0)". Without more information
one picks the subject with the highest expected npv (or none).

- EVPI = E[max(0, max_s npv_s)] - max(0, max_s E[npv_s]), estimated as a
  paired mean over trials with its standard error.
- EVPPI of input X = E_X[max(0, max_s E[npv_s | X])] - max(0, max_s E[npv_s]),
  with E[npv_s | X] estimated by the mean within equal-count bins of X
  (Sadatsafavi et al. 2013, "one-pass" estimation; at most 50 bins of at
  least 2,000 trials each; an input taking no more distinct values than
  that, such as a risk, gets one bin per value). Noise in the bin means
  biases the estimate up; that bias is estimated with the trials in a
  shuffled order (where the true EVPPI is 0) and subtracted. It depends on
  the trials and the bins' sizes, not on the input, so one shuffle serves
  every input binned in equal counts (their EVPPIs then differ by exactly the
  difference of their binned values); an input binned by value gets a
  shuffle with bins of its own sizes. The standard error comes from 10
  independent batches of trials, each binned as the whole is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special

from roisim._parallel import dot, each

#: trials used for sensitivity and value of information (the first ones: a random sample).
ANALYSIS_TRIALS = 200_000
#: batches for the standard error of EVPPI.
BATCHES = 10
#: columns of a tornado table (its index is the input) before ``variance_share``.
COLUMNS = ["input", "npv_low_decile", "npv_high_decile", "swing", "spearman", "input_mean",
           "input_mean_worst_decile", "worst_decile_shift"]
#: the groups of trials, ranked by an input, whose mean npv the spider chart draws.
DECILES = 10
#: columns of a tornado table after ``worst_decile_shift``: the mean npv of each group.
DECILE_COLUMNS = [f"npv_decile_{g + 1}" for g in range(DECILES)]
#: the tornado and spider charts draw an input whose tenths' means differ with a p-value
#: below this. A scenario of five subjects and 24 inputs makes 120 such tests: at 1e-3 one
#: run in nine drew an input that moves its subject by chance alone (the e-commerce carts'
#: tornado, a robot input at p = 0.0009), at 1e-5 one in a thousand. Real drivers in the
#: 200,000 trials analysed lie far below either (the bakery's weakest, 9e-24).
SIGNIFICANT = 1e-5


def decile_bounds(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each of the :data:`DECILES` groups of ``n`` ranked trials starts and ends (exclusive).

    The first and last hold k = max(1, n // 10) trials, the tornado's lowest
    and highest deciles; the eight between share the rest as evenly as whole
    trials allow (n = 25: 2, 2, 3, 2, 3, 3, 2, 3, 3, 2). With fewer than 10
    trials, group g is the one trial of rank g n // 10.
    """
    if n < DECILES:
        starts = (np.arange(DECILES) * n) // DECILES
        return starts, starts + 1
    k = n // DECILES
    inner = k + ((n - 2 * k) * np.arange(DECILES - 1)) // (DECILES - 2)  # k .. n - k
    edges = np.concatenate(([0], inner, [n]))
    return edges[:-1], edges[1:]


def beyond_chance(table: pd.DataFrame) -> pd.Series:
    """Which inputs of a tornado table move its subject's npv beyond chance.

    Those whose ``deciles_p_value`` is below :data:`SIGNIFICANT`, and every
    input where there is no p-value (a run of fewer than 20 trials).
    """
    return ~(table["deciles_p_value"] >= SIGNIFICANT)


def ranked_order(values: np.ndarray) -> np.ndarray:
    """Trials in order of ``values``, ties in trial order: a stable sort's order.

    numpy's quicksort of floats is several times faster than its stable sort
    (it is vectorised); where values tie, the tied trials are then put in
    trial order by sorting the unique keys (run of equal values, trial).
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="quicksort")
    tie = _ties(values[order])
    if not tie.any():
        return order
    n = values.size
    run = np.concatenate(([0], np.cumsum(~tie)))
    return np.sort(run * n + order) % n


def _ties(ranked: np.ndarray) -> np.ndarray:
    """Whether each sorted value equals the one before it (NaNs, sorted last, tie with one another)."""
    tie = ranked[1:] == ranked[:-1]
    if ranked.dtype.kind == "f":
        tie |= np.isnan(ranked[1:]) & np.isnan(ranked[:-1])
    return tie


def input_orders(inputs: pd.DataFrame, threads: int = 1) -> dict[str, np.ndarray]:
    """:func:`ranked_order` of every input: sensitivity and value of information share them."""
    names = list(inputs.columns)
    return dict(zip(names, each(lambda name: ranked_order(inputs[name].to_numpy()), names, threads),
                    strict=True))


def _centred_ranks(values: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, float]:
    """Mid-ranks of ``values`` (tied values share the mean of their ranks), centred; and their sum of squares.

    ``order`` is the values' :func:`ranked_order`. Mid-ranks make the rank
    correlation Spearman's as scipy, @RISK and Crystal Ball compute it: ranks
    that broke ties in trial order would add noise to an input with few
    distinct values (a risk that strikes in 4% of trials correlated a third
    as strongly as it does).
    """
    n = order.size
    tie = _ties(values[order])
    position = np.arange(n, dtype=np.float64)
    if tie.any():
        starts = np.flatnonzero(np.concatenate(([True], ~tie)))
        ends = np.append(starts[1:], n)  # exclusive
        position = np.repeat((starts + ends - 1) / 2.0, ends - starts)
    ranks = np.empty(n)
    ranks[order] = position - (n - 1) / 2.0
    return ranks, dot(ranks, ranks)


#: trials whose products one matrix product of the regression takes at a time
REGRESSION_CHUNK = 1 << 16


def regression(npv: Mapping[str, np.ndarray], inputs: pd.DataFrame
               ) -> dict[str, tuple[np.ndarray, float]]:
    """Each subject's npv regressed on every input at once: (npv per sd of each input, R²).

    Ordinary least squares with an intercept, on the inputs standardised
    (mean 0, sd 1), so that each coefficient is the change in npv for one
    standard deviation more of its input, the others held fixed. An input
    that is the same in every trial gets 0. Solved from the normal
    equations, whose sums of products are matrix products over
    :data:`REGRESSION_CHUNK` trials at a time, added in trial order: 0.04 s
    for the e-commerce example's 200,000 trials of 24 inputs, where a dot
    product per pair of inputs by numpy's own loops took 0.075 s (and 0.8 s
    for 90 inputs). They run on BLAS between the thread pools of the other
    analyses, not inside them (:mod:`roisim._parallel`), and give the same
    bits with 1 to 8 BLAS threads. A minimum-norm solution where inputs are
    collinear. NaN where there are no more trials
    than inputs to fit, and R² NaN where the npv is the same in every trial.
    """
    n = len(inputs)
    names = list(inputs.columns)
    shift, scale, varying = [], [], []
    for k, name in enumerate(names):
        x = inputs[name].to_numpy()
        big = float(np.abs(x).max()) or 1.0  # a beta with a tiny shape draws values near 1e-308
        z = x / big
        mean = float(z.mean())
        sd = math.sqrt(float(np.square(z - mean).mean()))
        if sd > 0:  # standardised: (x / big - mean) / sd = x / (sd big) - mean / sd
            varying.append(k)
            shift.append(mean / sd)
            scale.append(sd * big)
    m, subjects = len(varying), list(npv)
    if n <= m + 1:  # no more trials than the intercept and inputs to fit
        return {subject: (np.full(len(names), np.nan), math.nan) for subject in subjects}
    means = np.array([float(npv[s].mean()) for s in subjects])
    gram, moments = np.zeros((m, m)), np.zeros((m, len(subjects)))
    totals = np.zeros(len(subjects))  # each npv's sum of squares about its mean
    values = inputs.to_numpy(np.float64)  # the frame's own array: its columns are copied a chunk at a time
    shift_, scale_ = np.array(shift), np.array(scale)
    for start in range(0, n, REGRESSION_CHUNK):
        rows = slice(start, start + REGRESSION_CHUNK)
        z = values[rows][:, varying] / scale_ - shift_
        y = np.column_stack([npv[s][rows] for s in subjects]) - means
        gram += z.T @ z
        moments += z.T @ y
        totals += np.square(y).sum(axis=0)
    out = {}
    for j, subject in enumerate(subjects):
        total = float(totals[j])
        coefficients = np.zeros(len(names))
        if m == 0 or total == 0.0:
            out[subject] = (coefficients, math.nan if total == 0.0 else 0.0)
            continue
        beta = np.linalg.lstsq(gram, moments[:, j], rcond=None)[0]
        explained = float(beta @ moments[:, j])  # beta' G beta, at the least-squares solution
        coefficients[varying] = beta
        out[subject] = (coefficients, min(max(explained / total, 0.0), 1.0))
    return out


def sensitivity_tables(npv: Mapping[str, np.ndarray], inputs: pd.DataFrame,
                       orders: Mapping[str, np.ndarray] | None = None, threads: int = 1
                       ) -> dict[str, pd.DataFrame]:
    """Tornado tables of every subject, inputs sorted by |swing| (largest first).

    Parameters
    ----------
    npv : mapping of subject to ndarray of float, shape (n_trials,)
        Each subject's npv per trial [currency].
    inputs : DataFrame, shape (n_trials, n_inputs)
        Each trial's input values (``SimulationResult.inputs``).
    orders : mapping of input to ndarray of int, optional
        Each input's :func:`ranked_order`, where already known.
    threads : int
        Inputs are taken on this many threads.

    Notes
    -----
    Deciles break ties in trial order, so an input with few distinct values
    (a risk that strikes or not) still splits into exact deciles; the worst
    decile of npv is split the same way. Spearman's correlation gives tied
    values their mean rank (:func:`_centred_ranks`): the dot product of
    centred mid-ranks over the root of their sums of squares.
    """
    n = len(inputs)
    k = max(1, n // 10)
    starts, ends = decile_bounds(n)
    orders = input_orders(inputs, threads) if orders is None else orders
    npv_orders = dict(zip(npv, each(ranked_order, list(npv.values()), threads), strict=True))
    npv_ranks = {s: _centred_ranks(npv[s], order) for s, order in npv_orders.items()}
    flat = {subject: values.min() == values.max() for subject, values in npv.items()}
    sizes = ends - starts
    means = {subject: float(values.mean()) for subject, values in npv.items()}
    squares = {subject: float(np.square(values - means[subject]).sum())
               for subject, values in npv.items()}

    def p_value(subject: str, deciles: list[float]) -> float:
        """One-way ANOVA of ``subject``'s npv across the tenths whose means are ``deciles``."""
        if n < 2 * DECILES:
            return math.nan  # tenths of one trial, or sharing trials: no spread within them
        if flat[subject]:
            return 1.0
        between = float(np.dot(sizes, np.square(np.array(deciles) - means[subject])))
        within = max(squares[subject] - between, 0.0)
        if within == 0.0:
            return 0.0
        f = (between / (DECILES - 1)) / (within / (n - DECILES))
        return float(special.fdtrc(DECILES - 1, n - DECILES, f))

    def input_rows(name: str) -> dict[str, dict[str, float | str]]:
        """Each subject's row for input ``name``."""
        x = inputs[name].to_numpy()
        order = orders[name]
        x_ranks, x_ss = _centred_ranks(x, order)
        constant = x.min() == x.max()
        mean = float(x.mean())
        # the shift in standard deviations, from the input scaled to at most 1 in size:
        # the sd of inputs as small as 1e-308 (a beta with a tiny shape) is 0 unscaled
        z = x / (1.0 if constant else np.abs(x).max())
        z_mean, z_sd = float(z.mean()), float(z.std())
        rows = {}
        for subject, values in npv.items():
            ranked = values[order]
            deciles = [float(ranked[a:b].mean()) for a, b in zip(starts, ends, strict=True)]
            low, high = deciles[0], deciles[-1]
            ranks, ss = npv_ranks[subject]
            rho = 0.0 if constant or flat[subject] else dot(x_ranks, ranks) / math.sqrt(x_ss * ss)
            worst = npv_orders[subject][:k]
            rows[subject] = {"input": name, "npv_low_decile": low, "npv_high_decile": high,
                             "swing": high - low, "spearman": rho, "input_mean": mean,
                             "input_mean_worst_decile": float(x[worst].mean()),
                             "worst_decile_shift": 0.0 if constant else
                             (float(z[worst].mean()) - z_mean) / z_sd,
                             **dict(zip(DECILE_COLUMNS, deciles, strict=True)),
                             "deciles_p_value": p_value(subject, deciles)}
        return rows

    by_input = each(input_rows, list(inputs.columns), threads)
    fits = regression(npv, inputs)
    tables = {}
    for subject in npv:
        table = pd.DataFrame([rows[subject] for rows in by_input],
                             columns=[*COLUMNS, *DECILE_COLUMNS, "deciles_p_value"])
        rho_squared = table["spearman"] ** 2
        total = float(rho_squared.sum())
        shares = rho_squared / total if total > 0 else 0.0
        at = table.columns.get_loc("spearman") + 1
        per_sd, r2 = fits[subject]
        sd = math.sqrt(squares[subject] / n) if n else 0.0
        table.insert(at, "variance_share", shares)
        # a flat npv moves by 0 sd (its per_sd are 0, or NaN where there was nothing to fit)
        table.insert(at + 1, "regression_coefficient", per_sd / sd if sd > 0 else 0.0 * per_sd)
        table.insert(at + 2, "npv_per_sd", per_sd)
        table.insert(at + 3, "regression_r2", r2)
        order = np.argsort(-table["swing"].abs().to_numpy(), kind="stable")
        tables[subject] = table.iloc[order].set_index("input")
    return tables


def sensitivity(npv: np.ndarray, inputs: pd.DataFrame) -> pd.DataFrame:
    """Tornado table of one subject (see :func:`sensitivity_tables`)."""
    return sensitivity_tables({"subject": npv}, inputs)["subject"]


def evpi(npv: Mapping[str, np.ndarray]) -> tuple[float, float, str | None]:
    """Expected value of perfect information, its standard error, and the default choice.

    The choice is None where doing nothing (npv 0) is best: a subject may be named "none".
    """
    names = list(npv)
    matrix = np.vstack([npv[s] for s in names])
    means = matrix.mean(axis=1)
    best = int(np.argmax(means))
    chosen = matrix[best] if means[best] > 0 else np.zeros(matrix.shape[1])
    gain = np.maximum(matrix.max(axis=0), 0.0) - chosen
    n = gain.size
    se = float(gain.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return float(gain.mean()), se, (names[best] if means[best] > 0 else None)


def _n_bins(n: int) -> int:
    """Bins of EVPPI for n trials: at most 50, of at least 2,000 trials each."""
    return int(min(50, max(2, n // 2000)))


def _bin_starts(n: int, bins: int, values: np.ndarray | None) -> np.ndarray:
    """Where each bin of n ranked trials starts.

    ``bins`` equal-count bins; or, given ``values`` (the trials' input values
    in rank order, of an input :func:`_by_value` bins by value), one bin per
    value.
    """
    if values is None:
        return np.linspace(0, n, bins + 1).astype(np.int64)[:-1]
    return np.concatenate(([0], np.flatnonzero(values[1:] != values[:-1]) + 1))


def _binned(rows: np.ndarray, order: np.ndarray, values: np.ndarray | None = None
            ) -> tuple[float, list[float]]:
    """E over bins of max(0, max_s mean npv in the bin), trials taken in ``order``.

    ``rows`` (n_trials, n_subjects) holds each trial's npvs in one row, so
    that gathering a trial reads one cache line. ``values`` gives the input
    value of each place in ``order`` (sorted), where an input with few values
    is binned by value (:func:`_bin_starts`). Returns the value for all the
    trials and for each batch of them, whose trials keep their order.
    """
    def best(part: np.ndarray, part_values: np.ndarray | None) -> float:
        starts = _bin_starts(part.shape[0], bins, part_values)
        sums = np.add.reduceat(part, starts, axis=0)  # (n_bins, n_subjects)
        return float(np.maximum(sums.max(axis=1), 0.0).sum()) / part.shape[0]

    n = rows.shape[0]
    bins = _n_bins(n)
    ranked = np.take(rows, order, axis=0)  # several times faster than rows[order]
    size = n // BATCHES
    if size <= 1:
        return best(ranked, values), []
    # the trials of each batch side by side, in order: a stable sort on the
    # batch number (a radix sort of small integers)
    batch_of = np.minimum(order // size, BATCHES).astype(np.int8)
    by_batch = np.argsort(batch_of, kind="stable")
    grouped = np.take(ranked, by_batch, axis=0)
    grouped_values = None if values is None else values[by_batch]
    # each batch is binned as finely as the whole: its bins then hold the same
    # quantile ranges of the input, so that it estimates what the whole does, from a
    # tenth of the trials (with the bins of its own size, a batch of a small run had
    # two bins, too coarse to see any decision change: its estimates, all 0, gave an
    # error of 0 next to an EVPPI that was not)
    return best(ranked, values), [
        best(grouped[b * size:(b + 1) * size],
             None if grouped_values is None else grouped_values[b * size:(b + 1) * size])
        for b in range(BATCHES)]


def _shuffled(rows: np.ndarray, seed: int, values: np.ndarray | None = None
              ) -> tuple[float, list[float]]:
    """What binning noise adds to EVPPI: :func:`_binned` of the trials in a shuffled order.

    For all the trials and for each batch (a random order of all the trials
    is a random order of each batch's). Equal-count bins depend on the number
    of trials alone, so one shuffle serves every input binned so; an input
    binned by value (``values``, sorted) gets bins of its own values' sizes.
    """
    return _binned(rows, np.random.default_rng(seed).permutation(rows.shape[0]), values)


def _evppi(rows: np.ndarray, order: np.ndarray, bias: tuple[float, list[float]],
           values: np.ndarray | None = None) -> tuple[float, float]:
    """:func:`evppi` of the input whose :func:`ranked_order` is ``order``, with ``rows`` = npv.T.

    ``values`` are the input's values in that order, where it is binned by value.
    """
    whole, batches = _binned(rows, order, values)
    corrected = [value - shift for value, shift in zip(batches, bias[1], strict=True)]
    se = float(np.std(corrected, ddof=1)) / math.sqrt(BATCHES) if corrected else math.nan
    return whole - bias[0], se


def _by_value(x: np.ndarray, order: np.ndarray) -> np.ndarray | None:
    """``x`` in ``order`` where it is binned by value, else None (equal-count bins).

    An input taking no more distinct values than there are bins (a risk, a
    choice) gets one bin per value: equal-count bins would mix a value's
    trials with its neighbours', so a risk that strikes in 4% of trials would
    share its bin with trials where it did not, and what knowing it is worth
    would be diluted, to nothing at 10 bins.
    """
    values = x[order]
    changes = np.count_nonzero(values[1:] != values[:-1]) if values.size else 0
    return values if changes < _n_bins(x.size) else None


def evppi(matrix: np.ndarray, x: np.ndarray, *, seed: int = 0,
          order: np.ndarray | None = None) -> tuple[float, float]:
    """EVPPI of one input (bias-corrected) and its standard error.

    ``matrix`` has shape (n_subjects, n_trials): npv of each action per trial.
    ``order`` is ``x``'s :func:`ranked_order`, computed here unless given; the
    binning bias comes from the trials shuffled with ``seed``.
    EVPPI = E_X[max(0, max_s E[npv_s | X])] - max(0, max_s E[npv_s]): the
    second term is the same for X and for the shuffled trials, so it cancels
    in the difference.
    """
    rows = np.ascontiguousarray(matrix.T)
    order = ranked_order(x) if order is None else order
    values = _by_value(np.asarray(x), order)
    return _evppi(rows, order, _shuffled(rows, seed, values), values)


def value_of_information(npv: Mapping[str, np.ndarray], inputs: pd.DataFrame,
                         orders: Mapping[str, np.ndarray] | None = None,
                         threads: int = 1) -> pd.DataFrame:
    """EVPPI of every input, sorted (what to measure next), with the EVPI alongside.

    Columns: evppi, evppi_se, evppi_share (of the EVPI), and the scalars
    evpi, evpi_se and default_choice (the same on every row). ``orders``
    holds each input's :func:`ranked_order` where already known; inputs are
    taken on ``threads`` threads.
    """
    total, total_se, choice = evpi(npv)
    orders = input_orders(inputs, threads) if orders is None else orders
    npv_rows = np.column_stack([npv[s] for s in npv])  # (n_trials, n_subjects)
    bias = _shuffled(npv_rows, 0)

    def row(name: str) -> dict[str, float | str]:
        values = _by_value(inputs[name].to_numpy(), orders[name])
        shift = bias if values is None else _shuffled(npv_rows, 0, values)
        value, se = _evppi(npv_rows, orders[name], shift, values)
        return {"input": name, "evppi": value, "evppi_se": se}

    rows = each(row, list(inputs.columns), threads)
    table = pd.DataFrame(rows, columns=["input", "evppi", "evppi_se"])
    # differences of equal sums leave rounding noise around 0: show it as 0
    table.loc[table["evppi"].abs() < 1e-9 * max(total, 1.0), "evppi"] = 0.0
    table = table.sort_values("evppi", ascending=False, kind="stable")
    table["evppi_share"] = table["evppi"] / total if total > 0 else 0.0
    table["evpi"], table["evpi_se"], table["default_choice"] = total, total_se, choice
    return table.set_index("input")
