"""Zone-entry prediction: where each track's predicted path meets each protected zone.

The kernel works on arrays, tracks x zones x time samples, in the scenario's local frame
(east/north metres). The motion model is constant velocity with a position uncertainty that
grows with the look-ahead time ``t``::

    sigma(t)^2 = sigma0^2 + (sigma_v * t)^2 + q * t^3 / 3
    sigma_v^2  = sigma_v0^2 + (speed * sin(sigma_heading))^2

``sigma0`` is the track's 1-sigma horizontal position error now; ``sigma_v`` the 1-sigma error of
its velocity as a straight-line predictor: the estimate's own error ``sigma_v0`` plus the heading
the drone will really hold over the next minutes (attack drones weave and dog-leg, so a heading
known to ``sigma_heading`` moves the far end of the path sideways in proportion to speed); ``q``
the power spectral density (m^2/s^3) of a white-noise acceleration (the remaining manoeuvres),
whose integrated position variance is ``q t^3 / 3``.

The probability that the track is inside a zone at time ``t`` is taken from the Gaussian margin
across the zone's edge::

    P_in(t) = Phi(-d(t) / sigma(t))

with ``d(t)`` the signed distance from the mean predicted position to the zone's edge (negative
inside). The probability of entry within the horizon is ``max_t P_in(t)`` (a lower bound on the
probability of ever entering, exact for a path that runs straight into the zone's interior). The
time to the zone is where the mean path first crosses the edge (linear interpolation of ``d``
between samples); the closest point of approach is the exact distance from the mean path's
segment over the horizon to the polygon (0 if it enters).

A zone drawn as a circle (``Circle``) is measured as that circle, in closed form: the signed
distance is ``|P - c| - r``, the time to the zone the first root of ``|p + v t - c| = r``, the
closest approach that of the segment to the centre, less ``r``. That is exact where the polygon
that maps draw is not (a 48-gon's edge lies up to 0.2 % of the radius inside the circle), and it
costs a few operations per sample, not a loop of polygon distances.

Both kinds are computed in compiled loops over (tracks x zones x samples) (numba): a tick asks
this of a few tracks, where numpy's cost per call was most of the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MotionModel:
    """Constant velocity with growing uncertainty; see the module docstring for the equation."""

    horizon_s: float = 900.0  # how far ahead the path is predicted
    dt_s: float = 15.0  # spacing of the time samples along the path (crossings are interpolated)
    sigma_v_ms: float = 2.0  # 1-sigma velocity estimate error (m/s)
    sigma_heading_deg: float = 10.0  # 1-sigma of the heading held over the horizon
    q_m2s3: float = 0.02  # white-noise acceleration PSD (m^2/s^3)

    def times(self) -> FloatArray:
        """(K,) look-ahead times in seconds, 0 .. horizon inclusive."""
        k = int(np.ceil(self.horizon_s / self.dt_s))
        return np.minimum(np.arange(k + 1, dtype=np.float64) * self.dt_s, self.horizon_s)

    def sigma_v(self, speed: FloatArray) -> FloatArray:
        """(N,) velocity error of the straight-line predictor: sqrt(sigma_v0^2 + (speed sin(sigma_h))^2)."""
        sh = np.sin(np.radians(self.sigma_heading_deg))
        out: FloatArray = np.sqrt(self.sigma_v_ms**2 + (np.asarray(speed, dtype=np.float64) * sh) ** 2)
        return out

    def sigma(self, sigma0: FloatArray, t: FloatArray, speed: FloatArray | None = None) -> FloatArray:
        """(N, K) 1-sigma position error: sqrt(sigma0^2 + (sigma_v t)^2 + q t^3 / 3)."""
        s0 = np.asarray(sigma0, dtype=np.float64)[:, None]
        tt = np.asarray(t, dtype=np.float64)[None, :]
        sv = self.sigma_v(np.zeros(s0.shape[0]) if speed is None else speed)[:, None]
        return np.sqrt(s0**2 + (sv * tt) ** 2 + self.q_m2s3 * tt**3 / 3.0)


@dataclass(frozen=True)
class Circle:
    """A circular zone in the local frame: centre (m) and radius (m)."""

    cx: float
    cy: float
    r: float


@dataclass(frozen=True)
class EntryPrediction:
    """Per (track, zone): arrays of shape (N, Z).

    ``time_to_zone_s``: when the mean path first crosses into the zone (0 if already inside,
    NaN if it does not within the horizon); ``p_entry``: probability of entry within the horizon;
    ``cpa_m``: closest approach of the mean path to the zone's edge (0 if it enters);
    ``t_cpa_s``: when that closest approach happens (seconds ahead).
    """

    time_to_zone_s: FloatArray
    p_entry: FloatArray
    cpa_m: FloatArray
    t_cpa_s: FloatArray


@dataclass(frozen=True)
class _ZoneGeom:
    """What the kernels need of one polygon, computed once: its edges A->B (E, 2), |B - A|^2
    (E,), the centroid and the radius of the bounding circle about it (m)."""

    zone: shapely.Polygon
    a: FloatArray
    ab: FloatArray
    ab2: FloatArray
    cx: float
    cy: float
    r_max: float


# Polygon -> its geometry, keyed by object identity (the zones of a stage are built once and
# live as long as it; the entry holds the polygon, so its id cannot be reused meanwhile).
_GEOM: dict[int, _ZoneGeom] = {}


def _geom(zone: shapely.Polygon) -> _ZoneGeom:
    g = _GEOM.get(id(zone))
    if g is not None and g.zone is zone:
        return g
    ring = np.asarray(zone.exterior.coords, dtype=np.float64)
    a = ring[:-1]
    ab = ring[1:] - a  # (E, 2)
    c = zone.centroid
    r_max = float(np.max(np.hypot(ring[:, 0] - c.x, ring[:, 1] - c.y)))
    shapely.prepare(zone)  # contains_xy on a prepared polygon: same answer, indexed edges
    g = _ZoneGeom(zone, a, ab, np.maximum(np.sum(ab * ab, axis=1), 1e-12), float(c.x), float(c.y), r_max)
    if len(_GEOM) > 1024:
        _GEOM.clear()
    _GEOM[id(zone)] = g
    return g


def edge_distance(zone: shapely.Polygon, x: FloatArray, y: FloatArray) -> FloatArray:
    """Distance (m) from points (M,) to the polygon's exterior ring: the nearest of its edges.

    For edge A->B and point P: ``u = clip(((P - A) . (B - A)) / |B - A|^2, 0, 1)``,
    ``d = |P - (A + u (B - A))|``; shape (M, E) in between.
    """
    g = _geom(zone)
    abx, aby = g.ab[:, 0], g.ab[:, 1]
    px = x[:, None] - g.a[None, :, 0]
    py = y[:, None] - g.a[None, :, 1]
    # the same operations as the formula, in place on three (M, E) buffers
    u = px * abx
    w = py * aby
    u += w
    u /= g.ab2
    np.maximum(u, 0.0, out=u)
    np.minimum(u, 1.0, out=u)
    np.multiply(u, abx, out=w)
    px -= w  # P - A - u (B - A), east
    np.multiply(u, aby, out=w)
    py -= w
    px *= px
    py *= py
    px += py
    d: FloatArray = np.sqrt(px.min(axis=1))
    return d


def signed_distance(zone: shapely.Polygon, x: FloatArray, y: FloatArray) -> FloatArray:
    """Signed distance (m) from points (any shape) to the polygon's edge: negative inside."""
    shape = np.shape(x)
    xf = np.ravel(np.asarray(x, dtype=np.float64))
    yf = np.ravel(np.asarray(y, dtype=np.float64))
    d = edge_distance(zone, xf, yf)
    inside = shapely.contains_xy(zone, xf, yf)
    sd: FloatArray = np.where(inside, -d, d).reshape(shape)
    return sd


def predict_entries(
    pos: FloatArray,
    vel: FloatArray,
    sigma0: FloatArray,
    zones: Sequence[shapely.Polygon | Circle],
    model: MotionModel | None = None,
) -> EntryPrediction:
    """Predict zone entry for N tracks against Z zones.

    ``pos`` (N, 2) east/north metres, ``vel`` (N, 2) east/north m/s, ``sigma0`` (N,) metres,
    ``zones`` Z polygons or circles in the same frame. Returns an :class:`EntryPrediction` of
    (N, Z) arrays.
    """
    m = model or MotionModel()
    pos = np.asarray(pos, dtype=np.float64).reshape(-1, 2)
    vel = np.asarray(vel, dtype=np.float64).reshape(-1, 2)
    sigma0 = np.asarray(sigma0, dtype=np.float64).reshape(-1)
    n, z = len(pos), len(zones)
    tz = np.full((n, z), np.nan)
    pe = np.zeros((n, z))
    cpa = np.full((n, z), np.inf)
    tcpa = np.zeros((n, z))
    if n == 0 or z == 0:
        return EntryPrediction(tz, pe, cpa, tcpa)
    zs = _zone_arrays(tuple(zones))
    t = m.times()  # (K,)
    speed = np.hypot(vel[:, 0], vel[:, 1])
    sig = m.sigma(sigma0, t, speed)  # (N, K)
    h = float(m.horizon_s)
    # the compiled loops (numba) load with the first prediction, not with a restored stage
    from skywarden.assess.kernels import circle_kernel, polygon_kernel

    if zs.circle_cols:
        part = circle_kernel(pos, vel, speed, sig, t, zs.circles, h)
        cols = zs.circle_cols
        tz[:, cols], pe[:, cols], cpa[:, cols], tcpa[:, cols] = part
    if zs.polygon_cols:
        part = polygon_kernel(pos, vel, speed, sig, t, zs.rings, zs.starts, zs.bound, h)
        cols = zs.polygon_cols
        tz[:, cols], pe[:, cols], cpa[:, cols], tcpa[:, cols] = part
    return EntryPrediction(tz, pe, cpa, tcpa)


@dataclass(frozen=True)
class _Zones:
    """What the kernels read of a set of zones, built once per set: the circles' columns and
    (C, 3) centre and radius; the polygons' columns, rings end to end, where each begins, and
    (P, 3) centroid and bounding radius."""

    zones: tuple[shapely.Polygon | Circle, ...]
    circle_cols: list[int]
    circles: FloatArray
    polygon_cols: list[int]
    rings: FloatArray
    starts: NDArray[np.int64]
    bound: FloatArray


# zone sets by the zones' identity (a stage's zones are built once and live as long as it); the
# entry holds the zones, so that their ids cannot be reused meanwhile
_ZONES: dict[tuple[int, ...], _Zones] = {}


def _zone_arrays(zones: tuple[shapely.Polygon | Circle, ...]) -> _Zones:
    key = tuple(id(z) for z in zones)
    hit = _ZONES.get(key)
    if hit is not None and all(a is b for a, b in zip(hit.zones, zones, strict=True)):
        return hit
    cc = [j for j, z in enumerate(zones) if isinstance(z, Circle)]
    pc = [j for j, z in enumerate(zones) if not isinstance(z, Circle)]
    circles = [z for z in zones if isinstance(z, Circle)]  # in the order of cc
    polys = [z for z in zones if not isinstance(z, Circle)]  # in the order of pc
    from skywarden import polygons

    rings, starts = polygons.pack_rings(polys)
    hit = _Zones(
        zones,
        cc,
        np.array([[c.cx, c.cy, c.r] for c in circles]).reshape(-1, 3),
        pc,
        rings,
        starts,
        np.array([[g.cx, g.cy, g.r_max] for g in map(_geom, polys)]).reshape(-1, 3),
    )
    if len(_ZONES) > 256:
        _ZONES.clear()
    _ZONES[key] = hit
    return hit
