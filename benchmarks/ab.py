"""Same-process A/B: the working tree's roisim against roisim at a git revision.

Usage::

    python benchmarks/ab.py REV [SCENARIO ...] [--trials N] [--threads T]
                            [--rounds R] [--no-irr]

The package at ``REV`` is extracted with ``git archive`` into a temporary
folder and renamed (``roisim`` -> ``roisim_ab``), so both versions import
side by side in one process. Each scenario then runs on both, in turn, for
``--rounds`` rounds; the load of a shared machine changes within minutes, so
runs taken a minute apart compare badly, and interleaved ones compare well.
Before timing, the outcomes of both on the same trials are compared, and the
largest relative difference of each outcome array is printed. Scenarios are
the examples and the canonical workload unless named. Kernels of the
extracted copy compile on first use (a minute or two).
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAME = "roisim_ab"
OUTCOMES = ("pv_costs", "pv_benefits", "payback", "dpayback", "irr", "started", "failed",
            "band_paths")


def load_revision(rev: str, folder: Path, name: str = NAME) -> ModuleType:
    """Import roisim as it was at git revision ``rev``, renamed ``name``, from under ``folder``."""
    archive = subprocess.run(["git", "archive", rev, "src/roisim"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(folder, filter="data")
        else:
            tar.extractall(folder)
    package = folder / name
    (folder / "src" / "roisim").rename(package)
    for path in package.rglob("*.py"):
        # the package's name as a word, not inside "roisim-..." (file and project names)
        path.write_text(re.sub(r"\broisim\b(?!-)", name, path.read_text()))
    sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def differences(a: object, b: object) -> dict[str, str]:
    """Largest difference of each outcome array (relative for floats, counts otherwise)."""
    found = {}
    for column in OUTCOMES:
        x, y = getattr(a, column), getattr(b, column)
        if x.dtype.kind == "f":
            same_nan = np.isnan(x) == np.isnan(y)
            both = ~np.isnan(x) & ~np.isnan(y)
            worst = float((np.abs(x - y) / (1.0 + np.abs(x)))[both].max(initial=0.0))
            found[column] = f"{worst:.1e}" + ("" if same_nan.all() else
                                             f" ({int((~same_nan).sum())} NaN differ)")
        else:
            found[column] = str(int((x != y).sum()))
    return found


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev")
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--no-irr", dest="irr", action="store_false")
    args = parser.parse_args(argv)
    paths = args.scenarios or [*sorted((ROOT / "scenarios").glob("*.toml")),
                               ROOT / "benchmarks" / "scenarios" / "canonical.toml"]
    import roisim

    with tempfile.TemporaryDirectory() as tmp:
        old = load_revision(args.rev, Path(tmp))
        print(f"{args.rev} against the working tree: {args.trials:,} trials, "
              f"{args.threads} threads, IRR {'on' if args.irr else 'off'}, "
              f"{args.rounds} interleaved rounds (fastest round; median of paired ratios)")
        for path in paths:
            runs = {"before": (old, old.load(path)), "after": (roisim, roisim.load(path))}
            outcomes = {}
            for key, (module, scenario) in runs.items():
                outcomes[key] = module.simulate(scenario, trials=20_000, seed=3, threads=1,
                                                irr=args.irr).outcomes
            seconds: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                for key, (module, scenario) in runs.items():
                    began = time.perf_counter()
                    module.simulate(scenario, trials=args.trials, seed=1, threads=args.threads,
                                    irr=args.irr)
                    seconds[key].append(time.perf_counter() - began)
            before, after = np.array(seconds["before"]), np.array(seconds["after"])
            print(f"{path.stem[:28]:28s} {before.min():6.2f} -> {after.min():6.2f} s "
                  f"({after.min() / before.min() - 1:+.1%}; paired "
                  f"{np.median(after / before) - 1:+.1%})  "
                  f"max difference: {differences(outcomes['before'], outcomes['after'])}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
