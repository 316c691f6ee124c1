"""One drone's whole story through the real stages (threat, airspace, kills, debris, dispatch),
told by the incident projection, and replayed identically."""

from __future__ import annotations

from datetime import timedelta

from skywarden.assess import ThreatStage
from skywarden.events import (
    AirportRestricted,
    CrewDispatched,
    CrewReported,
    DebrisPredicted,
    Event,
    KillNumbered,
    KillReported,
    ThreatRaised,
    Tick,
    TrackConfirmed,
    TrackDropped,
    TrackPicture,
    encode,
)
from skywarden.response.airspace import AirspaceStage
from skywarden.response.debris import DebrisConfig, DebrisStage
from skywarden.response.dispatch import DispatchStage
from skywarden.response.incidents import build_incidents, find_incident
from skywarden.response.kills import KillStage

KILL_AT, REPORT_AT, END = 240, 265, 420


def play(scenario) -> list[Event]:
    """A drone flies at the centre from 20 km east at 45 m/s, 600 m up; it is killed at second
    240 and reported 25 s later; its crew reports en route and on site. One tick a second, each
    stage fed as the runtime feeds it (everything logged since its previous step)."""
    c = scenario.zone_shapes["centre"].centroid
    stages = [
        ThreatStage(scenario),
        AirspaceStage(scenario),
        KillStage(scenario),
        DebrisStage(scenario, DebrisConfig(samples=800)),
        DispatchStage(scenario),
    ]
    seen = [0] * len(stages)
    log: list[Event] = []
    crew_due: dict[int, list[Event]] = {}
    for k in range(END):
        t = scenario.start + timedelta(seconds=k)
        inputs: list[Event] = list(crew_due.pop(k, []))
        if k == REPORT_AT:
            x = c.x + 20_000.0 - 45.0 * KILL_AT
            lat, lon = scenario.frame.latlon(x + 150.0, c.y - 120.0)
            inputs.append(KillReported(t=t, report_id="ADC-1", lat=lat, lon=lon, alt=590.0, unit="u", effector="e"))
        derived: list[Event] = []
        if k <= KILL_AT:
            lat, lon = scenario.frame.latlon(c.x + 20_000.0 - 45.0 * k, c.y)
            if k == 0:
                derived.append(TrackConfirmed(t=t, track_id="T1", lat=lat, lon=lon, alt=600.0, sensors=["radar-east"]))
            derived.append(
                TrackPicture(
                    t=t, track_id=["T1"], lat=[lat], lon=[lon], alt=[600.0], ve=[-45.0], vn=[0.0], vu=[0.0],
                    sigma_m=[40.0], cls=["drone"], p_cls=[0.9],
                )  # fmt: skip
            )
        elif k == KILL_AT + 5:
            derived.append(TrackDropped(t=t, track_id="T1", reason="no detection for 5 s"))
        log += [*inputs, Tick(t=t), *derived]
        for i, stage in enumerate(stages):
            out = stage.step(t, log[seen[i] :])
            seen[i] = len(log)
            log += out
            for ev in out:  # the crew: en route 10 s after the dispatch, on site 60 s later
                if isinstance(ev, CrewDispatched):
                    for lag, status in ((10, "en_route"), (70, "on_site")):
                        crew_due.setdefault(k + lag, []).append(
                            CrewReported(
                                t=t + timedelta(seconds=lag), crew_id=ev.crew_id, site_id=ev.site_id, status=status
                            )  # type: ignore[arg-type]
                        )
    return log


def test_the_incident_tells_the_whole_story_from_real_stage_events(scenario):
    log = play(scenario)
    kinds = {type(e) for e in log}
    assert {ThreatRaised, KillNumbered, DebrisPredicted, CrewDispatched} <= kinds
    incs = build_incidents(log)
    assert [i.incident_id for i in incs] == ["INC-T1"]
    inc = find_incident(incs, "kill:1")
    assert inc is incs[0] and inc.kill_number == 1 and inc.sites and inc.crews
    texts = [e.text for e in inc.timeline]
    order = [
        "track T1 confirmed by radar-east",
        "threat raised",
        "kill #1 (#1 of the day)",
        "track dropped",
        "kill reported by the air-defence command (report ADC-1)",
        "debris footprint (site ",
        f"crew {inc.crews[0]} (",
        f"crew {inc.crews[0]} en route",
        f"crew {inc.crews[0]} on site",
    ]
    at = [next(i for i, x in enumerate(texts) if x.startswith(prefix)) for prefix in order]
    assert at == sorted(at), texts
    kill = next(e for e in log if isinstance(e, KillNumbered))
    assert kill.track_id == "T1" and kill.toward == "centre"
    assert abs((kill.t - (scenario.start + timedelta(seconds=KILL_AT))).total_seconds()) <= 5.0
    assert inc.status == "crew on site"
    if any(isinstance(e, AirportRestricted) for e in log):
        assert inc.airports


def test_the_story_replays_identically(scenario):
    assert [encode(e) for e in play(scenario)] == [encode(e) for e in play(scenario)]
