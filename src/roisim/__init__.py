"""roisim: Monte Carlo ROI simulation for small-business automation."""

from roisim._startup import collection_paused, quiet_interrupt

with quiet_interrupt(), collection_paused():
    from roisim.engine import simulate
    from roisim.result import SimulationResult
    from roisim.scenario import Scenario, ScenarioError, ScenarioWarning, load, parse

__version__ = "0.1.0"

__all__ = ["Scenario", "ScenarioError", "ScenarioWarning", "SimulationResult", "load", "parse", "simulate",
           "__version__"]
