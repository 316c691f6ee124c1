"""Simulated sensors: geometry, detection probability, clutter, and who sees what."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import msgspec
import numpy as np
import pytest

from skywarden.errors import ConfigError
from skywarden.events import (
    AdsbReport,
    PolarPlots,
    PositionPlots,
    RemoteIdReport,
    SensorStatus,
)
from skywarden.geo import distance_m
from skywarden.scenario.sim import SimConfig, Simulator


def _variant(scenario, **changes):
    return dataclasses.replace(scenario, spec=msgspec.structs.replace(scenario.spec, **changes))


def _sensor(scenario, sid, **changes):
    s = next(s for s in scenario.spec.sensors if s.id == sid)
    return msgspec.structs.replace(s, **changes)


def _polar_to_enu(frame, ev: PolarPlots):
    """(r, az, el) from the sensor -> local east/north/up: e = s_e + r cos(el) sin(az), ..."""
    se, sn, su = frame.to_enu(ev.sensor_lat, ev.sensor_lon, ev.sensor_alt)
    r = np.asarray(ev.range_m)
    az = np.radians(ev.azimuth_deg)
    el = np.radians(ev.elevation_deg)
    return np.column_stack(
        [se + r * np.cos(el) * np.sin(az), sn + r * np.cos(el) * np.cos(az), su + r * np.sin(el)]
    )


def test_radar_plots_land_on_the_truth_within_their_noise(scenario):
    # drones only (a wave spaced 2 km apart), so each plot's nearest truth is its own object
    radar = _sensor(scenario, "radar-south-west", clutter_per_scan=0.0)
    sc = _variant(scenario, sensors=[radar], birds=[], flights=[])
    sim = Simulator(sc, config=SimConfig(hobby_drone=False))
    events = [e for e in sim.run(until=sc.at("00:40")) if isinstance(e, PolarPlots)]
    dr, daz, n = [], [], 0
    se, sn, su = sc.frame.to_enu(radar.lat, radar.lon, radar.alt)
    for ev in events:
        if not ev.range_m:
            continue
        plots = _polar_to_enu(sc.frame, ev)
        p, _ = sim.truth.enu_at(sim.truth.seconds(ev.t))
        p = p[~np.isnan(p[:, 0])]
        for q, r, az in zip(plots, ev.range_m, ev.azimuth_deg, strict=True):
            j = int(np.argmin(np.linalg.norm(p - q, axis=1)))
            d = p[j] - np.array([se, sn, su])
            true_r = float(np.linalg.norm(d))
            true_az = float(np.degrees(np.arctan2(d[0], d[1])))
            dr.append(r - true_r)
            daz.append((az - true_az + 180.0) % 360.0 - 180.0)
            # back in WGS84, within 5 sigma of the truth (cross-range sigma = r * sigma_az)
            lat, lon, _ = sc.frame.to_wgs84(q[0], q[1], q[2])
            tlat, tlon, _ = sc.frame.to_wgs84(p[j, 0], p[j, 1], p[j, 2])
            bound = 5.0 * (radar.sigma_range_m + true_r * np.radians(radar.sigma_azimuth_deg))
            assert distance_m(float(lat), float(lon), float(tlat), float(tlon)) < bound
            n += 1
    assert n > 1_000
    assert np.std(dr) == pytest.approx(radar.sigma_range_m, rel=0.1)
    assert np.std(daz) == pytest.approx(radar.sigma_azimuth_deg, rel=0.1)
    assert abs(np.mean(dr)) < 3.0 * radar.sigma_range_m / np.sqrt(n) + 0.5


def test_detection_probability_is_honoured(scenario):
    radar = _sensor(scenario, "radar-east", clutter_per_scan=0.0, p_detect=0.7)
    sc = _variant(scenario, sensors=[radar])
    sim = Simulator(sc)
    se = np.array(sc.frame.to_enu(radar.lat, radar.lon, radar.alt)).ravel()
    expected = seen = 0
    for ev in sim.run(until=sc.at("01:00")):
        if not isinstance(ev, PolarPlots):
            continue
        p, _ = sim.truth.enu_at(sim.truth.seconds(ev.t))
        p = p[~np.isnan(p[:, 0])]
        inside = (np.linalg.norm(p - se, axis=1) <= radar.range_m) & (p[:, 2] >= radar.min_altitude_m)
        expected += int(inside.sum())
        seen += len(ev.range_m)
    assert expected > 5_000
    # binomial: |seen/expected - p| within 4 standard errors
    se_p = np.sqrt(0.7 * 0.3 / expected)
    assert abs(seen / expected - 0.7) < 4 * se_p


def test_clutter_rate_and_shape(scenario):
    radar = _sensor(scenario, "radar-south-west", clutter_per_scan=12.0)
    rf = _sensor(scenario, "rf-centre", clutter_per_scan=0.5)
    sc = _variant(scenario, sensors=[radar, rf], waves=[], birds=[], flights=[])
    sim = Simulator(sc, config=SimConfig(hobby_drone=False))
    events = sim.run(until=sc.at("01:00"))
    polar = [e for e in events if isinstance(e, PolarPlots)]
    pos = [e for e in events if isinstance(e, PositionPlots)]
    assert len(polar) == pytest.approx(3600 / radar.period_s, abs=1)  # one record per scan
    counts = np.array([len(e.range_m) for e in polar])
    assert counts.mean() == pytest.approx(12.0, abs=4 * np.sqrt(12.0 / len(counts)))
    assert counts.var() == pytest.approx(12.0, rel=0.25)  # Poisson: variance = mean
    r = np.concatenate([e.range_m for e in polar])
    el = np.concatenate([e.elevation_deg for e in polar])
    assert r.min() >= 0.0 and r.max() <= radar.range_m
    assert abs(np.median(r) - (500.0 + radar.range_m) / 2) < 0.05 * radar.range_m  # uniform
    assert el.min() >= 0.0 and el.max() <= 1.0  # low elevation
    rf_counts = np.array([len(e.lat) for e in pos])
    assert rf_counts.mean() == pytest.approx(0.5, abs=4 * np.sqrt(0.5 / len(rf_counts)))


def test_rf_hears_drones_only(scenario):
    rf = _sensor(scenario, "rf-south", clutter_per_scan=0.0)
    sc = _variant(scenario, sensors=[rf])
    sim = Simulator(sc)
    drones = sim.truth.columns(cls="drone")
    others = sim.truth.columns()
    others = others[~np.isin(others, drones)]
    n = 0
    for ev in sim.run(step_s=10.0):
        if not isinstance(ev, PositionPlots):
            continue
        assert ev.sensor_kind == "rf"
        if not ev.lat:
            continue
        assert ev.signature == ["drone_c2_link"] * len(ev.lat)
        t_s = sim.truth.seconds(ev.t)
        pd_, _ = sim.truth.enu_at(t_s, drones)
        pd_ = pd_[~np.isnan(pd_[:, 0])]
        e, nn, u = sc.frame.to_enu(ev.lat, ev.lon, ev.alt)
        for q in np.column_stack([e, nn, u]):
            assert np.min(np.linalg.norm(pd_ - q, axis=1)) < 5 * rf.sigma_m * np.sqrt(3)
            n += 1
    assert n > 200


def test_sensors_scan_asynchronously_at_their_period(scenario):
    sim = Simulator(scenario)
    events = sim.run(until=scenario.at("00:10"))
    by_sensor: dict[str, list] = {}
    for e in events:
        if isinstance(e, PolarPlots | PositionPlots):
            by_sensor.setdefault(e.sensor_id, []).append(e.t)
    phases = set()
    for s in scenario.spec.sensors:
        if s.kind not in ("radar", "rf"):
            continue
        ts = by_sensor[s.id]
        gaps = {round((b - a).total_seconds(), 6) for a, b in zip(ts, ts[1:], strict=False)}
        assert gaps == {s.period_s}
        phases.add((ts[0] - scenario.start) % timedelta(seconds=s.period_s))
    assert len(phases) > 1  # not all in step


def test_cooperative_reports(scenario):
    sim = Simulator(scenario)
    events = sim.run(until=scenario.at("01:20"))
    adsb = [e for e in events if isinstance(e, AdsbReport)]
    rid = [e for e in events if isinstance(e, RemoteIdReport)]
    flights = {f.icao24: f.callsign for f in scenario.spec.flights}
    assert {a.icao24 for a in adsb} <= set(flights) and len({a.icao24 for a in adsb}) >= 3
    for a in adsb[::50]:
        assert flights[a.icao24] == a.callsign
        st = sim.truth.state_at(a.t, cls="manned_aircraft")
        i = st.ids.index(a.callsign)
        assert distance_m(a.lat, a.lon, st.lat[i], st.lon[i]) < 60.0
        assert 50.0 < np.hypot(a.ve, a.vn) < 150.0
    hobby = sim.truth.object("hobby-01")
    assert rid and {r.uas_id for r in rid} == {hobby.uas_id}
    assert all(r.operator_id == hobby.operator_id for r in rid)
    # none of the attack drones declares itself
    assert not any(o.uas_id for o in sim.truth.objects if o.role == "attack")


def test_radar_sees_all_classes_with_their_rcs(scenario):
    radar = _sensor(scenario, "radar-north", clutter_per_scan=0.0)
    sc = _variant(scenario, sensors=[radar])
    sim = Simulator(sc)
    rcs_by_cls: dict[str, list[float]] = {}
    se = np.array(sc.frame.to_enu(radar.lat, radar.lon, radar.alt)).ravel()
    objs = sim.truth.objects
    for ev in sim.run(until=sc.at("01:00"), step_s=5.0):
        if not isinstance(ev, PolarPlots) or not ev.range_m:
            continue
        plots = _polar_to_enu(sc.frame, ev)
        p, _ = sim.truth.enu_at(sim.truth.seconds(ev.t))
        for q, rcs in zip(plots, ev.rcs_dbsm, strict=True):
            d = np.linalg.norm(np.nan_to_num(p, nan=1e12) - q, axis=1)
            j = int(np.argmin(d))
            if d[j] < 5 * np.linalg.norm(q - se) * np.radians(radar.sigma_azimuth_deg) + 200:
                rcs_by_cls.setdefault(objs[j].cls, []).append(rcs)
    assert set(rcs_by_cls) == {"drone", "bird", "manned_aircraft"}
    med = {k: float(np.median(v)) for k, v in rcs_by_cls.items()}
    assert med["bird"] < med["drone"] < med["manned_aircraft"]


def test_a_sensor_outage_is_reported_and_silences_its_scans(scenario):
    cfg = SimConfig(outages=(("radar-north", "00:10", "00:20"),))
    events = Simulator(scenario, config=cfg).run(until=scenario.at("00:30"))
    status = [e for e in events if isinstance(e, SensorStatus)]
    assert [(s.sensor_id, s.status, s.t) for s in status] == [
        ("radar-north", "down", scenario.at("00:10")),
        ("radar-north", "up", scenario.at("00:20")),
    ]
    north = [e.t for e in events if isinstance(e, PolarPlots) and e.sensor_id == "radar-north"]
    assert not any(scenario.at("00:10") <= t < scenario.at("00:20") for t in north)
    assert any(t >= scenario.at("00:20") for t in north)
    others = [e.t for e in events if isinstance(e, PolarPlots) and e.sensor_id != "radar-north"]
    assert any(scenario.at("00:10") <= t < scenario.at("00:20") for t in others)
    with pytest.raises(ConfigError, match="unknown sensor"):
        Simulator(scenario, config=SimConfig(outages=(("radar-nowhere", "00:10", "00:20"),)))
