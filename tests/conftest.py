"""Shared helpers: scenarios written inline as TOML."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import tomli

import roisim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def live_processes() -> list[tuple[int, int, list[str]]]:
    """(pid, process group, command line) of every process that is not a zombie (Linux).

    A process killed with its group stays a zombie until its parent reaps it:
    it runs nothing, so it does not count.
    """
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace").split("\0")[:-1]
        except OSError:  # it ended meanwhile
            continue
        if fields[0] != "Z":
            found.append((int(entry.name), int(fields[2]), cmdline))
    return found


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


def initiative_text(body: str, *, horizon: int = 24, rate: float = 0.0, extra: str = "") -> str:
    """The TOML of a one-initiative scenario named 'A' whose [[initiatives]] body is ``body``.

    ``extra`` ([inputs], ...) comes before the initiative.
    """
    return (HEADER.format(horizon=horizon, rate=rate) + textwrap.dedent(extra)
            + '\n[[initiatives]]\nname = "A"\n' + textwrap.dedent(body))


def initiative(body: str, *, horizon: int = 24, rate: float = 0.0, extra: str = "") -> roisim.Scenario:
    """:func:`initiative_text`, parsed."""
    return scenario(initiative_text(body, horizon=horizon, rate=rate, extra=extra))


def initiatives(names: list[str], *, horizon: int = 36) -> roisim.Scenario:
    """A scenario of one initiative per name, each a fee at month 0 and a monthly saving.

    The k-th costs and saves a little more than the one before, and has its
    own strategic impact and feasibility (1-5).
    """
    blocks = [f"""
        [[initiatives]]
        name = "{name}"
        strategic_impact = {1 + k % 5}
        feasibility = {1 + k * 3 % 5}
        costs = [{{ name = "fee", amount = ["fee", {1 + k / 10}], month = 0 }}]
        benefits = [{{ name = "time", amount = ["saving", {1 + k / 20}], every = "month" }}]
        """ for k, name in enumerate(names)]
    return scenario(f"""
        [scenario]
        name = "initiatives"
        horizon_months = {horizon}
        [inputs]
        saving = {{ dist = "normal", mean = 100, sd = 30 }}
        fee = {{ dist = "uniform", min = 500, max = 3000 }}
        """ + "".join(blocks))


@pytest.fixture
def tmp_results(tmp_path: Path) -> Path:
    return tmp_path / "results"
