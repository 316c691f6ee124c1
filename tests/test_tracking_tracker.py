"""The Tracker: confirmation, deletion, false tracks, identities, sensors dying, accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import skywarden.tracking as tracking
from skywarden.tracking import Scan, Tracker, TrackerConfig
from skywarden.tracking.synthetic import Radar, Target, radar_scans

RADARS = [
    Radar("r1", (-20_000.0, -15_000.0, 100.0), period_s=1.0, phase_s=0.0),
    Radar("r2", (20_000.0, -10_000.0, 100.0), period_s=1.0, phase_s=0.33),
    Radar("r3", (0.0, 25_000.0, 100.0), period_s=1.0, phase_s=0.67),
]


def one_plot(
    t: float, p: tuple[float, float, float], sensor: str = "s", sigma: float = 20.0
) -> Scan:
    return Scan(t=t, sensor_id=sensor, z=np.array([p]), R=(np.eye(3) * sigma**2)[None])


def empty(t: float, sensor: str = "s") -> Scan:
    return Scan(t=t, sensor_id=sensor, z=np.zeros((0, 3)), R=np.zeros((0, 3, 3)))


def run(scans, cfg: TrackerConfig | None = None):
    trk = Tracker(cfg)
    tables = []
    for scan, pos, idx in scans:
        tables.append((trk.step(scan), pos, idx))
    return trk, tables


def nearest(table, pos):
    d = np.linalg.norm(table.x[:, None, :3] - pos[None, :, :], axis=2)
    return d


def test_public_api_is_pinned() -> None:
    assert sorted(tracking.__all__) == sorted(
        [
            "Scan",
            "Tracker",
            "TrackerConfig",
            "TrackTable",
            "TrackingConfig",
            "TrackingStage",
            "polar_to_enu",
        ]
    )


def test_default_confirmation_is_three_of_four() -> None:
    trk = Tracker()
    for k in range(2):
        assert len(trk.step(one_plot(float(k), (40.0 * k, 0, 500)))) == 0
    trk.step(empty(2.0))
    assert len(trk.step(one_plot(3.0, (120.0, 0, 500)))) == 1


def test_four_of_five_waits_for_the_fourth_hit() -> None:
    trk = Tracker(TrackerConfig(confirm_m=4, confirm_n=5))
    for k in range(3):
        assert len(trk.step(one_plot(float(k), (40.0 * k, 0, 500)))) == 0
    trk.step(empty(3.0))
    assert len(trk.step(one_plot(4.0, (160.0, 0, 500)))) == 1


def test_m_of_n_confirms_on_the_third_hit() -> None:
    trk = Tracker(TrackerConfig(confirm_m=3, confirm_n=4))
    assert len(trk.step(one_plot(0.0, (0, 0, 500)))) == 0
    assert len(trk.step(one_plot(1.0, (40, 0, 500)))) == 0
    table = trk.step(one_plot(2.0, (80, 0, 500)))
    assert len(table) == 1 and table.ids.tolist() == [1]
    assert table.x[0, 3] == pytest.approx(40.0, abs=5.0)
    assert trk.take_lifecycle() == ([1], [])


def test_a_support_sensor_updates_tracks_but_never_starts_or_confirms_one() -> None:
    # an RF detector's coarse fixes: alone they make no track, not even a tentative one
    trk = Tracker()
    for k in range(6):
        scan = Scan(
            t=float(k), sensor_id="rf", z=np.array([[40.0 * k, 0, 500]]),
            R=(np.eye(3) * 250.0**2)[None], initiates=False,
        )
        assert len(trk.step(scan)) == 0
    assert trk.n_tentative == 0 and trk.counts["support_unused"] == 6
    # a radar confirms the track; the next RF fix updates it without a radar plot
    for k in range(6, 9):
        table = trk.step(one_plot(float(k), (40.0 * k, 0, 500), sensor="radar"))
    assert len(table) == 1
    fix = Scan(
        t=9.0, sensor_id="rf", z=np.array([[360.0, 0, 500]]), R=(np.eye(3) * 250.0**2)[None],
        initiates=False,
    )
    table = trk.step(fix)
    assert table.last_hit_t.tolist() == [9.0] and sorted(table.sensors(0)) == ["radar", "rf"]
    assert trk.counts["support_unused"] == 6


def test_an_update_only_plot_updates_a_confirmed_track_but_feeds_no_tentative_one() -> None:
    trk = Tracker()
    for k in range(3):
        table = trk.step(one_plot(float(k), (40.0 * k, 0, 500)))
    assert len(table) == 1
    # one plot on the track, one far away; both update-only (in the Doppler notch)
    far = (9000.0, 9000.0, 300.0)
    scan = Scan(
        t=3.0, sensor_id="s", z=np.array([[120.0, 0, 500], far]),
        R=np.stack([np.eye(3) * 400.0] * 2), update_only=np.array([True, True]),
    )
    table = trk.step(scan)
    assert table.last_hit_t.tolist() == [3.0] and trk.n_tentative == 0
    # the far plot, not update-only, starts a tentative track ...
    trk.step(one_plot(4.0, far))
    assert trk.n_tentative == 1
    # ... which an update-only plot on it does not feed: its look is a miss, so it is dropped
    scan = Scan(
        t=5.0, sensor_id="s", z=np.array([far]), R=(np.eye(3) * 400.0)[None],
        update_only=np.array([True]),
    )
    trk.step(scan)
    assert trk.n_tentative == 0
    with pytest.raises(ValueError, match="update_only"):
        Scan(t=6.0, sensor_id="s", z=np.zeros((1, 3)), R=np.eye(3)[None], update_only=[True, False])


def test_a_single_plot_missed_at_the_next_look_is_dropped() -> None:
    trk = Tracker()
    trk.step(one_plot(0.0, (0, 0, 500)))
    trk.step(one_plot(1.0, (40, 0, 500)))
    trk.step(empty(2.0))
    assert trk.n_tentative == 1  # two plots: a miss is allowed
    trk.step(one_plot(3.0, (5000, 0, 500)))
    assert trk.n_tentative == 1  # the first one missed twice (4 of 5 impossible); a new one
    trk.step(empty(4.0))
    assert trk.n_tentative == 0  # the one-plot track died at its first miss


def test_m_of_n_gives_up_after_n_looks() -> None:
    trk = Tracker(TrackerConfig(confirm_m=3, confirm_n=4, drop_single_miss=False))
    trk.step(one_plot(0.0, (0, 0, 500)))
    trk.step(empty(1.0))
    assert trk.n_tentative == 1  # one miss: 3 of 4 still possible
    trk.step(empty(2.0))
    assert trk.n_tentative == 0  # two misses: impossible, deleted
    trk.step(one_plot(3.0, (120, 0, 500)))
    assert len(trk.table()) == 0


def test_another_sensors_silence_does_not_count_as_a_miss() -> None:
    trk = Tracker()
    trk.step(one_plot(0.0, (0, 0, 500), "a"))
    for k in range(5):
        trk.step(empty(0.1 + k * 0.1, "b"))  # sensor b never saw it: no looks
    assert trk.n_tentative == 1


def test_confirmed_track_coasts_then_is_deleted_after_missed_looks() -> None:
    cfg = TrackerConfig(delete_misses=4)
    trk = Tracker(cfg)
    for k in range(5):
        trk.step(one_plot(float(k), (40.0 * k, 0, 500)))
    assert len(trk.table()) == 1
    trk.take_lifecycle()
    for k in range(5, 8):
        assert len(trk.step(empty(float(k)))) == 1  # coasting through three misses
    assert len(trk.step(empty(8.0))) == 0
    confirmed, dropped = trk.take_lifecycle()
    assert confirmed == [] and dropped[0][0] == 1 and "no detection" in dropped[0][1]


def test_a_plot_after_misses_keeps_the_track() -> None:
    trk = Tracker(TrackerConfig(delete_misses=4))
    for k in range(5):
        trk.step(one_plot(float(k), (40.0 * k, 0, 500)))
    for k in range(5, 8):
        trk.step(empty(float(k)))
    trk.step(one_plot(8.0, (320.0, 0, 500)))
    for k in range(9, 12):
        assert trk.step(empty(float(k))).ids.tolist() == [1]


def test_maintain_drops_stale_tracks_without_scans() -> None:
    trk = Tracker(TrackerConfig(delete_after_s=5.0))
    for k in range(5):
        trk.step(one_plot(float(k), (40.0 * k, 0, 500)))
    trk.maintain(7.0)
    assert len(trk.table()) == 1
    trk.maintain(10.5)
    assert len(trk.table()) == 0


def test_false_tracks_rare_at_100_false_alarms_per_scan() -> None:
    radar = Radar(
        "r",
        (0.0, 0.0, 0.0),
        period_s=1.0,
        clutter=100.0,
        max_range_m=40_000.0,
        clutter_max_el_deg=4.0,
    )
    scans = radar_scans([], [radar], 120.0, seed=3)
    trk, _ = run(scans)
    assert trk.counts["plots"] > 11_000
    assert trk.counts["confirmed"] <= 1  # ~12,000 false plots, at most one false track


def test_crossing_targets_keep_their_identities() -> None:
    a = Target((-3000.0, -1000.0, 500.0), (40.0, 13.0, 0.0))
    b = Target((-3000.0, 1000.0, 520.0), (40.0, -13.0, 0.0))  # they cross at t ~ 77 s
    trk, tables = run(radar_scans([a, b], RADARS, 150.0, seed=4))
    ids_before = ids_after = None
    for table, pos, _ in tables:
        if len(table) < 2:
            continue
        owner = table.ids[np.argmin(nearest(table, pos), axis=0)]
        if 30 <= table.t < 31:
            ids_before = owner.tolist()
        if 140 <= table.t < 141:
            ids_after = owner.tolist()
    assert ids_before is not None and ids_after == ids_before
    assert trk.counts["confirmed"] == 2


def test_turning_drone_is_followed_with_one_identity() -> None:
    tg = Target(
        (0.0, 0.0, 600.0),
        (45.0, 0.0, 0.0),
        turn_rate=math.radians(8.0),
        turn_from=30.0,
        turn_to=60.0,
    )
    trk, tables = run(radar_scans([tg], RADARS, 100.0, seed=5))
    errs = [float(np.min(nearest(t, p))) for t, p, _ in tables if len(t) and t.t > 10]
    assert trk.counts["confirmed"] == 1
    assert np.sqrt(np.mean(np.square(errs))) < 120.0


def test_a_dead_sensor_does_not_drop_what_others_see() -> None:
    tg = Target((0.0, 0.0, 600.0), (40.0, 10.0, 0.0))
    scans = [
        s
        for s in radar_scans([tg], RADARS, 90.0, seed=6)
        if not (s[0].sensor_id == "r1" and s[0].t > 30)
    ]
    trk, tables = run(scans)
    assert trk.counts["confirmed"] == 1 and trk.counts["dropped"] == 0
    assert tables[-1][0].ids.tolist() == [1]


@pytest.mark.parametrize("association", ["gnn", "jpda"])
def test_end_to_end_accuracy_floor(association: str) -> None:
    rng = np.random.default_rng(9)
    targets = []
    for _ in range(12):
        p = (*rng.uniform(-15_000, 15_000, 2), rng.uniform(200, 1000))
        hd = rng.uniform(0, 2 * math.pi)
        sp = rng.uniform(30, 55)
        targets.append(
            Target(p, (sp * math.sin(hd), sp * math.cos(hd), 0.0), rcs=float(rng.uniform(-12, -5)))
        )
    radars = [Radar(r.sensor_id, r.enu, r.period_s, r.phase_s, clutter=20.0) for r in RADARS]
    trk, tables = run(
        radar_scans(targets, radars, 60.0, seed=10), TrackerConfig(association=association)
    )
    errs, missed, false = [], 0, 0
    for table, pos, _ in tables:
        if table.t < 20:
            continue
        d = nearest(table, pos)
        errs += d.min(axis=1).tolist()
        missed += int(np.sum(d.min(axis=0) > 500))
        false += int(np.sum(d.min(axis=1) > 500))
    assert np.sqrt(np.mean(np.square(errs))) < 100.0
    assert missed <= 0.03 * len(tables) * 12
    assert false <= 0.01 * len(errs)
    last = tables[-1][0]
    assert np.mean(last.cls == "drone") >= 0.9


def test_scans_must_be_time_ordered_and_well_formed() -> None:
    trk = Tracker()
    trk.step(one_plot(5.0, (0, 0, 0)))
    with pytest.raises(ValueError, match="earlier"):
        trk.step(one_plot(4.0, (0, 0, 0)))
    with pytest.raises(ValueError, match="rows"):
        Scan(t=1.0, sensor_id="x", z=np.zeros((2, 3)), R=np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="signatures"):
        Scan(
            t=1.0,
            sensor_id="x",
            z=np.zeros((2, 3)),
            R=np.tile(np.eye(3), (2, 1, 1)),
            signature=["a"],
        )
    with pytest.raises(ValueError, match="not finite"):
        Scan(t=1.0, sensor_id="x", z=np.array([[np.nan, 0, 0]]), R=np.eye(3)[None])
    with pytest.raises(ValueError, match="non-positive"):
        Scan(t=1.0, sensor_id="x", z=np.zeros((1, 3)), R=np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="confirm_m"):
        TrackerConfig(confirm_m=5, confirm_n=4)


def test_two_dimensional_data_is_tracked() -> None:
    trk = Tracker()
    rng = np.random.default_rng(0)
    for k in range(30):
        z = np.array([[30.0 * k, 20.0 * k, 0.0]]) + np.column_stack(
            [rng.normal(size=(1, 2)) * 10, [[0.0]]]
        )
        R = np.diag([100.0, 100.0, 25.0])[None]
        table = trk.step(Scan(t=float(k), sensor_id="cam", z=z, R=R))
    assert len(table) == 1
    np.testing.assert_allclose(table.x[0, 3:5], [30.0, 20.0], atol=3.0)
    assert abs(table.x[0, 2]) < 5.0


def test_a_flock_stays_several_tracks_while_plots_separate_them() -> None:
    # two birds 80 m apart with the same velocity: close enough to look like one target
    # seen twice, but each scan carries a plot of each, so they are never merged
    a = Target((0.0, 0.0, 150.0), (12.0, 3.0, 0.0), rcs=-20.0)
    b = Target((80.0, 0.0, 150.0), (12.0, 3.0, 0.0), rcs=-20.0)
    radars = [
        Radar(r.sensor_id, r.enu, r.period_s, r.phase_s, sigma_az_deg=0.05, p_detect=1.0)
        for r in RADARS
    ]
    trk, tables = run(radar_scans([a, b], radars, 60.0, seed=8), TrackerConfig(merge_chi2=4.0))
    assert trk.counts["confirmed"] == 2 and trk.counts["dropped"] == 0
    assert len(tables[-1][0]) == 2


@pytest.mark.parametrize("p,dof", [(0.999, 3), (0.99, 3), (0.9999, 3), (0.95, 2)])
def test_chi2_quantile_is_scipys(p: float, dof: int) -> None:
    from scipy.stats import chi2

    from skywarden.tracking.tracker import chi2_quantile

    assert chi2_quantile(p, dof) == pytest.approx(float(chi2.ppf(p, dof)), rel=1e-12)
