"""Real recorded flights as a benchmark scenario.

tests/data/real_flights.csv holds windows of real ADS-B trajectories (helicopters, gliders,
light and survey aircraft, airliners; see tests/data/README.md). Here each window becomes a
truth path: its reports in a local east/north frame at its first point, heights as recorded,
re-timed along their path by the reported ground speed and smoothed by a spline per axis. Every window starts at t = 0 and is moved, without rotation, so that the middle of its
flown part lies at a seeded random point round the radar; then the paths are flown through the
benchmark's radar model (bench/_tracking_scenario.py: detection probability, range/azimuth/
elevation errors, clutter). The truth class is ``manned_aircraft``; the flight kind is kept
beside it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench._tracking_scenario import BenchScenario, _check_sensing, _observe, radars_for

__all__ = ["KINDS", "KIND_RCS_DBSM", "RealFlight", "RealScenario", "load_real_flights",
           "make_real_scenario"]

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_flights.csv"
KINDS = ("helicopter", "glider", "light_aircraft", "airliner")
#: Mean radar cross-section per kind (dBsm), an assumption of the model: a composite glider
#: reflects little, a light aircraft or a helicopter more, an airliner much more.
KIND_RCS_DBSM = {"helicopter": 10.0, "glider": 0.0, "light_aircraft": 5.0, "airliner": 20.0}
EARTH_R = 6_371_000.0
#: The splines' smoothing (s^3): as smooth as generalised cross-validation chooses on these
#: windows (median 99th percentile of the change of speed 1.3 m/s per second, against 1.4), at
#: a fraction of its cost; the path stays within 4 m RMS of the reports (median)
SMOOTHING = 10.0


@dataclass(frozen=True, slots=True)
class RealFlight:
    """One window of a real flight: ``t`` (n,) s from its start and ``pos`` (n, 3) east/north/up
    m in a frame at its first report; between and at the reports, a smoothing spline per axis
    gives the path."""

    window: str
    kind: str
    icao24: str
    callsign: str
    t: np.ndarray
    pos: np.ndarray

    @property
    def duration(self) -> float:
        return float(self.t[-1])

    def at(self, times: np.ndarray) -> np.ndarray:
        """Positions (K, 3) at ``times`` (K,) s; NaN outside the window."""
        from scipy.interpolate import make_smoothing_spline

        out = np.full((len(times), 3), np.nan)
        inside = (times >= self.t[0]) & (times <= self.t[-1])
        for i in range(3):
            spline = make_smoothing_spline(self.t, self.pos[:, i], lam=SMOOTHING)
            out[inside, i] = spline(times[inside])
        return out


def load_real_flights(path: Path = FIXTURE) -> list[RealFlight]:
    """The windows of the fixture, in file order."""
    rows: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["window"], []).append(r)
    out = []
    for window, rs in rows.items():
        # a report that repeats the last position is a stale one: keep the first of a run
        keep = [rs[0]] + [b for a, b in zip(rs, rs[1:], strict=False)
                          if (a["lat"], a["lon"]) != (b["lat"], b["lon"])]
        t = np.array([float(r["time"]) for r in keep])
        lat = np.radians([float(r["lat"]) for r in keep])
        lon = np.radians([float(r["lon"]) for r in keep])
        pos = np.column_stack([
            EARTH_R * math.cos(lat[0]) * (lon - lon[0]), EARTH_R * (lat - lat[0]),
            [float(r["alt_m"]) for r in keep]])
        # the samples' positions come late or early by a second or two (their steps alternate
        # between short and long): put each at the time that the reported ground speed says it
        # was reached along the path, the path's length kept
        step = np.hypot(*np.diff(pos[:, :2], axis=0).T)
        arc = np.concatenate([[0.0], np.cumsum(step)])
        gs = np.array([float(r["groundspeed_ms"] or "nan") for r in keep])
        fd = np.concatenate([step / np.maximum(np.diff(t), 1e-9), [0.0]])
        gs = np.where(np.isfinite(gs), gs, fd)
        flown = np.concatenate([[0.0], np.cumsum(0.5 * (gs[1:] + gs[:-1]) * np.diff(t))])
        if flown[-1] > 0 and arc[-1] > 0:
            t = np.interp(arc, flown * (arc[-1] / flown[-1]), t)
        ok = np.concatenate([[True], np.diff(t) > 0.5])
        t, pos = t[ok], pos[ok]
        out.append(RealFlight(window, keep[0]["kind"], keep[0]["icao24"], keep[0]["callsign"],
                              t - t[0], pos))
    return out


@dataclass(frozen=True, slots=True)
class RealScenario:
    """The benchmark scenario and, per target, its flight's window and kind."""

    scenario: BenchScenario
    windows: tuple[str, ...]
    kinds: tuple[str, ...]


def make_real_scenario(
    n_scans: int,
    *,
    seed: int = 0,
    pd: float = 0.9,
    clutter_mean: float = 50.0,
    flights: list[RealFlight] | None = None,
    reach_m: float = 35_000.0,
    kind_rcs: dict[str, float] | None = None,
) -> RealScenario:
    """The real flights seen by the central radar for ``n_scans`` scans (one a second), with
    clutter; each flight's middle (of the part flown within the run) lies uniformly in a disc of
    radius ``reach_m`` round the radar (at least 3 km from it). A plot's RCS has its kind's
    mean (KIND_RCS_DBSM, or ``kind_rcs`` for the kinds it names)."""
    if n_scans < 2:
        raise ValueError("need at least two scans")
    _check_sensing(pd, clutter_mean)
    flights = flights if flights is not None else load_real_flights()
    radars = radars_for(1)
    rng = np.random.default_rng([seed, len(flights), 0x9EA1])
    times = np.arange(n_scans, dtype=np.float64)
    truth = np.stack([f.at(times) for f in flights], axis=1)  # (K, n, 3)
    r = np.sqrt(rng.uniform(3_000.0**2, reach_m**2, len(flights)))
    b = rng.uniform(0.0, 2 * np.pi, len(flights))
    for j, f in enumerate(flights):
        span = f.at(np.array([0.0, min(f.duration, times[-1])]))
        mid = 0.5 * (span[0, :2] + span[1, :2])
        truth[:, j, :2] += np.array([r[j] * np.sin(b[j]), r[j] * np.cos(b[j])]) - mid
    alive = np.isfinite(truth[..., 0])
    truth = np.where(alive[..., None], truth, 0.0)
    cls = np.full(len(flights), "manned_aircraft")
    means = KIND_RCS_DBSM | (kind_rcs or {})
    rcs = np.array([means[f.kind] for f in flights])
    scenario = _observe(rng, radars, times, truth, alive, cls, pd=pd, clutter_mean=clutter_mean,
                        seed=seed, n_scans=n_scans, rcs_mean=rcs)
    return RealScenario(scenario, tuple(f.window for f in flights), tuple(f.kind for f in flights))
