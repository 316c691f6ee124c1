"""Distances and containment on simple polygons, compiled (numba).

The scenario's zones and districts are simple polygons (one ring, no holes: the loader refuses
anything else), and a stage asks the same few questions of them every tick for every track: how
far is this point, or this path segment, from the polygon, and is the point inside. One
compiled loop over (polygons x points) answers them where one shapely call per question costs
more in calling than in geometry. A polygon is given as its closed exterior ring; several as one
array of rings laid end to end, with the index where each begins (:func:`pack_rings`).

Distances follow the geometric definitions shapely (GEOS) uses: 0 for a point inside or on the
polygon, or for a segment that touches or crosses it; otherwise the least distance to an edge.
``tests/test_polygons.py`` holds them to shapely on random cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def pack_rings(polygons: Sequence[shapely.Polygon]) -> tuple[FloatArray, IntArray]:
    """The polygons' exterior rings end to end (V, 2), and where each begins (P + 1,)."""
    for p in polygons:
        if not isinstance(p, shapely.Polygon) or len(p.interiors):
            raise ValueError(f"need simple polygons (one ring, no holes), got {p.geom_type}")
    rings = [np.asarray(p.exterior.coords, dtype=np.float64) for p in polygons]
    starts = np.zeros(len(rings) + 1, dtype=np.int64)
    starts[1:] = np.cumsum([len(r) for r in rings])
    return (np.concatenate(rings) if rings else np.zeros((0, 2))), starts


@njit(cache=True)
def _point_segment2(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Squared distance from P to the segment AB (in the order of operations of
    :func:`skywarden.assess.predict.edge_distance`)."""
    dx, dy = bx - ax, by - ay
    qx, qy = px - ax, py - ay
    u = (qx * dx + qy * dy) / max(dx * dx + dy * dy, 1e-12)
    u = min(max(u, 0.0), 1.0)
    ex, ey = qx - u * dx, qy - u * dy
    return ex * ex + ey * ey


@njit(cache=True)
def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Sign of the turn A -> B -> C: +1 left, -1 right, 0 collinear."""
    v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    return 1 if v > 0.0 else (-1 if v < 0.0 else 0)


@njit(cache=True)
def _on_segment(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> bool:
    """P, collinear with AB, lies within its bounding box."""
    return min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by)


@njit(cache=True)
def _segments_meet(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, dx: float, dy: float
) -> bool:
    o1, o2 = _orient(ax, ay, bx, by, cx, cy), _orient(ax, ay, bx, by, dx, dy)
    o3, o4 = _orient(cx, cy, dx, dy, ax, ay), _orient(cx, cy, dx, dy, bx, by)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and _on_segment(ax, ay, bx, by, cx, cy))
        or (o2 == 0 and _on_segment(ax, ay, bx, by, dx, dy))
        or (o3 == 0 and _on_segment(cx, cy, dx, dy, ax, ay))
        or (o4 == 0 and _on_segment(cx, cy, dx, dy, bx, by))
    )


@njit(cache=True)
def _apart2(
    x0: float, y0: float, x1: float, y1: float, ax: float, ay: float, bx: float, by: float
) -> float:
    """Squared distance between two segments that do not meet: the least of each end's
    distance to the other segment."""
    return min(
        _point_segment2(x0, y0, ax, ay, bx, by),
        _point_segment2(x1, y1, ax, ay, bx, by),
        _point_segment2(ax, ay, x0, y0, x1, y1),
        _point_segment2(bx, by, x0, y0, x1, y1),
    )


@njit(cache=True)
def inside(ring: FloatArray, x: float, y: float) -> bool:
    """P strictly inside the closed ring (even-odd rule; a point on an edge counts as outside,
    as in shapely's ``contains``)."""
    n = ring.shape[0] - 1
    odd = False
    for k in range(n):
        ax, ay, bx, by = ring[k, 0], ring[k, 1], ring[k + 1, 0], ring[k + 1, 1]
        if _orient(ax, ay, bx, by, x, y) == 0 and _on_segment(ax, ay, bx, by, x, y):
            return False
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            odd = not odd
    return odd


@njit(cache=True)
def boundary_distance(ring: FloatArray, x: float, y: float) -> float:
    """Distance from P to the polygon's edge, inside or out."""
    best = np.inf
    for k in range(ring.shape[0] - 1):
        d2 = _point_segment2(x, y, ring[k, 0], ring[k, 1], ring[k + 1, 0], ring[k + 1, 1])
        if d2 < best:
            best = d2
    return math.sqrt(best)


@njit(cache=True)
def point_distance(ring: FloatArray, x: float, y: float) -> float:
    """Distance from P to the polygon: 0 inside, else to the nearest edge."""
    return 0.0 if inside(ring, x, y) else boundary_distance(ring, x, y)


@njit(cache=True)
def segment_distance(ring: FloatArray, x0: float, y0: float, x1: float, y1: float) -> float:
    """Distance from the segment P0 P1 to the polygon: 0 when an end is inside or the segment
    meets an edge, else the least of the end-to-edge and vertex-to-segment distances."""
    if inside(ring, x0, y0) or inside(ring, x1, y1):
        return 0.0
    best = np.inf
    for k in range(ring.shape[0] - 1):
        ax, ay, bx, by = ring[k, 0], ring[k, 1], ring[k + 1, 0], ring[k + 1, 1]
        if _segments_meet(x0, y0, x1, y1, ax, ay, bx, by):
            return 0.0
        d2 = _apart2(x0, y0, x1, y1, ax, ay, bx, by)
        if d2 < best:
            best = d2
    return math.sqrt(best)


@njit(cache=True)
def _nearest_on(
    ax: float, ay: float, bx: float, by: float, px: float, py: float
) -> tuple[float, float]:
    """The point of segment AB nearest P (an end when the projection falls outside)."""
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    if len2 > 0.0:
        u = ((px - ax) * dx + (py - ay) * dy) / len2
        if 0.0 < u < 1.0:
            return ax + u * dx, ay + u * dy
    if math.hypot(px - ax, py - ay) < math.hypot(px - bx, py - by):
        return ax, ay
    return bx, by


@njit(cache=True)
def segment_nearest_point(
    ring: FloatArray, x0: float, y0: float, x1: float, y1: float
) -> tuple[float, float, float]:
    """The distance of the segment P0 P1 to the polygon (:func:`segment_distance`) and the
    segment's point nearest it, chosen as shapely's ``shortest_line(segment, polygon)`` starts:
    P0 when it is inside or on the polygon; else, over the edges in ring order, the first edge at
    the least distance, and there the crossing point if the segment crosses it, else the nearest
    of: the projections of the edge's ends onto the segment, then P0, then P1.
    Returns (distance, x, y)."""
    if inside(ring, x0, y0) or boundary_distance(ring, x0, y0) == 0.0:
        return 0.0, x0, y0
    best = np.inf
    bx_, by_ = x0, y0
    for k in range(ring.shape[0] - 1):
        ax, ay, bx, by = ring[k, 0], ring[k, 1], ring[k + 1, 0], ring[k + 1, 1]
        if _segments_meet(x0, y0, x1, y1, ax, ay, bx, by):
            # the crossing point (for collinear overlap: the edge's end nearest P0)
            den = (x1 - x0) * (by - ay) - (y1 - y0) * (bx - ax)
            if den != 0.0:
                s = ((ax - x0) * (by - ay) - (ay - y0) * (bx - ax)) / den
                return 0.0, x0 + s * (x1 - x0), y0 + s * (y1 - y0)
            qx, qy = _nearest_on(x0, y0, x1, y1, ax, ay)
            return 0.0, qx, qy
        d2 = _apart2(x0, y0, x1, y1, ax, ay, bx, by)
        if d2 < best:
            best = d2
            # the nearest pair: an end of the edge projected onto the segment, or an end of it
            qx, qy = _nearest_on(x0, y0, x1, y1, ax, ay)
            top = (qx - ax) ** 2 + (qy - ay) ** 2
            bx_, by_ = qx, qy
            qx, qy = _nearest_on(x0, y0, x1, y1, bx, by)
            if (qx - bx) ** 2 + (qy - by) ** 2 < top:
                top = (qx - bx) ** 2 + (qy - by) ** 2
                bx_, by_ = qx, qy
            if _point_segment2(x0, y0, ax, ay, bx, by) < top:
                top = _point_segment2(x0, y0, ax, ay, bx, by)
                bx_, by_ = x0, y0
            if _point_segment2(x1, y1, ax, ay, bx, by) < top:
                bx_, by_ = x1, y1
    return math.sqrt(best), bx_, by_


@njit(cache=True)
def rings_reached(
    rings: NDArray[np.float64], starts: NDArray[np.int64], x0: NDArray[np.float64], y0: NDArray[np.float64],
    x1: NDArray[np.float64], y1: NDArray[np.float64], radius: NDArray[np.float64], speed: NDArray[np.float64],
    level: NDArray[np.int64],
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.bool_], NDArray[np.int64]]:
    """Per polygon (rings packed by :func:`pack_rings`: the alert stage's districts), over the
    paths (x0, y0) -> (x1, y1) of the threats: whether one comes within its ``radius`` of it
    (exactly what meeting the path widened by it means); of those, the least time until the widened path
    reaches it, ``(distance of the start - radius) / speed`` (0 once within), whether a start is
    inside, and the highest threat level."""
    nd = starts.size - 1
    near = np.zeros(nd, dtype=np.bool_)
    entry = np.full(nd, np.inf)
    within = np.zeros(nd, dtype=np.bool_)  # (not ``inside``: the function of that name)
    top = np.full(nd, -1, dtype=np.int64)
    for k in range(nd):
        ring = rings[starts[k] : starts[k + 1]]
        for i in range(x0.size):
            if segment_distance(ring, x0[i], y0[i], x1[i], y1[i]) > radius[i]:
                continue
            near[k] = True
            ins = inside(ring, x0[i], y0[i])
            gap = 0.0 if ins else max(boundary_distance(ring, x0[i], y0[i]) - radius[i], 0.0)
            entry[k] = min(entry[k], gap / speed[i])
            within[k] = within[k] or ins
            top[k] = max(top[k], level[i])
    return near, entry, within, top
