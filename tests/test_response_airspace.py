"""The "Carpet" plan: restriction while a threat is near an airport, lift after the quiet period."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    ThreatCleared,
    ThreatRaised,
    TrackPicture,
)
from skywarden.response.airspace import (
    AirspaceConfig,
    AirspaceStage,
    closest_approach,
    closures,
    time_to_radius,
)


def picture(scenario, t, tracks, cls="drone"):
    ids = sorted(tracks)
    lat, lon = [], []
    for tid in ids:
        a, b = scenario.frame.latlon(tracks[tid][0], tracks[tid][1])
        lat.append(a)
        lon.append(b)
    n = len(ids)
    return TrackPicture(
        t=t, track_id=ids, lat=lat, lon=lon, alt=[400.0] * n,
        ve=[tracks[k][2] for k in ids], vn=[tracks[k][3] for k in ids], vu=[0.0] * n,
        sigma_m=[50.0] * n, cls=[cls] * n, p_cls=[0.9] * n,
    )  # fmt: skip


def raised(t, tid, zone="centre", tz=None):
    return ThreatRaised(
        t=t, incident_id="INC-" + tid, track_id=tid, level="high", zone_id=zone,
        time_to_zone_s=tz, p_entry=0.9, cpa_m=0.0, reasons=["test"],
    )  # fmt: skip


def svo(scenario):
    a = next(a for a in scenario.spec.airports if a.id == "SVO")
    return a, np.array(scenario.frame.point(a.lat, a.lon))


def test_closest_approach_kernel():
    pos = np.array([[-10_000.0, 2_000.0], [5_000.0, 0.0]])
    vel = np.array([[50.0, 0.0], [10.0, 0.0]])
    d, t = closest_approach(pos, vel, np.zeros((1, 2)), np.array([600.0]))
    assert d[0, 0] == pytest.approx(2_000.0) and t[0, 0] == pytest.approx(200.0)
    assert d[1, 0] == pytest.approx(5_000.0) and t[1, 0] == 0.0  # flying away: closest is now
    d, t = closest_approach(pos, vel, np.zeros((1, 2)), np.array([100.0]))  # horizon too short
    assert d[0, 0] == pytest.approx(math.hypot(5_000.0, 2_000.0))
    tin = time_to_radius(pos, vel, np.zeros(2), 3_000.0)
    assert tin[0] == pytest.approx((10_000.0 - math.sqrt(3_000.0**2 - 2_000.0**2)) / 50.0)
    assert math.isinf(tin[1])  # flying away from outside: never
    assert time_to_radius(pos, vel, np.zeros(2), 6_000.0)[1] == 0.0  # already inside


def run_restriction(scenario, start_dist, speed, threat_until_s, total_s):
    """A threat track flying at SVO from ``start_dist`` m north, its threat cleared at
    ``threat_until_s`` (and the track gone); returns the stage's (second, event) output."""
    a, c = svo(scenario)
    stage = AirspaceStage(scenario)
    out = []
    for k in range(total_s):
        t = scenario.start + timedelta(seconds=k)
        evs = []
        if k < threat_until_s:
            evs.append(picture(scenario, t, {"T9": (c[0], c[1] + start_dist - speed * k, 0.0, -speed)}))
        else:
            evs.append(picture(scenario, t, {}))
        if k == 0:
            evs.append(raised(t, "T9", "svo_zone", tz=(start_dist - 4_000.0) / speed))
        if k == threat_until_s:
            evs.append(ThreatCleared(t=t, incident_id="INC-T9", track_id="T9", reason="killed"))
        out.extend((k, e) for e in stage.step(t, evs))
    return a, out


def test_restricted_when_predicted_inside_within_horizon_and_lifted_after_quiet(scenario):
    a = next(a for a in scenario.spec.airports if a.id == "SVO")
    speed = 40.0
    # starts 60 km out: inside the 30 km radius after 750 s, predicted (600 s horizon) from 150 s
    _, out = run_restriction(scenario, 60_000.0, speed, threat_until_s=1000, total_s=1000 + int(a.quiet_s) + 5)
    restricted = [(k, e) for k, e in out if isinstance(e, AirportRestricted)]
    lifted = [(k, e) for k, e in out if isinstance(e, AirportLifted)]
    assert len(restricted) == 1 and len(lifted) == 1
    k_r, r = restricted[0]
    expected_k = (60_000.0 - a.restriction_radius_m) / speed - a.horizon_s
    assert k_r == pytest.approx(expected_k, abs=1.0)
    assert r.airport_id == "SVO" and r.track_ids == ["T9"]
    assert "T9" in r.reason and "predicted within 30 km" in r.reason
    k_l, lift = lifted[0]
    # last tick with the threat: 999; quiet for quiet_s after it
    assert k_l == pytest.approx(999 + a.quiet_s, abs=1.0)
    assert lift.restricted_since == r.t
    assert lift.duration_s == pytest.approx((lift.t - r.t).total_seconds())


def test_a_new_threat_in_the_quiet_period_keeps_the_restriction(scenario):
    a, c = svo(scenario)
    stage = AirspaceStage(scenario)
    out = []
    for k in range(0, 2400):
        t = scenario.start + timedelta(seconds=k)
        tracks = {}
        if k < 100:
            tracks["A"] = (c[0] + 10_000.0, c[1], 0.0, 0.0)
        if 700 <= k < 760:  # a second threat before the 900 s quiet period ends
            tracks["B"] = (c[0] - 5_000.0, c[1], 0.0, 0.0)
        evs = [picture(scenario, t, tracks)]
        if k == 0:
            evs.append(raised(t, "A"))
        if k == 700:
            evs.append(raised(t, "B"))
        out.extend((k, e) for e in stage.step(t, evs))
    kinds = [(k, type(e).__name__) for k, e in out]
    assert kinds == [(0, "AirportRestricted"), (759 + 900, "AirportLifted")]
    assert out[0][1].reason.startswith("drone track A inside the 30 km radius")


def test_tracks_without_a_threat_or_of_other_classes_do_not_restrict(scenario):
    a, c = svo(scenario)
    near = {"X": (c[0] + 2_000.0, c[1], 0.0, 0.0)}
    t = scenario.start
    stage = AirspaceStage(scenario)
    assert stage.step(t, [picture(scenario, t, near)]) == []  # no threat raised for it
    stage = AirspaceStage(scenario, AirspaceConfig(only_threats=False))
    assert stage.step(t, [picture(scenario, t, near, cls="bird")]) == []
    assert [type(e) for e in stage.step(t, [picture(scenario, t, near, cls="unknown")])] == [AirportRestricted]


def test_flying_away_does_not_restrict(scenario):
    a, c = svo(scenario)
    stage = AirspaceStage(scenario)
    t = scenario.start
    evs = [picture(scenario, t, {"A": (c[0], c[1] + 35_000.0, 0.0, 40.0)}), raised(t, "A")]
    assert stage.step(t, evs) == []


def test_closures_summary(scenario):
    t0 = scenario.start
    evs = [
        AirportRestricted(t=t0, airport_id="SVO", reason="r1", track_ids=["A"]),
        AirportLifted(t=t0 + timedelta(minutes=40), airport_id="SVO", restricted_since=t0, duration_s=2400.0),
        AirportRestricted(t=t0 + timedelta(minutes=90), airport_id="SVO", reason="r2", track_ids=["B"]),
        AirportLifted(
            t=t0 + timedelta(minutes=100), airport_id="SVO", restricted_since=t0 + timedelta(minutes=90), duration_s=600.0
        ),
        AirportRestricted(t=t0 + timedelta(minutes=95), airport_id="DME", reason="r3", track_ids=["C"]),
    ]
    s = closures(evs, until=t0 + timedelta(minutes=125))
    assert list(s) == ["DME", "SVO"]
    assert s["SVO"].total_s == pytest.approx(3000.0)
    assert s["SVO"].intervals == [(t0, t0 + timedelta(minutes=40)), (t0 + timedelta(minutes=90), t0 + timedelta(minutes=100))]
    assert s["DME"].intervals == [(t0 + timedelta(minutes=95), None)]
    assert s["DME"].total_s == pytest.approx(1800.0)
    assert s["SVO"].reasons == ["r1", "r2"]
    # without ``until`` an open interval runs to the last event seen
    assert closures(evs)["DME"].total_s == pytest.approx(300.0)


def test_a_drone_ends_its_flight_in_its_target_zone(scenario):
    """A drone 45 km north of SVO heading south for a zone it enters in 2 min: straight on, it
    would come within 30 km of SVO in under 6 min; it is predicted to stop in its zone instead."""
    a, c = svo(scenario)
    t = scenario.start
    track = {"A": (c[0], c[1] + 45_000.0, 0.0, -45.0)}

    def threat(tz):
        return ThreatRaised(
            t=t, incident_id="INC-A", track_id="A", level="high", zone_id="centre",
            time_to_zone_s=tz, p_entry=0.9, cpa_m=0.0, reasons=[],
        )  # fmt: skip

    stage = AirspaceStage(scenario)
    assert stage.step(t, [picture(scenario, t, track), threat(120.0)]) == []
    stage = AirspaceStage(scenario, AirspaceConfig(stop_in_zone_s=None))
    assert [type(e) for e in stage.step(t, [picture(scenario, t, track), threat(120.0)])] == [AirportRestricted]
    # a threat that enters no zone (passing by) runs on
    stage = AirspaceStage(scenario)
    assert [type(e) for e in stage.step(t, [picture(scenario, t, track), threat(None)])] == [AirportRestricted]
