"""The distributions a scenario may use, validated and compiled for the kernel.

Each distribution is a pydantic model that checks its own parameters and
knows two things about itself: ``reference()``, the equivalent frozen
``scipy.stats`` distribution (before truncation), and ``compile()``, the
quantile parameters the kernel samples it with (:class:`QuantileSpec`).
Sampling is by inverse transform everywhere, so truncation with ``at_least``
and ``at_most`` restricts the uniform draw to [F(at_least), F(at_most)] and is
exact, never a clip.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError
from scipy import special

from roisim import _random as rnd

#: z-score of the 95th percentile: a p5..p95 interval is mean +- Z95 * sd.
Z95 = float(special.ndtri(0.95))
#: smallest probability mass a truncation may leave.
MIN_MASS = 1e-9


def printable(text: str) -> str:
    """Text with control characters escaped, so a message stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def number(x: float) -> str:
    """``x`` as a message quotes a number from a file or an option: every digit, grouped.

    The shortest text that reads back as ``x`` (Python's repr), without a
    trailing ".0" and with thousands separators: 0.99999999 stays 0.99999999
    and 1234567.5 is 1,234,567.5, where ``:g`` would print 1 and 1.23457e+06.
    """
    if isinstance(x, int):
        return f"{x:,}"
    text = repr(float(x))
    if "e" in text or not math.isfinite(x):
        return text
    whole, _, fraction = text.partition(".")
    whole = f"{int(whole):,}" if whole != "-0" else whole
    return whole if fraction == "0" else f"{whole}.{fraction}"


def did_you_mean(name: str, known: Iterable[str], *, value: bool = False) -> str:
    """"; did you mean 'X'?" for the known name closest to a misspelt ``name``; "" where none is close.

    Case is ignored first ('Orders' for 'orders'), then spelling is matched
    as difflib does. Where ``name`` stands for a value, a number written in
    quotes ("1000") is told to lose them.
    """
    known = list(known)
    same = [k for k in known if k.casefold() == name.casefold()]
    close = same or get_close_matches(name, known, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return quoted_number(name) if value else ""


#: currency signs a number copied from a spreadsheet may carry
CURRENCY_SIGNS = "$€£¥₹"


def quoted_number(name: str) -> str:
    """"; a number in quotes is read as an input's name: write 1500 without quotes"; else "".

    For an input's ``name`` that is a number in quotes (:func:`number_advice`).
    """
    kind, advice = number_advice(name)
    if not advice:
        return ""
    return f"; {'an' if kind == 'amount' else 'a'} {kind} in quotes is read as an input's name: {advice}"


def number_advice(text: str) -> tuple[str, str]:
    """(what ``text`` is, how TOML writes it) for a number in quotes; ("", "") for other text.

    The number may be as a spreadsheet shows it: grouped (``"1,500"``,
    ``"1.500,5"``), with a currency sign (``"$1,500"``, ``"1500 €"``: an
    amount) or as a percentage (``"15%"``: the share 0.15).
    """
    text = text.strip()
    percent = text.endswith("%")
    text = text.removesuffix("%").strip()
    sign = text[0] if text[:1] in ("-", "+") and text[1:2] in tuple(CURRENCY_SIGNS) else ""
    text = text.removeprefix(sign)  # -$5: the sign before the currency's
    currency = bool(text) and (text[0] in CURRENCY_SIGNS or text[-1] in CURRENCY_SIGNS)
    text = sign + text.strip(CURRENCY_SIGNS).strip()
    for decimal in (".", ","):
        try:
            value = csv_number(text, decimal)
            break
        except ValueError:
            continue
    else:
        return "", ""
    if not math.isfinite(value):
        return "", ""
    if not (percent or currency or "," in text):  # TOML as it stands: 1500, 1_500, 2.5e3
        return "number", f"write {text} without quotes"
    written = repr(value / 100.0 if percent else value).removesuffix(".0")
    if percent:
        return "percentage", f"write the share {written}, without quotes"
    if currency:
        return "amount", (f"write {written}, without quotes or currency sign (amounts are in "
                          "the scenario's currency)")
    mark = "TOML's decimal mark is ." if decimal == "," else "TOML groups digits with _, as 1_500"
    return "number", f"write {written}, without quotes ({mark})"


def fail(code: str, message: str, **ctx: Any) -> PydanticCustomError:
    """Return a validation error with a message written for scenario authors.

    Numbers in ``ctx`` are quoted as :func:`number` writes them.
    """
    ctx = {key: number(value) if isinstance(value, (int, float)) and not isinstance(value, bool)
           else value for key, value in ctx.items()}
    return PydanticCustomError(code, message, ctx)


class Strict(BaseModel):
    """Base of every scenario model: strict types, unknown keys rejected with a hint."""

    # allow_inf_nan=False: TOML can write nan and inf, which must never reach the kernel
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    #: fields filled in by roisim itself, never written in a file
    internal_keys: ClassVar[frozenset[str]] = frozenset()
    #: keys of a sibling model, written here by mistake: what to say instead of "unknown key"
    misplaced_keys: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = {f.alias or name for name, f in cls.model_fields.items()}
            allowed -= cls.internal_keys
            for key in data:
                if key in ("at_least", "at_most") and key not in allowed:
                    raise fail("not_truncatable",
                               "{key} applies only to continuous distributions; "
                               "this one cannot be truncated", key=key)
                if key not in allowed and key in cls.misplaced_keys:
                    raise fail("misplaced_key", cls.misplaced_keys[key])
                if key not in allowed:
                    hint = did_you_mean(str(key), sorted(allowed))
                    raise fail(
                        "unknown_key",
                        "unknown key '{key}'{hint} (expected one of: {allowed})",
                        key=printable(str(key)),
                        hint=hint,
                        allowed=", ".join(sorted(allowed)),
                    )
        return data


@dataclass(frozen=True)
class QuantileSpec:
    """How the kernel samples one input: a quantile function and its parameters."""

    kind: int
    par: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    ulo: float = 0.0
    uhi: float = 1.0
    table_x: np.ndarray = field(default_factory=lambda: np.empty(0))
    table_c: np.ndarray = field(default_factory=lambda: np.empty(0))


class Dist(Strict):
    """Common keys of every distribution."""

    dist: str
    resample: Literal["trial", "monthly"] = "trial"
    continuous: ClassVar[bool] = True

    def reference(self) -> Any:
        """The frozen scipy.stats distribution, before truncation (for tests and checks)."""
        raise NotImplementedError

    def raw_support(self) -> tuple[float, float]:
        """Support before truncation."""
        return self.reference().support()  # type: ignore[no-any-return]

    def cdf(self, x: Any) -> Any:
        """Distribution function before truncation."""
        return self.reference().cdf(x)

    def ppf(self, q: Any) -> Any:
        """Quantile function before truncation."""
        return self.reference().ppf(q)

    def compile(self) -> QuantileSpec:
        """The kernel's quantile parameters for this distribution."""
        raise NotImplementedError

    def sample(self, size: int, *, seed: int = 0, first: int = 0) -> np.ndarray:
        """Draws exactly as the kernel makes them, for trials ``first .. first+size-1``.

        Parameters
        ----------
        size : int
            Number of draws.
        seed : int
            The run's seed.
        first : int
            Index of the first trial.
        """
        spec = self.compile()
        out = np.empty(size)
        table_c = spec.table_c if spec.table_c.size else np.zeros(spec.table_x.size)
        rnd.draw_many(spec.kind, np.array(spec.par, np.float64), spec.ulo, spec.uhi,
                      spec.table_x, table_c, rnd.guide_table(spec.table_c),
                      rnd.seed_key(seed), rnd.stream_key("sample"), first, out)
        return out

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (after truncation)."""
        lo, hi = self.raw_support()
        at_least, at_most = getattr(self, "at_least", None), getattr(self, "at_most", None)
        # "is None", not "or": a bound of 0 (at_least = 0, the commonest) is a bound
        return (
            lo if at_least is None else max(lo, at_least),
            hi if at_most is None else min(hi, at_most),
        )

    def bin_probabilities(self, edges: np.ndarray) -> np.ndarray:
        """The probability that a draw falls in each bin between ``edges`` (after truncation).

        Bins are those of ``np.histogram``: each holds its left edge, the last
        its right edge too, so that the draws' histogram on the same edges
        can be set against these probabilities times the number of draws.
        """
        # the discrete distributions' and a constant's; continuous ones override this
        values, probs = self.outcomes()  # type: ignore[attr-defined]
        return np.histogram(values, bins=np.asarray(edges, dtype=np.float64), weights=probs)[0]


class Truncatable(Dist):
    """A continuous distribution that accepts ``at_least`` and ``at_most``."""

    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _check_truncation(self) -> Truncatable:
        lo, hi = self.at_least, self.at_most
        if lo is not None and hi is not None and lo >= hi:
            raise fail(
                "bad_truncation",
                "at_least ({lo}) must be less than at_most ({hi})",
                lo=lo,
                hi=hi,
            )
        if lo is not None or hi is not None:
            ulo, uhi = self.truncated_range()
            if uhi - ulo < MIN_MASS:
                raise fail(
                    "empty_truncation",
                    "truncating to [{lo}, {hi}] leaves no probability: the distribution "
                    "puts (almost) nothing in that range",
                    lo=-math.inf if lo is None else lo,
                    hi=math.inf if hi is None else hi,
                )
        return self

    def truncated_range(self) -> tuple[float, float]:
        """[F(at_least), F(at_most)] under the untruncated distribution."""
        ulo = 0.0 if self.at_least is None else float(self.cdf(self.at_least))
        uhi = 1.0 if self.at_most is None else float(self.cdf(self.at_most))
        return ulo, uhi

    def bin_probabilities(self, edges: np.ndarray) -> np.ndarray:
        """:meth:`Dist.bin_probabilities`, from the distribution function, truncation included."""
        lo, hi = self.support()
        ulo, uhi = self.truncated_range()
        below = np.asarray(self.cdf(np.clip(np.asarray(edges, dtype=np.float64), lo, hi)),
                           dtype=np.float64)
        return np.diff(below) / (uhi - ulo)

    def sf(self, x: Any) -> Any:
        """Survival function 1 - F(x) before truncation, accurate where F(x) is near 1."""
        return self.reference().sf(x)

    def isf(self, q: Any) -> Any:
        """Quantile at 1 - q before truncation, accurate for small q."""
        return self.reference().isf(q)

    def _spec(self, kind: int, par: tuple[float, ...]) -> QuantileSpec:
        ulo, uhi = self.truncated_range()
        return QuantileSpec(kind, tuple(par) + (0.0,) * (4 - len(par)), ulo, uhi)  # type: ignore[arg-type]

    def _table(self) -> QuantileSpec:
        # Quantiles on an even grid of the truncated probability range, where
        # linear interpolation keeps the CDF error below one grid step, and in
        # its first and last rnd.TAIL_P at probabilities 2^-s from either end
        # (see rnd.TABLE_POINTS), where it keeps the error a small fraction of
        # the tail's own probability. The upper tail is computed from the
        # survival function: 1 - 2^-54 is not a double.
        ulo, uhi = self.truncated_range()
        mass = uhi - ulo
        even = ulo + np.linspace(0.0, 1.0, rnd.TABLE_POINTS) * mass
        tail = 2.0 ** -(rnd.TAIL_FROM + np.arange(rnd.TAIL_POINTS) / rnd.TAIL_STEPS) * mass
        # probability below the lower tail's points and above the upper tail's; where
        # one is above 1/2 (a truncation far in a tail) the other side's function is
        # the accurate one
        before = 1.0 if self.at_least is None else float(self.sf(self.at_least))
        beyond = 0.0 if self.at_most is None else float(self.sf(self.at_most))
        low, high = ulo + tail, beyond + tail
        lower = np.where(low <= 0.5, self.ppf(np.minimum(low, 0.5)),
                         self.isf(np.clip(before - tail, 0.0, 0.5)))
        upper = np.where(high <= 0.5, self.isf(np.minimum(high, 0.5)),
                         self.ppf(np.clip(uhi - tail, 0.0, 0.5)))
        qs = np.concatenate([self.ppf(even), lower, upper])
        lo, hi = self.support()
        return QuantileSpec(rnd.TABLE, table_x=np.clip(qs, lo, hi).astype(np.float64))


def _check_order(lo_name: str, lo: float, hi_name: str, hi: float) -> None:
    if not lo < hi:
        raise fail(
            "bad_order",
            "{hi_name} ({hi}) must be greater than {lo_name} ({lo})",
            lo_name=lo_name,
            lo=lo,
            hi_name=hi_name,
            hi=hi,
        )


def _check_mode(lo: float, mode: float, hi: float) -> None:
    _check_order("min", lo, "max", hi)
    if not lo <= mode <= hi:
        raise fail(
            "bad_mode",
            "mode ({mode}) must lie between min ({lo}) and max ({hi})",
            mode=mode,
            lo=lo,
            hi=hi,
        )


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise fail("not_positive", "{name} must be greater than 0, found {value}",
                   name=name, value=value)


class Fixed(Dist):
    """A constant."""

    dist: Literal["fixed"]
    value: float
    continuous: ClassVar[bool] = False

    def reference(self) -> Any:
        return _FiniteReference(*self.outcomes())

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """The one value, with probability 1."""
        return np.array([self.value]), np.array([1.0])

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    def compile(self) -> QuantileSpec:
        return QuantileSpec(rnd.FIXED, (self.value, 0.0, 0.0, 0.0))


class Uniform(Truncatable):
    """Uniform on [min, max]."""

    dist: Literal["uniform"]
    min: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and _numbers(data, "min", "max"):
            _check_order("min", data["min"], "max", data["max"])
        return data

    def reference(self) -> Any:
        from scipy import stats

        return stats.uniform(self.min, self.max - self.min)

    def raw_support(self) -> tuple[float, float]:
        return self.min, self.max

    def cdf(self, x: Any) -> Any:
        return np.clip((np.asarray(x) - self.min) / (self.max - self.min), 0.0, 1.0)

    def sf(self, x: Any) -> Any:
        return np.clip((self.max - np.asarray(x)) / (self.max - self.min), 0.0, 1.0)

    def compile(self) -> QuantileSpec:
        return self._spec(rnd.UNIFORM, (self.min, self.max))


class Triangular(Truncatable):
    """Triangular on [min, max] with its peak at mode."""

    dist: Literal["triangular"]
    min: float
    mode: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and _numbers(data, "min", "mode", "max"):
            _check_mode(data["min"], data["mode"], data["max"])
        return data

    def reference(self) -> Any:
        from scipy import stats

        width = self.max - self.min
        return stats.triang((self.mode - self.min) / width, loc=self.min, scale=width)

    def raw_support(self) -> tuple[float, float]:
        return self.min, self.max

    def cdf(self, x: Any) -> Any:
        a, c, b = self.min, self.mode, self.max
        x = np.clip(np.asarray(x, dtype=np.float64), a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(c > a, (x - a) ** 2 / ((b - a) * (c - a)), 0.0)
            right = np.where(b > c, 1.0 - (b - x) ** 2 / ((b - a) * (b - c)), 1.0)
        return np.where(x <= c, left, right)

    def sf(self, x: Any) -> Any:
        a, c, b = self.min, self.mode, self.max
        x = np.clip(np.asarray(x, dtype=np.float64), a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(c > a, 1.0 - (x - a) ** 2 / ((b - a) * (c - a)), 1.0)
            right = np.where(b > c, (b - x) ** 2 / ((b - a) * (b - c)), 0.0)
        return np.where(x < c, left, right)

    def compile(self) -> QuantileSpec:
        return self._spec(rnd.TRIANGULAR, (self.min, self.mode, self.max))


class Pert(Truncatable):
    """Beta-PERT on [min, max] with mode and shape lambda, as @RISK's RiskPert."""

    dist: Literal["pert"]
    min: float
    mode: float
    max: float
    lambda_: float = Field(4.0, alias="lambda")

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if _numbers(data, "min", "mode", "max"):
                _check_mode(data["min"], data["mode"], data["max"])
            if _numbers(data, "lambda"):
                _check_positive("lambda", data["lambda"])
        return data

    def shape(self) -> tuple[float, float]:
        """The beta shapes (alpha, beta) of this PERT (Vose 2008, eq. 4.10)."""
        width = self.max - self.min
        a = 1.0 + self.lambda_ * (self.mode - self.min) / width
        b = 1.0 + self.lambda_ * (self.max - self.mode) / width
        return a, b

    def reference(self) -> Any:
        from scipy import stats

        a, b = self.shape()
        return stats.beta(a, b, loc=self.min, scale=self.max - self.min)

    def raw_support(self) -> tuple[float, float]:
        return self.min, self.max

    def _unit(self, x: Any) -> Any:
        """``x`` on the beta's [0, 1]."""
        return np.clip((np.asarray(x, dtype=np.float64) - self.min) / (self.max - self.min), 0, 1)

    def _scaled(self, z: Any) -> Any:
        """A value on [0, 1] on [min, max]."""
        return self.min + (self.max - self.min) * z

    def cdf(self, x: Any) -> Any:
        return special.betainc(*self.shape(), self._unit(x))

    def sf(self, x: Any) -> Any:
        return special.betaincc(*self.shape(), self._unit(x))

    def ppf(self, q: Any) -> Any:
        return self._scaled(special.betaincinv(*self.shape(), q))

    def isf(self, q: Any) -> Any:
        return self._scaled(special.betainccinv(*self.shape(), q))

    def compile(self) -> QuantileSpec:
        return self._table()


class TwoWays(Truncatable):
    """A distribution given by mean and sd, or by a 90% interval p5..p95."""

    mean: float | None = None
    sd: float | None = None
    p5: float | None = None
    p95: float | None = None
    #: parameters that must be > 0 (besides sd)
    positive: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict):
            _check_pair(data, ("mean", "sd"), ("p5", "p95"))
            for name in (*cls.positive, "sd"):
                if _numbers(data, name):
                    _check_positive(name, data[name])
            if _numbers(data, "p5", "p95"):
                _check_order("p5", data["p5"], "p95", data["p95"])
        return data


class Normal(TwoWays):
    """Normal, by mean and sd or by a 90% interval p5..p95."""

    dist: Literal["normal"]

    def params(self) -> tuple[float, float]:
        """(mean, sd) of the normal, whichever way it was given."""
        if self.mean is not None and self.sd is not None:
            return self.mean, self.sd
        assert self.p5 is not None and self.p95 is not None
        return (self.p5 + self.p95) / 2, (self.p95 - self.p5) / (2 * Z95)

    def reference(self) -> Any:
        from scipy import stats

        mu, sd = self.params()
        return stats.norm(mu, sd)

    def raw_support(self) -> tuple[float, float]:
        return -math.inf, math.inf

    def cdf(self, x: Any) -> Any:
        mu, sd = self.params()
        return special.ndtr((np.asarray(x, dtype=np.float64) - mu) / sd)

    def sf(self, x: Any) -> Any:
        mu, sd = self.params()
        return special.ndtr((mu - np.asarray(x, dtype=np.float64)) / sd)

    def compile(self) -> QuantileSpec:
        return self._spec(rnd.NORMAL, self.params())


class Lognormal(TwoWays):
    """Lognormal, by the mean and sd of the value itself or by a 90% interval."""

    dist: Literal["lognormal"]
    positive: ClassVar[tuple[str, ...]] = ("mean", "p5")

    def params(self) -> tuple[float, float]:
        """(mu, sigma) of the underlying normal of log(value)."""
        if self.mean is not None and self.sd is not None:
            sigma2 = math.log1p((self.sd / self.mean) ** 2)
            return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)
        assert self.p5 is not None and self.p95 is not None
        lo, hi = math.log(self.p5), math.log(self.p95)
        return (lo + hi) / 2, (hi - lo) / (2 * Z95)

    def reference(self) -> Any:
        from scipy import stats

        mu, sigma = self.params()
        return stats.lognorm(sigma, scale=math.exp(mu))

    def raw_support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def cdf(self, x: Any) -> Any:
        mu, sigma = self.params()
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.where(x > 0, special.ndtr((np.log(np.maximum(x, 1e-300)) - mu) / sigma), 0.0)

    def sf(self, x: Any) -> Any:
        mu, sigma = self.params()
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.where(x > 0, special.ndtr((mu - np.log(np.maximum(x, 1e-300))) / sigma), 1.0)

    def compile(self) -> QuantileSpec:
        return self._spec(rnd.LOGNORMAL, self.params())


class Beta(Truncatable):
    """Beta on [0, 1]."""

    dist: Literal["beta"]
    alpha: float
    beta: float

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("alpha", "beta"):
                if _numbers(data, name):
                    _check_positive(name, data[name])
        return data

    def reference(self) -> Any:
        from scipy import stats

        return stats.beta(self.alpha, self.beta)

    def raw_support(self) -> tuple[float, float]:
        return 0.0, 1.0

    def cdf(self, x: Any) -> Any:
        return special.betainc(self.alpha, self.beta, np.clip(np.asarray(x, np.float64), 0, 1))

    def ppf(self, q: Any) -> Any:
        return special.betaincinv(self.alpha, self.beta, q)

    def sf(self, x: Any) -> Any:
        return special.betaincc(self.alpha, self.beta, np.clip(np.asarray(x, np.float64), 0, 1))

    def isf(self, q: Any) -> Any:
        return special.betainccinv(self.alpha, self.beta, q)

    def compile(self) -> QuantileSpec:
        return self._table()


class Discrete(Dist):
    """A distribution over a finite list of outcomes."""

    continuous: ClassVar[bool] = False

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """Outcome values and their probabilities."""
        raise NotImplementedError

    def reference(self) -> Any:
        values, probs = self.outcomes()
        return _FiniteReference(values, probs)

    def support(self) -> tuple[float, float]:
        values, probs = self.outcomes()
        return float(values[probs > 0].min()), float(values[probs > 0].max())

    def compile(self) -> QuantileSpec:
        values, probs = self.outcomes()
        order = np.argsort(values, kind="stable")
        values, probs = values[order], probs[order]
        cdf = np.cumsum(probs)
        cdf /= cdf[-1]
        cdf[-1] = 1.0
        return QuantileSpec(rnd.DISCRETE, table_x=values.astype(np.float64), table_c=cdf)


class Poisson(Discrete):
    """Poisson counts with the given mean."""

    dist: Literal["poisson"]
    mean: float
    MAX_MEAN: ClassVar[float] = 1e7

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and _numbers(data, "mean"):
            _check_positive("mean", data["mean"])
            if data["mean"] > cls.MAX_MEAN:
                # pydantic fills in {names} only: the numbers come formatted
                raise fail("too_large", "mean ({mean}) must be at most {cap} for a poisson; "
                           "a count that large is close to a normal with sd = √mean",
                           mean=number(data["mean"]), cap=f"{cls.MAX_MEAN:,.0f}")
        return data

    def reference(self) -> Any:
        from scipy import stats

        return stats.poisson(self.mean)

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        # Counts within 40 sd of the mean: what lies beyond has probability far
        # below the 2^-53 resolution of a uniform draw.
        spread = 40.0 * math.sqrt(self.mean) + 40.0
        ks = np.arange(max(0.0, math.floor(self.mean - spread)), math.ceil(self.mean + spread) + 1)
        # pmf k -> exp(k log(mean) - mean - log k!)
        return ks, np.exp(ks * math.log(self.mean) - self.mean - special.gammaln(ks + 1))

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf


class Bernoulli(Discrete):
    """1 with probability p, else 0."""

    dist: Literal["bernoulli"]
    p: float

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and _numbers(data, "p") and not 0 <= data["p"] <= 1:
            raise fail("bad_probability", "p must be between 0 and 1, found {p}", p=data["p"])
        return data

    def reference(self) -> Any:
        from scipy import stats

        return stats.bernoulli(self.p)

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([0.0, 1.0]), np.array([1 - self.p, self.p])

    def support(self) -> tuple[float, float]:
        return (0.0 if self.p < 1 else 1.0), (1.0 if self.p > 0 else 0.0)


class Choice(Discrete):
    """One of a list of values, with optional weights (default equal)."""

    dist: Literal["choice"]
    values: list[float]
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Choice:
        if not self.values:
            raise fail("empty_values", "values must list at least one outcome")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                nw, nv = len(self.weights), len(self.values)
                raise fail("bad_weights", "weights has {nw} entr{y} but values has {nv}: "
                                          "expected one weight per value",
                           nw=nw, y="y" if nw == 1 else "ies", nv=nv)
            if any(w < 0 for w in self.weights) or not sum(self.weights) > 0:
                raise fail("bad_weights",
                           "weights must be 0 or more and add up to a positive number")
        return self

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.values, dtype=np.float64)
        weights = np.ones_like(values) if self.weights is None else np.asarray(self.weights)
        return values, weights / weights.sum()


class Empirical(Discrete):
    """Observed values from a CSV column, resampled with replacement."""

    dist: Literal["empirical"]
    file: str
    column: str
    #: the observations, read at validation relative to the scenario file
    #: (not part of the scenario as written: left out of ``model_dump``).
    data: tuple[float, ...] = Field(default=(), exclude=True)
    internal_keys: ClassVar[frozenset[str]] = frozenset({"data"})

    @model_validator(mode="after")
    def _read(self, info: ValidationInfo) -> Empirical:
        if self.data:
            return self
        base = (info.context or {}).get("base", Path("."))
        try:
            values = read_empirical(self.file, self.column, Path(base))
        except ValueError as exc:
            raise fail("bad_empirical", "{reason}", reason=str(exc)) from None
        object.__setattr__(self, "data", values)
        return self

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.data, dtype=np.float64)
        return values, np.full(values.size, 1.0 / values.size)


#: numbers with their digits grouped in threes, by the separator of each convention
_GROUPED = {
    ".": re.compile(r"[+-]?\d{1,3}(?:[,_]\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?"),  # 1,234.5
    ",": re.compile(r"[+-]?\d{1,3}(?:[._]\d{3})+(?:,\d*)?(?:[eE][+-]?\d+)?"),  # 1.234,5
}


def csv_delimiter(header: str) -> str:
    """The column separator of a CSV file, from its header line: ``,``, ``;`` or a tab.

    Spreadsheets where ``,`` is the decimal mark write ``;`` between columns.
    """
    if "," not in header:
        if ";" in header:
            return ";"
        if "\t" in header:
            return "\t"
    return ","


def csv_number(cell: str, decimal: str) -> float:
    """A CSV cell as a number, with ``decimal`` (``.`` or ``,``) as its decimal mark.

    Digits may be grouped in threes (``1,234.5`` / ``1.234,5``; ``_`` in
    either). Raises ValueError for anything else, such as ``12,34`` where
    ``.`` is the decimal mark: read as 1234, it would be silently wrong.
    """
    if decimal == "." and "," not in cell:  # most cells: a plain number, or digits with _
        return float(cell)
    if _GROUPED[decimal].fullmatch(cell):
        cell = cell.replace("_", "").replace("," if decimal == "." else ".", "")
    if decimal == ",":
        if "." in cell:
            raise ValueError(cell)
        cell = cell.replace(",", ".")
    return float(cell)  # ValueError for what is left that is not a number


def read_empirical(file: str, column: str, base: Path) -> tuple[float, ...]:
    """Read an empirical distribution's column; raise ValueError with the reason."""
    return tuple(value for _, value in read_rows(file, column, base))


def read_rows(file: str, column: str, base: Path) -> list[tuple[int, float]]:
    """:func:`read_empirical`'s values, each with the line of the file it is on (blank cells skipped).

    Two columns of one file pair up by line: values observed together.
    """
    path = Path(file)
    if not path.is_absolute():
        path = base / path
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            delimiter = csv_delimiter(handle.readline())
            decimal = "," if delimiter == ";" else "."
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter)
            # "month, orders": spaces around a name are not part of it, as around a cell
            columns = [name.strip() for name in next(reader, [])]
            if column not in columns:
                hint = did_you_mean(column, columns)
                raise ValueError(f"{file} has no column '{column}'{hint} "
                                 f"(columns: {', '.join(columns) or 'none'})")
            if columns.count(column) > 1:
                raise ValueError(f"{file} has {columns.count(column)} columns named '{column}'; "
                                 "expected one")
            at, width = columns.index(column), len(columns)
            values = []
            for row in reader:
                row_number = reader.line_num  # the file's line, blank lines counted
                if len(row) > width:  # more cells than the header has columns
                    raise ValueError(
                        f"{file}, line {row_number}: {len(row)} cells, "
                        f"expected {width} as in the header"
                        + (" (a decimal comma? save the file with ';' between columns)"
                           if delimiter == "," else ""))
                cell = row[at].strip() if at < len(row) else ""  # a short row: a blank cell
                if cell == "":
                    continue
                try:
                    number = csv_number(cell, decimal)
                except ValueError:
                    hint = ""
                    if decimal == "." and "," in cell:
                        hint = ("; a decimal comma needs ';' between columns, as spreadsheets "
                                "write where ',' is the decimal mark")
                    elif decimal == "," and "." in cell:
                        hint = "; with ';' between columns, ',' is the decimal mark (1.234,5)"
                    raise ValueError(f"{file}, line {row_number}, column '{column}': "
                                     f"expected a number, found '{cell}'{hint}") from None
                if not math.isfinite(number):
                    raise ValueError(f"{file}, line {row_number}, column '{column}': expected a "
                                     f"finite number, found '{cell}'")
                values.append((row_number, number))
    except FileNotFoundError:
        where = "" if Path(file).is_absolute() else " (looked for it next to the scenario file)"
        raise ValueError(f"file not found: {file}{where}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not values:
        raise ValueError(f"{file}: column '{column}' has no values")
    return values


class _FiniteReference:
    """A scipy-like view of a finite distribution (for support and tests)."""

    def __init__(self, values: np.ndarray, probs: np.ndarray):
        self.values, self.probs = values, probs

    def support(self) -> tuple[float, float]:
        return float(self.values.min()), float(self.values.max())

    def cdf(self, x: Any) -> Any:
        return np.sum(self.probs[None, :] * (self.values[None, :] <= np.atleast_1d(x)[:, None]),
                      axis=1)


DISTRIBUTIONS: dict[str, type[Dist]] = {
    cls.model_fields["dist"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (Fixed, Uniform, Triangular, Pert, Normal, Lognormal, Beta,
                Poisson, Bernoulli, Choice, Empirical)
}


def _dist_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("dist")
    else:
        name = getattr(value, "dist", None)
    return f"§{name}" if isinstance(name, str) and name in DISTRIBUTIONS else None


AnyDist = Annotated[
    Annotated[Fixed, Tag("§fixed")]
    | Annotated[Uniform, Tag("§uniform")]
    | Annotated[Triangular, Tag("§triangular")]
    | Annotated[Pert, Tag("§pert")]
    | Annotated[Normal, Tag("§normal")]
    | Annotated[Lognormal, Tag("§lognormal")]
    | Annotated[Beta, Tag("§beta")]
    | Annotated[Poisson, Tag("§poisson")]
    | Annotated[Bernoulli, Tag("§bernoulli")]
    | Annotated[Choice, Tag("§choice")]
    | Annotated[Empirical, Tag("§empirical")],
    Discriminator(
        _dist_tag,
        custom_error_type="unknown_distribution",
        custom_error_message="unknown distribution",
    ),
]


def _numbers(data: dict[str, Any], *names: str) -> bool:
    """True when every named key is present and a real number (not a bool)."""
    return all(
        isinstance(data.get(n), int | float) and not isinstance(data.get(n), bool) for n in names
    )


def _check_pair(data: dict[str, Any], first: tuple[str, str], second: tuple[str, str]) -> None:
    has_first = any(k in data for k in first)
    has_second = any(k in data for k in second)
    if has_first and has_second:
        raise fail("mixed_parameters", "give either {a} or {b}, not both",
                   a=" and ".join(first), b=" and ".join(second))
    wanted = first if has_first or not has_second else second
    missing = [k for k in wanted if k not in data]
    if missing:
        raise fail("missing_parameter", "missing {missing}: give {a} or {b}",
                   missing=" and ".join(missing), a=" and ".join(first), b=" and ".join(second))
