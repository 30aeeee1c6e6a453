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


def initiative(body: str, *, horizon: int = 24, rate: float = 0.0, extra: str = "") -> roisim.Scenario:
    """A one-initiative scenario named 'A' whose [[initiatives]] body is ``body``."""
    text = HEADER.format(horizon=horizon, rate=rate) + textwrap.dedent(extra) + \
        '\n[[initiatives]]\nname = "A"\n' + textwrap.dedent(body)
    return scenario(text)


@pytest.fixture
def tmp_results(tmp_path: Path) -> Path:
    return tmp_path / "results"
