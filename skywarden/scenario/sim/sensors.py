"""Simulated sensors: each scans the truth on its own period and phase and reports what it sees.

Every scanner draws from its own random stream (seed, kind, sensor id), and scans strictly in time
order, so the plots of a scan do not depend on how the night is cut into poll windows. Scan ``n``
of a sensor happens at ``phase + n * period`` (integer microseconds since the night's start;
the phase is drawn in (0, period], so sensors are asynchronous).

* radar: one ``PolarPlots`` per scan. A live object inside ``range_m`` and at or above
  ``min_altitude_m`` is detected with ``p_detect``; its plot is the true range/azimuth/elevation
  from the sensor (in the scenario's local frame) plus Gaussian noise of the sensor's sigmas, its
  RCS the object's mean RCS plus a per-plot fluctuation, its radial speed v.(p - s)/|p - s| plus
  noise. Clutter: Poisson(``clutter_per_scan``) plots uniform in range and azimuth at low
  elevation, with a wide clutter RCS and near-zero radial speed. Plot order is shuffled.
* rf: one ``PositionPlots`` per scan of the drones only (it hears their control links), true
  position plus isotropic Gaussian noise ``sigma_m``, signature "drone_c2_link", plus rare false
  plots (Poisson(``clutter_per_scan``), uniform over its disc).
* camera, acoustic: like rf, but cameras see every class (signature None) and microphones drones.
* adsb: one ``AdsbReport`` per equipped flight in range per scan (``p_detect`` per report).
* remote_id: one ``RemoteIdReport`` per declaring drone in range per scan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from skywarden.errors import ConfigError
from skywarden.events import (
    AdsbReport,
    InputEvent,
    PolarPlots,
    PositionPlots,
    RemoteIdReport,
    SensorStatus,
)
from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.model import Sensor
from skywarden.scenario.sim.config import SimConfig
from skywarden.scenario.sim.streams import stream
from skywarden.scenario.sim.truth import FloatArray, IntArray, Truth

US = 1_000_000  # microseconds per second
CLUTTER_MIN_RANGE_M = 500.0
BLOCK = 64  # scans of one sensor simulated together


@dataclass
class Scanner:
    """Common schedule and state of one sensor; subclasses implement :meth:`scan`."""

    sensor: Sensor
    rank: int  # breaks ties between sources at the same instant (scenario order)
    truth: Truth
    scenario: LoadedScenario
    cfg: SimConfig
    rng: np.random.Generator
    period_us: int
    phase_us: int
    end_us: int
    cols: IntArray  # truth columns this sensor can see
    enu: FloatArray  # sensor position in the local frame, shape (3,)
    n: int = 0  # index of the next scan
    outages: list[tuple[int, int]] = field(default_factory=list)  # [from, to) microseconds
    _status: list[tuple[int, InputEvent]] = field(default_factory=list, init=False)
    _block_n0: int = field(default=0, init=False)  # the first scan of the block in _block
    _block: list[list[InputEvent]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        """Subclasses precompute per-object lookups here (and call this)."""
        for t0, t1 in self.outages:
            changes: list[tuple[int, Literal["down", "up"]]] = [(t0, "down"), (t1, "up")]
            for t_us, status in changes:
                if 0 < t_us <= self.end_us:
                    ev = SensorStatus(
                        t=self.when(t_us), sensor_id=self.sensor.id, status=status,
                        detail="simulated outage",
                    )  # fmt: skip
                    self._status.append((t_us, ev))
        self._status.sort(key=lambda x: x[0])

    def down(self, t_us: int) -> bool:
        return any(t0 <= t_us < t1 for t0, t1 in self.outages)

    def due(self, after_us: int, upto_us: int) -> list[tuple[int, InputEvent]]:
        """Every scan (and status change) with ``after_us < t <= upto_us``, before the night's
        end, in time order; a status change comes before a scan at the same instant."""
        out: list[tuple[int, InputEvent]] = []
        limit = min(upto_us, self.end_us)
        while True:
            t_us = self.phase_us + self.n * self.period_us
            while self._status and self._status[0][0] <= min(t_us, limit):
                st = self._status.pop(0)
                if st[0] > after_us:
                    out.append(st)
            if t_us > limit:
                break
            n = self.n
            self.n += 1
            if t_us <= after_us or self.down(t_us):
                continue  # a window that started late, or the sensor is down: no scan
            out.extend((t_us, ev) for ev in self._scan(n))
        return out

    def _scan(self, n: int) -> list[InputEvent]:
        """Scan ``n``'s events. Scans are simulated ``BLOCK`` at a time (numpy over the block
        rather than per scan, which the per-call cost of small arrays made the simulator's
        main cost); a block starts at the first scan needed outside the last one, so the blocks,
        and the random draws, are the same however the night is cut into polls."""
        k = n - self._block_n0
        if not 0 <= k < len(self._block):
            self._block_n0, k = n, 0
            times = self.phase_us + (n + np.arange(BLOCK, dtype=np.int64)) * self.period_us
            self._block = self.scan_block(times)
        return self._block[k]

    def when(self, t_us: int) -> datetime:
        return self.truth.start + timedelta(microseconds=int(t_us))

    def seen_block(self, times_us: IntArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Positions, velocities (B, M, 3), offsets from the sensor (B, M, 3) and ranges (B, M)
        of this sensor's objects at each scan time (NaN where an object is not airborne)."""
        if len(self.cols) == 0:
            empty = np.empty((len(times_us), 0, 3))
            return empty, empty, empty, np.empty((len(times_us), 0))
        p, v = self.truth.enu_many(times_us / US, self.cols)
        d = p - self.enu
        r = np.sqrt(np.einsum("bmi,bmi->bm", d, d))
        return p, v, d, r

    def scan_block(self, times_us: IntArray) -> list[list[InputEvent]]:
        """The events of one scan at each of ``times_us``."""
        raise NotImplementedError

    def _extras(self, scans: int) -> IntArray:
        """Clutter (false plots) of each of ``scans`` scans: Poisson(``clutter_per_scan``)."""
        lam = self.sensor.clutter_per_scan
        return self.rng.poisson(lam, scans) if lam > 0 else np.zeros(scans, dtype=np.int64)

    def _per_scan(self, bounds: IntArray, plots: Callable[[int, int, int], InputEvent]) -> list[list[InputEvent]]:
        """Each scan k's event, ``plots(k, lo, hi)`` over its plots [lo, hi); none for a scan
        that saw nothing unless empty scans are reported."""
        out: list[list[InputEvent]] = []
        for k in range(len(bounds) - 1):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            out.append([] if lo == hi and not self.cfg.emit_empty_scans else [plots(k, lo, hi)])
        return out

    def _shuffled(self, scan_of: IntArray, blocks: int) -> tuple[IntArray, IntArray]:
        """An order that groups the plots by scan and shuffles them within each, and where each
        scan's plots start and end in it."""
        order = np.lexsort((self.rng.random(len(scan_of)), scan_of))
        bounds = np.concatenate([[0], np.cumsum(np.bincount(scan_of, minlength=blocks))])
        return order, bounds


class RadarScanner(Scanner):
    def __post_init__(self) -> None:
        super().__post_init__()
        self._rcs = np.array([o.rcs_dbsm for o in self.truth.objects])

    def scan_block(self, times_us: IntArray) -> list[list[InputEvent]]:
        s, c, rng = self.sensor, self.cfg, self.rng
        nb = len(times_us)
        p, v, d, r = self.seen_block(times_us)
        with np.errstate(invalid="ignore"):
            seen = (r <= s.range_m) & (p[..., 2] >= s.min_altitude_m) & (r > 0.0)
        det = seen & (rng.random(r.shape) < s.p_detect)
        bi, mi = np.nonzero(det)
        d, r, v, cols = d[bi, mi], r[bi, mi], v[bi, mi], self.cols[mi]
        n = len(r)
        # range = |d|; azimuth = atan2(east, north) clockwise from north; elevation = asin(up/|d|)
        az = np.degrees(np.arctan2(d[:, 0], d[:, 1]))
        el = np.degrees(np.arcsin(d[:, 2] / r))
        radial = np.einsum("ij,ij->i", v, d) / r
        rng_m = np.abs(r + rng.normal(0.0, s.sigma_range_m, n))
        az = np.mod(az + rng.normal(0.0, s.sigma_azimuth_deg, n), 360.0)
        el = el + rng.normal(0.0, s.sigma_elevation_deg, n)
        rcs = self._rcs[cols] + rng.normal(0.0, c.rcs_plot_sigma_db, n)
        radial = radial + rng.normal(0.0, c.radial_speed_sigma_ms, n)
        # clutter: Poisson count, uniform in range and azimuth, low elevation
        extras = self._extras(nb)
        m = int(extras.sum())
        c_r = rng.uniform(CLUTTER_MIN_RANGE_M, s.range_m, m)
        c_az = rng.uniform(0.0, 360.0, m)
        c_el = rng.uniform(0.0, c.clutter_max_elev_deg, m)
        c_rcs = rng.normal(c.rcs_clutter_dbsm[0], c.rcs_clutter_dbsm[1], m)
        c_rad = rng.normal(0.0, c.clutter_radial_sigma_ms, m)
        order, bounds = self._shuffled(np.concatenate([bi, np.repeat(np.arange(nb), extras)]), nb)
        cols_out = [
            np.concatenate([a, b])[order]
            for a, b in ((rng_m, c_r), (az, c_az), (el, c_el), (rcs, c_rcs), (radial, c_rad))
        ]

        def plots(k: int, lo: int, hi: int) -> InputEvent:
            rg, a_, e_, rc, rd = (x[lo:hi].tolist() for x in cols_out)
            return PolarPlots(
                t=self.when(times_us[k]),
                sensor_id=s.id,
                sensor_kind="radar",
                sensor_lat=s.lat,
                sensor_lon=s.lon,
                sensor_alt=s.alt,
                range_m=rg,
                azimuth_deg=a_,
                elevation_deg=e_,
                sigma_range_m=s.sigma_range_m,
                sigma_azimuth_deg=s.sigma_azimuth_deg,
                sigma_elevation_deg=s.sigma_elevation_deg,
                rcs_dbsm=rc,
                radial_speed_ms=rd,
            )

        return self._per_scan(bounds, plots)


class PositionScanner(Scanner):
    """RF detectors, cameras and acoustic arrays: noisy positions of what they can sense."""

    def scan_block(self, times_us: IntArray) -> list[list[InputEvent]]:
        s, c, rng = self.sensor, self.cfg, self.rng
        nb = len(times_us)
        p, _, _, r = self.seen_block(times_us)
        with np.errstate(invalid="ignore"):
            seen = (r <= s.range_m) & (p[..., 2] >= s.min_altitude_m)
        det = seen & (rng.random(r.shape) < s.p_detect)
        bi, mi = np.nonzero(det)
        p = p[bi, mi]
        n = len(p)
        noise = rng.normal(0.0, s.sigma_m, (n, 3))
        noise[:, 2] *= c.rf_alt_sigma_factor
        q = p + noise
        q[:, 2] = np.maximum(q[:, 2], 0.0)
        extras = self._extras(nb)
        m = int(extras.sum())
        # false plots uniform over the disc: radius = R sqrt(u)
        fr = s.range_m * np.sqrt(rng.uniform(0.0, 1.0, m))
        fa = rng.uniform(0.0, 2.0 * math.pi, m)
        fz = rng.uniform(20.0, 400.0, m)
        false = np.column_stack([self.enu[0] + fr * np.sin(fa), self.enu[1] + fr * np.cos(fa), fz])
        order, bounds = self._shuffled(np.concatenate([bi, np.repeat(np.arange(nb), extras)]), nb)
        allp = np.concatenate([q, false])[order]
        # one projection for the whole block (pyproj works point by point: the same numbers)
        lat, lon, alt = self.scenario.frame.to_wgs84(allp[:, 0], allp[:, 1], allp[:, 2])
        signature = {"rf": "drone_c2_link", "acoustic": "propeller"}.get(s.kind)

        def plots(k: int, lo: int, hi: int) -> InputEvent:
            return PositionPlots(
                t=self.when(times_us[k]),
                sensor_id=s.id,
                sensor_kind=s.kind,
                lat=lat[lo:hi].tolist(),
                lon=lon[lo:hi].tolist(),
                alt=alt[lo:hi].tolist(),
                sigma_m=[s.sigma_m] * (hi - lo),
                signature=None if signature is None else [signature] * (hi - lo),
            )

        return self._per_scan(bounds, plots)


class CooperativeScanner(Scanner):
    """ADS-B and Remote ID receivers: one report per cooperative object in range."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._objs = {o.column: o for o in self.truth.objects}

    def scan_block(self, times_us: IntArray) -> list[list[InputEvent]]:
        s, c, rng = self.sensor, self.cfg, self.rng
        nb = len(times_us)
        p, v, _, r = self.seen_block(times_us)
        with np.errstate(invalid="ignore"):
            det = (r <= s.range_m) & (rng.random(r.shape) < s.p_detect)
        bi, mi = np.nonzero(det)
        sigma = c.adsb_sigma_m if s.kind == "adsb" else c.remote_id_sigma_m
        p, v = p[bi, mi], v[bi, mi]
        q = p + rng.normal(0.0, sigma, p.shape)
        vel = (v + rng.normal(0.0, 0.3, v.shape)).tolist()
        lat, lon, alt = self.scenario.frame.to_wgs84(q[:, 0], q[:, 1], q[:, 2])
        out: list[list[InputEvent]] = [[] for _ in range(nb)]
        for k, col, la, lo, al, (ve, vn, vu) in zip(
            bi.tolist(), self.cols[mi].tolist(), lat.tolist(), lon.tolist(), alt.tolist(), vel, strict=True
        ):
            o = self._objs[col]
            t = self.when(times_us[k])
            ve, vn, vu = round(ve, 2), round(vn, 2), round(vu, 2)
            if s.kind == "adsb":
                ev: InputEvent = AdsbReport(
                    t=t, icao24=o.icao24, callsign=o.callsign, lat=la, lon=lo, alt=max(0.0, al),
                    ve=ve, vn=vn, vu=vu,
                )  # fmt: skip
            else:
                ev = RemoteIdReport(
                    t=t, uas_id=o.uas_id, operator_id=o.operator_id, lat=la, lon=lo, alt=max(0.0, al),
                    ve=ve, vn=vn, vu=vu,
                )  # fmt: skip
            out[k].append(ev)
        return out


def _what_it_sees(truth: Truth, kind: str) -> IntArray:
    if kind in ("radar", "camera"):
        return truth.columns()
    if kind in ("rf", "acoustic"):
        return truth.columns(cls="drone")
    if kind == "adsb":
        return np.array([o.column for o in truth.objects if o.icao24], dtype=np.intp)
    return np.array([o.column for o in truth.objects if o.uas_id], dtype=np.intp)  # remote_id


def build_scanners(
    scenario: LoadedScenario, truth: Truth, seed: int, cfg: SimConfig
) -> list[Scanner]:
    """One scanner per sensor of the scenario, ranked in file order."""
    end_us = (scenario.end - scenario.start) // timedelta(microseconds=1)
    known = {s.id for s in scenario.spec.sensors}
    outages: dict[str, list[tuple[int, int]]] = {}
    for sid, t0, t1 in cfg.outages:
        if sid not in known:
            raise ConfigError(f"outage of an unknown sensor {sid!r} (known: {sorted(known)})")
        a = (scenario.at(t0) - scenario.start) // timedelta(microseconds=1)
        b = (scenario.at(t1) - scenario.start) // timedelta(microseconds=1)
        if b <= a:
            raise ConfigError(f"outage of {sid!r} ends ({t1}) before it starts ({t0})")
        outages.setdefault(sid, []).append((a, b))
    out: list[Scanner] = []
    for rank, s in enumerate(scenario.spec.sensors):
        rng = stream(seed, "sensor", s.id)
        period_us = max(1, round(s.period_s * US))
        phase_us = 1 + int(rng.integers(0, period_us))  # in (0, period]
        cols = _what_it_sees(truth, s.kind)
        e, n, u = scenario.frame.to_enu(s.lat, s.lon, s.alt)
        cls: type[Scanner]
        if s.kind == "radar":
            cls = RadarScanner
        elif s.kind in ("rf", "camera", "acoustic"):
            cls = PositionScanner
        else:
            cls = CooperativeScanner
        out.append(
            cls(
                sensor=s,
                rank=rank,
                truth=truth,
                scenario=scenario,
                cfg=cfg,
                rng=rng,
                period_us=period_us,
                phase_us=phase_us,
                end_us=end_us,
                cols=cols,
                enu=np.array([float(e), float(n), float(u)]),
                outages=outages.get(s.id, []),
            )
        )
    return out
