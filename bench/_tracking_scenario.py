"""Seeded multi-target scenarios for the tracking benchmark.

Targets fly in a square surveillance volume (local east/north/up metres, origin at its centre):
drones 30-55 m/s (a share of them turning 2-6 deg/s in spells), birds 8-20 m/s wandering,
manned aircraft 70-250 m/s, straight or in rate-one turns, climbing or descending. One to three
radars scan once per second each, staggered in time (radar r reports at t = k + r/R), detect
each target within range with probability ``pd`` and report Cartesian positions with the
covariance of their range/azimuth/elevation errors, plus Poisson clutter (capped at 100 per
scan) uniform over the part of the volume each radar covers.

The crossing scenario (:func:`make_crossing_scenario`) puts pairs of targets on paths that
cross, some with a turn at the crossing, for the central radar alone: the case that tells
trackers apart on identity switches.

Everything is a pure function of the arguments and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLASSES",
    "BenchScenario",
    "Radar",
    "ScanRecord",
    "class_counts",
    "make_crossing_scenario",
    "make_scenario",
    "radars_for",
]

#: Truth classes, as the tracker and the metrics name them.
CLASSES: tuple[str, ...] = ("drone", "bird", "manned_aircraft")
#: Share of each class among the targets (drones, birds, aircraft); see :func:`class_counts`.
CLASS_MIX: tuple[float, ...] = (0.5, 0.35, 0.15)

HALF_SIDE_M = 50_000.0  # volume: [-50, 50] km east and north
CEILING_M = 10_000.0  # and 0..10 km up
MAX_CLUTTER = 100


@dataclass(frozen=True, slots=True)
class Radar:
    """A radar at ``pos`` (3,) ENU m seeing out to ``max_range_m``; 1-sigma errors in range
    (m) and in azimuth and elevation (rad)."""

    sensor_id: str
    pos: np.ndarray
    max_range_m: float = 60_000.0
    sigma_range_m: float = 15.0
    sigma_angle_rad: float = 1.0e-3


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One radar scan: ``z`` (M, 3) ENU m, ``R`` (M, 3, 3) m^2, ``rcs_dbsm`` (M,),
    ``truth_id`` (M,) int64 (-1 for clutter), at ``t`` seconds from the start."""

    t: float
    sensor_id: str
    z: np.ndarray
    R: np.ndarray
    rcs_dbsm: np.ndarray
    truth_id: np.ndarray

    @property
    def n_clutter(self) -> int:
        return int(np.count_nonzero(self.truth_id < 0))


@dataclass(frozen=True, slots=True)
class BenchScenario:
    """A generated scenario.

    ``times`` (K,) s, one per scan (``scans[k]`` is at ``times[k]``); ``truth_pos`` (K, n, 3)
    ENU m of every target at every scan time; ``covered`` (K, n) bool, alive and within range
    of at least one radar (the truths the metrics judge); ``cls`` (n,) str.
    """

    n_targets: int
    n_scans_per_radar: int
    seed: int
    radars: tuple[Radar, ...]
    cls: np.ndarray
    times: np.ndarray
    truth_pos: np.ndarray
    covered: np.ndarray
    scans: tuple[ScanRecord, ...]

    def truth_at(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Truths judged at scan k: ids (T,), positions (T, 3) m, classes (T,) str."""
        ids = np.flatnonzero(self.covered[k])
        return ids.astype(np.int64), self.truth_pos[k, ids], self.cls[ids]

    @property
    def n_detections(self) -> int:
        return sum(len(s.z) for s in self.scans)


def class_counts(n_targets: int) -> np.ndarray:
    """Targets per class (3,) for n targets: floor of n * CLASS_MIX, the remainder to drones."""
    counts = np.floor(np.asarray(CLASS_MIX) * n_targets).astype(np.int64)
    counts[0] += n_targets - counts.sum()
    return counts


def radars_for(n_radars: int) -> tuple[Radar, ...]:
    """1 radar at the centre, 2 on the east-west axis 20 km out, 3 on a 25 km circle."""
    if n_radars == 1:
        xy = [(0.0, 0.0)]
    elif n_radars == 2:
        xy = [(-20_000.0, 0.0), (20_000.0, 0.0)]
    elif n_radars == 3:
        ang = np.deg2rad([90.0, 210.0, 330.0])
        xy = [(25_000.0 * np.cos(a), 25_000.0 * np.sin(a)) for a in ang]
    else:
        raise ValueError(f"1 to 3 radars, not {n_radars}")
    return tuple(
        Radar(sensor_id=f"radar-{i + 1}", pos=np.array([x, y, 30.0])) for i, (x, y) in enumerate(xy)
    )


def _simulate_truth(
    rng: np.random.Generator, n: int, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kinematics of n targets at ``times``: positions (K, n, 3), alive (K, n), classes (n,)."""
    kind = rng.permutation(np.repeat(np.arange(len(CLASSES)), class_counts(n)))
    drone, bird, plane = kind == 0, kind == 1, kind == 2
    cls = np.array(CLASSES, dtype=object)[kind].astype(str)

    speed = np.empty(n)
    speed[drone] = rng.uniform(30.0, 55.0, drone.sum())
    speed[bird] = rng.uniform(8.0, 20.0, bird.sum())
    speed[plane] = rng.uniform(70.0, 250.0, plane.sum())

    alt = np.empty(n)
    alt[drone] = rng.uniform(50.0, 1_500.0, drone.sum())
    alt[bird] = rng.uniform(20.0, 600.0, bird.sum())
    # slow aircraft are low (approach), fast ones high (cruise)
    frac = (speed[plane] - 70.0) / 180.0
    alt[plane] = 300.0 + frac * rng.uniform(3_000.0, 9_500.0, plane.sum())
    lo = np.where(plane, 300.0, np.where(drone, 30.0, 10.0))
    hi = np.where(plane, CEILING_M - 100.0, np.where(drone, 2_000.0, 800.0))

    climb = np.zeros(n)
    climb[plane] = rng.choice([0.0, 1.0], plane.sum(), p=[0.6, 0.4]) * rng.uniform(
        -10.0, 10.0, plane.sum()
    )
    climb[drone] = rng.uniform(-2.0, 2.0, drone.sum())

    pos = np.column_stack(
        [rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, (n, 2)), alt]
    )
    heading = rng.uniform(0.0, 2 * np.pi, n)  # compass: 0 north, pi/2 east

    # turn rates (rad/s): turning drones in spells, aircraft in steady rate-one turns
    omega = np.zeros(n)
    turner = drone & (rng.random(n) < 0.4)
    spell_left = np.where(turner, rng.uniform(0.0, 15.0, n), np.inf)
    plane_turn = plane & (rng.random(n) < 0.2)
    omega[plane_turn] = rng.choice([-1.0, 1.0], plane_turn.sum()) * np.deg2rad(3.0) * np.minimum(
        1.0, 100.0 / speed[plane_turn]
    )

    # 70 % present from the start, the rest appear during the first 80 % of the run
    duration = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    birth = np.where(rng.random(n) < 0.7, times[0], rng.uniform(times[0], times[0] + 0.8 * duration, n))

    k_steps = len(times)
    out = np.empty((k_steps, n, 3))
    prev_t = float(times[0])
    for k, t in enumerate(times.tolist()):
        dt = t - prev_t
        if dt > 0:
            # drones: a new spell when the last one ends (straight, or turning 2-6 deg/s)
            spell_left -= dt
            new = turner & (spell_left <= 0)
            if np.any(new):
                m = int(new.sum())
                turning = rng.random(m) < 0.6
                omega[new] = turning * rng.choice([-1.0, 1.0], m) * np.deg2rad(
                    rng.uniform(2.0, 6.0, m)
                )
                spell_left[new] = rng.uniform(5.0, 20.0, m)
            # birds: heading wanders (Ornstein-Uhlenbeck turn rate)
            nb = int(bird.sum())
            omega[bird] = 0.9 * omega[bird] + rng.normal(0.0, np.deg2rad(2.0) * np.sqrt(dt), nb)
            # heading at mid-step for a second-order accurate arc
            h_mid = heading + 0.5 * omega * dt
            pos[:, 0] += speed * np.sin(h_mid) * dt
            pos[:, 1] += speed * np.cos(h_mid) * dt
            pos[:, 2] += climb * dt
            heading = heading + omega * dt
            # stay between floor and ceiling: level off at the bound
            hit = (pos[:, 2] < lo) | (pos[:, 2] > hi)
            pos[:, 2] = np.clip(pos[:, 2], lo, hi)
            climb[hit] = 0.0
        out[k] = pos
        prev_t = t
    alive = times[:, None] >= birth[None, :]
    return out, alive, cls


def _measure(
    rng: np.random.Generator, radar: Radar, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy Cartesian reports of points p (M, 3) and their covariances (M, 3, 3).

    The error is Gaussian in range, azimuth and elevation, linearised onto the unit vectors
    e_r, e_az, e_el at the point:  R = sr^2 e_r e_r' + (rho sa)^2 e_az e_az' + (r se)^2 e_el e_el'
    (rho: horizontal range). The radar states R at its measured position.
    """
    def basis(q: np.ndarray) -> tuple[np.ndarray, ...]:
        d = q - radar.pos
        r = np.linalg.norm(d, axis=1)
        rho = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1.0)
        e_r = d / r[:, None]
        e_az = np.column_stack([-d[:, 1] / rho, d[:, 0] / rho, np.zeros(len(d))])
        e_el = np.column_stack([-d[:, 0] * d[:, 2] / (r * rho), -d[:, 1] * d[:, 2] / (r * rho),
                                rho / r])
        return r, rho, e_r, e_az, e_el

    r, rho, e_r, e_az, e_el = basis(p)
    s_r = np.full(len(p), radar.sigma_range_m)
    s_az = rho * radar.sigma_angle_rad
    s_el = r * radar.sigma_angle_rad
    n = rng.standard_normal((len(p), 3))
    z = p + (n[:, 0] * s_r)[:, None] * e_r + (n[:, 1] * s_az)[:, None] * e_az \
        + (n[:, 2] * s_el)[:, None] * e_el
    r, rho, e_r, e_az, e_el = basis(z)
    cov = (
        radar.sigma_range_m**2 * np.einsum("mi,mj->mij", e_r, e_r)
        + ((rho * radar.sigma_angle_rad) ** 2)[:, None, None] * np.einsum("mi,mj->mij", e_az, e_az)
        + ((r * radar.sigma_angle_rad) ** 2)[:, None, None] * np.einsum("mi,mj->mij", e_el, e_el)
    )
    return z, cov


def _in_range(radar: Radar, p: np.ndarray) -> np.ndarray:
    return np.linalg.norm(p - radar.pos, axis=-1) <= radar.max_range_m


def make_scenario(
    n_targets: int,
    n_scans: int,
    *,
    seed: int = 0,
    n_radars: int | None = None,
    pd: float = 0.9,
    clutter_mean: float = 50.0,
) -> BenchScenario:
    """Generate ``n_targets`` targets seen by ``n_radars`` radars for ``n_scans`` scans each.

    ``n_radars`` defaults to 1 up to 10 targets, 2 up to 100, 3 above. Clutter per scan is
    Poisson(``clutter_mean``) capped at 100. Scans are in time order, radar r of R at
    t = k + r/R seconds, k = 0..n_scans-1.
    """
    if n_targets < 1 or n_scans < 1:
        raise ValueError("need at least one target and one scan")
    _check_sensing(pd, clutter_mean)
    if n_radars is None:
        n_radars = 1 if n_targets <= 10 else 2 if n_targets <= 100 else 3
    radars = radars_for(n_radars)
    rng = np.random.default_rng([seed, n_targets, n_radars])

    times = np.arange(n_scans * n_radars, dtype=np.float64) / n_radars
    truth, alive, cls = _simulate_truth(rng, n_targets, times)
    return _observe(rng, radars, times, truth, alive, cls, pd=pd, clutter_mean=clutter_mean,
                    seed=seed, n_scans=n_scans)


#: Crossing pairs: speed (m/s), height at the crossing (m) and coordinated-turn rate (deg/s)
#: ranges per class. The aircraft are the slower, lower traffic, where pairs of them can meet.
CROSSING_SPEED: dict[str, tuple[float, float]] = {
    "drone": (30.0, 55.0), "bird": (8.0, 20.0), "manned_aircraft": (70.0, 150.0)}
CROSSING_ALT: dict[str, tuple[float, float]] = {
    "drone": (50.0, 1_500.0), "bird": (20.0, 600.0), "manned_aircraft": (300.0, 3_000.0)}
CROSSING_TURN_DEG_S: dict[str, tuple[float, float]] = {
    "drone": (3.0, 8.0), "bird": (5.0, 15.0), "manned_aircraft": (1.5, 3.0)}
CROSSING_GAP_M = 3_000.0  # least horizontal distance between targets of different pairs
CROSSING_APART_M = 200.0  # least distance within a pair at the start and at the end (straight)
_CROSSING_STREAM = 0xC2055  # keeps the crossing scenario's random stream apart from make_scenario's


def make_crossing_scenario(
    n_pairs: int,
    n_scans: int,
    *,
    seed: int = 0,
    pd: float = 0.9,
    clutter_mean: float = 50.0,
    angle_deg: tuple[float, float] = (10.0, 90.0),
    max_dz_m: float = 40.0,
    turn_share: float = 0.5,
) -> BenchScenario:
    """``n_pairs`` pairs of targets whose paths cross, seen by the central radar for ``n_scans``
    scans (one a second), with the radar model, detection and clutter of :func:`make_scenario`.

    Targets 2i and 2i+1 form pair i: the same class (pairs in the shares of CLASS_MIX), speeds
    within 10 % of each other, level flight, present from t = 0. Both pass the pair's crossing
    point at the same time, between 45 % and 65 % of the run, one above the other by up to
    ``max_dz_m``; their headings there differ by the crossing angle, spread evenly over
    ``angle_deg`` but wide enough that, flying straight, the two are CROSSING_APART_M apart at
    the start and at the end (slow birds cannot cross shallowly in a minute). In a share
    ``turn_share`` of the pairs one of the two flies a coordinated turn (constant speed and
    rate) from 1-5 s before the crossing to 3-10 s after it, in the sense, and if need be
    gentler, that keeps the two CROSSING_APART_M apart at both ends. Crossing points are spread
    over the radar's reach so that every target stays in range and at least CROSSING_GAP_M
    from any target of another pair.
    """
    if n_pairs < 1 or n_scans < 2:
        raise ValueError("need at least one pair and two scans")
    if not 0.0 < angle_deg[0] <= angle_deg[1] <= 180.0:
        raise ValueError(f"crossing angles must lie in (0, 180] degrees, got {angle_deg}")
    _check_sensing(pd, clutter_mean)
    radars = radars_for(1)
    rng = np.random.default_rng([seed, n_pairs, _CROSSING_STREAM])
    times = np.arange(n_scans, dtype=np.float64)
    t_end = float(times[-1])

    kind = rng.permutation(np.repeat(np.arange(len(CLASSES)), class_counts(n_pairs)))
    cls_pair = np.array(CLASSES, dtype=object)[kind].astype(str)

    def per_class(table: dict[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        lo_hi = np.array([table[c] for c in cls_pair]).reshape(-1, 2)
        return lo_hi[:, 0], lo_hi[:, 1]

    v_lo, v_hi = per_class(CROSSING_SPEED)
    speed = rng.uniform(v_lo, v_hi)
    speed = np.column_stack([speed, np.clip(speed * rng.uniform(0.9, 1.1, n_pairs), v_lo, v_hi)])
    t_cross = rng.uniform(0.45, 0.65, n_pairs) * t_end
    # crossing angles: one per stratum of the range, strata shuffled among the pairs
    a_lo, a_hi = np.deg2rad(angle_deg)
    angle = a_lo + (rng.permutation(n_pairs) + rng.random(n_pairs)) / n_pairs * (a_hi - a_lo)
    # chord 2 v dt sin(angle / 2) between the two, dt from the crossing to the nearer end
    far = 2.0 * speed.min(axis=1) * np.minimum(t_cross, t_end - t_cross)
    angle = np.maximum(angle, 2.0 * np.arcsin(np.minimum(1.0, CROSSING_APART_M / far)))
    h0 = rng.uniform(0.0, 2 * np.pi, n_pairs)  # compass: 0 north, pi/2 east
    heading = np.column_stack([h0, h0 + rng.choice([-1.0, 1.0], n_pairs) * angle])
    alt = rng.uniform(*per_class(CROSSING_ALT))
    dz = rng.uniform(-max_dz_m, max_dz_m, n_pairs)
    alt = np.column_stack([alt + dz / 2, alt - dz / 2])

    # one of the two turns in some pairs, around the crossing
    omega = np.zeros((n_pairs, 2))
    turner = np.flatnonzero(rng.random(n_pairs) < turn_share)
    which = rng.integers(0, 2, len(turner))
    omega[turner, which] = rng.choice([-1.0, 1.0], len(turner)) * np.deg2rad(
        rng.uniform(*per_class(CROSSING_TURN_DEG_S))[turner])
    t_on = np.repeat(t_cross[:, None], 2, axis=1)
    t_off = t_on.copy()
    t_on[turner, which] -= rng.uniform(1.0, 5.0, len(turner))
    t_off[turner, which] += rng.uniform(3.0, 10.0, len(turner))

    # horizontal distance either target can get from its crossing point within the run
    reach = speed.max(axis=1) * np.maximum(t_cross, t_end - t_cross)
    centre = _place_crossings(rng, reach, radars[0])

    def fly(omega: np.ndarray) -> np.ndarray:
        return _through_point(
            times, np.column_stack([centre.repeat(2, axis=0), alt.ravel()]), heading.ravel(),
            speed.ravel(), t_cross.repeat(2), omega.ravel(), t_on.ravel(), t_off.ravel())

    # a turn must not leave the two side by side at an end (one tucked in behind the other):
    # turn the other way, then ever more gently, and at last not at all
    pos = fly(omega)
    for factor in (-1.0, 0.5, 0.5, 0.5, 0.5, 0.0):
        sep = np.linalg.norm(pos[[0, -1], 0::2] - pos[[0, -1], 1::2], axis=-1).min(axis=0)
        close = (sep < CROSSING_APART_M) & np.any(omega != 0.0, axis=1)
        if not np.any(close):
            break
        omega[close] *= factor
        pos = fly(omega)
    alive = np.ones(pos.shape[:2], dtype=bool)
    return _observe(rng, radars, times, pos, alive, cls_pair.repeat(2), pd=pd,
                    clutter_mean=clutter_mean, seed=seed, n_scans=n_scans)


def _place_crossings(rng: np.random.Generator, reach: np.ndarray, radar: Radar) -> np.ndarray:
    """Crossing points (n, 2) m, uniform over a disc round the radar (3 km to 90 % of the
    smaller of its range and the volume's half side, less each pair's ``reach``), any two
    at least their reaches plus CROSSING_GAP_M apart (rejection sampling, in pair order)."""
    r_out = 0.9 * min(radar.max_range_m, HALF_SIDE_M) - reach
    r_in = 3_000.0
    if np.any(r_out <= r_in):
        raise ValueError("a pair flies too far to stay in the radar's reach: fewer scans")
    placed = np.zeros((0, 2))
    for i in range(len(reach)):
        for _ in range(10_000):
            r = np.sqrt(rng.uniform(r_in**2, r_out[i] ** 2))
            b = rng.uniform(0.0, 2 * np.pi)
            p = radar.pos[:2] + r * np.array([np.sin(b), np.cos(b)])
            gap = np.linalg.norm(placed - p, axis=1) - reach[:i] - reach[i]
            if np.all(gap >= CROSSING_GAP_M):
                placed = np.vstack([placed, p])
                break
        else:
            raise ValueError(
                f"no room for crossing pair {i + 1} of {len(reach)}: fewer pairs or scans")
    return placed


def _through_point(
    times: np.ndarray,
    p: np.ndarray,
    heading: np.ndarray,
    speed: np.ndarray,
    t_c: np.ndarray,
    omega: np.ndarray,
    t_on: np.ndarray,
    t_off: np.ndarray,
) -> np.ndarray:
    """Positions (K, n, 3) of n level flights at ``times`` (K,): flight j is at ``p[j]`` with
    compass heading ``heading[j]`` at ``t_c[j]``, flies at ``speed[j]`` and turns at
    ``omega[j]`` rad/s between ``t_on[j]`` and ``t_off[j]``, straight before and after.

    Exact: with H(s) the heading, the path from t_on is v * integral of (sin H, cos H), straight
    parts (s - clip(s)) (sin H, cos H) and the arc ((cos H_on - cos H(u)) / w,
    (sin H(u) - sin H_on) / w) at u = clip(s), or (u - t_on) (sin H_on, cos H_on) for w = 0.
    """
    h_on = heading - omega * (np.clip(t_c, t_on, t_off) - t_on)
    straight = omega == 0.0
    w = np.where(straight, 1.0, omega)

    def from_on(s: np.ndarray) -> np.ndarray:  # (K, n) times -> (K, n, 2) path since t_on
        u = np.clip(s, t_on, t_off)
        h = h_on + omega * (u - t_on)
        line = (s - u)[..., None] * np.stack([np.sin(h), np.cos(h)], axis=-1)
        arc = np.where(
            straight[:, None],
            (u - t_on)[..., None] * np.stack([np.sin(h_on), np.cos(h_on)], axis=-1),
            np.stack([np.cos(h_on) - np.cos(h), np.sin(h) - np.sin(h_on)], axis=-1) / w[:, None],
        )
        return line + arc

    xy = p[:, :2] + speed[:, None] * (from_on(times[:, None]) - from_on(t_c[None, :]))
    return np.concatenate([xy, np.broadcast_to(p[:, 2], xy.shape[:2])[..., None]], axis=-1)


def _check_sensing(pd: float, clutter_mean: float) -> None:
    if not 0.0 < pd <= 1.0:
        raise ValueError(f"pd must be in (0, 1], got {pd}")
    if clutter_mean < 0:
        raise ValueError("clutter_mean must be >= 0")


def _observe(
    rng: np.random.Generator,
    radars: tuple[Radar, ...],
    times: np.ndarray,
    truth: np.ndarray,
    alive: np.ndarray,
    cls: np.ndarray,
    *,
    pd: float,
    clutter_mean: float,
    seed: int,
    n_scans: int,
    rcs_mean: np.ndarray | None = None,
) -> BenchScenario:
    """The scenario of truths ``truth`` (K, n, 3) alive at ``alive`` (K, n), classes ``cls``
    (n,), seen by ``radars``: radar k mod R scans at ``times[k]``, detecting each truth in its
    range with probability ``pd``, plus clutter. ``seed`` and ``n_scans`` (per radar) are
    recorded as given; ``rcs_mean`` (n,) dBsm overrides the class means of the plots' RCS."""
    n_targets = truth.shape[1]
    in_any = np.zeros_like(alive)
    for radar in radars:
        in_any |= _in_range(radar, truth)
    covered = alive & in_any

    scans = []
    for k, t in enumerate(times.tolist()):
        radar = radars[k % len(radars)]
        seen = alive[k] & _in_range(radar, truth[k]) & (rng.random(n_targets) < pd)
        ids = np.flatnonzero(seen)
        z_t, r_t = _measure(rng, radar, truth[k, ids])
        rcs_t = _target_rcs(rng, cls[ids], None if rcs_mean is None else rcs_mean[ids])

        n_c = min(int(rng.poisson(clutter_mean)), MAX_CLUTTER)
        pc = _clutter_points(rng, radar, n_c)
        z_c, r_c = _measure(rng, radar, pc)
        rcs_c = rng.uniform(-35.0, -5.0, n_c)

        z = np.concatenate([z_t, z_c])
        order = rng.permutation(len(z))  # the report order tells nothing
        scans.append(
            ScanRecord(
                t=t,
                sensor_id=radar.sensor_id,
                z=z[order],
                R=np.concatenate([r_t, r_c])[order],
                rcs_dbsm=np.concatenate([rcs_t, rcs_c])[order],
                truth_id=np.concatenate([ids, np.full(n_c, -1)]).astype(np.int64)[order],
            )
        )
    return BenchScenario(
        n_targets=n_targets,
        n_scans_per_radar=n_scans,
        seed=seed,
        radars=radars,
        cls=cls,
        times=times,
        truth_pos=truth,
        covered=covered,
        scans=tuple(scans),
    )


def _target_rcs(
    rng: np.random.Generator, cls: np.ndarray, means: np.ndarray | None = None
) -> np.ndarray:
    """Radar cross-section (dBsm): class mean (or ``means``) plus Swerling-1 fluctuation
    10 log10(Exp(1))."""
    base = means if means is not None else np.select(
        [cls == "drone", cls == "bird"], [-12.0, -28.0], default=18.0).astype(float)
    mean = base + rng.normal(0.0, 3.0, len(cls))
    return mean + 10.0 * np.log10(np.maximum(rng.exponential(1.0, len(cls)), 1e-6))


def _clutter_points(rng: np.random.Generator, radar: Radar, n: int) -> np.ndarray:
    """n points uniform over the volume inside the radar's range (rejection sampling)."""
    out = np.zeros((0, 3))
    while len(out) < n:
        q = np.column_stack(
            [
                rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, (2 * n + 8, 2)),
                rng.uniform(10.0, CEILING_M, 2 * n + 8),
            ]
        )
        out = np.concatenate([out, q[_in_range(radar, q)]])
    return out[:n]
