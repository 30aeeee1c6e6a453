"""Values written as TOML text, for lines an analyst copies into a scenario file."""

from __future__ import annotations

import json
import math
import re
from typing import Any


def toml_number(x: float) -> str:
    """``x`` as TOML writes it: the shortest text that reads back as ``x``.

    No trailing ``.0``, and digits grouped by ``_`` from five before the
    point, as the format's examples write amounts (``12_500``, ``19_000_000``).
    """
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:_}" if abs(x) >= 10_000 else str(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    text = repr(float(x))
    text = text[:-2] if text.endswith(".0") else text
    if "e" in text:
        return text
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, point, fraction = digits.partition(".")
    if len(whole) > 4:
        whole = f"{int(whole):_}"
    return sign + whole + point + fraction


def toml_key(name: str) -> str:
    """``name`` as a TOML key: bare where it may be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def toml_value(value: Any) -> str:
    """A number, string, bool, list or table as TOML writes it in place (tables inline).

    numpy's numbers and arrays are written as the Python ones they hold.
    """
    if hasattr(value, "tolist") and not isinstance(value, str):  # a numpy number or array
        value = value.tolist()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return toml_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")
