"""Debris footprint: where the pieces of a destroyed drone come down.

From the drone's state at the kill (position from ``KillNumbered``, velocity from the latest
``TrackPicture`` entry of its track), its airframe (mass and drag area from the scenario's
``drone_types``) and the wind, a Monte Carlo fall model with quadratic drag gives the impact
footprint: the most likely point, a polygon holding 95 % of the pieces, and the districts and
protected zones it touches. All samples are integrated at once as numpy arrays.

The fall model, per piece (local frame: east, north, up in metres; velocities in m/s)::

    dv/dt = -1/2 rho(z) beta |v - w| (v - w) - g e_up        beta = Cd A / m   [m^2/kg]
    dx/dt = v                                                rho(z) = rho0 exp(-z / H)

with ``w`` the horizontal wind (uniform with height, one gust draw per piece for its whole fall).
The pure functions :func:`fall` and :func:`footprint` are the model; :class:`DebrisStage` wires
them to the event log.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from skywarden.events import DebrisPredicted, Event, KillNumbered, TrackPicture
from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.model import DroneType

FloatArray = NDArray[np.float64]
Accel = Callable[..., tuple[FloatArray, FloatArray, FloatArray]]

G0 = 9.80665  # standard gravity, m/s^2
RHO0 = 1.225  # sea-level air density (ISA), kg/m^3
SCALE_HEIGHT_M = 8_500.0  # exponential-atmosphere density scale height, m

# The airframe assumed when the scenario lists none (a light fixed-wing attack drone).
GENERIC_DRONE = DroneType(
    id="generic", name="Generic attack drone", mass_kg=50.0, drag_area_m2=0.08,
    cruise_speed_ms=40.0, altitude_m=400.0,
)  # fmt: skip


# --------------------------------------------------------------------------- the fall model


@dataclass(frozen=True)
class FallResult:
    """Where and when each piece meets the ground.

    ``impact``: (S, 2) east/north metres; ``t``: (S,) fall time, s; ``v_impact``: (S, 3) m/s.
    Pieces still airborne after ``max_t_s`` are marked ``landed == False`` with their last state.
    """

    impact: FloatArray
    t: FloatArray
    v_impact: FloatArray
    landed: NDArray[np.bool_]


def _accel_fn(g: float, rho0: float, scale_height: float) -> Accel:
    """The drag-plus-gravity acceleration of the active pieces (struct of arrays, each (s,))."""
    inv_h = 0.0 if math.isinf(scale_height) else 1.0 / scale_height
    half_rho0 = 0.5 * rho0

    def accel(
        z: FloatArray,
        vx: FloatArray,
        vy: FloatArray,
        vz: FloatArray,
        b: FloatArray,
        wx: FloatArray,
        wy: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        rx = vx - wx
        ry = vy - wy
        # k = 1/2 rho0 exp(-z/H) beta |v - w|   (1/s);  a = -k (v - w) - g e_up
        k = np.sqrt(rx * rx + ry * ry + vz * vz)
        k *= b
        if inv_h:
            k *= np.exp(z * -inv_h)
        k *= -half_rho0
        az = k * vz
        az -= g
        return k * rx, k * ry, az

    return accel


def _step_rk4(accel: Accel, s: list[FloatArray], p: list[FloatArray], h: float) -> list[FloatArray]:
    """One classical Runge-Kutta step of (x, y, z, vx, vy, vz); ``p`` = (beta, wx, wy).
    Exact for constant acceleration (a drag-free fall)."""
    x, y, z, vx, vy, vz = s
    a1 = accel(z, vx, vy, vz, *p)
    h2 = 0.5 * h
    v2 = (vx + h2 * a1[0], vy + h2 * a1[1], vz + h2 * a1[2])
    a2 = accel(z + h2 * vz, *v2, *p)
    v3 = (vx + h2 * a2[0], vy + h2 * a2[1], vz + h2 * a2[2])
    a3 = accel(z + h2 * v2[2], *v3, *p)
    v4 = (vx + h * a3[0], vy + h * a3[1], vz + h * a3[2])
    a4 = accel(z + h * v3[2], *v4, *p)
    # v' = v + h/6 (a1 + 2 a2 + 2 a3 + a4)
    # x' = x + h/6 (v1 + 2 v2 + 2 v3 + v4) = x + h v1 + h^2/6 (a1 + a2 + a3)
    #   (v2 = v1 + h/2 a1, v3 = v1 + h/2 a2, v4 = v1 + h a3): fewer array passes, in place
    h6, hh6 = h / 6.0, h * h / 6.0
    out_p: list[FloatArray] = []
    out_v: list[FloatArray] = []
    for k, (q, v) in enumerate(((x, vx), (y, vy), (z, vz))):
        acc = a1[k] + a2[k]
        acc += a3[k]
        acc *= hh6
        acc += q
        acc += h * v
        out_p.append(acc)
        dv = a2[k] + a3[k]
        dv *= 2.0
        dv += a1[k]
        dv += a4[k]
        dv *= h6
        dv += v
        out_v.append(dv)
    return out_p + out_v


def _step_semi_implicit_euler(
    accel: Accel, s: list[FloatArray], p: list[FloatArray], h: float
) -> list[FloatArray]:
    """Symplectic Euler: v' = v + h a(x, v); x' = x + h v'. First order, cheapest per step."""
    x, y, z, vx, vy, vz = s
    ax, ay, az = accel(z, vx, vy, vz, *p)
    vx2, vy2, vz2 = vx + h * ax, vy + h * ay, vz + h * az
    return [x + h * vx2, y + h * vy2, z + h * vz2, vx2, vy2, vz2]


# Integrators by name (the visible registry).
INTEGRATORS: dict[
    str, Callable[[Accel, list[FloatArray], list[FloatArray], float], list[FloatArray]]
] = {
    "rk4": _step_rk4,
    "semi_implicit_euler": _step_semi_implicit_euler,
}


def _hermite_crossing(
    z0: FloatArray, vz0: FloatArray, z1: FloatArray, vz1: FloatArray, h: float, ground: float
) -> FloatArray:
    """Fraction s in [0, 1] of the step where the cubic Hermite through (z0, vz0), (z1, vz1)
    meets ``ground``. Cubic Hermite reproduces a parabola exactly, so a drag-free fall lands
    exactly; three Newton steps from the linear guess converge well below a millimetre."""
    s = np.clip((z0 - ground) / np.where(z0 != z1, z0 - z1, 1.0), 0.0, 1.0)
    for _ in range(3):
        s2, s3 = s * s, s * s * s
        # z(s) = (2s^3-3s^2+1) z0 + (s^3-2s^2+s) h vz0 + (-2s^3+3s^2) z1 + (s^3-s^2) h vz1
        zs = (
            (2 * s3 - 3 * s2 + 1) * z0
            + (s3 - 2 * s2 + s) * h * vz0
            + (-2 * s3 + 3 * s2) * z1
            + (s3 - s2) * h * vz1
        )
        dz = (
            (6 * s2 - 6 * s) * z0
            + (3 * s2 - 4 * s + 1) * h * vz0
            + (6 * s - 6 * s2) * z1
            + (3 * s2 - 2 * s) * h * vz1
        )
        s = np.clip(s - (zs - ground) / np.where(np.abs(dz) > 1e-12, dz, 1e-12), 0.0, 1.0)
    return s


def _hermite(
    p0: FloatArray, v0: FloatArray, p1: FloatArray, v1: FloatArray, h: float, s: FloatArray
) -> FloatArray:
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * p0
        + (s3 - 2 * s2 + s) * h * v0
        + (-2 * s3 + 3 * s2) * p1
        + (s3 - s2) * h * v1
    )


STIFF_LIMIT = 1.0  # largest h * lambda a fixed step may take (RK4 is stable up to ~2.8)


def _integrate(
    step: Callable[[Accel, list[FloatArray], list[FloatArray], float], list[FloatArray]],
    accel: Accel,
    idx: NDArray[np.intp],
    pos: FloatArray,
    vel: FloatArray,
    beta_a: FloatArray,
    wind_a: FloatArray,
    h: float,
    ground_m: float,
    max_t_s: float,
    rho0: float,
    out: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]],
) -> None:
    """Integrate the pieces ``idx`` with the fixed step ``h`` into ``out`` (impact, t, v, landed).

    Stiffness: a piece's drag rate is lambda = rho beta |v - w| (1/s), and an explicit step
    needs h lambda small. A light fragment thrown fast is stiff for its first second or so,
    until drag has slowed it toward its terminal speed; while any piece has h lambda >
    STIFF_LIMIT, those pieces cross the step in m equal sub-steps, m = ceil(h lambda_max /
    STIFF_LIMIT). Everyone else takes the one fixed step."""
    impact, t_out, v_out, landed = out
    s = [pos[idx, 0], pos[idx, 1], pos[idx, 2], vel[idx, 0], vel[idx, 1], vel[idx, 2]]
    prm = [beta_a[idx], wind_a[idx, 0], wind_a[idx, 1]]
    alive = np.ones(idx.size, dtype=bool)  # of the (compacted) working arrays
    n_alive = idx.size
    t = 0.0
    while n_alive and t < max_t_s:
        s1 = step(accel, s, prm, h)
        # lambda h = rho0 beta |v - w| h, at sea-level density (the densest air on the way down)
        rx, ry = s[3] - prm[1], s[4] - prm[2]
        lam_h = np.sqrt(rx * rx + ry * ry + s[5] * s[5])
        lam_h *= prm[0]
        lam_h *= rho0 * h
        stiff = np.flatnonzero(lam_h > STIFF_LIMIT)
        if stiff.size:
            m = math.ceil(float(lam_h[stiff].max()) / STIFF_LIMIT)
            sub = [a[stiff] for a in s]
            sub_prm = [a[stiff] for a in prm]
            for _ in range(m):
                sub = step(accel, sub, sub_prm, h / m)
            for a, b in zip(s1, sub, strict=True):
                a[stiff] = b
        t += h
        down = s1[2] <= ground_m
        down &= alive
        if down.any():
            d = np.flatnonzero(down)
            f = _hermite_crossing(s[2][d], s[5][d], s1[2][d], s1[5][d], h, ground_m)
            gi = idx[d]
            impact[gi, 0] = _hermite(s[0][d], s[3][d], s1[0][d], s1[3][d], h, f)
            impact[gi, 1] = _hermite(s[1][d], s[4][d], s1[1][d], s1[4][d], h, f)
            t_out[gi] = t - h + f * h
            for k in range(3):
                v_out[gi, k] = s[3 + k][d] + f * (s1[3 + k][d] - s[3 + k][d])
            landed[gi] = True
            alive[d] = False
            n_alive -= d.size
            # Landed pieces ride along below ground (masked out) until compacting pays off.
            if n_alive < 0.75 * alive.size:
                keep = np.flatnonzero(alive)
                idx, alive = idx[keep], alive[keep]
                s1 = [a[keep] for a in s1]
                prm = [a[keep] for a in prm]
        s = s1
    if n_alive:  # still airborne at max_t_s: report the last state, not landed
        keep = np.flatnonzero(alive)
        gi = idx[keep]
        impact[gi, 0], impact[gi, 1] = s[0][keep], s[1][keep]
        t_out[gi] = t
        for k in range(3):
            v_out[gi, k] = s[3 + k][keep]


def fall(
    pos: FloatArray,
    vel: FloatArray,
    beta: FloatArray | float,
    wind: FloatArray | Sequence[float] = (0.0, 0.0),
    *,
    dt_s: float = 1.0,
    method: str = "rk4",
    ground_m: float = 0.0,
    max_t_s: float = 900.0,
    g: float = G0,
    rho0: float = RHO0,
    scale_height_m: float = SCALE_HEIGHT_M,
) -> FallResult:
    """Integrate S falling pieces at once to the ground.

    pos: (S, 3) east/north/up metres (up = height on the same datum as ``ground_m``);
    vel: (S, 3) m/s; beta: (S,) or scalar drag-to-mass ratio Cd*A/m in m^2/kg (0 = no drag);
    wind: (S, 2) or (2,) horizontal wind east/north in m/s. Fixed step ``dt_s``; the step that
    crosses the ground is interpolated (cubic Hermite), and landed pieces leave the arrays so
    the work shrinks as the fall goes on. ``scale_height_m = inf`` gives a constant density.
    """
    if method not in INTEGRATORS:
        raise ValueError(f"unknown integrator {method!r} (known: {sorted(INTEGRATORS)})")
    if dt_s <= 0:
        raise ValueError("dt_s must be positive")
    pos = np.asarray(pos, dtype=np.float64)
    vel = np.asarray(vel, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or vel.shape != pos.shape:
        raise ValueError(f"pos and vel must both be (S, 3), got {pos.shape} and {vel.shape}")
    n = pos.shape[0]
    beta_a = np.broadcast_to(np.asarray(beta, dtype=np.float64), (n,)).copy()
    wind_a = np.broadcast_to(np.asarray(wind, dtype=np.float64), (n, 2))
    step = INTEGRATORS[method]
    accel = _accel_fn(g, rho0, scale_height_m)

    impact = pos[:, :2].copy()
    t_out = np.zeros(n)
    v_out = vel.copy()
    landed = pos[:, 2] <= ground_m  # already on the ground: land where they are, at t = 0
    out = (impact, t_out, v_out, landed)
    idx = np.flatnonzero(~landed)
    _integrate(step, accel, idx, pos, vel, beta_a, wind_a, dt_s, ground_m, max_t_s, rho0, out)
    return FallResult(impact=impact, t=t_out, v_impact=v_out, landed=landed)


def terminal_speed(beta: float, rho: float = RHO0, g: float = G0) -> float:
    """Terminal fall speed in still air, m/s:  v_t = sqrt(2 m g / (rho Cd A)) = sqrt(2 g / (rho beta))."""
    return math.sqrt(2.0 * g / (rho * beta))


# --------------------------------------------------------------------------- the footprint


@dataclass(frozen=True)
class Footprint:
    """The impact footprint in the local frame: ``mode`` (east, north) metres, ``polygon`` the
    containment polygon (shapely, metres), ``inside`` (S,) the samples chosen to build it."""

    mode: tuple[float, float]
    polygon: shapely.Polygon
    inside: NDArray[np.bool_]


def density_mode(xy: FloatArray, bins: int = 64) -> tuple[float, float]:
    """The most likely point of a 2-D sample cloud: the peak of a kernel density estimate,
    computed as a Gaussian-smoothed histogram over the central 98 % of the samples (fragment
    tails do not stretch the grid). Bandwidth per axis by Silverman's rule on a robust spread:
    h = sigma n^(-1/6), sigma = IQR / 1.349."""
    n = xy.shape[0]
    lo, q25, q75, hi = np.percentile(xy, [1.0, 25.0, 75.0, 99.0], axis=0)  # one sort per axis
    span = np.maximum(hi - lo, 1.0)
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    hist, ex, ey = np.histogram2d(
        xy[:, 0], xy[:, 1], bins=bins, range=[[lo[0], hi[0]], [lo[1], hi[1]]]
    )
    bandwidth = np.maximum((q75 - q25) / 1.349, 1e-3) * n ** (-1.0 / 6.0)
    from scipy import ndimage  # here, not at the top: only a kill's debris needs scipy

    dens = ndimage.gaussian_filter(hist, bandwidth / ((hi - lo) / bins), mode="constant")
    i, j = np.unravel_index(int(np.argmax(dens)), dens.shape)
    return float(0.5 * (ex[i] + ex[i + 1])), float(0.5 * (ey[j] + ey[j + 1]))


def footprint(xy: FloatArray, containment: float = 0.95, min_radius_m: float = 5.0) -> Footprint:
    """Most likely point and containment polygon of impact points ``xy`` (S, 2) metres.

    The polygon is the convex hull of the ``containment`` fraction of samples nearest the mode
    by Mahalanobis distance  d^2 = (x - m)^T C^-1 (x - m)  (C the sample covariance, regularised
    by 1 m^2 so a degenerate cloud still works). A cloud with no spread gives a small disc.
    """
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] == 0:
        raise ValueError(f"xy must be (S, 2) with S > 0, got {xy.shape}")
    if not 0.0 < containment <= 1.0:
        raise ValueError("containment must be in (0, 1]")
    # a piece without a finite impact (cannot happen with a stable step) must not poison the rest
    ok = np.isfinite(xy).all(axis=1)
    if not ok.all():
        if not ok.any():
            raise ValueError("no finite impact point")
        inside_all = np.zeros(xy.shape[0], dtype=bool)
        fp = footprint(xy[ok], containment, min_radius_m)
        inside_all[ok] = fp.inside
        return Footprint(mode=fp.mode, polygon=fp.polygon, inside=inside_all)
    mode = density_mode(xy)
    d = xy - np.asarray(mode)
    cov = np.cov(xy.T) + np.eye(2) if xy.shape[0] > 1 else np.eye(2)
    d2 = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
    k = max(1, math.ceil(containment * xy.shape[0]))
    cut = np.partition(d2, k - 1)[k - 1]
    inside = d2 <= cut
    pts = xy[inside]
    from scipy.spatial import ConvexHull, QhullError

    try:  # qhull on the array: no shapely point objects for thousands of samples
        hull: BaseGeometry = shapely.Polygon(pts[ConvexHull(pts).vertices])
    except QhullError:  # fewer than 3 distinct points, or all on one line
        hull = shapely.MultiPoint(pts).convex_hull
    if not isinstance(hull, shapely.Polygon) or hull.area < math.pi * min_radius_m**2:
        hull = hull.buffer(min_radius_m)
    poly = shapely.Polygon(hull.exterior)
    return Footprint(mode=mode, polygon=poly, inside=inside)


# --------------------------------------------------------------------------- the stage


@dataclass(frozen=True)
class DebrisConfig:
    """Settings of the debris footprint. Lengths metres, speeds m/s, times s.

    The piece population: ``fragment_fraction`` of the samples are fragments of the broken
    airframe, whose drag-to-mass ratio is the airframe's times a log-normal factor (median
    ``fragment_beta_median``, log-sigma ``fragment_beta_sigma``) and which get a breakup kick
    (``fragment_kick_ms`` per axis); the rest are the (nearly) intact airframe.
    """

    samples: int = 10_000
    method: str = "rk4"
    dt_s: float = 1.0
    max_fall_s: float = 900.0
    seed: int | None = None  # None: the scenario's night seed
    ground_alt_m: float = 0.0  # height of the ground on the datum of the reported altitudes
    sigma_velocity_ms: float = 3.0  # track velocity uncertainty, 1-sigma per axis
    sigma_alt_m: float = 25.0
    sigma_position_m: float = 100.0  # kill position uncertainty when no track gives one
    intact_beta_sigma: float = 0.15
    fragment_fraction: float = 0.6
    fragment_beta_median: float = 3.0
    fragment_beta_sigma: float = 0.8
    fragment_kick_ms: float = 8.0
    containment: float = 0.95
    track_memory_s: float = 1_800.0  # how long a track's last state is kept for a late report
    default_drone_type: str = ""  # airframe for a kill matched to no track; "" = the first listed


@dataclass(frozen=True)
class TrackState:
    t: datetime
    lat: float
    lon: float
    alt: float
    ve: float
    vn: float
    vu: float
    sigma_m: float


def sample_seed(seed: int, report_id: str) -> int:
    """A stable 64-bit seed from the configured seed and a report id (same in every process)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{report_id}".encode()).digest()[:8], "little")


def wind_vector(speed_ms: float, from_deg: float) -> tuple[float, float]:
    """Meteorological wind (blowing FROM ``from_deg``) as the air's (east, north) velocity, m/s."""
    a = math.radians(from_deg)
    return -speed_ms * math.sin(a), -speed_ms * math.cos(a)


class DebrisStage:
    """Predicts the debris footprint of every numbered kill (``KillNumbered`` -> ``DebrisPredicted``).

    Velocity at the kill: the latest ``TrackPicture`` state of the kill's track. A kill matched to
    no track (or to one never seen in a picture) is assumed to fly at the airframe's cruise speed
    level toward the city centre (``default_drone_type``, else the first airframe listed). A kill
    reported at ground height (altitude unknown) is taken at the track's last altitude, else at
    the airframe's cruise altitude.
    """

    name = "debris"

    def __init__(self, scenario: LoadedScenario, config: DebrisConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or DebrisConfig()
        if self.config.method not in INTEGRATORS:
            raise ValueError(
                f"unknown integrator {self.config.method!r} (known: {sorted(INTEGRATORS)})"
            )
        self.seed = scenario.spec.night.seed if self.config.seed is None else self.config.seed
        self.types = list(scenario.spec.drone_types) or [GENERIC_DRONE]
        by_id = {d.id: d for d in self.types}
        self.default_type = by_id.get(self.config.default_drone_type, self.types[0])
        w = scenario.spec.wind
        self.wind = wind_vector(w.speed_ms, w.from_deg)
        self.gust_sigma = w.gust_sigma_ms
        self.tracks: dict[str, tuple[TrackPicture, int]] = {}  # track id -> (picture, row)

    # -- state -------------------------------------------------------------------------------

    def _remember(self, pic: TrackPicture) -> None:
        # keep a reference to the picture and the track's row in it: no copy per track per tick
        for i, tid in enumerate(pic.track_id):
            self.tracks.pop(tid, None)  # re-insert: the dict stays ordered by last update
            self.tracks[tid] = (pic, i)

    def _forget_old(self, now: datetime) -> None:
        horizon = self.config.track_memory_s
        while self.tracks:
            tid, (pic, _) = next(iter(self.tracks.items()))
            if (now - pic.t).total_seconds() <= horizon:
                break
            del self.tracks[tid]

    def track_state(self, track_id: str | None) -> TrackState | None:
        """The latest state of a track seen in a picture (None if never seen or forgotten)."""
        if not track_id or track_id not in self.tracks:
            return None
        p, i = self.tracks[track_id]
        return TrackState(
            p.t, p.lat[i], p.lon[i], p.alt[i], p.ve[i], p.vn[i], p.vu[i], p.sigma_m[i]
        )

    def airframe_for(self, speed_ms: float | None) -> DroneType:
        """The listed airframe whose cruise speed is nearest ``speed_ms`` (ties: first listed)."""
        if speed_ms is None:
            return self.default_type
        return min(self.types, key=lambda d: abs(d.cruise_speed_ms - speed_ms))

    # -- the prediction ----------------------------------------------------------------------

    def initial_state(
        self, kill: KillNumbered
    ) -> tuple[tuple[float, float, float], tuple[float, float, float], float, DroneType, bool]:
        """(east, north, up) m, (ve, vn, vu) m/s, position sigma m, airframe, matched-to-a-track."""
        e, n = self.scenario.frame.point(kill.lat, kill.lon)
        st = self.track_state(kill.track_id)
        # a kill reported at ground height means "altitude unknown" (reports may omit it):
        # take the track's last altitude, else the airframe's typical cruise altitude
        known = kill.alt > self.config.ground_alt_m + 1.0
        if st is not None:
            v = (st.ve, st.vn, st.vu)
            kind = self.airframe_for(math.sqrt(st.ve**2 + st.vn**2 + st.vu**2))
            return (e, n, kill.alt if known else st.alt), v, st.sigma_m, kind, True
        kind = self.default_type
        r = math.hypot(e, n)
        # level flight at cruise speed toward the city centre (frame origin); due south at the centre
        ue, un = (-e / r, -n / r) if r > 1.0 else (0.0, -1.0)
        v = (kind.cruise_speed_ms * ue, kind.cruise_speed_ms * un, 0.0)
        alt = kill.alt if known else self.config.ground_alt_m + kind.altitude_m
        return (e, n, alt), v, self.config.sigma_position_m, kind, False

    def sample(self, kill: KillNumbered) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The Monte Carlo pieces of one kill: pos (S,3), vel (S,3), beta (S,), wind (S,2)."""
        c = self.config
        rng = np.random.default_rng(sample_seed(self.seed, kill.report_id))
        p0, v0, sigma_p, kind, _ = self.initial_state(kill)
        s = c.samples
        pos = np.empty((s, 3))
        pos[:, :2] = np.asarray(p0[:2]) + rng.normal(0.0, sigma_p, (s, 2))
        pos[:, 2] = p0[2] + rng.normal(0.0, c.sigma_alt_m, s)
        vel = np.asarray(v0) + rng.normal(0.0, c.sigma_velocity_ms, (s, 3))
        frag = rng.random(s) < c.fragment_fraction
        vel[frag] += rng.normal(0.0, c.fragment_kick_ms, (int(frag.sum()), 3))
        beta0 = kind.drag_area_m2 / kind.mass_kg
        # log-normal drag-to-mass: intact airframe near beta0, fragments spread above it
        log_b = np.where(
            frag,
            math.log(c.fragment_beta_median) + rng.normal(0.0, c.fragment_beta_sigma, s),
            rng.normal(0.0, c.intact_beta_sigma, s),
        )
        beta = beta0 * np.exp(log_b)
        wind = np.asarray(self.wind) + rng.normal(0.0, self.gust_sigma, (s, 2))
        return pos, vel, beta, wind

    def predict(self, kill: KillNumbered, now: datetime) -> DebrisPredicted:
        c = self.config
        pos, vel, beta, wind = self.sample(kill)
        res = fall(
            pos,
            vel,
            beta,
            wind,
            dt_s=c.dt_s,
            method=c.method,
            ground_m=c.ground_alt_m,
            max_t_s=c.max_fall_s,
        )
        fp = footprint(res.impact, c.containment)
        frame = self.scenario.frame
        lat, lon = frame.latlon(*fp.mode)
        poly = fp.polygon
        districts = sorted(
            d for d, shape in self.scenario.district_shapes.items() if poly.intersects(shape)
        )
        zones = sorted(
            z for z, shape in self.scenario.zone_shapes.items() if poly.intersects(shape)
        )
        return DebrisPredicted(
            t=now,
            site_id="SITE-" + kill.report_id,
            incident_id=kill.incident_id,
            kill_number=kill.number,
            lat=lat,
            lon=lon,
            polygon95=frame.ring_latlon(poly),
            districts=districts,
            zones=zones,
            samples=int(res.impact.shape[0]),
            fall_time_s=float(np.median(res.t)),
        )

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, TrackPicture):
                self._remember(ev)
            elif isinstance(ev, KillNumbered):
                out.append(self.predict(ev, now))
        self._forget_old(now)
        return out
