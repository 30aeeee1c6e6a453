"""roisim: Monte Carlo ROI simulation for small-business automation."""

from roisim._startup import collection_paused, quiet_interrupt

with quiet_interrupt(), collection_paused():
    from roisim.engine import simulate
    from roisim.result import SimulationResult
    from roisim.scenario import Scenario, ScenarioError, ScenarioWarning, load, parse

__version__ = "0.1.0"

__all__ = ["Scenario", "ScenarioError", "ScenarioWarning", "SimulationResult", "fit", "load", "parse",
           "simulate", "solve", "sweep", "__version__"]


def __getattr__(name: str) -> object:
    """``roisim.fit``, ``roisim.sweep`` and ``roisim.solve``, loaded when first used (a run needs none)."""
    if name == "fit":
        from roisim.fitting import fit

        return fit
    if name in ("sweep", "solve"):
        from roisim import sweeps

        return getattr(sweeps, name)
    raise AttributeError(f"module 'roisim' has no attribute '{name}'")
