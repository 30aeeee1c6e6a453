"""Shared helpers: scenarios written inline as TOML."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import tomli

import roisim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def scenario(text: str, source: str | Path = "<test>", **options) -> roisim.Scenario:
    """Parse an inline TOML scenario (dedented)."""
    return roisim.parse(tomli.loads(textwrap.dedent(text)), source=source, **options)


HEADER = """
[scenario]
name = "test"
horizon_months = {horizon}
discount_rate = {rate}
trials = 8
seed = 3
"""


def initiative(body: str, *, horizon: int = 24, rate: float = 0.0, extra: str = "") -> roisim.Scenario:
    """A one-initiative scenario named 'A' whose [[initiatives]] body is ``body``."""
    text = HEADER.format(horizon=horizon, rate=rate) + textwrap.dedent(extra) + \
        '\n[[initiatives]]\nname = "A"\n' + textwrap.dedent(body)
    return scenario(text)


@pytest.fixture
def tmp_results(tmp_path: Path) -> Path:
    return tmp_path / "results"
