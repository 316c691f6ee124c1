"""City and night definitions (data files), their validation, and the simulator that plays them."""

from skywarden.scenario.load import LoadedScenario, default_scenario_path, load_scenario, parse_time
from skywarden.scenario.model import Scenario

__all__ = ["LoadedScenario", "Scenario", "default_scenario_path", "load_scenario", "parse_time"]
