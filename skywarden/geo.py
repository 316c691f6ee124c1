"""WGS84 <-> the local metric frame, and the areas of the city (zones, districts) in it.

The local frame is an azimuthal equidistant projection centred on the city (east, north in
metres) with height above the ellipsoid as "up". Within ~150 km of the centre distances and
bearings from the centre are exact and other distances are off by well under 0.1 %, which is far
below sensor noise; unlike a tangent plane, the ground does not drop away with range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from pyproj import Geod, Transformer

# pyproj is imported when a projection or a geodesic is first needed, not with this module: a
# stage restored from a snapshot for a tick that places nothing never loads it
FloatArray = NDArray[np.float64]


@cache
def wgs84() -> Geod:
    """The WGS84 ellipsoid's geodesics (pyproj)."""
    from pyproj import Geod

    return Geod(ellps="WGS84")


@dataclass(frozen=True)
class LocalFrame:
    """East/north/up metres about (``lat0``, ``lon0``); ``up`` is height above the ellipsoid."""

    lat0: float
    lon0: float

    def __post_init__(self) -> None:
        check_lat_lon(self.lat0, self.lon0)

    # the two transformers are built on first use and never pickled (a snapshot's frames are
    # their centre alone): the same projection string gives the same transformer again
    @property
    def _proj(self) -> str:
        return f"+proj=aeqd +lat_0={self.lat0} +lon_0={self.lon0} +datum=WGS84 +units=m +no_defs"

    @cached_property
    def _fwd(self) -> Transformer:
        from pyproj import Transformer

        return Transformer.from_crs("EPSG:4326", self._proj, always_xy=True)

    @cached_property
    def _inv(self) -> Transformer:
        from pyproj import Transformer

        return Transformer.from_crs(self._proj, "EPSG:4326", always_xy=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"lat0": self.lat0, "lon0": self.lon0}

    def to_enu(
        self, lat: ArrayLike, lon: ArrayLike, alt: ArrayLike = 0.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(lat, lon, alt) degrees/metres -> (east, north, up) metres; arrays broadcast."""
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        e, n = self._fwd.transform(lon_a, lat_a)
        up = np.broadcast_to(np.asarray(alt, dtype=np.float64), np.shape(e)).copy()
        return np.asarray(e, dtype=np.float64), np.asarray(n, dtype=np.float64), up

    def to_wgs84(
        self, east: ArrayLike, north: ArrayLike, up: ArrayLike = 0.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(east, north, up) metres -> (lat, lon, alt)."""
        e_a = np.asarray(east, dtype=np.float64)
        n_a = np.asarray(north, dtype=np.float64)
        lon, lat = self._inv.transform(e_a, n_a)
        alt = np.broadcast_to(np.asarray(up, dtype=np.float64), np.shape(lat)).copy()
        return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64), alt

    def point(self, lat: float, lon: float) -> tuple[float, float]:
        """One (lat, lon) -> (east, north) as plain floats."""
        e, n = self._fwd.transform(lon, lat)
        return float(e), float(n)

    def latlon(self, east: float, north: float) -> tuple[float, float]:
        """One (east, north) -> (lat, lon) as plain floats."""
        lon, lat = self._inv.transform(east, north)
        return float(lat), float(lon)

    def polygon(self, ring_latlon: Sequence[Sequence[float]]) -> shapely.Polygon:
        """A (lat, lon) ring -> a shapely polygon in this frame."""
        lat = [p[0] for p in ring_latlon]
        lon = [p[1] for p in ring_latlon]
        e, n, _ = self.to_enu(lat, lon)
        return shapely.Polygon(np.column_stack([e, n]))

    def ring_latlon(self, poly: shapely.Polygon) -> list[tuple[float, float]]:
        """A shapely polygon in this frame -> its exterior as a (lat, lon) ring."""
        xy = np.asarray(poly.exterior.coords)
        lat, lon, _ = self.to_wgs84(xy[:, 0], xy[:, 1])
        return [(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]


class CoordinateError(ValueError):
    """A latitude/longitude that cannot be on Earth."""


def check_lat_lon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise CoordinateError(f"coordinate is not a finite number: ({lat}, {lon})")
    if not -90.0 <= lat <= 90.0:
        raise CoordinateError(f"latitude {lat} is outside [-90, 90]")
    if not -180.0 <= lon <= 180.0:
        raise CoordinateError(f"longitude {lon} is outside [-180, 180]")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on WGS84 in metres."""
    _, _, d = wgs84().inv(lon1, lat1, lon2, lat2)
    return float(d)


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    az, _, _ = wgs84().inv(lon1, lat1, lon2, lat2)
    return float(az) % 360.0


def circle_ring(lat: float, lon: float, radius_m: float, n: int = 48) -> list[tuple[float, float]]:
    """A (lat, lon) ring approximating a circle on the ellipsoid."""
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    lons, lats, _ = wgs84().fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius_m))
    ring = [(float(a), float(b)) for a, b in zip(lats, lons, strict=True)]
    return ring + [ring[0]]


COMPASS_16 = (
    "north", "north-north-east", "north-east", "east-north-east",
    "east", "east-south-east", "south-east", "south-south-east",
    "south", "south-south-west", "south-west", "west-south-west",
    "west", "west-north-west", "north-west", "north-north-west",
)  # fmt: skip
COMPASS_8 = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def sun_elevation_deg(t: datetime, lat: float, lon: float) -> float:
    """The sun's elevation above the horizon (degrees) at ``t`` (timezone-aware) seen from
    (``lat``, ``lon``): NOAA's low-precision formulae (the fractional year's equation of time
    and declination), good to about half a degree, ample to tell day from night."""
    u = t.astimezone(UTC)
    hours = u.hour + u.minute / 60.0 + u.second / 3600.0
    g = 2.0 * math.pi / 365.0 * (u.timetuple().tm_yday - 1 + (hours - 12.0) / 24.0)
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                       - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
            - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
            - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    solar_min = hours * 60.0 + eqtime + 4.0 * lon  # true solar time, minutes
    ha = math.radians(solar_min / 4.0 - 180.0)
    la = math.radians(lat)
    cz = math.sin(la) * math.sin(decl) + math.cos(la) * math.cos(decl) * math.cos(ha)
    return 90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cz))))


def compass(bearing: float, points: int = 8) -> str:
    """A bearing in degrees as a compass direction ("north-east")."""
    names = COMPASS_8 if points == 8 else COMPASS_16
    step = 360.0 / len(names)
    return names[int(((bearing % 360.0) + step / 2) // step) % len(names)]
