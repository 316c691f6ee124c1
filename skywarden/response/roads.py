"""Road travel times: an OpenStreetMap extract as a graph, and the routers dispatch asks.

``RoadGraph.from_osm`` reads OSM XML 0.6 (nodes with id/lat/lon, ways with ``nd`` refs and tags)
and keeps the ways a fire engine can drive (``highway=*`` of the classes in
:data:`HIGHWAY_SPEED_KMH`). Each way segment becomes a directed edge (both ways unless the way
is one-way) weighted by its travel time, length / speed, the speed from ``maxspeed`` when it
parses and from the highway class otherwise. The graph is kept twice: as a networkx ``DiGraph``
(``RoadGraph.nx``, for analysis) and as a compressed sparse matrix on which scipy's Dijkstra
runs, which is what the hot path uses; a test checks the two agree.

Routers answer "how long from A to B and by which way" in the local frame (east, north metres):

* :class:`RoadRouter` snaps both ends to the nearest node of the graph's largest strongly
  connected part (a k-d tree), adds an access leg at each end (straight line x detour at
  ``access_speed_kmh``), and keeps the shortest-path trees of fixed places (the stations) so a
  dispatch query is a lookup plus a walk back along the tree.
* :class:`StraightLineRouter` is the fallback without a road extract: straight line x
  ``detour_factor`` at ``speed_kmh``. Its routes say ``method="straight_line"``.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from lxml import etree
from numpy.typing import NDArray

from skywarden.geo import LocalFrame

if TYPE_CHECKING:
    import networkx as nx
    from scipy.sparse import csr_matrix
    from scipy.spatial import cKDTree

# scipy and networkx are imported where they are used (parsing, routing, analysis): a graph
# restored from a stage snapshot for a tick that sends no crew loads neither (``__getstate__``)

FloatArray = NDArray[np.float64]
XY = tuple[float, float]

# Typical free-flow speeds by highway class, km/h (used when a way has no usable maxspeed).
HIGHWAY_SPEED_KMH: dict[str, float] = {
    "motorway": 90.0,
    "motorway_link": 50.0,
    "trunk": 70.0,
    "trunk_link": 40.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 35.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
}

# Implicit maxspeed values (km/h) for the country codes a scenario is likely to use.
IMPLICIT_MAXSPEED_KMH: dict[str, float] = {
    "RU:urban": 60.0, "RU:rural": 90.0, "RU:motorway": 110.0, "RU:living_street": 20.0,
    "UA:urban": 50.0, "UA:rural": 90.0, "UA:motorway": 130.0,
    "DE:urban": 50.0, "DE:rural": 100.0, "GB:nsl_single": 96.6, "GB:nsl_dual": 112.7,
}  # fmt: skip

_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed(value: str | None) -> float | None:
    """An OSM ``maxspeed`` value in km/h ("60", "30 mph", "RU:urban"), or None if unusable."""
    if not value:
        return None
    if value in IMPLICIT_MAXSPEED_KMH:
        return IMPLICIT_MAXSPEED_KMH[value]
    m = _MAXSPEED.match(value.split(";")[0])
    if not m:
        return None
    v = float(m.group(1))
    if v <= 0:
        return None
    return v * 1.609344 if m.group(2) == "mph" else v


def _attr(el: etree._Element, name: str) -> str:
    """An attribute of an OSM element; a missing one is a ValueError, as a malformed one is."""
    value = el.get(name)
    if value is None:
        raise ValueError(f"<{el.tag!s}> without {name}=")
    return value


def oneway_of(tags: dict[str, str]) -> int:
    """+1 forward only, -1 backward only, 0 both ways (OSM rules: motorways and roundabouts are
    one-way unless tagged otherwise)."""
    v = tags.get("oneway", "")
    if v in ("yes", "true", "1"):
        return 1
    if v == "-1" or v == "reverse":
        return -1
    if v in ("no", "false", "0"):
        return 0
    if tags.get("highway") == "motorway" or tags.get("junction") in ("roundabout", "circular"):
        return 1
    return 0


@dataclass(frozen=True)
class RoadGraph:
    """A directed road graph in the local frame.

    ``osm_id``: (N,) node ids; ``xy``: (N, 2) east/north metres; ``lat``/``lon``: (N,) degrees;
    ``time``/``length``: (N, N) sparse CSR, seconds / metres per directed edge;
    ``main``: (N,) bool, the nodes of the largest strongly connected part (snap targets).
    """

    osm_id: NDArray[np.int64]
    xy: FloatArray
    lat: FloatArray
    lon: FloatArray
    time: csr_matrix
    length: csr_matrix
    main: NDArray[np.bool_]
    edge_highway: dict[tuple[int, int], str] = field(repr=False)
    ways: int = 0
    skipped_ways: int = 0
    missing_refs: int = 0
    _main_idx: NDArray[np.intp] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_main_idx", np.flatnonzero(self.main))

    @cached_property
    def _kd(self) -> cKDTree | None:
        """The k-d tree of the main part's nodes (built on the first snap; never pickled)."""
        from scipy.spatial import cKDTree

        idx = self._main_idx
        return cKDTree(self.xy[idx]) if idx.size else None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without scipy objects: the sparse matrices as their CSR arrays (rebuilt on
        first use, ``__getattr__``), the k-d tree not at all (rebuilt from ``xy``)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_kd", "time", "length")}
        for name in ("time", "length"):
            m = self.__dict__.get(name)
            if m is None:  # never rebuilt since it was restored: its arrays as they came
                state[f"_{name}_csr"] = self.__dict__[f"_{name}_csr"]
            else:
                state[f"_{name}_csr"] = (m.data, m.indices, m.indptr, m.shape)
        return state

    if not TYPE_CHECKING:  # (to the type checker ``time`` and ``length`` are plain fields)

        def __getattr__(self, name: str) -> Any:
            """``time`` / ``length`` of a restored graph: the CSR matrix, rebuilt from the
            pickled arrays on first use."""
            parts = self.__dict__.get(f"_{name}_csr") if name in ("time", "length") else None
            if parts is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            from scipy.sparse import csr_matrix

            data, indices, indptr, shape = parts
            m = csr_matrix((data, indices, indptr), shape=shape)
            self.__dict__[name] = m
            del self.__dict__[f"_{name}_csr"]
            return m

    @property
    def n_nodes(self) -> int:
        return int(self.xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.time.nnz)

    @classmethod
    def from_osm(
        cls, source: str | Path | bytes, frame: LocalFrame, speed_factor: float = 1.0
    ) -> RoadGraph:
        """Parse OSM XML (a path or the bytes of a document) into a graph in ``frame``.

        ``speed_factor`` scales every speed (e.g. 1.2 for vehicles under blue lights). Raises
        ``ValueError`` naming the problem when the document is not OSM XML or has no road.
        """
        import io

        stream = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        node_ll: dict[int, tuple[float, float]] = {}
        ways: list[tuple[list[int], dict[str, str]]] = []
        skipped = 0
        root_tag: str | None = None
        try:
            for ev, el in etree.iterparse(stream, events=("start", "end")):
                if ev == "start":
                    if root_tag is None:
                        root_tag = str(el.tag)  # an element's tag, parsed from text: a str
                        if root_tag != "osm":
                            raise ValueError(
                                f"not OSM XML: the root element is <{root_tag}>, not <osm>"
                            )
                    continue
                if el.tag == "node":
                    try:
                        node_ll[int(_attr(el, "id"))] = (float(_attr(el, "lat")), float(_attr(el, "lon")))
                    except ValueError:
                        skipped += 1
                    el.clear()
                elif el.tag == "way":
                    tags = {
                        key: value
                        for t in el.iterfind("tag")
                        if (key := t.get("k")) is not None and (value := t.get("v")) is not None
                    }
                    if tags.get("highway") in HIGHWAY_SPEED_KMH and tags.get("area") != "yes":
                        refs = [int(_attr(nd, "ref")) for nd in el.iterfind("nd")]
                        ways.append((refs, tags))
                    else:
                        skipped += 1
                    el.clear()
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"not well-formed XML: {exc}") from exc
        if not ways:
            raise ValueError("no drivable highway=* way in the extract")

        used = sorted({r for refs, _ in ways for r in refs if r in node_ll})
        index = {osm: i for i, osm in enumerate(used)}
        lat = np.array([node_ll[o][0] for o in used])
        lon = np.array([node_ll[o][1] for o in used])
        e, n, _ = frame.to_enu(lat, lon)
        xy = np.column_stack([e, n])

        edges: list[tuple[int, int, float, str]] = []  # (from, to, speed m/s, highway class)
        missing = 0
        for refs, tags in ways:
            ids = [index[r] for r in refs if r in index]
            missing += len(refs) - len(ids)
            kmh = parse_maxspeed(tags.get("maxspeed")) or HIGHWAY_SPEED_KMH[tags["highway"]]
            ms = kmh / 3.6 * speed_factor
            direction = oneway_of(tags)
            for a, b in zip(ids[:-1], ids[1:], strict=True):
                if a == b:
                    continue
                if direction >= 0:
                    edges.append((a, b, ms, tags["highway"]))
                if direction <= 0:
                    edges.append((b, a, ms, tags["highway"]))
        u = np.asarray([e[0] for e in edges], dtype=np.intp)
        v = np.asarray([e[1] for e in edges], dtype=np.intp)
        spd = np.asarray([e[2] for e in edges])
        hw = [e[3] for e in edges]
        length = np.hypot(*(xy[v] - xy[u]).T)
        # a zero weight would read as "no edge" in a sparse graph: floor at a millimetre
        length = np.maximum(length, 1e-3)
        time = length / spd
        # parallel edges: keep the fastest (CSR construction would add them up)
        order = np.lexsort((time, v, u))
        u, v, time, length = u[order], v[order], time[order], length[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        hw_sorted = [hw[i] for i in order[first]]
        u, v, time, length = u[first], v[first], time[first], length[first]
        nn = len(used)
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        t_mat = csr_matrix((time, (u, v)), shape=(nn, nn))
        l_mat = csr_matrix((length, (u, v)), shape=(nn, nn))
        _, labels = connected_components(t_mat, directed=True, connection="strong")
        main = labels == np.bincount(labels).argmax()
        return cls(
            osm_id=np.asarray(used, dtype=np.int64), xy=xy, lat=lat, lon=lon, time=t_mat, length=l_mat,
            main=main, edge_highway=dict(zip(zip(u.tolist(), v.tolist(), strict=True), hw_sorted, strict=True)),
            ways=len(ways), skipped_ways=skipped, missing_refs=missing,
        )  # fmt: skip

    @property
    def nx(self) -> nx.DiGraph[int]:
        """The graph as a networkx DiGraph: nodes are OSM ids (attrs x, y, lat, lon), edges carry
        ``time_s``, ``length_m`` and ``highway``."""
        import networkx

        g: nx.DiGraph[int] = networkx.DiGraph()
        for i, osm in enumerate(self.osm_id.tolist()):
            g.add_node(
                osm,
                x=float(self.xy[i, 0]),
                y=float(self.xy[i, 1]),
                lat=float(self.lat[i]),
                lon=float(self.lon[i]),
            )
        coo = self.time.tocoo()
        lengths = self.length.tocoo()
        for a, b, t, ln in zip(
            coo.row.tolist(),
            coo.col.tolist(),
            coo.data.tolist(),
            lengths.data.tolist(),
            strict=True,
        ):
            g.add_edge(
                int(self.osm_id[a]),
                int(self.osm_id[b]),
                time_s=t,
                length_m=ln,
                highway=self.edge_highway[(a, b)],
            )
        return g

    def snap(self, x: float, y: float) -> tuple[int, float]:
        """Nearest node of the main connected part to (x, y) metres: (node index, distance m)."""
        kd = self._kd
        assert kd is not None, "a graph with roads has a largest connected part"
        d, i = kd.query((x, y))
        return int(self._main_idx[int(i)]), float(d)

    def tree(self, source: int) -> tuple[FloatArray, NDArray[np.int32]]:
        """Shortest travel times (s) from node ``source`` to every node, and the predecessors."""
        from scipy.sparse.csgraph import dijkstra

        # one source as a list of one: (1, N) rows (scipy's stubs type no scalar index)
        dist, pred = dijkstra(self.time, directed=True, indices=[source], return_predecessors=True)
        return np.asarray(dist[0]), np.asarray(pred[0])

    def path(self, pred: NDArray[np.int32], target: int) -> list[int]:
        """The node path from a tree's source to ``target`` (empty if unreachable)."""
        out = [target]
        while True:
            p = int(pred[out[-1]])
            if p < 0:
                break
            out.append(p)
        return out[::-1]

    def path_length(self, nodes: list[int]) -> float:
        if len(nodes) < 2:
            return 0.0
        a = np.asarray(nodes[:-1])
        b = np.asarray(nodes[1:])
        return float(np.asarray(self.length[a, b]).sum())


# --------------------------------------------------------------------------- routers


@dataclass(frozen=True)
class Route:
    """A way from one place to another: ``eta_s`` seconds, ``distance_m`` metres along it,
    ``polyline`` (lat, lon) points from start to end."""

    eta_s: float
    distance_m: float
    method: Literal["road", "straight_line"]
    polyline: list[tuple[float, float]]


class Router(Protocol):
    def prepare(self, places: list[XY]) -> None:
        """Precompute what helps the routes that start at these fixed places (the stations)."""
        ...

    def etas(self, sources: list[XY], target: XY) -> FloatArray:
        """Travel time (s) from each source to the target, (len(sources),)."""
        ...

    def route(self, source: XY, target: XY) -> Route: ...


@dataclass
class StraightLineRouter:
    """No roads: distance = straight line x ``detour_factor``, driven at ``speed_kmh``."""

    frame: LocalFrame
    detour_factor: float = 1.4
    speed_kmh: float = 40.0

    def prepare(self, places: list[XY]) -> None:
        pass

    def etas(self, sources: list[XY], target: XY) -> FloatArray:
        s = np.asarray(sources, dtype=np.float64).reshape(-1, 2)
        return (
            np.hypot(s[:, 0] - target[0], s[:, 1] - target[1])
            * self.detour_factor
            / (self.speed_kmh / 3.6)
        )

    def route(self, source: XY, target: XY) -> Route:
        d = math.dist(source, target) * self.detour_factor
        return Route(
            eta_s=d / (self.speed_kmh / 3.6),
            distance_m=d,
            method="straight_line",
            polyline=[self.frame.latlon(*source), self.frame.latlon(*target)],
        )


@dataclass
class RoadRouter:
    """Travel by road on ``graph``, with an access leg (straight x ``detour_factor`` at
    ``access_speed_kmh``) from each end to its nearest node. Ends farther than ``max_snap_m``
    from any road, or not joined by the graph, fall back to ``fallback`` (straight line)."""

    graph: RoadGraph
    frame: LocalFrame
    fallback: StraightLineRouter
    access_speed_kmh: float = 20.0
    detour_factor: float = 1.4
    max_snap_m: float = 5_000.0
    cache_trees: int = 32
    _trees: OrderedDict[int, tuple[FloatArray, NDArray[np.int32]]] = field(
        default_factory=OrderedDict, repr=False
    )
    _pinned: set[int] = field(default_factory=set, repr=False)

    def _access_s(self, d: float) -> float:
        return d * self.detour_factor / (self.access_speed_kmh / 3.6)

    def _tree(self, node: int) -> tuple[FloatArray, NDArray[np.int32]]:
        if node in self._trees:
            self._trees.move_to_end(node)
            return self._trees[node]
        tr = self.graph.tree(node)
        self._trees[node] = tr
        # keep the pinned (station) trees; drop the oldest of the others beyond the cache size
        unpinned = [k for k in self._trees if k not in self._pinned]
        while len(unpinned) > self.cache_trees:
            del self._trees[unpinned.pop(0)]
        return tr

    def prepare(self, places: list[XY]) -> None:
        for x, y in places:
            node, d = self.graph.snap(x, y)
            if d <= self.max_snap_m:
                self._pinned.add(node)
                self._tree(node)

    def etas(self, sources: list[XY], target: XY) -> FloatArray:
        tnode, td = self.graph.snap(*target)
        if td > self.max_snap_m:
            return self.fallback.etas(sources, target)
        out = np.empty(len(sources))
        for i, (x, y) in enumerate(sources):
            snode, sd = self.graph.snap(x, y)
            road = self._tree(snode)[0][tnode] if sd <= self.max_snap_m else math.inf
            if math.isfinite(road):
                out[i] = self._access_s(sd) + road + self._access_s(td)
            else:
                out[i] = self.fallback.etas([(x, y)], target)[0]
        return out

    def route(self, source: XY, target: XY) -> Route:
        snode, sd = self.graph.snap(*source)
        tnode, td = self.graph.snap(*target)
        if sd > self.max_snap_m or td > self.max_snap_m:
            return self.fallback.route(source, target)
        dist, pred = self._tree(snode)
        if not math.isfinite(dist[tnode]):
            return self.fallback.route(source, target)
        nodes = self.graph.path(pred, tnode)
        g = self.graph
        poly = [self.frame.latlon(*source)]
        poly += [(float(g.lat[i]), float(g.lon[i])) for i in nodes]
        poly.append(self.frame.latlon(*target))
        return Route(
            eta_s=self._access_s(sd) + float(dist[tnode]) + self._access_s(td),
            distance_m=(sd + td) * self.detour_factor + g.path_length(nodes),
            method="road",
            polyline=poly,
        )
