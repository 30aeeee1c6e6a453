"""What drives the risk, and what is worth measuring before deciding.

Both answers come from the trials already simulated: no re-simulation.

Sensitivity (per subject and input)
-----------------------------------
- ``npv_low_decile`` / ``npv_high_decile``: mean npv over the trials whose
  input value is in its lowest / highest 10% (trials ranked by the input,
  ties in trial order), and ``swing`` = high - low;
- ``spearman``: rank correlation of the input with npv;
- ``variance_share``: spearman^2 divided by its sum over the inputs (the
  "contribution to variance" of Crystal Ball; exact for a linear model in
  independent inputs, an approximation otherwise).

Value of information (Hubbard's Applied Information Economics)
-------------------------------------------------------------
The decision is "which subject, or none (npv 0)". Without more information
one picks the subject with the highest expected npv (or none).

- EVPI = E[max(0, max_s npv_s)] - max(0, max_s E[npv_s]), estimated as a
  paired mean over trials with its standard error.
- EVPPI of input X = E_X[max(0, max_s E[npv_s | X])] - max(0, max_s E[npv_s]),
  with E[npv_s | X] estimated by the mean within equal-count bins of X
  (Sadatsafavi et al. 2013, "one-pass" estimation; at most 50 bins of at
  least 2,000 trials each). Noise in the bin means
  biases the estimate up; that bias is estimated with X shuffled (where the
  true EVPPI is 0) and subtracted. The standard error comes from 10
  independent batches of trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

#: trials used for sensitivity and value of information (the first ones: a random sample).
ANALYSIS_TRIALS = 200_000
#: batches for the standard error of EVPPI.
BATCHES = 10


def _ranked_order(values: np.ndarray) -> np.ndarray:
    return np.argsort(values, kind="stable")


def _ranks(order: np.ndarray) -> np.ndarray:
    ranks = np.empty(order.size)
    ranks[order] = np.arange(order.size)
    return ranks


def sensitivity_tables(npv: Mapping[str, np.ndarray], inputs: pd.DataFrame
                       ) -> dict[str, pd.DataFrame]:
    """Tornado tables of every subject, inputs sorted by |swing| (largest first).

    Parameters
    ----------
    npv : mapping of subject to ndarray of float, shape (n_trials,)
        Each subject's npv per trial [currency].
    inputs : DataFrame, shape (n_trials, n_inputs)
        Each trial's input values (``SimulationResult.inputs``).

    Notes
    -----
    Ranks break ties in trial order, so an input with few distinct values (a
    risk that strikes or not) still splits into exact deciles.
    """
    n = len(inputs)
    k = max(1, n // 10)
    npv_ranks = {s: _ranks(_ranked_order(v)) for s, v in npv.items()}
    rows: dict[str, list[dict[str, float | str]]] = {s: [] for s in npv}
    for name in inputs.columns:
        x = inputs[name].to_numpy()
        order = _ranked_order(x)
        x_ranks = _ranks(order)
        constant = x.min() == x.max()
        for subject, values in npv.items():
            low, high = float(values[order[:k]].mean()), float(values[order[-k:]].mean())
            flat = constant or values.min() == values.max()
            rho = 0.0 if flat else float(np.corrcoef(x_ranks, npv_ranks[subject])[0, 1])
            rows[subject].append({"input": name, "npv_low_decile": low,
                                  "npv_high_decile": high, "swing": high - low,
                                  "spearman": rho})
    tables = {}
    for subject, subject_rows in rows.items():
        table = pd.DataFrame(subject_rows)
        squares = table["spearman"] ** 2
        total = float(squares.sum())
        table["variance_share"] = squares / total if total > 0 else 0.0
        order = np.argsort(-table["swing"].abs().to_numpy(), kind="stable")
        tables[subject] = table.iloc[order].set_index("input")
    return tables


def sensitivity(npv: np.ndarray, inputs: pd.DataFrame) -> pd.DataFrame:
    """Tornado table of one subject (see :func:`sensitivity_tables`)."""
    return sensitivity_tables({"subject": npv}, inputs)["subject"]


def evpi(npv: Mapping[str, np.ndarray]) -> tuple[float, float, str]:
    """Expected value of perfect information, its standard error, and the default choice."""
    names = list(npv)
    matrix = np.vstack([npv[s] for s in names])
    means = matrix.mean(axis=1)
    best = int(np.argmax(means))
    chosen = matrix[best] if means[best] > 0 else np.zeros(matrix.shape[1])
    gain = np.maximum(matrix.max(axis=0), 0.0) - chosen
    n = gain.size
    se = float(gain.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return float(gain.mean()), se, (names[best] if means[best] > 0 else "none")


def _evppi_binned(matrix: np.ndarray, order: np.ndarray, n_bins: int) -> float:
    """Binned one-pass EVPPI with trials taken in ``order`` (no bias correction)."""
    edges = np.linspace(0, order.size, n_bins + 1).astype(np.int64)
    sums = np.add.reduceat(matrix[:, order], edges[:-1], axis=1)  # (n_subjects, n_bins)
    best = np.maximum(sums.max(axis=0), 0.0)  # n_b * max(0, max_s mean) per bin
    baseline = max(0.0, float(matrix.mean(axis=1).max()))
    return float(best.sum()) / order.size - baseline


def evppi(matrix: np.ndarray, x: np.ndarray, *, seed: int = 0) -> tuple[float, float]:
    """EVPPI of one input (bias-corrected) and its standard error.

    ``matrix`` has shape (n_subjects, n_trials): npv of each action per trial.
    Binning a shuffled order of the trials estimates the bias of binning noise
    (the true EVPPI of a shuffled input is 0).
    """
    n = x.size
    rng = np.random.default_rng(seed)

    def corrected(m: np.ndarray, values: np.ndarray) -> float:
        bins = int(min(50, max(2, values.size // 2000)))
        return _evppi_binned(m, _ranked_order(values), bins) - \
            _evppi_binned(m, rng.permutation(values.size), bins)

    value = corrected(matrix, x)
    size = n // BATCHES
    batch = [corrected(matrix[:, b * size:(b + 1) * size], x[b * size:(b + 1) * size])
             for b in range(BATCHES)] if size > 1 else []
    se = float(np.std(batch, ddof=1)) / math.sqrt(BATCHES) if batch else math.nan
    return value, se


def value_of_information(npv: Mapping[str, np.ndarray], inputs: pd.DataFrame) -> pd.DataFrame:
    """EVPPI of every input, sorted (what to measure next), with the EVPI alongside.

    Columns: evppi, evppi_se, evppi_share (of the EVPI), and the scalars
    evpi, evpi_se and default_choice (the same on every row).
    """
    names = list(npv)
    matrix = np.vstack([npv[s] for s in names])
    total, total_se, choice = evpi(npv)
    rows = []
    for i, name in enumerate(inputs.columns):
        value, se = evppi(matrix, inputs[name].to_numpy(), seed=i)
        rows.append({"input": name, "evppi": value, "evppi_se": se})
    table = pd.DataFrame(rows)
    # differences of equal sums leave rounding noise around 0: show it as 0
    table.loc[table["evppi"].abs() < 1e-9 * max(total, 1.0), "evppi"] = 0.0
    table = table.sort_values("evppi", ascending=False, kind="stable")
    table["evppi_share"] = table["evppi"] / total if total > 0 else 0.0
    table["evpi"], table["evpi_se"], table["default_choice"] = total, total_se, choice
    return table.set_index("input")
