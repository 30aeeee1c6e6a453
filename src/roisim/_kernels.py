"""Numba kernels: one trial's cash flows and outcomes, and the parallel loop.

Everything here reads a :class:`roisim.model.Model` (flat arrays) and writes
into preallocated outputs; nothing allocates per trial, nothing knows about
files or names. Time runs in whole months 0 .. horizon-1; something that
happens at time x falls in month ceil(x).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from roisim._random import inline, jit, kernel, ndtr, ndtri, quantile, trial_key, uniform01

ONCE, MONTHLY, YEARLY = 0, 1, 2
IMMEDIATE, LINEAR, LOGISTIC = 0, 1, 2
NET_CASH, ROI, ADOPTION = 0, 1, 2
#: tolerance on times: 0.1 + 0.9 months must fall in month 1, not month 2.
TIME_EPS = 1e-9
#: annual IRR is searched in [-99 %, +10,000 %], as monthly log-rates.
IRR_LO = math.log(0.01) / 12.0
IRR_HI = math.log(101.0) / 12.0
#: every search starts at 10 % a year
IRR_START = math.log(1.1) / 12.0


@jit
def month_of(x, horizon):
    """The month in which something at time ``x`` happens, capped at the horizon."""
    if x >= horizon:
        return horizon
    return max(0, int(math.ceil(x - TIME_EPS)))


@inline
def draw_inputs(m, tkey, x, xm, z, design, row):
    """Draw every input of one trial: ``x`` once per trial, ``xm`` per month.

    Uniforms come from the counter-based hash, or for inputs drawn once per
    trial from row ``row`` of ``design`` (a Latin hypercube or Sobol block)
    when it has rows. Correlated inputs have their uniforms mixed through
    normal scores (Gaussian copula); every input then goes through its own
    quantile function.
    """
    use_design = design.shape[0] > 0
    for i in range(m.in_kind.size):
        if m.in_monthly[i]:
            for t in range(m.horizon):
                u = uniform01(tkey, m.in_stream[i], t)
                xm[i, t] = quantile(m.in_kind[i], m.in_par[i, 0], m.in_par[i, 1], m.in_par[i, 2],
                                    m.in_ulo[i], m.in_uhi[i], m.tab_x, m.tab_c, m.tab_g,
                                    m.in_off[i], m.in_len[i], u)
        elif use_design:
            x[i] = design[row, i]
        else:
            x[i] = uniform01(tkey, m.in_stream[i], 0)
    k = m.co_inputs.size
    if k > 0:
        for a in range(k):
            z[a] = ndtri(x[m.co_inputs[a]])
        for a in range(k):
            acc = 0.0
            for b in range(a + 1):
                acc += m.co_chol[a, b] * z[b]
            # a uniform exactly 1.0 (beyond 8.3 sd) would map to an infinite quantile
            x[m.co_inputs[a]] = min(ndtr(acc), 1.0 - 2.0**-53)
    for i in range(m.in_kind.size):
        if not m.in_monthly[i]:
            x[i] = quantile(m.in_kind[i], m.in_par[i, 0], m.in_par[i, 1], m.in_par[i, 2],
                            m.in_ulo[i], m.in_uhi[i], m.tab_x, m.tab_c, m.tab_g,
                            m.in_off[i], m.in_len[i], x[i])


@inline
def eval_values(m, x, v):
    """Per-trial part of every value: constant times the inputs drawn once."""
    for j in range(v.size):
        acc = m.val_const[j]
        for t in range(m.val_t0[j], m.val_t1[j]):
            acc *= x[m.terms[t]]
        v[j] = acc


@inline
def eval_monthly_values(m, v, xm, vm):
    """Month by month, every value with monthly inputs: ``vm[j, t] = v[j] * prod xm[., t]``."""
    for j in range(v.size):
        if m.val_m1[j] > m.val_m0[j]:
            row = vm[j]
            for t in range(m.horizon):
                row[t] = v[j]
            for k in range(m.val_m0[j], m.val_m1[j]):
                inp = xm[m.terms[k]]
                for t in range(m.horizon):
                    row[t] *= inp[t]


@inline
def geometric(scale, ratio, n, out):
    """``out[k] = scale * ratio**k`` for k < n, as running products.

    Eight interleaved chains (``out[k] = out[k-8] * ratio**8``): the loop then
    vectorises instead of waiting on one multiplication after another.
    """
    acc = scale
    for k in range(min(n, 8)):
        out[k] = acc
        acc *= ratio
    r2 = ratio * ratio
    r4 = r2 * r2
    r8 = r4 * r4
    for k in range(8, n):
        out[k] = out[k - 8] * r8


@jit
def adoption_at(curve, ceiling, ramp, t):
    """Adoption t months after go-live (0 before go-live)."""
    if t < 0.0:
        return 0.0
    if curve == IMMEDIATE:
        return ceiling
    if curve == LINEAR:
        return ceiling * min(1.0, (t + 1.0) / ramp)
    return ceiling / (1.0 + math.exp(-(8.0 / ramp) * (t - 0.5 * ramp)))


@inline
def fill_adoption(curve, ceiling, ramp, golive, end, out):
    """Adoption of every month into ``out`` (0 before go-live and from ``end``)."""
    for t in range(out.size):
        out[t] = 0.0
    m0 = month_of(golive, out.size)
    if m0 >= end:
        return
    if curve == LOGISTIC:
        # exp(-k (t - R/2)) as running products (one exp per phase, not per
        # month), then the divisions in a separate loop that vectorises.
        k = 8.0 / ramp
        live = out[m0:end]
        geometric(math.exp(-k * (m0 - golive - 0.5 * ramp)), math.exp(-k), end - m0, live)
        for t in range(live.size):
            live[t] = ceiling / (1.0 + live[t])
    else:
        for t in range(m0, end):
            out[t] = adoption_at(curve, ceiling, ramp, t - golive)


@inline
def add_phase(m, j, start, golive, share, first, end, loss, v, vm, adopt, ones, grow, costs,
              bens):
    """Add one phase of initiative ``j`` to the monthly costs and benefits.

    A recurring line pays ``base * monthly[t] * growth**(t - t0) * adoption[t]``
    in its months t0, t0+step, ... before t1, where each factor that does not
    apply is a row of ones; the loop over months is then one multiply-add
    that vectorises, whatever the line's options.
    """
    horizon = m.horizon
    for ln in range(m.ini_line0[j], m.ini_line1[j]):
        fixed = m.ln_fixed[ln]
        if fixed and not first:
            continue  # fixed costs are paid by the first phase of the initiative only
        benefit = m.ln_benefit[ln]
        a = m.ln_amount[ln]
        varies = m.val_m1[a] > m.val_m0[a]
        scale = (1.0 if fixed else share) * (loss if benefit else 1.0)
        base = scale if varies else scale * v[a]
        monthly = vm[a] if varies else ones
        adoption = adopt if m.ln_scale[ln] else ones
        out = bens if benefit else costs
        if m.ln_timing[ln] == ONCE:
            t = month_of(start + v[m.ln_month[ln]], horizon)
            if t < end:
                out[t] += base * monthly[t] * adoption[t]
            continue
        step = 1 if m.ln_timing[ln] == MONTHLY else 12
        if benefit:  # benefits never flow before go-live
            first_time = golive if m.ln_from[ln] < 0 else max(start + v[m.ln_from[ln]], golive)
        else:
            first_time = start + (0.0 if m.ln_from[ln] < 0 else v[m.ln_from[ln]])
        t0 = month_of(first_time, horizon)
        t1 = end
        if m.ln_until[ln] >= 0:  # payments at first_time + k*step < until (exclusive)
            until = start + v[m.ln_until[ln]]
            n_pay = max(0, int(math.ceil((until - TIME_EPS - first_time) / step)))
            t1 = min(end, t0 + n_pay * step)
        if t1 <= t0:
            continue
        growth = ones
        if m.ln_growth[ln] >= 0 and v[m.ln_growth[ln]] != 0.0:
            # compounded monthly from the first payment: a yearly line's k-th
            # payment grows by (1 + g)**k
            geometric(1.0, (1.0 + v[m.ln_growth[ln]]) ** (1.0 / 12.0), t1 - t0, grow)
            growth = grow
        # views from month t0: indices from 0 are provably non-negative, so the
        # loop has no wrap-around checks and vectorises
        o, mo, ad = out[t0:t1], monthly[t0:t1], adoption[t0:t1]
        if step == 1:
            for k in range(t1 - t0):
                o[k] += base * mo[k] * growth[k] * ad[k]
        else:
            for k in range(0, t1 - t0, step):
                o[k] += base * mo[k] * growth[k] * ad[k]


@inline
def gate_metric(metric, upto, costs, bens, n_run, run_init, run_golive, run_share,
                curves, ceilings, ramps, abandon_at):
    """The gate metric judged on the months before ``upto``."""
    if metric == ADOPTION:
        total, weight = 0.0, 0.0
        for q in range(n_run):
            j = run_init[q]
            a = 0.0
            if upto - 1 < abandon_at[j]:
                a = adoption_at(curves[j], ceilings[j], ramps[j], (upto - 1) - run_golive[q])
            total += run_share[q] * a
            weight += run_share[q]
        return total / weight if weight > 0.0 else 0.0
    net, spent = 0.0, 0.0
    for t in range(upto):
        net += bens[t] - costs[t]
        spent += costs[t]
    if metric == NET_CASH:
        return net
    return net / spent if spent > 0.0 else np.nan  # undefined ROI fails every gate


@inline
def eval_subject(m, s, v, vm, ini_delay, ini_loss, ini_abandon, ini_rcost, curves, ceilings,
                 ramps, costs, bens, adopt, ones, grow, order, starts, run_init, run_golive,
                 run_share, struck, abandon_at):
    """Monthly costs and benefits of subject ``s`` in one trial.

    Returns the bit flags of the phases that started and of the gates that failed.
    """
    horizon = m.horizon
    for t in range(horizon):
        costs[t] = 0.0
        bens[t] = 0.0
    for j in range(struck.size):
        struck[j] = False
        abandon_at[j] = horizon
    p0, p1 = m.sb_ph0[s], m.sb_ph1[s]
    n = p1 - p0
    for k in range(n):  # phases in order of start (insertion sort; n is small)
        starts[k] = v[m.ph_start[p0 + k]]
        order[k] = k
        i = k
        while i > 0 and starts[order[i - 1]] > starts[order[i]]:
            order[i - 1], order[i] = order[i], order[i - 1]
            i -= 1
    started, failed, n_run = 0, 0, 0
    for idx in range(n):
        k = order[idx]
        p = p0 + k
        j = m.ph_init[p]
        start = starts[k]
        t_start = month_of(start, horizon)
        if t_start >= horizon or t_start >= abandon_at[j]:
            continue
        if m.ph_gate[p] >= 0:
            value = gate_metric(m.ph_gate[p], t_start, costs, bens, n_run, run_init, run_golive,
                                run_share, curves, ceilings, ramps, abandon_at)
            if not (m.ph_gate_lo[p] <= value <= m.ph_gate_hi[p]):
                failed |= 1 << k
                if m.ph_stop[p]:  # the rollout stops: nothing from now on
                    for t in range(t_start, horizon):
                        costs[t] = 0.0
                        bens[t] = 0.0
                    break
                continue
        started |= 1 << k
        share = v[m.ph_share[p]]
        first = not struck[j]
        struck[j] = True
        golive = start + v[m.ini_golive[j]]
        if first:  # risks strike the first phase of the initiative to start
            golive += ini_delay[j]
            costs[t_start] += ini_rcost[j] * share
            if ini_abandon[j]:
                abandon_at[j] = month_of(golive, horizon)
        end = abandon_at[j]
        fill_adoption(curves[j], ceilings[j], ramps[j], golive, end, adopt)
        add_phase(m, j, start, golive, share, first, end, ini_loss[j], v, vm, adopt, ones, grow,
                  costs, bens)
        run_init[n_run] = j
        run_golive[n_run] = golive
        run_share[n_run] = share
        n_run += 1
    return started, failed


@inline
def npv_at(net, x):
    """Present value of monthly ``net`` at monthly log-rate ``x``, with two derivatives.

    Four interleaved power chains (w_t, stepping by e^-4x) instead of one:
    the multiplications of neighbouring months then overlap in the CPU.
    """
    e = math.exp(-x)
    e4 = e * e * e * e
    w0, w1, w2, w3 = 1.0, e, e * e, e * e * e
    f, fp, fpp = 0.0, 0.0, 0.0
    n = net.size
    t = 0
    while t + 4 <= n:
        c0, c1, c2, c3 = net[t] * w0, net[t + 1] * w1, net[t + 2] * w2, net[t + 3] * w3
        f += (c0 + c1) + (c2 + c3)
        fp -= (t * c0 + (t + 1) * c1) + ((t + 2) * c2 + (t + 3) * c3)
        fpp += (t * t * c0 + (t + 1) * (t + 1) * c1) + \
            ((t + 2) * (t + 2) * c2 + (t + 3) * (t + 3) * c3)
        w0 *= e4
        w1 *= e4
        w2 *= e4
        w3 *= e4
        t += 4
    w = w0
    while t < n:
        c = net[t] * w
        f += c
        fp -= t * c
        fpp += t * t * c
        w *= e
        t += 1
    return f, fp, fpp


@inline
def halley_step(x, f, fp, fpp):
    """The next rate of Halley's method from the present value and its derivatives at ``x``."""
    den = 2.0 * fp * fp - f * fpp
    return x - (2.0 * f * fp / den if den != 0.0 else f / fp)


@inline
def count_sign(c, changes, last, pos, neg):
    """Add one month's net ``c`` to the sign count: (changes, last non-zero, any > 0, any < 0).

    Without branches: the signs of the months are as unpredictable as the trials.
    """
    changes += ((c > 0.0) != (last > 0.0)) & (c != 0.0) & (last != 0.0)
    return changes, (c if c != 0.0 else last), pos | (c > 0.0), neg | (c < 0.0)


@inline
def sign_changes(net):
    """(number of sign changes, some flow > 0, some flow < 0) of ``net``, zeros skipped."""
    changes, last, pos, neg = 0, 0.0, False, False
    for t in range(net.size):
        changes, last, pos, neg = count_sign(net[t], changes, last, pos, neg)
    return changes, pos, neg


@inline
def irr(net):
    """Annual IRR of monthly cash flows: sum net_t (1+r)^(-t/12) = 0 (NaN if none).

    Searched as a monthly log-rate within [-99 %, +10,000 %] a year. Flows
    that change sign once have exactly one root (Descartes' rule of signs),
    found by Halley's method; other flows are searched inside the bracket.
    NaN where the flows never change sign or no root lies in range.
    """
    changes, pos, neg = sign_changes(net)
    return irr_given_signs(net, changes, pos, neg)


@inline
def irr_given_signs(net, changes, pos, neg):
    """:func:`irr` of flows whose sign changes are known (:func:`outcomes` counts them)."""
    if not (pos and neg):
        return np.nan
    if changes == 1:
        x = IRR_START
        for _ in range(30):
            f, fp, fpp = npv_at(net, x)
            x_new = halley_step(x, f, fp, fpp)
            if not (IRR_LO - 1.0 < x_new < IRR_HI + 1.0):
                break  # wandered off: let the bracketed search decide
            # cubic convergence: after a step below 1e-6 the error of x_new is ~1e-18
            if abs(x_new - x) <= 1e-6 * (1.0 + abs(x)):
                if IRR_LO <= x_new <= IRR_HI:
                    return math.expm1(12.0 * x_new)
                return np.nan  # the one root lies outside the searched range
            x = x_new
    lo, hi = IRR_LO, IRR_HI
    f_lo, _, _ = npv_at(net, lo)
    f_hi, _, _ = npv_at(net, hi)
    if f_lo == 0.0:
        return math.expm1(12.0 * lo)
    if f_hi == 0.0:
        return math.expm1(12.0 * hi)
    if (f_lo > 0.0) == (f_hi > 0.0):
        return np.nan
    x = IRR_START
    for _ in range(200):
        f, fp, fpp = npv_at(net, x)
        if f == 0.0:
            break
        if (f > 0.0) == (f_lo > 0.0):
            lo = x
        else:
            hi = x
        x_new = halley_step(x, f, fp, fpp)
        if not (lo < x_new < hi):
            x_new = 0.5 * (lo + hi)
        if abs(x_new - x) <= 1e-14 * (1.0 + abs(x)):
            x = x_new
            break
        x = x_new
    return math.expm1(12.0 * x)


#: trials whose IRRs are searched together: one Halley step waits on the
#: previous one, so four independent searches interleaved keep the CPU busy.
LANES = 4
#: the kernel's search stops after a Halley step below this (relative): the
#: error left is of the order of its cube, far below the float32 in which
#: outcomes keep the IRR (the scalar :func:`irr` goes on to 1e-6).
LANE_STEP = 1e-4


@inline
def npv_at_lanes(nets, x0, x1, x2, x3):
    """:func:`npv_at` of the four rows of ``nets`` at their own rates, interleaved."""
    e0, e1, e2, e3 = math.exp(-x0), math.exp(-x1), math.exp(-x2), math.exp(-x3)
    w0, w1, w2, w3 = 1.0, 1.0, 1.0, 1.0
    f0, f1, f2, f3 = 0.0, 0.0, 0.0, 0.0
    p0, p1, p2, p3 = 0.0, 0.0, 0.0, 0.0
    q0, q1, q2, q3 = 0.0, 0.0, 0.0, 0.0
    for t in range(nets.shape[1]):
        c0, c1, c2, c3 = nets[0, t] * w0, nets[1, t] * w1, nets[2, t] * w2, nets[3, t] * w3
        f0 += c0
        f1 += c1
        f2 += c2
        f3 += c3
        p0 -= t * c0
        p1 -= t * c1
        p2 -= t * c2
        p3 -= t * c3
        q0 += t * t * c0
        q1 += t * t * c1
        q2 += t * t * c2
        q3 += t * t * c3
        w0 *= e0
        w1 *= e1
        w2 *= e2
        w3 *= e3
    return (f0, p0, q0), (f1, p1, q1), (f2, p2, q2), (f3, p3, q3)


@inline
def halley_lane(k, fk, x, state, out):
    """One Halley step of lane ``k`` from its (f, f', f''); sets its state when it ends."""
    f, fp, fpp = fk
    x_new = halley_step(x[k], f, fp, fpp)
    if not (IRR_LO - 1.0 < x_new < IRR_HI + 1.0):
        state[k] = 2  # wandered off: the bracketed search decides
    elif abs(x_new - x[k]) <= LANE_STEP * (1.0 + abs(x[k])):
        out[k] = math.expm1(12.0 * x_new) if IRR_LO <= x_new <= IRR_HI else np.nan
        state[k] = 0
    x[k] = x_new


@inline
def irr_lanes(nets, n, changes, pos, neg, x, state, out):
    """:func:`irr` of the first ``n`` rows of ``nets`` (LANES, horizon) into ``out``.

    Rows whose flows change sign once take Halley steps together, four at a
    time; a row that wanders off or does not settle gets the scalar search.
    Each row's arithmetic is its own, so results do not depend on which rows
    share a group.
    """
    active = 0
    for k in range(LANES):
        state[k] = 0
        x[k] = IRR_START
        if k >= n:
            for t in range(nets.shape[1]):
                nets[k, t] = 0.0
        elif not (pos[k] and neg[k]):
            out[k] = np.nan
        elif changes[k] == 1:
            state[k] = 1
            active += 1
        else:
            state[k] = 2
    for _ in range(30):
        if active == 0:
            break
        fa, fb, fc, fd = npv_at_lanes(nets, x[0], x[1], x[2], x[3])
        if state[0] == 1:
            halley_lane(0, fa, x, state, out)
        if state[1] == 1:
            halley_lane(1, fb, x, state, out)
        if state[2] == 1:
            halley_lane(2, fc, x, state, out)
        if state[3] == 1:
            halley_lane(3, fd, x, state, out)
        active = 0
        for k in range(LANES):
            active += state[k] == 1
    for k in range(n):
        if state[k] != 0:
            out[k] = irr_given_signs(nets[k], 2, True, True)


@inline
def outcomes(costs, bens, discount, net):
    """Outcomes of one subject's monthly cash, and ``net`` = benefits - costs.

    Returns (pv_costs, pv_benefits, payback_month, discounted_payback_month,
    sign changes of the net cash, some net > 0, some net < 0); payback months
    are -1 where the cumulative cash never stays >= 0. One pass without
    branches: which months are negative is as unpredictable as the trials.
    """
    horizon = costs.size
    pvc, pvb = 0.0, 0.0
    cum, dcum = 0.0, 0.0
    last_neg, dlast_neg = -1, -1
    changes, last, pos, neg = 0, 0.0, False, False
    for t in range(horizon):
        c = bens[t] - costs[t]
        net[t] = c
        pvc += costs[t] * discount[t]
        pvb += bens[t] * discount[t]
        cum += c
        dcum += c * discount[t]
        last_neg = t if cum < 0.0 else last_neg
        dlast_neg = t if dcum < 0.0 else dlast_neg
        changes, last, pos, neg = count_sign(c, changes, last, pos, neg)
    payback = last_neg + 1 if last_neg + 1 < horizon else -1
    dpayback = dlast_neg + 1 if dlast_neg + 1 < horizon else -1
    return pvc, pvb, payback, dpayback, changes, pos, neg


@inline
def risk_effects(m, x, v, delay, loss, abandon, rcost):
    """Per initiative: total delay, kept share of benefits, abandon flag, risk cost."""
    for j in range(m.ini_golive.size):
        delay[j], loss[j], abandon[j], rcost[j] = 0.0, 1.0, False, 0.0
        for r in range(m.ini_risk0[j], m.ini_risk1[j]):
            if x[m.rk_occurs[r]] < v[m.rk_prob[r]]:
                if m.rk_cost[r] >= 0:
                    rcost[j] += v[m.rk_cost[r]]
                if m.rk_delay[r] >= 0:
                    delay[j] += v[m.rk_delay[r]]
                if m.rk_loss[r] >= 0:
                    loss[j] *= 1.0 - v[m.rk_loss[r]]
                abandon[j] |= m.rk_abandon[r]
        if abandon[j]:
            loss[j] = 0.0  # an abandoned initiative earns nothing, in any phase


@jit
def workspace(m):
    """Scratch arrays for evaluating trials of model ``m`` (one set per chunk of trials)."""
    n_in, n_val, n_ini, horizon = m.in_kind.size, m.val_const.size, m.ini_golive.size, m.horizon
    max_ph = 1
    for s in range(m.sb_ph0.size):
        max_ph = max(max_ph, m.sb_ph1[s] - m.sb_ph0[s])
    return (
        # inputs drawn once, inputs resampled monthly, normal scores of correlated inputs
        np.empty(n_in), np.empty((n_in, horizon)), np.empty(m.co_inputs.size),
        # values, and those with monthly inputs month by month
        np.empty(n_val), np.empty((n_val, horizon)),
        # per month: costs, benefits, net cash, adoption, a row of ones, growth factors
        np.empty(horizon), np.empty(horizon), np.empty(horizon), np.empty(horizon),
        np.ones(horizon), np.empty(horizon),
        # per initiative: risk delay, kept share, risk cost, abandoned; ceiling, ramp;
        # whether a phase has started; month from which it is abandoned
        np.empty(n_ini), np.empty(n_ini), np.empty(n_ini), np.empty(n_ini, np.bool_),
        np.empty(n_ini), np.empty(n_ini), np.empty(n_ini, np.bool_), np.empty(n_ini, np.int64),
        # per phase of a subject: order of start, start, and of the running phases
        # their initiative, go-live and share
        np.empty(max_ph, np.int64), np.empty(max_ph), np.empty(max_ph, np.int64),
        np.empty(max_ph), np.empty(max_ph),
    )


@inline
def start_trial(m, key, trial, design, row, x, xm, z, v, vm, delay, loss, rcost, abandon,
                ceilings, ramps):
    """Draw one trial's inputs and everything shared by its subjects."""
    tkey = trial_key(key, trial)
    draw_inputs(m, tkey, x, xm, z, design, row)
    eval_values(m, x, v)
    eval_monthly_values(m, v, xm, vm)
    risk_effects(m, x, v, delay, loss, abandon, rcost)
    for j in range(m.ini_golive.size):
        ceilings[j] = v[m.ini_ceiling[j]]
        ramps[j] = 1.0 if m.ini_ramp[j] < 0 else v[m.ini_ramp[j]]


@jit
def trial_cash(m, key, trial, design, row, s, costs_out, bens_out):
    """Monthly costs and benefits of subject ``s`` in one trial (for inspection and tests).

    Returns the started and failed phase flags.
    """
    return trial_cash_into(m, key, trial, design, row, s, costs_out, bens_out, workspace(m))


@kernel
def trial_cash_into(m, key, trial, design, row, s, costs_out, bens_out, ws):
    """:func:`trial_cash` with the scratch arrays ``ws`` (:func:`workspace`)."""
    (x, xm, z, v, vm, costs, bens, net, adopt, ones, grow, delay, loss, rcost, abandon,
     ceilings, ramps, struck, abandon_at, order, starts, run_init, run_golive,
     run_share) = ws
    start_trial(m, key, trial, design, row, x, xm, z, v, vm, delay, loss, rcost, abandon,
                ceilings, ramps)
    st, fl = eval_subject(m, s, v, vm, delay, loss, abandon, rcost, m.ini_curve, ceilings, ramps,
                          costs, bens, adopt, ones, grow, order, starts, run_init, run_golive,
                          run_share, struck, abandon_at)
    for t in range(m.horizon):
        costs_out[t] = costs[t]
        bens_out[t] = bens[t]
    return st, fl


@kernel
def simulate_chunk(m, key, first, lo, hi, design, pv_costs, pv_benefits, payback, dpayback,
                   irr_out, started, failed, band_paths, compute_irr, ws, lanes):
    """Evaluate trials ``lo .. hi-1`` of every subject (see :func:`simulate_trials`).

    Trials go in groups of :data:`LANES`, whose IRRs are searched together
    once their cash flows are known; ``lanes`` holds those flows and their
    signs (:func:`irr_workspace`).
    """
    horizon = m.horizon
    n_band = band_paths.shape[1]
    (x, xm, z, v, vm, costs, bens, net, adopt, ones, grow, delay, loss, rcost, abandon,
     ceilings, ramps, struck, abandon_at, order, starts, run_init, run_golive,
     run_share) = ws
    nets, changes, pos, neg, lane_x, lane_state, lane_irr = lanes
    for g0 in range(lo, hi, LANES):
        g1 = min(g0 + LANES, hi)
        for trial in range(g0, g1):
            k = trial - g0
            start_trial(m, key, trial, design, trial - first, x, xm, z, v, vm, delay, loss,
                        rcost, abandon, ceilings, ramps)
            for s in range(m.sb_ph0.size):
                same = m.sb_alias[s]
                if same >= 0:  # identical to an earlier subject: same trial, same outcome
                    pv_costs[s, trial] = pv_costs[same, trial]
                    pv_benefits[s, trial] = pv_benefits[same, trial]
                    payback[s, trial] = payback[same, trial]
                    dpayback[s, trial] = dpayback[same, trial]
                    started[s, trial] = started[same, trial]
                    failed[s, trial] = failed[same, trial]
                    if trial < n_band:
                        for t in range(horizon):
                            band_paths[s, trial, t] = band_paths[same, trial, t]
                    continue
                st, fl = eval_subject(m, s, v, vm, delay, loss, abandon, rcost, m.ini_curve,
                                      ceilings, ramps, costs, bens, adopt, ones, grow, order,
                                      starts, run_init, run_golive, run_share, struck,
                                      abandon_at)
                cash = nets[s, k]
                (pv_costs[s, trial], pv_benefits[s, trial], payback[s, trial],
                 dpayback[s, trial], changes[s, k], pos[s, k], neg[s, k]) = outcomes(
                    costs, bens, m.discount, cash)
                started[s, trial] = st
                failed[s, trial] = fl
                if trial < n_band:
                    acc = 0.0
                    for t in range(horizon):
                        acc += cash[t]
                        band_paths[s, trial, t] = acc
        for s in range(m.sb_ph0.size):
            same = m.sb_alias[s]
            if same >= 0:
                for trial in range(g0, g1):
                    irr_out[s, trial] = irr_out[same, trial]
            elif compute_irr:
                irr_lanes(nets[s], g1 - g0, changes[s], pos[s], neg[s], lane_x, lane_state,
                          lane_irr)
                for trial in range(g0, g1):
                    irr_out[s, trial] = lane_irr[trial - g0]
            else:
                for trial in range(g0, g1):
                    irr_out[s, trial] = np.nan


@jit
def irr_workspace(m):
    """Per subject, the monthly net cash of a group of trials and its signs; lane scratch."""
    n_sub = m.sb_ph0.size
    return (np.zeros((n_sub, LANES, m.horizon)), np.zeros((n_sub, LANES), np.int64),
            np.zeros((n_sub, LANES), np.bool_), np.zeros((n_sub, LANES), np.bool_),
            np.zeros(LANES), np.zeros(LANES, np.int64), np.zeros(LANES))


@jit(parallel=True)
def simulate_trials(m, key, first, n, n_chunks, design, pv_costs, pv_benefits, payback,
                    dpayback, irr_out, started, failed, band_paths, compute_irr):
    """Evaluate trials ``first .. first+n-1`` of every subject into the outputs.

    Outputs have shape (n_subjects, n_trials) and are written at the trial's
    global index, in ``n_chunks`` chunks shared among the threads;
    ``band_paths`` (n_subjects, n_band, horizon) receives the cumulative net
    cash of trials below ``n_band`` for the fan chart. ``design`` holds the
    uniforms of this block's trials (row = trial - first), or has no rows.
    Each chunk allocates its scratch arrays here and runs in a kernel that
    counts no references (:data:`roisim._random.kernel`).
    """
    for c in numba.prange(n_chunks):
        simulate_chunk(m, key, first, first + (n * c) // n_chunks,
                       first + (n * (c + 1)) // n_chunks, design, pv_costs, pv_benefits,
                       payback, dpayback, irr_out, started, failed, band_paths, compute_irr,
                       workspace(m), irr_workspace(m))


@kernel
def inputs_chunk(m, key, first, lo, hi, design, out, ws):
    """Input values of trials ``lo .. hi-1`` (see :func:`trial_inputs`)."""
    (x, xm, z, v, vm, costs, bens, net, adopt, ones, grow, delay, loss, rcost, abandon,
     ceilings, ramps, struck, abandon_at, order, starts, run_init, run_golive,
     run_share) = ws
    for trial in range(lo, hi):
        row = trial - first
        start_trial(m, key, trial, design, row, x, xm, z, v, vm, delay, loss, rcost, abandon,
                    ceilings, ramps)
        for i in range(m.in_kind.size):
            if m.in_monthly[i]:
                acc = 0.0
                for t in range(m.horizon):
                    acc += xm[i, t]
                out[row, i] = acc / m.horizon
            else:
                out[row, i] = x[i]
        for r in range(m.rk_occurs.size):
            out[row, m.rk_occurs[r]] = 1.0 if x[m.rk_occurs[r]] < v[m.rk_prob[r]] else 0.0


@jit(parallel=True)
def trial_inputs(m, key, first, n, n_chunks, design, out):
    """Each trial's input values into ``out`` (n, n_inputs), recomputed from (seed, trial).

    Monthly inputs give their mean over the months of the trial; the uniform
    that decides a risk gives 1.0 where the risk strikes and 0.0 where not.
    """
    for c in numba.prange(n_chunks):
        inputs_chunk(m, key, first, first + (n * c) // n_chunks,
                     first + (n * (c + 1)) // n_chunks, design, out, workspace(m))
