"""Ground truth of a simulated night: every air object's trajectory, and every real kill.

Trajectories live on one regular time grid (``SimConfig.grid_dt_s``, 1 s by default) in the
scenario's local frame (east, north, up metres; ``up`` is height above the ellipsoid): one array
``enu`` of shape (K+1, J, 3) for K steps and J objects, NaN where an object is not in the air.
Between two samples an object moves in a straight line, so its position at any time is a linear
interpolation of two rows, and a whole sensor scan is one vectorised gather over all objects.

What flies:

* attack drones, per wave: launched from ``launch_range_m`` on ``from_bearing_deg`` (within
  ``spread_deg``), ``spacing_s`` apart, climbing to the airframe's cruise altitude and flying at
  its cruise speed (plus the wind) toward an aim point inside their target zone, weaving gently
  under a turn-rate limit; about one in four flies a dog-leg first. A drone with an intercept range
  is killed the first time it comes that close to its aim point and stops there; one without
  reaches its target (dives onto it).
* birds: each flock's centre wanders at the flock's speed inside its radius; each bird follows
  it with a smooth individual offset and height.
* manned flights: arrivals descend along ``bearing_deg`` to the airport, departures climb out
  along it, overflights cross it at cruise level.
* optionally one lawful hobby drone, with Remote ID, near the centre early in the night.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np
import shapely
from numpy.typing import NDArray

from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.model import DroneType, Flight, Wave
from skywarden.scenario.sim.config import SimConfig
from skywarden.scenario.sim.streams import stream, token

if TYPE_CHECKING:
    from skywarden.scenario.sim.crews import Crews

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

ObjectClass = Literal["drone", "bird", "manned_aircraft"]
G = 9.80665  # m/s^2
RHO_AIR = 1.225  # kg/m^3, sea level; the error is small next to the wind's


@dataclass(frozen=True)
class TruthObject:
    """One thing in the air. ``column`` indexes the second axis of :attr:`Truth.enu`."""

    id: str
    cls: ObjectClass
    role: str  # "attack", "hobby", "bird", "arrival", "departure", "overflight"
    label: str  # wave id, flock id, callsign or Remote ID
    column: int
    first_s: float  # seconds since the night's start
    last_s: float
    fate: str  # "killed", "impact" (reached its target), "landed", "left", "airborne" (at night end)
    rcs_dbsm: float  # mean radar cross-section of this object
    target: str = ""  # zone id (attack drones)
    drone_type: str = ""
    icao24: str = ""  # flights
    callsign: str = ""
    uas_id: str = ""  # Remote ID (hobby drone)
    operator_id: str = ""


@dataclass(frozen=True)
class TruthKill:
    """A real kill: where and when the drone was destroyed, and where its main wreck really fell."""

    object_id: str
    wave: str
    target: str
    t: datetime  # UTC, the kill
    t_s: float  # seconds since the night's start
    lat: float
    lon: float
    alt: float
    east: float  # local frame, metres
    north: float
    report_delay_s: float  # the wave's nominal delay to the command's report
    impact_lat: float
    impact_lon: float
    fall_s: float  # kill -> ground


@dataclass(frozen=True)
class KillReportTruth:
    """What one ``KillReported`` really was: a kill, a duplicate of one, or a false report."""

    report_id: str
    kind: Literal["kill", "duplicate", "false"]
    object_id: str  # the drone it speaks of
    t: datetime  # when the report was made (the event's t)
    kill_t: datetime | None  # the real kill time (None for a false report)
    duplicate_of: str = ""
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class TruthState:
    """Live objects at one instant (struct of arrays, shape (M,) each; WGS84 and ENU m/s)."""

    t: datetime
    ids: list[str]
    cls: list[str]
    lat: FloatArray
    lon: FloatArray
    alt: FloatArray
    ve: FloatArray
    vn: FloatArray
    vu: FloatArray


@dataclass(eq=False)
class Truth:
    """The night's ground truth: trajectories on a grid, the objects, the kills and the reports.

    ``enu`` has shape (K+1, J, 3): row k is time ``k * dt_s`` after ``start``; NaN = not airborne.
    """

    scenario: LoadedScenario = field(repr=False)
    start: datetime
    dt_s: float
    enu: FloatArray = field(repr=False)
    objects: tuple[TruthObject, ...]
    kills: tuple[TruthKill, ...]
    reports: tuple[KillReportTruth, ...] = ()
    crews: Crews | None = field(default=None, repr=False)  # the simulated crews, when played
    _by_id: dict[str, TruthObject] = field(default_factory=dict, repr=False, init=False)

    def __post_init__(self) -> None:
        self._by_id = {o.id: o for o in self.objects}

    # ------------------------------------------------------------------ lookup

    def object(self, object_id: str) -> TruthObject:
        return self._by_id[object_id]

    def ids(self, cls: str | None = None, role: str | None = None) -> list[str]:
        return [
            o.id
            for o in self.objects
            if (cls is None or o.cls == cls) and (role is None or o.role == role)
        ]

    def columns(self, cls: str | None = None, role: str | None = None) -> IntArray:
        return np.array(
            [
                o.column
                for o in self.objects
                if (cls is None or o.cls == cls) and (role is None or o.role == role)
            ],
            dtype=np.intp,
        )

    def seconds(self, t: datetime) -> float:
        return (t - self.start).total_seconds()

    @property
    def steps(self) -> int:
        """K: the grid has K+1 rows."""
        return int(self.enu.shape[0]) - 1

    def crew_position(self, crew_id: str, t: datetime) -> tuple[float, float]:
        """Where a simulated crew is at ``t`` (lat, lon); see :meth:`Crews.position`."""
        if self.crews is None:
            raise LookupError("no crews are simulated with this truth")
        return self.crews.position(crew_id, t)

    # ------------------------------------------------------------------ kinematics

    def enu_at(self, t_s: float, cols: IntArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Positions and velocities (M, 3) of ``cols`` (all objects if None) at ``t_s``.

        p(t) = p_k + (p_{k+1} - p_k) * f,  f = t/dt - k;  v = (p_{k+1} - p_k) / dt.
        Rows are NaN for objects not airborne at ``t_s`` (outside [first_s, last_s]).
        """
        c = slice(None) if cols is None else cols
        x = t_s / self.dt_s
        k = math.floor(x)
        if k < 0 or k > self.steps:
            n = self.enu.shape[1] if cols is None else len(cols)
            nan = np.full((n, 3), np.nan)
            return nan, nan.copy()
        if k == self.steps:
            p0 = self.enu[k, c]
            return p0.copy(), np.zeros_like(p0)
        f = x - k
        p0 = self.enu[k, c]
        p1 = self.enu[k + 1, c]
        d = p1 - p0
        vel = d / self.dt_s
        if f == 0.0:
            # an object whose last sample is exactly now is still there (NaN * 0 would hide it)
            return p0.copy(), np.where(np.isnan(vel), 0.0, vel)
        return p0 + d * f, vel

    def enu_many(self, t_s: FloatArray, cols: IntArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`enu_at` at B times at once: positions and velocities (B, M, 3) of ``cols``."""
        t_s = np.asarray(t_s, dtype=np.float64)
        x = t_s / self.dt_s
        k = np.floor(x).astype(np.intp)
        f = (x - k)[:, None, None]
        valid = (k >= 0) & (k <= self.steps)
        k0 = np.clip(k, 0, self.steps)
        k1 = np.minimum(k0 + 1, self.steps)
        p0 = self.enu[k0[:, None], cols[None, :]]
        d = self.enu[k1[:, None], cols[None, :]] - p0
        vel = d / self.dt_s
        # on a grid row (and at the grid's end) the row itself: an object whose last sample is
        # exactly now is still there, as in enu_at
        on_row = ((f[:, 0, 0] == 0.0) | (k == self.steps))[:, None, None]
        pos = np.where(on_row, p0, p0 + d * f)
        vel = np.where(on_row & np.isnan(vel), 0.0, vel)
        vel[k == self.steps] = 0.0
        pos[~valid] = np.nan
        vel[~valid] = np.nan
        return pos, vel

    def state_at(self, t: datetime, cls: str | None = None) -> TruthState:
        """Every airborne object (optionally of one class) at ``t``, in WGS84 with ENU velocity."""
        objs = [o for o in self.objects if cls is None or o.cls == cls]
        cols = np.array([o.column for o in objs], dtype=np.intp)
        p, v = self.enu_at(self.seconds(t), cols)
        live = ~np.isnan(p[:, 0])
        lat, lon, alt = self.scenario.frame.to_wgs84(p[live, 0], p[live, 1], p[live, 2])
        return TruthState(
            t=t,
            ids=[o.id for o, ok in zip(objs, live, strict=True) if ok],
            cls=[o.cls for o, ok in zip(objs, live, strict=True) if ok],
            lat=lat,
            lon=lon,
            alt=alt,
            ve=v[live, 0],
            vn=v[live, 1],
            vu=v[live, 2],
        )

    def trajectory(self, object_id: str, step_s: float = 5.0) -> FloatArray:
        """Samples (n, 4) of (t seconds since night start, lat, lon, alt) every ``step_s``,
        from the object's first to its last sample (both included)."""
        o = self._by_id[object_id]
        stride = max(1, round(step_s / self.dt_s))
        k0 = round(o.first_s / self.dt_s)
        k1 = round(o.last_s / self.dt_s)
        ks = np.arange(k0, k1 + 1, stride)
        if ks[-1] != k1:
            ks = np.append(ks, k1)
        p = self.enu[ks, o.column]
        lat, lon, alt = self.scenario.frame.to_wgs84(p[:, 0], p[:, 1], p[:, 2])
        return np.column_stack([ks * self.dt_s, lat, lon, alt])

    def trajectories(self, step_s: float = 5.0, cls: str | None = None) -> dict[str, FloatArray]:
        return {oid: self.trajectory(oid, step_s) for oid in self.ids(cls)}


# ====================================================================== building


@dataclass
class _Track:
    """One object under construction: samples from grid row ``k0`` on, shape (n, 3).
    ``obj`` gets its column and first/last times when the grid is assembled."""

    obj: TruthObject
    k0: int
    enu: FloatArray


@dataclass(frozen=True)
class _KillFact:
    object_id: str
    wave: str
    target: str
    t_s: float
    enu: FloatArray  # (3,) kill point
    report_delay_s: float
    impact: tuple[float, float]  # (east, north)
    fall_s: float


# a TruthObject before it has a column on the grid
_obj = functools.partial(TruthObject, column=-1, first_s=0.0, last_s=0.0)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _wind_ms(scenario: LoadedScenario) -> tuple[float, float]:
    """Wind as the (east, north) vector it blows *toward* (m/s); ``from_deg`` is meteorological."""
    w = scenario.spec.wind
    a = math.radians(w.from_deg)
    return -w.speed_ms * math.sin(a), -w.speed_ms * math.cos(a)


def _aim_point(rng: np.random.Generator, zone: shapely.Polygon) -> tuple[float, float]:
    """A point inside the zone, uniform over its central part (drones aim at something in it)."""
    c = zone.centroid
    r = 0.6 * math.sqrt(zone.area / math.pi)
    for _ in range(50):
        rho = r * math.sqrt(float(rng.uniform()))
        a = float(rng.uniform(0.0, 2.0 * math.pi))
        x, y = c.x + rho * math.sin(a), c.y + rho * math.cos(a)
        if zone.contains(shapely.Point(x, y)):
            return x, y
    return float(c.x), float(c.y)


def _fly_drone(
    rng: np.random.Generator,
    cfg: SimConfig,
    t0_s: float,
    k_max: int,
    start: tuple[float, float],
    waypoints: list[tuple[float, float]],
    speed: float,
    alt_cruise: float,
    wind: tuple[float, float],
    r_kill: float,
) -> tuple[FloatArray, str]:
    """Integrate one attack drone on the grid from row ``round(t0_s/dt)``; returns (n, 3), fate.

    Guidance: heading command = bearing to the current waypoint + a weave
    ``A sin(2 pi t / T + phi)`` (tapered to 0 within 3 km of the aim), turn rate limited to
    ``cfg.turn_rate_dps`` (lifted within 1.5 km of the aim so it cannot orbit it). Ground
    velocity = airspeed along the heading + wind. Height: climb at ``cfg.climb_ms`` to cruise
    (+ a slow 20 m undulation); a drone with no intercept dives onto its aim in the last 3 km.
    """
    dt = cfg.grid_dt_s
    x, y = start
    z = cfg.launch_alt_m
    aim = waypoints[-1]
    iw = 0
    psi = math.atan2(waypoints[0][0] - x, waypoints[0][1] - y)
    amp = math.radians(_uniform(rng, cfg.weave_deg))
    period = _uniform(rng, cfg.weave_period_s)
    phase = float(rng.uniform(0.0, 2.0 * math.pi))
    z_period = float(rng.uniform(400.0, 900.0))
    z_phase = float(rng.uniform(0.0, 2.0 * math.pi))
    turn = math.radians(cfg.turn_rate_dps) * dt
    we, wn = wind
    k0 = round(t0_s / dt)
    out: list[tuple[float, float, float]] = [(x, y, z)]
    fate = "airborne"
    k = k0
    while k < k_max:
        d = math.hypot(aim[0] - x, aim[1] - y)
        if r_kill > 0.0 and d <= r_kill:
            fate = "killed"
            break
        if d <= 1.5 * speed * dt or (r_kill <= 0.0 and z <= 1.0 and d < 3000.0):
            out.append((aim[0], aim[1], 0.0))
            fate = "impact"
            break
        tx, ty = waypoints[iw]
        if iw < len(waypoints) - 1 and math.hypot(tx - x, ty - y) < 1500.0:
            iw += 1
            tx, ty = waypoints[iw]
        t = k * dt
        taper = min(1.0, d / 3000.0)
        cmd = math.atan2(tx - x, ty - y) + amp * taper * math.sin(2.0 * math.pi * t / period + phase)
        dpsi = (cmd - psi + math.pi) % (2.0 * math.pi) - math.pi
        psi += dpsi if d < 1500.0 else max(-turn, min(turn, dpsi))
        x += (speed * math.sin(psi) + we) * dt
        y += (speed * math.cos(psi) + wn) * dt
        if r_kill <= 0.0 and d < 3000.0:
            z_cmd = alt_cruise * max(0.0, d - 300.0) / 2700.0  # terminal dive
            z += max(-20.0 * dt, min(cfg.climb_ms * dt, z_cmd - z))
        else:
            z_cmd = alt_cruise + 20.0 * math.sin(2.0 * math.pi * t / z_period + z_phase)
            z += max(-cfg.climb_ms * dt, min(cfg.climb_ms * dt, z_cmd - z))
        k += 1
        out.append((x, y, z))
    return np.asarray(out, dtype=np.float64), fate


def _fall(
    p: FloatArray,
    v: FloatArray,
    airframe: DroneType,
    wind: tuple[float, float],
    gust: tuple[float, float],
    dt: float,
) -> tuple[float, float, float]:
    """The main wreck's ballistic fall with quadratic drag in the wind; returns (east, north, s).

    a = g + (-0.5 rho CdA / m) |v - w| (v - w), integrated with explicit Euler at ``dt``.
    """
    x, y, z = float(p[0]), float(p[1]), float(p[2])
    vx, vy, vz = float(v[0]), float(v[1]), float(v[2])
    wx, wy = wind[0] + gust[0], wind[1] + gust[1]
    c = 0.5 * RHO_AIR * airframe.drag_area_m2 / airframe.mass_kg
    t = 0.0
    while z > 0.0 and t < 600.0:
        rx, ry, rz = vx - wx, vy - wy, vz
        s = math.sqrt(rx * rx + ry * ry + rz * rz)
        vx -= c * s * rx * dt
        vy -= c * s * ry * dt
        vz -= (G + c * s * rz) * dt
        x += vx * dt
        y += vy * dt
        z += vz * dt
        t += dt
    return x, y, t


def _build_drones(
    scenario: LoadedScenario, seed: int, cfg: SimConfig, k_max: int
) -> tuple[list[_Track], list[_KillFact]]:
    """Every wave's drones; returns their tracks and the kill facts (before the fall)."""
    types = {d.id: d for d in scenario.spec.drone_types}
    wind = _wind_ms(scenario)
    tracks: list[_Track] = []
    kills: list[_KillFact] = []
    for wave in scenario.spec.waves:
        airframe = types[wave.drone_type]
        launch_s = (scenario.at(wave.launch) - scenario.start).total_seconds()
        for i in range(wave.count):
            tr, kill = _one_drone(scenario, seed, cfg, wave, airframe, i, launch_s, wind, k_max)
            if tr is not None:
                tracks.append(tr)
            if kill is not None:
                kills.append(kill)
    return tracks, kills


def _one_drone(
    scenario: LoadedScenario,
    seed: int,
    cfg: SimConfig,
    wave: Wave,
    airframe: DroneType,
    i: int,
    launch_s: float,
    wind: tuple[float, float],
    k_max: int,
) -> tuple[_Track | None, _KillFact | None]:
    oid = f"{wave.id}-{i + 1:02d}"
    rng = stream(seed, "drone", oid)
    dt = cfg.grid_dt_s
    t0 = launch_s + i * wave.spacing_s + float(rng.normal(0.0, 3.0))
    t0 = max(0.0, round(t0 / dt) * dt)
    brg = math.radians(wave.from_bearing_deg + float(rng.uniform(-0.5, 0.5)) * wave.spread_deg)
    rng_m = wave.launch_range_m * float(rng.uniform(0.97, 1.03))
    start = (rng_m * math.sin(brg), rng_m * math.cos(brg))
    target = wave.targets[i % len(wave.targets)]
    aim = _aim_point(rng, scenario.zone_shapes[target])
    waypoints = [aim]
    if rng.uniform() < cfg.dogleg_p:
        # a dog-leg: fly first toward a point beside the direct line, then turn for the target
        frac = float(rng.uniform(0.35, 0.6))
        off = _uniform(rng, cfg.dogleg_offset_m) * (1.0 if rng.uniform() < 0.5 else -1.0)
        dx, dy = aim[0] - start[0], aim[1] - start[1]
        n = math.hypot(dx, dy)
        waypoints = [
            (start[0] + frac * dx + off * dy / n, start[1] + frac * dy - off * dx / n),
            aim,
        ]
    speed = airframe.cruise_speed_ms * float(rng.uniform(0.95, 1.05))
    alt = airframe.altitude_m + float(rng.normal(0.0, 40.0))
    r_kill = wave.intercept_range_m[i] if i < len(wave.intercept_range_m) else 0.0
    k0 = round(t0 / dt)
    if k0 >= k_max:
        return None, None
    enu, fate = _fly_drone(rng, cfg, t0, k_max, start, waypoints, speed, alt, wind, r_kill)
    rcs = airframe.rcs_dbsm + float(rng.normal(0.0, cfg.rcs_object_sigma_db))
    obj = _obj(
        id=oid,
        cls="drone",
        role="attack",
        label=wave.id,
        fate=fate,
        rcs_dbsm=rcs,
        target=target,
        drone_type=airframe.id,
    )
    track = _Track(obj, k0, enu)
    if fate != "killed":
        return track, None
    last = enu[-1]
    vel = (enu[-1] - enu[-2]) / dt if len(enu) > 1 else np.zeros(3)
    gust = (
        float(rng.normal(0.0, scenario.spec.wind.gust_sigma_ms)),
        float(rng.normal(0.0, scenario.spec.wind.gust_sigma_ms)),
    )
    ie, in_, fall_s = _fall(last, vel, airframe, wind, gust, cfg.impact_dt_s)
    kill = _KillFact(
        object_id=oid,
        wave=wave.id,
        target=target,
        t_s=(k0 + len(enu) - 1) * dt,
        enu=last.copy(),
        report_delay_s=wave.report_delay_s,
        impact=(ie, in_),
        fall_s=fall_s,
    )
    return track, kill


def _build_birds(scenario: LoadedScenario, seed: int, cfg: SimConfig, k_max: int) -> list[_Track]:
    """Flocks: the centre wanders (heading random walk, turned home beyond the radius); each
    bird rides on it with a smooth offset (two sinusoids per axis, 50-150 m) and its own height."""
    dt = cfg.grid_dt_s
    night_s = k_max * dt
    tracks: list[_Track] = []
    for flock in scenario.spec.birds:
        rng = stream(seed, "flock", flock.id)
        t0 = (scenario.at(flock.start) - scenario.start).total_seconds() if flock.start else 0.0
        t1 = (scenario.at(flock.end) - scenario.start).total_seconds() if flock.end else night_s
        t0, t1 = max(0.0, t0), min(night_s, t1)
        if t1 <= t0:
            continue
        k0, k1 = round(t0 / dt), round(t1 / dt)
        home = scenario.frame.point(flock.lat, flock.lon)
        # centre path on the coarse step
        nb = max(2, math.ceil((k1 - k0) * dt / cfg.bird_dt_s) + 1)
        tb = t0 + np.arange(nb) * cfg.bird_dt_s
        cx = np.empty(nb)
        cy = np.empty(nb)
        a0 = float(rng.uniform(0, 2 * math.pi))
        r0 = 0.5 * flock.radius_m * math.sqrt(float(rng.uniform()))
        x, y = home[0] + r0 * math.sin(a0), home[1] + r0 * math.cos(a0)
        psi = math.radians(flock.heading_deg)
        dpsi = rng.normal(0.0, math.radians(8.0), nb)
        for j in range(nb):
            cx[j], cy[j] = x, y
            hx, hy = home[0] - x, home[1] - y
            if math.hypot(hx, hy) > flock.radius_m:
                err = (math.atan2(hx, hy) - psi + math.pi) % (2 * math.pi) - math.pi
                psi += max(-0.35, min(0.35, err))
            psi += float(dpsi[j])
            x += flock.speed_ms * math.sin(psi) * cfg.bird_dt_s
            y += flock.speed_ms * math.cos(psi) * cfg.bird_dt_s
        tg = np.arange(k0, k1 + 1) * dt
        gx = np.interp(tg, tb, cx)
        gy = np.interp(tg, tb, cy)
        for b in range(flock.count):
            amp = rng.uniform(50.0, 150.0, 4)
            per = rng.uniform(300.0, 900.0, 4)
            ph = rng.uniform(0.0, 2 * math.pi, 4)
            w = 2 * math.pi / per
            ox = amp[0] * np.sin(w[0] * tg + ph[0]) + amp[1] * np.sin(w[1] * tg + ph[1])
            oy = amp[2] * np.sin(w[2] * tg + ph[2]) + amp[3] * np.sin(w[3] * tg + ph[3])
            h = max(60.0, flock.altitude_m + float(rng.normal(0.0, 40.0)))
            hz = h + 25.0 * np.sin(2 * math.pi * tg / float(rng.uniform(200, 500)) + float(rng.uniform(0, 6.3)))
            enu = np.column_stack([gx + ox, gy + oy, hz])
            obj = _obj(
                id=f"{flock.id}-{b + 1:02d}",
                cls="bird",
                role="bird",
                label=flock.id,
                fate="airborne" if k1 == k_max else "left",
                rcs_dbsm=cfg.rcs_bird_dbsm + float(rng.normal(0.0, cfg.rcs_object_sigma_db + 2.0)),
            )
            tracks.append(_Track(obj, k0, enu))
    return tracks


def _flight_profile(f: Flight) -> tuple[list[float], list[float], list[float], int]:
    """Knots of (distance from the airport along ``bearing_deg`` m, height m, speed m/s) and the
    index of the knot at ``f.time`` (landing, take-off or overhead)."""
    v = f.speed_ms
    if f.kind == "arrival":
        return [90_000.0, 25_000.0, 0.0], [3_000.0, 1_000.0, 0.0], [v, 0.8 * v, 0.65 * v], 2
    if f.kind == "departure":
        return [0.0, 20_000.0, 110_000.0], [0.0, 1_800.0, 6_000.0], [0.7 * v, 0.9 * v, v], 0
    return [-120_000.0, 0.0, 120_000.0], [9_500.0, 9_500.0, 9_500.0], [v, v, v], 1


def _build_flights(scenario: LoadedScenario, seed: int, cfg: SimConfig, k_max: int) -> list[_Track]:
    """Flights fly straight along their bearing through piecewise-linear height/speed profiles."""
    dt = cfg.grid_dt_s
    airports = {a.id: a for a in scenario.spec.airports}
    tracks: list[_Track] = []
    for f in scenario.spec.flights:
        rng = stream(seed, "flight", f.callsign)
        ap = airports[f.airport]
        ax, ay = scenario.frame.point(ap.lat, ap.lon)
        d, h, v, at_knot = _flight_profile(f)
        # time at each knot: t_{i+1} = t_i + |d_{i+1} - d_i| / mean(v_i, v_{i+1})
        tk = [0.0]
        for i in range(len(d) - 1):
            tk.append(tk[-1] + abs(d[i + 1] - d[i]) / (0.5 * (v[i] + v[i + 1])))
        t_ref = (scenario.at(f.time) - scenario.start).total_seconds()
        tk_abs = np.asarray(tk) - tk[at_knot] + t_ref
        t0, t1 = max(0.0, tk_abs[0]), min(k_max * dt, tk_abs[-1])
        if t1 <= t0:
            continue
        k0, k1 = math.ceil(t0 / dt), math.floor(t1 / dt)
        tg = np.arange(k0, k1 + 1) * dt
        dist = np.interp(tg, tk_abs, d)
        hgt = np.interp(tg, tk_abs, h)
        b = math.radians(f.bearing_deg)
        if f.kind == "overflight":
            b += math.pi  # ``bearing_deg`` is where it comes from; it flies through the airport
        lateral = float(rng.normal(0.0, 150.0))
        ex, ey = math.sin(b), math.cos(b)
        enu = np.column_stack([ax + dist * ex + lateral * ey, ay + dist * ey - lateral * ex, hgt])
        fate = {"arrival": "landed", "departure": "left", "overflight": "left"}[f.kind]
        obj = _obj(
            id=f.callsign,
            cls="manned_aircraft",
            role=f.kind,
            label=f.callsign,
            fate=fate if tk_abs[-1] <= k_max * dt else "airborne",
            rcs_dbsm=cfg.rcs_aircraft_dbsm + float(rng.normal(0.0, cfg.rcs_object_sigma_db + 1.0)),
            icao24=f.icao24,
            callsign=f.callsign,
        )
        tracks.append(_Track(obj, k0, enu))
    return tracks


def _build_hobby(scenario: LoadedScenario, seed: int, cfg: SimConfig, k_max: int) -> list[_Track]:
    """One lawful quadcopter with Remote ID, 1 km from the centre, pottering at 5 m/s, ~100 m up."""
    if not cfg.hobby_drone:
        return []
    dt = cfg.grid_dt_s
    rng = stream(seed, "hobby")
    t0 = (scenario.at(cfg.hobby_window[0]) - scenario.start).total_seconds()
    t1 = (scenario.at(cfg.hobby_window[1]) - scenario.start).total_seconds()
    k0, k1 = round(t0 / dt), min(k_max, round(t1 / dt))
    if k1 <= k0:
        return []
    tg = np.arange(k0, k1 + 1) * dt
    tau = tg - tg[0]
    a = float(rng.uniform(0, 2 * math.pi))
    x0, y0 = 1_000.0 * math.sin(a), 1_000.0 * math.cos(a)
    ph = rng.uniform(0, 2 * math.pi, 3)
    x = x0 + 250.0 * np.sin(2 * math.pi * tau / 300.0 + ph[0])
    y = y0 + 200.0 * np.sin(2 * math.pi * tau / 420.0 + ph[1])
    # take off, hold ~100 m, land: trapezoid envelope at 3 m/s
    env = np.minimum(1.0, np.minimum(tau, tau[-1] - tau) * 3.0 / 100.0)
    z = env * (100.0 + 15.0 * np.sin(2 * math.pi * tau / 240.0 + ph[2]))
    serial = token(seed, "hobby-serial", n=12)
    obj = _obj(
        id="hobby-01",
        cls="drone",
        role="hobby",
        label=f"1581F{serial}",
        fate="landed",
        rcs_dbsm=cfg.rcs_hobby_dbsm,
        uas_id=f"1581F{serial}",
        operator_id=f"RUS-OP-{token(seed, 'hobby-operator', n=8)}",
    )
    return [_Track(obj, k0, np.column_stack([x, y, z]))]


def build_truth(scenario: LoadedScenario, seed: int, cfg: SimConfig) -> Truth:
    """Play the whole night's air picture once: every trajectory on the grid and every kill."""
    dt = cfg.grid_dt_s
    night_s = (scenario.end - scenario.start).total_seconds()
    k_max = math.ceil(night_s / dt)
    drones, kill_facts = _build_drones(scenario, seed, cfg, k_max)
    tracks = (
        drones
        + _build_hobby(scenario, seed, cfg, k_max)
        + _build_birds(scenario, seed, cfg, k_max)
        + _build_flights(scenario, seed, cfg, k_max)
    )
    enu = np.full((k_max + 1, len(tracks), 3), np.nan)
    objects: list[TruthObject] = []
    for j, tr in enumerate(tracks):
        n = min(len(tr.enu), k_max + 1 - tr.k0)
        enu[tr.k0 : tr.k0 + n, j] = tr.enu[:n]
        objects.append(
            replace(tr.obj, column=j, first_s=tr.k0 * dt, last_s=(tr.k0 + n - 1) * dt)
        )
    frame = scenario.frame
    kills: list[TruthKill] = []
    for kf in kill_facts:
        p = kf.enu
        lat, lon, _ = frame.to_wgs84(p[0], p[1])
        ilat, ilon = frame.latlon(*kf.impact)
        t_s = kf.t_s
        kills.append(
            TruthKill(
                object_id=kf.object_id,
                wave=kf.wave,
                target=kf.target,
                t=scenario.start + timedelta(seconds=t_s),
                t_s=t_s,
                lat=float(lat),
                lon=float(lon),
                alt=float(p[2]),
                east=float(p[0]),
                north=float(p[1]),
                report_delay_s=kf.report_delay_s,
                impact_lat=ilat,
                impact_lon=ilon,
                fall_s=kf.fall_s,
            )
        )
    kills.sort(key=lambda k: (k.t_s, k.object_id))
    return Truth(
        scenario=scenario,
        start=scenario.start,
        dt_s=dt,
        enu=enu,
        objects=tuple(objects),
        kills=tuple(kills),
    )
