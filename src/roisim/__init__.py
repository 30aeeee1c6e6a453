"""roisim: Monte Carlo ROI simulation for small-business automation."""

from roisim._startup import collection_paused, quiet_interrupt

with quiet_interrupt(), collection_paused():
    from roisim.engine import simulate
    from roisim.result import SimulationResult
    from roisim.scenario import Scenario, ScenarioError, ScenarioWarning, load, parse

__version__ = "0.1.0"

__all__ = ["Scenario", "ScenarioError", "ScenarioWarning", "SimulationResult", "fit", "load", "parse",
           "simulate", "solve", "sweep", "__version__"]


#: what a run needs none of, loaded when first used: each name's module
_ON_USE = {"fit": "roisim.fitting", "sweep": "roisim.sweeps", "solve": "roisim.sweeps"}


def __getattr__(name: str) -> object:
    """``roisim.fit``, ``roisim.sweep`` and ``roisim.solve``, from their modules when first used."""
    if name in _ON_USE:
        import importlib

        return getattr(importlib.import_module(_ON_USE[name]), name)
    raise AttributeError(f"module 'roisim' has no attribute '{name}'")
