"""The stages of a night, in order, from one visible registry.

``STAGES`` maps a stage name to the function that builds it from the scenario; ``build_stages``
builds the default order (or the names given). Swapping a stage is one entry here, not a fork.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from skywarden.scenario import LoadedScenario
from skywarden.stage import Stage


def _tracking(scn: LoadedScenario) -> Stage:
    from skywarden.tracking import TrackingStage

    return TrackingStage(scn)


def _threat(scn: LoadedScenario) -> Stage:
    from skywarden.assess import ThreatStage

    return ThreatStage(scn)


def _airspace(scn: LoadedScenario) -> Stage:
    from skywarden.response.airspace import AirspaceStage

    return AirspaceStage(scn)


def _kills(scn: LoadedScenario) -> Stage:
    from skywarden.response.kills import KillStage

    return KillStage(scn)


def _debris(scn: LoadedScenario) -> Stage:
    from skywarden.response.debris import DebrisStage

    return DebrisStage(scn)


def _dispatch(scn: LoadedScenario) -> Stage:
    from skywarden.response.dispatch import DispatchStage

    return DispatchStage(scn)


def _disclosure(scn: LoadedScenario) -> Stage:
    from skywarden.disclosure import DisclosureStage

    return DisclosureStage(scn)


def _alerts(scn: LoadedScenario) -> Stage:
    from skywarden.disclosure.alerts import AlertStage

    return AlertStage(scn)


STAGES: dict[str, Callable[[LoadedScenario], Stage]] = {
    "tracking": _tracking,
    "threat": _threat,
    "airspace": _airspace,
    "kills": _kills,
    "debris": _debris,
    "dispatch": _dispatch,
    "disclosure": _disclosure,
    "alerts": _alerts,
}
DEFAULT_ORDER: tuple[str, ...] = tuple(STAGES)


def build_stages(scenario: LoadedScenario, names: Sequence[str] = DEFAULT_ORDER) -> list[Stage]:
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known: {list(STAGES)}")
    return [STAGES[n](scenario) for n in names]
