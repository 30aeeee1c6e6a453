"""Checks that need the whole scenario: names, value ranges, timing, plans.

Each value in a scenario plays a role (an amount, a time, a probability ...)
that bounds what it may be. A value's range is computed from the supports of
its factors, so a distribution that *could* produce an impossible number in
some trial is rejected up front, instead of being clipped in the kernel.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from roisim.distributions import Dist, did_you_mean, number
from roisim.scenario import Scenario, ScenarioError, ScenarioWarning

Role = Literal["amount", "time", "probability", "fraction", "ramp", "share", "growth"]

_ROLE_RANGE: dict[str, tuple[float, float, bool, str]] = {
    # role: (lowest, highest, lowest excluded, what to say)
    "time": (0.0, math.inf, False, "a number of months of 0 or more"),
    "probability": (0.0, 1.0, False, "a probability between 0 and 1"),
    "fraction": (0.0, 1.0, False, "a fraction between 0 and 1"),
    "ramp": (0.0, math.inf, True, "a number of months greater than 0"),
    "share": (0.0, 1.0, True, "a share greater than 0 and at most 1"),
    "growth": (-1.0, math.inf, True, "a yearly growth rate greater than -1"),
}


def value_sites(scenario: Scenario) -> Iterator[tuple[str, Any, Role]]:
    """Every value of the scenario with its location and role."""
    for i, ini in enumerate(scenario.initiatives):
        at = f"initiatives[{i}]"
        yield f"{at}.go_live_month", ini.go_live_month, "time"
        yield f"{at}.adoption.ceiling", ini.adoption.ceiling, "fraction"
        if ini.adoption.ramp_months is not None:
            yield f"{at}.adoption.ramp_months", ini.adoption.ramp_months, "ramp"
        for kind, lines in (("costs", ini.costs), ("benefits", ini.benefits)):
            for k, line in enumerate(lines):
                where = f"{at}.{kind}[{k}]"
                yield f"{where}.amount", line.amount, "amount"
                for key in ("month", "from_month", "until_month"):
                    if getattr(line, key) is not None:
                        yield f"{where}.{key}", getattr(line, key), "time"
                if getattr(line, "growth_per_year", None) is not None:
                    yield f"{where}.growth_per_year", line.growth_per_year, "growth"  # type: ignore[union-attr]
        for k, risk in enumerate(ini.risks):
            where = f"{at}.risks[{k}]"
            yield f"{where}.probability", risk.probability, "probability"
            if risk.cost is not None:
                yield f"{where}.cost", risk.cost, "amount"
            if risk.delay_months is not None:
                yield f"{where}.delay_months", risk.delay_months, "time"
            if risk.benefit_loss is not None:
                yield f"{where}.benefit_loss", risk.benefit_loss, "fraction"
    for p, plan in enumerate(scenario.plans):
        for k, phase in enumerate(plan.phases):
            where = f"plans[{p}].phases[{k}]"
            yield f"{where}.start_month", phase.start_month, "time"
            yield f"{where}.share", phase.share, "share"


def factors(value: Any) -> list[Any]:
    """The factors of a value (a product list, or the value alone)."""
    return list(value) if isinstance(value, list) else [value]


def risk_label(initiative: str, risk: str) -> str:
    """The label of a risk's input, 1 where it strikes: ``risk:<initiative>:<risk>``."""
    return f"risk:{initiative}:{risk}"


def inline_label(location: str, value: Any, n: int) -> str:
    """The label of a distribution written in place: its location in the file.

    With ``[n]`` for the n-th factor of a product (``initiatives[0].costs[1].amount[2]``).
    """
    return f"{location}[{n}]" if isinstance(value, list) else location


def inline_dists(scenario: Scenario) -> dict[str, Dist]:
    """Every distribution written in place in ``scenario``, by its :func:`inline_label`."""
    return {inline_label(location, value, n): factor
            for location, value, _ in value_sites(scenario)
            for n, factor in enumerate(factors(value)) if isinstance(factor, Dist)}


def value_range(value: Any, inputs: dict[str, Dist]) -> tuple[float, float]:
    """Smallest and largest value a (product) value can take in any trial."""
    lo, hi = 1.0, 1.0
    for factor in factors(value):
        if isinstance(factor, str):
            f_lo, f_hi = inputs[factor].support()
        elif isinstance(factor, Dist):
            f_lo, f_hi = factor.support()
        else:
            f_lo = f_hi = float(factor)
        corners = [_times(a, b) for a in (lo, hi) for b in (f_lo, f_hi)]
        lo, hi = min(corners), max(corners)
    return lo, hi


def _times(a: float, b: float) -> float:
    # 0 x inf is 0 here: a factor that is exactly 0 zeroes the product.
    return 0.0 if a == 0.0 or b == 0.0 else a * b


def _month(x: float) -> float:
    """The month in which something at time ``x`` falls (the kernel's ``month_of``).

    ±inf stays as it is: an unbounded time (a lognormal start month) has no
    latest month, and compares as later than every one.
    """
    return math.ceil(x - 1e-9) if math.isfinite(x) else x


def check_scenario(scenario: Scenario, source: Path, *, repair_correlations: bool = False
                   ) -> Scenario:
    """Run the whole-scenario checks; return the scenario or raise ScenarioError."""

    def error(location: str, message: str) -> ScenarioError:
        return ScenarioError(source, location, message)

    inputs = scenario.inputs
    horizon = scenario.scenario.horizon_months
    for name in inputs:
        if not name.strip():
            raise error("inputs", "input names must not be empty")

    for location, value, role in value_sites(scenario):
        for n, factor in enumerate(factors(value)):
            at = f"{location}[{n}]" if isinstance(value, list) else location
            if isinstance(factor, str):
                if factor not in inputs:
                    hint = did_you_mean(factor, inputs, value=True)
                    known = ", ".join(inputs) or "none are declared"
                    raise error(at, f"unknown input '{factor}'{hint} (inputs: {known})")
                if inputs[factor].resample == "monthly" and not (
                    role == "amount" and location.endswith(".amount")
                ):
                    raise error(at, f"input '{factor}' is resampled monthly; only cash-flow "
                                    "amounts may vary month to month, so use an input drawn "
                                    "once per trial here")
            elif isinstance(factor, Dist) and factor.resample != "trial":
                raise error(at, "resample is allowed only on named inputs in [inputs]; "
                                "declare this distribution there and refer to it by name")
        if role in _ROLE_RANGE:
            lowest, highest, open_low, wanted = _ROLE_RANGE[role]
            lo, hi = value_range(value, inputs)
            if lo < lowest or (open_low and lo <= lowest) or hi > highest:
                found = number(lo) if lo == hi else f"values from {number(lo)} to {number(hi)}"
                raise error(location, f"expected {wanted}, found {found}"
                            + ("" if lo == hi else " (bound it with at_least/at_most)"))

    _check_timing(scenario, horizon, error)
    _check_names(scenario, error)
    _check_labels(scenario, error)
    _check_plans(scenario, error)
    scenario = _check_correlations(scenario, error, repair_correlations)
    scenario._warnings = _warn_of_slips(scenario, source)
    return scenario


def _warn_of_slips(scenario: Scenario, source: Path) -> list[str]:
    """A :class:`ScenarioWarning` for each number its author most likely did not mean.

    - A yearly rate above 100%: the format takes rates as fractions (0.08,
      not 8), and 8 is a valid rate of 800% a year.
    - A cost or benefit that is never positive: amounts may be negative (a
      spread that dips below 0), but one never above 0 is a sign slip, such
      as a cost written as -6,000, which adds income instead.
    - An input no value names: drawn, tabled and charted, but it changes
      nothing (one meant for a line that was never given it).

    All are valid, so the scenario runs as written; its author is told.
    Returns the warnings as "place: message", for the results to keep.
    """
    said: list[str] = []

    def warn(location: str, message: str) -> None:
        said.append(f"{location}: {message}")
        warnings.warn(ScenarioWarning(f"{source}: {location}: {message}"), stacklevel=5)

    used = {factor for _, value, _ in value_sites(scenario) for factor in factors(value)
            if isinstance(factor, str)}
    rate = scenario.scenario.discount_rate
    # in the order of the file: [scenario], [inputs], then the initiatives
    sites = [("scenario.discount_rate", (rate, rate), "rate")]
    sites += [(f"inputs.{name}", (0.0, 0.0), "unused") for name in scenario.inputs if name not in used]
    sites += [(location, value_range(value, scenario.inputs), role)
              for location, value, role in value_sites(scenario) if role in ("growth", "amount")]
    for location, (lo, hi), role in sites:
        if role == "unused":
            warn(location, "no value uses this input, so it changes nothing; name it where it "
                           "applies, or remove it")
            continue
        what = ("a discount rate" if location == "scenario.discount_rate" else "growth"
                if role == "growth" else "a benefit" if ".benefits[" in location else
                "a risk's cost" if ".risks[" in location else "a cost")
        if role != "amount" and lo > 1:
            stated = (f"{what} of {number(lo)} is {number(lo * 100)}% a year" if lo == hi else
                      f"{what} of {number(lo)} or more is at least {number(lo * 100)}% a year")
            meant = f": is {number(lo / 100)} meant?" if lo == hi else ""
            warn(location, f"{stated}; rates are fractions (0.08 for 8%){meant}")
        elif role == "amount" and lo < 0 and hi <= 0:
            turned = "a cost" if what == "a benefit" else "income"
            stated = (f"{what} of {number(lo)} is {turned}" if lo == hi else
                      f"{what} negative in every trial is {turned}" if hi < 0 else
                      f"{what} that is never positive is {turned} wherever it is not 0")
            meant = f" (is {number(-lo)} meant?)" if lo == hi else ""
            warn(location, f"{stated}; amounts are written as positive numbers{meant}")
    return said


def _horizon(horizon: int) -> str:
    """The horizon as messages name it: 'the horizon (36 months: 0 to 35)'."""
    if horizon == 1:
        return "the horizon (1 month: month 0 only)"
    return f"the horizon ({horizon} months: 0 to {horizon - 1})"


def _check_timing(scenario: Scenario, horizon: int, error: Any) -> None:
    inputs = scenario.inputs
    for i, ini in enumerate(scenario.initiatives):
        # go-live at its earliest (risks only delay it), relative to the start
        # like every month of a line; adoption is 0 in the months before it
        live_lo = value_range(ini.go_live_month, inputs)[0]
        # only a one-off benefit not scaled by adoption may fall before go-live
        early = any(b.month is not None and not b.scaled_by_adoption for b in ini.benefits)
        if ini.benefits and not early and _month(live_lo) >= horizon:
            raise error(f"initiatives[{i}].go_live_month",
                        f"go_live_month {number(live_lo)} is beyond {_horizon(horizon)}, so none of its "
                        f"benefits would ever count")
        for kind, lines in (("costs", ini.costs), ("benefits", ini.benefits)):
            for k, line in enumerate(lines):
                where = f"initiatives[{i}].{kind}[{k}]"
                _check_before_go_live(line, kind == "benefits", live_lo, horizon, inputs, where,
                                      error)
                for key in ("month", "from_month"):
                    if getattr(line, key) is None:
                        continue
                    lo, _ = value_range(getattr(line, key), inputs)
                    if _month(lo) >= horizon:
                        raise error(f"{where}.{key}",
                                    f"{key} {number(lo)} is beyond {_horizon(horizon)}, so this line would "
                                    f"never count")
                if line.until_month is not None:
                    _, until_hi = value_range(line.until_month, inputs)
                    start = 0.0 if line.from_month is None else value_range(line.from_month,
                                                                             inputs)[0]
                    if until_hi <= start:
                        raise error(f"{where}.until_month",
                                    f"until_month ({number(until_hi)}) must be after from_month "
                                    f"({number(start)})")


def _check_before_go_live(line: Any, benefit: bool, live_lo: float, horizon: int,
                          inputs: dict[str, Dist], where: str, error: Any) -> None:
    """Reject a line that go-live makes pay nothing in every trial.

    A one-off line scaled by adoption (every benefit unless it says
    ``scale_with_adoption = false``) that falls before go-live's month is
    multiplied by an adoption of 0, and so is a recurring cost scaled by
    adoption that ends before it; a recurring benefit that ends before
    go-live, or whose go-live is beyond the horizon, never starts, since
    benefits start at go-live at the earliest.
    """
    if benefit and line.month is None and _month(live_lo) >= horizon:
        raise error(where, f"this benefit starts at go-live (month {number(live_lo)} at the "
                           f"earliest), beyond {_horizon(horizon)}, so it would never count")
    scaled = line.scaled_by_adoption
    if line.month is not None and scaled:
        month_hi = value_range(line.month, inputs)[1]
        if _month(month_hi) < _month(live_lo):
            raise error(f"{where}.month",
                        f"this one-off line falls in month {_month(month_hi)} at the "
                        f"latest, before go-live (month {number(live_lo)} at the earliest), and is "
                        "scaled by adoption, which is 0 before go-live, so it would never count; "
                        "expected a month at or after go-live, or scale_with_adoption = false")
    if line.until_month is not None and (benefit or scaled):
        until_hi = value_range(line.until_month, inputs)[1]
        # a payment at time x < until falls in month ceil(x) <= ceil(until)
        if benefit and until_hi - 1e-9 <= live_lo:
            why = "benefits start at go-live"
        elif not benefit and _month(until_hi) < _month(live_lo):
            why = "its payments fall before go-live, where adoption, which scales them, is 0"
        else:
            return
        raise error(f"{where}.until_month",
                    f"until_month ({number(until_hi)}) is at or before go-live (month "
                    f"{number(live_lo)} at the earliest) and {why}, so this line would never "
                    "count; expected an until_month after go-live")


def _check_names(scenario: Scenario, error: Any) -> None:
    seen: dict[str, str] = {}
    for kind, items in (("initiatives", scenario.initiatives), ("plans", scenario.plans)):
        for i, item in enumerate(items):
            if item.name in seen:
                raise error(f"{kind}[{i}].name",
                            f"the name '{item.name}' is already used by {seen[item.name]}; "
                            "initiatives and plans need unique names")
            seen[item.name] = f"{kind}[{i}]"
        if kind == "initiatives":
            for i, ini in enumerate(scenario.initiatives):
                risk_names: set[str] = set()
                for k, risk in enumerate(ini.risks):
                    if risk.name in risk_names:
                        raise error(f"initiatives[{i}].risks[{k}].name",
                                    f"the risk name '{risk.name}' is used twice in this initiative")
                    risk_names.add(risk.name)


def _check_labels(scenario: Scenario, error: Any) -> None:
    """Every input, risk and distribution written in place has a label of its own.

    The results name each by its label (a column of ``result.inputs()``, a
    row of the sensitivity tables): an input named ``risk:Tool:Outage``, or
    two risks whose names join to the same label (risk ``B:C`` of ``A`` and
    risk ``C`` of ``A:B``), would share one.
    """
    owners: dict[str, str] = {label: f"the distribution written at {label}"
                              for label in inline_dists(scenario)}
    for i, ini in enumerate(scenario.initiatives):
        for k, risk in enumerate(ini.risks):
            label = risk_label(ini.name, risk.name)
            if label in owners:
                raise error(f"initiatives[{i}].risks[{k}].name",
                            f"this risk is labelled '{label}' in the results, as is "
                            f"{owners[label]}; rename one of them")
            owners[label] = f"the risk '{risk.name}' of '{ini.name}' (initiatives[{i}].risks[{k}])"
    for name in scenario.inputs:
        if name in owners:
            raise error(f"inputs.{name}", f"'{name}' is the label the results give to "
                                          f"{owners[name]}; choose another name for this input")


def _check_plans(scenario: Scenario, error: Any) -> None:
    names = [ini.name for ini in scenario.initiatives]
    horizon = scenario.scenario.horizon_months
    for p, plan in enumerate(scenario.plans):
        total: dict[str, float] = {}
        for k, phase in enumerate(plan.phases):
            where = f"plans[{p}].phases[{k}]"
            if phase.initiative not in names:
                hint = did_you_mean(phase.initiative, names)
                raise error(f"{where}.initiative",
                            f"unknown initiative '{phase.initiative}'{hint} "
                            f"(initiatives: {', '.join(names)})")
            start_lo = value_range(phase.start_month, scenario.inputs)[0]
            if _month(start_lo) >= horizon:
                raise error(f"{where}.start_month",
                            f"start_month {number(start_lo)} is beyond {_horizon(horizon)}, so this phase "
                            f"would never start")
            _, share_hi = value_range(phase.share, scenario.inputs)
            total[phase.initiative] = total.get(phase.initiative, 0.0) + share_hi
            if total[phase.initiative] > 1.0 + 1e-9:
                raise error(f"{where}.share",
                            f"the shares of '{phase.initiative}' in this plan add up to "
                            f"{number(total[phase.initiative])}; they may add up to at most 1")
        _check_gates_have_months(plan.phases, scenario.inputs, f"plans[{p}]", error)


def _check_gates_have_months(phases: list[Any], inputs: dict[str, Dist], where: str,
                             error: Any) -> None:
    """Reject a gate on a phase before which no other phase of its plan can start.

    A gate judges the plan's months before its phase's start month, and only
    phases that started in an earlier month have cash or adoption there: with
    none, every metric is the same in every trial (no cash, an undefined ROI,
    no adoption), so the gate would pass always or fail always.
    """
    starts = [value_range(phase.start_month, inputs) for phase in phases]
    for k, phase in enumerate(phases):
        if phase.gate is None:
            continue
        latest = _month(starts[k][1])
        if all(_month(lo) >= latest for j, (lo, _) in enumerate(starts) if j != k):
            raise error(f"{where}.phases[{k}].gate",
                        f"no other phase of this plan starts in a month before this one's "
                        f"(month {latest} at the latest), so this gate would have no months to "
                        "judge; expected a gate only on a phase that starts after another")


def _check_correlations(scenario: Scenario, error: Any, repair: bool) -> Scenario:
    """Check [[correlations]]; with ``repair``, replace an invalid matrix by the nearest valid one.

    The matrix must be positive definite both as given (rank correlations) and
    after conversion to normal scores, which the sampler factorises.
    """
    import numpy as np

    from roisim import correlation as corr

    if not scenario.correlations:
        return scenario
    inputs = scenario.inputs
    names: list[str] = []
    seen: dict[frozenset[str], int] = {}
    for c, entry in enumerate(scenario.correlations):
        where = f"correlations[{c}]"
        for n, name in enumerate(entry.inputs):
            if name not in inputs:
                hint = did_you_mean(name, inputs)
                raise error(f"{where}.inputs[{n}]", f"unknown input '{name}'{hint}")
            if inputs[name].resample == "monthly":
                raise error(f"{where}.inputs[{n}]",
                            f"input '{name}' is resampled monthly; correlations apply only to "
                            "inputs drawn once per trial")
            if inputs[name].dist == "fixed":
                raise error(f"{where}.inputs[{n}]",
                            f"input '{name}' is fixed: a constant cannot be correlated")
            lo, hi = value_range(name, inputs)
            if lo == hi:  # an empirical column or a choice of one value: a constant too
                raise error(f"{where}.inputs[{n}]",
                            f"input '{name}' takes the one value {number(lo)}: a constant cannot "
                            "be correlated")
            if name not in names:
                names.append(name)
        a, b = entry.inputs
        if a == b:
            raise error(f"{where}.inputs", f"an input cannot be correlated with itself ('{a}')")
        pair = frozenset(entry.inputs)
        if pair in seen:
            raise error(where, f"the pair {a}~{b} is already given in correlations[{seen[pair]}]")
        seen[pair] = c
        if abs(entry.rank) >= 1.0:
            raise error(f"{where}.rank", "a rank correlation of +-1 makes the two inputs one: "
                                         "use a single input instead, or a rank strictly "
                                         "between -1 and 1")
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for entry in scenario.correlations:
        i, j = index[entry.inputs[0]], index[entry.inputs[1]]
        matrix[i, j] = matrix[j, i] = entry.rank
    # only the groups of linked inputs that contradict themselves are repaired:
    # correlations among other inputs stay as given
    nearest, broken = matrix.copy(), []
    for group in corr.groups(matrix):
        block = np.ix_(group, group)
        if not corr.usable(matrix[block]):
            nearest[block] = corr.nearest_usable(matrix[block])
            broken.append(group)
    if not broken:
        return scenario
    if not repair:
        group = broken[0]
        bad = corr.offending_inputs(matrix[np.ix_(group, group)], [names[i] for i in group])
        proposal = "; ".join(corr.format_matrix(nearest[np.ix_(g, g)], [names[i] for i in g])
                             for g in broken)
        raise error("correlations",
                    f"the rank correlations among {', '.join(bad)} contradict each other (they "
                    "do not form a valid correlation matrix). The nearest valid matrix is: "
                    f"{proposal}; run with --repair-correlations to use it")
    from roisim.scenario import Correlation

    repaired, changes = [], []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            value = float(nearest[i, j])
            if abs(value) > 1e-12:
                repaired.append(Correlation(inputs=[names[i], names[j]], rank=value))
            if abs(value - matrix[i, j]) > 1e-9:
                changes.append((names[i], names[j], float(matrix[i, j]), value))
    fixed = scenario.model_copy(update={"correlations": repaired})
    fixed._repairs = changes
    return fixed
