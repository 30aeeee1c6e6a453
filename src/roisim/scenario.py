"""The scenario file format (v1): typed models, loading and validation.

:func:`load` reads a TOML file and returns a :class:`Scenario` that the rest
of roisim trusts. Anything the format does not allow raises
:class:`ScenarioError`, whose message names the file, the place in it
(``initiatives[0].costs[1].amount``), what was found and what was expected.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import tomli
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    model_validator,
)

from roisim.distributions import (
    DISTRIBUTIONS,
    AnyDist,
    Dist,
    Strict,
    did_you_mean,
    fail,
    number,
    number_advice,
    printable,
)

#: longest horizon accepted (100 years of months).
MAX_HORIZON = 1200
#: most trials in a run (a scenario's own, or the command line's --trials).
MAX_TRIALS = 10**10
#: most phases in one plan (phase flags are kept in 16 bits per trial).
MAX_PHASES = 16


class ScenarioError(ValueError):
    """A scenario file that cannot be loaded, with where and why.

    Attributes
    ----------
    path : str
        The file, as given.
    location : str
        The place in the file, such as ``initiatives[0].costs[1].amount``;
        empty when the problem is the file as a whole.
    message : str
        What was found and what was expected.
    """

    def __init__(self, path: str | Path, location: str, message: str):
        from roisim.distributions import printable

        self.path, self.location, self.message = str(path), printable(location), printable(message)
        where = f"{self.path}: {self.location}: " if location else f"{self.path}: "
        super().__init__(where + self.message)


class ScenarioWarning(UserWarning):
    """A scenario that loads, but holds something its author most likely did not mean.

    A rate written as a percentage (``discount_rate = 8`` for 8%), a cost
    written as a negative number, an input no value uses. The message names
    the file and the place in it, as a :class:`ScenarioError`'s.
    """


def _factor_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "§number"
    if isinstance(value, str):
        return "§name"
    if isinstance(value, dict | Dist):
        return "§dist"
    return None


def _value_tag(value: Any) -> str | None:
    return "§product" if isinstance(value, list) else _factor_tag(value)


_EXPECTED_VALUE = "a number, an input name, a distribution table"

Factor = Annotated[
    Annotated[float, Tag("§number")] | Annotated[str, Tag("§name")] | Annotated[AnyDist, Tag("§dist")],
    Discriminator(_factor_tag, custom_error_type="bad_value",
                  custom_error_message="expected a number, an input name or a distribution "
                                       "table (the entries of a product; lists do not nest)"),
]

#: A number, an input name, an inline distribution, or a list of those (their product).
Value = Annotated[
    Annotated[float, Tag("§number")]
    | Annotated[str, Tag("§name")]
    | Annotated[AnyDist, Tag("§dist")]
    | Annotated[list[Factor], Tag("§product"), Field(min_length=1)],
    Discriminator(_value_tag, custom_error_type="bad_value",
                  custom_error_message=f"expected {_EXPECTED_VALUE} or a list of those"),
]


def whole(value: Any) -> Any:
    """A float with no fraction (TOML's ``1e6``) as the int it names; anything else as it is."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value


def is_whole(number: Any) -> bool:
    """Whether :func:`whole` gave an integer (True and False are not numbers here)."""
    return not isinstance(number, bool) and isinstance(number, int | np.integer)


def whole_at_least(value: Any, lowest: int, what: str) -> int:
    """``value`` as an int of at least ``lowest``: an int, or a float with no fraction.

    Raises ValueError naming ``what`` otherwise.
    """
    number = whole(value)
    if not is_whole(number) or number < lowest:
        raise ValueError(f"{what} must be a whole number of at least {lowest}, got {value!r}")
    return int(number)


#: a whole number, written as an integer (``1_000_000``) or as a float with no fraction (``1e6``)
Whole = Annotated[int, BeforeValidator(whole)]


def one_line(name: str) -> str:
    """``name`` where it is one line with something to read; else a ValidationError.

    Names head tables, charts and printed sentences: a line break or a tab
    inside one would break them, and is never meant; a name of spaces or of
    nothing at all would leave a blank where the name should be.
    """
    return _line(name, "name", "a name with something other than spaces in it")


def currency_text(currency: str) -> str:
    """``currency`` where it is one line with something to read; else a ValidationError.

    It follows every amount in tables, sentences and axis labels: blank, it
    would leave "NPV in ;" and "[ ]" there.
    """
    return _line(currency, "currency", 'a currency such as "USD" or "€"')


def _line(text: str, what: str, blank: str) -> str:
    """``text`` (a ``what``) where it is one line and not blank (else expected ``blank``)."""
    if not text.strip():
        raise fail(f"{what}_blank", f"expected {blank}; found '{{text}}'", text=text)
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise fail(f"{what}_not_one_line", f"expected a {what} on one line, without line breaks or "
                                           "tabs; found '{text}'", text=printable(text))
    return text


#: a name: one line of text
Name = Annotated[str, AfterValidator(one_line)]


class Header(Strict):
    """The ``[scenario]`` table."""

    name: Name
    currency: Annotated[str, AfterValidator(currency_text)] = "USD"
    horizon_months: Whole = Field(ge=1, le=MAX_HORIZON)
    discount_rate: float = Field(0.0, gt=-1.0, le=10.0)
    trials: Whole = Field(100_000, ge=1, le=MAX_TRIALS)
    seed: Whole = Field(0, ge=0, le=2**63 - 1)
    sampling: Literal["random", "lhs", "sobol"] = "random"


class Adoption(Strict):
    """An initiative's adoption curve."""

    curve: Literal["immediate", "linear", "logistic"] = "immediate"
    ceiling: Value = 1.0
    ramp_months: Value | None = None

    @model_validator(mode="after")
    def _ramp_needed(self) -> Adoption:
        if self.curve != "immediate" and self.ramp_months is None:
            raise fail("missing_ramp", "a {curve} curve needs ramp_months", curve=self.curve)
        if self.curve == "immediate" and self.ramp_months is not None:
            raise fail("unused_ramp", "an immediate curve reaches its ceiling at go-live, so "
                                      "ramp_months would have no effect; expected a linear or "
                                      "logistic curve, or no ramp_months")
        return self


class CashLine(Strict):
    """A cost or benefit line: an amount and its timing."""

    name: Name
    amount: Value
    month: Value | None = None
    every: Literal["month", "year"] | None = None
    from_month: Value | None = None
    until_month: Value | None = None
    scale_with_adoption: bool | None = None
    #: whether a line of this kind is scaled by adoption unless it says otherwise
    SCALED_BY_DEFAULT: ClassVar[bool] = False

    @property
    def scaled_by_adoption(self) -> bool:
        """Whether the line's payments are multiplied by the month's adoption."""
        if self.scale_with_adoption is None:
            return self.SCALED_BY_DEFAULT
        return self.scale_with_adoption

    @model_validator(mode="after")
    def _timing(self) -> CashLine:
        if (self.month is None) == (self.every is None):
            raise fail("bad_timing", "give exactly one of month (once) or every (recurring)")
        if self.month is not None and (self.from_month is not None or self.until_month is not None):
            raise fail("bad_timing", "from_month and until_month go with every, not with month")
        return self


class Cost(CashLine):
    """A cost line; ``fixed`` costs are paid once, by the first phase to start."""

    fixed: bool = False
    misplaced_keys: ClassVar[dict[str, str]] = {
        "growth_per_year": "growth_per_year applies to benefit lines only; a cost that rises can "
                           "be written as one line per year (from_month, until_month), its amount "
                           "times that year's rise: [\"fee\", 1.05]"}


class Benefit(CashLine):
    """A benefit line; ``growth_per_year`` compounds month by month."""

    growth_per_year: Value | None = None
    SCALED_BY_DEFAULT: ClassVar[bool] = True
    misplaced_keys: ClassVar[dict[str, str]] = {
        "fixed": "fixed applies to cost lines only (a cost paid once, by the first phase to start)"}

    @model_validator(mode="after")
    def _growth(self) -> Benefit:
        if self.month is not None and self.growth_per_year is not None:
            raise fail("bad_timing", "growth_per_year goes with every, not with month: growth "
                                     "compounds from a line's first payment, and a one-off "
                                     "line has no other")
        return self


class Risk(Strict):
    """A risk event, drawn once per trial and initiative."""

    name: Name
    probability: Value
    cost: Value | None = None
    delay_months: Value | None = None
    benefit_loss: Value | None = None
    abandon: bool = False

    @model_validator(mode="after")
    def _has_effect(self) -> Risk:
        if self.cost is None and self.delay_months is None and self.benefit_loss is None \
                and not self.abandon:
            raise fail("no_effect", "a risk needs at least one of cost, delay_months, "
                                    "benefit_loss or abandon = true")
        return self


class Initiative(Strict):
    """An automation initiative: its timing, adoption, cash-flow lines and risks."""

    name: Name
    strategic_impact: Whole | None = Field(None, ge=1, le=5)
    feasibility: Whole | None = Field(None, ge=1, le=5)
    go_live_month: Value = 0.0
    adoption: Adoption = Adoption()
    costs: list[Cost] = []
    benefits: list[Benefit] = []
    risks: list[Risk] = []


GateMetric = Literal["net_cash_to_date", "roi_to_date", "adoption"]


class Gate(Strict):
    """A go/no-go condition judged at a phase's start."""

    metric: GateMetric
    at_least: float | None = None
    at_most: float | None = None
    on_fail: Literal["keep", "stop"] = "keep"

    @model_validator(mode="after")
    def _bounds(self) -> Gate:
        if self.at_least is None and self.at_most is None:
            raise fail("empty_gate", "a gate needs at_least, at_most or both")
        if self.at_least is not None and self.at_most is not None \
                and self.at_least > self.at_most:
            raise fail("bad_gate", "at_least ({lo}) must not exceed at_most ({hi})",
                       lo=self.at_least, hi=self.at_most)
        return self


class Phase(Strict):
    """One step of a rollout: a share of an initiative started at a month."""

    initiative: str
    start_month: Value = 0.0
    share: Value = 1.0
    gate: Gate | None = None

    @model_validator(mode="before")
    @classmethod
    def _on_fail_beside_gate(cls, data: Any) -> Any:
        """Take ``on_fail`` written beside the gate, on the phase, as the gate's own."""
        if not isinstance(data, dict) or "on_fail" not in data:
            return data
        data = dict(data)
        on_fail, gate = data.pop("on_fail"), data.get("gate")
        if gate is None:
            raise fail("on_fail_without_gate", "on_fail = {value} applies to a gate, and this phase "
                                               "has none; expected a gate = { metric = ..., "
                                               "at_least = ... } beside it", value=_show(on_fail))
        if isinstance(gate, dict):
            if "on_fail" in gate and gate["on_fail"] != on_fail:
                raise fail("on_fail_twice", "on_fail is {outer} on the phase and {inner} in its gate; "
                                            "expected one of them", outer=_show(on_fail),
                           inner=_show(gate["on_fail"]))
            data["gate"] = {**gate, "on_fail": on_fail}
        return data


class Plan(Strict):
    """A rollout plan: phases, possibly gated."""

    name: Name
    phases: list[Phase] = Field(min_length=1, max_length=MAX_PHASES)


class Correlation(Strict):
    """A Spearman rank correlation between two inputs."""

    inputs: list[str] = Field(min_length=2, max_length=2)
    rank: float = Field(ge=-1.0, le=1.0)


class Scenario(Strict):
    """A validated scenario: everything downstream trusts it.

    Attributes
    ----------
    source : str
        The file it was loaded from ('' when built in code).
    """

    scenario: Header
    inputs: dict[Name, AnyDist] = {}
    correlations: list[Correlation] = []
    initiatives: list[Initiative] = Field(min_length=1)
    plans: list[Plan] = []
    #: the file it was read from ("" where none): not part of the scenario as written
    source: str = Field(default="", exclude=True)
    internal_keys: ClassVar[frozenset[str]] = frozenset({"source"})
    _repairs: list[tuple[str, str, float, float]] = PrivateAttr(default_factory=list)
    _warnings: list[str] = PrivateAttr(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The scenario as the dict a TOML parser returns for its file, defaults filled in.

        Edit it and validate it again for a what-if: ``doc = scenario.document();
        doc["scenario"]["discount_rate"] = 0.12; roisim.parse(doc,
        source=scenario.source)``. Parsed unchanged, it gives this scenario.
        """
        return self.model_dump(by_alias=True, exclude_none=True)

    @property
    def warnings(self) -> list[str]:
        """What loading it warned of (:class:`ScenarioWarning`), each as "place: message".

        The results of a run keep them: ``manifest.json`` and report.html.
        """
        return list(self._warnings)

    @property
    def correlation_repairs(self) -> list[tuple[str, str, float, float]]:
        """(input, input, given, used) for each rank correlation moved by a repair."""
        return list(self._repairs)

    @property
    def name(self) -> str:
        """The scenario's display name."""
        return self.scenario.name

    @property
    def subjects(self) -> list[str]:
        """Names of everything evaluated: initiatives, then plans."""
        return [i.name for i in self.initiatives] + [p.name for p in self.plans]


# --------------------------------------------------------------------------- loading


def load(path: str | Path, *, repair_correlations: bool = False) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A TOML file in the v1 scenario format.
    repair_correlations : bool
        Replace rank correlations that contradict each other by the nearest
        valid matrix (``Scenario.correlation_repairs`` lists what moved)
        instead of rejecting the file.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        If the file cannot be read, is not valid TOML, or breaks the format.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(path, "", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(path, "", "is a folder; expected one scenario file (roisim run and "
                                      "roisim validate take folders)") from None
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot be read ({exc})") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write, is skipped
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        before = data[data.rfind(b"\n", 0, exc.start) + 1:exc.start]  # the line up to the byte
        column = len(before.decode("utf-8", errors="replace")) + 1
        raise ScenarioError(path, f"line {line}, column {column}",
                            f"byte 0x{data[exc.start]:02x} is not UTF-8 text; expected the file "
                            "saved as UTF-8") from None
    try:
        document = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ScenarioError(path, "", _toml_message(exc)) from None
    return parse(document, source=path, repair_correlations=repair_correlations)


def parse(document: dict[str, Any] | str, *, source: str | Path | None = None,
          repair_correlations: bool = False) -> Scenario:
    """Validate a scenario given as TOML text, or already read into a dict (as a TOML parser returns it).

    ``source`` is the file it came from, if any: relative ``empirical`` files
    are read next to it (without one, from the working folder), and results
    go to a folder named after it (without one, after the scenario's name).
    """
    where = "<scenario>" if source is None else source  # what messages name
    if isinstance(document, str):  # a scenario written in a notebook cell
        try:
            document = tomli.loads(document)
        except tomli.TOMLDecodeError as exc:
            raise ScenarioError(where, "", _toml_message(exc)) from None
    base = Path() if source is None else Path(source).parent
    try:
        scenario = Scenario.model_validate(_plain(document), context={"base": base})
    except ValidationError as exc:
        location, message = _first_error(exc)
        raise ScenarioError(where, location, message) from None
    from roisim._checks import check_scenario

    scenario = scenario.model_copy(update={"source": "" if source is None else str(source)})

    return check_scenario(scenario, Path(where), repair_correlations=repair_correlations)


def _plain(value: Any) -> Any:
    """A document built in Python, with the types a TOML parser gives.

    numpy numbers (``np.int64(12)``, from an array or a DataFrame) become
    Python ones, tuples, numpy arrays (``df["price"].unique()``) and pandas
    columns (``df["price"]``) lists, and paths text, so that a scenario
    built from a notebook's data is read as its TOML would be.
    """
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if callable(getattr(value, "to_numpy", None)):  # a pandas Series or Index
        return _plain(np.asarray(value.to_numpy()).tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _toml_message(exc: tomli.TOMLDecodeError) -> str:
    # tomli reads TOML 1.1, which the format needs for inline tables over several lines.
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", str(exc))
    reason = _TOML_HINTS.get(reason, reason)
    return f"line {exc.lineno}, column {exc.colno}: invalid TOML: {reason}"


_TOML_HINTS = {
    "Illegal character '\\n'": "a text value is not closed before the end of the line "
                                "(missing quote?)",
    "Cannot overwrite a value": "this key is given twice",
    "Cannot declare ('scenario',) twice": "the [scenario] table is given twice",
}


def format_location(loc: tuple[int | str, ...]) -> str:
    """``('initiatives', 0, 'costs', 1)`` -> ``initiatives[0].costs[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":  # pydantic's mark for a table's key, named just before
            continue
        elif not str(part).startswith("§"):
            key = printable(str(part))
            if key != key.strip() or not key:  # spaces at an end would not show
                key = f'"{key}"'
            out += f".{key}" if out else key
    return out


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    kind, found = error["type"], error.get("input")
    if kind == "missing":
        if loc == ("scenario",):
            return "", "missing the [scenario] table (name, horizon_months, ...)"
        if loc == ("initiatives",):
            return "", "no [[initiatives]]: a scenario needs at least one initiative"
        return format_location(loc[:-1]), f"missing required key '{loc[-1]}'"
    if kind in ("too_short", "too_long"):
        ctx = error.get("ctx", {})
        wanted = ctx.get("min_length", 1) if kind == "too_short" else ctx.get("max_length")
        actual = ctx.get("actual_length") or "none"
        return format_location(loc), (f"expected at {'least' if kind == 'too_short' else 'most'} "
                                      f"{wanted} entr{'y' if wanted == 1 else 'ies'}, found {actual}")
    if kind == "unknown_distribution":
        name = found.get("dist") if isinstance(found, dict) else None
        known = ", ".join(DISTRIBUTIONS)
        if not isinstance(found, dict):
            why = " (an input cannot refer to another input)" if isinstance(found, str) else ""
            if isinstance(found, int | float) and not isinstance(found, bool):
                # a constant: the one way to name it, as the distributions' table has it
                why = f"; for a constant, write {{ dist = \"fixed\", value = {_show(found)} }}"
            return format_location(loc), (
                f"expected a distribution table such as {{ dist = \"normal\", mean = 1, sd = 0.1 }}"
                f", found {_show(found)}{why}")
        if name is None:
            return format_location(loc), f"missing key 'dist' (one of: {known})"
        if not isinstance(name, str):
            return format_location(loc + ("dist",)), f"expected one of: {known}; found {_show(name)}"
        hint = did_you_mean(str(name), DISTRIBUTIONS)
        return format_location(loc), f"unknown distribution '{name}'{hint} (expected one of: {known})"
    message = error["msg"].replace("Input should be ", "must be ")
    if kind in _TYPE_NAMES:
        message = f"expected {_TYPE_NAMES[kind]}"
    if kind.startswith(("greater", "less")):  # 10,000,000,000 rather than 10000000000
        for bound in error.get("ctx", {}).values():
            if isinstance(bound, int) and abs(bound) >= 1_000:
                message = message.replace(str(bound), number(bound))
    if kind in _TYPE_NAMES or kind == "bad_value" or kind.startswith(("greater", "less")) \
            or kind in ("literal_error", "finite_number"):
        message = f"{message[0].lower()}{message[1:]}, found {_show(found)}"
    if kind in ("float_type", "int_type") and isinstance(found, str):
        advice = number_advice(found)[1]  # '8%', '10,000', '0.08'
        message += f"; {advice}" if advice else ""
    return format_location(loc), message


_TYPE_NAMES = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text in quotes",
    "bool_type": "true or false",
    "list_type": "a list [...]",
    "dict_type": "a table {...}",
    "model_type": "a table {...}",
    "model_attributes_type": "a table {...}",
}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value[:60]}'" + ("..." if len(value) > 60 else "")
    if isinstance(value, dict):
        return "a table {...}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) >= 1e16:
        return f"{value:.3g}"  # not thirty digits of a float's binary expansion
    if isinstance(value, (int, float)):
        return number(value)
    return repr(value)
