"""The same-process A/B harness (benchmarks/ab.py) that the README's speed comparisons use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import roisim

ROOT = Path(__file__).resolve().parents[1]


def in_git_checkout() -> bool:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              check=False).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not in_git_checkout(), reason="needs git and a checkout with history")
def test_a_revision_imports_apart_from_the_working_tree(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.ab import differences, load_revision
    finally:
        sys.path.remove(str(ROOT))
    old = load_revision("HEAD", tmp_path, name="roisim_test_ab")
    # every module of the copy is its own: none of it reaches back into roisim
    assert Path(old.__file__).is_relative_to(tmp_path)
    assert old._kernels is not roisim._kernels
    scenario = old.load(ROOT / "scenarios" / "bakery_catering_crm.toml")
    assert type(scenario).__module__.startswith("roisim_test_ab.")
    assert all(Path(m.__file__).is_relative_to(tmp_path) for name, m in sys.modules.items()
               if name.startswith("roisim_test_ab") and getattr(m, "__file__", None))
    # the comparison counts the trials that differ, and only those
    a = roisim.simulate(roisim.load(ROOT / "scenarios" / "bakery_catering_crm.toml"), trials=500,
                        seed=1).outcomes
    b = roisim.simulate(roisim.load(ROOT / "scenarios" / "bakery_catering_crm.toml"), trials=500,
                        seed=1).outcomes
    b.payback[0, :3] += 1
    b.pv_costs[1, 7] *= 1.5
    found = differences(a, b)
    assert found["payback"] == "3" and found["started"] == "0"
    assert float(found["pv_costs"]) == pytest.approx(
        float(np.abs(a.pv_costs[1, 7] * 0.5) / (1 + abs(a.pv_costs[1, 7]))), rel=0.05)
    assert found["pv_benefits"] == "0.0e+00"
