"""Counter-based random numbers and quantile functions for the kernels.

Every draw is a pure function of (seed, trial, stream, counter): ``stream`` is
a stable 64-bit key derived from an input's name, ``counter`` is the month for
inputs resampled monthly and 0 otherwise. A trial's numbers therefore do not
depend on the block size, the thread count, the order in which trials are
evaluated, or on which other inputs a scenario declares (in the spirit of
Hubbard's HDR generator). Draws are turned into values by inverse transform,
which keeps truncation exact and lets correlations act on the uniforms.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numba
import numpy as np

# One place for the numba options used by every kernel:
# - cache=True: compile once per installation, not once per process;
# - error_model="numpy": division by zero gives inf/nan instead of raising,
#   which lets loops containing divisions vectorise;
# - nogil=True: kernels release the GIL so a progress bar keeps moving.
jit = functools.partial(numba.njit, cache=True, error_model="numpy", nogil=True)
# The per-trial kernels run without numba's reference counting (_nrt=False):
# they allocate nothing, and every array they touch is allocated by their
# caller, so counting references only costs atomic operations; with several
# arrays passed to each helper, per input, line and month, those were about a
# third of the run time.
kernel = functools.partial(jit, _nrt=False)
# Sums over months that may be reordered (summed in vector lanes) and fused
# into multiply-adds: the result is still a fixed function of the flows, the
# same whatever the thread count, but no longer the left-to-right sum.
reduction = functools.partial(kernel, fastmath={"reassoc", "contract"})
# Helpers that take arrays are inlined into their caller at the numba IR level:
# a call that is not inlined increments and decrements the reference count of
# every array it receives (atomic operations), which costs more than the work
# itself when the call is made per input, per month or per line.
inline = functools.partial(jit, inline="always")

# splitmix64 constants (Steele, Lea & Flood 2014, "Fast splittable PRNGs").
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 2.0**-53

# Kinds of quantile function; the model compiler writes these codes.
FIXED, UNIFORM, TRIANGULAR, NORMAL, LOGNORMAL, TABLE, DISCRETE = range(7)

# A TABLE input (beta, PERT) is a table of its quantiles: TABLE_POINTS at
# evenly spaced probabilities, interpolated linearly, then two tail tables
# for the first and last TAIL_P of probability, where even spacing fails:
# the last evenly spaced cell of a beta(2, 18) spans 0.45 to 1, and a draw
# in it, one in 4,096, came out anywhere in that range, where the true
# quantile is below 0.53 for all but one draw in 10^5. A tail table holds
# the quantiles at p = 2^-s and 1 - 2^-s for s from TAIL_FROM to TAIL_TO
# (the uniform draws' distance from 0 and 1 is at least 2^-54) in steps of
# 1 / TAIL_STEPS, interpolated linearly in s.
TABLE_POINTS = 4097
TAIL_FROM = 6
TAIL_TO = 54
TAIL_STEPS = 16
TAIL_POINTS = (TAIL_TO - TAIL_FROM) * TAIL_STEPS + 1
TAIL_P = 2.0**-TAIL_FROM


def stream_key(name: str) -> np.uint64:
    """Return the stable 64-bit stream key of an input name.

    Keys come from a cryptographic hash of the name, so adding, removing or
    reordering inputs never shifts the draws of the others.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def seed_key(seed: int) -> np.uint64:
    """Return the 64-bit key of a user seed (any non-negative integer)."""
    return stream_key(f"roisim-seed:{int(seed)}")


@jit
def _mix(z):
    # splitmix64 finaliser: a bijection on 64 bits with full avalanche.
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def trial_key(key, trial):
    """Key of one trial: every draw of the trial starts from it."""
    return _mix(key ^ (np.uint64(trial) * _GOLDEN))


@jit
def uniform01(tkey, stream, counter):
    """A uniform draw in the open interval (0, 1) for (trial, stream, counter)."""
    h = _mix(_mix(tkey ^ stream) ^ (np.uint64(counter) * _GOLDEN))
    # 53 high bits, centred in their cell: never exactly 0 or 1.
    return (np.float64(h >> _S11) + 0.5) * _TWO_M53


# Wichura (1988), Algorithm AS 241 "PPND16": the normal quantile to about 1e-16
# relative accuracy with one rational function and no refinement step.
_A = (3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3,
      1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
      3.3430575583588128105e4, 2.5090809287301226727e3)
_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
      5.2264952788528545610e3)
_C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
      3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
      2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
      1.05075007164441684324e-9)
_E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
      2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
      2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
      2.04426310338993978564e-15)
_SQRT2 = math.sqrt(2.0)


@jit
def _poly(c, x):
    return ((((((c[7] * x + c[6]) * x + c[5]) * x + c[4]) * x + c[3]) * x + c[2]) * x
            + c[1]) * x + c[0]


#: AS 241 uses its central rational function for |p - 0.5| up to this
NDTRI_CENTRAL = 0.425


@jit
def ndtri_central(q):
    """AS 241's central branch: the normal quantile at p = 0.5 + q, for |q| <= 0.425."""
    r = 0.180625 - q * q
    return q * _poly(_A, r) / _poly(_B, r)


@jit
def ndtri(p):
    """Quantile of the standard normal distribution (AS 241)."""
    q = p - 0.5
    if abs(q) <= NDTRI_CENTRAL:
        return ndtri_central(q)
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        x = _poly(_C, r) / _poly(_D, r)
    else:
        r -= 5.0
        x = _poly(_E, r) / _poly(_F, r)
    return -x if q < 0.0 else x


@jit
def ndtr(x):
    """Distribution function of the standard normal distribution."""
    return 0.5 * math.erfc(-x / _SQRT2)


@inline
def table_tail(tab_x, off, n, p):
    """A TABLE input's quantile at ``p`` in its first or last ``TAIL_P`` of probability."""
    base = off + n - 2 * TAIL_POINTS  # the lower tail's table, after the evenly spaced one
    w = p
    if p >= 0.5:
        base += TAIL_POINTS
        w = 1.0 - p
    s = -math.log2(max(w, 2.0**-TAIL_TO))
    j = min(max((s - TAIL_FROM) * TAIL_STEPS, 0.0), TAIL_POINTS - 1.0)
    i = min(int(j), TAIL_POINTS - 2)
    f = j - i
    return tab_x[base + i] * (1.0 - f) + tab_x[base + i + 1] * f


@inline
def quantile(kind, a, b, c, ulo, uhi, tab_x, tab_c, tab_g, off, n, u):
    """Value of one input at uniform draw ``u`` in (0, 1).

    ``a, b, c`` are the first three parameters of the kind (see the model
    compiler); ``ulo`` and ``uhi`` restrict the draw to [F(at_least), F(at_most)], which
    samples the truncated distribution exactly (equivalent to redrawing).
    ``TABLE`` inputs interpolate a quantile table of ``n`` entries: equally
    spaced probabilities, then the tails (:func:`table_tail`); ``DISCRETE``
    inputs look ``u`` up in a cumulative table ``tab_c`` through its guide
    table ``tab_g`` (:func:`guide_table`).
    """
    p = ulo + u * (uhi - ulo)
    if kind == FIXED:
        return a
    if kind == UNIFORM:
        return a + p * (b - a)
    if kind == TRIANGULAR:  # a = min, b = mode, c = max
        fb = (b - a) / (c - a)
        if p < fb:
            return a + math.sqrt(p * (c - a) * (b - a))
        return c - math.sqrt((1.0 - p) * (c - a) * (c - b))
    if kind == NORMAL:
        return a + b * ndtri(p)
    if kind == LOGNORMAL:
        return math.exp(a + b * ndtri(p))
    if kind == TABLE:
        if p < TAIL_P or p > 1.0 - TAIL_P:
            return table_tail(tab_x, off, n, p)
        even = n - 2 * TAIL_POINTS
        h = p * (even - 1)
        k = min(int(h), even - 2)
        f = h - k
        return tab_x[off + k] * (1.0 - f) + tab_x[off + k + 1] * f
    # DISCRETE: the first outcome whose cumulative probability exceeds p, found
    # from a guide table (Chen & Asau 1974): tab_g[off + j] is the first outcome
    # whose cumulative probability exceeds j / n, so the search starts at most a
    # few steps before the answer.
    i = tab_g[off + min(int(p * n), n - 1)]
    # rounding can leave p at or past the last cumulative step: stop at the last outcome
    while i < n - 1 and tab_c[off + i] <= p:
        i += 1
    return tab_x[off + i]


@inline
def quantiles(kind, a, b, c, ulo, uhi, tab_x, tab_c, tab_g, off, n, u, out, tails):
    """``out[k] = quantile(kind, ..., u[k])`` for every k: the same values, faster.

    One loop per kind, free of branches where the kind allows, so that the
    loop vectorises across draws: triangular computes both sides and picks
    one; normal and lognormal take AS 241's central branch for every draw and
    then redo the few in the tails (|p - 0.5| > 0.425, 15% of draws), whose
    logarithm does not vectorise; tables interpolate their evenly spaced
    part for every draw and redo the draws in their tails (1 in 32);
    discrete kinds take their guide table's first step for every draw
    without a branch. ``tails`` is scratch for at least ``u.size`` indices.
    """
    size = u.size
    width = uhi - ulo
    if kind == FIXED:
        for k in range(size):
            out[k] = a
    elif kind == UNIFORM:
        for k in range(size):
            out[k] = a + (ulo + u[k] * width) * (b - a)
    elif kind == TRIANGULAR:
        fb = (b - a) / (c - a)
        for k in range(size):
            p = ulo + u[k] * width
            left = a + math.sqrt(p * (c - a) * (b - a))
            right = c - math.sqrt((1.0 - p) * (c - a) * (c - b))
            out[k] = left if p < fb else right
    elif kind == NORMAL or kind == LOGNORMAL:
        for k in range(size):
            q = (ulo + u[k] * width) - 0.5
            # outside the central range the value is replaced below; clamping
            # keeps the rational function finite there
            out[k] = ndtri_central(min(max(q, -NDTRI_CENTRAL), NDTRI_CENTRAL))
        # the tails' indices first, without a branch: a test per draw that is
        # true for a random 15% of them would be mispredicted a third of the time
        n_tail = 0
        for k in range(size):
            tails[n_tail] = k
            n_tail += abs((ulo + u[k] * width) - 0.5) > NDTRI_CENTRAL
        for j in range(n_tail):
            k = tails[j]
            out[k] = ndtri(ulo + u[k] * width)
        for k in range(size):
            out[k] = a + b * out[k]
        if kind == LOGNORMAL:
            for k in range(size):
                out[k] = math.exp(out[k])
    elif kind == TABLE:
        even = n - 2 * TAIL_POINTS
        for k in range(size):
            h = (ulo + u[k] * width) * (even - 1)
            i = min(int(h), even - 2)
            f = h - i
            out[k] = tab_x[off + i] * (1.0 - f) + tab_x[off + i + 1] * f
        # the tails (one draw in 32) are redone apart, as the normal's are
        n_tail = 0
        for k in range(size):
            tails[n_tail] = k
            p = ulo + u[k] * width
            n_tail += (p < TAIL_P) | (p > 1.0 - TAIL_P)
        for j in range(n_tail):
            k = tails[j]
            out[k] = table_tail(tab_x, off, n, ulo + u[k] * width)
    else:
        # DISCRETE: quantile()'s guide-table search in two passes: the guide's
        # start and one step, free of branches, for every draw (the index is
        # kept in ``out``); then the steps left, which few draws need, so the
        # test that ends the search is almost always false at once
        last = n - 1
        for k in range(size):
            p = ulo + u[k] * width
            i = tab_g[off + min(int(p * n), last)]
            out[k] = i + ((i < last) & (tab_c[off + i] <= p))
        for k in range(size):
            p = ulo + u[k] * width
            i = int(out[k])
            while i < last and tab_c[off + i] <= p:
                i += 1
            out[k] = tab_x[off + i]


def guide_table(cdf: np.ndarray) -> np.ndarray:
    """For j = 0..n-1, the first index whose cumulative probability exceeds j / n."""
    n = cdf.size
    if n == 0:
        return np.zeros(0, np.int64)
    guide = np.searchsorted(cdf, np.arange(n) / n, side="right")
    return np.minimum(guide, n - 1).astype(np.int64)


@jit
def draw_many(kind, par, ulo, uhi, tab_x, tab_c, tab_g, key, stream, first, out):
    """Draws of one input for trials ``first, first+1, ...`` into ``out``."""
    u = np.empty(out.size)
    for i in range(out.size):
        u[i] = uniform01(trial_key(key, first + i), stream, 0)
    quantiles(kind, par[0], par[1], par[2], ulo, uhi, tab_x, tab_c, tab_g, 0, tab_x.size, u, out,
              np.empty(out.size, np.int64))
