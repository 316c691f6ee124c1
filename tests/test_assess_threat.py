"""Zone-entry prediction and the threat stage's lifecycle (raise, update, hysteresis, clear)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
import shapely

import skywarden.assess as assess
from skywarden.assess import Circle, MotionModel, ThreatConfig, ThreatStage, predict_entries
from skywarden.assess.threat import (
    band_of,
    band_with_hysteresis,
    check_transition,
    level_of,
    level_with_hysteresis,
)
from skywarden.errors import TransitionError
from skywarden.events import (
    KillNumbered,
    ThreatCleared,
    ThreatRaised,
    ThreatUpdated,
    TrackClassified,
    TrackDropped,
    TrackPicture,
)


def picture(scenario, t, tracks, cls="drone", sigma=50.0):
    """A TrackPicture from {track_id: (east, north, ve, vn)} in the scenario's local frame."""
    ids = sorted(tracks)
    lat, lon = [], []
    for tid in ids:
        a, b = scenario.frame.latlon(tracks[tid][0], tracks[tid][1])
        lat.append(a)
        lon.append(b)
    n = len(ids)
    return TrackPicture(
        t=t,
        track_id=ids,
        lat=lat,
        lon=lon,
        alt=[500.0] * n,
        ve=[tracks[k][2] for k in ids],
        vn=[tracks[k][3] for k in ids],
        vu=[0.0] * n,
        sigma_m=[sigma] * n,
        cls=[cls] * n,
        p_cls=[0.9] * n,
    )


def centre_shape(scenario):
    return scenario.zone_shapes["centre"]


def test_public_api_is_pinned():
    assert sorted(assess.__all__) == sorted(
        [
            "THREAT_TRANSITIONS",
            "Circle",
            "EntryPrediction",
            "MotionModel",
            "ThreatConfig",
            "ThreatStage",
            "predict_entries",
            "signed_distance",
        ]
    )


# --------------------------------------------------------------------------- prediction kernel


def test_straight_at_zone_time_to_zone_is_distance_over_speed(scenario):
    zone = centre_shape(scenario)
    c = zone.centroid
    radius = math.sqrt(zone.area / math.pi)
    for dist, speed in [(20_000.0, 40.0), (35_000.0, 48.0), (8_000.0, 25.0)]:
        pos = np.array([[c.x + dist, c.y]])
        vel = np.array([[-speed, 0.0]])
        pred = predict_entries(pos, vel, np.array([50.0]), [zone])
        expected = (dist - radius) / speed
        assert pred.time_to_zone_s[0, 0] == pytest.approx(expected, abs=3.0)
        assert pred.cpa_m[0, 0] == 0.0
        assert pred.p_entry[0, 0] == pytest.approx(head_on_p(dist - radius, speed, 50.0, radius), abs=0.005)
        # the 15 s samples may miss the best moment a little: within 0.03 of a 1 s grid
        fine = head_on_p(dist - radius, speed, 50.0, radius, grid=np.arange(0.0, 901.0))
        assert fine - 0.03 <= pred.p_entry[0, 0] <= fine + 0.005
        assert pred.p_entry[0, 0] > 0.5  # flying straight at it: more likely than not


def head_on_p(gap_m, speed, sigma0, radius=3_000.0, model=None, grid=None):
    """One-track reference: a path straight through a circle's centre, ``gap_m`` from its edge.
    With s = v t - gap the depth along the chord, d(t) = |s - R| - R; P = max_t Phi(-d / sigma)
    over ``grid`` (default: the model's own samples)."""
    m = model or MotionModel()
    best = 0.0
    for t in m.times() if grid is None else grid:
        t = float(t)
        d = abs(speed * t - gap_m - radius) - radius
        sig = float(m.sigma(np.array([sigma0]), np.array([t]), np.array([speed]))[0, 0])
        best = max(best, 0.5 * math.erfc(d / (sig * math.sqrt(2.0))))
    return best


def test_flying_away_predicts_no_entry(scenario):
    zone = centre_shape(scenario)
    c = zone.centroid
    pred = predict_entries(np.array([[c.x + 10_000.0, c.y]]), np.array([[40.0, 0.0]]), np.array([50.0]), [zone])
    assert math.isnan(pred.time_to_zone_s[0, 0])
    assert pred.p_entry[0, 0] < 0.01
    # the closest approach is now: 10 km from the centre, minus the radius
    assert pred.cpa_m[0, 0] == pytest.approx(10_000.0 - 3_000.0, abs=15.0)
    assert pred.t_cpa_s[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_crossing_near_gives_the_closest_approach(scenario):
    zone = centre_shape(scenario)
    c = zone.centroid
    offset, speed = 4_500.0, 40.0
    pos = np.array([[c.x - 20_000.0, c.y + offset]])
    pred = predict_entries(pos, np.array([[speed, 0.0]]), np.array([50.0]), [zone])
    assert math.isnan(pred.time_to_zone_s[0, 0])
    # the 48-gon is inscribed in the 3 km circle: its edge lies within 7 m inside the circle
    assert pred.cpa_m[0, 0] == pytest.approx(offset - 3_000.0, abs=10.0)
    assert pred.t_cpa_s[0, 0] == pytest.approx(20_000.0 / speed, abs=5.0)
    # 1.5 km off the edge, 8 min ahead: possible but not likely
    assert 0.0 < pred.p_entry[0, 0] < 0.5


def test_uncertainty_grows_with_time():
    m = MotionModel(sigma_v_ms=2.0, q_m2s3=0.02)
    s = m.sigma(np.array([30.0]), m.times())[0]
    assert np.all(np.diff(s) > 0)
    t = 600.0
    assert m.sigma(np.array([30.0]), np.array([t]))[0, 0] == pytest.approx(
        math.sqrt(30.0**2 + (2.0 * t) ** 2 + 0.02 * t**3 / 3.0)
    )


def test_square_zone_entry_is_exact():
    square = shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)])
    pos = np.array([[-5_000.0, 500.0], [500.0, 500.0], [-5_000.0, 3_000.0]])
    vel = np.array([[50.0, 0.0], [10.0, 0.0], [50.0, 0.0]])
    pred = predict_entries(pos, vel, np.full(3, 20.0), [square])
    assert pred.time_to_zone_s[0, 0] == pytest.approx(100.0, abs=0.5)
    assert pred.time_to_zone_s[1, 0] == 0.0  # already inside
    assert math.isnan(pred.time_to_zone_s[2, 0])
    assert pred.cpa_m[2, 0] == pytest.approx(2_000.0)


def test_batched_prediction_matches_one_track_at_a_time(scenario):
    rng = np.random.default_rng(7)
    shapes = list(scenario.zone_shapes.values())
    pos = rng.uniform(-40_000, 40_000, size=(25, 2))
    vel = rng.uniform(-50, 50, size=(25, 2))
    sig = rng.uniform(20, 300, size=25)
    batch = predict_entries(pos, vel, sig, shapes)
    for i in range(25):
        one = predict_entries(pos[i : i + 1], vel[i : i + 1], sig[i : i + 1], shapes)
        np.testing.assert_allclose(one.p_entry[0], batch.p_entry[i], atol=1e-12)
        np.testing.assert_allclose(one.cpa_m[0], batch.cpa_m[i], atol=1e-9)
        np.testing.assert_array_equal(np.isnan(one.time_to_zone_s[0]), np.isnan(batch.time_to_zone_s[i]))


def _fine_polygon(c: Circle, n: int = 4096) -> shapely.Polygon:
    a = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    # circumscribed n-gon halfway to inscribed: its edge is within r (1 - cos(pi / n)) / 2 of the circle
    r = c.r / math.cos(math.pi / n) ** 0.5
    return shapely.Polygon(np.column_stack([c.cx + r * np.cos(a), c.cy + r * np.sin(a)]))


def test_circle_kernel_agrees_with_a_fine_polygon_of_the_same_circle():
    rng = np.random.default_rng(11)
    circles = [Circle(0.0, 0.0, 3_000.0), Circle(12_000.0, -5_000.0, 1_500.0), Circle(-20_000.0, 18_000.0, 4_000.0)]
    polys = [_fine_polygon(c) for c in circles]
    pos = rng.uniform(-40_000, 40_000, size=(60, 2))
    pos[:3] = [[100.0, 200.0], [12_500.0, -5_000.0], [-30_000.0, 18_000.0]]  # inside, inside, due west
    vel = rng.uniform(-55, 55, size=(60, 2))
    vel[2] = [40.0, 0.0]
    sig = rng.uniform(20, 300, size=60)
    exact = predict_entries(pos, vel, sig, circles)
    sampled = predict_entries(pos, vel, sig, polys)
    np.testing.assert_allclose(exact.cpa_m, sampled.cpa_m, atol=1.0)
    np.testing.assert_allclose(exact.p_entry, sampled.p_entry, atol=1e-3)
    np.testing.assert_array_equal(np.isnan(exact.time_to_zone_s), np.isnan(sampled.time_to_zone_s))
    entered = ~np.isnan(exact.time_to_zone_s)
    assert entered.sum() >= 5
    # the polygon's time is interpolated between 15 s samples; the circle's is the root itself
    np.testing.assert_allclose(exact.time_to_zone_s[entered], sampled.time_to_zone_s[entered], atol=3.0)
    assert exact.time_to_zone_s[0, 0] == 0.0 and exact.time_to_zone_s[1, 1] == 0.0
    assert exact.time_to_zone_s[2, 2] == pytest.approx((10_000.0 - 4_000.0) / 40.0, abs=1e-9)
    missed = np.isnan(exact.time_to_zone_s) & (exact.cpa_m > 0) & (exact.cpa_m < 1e5)
    np.testing.assert_allclose(exact.t_cpa_s[missed], sampled.t_cpa_s[missed], atol=2.0)


def test_mixed_circles_and_polygons_keep_their_columns(scenario):
    square = shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)])
    circle = Circle(5_000.0, 500.0, 1_000.0)
    pos, vel, sig = np.array([[-5_000.0, 500.0]]), np.array([[50.0, 0.0]]), np.array([20.0])
    both = predict_entries(pos, vel, sig, [circle, square])
    assert both.time_to_zone_s[0, 0] == pytest.approx(180.0, abs=1e-9)  # 9 km to the circle's edge
    assert both.time_to_zone_s[0, 1] == pytest.approx(100.0, abs=0.5)
    alone = predict_entries(pos, vel, sig, [square])
    assert both.p_entry[0, 1] == alone.p_entry[0, 0]


def test_the_stage_assesses_circle_zones_as_circles(scenario):
    stage = ThreatStage(scenario)
    kinds = {zid: type(shape).__name__ for zid, shape in zip(stage.zone_ids, stage.shapes, strict=True)}
    assert kinds["centre"] == "Circle" and kinds["government"] == "Polygon"
    c = stage.shapes[stage.zone_ids.index("centre")]
    assert c.r == 3_000.0 and shapely.Point(c.cx, c.cy).within(scenario.zone_shapes["centre"])


def test_empty_inputs():
    pred = predict_entries(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0), [])
    assert pred.p_entry.shape == (0, 0)


# --------------------------------------------------------------------------- hysteresis helpers


def test_level_rises_at_once_and_falls_only_past_the_margin():
    th = (0.5, 0.68, 0.85)
    assert level_of(0.9, th) == 3
    assert level_with_hysteresis(1, 0.9, th, 0.06) == 3
    assert level_with_hysteresis(3, 0.82, th, 0.06) == 3  # 0.03 below the threshold: stays
    assert level_with_hysteresis(3, 0.78, th, 0.06) == 2  # 0.07 below: falls
    assert level_with_hysteresis(3, 0.3, th, 0.06) == 0


def test_band_changes_only_past_the_margin():
    edges = (60.0, 120.0, 300.0, 600.0)
    assert band_of(100.0, edges) == 1
    assert band_of(None, edges) == 5
    assert band_with_hysteresis(1, 55.0, edges, 15.0) == 1  # 5 s into the next band: stays
    assert band_with_hysteresis(1, 40.0, edges, 15.0) == 0
    assert band_with_hysteresis(2, 310.0, edges, 15.0) == 2
    assert band_with_hysteresis(2, 320.0, edges, 15.0) == 3


def test_lifecycle_table_refuses_illegal_transitions():
    check_transition("none", "active")
    check_transition("active", "cleared")
    with pytest.raises(TransitionError):
        check_transition("none", "cleared")
    with pytest.raises(TransitionError):
        check_transition("killed", "active")


def test_config_refuses_inverted_hysteresis():
    with pytest.raises(ValueError):
        ThreatConfig(raise_score=0.3, clear_score=0.4)


# --------------------------------------------------------------------------- the stage


def run(stage, scenario, t0, seconds, tracks_at, extra=None):
    """Step the stage once a second; ``tracks_at(k)`` gives the picture's tracks at second k."""
    out = []
    for k in range(seconds):
        t = t0 + timedelta(seconds=k)
        evs = [picture(scenario, t, tracks_at(k))]
        if extra and k in extra:
            evs.extend(extra[k](t))
        out.extend((k, e) for e in stage.step(t, evs))
    return out


def approaching(scenario, dist0=25_000.0, speed=45.0):
    c = centre_shape(scenario).centroid

    def at(k):
        return {"T1": (c.x + dist0 - speed * k, c.y, -speed, 0.0)}

    return at


def test_track_heading_for_the_centre_raises_a_threat(scenario):
    stage = ThreatStage(scenario)
    t0 = scenario.start
    out = run(stage, scenario, t0, 60, approaching(scenario))
    raised = [(k, e) for k, e in out if isinstance(e, ThreatRaised)]
    assert len(raised) == 1
    k, ev = raised[0]
    assert k == ThreatConfig().min_age_s  # a new track raises nothing until its age allows
    assert ev.incident_id == "INC-T1" and ev.track_id == "T1"
    assert ev.zone_id == "centre"
    gap = 25_000.0 - 45.0 * k - 3_000.0
    assert ev.time_to_zone_s == pytest.approx(gap / 45.0, abs=3.0)
    assert ev.p_entry == pytest.approx(head_on_p(gap, 45.0, 50.0), abs=0.01)
    assert ev.reasons[0] == "heading toward City centre"
    assert "min to the zone" in ev.reasons[1]
    assert any(r.startswith("p=") for r in ev.reasons)
    assert any("from the east" in r for r in ev.reasons)


def test_updates_are_material_changes_not_every_tick(scenario):
    stage = ThreatStage(scenario)
    out = run(stage, scenario, scenario.start, 480, approaching(scenario))
    updates = [(k, e) for k, e in out if isinstance(e, ThreatUpdated)]
    assert 1 <= len(updates) <= 8  # band and level changes on the way in, never tick by tick
    for (_, a), (_, b) in zip(updates, updates[1:], strict=False):
        # each update says something new: another level or zone, or a time band left by a margin
        if (a.level, a.zone_id) == (b.level, b.zone_id):
            assert abs(a.time_to_zone_s - b.time_to_zone_s) >= ThreatConfig().band_margin_s - 1.0
    assert updates[-1][1].level == "critical"


def test_flying_away_raises_nothing(scenario):
    c = centre_shape(scenario).centroid
    stage = ThreatStage(scenario)
    out = run(stage, scenario, scenario.start, 30, lambda k: {"T1": (c.x + 12_000.0 + 45.0 * k, c.y, 45.0, 0.0)})
    assert out == []


def test_wobbling_track_does_not_flap_and_clears_after_the_hold(scenario):
    """A track flying at the centre whose velocity estimate swings away and back every few
    seconds keeps one threat; once it turns away for good, the threat clears hold_s later, once."""
    c = centre_shape(scenario).centroid
    cfg = ThreatConfig(hold_s=30.0)
    stage = ThreatStage(scenario, cfg)
    speed = 45.0
    turn_at = 200
    state = {"x": c.x + 20_000.0, "y": c.y}

    def at(k):
        if k >= turn_at:
            v = (0.0, speed)  # due north, away for good: passes the zone well clear
            state["y"] += speed
        else:
            state["x"] -= speed  # the track truly flies at the centre ...
            # ... but its velocity estimate swings 80 degrees off for 4 s out of 8
            v = (-speed, 0.0) if (k // 4) % 2 == 0 else (-speed * 0.17, speed * 0.98)
        return {"T1": (state["x"], state["y"], v[0], v[1])}

    # the raw and the smoothed score of the threatened zone, tick by tick
    raw, scores = [], []
    j = stage.zone_ids.index("centre")
    out = []
    for k in range(turn_at + 120):
        t = scenario.start + timedelta(seconds=k)
        pic = picture(scenario, t, at(k))
        _, _, score = stage.assess(pic)
        raw.append(float(score[0, j]))
        out.extend((k, e) for e in stage.step(t, [pic]))
        scores.append(float(stage.tracks["T1"].ema[j]))
    wobble = raw[:turn_at]
    assert max(wobble) >= cfg.raise_score and min(wobble) < cfg.clear_score  # it truly wobbles
    raised = [k for k, e in out if isinstance(e, ThreatRaised)]
    cleared = [(k, e) for k, e in out if isinstance(e, ThreatCleared)]
    assert len(raised) == 1
    assert len(cleared) == 1
    k_clear, ev = cleared[0]
    assert k_clear > turn_at
    first_low = k_clear  # the start of the run of low scores that ends in the clearing
    while scores[first_low - 1] < cfg.clear_score:
        first_low -= 1
    assert k_clear - first_low == pytest.approx(cfg.hold_s, abs=1)
    assert ev.reason.startswith("turned away")


def test_cleared_when_classified_bird(scenario):
    stage = ThreatStage(scenario)
    at = approaching(scenario)
    extra = {20: lambda t: [TrackClassified(t=t, track_id="T1", cls="bird", p=0.95)]}
    out = run(stage, scenario, scenario.start, 25, at, extra)
    cleared = [e for _, e in out if isinstance(e, ThreatCleared)]
    assert len(cleared) == 1 and "bird" in cleared[0].reason


def test_cleared_when_dropped_and_when_killed(scenario):
    at = approaching(scenario)
    stage = ThreatStage(scenario)
    out = run(stage, scenario, scenario.start, 12, at, {10: lambda t: [TrackDropped(t=t, track_id="T1", reason="coasted out")]})
    cleared = [e for _, e in out if isinstance(e, ThreatCleared)]
    assert [e.reason for e in cleared] == ["track dropped: coasted out"]

    stage = ThreatStage(scenario)

    def kill(t: datetime):
        return [
            KillNumbered(
                t=t, report_id="R1", number=31, day_number=31, local_time="03:10", incident_id="INC-T1",
                track_id="T1", matched_by="nearest_track", lat=55.7, lon=37.6, alt=0.0,
            )
        ]

    out = run(stage, scenario, scenario.start, 40, at, {10: kill})
    cleared = [e for _, e in out if isinstance(e, ThreatCleared)]
    raised = [e for _, e in out if isinstance(e, ThreatRaised)]
    assert len(raised) == 1 and len(cleared) == 1  # a killed track still in the picture stays cleared
    assert cleared[0].reason == "killed: kill #31 at 03:10"


def test_lost_track_is_cleared(scenario):
    stage = ThreatStage(scenario, ThreatConfig(stale_s=10.0))
    at = approaching(scenario)
    out = run(stage, scenario, scenario.start, 15, at)
    assert any(isinstance(e, ThreatRaised) for _, e in out)
    t = scenario.start + timedelta(seconds=30)
    empty = TrackPicture(t=t, track_id=[], lat=[], lon=[], alt=[], ve=[], vn=[], vu=[], sigma_m=[], cls=[], p_cls=[])
    evs = stage.step(t, [empty])
    assert [type(e) for e in evs] == [ThreatCleared]


def test_a_new_track_raises_nothing_until_its_age_allows(scenario):
    """Fresh tracks have rough velocities and unsettled classes (a bird is often called a drone
    for its first seconds): no threat before min_age_s, then at once."""
    cfg = ThreatConfig(min_age_s=20.0)
    out = run(ThreatStage(scenario, cfg), scenario, scenario.start, 40, approaching(scenario))
    assert [(k, type(e)) for k, e in out] == [(20, ThreatRaised)]
    # a track first seen inside the centre is raised as soon as it is old enough, as critical
    c = centre_shape(scenario).centroid
    out = run(ThreatStage(scenario, cfg), scenario, scenario.start, 40, lambda k: {"H": (c.x, c.y, 3.0, 0.0)})
    assert [(k, type(e), e.level) for k, e in out] == [(20, ThreatRaised, "critical")]


def test_birds_and_airliners_are_not_assessed(scenario):
    stage = ThreatStage(scenario)
    t = scenario.start
    for cls in ("bird", "manned_aircraft"):
        assert stage.step(t, [picture(scenario, t, approaching(scenario)(0), cls=cls)]) == []


def test_replay_gives_identical_events(scenario):
    c = centre_shape(scenario).centroid

    def at(k):
        return {
            "A": (c.x + 20_000.0 - 40.0 * k, c.y + 300.0, -40.0, 0.0),
            "B": (c.x - 30_000.0 + 30.0 * k, c.y - 5_000.0 + 10.0 * k, 30.0, 10.0),
            "C": (c.x, c.y + 25_000.0 - 35.0 * k, 0.0, -35.0),
        }

    a = run(ThreatStage(scenario), scenario, scenario.start, 120, at)
    b = run(ThreatStage(scenario), scenario, scenario.start, 120, at)
    assert a == b and len(a) >= 3


def test_a_drone_identified_by_remote_id_is_not_a_threat(scenario):
    stage = ThreatStage(scenario)
    at = approaching(scenario)
    extra = {10: lambda t: [TrackClassified(t=t, track_id="T1", cls="drone", p=0.9, identity="RID-LAWFUL-1")]}
    out = run(stage, scenario, scenario.start, 30, at, extra)
    assert [type(e) for _, e in out] == [ThreatRaised, ThreatCleared]
    assert out[1][1].reason == "cooperative: identified as RID-LAWFUL-1"
    stage = ThreatStage(scenario, ThreatConfig(cooperative_is_threat=True))
    out = run(stage, scenario, scenario.start, 30, at, extra)
    assert [type(e) for _, e in out] == [ThreatRaised]


def test_a_retracted_kill_lets_the_track_be_a_threat_again(scenario):
    from skywarden.events import KillRetracted

    at = approaching(scenario)
    stage = ThreatStage(scenario)

    def kill(t):
        return [
            KillNumbered(
                t=t, report_id="R1", number=7, day_number=7, local_time="01:00", incident_id="INC-T1",
                track_id="T1", matched_by="nearest_track", lat=55.7, lon=37.6, alt=0.0,
            )
        ]  # fmt: skip

    extra = {14: kill, 30: lambda t: [KillRetracted(t=t, report_id="R1", number=7, reason="decoy")]}
    out = run(stage, scenario, scenario.start, 40, at, extra)
    assert [type(e) for _, e in out] == [ThreatRaised, ThreatCleared, ThreatRaised]
    assert out[2][0] >= 30  # raised again only after the retraction


def test_level_steps_down_only_after_the_hold(scenario):
    """A drone flying at the centre whose heading estimate swings 30 degrees off for 40 s out of
    every 80: the level never steps down while it weaves (each swing is shorter than
    level_hold_s). When it really turns 35 degrees off and holds, the level steps down, not before
    level_hold_s has passed."""
    from skywarden.assess.threat import LEVELS

    c = centre_shape(scenario).centroid
    cfg = ThreatConfig()
    stage = ThreatStage(scenario, cfg)
    speed, turn_at = 45.0, 200  # seconds 160-199 fly straight at it
    state = {"x": c.x + 24_000.0, "y": c.y}
    off = (-speed * math.cos(math.radians(30)), speed * math.sin(math.radians(30)))
    turned = (-speed * math.cos(math.radians(35)), speed * math.sin(math.radians(35)))

    def at(k):
        if k < turn_at:
            state["x"] -= speed
            v = (-speed, 0.0) if (k // 40) % 2 == 0 else off
        else:
            state["x"] += turned[0]
            state["y"] += turned[1]
            v = turned
        return {"T1": (state["x"], state["y"], v[0], v[1])}

    out = run(stage, scenario, scenario.start, turn_at + 200, at)
    levels = [(k, LEVELS.index(e.level)) for k, e in out if isinstance(e, ThreatRaised | ThreatUpdated)]
    before = [lv for k, lv in levels if k < turn_at]
    assert before == sorted(before)  # no step down while weaving
    downs = [k for (k, lv), (_, prev) in zip(levels[1:], levels, strict=False) if lv < prev]
    assert downs and downs[0] >= turn_at + cfg.level_hold_s


def test_two_kills_of_one_track_and_one_retracted(scenario):
    """A decoy hit numbered #33 on a track, then its real kill #37; #33 is withdrawn: the track
    stays killed, no new threat from it."""
    from skywarden.events import KillRetracted

    at = approaching(scenario)
    stage = ThreatStage(scenario)

    def kill(number):
        def make(t):
            return [
                KillNumbered(
                    t=t, report_id=f"R{number}", number=number, day_number=number, local_time="03:12",
                    incident_id="INC-T1", track_id="T1", matched_by="nearest_track", lat=55.7, lon=37.6, alt=0.0,
                )
            ]  # fmt: skip

        return make

    extra = {12: kill(33), 20: kill(37), 30: lambda t: [KillRetracted(t=t, report_id="R33", number=33, reason="decoy")]}
    out = run(stage, scenario, scenario.start, 45, at, extra)
    assert [type(e) for _, e in out] == [ThreatRaised, ThreatCleared]
    assert stage.tracks["T1"].state == "killed"


def test_bad_pictures_do_not_stop_the_stage(scenario):
    t = scenario.start
    stage = ThreatStage(scenario, ThreatConfig(min_age_s=0.0))
    good = picture(scenario, t + timedelta(seconds=5), approaching(scenario)(0))
    nan = TrackPicture(
        t=t, track_id=["N"], lat=[float("nan")], lon=[37.6], alt=[500.0], ve=[1.0], vn=[0.0], vu=[0.0],
        sigma_m=[50.0], cls=["drone"], p_cls=[0.9],
    )  # fmt: skip
    ragged = TrackPicture(
        t=t, track_id=["R1", "R2"], lat=[55.7], lon=[37.6], alt=[500.0], ve=[1.0], vn=[0.0], vu=[0.0],
        sigma_m=[50.0], cls=["drone"], p_cls=[0.9],
    )  # fmt: skip
    assert stage.step(t, [ragged]) == []
    assert stage.step(t, [nan]) == []
    out = stage.step(t + timedelta(seconds=5), [good])
    assert [type(e) for e in out] == [ThreatRaised]


# --------------------------------------------------------------------------- unknown tracks


def test_a_slow_unknown_heading_for_a_zone_raises_a_threat(scenario):
    """A track the classifier cannot tell from an aircraft or a bird is assessed as a possible
    drone: slow (12 m/s) and 6 km out, it still raises a threat, and says it is unknown."""
    stage = ThreatStage(scenario)
    t0 = scenario.start
    at = approaching(scenario, dist0=6_000.0, speed=12.0)
    out = []
    for k in range(40):
        t = t0 + timedelta(seconds=k)
        evs = [picture(scenario, t, at(k), cls="unknown")]
        if k == 5:
            evs.append(TrackClassified(t=t, track_id="T1", cls="unknown", p=0.55,
                                       features={"p_drone": 0.45, "p_manned_aircraft": 0.55}))
        out.extend((k, e) for e in stage.step(t, evs))
    raised = [e for _, e in out if isinstance(e, ThreatRaised)]
    assert len(raised) == 1 and raised[0].zone_id == "centre"
    assert "class unknown (p_drone=0.45)" in raised[0].reasons
    assert "12 m/s from the east" in raised[0].reasons


def test_an_unknown_far_from_everything_raises_nothing_and_closes_no_airport(scenario):
    """An unknown 70 km out, flying across (not toward) the city: no threat, so the Carpet plan
    restricts no airport, though unknown tracks count for it."""
    from skywarden.response.airspace import AirspaceStage

    c = centre_shape(scenario).centroid
    threat, airspace = ThreatStage(scenario), AirspaceStage(scenario)
    out = []
    for k in range(120):
        t = scenario.start + timedelta(seconds=k)
        pic = picture(scenario, t, {"U1": (c.x - 70_000.0, c.y - 20_000.0 + 50.0 * k, 0.0, 50.0)},
                      cls="unknown")
        evs = [pic, *threat.step(t, [pic])]
        out.extend(evs[1:])
        out.extend(airspace.step(t, evs))
    assert out == []


def test_a_drone_that_falls_back_to_unknown_keeps_its_threat(scenario):
    """When the evidence no longer separates a drone from an aircraft the class goes back to
    unknown; its threat stays (it is cleared only for a bird, an aircraft or an identity)."""
    stage = ThreatStage(scenario)
    at = approaching(scenario)
    out = []
    for k in range(60):
        t = scenario.start + timedelta(seconds=k)
        cls = "drone" if k < 30 else "unknown"
        evs = [picture(scenario, t, at(k), cls=cls)]
        if k == 30:
            evs.append(TrackClassified(t=t, track_id="T1", cls="unknown", p=0.6,
                                       features={"p_drone": 0.6}))
        out.extend((k, e) for e in stage.step(t, evs))
    assert [type(e) for _, e in out].count(ThreatRaised) == 1
    assert not any(isinstance(e, ThreatCleared) for _, e in out)
    assert stage.active() == {"T1": "centre"}
