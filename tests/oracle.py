"""The scenario format read a second time: one trial's monthly cash, in plain Python.

This follows ``docs/scenario_format.md`` and the README's conventions (Scenario
files) sentence by sentence, month by month, with none of the kernel's
devices: no running products, no cached or shared phases, no flat arrays. It
reads the scenario as the TOML document it was parsed from, and one trial's
input values as :meth:`roisim.SimulationResult.inputs` reports them, so that
``tests/test_oracle.py`` can hold the kernel to it on generated scenarios.

Values may be numbers, names of inputs, inline distributions (the inputs
labelled by their place in the file), or lists of those (their product);
inputs resampled monthly come month by month, as
:meth:`roisim.SimulationResult.monthly_inputs` reports them, and risks as
the struck flags ``risk:<initiative>:<risk>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: something at time x falls in month ceil(x), within this tolerance (README, Timing)
EPS = 1e-9


def month_of(x: float) -> int:
    """The month in which something at time ``x`` happens (README: ceil, with a tolerance)."""
    return max(0, math.ceil(x - EPS))


def adoption(curve: str, ceiling: float, ramp: float, t: float) -> float:
    """The format's a(t), t months after go-live; 0 before go-live."""
    if t < 0:
        return 0.0
    if curve == "immediate":
        return ceiling
    if curve == "linear":
        return ceiling * min(1.0, (t + 1.0) / ramp)
    return ceiling / (1.0 + math.exp(-(8.0 / ramp) * (t - ramp / 2.0)))


@dataclass
class Cash:
    """A subject's monthly cash in one trial, and which of its phases started (as listed)."""

    costs: list[float]
    benefits: list[float]
    started: list[bool] = field(default_factory=list)

    @property
    def net(self) -> list[float]:
        return [b - c for c, b in zip(self.costs, self.benefits, strict=True)]


@dataclass
class Effects:
    """What an initiative's struck risks do in one trial."""

    cost: float = 0.0
    delay: float = 0.0
    kept: float = 1.0
    abandon: bool = False


class Trial:
    """One trial of a scenario document: its values, and every subject's cash."""

    def __init__(self, document: Mapping[str, Any], row: Mapping[str, float],
                 monthly: Mapping[str, Sequence[float]] | None = None):
        self.doc = document
        self.row = row
        self.monthly = monthly or {}
        self.horizon = int(document["scenario"]["horizon_months"])
        self.initiatives = {i["name"]: i for i in document["initiatives"]}
        self.place = {i["name"]: f"initiatives[{k}]" for k, i in enumerate(document["initiatives"])}

    def value(self, spec: Any, at: str, month: int | None = None) -> float:
        """The value written at place ``at`` of the file: a number, an input's draw, a product.

        An inline distribution is the input labelled by its place (``[k]``
        appended for the k-th factor of a list); an input resampled monthly
        takes its draw of ``month`` (amounts only).
        """
        if isinstance(spec, list):
            return math.prod(self.value(f, f"{at}[{k}]", month) for k, f in enumerate(spec))
        if isinstance(spec, dict):
            return float(self.row[at])
        if isinstance(spec, str):
            return float(self.monthly[spec][month] if spec in self.monthly else self.row[spec])
        return float(spec)

    def effects(self, name: str) -> Effects:
        """The struck risks of initiative ``name``: costs and delays add, kept shares multiply."""
        e = Effects()
        for k, risk in enumerate(self.initiatives[name].get("risks", [])):
            if self.row[f"risk:{name}:{risk['name']}"] != 1.0:
                continue
            at = f"{self.place[name]}.risks[{k}]"
            e.cost += self.value(risk.get("cost", 0.0), f"{at}.cost")
            e.delay += self.value(risk.get("delay_months", 0.0), f"{at}.delay_months")
            e.kept *= 1.0 - self.value(risk.get("benefit_loss", 0.0), f"{at}.benefit_loss")
            e.abandon |= bool(risk.get("abandon", False))
        if e.abandon:
            e.kept = 0.0  # an abandoned initiative earns no benefits at all, in any phase
        return e

    def adoption_of(self, name: str, golive: float, month: int) -> float:
        spec = self.initiatives[name].get("adoption", {})
        curve = spec.get("curve", "immediate")
        at = f"{self.place[name]}.adoption"
        ramp = self.value(spec["ramp_months"], f"{at}.ramp_months") if "ramp_months" in spec else 1.0
        ceiling = self.value(spec.get("ceiling", 1.0), f"{at}.ceiling")
        return adoption(curve, ceiling, ramp, month - golive)

    def cash(self, subject: str) -> Cash:
        """Monthly costs and benefits of an initiative on its own, or of a plan."""
        if subject in self.initiatives:
            phases = [{"initiative": subject}]  # a one-phase plan: start 0, share 1, no gate
            places = [""]
        else:
            p, plan = next((p, plan) for p, plan in enumerate(self.doc.get("plans", []))
                           if plan["name"] == subject)
            phases = plan["phases"]
            places = [f"plans[{p}].phases[{k}]" for k in range(len(phases))]
        horizon = self.horizon
        out = Cash([0.0] * horizon, [0.0] * horizon, [False] * len(phases))
        starts = [self.value(p.get("start_month", 0.0), f"{at}.start_month")
                  for p, at in zip(phases, places, strict=True)]
        order = sorted(range(len(phases)), key=lambda k: starts[k])  # stable: ties as listed
        struck: set[str] = set()
        abandoned_from: dict[str, int] = {}
        running: list[tuple[str, float, float]] = []  # (initiative, go-live, share)
        for k in order:
            phase, start = phases[k], starts[k]
            name = phase["initiative"]
            t_start = month_of(start)
            if t_start >= horizon or t_start >= abandoned_from.get(name, horizon + 1):
                continue  # never starts: beyond the horizon, or its initiative was dropped
            gate = phase.get("gate")
            if gate is not None and not self.passes(gate, t_start, out, running, abandoned_from):
                if gate.get("on_fail", "keep") == "stop":
                    for t in range(t_start, horizon):
                        out.costs[t] = out.benefits[t] = 0.0
                    break
                continue
            out.started[k] = True
            first = name not in struck
            struck.add(name)
            effects = self.effects(name)
            golive = start + self.value(self.initiatives[name].get("go_live_month", 0.0),
                                        f"{self.place[name]}.go_live_month")
            if first:
                golive += effects.delay
                if effects.abandon:
                    abandoned_from[name] = min(month_of(golive), horizon)
            share = self.value(phase.get("share", 1.0), f"{places[k]}.share")
            # abandoned: the costs of the go-live month are paid, nothing after
            self.add_phase(out, name, start, golive, share, first, effects,
                           min(abandoned_from.get(name, horizon) + 1, horizon))
            running.append((name, golive, share))
        return out

    def passes(self, gate, t_start, out: Cash, running, abandoned_from) -> bool:
        """Whether the plan so far meets ``gate``, judged on the months before ``t_start``."""
        metric = gate["metric"]
        if metric == "adoption":
            weight = sum(share for _, _, share in running)
            total = 0.0
            for name, golive, share in running:
                if t_start - 1 < abandoned_from.get(name, self.horizon):
                    total += share * self.adoption_of(name, golive, t_start - 1)
            value = total / weight if weight > 0 else 0.0
        else:
            net = sum(out.benefits[t] - out.costs[t] for t in range(t_start))
            spent = sum(out.costs[t] for t in range(t_start))
            if metric == "net_cash_to_date":
                value = net
            else:  # roi_to_date: undefined with no costs yet, and then the gate fails
                value = net / spent if spent > 0 else math.nan
        lo, hi = gate.get("at_least", -math.inf), gate.get("at_most", math.inf)
        return lo <= value <= hi

    def add_phase(self, out: Cash, name, start, golive, share, first, effects: Effects, end):
        """One phase's cash: its risk cost, its costs and benefits, until month ``end``."""
        ini = self.initiatives[name]
        t_start = month_of(start)
        if first and t_start < end:
            out.costs[t_start] += share * effects.cost  # a risk's cost scales like other costs
        lines = [(c, False, f"{self.place[name]}.costs[{k}]") for k, c in enumerate(ini.get("costs", []))] \
            + [(b, True, f"{self.place[name]}.benefits[{k}]") for k, b in enumerate(ini.get("benefits", []))]
        for line, benefit, at in lines:
            fixed = line.get("fixed", False)
            if fixed and not first:
                continue  # paid by the initiative's first phase only
            scaled = line.get("scale_with_adoption", benefit)
            scale = (effects.kept if benefit else 1.0) * (1.0 if fixed else share)
            row = out.benefits if benefit else out.costs
            for t, factor in self.payments(line, at, benefit, start, golive, end):
                a = self.adoption_of(name, golive, t) if scaled else 1.0
                row[t] += self.value(line["amount"], f"{at}.amount", t) * scale * factor * a

    def payments(self, line, at: str, benefit: bool, start: float, golive: float,
                 end: int) -> list[tuple[int, float]]:
        """(month, growth factor) of each payment of the line at ``at``, in months before ``end``."""
        if "month" in line:
            t = month_of(start + self.value(line["month"], f"{at}.month"))
            return [(t, 1.0)] if t < end else []
        step = 12 if line["every"] == "year" else 1
        if benefit:  # recurring benefits never pay before go-live
            first_time = golive if "from_month" not in line else \
                max(start + self.value(line["from_month"], f"{at}.from_month"), golive)
        else:
            first_time = start + self.value(line.get("from_month", 0.0), f"{at}.from_month")
        until = start + self.value(line["until_month"], f"{at}.until_month") \
            if "until_month" in line else math.inf
        growth = self.value(line.get("growth_per_year", 0.0), f"{at}.growth_per_year")
        t0 = month_of(first_time)
        found = []
        k = 0
        while first_time + k * step < until - EPS and month_of(first_time + k * step) < end:
            t = month_of(first_time + k * step)
            found.append((t, (1.0 + growth) ** ((t - t0) / 12.0)))
            k += 1
        return found


def discount_factors(rate: float, horizon: int) -> list[float]:
    """Month t is discounted by (1 + r)^(t/12)."""
    return [(1.0 + rate) ** (-t / 12.0) for t in range(horizon)]


def payback_month(flows: list[float]) -> float:
    """The first month at whose end the running sum is >= 0 and stays so; NaN if none."""
    acc, month = 0.0, math.nan
    for t, c in enumerate(flows):
        acc += c
        if acc < 0:
            month = math.nan
        elif math.isnan(month):
            month = t
    return month


def outcomes(cash: Cash, discount_rate: float) -> dict[str, float]:
    """The format's outcomes of one subject's cash (payback months: NaN where never)."""
    d = discount_factors(discount_rate, len(cash.costs))
    pv_costs = sum(c * f for c, f in zip(cash.costs, d, strict=True))
    pv_benefits = sum(b * f for b, f in zip(cash.benefits, d, strict=True))
    return {
        "pv_costs": pv_costs, "pv_benefits": pv_benefits, "npv": pv_benefits - pv_costs,
        "payback_month": payback_month(cash.net),
        "discounted_payback_month": payback_month([c * f for c, f in zip(cash.net, d, strict=True)]),
    }
