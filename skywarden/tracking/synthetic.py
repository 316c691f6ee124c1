"""Small seeded synthetic scenes for tests, examples and quick benchmarks.

Truth is a set of targets flying constant-velocity legs, optionally with one coordinated turn;
sensors are radars at known places measuring range/azimuth/elevation with Gaussian errors, a
detection probability and uniform clutter. Everything in the local east/north/up frame (m, s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking.convert import polar_to_enu
from skywarden.tracking.tracker import Scan

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Target:
    """A target: start position (3,) m, velocity (3,) m/s, an optional turn at ``turn_rate``
    (rad/s, + = left) between ``turn_from`` and ``turn_to`` (s); ``rcs`` dBsm."""

    p0: tuple[float, float, float]
    v0: tuple[float, float, float]
    t_on: float = 0.0
    t_off: float = math.inf
    turn_rate: float = 0.0
    turn_from: float = math.inf
    turn_to: float = math.inf
    rcs: float = -10.0

    def state(self, t: float) -> tuple[FloatArray, FloatArray]:
        """Position and velocity at time t (exact, piecewise analytic)."""
        p = np.array(self.p0, dtype=float)
        v = np.array(self.v0, dtype=float)
        t = t - self.t_on
        a, b = self.turn_from - self.t_on, self.turn_to - self.t_on
        t1 = min(t, a)
        p = p + v * t1
        if t > a and self.turn_rate != 0.0:
            tt = min(t, b) - a
            w = self.turn_rate
            s, c = math.sin(w * tt), math.cos(w * tt)
            ve, vn = v[0], v[1]
            p = p + np.array([(s * ve - (1 - c) * vn) / w, ((1 - c) * ve + s * vn) / w, v[2] * tt])
            v = np.array([c * ve - s * vn, s * ve + c * vn, v[2]])
            if t > b:
                p = p + v * (t - b)
        return p, v

    def alive(self, t: float) -> bool:
        return self.t_on <= t <= self.t_off


@dataclass(frozen=True)
class Radar:
    sensor_id: str
    enu: tuple[float, float, float]
    period_s: float = 1.0
    phase_s: float = 0.0
    sigma_r: float = 20.0
    sigma_az_deg: float = 0.2
    sigma_el_deg: float = 0.3
    p_detect: float = 0.9
    clutter: float = 0.0  # mean false plots per scan
    max_range_m: float = 60_000.0
    clutter_max_el_deg: float = 5.0


def radar_scans(
    targets: list[Target], radars: list[Radar], t_end: float, seed: int = 0
) -> list[tuple[Scan, FloatArray, list[int]]]:
    """Time-ordered scans over [0, t_end): (scan, truth positions (K, 3) of the targets
    alive at that time, their indices)."""
    rng = np.random.default_rng(seed)
    events: list[tuple[float, int]] = []
    for k, r in enumerate(radars):
        t = r.phase_s
        while t < t_end:
            events.append((t, k))
            t += r.period_s
    events.sort()
    out = []
    for t, k in events:
        r = radars[k]
        s = np.asarray(r.enu, dtype=float)
        idx = [i for i, tg in enumerate(targets) if tg.alive(t)]
        pos = np.array([targets[i].state(t)[0] for i in idx]).reshape(-1, 3)
        d = pos - s
        rng_true = np.linalg.norm(d, axis=1)
        seen = (rng_true < r.max_range_m) & (rng.random(len(idx)) < r.p_detect)
        d, rt = d[seen], rng_true[seen]
        n = len(rt)
        az = np.degrees(np.arctan2(d[:, 0], d[:, 1])) + rng.normal(0, r.sigma_az_deg, n)
        el = np.degrees(np.arcsin(d[:, 2] / np.maximum(rt, 1e-9))) + rng.normal(
            0, r.sigma_el_deg, n
        )
        rm = rt + rng.normal(0, r.sigma_r, n)
        rcs = np.array(
            [targets[i].rcs for i, ok in zip(idx, seen, strict=True) if ok]
        ) + rng.normal(0, 2.0, n)
        m = int(rng.poisson(r.clutter)) if r.clutter > 0 else 0
        rm = np.concatenate([rm, rng.uniform(1000.0, r.max_range_m, m)])
        az = np.concatenate([az, rng.uniform(0, 360, m)])
        el = np.concatenate([el, rng.uniform(0, r.clutter_max_el_deg, m)])
        rcs = np.concatenate([rcs, rng.normal(0.0, 8.0, m)])
        z, R = polar_to_enu(rm, az, el, r.sigma_r, r.sigma_az_deg, r.sigma_el_deg, s)
        cov = (float(s[0]), float(s[1]), float(s[2]), float(r.max_range_m))
        out.append((Scan(t=t, sensor_id=r.sensor_id, z=z, R=R, rcs_dbsm=rcs, coverage=cov), pos, idx))
    return out


def random_targets(n: int, half_width_m: float, seed: int = 0) -> list[Target]:
    """n straight-flying targets: drone speeds and heights, uniform over a square."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        e, nn = rng.uniform(-half_width_m, half_width_m, 2)
        hd = rng.uniform(0, 2 * math.pi)
        sp = rng.uniform(30, 55)
        out.append(
            Target(
                (float(e), float(nn), float(rng.uniform(200, 1000))),
                (sp * math.sin(hd), sp * math.cos(hd), 0.0),
                rcs=float(rng.uniform(-12, -5)),
            )
        )
    return out


def timing(
    n_targets: int, seconds: float, clutter: float = 100.0, seed: int = 0
) -> dict[str, float]:
    """Per-scan wall time of ``Tracker.step`` (ms) on three 1 Hz radars, second half of the run."""
    import time

    from skywarden.tracking.tracker import Tracker

    w = 60_000.0
    radars = [
        Radar("r1", (-w, -w, 100.0), clutter=clutter, max_range_m=3 * w),
        Radar("r2", (w, -w, 100.0), phase_s=0.33, clutter=clutter, max_range_m=3 * w),
        Radar("r3", (0.0, w, 100.0), phase_s=0.67, clutter=clutter, max_range_m=3 * w),
    ]
    scans = radar_scans(random_targets(n_targets, 0.8 * w, seed), radars, seconds, seed)
    trk = Tracker()
    lat = []
    confirmed = 0
    for scan, _, _ in scans:
        t0 = time.perf_counter()
        table = trk.step(scan)
        lat.append(time.perf_counter() - t0)
        confirmed = len(table)
    tail = np.array(lat[len(lat) // 2 :]) * 1e3
    return {
        "targets": n_targets,
        "p50_ms": float(np.percentile(tail, 50)),
        "p99_ms": float(np.percentile(tail, 99)),
        "confirmed": confirmed,
    }


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    s = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    print(timing(n, s))
