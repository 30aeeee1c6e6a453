"""What a simulation returns: per-trial outcomes and the views analysts use."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from roisim import _kernels
from roisim._parallel import kernel_threads
from roisim._random import seed_key
from roisim.metrics import roi_of
from roisim.model import Model, compile_model
from roisim.sampling import DESIGN_BLOCK, design
from roisim.scenario import Scenario, is_whole, whole, whole_at_least

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from roisim.report import InputHistogram

#: trials whose monthly cumulative cash is kept for the fan chart.
BAND_TRIALS = 4096
#: trials whose monthly draws show the spread of the inputs drawn each month
#: (:meth:`SimulationResult.monthly_sample`): 200 trials of 36 months are 7,200 draws.
MONTHLY_TRIALS = 200
#: bytes of outcomes per trial and simulated subject (:meth:`Outcomes.empty`).
OUTCOME_BYTES = 28


def available_memory(proc: Path = Path("/proc"), cgroup: Path = Path("/sys/fs/cgroup")
                     ) -> int | None:
    """Bytes that new allocations can take without swapping; None where unknown (not Linux).

    Linux's MemAvailable, or less where the process's control group, or one
    above it (a container's), has a memory limit: the limit less what the
    group uses, not counting its inactive file cache, which is reclaimed first.
    """
    available = None
    for line in _read(proc / "meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
    for line in _read(proc / "self" / "cgroup").splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if not path:
            continue
        if controllers == "":  # cgroup v2
            root, names = cgroup, ("memory.max", "memory.current", "memory.stat", "inactive_file")
        elif "memory" in controllers.split(","):  # cgroup v1
            root, names = cgroup / "memory", ("memory.limit_in_bytes", "memory.usage_in_bytes",
                                              "memory.stat", "total_inactive_file")
        else:
            continue
        group = root / path.lstrip("/")
        for folder in (group, *group.parents):
            room = _cgroup_room(folder, *names)
            if room is not None:
                available = room if available is None else min(available, room)
            if folder == root:
                break
    return None if available is None else max(0, available)


def _cgroup_room(folder: Path, limit: str, usage: str, stat: str, cache: str) -> int | None:
    """A control group's memory limit less its use (inactive file cache excluded); None if no limit."""
    fields = [_read(folder / name).strip() for name in (limit, usage)]
    if not all(field.isdigit() for field in fields):
        return None  # no such group, or no limit ("max")
    inactive = 0
    for line in _read(folder / stat).splitlines():
        key, _, value = line.partition(" ")
        if key == cache and value.strip().isdigit():
            inactive = int(value)
    return int(fields[0]) - max(0, int(fields[1]) - inactive)


def _read(path: Path) -> str:
    """A small system file's text; empty where it cannot be read."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return ""


def memory_shortfall(trials: int, per_trial: float, base: float = 0.0
                     ) -> tuple[float, float, int] | None:
    """Whether ``base + per_trial * trials`` bytes fit in the memory available now.

    None where they fit, or where the available memory is unknown (not
    Linux); else (bytes needed, bytes available, the most trials that fit).
    """
    available = available_memory()
    need = base + per_trial * trials
    if available is None or need <= available:
        return None
    fit = max(0, int((available - base) // per_trial))
    unit = 10 ** max(0, len(str(fit)) - 2)  # two significant figures, rounded down
    return need, available, fit // unit * unit


def gigabytes(nbytes: float) -> str:
    """``nbytes`` in GB for a message: one decimal up to 100 GB, whole GB above."""
    gb = nbytes / 1e9
    return f"{gb:,.1f} GB" if gb < 100 else f"{gb:,.0f} GB"


@dataclass(frozen=True)
class Outcomes:
    """Per-trial outcomes of every subject, shape (n_subjects, n_trials) each.

    Payback months are -1 where the cumulative cash never stays >= 0 within
    the horizon; ``irr`` is NaN where no rate in [-99 %, +10,000 %] a year
    gives zero present value. ``started`` and ``failed`` hold bit k for
    phase k of a subject (its k-th phase as listed).
    """

    pv_costs: np.ndarray
    pv_benefits: np.ndarray
    payback: np.ndarray
    dpayback: np.ndarray
    irr: np.ndarray
    started: np.ndarray
    failed: np.ndarray
    band_paths: np.ndarray

    def head(self, n: int) -> Outcomes:
        """The first ``n`` trials (copies, so the unused rest is freed)."""
        return Outcomes(*(a[:, :n].copy() for a in (
            self.pv_costs, self.pv_benefits, self.payback, self.dpayback, self.irr,
            self.started, self.failed)), self.band_paths[:, : min(n, self.band_paths.shape[1])])

    @classmethod
    def empty(cls, n_subjects: int, n_trials: int, horizon: int, *, until: bool = False
              ) -> Outcomes:
        """Allocate outputs for a run (memory: 28 bytes per subject and trial).

        Raises MemoryError at once where they would not fit in the memory
        available: Linux lends memory it does not have, so the run would
        otherwise be killed partway, after minutes. ``until``: the run may
        stop early, and ``n_trials`` is the most it may run.
        """
        bands = 4 * n_subjects * min(n_trials, BAND_TRIALS) * horizon
        short = memory_shortfall(n_trials, OUTCOME_BYTES * n_subjects, bands)
        if short is not None:
            need, available, fit = short
            instead = ("lower trials=, the most to run" if until
                       else "or stop once precise enough with until= and within=")
            raise MemoryError(
                f"{n_trials:,} trials need {gigabytes(need)} for the outcomes of "
                f"{n_subjects} simulated subjects ({OUTCOME_BYTES} bytes per trial and subject), "
                f"more than the {gigabytes(available)} of memory available: at most about "
                f"{fit:,} trials fit ({instead})")
        shape = (n_subjects, n_trials)
        return cls(
            np.empty(shape), np.empty(shape),
            np.empty(shape, np.int16), np.empty(shape, np.int16),
            np.empty(shape, np.float32),
            np.empty(shape, np.uint16), np.empty(shape, np.uint16),
            np.empty((n_subjects, min(n_trials, BAND_TRIALS), horizon), np.float32),
        )


@dataclass
class SimulationResult:
    """Outcomes of every trial of every subject (initiative or plan) of a scenario.

    Attributes
    ----------
    scenario : Scenario
        What was simulated.
    n_trials, seed, threads : int
        How it was simulated.
    wall_time : float
        Seconds spent simulating (compilation excluded when cached).
    """

    scenario: Scenario
    n_trials: int
    seed: int
    threads: int
    wall_time: float
    outcomes: Outcomes
    input_labels: list[str]
    ungated_rows: dict[str, int]
    sampling: str = "random"
    stop_reason: str = ""
    target: object = None
    model: Model | None = field(default=None, repr=False)
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (f"<SimulationResult {self.scenario.name!r}: {len(self.subjects)} subjects, "
                f"{self.n_trials:,} trials, seed {self.seed}, {self.sampling} sampling>")

    def _repr_html_(self) -> str:
        """How a notebook shows a result: its headline numbers (:func:`roisim.metrics.headline`)."""
        from roisim.metrics import PAYBACK_CAPTION, headline, months

        header = self.scenario.scenario
        caption = (f"{self.scenario.name} — {self.n_trials:,} trials, seed {self.seed}, "
                   f"{self.sampling} sampling. NPV in {header.currency} over "
                   f"{months(header.horizon_months)}; {PAYBACK_CAPTION}.")
        return f"<p>{html.escape(caption)}</p>\n{headline(self.summary()).to_html()}"

    def compiled(self) -> Model:
        """The model the run used (compiled again only for a result built by hand)."""
        if self.model is None:
            self.model = compile_model(self.scenario)
        return self.model

    @property
    def subjects(self) -> list[str]:
        """Names of the initiatives, then the plans."""
        return self.scenario.subjects

    def index(self, subject: str) -> int:
        """Row of ``subject`` in the outcome arrays."""
        try:
            return self.subjects.index(subject)
        except ValueError:
            from roisim.distributions import did_you_mean

            raise KeyError(f"no initiative or plan named {subject!r}"
                           f"{did_you_mean(str(subject), self.subjects)} "
                           f"(subjects: {', '.join(self.subjects)})") from None

    def identical_subjects(self) -> dict[str, str]:
        """Each subject, mapped to the first subject whose outcomes are its own, trial by trial.

        A plan identical to an earlier subject (an initiative's all-at-once
        plan) is evaluated once by the kernel, which copies every outcome;
        the statistics of such a subject are then computed once too. Every
        other subject maps to itself.
        """
        alias = self.compiled().sb_alias
        names = self.subjects
        return {name: names[alias[s]] if alias[s] >= 0 else name for s, name in enumerate(names)}

    def npv(self, subject: str) -> np.ndarray:
        """Net present value of every trial of ``subject`` [currency]."""
        s = self.index(subject)
        return self.outcomes.pv_benefits[s] - self.outcomes.pv_costs[s]

    def roi(self, subject: str) -> np.ndarray:
        """ROI = npv / pv_costs of every trial of ``subject``; NaN where pv_costs is 0."""
        s = self.index(subject)
        return roi_of(self.outcomes.pv_benefits[s], self.outcomes.pv_costs[s])

    def trials(self, subject: str | None = None) -> pd.DataFrame:
        """One row per trial of ``subject``; without one, of every subject, one after another.

        Columns: npv, roi, pv_costs, pv_benefits, payback_month,
        discounted_payback_month, irr (NaN where undefined: roi where pv_costs
        is 0, payback where never reached, irr where none exists), and for
        plans one boolean column per phase, ``phase_<k>_started``.

        Without ``subject``, the rows of every subject are indexed by
        (subject, trial), with the phases as trials.parquet has them: one
        column ``phases_started``, bit k set where phase k+1 started (bit 0
        alone for an initiative that started). ``frame.npv.unstack("subject")``
        is then npv by trial and subject, for paired comparisons, and
        ``frame.reset_index()`` has trials.parquet's columns.
        """
        if subject is None:
            return self._every_trial()
        s = self.index(subject)
        o = self.outcomes
        frame = pd.DataFrame({
            "npv": self.npv(subject),
            "roi": self.roi(subject),
            "pv_costs": o.pv_costs[s],
            "pv_benefits": o.pv_benefits[s],
            "payback_month": np.where(o.payback[s] >= 0, o.payback[s], np.nan),
            "discounted_payback_month": np.where(o.dpayback[s] >= 0, o.dpayback[s], np.nan),
            "irr": o.irr[s].astype(np.float64),
        })
        frame.index.name = "trial"
        for k in range(self.n_phases(subject) if self.is_plan(subject) else 0):
            frame[f"phase_{k + 1}_started"] = (o.started[s] >> k) & 1 == 1
        return frame

    def _every_trial(self) -> pd.DataFrame:
        """:meth:`trials` of every subject, stacked under a (subject, trial) index."""
        frame = pd.concat([self.trials(subject).iloc[:, :7].assign(
            phases_started=self.outcomes.started[s]) for s, subject in enumerate(self.subjects)],
            ignore_index=True)
        frame.index = pd.MultiIndex.from_arrays([
            pd.Categorical.from_codes(np.repeat(np.arange(len(self.subjects)), self.n_trials),
                                      categories=self.subjects),
            np.tile(np.arange(self.n_trials), len(self.subjects))], names=["subject", "trial"])
        return frame

    def is_plan(self, subject: str) -> bool:
        """True for plans, False for initiatives."""
        return self.index(subject) >= len(self.scenario.initiatives)

    def n_phases(self, subject: str) -> int:
        """Number of phases of a subject (1 for an initiative)."""
        s = self.index(subject)
        n_ini = len(self.scenario.initiatives)
        return 1 if s < n_ini else len(self.scenario.plans[s - n_ini].phases)

    def cash_flows(self, subject: str, trial: int) -> pd.DataFrame:
        """Monthly cash of one trial of ``subject``: costs, benefits, net, cumulative.

        Recomputed from (seed, trial) alone, identical to what the run used.
        """
        costs, bens, _ = self._trial(self.index(subject), trial)
        model = self.compiled()
        frame = pd.DataFrame({"costs": costs, "benefits": bens, "net": bens - costs})
        frame["cumulative"] = frame["net"].cumsum()
        frame["discount_factor"] = model.discount
        frame.index.name = "month"
        return frame

    def monthly_inputs(self, trial: int) -> pd.DataFrame:
        """The draws of every input resampled monthly in one trial: one column per input.

        Month t's draw is the one every line, phase and plan uses in month t
        (:meth:`cash_flows` of the same trial). Recomputed from (seed, trial).
        """
        _, _, monthly = self._trial(0, trial)
        rows = np.flatnonzero(self.compiled().in_monthly)
        frame = pd.DataFrame(monthly[rows].T, columns=[self.input_labels[i] for i in rows])
        frame.index.name = "month"
        return frame

    def monthly_sample(self) -> pd.DataFrame:
        """The monthly draws of the first :data:`MONTHLY_TRIALS` trials, one row per trial and month.

        What an input drawn each month draws from month to month: its spread,
        where its per-trial mean (:meth:`inputs`) has a narrower one.
        Computed once.
        """
        if "monthly" not in self._cache:
            trials = range(min(self.n_trials, MONTHLY_TRIALS))
            self._cache["monthly"] = pd.concat([self.monthly_inputs(trial) for trial in trials],
                                               ignore_index=True)
        return self._cache["monthly"]  # type: ignore[return-value]

    def _trial(self, s: int, trial: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Costs and benefits of subject ``s`` in one trial, and the monthly draws of its inputs."""
        number = whole(trial)  # a numba kernel takes it: no float with a fraction, no bool
        if not is_whole(number):
            raise TypeError(f"trial must be a whole number, got {trial!r}")
        trial = int(number)
        if not 0 <= trial < self.n_trials:
            raise IndexError(f"trial must be in 0..{self.n_trials - 1}, got {trial}")
        model = self.compiled()
        costs, bens = np.empty(model.horizon), np.empty(model.horizon)
        monthly = np.zeros((model.in_kind.size, model.horizon))
        from roisim.engine import block_trials

        size = block_trials(self.sampling)
        block, row = divmod(trial, size)
        _kernels.trial_cash(model, seed_key(self.seed), trial, self._design(block), row, s, costs,
                            bens, monthly)
        return costs, bens, monthly

    def _design(self, block: int) -> np.ndarray:
        """The sampling design of a block of trials, kept for the next look at the block.

        A Latin hypercube or Sobol block is made whole whatever rows are
        wanted (25 and 5 ms for the bakery's inputs), so trials looked at one
        after another, and :meth:`inputs` before them, reuse the last block made.
        """
        kept = self._cache.get("design")
        if kept is None or kept[0] != block:
            rows = DESIGN_BLOCK if self.sampling != "random" else 0
            kept = (block, design(self.sampling, self.seed, block, self.compiled().in_kind.size, rows))
            self._cache["design"] = kept
        return kept[1]

    def inputs(self, trials: int | None = None) -> pd.DataFrame:
        """Input values of the first ``trials`` trials (default, or more than run: all).

        One column per input: the named inputs, inline distributions (named by
        their place in the file, such as ``initiatives[0].go_live_month``) and
        one ``risk:<initiative>:<risk>`` column per risk, 1.0 where it struck.
        Inputs resampled monthly give their mean over the trial's months.
        Recomputed from (seed, trial): identical to what the run used.
        """
        n = self.n_trials if trials is None else min(whole_at_least(trials, 0, "trials"),
                                                     self.n_trials)
        model = self.compiled()
        out = np.empty((n, model.in_kind.size))
        from roisim.engine import block_trials

        size = block_trials(self.sampling)
        with kernel_threads(self.threads):
            for start in range(0, n, size):
                rows = min(size, n - start)
                chunks = max(1, min(rows, 8 * self.threads))
                _kernels.trial_inputs(model, seed_key(self.seed), start, rows, chunks,
                                      self._design(start // size), out[start:start + rows])
        frame = pd.DataFrame(out, columns=self.input_labels)
        frame.index.name = "trial"
        return frame

    def profiles(self) -> Profiles:
        """Npv and payback of every subject, for comparisons and charts (computed once)."""
        if "profiles" not in self._cache:
            self._cache["profiles"] = Profiles.from_result(self)
        return self._cache["profiles"]  # type: ignore[return-value]

    def compare(self) -> pd.DataFrame:
        """Every ordered pair of subjects compared trial by trial (see :func:`roisim.compare.pairwise`)."""
        return self.profiles().comparison()

    def ranking(self) -> pd.DataFrame:
        """Subjects ranked by expected npv, with risk and scores (see :func:`roisim.compare.ranking`)."""
        return self.profiles().ranking()

    def gates(self) -> pd.DataFrame:
        """For each gate of each plan: how often it was judged and failed, and the value of the gates.

        The value of a plan's gates is its expected npv minus that of the same
        plan with every gate removed, on the same trials.
        """
        from roisim.compare import GATE_COLUMNS, gate_table

        frames = []
        for p, plan in enumerate(self.scenario.plans):
            if plan.name not in self.ungated_rows:
                continue
            s = len(self.scenario.initiatives) + p
            twin = self.ungated_rows[plan.name]
            o = self.outcomes
            phases = [{"initiative": ph.initiative,
                       "metric": None if ph.gate is None else ph.gate.metric,
                       # NaN where a gate has no such bound: a float column in either case
                       "at_least": math.nan if ph.gate is None or ph.gate.at_least is None
                       else float(ph.gate.at_least),
                       "at_most": math.nan if ph.gate is None or ph.gate.at_most is None
                       else float(ph.gate.at_most),
                       "on_fail": None if ph.gate is None else ph.gate.on_fail}
                      for ph in plan.phases]
            frames.append(gate_table(plan.name, phases, o.started[s], o.failed[s], self.npv(plan.name),
                                     o.pv_benefits[twin] - o.pv_costs[twin]))
        if not frames:
            return pd.DataFrame(columns=GATE_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    def analysis_inputs(self) -> pd.DataFrame:
        """Input values of the trials used by sensitivity and value of information."""
        from roisim.sensitivity import ANALYSIS_TRIALS

        if "inputs" not in self._cache:
            self._cache["inputs"] = self.inputs(ANALYSIS_TRIALS)
        return self._cache["inputs"]  # type: ignore[return-value]

    def _input_orders(self) -> dict[str, np.ndarray]:
        """Each analysis input's trials in order of its value (sorted once for both analyses)."""
        from roisim.sensitivity import input_orders

        if "orders" not in self._cache:
            self._cache["orders"] = input_orders(self.analysis_inputs(), self.threads)
        return self._cache["orders"]  # type: ignore[return-value]

    def _analysis_npv(self) -> dict[str, np.ndarray]:
        """Each distinct subject's npv (:meth:`identical_subjects`) on the analysis trials."""
        n = len(self.analysis_inputs())
        same = self.identical_subjects()
        return {s: self.npv(s)[:n] for s in same if same[s] == s}

    def plot(self, chart: str, subject: str | None = None) -> Figure:
        """One of the charts ``roisim run`` writes, as a matplotlib Figure (a notebook shows it).

        ``chart`` is the name of its PNG file without the subject and
        extension: ``roi_hist`` and ``tornado`` (for one ``subject``),
        ``npv_cdf``, ``payback_curve``, ``cash_fan``, ``risk_return``,
        ``prioritisation``, ``spider``, ``value_of_information``, ``convergence`` and
        ``inputs``.
        Save it with ``.savefig(path)``.
        """
        from roisim.charts import figure

        return figure(self, chart, subject)

    def save(self, out: str | Path = "results", *, charts: bool = True) -> Path:
        """Write the files ``roisim run`` writes, into ``out/<scenario file name>/``.

        Returns that folder. As on the command line, the folder is written
        whole or not at all, replacing an earlier run's (see
        :func:`roisim.output.write_results`).
        """
        from roisim.output import write_results

        return write_results(self, out, charts=charts)

    def sensitivity(self, subject: str) -> pd.DataFrame:
        """Tornado table of ``subject``'s npv (see :mod:`roisim.sensitivity`).

        Uses the first min(n_trials, 200,000) trials.
        """
        self.index(subject)  # a KeyError naming the subjects, for a name not among them
        return self.sensitivity_tables()[subject]

    def sensitivity_tables(self) -> dict[str, pd.DataFrame]:
        """Tornado tables of every subject (computed together: each input is ranked once)."""
        from roisim.sensitivity import sensitivity_tables

        if "sensitivity" not in self._cache:
            same = self.identical_subjects()
            tables = sensitivity_tables(self._analysis_npv(), self.analysis_inputs(),
                                        self._input_orders(), self.threads)
            self._cache["sensitivity"] = {s: tables[s] if same[s] == s else tables[same[s]].copy()
                                          for s in same}
        return self._cache["sensitivity"]  # type: ignore[return-value]

    def value_of_information(self) -> pd.DataFrame:
        """What to measure next: each input's EVPPI next to the EVPI (see :mod:`roisim.sensitivity`).

        The decision is which subject to choose, or none; uses the first
        min(n_trials, 200,000) trials.
        """
        from roisim.sensitivity import value_of_information

        if "voi" not in self._cache:
            # a subject identical to an earlier one adds no choice: the best of
            # the choices, in every bin, is the same without it
            self._cache["voi"] = value_of_information(
                self._analysis_npv(), self.analysis_inputs(), self._input_orders(), self.threads)
        return self._cache["voi"].copy()  # type: ignore[attr-defined]

    def analyses(self) -> None:
        """Compute and keep the ranking, tornado tables, value of information and input histograms.

        Charts read them; all but the ranking run numba kernels, with threads,
        which a process must not start once it has forked to draw. So
        whatever forks chart drawers calls this first.
        """
        self.ranking()
        self.sensitivity_tables()
        self.value_of_information()
        self.input_histograms()

    def input_histograms(self) -> dict[str, InputHistogram]:
        """Each input that varies, its draws binned against its stated distribution (computed once).

        What the inputs chart draws (:func:`roisim.report.input_histograms`).
        """
        from roisim.report import input_histograms

        if "input_histograms" not in self._cache:
            self._cache["input_histograms"] = input_histograms(self)
        return self._cache["input_histograms"]  # type: ignore[return-value]

    def summary(self) -> pd.DataFrame:
        """Summary statistics, one row per subject (see :func:`roisim.metrics.summarize`)."""
        from roisim.metrics import summarize

        if "summary" not in self._cache:
            self._cache["summary"] = summarize(self)
        return self._cache["summary"].copy()  # type: ignore[attr-defined]

    def bands(self, subject: str, percentiles: tuple[float, ...] = (5, 25, 50, 75, 95)
              ) -> pd.DataFrame:
        """Percentiles of cumulative undiscounted net cash by month (rows: months).

        Taken from the first ``min(n_trials, 4096)`` trials, which are a random
        sample of all of them.
        """
        paths = self.outcomes.band_paths[self.index(subject)]
        values = np.percentile(paths, percentiles, axis=0)
        frame = pd.DataFrame(values.T, columns=[f"p{p:g}" for p in percentiles])
        frame.index.name = "month"
        return frame


@dataclass
class Profiles:
    """What comparisons and charts need of a run, whether in memory or read back from disk.

    ``npv`` and ``payback`` (months, -1 for never) map each subject to its
    per-trial values; ``scores`` to (strategic_impact, feasibility).
    """

    npv: dict[str, np.ndarray]
    payback: dict[str, np.ndarray]
    scores: dict[str, tuple[float, float]]
    plans: list[str]
    currency: str
    horizon: int
    _memo: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_result(cls, result: SimulationResult) -> Profiles:
        """The profiles of a run in memory."""
        o = result.outcomes
        return cls(
            npv={s: result.npv(s) for s in result.subjects},
            payback={s: o.payback[result.index(s)] for s in result.subjects},
            scores=subject_scores(result.scenario),
            plans=[p.name for p in result.scenario.plans],
            currency=result.scenario.scenario.currency,
            horizon=result.scenario.scenario.horizon_months,
        )

    def comparison(self) -> pd.DataFrame:
        """Every ordered pair of subjects (see :func:`roisim.compare.pairwise`)."""
        from roisim.compare import pairwise

        if "comparison" not in self._memo:
            self._memo["comparison"] = pairwise(self.npv)
        return self._memo["comparison"].copy()

    def ranking(self) -> pd.DataFrame:
        """Subjects ranked by expected npv (see :func:`roisim.compare.ranking`)."""
        from roisim.compare import ranking

        if "ranking" not in self._memo:
            self._memo["ranking"] = ranking(self.npv, self.payback, self.scores)
        return self._memo["ranking"].copy()


def subject_scores(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """(strategic_impact, feasibility) of each subject, NaN where not given.

    A plan takes the scores of its initiative when it rolls out only one.
    """
    nan = float("nan")
    by_initiative = {
        ini.name: (nan if ini.strategic_impact is None else float(ini.strategic_impact),
                   nan if ini.feasibility is None else float(ini.feasibility))
        for ini in scenario.initiatives
    }
    scores = dict(by_initiative)
    for plan in scenario.plans:
        names = {phase.initiative for phase in plan.phases}
        scores[plan.name] = by_initiative[names.pop()] if len(names) == 1 else (nan, nan)
    return scores
