"""The incident projection and the ``incident`` command on a small synthetic log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    CrashSiteQueued,
    CrewDispatched,
    CrewStatusChanged,
    DebrisPredicted,
    KillDuplicate,
    KillNumbered,
    KillReported,
    KillRetracted,
    KillWithdrawn,
    NightOpened,
    StatementDrafted,
    StatementPublished,
    ThreatCleared,
    ThreatRaised,
    ThreatUpdated,
    Tick,
    TrackClassified,
    TrackConfirmed,
    TrackDropped,
    TrackPicture,
)
from skywarden.log import open_log
from skywarden.response.cli import incident_app
from skywarden.response.incidents import build_incidents, find_incident


def pic(t, rows):
    """rows: [(track_id, lat, lon, cls)]"""
    return TrackPicture(
        t=t,
        track_id=[r[0] for r in rows],
        lat=[r[1] for r in rows],
        lon=[r[2] for r in rows],
        alt=[500.0] * len(rows),
        ve=[0.0] * len(rows),
        vn=[40.0] * len(rows),
        vu=[0.0] * len(rows),
        sigma_m=[50.0] * len(rows),
        cls=[r[3] for r in rows],
        p_cls=[0.9] * len(rows),
    )


def threat(kind, t, tid, level, zone="centre"):
    return kind(
        t=t, incident_id="INC-" + tid, track_id=tid, level=level, zone_id=zone,
        time_to_zone_s=240.0, p_entry=0.8, cpa_m=0.0,
        reasons=["heading toward City centre", "4 min to the zone", "p=0.80"],
    )  # fmt: skip


def kill(t, rid, number, tid, day=None, local="03:10"):
    return KillNumbered(
        t=t, report_id=rid, number=number, day_number=day or number, local_time=local,
        incident_id="INC-" + (tid or rid), track_id=tid,
        matched_by="nearest_track" if tid else "unmatched",
        lat=55.70, lon=37.60, alt=0.0, near="centre", toward="government" if tid else "",
    )  # fmt: skip


@pytest.fixture()
def night(scenario):
    """A small night: drone T7 (threat, airport, kill #31, duplicate report, debris, crew,
    statement), a bird, drone T8 killed and retracted, and an unmatched kill #33."""
    t0 = scenario.at("02:58")

    def at(s):
        return t0 + timedelta(seconds=s)

    return [
        NightOpened(t=t0, scenario="test", seed=1, tick_s=1.0, timezone="Europe/Moscow"),
        Tick(t=at(0)),
        TrackConfirmed(t=at(1), track_id="T7", lat=55.60, lon=37.50, alt=600.0, sensors=["radar-north"]),
        TrackConfirmed(t=at(1), track_id="B1", lat=55.70, lon=37.68, alt=150.0, sensors=["radar-east"]),
        pic(at(1), [("T7", 55.60, 37.50, "unknown"), ("B1", 55.70, 37.68, "bird")]),
        TrackClassified(t=at(5), track_id="T7", cls="drone", p=0.93),
        TrackClassified(t=at(5), track_id="B1", cls="bird", p=0.97),
        threat(ThreatRaised, at(6), "T7", "high"),
        AirportRestricted(t=at(6), airport_id="VKO", reason="drone track T7 predicted within 30 km in 4 min", track_ids=["T7"]),
        TrackConfirmed(t=at(8), track_id="T8", lat=55.62, lon=37.52, alt=600.0),
        pic(at(8), [("T7", 55.62, 37.52, "drone"), ("T8", 55.62, 37.52, "drone")]),
        threat(ThreatUpdated, at(60), "T7", "critical"),
        threat(ThreatRaised, at(70), "T8", "medium", zone="power_plant"),
        KillReported(t=at(720), report_id="R31", lat=55.70, lon=37.60, unit="secret-unit", effector="secret-effector"),
        kill(at(720), "R31", 31, "T7"),
        KillReported(t=at(740), report_id="R31b", lat=55.701, lon=37.601),
        KillDuplicate(t=at(740), report_id="R31b", duplicate_of="R31"),
        ThreatCleared(t=at(721), incident_id="INC-T7", track_id="T7", reason="killed: kill #31 at 03:10"),
        DebrisPredicted(
            t=at(722), site_id="S31", incident_id="INC-T7", kill_number=31, lat=55.699, lon=37.602,
            polygon95=[(55.69, 37.59), (55.69, 37.61), (55.71, 37.61), (55.71, 37.59), (55.69, 37.59)],
            districts=["central"], zones=["centre"], samples=2000, fall_time_s=24.0,
        ),
        CrashSiteQueued(t=at(722), site_id="S31", incident_id="INC-T7", priority=1, reason="in the city centre", queue=["S31"]),
        CrewDispatched(
            t=at(723), crew_id="fire-1", site_id="S31", incident_id="INC-T7", crew_kind="fire", eta_s=480.0,
            distance_m=5200.0, method="road", route=[(55.76, 37.63), (55.70, 37.60)],
        ),
        CrewStatusChanged(t=at(800), crew_id="fire-1", site_id="S31", incident_id="INC-T7", status="en_route", eta_s=400.0),
        CrewStatusChanged(t=at(1300), crew_id="fire-1", site_id="S31", incident_id="INC-T7", status="on_site"),
        CrewStatusChanged(t=at(2500), crew_id="fire-1", site_id="S31", incident_id="INC-T7", status="wreckage_recovered"),
        KillReported(t=at(760), report_id="R32", lat=55.62, lon=37.75, track_ref="T8"),
        kill(at(760), "R32", 32, "T8", local="03:10"),
        KillWithdrawn(t=at(900), report_id="R32", reason="not confirmed"),
        KillRetracted(t=at(900), report_id="R32", number=32, reason="not confirmed"),
        TrackDropped(t=at(950), track_id="T8", reason="no plots for 30 s"),
        KillReported(t=at(1000), report_id="R33", lat=55.90, lon=37.60),
        kill(at(1000), "R33", 33, None, local="03:14"),
        StatementDrafted(t=at(1100), statement_id="ST1", topic="kills", text_en="x", text_ru="x", approvals_needed=1, about=["R31", "R33"]),
        StatementPublished(t=at(1200), statement_id="ST1", text_en="x", text_ru="x", approved_by=["duty-1"], delay_s=480.0),
        AirportLifted(t=at(1800), airport_id="VKO", restricted_since=at(6), duration_s=1794.0),
    ]


def test_incidents_are_the_drones_in_first_time_order(night):
    incs = build_incidents(night)
    assert [i.incident_id for i in incs] == ["INC-T7", "INC-T8", "INC-R33"]  # no incident for the bird
    t7 = incs[0]
    assert t7.track_id == "T7" and t7.cls == "drone"
    assert t7.kill_number == 31 and t7.kill_time == "03:10" and not t7.retracted
    assert t7.zones == ["centre"] and t7.max_level == "critical"
    assert t7.airports == ["VKO"] and t7.sites == ["S31"] and t7.crews == ["fire-1"]
    assert t7.report_ids == ["R31", "R31b"] and t7.statements == ["ST1"]
    assert t7.status == "wreckage recovered"
    texts = [e.text for e in t7.timeline]
    assert texts[0].startswith("track T7 confirmed")
    times = [e.t for e in t7.timeline]
    assert times == sorted(times)
    assert not any(x.startswith("first in the picture") for x in texts)  # confirmed says it already
    joined = "\n".join(texts)
    for needle in [
        "track T7 confirmed by radar-north",
        "classified drone (p=0.93)",
        "threat raised, high: heading toward City centre, 4 min to the zone, p=0.80",
        "threat updated, critical",
        "airport VKO restricted: drone track T7",
        "kill reported by the air-defence command (report R31)",
        "kill #31 (#31 of the day) at 03:10, near centre, heading for government",
        "report R31b is a duplicate of R31: not numbered",
        "threat cleared: killed: kill #31 at 03:10",
        "debris footprint (site S31)",
        "over central; zones centre; fall 24 s",
        "crew fire-1 (fire) dispatched to site S31: 5.2 km by road, ETA 8 min",
        "crew fire-1 en route, ETA 7 min",
        "crew fire-1 on site",
        "crew fire-1 reports the wreckage recovered",
        "public statement ST1 published",
        "airport VKO lifted after 30 min",
    ]:
        assert needle in joined, needle
    # classified details of the command never reach the timeline
    assert "secret" not in joined


def test_retracted_and_unmatched_kills(night):
    incs = build_incidents(night)
    t8 = find_incident(incs, "kill:32")
    assert t8 is not None and t8.incident_id == "INC-T8" and t8.retracted
    assert t8.status == "kill retracted"
    assert "kill #32 retracted: not confirmed (the number is not reused)" in [e.text for e in t8.timeline]
    r33 = find_incident(incs, "kill:33")
    assert r33 is not None and r33.track_id is None and r33.incident_id == "INC-R33"
    assert r33.statements == ["ST1"]


def test_find_incident_by_number_id_track_and_report(night):
    incs = build_incidents(night)
    assert find_incident(incs, "1") is incs[0]
    assert find_incident(incs, "3") is incs[2]
    assert find_incident(incs, "4") is None and find_incident(incs, "0") is None
    assert find_incident(incs, "INC-T8") is incs[1]
    assert find_incident(incs, "T8") is incs[1]
    assert find_incident(incs, "R31b") is incs[0]
    assert find_incident(incs, "kill:31") is incs[0]
    assert find_incident(incs, "kill:99") is None and find_incident(incs, "kill:x") is None


def test_projection_is_deterministic(night):
    a = build_incidents(night)
    b = build_incidents(list(night))
    assert [(i.incident_id, i.timeline) for i in a] == [(i.incident_id, i.timeline) for i in b]


@pytest.fixture()
def log_path(tmp_path, night):
    path = tmp_path / "night.db"
    log = open_log(path)
    log.append(night)
    log.close()
    return path


def test_cli_list(log_path):
    res = CliRunner().invoke(incident_app, ["list", "--log", str(log_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "Incidents (3), times Europe/Moscow" in res.output
    row1 = next(x for x in lines if "INC-T7" in x)
    assert "#31" in row1 and "03:10" in row1 and "VKO" in row1 and "critical -> centre" in row1
    row2 = next(x for x in lines if "INC-T8" in x)
    assert "#32 (retracted)" in row2
    assert "B1" not in res.output


def test_cli_show_by_kill_number(log_path):
    res = CliRunner().invoke(incident_app, ["show", "kill:31", "--log", str(log_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "INC-T7" in res.output and "kill #31 at 03:10" in res.output
    assert "time (Europe/Moscow)" in res.output
    assert "03:10:00" in res.output  # the kill line, in local time
    assert "wreckage recovered" in res.output


def test_cli_show_unknown_and_missing_log(log_path, tmp_path):
    res = CliRunner().invoke(incident_app, ["show", "kill:77", "--log", str(log_path)])
    assert res.exit_code != 0 and "no incident" in res.output
    res = CliRunner().invoke(incident_app, ["list", "--log", str(tmp_path / "absent.db")])
    assert res.exit_code != 0 and "no event log" in res.output


def test_a_drone_with_a_retracted_number_and_a_real_kill(night):
    """A decoy hit is reported (#32), the drone flies on and is really killed (#34); then #32 is
    withdrawn. The incident keeps both numbers; the live one is #34."""
    t = night[-1].t
    events = [*night, kill(t + timedelta(seconds=5), "R34", 34, "T8", local="03:30")]
    incs = build_incidents(events)
    t8 = find_incident(incs, "kill:32")
    assert t8 is find_incident(incs, "kill:34") and t8.incident_id == "INC-T8"
    assert [(k.number, k.retracted) for k in t8.kills] == [(32, True), (34, False)]
    assert t8.kill_number == 34 and t8.kill_time == "03:30" and not t8.retracted
    assert t8.status == "killed"


def test_cli_list_shows_every_number_of_an_incident(tmp_path, night):
    t = night[-1].t
    path = tmp_path / "n.db"
    log = open_log(path)
    log.append([*night, kill(t + timedelta(seconds=5), "R34", 34, "T8", local="03:30")])
    log.close()
    res = CliRunner().invoke(incident_app, ["list", "--log", str(path)], env={"COLUMNS": "200"})
    row = next(x for x in res.output.splitlines() if "INC-T8" in x)
    assert "#32 (retracted), #34" in row


def test_a_track_first_called_a_drone_then_a_bird_is_no_incident(scenario):
    t = scenario.start
    events = [
        TrackConfirmed(t=t, track_id="X", lat=55.7, lon=37.6, alt=150.0),
        TrackClassified(t=t, track_id="X", cls="drone", p=0.6),
        TrackClassified(t=t + timedelta(seconds=3), track_id="X", cls="bird", p=0.9),
        TrackConfirmed(t=t, track_id="D", lat=55.8, lon=37.6, alt=500.0),
        TrackClassified(t=t + timedelta(seconds=3), track_id="D", cls="drone", p=0.9),
        TrackConfirmed(t=t, track_id="H", lat=55.75, lon=37.62, alt=80.0),
        TrackClassified(t=t + timedelta(seconds=3), track_id="H", cls="drone", p=0.9, identity="RID-1"),
    ]
    assert [i.incident_id for i in build_incidents(events)] == ["INC-D"]
