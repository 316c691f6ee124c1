"""Debris and dispatch together over a short busy stretch of the shipped night, replayed twice."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from skywarden.events import (
    CrashSiteQueued,
    CrewDispatched,
    CrewReported,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    InputRefused,
    KillNumbered,
    Tick,
    TrackPicture,
    encode,
)
from skywarden.response.debris import DebrisConfig, DebrisStage
from skywarden.response.dispatch import DispatchConfig, DispatchStage
from skywarden.scenario import LoadedScenario


def kills(sc: LoadedScenario, n: int) -> dict[int, list[Event]]:
    """n kills, one every 20 s, 8-30 km out on a spiral, flying toward the centre."""
    out: dict[int, list[Event]] = {}
    for i in range(n):
        sec = 20 * i
        t = sc.start + timedelta(seconds=sec)
        b, r = math.radians(37.0 * i), 8_000.0 + 1_100.0 * i
        e, nn = r * math.sin(b), r * math.cos(b)
        lat, lon = sc.frame.latlon(e, nn)
        tid = f"T{i}"
        out[sec] = [
            TrackPicture(t=t, track_id=[tid], lat=[lat], lon=[lon], alt=[500.0], ve=[-40 * e / r], vn=[-40 * nn / r],
                         vu=[0.0], sigma_m=[60.0], cls=["drone"], p_cls=[0.9]),
            KillNumbered(t=t, report_id=f"R{i}", number=i + 1, day_number=i + 1, local_time="00:00",
                         incident_id="INC-" + tid, track_id=tid, matched_by="track_ref", lat=lat, lon=lon, alt=500.0),
        ]  # fmt: skip
    return out


def play(sc: LoadedScenario, n: int, seconds: int) -> list[Event]:
    debris, dispatch = DebrisStage(sc, DebrisConfig(samples=1_000)), DispatchStage(sc)
    upstream = kills(sc, n)
    due: dict[int, list[CrewReported]] = {}
    log: list[Event] = []
    for sec in range(seconds):
        now: datetime = sc.start + timedelta(seconds=sec)
        inputs: list[Event] = [Tick(t=now), *due.pop(sec, [])]
        d_out = debris.step(now, inputs + upstream.get(sec, []))
        x_out = dispatch.step(now, inputs + upstream.get(sec, []) + d_out)
        log += inputs + d_out + x_out
        for ev in x_out:  # the crews: en route at once, on site at the ETA, done 10 min later
            if isinstance(ev, CrewDispatched):
                arrive = sec + 1 + int(ev.eta_s)
                for at, status in ((sec + 1, "en_route"), (arrive, "on_site"), (arrive + 300, "wreckage_recovered"),
                                   (arrive + 600, "site_closed")):  # fmt: skip
                    due.setdefault(at, []).append(
                        CrewReported(
                            t=sc.start + timedelta(seconds=at),
                            crew_id=ev.crew_id,
                            site_id=ev.site_id,
                            status=status,
                        )  # type: ignore[arg-type]  # fmt: skip
                    )
    return log


def test_a_busy_stretch_queues_serves_everyone_and_replays_identically(
    scenario: LoadedScenario,
) -> None:
    suitable = DispatchConfig().suitable_kinds
    crews = sum(c.kind in suitable and c.available for st in scenario.spec.stations for c in st.crews)
    n = crews + 3  # more sites than the suitable crews (fire, rescue, eod)
    log = play(scenario, n, 4 * 3600)
    kinds = [type(e) for e in log]
    assert kinds.count(DebrisPredicted) == n
    assert kinds.count(CrewDispatched) == n  # every site served in the end
    assert kinds.count(CrashSiteQueued) >= n - crews
    assert kinds.count(CrewStatusChanged) == 4 * n
    assert InputRefused not in kinds
    dispatched = [e for e in log if isinstance(e, CrewDispatched)]
    assert {e.method for e in dispatched} == {"road"}
    assert [encode(e) for e in play(scenario, n, 4 * 3600)] == [encode(e) for e in log]
