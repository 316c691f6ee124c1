"""Dispatch: nearest by road, straight-line fallback, the priority queue, the crew lifecycle."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from skywarden.errors import ScenarioError, TransitionError
from skywarden.events import (
    CrashSiteQueued,
    CrewDispatched,
    CrewOverride,
    CrewRecalled,
    CrewReported,
    CrewStatusChanged,
    DebrisPredicted,
    InputRefused,
    KillRetracted,
    encode,
)
from skywarden.geo import LocalFrame, distance_m
from skywarden.response.crews import CREW_TRANSITIONS, check_transition
from skywarden.response.dispatch import DispatchConfig, DispatchStage
from skywarden.scenario import LoadedScenario, load_scenario

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
LAT0, LON0 = 55.75, 37.62
FRAME = LocalFrame(LAT0, LON0)

# A river along north = 750 m with one bridge at east = -6000 m. Station A sits 1.5 km north of
# the site across the river; station B 3 km east of it on the same bank, on a direct road.
NODES = {1: (0.0, 0.0), 2: (3000.0, 0.0), 3: (-6000.0, 0.0), 4: (-6000.0, 1500.0), 5: (0.0, 1500.0)}
WAYS = [([2, 1, 3], "South bank road"), ([3, 4], "Bridge"), ([4, 5], "North bank road")]


def write_scenario(tmp: Path, stations: list[tuple[str, float, float, list[tuple[str, str]]]], roads: bool) -> LoadedScenario:  # fmt: skip
    lines = []
    if roads:
        osm = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
        for nid, (e, n) in NODES.items():
            lat, lon = FRAME.latlon(e, n)
            osm.append(f'<node id="{nid}" lat="{lat:.8f}" lon="{lon:.8f}"/>')
        for wid, (refs, name) in enumerate(WAYS, start=1):
            osm.append(f'<way id="{wid}">' + "".join(f'<nd ref="{r}"/>' for r in refs))
            osm.append(f'<tag k="highway" v="secondary"/><tag k="name" v="{name}"/></way>')
        (tmp / "roads.osm").write_text("\n".join(osm + ["</osm>"]), encoding="utf-8")
        lines.append('roads = "roads.osm"')
    lines += [
        "[night]", 'name = "test"', 'timezone = "Europe/Moscow"',
        'start = "2025-03-11T00:00:00+03:00"', 'end = "2025-03-11T04:00:00+03:00"',
        "[city]", 'name = "Testville"', f"lat = {LAT0}", f"lon = {LON0}",
        "[[zones]]", 'id = "centre"', 'name = "Centre"', 'kind = "city_centre"',
        f"circle = {{ lat = {LAT0}, lon = {LON0}, radius_m = 500.0 }}",
    ]  # fmt: skip
    for sid, e, n, crews in stations:
        lat, lon = FRAME.latlon(e, n)
        # a kind ending in "!" marks a crew off duty (available = false)
        crew_list = ", ".join(
            f'{{ id = "{c}", kind = "{k.rstrip("!")}", available = {str(not k.endswith("!")).lower()} }}'
            for c, k in crews
        )
        lines += ["[[stations]]", f'id = "{sid}"', f'name = "{sid}"', f"lat = {lat}", f"lon = {lon}",
                  f"crews = [{crew_list}]"]  # fmt: skip
    path = tmp / "night.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_scenario(path)


RIVER_STATIONS = [
    ("st-a", 0.0, 1500.0, [("fire-a", "fire")]),
    ("st-b", 3000.0, 0.0, [("fire-b", "fire")]),
]


def site(site_id: str, e: float = 0.0, n: float = 0.0, t: datetime = T0, zones: list[str] | None = None,
         districts: list[str] | None = None) -> DebrisPredicted:  # fmt: skip
    lat, lon = FRAME.latlon(e, n)
    return DebrisPredicted(
        t=t, site_id=site_id, incident_id="INC-" + site_id, kill_number=1, lat=lat, lon=lon,
        polygon95=[(lat, lon)] * 4, districts=districts or [], zones=zones or [], samples=1, fall_time_s=10.0,
    )  # fmt: skip


def report(
    crew: str, site_id: str, status: str, t: datetime = T0, eta: float | None = None
) -> CrewReported:
    return CrewReported(t=t, crew_id=crew, site_id=site_id, status=status, eta_s=eta)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- choice of crew


def test_nearest_by_road_beats_nearest_by_straight_line(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    stage = DispatchStage(sc)
    assert stage.method == "road"
    (d,) = stage.step(T0, [site("S1")])
    assert isinstance(d, CrewDispatched)
    assert d.crew_id == "fire-b" and d.method == "road"  # 3 km by road vs 13.5 km round the bridge
    assert d.distance_m == pytest.approx(3000.0, rel=1e-3)
    assert d.eta_s == pytest.approx(3000.0 / (50 / 3.6), rel=1e-3)  # secondary: 50 km/h
    assert d.route[0] == pytest.approx(FRAME.latlon(3000.0, 0.0), abs=1e-6)
    assert d.route[-1] == pytest.approx(FRAME.latlon(0.0, 0.0), abs=1e-6)


def test_without_roads_the_straight_line_estimate_is_used_and_labelled(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=False)
    stage = DispatchStage(sc, DispatchConfig(detour_factor=1.4, straight_speed_kmh=40.0))
    assert stage.method == "straight_line"
    (d,) = stage.step(T0, [site("S1")])
    assert isinstance(d, CrewDispatched)
    assert d.crew_id == "fire-a" and d.method == "straight_line"
    straight = distance_m(*d.route[0], *d.route[-1])
    assert len(d.route) == 2 and straight == pytest.approx(1500.0, rel=2e-3)
    assert d.distance_m == pytest.approx(1.4 * 1500.0, rel=2e-3)
    assert d.eta_s == pytest.approx(1.4 * 1500.0 / (40 / 3.6), rel=2e-3)


def test_a_broken_road_extract_is_a_scenario_error_naming_the_file(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    (tmp_path / "roads.osm").write_text("<osm version='0.6'><node id='1'", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"roads\.osm.*well-formed"):
        DispatchStage(sc)


def test_only_suitable_on_duty_crews_go(tmp_path: Path) -> None:
    stations = [
        ("st-a", 0.0, 1500.0, [("police-a", "police"), ("fire-a", "fire!")]),  # fire-a off duty
        ("st-b", 3000.0, 0.0, [("eod-b", "eod")]),
    ]
    sc = write_scenario(tmp_path, stations, roads=False)
    (d,) = DispatchStage(sc).step(T0, [site("S1")])
    assert isinstance(d, CrewDispatched) and d.crew_id == "eod-b" and d.crew_kind == "eod"


def test_equal_times_prefer_the_kind_listed_first(tmp_path: Path) -> None:
    stations = [("st-a", 0.0, 1500.0, [("rescue-a", "rescue"), ("fire-a", "fire")])]
    sc = write_scenario(tmp_path, stations, roads=False)
    (d,) = DispatchStage(sc).step(T0, [site("S1")])
    assert d.crew_id == "fire-a"
    (d,) = DispatchStage(sc, DispatchConfig(suitable_kinds=("rescue", "fire"))).step(
        T0, [site("S1")]
    )
    assert d.crew_id == "rescue-a"


# --------------------------------------------------------------------------- the queue


def close(stage: DispatchStage, crew: str, site_id: str, t: datetime) -> list:
    out = []
    for status in ("en_route", "on_site", "wreckage_recovered", "site_closed"):
        out += stage.step(t, [report(crew, site_id, status, t)])
    return out


def test_sites_queue_by_priority_and_the_freed_crew_takes_the_head(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, [("st-a", 0.0, 1500.0, [("fire-a", "fire")])], roads=True)
    stage = DispatchStage(sc)
    s = [T0 + timedelta(seconds=i) for i in range(6)]
    out = stage.step(s[0], [site("S0", t=s[0])])
    assert [type(e) for e in out] == [CrewDispatched]
    arrivals = [
        site("OPEN", 500.0, 0.0, t=s[1]),
        site("DIST", 600.0, 0.0, t=s[2], districts=["north"]),
        site("ZONE1", 700.0, 0.0, t=s[3], zones=["centre"], districts=["north"]),
        site("ZONE2", 800.0, 0.0, t=s[4], zones=["centre"]),
    ]
    queued = [stage.step(e.t, [e])[0] for e in arrivals]
    assert all(isinstance(q, CrashSiteQueued) for q in queued)
    assert [q.priority for q in queued] == [3, 2, 1, 1]
    assert queued[-1].queue == ["ZONE1", "ZONE2", "DIST", "OPEN"]
    assert "centre" in queued[2].reason and "open ground" in queued[0].reason
    assert stage.queue == ["ZONE1", "ZONE2", "DIST", "OPEN"]

    served = []
    current = "S0"
    for k in range(4):
        out = close(stage, "fire-a", current, s[5] + timedelta(hours=k))
        assert [type(e) for e in out] == [CrewStatusChanged] * 4 + [CrewDispatched]
        # the freed crew starts from the site it closed, not from its station
        assert out[-1].route[0] == pytest.approx(FRAME.latlon(*stage.sites[current].xy), abs=1e-6)
        current = out[-1].site_id
        served.append(current)
    assert served == ["ZONE1", "ZONE2", "DIST", "OPEN"]
    assert stage.queue == []
    out = close(stage, "fire-a", current, s[5] + timedelta(hours=5))
    assert [type(e) for e in out] == [CrewStatusChanged] * 4  # nothing waits: the crew goes home
    assert stage.board.crews["fire-a"].status == "available"
    assert stage.board.crews["fire-a"].position == stage.board.crews["fire-a"].home


def test_a_retracted_kill_leaves_the_queue(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, [("st-a", 0.0, 1500.0, [("fire-a", "fire")])], roads=False)
    stage = DispatchStage(sc)
    stage.step(T0, [site("SITE-R0"), site("SITE-R1"), site("SITE-R2")])
    assert stage.queue == ["SITE-R1", "SITE-R2"]
    (q,) = stage.step(T0, [KillRetracted(t=T0, report_id="R1", number=2, reason="duplicate")])
    assert isinstance(q, CrashSiteQueued) and q.site_id == "SITE-R1" and q.queue == ["SITE-R2"]
    assert "retracted" in q.reason
    assert stage.step(T0, [site("SITE-R1")]) == []  # a late prediction for it is ignored


def test_dispatch_is_deterministic(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    events = [site(f"S{i}", 100.0 * i, 0.0) for i in range(4)]
    a = [encode(e) for e in DispatchStage(sc).step(T0, events)]
    b = [encode(e) for e in DispatchStage(sc).step(T0, events)]
    assert a == b


# --------------------------------------------------------------------------- the lifecycle

STATUSES = ["available", "dispatched", "en_route", "on_site", "wreckage_recovered", "site_closed"]
LEGAL = {
    ("available", "dispatched"),
    ("dispatched", "en_route"),
    ("en_route", "en_route"),
    ("en_route", "on_site"),
    ("on_site", "wreckage_recovered"),
    ("on_site", "site_closed"),
    ("wreckage_recovered", "site_closed"),
    ("site_closed", "available"),
    # an officer's recall (CrewRecalled): the crew is free again, back at its station
    ("dispatched", "available"),
    ("en_route", "available"),
    ("on_site", "available"),
    ("wreckage_recovered", "available"),
}


@pytest.mark.parametrize("current,wanted", list(itertools.product(STATUSES, STATUSES)))
def test_every_transition_is_legal_or_raises(current: str, wanted: str) -> None:
    if (current, wanted) in LEGAL:
        check_transition(current, wanted)
    else:
        with pytest.raises(TransitionError) as err:
            check_transition(current, wanted, "crew fire-1")
        assert err.value.current == current and err.value.wanted == wanted
    assert set(CREW_TRANSITIONS) == set(STATUSES)


def test_accepted_reports_become_status_changes_with_the_eta(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    stage = DispatchStage(sc)
    (d,) = stage.step(T0, [site("S1")])
    t1 = T0 + timedelta(seconds=30)
    (c,) = stage.step(t1, [report(d.crew_id, "S1", "en_route", t1)])
    assert isinstance(c, CrewStatusChanged) and c.status == "en_route" and c.incident_id == "INC-S1"
    assert c.eta_s == pytest.approx(
        d.eta_s - 30.0
    )  # no ETA in the report: the estimate, counted down
    (c,) = stage.step(t1, [report(d.crew_id, "S1", "en_route", t1, eta=99.0)])
    assert c.eta_s == 99.0


@pytest.mark.parametrize(
    "reports,why",
    [
        (["on_site"], "'dispatched' to 'on_site'"),
        (["dispatched"], "cannot report"),
        (["en_route", "wreckage_recovered"], "'en_route' to 'wreckage_recovered'"),
        (["en_route", "on_site", "site_closed", "en_route"], "no site"),
    ],
)
def test_illegal_reports_are_refused_not_raised(
    tmp_path: Path, reports: list[str], why: str
) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=False)
    stage = DispatchStage(sc)
    (d,) = stage.step(T0, [site("S1")])
    out = stage.step(T0, [report(d.crew_id, "S1", s) for s in reports])
    *accepted, last = out
    assert all(isinstance(e, CrewStatusChanged) for e in accepted)
    assert isinstance(last, InputRefused)
    assert last.stage == "dispatch" and last.input_kind == "crew_reported" and last.ref == d.crew_id
    assert why in last.reason


def test_unknown_crews_and_wrong_sites_are_refused(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=False)
    stage = DispatchStage(sc)
    (d,) = stage.step(T0, [site("S1")])
    a, b = stage.step(
        T0, [report("ghost-9", "S1", "en_route"), report(d.crew_id, "S2", "en_route")]
    )
    assert isinstance(a, InputRefused) and "unknown crew" in a.reason
    assert isinstance(b, InputRefused) and "S1" in b.reason


def test_the_shipped_night_routes_by_road(scenario: LoadedScenario) -> None:
    stage = DispatchStage(scenario)
    assert stage.method == "road"
    lat, lon = 55.70, 37.50
    d = stage.step(T0, [DebrisPredicted(t=T0, site_id="SITE-X", incident_id="INC-X", kill_number=1, lat=lat,
                                        lon=lon, polygon95=[(lat, lon)] * 4, districts=["south_west"], zones=[],
                                        samples=1, fall_time_s=1.0)])[0]  # fmt: skip
    assert isinstance(d, CrewDispatched) and d.method == "road" and len(d.route) > 3
    assert d.distance_m > distance_m(*d.route[0], lat, lon)


# --------------------------------------------------------------------------- officers' overrides and recalls


def recall(crew: str, t: datetime = T0, reason: str = "") -> CrewRecalled:
    return CrewRecalled(t=t, crew_id=crew, user="disp-1", role="dispatcher", reason=reason)


def override(crew: str, site_id: str, t: datetime = T0) -> CrewOverride:
    return CrewOverride(t=t, crew_id=crew, site_id=site_id, user="disp-1", role="dispatcher")


def test_a_recalled_crew_is_free_and_its_site_gets_the_next_nearest(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    stage = DispatchStage(sc)
    (d,) = stage.step(T0, [site("S1")])
    assert d.crew_id == "fire-b"
    out = stage.step(T0, [recall("fire-b", reason="needed elsewhere")])
    assert [type(e) for e in out] == [CrewStatusChanged, CrewDispatched]
    assert out[0].status == "recalled" and out[0].crew_id == "fire-b" and out[0].site_id == "S1"
    assert out[1].crew_id == "fire-a" and out[1].site_id == "S1"  # the other crew, not the recalled one
    assert stage.board.crews["fire-b"].status == "available"
    # the recalled crew's late reports about its old site are refused, not applied
    (r,) = stage.step(T0, [report("fire-b", "S1", "on_site")])
    assert isinstance(r, InputRefused) and "no site" in r.reason


def test_recalling_the_only_crew_queues_its_site_and_a_withdrawn_kill_needs_no_crew(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, [("st-a", 0.0, 1500.0, [("fire-a", "fire")])], roads=False)
    stage = DispatchStage(sc)
    stage.step(T0, [site("SITE-R0")])
    out = stage.step(T0, [recall("fire-a")])
    # nobody else is free: the site waits, and the freed crew at once takes the head of the queue
    assert [type(e) for e in out] == [CrewStatusChanged, CrashSiteQueued, CrewDispatched]
    assert out[2].crew_id == "fire-a" and out[2].site_id == "SITE-R0"
    stage.step(T0, [KillRetracted(t=T0, report_id="R0", number=1, reason="decoy")])
    out = stage.step(T0, [recall("fire-a")])
    assert [type(e) for e in out] == [CrewStatusChanged]  # withdrawn: nothing to cover
    assert stage.sites["SITE-R0"].state == "withdrawn"


def test_an_override_sends_the_named_crew_and_recalls_the_one_there(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    stage = DispatchStage(sc)
    (d,) = stage.step(T0, [site("S1")])
    assert d.crew_id == "fire-b"
    out = stage.step(T0, [override("fire-a", "S1")])
    assert [type(e) for e in out] == [CrewStatusChanged, CrewDispatched]
    assert (out[0].crew_id, out[0].status) == ("fire-b", "recalled")
    assert (out[1].crew_id, out[1].site_id) == ("fire-a", "S1")
    assert stage.sites["S1"].crew_id == "fire-a"


@pytest.mark.parametrize(
    "inputs,reason",
    [
        ([override("nobody", "S1")], "unknown crew"),
        ([override("fire-a", "NOWHERE")], "unknown crash site"),
        ([override("fire-b", "S1")], "recall it first"),  # fire-b is busy at S1 already
        ([recall("fire-a")], "at no site"),
        ([recall("ghost")], "unknown crew"),
    ],
)
def test_officers_inputs_that_cannot_apply_are_refused(tmp_path: Path, inputs: list, reason: str) -> None:
    sc = write_scenario(tmp_path, RIVER_STATIONS, roads=True)
    stage = DispatchStage(sc)
    stage.step(T0, [site("S1")])
    (r,) = stage.step(T0, inputs)
    assert isinstance(r, InputRefused) and reason in r.reason
    assert r.input_kind in ("crew_override", "crew_recalled")
