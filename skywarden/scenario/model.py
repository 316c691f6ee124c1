"""What a scenario file says: the city (zones, districts, airports, crews, sensors) and the night.

Scenario files are TOML. Every table here forbids unknown keys, so a typo is an error that names
the key, not a silently ignored setting. Coordinates are WGS84 degrees; lengths metres; speeds
m/s; times either ISO 8601 with an offset or "HH:MM[:SS]" local time on the night's calendar.
Geometry checks that need more than one field live in ``load.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

# Bounds (docs/validation.md): every number a night is built from, declared where it is read.
# msgspec refuses NaN against any of them; read_toml refuses nan and inf anywhere first. The
# counts are far above a real city's night (the shipped Moscow night: 50 drones in 6 waves, 7
# sensors, 8 zones) and low enough that a scenario cannot exhaust memory.
Seconds = Annotated[float, Meta(ge=0.0, le=86_400.0)]  # a delay within a day
PositiveM = Annotated[float, Meta(gt=0.0, le=1_000_000.0)]  # a distance, radius or reach
Degrees = Annotated[float, Meta(ge=-360.0, le=360.0)]
Altitude = Annotated[float, Meta(ge=-1000.0, le=50_000.0)]
Speed = Annotated[float, Meta(gt=0.0, le=2000.0)]
SigmaM = Annotated[float, Meta(ge=1e-3, le=100_000.0)]  # a sigma of 0 is a blind sensor
SigmaDeg = Annotated[float, Meta(ge=1e-6, le=90.0)]
Rcs = Annotated[float, Meta(ge=-100.0, le=100.0)]
TICK_S_MIN = 0.1  # the live service's floor too (min_tick_s); 1e-4 s made 10^8 ticks a night
MAX_DRONES = 10_000  # in all the waves together
MAX_BIRDS = 10_000  # in all the flocks together
MAX_ITEMS = 1000  # zones, districts, sensors, waves, flocks, stations, officers ...
MAX_POINTS = 10_000  # of one polygon
Items = Meta(max_length=MAX_ITEMS)


class Base(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


LatLon = tuple[float, float]


class Circle(Base, frozen=True, kw_only=True):
    lat: float
    lon: float
    radius_m: PositiveM


class Night(Base, frozen=True, kw_only=True):
    name: str
    timezone: Annotated[str, Meta(max_length=64)]  # IANA name, e.g. "Europe/Moscow"
    start: str  # ISO 8601 with offset
    end: str
    seed: int = 0
    tick_s: Annotated[float, Meta(ge=TICK_S_MIN, le=60.0)] = 1.0


class City(Base, frozen=True, kw_only=True):
    name: str
    name_ru: str = ""
    lat: float
    lon: float


ZoneKind = Literal["city_centre", "government", "power_plant", "airport", "infrastructure", "military"]


class Zone(Base, frozen=True, kw_only=True):
    """A protected zone: a polygon ((lat, lon) ring) or a circle, with a priority (1 = highest)."""

    id: str
    name: str
    name_ru: str = ""
    kind: ZoneKind
    priority: Annotated[int, Meta(ge=1, le=10)] = 3
    polygon: Annotated[list[LatLon], Meta(max_length=MAX_POINTS)] | None = None
    circle: Circle | None = None


class District(Base, frozen=True, kw_only=True):
    id: str
    name: str
    name_ru: str = ""
    polygon: Annotated[list[LatLon], Meta(max_length=MAX_POINTS)]


class Airport(Base, frozen=True, kw_only=True):
    """An airport under the "Carpet" plan: restricted while a threat is predicted within
    ``restriction_radius_m`` inside ``horizon_s``; lifted after ``quiet_s`` with none."""

    id: str  # IATA, e.g. "SVO"
    icao: str
    name: str
    name_ru: str = ""
    lat: float
    lon: float
    restriction_radius_m: PositiveM = 30_000.0
    horizon_s: Annotated[float, Meta(gt=0.0, le=86_400.0)] = 600.0
    quiet_s: Seconds = 900.0


CrewKind = Literal["fire", "rescue", "eod", "police", "medical"]


class Crew(Base, frozen=True, kw_only=True):
    id: str
    kind: CrewKind
    available: bool = True


class Station(Base, frozen=True, kw_only=True):
    id: str
    name: str
    lat: float
    lon: float
    crews: Annotated[list[Crew], Meta(max_length=100)]


SensorModelKind = Literal["radar", "rf", "camera", "acoustic", "adsb", "remote_id"]


class Sensor(Base, frozen=True, kw_only=True):
    """A sensor. Radars measure range/azimuth/elevation; RF detectors and cameras positions."""

    id: str
    kind: SensorModelKind
    name: str = ""
    lat: float
    lon: float
    alt: Altitude = 0.0
    range_m: PositiveM
    period_s: Annotated[float, Meta(ge=0.1, le=3600.0)] = 2.0  # 1e-6 s hung the simulator
    p_detect: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.9
    clutter_per_scan: Annotated[float, Meta(ge=0.0, le=1000.0)] = 0.0  # mean false plots per scan (Poisson)
    sigma_range_m: SigmaM = 20.0
    sigma_azimuth_deg: SigmaDeg = 0.3
    sigma_elevation_deg: SigmaDeg = 0.5
    sigma_m: SigmaM = 150.0  # positional sensors
    min_altitude_m: Altitude = 0.0  # below this the sensor cannot see (terrain, buildings)


class Wind(Base, frozen=True, kw_only=True):
    speed_ms: Annotated[float, Meta(ge=0.0, le=100.0)] = 5.0
    from_deg: Degrees = 270.0  # meteorological: the direction it blows from
    gust_sigma_ms: Annotated[float, Meta(ge=0.0, le=50.0)] = 1.5


class DroneType(Base, frozen=True, kw_only=True):
    """Airframe used by the simulator and by the debris model (mass and drag)."""

    id: str
    name: str = ""
    mass_kg: Annotated[float, Meta(ge=0.01, le=20_000.0)]  # 0 kg made the debris model divide by 0
    drag_area_m2: Annotated[float, Meta(ge=1e-4, le=100.0)]  # Cd * A
    cruise_speed_ms: Annotated[float, Meta(ge=1.0, le=1000.0)]
    altitude_m: Annotated[float, Meta(ge=0.0, le=30_000.0)]
    rcs_dbsm: Rcs = -10.0


class Wave(Base, frozen=True, kw_only=True):
    """A wave of attack drones launched from beyond the city toward targets in it."""

    id: str
    launch: str  # local "HH:MM[:SS]" or ISO 8601
    count: Annotated[int, Meta(ge=1, le=MAX_DRONES)]
    drone_type: str
    from_bearing_deg: Degrees  # where the launch point lies, seen from the city centre
    launch_range_m: PositiveM
    spread_deg: Annotated[float, Meta(ge=0.0, le=360.0)] = 10.0
    spacing_s: Seconds = 30.0
    targets: Annotated[list[str], Items]  # zone ids
    # per drone: killed this far from its target (0 = not killed)
    intercept_range_m: Annotated[list[Annotated[float, Meta(ge=0.0, le=1_000_000.0)]], Meta(max_length=MAX_DRONES)] = []
    report_delay_s: Seconds = 20.0  # from the kill to the air-defence command's report


class BirdFlock(Base, frozen=True, kw_only=True):
    id: str
    lat: float
    lon: float
    count: Annotated[int, Meta(ge=1, le=MAX_BIRDS)] = 8
    radius_m: PositiveM = 2_000.0
    altitude_m: Annotated[float, Meta(ge=0.0, le=10_000.0)] = 300.0
    speed_ms: Annotated[float, Meta(ge=0.0, le=100.0)] = 12.0
    heading_deg: Degrees = 0.0
    start: str = ""  # empty: the whole night
    end: str = ""


class Flight(Base, frozen=True, kw_only=True):
    """A manned flight with ADS-B: an arrival to or a departure from an airport."""

    callsign: str
    icao24: str
    airport: str
    kind: Literal["arrival", "departure", "overflight"]
    time: str  # local time it lands/departs (or passes overhead)
    bearing_deg: Degrees = 0.0  # approach/departure direction from the airport
    speed_ms: Speed = 110.0


class Officer(Base, frozen=True, kw_only=True):
    id: str
    name: str
    # the scenario's names (publisher, editor) and the live service's roles (skywarden.service)
    role: Literal[
        "publisher", "editor", "duty_officer", "viewer",
        "dispatcher", "press_officer", "approver", "admin",
    ]  # fmt: skip
    approve_delay_s: Seconds = 120.0  # the scripted officer in the simulator


class Claim(Base, frozen=True, kw_only=True):
    """An outside claim (press, witness, another agency) that reaches the centre at ``at``.

    ``what`` is the claim's kind as the claims ledger reads it ("kill", "airport_closed",
    "damage", "drone_sighting"); ``time_from``/``time_to`` the window it speaks of (local
    "HH:MM" or ISO); ``where`` a district, zone, airport or compass direction.
    """

    id: str
    at: str
    source: str
    what: str
    count: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None
    time_from: str = ""
    time_to: str = ""
    where: str = ""
    text: str = ""


class Scenario(Base, frozen=True, kw_only=True):
    night: Night
    city: City
    zones: Annotated[list[Zone], Items]
    districts: Annotated[list[District], Items] = []
    airports: Annotated[list[Airport], Items] = []
    stations: Annotated[list[Station], Items] = []
    sensors: Annotated[list[Sensor], Items] = []
    wind: Wind = Wind()
    drone_types: Annotated[list[DroneType], Items] = []
    waves: Annotated[list[Wave], Items] = []
    birds: Annotated[list[BirdFlock], Items] = []
    flights: Annotated[list[Flight], Meta(max_length=10 * MAX_ITEMS)] = []
    officers: Annotated[list[Officer], Items] = []
    claims: Annotated[list[Claim], Meta(max_length=10 * MAX_ITEMS)] = []
    roads: str = ""  # an OpenStreetMap XML extract next to the scenario file; empty: straight lines
    policy: str = ""  # a disclosure policy file next to the scenario; empty: the shipped default
