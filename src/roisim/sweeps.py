"""One scenario simulated at several values of one of its numbers, on the same trials.

@RISK's RiskSimtable and advanced sensitivity analysis, Crystal Ball's
decision table: "what if the licence cost 150, 200 or 250?", "at what
discount rate does the pilot stop paying?". :func:`sweep` sets one place in
the scenario (``scenario.discount_rate``, ``inputs.price_uplift.mean``,
``initiatives[Dynamic pricing].costs[Licence].amount``) to each value in
turn, validates each variant as a scenario file is validated, and simulates
each with the same seed: every variant draws the same random numbers, so
the differences between them are the value's doing alone, measured pair by
pair (``npv_change`` and its standard error, against the first value).
``roisim sweep`` does the same from the command line.

:func:`solve` searches a range of one number for the value at which a
statistic reaches a goal (the break-even price, the set-up cost at which
P(loss) reaches 10%), as @RISK's goal seek does; ``roisim solve``.
"""

from __future__ import annotations

import copy
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from roisim._toml import toml_value
from roisim.distributions import did_you_mean, printable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from roisim.convergence import Target
    from roisim.scenario import Scenario

#: one step of a place in a scenario: ``.key``, ``[3]`` or ``[name]``
_STEP = re.compile(r"\.?([^.\[\]]+)|\[([^\[\]]*)\]")


@dataclass(frozen=True, eq=False)
class Sweep:
    """A scenario's outcomes at each value of one of its numbers.

    Attributes
    ----------
    scenario : Scenario
        The scenario as loaded, before any value was set.
    path : str
        The place set, as given (``inputs.price_uplift.mean``).
    values : list
        The values, in the order given.
    summary : pandas.DataFrame
        Every subject's summary (the columns of
        :meth:`roisim.SimulationResult.summary`) at each value, indexed by
        (``value``, ``subject``), the value as TOML writes it; and
        ``npv_change``, ``npv_change_se``: the mean change of npv from the
        first value's, trial by trial, and its standard error.
    trials, seed : int
        Each variant's trials and seed (the same for every variant).
    sampling : str
        The sampling design.
    wall_time : float
        Seconds taken by all the simulations.
    """

    scenario: Scenario
    path: str
    values: list[Any]
    summary: pd.DataFrame
    trials: int
    seed: int
    sampling: str
    wall_time: float

    @property
    def labels(self) -> list[str]:
        """Each value as TOML writes it: the ``value`` level of :attr:`summary`."""
        return [toml_value(v) for v in self.values]

    @property
    def numeric(self) -> bool:
        """Whether every value is a number (drawn on a number line, not as categories)."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)

    def table(self, column: str = "npv_mean") -> pd.DataFrame:
        """One statistic of the summary with values as rows and subjects as columns."""
        frame = self.summary[column].unstack("subject")
        return frame.reindex(index=self.labels, columns=self.scenario.subjects)

    def best(self) -> pd.DataFrame:
        """At each value, the subject of highest expected npv, with that npv and its P(loss)."""
        rows = []
        for label in self.labels:
            at = self.summary.xs(label, level="value")
            name = str(at["npv_mean"].idxmax())
            rows.append({"value": label, "best": name, "npv_mean": at.loc[name, "npv_mean"],
                         "p_loss": at.loc[name, "p_loss"]})
        return pd.DataFrame(rows).set_index("value")

    def __repr__(self) -> str:
        return (f"Sweep of {self.path} over {len(self.values)} values ({self.trials:,} trials each), "
                f"expected npv:\n{self.table().to_string()}")

    def _repr_html_(self) -> str:
        return str(self.table().to_html())

    def plot(self) -> Figure:
        """Expected npv (with its 95% interval) and P(loss) of every subject at each value."""
        from roisim.charts import sweep as draw

        return draw(self)

    def save(self, out: str | Path = "results", *, charts: bool = True,
             manifest: dict[str, Any] | None = None) -> Path:
        """Write ``sweep.csv``, ``sweep.png`` and ``manifest.json`` into ``out/<folder>``.

        The folder is :func:`folder_name`; it is written aside and moved into
        place whole, as a run's results are.
        """
        from roisim.output import write_sweep

        return write_sweep(self, Path(out), charts=charts, manifest=manifest or {})


def folder_name(scenario: Scenario, path: str) -> str:
    """``<scenario file name>_sweep_<place>``, as a file name (:func:`roisim.output.slug`)."""
    from roisim.output import folder_name as scenario_folder
    from roisim.output import slug

    base = scenario_folder(scenario.source) if scenario.source else slug(scenario.name)
    return slug(f"{base}_sweep_{path}")


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """``PATH=V1,V2,...`` as (path, values); each value is TOML (a number, a table, ...).

    Raises ValueError saying what was expected.
    """
    import tomllib

    path, equals, listed = text.partition("=")
    example = "such as scenario.discount_rate=0.05,0.08,0.12"
    if not equals or not path.strip() or not listed.strip():
        raise ValueError(f"expected PLACE=VALUE,VALUE,..., {example}; got '{printable(text)}'")
    try:
        values = tomllib.loads(f"v = [{listed}]")["v"]
    except tomllib.TOMLDecodeError:
        raise ValueError(f"expected values as a scenario file writes them, separated by commas "
                         f"({example}, or inputs.fee={{ dist = \"pert\", min = 1, mode = 2, max = 4 }},"
                         f"{{ ... }}); got '{printable(listed)}'") from None
    if len(values) < 2:
        raise ValueError(f"expected at least two values to compare, {example}; got '{printable(listed)}'")
    _each_once(values)
    return path.strip(), values


def _each_once(values: list[Any]) -> list[str]:
    """The values' labels (as TOML writes them); ValueError naming a value given twice."""
    labels = [toml_value(v) for v in values]
    if len(set(labels)) < len(labels):
        twice = next(label for label in labels if labels.count(label) > 1)
        raise ValueError(f"{twice} is given twice; expected each value once")
    return labels


def set_value(document: dict[str, Any], path: str, value: Any) -> None:
    """Set the place ``path`` in a scenario ``document`` (as a TOML parser returns it) to ``value``.

    Steps are ``.key`` in a table, ``[k]`` (from 0) or ``[name]`` in a list
    of named tables (``.name`` there too). Raises ValueError naming the
    step that leads nowhere, and what was there.
    """
    steps = _steps(path)
    here: Any = document
    done = ""
    for k, step in enumerate(steps):
        last = k == len(steps) - 1
        if isinstance(here, dict):
            if step not in here and not (last and done):
                raise ValueError(f"{done or 'the scenario'} has no '{printable(step)}'"
                                 f"{did_you_mean(step, [str(key) for key in here])} (it has: "
                                 f"{', '.join(str(key) for key in here) or 'nothing'})")
            where = f"{done}.{step}" if done else step
            if last:
                here[step] = value
                return
            here, done = here[step], where
        elif isinstance(here, list):
            index = _list_index(here, step, done)
            if last:
                here[index] = value
                return
            here, done = here[index], f"{done}[{index}]"
        else:
            raise ValueError(f"{done} is {toml_value(here)}, not a table or list: nothing in it to "
                             f"set at '{printable(step)}'")


def _steps(path: str) -> list[str]:
    """The steps of a place: ``initiatives[CRM].costs[0].amount`` -> initiatives, CRM, costs, 0, amount."""
    steps = [(m.group(1) if m.group(1) is not None else m.group(2)).strip()
             for m in _STEP.finditer(path)]
    if not steps or "".join(m.group(0) for m in _STEP.finditer(path)) != path:
        raise ValueError(f"'{printable(path)}' is not a place in a scenario; expected one such as "
                         "scenario.discount_rate, inputs.setup_cost.p95 or "
                         "initiatives[Catering CRM].costs[Subscription].amount")
    return steps


def _list_index(items: list[Any], step: str, where: str) -> int:
    """The index that ``step`` (a number, or a name) selects in ``items``."""
    if re.fullmatch(r"\d+", step):
        if int(step) < len(items):
            return int(step)
        raise ValueError(f"{where} has {len(items)} entr{'y' if len(items) == 1 else 'ies'} "
                         f"(from 0); found [{step}]")
    names = [item.get("name") for item in items if isinstance(item, dict)]
    if step in names:
        return names.index(step)
    named = [str(n) for n in names if n is not None]
    listed = f"names: {', '.join(named)}" if named else "its entries have no names: give [0], [1], ..."
    raise ValueError(f"{where} has no entry named '{printable(step)}'{did_you_mean(step, named)} ({listed})")


def variants(scenario: Scenario, path: str, values: Sequence[Any]) -> list[Scenario]:
    """``scenario`` with ``path`` set to each of ``values``, each validated as a file would be.

    Raises ValueError naming the value, where the place leads nowhere or a
    variant is not a valid scenario (:class:`roisim.ScenarioError`'s
    message), or where a value changes which subjects are simulated. What a
    variant warns of that the scenario itself does not is warned of once,
    naming the values that bring it (:class:`roisim.ScenarioWarning`).
    """
    from roisim.scenario import ScenarioError, ScenarioWarning, parse

    steps = _steps(path)
    if steps[:1] == ["scenario"] and steps[1:] in (["trials"], ["seed"], ["sampling"]):
        option = steps[1]
        raise ValueError(f"{path} says how every value is simulated, the same for each; a sweep "
                         f"runs each value on the same trials (to choose the {option}: "
                         f"--{option}, or {option}= in Python)")
    base = scenario.document()
    made, brought = [], {}
    for value in values:
        document = copy.deepcopy(base)
        set_value(document, path, value)
        try:
            with warnings.catch_warnings():  # the file's own warnings were said when it loaded
                warnings.simplefilter("ignore", ScenarioWarning)
                variant = parse(document, source=scenario.source or None)
        except ScenarioError as exc:  # said of the file the sweep is of: no need to name it again
            where = f"{exc.location}: " if exc.location else ""
            raise ValueError(f"{path} = {toml_value(value)}: {where}{exc.message}") from None
        if variant.subjects != scenario.subjects:
            raise ValueError(f"{path} = {toml_value(value)} changes which initiatives and plans "
                             "are simulated; a sweep compares the same ones at each value")
        for said in variant.warnings:
            if said not in scenario.warnings:
                brought.setdefault(said, []).append(toml_value(value))
        made.append(variant)
    source = scenario.source or scenario.name
    for said, by in brought.items():
        which = f"{path} set to any of the values" if len(by) == len(values) else f"{path} = {', '.join(by)}"
        warnings.warn(ScenarioWarning(f"{source}: {which}: {said}"), stacklevel=2)
    return made


def sweep(scenario: Scenario, path: str, values: Sequence[Any], *, trials: int | None = None,
          seed: int | None = None, threads: int | None = None, sampling: str | None = None,
          progress: Callable[[int, int], None] | None = None) -> Sweep:
    """Simulate ``scenario`` with ``path`` set to each of ``values``, every variant on the same trials.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario.
    path : str
        The place to set: ``scenario.discount_rate``, ``inputs.<name>.<parameter>``,
        ``initiatives[<name>].costs[<name>].amount``, ``plans[<name>].phases[1].start_month``;
        a list entry by its name or its index from 0.
    values : sequence
        At least two values, each as a scenario file would write it there (a
        number, or a dict for a distribution table).
    trials, seed, threads, sampling
        As :func:`roisim.simulate`; the same for every variant.
    progress : callable, optional
        Called with (trials done, trials in all) across the variants.

    Returns
    -------
    Sweep

    Raises
    ------
    ValueError
        Where a value leaves the scenario invalid (before anything is
        simulated), or fewer than two values are given.
    """
    from roisim.engine import simulate

    # numpy's numbers as the Python ones they hold: a number line, a manifest's JSON
    values = [v.tolist() if hasattr(v, "tolist") and not isinstance(v, str) else v for v in values]
    if len(values) < 2:
        raise ValueError("expected at least two values to compare")
    labels = _each_once(values)
    made = variants(scenario, path, values)
    began = time.perf_counter()
    frames, first_npv = [], {}
    n = trials or scenario.scenario.trials
    for k, variant in enumerate(made):
        done = k * n

        def step(now: int, total: int, done: int = done) -> None:
            if progress is not None:
                progress(done + now, n * len(made))

        result = simulate(variant, trials=trials, seed=seed, threads=threads, sampling=sampling,
                          progress=step)
        summary = result.summary()
        change, change_se = [], []
        for subject in result.subjects:
            npv = result.npv(subject)
            if k == 0:
                first_npv[subject] = np.array(npv, copy=True)
            diff = npv - first_npv[subject]
            change.append(float(diff.mean()))
            change_se.append(float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else np.nan)
        summary.insert(summary.columns.get_loc("npv_mean_se") + 1, "npv_change", change)
        summary.insert(summary.columns.get_loc("npv_change") + 1, "npv_change_se", change_se)
        frames.append(summary)
        trials_run, seed_run, design = result.n_trials, result.seed, result.sampling
        del result
    table = pd.concat(frames, keys=labels, names=["value", "subject"])
    return Sweep(scenario, path, values, table, trials_run, seed_run, design,
                 time.perf_counter() - began)


#: points of the first pass over the range, which brackets each subject's crossing
SOLVE_GRID = 5
#: most simulations a subject's refinement takes after that pass
SOLVE_STEPS = 20


def parse_range(text: str) -> tuple[str, float, float]:
    """``PLACE=LOW..HIGH`` as (place, low, high); ValueError saying what was expected."""
    place, equals, span = text.partition("=")
    low, dots, high = span.partition("..")
    example = "such as 'initiatives[CRM].costs[Subscription].amount=100..600'"
    try:
        lo, hi = float(low.replace("_", "")), float(high.replace("_", ""))
    except ValueError:
        lo = hi = float("nan")
    if not equals or not dots or not place.strip() or not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"expected PLACE=LOW..HIGH, {example}; got '{printable(text)}'")
    if not lo < hi:
        raise ValueError(f"expected LOW below HIGH, {example}; got '{printable(span)}'")
    return place.strip(), lo, hi


def parse_goal(text: str) -> tuple[Target, float]:
    """``STATISTIC=VALUE`` (``mean npv=0``, ``P(npv<0)=0.1``) as (statistic, value)."""
    from roisim.convergence import FORMS, parse_target

    statistic, equals, value = text.rpartition("=")
    if not equals or not statistic.strip():
        raise ValueError(f"expected STATISTIC=VALUE such as 'mean npv=0' or 'P(npv<0)=0.1', the "
                         f"statistic one of {FORMS}; got '{printable(text)}'")
    target = parse_target(statistic)
    try:
        goal = float(value.replace("_", ""))
    except ValueError:
        goal = float("nan")
    if not np.isfinite(goal):
        raise ValueError(f"expected a number after '=', got '{printable(value.strip())}'")
    if target.kind in ("p_loss", "p_payback") and not 0 < goal < 1:
        raise ValueError(f"{target.label} is a probability: expected a goal between 0 and 1 "
                         f"(0.1 for 10%), got {value.strip()}")
    return target, goal


def solve(scenario: Scenario, path: str, low: float, high: float, goal: str = "mean npv=0", *,
          subjects: Sequence[str] | None = None, trials: int | None = None, seed: int | None = None,
          threads: int | None = None, sampling: str | None = None,
          progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The value of ``path`` between ``low`` and ``high`` at which a statistic reaches a goal.

    @RISK's goal seek, and the break-even question of every ROI: the
    subscription at which the expected npv is 0 (``goal="mean npv=0"``),
    the set-up cost at which P(loss) reaches 10% (``"P(npv<0)=0.1"``).
    Each value is simulated on the same trials, so the statistic moves
    with the value alone. :data:`SOLVE_GRID` values evenly across the range
    bracket each subject's first crossing; regula falsi (the Illinois
    variant) then narrows it to within a twentieth of the answer's own
    Monte Carlo precision.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``value`` (NaN where the statistic does not
        reach the goal in the range), ``value_half_width`` (the 95%
        half-width of the statistic where it crosses, divided by its slope
        there: how far the answer may be off by chance; 0 where the
        statistic steps past the goal, as it does with whole months, and no
        value reaches it: the note says so), ``statistic`` and
        ``statistic_half_width`` at that value, ``at_low`` and ``at_high``
        (the statistic at the ends of the range), ``evaluations`` and a
        ``note``.
    """
    from roisim.convergence import estimate
    from roisim.engine import simulate
    from roisim.scenario import ScenarioWarning

    target, aim = parse_goal(goal)
    chosen = list(subjects) if subjects else scenario.subjects
    for name in chosen:
        if name not in scenario.subjects:
            raise ValueError(f"no initiative or plan named '{printable(name)}'"
                             f"{did_you_mean(name, scenario.subjects)} (they are: "
                             f"{', '.join(scenario.subjects)})")
    grid = list(np.linspace(low, high, SOLVE_GRID))
    whole = False  # a place the format takes in whole numbers only (horizon_months)
    # the place, and the range's ends and grid, checked first; and a value between whole numbers,
    # which such a place refuses
    between = math.floor(low + 0.37 * (high - low)) + 0.5
    try:
        variants(scenario, path, grid + ([between] if low < between < high else []))
    except ValueError as exc:
        if "expected a whole number" not in str(exc):
            raise
        whole = True
        grid = sorted({int(v) for v in np.round(np.linspace(math.ceil(low), math.floor(high), SOLVE_GRID))})
        if len(grid) < 2:
            raise ValueError(f"{path} takes whole numbers: expected a range holding two of them or "
                             f"more, got {low:g}..{high:g}") from None
        variants(scenario, path, grid)
    seen: dict[float, dict[str, tuple[float, float]]] = {}
    n = trials or scenario.scenario.trials
    budget = SOLVE_GRID + SOLVE_STEPS * len(chosen)

    def at(value: float) -> dict[str, tuple[float, float]]:
        """Each chosen subject's (statistic, 95% half-width) with ``path`` at ``value`` (simulated once)."""
        if value not in seen:
            with warnings.catch_warnings():  # said once, for the grid
                warnings.simplefilter("ignore", ScenarioWarning)
                variant = variants(scenario, path, [value])[0]
            done = len(seen) * n

            def step(now: int, total: int) -> None:
                if progress is not None:
                    progress(done + now, budget * n)

            result = simulate(variant, trials=trials, seed=seed, threads=threads, sampling=sampling,
                              progress=step)
            seen[value] = {s: estimate(target, result.npv(s), result.outcomes.payback[result.index(s)])
                           for s in chosen}
        return seen[value]

    rows = []
    for subject in chosen:
        def gap(value: float, subject: str = subject) -> float:
            return at(value)[subject][0] - aim

        def slope(a: float, b: float) -> float:
            """How fast the statistic moves with the value, from ``a`` to ``b`` (a secant)."""
            return abs((gap(b) - gap(a)) / (b - a)) if b != a else 0.0

        gaps = [gap(v) for v in grid]
        crossings = [k for k in range(len(grid) - 1) if gaps[k] * gaps[k + 1] <= 0]
        row: dict[str, Any] = {"subject": subject, "at_low": gaps[0] + aim, "at_high": gaps[-1] + aim}
        if not crossings:
            side = "above" if gaps[0] > 0 else "below"
            row.update(value=np.nan, value_half_width=np.nan, statistic=np.nan,
                       statistic_half_width=np.nan, evaluations=len(grid),
                       note=f"{target.label} stays {side} {aim:g} from {low:g} to {high:g}")
            rows.append(row)
            continue
        k = crossings[0]
        notes = [] if len(crossings) == 1 else [
            f"the first of {len(crossings)} crossings the range's {len(grid)} points show"]
        if whole:  # halve the bracket of whole numbers to neighbours: the first one at or past the goal
            a, b, steps = grid[k], grid[k + 1], 0
            while b - a > 1 and gap(a) != 0 and gap(b) != 0:
                middle, steps = (a + b) // 2, steps + 1
                a, b = (middle, b) if np.sign(gap(middle)) == np.sign(gap(a)) else (a, middle)
            value = a if gap(a) == 0 else b
            stat, half = at(value)[subject]
            if gap(value) != 0:
                notes.insert(0, f"{path} takes whole numbers: {target.label} steps past {aim:g} from "
                                f"{a} to {b}, from {gap(a) + aim:.4g} to {gap(b) + aim:.4g}")
            sure = _step_precision(at(a)[subject], at(b)[subject], aim, notes)
            row.update(value=value, value_half_width=sure, statistic=stat, statistic_half_width=half,
                       evaluations=len(grid) + steps, note="; ".join(notes))
            rows.append(row)
            continue
        first = slope(grid[k], grid[k + 1])  # across the grid's bracket: steady, if rough

        def precise(a: float, b: float, x: float, subject: str = subject, first: float = first) -> bool:
            """The bracket is a twentieth of the answer's own precision, or at the doubles' end."""
            return abs(b - a) <= max(1e-12 * (high - low), at(x)[subject][1] / first / 20 if first else 0.0)

        value, a, b, steps = _illinois(gap, grid[k], grid[k + 1], gaps[k], gaps[k + 1], precise,
                                       SOLVE_STEPS)
        stat, half = at(value)[subject]
        rounding = 1e-9 * (abs(aim) + abs(gaps[k]) + abs(gaps[k + 1]))  # a certain statistic's
        stepped = abs(stat - aim) > max(half, rounding) and np.sign(gap(a)) != np.sign(gap(b))
        if stepped:  # no value reaches the goal: the statistic steps past it (a month counts whole)
            value = (a + b) / 2  # the step lies in the last bracket: its middle
            stat, half = at(value)[subject]
            low_side, high_side = sorted((gap(a) + aim, gap(b) + aim))
            notes.insert(0, f"{target.label} steps past {aim:g} here, from {low_side:.4g} to "
                            f"{high_side:.4g}: no value reaches it")
        # the slope where it matters: across the values evaluated nearest the answer on either
        # side and about its own precision apart (a bracket a few doubles wide gives a slope of
        # rounding alone; one of a count's steps, a slope of 0 or of one step)
        span = half / first if first else 0.0
        below = [v for v in seen if v < value - span / 2] or [grid[k]]
        above = [v for v in seen if v > value + span / 2] or [grid[k + 1]]
        rate = slope(max(below), min(above))
        # where the statistic steps, the step's place is the answer, as sure as the steps are
        precision = (_step_precision(at(a)[subject], at(b)[subject], aim, notes) if stepped else
                     half / rate if rate else np.inf)
        row.update(value=value, value_half_width=precision, statistic=stat,
                   statistic_half_width=half, evaluations=len(grid) + steps, note="; ".join(notes))
        rows.append(row)
    return pd.DataFrame(rows).set_index("subject")


def _step_precision(before: tuple[float, float], after: tuple[float, float], aim: float,
                    notes: list[str]) -> float:
    """The ± of a step's place: 0 where the statistic lies beyond chance of the goal on both sides.

    ``before`` and ``after`` are the (statistic, 95% half-width) either side
    of the step. Where either side is within its half-width of the goal,
    the step found may not be the one where the goal is passed: NaN, and a
    note saying more trials would tell.
    """
    if all(abs(stat - aim) > half for stat, half in (before, after)):
        return 0.0
    notes.append("the goal is within chance of the statistic beside the step: more trials would tell "
                 "which step passes it")
    return math.nan


def _illinois(f: Callable[[float], float], a: float, b: float, fa: float, fb: float,
              precise: Callable[[float, float, float], bool], steps: int
              ) -> tuple[float, float, float, int]:
    """A root of ``f`` between ``a`` and ``b`` (``fa``, ``fb`` of opposite signs or 0) by regula falsi.

    The Illinois variant: where the same end is kept twice, its value is
    halved, so that the bracket shrinks from both sides. Stops where ``f``
    is 0, where ``precise(a, b, x)`` or after ``steps`` evaluations.
    Returns (the root, the last bracket's ends, the evaluations made).
    """
    if fa == 0 or fb == 0:
        return (a if fa == 0 else b), a, b, 0
    x, taken = b, 0
    while taken < steps:
        x = b - fb * (b - a) / (fb - fa)
        fx = f(x)
        taken += 1
        if fx == 0:
            break
        if fx * fb < 0:  # the root lies between b and x: b becomes the kept end
            a, fa = b, fb
        else:  # a kept again: halve its value
            fa /= 2
        b, fb = x, fx
        if precise(a, b, x):
            break
    return x, a, b, taken
