"""OSM parsing, travel-time weights, the networkx twin, routers, and the shipped Moscow extract."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from skywarden.geo import LocalFrame
from skywarden.response.roads import (
    HIGHWAY_SPEED_KMH,
    RoadGraph,
    RoadRouter,
    StraightLineRouter,
    oneway_of,
    parse_maxspeed,
)

FRAME = LocalFrame(55.75, 37.62)
MOSCOW = (
    Path(__file__).resolve().parent.parent / "skywarden" / "scenario" / "data" / "moscow_roads.osm"
)


def ll(e: float, n: float) -> tuple[float, float]:
    return FRAME.latlon(e, n)


def osm(
    nodes: dict[int, tuple[float, float]], ways: list[tuple[list[int], dict[str, str]]]
) -> bytes:
    """A small OSM XML document: nodes given in local metres, ways as (refs, tags)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="hand">']
    for nid, (e, n) in nodes.items():
        lat, lon = ll(e, n)
        out.append(f'  <node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}"/>')
    for wid, (refs, tags) in enumerate(ways, start=100):
        out.append(f'  <way id="{wid}" version="1">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        out += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        out.append("  </way>")
    out.append("</osm>")
    return "\n".join(out).encode()


SMALL = osm(
    {
        1: (0.0, 0.0),
        2: (1000.0, 0.0),
        3: (2000.0, 0.0),
        4: (2000.0, 1000.0),
        5: (0.0, 1000.0),
        9: (50.0, 50.0),
    },
    [
        ([1, 2, 3], {"highway": "primary", "maxspeed": "72", "name": "Main street"}),
        ([3, 4], {"highway": "residential", "oneway": "yes"}),  # 3 -> 4 only
        ([4, 5, 1], {"highway": "secondary", "maxspeed": "30 mph"}),
        ([1, 9], {"highway": "footway"}),  # not for engines
        ([2, 777], {"highway": "service"}),  # a ref to a node not in the extract
    ],
)


def test_parse_a_hand_written_extract() -> None:
    g = RoadGraph.from_osm(SMALL, FRAME)
    assert sorted(g.osm_id.tolist()) == [1, 2, 3, 4, 5]  # the footway's own node is dropped
    assert g.ways == 4 and g.skipped_ways == 1 and g.missing_refs == 1
    i = {int(o): k for k, o in enumerate(g.osm_id)}
    # 1000 m at maxspeed 72 km/h = 20 m/s -> 50 s, both ways
    assert g.time[i[1], i[2]] == pytest.approx(50.0, rel=1e-3)
    assert g.time[i[2], i[1]] == pytest.approx(50.0, rel=1e-3)
    assert g.length[i[1], i[2]] == pytest.approx(1000.0, rel=1e-3)
    # one-way residential 3 -> 4 at the class speed (30 km/h)
    assert g.time[i[3], i[4]] == pytest.approx(
        1000.0 / (HIGHWAY_SPEED_KMH["residential"] / 3.6), rel=1e-3
    )
    assert g.time[i[4], i[3]] == 0.0  # no edge
    # 30 mph = 48.28 km/h
    assert g.time[i[4], i[5]] == pytest.approx(2000.0 / (30 * 1.609344 / 3.6), rel=1e-3)
    # a service stub to a missing node leaves node 2 as it was; all five nodes connect strongly
    assert g.main.all()


def test_networkx_view_carries_travel_time_weights() -> None:
    g = RoadGraph.from_osm(SMALL, FRAME)
    nxg = g.nx
    assert nxg.number_of_nodes() == 5 and nxg.number_of_edges() == g.n_edges
    assert nxg.has_edge(3, 4) and not nxg.has_edge(4, 3)
    assert (
        nxg[1][2]["time_s"] == pytest.approx(50.0, rel=1e-3) and nxg[1][2]["highway"] == "primary"
    )
    # 4 -> 3 is one-way the other way: go round 4 -> 5 -> 1 -> 2 -> 3
    assert nx.shortest_path(nxg, 4, 3, weight="time_s") == [4, 5, 1, 2, 3]


@pytest.mark.parametrize(
    "value,kmh",
    [("60", 60.0), ("30 mph", 48.28032), ("RU:urban", 60.0), ("50 km/h", 50.0), ("none", None), ("", None),
     ("signals", None), ("0", None), ("40;60", 40.0)],
)  # fmt: skip
def test_maxspeed_values(value: str, kmh: float | None) -> None:
    got = parse_maxspeed(value)
    assert got == (pytest.approx(kmh) if kmh is not None else None)


def test_oneway_rules() -> None:
    assert oneway_of({"highway": "primary"}) == 0
    assert oneway_of({"highway": "primary", "oneway": "yes"}) == 1
    assert oneway_of({"highway": "primary", "oneway": "-1"}) == -1
    assert oneway_of({"highway": "motorway"}) == 1  # OSM: motorways are one-way by default
    assert oneway_of({"highway": "motorway", "oneway": "no"}) == 0
    assert oneway_of({"highway": "tertiary", "junction": "roundabout"}) == 1


def test_bad_documents_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not OSM XML"):
        RoadGraph.from_osm(b"<gpx version='1.1'></gpx>", FRAME)
    with pytest.raises(ValueError, match="well-formed"):
        RoadGraph.from_osm(b"<osm version='0.6'><node id='1'", FRAME)
    with pytest.raises(ValueError, match="no drivable"):
        RoadGraph.from_osm(osm({1: (0, 0), 2: (9, 9)}, [([1, 2], {"highway": "footway"})]), FRAME)


def test_road_router_snaps_adds_access_legs_and_draws_the_path() -> None:
    g = RoadGraph.from_osm(SMALL, FRAME)
    straight = StraightLineRouter(FRAME)
    r = RoadRouter(g, FRAME, straight, access_speed_kmh=18.0, detour_factor=1.0)
    # from 100 m south of node 1 to 100 m east of node 3: 20 s + 100 s + 20 s (access at 5 m/s)
    route = r.route((0.0, -100.0), (2100.0, 0.0))
    assert route.method == "road"
    assert route.eta_s == pytest.approx(20.0 + 100.0 + 20.0, rel=1e-3)
    assert route.distance_m == pytest.approx(2200.0, rel=1e-3)
    assert len(route.polyline) == 5  # start, nodes 1, 2, 3, end
    assert route.polyline[1] == pytest.approx(ll(0.0, 0.0), abs=1e-7)
    assert r.etas([(0.0, -100.0)], (2100.0, 0.0))[0] == pytest.approx(route.eta_s)
    # too far from any road: the straight-line estimate, and it says so
    far = r.route((0.0, 0.0), (60_000.0, 0.0))
    assert far.method == "straight_line" and len(far.polyline) == 2


def test_straight_line_router() -> None:
    r = StraightLineRouter(FRAME, detour_factor=1.4, speed_kmh=36.0)
    route = r.route((0.0, 0.0), (3000.0, 4000.0))
    assert route.distance_m == pytest.approx(7000.0) and route.eta_s == pytest.approx(700.0)
    assert route.method == "straight_line"


# --------------------------------------------------------------------------- the shipped extract


@pytest.fixture(scope="module")
def moscow() -> RoadGraph:
    return RoadGraph.from_osm(MOSCOW, FRAME)


def test_moscow_extract_is_small_well_formed_and_connected(moscow: RoadGraph) -> None:
    assert MOSCOW.stat().st_size < 2_000_000
    assert moscow.n_nodes > 5_000 and moscow.skipped_ways == 0 and moscow.missing_refs == 0
    assert moscow.main.mean() > 0.99
    r = np.hypot(moscow.xy[:, 0], moscow.xy[:, 1])
    assert 55_000 < r.max() < 65_000  # radials out to ~60 km
    head = MOSCOW.read_text(encoding="utf-8")[:400]
    assert '<osm version="0.6"' in head and "SYNTHETIC" in head
    kinds = set(moscow.edge_highway.values())
    assert {"motorway", "trunk", "primary", "residential"} <= kinds


def test_scipy_dijkstra_agrees_with_networkx(moscow: RoadGraph) -> None:
    nxg = moscow.nx
    rng = np.random.default_rng(3)
    for src in rng.choice(np.flatnonzero(moscow.main), 2, replace=False).tolist():
        dist, _ = moscow.tree(src)
        ref = nx.single_source_dijkstra_path_length(nxg, int(moscow.osm_id[src]), weight="time_s")
        got = {int(moscow.osm_id[i]): float(d) for i, d in enumerate(dist) if math.isfinite(d)}
        assert got.keys() == ref.keys()
        assert max(abs(got[k] - ref[k]) for k in ref) < 1e-9


def test_a_ring_road_beats_the_city_streets_across_town(moscow: RoadGraph) -> None:
    # from the MKAD's west to its south-west: the ring (100 km/h) beats a straight line at 40 km/h
    r = RoadRouter(moscow, FRAME, StraightLineRouter(FRAME))
    a, b = (-17_000.0, 0.0), (-12_000.0, -12_000.0)
    road = r.route(a, b)
    assert road.method == "road"
    assert road.eta_s < StraightLineRouter(FRAME).route(a, b).eta_s
    assert road.distance_m >= math.dist(a, b)
