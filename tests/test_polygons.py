"""The compiled polygon distances and containment against shapely's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from skywarden import polygons


def star(rng: np.random.Generator, n: int, cx: float, cy: float) -> shapely.Polygon:
    """A simple, usually non-convex polygon: vertices at sorted angles, random radii."""
    a = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = rng.uniform(2_000, 9_000, n)
    return shapely.Polygon(np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_points_and_segments_agree_with_shapely(seed: int) -> None:
    rng = np.random.default_rng(seed)
    polys = [star(rng, int(rng.integers(3, 30)), *rng.uniform(-5_000, 5_000, 2)) for _ in range(4)]
    polys.append(shapely.Polygon([(0, 0), (4_000, 0), (4_000, 3_000), (0, 3_000)]))  # axis edges
    rings, starts = polygons.pack_rings(polys)
    pts = rng.uniform(-15_000, 15_000, (300, 2))
    ends = pts + rng.normal(size=(300, 2)) * 6_000
    for k, poly in enumerate(polys):
        ring = rings[starts[k] : starts[k + 1]]
        for (x, y), (x1, y1) in zip(pts.tolist(), ends.tolist(), strict=True):
            p = shapely.Point(x, y)
            assert polygons.inside(ring, x, y) == poly.contains(p)
            assert polygons.point_distance(ring, x, y) == pytest.approx(poly.distance(p), abs=1e-6)
            seg = shapely.LineString([(x, y), (x1, y1)])
            assert polygons.segment_distance(ring, x, y, x1, y1) == pytest.approx(poly.distance(seg), abs=1e-6)


def test_edges_vertices_and_crossings() -> None:
    square = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
    rings, starts = polygons.pack_rings([square])
    ring = rings[starts[0] : starts[1]]
    # on an edge and on a vertex: not contained (as shapely), at distance 0
    for x, y in [(5.0, 0.0), (10.0, 10.0), (0.0, 3.0)]:
        assert not polygons.inside(ring, x, y)
        assert polygons.point_distance(ring, x, y) == 0.0
    assert polygons.inside(ring, 5.0, 5.0) and polygons.point_distance(ring, 5.0, 5.0) == 0.0
    # a segment through the square with both ends outside meets it
    assert polygons.segment_distance(ring, -5.0, 5.0, 15.0, 5.0) == 0.0
    # grazing a vertex, and passing beside it
    assert polygons.segment_distance(ring, -5.0, 15.0, 15.0, 5.0) == 0.0
    assert polygons.segment_distance(ring, -5.0, 16.0, 16.0, 16.0) == pytest.approx(6.0)
    # a zero-length segment is a point
    assert polygons.segment_distance(ring, 13.0, 14.0, 13.0, 14.0) == pytest.approx(5.0)


def test_only_simple_polygons_are_packed() -> None:
    holed = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], holes=[[(2, 2), (4, 2), (4, 4)]])
    with pytest.raises(ValueError, match="no holes"):
        polygons.pack_rings([holed])
    rings, starts = polygons.pack_rings([])
    assert rings.shape == (0, 2) and starts.tolist() == [0]


@pytest.mark.parametrize("seed", [4, 5])
def test_the_nearest_point_of_a_segment_is_where_shapely_starts_its_shortest_line(seed: int) -> None:
    rng = np.random.default_rng(seed)
    polys = [star(rng, int(rng.integers(3, 25)), *rng.uniform(-3_000, 3_000, 2)) for _ in range(3)]
    rings, starts = polygons.pack_rings(polys)
    pts = rng.uniform(-15_000, 15_000, (300, 2))
    ends = pts + rng.normal(size=(300, 2)) * 8_000  # many cross a polygon, some start inside
    kinds = set()
    for k, poly in enumerate(polys):
        ring = rings[starts[k] : starts[k + 1]]
        for (x, y), (x1, y1) in zip(pts.tolist(), ends.tolist(), strict=True):
            seg = shapely.LineString([(x, y), (x1, y1)])
            want = shapely.get_coordinates(shapely.shortest_line(seg, poly))[0]
            dist, gx, gy = polygons.segment_nearest_point(ring, x, y, x1, y1)
            assert (gx, gy) == pytest.approx(tuple(want), abs=1e-6)
            assert dist == polygons.segment_distance(ring, x, y, x1, y1)  # the same distance
            kinds.add("inside" if poly.contains(shapely.Point(x, y)) else "crosses" if seg.intersects(poly) else "apart")
    assert kinds == {"inside", "crosses", "apart"}
