"""Dispatch: send the nearest free suitable crew to each crash site, queue the rest.

Rules (see docs/response.md):

* A crash site is a ``DebrisPredicted`` (its most likely point). The crew sent is the free,
  on-duty crew of a suitable kind (``suitable_kinds``) with the shortest travel time by road
  (or by straight line x detour when the scenario gives no road extract; ``method`` says which).
  Equal times (crews of one station): the kind listed first in ``suitable_kinds`` wins.
* When no suitable crew is free, the site waits in a queue ordered by priority (1: the 95 %
  footprint touches a protected zone; 2: it lies in a district; 3: open ground), then by the
  time it was predicted. Each arrival in the queue and each withdrawal is a ``CrashSiteQueued``
  carrying the queue after it; a site leaves the queue for a crew with its ``CrewDispatched``.
* Crews report their own progress (``CrewReported``); accepted reports become
  ``CrewStatusChanged``, refused ones ``InputRefused``. At ``site_closed`` the crew is free: it
  goes from that site to the head of the queue, or, with nothing waiting, counts as back home.
* A kill retracted while its site waits takes the site out of the queue. A crew already sent
  is not recalled by the stage: the console offers the recall to an officer.
* An officer's ``CrewRecalled`` calls a crew back (``CrewStatusChanged`` "recalled"; the crew is
  free at its station). Its site, unless its kill was retracted, gets the nearest other free
  crew or waits in the queue; the freed crew then takes the head of the queue, if any.
* An officer's ``CrewOverride`` sends an available crew to a site whatever the nearest-crew rule
  says; a crew already there is recalled. Officers' inputs that cannot apply (unknown crew or
  site, a busy crew, a closed site) become ``InputRefused``.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from skywarden.errors import ScenarioError, TransitionError
from skywarden.events import (
    CrashSiteQueued,
    CrewDispatched,
    CrewOverride,
    CrewRecalled,
    CrewReported,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    InputRefused,
    KillRetracted,
)
from skywarden.geo import LocalFrame
from skywarden.response.crews import Crew, CrewBoard
from skywarden.response.roads import RoadGraph, RoadRouter, Router, StraightLineRouter
from skywarden.scenario.load import LoadedScenario

PRIORITY_ZONE, PRIORITY_DISTRICT, PRIORITY_OPEN = 1, 2, 3


@dataclass(frozen=True)
class DispatchConfig:
    """Settings of dispatch. Speeds km/h, lengths metres."""

    suitable_kinds: tuple[str, ...] = ("fire", "rescue", "eod")  # preference on equal times
    use_roads: bool = True  # False: straight lines even when the scenario gives roads
    speed_factor: float = 1.0  # scales every road speed (e.g. 1.2 under blue lights)
    straight_speed_kmh: float = 40.0
    detour_factor: float = 1.4
    access_speed_kmh: float = 20.0  # from a site to its nearest road node
    max_snap_m: float = 5_000.0  # farther from any road: straight line


@functools.lru_cache(maxsize=4)
def _load_roads(
    path: str, mtime_ns: int, size: int, lat0: float, lon0: float, speed_factor: float
) -> RoadGraph:
    return RoadGraph.from_osm(path, LocalFrame(lat0, lon0), speed_factor)


def load_roads(path: Path, frame: LocalFrame, speed_factor: float = 1.0) -> RoadGraph:
    """The road graph of an OSM file, parsed once per file version (the graph is immutable)."""
    st = path.stat()
    return _load_roads(
        str(path.resolve()), st.st_mtime_ns, st.st_size, frame.lat0, frame.lon0, speed_factor
    )


def make_router(scenario: LoadedScenario, config: DispatchConfig) -> Router:
    """A road router on the scenario's extract, or the straight-line estimate without one."""
    straight = StraightLineRouter(scenario.frame, config.detour_factor, config.straight_speed_kmh)
    if not (config.use_roads and scenario.spec.roads):
        return straight
    path = scenario.path.parent / scenario.spec.roads
    try:
        graph = load_roads(path, scenario.frame, config.speed_factor)
    except (OSError, ValueError) as exc:
        raise ScenarioError(str(path), "roads", f"cannot use the road extract: {exc}") from exc
    return RoadRouter(
        graph,
        scenario.frame,
        straight,
        config.access_speed_kmh,
        config.detour_factor,
        config.max_snap_m,
    )


@dataclass
class Site:
    site_id: str
    incident_id: str
    xy: tuple[float, float]  # local east/north metres of the most likely impact point
    t: datetime
    seq: int
    priority: int
    reason: str
    state: str = "new"  # new -> queued -> assigned -> closed; queued -> withdrawn
    crew_id: str | None = None
    dispatched_at: datetime | None = None
    eta_s: float = 0.0

    @property
    def key(self) -> tuple[int, datetime, int]:
        return (self.priority, self.t, self.seq)


class DispatchStage:
    """``DebrisPredicted`` -> ``CrewDispatched`` or ``CrashSiteQueued``; ``CrewReported`` ->
    ``CrewStatusChanged`` or ``InputRefused``; ``KillRetracted`` takes a waiting site off the queue."""

    name = "dispatch"

    def __init__(self, scenario: LoadedScenario, config: DispatchConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or DispatchConfig()
        self.board = CrewBoard(scenario)
        self.router = make_router(scenario, self.config)
        self.router.prepare(
            [self.scenario.frame.point(s.lat, s.lon) for s in scenario.spec.stations]
        )
        self.rank = {k: i for i, k in enumerate(self.config.suitable_kinds)}
        self.sites: dict[str, Site] = {}
        self.waiting: list[Site] = []  # the queue, most urgent first
        self.retracted: dict[str, bool] = {}

    @property
    def queue(self) -> list[str]:
        return [s.site_id for s in self.waiting]

    @property
    def method(self) -> str:
        return "road" if isinstance(self.router, RoadRouter) else "straight_line"

    # -- rules -------------------------------------------------------------------------------

    def priority_of(self, ev: DebrisPredicted) -> tuple[int, str]:
        if ev.zones:
            return PRIORITY_ZONE, "in protected zone " + ", ".join(ev.zones)
        if ev.districts:
            return PRIORITY_DISTRICT, "in district " + ", ".join(ev.districts)
        return PRIORITY_OPEN, "open ground"

    def nearest(self, crews: list[Crew], site: Site) -> tuple[Crew, float] | None:
        """The crew with the shortest travel time to the site (ties: kind preference, then order)."""
        if not crews:
            return None
        etas = self.router.etas([c.position for c in crews], site.xy)
        best = min(
            range(len(crews)), key=lambda i: (float(etas[i]), self.rank.get(crews[i].kind, 99), i)
        )
        return crews[best], float(etas[best])

    def _send(self, crew: Crew, site: Site, now: datetime) -> CrewDispatched:
        route = self.router.route(crew.position, site.xy)
        self.board.dispatch(crew.id, site.site_id)
        site.state, site.crew_id, site.dispatched_at, site.eta_s = (
            "assigned",
            crew.id,
            now,
            route.eta_s,
        )
        return CrewDispatched(
            t=now, crew_id=crew.id, site_id=site.site_id, incident_id=site.incident_id, crew_kind=crew.kind,
            eta_s=route.eta_s, distance_m=route.distance_m, method=route.method, route=route.polyline,
        )  # fmt: skip

    def _queued(self, site: Site, now: datetime, reason: str) -> CrashSiteQueued:
        return CrashSiteQueued(
            t=now, site_id=site.site_id, incident_id=site.incident_id, priority=site.priority,
            reason=reason, queue=self.queue,
        )  # fmt: skip

    def _refuse(
        self, now: datetime, ev: CrewReported | CrewOverride | CrewRecalled, reason: str
    ) -> InputRefused:
        kind = str(type(ev).__struct_config__.tag)
        return InputRefused(t=now, stage=self.name, input_kind=kind, ref=ev.crew_id, reason=reason)

    # -- handlers ----------------------------------------------------------------------------

    def on_debris(self, ev: DebrisPredicted, now: datetime) -> list[Event]:
        if ev.site_id in self.sites or ev.site_id in self.retracted:
            return []
        priority, reason = self.priority_of(ev)
        site = Site(
            site_id=ev.site_id, incident_id=ev.incident_id, xy=self.scenario.frame.point(ev.lat, ev.lon),
            t=ev.t, seq=len(self.sites), priority=priority, reason=reason,
        )  # fmt: skip
        self.sites[site.site_id] = site
        pick = self.nearest(self.board.free(self.config.suitable_kinds), site)
        if pick is not None:
            return [self._send(pick[0], site, now)]
        site.state = "queued"
        keys = [s.key for s in self.waiting]
        self.waiting.insert(bisect.bisect_right(keys, site.key), site)
        return [self._queued(site, now, f"no free crew; {reason}")]

    def on_report(self, ev: CrewReported, now: datetime) -> list[Event]:
        crew = self.board.crews.get(ev.crew_id)
        if crew is None:
            return [self._refuse(now, ev, f"unknown crew {ev.crew_id!r}")]
        try:
            self.board.report(ev.crew_id, ev.site_id, ev.status)
        except (TransitionError, ValueError) as exc:
            return [self._refuse(now, ev, str(exc))]
        site = self.sites[ev.site_id]
        eta = ev.eta_s
        if eta is None and ev.status == "en_route" and site.dispatched_at is not None:
            eta = max(0.0, site.eta_s - (ev.t - site.dispatched_at).total_seconds())
        out: list[Event] = [
            CrewStatusChanged(
                t=ev.t,
                crew_id=crew.id,
                site_id=site.site_id,
                incident_id=site.incident_id,
                status=ev.status,
                eta_s=eta,
            )  # fmt: skip
        ]
        if ev.status == "site_closed":
            site.state = "closed"
            head = (
                self.waiting[0]
                if self.waiting and crew.kind in self.config.suitable_kinds
                else None
            )
            self.board.release(crew.id, site.xy if head is not None else None)
            if head is not None:
                self.waiting.pop(0)
                out.append(self._send(crew, head, now))
        return out

    def _recalled(self, crew: Crew, site: Site, now: datetime) -> CrewStatusChanged:
        self.board.recall(crew.id)
        site.crew_id, site.state = None, "new"
        return CrewStatusChanged(
            t=now, crew_id=crew.id, site_id=site.site_id, incident_id=site.incident_id,
            status="recalled",
        )  # fmt: skip

    def _cover(self, site: Site, now: datetime, but: str) -> list[Event]:
        """A site left without a crew: the nearest other free crew, else the queue."""
        if site.site_id in self.retracted:
            site.state = "withdrawn"
            return []
        free = [c for c in self.board.free(self.config.suitable_kinds) if c.id != but]
        pick = self.nearest(free, site)
        if pick is not None:
            return [self._send(pick[0], site, now)]
        site.state = "queued"
        keys = [s.key for s in self.waiting]
        self.waiting.insert(bisect.bisect_right(keys, site.key), site)
        return [self._queued(site, now, f"crew {but} recalled; {site.reason}")]

    def _take_head(self, crew: Crew, now: datetime) -> list[Event]:
        if self.waiting and crew.status == "available" and crew.kind in self.config.suitable_kinds:
            return [self._send(crew, self.waiting.pop(0), now)]
        return []

    def on_recall(self, ev: CrewRecalled, now: datetime) -> list[Event]:
        crew = self.board.crews.get(ev.crew_id)
        if crew is None:
            return [self._refuse(now, ev, f"unknown crew {ev.crew_id!r}")]
        if crew.site_id is None:
            return [self._refuse(now, ev, f"crew {crew.id} is at no site")]
        site = self.sites[crew.site_id]
        try:
            out: list[Event] = [self._recalled(crew, site, now)]
        except TransitionError as exc:
            return [self._refuse(now, ev, str(exc))]
        out += self._cover(site, now, but=crew.id)
        out += self._take_head(crew, now)
        return out

    def on_override(self, ev: CrewOverride, now: datetime) -> list[Event]:
        crew = self.board.crews.get(ev.crew_id)
        site = self.sites.get(ev.site_id)
        if crew is None:
            return [self._refuse(now, ev, f"unknown crew {ev.crew_id!r}")]
        if site is None:
            return [self._refuse(now, ev, f"unknown crash site {ev.site_id!r}")]
        if site.state in ("closed", "withdrawn") or ev.site_id in self.retracted:
            return [self._refuse(now, ev, f"crash site {site.site_id} is {site.state}")]
        if not crew.on_duty or crew.status != "available":
            where = f" at {crew.site_id}" if crew.site_id else ""
            return [self._refuse(now, ev, f"crew {crew.id} is {crew.status}{where}; recall it first")]
        out: list[Event] = []
        prior = self.board.crews.get(site.crew_id) if site.crew_id else None
        if prior is not None:
            try:
                out.append(self._recalled(prior, site, now))
            except TransitionError as exc:
                return [self._refuse(now, ev, f"crew {prior.id} cannot be recalled: {exc}")]
        if site in self.waiting:
            self.waiting.remove(site)
        out.append(self._send(crew, site, now))
        if prior is not None:
            out += self._take_head(prior, now)
        return out

    def on_retract(self, ev: KillRetracted, now: datetime) -> list[Event]:
        site_id = "SITE-" + ev.report_id
        self.retracted[site_id] = True
        site = self.sites.get(site_id)
        if site is None or site.state != "queued":
            return []
        self.waiting.remove(site)
        site.state = "withdrawn"
        return [self._queued(site, now, f"withdrawn from the queue: kill {ev.report_id} retracted")]

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, DebrisPredicted):
                out += self.on_debris(ev, now)
            elif isinstance(ev, CrewReported):
                out += self.on_report(ev, now)
            elif isinstance(ev, KillRetracted):
                out += self.on_retract(ev, now)
            elif isinstance(ev, CrewRecalled):
                out += self.on_recall(ev, now)
            elif isinstance(ev, CrewOverride):
                out += self.on_override(ev, now)
        return out
