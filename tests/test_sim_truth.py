"""Ground truth: each class moves like itself, and the truth API answers in WGS84 and UTC."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.geo import distance_m
from skywarden.scenario.sim import Simulator


@pytest.fixture(scope="module")
def sim(scenario):
    return Simulator(scenario)


def _speeds(scenario, traj):
    e, n, _ = scenario.frame.to_enu(traj[:, 1], traj[:, 2])
    return np.hypot(np.diff(e), np.diff(n)) / np.diff(traj[:, 0]), np.arctan2(np.diff(e), np.diff(n))


def test_birds_are_slow_low_and_stay_near_home(scenario, sim):
    homes = {b.id: b for b in scenario.spec.birds}
    for oid in sim.truth.ids(cls="bird"):
        o = sim.truth.object(oid)
        flock = homes[o.label]
        traj = sim.truth.trajectory(oid, step_s=10.0)
        speed, _ = _speeds(scenario, traj)
        assert speed.max() < 2.0 * flock.speed_ms
        assert traj[:, 3].max() < flock.altitude_m + 250.0
        far = max(distance_m(lat, lon, flock.lat, flock.lon) for lat, lon in traj[:, 1:3])
        assert far < flock.radius_m + 3_000.0
    dawn = sim.truth.object("flock-dawn-01")
    assert dawn.first_s == (scenario.at("03:20") - scenario.start).total_seconds()


def test_flights_land_and_take_off_at_their_airport_on_time(scenario, sim):
    airports = {a.id: a for a in scenario.spec.airports}
    for f in scenario.spec.flights:
        traj = sim.truth.trajectory(f.callsign, step_s=1.0)
        o = sim.truth.object(f.callsign)
        assert o.cls == "manned_aircraft" and o.icao24 == f.icao24
        at = (scenario.at(f.time) - scenario.start).total_seconds()
        ap = airports[f.airport]
        i = int(np.argmin(np.abs(traj[:, 0] - at)))
        assert abs(traj[i, 0] - at) <= 1.0
        assert distance_m(traj[i, 1], traj[i, 2], ap.lat, ap.lon) < 1_000.0
        speed, _ = _speeds(scenario, traj)
        if f.kind != "overflight":
            assert traj[i, 3] < 10.0  # on the runway
            assert speed.min() > 60.0 and speed.max() < 115.0


def test_some_drones_turn_hard_and_all_weave_gently(scenario, sim):
    doglegs = 0
    for oid in sim.truth.ids(role="attack"):
        traj = sim.truth.trajectory(oid, step_s=10.0)
        if len(traj) < 20:
            continue
        _, heading = _speeds(scenario, traj)
        turn = np.degrees(np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)) / 10.0
        assert turn.max() <= 3.0 + 0.5  # the turn-rate limit (deg/s), on 10 s samples
        net = np.degrees(np.abs((heading[-5:].mean() - heading[:5].mean() + np.pi) % (2 * np.pi) - np.pi))
        doglegs += net > 25.0
    assert doglegs >= 3


def test_state_at_is_the_live_picture_in_wgs84(scenario, sim):
    t = scenario.at("02:00")
    st = sim.truth.state_at(t)
    assert len(st.ids) == len(st.lat) == len(st.ve)
    assert {"drone", "bird"} <= set(st.cls)
    for oid, lat, lon in zip(st.ids, st.lat, st.lon, strict=True):
        traj = sim.truth.trajectory(oid, step_s=1.0)
        row = traj[np.argmin(np.abs(traj[:, 0] - sim.truth.seconds(t)))]
        assert distance_m(lat, lon, row[1], row[2]) < 1.0
    killed = {k.object_id for k in sim.truth.kills if k.t < t}
    assert not killed & set(st.ids)


def test_the_hobby_drone_declares_itself_near_the_centre(scenario, sim):
    o = sim.truth.object("hobby-01")
    assert o.cls == "drone" and o.role == "hobby" and o.uas_id and o.operator_id
    traj = sim.truth.trajectory("hobby-01")
    city = scenario.spec.city
    assert max(distance_m(a, b, city.lat, city.lon) for a, b in traj[:, 1:3]) < 2_000.0


def test_positions_at_many_times_are_those_at_each_time(sim):
    """The sensors' block interpolation gives, time by time, what enu_at gives: between grid rows,
    on a row, at the grid's last row, and outside the night (NaN)."""
    truth = sim.truth
    cols = np.arange(truth.enu.shape[1])
    end = truth.steps * truth.dt_s
    rng = np.random.default_rng(5)
    times = np.concatenate([rng.uniform(0.0, end, 200), np.arange(0.0, 50.0), [end, end + 0.5, -1.0]])
    pos, vel = truth.enu_many(times, cols)
    for k, t in enumerate(times):
        p, v = truth.enu_at(float(t), cols)
        np.testing.assert_array_equal(pos[k], p)
        np.testing.assert_array_equal(vel[k], v)
