"""The default night played by the simulator alone: the kills the whole system is built around."""

from __future__ import annotations

import math

import pytest

from skywarden.events import KillReported, KillWithdrawn
from skywarden.geo import distance_m
from skywarden.scenario.sim import Simulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def night(scenario):
    sim = Simulator(scenario)
    events = sim.run(step_s=5.0)
    return sim, events, None


def _numbered(sim, events):
    """Kill reports as the numbering stage sees them: in report order, duplicates skipped, a
    withdrawn report keeping its number."""
    what = {r.report_id: r for r in sim.truth.reports}
    reports = [e for e in events if isinstance(e, KillReported)]
    return [e for e in reports if what[e.report_id].kind != "duplicate"], what


def test_forty_kills_and_the_31st_at_0310_near_the_capital(scenario, night):
    sim, events, _ = night
    numbered, what = _numbered(sim, events)
    withdrawn = {e.report_id for e in events if isinstance(e, KillWithdrawn)}
    real = [e for e in numbered if e.report_id not in withdrawn]
    assert len(real) >= 40
    k31 = numbered[30]
    assert k31.report_id not in withdrawn and what[k31.report_id].kind == "kill"
    lo, hi = scenario.at("03:10"), scenario.at("03:11")
    assert lo <= k31.t < hi, scenario.local(k31.t)
    kill_t = what[k31.report_id].kill_t
    assert kill_t is not None and lo <= kill_t < hi  # the kill itself, not only its report
    city = scenario.spec.city
    assert distance_m(k31.lat, k31.lon, city.lat, city.lon) < 25_000.0
    district = scenario.district_at(k31.lat, k31.lon)
    assert district is not None and not district.startswith("region_")  # inside the city
    # the truth agrees: the drone it names was destroyed within the report's noise of that point
    kill = next(k for k in sim.truth.kills if k.object_id == what[k31.report_id].object_id)
    assert distance_m(k31.lat, k31.lon, kill.lat, kill.lon) <= 310.0


def test_corrections_duplicates_and_one_withdrawal(scenario, night):
    sim, events, _ = night
    numbered, what = _numbered(sim, events)
    reports = {e.report_id: e for e in events if isinstance(e, KillReported)}
    dups = [r for r in sim.truth.reports if r.kind == "duplicate"]
    assert 1 <= len(dups) <= 2
    for d in dups:
        a, b = reports[d.report_id], reports[d.duplicate_of]
        assert a.unit != b.unit
        assert 0 < (a.t - b.t).total_seconds() <= 90.0
        assert distance_m(a.lat, a.lon, b.lat, b.lon) < 700.0
    # a kill stage can tell them apart: no two distinct kills are as close in space and time
    distinct = [reports[r.report_id] for r in sim.truth.reports if r.kind != "duplicate"]
    for i, a in enumerate(distinct):
        for b in distinct[i + 1 :]:
            if abs((b.t - a.t).total_seconds()) <= 90.0:
                assert distance_m(a.lat, a.lon, b.lat, b.lon) > 800.0, (a.report_id, b.report_id)
    withdrawals = [e for e in events if isinstance(e, KillWithdrawn)]
    assert len(withdrawals) == 1
    w = withdrawals[0]
    false = reports[w.report_id]
    assert what[w.report_id].kind == "false" and w.t > false.t
    # after the 31st, so the numbering up to it is undisturbed
    assert numbered.index(false) > 30
    # the drone it spoke of really flew on, and was killed later
    drone = what[w.report_id].object_id
    later = next(k for k in sim.truth.kills if k.object_id == drone)
    assert later.t > false.t


def test_kills_come_in_bursts(night):
    """Crews run short only if many sites appear at once: at least 8 kills within 10 minutes."""
    sim, _, _ = night
    ts = [k.t_s for k in sim.truth.kills]
    burst = max(sum(1 for u in ts if t <= u < t + 600.0) for t in ts)
    assert burst >= 8


def test_every_drone_kill_stops_its_trajectory(night):
    sim, _, _ = night
    for k in sim.truth.kills:
        traj = sim.truth.trajectory(k.object_id, step_s=1.0)
        assert traj[-1, 0] == pytest.approx(k.t_s)
        assert distance_m(traj[-1, 1], traj[-1, 2], k.lat, k.lon) < 1.0
        # the true wreck falls within a couple of kilometres, downwind-ish, in 5-30 s
        assert distance_m(k.lat, k.lon, k.impact_lat, k.impact_lon) < 3_000.0
        assert 3.0 < k.fall_s < 40.0


def test_whole_night_has_its_sensor_traffic(night):
    _, events, _ = night
    assert len(events) > 20_000  # speed is measured by bench/night.py, not here


def test_waves_fly_at_their_airframe_speed(scenario, night):
    sim, _, _ = night
    types = {d.id: d for d in scenario.spec.drone_types}
    wind = scenario.spec.wind.speed_ms
    for o in sim.truth.objects:
        if o.role != "attack":
            continue
        traj = sim.truth.trajectory(o.id, step_s=10.0)
        e, n, _ = scenario.frame.to_enu(traj[:, 1], traj[:, 2])
        speed = math.hypot(e[-1] - e[0], n[-1] - n[0]) / max(1.0, traj[-1, 0] - traj[0, 0])
        cruise = types[o.drone_type].cruise_speed_ms
        assert speed < cruise * 1.05 + wind + 1.0  # weaving and dog-legs only make it slower
        assert speed > cruise * 0.5
