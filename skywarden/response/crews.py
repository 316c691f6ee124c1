"""Emergency crews: the status lifecycle as a transition table, and the board of who is where.

A crew is ``available`` at its station until dispatched; then it reports its own progress::

    available -> dispatched -> en_route -> on_site -> wreckage_recovered -> site_closed -> available
                               en_route -> en_route            (a new ETA)
                                           on_site -> site_closed   (nothing to recover)

``site_closed -> available`` is the dispatcher freeing the crew, not a crew report; so is a
recall (``dispatched``, ``en_route``, ``on_site`` or ``wreckage_recovered`` -> ``available``:
an officer calls the crew back, e.g. because its kill was withdrawn). Any other change raises
:class:`skywarden.errors.TransitionError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from skywarden.errors import TransitionError
from skywarden.scenario.load import LoadedScenario

CrewStatus = Literal[
    "available", "dispatched", "en_route", "on_site", "wreckage_recovered", "site_closed"
]

# The lifecycle, as data: status -> the statuses it may change to.
CREW_TRANSITIONS: dict[str, frozenset[str]] = {
    "available": frozenset({"dispatched"}),
    "dispatched": frozenset({"en_route", "available"}),
    "en_route": frozenset({"en_route", "on_site", "available"}),
    "on_site": frozenset({"wreckage_recovered", "site_closed", "available"}),
    "wreckage_recovered": frozenset({"site_closed", "available"}),
    "site_closed": frozenset({"available"}),
}

# What a crew may report about itself (the rest are the dispatcher's to set).
REPORTABLE: frozenset[str] = frozenset({"en_route", "on_site", "wreckage_recovered", "site_closed"})


def check_transition(current: str, wanted: str, what: str = "crew") -> None:
    """Raise :class:`TransitionError` unless ``current -> wanted`` is in the table."""
    if wanted not in CREW_TRANSITIONS.get(current, frozenset()):
        raise TransitionError(what, current, wanted)


@dataclass
class Crew:
    """One crew: where it lives (``home``, local east/north metres), where it is, what it does."""

    id: str
    kind: str
    station_id: str
    home: tuple[float, float]
    on_duty: bool
    status: str = "available"
    site_id: str | None = None
    at: tuple[float, float] | None = None  # where it is when not at home (the site it closed)

    @property
    def position(self) -> tuple[float, float]:
        return self.at if self.at is not None else self.home

    def move(self, wanted: str) -> None:
        check_transition(self.status, wanted, f"crew {self.id}")
        self.status = wanted


class CrewBoard:
    """Every crew of the scenario's stations, in the order the scenario lists them."""

    def __init__(self, scenario: LoadedScenario) -> None:
        self.crews: dict[str, Crew] = {}
        for st in scenario.spec.stations:
            home = scenario.frame.point(st.lat, st.lon)
            for c in st.crews:
                self.crews[c.id] = Crew(
                    id=c.id, kind=c.kind, station_id=st.id, home=home, on_duty=c.available
                )

    def free(self, kinds: tuple[str, ...] | frozenset[str]) -> list[Crew]:
        """On-duty crews of these kinds that are available now (scenario order)."""
        return [
            c
            for c in self.crews.values()
            if c.on_duty and c.status == "available" and c.kind in kinds
        ]

    def dispatch(self, crew_id: str, site_id: str) -> Crew:
        crew = self.crews[crew_id]
        crew.move("dispatched")
        crew.site_id = site_id
        return crew

    def report(self, crew_id: str, site_id: str, status: str) -> Crew:
        """Apply a crew's own report. Raises ``KeyError`` for an unknown crew, ``ValueError`` for
        a report about another site or a status a crew cannot report, ``TransitionError`` for an
        illegal change."""
        crew = self.crews[crew_id]
        if status not in REPORTABLE:
            raise ValueError(
                f"crew {crew_id} cannot report {status!r} (reportable: {sorted(REPORTABLE)})"
            )
        if crew.site_id != site_id:
            raise ValueError(
                f"crew {crew_id} is assigned to {crew.site_id or 'no site'}, not {site_id}"
            )
        crew.move(status)
        return crew

    def recall(self, crew_id: str) -> Crew:
        """An officer calls the crew back from its site: available again, back at its station.
        Raises ``ValueError`` for a crew at no site, ``TransitionError`` from a closed site."""
        crew = self.crews[crew_id]
        if crew.site_id is None:
            raise ValueError(f"crew {crew_id} is at no site")
        if crew.status == "site_closed":
            raise TransitionError(f"crew {crew_id}", crew.status, "recalled")
        crew.move("available")
        crew.site_id = None
        crew.at = None
        return crew

    def release(self, crew_id: str, at: tuple[float, float] | None) -> Crew:
        """site_closed -> available: the crew is free, standing at ``at`` (None: back home)."""
        crew = self.crews[crew_id]
        crew.move("available")
        crew.site_id = None
        crew.at = at
        return crew
