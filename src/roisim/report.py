"""What a run says in words: the sentences ``roisim run`` prints, and ``report.html``.

The report is one page for the person deciding: the headline numbers, what
to measure next, what the worst trials have in common, the charts and the
tables, with a link to every file of the run. It is plain HTML with the
charts as the PNG files beside it, so it opens in any browser, offline, and
goes with its folder.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from roisim.distributions import Dist, Empirical
from roisim.metrics import Z, money_text, months, summary_decimals

if TYPE_CHECKING:
    from roisim.result import SimulationResult

#: an input is named among what the worst trials have in common from this shift
#: (in its standard deviations; @RISK's scenario analysis flags the same)
WORST_SHIFT = 0.5


def input_name(result: SimulationResult, label: str) -> str:
    """An input's label as a reader would say it.

    A risk's ``risk:<initiative>:<risk>`` becomes "<risk> (risk)", or
    "<risk> (risk, <initiative>)" where another initiative has a risk of that
    name; a distribution written in place, labelled by that place, is named
    by the line, risk or phase and the initiative or plan it belongs to:
    ``initiatives[1].adoption.ceiling`` -> "adoption ceiling (Reporting
    automation)". Named inputs keep their names.
    """
    risks = risk_names(result)
    risk = risks.get(label)
    if risk is not None:
        if list(risks.values()).count(risk) > 1:
            from roisim._checks import risk_label

            owner = next(ini.name for ini in result.scenario.initiatives
                         if risk_label(ini.name, risk) == label)
            return f"{risk} (risk, {owner})"
        return f"{risk} (risk)"
    found = re.fullmatch(r"(initiatives|plans)\[(\d+)\]\.(.+)", label)
    if not found:
        return label
    owner = (result.scenario.initiatives if found[1] == "initiatives"
             else result.scenario.plans)[int(found[2])]
    rest = found[3]
    part = re.fullmatch(r"(costs|benefits|risks|phases)\[(\d+)\]\.?(.*)", rest)
    if part:
        item = getattr(owner, part[1])[int(part[2])]
        rest = f"{getattr(item, 'name', None) or f'phase {int(part[2]) + 1}'} {part[3]}"
    rest = re.sub(r"\[\d+\]$", "", rest.strip()).replace(".", " ").replace("_", " ")
    return f"{rest} ({owner.name})"


def named(result: SimulationResult, table: pd.DataFrame) -> pd.DataFrame:
    """``table``, indexed by input labels, with its inputs named by :func:`input_name`."""
    return table.rename(index=lambda label: input_name(result, str(label)))


def risk_names(result: SimulationResult) -> dict[str, str]:
    """Each risk's input label (``risk:<initiative>:<risk>``) and the risk's name."""
    from roisim._checks import risk_label

    return {risk_label(ini.name, risk.name): risk.name
            for ini in result.scenario.initiatives for risk in ini.risks}


def _choice(subject: str | None) -> str:
    """The best choice now, as a sentence names it; None where doing nothing (npv 0) is best."""
    if subject is None:
        return "none of them (no expected npv is above 0, what doing nothing is worth)"
    return subject


def gate_notes(result: SimulationResult, gates: pd.DataFrame) -> list[str]:
    """A line for each gate that decides nothing: every trial that reached it failed, or passed.

    ``gates`` is ``result.gates()``. Such a gate is most likely a slip (a
    gate month before any cost, where ``roi_to_date`` is undefined and fails;
    a threshold no trial comes near). Each line names the gate's place in the
    file.
    """
    notes = []
    plans = [plan.name for plan in result.scenario.plans]
    for _, gate in gates.iterrows():
        reached = round(gate["p_judged"] * result.n_trials)
        if reached == 0 or 0.0 < gate["p_fail_if_judged"] < 1.0:
            continue
        place = f"plans[{plans.index(gate['plan'])}].phases[{gate['phase'] - 1}].gate"
        every = f"every one of the {reached:,} trials that reached it"
        if gate["p_fail_if_judged"] == 1.0:
            why = (" (roi_to_date fails where nothing has been spent before the gate's month)"
                   if gate["metric"] == "roi_to_date" else "")
            notes.append(f"{place}: failed in {every}, so that phase never starts{why}; "
                         "is the gate's month or threshold meant?")
        else:
            why = (" (adoption is the share-weighted average of every phase already running, "
                   "whatever its initiative)" if gate["metric"] == "adoption" else "")
            notes.append(f"{place}: passed in {every}, so it changes nothing{why}; is its "
                         "threshold meant?")
    return notes


def measure_next(result: SimulationResult) -> str:
    """One line naming the three inputs most worth measuring before deciding."""
    table = result.value_of_information()
    if table.empty:  # no input: every trial is the same
        means = result.summary()["npv_mean"]
        choice = _choice(str(means.idxmax()) if means.max() > 0 else None)
        return f"Best choice now: {choice}. Nothing is uncertain, so nothing is worth measuring."
    evpi, choice = float(table["evpi"].iloc[0]), table["default_choice"].iloc[0]
    choice = _choice(choice if isinstance(choice, str) else None)  # None or NaN: do nothing
    currency = result.scenario.scenario.currency
    decimals = summary_decimals(result.summary())  # as the table printed above it
    worth = table[table["evppi"] > 2 * table["evppi_se"]].head(3)
    if evpi <= 0 or worth.empty:
        return (f"Best choice now: {choice}. No single input is worth measuring first "
                f"(EVPI {money_text(evpi, decimals)} {currency}).")
    names = ", ".join(f"{input_name(result, name)}: {money_text(row['evppi'], decimals)}"
                      for name, row in worth.iterrows())
    return (f"Best choice now: {choice}. Perfect information is worth "
            f"{money_text(evpi, decimals)} {currency}; measure first: {names}.")


def worst_decile(result: SimulationResult) -> str | None:
    """One line: what the worst 10% of the best subject's trials have in common.

    The best subject is the one with the highest expected npv. Named are the
    (at most three) inputs whose mean over those trials lies
    :data:`WORST_SHIFT` standard deviations or more from their mean over all
    trials, the furthest first. None where the scenario has no input (every
    trial is the same).
    """
    summary = result.summary()
    subject = str(summary["npv_mean"].idxmax())
    table = result.sensitivity(subject)
    if table.empty:
        return None
    shift = table["worst_decile_shift"].abs()
    far = table.loc[shift[shift >= WORST_SHIFT].sort_values(ascending=False, kind="stable").index[:3]]
    if far.empty:
        return (f"The worst 10% of trials of {subject} have no input half a standard deviation "
                f"or more from its mean.")
    risks = risk_names(result)
    parts = []
    for name, row in far.iterrows():
        worst, mean = row["input_mean_worst_decile"], row["input_mean"]
        if name in risks:
            parts.append(f"{risks[name]} struck in {worst:.0%} (all trials: {mean:.0%})")
        else:
            parts.append(f"{input_name(result, name)} {figure(worst)} (all trials: {figure(mean)})")
    return f"In the worst 10% of trials of {subject}: {'; '.join(parts)}."


def figure(value: float) -> str:
    """``value`` to three significant digits, with thousands separators: 12,300, 0.625."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = 2 - math.floor(math.log10(abs(value)))
    return f"{round(value, digits):,.{max(digits, 0)}f}"


def describe_value(value: Any) -> str:
    """A value of the scenario file as its author wrote it.

    4,000; ``wms_fee``; "pert min 900, mode 1,100, max 1,500"; a product as
    "robots × amr_lease".
    """
    if isinstance(value, list):
        return " × ".join(describe_value(factor) for factor in value)
    if isinstance(value, str):
        return value
    if isinstance(value, Dist):
        return describe_dist(value)
    number = float(value)
    return f"{number:,.0f}" if number == round(number) else f"{number:,.6g}"


def describe_dist(dist: Dist) -> str:
    """A distribution by its kind and parameters, as the file states them.

    An empirical one also says how many values its column gave.
    """
    spec = dist.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    kind = spec.pop("dist")
    spec.pop("resample", None)
    for bound in ("at_least", "at_most"):  # truncation last, after the parameters it bounds
        if bound in spec:
            spec[bound] = spec.pop(bound)
    parts = [f"{key.replace('_', ' ')} "
             + (", ".join(describe_value(v) for v in value) if isinstance(value, list | tuple)
                else describe_value(value) if not isinstance(value, str) else value)
             for key, value in spec.items()]
    if isinstance(dist, Empirical):  # how many were read, blank cells skipped
        parts[-1] += f" ({len(dist.data):,} values)"
    return f"{kind} {', '.join(parts)}".strip()


def stated_inputs(result: SimulationResult) -> dict[str, Dist]:
    """Each input as the file states it, by its column in :meth:`~SimulationResult.inputs`.

    The named inputs and the distributions written in place, in the order
    of the inputs' columns (risks, which have no distribution, left out).
    """
    from roisim._checks import inline_dists

    stated = {**result.scenario.inputs, **inline_dists(result.scenario)}
    return {label: stated[label] for label in result.input_labels if label in stated}


def assumptions(result: SimulationResult) -> pd.DataFrame:
    """Each input as stated in the file, next to what the trials drew.

    The inputs of :func:`stated_inputs`, named as :func:`input_name` says
    them. Drawn: the mean, P5 and P95 over the trials analysed (the first
    200,000). For an input drawn each month, P5 and P95 are those of its
    monthly draws in the first :data:`~roisim.result.MONTHLY_TRIALS` trials
    (its per-trial figures are means of months, whose spread is narrower
    than a month's).
    """
    drawn = result.analysis_inputs()
    rows = []
    for label, dist in stated_inputs(result).items():
        values = drawn[label].to_numpy()
        monthly = dist.resample == "monthly"
        p5, p95 = np.percentile(result.monthly_sample()[label] if monthly else values, [5, 95])
        rows.append({"input": input_name(result, label), "stated": describe_dist(dist),
                     "drawn": "each month" if monthly else "once per trial",
                     "mean": float(values.mean()), "p5": float(p5), "p95": float(p95)})
    return pd.DataFrame(rows, columns=["input", "stated", "drawn", "mean", "p5", "p95"]
                        ).set_index("input")


#: bins of an input's histogram in the inputs chart
INPUT_BINS = 40
#: a positive input whose panel would span more than this times its smallest value is
#: drawn on a log scale: on an even one a lognormal from 1 to 1,000,000 is one bar
LOG_SPAN = 1000.0
#: probability each side that an input's panel leaves out: a continuous input's spans its
#: draws' 0.1 to 99.9 percentiles, a discrete one's the outcomes between those of its
#: stated distribution (bounds near them taken instead)
INPUT_TAIL = 0.001


class InputHistogram:
    """An input's draws against its stated distribution, bin by bin (the inputs chart).

    ``drawn`` counts the ``n`` draws in each bin, ``stated`` is the
    probability the file's distribution puts there. Where ``centres`` is
    set, each bin is one outcome of a discrete input (a bar at that value);
    otherwise the bins lie between ``edges``, evenly spaced or, where
    ``log``, evenly spaced in the logarithm (a positive input without an
    upper bound spanning more than :data:`LOG_SPAN` times its smallest
    value). ``monthly``: the draws are an input's monthly draws.
    """

    def __init__(self, dist: Dist, values: np.ndarray, monthly: bool = False) -> None:
        values = np.asarray(values, dtype=np.float64)
        self.n, self.monthly, self.log = values.size, monthly, False
        self.centres: np.ndarray | None = None
        bins = INPUT_BINS
        if dist.continuous:
            lo, hi, self.log = _input_span(dist, values)
        else:
            outcomes, probs = dist.outcomes()
            outcomes, which = np.unique(outcomes[probs > 0], return_inverse=True)
            probs = np.bincount(which, weights=probs[probs > 0])
            lo, hi = outcomes[0], outcomes[-1]
            if outcomes.size > INPUT_BINS:  # a count's far tails (a choice shows every value)
                cumulative = np.cumsum(probs)
                lo = outcomes[min(np.searchsorted(cumulative, INPUT_TAIL), outcomes.size - 1)]
                hi = outcomes[min(np.searchsorted(cumulative, 1.0 - INPUT_TAIL), outcomes.size - 1)]
                if not hi > lo:  # one outcome holds all but a sliver: show every one
                    lo, hi = outcomes[0], outcomes[-1]
                inside = (outcomes >= lo) & (outcomes <= hi)
                outcomes, probs = outcomes[inside], probs[inside]
            if outcomes.size <= INPUT_BINS and (
                    outcomes.size == 1 or np.diff(outcomes).min() >= (hi - lo) / INPUT_BINS):
                # one bin an outcome: counted by value, not by where edges between them fall;
                # outcomes closer than a bin's width (observations in an empirical column)
                # are binned instead, where a bar each would be a hairline
                self.centres = outcomes
                ordered = np.sort(values)
                self.drawn = (np.searchsorted(ordered, outcomes, side="right")
                              - np.searchsorted(ordered, outcomes, side="left"))
                self.stated = probs
                return
            if np.all(outcomes == np.round(outcomes)):  # counts: bins of whole numbers each
                width = max(1.0, math.ceil((hi - lo + 1.0) / INPUT_BINS))
                bins = math.ceil((hi - lo + 1.0) / width)
                lo, hi = lo - 0.5, lo - 0.5 + width * bins
        # bins of equal width (in the logarithm, where log), which numpy counts by
        # arithmetic, where edges of its own choosing would be found by sorting
        if self.log:  # draws below lo stay outside the bins, at most half of lo
            self.drawn, logs = np.histogram(np.log(np.maximum(values, 0.5 * lo)), bins=bins,
                                            range=(math.log(lo), math.log(hi)))
            self.edges = np.exp(logs)
        else:
            self.drawn, self.edges = np.histogram(values, bins=bins, range=(lo, hi))
        self.stated = dist.bin_probabilities(self.edges)


def _input_span(dist: Dist, values: np.ndarray) -> tuple[float, float, bool]:
    """The range a continuous input's panel spans, and whether on a log scale.

    The draws' 0.1 to 99.9 percentiles; a bound (a minimum, or a truncation)
    within 5% of that span is taken instead, so that a panel shows where the
    distribution ends. The span of a positive input without an upper bound
    that reaches beyond :data:`LOG_SPAN` times its start is measured in
    logarithms (a lognormal's minimum of 0 is then no bound near it).
    """
    lo, hi = (float(x) for x in np.quantile(values, [INPUT_TAIL, 1.0 - INPUT_TAIL]))
    low, high = dist.support()
    if not hi > lo:  # one draw, or draws all alike: room around them, within the bounds
        lo, hi = max(low, lo - 0.5 * max(abs(lo), 1.0)), min(high, hi + 0.5 * max(abs(hi), 1.0))
    log = high == math.inf and lo > 0 and hi > LOG_SPAN * lo  # a long right tail
    scale = np.log if log else (lambda x: x)
    span = scale(hi) - scale(lo)
    # on a log scale a bound of 0 is infinitely far, and a negative one is no number
    with np.errstate(divide="ignore", invalid="ignore"):
        if low > -math.inf and scale(low) > scale(lo) - 0.05 * span:
            lo = low
        if high < math.inf and scale(high) < scale(hi) + 0.05 * span:
            hi = high
    return lo, hi, log


def input_histograms(result: SimulationResult) -> dict[str, InputHistogram]:
    """Each input of :func:`stated_inputs` that varies, its draws against its distribution.

    Constants (``fixed``, a choice of one value) have nothing to show. The
    draws are those of the trials analysed (the first 200,000); an input
    drawn each month's are its monthly draws in the first
    :data:`~roisim.result.MONTHLY_TRIALS` trials.
    """
    drawn = result.analysis_inputs()
    histograms = {}
    for label, dist in stated_inputs(result).items():
        low, high = dist.support()
        if not low < high:
            continue
        monthly = dist.resample == "monthly"
        values = result.monthly_sample()[label] if monthly else drawn[label]
        histograms[label] = InputHistogram(dist, values.to_numpy(), monthly)
    return histograms


def risk_table(result: SimulationResult) -> pd.DataFrame:
    """Each risk: its probability as stated, how often it struck in the trials, its effects."""
    from roisim._checks import risk_label

    drawn = result.analysis_inputs()
    rows = []
    for ini in result.scenario.initiatives:
        for risk in ini.risks:
            effects = [f"{what} {describe_value(value)}" for what, value in (
                ("cost", risk.cost), ("delay months", risk.delay_months),
                ("benefit loss", risk.benefit_loss)) if value is not None]
            if risk.abandon:
                effects.append("abandons the initiative")
            rows.append({"initiative": ini.name, "risk": risk.name,
                         "probability": describe_value(risk.probability),
                         "p_struck": float(drawn[risk_label(ini.name, risk.name)].mean()),
                         "effects": "; ".join(effects)})
    return pd.DataFrame(rows, columns=["initiative", "risk", "probability", "p_struck", "effects"])


def correlation_table(result: SimulationResult) -> pd.DataFrame:
    """Each rank correlation as the file states it, as the run used it, and as the trials drew it.

    ``rank_used`` differs from ``rank_stated`` only where
    ``--repair-correlations`` moved it (a pair it created is stated as 0).
    ``rank_drawn`` is Spearman's rho over the trials analysed (the first
    200,000; ties take their average rank), with a 95% interval from
    Fisher's z with the variance (1 + rho²/2) / (n − 3) of Bonett & Wright
    (2000). Discrete inputs, whose ties cap rank correlation, draw less than
    they ask for.
    """
    drawn = result.analysis_inputs()
    used = {frozenset(c.inputs): (tuple(c.inputs), c.rank) for c in result.scenario.correlations}
    stated = {}
    for a, b, given, value in result.scenario.correlation_repairs:
        stated[frozenset((a, b))] = given
        used.setdefault(frozenset((a, b)), ((a, b), value))  # repaired to (about) 0: kept
    rows, n = [], len(drawn)
    for key, ((a, b), rank) in used.items():
        x, y = drawn[a].rank(), drawn[b].rank()
        rho = float(np.clip(x.corr(y), -1.0, 1.0)) if n > 1 else math.nan
        half = Z * math.sqrt((1 + rho * rho / 2) / (n - 3)) if n > 3 else math.nan
        with np.errstate(divide="ignore"):
            z = float(np.arctanh(rho))  # ±inf at ±1, where the interval closes on rho
        rows.append({"input_a": a, "input_b": b, "rank_stated": stated.get(key, rank), "rank_used": rank,
                     "rank_drawn": rho, "rank_drawn_lo95": math.tanh(z - half),
                     "rank_drawn_hi95": math.tanh(z + half)})
    return pd.DataFrame(rows, columns=["input_a", "input_b", "rank_stated", "rank_used",
                                       "rank_drawn", "rank_drawn_lo95", "rank_drawn_hi95"])


def tied_inputs(result: SimulationResult, correlations: pd.DataFrame) -> list[str]:
    """The discrete inputs of the correlations: their ties keep them short of a stated rank."""
    inputs = result.scenario.inputs
    named = dict.fromkeys([*correlations["input_a"], *correlations["input_b"]])
    return [name for name in named if not inputs[name].continuous]


def head_to_head(result: SimulationResult) -> pd.DataFrame:
    """P(the row's npv > the column's), trial by trial, for every pair of subjects."""
    pairs = result.compare()
    matrix = pairs.pivot(index="a", columns="b", values="p_a_beats_b")
    return matrix.reindex(index=result.subjects, columns=result.subjects)


#: the charts of every subject together, in the order the report shows them
OVERVIEW = (("npv_cdf.png", "Risk profiles: the distribution of NPV"),
            ("payback_curve.png", "When each pays back"),
            ("risk_return.png", "Return against the risk of the worst 5% of trials"),
            ("prioritisation.png", "Strategic impact and feasibility"),
            ("cash_fan.png", "Cumulative cash by month"))

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
.meta { color: #666; margin-top: 0; }
.warn { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.2rem 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1rem 0 2rem; }
figcaption { color: #555; font-size: 0.9rem; }
img { max-width: 100%; height: auto; }
"""


def warn_box(heading: str, items: list[str]) -> str:
    """A highlighted list of ``items`` under ``heading`` (HTML, escaped); "" where there is none."""
    if not items:
        return ""
    return (f'<div class="warn"><p>{html.escape(heading)}</p><ul>'
            + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul></div>")


def write_report(result: SimulationResult, folder: Path, files: list[str]) -> list[str]:
    """``report.html`` in ``folder``: the run on one page, showing the charts among ``files``."""
    from roisim.output import chart_file  # not from charts: a run without charts loads no matplotlib

    header = result.scenario.scenario
    e = html.escape
    present = set(files)

    def img(name: str, caption: str) -> str:
        if name not in present:
            return ""
        return (f'<figure><img src="{e(name)}" alt="{e(caption)}">'
                f"<figcaption>{e(caption)}</figcaption></figure>")

    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(border=0, na_rep="", escape=True)

    decimals = summary_decimals(result.summary())

    def numbers(frame: pd.DataFrame) -> str:
        """A table of numbers, written as the headline writes them (:func:`_readable`)."""
        return table(_readable(frame, decimals))

    source = Path(result.scenario.source).name if result.scenario.source else "(not from a file)"
    worst = worst_decile(result)
    body = [
        f"<h1>{e(result.scenario.name)}</h1>",
        f'<p class="meta">{e(source)}: {result.n_trials:,} trials, seed {result.seed}, '
        f"{e(result.sampling)} sampling; {months(header.horizon_months)}, discounted at "
        f"{header.discount_rate:.2%} a year; NPV in {e(header.currency)}</p>",
        warn_box("The scenario file loaded with warnings: check these before trusting the "
                 "numbers below.", result.scenario.warnings),
        "<h2>In short</h2>",
        "<ul>" + "".join(f"<li>{e(line)}</li>" for line in (measure_next(result), worst) if line)
        + "</ul>",
        "<h2>Outcomes</h2>",
        result._repr_html_(),
        *(img(name, caption) for name, caption in OVERVIEW),
        "<h2>Ranking</h2>",
        numbers(result.ranking()),
    ]
    if len(result.subjects) > 1:
        body += ["<h2>Head to head</h2>", "<p>How often the row's NPV beats the column's, "
                 "trial by trial: every subject meets the same trials.</p>",
                 table(head_to_head(result).map(
                     lambda p: "" if not math.isfinite(p) else f"{p:.0%}"))]
    body += ["<h2>Assumptions</h2>", "<p>Each input as the scenario file states it, and what "
             "the trials drew.</p>", numbers(assumptions(result)),
             img("inputs.png", "Each input as the trials drew it (bars) and as the file states "
                 "it (outline)")]
    correlations = correlation_table(result)
    if not correlations.empty:
        body += ["<h2>Correlations</h2>", "<p>Each rank correlation as the scenario file states "
                 "it, as the run used it, and as the trials drew it (Spearman's rho, with its "
                 "95% interval).</p>", numbers(correlations.set_index(["input_a", "input_b"]))]
        tied = tied_inputs(result, correlations)
        if tied:
            one = len(tied) == 1
            body.append(f"<p>{e(', '.join(tied))} {'is' if one else 'are'} discrete: many "
                        "trials draw the same value, and such ties cap the rank correlation "
                        f"{'it' if one else 'they'} can reach, so the trials draw less than "
                        "stated.</p>")
    risks = risk_table(result)
    if not risks.empty:
        body += ["<h2>Risks</h2>", numbers(risks.set_index(["initiative", "risk"]))]
    gates = result.gates()
    if not gates.empty:
        body += ["<h2>Gates</h2>", "<p>How often the plan reached each go/no-go gate and how often "
                 "it failed (of all trials, and of those that reached it), and what the gates "
                 "are worth: the plan's expected NPV against the same plan without gates, on the "
                 "same trials.</p>",
                 numbers(gates.set_index(["plan", "phase"]).drop(  # se: in gates.csv
                     columns=[c for c in gates.columns if c.endswith("_se")]).assign(
                     # the thresholds as the file states them: 0.1, -5,000
                     **{bound: [describe_value(v) if math.isfinite(v) else "" for v in gates[bound]]
                        for bound in ("at_least", "at_most")}))]
        body.append(warn_box("Gates that decide nothing:", gate_notes(result, gates)))
    each = [(subject, img(chart_file("roi_hist", result, subject), f"{subject}: ROI")
             + img(chart_file("tornado", result, subject), f"{subject}: what moves the NPV"))
            for subject in result.subjects]
    if "spider.png" in present:
        body += ["<h2>How the NPV follows each input</h2>",
                 "<p>The trials ranked by an input and cut into tenths: each line is the mean NPV "
                 "of each tenth, so that it shows where an input moves the NPV (steadily, past "
                 "a threshold, up to a plateau) as the tornados below show how far "
                 "(sensitivity.csv, columns npv_decile_1 to npv_decile_10).</p>",
                 img("spider.png", "Mean NPV in each tenth of the trials, ranked by each input")]
    if any(charts for _, charts in each):
        body.append("<h2>Each initiative and plan</h2>")
        body += [f"<h3>{e(subject)}</h3>{charts}" for subject, charts in each if charts]
    voi = result.value_of_information()
    if not voi.empty:
        worth = voi[voi["evppi"] > 0]
        body += ["<h2>What to measure next</h2>",
                 img("value_of_information.png", "Expected value of perfect information")]
        if not worth.empty:
            body.append(numbers(named(result, worth[["evppi", "evppi_se", "evppi_share"]].head(10))))
        if len(worth) < len(voi):
            others = len(voi) - len(worth)
            who = (f"None of the {len(voi)} inputs would" if worth.empty else
                   f"The other input (of {len(voi)}) would not" if others == 1 else
                   f"The other {others} inputs (of {len(voi)}) would not")
            body.append(f"<p>{who} change the best choice if known: "
                        f"{'its' if others == 1 else 'their'} EVPPI is 0 "
                        "(value_of_information.csv lists every input).</p>")
    body += [img("convergence.png", "How precise the estimates are"), "<h2>Files</h2>",
             "<ul>" + "".join(f'<li><a href="{e(name)}">{e(name)}</a></li>'
                              for name in sorted({*files, "manifest.json", "report.html"}))
             + "</ul>"]
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{e(result.scenario.name)}: roisim</title>\n<style>{STYLE}</style>\n"
            "</head>\n<body>\n" + "\n".join(part for part in body if part) + "\n</body>\n</html>\n")
    (folder / "report.html").write_text(page, encoding="utf-8")
    return ["report.html"]


#: columns in money, by a part of their names
MONEY = ("npv", "evppi", "value_of_gates")


def _readable(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Numbers as text to read; blank where there is none.

    Shares (``p_``, ``_share``) in per cent, money (:data:`MONEY`) with
    ``decimals`` decimals, as the headline shows it
    (:func:`roisim.metrics.summary_decimals`), or to three significant
    digits where those decimals would show an amount that is not 0 as 0;
    other numbers to three
    significant digits; a payback month that is infinite (no payback within
    the horizon) as "never", as in the outcomes table.
    """
    out = frame.astype(object).where(frame.notna(), "")
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_float_dtype(values):
            continue
        share, money = _is_share(column), _is_money(column)
        never = "never" if "payback_month" in column else ""
        # money that would round to 0 but is not (an EVPPI of 0.01 next to a
        # sentence saying the others' is 0) to three significant digits
        out[column] = [(never if v == math.inf else "" if not math.isfinite(v) else
                        f"{v:.1%}" if share else
                        figure(v) if money and v != 0 and round(v, decimals) == 0 else
                        money_text(v, decimals) if money else
                        f"{v:,.0f}" if v == round(v) else figure(v)) for v in values]
    return out


def _is_share(column: str) -> bool:
    return column.startswith("p_") or column.endswith("_share")


def _is_money(column: str) -> bool:
    return any(part in column for part in MONEY) and not _is_share(column)
