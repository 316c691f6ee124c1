"""Classification on synthetic tracks, and cooperative identities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.tracking import Scan, Tracker, TrackerConfig
from skywarden.tracking.classify import (
    CLASSES,
    COOP_ADSB,
    COOP_NONE,
    COOP_REMOTE_ID,
    I_UNKNOWN,
    KINDS,
    ClassModel,
    decide,
    posterior,
    posterior_and_evidence,
)
from skywarden.tracking.synthetic import Radar, Target, radar_scans

RADARS = [
    Radar("r1", (-15_000.0, -10_000.0, 100.0), period_s=2.0),
    Radar("r2", (15_000.0, -10_000.0, 100.0), period_s=2.0, phase_s=1.0),
]


def classes_after(
    targets: list[Target], seconds: float, seed: int = 0, **scan_kw
) -> tuple[list[str], np.ndarray]:
    trk = Tracker()
    for scan, _, _ in radar_scans(targets, RADARS, seconds, seed=seed):
        if scan_kw.get("no_rcs"):
            scan = Scan(t=scan.t, sensor_id=scan.sensor_id, z=scan.z, R=scan.R)
        table = trk.step(scan)
    return table.cls.tolist(), table.p_cls


def test_a_drone_a_bird_and_an_airliner() -> None:
    targets = [
        Target((0.0, 0.0, 600.0), (42.0, 10.0, 0.0), rcs=-8.0),  # attack drone
        Target((5000.0, 5000.0, 150.0), (-9.0, 8.0, 0.0), rcs=-20.0),  # bird
        Target((-20000.0, 8000.0, 3500.0), (210.0, -20.0, 0.0), rcs=22.0),  # airliner, no ADS-B
    ]
    cls, p = classes_after(targets, 40.0)
    trk_order = sorted(zip(cls, p.tolist(), strict=True))
    assert sorted(cls) == ["bird", "drone", "manned_aircraft"]
    assert all(pp > 0.6 for _, pp in trk_order)


def test_kinematics_alone_when_no_radar_attributes() -> None:
    """Without RCS an airliner is still told by its speed and height; a drone cruising at
    45 m/s is what a light aircraft cruising looks like, so it is `unknown` (the threat stage
    assesses it as a possible drone), its most likely class a drone, never an aircraft."""
    targets = [
        Target((0.0, 0.0, 700.0), (0.0, 45.0, 0.0)),
        Target((-20000.0, 8000.0, 4000.0), (180.0, 60.0, 0.0)),
    ]
    trk = Tracker()
    for scan, _, _ in radar_scans(targets, RADARS, 40.0, seed=0):
        table = trk.step(Scan(t=scan.t, sensor_id=scan.sensor_id, z=scan.z, R=scan.R))
    slow = int(np.argmin(table.features[:, 0]))
    assert table.cls.tolist()[1 - slow] == "manned_aircraft"
    assert table.cls.tolist()[slow] == "unknown"
    assert CLASSES[int(np.argmax(table.posterior[slow]))] == "drone"


def test_young_tracks_stay_unknown_and_decisions_have_hysteresis() -> None:
    post = np.array([[0.7, 0.2, 0.1], [0.55, 0.45, 0.0], [0.3, 0.65, 0.05]])
    cur = np.array([I_UNKNOWN, I_UNKNOWN, 0], dtype=np.int8)
    out = decide(post, cur, np.array([False, True, True]), threshold=0.6, margin=0.15)
    assert out[0] == I_UNKNOWN  # too young
    assert out[1] == I_UNKNOWN  # not sure enough
    assert out[2] == 1  # bird beats drone by 0.35 > margin
    out2 = decide(
        np.array([[0.45, 0.55, 0.0]]), np.array([0], dtype=np.int8), np.array([True]), 0.6, 0.15
    )
    assert out2[0] == 0  # a weak contrary reading does not flip a decided drone


def test_cooperative_evidence_dominates() -> None:
    n = 3
    speed = np.full(n, 45.0)
    alt = np.full(n, 600.0)
    coop = np.array([COOP_NONE, COOP_ADSB, COOP_REMOTE_ID], dtype=np.int8)
    z = np.zeros(n, dtype=np.int64)
    post = posterior(speed, alt, np.zeros(n), np.zeros(n), z, z, coop)
    assert CLASSES[int(np.argmax(post[0]))] == "drone"
    assert CLASSES[int(np.argmax(post[1]))] == "manned_aircraft"  # a slow ADS-B light aircraft
    assert post[2, 0] > post[0, 0]


def test_command_link_signature_is_drone_evidence() -> None:
    n = 2
    speed, alt = np.full(n, 15.0), np.full(n, 200.0)  # bird-like kinematics
    z = np.zeros(n, dtype=np.int64)
    post = posterior(
        speed, alt, np.zeros(n), np.zeros(n), z, np.array([0, 3]), np.zeros(n, dtype=np.int8)
    )
    assert CLASSES[int(np.argmax(post[0]))] == "bird"
    assert CLASSES[int(np.argmax(post[1]))] == "drone"


def _confirmed_tracker(targets: list[Target]) -> Tracker:
    trk = Tracker(TrackerConfig())
    for scan, _, _ in radar_scans(targets, RADARS, 30.0, seed=2):
        trk.step(scan)
    return trk


def test_adsb_attaches_to_the_matching_track_and_moves_with_its_report() -> None:
    a = Target((0.0, 0.0, 3000.0), (200.0, 0.0, 0.0), rcs=20.0)
    b = Target((0.0, 8000.0, 3000.0), (-200.0, 0.0, 0.0), rcs=20.0)
    trk = _confirmed_tracker([a, b])
    pa, va = a.state(trk.t or 0.0)
    i = trk.cooperative(trk.t or 0.0, "adsb", "AFL123", pa + 30.0, va)
    assert i is not None
    table = trk.table()
    k = int(np.argmin(np.linalg.norm(table.x[:, :3] - pa, axis=1)))
    assert table.identity.tolist()[k] == "AFL123" and table.identity.tolist()[1 - k] == ""
    trk.classify()
    assert trk.table().cls[k] == "manned_aircraft"
    # the same identity reported on the other aircraft moves there (one identity, one track)
    pb, vb = b.state(trk.t or 0.0)
    trk.cooperative(trk.t or 0.0, "adsb", "AFL123", pb, vb)
    assert (
        trk.table().identity.tolist()[1 - k] == "AFL123" and trk.table().identity.tolist()[k] == ""
    )


def test_cooperative_report_far_from_every_track_attaches_nowhere() -> None:
    trk = _confirmed_tracker([Target((0.0, 0.0, 500.0), (40.0, 0.0, 0.0))])
    assert (
        trk.cooperative(trk.t or 0.0, "remote_id", "UAS-1", np.array([30_000.0, 0, 500]), None)
        is None
    )
    assert trk.table().identity.tolist() == [""]
    with pytest.raises(ValueError, match="kind"):
        trk.cooperative(0.0, "mode_s", "x", np.zeros(3))  # type: ignore[arg-type]


def test_remote_id_declares_a_drone() -> None:
    tg = Target((0.0, 0.0, 120.0), (12.0, 5.0, 0.0), rcs=-20.0)  # bird-like kinematics
    trk = _confirmed_tracker([tg])
    p, v = tg.state(trk.t or 0.0)
    trk.cooperative(trk.t or 0.0, "remote_id", "UAS-7", p, v)
    trk.classify()
    t = trk.table()
    assert t.cls.tolist() == ["drone"] and t.identity.tolist() == ["UAS-7"] and t.p_cls[0] > 0.6
    assert math.isfinite(t.features[0, 0])


def test_a_drone_needs_more_certainty_and_falls_back_to_unknown() -> None:
    post = np.array([[0.9, 0.0, 0.1], [0.97, 0.0, 0.03], [0.5, 0.0, 0.5], [0.7, 0.0, 0.3]])
    cur = np.array([I_UNKNOWN, I_UNKNOWN, 0, 0], dtype=np.int8)
    yes = np.ones(4, dtype=bool)
    out = decide(post, cur, yes, 0.6, 0.15, drone_threshold=0.95, drone_hold=0.6)
    assert out[0] == I_UNKNOWN  # 0.9 is enough for another class, not for a drone
    assert out[1] == 0
    assert out[2] == I_UNKNOWN  # the evidence no longer separates it: back to unknown
    assert out[3] == 0  # above the hold: stays a drone
    young = np.array([True, False, True, True])
    assert decide(post, cur, yes, 0.6, 0.15, 0.95, 0.6, drone_eligible=young)[1] == I_UNKNOWN


def test_circling_and_climbing_speak_against_an_attack_drone() -> None:
    """Same speed, height and RCS: a track that has flown two circles and climbs and sinks is
    far less likely a drone than one that holds course and height."""
    n = 2
    z = np.zeros(n, dtype=np.int64)
    post = posterior(
        np.full(n, 40.0), np.full(n, 800.0), np.full(n, 3.0), np.full(n, -4.0), np.full(n, 20),
        z, np.zeros(n, dtype=np.int8),
        climb=np.array([0.3, 2.5]), speed_sd=np.array([1.0, 3.0]), circles=np.array([0.1, 2.0]),
        n_life=np.full(n, 40),
    )
    assert post[0, 0] > 0.95 and post[1, 0] < 0.2
    assert CLASSES[int(np.argmax(post[1]))] == "manned_aircraft"


def test_a_thermalling_glider_is_not_a_multicopter() -> None:
    """A glider circling in a thermal shows as a slow drift with a high turn rate, high up,
    with an aircraft's RCS: slow as a multicopter, but not small or low like one. Each kind's
    features count together, so the slow speed of one kind and the RCS of another do not add
    up to a drone."""
    n = 1
    z = np.zeros(n, dtype=np.int64)
    post = posterior(
        np.full(n, 12.0), np.full(n, 1100.0), np.full(n, 20.0), np.full(n, -2.0), np.full(n, 20),
        z, np.zeros(n, dtype=np.int8),
        climb=np.full(n, 2.5), speed_sd=np.full(n, 4.0), circles=np.full(n, 0.5),
        n_life=np.full(n, 40),
    )
    assert CLASSES[int(np.argmax(post[0]))] == "manned_aircraft" and post[0, 0] < 0.1


def test_a_model_needs_a_kind_of_every_class() -> None:
    no_birds = ClassModel(kinds=tuple(k for k in KINDS if k.name != "bird"))
    n = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="each class"):
        posterior(np.ones(1), np.ones(1), np.zeros(1), np.zeros(1), n, n,
                  np.zeros(1, dtype=np.int8), no_birds)


def _steady_50(night: bool = False, rcs: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    n = 1
    z = np.zeros(n, dtype=np.int64)
    return posterior_and_evidence(
        np.full(n, 50.0), np.full(n, 400.0), np.full(n, 2.0), np.full(n, rcs or 0.0),
        np.full(n, 0 if rcs is None else 20), z, np.zeros(n, dtype=np.int8),
        climb=np.full(n, 1.0), speed_sd=np.full(n, 1.5), circles=np.full(n, 0.1),
        n_life=np.full(n, 40), night=night,
    )


def test_drone_evidence_is_weighed_against_the_likeliest_other_kind() -> None:
    """50 m/s, straight and level at 400 m: an attack drone or a light aircraft cruising. With no
    RCS the posterior leans to a drone (the prior of a night of attacks) but the evidence itself
    does not separate them (a likelihood ratio of a few); a drone's RCS does."""
    p, ev = _steady_50()
    assert p[0, 0] > 0.5 and math.exp(ev[0]) < 10.0
    p, ev = _steady_50(rcs=-12.0)
    assert p[0, 0] > 0.95 and math.exp(ev[0]) > 10.0


def test_the_drone_evidence_threshold_is_a_ratio() -> None:
    with pytest.raises(ValueError, match="likelihood ratio"):
        TrackerConfig(class_drone_evidence=0.0)


def test_a_tracker_calls_no_drone_on_a_prior_alone() -> None:
    post = np.array([[0.97, 0.0, 0.03], [0.97, 0.0, 0.03]])
    cur = np.full(2, I_UNKNOWN, dtype=np.int8)
    yes = np.ones(2, dtype=bool)
    # the tracker's rule: a drone needs its evidence too (TrackerConfig.class_drone_evidence)
    ok = np.log(np.array([3.0, 30.0])) >= math.log(TrackerConfig().class_drone_evidence)
    out = decide(post, cur, yes, 0.6, 0.15, 0.95, 0.6, drone_eligible=ok)
    assert out.tolist() == [I_UNKNOWN, 0]


def test_gliders_fly_by_day() -> None:
    """A 28 m/s target at 400 m with a -12 dBsm RCS: a glider gliding or a slow attack drone by
    day; at night (no thermals to soar on) a drone."""
    n = 1
    z = np.zeros(n, dtype=np.int64)

    def at(night: bool) -> tuple[np.ndarray, np.ndarray]:
        return posterior_and_evidence(
            np.full(n, 28.0), np.full(n, 400.0), np.full(n, 3.0), np.full(n, -12.0),
            np.full(n, 20), z, np.zeros(n, dtype=np.int8),
            climb=np.full(n, 1.5), speed_sd=np.full(n, 2.5), circles=np.full(n, 0.1),
            n_life=np.full(n, 40), night=night,
        )

    p_day, ev_day = at(False)
    p_night, ev_night = at(True)
    assert p_day[0, 0] < 0.95 and math.exp(ev_day[0]) < 10.0
    assert p_night[0, 0] > p_day[0, 0] and math.exp(ev_night[0]) > 10.0


def test_the_sun_sets() -> None:
    from datetime import UTC, datetime

    from skywarden.geo import sun_elevation_deg

    moscow = (55.75, 37.62)
    assert sun_elevation_deg(datetime(2025, 3, 10, 9, 0, tzinfo=UTC), *moscow) > 25.0  # noon
    assert sun_elevation_deg(datetime(2025, 3, 10, 21, 0, tzinfo=UTC), *moscow) < -30.0
    # June solstice noon at Greenwich: 90 - 51.48 + 23.44
    assert abs(sun_elevation_deg(datetime(2025, 6, 21, 12, 0, tzinfo=UTC), 51.48, 0.0) - 62.0) < 1.0
