"""The compiled loops of zone-entry prediction (``skywarden.assess.predict``): per track and
zone, the predicted path's entry time, entry probability and closest approach.

Kept apart from the motion model and the zone geometry so that the threat stage's state (its
``MotionModel`` and ``Circle`` zones, restored from a snapshot) loads without numba: this
module, and numba with it, is imported on the first prediction. Compiled on first use and
cached (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from skywarden import polygons

FloatArray = NDArray[np.float64]
_SQRT1_2 = math.sqrt(0.5)


@njit(cache=True)
def circle_kernel(
    pos: FloatArray, vel: FloatArray, speed: FloatArray, sig: FloatArray, t: FloatArray,
    circ: FloatArray, h: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per (track, circle), compiled (the expressions of the module doc, one pair at a time):
    the closest approach of the segment p -> p + v h to the centre, less r; the first root of
    ``|p + v t - c| = r``; and ``max_t Phi(-(|p + v t - c| - r) / sigma(t))``."""
    n, nc, nk = pos.shape[0], circ.shape[0], t.shape[0]
    tz = np.full((n, nc), np.nan)
    pe = np.zeros((n, nc))
    cpa = np.empty((n, nc))
    tcpa = np.empty((n, nc))
    for i in range(n):
        vx, vy = vel[i, 0], vel[i, 1]
        sx, sy = vx * h, vy * h  # the path over the horizon
        seg2 = sx * sx + sy * sy
        a = speed[i] * speed[i]
        for j in range(nc):
            cx, cy, r = circ[j, 0], circ[j, 1], circ[j, 2]
            dx, dy = pos[i, 0] - cx, pos[i, 1] - cy  # from the centre to the track
            u = -(dx * sx + dy * sy) / (seg2 if seg2 > 0 else 1.0)
            u = min(max(u, 0.0), 1.0)  # the closest point on the segment
            d = math.hypot(dx + u * sx, dy + u * sy) - r
            cpa[i, j] = d if d > 0.0 else 0.0
            # entry: the first root of a t^2 + b t + k = 0
            b = 2.0 * (dx * vx + dy * vy)
            k = (dx * dx + dy * dy) - r * r
            disc = b * b - 4.0 * a * k
            enters = False
            t1 = 0.0
            if a > 0 and disc >= 0:
                t1 = (-b - math.sqrt(disc)) / (2.0 * a)
                enters = 0.0 <= t1 <= h
            if k <= 0.0:
                tz[i, j] = tcpa[i, j] = 0.0
            elif enters:
                tz[i, j] = tcpa[i, j] = t1
            else:
                tcpa[i, j] = u * h
            # pairs farther than 5 sigma at the horizon count as no chance at all
            if cpa[i, j] < 5.0 * sig[i, nk - 1]:
                best = 0.0
                for q in range(nk):
                    sd = math.hypot(dx + vx * t[q], dy + vy * t[q]) - r
                    p = _ndtr(-sd / sig[i, q])
                    if p > best:
                        best = p
                pe[i, j] = best
    return tz, pe, cpa, tcpa


@njit(cache=True)
def polygon_kernel(
    pos: FloatArray, vel: FloatArray, speed: FloatArray, sig: FloatArray, t: FloatArray,
    rings: FloatArray, starts: NDArray[np.int64], bound: FloatArray, h: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per (track, polygon): the closest approach of the segment p -> p + v h and when (along
    it, at the track's speed); for pairs within 5 sigma at the horizon, ``max_t Phi(-d(t) /
    sigma(t))`` over the samples and the time the mean path first crosses the edge (``d``
    interpolated linearly between the last sample outside and the first inside)."""
    n, nz, nk = pos.shape[0], starts.size - 1, t.shape[0]
    tz = np.full((n, nz), np.nan)
    pe = np.zeros((n, nz))
    cpa = np.empty((n, nz))
    tcpa = np.empty((n, nz))
    sd = np.empty(nk)
    for j in range(nz):
        ring = rings[starts[j] : starts[j + 1]]
        cx, cy, r_max = bound[j, 0], bound[j, 1], bound[j, 2]
        for i in range(n):
            x0, y0 = pos[i, 0], pos[i, 1]
            x1, y1 = x0 + vel[i, 0] * h, y0 + vel[i, 1] * h
            cpa[i, j], qx, qy = polygons.segment_nearest_point(ring, x0, y0, x1, y1)
            along = math.hypot(qx - x0, qy - y0)
            tcpa[i, j] = along / max(speed[i], 1e-9) if speed[i] > 1e-9 else 0.0
            # pairs farther than 5 sigma at the horizon cannot reach P_in above Phi(-5) ~ 3e-7
            if not cpa[i, j] < 5.0 * sig[i, nk - 1]:
                continue
            best = 0.0
            first = -1
            for k in range(nk):
                x, y = x0 + vel[i, 0] * t[k], y0 + vel[i, 1] * t[k]
                lb = math.hypot(x - cx, y - cy) - r_max
                if lb < 6.0 * sig[i, k]:
                    d = polygons.boundary_distance(ring, x, y)
                    sd[k] = -d if polygons.inside(ring, x, y) else d
                else:
                    sd[k] = lb  # the lower bound: P_in < 1e-9 there anyway
                p = _ndtr(-sd[k] / sig[i, k])
                if p > best:
                    best = p
                if first < 0 and sd[k] <= 0.0:
                    first = k
            pe[i, j] = best
            if first == 0:
                tz[i, j] = 0.0
            elif first > 0:
                d0, d1 = sd[first - 1], sd[first]
                frac = d0 / (d0 - d1 if d0 - d1 > 0 else 1.0)
                tz[i, j] = t[first - 1] + frac * (t[first] - t[first - 1])
    return tz, pe, cpa, tcpa


@njit(cache=True)
def _ndtr(a: float) -> float:
    """The standard normal CDF as scipy's ``ndtr`` computes it (erf near 0, erfc in the tails)."""
    x = a * _SQRT1_2
    z = abs(x)
    if z < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(x)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if x > 0 else y
