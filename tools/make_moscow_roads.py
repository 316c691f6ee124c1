"""Generate the synthetic Moscow road extract shipped with the default night (OSM XML 0.6).

The file is SYNTHETIC: it imitates the city's radial-ring structure, not its real streets. It
has the Boulevard Ring (~1.3 km from the centre), the Garden Ring (~2 km), the Third Ring (~5 km),
the MKAD ring motorway (~17 km, wobbling between ~15.5 and ~18.5 km), the A-107 "small ring"
(~45 km), sixteen radial highways every 17-30 degrees out to 60 km under their real names, a
grid of local streets (900 m) inside the MKAD and of regional roads (4 km) outside it. Every
crossing is a junction (a shared node): no bridges or grade separation.

Run from the repository root (deterministic; rewrites the file):
    PYTHONPATH=. python tools/make_moscow_roads.py
    PYTHONPATH=. python tools/make_moscow_roads.py --out /tmp/roads.osm
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import shapely
from lxml import etree

from skywarden.geo import LocalFrame

LAT0, LON0 = 55.7539, 37.6208  # the city centre of the scenario (the frame origin)
OUT = (
    Path(__file__).resolve().parent.parent / "skywarden" / "scenario" / "data" / "moscow_roads.osm"
)

# (bearing deg, name inside the MKAD, name outside, ref outside)
RADIALS = [
    (345.0, "Дмитровское шоссе", "Дмитровское шоссе", "А-104"),
    (8.0, "Алтуфьевское шоссе", "Осташковское шоссе", ""),
    (30.0, "проспект Мира", "Ярославское шоссе", "М-8"),
    (60.0, "Щёлковское шоссе", "Щёлковское шоссе", "А-103"),
    (85.0, "шоссе Энтузиастов", "Горьковское шоссе", "М-7"),
    (110.0, "Рязанский проспект", "Егорьевское шоссе", ""),
    (135.0, "Волгоградский проспект", "Новорязанское шоссе", "М-5"),
    (160.0, "Каширское шоссе", "Каширское шоссе", "М-4"),
    (185.0, "Варшавское шоссе", "Варшавское шоссе", ""),
    (208.0, "Профсоюзная улица", "Калужское шоссе", "А-101"),
    (232.0, "Ленинский проспект", "Киевское шоссе", "М-3"),
    (262.0, "Кутузовский проспект", "Можайское шоссе", "М-1"),
    (283.0, "Звенигородское шоссе", "Новорижское шоссе", "М-9"),
    (300.0, "Волоколамское шоссе", "Волоколамское шоссе", ""),
    (320.0, "Ленинградский проспект", "Ленинградское шоссе", "М-10"),
]

MKAD_R = 17_000.0
INNER_GRID_M, INNER_R = 900.0, 17_600.0
OUTER_GRID_M, OUTER_R = 4_000.0, 56_000.0


def ring_xy(r_of_theta, step_m: float = 150.0) -> np.ndarray:
    """A closed ring r(theta) (theta = bearing, radians) sampled about every ``step_m``."""
    n = max(24, int(2 * math.pi * r_of_theta(0.0) / step_m))
    th = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    r = np.array([r_of_theta(t) for t in th])
    xy = np.column_stack([r * np.sin(th), r * np.cos(th)])
    return np.vstack([xy, xy[:1]])


def radial_xy(bearing: float, r0: float, r1: float, step_m: float = 250.0) -> np.ndarray:
    """A radial road from r0 to r1 whose bearing wanders a few degrees (roads are not rulers)."""
    r = np.arange(r0, r1 + 1.0, step_m)
    b = np.radians(bearing + 3.0 * np.sin(r / 9_000.0 + bearing))
    return np.column_stack([r * np.sin(b), r * np.cos(b)])


def lines() -> list[tuple[shapely.LineString, dict[str, str]]]:
    out: list[tuple[shapely.LineString, dict[str, str]]] = []

    def add(xy: np.ndarray, **tags: str) -> None:
        out.append((shapely.LineString(xy), {k.replace("_", ":"): v for k, v in tags.items() if v}))

    add(ring_xy(lambda t: 1_300.0 + 80.0 * math.sin(2 * t)), highway="secondary", maxspeed="60",
        name="Бульварное кольцо", name_en="Boulevard Ring")  # fmt: skip
    add(ring_xy(lambda t: 2_000.0 + 250.0 * math.cos(2 * t)), highway="primary", maxspeed="60",
        name="Садовое кольцо", name_en="Garden Ring")  # fmt: skip
    add(ring_xy(lambda t: 5_000.0 + 500.0 * math.sin(2 * t + 0.7)), highway="trunk", maxspeed="80",
        name="Третье транспортное кольцо", name_en="Third Ring Road", oneway="no")  # fmt: skip
    add(ring_xy(lambda t: MKAD_R + 1_500.0 * math.cos(2 * t + 0.5), 200.0), highway="motorway",
        maxspeed="100", oneway="no", ref="МКАД", name="Московская кольцевая автомобильная дорога",
        name_en="Moscow Ring Road")  # fmt: skip
    add(ring_xy(lambda t: 45_000.0 + 4_000.0 * math.sin(3 * t), 400.0), highway="trunk",
        maxspeed="90", ref="А-107", name="Московское малое кольцо", name_en="Small Moscow Ring")  # fmt: skip
    for bearing, inner, outer, ref in RADIALS:
        add(
            radial_xy(bearing, 600.0, MKAD_R - 1_600.0),
            highway="primary",
            maxspeed="60",
            name=inner,
        )
        # the stretch across the MKAD's wobble and out to 60 km
        add(
            radial_xy(bearing, MKAD_R - 1_600.0, 60_000.0),
            highway="trunk",
            maxspeed="90",
            name=outer,
            ref=ref,
        )

    inner_disc = shapely.Point(0, 0).buffer(INNER_R, 64)
    k = int(INNER_R // INNER_GRID_M) + 1
    for i in range(-k, k):
        c = (i + 0.5) * INNER_GRID_M  # half a cell off the axes, so no street lies on a radial
        cls = "tertiary" if i % 4 == 0 else "residential"
        speed = "40" if cls == "tertiary" else "30"
        for xy, name in (([(c, -INNER_R), (c, INNER_R)], f"{i + k + 1}-я линия"),
                         ([(-INNER_R, c), (INNER_R, c)], f"{i + k + 1}-я улица")):  # fmt: skip
            piece = shapely.LineString(xy).intersection(inner_disc)
            for g in getattr(piece, "geoms", [piece]):
                if g.length > 0:
                    add(np.asarray(g.coords), highway=cls, maxspeed=speed, name=name)
    annulus = (
        shapely.Point(0, 0)
        .buffer(OUTER_R, 64)
        .difference(shapely.Point(0, 0).buffer(INNER_R - 2_000.0, 64))
    )
    k = int(OUTER_R // OUTER_GRID_M) + 1
    for i in range(-k, k):
        c = (i + 0.5) * OUTER_GRID_M
        for xy in ([(c, -OUTER_R), (c, OUTER_R)], [(-OUTER_R, c), (OUTER_R, c)]):
            piece = shapely.LineString(xy).intersection(annulus)
            for g in getattr(piece, "geoms", [piece]):
                if g.length > 0:
                    add(np.asarray(g.coords), highway="unclassified", maxspeed="60")
    return out


def node_lines(
    items: list[tuple[shapely.LineString, dict[str, str]]],
) -> tuple[np.ndarray, list[list[int]]]:
    """Every crossing becomes a node shared by both lines; returns node (x, y) and each line's nodes."""
    geoms = [g for g, _ in items]
    tree = shapely.STRtree(geoms)
    nodes: list[tuple[float, float]] = []
    index: dict[tuple[int, int], int] = {}

    def node(x: float, y: float) -> int:
        key = (round(x * 10), round(y * 10))  # decimetre grid: the same place is the same node
        if key not in index:
            index[key] = len(nodes)
            nodes.append((x, y))
        return index[key]

    extra: list[list[tuple[float, int]]] = [[] for _ in geoms]
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        inter = geoms[i].intersection(geoms[j])
        pts = [p for p in getattr(inter, "geoms", [inter]) if isinstance(p, shapely.Point)]
        for p in pts:
            nid = node(p.x, p.y)
            extra[i].append((geoms[i].project(p), nid))
            extra[j].append((geoms[j].project(p), nid))
    refs: list[list[int]] = []
    for g, more in zip(geoms, extra, strict=True):
        xy = np.asarray(g.coords)
        pos = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        seq = [(float(s), node(float(x), float(y))) for s, (x, y) in zip(pos, xy, strict=True)]
        seq += more
        seq.sort()
        ids: list[int] = []
        for _, nid in seq:
            if not ids or ids[-1] != nid:
                ids.append(nid)
        refs.append(ids)
    return np.asarray(nodes), refs


def build() -> etree._ElementTree:
    items = lines()
    xy, refs = node_lines(items)
    frame = LocalFrame(LAT0, LON0)
    lat, lon, _ = frame.to_wgs84(xy[:, 0], xy[:, 1])
    root = etree.Element(
        "osm", version="0.6", generator="skywarden tools/make_moscow_roads.py (synthetic)"
    )
    root.append(
        etree.Comment(
            " SYNTHETIC road network imitating Moscow's radial-ring layout; not real streets. "
        )
    )
    etree.SubElement(root, "bounds", minlat=f"{lat.min():.7f}", minlon=f"{lon.min():.7f}",
                     maxlat=f"{lat.max():.7f}", maxlon=f"{lon.max():.7f}")  # fmt: skip
    for i in range(len(xy)):
        etree.SubElement(
            root, "node", id=str(i + 1), version="1", lat=f"{lat[i]:.7f}", lon=f"{lon[i]:.7f}"
        )
    way_id = 0
    for (_, tags), ids in zip(items, refs, strict=True):
        # OSM caps a way at 2000 nodes; split longer ones, sharing the node at the cut
        for a in range(0, max(len(ids) - 1, 1), 1999):
            chunk = ids[a : a + 2000]
            if len(chunk) < 2:
                continue
            way_id += 1
            way = etree.SubElement(root, "way", id=str(way_id), version="1")
            for nid in chunk:
                etree.SubElement(way, "nd", ref=str(nid + 1))
            for k in sorted(tags):
                etree.SubElement(way, "tag", k=k, v=tags[k])
    return etree.ElementTree(root)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=OUT, help=f"where to write (default: {OUT})")
    args = ap.parse_args()
    tree = build()
    tree.write(str(args.out), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    root = tree.getroot()
    print(f"{args.out}: {len(root.findall('node'))} nodes, {len(root.findall('way'))} ways, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
