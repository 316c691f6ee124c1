"""Incidents: one drone's whole story, as a projection of the event log.

An incident ("INC-" + track id, or "INC-" + report id for a kill matched to no track) gathers:
detection and confirmation, classification, the threats it posed, the airport restrictions it
caused, the kill (number and local time), corrections, the debris footprint, the crash site, the
crews dispatched and their reports, recovery, and the public statements that spoke of it.

``build_incidents(events)`` reads the events once (twice over a list) and returns the incidents
in a deterministic order: by first time, then id. Each has a ``timeline`` of (UTC time, text)
lines in time order (log order among lines of the same time). Tracks that never were a drone, never posed a threat and were never killed
(birds, airliners, clutter, lawful drones identified by Remote ID) are not incidents; the latest
classification decides.

``incident_events(log)`` reads from a log only what ``build_incidents`` needs: the few thousand
events of the kinds it reads, and of the night's track pictures (most of a log) only the ones
that say where an incident's track was first and last seen. ``skywarden incident`` uses it, so
one incident of a whole night is shown without decoding the night.

The module lives with the log's other projections, not in ``skywarden.response`` (which still
names it), so that reading incidents does not import the response stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from skywarden.events import (
    KIND_OF,
    AirportLifted,
    AirportRestricted,
    CrashSiteQueued,
    CrewDispatched,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    KillDuplicate,
    KillNumbered,
    KillReported,
    KillRetracted,
    NightOpened,
    StatementDrafted,
    StatementPublished,
    ThreatCleared,
    ThreatRaised,
    ThreatUpdated,
    TrackClassified,
    TrackConfirmed,
    TrackDropped,
    TrackPicture,
    decode,
)
from skywarden.log.base import EventLog
from skywarden.log.peek import read_kinds

if TYPE_CHECKING:
    from pyproj import Geod


@dataclass(frozen=True)
class TimelineEntry:
    t: datetime  # UTC
    text: str


@dataclass
class KillRecord:
    """One numbered kill of an incident (a drone may carry a retracted number and a live one)."""

    number: int
    day_number: int
    local_time: str  # "03:10"
    t: datetime  # UTC, the kill
    report_id: str
    near: str = ""
    toward: str = ""
    retracted: bool = False


@dataclass
class Incident:
    """One incident and its timeline; times UTC. ``kills`` in number order; the properties
    ``kill_number``, ``kill_time`` and ``kill_t`` speak of the live kill (else the last one)."""

    incident_id: str
    first_t: datetime
    last_t: datetime
    track_id: str | None = None
    cls: str = ""
    status: str = "tracked"
    kills: list[KillRecord] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)  # zones it threatened, first first
    max_level: str = ""
    airports: list[str] = field(default_factory=list)  # airports it caused to be restricted
    report_ids: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    crews: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    first_position: tuple[float, float] | None = None  # (lat, lon)
    last_position: tuple[float, float] | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def kill(self) -> KillRecord | None:
        """The live kill, else the last retracted one, else None."""
        live = [k for k in self.kills if not k.retracted]
        return live[-1] if live else (self.kills[-1] if self.kills else None)

    @property
    def kill_number(self) -> int | None:
        return self.kill.number if self.kill else None

    @property
    def day_number(self) -> int | None:
        return self.kill.day_number if self.kill else None

    @property
    def kill_time(self) -> str:
        return self.kill.local_time if self.kill else ""

    @property
    def kill_t(self) -> datetime | None:
        return self.kill.t if self.kill else None

    @property
    def near(self) -> str:
        return self.kill.near if self.kill else ""

    @property
    def toward(self) -> str:
        return self.kill.toward if self.kill else ""

    @property
    def retracted(self) -> bool:
        """Every kill number this incident had was retracted."""
        return bool(self.kills) and all(k.retracted for k in self.kills)

    def add(self, t: datetime, text: str) -> None:
        self.timeline.append(TimelineEntry(t, text))
        self.first_t = min(self.first_t, t)
        self.last_t = max(self.last_t, t)


_INCIDENT_KINDS = (ThreatRaised, ThreatUpdated, ThreatCleared, DebrisPredicted, CrashSiteQueued, CrewDispatched, CrewStatusChanged)
LEVEL_ORDER = ("low", "medium", "high", "critical")
CREW_TEXT = {
    "dispatched": "dispatched",
    "en_route": "en route",
    "on_site": "on site",
    "wreckage_recovered": "reports the wreckage recovered",
    "site_closed": "reports the site closed",
}
STATUS_TEXT = {
    "dispatched": "crew dispatched",
    "en_route": "crew en route",
    "on_site": "crew on site",
    "wreckage_recovered": "wreckage recovered",
    "site_closed": "site closed",
}


def _latlon(lat: float, lon: float) -> str:
    return f"{abs(lat):.4f} {'N' if lat >= 0 else 'S'} {abs(lon):.4f} {'E' if lon >= 0 else 'W'}"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def night_timezone(events: Iterable[Event]) -> ZoneInfo:
    """The time zone named by the log's ``NightOpened`` (UTC if there is none)."""
    for ev in events:
        if isinstance(ev, NightOpened):
            try:
                return ZoneInfo(ev.timezone)
            except (KeyError, ValueError):
                break
    return ZoneInfo("UTC")


def _incident_ids(evs: Sequence[Event]) -> tuple[set[str], dict[str, str]]:
    """The ids that are incidents, and the incident of each kill report (duplicates included).
    Track pictures play no part."""
    incident_ids: set[str] = set()
    report_inc: dict[str, str] = {}
    last_class: dict[str, tuple[str, str]] = {}  # track id -> its latest (class, identity)
    for ev in evs:
        if isinstance(ev, _INCIDENT_KINDS):
            incident_ids.add(ev.incident_id)
        elif isinstance(ev, KillNumbered):
            incident_ids.add(ev.incident_id)
            report_inc[ev.report_id] = ev.incident_id
        elif isinstance(ev, TrackClassified):
            last_class[ev.track_id] = (ev.cls, ev.identity)
    for ev in evs:  # duplicates point at a numbered report, possibly reported later in the log
        if isinstance(ev, KillDuplicate) and ev.duplicate_of in report_inc:
            report_inc[ev.report_id] = report_inc[ev.duplicate_of]
    # a track whose classifier settled on "drone" (not a cooperative one with Remote ID) is an
    # incident even if it threatened nothing; one first called a drone, then a bird, is not
    incident_ids |= {"INC-" + t for t, (cls, ident) in last_class.items() if cls == "drone" and not ident}
    return incident_ids, report_inc


def build_incidents(events: Iterable[Event]) -> list[Incident]:
    """Every incident of the night, ordered by first time (then id), each with its timeline.

    >>> build_incidents([])
    []
    """
    evs = list(events)
    # ---- pass 1: which ids are incidents, and what links reports, sites, statements to them
    incident_ids, report_inc = _incident_ids(evs)
    statement_inc: dict[str, list[str]] = {}
    for ev in evs:
        if isinstance(ev, StatementDrafted):
            linked = [report_inc.get(a, a) for a in ev.about]
            statement_inc[ev.statement_id] = sorted({i for i in linked if i in incident_ids})

    incidents: dict[str, Incident] = {}

    def get(inc_id: str, t: datetime) -> Incident | None:
        if inc_id not in incident_ids:
            return None
        inc = incidents.get(inc_id)
        if inc is None:
            inc = incidents[inc_id] = Incident(incident_id=inc_id, first_t=t, last_t=t)
        return inc

    restriction_incs: dict[str, list[str]] = {}  # airport id -> incidents behind its restriction
    site_inc: dict[str, str] = {}
    # ---- pass 2: the timelines
    for ev in evs:
        if isinstance(ev, TrackPicture):
            for i, tid in enumerate(ev.track_id):
                inc = incidents.get("INC-" + tid)
                if inc is None and "INC-" + tid in incident_ids:
                    inc = get("INC-" + tid, ev.t)
                if inc is None:
                    continue
                inc.track_id = tid
                pos = (ev.lat[i], ev.lon[i])
                if inc.first_position is None:
                    inc.first_position = pos
                    if not inc.timeline:  # no confirmation logged: say where it was first seen
                        inc.add(ev.t, f"first in the picture at {_latlon(*pos)}, {ev.alt[i]:.0f} m")
                inc.last_position = pos
                inc.last_t = max(inc.last_t, ev.t)
                if not inc.cls:
                    inc.cls = ev.cls[i]
        elif isinstance(ev, TrackConfirmed):
            inc = get("INC-" + ev.track_id, ev.t)
            if inc is not None:
                inc.track_id = ev.track_id
                by = f" by {', '.join(ev.sensors)}" if ev.sensors else ""
                inc.add(ev.t, f"track {ev.track_id} confirmed{by} at {_latlon(ev.lat, ev.lon)}, {ev.alt:.0f} m")
        elif isinstance(ev, TrackClassified):
            inc = get("INC-" + ev.track_id, ev.t)
            if inc is not None and ev.cls != inc.cls:
                ident = f", identified as {ev.identity}" if ev.identity else ""
                inc.add(ev.t, f"classified {ev.cls.replace('_', ' ')} (p={ev.p:.2f}){ident}")
                inc.cls = ev.cls
        elif isinstance(ev, TrackDropped):
            inc = get("INC-" + ev.track_id, ev.t)
            if inc is not None:
                inc.add(ev.t, f"track dropped: {ev.reason}")
                if inc.status == "tracked":
                    inc.status = "track dropped"
        elif isinstance(ev, ThreatRaised | ThreatUpdated):
            inc = get(ev.incident_id, ev.t)
            if inc is None:
                continue
            inc.track_id = ev.track_id
            verb = "raised" if isinstance(ev, ThreatRaised) else "updated"
            inc.add(ev.t, f"threat {verb}, {ev.level}: {', '.join(ev.reasons[:3])}")
            if ev.zone_id not in inc.zones:
                inc.zones.append(ev.zone_id)
            if not inc.max_level or LEVEL_ORDER.index(ev.level) > LEVEL_ORDER.index(inc.max_level):
                inc.max_level = ev.level
            if inc.kill_number is None:
                inc.status = "threat"
        elif isinstance(ev, ThreatCleared):
            inc = get(ev.incident_id, ev.t)
            if inc is not None:
                inc.add(ev.t, f"threat cleared: {ev.reason}")
                if inc.status == "threat":
                    inc.status = "threat cleared"
        elif isinstance(ev, AirportRestricted):
            linked = [i for i in ("INC-" + t for t in ev.track_ids) if i in incident_ids]
            restriction_incs[ev.airport_id] = linked
            for inc_id in linked:
                inc = get(inc_id, ev.t)
                assert inc is not None
                inc.add(ev.t, f"airport {ev.airport_id} restricted: {ev.reason}")
                if ev.airport_id not in inc.airports:
                    inc.airports.append(ev.airport_id)
        elif isinstance(ev, AirportLifted):
            for lifted_id in restriction_incs.pop(ev.airport_id, []):
                inc = get(lifted_id, ev.t)
                assert inc is not None
                inc.add(ev.t, f"airport {ev.airport_id} lifted after {_minutes(ev.duration_s)}")
        elif isinstance(ev, KillReported):
            rep_inc = report_inc.get(ev.report_id)
            inc = get(rep_inc, ev.t) if rep_inc else None
            if inc is not None:
                ref = f", naming track {ev.track_ref}" if ev.track_ref else ""
                inc.add(ev.t, f"kill reported by the air-defence command (report {ev.report_id}{ref})")
                if ev.report_id not in inc.report_ids:
                    inc.report_ids.append(ev.report_id)
        elif isinstance(ev, KillNumbered):
            inc = get(ev.incident_id, ev.t)
            assert inc is not None
            inc.track_id = ev.track_id or inc.track_id
            inc.kills.append(
                KillRecord(ev.number, ev.day_number, ev.local_time, ev.t, ev.report_id, ev.near, ev.toward)
            )
            inc.kills.sort(key=lambda k: k.number)
            inc.status = "killed"
            if ev.report_id not in inc.report_ids:
                inc.report_ids.append(ev.report_id)
            where = f", near {ev.near}" if ev.near else ""
            toward = f", heading for {ev.toward}" if ev.toward else ""
            how = {"track_ref": "named by the command", "nearest_track": "nearest track", "unmatched": "no track"}
            inc.add(
                ev.t,
                f"kill #{ev.number} (#{ev.day_number} of the day) at {ev.local_time}{where}{toward}; "
                f"matched: {how.get(ev.matched_by, ev.matched_by)}",
            )
        elif isinstance(ev, KillDuplicate):
            rep_inc = report_inc.get(ev.report_id)
            inc = get(rep_inc, ev.t) if rep_inc else None
            if inc is not None:
                inc.add(ev.t, f"report {ev.report_id} is a duplicate of {ev.duplicate_of}: not numbered")
                if ev.report_id not in inc.report_ids:
                    inc.report_ids.append(ev.report_id)
        elif isinstance(ev, KillRetracted):
            rep_inc = report_inc.get(ev.report_id)
            inc = get(rep_inc, ev.t) if rep_inc else None
            if inc is not None:
                inc.add(ev.t, f"kill #{ev.number} retracted: {ev.reason} (the number is not reused)")
                for k in inc.kills:
                    k.retracted = k.retracted or k.number == ev.number
                if inc.retracted:
                    inc.status = "kill retracted"
        elif isinstance(ev, DebrisPredicted):
            inc = get(ev.incident_id, ev.t)
            if inc is None:
                continue
            site_inc[ev.site_id] = ev.incident_id
            if ev.site_id not in inc.sites:
                inc.sites.append(ev.site_id)
            area = _area_km2(ev.polygon95)
            where = ", ".join(ev.districts) or "no district"
            zones = f"; zones {', '.join(ev.zones)}" if ev.zones else ""
            inc.add(
                ev.t,
                f"debris footprint (site {ev.site_id}): most likely at {_latlon(ev.lat, ev.lon)}, "
                f"95% area {area:.2f} km2 over {where}{zones}; fall {ev.fall_time_s:.0f} s",
            )
            inc.status = "debris predicted"
        elif isinstance(ev, CrashSiteQueued):
            inc = get(ev.incident_id, ev.t)
            if inc is not None:
                inc.add(ev.t, f"site {ev.site_id} queued (priority {ev.priority}): {ev.reason}")
        elif isinstance(ev, CrewDispatched):
            inc = get(ev.incident_id, ev.t)
            if inc is None:
                continue
            if ev.crew_id not in inc.crews:
                inc.crews.append(ev.crew_id)
            route = "by road" if ev.method == "road" else "straight line"
            inc.add(
                ev.t,
                f"crew {ev.crew_id} ({ev.crew_kind}) dispatched to site {ev.site_id}: "
                f"{ev.distance_m / 1000:.1f} km {route}, ETA {_minutes(ev.eta_s)}",
            )
            inc.status = "crew dispatched"
        elif isinstance(ev, CrewStatusChanged):
            inc = get(ev.incident_id, ev.t)
            if inc is None:
                continue
            eta = f", ETA {_minutes(ev.eta_s)}" if ev.eta_s is not None else ""
            inc.add(ev.t, f"crew {ev.crew_id} {CREW_TEXT.get(ev.status, ev.status)}{eta}")
            inc.status = STATUS_TEXT.get(ev.status, ev.status)
        elif isinstance(ev, StatementPublished):
            for inc_id in statement_inc.get(ev.statement_id, []):
                inc = get(inc_id, ev.t)
                assert inc is not None
                inc.add(ev.t, f"public statement {ev.statement_id} published")
                if ev.statement_id not in inc.statements:
                    inc.statements.append(ev.statement_id)
    for inc in incidents.values():
        inc.timeline.sort(key=lambda e: e.t)  # stable: same-time lines keep their log order
    return sorted(incidents.values(), key=lambda i: (i.first_t, i.incident_id))


# the kinds build_incidents reads besides the track pictures, and night_timezone's
_READ = (
    NightOpened, TrackConfirmed, TrackClassified, TrackDropped, ThreatRaised, ThreatUpdated, ThreatCleared,
    AirportRestricted, AirportLifted, KillReported, KillNumbered, KillDuplicate, KillRetracted,
    DebrisPredicted, CrashSiteQueued, CrewDispatched, CrewStatusChanged, StatementDrafted, StatementPublished,
)  # fmt: skip
INCIDENT_KINDS: tuple[str, ...] = tuple(KIND_OF[c] for c in _READ)


class _PictureTracks(msgspec.Struct):
    """A ``TrackPicture`` read as far as its track ids and classes (its arrays of numbers,
    most of its bytes, are skipped, not decoded)."""

    track_id: list[str]
    cls: list[str]


def incident_events(log: EventLog) -> list[Event]:
    """The events of ``log`` that ``build_incidents`` needs, in log order:
    ``build_incidents(incident_events(log)) == build_incidents(<every event of log>)``.

    Of the track pictures, build_incidents uses an incident track's first (where it was first
    seen; its class, if none came before) and its last (where and when it was last seen); the
    ones between only repeat what the last one overwrites. So the pictures are read as far as
    their track ids and classes, and decoded only where they are the first to show one of the
    incidents' tracks (and until one gives it a class) or the last to show it.
    """
    others = [(r.seq, r.event()) for r in read_kinds(log, INCIDENT_KINDS)]
    incident_ids, _ = _incident_ids([e for _, e in others])
    wanted = {i.removeprefix("INC-") for i in incident_ids if i.startswith("INC-")}
    glance = msgspec.json.Decoder(_PictureTracks)
    keep: dict[int, bytes] = {}  # seq -> data of the pictures to decode
    last: dict[str, tuple[int, bytes]] = {}  # track id -> the latest picture showing it
    classed: set[str] = set()  # tracks shown by a kept picture with a class
    for rec in read_kinds(log, [KIND_OF[TrackPicture]]):
        seen = glance.decode(rec.data)
        for tid, cls in zip(seen.track_id, seen.cls, strict=True):
            if tid not in wanted:
                continue
            if tid not in classed:
                keep[rec.seq] = rec.data
                if cls:
                    classed.add(tid)
            last[tid] = (rec.seq, rec.data)
    keep.update(last.values())
    pictures = [(seq, decode(data)) for seq, data in keep.items()]
    return [e for _, e in sorted([*others, *pictures], key=lambda se: se[0])]


def _area_km2(ring: Sequence[tuple[float, float]]) -> float:
    if len(ring) < 3:
        return 0.0
    area, _ = _wgs84().polygon_area_perimeter([p[1] for p in ring], [p[0] for p in ring])
    return abs(float(area)) / 1e6


@cache
def _wgs84() -> Geod:
    """``skywarden.geo.wgs84()`` without importing ``skywarden.geo`` (numpy and shapely, which
    reading incidents needs nowhere else): pyproj's WGS84 geodesics, on the first footprint."""
    from pyproj import Geod

    return Geod(ellps="WGS84")


def find_incident(incidents: Sequence[Incident], key: str) -> Incident | None:
    """The incident named by ``key``: its 1-based number in the list ("3"), "kill:31" (the
    incident of the 31st kill of the night), its id ("INC-T12"), a track id or a report id."""
    key = key.strip()
    if key.isdigit():
        n = int(key)
        return incidents[n - 1] if 1 <= n <= len(incidents) else None
    if key.lower().startswith("kill:"):
        num = key[5:].strip().lstrip("#")
        if not num.isdigit():
            return None
        return next((i for i in incidents if any(k.number == int(num) for k in i.kills)), None)
    for inc in incidents:
        if key in (inc.incident_id, inc.track_id) or key in inc.report_ids:
            return inc
    return next((i for i in incidents if i.incident_id == "INC-" + key), None)
