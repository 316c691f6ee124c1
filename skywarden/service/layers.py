"""The scenario as map layers (GeoJSON): districts, protected zones, airports, sensors, stations,
and the main roads of the scenario's OpenStreetMap extract. Built once per served night."""

from __future__ import annotations

from typing import Any

from lxml import etree

from skywarden.scenario import LoadedScenario

# road classes drawn on the console's map (the rest are too many to show at city scale)
MAP_HIGHWAYS = frozenset({"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link"})


def _ring(ring: list[tuple[float, float]]) -> list[list[float]]:
    pts = [[round(lon, 6), round(lat, 6)] for lat, lon in ring]
    if pts and pts[0] != pts[-1]:
        pts.append(pts[0])
    return pts


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def roads(scenario: LoadedScenario) -> list[dict[str, Any]]:
    """The main roads of the scenario's extract as LineStrings (none without an extract)."""
    if not scenario.spec.roads:
        return []
    path = scenario.path.parent / scenario.spec.roads
    nodes: dict[str, tuple[float, float]] = {}
    out: list[dict[str, Any]] = []
    for _, el in etree.iterparse(str(path), events=("end",), tag=("node", "way"), resolve_entities=False, no_network=True):
        if el.tag == "node":
            nodes[el.get("id", "")] = (float(el.get("lon", "nan")), float(el.get("lat", "nan")))
        else:
            tags = {t.get("k"): t.get("v") for t in el.iterfind("tag")}
            if tags.get("highway") in MAP_HIGHWAYS:
                pts = [nodes[n.get("ref", "")] for n in el.iterfind("nd") if n.get("ref", "") in nodes]
                if len(pts) >= 2:
                    coords = [[round(x, 6), round(y, 6)] for x, y in pts]
                    out.append(_feature({"type": "LineString", "coordinates": coords}, layer="road", name=tags.get("name", ""), highway=tags["highway"]))
        el.clear()
    return out


def scenario_layers(scenario: LoadedScenario) -> dict[str, Any]:
    spec = scenario.spec
    feats: list[dict[str, Any]] = []
    for d in spec.districts:
        feats.append(_feature({"type": "Polygon", "coordinates": [_ring(d.polygon)]}, layer="district", id=d.id, name=d.name, name_ru=d.name_ru))
    for z in spec.zones:
        feats.append(_feature({"type": "Polygon", "coordinates": [_ring(scenario.zone_ring(z.id))]}, layer="zone", id=z.id, name=z.name, name_ru=z.name_ru, kind=z.kind, priority=z.priority))
    for a in spec.airports:
        feats.append(_feature(_point(a.lat, a.lon), layer="airport", id=a.id, name=a.name, name_ru=a.name_ru, radius_m=a.restriction_radius_m))
    for s in spec.sensors:
        feats.append(_feature(_point(s.lat, s.lon), layer="sensor", id=s.id, name=s.name or s.id, kind=s.kind, range_m=s.range_m))
    for st in spec.stations:
        feats.append(_feature(_point(st.lat, st.lon), layer="station", id=st.id, name=st.name, crews=[c.id for c in st.crews]))
    feats.extend(roads(scenario))
    return {"type": "FeatureCollection", "features": feats}


__all__ = ["scenario_layers"]
