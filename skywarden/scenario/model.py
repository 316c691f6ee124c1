"""What a scenario file says: the city (zones, districts, airports, crews, sensors) and the night.

Scenario files are TOML. Every table here forbids unknown keys, so a typo is an error that names
the key, not a silently ignored setting. Coordinates are WGS84 degrees; lengths metres; speeds
m/s; times either ISO 8601 with an offset or "HH:MM[:SS]" local time on the night's calendar.
Geometry checks that need more than one field live in ``load.py``.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class Base(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


LatLon = tuple[float, float]


class Circle(Base, frozen=True, kw_only=True):
    lat: float
    lon: float
    radius_m: float


class Night(Base, frozen=True, kw_only=True):
    name: str
    timezone: str  # IANA name, e.g. "Europe/Moscow"
    start: str  # ISO 8601 with offset
    end: str
    seed: int = 0
    tick_s: float = 1.0


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
    priority: int = 3
    polygon: list[LatLon] | None = None
    circle: Circle | None = None


class District(Base, frozen=True, kw_only=True):
    id: str
    name: str
    name_ru: str = ""
    polygon: list[LatLon]


class Airport(Base, frozen=True, kw_only=True):
    """An airport under the "Carpet" plan: restricted while a threat is predicted within
    ``restriction_radius_m`` inside ``horizon_s``; lifted after ``quiet_s`` with none."""

    id: str  # IATA, e.g. "SVO"
    icao: str
    name: str
    name_ru: str = ""
    lat: float
    lon: float
    restriction_radius_m: float = 30_000.0
    horizon_s: float = 600.0
    quiet_s: float = 900.0


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
    crews: list[Crew]


SensorModelKind = Literal["radar", "rf", "camera", "acoustic", "adsb", "remote_id"]


class Sensor(Base, frozen=True, kw_only=True):
    """A sensor. Radars measure range/azimuth/elevation; RF detectors and cameras positions."""

    id: str
    kind: SensorModelKind
    name: str = ""
    lat: float
    lon: float
    alt: float = 0.0
    range_m: float
    period_s: float = 2.0
    p_detect: float = 0.9
    clutter_per_scan: float = 0.0  # mean false plots per scan (Poisson)
    sigma_range_m: float = 20.0
    sigma_azimuth_deg: float = 0.3
    sigma_elevation_deg: float = 0.5
    sigma_m: float = 150.0  # positional sensors
    min_altitude_m: float = 0.0  # below this the sensor cannot see (terrain, buildings)


class Wind(Base, frozen=True, kw_only=True):
    speed_ms: float = 5.0
    from_deg: float = 270.0  # meteorological: the direction it blows from
    gust_sigma_ms: float = 1.5


class DroneType(Base, frozen=True, kw_only=True):
    """Airframe used by the simulator and by the debris model (mass and drag)."""

    id: str
    name: str = ""
    mass_kg: float
    drag_area_m2: float  # Cd * A
    cruise_speed_ms: float
    altitude_m: float
    rcs_dbsm: float = -10.0


class Wave(Base, frozen=True, kw_only=True):
    """A wave of attack drones launched from beyond the city toward targets in it."""

    id: str
    launch: str  # local "HH:MM[:SS]" or ISO 8601
    count: int
    drone_type: str
    from_bearing_deg: float  # where the launch point lies, seen from the city centre
    launch_range_m: float
    spread_deg: float = 10.0
    spacing_s: float = 30.0
    targets: list[str]  # zone ids
    intercept_range_m: list[float] = []  # per drone: killed this far from its target (0 = not killed)
    report_delay_s: float = 20.0  # from the kill to the air-defence command's report


class BirdFlock(Base, frozen=True, kw_only=True):
    id: str
    lat: float
    lon: float
    count: int = 8
    radius_m: float = 2_000.0
    altitude_m: float = 300.0
    speed_ms: float = 12.0
    heading_deg: float = 0.0
    start: str = ""  # empty: the whole night
    end: str = ""


class Flight(Base, frozen=True, kw_only=True):
    """A manned flight with ADS-B: an arrival to or a departure from an airport."""

    callsign: str
    icao24: str
    airport: str
    kind: Literal["arrival", "departure", "overflight"]
    time: str  # local time it lands/departs (or passes overhead)
    bearing_deg: float = 0.0  # approach/departure direction from the airport
    speed_ms: float = 110.0


class Officer(Base, frozen=True, kw_only=True):
    id: str
    name: str
    # the scenario's names (publisher, editor) and the live service's roles (skywarden.service)
    role: Literal[
        "publisher", "editor", "duty_officer", "viewer",
        "dispatcher", "press_officer", "approver", "admin",
    ]  # fmt: skip
    approve_delay_s: float = 120.0  # the scripted officer in the simulator


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
    count: int | None = None
    time_from: str = ""
    time_to: str = ""
    where: str = ""
    text: str = ""


class Scenario(Base, frozen=True, kw_only=True):
    night: Night
    city: City
    zones: list[Zone]
    districts: list[District] = []
    airports: list[Airport] = []
    stations: list[Station] = []
    sensors: list[Sensor] = []
    wind: Wind = Wind()
    drone_types: list[DroneType] = []
    waves: list[Wave] = []
    birds: list[BirdFlock] = []
    flights: list[Flight] = []
    officers: list[Officer] = []
    claims: list[Claim] = []
    roads: str = ""  # an OpenStreetMap XML extract next to the scenario file; empty: straight lines
    policy: str = ""  # a disclosure policy file next to the scenario; empty: the shipped default
