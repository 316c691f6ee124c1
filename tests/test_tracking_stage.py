"""The tracking stage on the event log: plots in, confirmed/classified/dropped tracks and the
picture out; replay reproduces it; a dead sensor does not blind the picture."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from skywarden.events import (
    AdsbReport,
    Event,
    InputRefused,
    PolarPlots,
    PositionPlots,
    SensorStatus,
    Tick,
    TrackClassified,
    TrackConfirmed,
    TrackDropped,
    TrackPicture,
    encode,
)
from skywarden.scenario import LoadedScenario
from skywarden.tracking import TrackingConfig, TrackingStage
from skywarden.tracking.synthetic import Target

RADARS = {  # sensor id -> (lat, lon, alt, period s, phase s)
    "radar-a": (55.93, 37.65, 180.0, 4.0, 0.0),
    "radar-b": (55.57, 37.42, 200.0, 5.0, 1.3),
}


def night(
    scenario: LoadedScenario,
    targets: list[Target],
    seconds: int,
    seed: int = 1,
    clutter: float = 10.0,
    rcs: bool = True,
    radar_off: dict[str, float] | None = None,
    extra: list[Event] | None = None,
    clutter_range_m: tuple[float, float] = (2000.0, 60000.0),
    doppler: bool = False,
) -> list[tuple[datetime, list[Event]]]:
    """Ticks of inputs: radar scans of the targets (flat local frame, like the simulator)."""
    rng = np.random.default_rng(seed)
    f = scenario.frame
    t0 = scenario.start
    scans: list[Event] = []
    for sid, (lat, lon, alt, period, phase) in RADARS.items():
        s = np.array(f.to_enu(lat, lon, alt)).reshape(3)
        t = phase
        while t < seconds:
            if radar_off and sid in radar_off and t >= radar_off[sid]:
                break
            pos = np.array([tg.state(t)[0] for tg in targets if tg.alive(t)]).reshape(-1, 3)
            vel = np.array([tg.state(t)[1] for tg in targets if tg.alive(t)]).reshape(-1, 3)
            rcs_true = [tg.rcs for tg in targets if tg.alive(t)]
            d = pos - s
            r = np.linalg.norm(d, axis=1)
            det = rng.random(len(r)) < 0.9
            d, r, vel = d[det], r[det], vel[det]
            n = len(r)
            az = np.degrees(np.arctan2(d[:, 0], d[:, 1])) + rng.normal(0, 0.3, n)
            el = np.degrees(np.arcsin(d[:, 2] / r)) + rng.normal(0, 0.5, n)
            m = int(rng.poisson(clutter))
            rr = np.concatenate([r + rng.normal(0, 25, n), rng.uniform(*clutter_range_m, m)])
            # radial speed: the target's along the line of sight; ground clutter's near zero
            vr = np.concatenate(
                [np.einsum("ij,ij->i", vel, d) / r + rng.normal(0, 0.5, n), rng.normal(0, 1.5, m)]
            )
            aa = np.concatenate([az % 360, rng.uniform(0, 360, m)])
            ee = np.concatenate([el, rng.uniform(0, 3, m)])
            cr = np.concatenate(
                [np.array(rcs_true)[det] + rng.normal(0, 2, n), rng.normal(0, 8, m)]
            )
            scans.append(
                PolarPlots(
                    t=t0 + timedelta(seconds=t),
                    sensor_id=sid,
                    sensor_lat=lat,
                    sensor_lon=lon,
                    sensor_alt=alt,
                    range_m=rr.tolist(),
                    azimuth_deg=aa.tolist(),
                    elevation_deg=ee.tolist(),
                    sigma_range_m=25.0,
                    sigma_azimuth_deg=0.3,
                    sigma_elevation_deg=0.5,
                    rcs_dbsm=cr.tolist() if rcs else None,
                    radial_speed_ms=vr.tolist() if doppler else None,
                )
            )
            t += period
    return ticks_of(scenario, scans + (extra or []), seconds)


def ticks_of(
    scenario: LoadedScenario, inputs: list[Event], seconds: int
) -> list[tuple[datetime, list[Event]]]:
    """One-second ticks of ``inputs`` in time order, each closed by its Tick."""
    inputs = sorted(inputs, key=lambda e: e.t)
    ticks = []
    for k in range(1, seconds + 1):
        now = scenario.start + timedelta(seconds=k)
        lo = now - timedelta(seconds=1)
        ticks.append((now, [e for e in inputs if lo < e.t <= now] + [Tick(t=now)]))
    return ticks


def play(
    scenario: LoadedScenario,
    ticks: list[tuple[datetime, list[Event]]],
    config: TrackingConfig | None = None,
) -> list[Event]:
    stage = TrackingStage(scenario, config)
    out: list[Event] = []
    for now, evs in ticks:
        out += stage.step(now, evs)
    return out


def drones() -> list[Target]:
    return [
        Target((-8000.0, 9000.0, 600.0), (40.0, -30.0, 0.0), rcs=-8.0),
        Target((7000.0, -6000.0, 400.0), (-35.0, 25.0, 0.0), rcs=-10.0),
    ]


def rf_fixes(scenario: LoadedScenario, tg: Target, seconds: int) -> list[Event]:
    f = scenario.frame
    out: list[Event] = []
    for k in range(0, seconds, 2):
        p = tg.state(float(k))[0]
        lat, lon, alt = f.to_wgs84(p[0], p[1], p[2])
        out.append(
            PositionPlots(
                t=scenario.start + timedelta(seconds=k + 0.5),
                sensor_id="rf-centre",
                lat=[float(lat)],
                lon=[float(lon)],
                alt=[float(alt)],
                sigma_m=[250.0],
                signature=["drone_c2_link"],
            )
        )
    return out


def test_confirms_classifies_and_pictures_the_tracks(scenario: LoadedScenario) -> None:
    targets = drones()
    out = play(scenario, night(scenario, targets, 120))
    confirmed = [e for e in out if isinstance(e, TrackConfirmed)]
    assert [e.track_id for e in confirmed] == ["T0001", "T0002"]
    assert all(e.sensors for e in confirmed)
    pictures = [e for e in out if isinstance(e, TrackPicture)]
    assert len(pictures) >= 90  # one per tick once tracks exist
    assert len({p.t for p in pictures}) == len(pictures)
    last = pictures[-1]
    s = (last.t - scenario.start).total_seconds()
    e, n, u = scenario.frame.to_enu(last.lat, last.lon, last.alt)
    truth = np.array([tg.state(s)[0] for tg in targets])
    d = np.linalg.norm(np.column_stack([e, n, u])[:, None] - truth[None], axis=2)
    assert np.all(d.min(axis=0) < 250.0)
    assert last.cls == ["drone", "drone"] and min(last.p_cls) > 0.6
    assert all(0 < sg < 500 for sg in last.sigma_m)
    # the same positions in the local frame, for the later stages: they agree with lat/lon
    np.testing.assert_allclose(np.column_stack([last.east_m, last.north_m]), np.column_stack([e, n]), atol=1e-3)
    classified = [e for e in out if isinstance(e, TrackClassified)]
    assert sorted(e.track_id for e in classified) == ["T0001", "T0002"]  # once each, not per tick
    assert all(e.cls == "drone" and "speed_ms" in e.features for e in classified)
    assert all(isinstance(e.t, datetime) and e.t.tzinfo is not None for e in out)


def test_tracks_dropped_when_targets_vanish_and_picture_empties(scenario: LoadedScenario) -> None:
    targets = [Target((-8000.0, 9000.0, 600.0), (40.0, -30.0, 0.0), t_off=60.0)]
    out = play(scenario, night(scenario, targets, 100, clutter=0.0))
    dropped = [e for e in out if isinstance(e, TrackDropped)]
    assert [e.track_id for e in dropped] == ["T0001"] and "no detection" in dropped[0].reason
    pictures = [e for e in out if isinstance(e, TrackPicture)]
    assert pictures[-1].track_id == []  # the picture that says it became empty
    assert pictures[-1].t <= dropped[0].t + timedelta(seconds=1)


def test_replay_reproduces_identical_events(scenario: LoadedScenario) -> None:
    ticks = night(scenario, drones(), 60, seed=3)
    a = [encode(e) for e in play(scenario, ticks)]
    b = [encode(e) for e in play(scenario, ticks)]
    assert a and a == b


def test_a_dead_radar_does_not_drop_what_the_other_sees(scenario: LoadedScenario) -> None:
    targets = drones()
    down = SensorStatus(
        t=scenario.start + timedelta(seconds=40), sensor_id="radar-a", status="down"
    )
    ticks = night(scenario, targets, 120, radar_off={"radar-a": 40.0}, extra=[down])
    out = play(scenario, ticks)
    assert not [e for e in out if isinstance(e, TrackDropped)]
    assert len([e for e in out if isinstance(e, TrackPicture)][-1].track_id) == 2


def test_adsb_identity_attaches_and_makes_an_airliner(scenario: LoadedScenario) -> None:
    airliner = Target((-20000.0, 5000.0, 3000.0), (200.0, 10.0, 0.0), rcs=20.0)
    f = scenario.frame
    reports: list[Event] = []
    for k in range(1, 80):
        p, v = airliner.state(float(k))
        lat, lon, alt = f.to_wgs84(p[0], p[1], p[2])
        reports.append(
            AdsbReport(
                t=scenario.start + timedelta(seconds=k),
                icao24="4b1805",
                callsign="SU1402 ",
                lat=float(lat),
                lon=float(lon),
                alt=float(alt),
                ve=float(v[0]),
                vn=float(v[1]),
                vu=0.0,
            )
        )
    out = play(scenario, night(scenario, [airliner], 80, extra=reports))
    cl = [e for e in out if isinstance(e, TrackClassified)]
    assert cl and cl[-1].identity == "SU1402" and cl[-1].cls == "manned_aircraft"
    assert [e for e in out if isinstance(e, TrackPicture)][-1].cls == ["manned_aircraft"]


def test_rf_plots_with_command_link_make_a_drone(scenario: LoadedScenario) -> None:
    # a slow, low target the radar sees without RCS; an RF detector hears its command link
    tg = Target((2000.0, 1000.0, 250.0), (20.0, 5.0, 0.0))
    rf = rf_fixes(scenario, tg, 90)
    out = play(scenario, night(scenario, [tg], 90, rcs=False, extra=rf))
    last = [e for e in out if isinstance(e, TrackPicture)][-1]
    assert last.cls == ["drone"]
    conf = [e for e in out if isinstance(e, TrackConfirmed)]
    assert len(conf) == 1


def test_ground_clutter_in_the_doppler_notch_starts_no_tracks(scenario: LoadedScenario) -> None:
    # dense clutter close to the radars: without the notch it pairs up into false tracks
    tg = Target((2000.0, 1000.0, 400.0), (30.0, -20.0, 0.0))
    ticks = night(scenario, [tg], 240, clutter=150.0, clutter_range_m=(2000.0, 6000.0), doppler=True)
    for notch, false_tracks in ((0.0, True), (5.0, False)):
        out = play(scenario, ticks, TrackingConfig(notch_radial_ms=notch))
        confirmed = [e for e in out if isinstance(e, TrackConfirmed)]
        assert confirmed  # the moving target is tracked either way
        assert (len(confirmed) > 1) is false_tracks, (notch, len(confirmed))


def test_rf_fixes_alone_make_no_track_unless_rf_may_confirm(scenario: LoadedScenario) -> None:
    tg = Target((2000.0, 1000.0, 250.0), (20.0, 5.0, 0.0))
    ticks = ticks_of(scenario, rf_fixes(scenario, tg, 60), 60)
    out = play(scenario, ticks)
    assert not [e for e in out if isinstance(e, TrackConfirmed)]
    out = play(scenario, ticks, TrackingConfig(support_kinds=()))
    assert len([e for e in out if isinstance(e, TrackConfirmed)]) == 1


def test_malformed_scan_is_refused_not_a_crash(scenario: LoadedScenario) -> None:
    bad = PolarPlots(
        t=scenario.start + timedelta(seconds=0.5),
        sensor_id="radar-x",
        sensor_lat=55.9,
        sensor_lon=37.6,
        sensor_alt=100.0,
        range_m=[1000.0, 2000.0],
        azimuth_deg=[10.0],
        elevation_deg=[1.0, 1.0],
        sigma_range_m=25.0,
        sigma_azimuth_deg=0.3,
        sigma_elevation_deg=0.5,
    )
    stage = TrackingStage(scenario)
    out = stage.step(
        scenario.start + timedelta(seconds=1), [bad, Tick(t=scenario.start + timedelta(seconds=1))]
    )
    assert len(out) == 1 and isinstance(out[0], InputRefused)
    assert out[0].stage == "tracking" and out[0].ref == "radar-x" and "lengths" in out[0].reason


@pytest.mark.parametrize("kind", ["polar", "position"])
def test_stage_name_and_protocol(scenario: LoadedScenario, kind: str) -> None:
    from skywarden.stage import Stage

    stage = TrackingStage(scenario)
    assert stage.name == "tracking" and isinstance(stage, Stage)
    assert stage.step(scenario.start + timedelta(seconds=1), []) == []
    assert math.isclose((stage.scan_time(1.5) - scenario.start).total_seconds(), 1.5)


def test_late_reports_are_absorbed_or_refused(scenario: LoadedScenario) -> None:
    stage = TrackingStage(scenario)
    t0 = scenario.start

    def rf(dt: float) -> PositionPlots:
        return PositionPlots(
            t=t0 + timedelta(seconds=dt),
            sensor_id="rf",
            lat=[55.75],
            lon=[37.62],
            alt=[300.0],
            sigma_m=[200.0],
        )

    now = t0 + timedelta(seconds=10)
    assert stage.step(now, [rf(9.5), Tick(t=now)]) == []
    now2 = t0 + timedelta(seconds=11)
    out = stage.step(
        now2, [rf(9.0), rf(5.0), Tick(t=now2)]
    )  # 0.5 s late: used; 4.5 s late: refused
    assert [type(e) for e in out] == [InputRefused]
    assert "older than the picture" in out[0].reason  # type: ignore[attr-defined]
    assert stage.tracker.counts["plots"] == 2
