"""The alert stage: a synthetic drone crossing two districts raises, updates and cancels CAP alerts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from skywarden.disclosure import cap
from skywarden.disclosure.alerts import (
    TRANSITIONS,
    AlertConfig,
    AlertStage,
    DistrictAlert,
    minutes_phrase,
)
from skywarden.errors import ConfigError, TransitionError
from skywarden.events import AlertIssued, Event, ThreatCleared, ThreatRaised, Tick, TrackPicture
from skywarden.scenario import LoadedScenario, load_scenario
from skywarden.stage import Stage

# Two square districts on one parallel; a drone flies east along it, through "west_end" and on
# towards "east_end". 1 degree of longitude at 55.72 N is ~62.8 km.
CITY = """
zones = []

[night]
name = "Test night"
timezone = "Europe/Moscow"
start = "2025-03-11T00:00:00+03:00"
end = "2025-03-11T02:00:00+03:00"

[city]
name = "Moscow"
name_ru = "Москва"
lat = 55.75
lon = 37.62

[[districts]]
id = "west_end"
name = "West End district"
name_ru = "Западный район"
polygon = [[55.70, 37.55], [55.74, 37.55], [55.74, 37.60], [55.70, 37.60], [55.70, 37.55]]

[[districts]]
id = "east_end"
name = "East End district"
name_ru = "Восточный район"
polygon = [[55.70, 37.80], [55.74, 37.80], [55.74, 37.85], [55.70, 37.85], [55.70, 37.80]]
"""

CONFIG = AlertConfig(horizon_s=300.0, margin_m=500.0, sigma_k=2.0, hold_s=120.0, immediate_s=120.0)
LAT, LON0, SPEED = 55.72, 37.40, 50.0  # the drone: on 55.72 N from 37.40 E, east at 50 m/s
M_PER_DEG_LON = 62_800.0


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> LoadedScenario:
    path: Path = tmp_path_factory.mktemp("city") / "city.toml"
    path.write_text(CITY, encoding="utf-8")
    return load_scenario(path)


@dataclass(frozen=True)
class Flight:
    cls: str = "drone"
    threat_from_s: int = 0  # ThreatRaised at this time
    clear_at_s: int | None = None  # ThreatCleared at this time
    again_at_s: int | None = None  # ThreatRaised again
    speed: float = SPEED
    until_s: int = 700


def inputs(city: LoadedScenario, f: Flight, k: int) -> list[Event]:
    """What the stage sees at second ``k`` of the flight (one picture per 5 s tick)."""
    now = city.start + timedelta(minutes=10, seconds=k)
    evs: list[Event] = [Tick(t=now)]
    lon = LON0 + f.speed * k / M_PER_DEG_LON
    evs.append(
        TrackPicture(
            t=now, track_id=["T7"], lat=[LAT], lon=[lon], alt=[150.0], ve=[f.speed], vn=[0.0], vu=[0.0],
            sigma_m=[50.0], cls=[f.cls], p_cls=[0.9],
        )
    )  # fmt: skip
    threat = {
        "incident_id": "INC-T7",
        "track_id": "T7",
        "zone_id": "z",
        "p_entry": 0.7,
        "cpa_m": 0.0,
    }
    if k in (f.threat_from_s, f.again_at_s):
        evs.append(
            ThreatRaised(t=now, level="high", time_to_zone_s=600.0, reasons=["heading"], **threat)
        )  # type: ignore[arg-type]
    if k == f.clear_at_s:
        evs.append(ThreatCleared(t=now, incident_id="INC-T7", track_id="T7", reason="destroyed"))
    return evs


def fly(
    city: LoadedScenario, f: Flight, stage: AlertStage | None = None
) -> list[tuple[int, AlertIssued]]:
    stage = stage or AlertStage(city, CONFIG)
    out: list[tuple[int, AlertIssued]] = []
    for k in range(0, f.until_s, 5):
        evs = inputs(city, f, k)
        for ev in stage.step(evs[0].t, evs):
            assert isinstance(ev, AlertIssued)
            out.append((k, ev))
    return out


def of(out: list[tuple[int, AlertIssued]], district: str) -> list[tuple[int, AlertIssued]]:
    return [(k, a) for k, a in out if a.district == district]


def test_alert_stage_is_a_stage(city: LoadedScenario) -> None:
    stage = AlertStage(city)
    assert isinstance(stage, Stage) and stage.name == "alerts"


def test_a_drone_crossing_raises_updates_and_cancels(city: LoadedScenario) -> None:
    out = fly(city, Flight(clear_at_s=300))
    west, east = of(out, "west_end"), of(out, "east_end")
    assert [a.msg_type for _, a in west] == ["Alert", "Update", "Cancel"]
    assert [a.msg_type for _, a in east] == ["Alert", "Cancel"]
    # west_end is 9.4 km ahead at the start: inside the 15 km horizon at once, not yet Immediate
    (k_alert, alert), (k_update, update), (k_cancel, cancel) = west
    assert k_alert == 0
    docs = [cap.parse(a.cap_xml) for _, a in west]
    assert docs[0].infos[0].urgency == "Expected" and docs[1].infos[0].urgency == "Immediate"
    # escalation is published at once: the widened path reaches the district within 120 s
    gap_m = (37.55 - LON0) * M_PER_DEG_LON - (CONFIG.margin_m + 2 * 50.0)
    assert abs(k_update - (gap_m - SPEED * CONFIG.immediate_s) / SPEED) <= 10
    # the drone leaves west_end at ~37.60 E (t ~ 250 s, + its 600 m margin); cancelled hold_s later
    leave_s = ((37.60 - LON0) * M_PER_DEG_LON + 600.0) / SPEED
    assert leave_s + CONFIG.hold_s <= k_cancel <= leave_s + CONFIG.hold_s + 10
    # east_end enters the 15 km horizon at ~190 s; the threat is cleared at 300 s
    assert abs(east[0][0] - ((37.80 - LON0) * M_PER_DEG_LON - 15_600.0) / SPEED) <= 10
    assert east[1][0] == 300 + CONFIG.hold_s
    # references: each message names every earlier one of its chain, "sender,identifier,sent"
    assert update.references == [str(docs[0].reference)]
    assert cancel.references == [str(docs[0].reference), str(docs[1].reference)]
    assert docs[2].references == (docs[0].reference, docs[1].reference)
    for _, a in out:
        cap.validate(a.cap_xml)


def test_every_document_speaks_of_the_district_polygon_only(city: LoadedScenario) -> None:
    out = fly(city, Flight(clear_at_s=400))
    polygons = {d.id: tuple(tuple(p) for p in d.polygon) for d in city.spec.districts}
    for _, a in out:
        doc = cap.parse(a.cap_xml)
        assert [i.language for i in doc.infos] == ["en-GB", "ru-RU"]
        for info in doc.infos:
            (area,) = info.areas
            assert area.polygons == (polygons[a.district],)
        text = " ".join(etree.fromstring(a.cap_xml.encode()).itertext())
        # nothing of the track: neither its id nor a position finer than the district corners
        assert "T7" not in text
        numbers = set(re.findall(r"\d+\.\d+", text))
        corners = {f"{v:.5f}" for ring in polygons.values() for p in ring for v in p}
        assert numbers <= corners


def test_identifiers_are_deterministic_and_times_follow_the_policy(city: LoadedScenario) -> None:
    out = fly(city, Flight(clear_at_s=400))
    ids = [a.alert_id for _, a in out]
    # a neutral counter and the night's date: no district or city name in any identifier
    assert ids == [f"skywarden-20250311-{n:05d}" for n in range(1, len(ids) + 1)]
    assert [a.alert_id for _, a in fly(city, Flight(clear_at_s=400))] == ids  # deterministic
    assert len(of(out, "west_end")) == 3
    stage = AlertStage(city, CONFIG)
    step = stage.policy.rules.time.round_min
    for _, a in out:
        doc = cap.parse(a.cap_xml)
        assert (
            doc.sender == "skywarden@moscow" and doc.status == "Exercise" and doc.scope == "Public"
        )
        for t in [doc.sent] + [i.expires for i in doc.infos if i.expires]:
            assert t.second == 0 and t.minute % step == 0
            assert t.utcoffset() == timedelta(hours=3)  # published in the city's local time


def test_hold_time_keeps_a_brief_lull_from_flapping(city: LoadedScenario) -> None:
    # the threat is cleared at 60 s and raised again 60 s later (< hold_s): one alert, no cancel
    out = of(fly(city, Flight(clear_at_s=60, again_at_s=120, until_s=240)), "west_end")
    assert [a.msg_type for _, a in out][:1] == ["Alert"]
    assert "Cancel" not in [a.msg_type for _, a in out]
    # cleared for longer than hold_s: the all-clear comes, then a fresh chain starts
    out = of(fly(city, Flight(clear_at_s=20, again_at_s=200, until_s=240)), "west_end")
    kinds = [(k, a.msg_type) for k, a in out]
    assert (
        kinds[0] == (0, "Alert")
        and (20 + CONFIG.hold_s, "Cancel") in kinds
        and kinds[-1] == (200, "Alert")
    )
    assert out[-1][1].references == []


def test_birds_slow_tracks_and_tracks_without_threat_raise_nothing(city: LoadedScenario) -> None:
    assert fly(city, Flight(cls="bird")) == []
    assert fly(city, Flight(threat_from_s=-1)) == []  # a drone no one assessed as a threat
    # a drone too slow to reach west_end within the horizon: 9.4 km at 5 m/s is ~31 minutes
    assert fly(city, Flight(speed=5.0, until_s=120)) == []
    stage = AlertStage(city, AlertConfig(min_level="critical"))
    assert fly(city, Flight(), stage) == []  # below the configured level


def test_replay_reproduces_the_same_alerts(city: LoadedScenario) -> None:
    a = fly(city, Flight(clear_at_s=400))
    b = fly(city, Flight(clear_at_s=400))
    assert a and a == b


def test_lifecycle_transitions() -> None:
    states = ("clear", "active", "holding")
    actions = ("raise", "update", "quiet", "resume", "cancel")
    for s in states:
        for act in actions:
            d = DistrictAlert(state=s)  # type: ignore[arg-type]
            if (s, act) in TRANSITIONS:
                d.go(act)  # type: ignore[arg-type]
                assert d.state == TRANSITIONS[(s, act)]  # type: ignore[index]
            else:
                with pytest.raises(TransitionError):
                    d.go(act)  # type: ignore[arg-type]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError):
        AlertConfig(horizon_s=0)
    with pytest.raises(ConfigError):
        AlertConfig(languages=("fr-FR",))
    with pytest.raises(ConfigError):
        AlertConfig(status="Live")  # type: ignore[arg-type]


def test_russian_minutes_agree_with_the_number() -> None:
    assert [minutes_phrase("ru-RU", n) for n in (1, 2, 5, 11, 21, 22)] == [
        "1 минуту", "2 минуты", "5 минут", "11 минут", "21 минуту", "22 минуты",
    ]  # fmt: skip
    assert minutes_phrase("en-GB", 10) == "10"


def test_the_shipped_night_gives_valid_alerts_for_its_districts() -> None:
    sc = load_scenario()
    stage = AlertStage(sc)
    now: datetime = sc.start + timedelta(minutes=5)
    district = sc.spec.districts[0]
    lat = sum(p[0] for p in district.polygon) / len(district.polygon)
    lon = sum(p[1] for p in district.polygon) / len(district.polygon)
    pic = TrackPicture(
        t=now, track_id=["T1"], lat=[lat], lon=[lon], alt=[100.0], ve=[0.0], vn=[30.0], vu=[0.0],
        sigma_m=[30.0], cls=["unknown"], p_cls=[0.5],
    )  # fmt: skip
    threat = ThreatRaised(
        t=now, incident_id="INC-T1", track_id="T1", level="critical", zone_id="x",
        time_to_zone_s=60.0, p_entry=0.9, cpa_m=0.0, reasons=[],
    )  # fmt: skip
    out = stage.step(now, [Tick(t=now), pic, threat])
    assert out and all(isinstance(a, AlertIssued) for a in out)
    first = next(a for a in out if isinstance(a, AlertIssued) and a.district == district.id)
    doc = cap.parse(first.cap_xml)
    assert doc.infos[0].severity == "Extreme" and doc.infos[0].certainty == "Observed"
    assert doc.infos[0].urgency == "Immediate"
    for a in out:
        assert isinstance(a, AlertIssued)
        cap.validate(etree.fromstring(a.cap_xml.encode()))


def hover(
    city: LoadedScenario, stage: AlertStage, seconds: int, lat: float = 55.72, lon: float = 37.575
) -> list[tuple[int, AlertIssued]]:
    """A drone hovering over west_end with an open threat, one picture a minute."""
    out: list[tuple[int, AlertIssued]] = []
    for k in range(0, seconds, 60):
        now = city.start + timedelta(seconds=k)
        pic = TrackPicture(
            t=now, track_id=["H1"], lat=[lat], lon=[lon], alt=[100.0], ve=[0.0], vn=[0.0], vu=[0.0],
            sigma_m=[20.0], cls=["drone"], p_cls=[0.9],
        )  # fmt: skip
        evs: list[Event] = [Tick(t=now), pic]
        if k == 0:
            evs.append(
                ThreatRaised(
                    t=now, incident_id="INC-H1", track_id="H1", level="medium", zone_id="z",
                    time_to_zone_s=None, p_entry=0.2, cpa_m=900.0, reasons=[],
                )
            )  # fmt: skip
        out += [(k, a) for a in stage.step(now, evs) if isinstance(a, AlertIssued)]
    return out


def test_a_long_danger_is_reissued_before_its_alert_expires(city: LoadedScenario) -> None:
    cfg = AlertConfig(expires_s=3600.0, refresh_s=600.0)
    out = of(hover(city, AlertStage(city, cfg), 2 * 3600), "west_end")
    assert [(k, a.msg_type) for k, a in out] == [(0, "Alert"), (3000, "Update"), (6000, "Update")]
    docs = [cap.parse(a.cap_xml) for _, a in out]
    for before, after in zip(docs, docs[1:], strict=False):
        assert after.infos[0].expires > before.infos[0].expires  # never a gap in coverage
        assert before.reference in after.references


def test_a_track_with_a_non_finite_state_is_skipped_not_a_crash(city: LoadedScenario) -> None:
    assert hover(city, AlertStage(city, CONFIG), 300, lat=float("nan")) == []
    assert len(hover(city, AlertStage(city, CONFIG), 300)) == 1


@pytest.mark.parametrize("round_min", [60, 30, 5])
def test_no_alert_lapses_with_any_rounding_over_a_whole_night(city: LoadedScenario, round_min: int) -> None:
    """A drone hovering over one district for 100 minutes, the policy rounding times to
    ``round_min``: every message expires at least the policy's minimum after it is issued, on
    the grid, and at no tick does a district sit with an expired alert and no Cancel."""
    import msgspec

    from skywarden.disclosure.policy import DisclosurePolicy, PolicyRules, load_rules

    raw = msgspec.to_builtins(load_rules())
    raw["time"]["round_min"] = round_min
    rules = msgspec.convert(raw, PolicyRules)
    stage = AlertStage(city, AlertConfig(horizon_s=300.0, margin_m=500.0, hold_s=120.0),
                       policy=DisclosurePolicy(rules, city))  # fmt: skip
    lat, lon = 55.72, 37.575  # inside west_end
    last: dict[str, tuple[str, datetime]] = {}  # district -> (msg type, expires)
    issued: list[AlertIssued] = []
    now = city.start
    while now < city.end:
        k = (now - city.start).total_seconds()
        evs: list[Event] = [Tick(t=now)]
        evs.append(TrackPicture(t=now, track_id=["T1"], lat=[lat], lon=[lon], alt=[100.0], ve=[0.0], vn=[0.0],
                                vu=[0.0], sigma_m=[30.0], cls=["drone"], p_cls=[0.9]))  # fmt: skip
        if k == 60:
            evs.append(ThreatRaised(t=now, incident_id="I", track_id="T1", level="high", zone_id="z",
                                    time_to_zone_s=None, p_entry=0.9, cpa_m=0.0, reasons=[]))  # fmt: skip
        if k == 6060:
            evs.append(ThreatCleared(t=now, incident_id="I", track_id="T1", reason="destroyed"))
        for a in stage.step(now, evs):
            if isinstance(a, AlertIssued):
                doc = cap.parse(a.cap_xml)
                (expires,) = {i.expires for i in doc.infos}
                assert expires is not None
                assert (expires - a.t).total_seconds() >= rules.time.alert_min_valid_s
                assert stage.policy.coarsen_time(expires) == expires  # on the grid
                last[a.district] = (a.msg_type, expires)
                issued.append(a)
        for district, (msg_type, expires) in last.items():
            assert msg_type == "Cancel" or expires > now, (district, now, expires)
        now += timedelta(seconds=5)
    assert any(a.msg_type == "Update" for a in issued)  # renewed before lapsing
    assert all(m == "Cancel" for m, _ in last.values())
