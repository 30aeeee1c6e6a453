"""Compile a validated Scenario into flat arrays the kernel can read.

The kernel sees no names, only indices. Every uncertain number is an *input*
(named inputs, inline distributions, and one uniform per risk for whether it
strikes); every number a scenario writes is a *value*, the product of a
constant and of inputs; initiatives, their cash-flow lines and risks, plans
and their phases are rows of small tables that point at values. Every
initiative is also compiled as a one-phase plan starting at month 0, so the
kernel evaluates a single kind of thing: a *subject*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from roisim import _random as rnd
from roisim._checks import factors, inline_label, risk_label
from roisim.distributions import Dist
from roisim.scenario import CashLine, Plan, Scenario

NONE = -1  # "no value given" in the index tables

CURVES = {"immediate": 0, "linear": 1, "logistic": 2}
ONCE, MONTHLY, YEARLY = 0, 1, 2
GATE_METRICS = {"net_cash_to_date": 0, "roi_to_date": 1, "adoption": 2}


class Model(NamedTuple):
    """A scenario as flat arrays (shapes in comments; all read-only)."""

    horizon: int
    discount: np.ndarray  # (horizon,) factor (1+r)^(-m/12) of month m
    months: np.ndarray  # (horizon,) the month numbers 0.0, 1.0, ... as floats
    # inputs (n_inputs,)
    in_kind: np.ndarray
    in_par: np.ndarray  # (n_inputs, 4)
    in_ulo: np.ndarray
    in_uhi: np.ndarray
    in_off: np.ndarray
    in_len: np.ndarray
    in_stream: np.ndarray  # uint64
    in_monthly: np.ndarray  # bool
    tab_x: np.ndarray
    tab_c: np.ndarray
    tab_g: np.ndarray  # guide tables of discrete inputs (int64)
    # rank correlations: inputs in the correlated set and the normal-score Cholesky factor
    co_inputs: np.ndarray  # (k,)
    co_chol: np.ndarray  # (k, k) lower triangular
    # values (n_values,): const * prod(per-trial terms) * prod(monthly terms)
    val_const: np.ndarray
    val_t0: np.ndarray
    val_t1: np.ndarray
    val_m0: np.ndarray
    val_m1: np.ndarray
    terms: np.ndarray
    val_drawn: np.ndarray  # values with a per-trial term: the others never change
    val_monthly: np.ndarray  # values with a monthly term
    # initiatives (n_initiatives,)
    ini_golive: np.ndarray
    ini_curve: np.ndarray
    ini_ceiling: np.ndarray
    ini_ramp: np.ndarray
    ini_line0: np.ndarray
    ini_line1: np.ndarray
    ini_risk0: np.ndarray
    ini_risk1: np.ndarray
    ini_fixed: np.ndarray  # bool: has a fixed line (paid by its first phase, whatever the share)
    # cash-flow lines (n_lines,)
    ln_benefit: np.ndarray
    ln_amount: np.ndarray
    ln_timing: np.ndarray
    ln_month: np.ndarray
    ln_from: np.ndarray
    ln_until: np.ndarray
    ln_scale: np.ndarray
    ln_growth: np.ndarray
    ln_fixed: np.ndarray
    # risks (n_risks,)
    rk_prob: np.ndarray
    rk_occurs: np.ndarray  # index of the uniform input that decides it
    rk_cost: np.ndarray
    rk_delay: np.ndarray
    rk_loss: np.ndarray
    rk_abandon: np.ndarray
    # subjects (n_subjects,) and their phases (n_phases,)
    sb_ph0: np.ndarray
    sb_ph1: np.ndarray
    sb_alias: np.ndarray  # an earlier subject with identical phases, or -1
    sb_twin: np.ndarray  # for an ungated twin, its gated plan as evaluated (not an alias); else -1
    ph_init: np.ndarray
    ph_start: np.ndarray
    ph_share: np.ndarray
    ph_gate: np.ndarray
    ph_gate_lo: np.ndarray
    ph_gate_hi: np.ndarray
    ph_stop: np.ndarray
    ph_shared: np.ndarray  # bool: another evaluated subject has a phase of the same
    #                        initiative and start, whose cash may be the same


@dataclass
class _Builder:
    scenario: Scenario
    input_names: list[str] = field(default_factory=list)
    input_index: dict[str, int] = field(default_factory=dict)
    specs: list[tuple[Dist | None, str]] = field(default_factory=list)
    values: list[tuple[float, list[int], list[int]]] = field(default_factory=list)

    def add_input(self, label: str, dist: Dist | None) -> int:
        """Register an input; ``dist`` None means a plain uniform on (0, 1)."""
        self.input_index[label] = len(self.specs)
        self.input_names.append(label)
        self.specs.append((dist, label))
        return len(self.specs) - 1

    def value(self, value: Any, location: str) -> int:
        if value is None:
            return NONE
        const, per_trial, monthly = 1.0, [], []
        for n, factor in enumerate(factors(value)):
            if isinstance(factor, str):
                index = self.input_index[factor]
            elif isinstance(factor, Dist):
                index = self.add_input(inline_label(location, value, n), factor)
            else:
                const *= float(factor)
                continue
            is_monthly = self.specs[index][0] is not None and \
                self.specs[index][0].resample == "monthly"  # type: ignore[union-attr]
            (monthly if is_monthly else per_trial).append(index)
        self.values.append((const, per_trial, monthly))
        return len(self.values) - 1


def compile_model(scenario: Scenario) -> Model:
    """Compile a validated scenario into a :class:`Model`."""
    return compile_with_labels(scenario)[0]


def gated_plans(scenario: Scenario) -> list[Plan]:
    """Plans with a gate: each is evaluated a second time without its gates (its ungated twin)."""
    return [plan for plan in scenario.plans if any(phase.gate is not None for phase in plan.phases)]


def subject_count(scenario: Scenario) -> int:
    """Subjects the kernel evaluates: the scenario's initiatives and plans, and the ungated twins."""
    return len(scenario.subjects) + len(gated_plans(scenario))


def compile_with_labels(scenario: Scenario) -> tuple[Model, list[str], dict[str, int]]:
    """Compile a scenario into a Model.

    Also returns the label of each kernel input, and for each plan with gates
    the row of its ungated twin: the same phases without gates, evaluated on
    the same trials to give the value of the gates. Twins come after the
    scenario's own subjects.
    """
    b = _Builder(scenario)
    for name, dist in scenario.inputs.items():
        b.add_input(name, dist)

    ini_rows, line_rows, risk_rows = [], [], []
    for i, ini in enumerate(scenario.initiatives):
        at = f"initiatives[{i}]"
        line0, risk0 = len(line_rows), len(risk_rows)
        for kind, lines in (("costs", ini.costs), ("benefits", ini.benefits)):
            for k, line in enumerate(lines):
                line_rows.append(_line_row(b, line, kind == "benefits", f"{at}.{kind}[{k}]"))
        for k, risk in enumerate(ini.risks):
            where = f"{at}.risks[{k}]"
            occurs = b.add_input(risk_label(ini.name, risk.name), None)
            risk_rows.append((
                b.value(risk.probability, f"{where}.probability"), occurs,
                b.value(risk.cost, f"{where}.cost"),
                b.value(risk.delay_months, f"{where}.delay_months"),
                b.value(risk.benefit_loss, f"{where}.benefit_loss"),
                risk.abandon,
            ))
        ini_rows.append((
            b.value(ini.go_live_month, f"{at}.go_live_month"),
            CURVES[ini.adoption.curve],
            b.value(ini.adoption.ceiling, f"{at}.adoption.ceiling"),
            b.value(ini.adoption.ramp_months, f"{at}.adoption.ramp_months"),
            line0, len(line_rows), risk0, len(risk_rows),
            any(row[-1] for row in line_rows[line0:]),
        ))

    one = b.value(1.0, "")
    zero = b.value(0.0, "")
    subject_rows, phase_rows = [], []
    for i, _ini in enumerate(scenario.initiatives):
        subject_rows.append((len(phase_rows), len(phase_rows) + 1))
        phase_rows.append((i, zero, one, NONE, -np.inf, np.inf, False))
    names = [ini.name for ini in scenario.initiatives]
    for p, plan in enumerate(scenario.plans):
        start = len(phase_rows)
        for k, phase in enumerate(plan.phases):
            where = f"plans[{p}].phases[{k}]"
            gate = phase.gate
            phase_rows.append((
                names.index(phase.initiative),
                b.value(phase.start_month, f"{where}.start_month"),
                b.value(phase.share, f"{where}.share"),
                NONE if gate is None else GATE_METRICS[gate.metric],
                -np.inf if gate is None or gate.at_least is None else gate.at_least,
                np.inf if gate is None or gate.at_most is None else gate.at_most,
                gate is not None and gate.on_fail == "stop",
            ))
        subject_rows.append((start, len(phase_rows)))
    ungated: dict[str, int] = {}
    twins = [NONE] * len(subject_rows)
    for plan in gated_plans(scenario):
        gated = len(scenario.initiatives) + scenario.plans.index(plan)
        p0, p1 = subject_rows[gated]
        start = len(phase_rows)
        for row in phase_rows[p0:p1]:
            phase_rows.append((*row[:3], NONE, -np.inf, np.inf, False))
        ungated[plan.name] = len(subject_rows)
        twins.append(gated)
        subject_rows.append((start, len(phase_rows)))

    aliases = _aliases(subject_rows, phase_rows, b.values)
    # a twin copies from the subject the kernel evaluates: the plan, or the one it aliases
    twin = np.array([t if t < 0 or aliases[t] < 0 else aliases[t] for t in twins], np.int64)
    horizon = scenario.scenario.horizon_months
    months = np.arange(horizon, dtype=np.float64)
    discount = (1.0 + scenario.scenario.discount_rate) ** (-months / 12.0)
    model = Model(
        horizon, discount, months,
        *_input_arrays(b),
        *_correlation_arrays(scenario, b),
        *_value_arrays(b),
        *_columns(ini_rows, [np.int64] * 8 + [np.bool_]),
        *_columns(line_rows, [np.bool_, np.int64, np.int64, np.int64, np.int64, np.int64,
                              np.bool_, np.int64, np.bool_]),
        *_columns(risk_rows, [np.int64] * 5 + [np.bool_]),
        *_columns(subject_rows, [np.int64] * 2),
        aliases,
        twin,
        *_columns(phase_rows, [np.int64] * 4 + [np.float64] * 2 + [np.bool_]),
        _shared_phases(subject_rows, phase_rows, aliases, b.values),
    )
    return model, b.input_names, ungated


def _line_row(b: _Builder, line: CashLine, benefit: bool, at: str) -> tuple[Any, ...]:
    timing = ONCE if line.month is not None else (MONTHLY if line.every == "month" else YEARLY)
    return (
        benefit,
        b.value(line.amount, f"{at}.amount"),
        timing,
        b.value(line.month, f"{at}.month"),
        b.value(line.from_month, f"{at}.from_month"),
        b.value(line.until_month, f"{at}.until_month"),
        line.scaled_by_adoption,
        b.value(getattr(line, "growth_per_year", None), f"{at}.growth_per_year"),
        bool(getattr(line, "fixed", False)),
    )


def _input_arrays(b: _Builder) -> list[np.ndarray]:
    n = len(b.specs)
    kind = np.zeros(n, np.int64)
    par = np.zeros((n, 4))
    ulo, uhi = np.zeros(n), np.ones(n)
    off, length = np.zeros(n, np.int64), np.zeros(n, np.int64)
    stream = np.zeros(n, np.uint64)
    monthly = np.zeros(n, np.bool_)
    tab_x: list[np.ndarray] = []
    tab_c: list[np.ndarray] = []
    tab_g: list[np.ndarray] = []
    used = 0
    for i, (dist, label) in enumerate(b.specs):
        spec = rnd_uniform() if dist is None else dist.compile()
        kind[i], par[i], ulo[i], uhi[i] = spec.kind, spec.par, spec.ulo, spec.uhi
        size = spec.table_x.size
        off[i], length[i] = used, size
        tab_x.append(spec.table_x)
        tab_c.append(spec.table_c if spec.table_c.size else np.zeros(size))
        tab_g.append(rnd.guide_table(spec.table_c) if spec.table_c.size
                     else np.zeros(size, np.int64))
        used += size
        stream[i] = rnd.stream_key(f"input:{label}")
        monthly[i] = dist is not None and dist.resample == "monthly"
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0))  # noqa: E731
    return [kind, par, ulo, uhi, off, length, stream, monthly,
            np.ascontiguousarray(cat(tab_x), np.float64),
            np.ascontiguousarray(cat(tab_c), np.float64),
            np.ascontiguousarray(cat(tab_g), np.int64)]


def _correlation_arrays(scenario: Scenario, b: _Builder) -> list[np.ndarray]:
    from roisim.correlation import cholesky_factor

    names: list[str] = []
    for entry in scenario.correlations:
        names += [n for n in entry.inputs if n not in names]
    matrix = np.eye(len(names))
    for entry in scenario.correlations:
        i, j = names.index(entry.inputs[0]), names.index(entry.inputs[1])
        matrix[i, j] = matrix[j, i] = entry.rank
    chol = cholesky_factor(matrix) if names else np.zeros((0, 0))
    return [np.array([b.input_index[n] for n in names], np.int64), np.ascontiguousarray(chol)]


def rnd_uniform() -> Any:
    """Quantile spec of a plain uniform on (0, 1)."""
    from roisim.distributions import QuantileSpec

    return QuantileSpec(rnd.UNIFORM, (0.0, 1.0, 0.0, 0.0))


def _value_arrays(b: _Builder) -> list[np.ndarray]:
    const = np.array([v[0] for v in b.values], np.float64)
    t0, t1, m0, m1, terms = [], [], [], [], []
    for _, per_trial, monthly in b.values:
        t0.append(len(terms))
        terms.extend(per_trial)
        t1.append(len(terms))
        m0.append(len(terms))
        terms.extend(monthly)
        m1.append(len(terms))
    as_int = (lambda xs: np.array(xs, np.int64))  # noqa: E731
    drawn = [j for j in range(len(b.values)) if t1[j] > t0[j]]
    monthly = [j for j in range(len(b.values)) if m1[j] > m0[j]]
    return [const, as_int(t0), as_int(t1), as_int(m0), as_int(m1), as_int(terms), as_int(drawn),
            as_int(monthly)]


def _value_key(values: list[tuple[float, list[int], list[int]]], i: int) -> tuple[Any, ...]:
    """What value ``i`` is (its constant and inputs), for comparing values by content."""
    const, terms, monthly = values[i]
    return const, tuple(terms), tuple(monthly)


def _aliases(subjects: list[tuple[int, int]], phases: list[tuple[Any, ...]],
             values: list[tuple[float, list[int], list[int]]]) -> np.ndarray:
    """For each subject, an earlier subject whose phases are the same, or -1.

    Phases compare by what their values are (constant and inputs), so a plan
    that rolls out an initiative whole at month 0 is recognised as that
    initiative and its outcomes are copied rather than computed again.
    """
    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        init, start, share, *gate = row
        return (init, _value_key(values, start), _value_key(values, share), *gate)

    seen: dict[tuple[Any, ...], int] = {}
    alias = np.full(len(subjects), NONE, np.int64)
    for s, (p0, p1) in enumerate(subjects):
        signature = tuple(key(phases[p]) for p in range(p0, p1))
        alias[s] = seen.setdefault(signature, s)
        if alias[s] == s:
            alias[s] = NONE
    return alias


def _shared_phases(subjects: list[tuple[int, int]], phases: list[tuple[Any, ...]],
                   aliases: np.ndarray, values: list[tuple[float, list[int], list[int]]]
                   ) -> np.ndarray:
    """For each phase, whether an evaluated subject has another phase with its initiative and start.

    Only such a phase can find its cash already computed in a trial
    (``_kernels.cached_phase``); the kernel may add the others straight to
    their subject's cash.
    """
    def key(p: int) -> tuple[Any, ...]:
        init, start = phases[p][:2]
        return init, _value_key(values, start)

    evaluated = [p for s, (p0, p1) in enumerate(subjects) if aliases[s] < 0 for p in range(p0, p1)]
    counts: dict[tuple[Any, ...], int] = {}
    for p in evaluated:
        counts[key(p)] = counts.get(key(p), 0) + 1
    shared = np.zeros(len(phases), np.bool_)
    for p in evaluated:
        shared[p] = counts[key(p)] > 1
    return shared


def _columns(rows: list[tuple[Any, ...]], dtypes: list[Any]) -> list[np.ndarray]:
    if not rows:
        return [np.zeros(0, dtype=d) for d in dtypes]
    return [np.array(col, dtype=d) for col, d in zip(zip(*rows, strict=True), dtypes, strict=True)]
