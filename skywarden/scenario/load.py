"""Load and validate a scenario file; errors name the file, the key (and line) and what is wrong."""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import shapely

from skywarden.errors import ScenarioError
from skywarden.geo import CoordinateError, LocalFrame, check_lat_lon, circle_ring, distance_m
from skywarden.scenario.model import MAX_BIRDS, MAX_DRONES, Scenario

DEFAULT_SCENARIO = "moscow_night.toml"
T = TypeVar("T")


def default_scenario_path() -> Path:
    """The shipped default night."""
    return Path(str(resources.files("skywarden.scenario") / "data" / DEFAULT_SCENARIO))


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with what every stage needs derived once: frame, zone shapes, times."""

    path: Path
    spec: Scenario
    digest: str
    frame: LocalFrame
    tz: ZoneInfo
    start: datetime  # UTC
    end: datetime  # UTC
    zone_shapes: dict[str, shapely.Polygon] = field(repr=False)  # local frame, metres
    district_shapes: dict[str, shapely.Polygon] = field(repr=False)
    # zones given as circles: (east, north, radius) in metres; their shape above is a 48-gon
    zone_circles: dict[str, tuple[float, float, float]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.night.name

    def at(self, when: str) -> datetime:
        """A scenario time ("03:10", "03:10:20" local on the night, or ISO 8601) as UTC.

        A bare local time earlier than the night's start falls on the next calendar day, so a
        night from 23:00 to 04:00 reads "03:10" as the morning after.
        """
        return parse_time(when, self.tz, self.start)

    def local(self, t: datetime) -> datetime:
        return t.astimezone(self.tz)

    def zone_ring(self, zone_id: str) -> list[tuple[float, float]]:
        return self.frame.ring_latlon(self.zone_shapes[zone_id])

    def district_at(self, lat: float, lon: float) -> str | None:
        """The id of the district containing the point, or None."""
        p = shapely.Point(self.frame.point(lat, lon))
        for did, shape in self.district_shapes.items():
            if shape.contains(p):
                return did
        return None


def parse_time(when: str, tz: ZoneInfo, night_start: datetime) -> datetime:
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", when):
        parts = [int(p) for p in when.split(":")]
        local_start = night_start.astimezone(tz)
        clock = time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
        dt = datetime.combine(local_start.date(), clock, tzinfo=tz)
        if dt < local_start:
            dt = datetime.combine(local_start.date() + timedelta(days=1), clock, tzinfo=tz)
        return dt.astimezone(UTC)
    try:
        dt = datetime.fromisoformat(when)
    except ValueError as exc:
        raise ValueError(f"{when!r} is neither HH:MM[:SS] nor ISO 8601") from exc
    if dt.tzinfo is None:
        raise ValueError(f"{when!r} has no UTC offset; write e.g. {when}+03:00")
    return dt.astimezone(UTC)


def _line_of(text: str, path: str) -> int | None:
    """Best-effort line number of a msgspec error path like ``$.zones[2].priority``."""
    lines = text.splitlines()
    tokens = re.findall(r"\.(\w+)|\[(\d+)\]", path)
    start, table = 0, None
    for name, index in tokens:
        if name and table is None:
            table = name
            hdr = re.compile(rf"^\s*\[\[?\s*{re.escape(name)}\s*\]\]?\s*$")
            hits = [i for i, line in enumerate(lines) if hdr.match(line)]
            key = re.compile(rf"^\s*{re.escape(name)}\s*=")
            hits = hits or [i for i, line in enumerate(lines) if key.match(line)]
            if hits:
                start = hits[0]
        elif index and table is not None:
            hdr = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]\s*$")
            hits = [i for i, line in enumerate(lines) if hdr.match(line)]
            if int(index) < len(hits):
                start = hits[int(index)]
        elif name:
            key = re.compile(rf"^\s*{re.escape(name)}\s*=")
            for i in range(start, len(lines)):
                if key.match(lines[i]):
                    start = i
                    break
    return start + 1 if tokens else None


MAX_NIGHT = timedelta(hours=24)  # with tick_s >= 0.1 s: at most 864,000 ticks
MAX_FILE_BYTES = 16 << 20  # a scenario or policy file (the shipped Moscow night is ~30 KB)
MAX_DEPTH = 16  # tables and arrays inside each other (the scenario format needs 4)
MAX_STRING_CHARS = 10_000  # one string value


def _plain_values(node: object, where: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(key, what is wrong) for the first value no scenario or policy may hold: a number that is
    not finite (TOML writes nan and inf), a string over MAX_STRING_CHARS, nesting deeper than
    MAX_DEPTH; None when there is none."""
    if depth > MAX_DEPTH:
        return where, f"nested too deep (at most {MAX_DEPTH} levels)"
    if isinstance(node, float) and not math.isfinite(node):
        return where, f"{node} is not a finite number"
    if isinstance(node, str) and len(node) > MAX_STRING_CHARS:
        return where, f"a string of {len(node)} characters (at most {MAX_STRING_CHARS})"
    if isinstance(node, dict):
        for k, v in node.items():
            found = _plain_values(v, f"{where}.{k}" if where else str(k), depth + 1)
            if found:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found = _plain_values(v, f"{where}[{i}]", depth + 1)
            if found:
                return found
    return None


def read_toml(path: Path, into: type[T]) -> tuple[str, T]:
    """Read a TOML file into a typed struct; every error is a :class:`ScenarioError` naming the
    file, the key and (where it can be found) the line. Returns the text too, for later checks."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(str(path), "", f"the file is over {MAX_FILE_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(str(path), "", f"not UTF-8: byte {exc.start} ({data[exc.start]:#04x}) cannot be decoded", line) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ScenarioError(str(path), "", f"not valid TOML: {exc}", int(m.group(1)) if m else None) from exc
    except RecursionError:
        raise ScenarioError(str(path), "", f"nested too deep (at most {MAX_DEPTH} levels)") from None
    problem = _plain_values(raw)
    if problem:
        where, what = problem
        raise ScenarioError(str(path), where, what, _line_of(text, "$." + where))
    try:
        return text, msgspec.convert(raw, into)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        m = re.search(r" - at `(\$[^`]*)`", msg)
        where = m.group(1) if m else ""
        what = msg.split(" - at ")[0]
        um = re.search(r"unknown field `(\w+)`", what)
        line_path = f"{where}.{um.group(1)}" if um else where
        raise ScenarioError(str(path), where.removeprefix("$."), what, _line_of(text, line_path)) from exc


def load_scenario(path: str | Path | None = None) -> LoadedScenario:
    """Read, check and prepare a scenario. Raises :class:`ScenarioError` naming file and key."""
    p = Path(path) if path is not None else default_scenario_path()
    text, spec = read_toml(p, Scenario)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return _prepare(p, text, spec, digest)


def _prepare(p: Path, text: str, spec: Scenario, digest: str) -> LoadedScenario:
    def fail(where: str, what: str) -> ScenarioError:
        return ScenarioError(str(p), where, what, _line_of(text, "$." + where))

    try:
        tz = ZoneInfo(spec.night.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name no file can have
        raise fail("night.timezone", f"unknown time zone {spec.night.timezone!r}") from exc
    try:
        start = parse_time(spec.night.start, tz, datetime(2000, 1, 1, tzinfo=UTC))
        end = parse_time(spec.night.end, tz, start)
    except ValueError as exc:
        raise fail("night.start", str(exc)) from exc
    if end <= start:
        raise fail("night.end", f"the night ends ({spec.night.end}) before it starts ({spec.night.start})")
    if end - start > MAX_NIGHT:
        raise fail("night.end", f"a night of {end - start} is longer than {MAX_NIGHT}")
    drones = sum(w.count for w in spec.waves)
    if drones > MAX_DRONES:
        raise fail("waves", f"{drones} drones in all (at most {MAX_DRONES})")
    birds = sum(b.count for b in spec.birds)
    if birds > MAX_BIRDS:
        raise fail("birds", f"{birds} birds in all (at most {MAX_BIRDS})")

    def check_point(where: str, lat: float, lon: float) -> None:
        try:
            check_lat_lon(lat, lon)
        except CoordinateError as exc:
            raise fail(where, str(exc)) from exc

    check_point("city.lat", spec.city.lat, spec.city.lon)
    frame = LocalFrame(spec.city.lat, spec.city.lon)

    def unique(table: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                raise fail(f"{table}[{i}].id", f"duplicate id {ident!r}")
            seen.add(ident)

    def shape_of(where: str, ring: list[tuple[float, float]]) -> shapely.Polygon:
        if len(ring) < 3:
            raise fail(where, f"a polygon needs at least 3 (lat, lon) points, got {len(ring)}")
        for j, (lat, lon) in enumerate(ring):
            check_point(f"{where}[{j}]", lat, lon)
        poly = frame.polygon(ring)
        if not poly.is_valid or poly.area <= 0:
            raise fail(where, f"not a simple polygon ({shapely.is_valid_reason(poly)})")
        return poly

    unique("zones", [z.id for z in spec.zones])
    zone_shapes: dict[str, shapely.Polygon] = {}
    zone_circles: dict[str, tuple[float, float, float]] = {}
    for i, z in enumerate(spec.zones):
        if (z.polygon is None) == (z.circle is None):
            raise fail(f"zones[{i}]", f"zone {z.id!r} needs exactly one of 'polygon' or 'circle'")
        if z.circle is not None:
            if z.circle.radius_m <= 0:
                raise fail(f"zones[{i}].circle", "radius_m must be positive")
            check_point(f"zones[{i}].circle", z.circle.lat, z.circle.lon)
            ring = circle_ring(z.circle.lat, z.circle.lon, z.circle.radius_m)
            zone_shapes[z.id] = shape_of(f"zones[{i}].circle", ring)
            ce, cn, _ = frame.to_enu([z.circle.lat], [z.circle.lon])
            zone_circles[z.id] = (float(ce[0]), float(cn[0]), z.circle.radius_m)
        else:
            assert z.polygon is not None
            zone_shapes[z.id] = shape_of(f"zones[{i}].polygon", z.polygon)

    unique("districts", [d.id for d in spec.districts])
    district_shapes = {
        d.id: shape_of(f"districts[{i}].polygon", d.polygon) for i, d in enumerate(spec.districts)
    }
    unique("airports", [a.id for a in spec.airports])
    for i, a in enumerate(spec.airports):
        check_point(f"airports[{i}].lat", a.lat, a.lon)
    unique("stations", [s.id for s in spec.stations])
    crew_ids = [c.id for s in spec.stations for c in s.crews]
    if len(crew_ids) != len(set(crew_ids)):
        dup = next(c for c in crew_ids if crew_ids.count(c) > 1)
        raise fail("stations", f"crew id {dup!r} appears twice")
    for i, station in enumerate(spec.stations):
        check_point(f"stations[{i}].lat", station.lat, station.lon)

    unique("sensors", [s.id for s in spec.sensors])
    places = [(a.lat, a.lon) for a in spec.airports] + [(spec.city.lat, spec.city.lon)]
    for shape in list(zone_shapes.values()) + list(district_shapes.values()):
        centre = shape.centroid
        places.append(frame.latlon(centre.x, centre.y))
    for i, s in enumerate(spec.sensors):
        check_point(f"sensors[{i}].lat", s.lat, s.lon)
        if s.range_m <= 0:
            raise fail(f"sensors[{i}].range_m", "range_m must be positive")
        if not 0.0 < s.p_detect <= 1.0:
            raise fail(f"sensors[{i}].p_detect", "p_detect must be in (0, 1]")
        if s.period_s <= 0:
            raise fail(f"sensors[{i}].period_s", "period_s must be positive")
        sx, sy = frame.point(s.lat, s.lon)
        coverage = shapely.Point(sx, sy).buffer(s.range_m)
        reaches = any(coverage.intersects(z) for z in zone_shapes.values()) or any(
            distance_m(s.lat, s.lon, lat, lon) <= s.range_m for lat, lon in places
        )
        if not reaches:
            raise fail(
                f"sensors[{i}]",
                f"sensor {s.id!r} is out of range of everything: no zone, district, airport or the "
                f"city centre lies within its {s.range_m:.0f} m",
            )

    types = {d.id for d in spec.drone_types}
    unique("drone_types", [d.id for d in spec.drone_types])
    unique("waves", [w.id for w in spec.waves])
    for i, w in enumerate(spec.waves):
        if w.drone_type not in types:
            raise fail(f"waves[{i}].drone_type", f"unknown drone type {w.drone_type!r} (known: {sorted(types)})")
        for t in w.targets:
            if t not in zone_shapes:
                raise fail(f"waves[{i}].targets", f"unknown zone {t!r} (known: {sorted(zone_shapes)})")
        if not w.targets:
            raise fail(f"waves[{i}].targets", "a wave needs at least one target zone")
        if len(w.intercept_range_m) > w.count:
            raise fail(f"waves[{i}].intercept_range_m", f"{len(w.intercept_range_m)} intercepts for {w.count} drones")
        try:
            parse_time(w.launch, tz, start)
        except ValueError as exc:
            raise fail(f"waves[{i}].launch", str(exc)) from exc
    airports = {a.id for a in spec.airports}
    for i, f in enumerate(spec.flights):
        if f.airport not in airports:
            raise fail(f"flights[{i}].airport", f"unknown airport {f.airport!r}")
        try:
            parse_time(f.time, tz, start)
        except ValueError as exc:
            raise fail(f"flights[{i}].time", str(exc)) from exc
    for i, b in enumerate(spec.birds):
        check_point(f"birds[{i}].lat", b.lat, b.lon)
    unique("officers", [o.id for o in spec.officers])
    unique("claims", [c.id for c in spec.claims])
    for i, c in enumerate(spec.claims):
        for key in ("at", "time_from", "time_to"):
            value = getattr(c, key)
            if value or key == "at":
                try:
                    parse_time(value, tz, start)
                except ValueError as exc:
                    raise fail(f"claims[{i}].{key}", str(exc)) from exc
    for key in ("roads", "policy"):
        name = getattr(spec, key)
        if name and not (p.parent / name).is_file():
            raise fail(key, f"file {name!r} not found next to the scenario ({p.parent})")

    return LoadedScenario(
        path=p,
        spec=spec,
        digest=digest,
        frame=frame,
        tz=tz,
        start=start,
        end=end,
        zone_shapes=zone_shapes,
        district_shapes=district_shapes,
        zone_circles=zone_circles,
    )
