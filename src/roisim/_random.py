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


# Acklam's rational approximation of the normal quantile, refined by one
# Halley step against erfc (relative error below 1e-15 over (0, 1)).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@jit
def ndtri(p):
    """Quantile of the standard normal distribution."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    elif p > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -(((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    else:
        q = p - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / (
            ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0
        )
    # Halley refinement; in the upper tail work with the complement for accuracy.
    if p > 0.5:
        e = 0.5 * math.erfc(x / _SQRT2) - (1.0 - p)
        e = -e
    else:
        e = 0.5 * math.erfc(-x / _SQRT2) - p
    u = e * _SQRT2PI * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@jit
def ndtr(x):
    """Distribution function of the standard normal distribution."""
    return 0.5 * math.erfc(-x / _SQRT2)


@jit
def quantile(kind, par, ulo, uhi, tab_x, tab_c, off, n, u):
    """Value of one input at uniform draw ``u`` in (0, 1).

    ``ulo`` and ``uhi`` restrict the draw to [F(at_least), F(at_most)], which
    samples the truncated distribution exactly (equivalent to redrawing).
    ``TABLE`` inputs interpolate a quantile table of ``n`` equally spaced
    probabilities; ``DISCRETE`` inputs look ``u`` up in a cumulative table.
    """
    p = ulo + u * (uhi - ulo)
    if kind == FIXED:
        return par[0]
    if kind == UNIFORM:
        return par[0] + p * (par[1] - par[0])
    if kind == TRIANGULAR:
        a, c, b = par[0], par[1], par[2]
        fc = (c - a) / (b - a)
        if p < fc:
            return a + math.sqrt(p * (b - a) * (c - a))
        return b - math.sqrt((1.0 - p) * (b - a) * (b - c))
    if kind == NORMAL:
        return par[0] + par[1] * ndtri(p)
    if kind == LOGNORMAL:
        return math.exp(par[0] + par[1] * ndtri(p))
    if kind == TABLE:
        h = p * (n - 1)
        k = min(int(h), n - 2)
        f = h - k
        return tab_x[off + k] * (1.0 - f) + tab_x[off + k + 1] * f
    # DISCRETE: first outcome whose cumulative probability exceeds p.
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if tab_c[off + mid] > p:
            hi = mid
        else:
            lo = mid + 1
    # rounding can leave p at or past the last cumulative step: lo is then n - 1,
    # the last outcome, which is the right answer.
    return tab_x[off + lo]


@jit
def draw_many(kind, par, ulo, uhi, tab_x, tab_c, key, stream, first, out):
    """Draws of one input for trials ``first, first+1, ...`` into ``out``."""
    for i in range(out.size):
        u = uniform01(trial_key(key, first + i), stream, 0)
        out[i] = quantile(kind, par, ulo, uhi, tab_x, tab_c, 0, tab_x.size, u)
