"""The claims ledger: outside claims checked against the log.

A claim (``ClaimRecorded``: source, what, count, when, where) is assessed against the facts the
log holds:

* **confirmed** — the log holds events that support it (their ids are the evidence);
* **contradicted** — the log holds events that contradict it (their ids are the evidence);
* **unconfirmed** — nothing in the log either way (yet).

What counts as support depends on the claim's kind (``what``), picked from :data:`KINDS`:

* ``kill`` (``shot_down``, ``destroyed``...): the numbered kills (retractions removed) in the
  claim's time window and place. A claim with a count is confirmed by exactly that many kills;
  once its window has closed, a different number contradicts it. Without a count, one kill
  confirms it. No kill at all leaves it unconfirmed: not every kill is reported to us.
* ``airport_closed`` (``airport_restricted``): the "Carpet" restrictions of that airport; once
  the claimed time has passed, no restriction covering it contradicts the claim (the log is
  where restrictions are made).
* ``damage`` (``hit``, ``crash``, ``debris``): debris footprints and kill points in the place
  confirm it; when every drone the log saw heading for that place was destroyed with its debris
  predicted elsewhere, the log contradicts it.
* ``drone_sighting``: a drone track or a kill in the place and window confirms it; sensors miss
  things, so the log never contradicts a sighting.

A claim's place is a district or zone (id or name, English or Russian), an airport, a compass
direction from the centre ("south-west"), or a circle (lat, lon, radius). Times are UTC;
reasons speak local clock time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import shapely
from shapely.geometry.base import BaseGeometry

from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    ClaimRecorded,
    DebrisPredicted,
    Event,
    KillNumbered,
    KillRetracted,
    ThreatRaised,
    TrackConfirmed,
    TrackPicture,
)
from skywarden.geo import bearing_deg, compass
from skywarden.scenario.load import LoadedScenario

Outcome = Literal["confirmed", "unconfirmed", "contradicted"]


@dataclass(frozen=True)
class ClaimsConfig:
    """``time_tolerance_s``: a claim with one time matches facts this far either side;
    ``report_grace_s``: how long after a window closes before absence counts (kill reports lag);
    ``place_margin_m``: places are widened by this much; ``circle_radius_m``: radius of a claim
    given as a bare point; ``sighting_sample_s``: how often drone tracks are remembered."""

    time_tolerance_s: float = 600.0
    report_grace_s: float = 120.0
    place_margin_m: float = 1_000.0
    circle_radius_m: float = 5_000.0
    sighting_sample_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Assessment:
    outcome: Outcome
    reason: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Kill:
    report_id: str
    number: int
    t: datetime
    x: float  # local frame, m
    y: float
    incident_id: str
    toward: str


@dataclass(frozen=True, slots=True)
class _Site:
    site_id: str
    kill_number: int
    incident_id: str
    t: datetime
    footprint: BaseGeometry  # local frame, m
    zones: tuple[str, ...]


@dataclass
class _Restriction:
    airport_id: str
    since: datetime
    until: datetime | None = None


@dataclass
class _Area:
    """A claim's place in the local frame; ``shape`` None means anywhere."""

    label: str
    shape: BaseGeometry | _Sector | None
    zone_id: str = ""
    airport_id: str = ""


_COMPASS_WORDS = {
    "north": "north", "north-east": "north-east", "northeast": "north-east", "east": "east",
    "south-east": "south-east", "southeast": "south-east", "south": "south",
    "south-west": "south-west", "southwest": "south-west", "west": "west",
    "north-west": "north-west", "northwest": "north-west",
    "север": "north", "северо-восток": "north-east", "восток": "east", "юго-восток": "south-east",
    "юг": "south", "юго-запад": "south-west", "запад": "west", "северо-запад": "north-west",
}  # fmt: skip


@dataclass
class ClaimAssessor:
    """Keeps the facts claims are checked against; :meth:`observe` them, then :meth:`assess`."""

    scenario: LoadedScenario
    config: ClaimsConfig = field(default_factory=ClaimsConfig)
    kills: dict[str, _Kill] = field(default_factory=dict)
    sites: dict[str, _Site] = field(default_factory=dict)
    restrictions: list[_Restriction] = field(default_factory=list)
    threats: dict[str, str] = field(default_factory=dict)  # incident id -> zone id it threatened
    sightings: list[tuple[datetime, float, float, str]] = field(default_factory=list)
    _last_sample: datetime | None = None
    # a claim's place, by what it is read from: a claim is assessed again whenever a fact
    # changes, and buffering its polygon each time cost a third of the assessment
    _areas: dict[tuple[object, ...], _Area | None] = field(default_factory=dict)

    # ---------------------------------------------------------------- facts

    def observe(self, events: Iterable[Event]) -> bool:
        """Take in the facts of ``events``; True when anything a verdict rests on changed."""
        fr = self.scenario.frame
        changed = False
        for e in events:
            if isinstance(e, KillNumbered):
                x, y = fr.point(e.lat, e.lon)
                self.kills[e.report_id] = _Kill(
                    e.report_id, e.number, e.t, x, y, e.incident_id, e.toward
                )
                changed = True
            elif isinstance(e, KillRetracted):
                changed |= self.kills.pop(e.report_id, None) is not None
            elif isinstance(e, DebrisPredicted):
                pt = shapely.Point(fr.point(e.lat, e.lon))
                shape: BaseGeometry = fr.polygon(e.polygon95) if len(e.polygon95) >= 3 else pt.buffer(1.0)
                if not shape.is_valid:
                    shape = shape.buffer(0)
                shape = shapely.union(shape, pt.buffer(1.0))
                self.sites[e.site_id] = _Site(
                    e.site_id, e.kill_number, e.incident_id, e.t, shape, tuple(e.zones)
                )
                changed = True
            elif isinstance(e, AirportRestricted):
                self.restrictions.append(_Restriction(e.airport_id, e.t))
                changed = True
            elif isinstance(e, AirportLifted):
                for r in reversed(self.restrictions):
                    if r.airport_id == e.airport_id and r.until is None:
                        r.until = e.t
                        changed = True
                        break
            elif isinstance(e, ThreatRaised):
                self.threats.setdefault(e.incident_id, e.zone_id)
                changed = True
            elif isinstance(e, TrackConfirmed):
                x, y = fr.point(e.lat, e.lon)
                self.sightings.append((e.t, x, y, e.track_id))
                changed = True
            elif isinstance(e, TrackPicture):
                if (
                    self._last_sample is not None
                    and (e.t - self._last_sample).total_seconds() < self.config.sighting_sample_s
                ):
                    continue
                self._last_sample = e.t
                for tid, lat, lon, cls in zip(e.track_id, e.lat, e.lon, e.cls, strict=False):
                    if cls == "drone":
                        x, y = fr.point(lat, lon)
                        self.sightings.append((e.t, x, y, tid))
                        changed = True
        return changed

    # ---------------------------------------------------------------- claim parts

    def window(self, c: ClaimRecorded) -> tuple[datetime, datetime]:
        """The claim's time window (UTC): [from, to]; one time -> +- tolerance; none -> the night."""
        tol = timedelta(seconds=self.config.time_tolerance_s)
        if c.when_from is not None and c.when_to is not None:
            return c.when_from, c.when_to
        if c.when_from is not None:
            return c.when_from - tol, c.when_from + tol
        if c.when_to is not None:
            return self.scenario.start, c.when_to
        return self.scenario.start, self.scenario.end

    def settles_at(self, c: ClaimRecorded) -> datetime:
        """After this time the log has heard all it will about the window: absence can count."""
        return self.window(c)[1] + timedelta(seconds=self.config.report_grace_s)

    def area(self, c: ClaimRecorded) -> _Area | None:
        """The claim's place, or None when it names a place the scenario does not know."""
        key = (c.lat, c.lon, c.radius_m, c.where)
        if key not in self._areas:
            self._areas[key] = self._area_of(c)
        return self._areas[key]

    def _area_of(self, c: ClaimRecorded) -> _Area | None:
        sc, fr, margin = self.scenario, self.scenario.frame, self.config.place_margin_m
        if c.lat is not None and c.lon is not None:
            r = (
                c.radius_m
                if c.radius_m is not None and c.radius_m > 0
                else self.config.circle_radius_m
            )
            return _Area(
                f"within {r:.0f} m of a point",
                shapely.Point(fr.point(c.lat, c.lon)).buffer(r + margin),
            )
        key = c.where.strip().casefold()
        if not key:
            return _Area("anywhere", None)
        city = sc.spec.city
        if key in {city.name.casefold(), city.name_ru.casefold(), "the city", "the capital"}:
            return _Area(city.name, None)
        for d in sc.spec.districts:
            names = {d.id.casefold(), d.name.casefold(), d.name_ru.casefold()}
            names |= {n.removesuffix(" district") for n in names}
            if key in names or key.removesuffix(" district") in names:
                return _Area(d.name, sc.district_shapes[d.id].buffer(margin))
        for a in sc.spec.airports:
            if key in {
                a.id.casefold(),
                a.icao.casefold(),
                a.name.casefold(),
                a.name_ru.casefold(),
            } or key in {
                f"{a.name.casefold()} airport",
                f"аэропорт {a.name_ru.casefold()}",
            }:
                zone = next(
                    (
                        z.id
                        for z in sc.spec.zones
                        if z.kind == "airport" and a.name.casefold() in z.name.casefold()
                    ),
                    "",
                )
                shape = sc.zone_shapes[zone].buffer(margin) if zone else None
                return _Area(f"{a.name} airport", shape, zone_id=zone, airport_id=a.id)
        for z in sc.spec.zones:
            if key in {z.id.casefold(), z.name.casefold(), z.name_ru.casefold()}:
                return _Area(z.name, sc.zone_shapes[z.id].buffer(margin), zone_id=z.id)
        direction = _COMPASS_WORDS.get(key.removeprefix("the ").replace(" ", "-"))
        if direction is not None:
            return _Area(f"the {direction}", _Sector(direction))
        return None

    def _span(self, lo: datetime, hi: datetime) -> str:
        """A window for a reason, in local clock time: "02:00–03:00 MSK"."""
        a, b = lo.astimezone(self.scenario.tz), hi.astimezone(self.scenario.tz)
        return f"{a:%H:%M}–{b:%H:%M %Z}"

    def _inside(self, area: _Area, x: float, y: float) -> bool:
        if area.shape is None:
            return True
        if isinstance(area.shape, _Sector):
            return area.shape.contains(self.scenario, x, y)
        return bool(area.shape.contains(shapely.Point(x, y)))

    # ---------------------------------------------------------------- assessing

    def assess(self, c: ClaimRecorded, now: datetime) -> Assessment:
        """The claim's verdict against the facts observed so far, at ``now`` (UTC)."""
        kind = KINDS.get(c.what.strip().casefold().replace(" ", "_").replace("-", "_"))
        if kind is None:
            return Assessment("unconfirmed", f"the log has no facts of the kind {c.what!r}")
        area = self.area(c)
        if area is None:
            return Assessment("unconfirmed", f"the place {c.where!r} is not one the log knows")
        return kind(self, c, area, now)

    def _kills_in(self, c: ClaimRecorded, area: _Area) -> list[_Kill]:
        lo, hi = self.window(c)
        ks = [k for k in self.kills.values() if lo <= k.t <= hi and self._inside(area, k.x, k.y)]
        return sorted(ks, key=lambda k: k.number)

    def assess_kill(self, c: ClaimRecorded, area: _Area, now: datetime) -> Assessment:
        ks = self._kills_in(c, area)
        ev = tuple(k.report_id for k in ks)
        settled = now >= self.settles_at(c)
        lo, hi = self.window(c)
        span = f"{area.label}, {self._span(lo, hi)}"
        if not ks:
            return Assessment("unconfirmed", f"no kill in the log for {span}")
        n = len(ks)
        nums = ", ".join(str(k.number) for k in ks)
        if c.count is None or c.count == n:
            return Assessment(
                "confirmed", f"{n} kill(s) in the log for {span} (numbers {nums})", ev
            )
        if n > c.count:
            return Assessment(
                "contradicted",
                f"the log holds {n} kills for {span} (numbers {nums}), not {c.count}",
                ev,
            )
        if settled:
            return Assessment(
                "contradicted",
                f"the log holds {n} kills for {span} (numbers {nums}), not {c.count}",
                ev,
            )
        return Assessment(
            "unconfirmed", f"{n} of the {c.count} claimed kills in the log so far for {span}", ev
        )

    def assess_airport(self, c: ClaimRecorded, area: _Area, now: datetime) -> Assessment:
        if not area.airport_id:
            return Assessment("unconfirmed", f"{c.where!r} is not an airport of the scenario")
        lo, hi = self.window(c)
        if c.when_from is not None and c.when_to is None:
            lo = hi = c.when_from  # "closed at 01:00" is one moment, not a window
        tol = timedelta(seconds=self.config.time_tolerance_s)
        hits = [
            r
            for r in self.restrictions
            if r.airport_id == area.airport_id
            and r.since <= hi + tol
            and (r.until is None or r.until >= lo - tol)
        ]
        ev = tuple(f"{r.airport_id}@{r.since.isoformat()}" for r in hits)
        if hits:
            return Assessment(
                "confirmed",
                f"{area.label} was under restrictions then ({len(hits)} in the log)",
                ev,
            )
        if now >= hi + tol:
            others = tuple(
                f"{r.airport_id}@{r.since.isoformat()}"
                for r in self.restrictions
                if r.airport_id == area.airport_id
            )
            return Assessment(
                "contradicted",
                f"the log holds no restriction of {area.label} in {self._span(lo - tol, hi + tol)}",
                others,
            )
        return Assessment("unconfirmed", f"the time claimed for {area.label} has not come yet")

    def assess_damage(self, c: ClaimRecorded, area: _Area, now: datetime) -> Assessment:
        lo, hi = self.window(c)
        sites = [
            s
            for s in self.sites.values()
            if lo <= s.t <= hi
            and (
                area.shape is None
                or (area.zone_id and area.zone_id in s.zones)
                or (
                    not isinstance(area.shape, _Sector) and bool(area.shape.intersects(s.footprint))
                )
                or (
                    isinstance(area.shape, _Sector)
                    and self._inside(area, s.footprint.centroid.x, s.footprint.centroid.y)
                )
            )
        ]
        kills = self._kills_in(c, area)
        if sites or kills:
            ev = tuple(sorted({s.site_id for s in sites})) + tuple(k.report_id for k in kills)
            nums = sorted({s.kill_number for s in sites} | {k.number for k in kills})
            return Assessment(
                "confirmed",
                f"debris of drone(s) {', '.join(map(str, nums))} fell or is predicted to fall in {area.label}",
                ev,
            )
        if area.zone_id and now >= self.settles_at(c):
            toward = [
                k
                for k in self.kills.values()
                if lo <= k.t <= hi
                and (k.toward == area.zone_id or self.threats.get(k.incident_id) == area.zone_id)
            ]
            open_threats = [
                inc
                for inc, zone in sorted(self.threats.items())
                if zone == area.zone_id and inc not in {k.incident_id for k in self.kills.values()}
            ]
            if toward and not open_threats:
                toward.sort(key=lambda k: k.number)
                return Assessment(
                    "contradicted",
                    f"every drone the log saw heading for {area.label} ({len(toward)}) was destroyed "
                    f"with its debris predicted elsewhere",
                    tuple(k.report_id for k in toward),
                )
        return Assessment("unconfirmed", f"nothing in the log about damage in {area.label}")

    def assess_sighting(self, c: ClaimRecorded, area: _Area, now: datetime) -> Assessment:
        lo, hi = self.window(c)
        tracks = sorted(
            {tid for t, x, y, tid in self.sightings if lo <= t <= hi and self._inside(area, x, y)}
        )
        kills = self._kills_in(c, area)
        if tracks or kills:
            return Assessment(
                "confirmed",
                f"{len(tracks)} drone track(s) and {len(kills)} kill(s) in {area.label} then",
                tuple(tracks) + tuple(k.report_id for k in kills),
            )
        return Assessment("unconfirmed", f"no drone seen in {area.label} then (sensors can miss)")


@dataclass(frozen=True)
class _Sector:
    """A 45-degree compass sector from the city centre (a claim "over the south-west")."""

    direction: str

    def contains(self, scenario: LoadedScenario, x: float, y: float) -> bool:
        lat, lon = scenario.frame.latlon(x, y)
        c = scenario.spec.city
        return compass(bearing_deg(c.lat, c.lon, lat, lon), 8) == self.direction


Kind = Callable[[ClaimAssessor, ClaimRecorded, _Area, datetime], Assessment]

#: claim kind (``ClaimRecorded.what``, normalised) -> assessor
KINDS: dict[str, Kind] = {
    "kill": ClaimAssessor.assess_kill,
    "kills": ClaimAssessor.assess_kill,
    "shot_down": ClaimAssessor.assess_kill,
    "destroyed": ClaimAssessor.assess_kill,
    "intercepted": ClaimAssessor.assess_kill,
    "airport_closed": ClaimAssessor.assess_airport,
    "airport_restricted": ClaimAssessor.assess_airport,
    "damage": ClaimAssessor.assess_damage,
    "hit": ClaimAssessor.assess_damage,
    "crash": ClaimAssessor.assess_damage,
    "debris": ClaimAssessor.assess_damage,
    "drone_sighting": ClaimAssessor.assess_sighting,
    "sighting": ClaimAssessor.assess_sighting,
}


__all__ = ["KINDS", "Assessment", "ClaimAssessor", "ClaimsConfig", "Outcome"]
