"""The fall model against analytic cases, and the footprint and stage on the shipped night."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely

from skywarden.events import DebrisPredicted, KillNumbered, Tick, TrackPicture, encode
from skywarden.response.debris import (
    G0,
    INTEGRATORS,
    RHO0,
    DebrisConfig,
    DebrisStage,
    fall,
    footprint,
    sample_seed,
    terminal_speed,
    wind_vector,
)

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def kill(report_id: str = "R1", lat: float = 55.70, lon: float = 37.50, alt: float = 600.0,
         track_id: str | None = None, number: int = 1) -> KillNumbered:  # fmt: skip
    return KillNumbered(
        t=T0, report_id=report_id, number=number, day_number=number, local_time="01:00",
        incident_id="INC-" + (track_id or report_id), track_id=track_id,
        matched_by="track_ref" if track_id else "unmatched", lat=lat, lon=lon, alt=alt,
    )  # fmt: skip


# --------------------------------------------------------------------------- analytic cases


@pytest.mark.parametrize("method,dt", [("rk4", 1e-3), ("rk4", 1.0), ("semi_implicit_euler", 1e-4)])
def test_no_drag_is_the_ballistic_parabola(method: str, dt: float) -> None:
    h, u, w = 500.0, 30.0, 10.0  # height m, horizontal and upward speed m/s
    # z(t) = h + w t - g t^2 / 2 = 0  ->  T = (w + sqrt(w^2 + 2 g h)) / g;  range = u T
    t_exact = (w + math.sqrt(w * w + 2 * G0 * h)) / G0
    res = fall(np.array([[0.0, 0.0, h]]), np.array([[u, 0.0, w]]), 0.0, dt_s=dt, method=method)
    tol = 1e-6 if method == "rk4" else 2e-5  # first-order Euler: error ~ dt / T
    assert res.landed[0]
    assert res.t[0] == pytest.approx(t_exact, rel=tol)
    assert res.impact[0, 0] == pytest.approx(u * t_exact, rel=tol)
    assert res.impact[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert res.v_impact[0, 2] == pytest.approx(w - G0 * t_exact, rel=tol)


def test_terminal_velocity_is_reached_in_a_long_fall() -> None:
    beta = 0.002  # m^2/kg, e.g. 0.1 m^2 drag area on 50 kg
    vt = terminal_speed(beta)
    assert vt == pytest.approx(math.sqrt(2 * 50.0 * G0 / (RHO0 * 0.1)))  # sqrt(2 m g / (rho Cd A))
    h = 15_000.0  # v^2 = vt^2 (1 - exp(-2 g z / vt^2)): within 1e-16 of vt after 15 km
    res = fall(np.array([[0.0, 0.0, h]]), np.zeros((1, 3)), beta, dt_s=0.1,
               scale_height_m=math.inf)  # fmt: skip
    assert res.landed[0]
    assert -res.v_impact[0, 2] == pytest.approx(vt, rel=1e-6)
    # from rest: z(t) = (vt^2/g) ln cosh(g t / vt), so the fall time is exact too
    t_exact = vt / G0 * math.acosh(math.exp(h * G0 / vt**2))
    assert res.t[0] == pytest.approx(t_exact, rel=1e-6)


def test_density_falls_with_height_so_high_pieces_fall_faster() -> None:
    beta = 0.01
    res = fall(np.array([[0.0, 0.0, 20_000.0]]), np.zeros((1, 3)), beta, dt_s=0.1, max_t_s=5.0)
    # after 5 s still high up, where the speed heads for the local terminal speed, above sea level's
    assert not res.landed[0]
    still = fall(np.array([[0.0, 0.0, 20_000.0]]), np.zeros((1, 3)), beta, dt_s=0.1, max_t_s=5.0,
                 scale_height_m=math.inf)  # fmt: skip
    assert -res.v_impact[0, 2] > -still.v_impact[0, 2]


def test_mirror_symmetry_without_wind() -> None:
    pos = np.array([[0.0, 0.0, 800.0]] * 2)
    vel = np.array([[40.0, 15.0, 3.0], [-40.0, -15.0, 3.0]])
    res = fall(pos, vel, 0.004, dt_s=0.25)
    assert res.impact[0] == pytest.approx(-res.impact[1], abs=1e-9)
    assert res.t[0] == pytest.approx(res.t[1], rel=1e-12)


def test_wind_drifts_a_dropped_piece_downwind_but_never_past_the_wind_run() -> None:
    w = wind_vector(8.0, 270.0)  # from the west: the air moves east
    assert w == pytest.approx((8.0, 0.0), abs=1e-12)
    res = fall(np.array([[0.0, 0.0, 600.0]]), np.zeros((1, 3)), 0.01, wind=w, dt_s=0.1)
    x, y = res.impact[0]
    assert 0.0 < x < 8.0 * res.t[0]  # starts at rest, relaxes toward the wind speed
    assert y == pytest.approx(0.0, abs=1e-9)


def test_rk4_at_the_default_step_converges_to_a_fine_step() -> None:
    rng = np.random.default_rng(1)
    pos = np.column_stack([np.zeros(200), np.zeros(200), rng.uniform(300, 900, 200)])
    vel = rng.normal(0, 30, (200, 3))
    beta = np.exp(rng.normal(np.log(0.005), 0.8, 200))
    wind = rng.normal(0, 5, (200, 2))
    coarse = fall(pos, vel, beta, wind, dt_s=DebrisConfig().dt_s)
    fine = fall(pos, vel, beta, wind, dt_s=0.01)
    err = np.hypot(*(coarse.impact - fine.impact).T)
    # metres, on falls of hundreds: the stiffest pieces (light fragments thrown fast) are the worst
    assert np.median(err) < 0.01 and err.max() < 0.5
    assert np.abs(coarse.t - fine.t).max() < 0.05


def test_stiff_pieces_take_sub_steps_and_stay_stable() -> None:
    # a light fragment thrown at 150 m/s: drag rate rho beta |v| ~ 18/s, far past RK4's limit at 1 s
    pos = np.array([[0.0, 0.0, 600.0], [0.0, 0.0, 600.0]])
    vel = np.array([[150.0, 0.0, 0.0], [20.0, 0.0, 0.0]])
    beta = np.array([0.1, 0.001])
    coarse = fall(pos, vel, beta, (5.0, 0.0), dt_s=1.0)
    fine = fall(pos, vel, beta, (5.0, 0.0), dt_s=0.005)
    assert np.isfinite(coarse.impact).all() and coarse.landed.all()
    assert np.abs(coarse.impact - fine.impact).max() < 1.0
    assert np.abs(coarse.t - fine.t).max() < 0.05


def test_pieces_on_the_ground_land_where_they_are() -> None:
    res = fall(np.array([[5.0, 6.0, 0.0], [0.0, 0.0, 100.0]]), np.ones((2, 3)), 0.01)
    assert res.landed.all()
    assert res.impact[0] == pytest.approx([5.0, 6.0]) and res.t[0] == 0.0
    assert res.t[1] > 0.0


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unknown integrator"):
        fall(np.zeros((1, 3)), np.zeros((1, 3)), 0.0, method="leapfrog")
    with pytest.raises(ValueError, match=r"\(S, 3\)"):
        fall(np.zeros((3,)), np.zeros((3,)), 0.0)
    assert set(INTEGRATORS) == {"rk4", "semi_implicit_euler"}


# --------------------------------------------------------------------------- the footprint


def test_polygon_contains_about_95_percent_and_the_mode_is_the_peak() -> None:
    rng = np.random.default_rng(7)
    xy = rng.multivariate_normal(
        [300.0, -200.0], [[400.0**2, 0.6 * 400 * 150], [0.6 * 400 * 150, 150.0**2]], 10_000
    )
    fp = footprint(xy, 0.95)
    inside = shapely.intersects_xy(fp.polygon, xy[:, 0], xy[:, 1]).mean()
    assert 0.95 <= inside <= 0.975
    assert math.hypot(fp.mode[0] - 300.0, fp.mode[1] + 200.0) < 60.0
    assert fp.inside.sum() == 9_500


def test_a_cloud_without_spread_gives_a_small_disc() -> None:
    fp = footprint(np.zeros((50, 2)) + [10.0, 20.0])
    assert fp.polygon.contains(shapely.Point(10.0, 20.0))
    assert fp.polygon.area < 200.0


def test_non_finite_points_are_left_out() -> None:
    xy = np.random.default_rng(2).normal(0.0, 100.0, (1_000, 2))
    xy[:3] = np.nan
    fp = footprint(xy)
    assert not fp.inside[:3].any() and fp.inside.sum() == math.ceil(0.95 * 997)
    with pytest.raises(ValueError, match="finite"):
        footprint(np.full((4, 2), np.inf))


# --------------------------------------------------------------------------- the stage


def picture(
    track_id: str, lat: float, lon: float, ve: float, vn: float, t: datetime = T0
) -> TrackPicture:
    return TrackPicture(t=t, track_id=[track_id], lat=[lat], lon=[lon], alt=[600.0], ve=[ve], vn=[vn],
                        vu=[0.0], sigma_m=[40.0], cls=["drone"], p_cls=[0.9])  # fmt: skip


def test_stage_emits_a_footprint_around_the_kill(scenario) -> None:
    stage = DebrisStage(scenario, DebrisConfig(samples=2_000))
    out = stage.step(T0, [Tick(t=T0), kill()])
    (d,) = out
    assert isinstance(d, DebrisPredicted)
    assert d.site_id == "SITE-R1" and d.incident_id == "INC-R1" and d.kill_number == 1
    assert d.samples == 2_000 and 5.0 < d.fall_time_s < 60.0
    poly = scenario.frame.polygon(d.polygon95)
    assert poly.contains(shapely.Point(scenario.frame.point(d.lat, d.lon)))
    assert d.districts == sorted(d.districts) and d.districts  # south-west of the centre
    assert d.polygon95[0] == d.polygon95[-1]


def test_the_track_velocity_carries_the_footprint_forward(scenario) -> None:
    stage = DebrisStage(scenario, DebrisConfig(samples=2_000))
    east = stage.step(T0, [picture("T1", 55.70, 37.50, 48.0, 0.0), kill(track_id="T1")])[0]
    west = stage.step(T0, [picture("T2", 55.70, 37.50, -48.0, 0.0), kill("R2", track_id="T2")])[0]
    fr = scenario.frame
    assert fr.point(east.lat, east.lon)[0] - fr.point(west.lat, west.lon)[0] > 500.0


def test_wind_drifts_the_footprint_downwind(scenario) -> None:
    def where(wind_ms: float) -> tuple[np.ndarray, np.ndarray, float]:
        stage = DebrisStage(scenario, DebrisConfig(samples=3_000))
        stage.wind = wind_vector(wind_ms, 270.0)  # from the west
        d = stage.step(T0, [picture("T1", 55.70, 37.50, 0.0, 0.0), kill(track_id="T1")])[0]
        c = scenario.frame.polygon(d.polygon95).centroid
        return np.array(scenario.frame.point(d.lat, d.lon)), np.array([c.x, c.y]), d.fall_time_s

    mode0, cen0, _ = where(0.0)
    mode1, cen1, t_fall = where(15.0)
    for shift in (mode1 - mode0, cen1 - cen0):
        # east, by less than the wind's run over the fall (pieces start with no air speed across)
        assert 25.0 < shift[0] < 15.0 * t_fall
        assert abs(shift[1]) < 0.3 * shift[0]


def test_an_unmatched_kill_flies_toward_the_centre(scenario) -> None:
    stage = DebrisStage(scenario)
    _, v, _, kind, matched = stage.initial_state(kill(lat=55.60, lon=37.6208))  # due south of it
    assert not matched and kind.id == scenario.spec.drone_types[0].id
    assert v[1] == pytest.approx(kind.cruise_speed_ms, rel=1e-3) and abs(v[0]) < 0.05 * v[1]


def test_an_unknown_altitude_is_the_tracks_or_the_airframes(scenario) -> None:
    stage = DebrisStage(scenario)
    stage.step(T0, [picture("T1", 55.70, 37.50, 40.0, 0.0)])  # the picture says 600 m
    (_, _, up), *_ = stage.initial_state(kill(alt=0.0, track_id="T1"))
    assert up == 600.0
    (_, _, up), _, _, kind, _ = stage.initial_state(kill(alt=0.0))
    assert up == kind.altitude_m
    (_, _, up), *_ = stage.initial_state(kill(alt=450.0, track_id="T1"))
    assert up == 450.0  # a reported altitude wins


def test_the_airframe_is_the_one_of_nearest_cruise_speed(scenario) -> None:
    stage = DebrisStage(scenario)
    light = min(scenario.spec.drone_types, key=lambda d: d.cruise_speed_ms)
    heavy = max(scenario.spec.drone_types, key=lambda d: d.cruise_speed_ms)
    assert stage.airframe_for(light.cruise_speed_ms - 3).id == light.id
    assert stage.airframe_for(heavy.cruise_speed_ms + 3).id == heavy.id


def test_deterministic_per_report_and_seed(scenario) -> None:
    a = DebrisStage(scenario, DebrisConfig(samples=1_000)).step(T0, [kill()])[0]
    b = DebrisStage(scenario, DebrisConfig(samples=1_000)).step(T0, [kill()])[0]
    c = DebrisStage(scenario, DebrisConfig(samples=1_000, seed=99)).step(T0, [kill()])[0]
    assert encode(a) == encode(b) and encode(a) != encode(c)
    assert sample_seed(1, "R1") == sample_seed(1, "R1") != sample_seed(1, "R2")


def test_old_track_states_are_forgotten(scenario) -> None:
    stage = DebrisStage(scenario, DebrisConfig(track_memory_s=60.0))
    stage.step(T0, [picture("T1", 55.7, 37.5, 10.0, 0.0)])
    stage.step(
        T0 + timedelta(seconds=30),
        [picture("T2", 55.7, 37.5, 10.0, 0.0, T0 + timedelta(seconds=30))],
    )
    assert list(stage.tracks) == ["T1", "T2"]
    stage.step(T0 + timedelta(seconds=61), [])
    assert list(stage.tracks) == ["T2"]
