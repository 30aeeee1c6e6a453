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

from roisim._random import inline, jit, kernel, ndtr, ndtri, quantiles, reduction, trial_key, uniform01

#: sha256 of ``_random.py`` (with LF line ends), whose functions the kernels
#: below inline. numba keys a cached function on its own file's contents only,
#: so a change to ``_random.py`` alone would leave these kernels compiled with
#: the old code; changing this line with it makes numba compile them again. A
#: test checks it.
RANDOM_SOURCE = "6df1ca06ea56a4e1d0d8034ca3395f46c181df8cf52de0a45e40b482c56e8267"

ONCE, MONTHLY, YEARLY = 0, 1, 2
IMMEDIATE, LINEAR, LOGISTIC = 0, 1, 2
NET_CASH, ROI, ADOPTION = 0, 1, 2
#: tolerance on times: 0.1 + 0.9 months must fall in month 1, not month 2.
TIME_EPS = 1e-9
#: annual IRR is searched in [-99 %, +10,000 %], as monthly log-rates.
IRR_LO = math.log(0.01) / 12.0
IRR_HI = math.log(101.0) / 12.0
#: where :func:`irr` starts unless told, and where the bracketed search starts: 10 % a year
IRR_START = math.log(1.1) / 12.0


@jit
def month_of(x, horizon):
    """The month in which something at time ``x`` happens, capped at the horizon."""
    if x >= horizon:
        return horizon
    return max(0, int(math.ceil(x - TIME_EPS)))


#: trials whose inputs are drawn together: each input's quantile function
#: then runs over the whole batch in one loop that vectorises.
BATCH = 64


@inline
def draw_batch(m, key, first, lo, hi, design, u, xs, z, tkeys, tails):
    """Draw the inputs drawn once per trial for trials ``lo .. hi-1`` into ``xs[i, trial - lo]``.

    Uniforms come from the counter-based hash, or from rows ``trial - first``
    of ``design`` (a Latin hypercube or Sobol block) when it has rows.
    Correlated inputs have their uniforms mixed through normal scores
    (Gaussian copula), trial by trial; every input then goes through its own
    quantile function, input by input across the batch. ``u`` has the shape
    of ``xs``; ``z`` holds one trial's normal scores, ``tkeys`` the trials' keys,
    ``tails`` scratch for :func:`roisim._random.quantiles`.
    """
    n = hi - lo
    keys = tkeys[:n]
    for k in range(n):
        keys[k] = trial_key(key, lo + k)
    for i in range(m.in_kind.size):
        if m.in_monthly[i]:
            continue
        ui = u[i, :n]
        if design.shape[0] > 0:
            for k in range(n):
                ui[k] = design[lo + k - first, i]
        else:
            stream = m.in_stream[i]
            for k in range(n):
                ui[k] = uniform01(keys[k], stream, 0)
    n_co = m.co_inputs.size
    if n_co > 0:
        for k in range(n):
            for a in range(n_co):
                z[a] = ndtri(u[m.co_inputs[a], k])
            for a in range(n_co):
                acc = 0.0
                for b in range(a + 1):
                    acc += m.co_chol[a, b] * z[b]
                # a uniform exactly 1.0 (beyond 8.3 sd) would map to an infinite quantile
                u[m.co_inputs[a], k] = min(ndtr(acc), 1.0 - 2.0**-53)
    for i in range(m.in_kind.size):
        if not m.in_monthly[i]:
            quantiles(m.in_kind[i], m.in_par[i, 0], m.in_par[i, 1], m.in_par[i, 2], m.in_ulo[i],
                      m.in_uhi[i], m.tab_x, m.tab_c, m.tab_g, m.in_off[i], m.in_len[i],
                      u[i, :n], xs[i, :n], tails)


@inline
def next_batch(m, key, first, lo, hi, trial, b0, design, u, xs, z, tkeys, tails):
    """The first trial of the batch holding ``trial`` of a chunk ``lo .. hi-1``.

    Where ``trial`` starts a batch, the batch's inputs are drawn into ``xs``
    (:func:`draw_batch`); otherwise the current batch ``b0`` goes on.
    """
    if (trial - lo) % BATCH != 0:
        return b0
    draw_batch(m, key, first, trial, min(trial + BATCH, hi), design, u, xs, z, tkeys, tails)
    return trial


@inline
def draw_inputs(m, tkey, col, xs, x, xm, um, tails):
    """One trial's inputs: ``x`` from column ``col`` of the batch ``xs``, ``xm`` drawn month by month."""
    for i in range(m.in_kind.size):
        if m.in_monthly[i]:
            stream = m.in_stream[i]
            for t in range(m.horizon):
                um[t] = uniform01(tkey, stream, t)
            quantiles(m.in_kind[i], m.in_par[i, 0], m.in_par[i, 1], m.in_par[i, 2], m.in_ulo[i],
                      m.in_uhi[i], m.tab_x, m.tab_c, m.tab_g, m.in_off[i], m.in_len[i], um,
                      xm[i], tails)
        else:
            x[i] = xs[i, col]


@inline
def eval_values(m, x, v):
    """Per-trial part of every value: constant times the inputs drawn once.

    Only values with such inputs are computed: ``v`` starts as the constants
    (:func:`workspace`), which the others keep. In the examples two values in
    three are constants (amounts, months, shares).
    """
    for i in range(m.val_drawn.size):
        j = m.val_drawn[i]
        acc = m.val_const[j]
        for t in range(m.val_t0[j], m.val_t1[j]):
            acc *= x[m.terms[t]]
        v[j] = acc


@inline
def eval_monthly_values(m, v, xm, vm):
    """Month by month, every value with monthly inputs: ``vm[j, t] = v[j] * prod xm[., t]``."""
    for i in range(m.val_monthly.size):
        j = m.val_monthly[i]
        row = vm[j]
        k0 = m.val_m0[j]
        first = xm[m.terms[k0]]
        for t in range(m.horizon):
            row[t] = v[j] * first[t]
        for k in range(k0 + 1, m.val_m1[j]):
            inp = xm[m.terms[k]]
            for t in range(m.horizon):
                row[t] *= inp[t]


@inline
def geometric(scale, ratio, n, out):
    """``out[k] = scale * ratio**k`` for k < n, as running products.

    Eight interleaved chains held in registers (``out[k] = out[k-8] * ratio**8``):
    each block of eight months is one vector multiply, not eight dependent ones.
    """
    w0 = scale
    w1 = w0 * ratio
    w2 = w1 * ratio
    w3 = w2 * ratio
    w4 = w3 * ratio
    w5 = w4 * ratio
    w6 = w5 * ratio
    w7 = w6 * ratio
    r2 = ratio * ratio
    r4 = r2 * r2
    r8 = r4 * r4
    k = 0
    while k + 8 <= n:
        out[k], out[k + 1], out[k + 2], out[k + 3] = w0, w1, w2, w3
        out[k + 4], out[k + 5], out[k + 6], out[k + 7] = w4, w5, w6, w7
        w0, w1, w2, w3 = w0 * r8, w1 * r8, w2 * r8, w3 * r8
        w4, w5, w6, w7 = w4 * r8, w5 * r8, w6 * r8, w7 * r8
        k += 8
    tail = (w0, w1, w2, w3, w4, w5, w6, w7)
    for j in range(n - k):
        out[k + j] = tail[j]


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
    elif curve == LINEAR:
        # adoption_at's arithmetic, month by month over a view from m0: it vectorises
        live = out[m0:end]
        for k in range(live.size):
            dt = (m0 + k) - golive
            live[k] = ceiling * min(1.0, (dt + 1.0) / ramp) if dt >= 0.0 else 0.0
    else:
        for t in range(m0, end):
            out[t] = adoption_at(curve, ceiling, ramp, t - golive)


@inline
def growth_ratios(m, v, ratios):
    """Each growing line's monthly growth factor (1 + g)^(1/12) into ``ratios``.

    A growth rate that is a constant is raised to its power once per chunk of
    trials (``ratios`` starts as NaN), one that is drawn once per trial; the
    phases of every subject that run the line share it.
    """
    for ln in range(ratios.size):
        g = m.ln_growth[ln]
        if g >= 0 and (m.val_t1[g] > m.val_t0[g] or math.isnan(ratios[ln])):
            ratios[ln] = (1.0 + v[g]) ** (1.0 / 12.0)


@inline
def add_phase(m, j, start, golive, first, end, loss, v, vm, ratios, adopt, ones, grow,
              fixed_costs, fixed_bens, costs, bens):
    """Add one phase of initiative ``j``, for a share of 1, to the monthly costs and benefits.

    A recurring line pays ``base * monthly[t] * growth**(t - t0) * adoption[t]``
    in its months t0, t0+step, ... before t1, where each factor that does not
    apply is a row of ones; the loop over months is then one multiply-add
    that vectorises, whatever the line's options. ``ratios`` holds each
    growing line's monthly growth factor (:func:`growth_ratios`). Fixed lines,
    paid by the initiative's first phase only and whatever its share, go to
    ``fixed_costs`` and ``fixed_bens``; the others are scaled by the share
    later (:func:`eval_subject`).
    """
    horizon = m.horizon
    for ln in range(m.ini_line0[j], m.ini_line1[j]):
        fixed = m.ln_fixed[ln]
        if fixed and not first:
            continue  # fixed costs are paid by the first phase of the initiative only
        benefit = m.ln_benefit[ln]
        a = m.ln_amount[ln]
        varies = m.val_m1[a] > m.val_m0[a]
        scale = loss if benefit else 1.0
        base = scale if varies else scale * v[a]
        monthly = vm[a] if varies else ones
        adoption = adopt if m.ln_scale[ln] else ones
        out = (fixed_bens if benefit else fixed_costs) if fixed else (bens if benefit else costs)
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
        grows = m.ln_growth[ln] >= 0 and v[m.ln_growth[ln]] != 0.0
        if grows:
            # compounded monthly from the first payment: a yearly line's k-th
            # payment grows by (1 + g)**k
            geometric(1.0, ratios[ln], t1 - t0, grow)
            growth = grow
        # views from month t0: indices from 0 are provably non-negative, so the
        # loop has no wrap-around checks and vectorises
        o, mo, ad = out[t0:t1], monthly[t0:t1], adoption[t0:t1]
        if step == 1 and not (varies or grows):
            # the common case, a flat monthly amount: skip multiplying by rows of ones
            if m.ln_scale[ln]:
                for k in range(t1 - t0):
                    o[k] += base * ad[k]
            else:
                for k in range(t1 - t0):
                    o[k] += base
        elif step == 1:
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
def eval_subject(m, s, v, vm, ratios, ini_delay, ini_loss, ini_abandon, ini_rcost, curves,
                 ceilings, ramps, costs, bens, adopt, ones, grow, order, starts, run_init,
                 run_golive, run_share, struck, abandon_at, phases):
    """Monthly costs and benefits of subject ``s`` in one trial.

    A phase's cash is computed once per trial for a share of 1 and kept in
    ``phases`` (:func:`add_cached_phase`): a pilot that starts with its
    initiative and an ungated twin's phases reuse what an earlier subject
    computed.

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
            if ini_abandon[j]:
                abandon_at[j] = month_of(golive, horizon)
        # an abandoned initiative pays the costs of its go-live month, what it took to get
        # there, and nothing after; phases starting in that month or later never start
        end = min(abandon_at[j] + 1, horizon)
        fixed = first and m.ini_fixed[j]
        if n_run == 0 and share == 1.0 and not (fixed or m.ph_shared[p]):
            # no other subject runs this phase: add it straight to the subject. With
            # costs still zero, a share of 1 and no fixed lines this is what the
            # cached path computes, bit for bit, without its copies (which add
            # nothing after the month the initiative is abandoned in)
            if first and t_start < end:
                costs[t_start] += ini_rcost[j]
            fill_adoption(curves[j], ceilings[j], ramps[j], golive, end, adopt)
            add_phase(m, j, start, golive, first, end, ini_loss[j], v, vm, ratios, adopt, ones,
                      grow, costs, bens, costs, bens)
        else:
            add_cached_phase(m, j, start, golive, share, first, fixed, t_start, end, v, vm, ratios,
                             ini_loss, ini_rcost, curves, ceilings, ramps, adopt, ones, grow,
                             phases, costs, bens)
        run_init[n_run] = j
        run_golive[n_run] = golive
        run_share[n_run] = share
        n_run += 1
    return started, failed


@inline
def add_cached_phase(m, j, start, golive, share, first, fixed, t_start, end, v, vm, ratios,
                     ini_loss, ini_rcost, curves, ceilings, ramps, adopt, ones, grow, phases,
                     costs, bens):
    """Add a phase to a subject's cash from its cash for a share of 1 (:func:`cached_phase`).

    That cash is computed once per trial and scaled, so a subject's
    arithmetic is the same whichever other subjects share the phase. All of
    it falls in months ``t_start .. end-1``.
    """
    e, fresh = cached_phase(j, start, first, end, fixed, t_start, phases)
    cash = phases[5][e]
    fc, fb, vc, vb = cash[0], cash[1], cash[2], cash[3]
    if fresh:
        if first:
            vc[t_start] += ini_rcost[j]
        fill_adoption(curves[j], ceilings[j], ramps[j], golive, end, adopt)
        add_phase(m, j, start, golive, first, end, ini_loss[j], v, vm, ratios, adopt, ones,
                  grow, fc, fb, vc, vb)
    # views from month t_start: indices from 0 vectorise (see add_phase)
    c, b, pc, pb = costs[t_start:end], bens[t_start:end], vc[t_start:end], vb[t_start:end]
    for t in range(end - t_start):
        c[t] += share * pc[t]
        b[t] += share * pb[t]
    if fixed:
        pc, pb = fc[t_start:end], fb[t_start:end]
        for t in range(end - t_start):
            c[t] += pc[t]
            b[t] += pb[t]


@inline
def cached_phase(j, start, first, end, fixed, t_start, phases):
    """Slot of ``phases`` holding the cash of a phase of initiative ``j``: (slot, fresh).

    A phase's cash for a share of 1 depends on its initiative, its start,
    whether it is the initiative's first phase in the subject (fixed costs and
    risks) and the month from which the initiative is abandoned, and nothing
    else of the subject. ``phases`` = (count, initiative, start, first, end,
    cash) holds those of the trial so far; where none matches, a new slot is
    cleared in months ``t_start .. end-1`` and returned with ``fresh`` True,
    to be filled by the caller. The cash has four rows: fixed costs and
    benefits (cleared only when the phase pays ``fixed`` lines), then costs
    and benefits per unit of share.
    """
    count, p_init, p_start, p_first, p_end, cash = phases
    for e in range(count[0]):
        if p_init[e] == j and p_start[e] == start and p_first[e] == first and p_end[e] == end:
            return e, False
    e = count[0]
    count[0] = e + 1
    p_init[e], p_start[e], p_first[e], p_end[e] = j, start, first, end
    rows = cash[e]
    for r in range(0 if fixed else 2, 4):
        row = rows[r, t_start:end]
        for t in range(row.size):
            row[t] = 0.0
    return e, True


@reduction
def npv_at(net, w, months, x):
    """Present value of monthly ``net`` at monthly log-rate ``x``, with two derivatives.

    ``w`` receives the discount factors e^(-xt) as running products
    (:func:`geometric`); the three sums then vectorise. ``months`` holds the
    month numbers as floats: multiplying by them, where an integer index
    would be converted and squared as 64-bit integers in every vector lane,
    makes the sums about a third faster.
    """
    geometric(1.0, math.exp(-x), net.size, w)
    f, fp, fpp = 0.0, 0.0, 0.0
    for t in range(net.size):
        c = net[t] * w[t]
        f += c
        fp -= months[t] * c
        fpp += months[t] * months[t] * c
    return f, fp, fpp


@inline
def halley_step(x, f, fp, fpp):
    """The next rate of Halley's method from the present value and its derivatives at ``x``."""
    den = 2.0 * fp * fp - f * fpp
    return x - (2.0 * f * fp / den if den != 0.0 else f / fp)


@inline
def one_sign_change(net):
    """(the flows change sign exactly once, some flow > 0, some flow < 0), zeros skipped.

    Exactly one change means every negative flow comes before every positive
    one, or the reverse: four index reductions, no loop-carried state, so the
    loop vectorises.
    """
    n = net.size
    first_pos, last_pos, first_neg, last_neg = n, -1, n, -1
    for t in range(n):
        c = net[t]
        first_pos = min(first_pos, t if c > 0.0 else n)
        last_pos = max(last_pos, t if c > 0.0 else -1)
        first_neg = min(first_neg, t if c < 0.0 else n)
        last_neg = max(last_neg, t if c < 0.0 else -1)
    pos, neg = last_pos >= 0, last_neg >= 0
    return pos and neg and (last_neg < first_pos or last_pos < first_neg), pos, neg


#: :func:`irr` stops after a Halley step below this (relative): the error left
#: is of the order of its cube.
IRR_STEP = 1e-6
#: the kernel stops at a larger step: the error left is still far below the
#: float32 in which outcomes keep the IRR.
KERNEL_IRR_STEP = 1e-4
#: Halley steps from the starting rate before a search falls back to the bracket:
#: where a root is near, it is found in 2-4 steps; more mean a search creeping
#: along a flat present value, often one that has no root at all.
IRR_MAX_STEPS = 10
#: trials whose IRRs are searched together: one Halley step waits on the one
#: before it, so the steps of several independent searches are interleaved.
LANES = 8
# simulate_chunk starts a new batch of draws at a group of trials
assert BATCH % LANES == 0
SEARCHING, DONE, BRACKET = 0, 1, 2


@jit
def irr(net, start=IRR_START):
    """Annual IRR of monthly cash flows: sum net_t (1+r)^(-t/12) = 0 (NaN if none).

    Searched as a monthly log-rate within [-99 %, +10,000 %] a year, by
    Halley's method from the monthly log-rate ``start`` (10 % a year unless
    given; the kernel starts at the discount rate). Flows that change sign once
    have exactly one root (Descartes' rule of signs). Flows that change sign
    more than once may have several: the one Halley's method reaches from
    ``start`` is reported. Where that search leaves the range or stalls, a
    search inside the sign-change bracket of the whole range decides. NaN where
    the flows never change sign or no root is found in range.
    """
    nets = net.reshape((1, net.size))
    months = np.arange(net.size, dtype=np.float64)
    pos, neg, x, f, fp, fpp, w, state, out = irr_workspace(1, 1, net.size)
    _, pos[0, 0], neg[0, 0] = one_sign_change(net)
    x[0, 0] = start
    f[0, 0], fp[0, 0], fpp[0, 0] = npv_at(net, w[0], months, start)
    irr_rows(nets, 1, IRR_STEP, pos[0], neg[0], x[0], f[0], fp[0], fpp[0], w, months, state, out)
    return out[0]


@jit
def irr_workspace(subjects, rows, horizon):
    """Scratch for :func:`irr_rows`, for ``rows`` searches of each of ``subjects``.

    Per subject and row: whether some flow is > 0 and some < 0, a rate, and
    the present value and its derivatives there; per row: discount factors,
    state and IRR.
    """
    return (np.zeros((subjects, rows), np.bool_), np.zeros((subjects, rows), np.bool_),
            np.zeros((subjects, rows)),
            np.zeros((subjects, rows)), np.zeros((subjects, rows)), np.zeros((subjects, rows)),
            np.zeros((rows, horizon)), np.zeros(rows, np.int64), np.zeros(rows))


@inline
def converged(x, x_new, f, fp, step):
    """Halley's step and Newton's (f / f') are both below ``step`` (relative).

    Far from the root a large f'' can make Halley's step small on its own;
    once both are small the error of ``x_new`` is of the order of the step cubed.
    """
    scale = step * (1.0 + abs(x))
    return abs(x_new - x) <= scale and abs(f) <= scale * abs(fp)


@inline
def irr_rows(nets, n, step, pos, neg, x, f, fp, fpp, w, months, state, out):
    """:func:`irr` of the first ``n`` rows of ``nets`` into ``out``.

    Each row comes with whether some flow is > 0 and some < 0, and the monthly
    log-rate ``x`` where its search starts, with the present value and
    derivatives there. Halley's method stops after a relative step below
    ``step`` (:func:`converged`). The rows' searches advance together, one step
    each in turn, so that the CPU overlaps them; a row's arithmetic depends on
    that row only. ``w`` and ``state`` are scratch (see :func:`irr_workspace`);
    ``months`` holds the month numbers as floats (:func:`npv_at`).
    """
    for k in range(n):
        state[k] = SEARCHING
        if not (pos[k] and neg[k]):
            out[k] = np.nan
            state[k] = DONE
    for _ in range(IRR_MAX_STEPS):
        searching = False
        for k in range(n):
            if state[k] != SEARCHING:
                continue
            x_new = halley_step(x[k], f[k], fp[k], fpp[k])
            if not (IRR_LO - 1.0 < x_new < IRR_HI + 1.0):
                state[k] = BRACKET  # wandered off: let the bracketed search decide
            elif converged(x[k], x_new, f[k], fp[k], step):
                if IRR_LO <= x_new <= IRR_HI:
                    out[k] = math.expm1(12.0 * x_new)
                    state[k] = DONE
                elif one_sign_change(nets[k])[0]:
                    # one sign change, one root, and it lies outside the searched range:
                    # rare, so the signs are checked only here
                    out[k] = np.nan
                    state[k] = DONE
                else:
                    state[k] = BRACKET  # another root may lie inside it
            else:
                x[k] = x_new
                f[k], fp[k], fpp[k] = npv_at(nets[k], w[k], months, x_new)
                searching = True
        if not searching:
            break
    for k in range(n):
        if state[k] != DONE:
            out[k] = irr_bracketed(nets[k], w[k], months, step)


@inline
def irr_bracketed(net, w, months, step):
    """:func:`irr` by Halley steps kept inside a shrinking sign-change bracket.

    The bracket is the whole searched range; NaN where the present value has
    the same sign at both ends.
    """
    lo, hi = IRR_LO, IRR_HI
    f_lo, _, _ = npv_at(net, w, months, lo)
    f_hi, _, _ = npv_at(net, w, months, hi)
    if f_lo == 0.0:
        return math.expm1(12.0 * lo)
    if f_hi == 0.0:
        return math.expm1(12.0 * hi)
    if (f_lo > 0.0) == (f_hi > 0.0):
        return np.nan
    x = IRR_START
    for _ in range(200):
        f, fp, fpp = npv_at(net, w, months, x)
        if f == 0.0:
            break
        if (f > 0.0) == (f_lo > 0.0):
            lo = x
        else:
            hi = x
        x_new = halley_step(x, f, fp, fpp)
        if not (lo < x_new < hi):
            x_new = 0.5 * (lo + hi)
        elif converged(x, x_new, f, fp, step):
            x = x_new
            break
        if hi - lo <= 1e-15 * (1.0 + abs(x)):
            break
        x = x_new
    return math.expm1(12.0 * x)


@reduction
def present_values(costs, bens, discount, months, net):
    """Present values of ``costs`` and ``bens``, two derivatives of the NPV, and its signs.

    Fills ``net`` = benefits - costs; the derivatives are in the monthly
    log-rate, at the discount rate (they start the IRR search there), with
    ``months`` as in :func:`npv_at`. Also returns whether some net flow is > 0
    and some < 0 (else there is no IRR), counted in the same vectorised pass.
    """
    pvc, pvb, d1, d2 = 0.0, 0.0, 0.0, 0.0
    n_pos, n_neg = 0, 0
    for t in range(costs.size):
        c = bens[t] - costs[t]
        net[t] = c
        pvc += costs[t] * discount[t]
        pvb += bens[t] * discount[t]
        cd = c * discount[t]
        d1 -= months[t] * cd
        d2 += months[t] * months[t] * cd
        n_pos += c > 0.0
        n_neg += c < 0.0
    return pvc, pvb, d1, d2, n_pos > 0, n_neg > 0


@inline
def paybacks(net, discount):
    """(payback month, discounted payback month) of monthly ``net``; -1 where none.

    A payback month is the month after the last one whose running sum is
    negative: the one sequential loop of a trial's outcomes.
    """
    horizon = net.size
    acc, dacc = 0.0, 0.0
    last_neg, dlast_neg = -1, -1
    for t in range(horizon):
        acc += net[t]
        dacc += net[t] * discount[t]
        last_neg = t if acc < 0.0 else last_neg
        dlast_neg = t if dacc < 0.0 else dlast_neg
    payback = last_neg + 1 if last_neg + 1 < horizon else -1
    dpayback = dlast_neg + 1 if dlast_neg + 1 < horizon else -1
    return payback, dpayback


@inline
def outcomes(costs, bens, discount, months, net):
    """Outcomes of one subject's monthly cash.

    Fills ``net`` = benefits - costs. Returns (pv_costs, pv_benefits,
    payback_month, discounted_payback_month, some net > 0, some net < 0, and
    the first and second derivatives of the NPV in the monthly log-rate, which
    start the IRR search at the discount rate); payback months are -1 where
    the cumulative cash never stays >= 0. Present values and signs are
    reductions that vectorise; only the running sums (:func:`paybacks`) are
    sequential.
    """
    pvc, pvb, d1, d2, pos, neg = present_values(costs, bens, discount, months, net)
    payback, dpayback = paybacks(net, discount)
    return pvc, pvb, payback, dpayback, pos, neg, d1, d2


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
    max_ph, n_ph = 1, 0
    for s in range(m.sb_ph0.size):
        max_ph = max(max_ph, m.sb_ph1[s] - m.sb_ph0[s])
        n_ph += m.sb_ph1[s] - m.sb_ph0[s]
    return (
        # inputs drawn once, inputs resampled monthly, normal scores of correlated inputs
        np.empty(n_in), np.empty((n_in, horizon)), np.empty(m.co_inputs.size),
        # values (starting as their constants: see eval_values), and those with
        # monthly inputs month by month
        m.val_const.copy(), np.empty((n_val, horizon)),
        # per month: costs, benefits, adoption, a row of ones, growth factors
        np.empty(horizon), np.empty(horizon), np.empty(horizon), np.ones(horizon),
        np.empty(horizon),
        # per initiative: risk delay, kept share, risk cost, abandoned; ceiling, ramp;
        # whether a phase has started; month from which it is abandoned
        np.empty(n_ini), np.empty(n_ini), np.empty(n_ini), np.empty(n_ini, np.bool_),
        np.empty(n_ini), np.empty(n_ini), np.empty(n_ini, np.bool_), np.empty(n_ini, np.int64),
        # per phase of a subject: order of start, start, and of the running phases
        # their initiative, go-live and share
        np.empty(max_ph, np.int64), np.empty(max_ph), np.empty(max_ph, np.int64),
        np.empty(max_ph), np.empty(max_ph),
        # per cash-flow line: monthly growth factor (NaN until computed)
        np.full(m.ln_growth.size, np.nan),
        # a batch's uniforms and inputs drawn once; one input's monthly uniforms
        np.empty((n_in, BATCH)), np.empty((n_in, BATCH)), np.empty(horizon),
        # the keys of a batch's trials; indices of draws in a normal's tails
        np.empty(BATCH, np.uint64), np.empty(max(BATCH, horizon), np.int64),
        # the phases' cash of one trial, at most one per phase of every subject
        (np.zeros(1, np.int64), np.empty(n_ph, np.int64), np.empty(n_ph), np.empty(n_ph, np.bool_),
         np.empty(n_ph, np.int64), np.empty((n_ph, 4, horizon))),
    )


@inline
def start_trial(m, key, trial, col, xs, x, xm, um, tails, v, vm, ratios, delay, loss, rcost,
                abandon, ceilings, ramps, phases):
    """One trial's inputs and everything shared by its subjects.

    Inputs drawn once come from column ``col`` of the batch ``xs``
    (:func:`draw_batch`); those resampled monthly are drawn here. The phases'
    cash of the trial before (:func:`cached_phase`) is forgotten.
    """
    phases[0][0] = 0
    draw_inputs(m, trial_key(key, trial), col, xs, x, xm, um, tails)
    eval_values(m, x, v)
    eval_monthly_values(m, v, xm, vm)
    growth_ratios(m, v, ratios)
    risk_effects(m, x, v, delay, loss, abandon, rcost)
    for j in range(m.ini_golive.size):
        ceilings[j] = v[m.ini_ceiling[j]]
        ramps[j] = 1.0 if m.ini_ramp[j] < 0 else v[m.ini_ramp[j]]


@jit
def trial_cash(m, key, trial, design, row, s, costs_out, bens_out, monthly_out):
    """Monthly costs and benefits of subject ``s`` in one trial (for inspection and tests).

    ``monthly_out`` (n_inputs, horizon) receives, in the rows of inputs
    resampled monthly, their draws month by month; other rows are left as
    they are. Returns the started and failed phase flags.
    """
    return trial_cash_into(m, key, trial, design, row, s, costs_out, bens_out, monthly_out,
                           workspace(m))


@kernel
def trial_cash_into(m, key, trial, design, row, s, costs_out, bens_out, monthly_out, ws):
    """:func:`trial_cash` with the scratch arrays ``ws`` (:func:`workspace`)."""
    (x, xm, z, v, vm, costs, bens, adopt, ones, grow, delay, loss, rcost, abandon,
     ceilings, ramps, struck, abandon_at, order, starts, run_init, run_golive,
     run_share, ratios, ub, xs, um, tkeys, tails, phases) = ws
    draw_batch(m, key, trial - row, trial, trial + 1, design, ub, xs, z, tkeys, tails)
    start_trial(m, key, trial, 0, xs, x, xm, um, tails, v, vm, ratios, delay, loss, rcost,
                abandon, ceilings, ramps, phases)
    st, fl = eval_subject(m, s, v, vm, ratios, delay, loss, abandon, rcost, m.ini_curve,
                          ceilings, ramps, costs, bens, adopt, ones, grow, order, starts,
                          run_init, run_golive, run_share, struck, abandon_at, phases)
    for t in range(m.horizon):
        costs_out[t] = costs[t]
        bens_out[t] = bens[t]
    for i in range(m.in_kind.size):
        if m.in_monthly[i]:
            for t in range(m.horizon):
                monthly_out[i, t] = xm[i, t]
    return st, fl


@kernel
def simulate_chunk(m, key, first, lo, hi, design, pv_costs, pv_benefits, payback, dpayback,
                   irr_out, started, failed, band_paths, compute_irr, ws, lanes):
    """Evaluate trials ``lo .. hi-1`` of every subject (see :func:`simulate_trials`).

    Trials go in groups of :data:`LANES`, whose IRRs are searched together
    once their cash flows are known: ``lanes`` holds, per subject, the net
    cash of the group and :func:`irr_rows`'s scratch.

    Two shortcuts give the outcomes computing them would give, bit for bit: a
    subject identical to an earlier one (``sb_alias``) copies its outcomes,
    and the ungated twin of a gated plan (``sb_twin``) copies the plan's
    outcomes in the trials where none of its gates failed, since the two then
    ran the same phases. A twin's IRR is NaN: only its present values are
    reported (the value of the gates), and its search would cost as much as
    its plan's.
    """
    horizon = m.horizon
    n_band = band_paths.shape[1]
    (x, xm, z, v, vm, costs, bens, adopt, ones, grow, delay, loss, rcost, abandon,
     ceilings, ramps, struck, abandon_at, order, starts, run_init, run_golive,
     run_share, ratios, ub, xs, um, tkeys, tails, phases) = ws
    nets, pos, neg, rate, f, fp, fpp, w, state, lane_irr = lanes
    # IRR searches start at the discount rate, where outcomes() gives the derivatives
    x_rate = -math.log(m.discount[1]) if horizon > 1 else IRR_START
    b0 = lo
    for g0 in range(lo, hi, LANES):
        g1 = min(g0 + LANES, hi)
        b0 = next_batch(m, key, first, lo, hi, g0, b0, design, ub, xs, z, tkeys, tails)
        for trial in range(g0, g1):
            lane = trial - g0
            start_trial(m, key, trial, trial - b0, xs, x, xm, um, tails, v, vm, ratios, delay,
                        loss, rcost, abandon, ceilings, ramps, phases)
            for s in range(m.sb_ph0.size):
                if m.sb_alias[s] >= 0:
                    continue  # identical to an earlier subject: copied below
                plan = m.sb_twin[s]
                if plan >= 0 and failed[plan, trial] == 0:
                    copy_trial(s, plan, trial, pv_costs, pv_benefits, payback, dpayback, started,
                               failed, band_paths)
                    continue
                st, fl = eval_subject(m, s, v, vm, ratios, delay, loss, abandon, rcost,
                                      m.ini_curve, ceilings, ramps, costs, bens, adopt, ones,
                                      grow, order, starts, run_init, run_golive, run_share,
                                      struck, abandon_at, phases)
                (pv_costs[s, trial], pv_benefits[s, trial], payback[s, trial],
                 dpayback[s, trial], pos[s, lane], neg[s, lane], fp[s, lane],
                 fpp[s, lane]) = outcomes(costs, bens, m.discount, m.months, nets[s, lane])
                rate[s, lane] = x_rate
                f[s, lane] = pv_benefits[s, trial] - pv_costs[s, trial]
                started[s, trial] = st
                failed[s, trial] = fl
                if trial < n_band:  # the cumulative net cash, for the fan chart
                    acc = 0.0
                    for t in range(horizon):
                        acc += nets[s, lane, t]
                        band_paths[s, trial, t] = acc
        for s in range(m.sb_ph0.size):
            same = m.sb_alias[s]
            if same < 0:
                plan = m.sb_twin[s]
                if compute_irr and plan < 0:
                    irr_rows(nets[s], g1 - g0, KERNEL_IRR_STEP, pos[s], neg[s], rate[s], f[s],
                             fp[s], fpp[s], w, m.months, state, lane_irr)
                for trial in range(g0, g1):
                    irr_out[s, trial] = lane_irr[trial - g0] if compute_irr and plan < 0 else np.nan
                continue
            for trial in range(g0, g1):  # same trial, same outcome
                copy_trial(s, same, trial, pv_costs, pv_benefits, payback, dpayback, started,
                           failed, band_paths)
                irr_out[s, trial] = irr_out[same, trial]


@inline
def copy_trial(s, same, trial, pv_costs, pv_benefits, payback, dpayback, started, failed,
               band_paths):
    """Subject ``s`` takes subject ``same``'s outcomes of one trial, all but the IRR."""
    pv_costs[s, trial] = pv_costs[same, trial]
    pv_benefits[s, trial] = pv_benefits[same, trial]
    payback[s, trial] = payback[same, trial]
    dpayback[s, trial] = dpayback[same, trial]
    started[s, trial] = started[same, trial]
    failed[s, trial] = failed[same, trial]
    if trial < band_paths.shape[1]:
        for t in range(band_paths.shape[2]):
            band_paths[s, trial, t] = band_paths[same, trial, t]


@jit
def chunk_lanes(m):
    """Per subject: a group of :data:`LANES` trials' net cash, and their IRR searches' scratch."""
    n_sub = m.sb_ph0.size
    return (np.zeros((n_sub, LANES, m.horizon)),) + irr_workspace(n_sub, LANES, m.horizon)


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
                       workspace(m), chunk_lanes(m))


@kernel
def inputs_chunk(m, key, first, lo, hi, design, out, ws):
    """Input values of trials ``lo .. hi-1`` (see :func:`trial_inputs`)."""
    (x, xm, z, v, vm, costs, bens, adopt, ones, grow, delay, loss, rcost, abandon,
     ceilings, ramps, struck, abandon_at, order, starts, run_init, run_golive,
     run_share, ratios, ub, xs, um, tkeys, tails, phases) = ws
    b0 = lo
    for trial in range(lo, hi):
        row = trial - first
        b0 = next_batch(m, key, first, lo, hi, trial, b0, design, ub, xs, z, tkeys, tails)
        start_trial(m, key, trial, trial - b0, xs, x, xm, um, tails, v, vm, ratios, delay, loss,
                    rcost, abandon, ceilings, ramps, phases)
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
