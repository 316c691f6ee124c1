"""The tracking stage: sensor and cooperative reports in, the track picture out.

Consumes ``PolarPlots`` (radar scans; the sensor's place comes with each scan and goes through
the scenario's local frame), ``PositionPlots`` (RF detectors, cameras), ``AdsbReport``,
``RemoteIdReport`` and ``SensorStatus``. Each tick it feeds the tick's scans and reports to the
:class:`~skywarden.tracking.tracker.Tracker` in time order and derives

* ``TrackConfirmed`` when a track passes M-of-N (time: the scan that confirmed it),
* ``TrackDropped`` when a track is deleted, with the reason,
* ``TrackClassified`` when a track's class is first decided or changes, or when a cooperative
  identity attaches,
* one ``TrackPicture`` per tick while there are confirmed tracks (and once more when the
  picture empties), with every track extrapolated to the tick's time ``now``.

Track ids are "T0001", "T0002", ... in confirmation order. Times: the tracker counts seconds
from the night's start; events carry UTC datetimes. Deterministic: no clock, no randomness,
no iteration over hashed sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from skywarden.events import (
    AdsbReport,
    Event,
    InputRefused,
    PolarPlots,
    PositionPlots,
    RemoteIdReport,
    SensorStatus,
    TrackClass,
    TrackClassified,
    TrackConfirmed,
    TrackDropped,
    TrackPicture,
)
from skywarden.geo import sun_elevation_deg
from skywarden.scenario import LoadedScenario
from skywarden.tracking.classify import CLASSES, UNKNOWN
from skywarden.tracking.tracker import Scan, Tracker, TrackerConfig, TrackTable


@dataclass(frozen=True)
class TrackingConfig:
    """Settings of the stage; the tracker's own knobs live in ``tracker``."""

    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    min_sigma_m: float = 1.0  # floor on a positional sensor's reported sigma
    max_lag_s: float = 1.0  # a report this much older than the picture is still used
    # sensors of these kinds give coarse fixes (hundreds of metres): their plots update and
    # inform tracks that other sensors confirmed, but never start or confirm one themselves
    support_kinds: tuple[str, ...] = ("rf", "acoustic")
    # a radar plot slower than this along the line of sight may only update a confirmed track,
    # not start or feed a tentative one: the Doppler notch where ground clutter lies; 0 = off
    notch_radial_ms: float = 5.0


_CLASS_OF: dict[str, TrackClass] = {
    "drone": "drone",
    "bird": "bird",
    "manned_aircraft": "manned_aircraft",
    "unknown": "unknown",
}


def _usable_position(ev: AdsbReport | RemoteIdReport) -> bool:
    """Finite, on Earth, below 1e6 m and 1e4 m/s: the edge holds reports to far narrower
    bounds (skywarden.ingest.validate); this keeps the tracker's arithmetic finite whatever
    reaches it."""
    vel = [v for v in (ev.ve, ev.vn, ev.vu) if v is not None]
    return (
        all(math.isfinite(x) for x in (ev.lat, ev.lon, ev.alt, *vel))
        and abs(ev.lat) <= 90
        and abs(ev.lon) <= 180
        and abs(ev.alt) < 1e6
        and all(abs(v) < 1e4 for v in vel)
    )


def track_name(tid: int) -> str:
    return f"T{tid:04d}"


_Item = PolarPlots | PositionPlots | AdsbReport | RemoteIdReport


class TrackingStage:
    """Event adapter of the tracker (see the module docstring)."""

    name = "tracking"
    # the only events ``step`` reads: source inputs, so the stage may run ahead of the later
    # stages in another process (skywarden.split)
    consumes = (PolarPlots, PositionPlots, AdsbReport, RemoteIdReport, SensorStatus)

    def __init__(self, scenario: LoadedScenario, config: TrackingConfig | None = None) -> None:
        self.scenario = scenario
        self.cfg = config or TrackingConfig()
        self.frame = scenario.frame
        self.epoch = scenario.start
        self.tracker = Tracker(self.cfg.tracker)
        self.sensor_status: dict[str, str] = {}
        self._shown: dict[int, tuple[str, str]] = {}  # track id -> (class, identity) last emitted
        self._had_picture = False
        self._table: TrackTable | None = None
        self._names: dict[int, str] = {}
        self._sensor_enu: dict[tuple[float, float, float], np.ndarray] = {}
        # a radar's reach from the scenario; a sensor the scenario does not know counts every look
        self._reach = {x.id: x.range_m for x in scenario.spec.sensors}
        self._support = frozenset(
            x.id for x in scenario.spec.sensors if x.kind in self.cfg.support_kinds
        )

    # ------------------------------------------------------------------ the Stage protocol

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        # after civil dusk (the sun 6 deg below the horizon) gliders no longer soar
        self.tracker.set_night(sun_elevation_deg(now, self.frame.lat0, self.frame.lon0) < -6.0)
        items: list[tuple[datetime, int, _Item]] = []
        refused: list[Event] = []
        for k, ev in enumerate(events):
            if isinstance(ev, AdsbReport | RemoteIdReport) and not _usable_position(ev):
                refused.append(self._refuse(ev, "position or velocity is not a finite number in range"))
            elif isinstance(ev, PolarPlots | PositionPlots | AdsbReport | RemoteIdReport):
                items.append((ev.t, k, ev))
            elif isinstance(ev, SensorStatus):
                self.sensor_status[ev.sensor_id] = ev.status
        items.sort(key=lambda it: (it[0], it[1]))
        # every cooperative report of the tick through the projection at once (per-point, so
        # the same numbers as one call each)
        coop = [ev for _, _, ev in items if isinstance(ev, AdsbReport | RemoteIdReport)]
        en: dict[int, tuple[float, float]] = {}
        if coop:
            ce, cn, _ = self.frame.to_enu([ev.lat for ev in coop], [ev.lon for ev in coop])
            en = {id(ev): p for ev, p in zip(coop, zip(ce.tolist(), cn.tolist(), strict=True), strict=True)}
        out: list[Event] = refused
        t_state = None
        changed = False
        for t, _, ev in items:
            s = self._seconds(t)
            if self.tracker.t is not None and s < self.tracker.t:
                lag = self.tracker.t - s
                if lag > self.cfg.max_lag_s:
                    out.append(
                        self._refuse(
                            ev,
                            f"report at {t.isoformat()} is {lag:.1f} s older than the picture "
                            f"(at most {self.cfg.max_lag_s:g} s is absorbed)",
                        )
                    )
                    continue
                # a little late (sensor latency): use it as of the picture's time; the error,
                # lag x speed, stays well under the plot's own
                s = self.tracker.t
            if isinstance(ev, PolarPlots | PositionPlots):
                try:
                    scan, why = self._scan(ev, s)
                except ValueError as exc:  # plots the tracker cannot use (Scan says why): refused, not fatal
                    scan, why = None, str(exc)
                if scan is None:
                    out.append(self._refuse(ev, why))
                    continue
                self.tracker.process(scan)
                changed |= len(scan.z) > 0
                t_state = t
                lc = self._lifecycle(t)
                changed |= bool(lc)
                out.extend(lc)
            else:
                changed |= self._cooperative(ev, s, en[id(ev)])
                t_state = t
        self.tracker.maintain(self._seconds(now))
        lc = self._lifecycle(now)
        changed |= bool(lc)
        out.extend(lc)
        if changed or self._table is None:
            # nothing moved since the last tick: the table (and the classes) are the same
            self.tracker.classify()
            self._table = self.tracker.table()
            out.extend(self._classified(self._table, t_state or now))
        table = self._table
        pic = self._picture(now, table)
        if pic is not None:
            out.append(pic)
        return out

    # ------------------------------------------------------------------ conversion

    def _seconds(self, t: datetime) -> float:
        return (t - self.epoch).total_seconds()

    def _scan(self, ev: PolarPlots | PositionPlots, s: float) -> tuple[Scan | None, str]:
        if isinstance(ev, PolarPlots):
            r = np.asarray(ev.range_m, dtype=np.float64)
            az = np.asarray(ev.azimuth_deg, dtype=np.float64)
            el = np.asarray(ev.elevation_deg, dtype=np.float64)
            if not (r.shape == az.shape == el.shape):
                return (
                    None,
                    f"range/azimuth/elevation lengths differ ({r.size}, {az.size}, {el.size})",
                )
            rcs = None if ev.rcs_dbsm is None else np.asarray(ev.rcs_dbsm, dtype=np.float64)
            if rcs is not None and rcs.shape != r.shape:
                return None, f"{rcs.size} rcs values for {r.size} plots"
            vr = (
                None
                if ev.radial_speed_ms is None
                else np.asarray(ev.radial_speed_ms, dtype=np.float64)
            )
            if vr is not None and vr.shape != r.shape:
                return None, f"{vr.size} radial speeds for {r.size} plots"
            sig = (ev.sigma_range_m, ev.sigma_azimuth_deg, ev.sigma_elevation_deg)
            if not all(math.isfinite(v) and 0 < v < 1e6 for v in sig):
                return None, f"sigmas must be positive numbers below 1e6, got {sig}"
            if not all(math.isfinite(v) for v in (ev.sensor_lat, ev.sensor_lon, ev.sensor_alt)):
                return None, "sensor position is not finite"
            # beyond 1e7 m a plot is no measurement (and its square overflows the covariance)
            ok = np.isfinite(r) & np.isfinite(az) & np.isfinite(el) & (r > 0) & (r < 1e7)
            key = (ev.sensor_lat, ev.sensor_lon, ev.sensor_alt)
            s_enu = self._sensor_enu.get(key)
            if s_enu is None:
                s_enu = np.array(self.frame.to_enu(*key), dtype=np.float64).reshape(3)
                self._sensor_enu[key] = s_enu
            # the compiled twin of convert.polar_to_enu (scalar sigmas, one sensor); numba is
            # loaded with the first plots, not with a stage restored for a tick without any
            from skywarden.tracking import kernels

            z, R = kernels.polar_to_enu(r[ok], az[ok], el[ok], float(sig[0]), float(sig[1]), float(sig[2]), s_enu)
            reach = self._reach.get(ev.sensor_id)
            coverage = None if reach is None else (float(s_enu[0]), float(s_enu[1]), float(s_enu[2]), reach)
            # a plot without a usable radial speed is not in the notch (nothing says it is)
            update_only = (
                None
                if vr is None or self.cfg.notch_radial_ms <= 0
                else np.abs(vr[ok]) < self.cfg.notch_radial_ms
            )
            return Scan(
                t=s, sensor_id=ev.sensor_id, z=z, R=R, rcs_dbsm=None if rcs is None else rcs[ok],
                coverage=coverage, update_only=update_only,
            ), ""
        if not ev.lat and not ev.lon and not ev.alt and not ev.sigma_m and not ev.signature:
            return Scan(
                t=s, sensor_id=ev.sensor_id, z=np.zeros((0, 3)), R=np.zeros((0, 3, 3)),
                initiates=ev.sensor_id not in self._support,
            ), ""
        lat = np.asarray(ev.lat, dtype=np.float64)
        lon = np.asarray(ev.lon, dtype=np.float64)
        alt = np.asarray(ev.alt, dtype=np.float64)
        sg = np.asarray(ev.sigma_m, dtype=np.float64)
        if not (lat.shape == lon.shape == alt.shape == sg.shape):
            return (
                None,
                f"lat/lon/alt/sigma lengths differ ({lat.size}, {lon.size}, {alt.size}, {sg.size})",
            )
        if ev.signature is not None and len(ev.signature) != lat.size:
            return None, f"{len(ev.signature)} signatures for {lat.size} plots"
        ok = (
            np.isfinite(lat)
            & np.isfinite(lon)
            & np.isfinite(alt)
            & np.isfinite(sg)
            & (np.abs(lat) <= 90)
            & (np.abs(lon) <= 180)
            & (np.abs(alt) < 1e6)
            & (sg < 1e6)
        )
        e, n, u = self.frame.to_enu(lat[ok], lon[ok], alt[ok])
        var = np.maximum(sg[ok], self.cfg.min_sigma_m) ** 2
        R = var[:, None, None] * np.eye(3)[None]
        sigs = (
            None
            if ev.signature is None
            else [s_ for s_, k in zip(ev.signature, ok.tolist(), strict=True) if k]
        )
        return Scan(
            t=s, sensor_id=ev.sensor_id, z=np.column_stack([e, n, u]), R=R, signature=sigs,
            initiates=ev.sensor_id not in self._support,
        ), ""

    def _cooperative(self, ev: AdsbReport | RemoteIdReport, s: float, en: tuple[float, float]) -> bool:
        """Attach the report (``en``: its east/north in the local frame, m); True when it
        matched a track."""
        e, n = en
        vel = None if ev.ve is None or ev.vn is None else np.array([ev.ve, ev.vn, ev.vu or 0.0])
        before = self.tracker.counts["identity_changes"]
        if isinstance(ev, AdsbReport):
            ident = ev.callsign.strip() or ev.icao24
            i = self.tracker.cooperative(s, "adsb", ident, np.array([e, n, ev.alt]), vel)
        else:
            i = self.tracker.cooperative(s, "remote_id", ev.uas_id, np.array([e, n, ev.alt]), vel)
        return i is not None and self.tracker.counts["identity_changes"] != before

    def _refuse(self, ev: _Item, reason: str) -> InputRefused:
        ref = (
            getattr(ev, "sensor_id", None)
            or getattr(ev, "icao24", None)
            or getattr(ev, "uas_id", "")
        )
        kind = type(ev).__struct_config__.tag
        return InputRefused(
            t=ev.t, stage=self.name, input_kind=str(kind), ref=str(ref), reason=reason
        )

    # ------------------------------------------------------------------ derived events

    def _lifecycle(self, t: datetime) -> list[Event]:
        confirmed, dropped = self.tracker.take_lifecycle()
        out: list[Event] = []
        if confirmed:
            table = self.tracker.table()
            row = {int(i): k for k, i in enumerate(table.ids)}
            for tid in confirmed:
                k = row.get(tid)
                if k is None:  # confirmed and merged away within one scan
                    continue
                lat, lon, alt = self.frame.to_wgs84(table.x[k, 0], table.x[k, 1], table.x[k, 2])
                out.append(
                    TrackConfirmed(
                        t=t,
                        track_id=track_name(tid),
                        lat=float(lat),
                        lon=float(lon),
                        alt=float(alt),
                        sensors=table.sensors(k),
                    )
                )
        for tid, reason in dropped:
            out.append(TrackDropped(t=t, track_id=track_name(tid), reason=reason))
            self._shown.pop(tid, None)
        return out

    def _classified(self, table: TrackTable, t: datetime) -> list[Event]:
        out: list[Event] = []
        for k in range(len(table)):
            tid = int(table.ids[k])
            cls, ident = str(table.cls[k]), str(table.identity[k])
            last = self._shown.get(tid, (UNKNOWN, ""))
            if (cls, ident) == last:
                continue
            self._shown[tid] = (cls, ident)
            f = table.features[k]
            feats = {
                "speed_ms": round(float(f[0]), 2),
                "alt_m": round(float(f[1]), 1),
                "turn_deg_s": round(float(f[2]), 3),
            }
            if math.isfinite(f[3]):
                feats["rcs_dbsm"] = round(float(f[3]), 2)
            if f[4] > 0:
                feats["c2_link_plots"] = float(f[4])
            if len(f) > 7:  # behaviour over the track's life
                feats["climb_ms"] = round(float(f[5]), 2)
                feats["speed_sd_ms"] = round(float(f[6]), 2)
                feats["circles"] = round(float(f[7]), 2)
            if len(f) > 8:  # how far the evidence separates a drone from the likeliest other kind
                feats["drone_evidence"] = round(float(min(math.exp(min(f[8], 50.0)), 1e6)), 3)
            for name, p in zip(CLASSES, table.posterior[k].tolist(), strict=True):
                feats[f"p_{name}"] = round(float(p), 4)
            out.append(
                TrackClassified(
                    t=t,
                    track_id=track_name(tid),
                    cls=_CLASS_OF[cls],
                    p=round(float(table.p_cls[k]), 4),
                    identity=ident,
                    features=feats,
                )
            )
        return out

    def _picture(self, now: datetime, table: TrackTable) -> TrackPicture | None:
        n = len(table)
        if n == 0 and not self._had_picture:
            return None
        self._had_picture = n > 0
        dt = self._seconds(now) - table.t if n else 0.0
        x = table.x
        pos = x[:, :3] + dt * x[:, 3:]
        P = table.P
        # P_pos(now) = P_pp + dt (P_pv + P_vp) + dt^2 P_vv, horizontal block
        Ph = P[:, :2, :2] + dt * (P[:, :2, 3:5] + P[:, 3:5, :2]) + dt * dt * P[:, 3:5, 3:5]
        tr_, det = Ph[:, 0, 0] + Ph[:, 1, 1], Ph[:, 0, 0] * Ph[:, 1, 1] - Ph[:, 0, 1] * Ph[:, 1, 0]
        lam_max = 0.5 * tr_ + np.sqrt(np.maximum(0.25 * tr_**2 - det, 0.0))
        lat, lon, alt = self.frame.to_wgs84(pos[:, 0], pos[:, 1], pos[:, 2])
        return TrackPicture(
            t=now,
            track_id=[self._name(i) for i in table.ids.tolist()],
            lat=lat.tolist(),
            lon=lon.tolist(),
            alt=alt.tolist(),
            ve=x[:, 3].tolist(),
            vn=x[:, 4].tolist(),
            vu=x[:, 5].tolist(),
            sigma_m=np.sqrt(lam_max).tolist(),
            cls=table.cls.tolist(),
            p_cls=table.p_cls.tolist(),
            east_m=pos[:, 0].tolist(),
            north_m=pos[:, 1].tolist(),
        )

    def _name(self, tid: int) -> str:
        name = self._names.get(tid)
        if name is None:
            name = self._names[tid] = track_name(tid)
        return name

    def scan_time(self, s: float) -> datetime:
        """Tracker seconds -> UTC datetime."""
        return self.epoch + timedelta(seconds=s)
