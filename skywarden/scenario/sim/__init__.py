"""The seeded, deterministic simulator that plays a scenario night as a source of inputs.

    from skywarden.scenario.sim import Simulator
    sim = Simulator(scenario)        # LoadedScenario; seed defaults to the night's seed
    sim.poll(now)                    # input events with t in (last poll, now], sorted by t
    sim.observe(derived)             # crews and officers react to dispatches and drafts
    sim.truth                        # ground truth for reports and metrics
"""

from skywarden.scenario.sim.config import SimConfig
from skywarden.scenario.sim.simulator import Simulator
from skywarden.scenario.sim.streams import stream
from skywarden.scenario.sim.truth import (
    KillReportTruth,
    Truth,
    TruthKill,
    TruthObject,
    TruthState,
)

__all__ = [
    "KillReportTruth",
    "SimConfig",
    "Simulator",
    "Truth",
    "TruthKill",
    "TruthObject",
    "TruthState",
    "stream",
]
