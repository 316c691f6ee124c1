"""Response: airspace restrictions ("Carpet"), kill numbering, debris footprints, crews and
dispatch, and the incident projection that ties one drone's story together."""

from skywarden.response.airspace import AirspaceStage
from skywarden.response.debris import DebrisStage
from skywarden.response.dispatch import DispatchStage
from skywarden.response.incidents import build_incidents
from skywarden.response.kills import KillStage

__all__ = ["AirspaceStage", "DebrisStage", "DispatchStage", "KillStage", "build_incidents"]
