"""The "Carpet" plan: restrict an airport while a threat is near, lift it after a quiet period.

An airport (``scenario.spec.airports``) is restricted while any threat track (a drone or unknown
track with an active threat; with ``only_threats=False`` any drone/unknown track) is inside its
``restriction_radius_m`` or predicted to come inside it within ``horizon_s``. The prediction is
the constant-velocity closest approach to the airport, over tracks x airports at once::

    t* = clip(-(p . v) / |v|^2, 0, horizon),   d_min = |p + v t*|      (p, v east/north, m and m/s)

An attack drone ends its flight in the zone it is heading for, so with ``stop_in_zone_s`` set the
predicted path of a track whose threat names a zone it will enter stops that long after it
enters, instead of running on past the target toward an airport beyond it:
``horizon = min(horizon_s, time_to_zone + stop_in_zone_s)``.

It is lifted once ``quiet_s`` has passed with no such track. ``closures(events)`` summarises a
night: each airport's closed intervals and their total.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from skywarden.assess.threat import picture_local, picture_ok
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    Event,
    ThreatCleared,
    ThreatRaised,
    ThreatUpdated,
    TrackClassified,
    TrackDropped,
    TrackPicture,
)
from skywarden.geo import compass
from skywarden.scenario.load import LoadedScenario

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AirspaceConfig:
    """Settings of the airspace stage. Radius, horizon and quiet period are per airport (scenario)."""

    classes: tuple[str, ...] = ("drone", "unknown")
    only_threats: bool = True  # count only tracks with an active threat
    margin_m: float = 0.0  # added to every restriction radius
    stop_in_zone_s: float | None = 120.0  # path stops this long inside the threatened zone (None: never)


def closest_approach(
    pos: FloatArray, vel: FloatArray, centres: FloatArray, horizon_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Closest approach of N constant-velocity tracks to A points within horizons.

    ``pos``, ``vel`` (N, 2) east/north m and m/s; ``centres`` (A, 2) m; ``horizon_s`` (A,) per
    point or (N, A) per track and point. Returns ``(d_min, t_star)``, both (N, A): metres and
    seconds ahead.
    """
    rel = pos[:, None, :] - centres[None, :, :]  # (N, A, 2)
    v = vel[:, None, :]
    vv = np.sum(vel * vel, axis=1)[:, None]  # (N, 1)
    # t* = clip(-(p . v) / |v|^2, 0, horizon)
    t = np.where(vv > 1e-12, -np.sum(rel * v, axis=2) / np.maximum(vv, 1e-12), 0.0)
    hz = horizon_s if horizon_s.ndim == 2 else horizon_s[None, :]
    t = np.clip(t, 0.0, hz)
    d = np.hypot(rel[..., 0] + v[..., 0] * t, rel[..., 1] + v[..., 1] * t)
    return d, t


def time_to_radius(pos: FloatArray, vel: FloatArray, centre: FloatArray, radius: float) -> FloatArray:
    """(N,) seconds until each track first comes within ``radius`` of ``centre`` (0 if inside,
    inf if never): the smaller root of |p + v t|^2 = R^2."""
    rel = pos - centre[None, :]
    a = np.sum(vel * vel, axis=1)
    b = 2.0 * np.sum(rel * vel, axis=1)
    c = np.sum(rel * rel, axis=1) - radius**2
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        root = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2 * a)
    out = np.where((disc >= 0) & (a > 1e-12) & (root >= 0), root, np.inf)
    return np.where(c <= 0, 0.0, out)


@dataclass
class _Airport:
    since: datetime | None = None  # restricted since
    last_threat: datetime | None = None


class AirspaceStage:
    """Restrict and lift the scenario's airports ("Carpet" plan)."""

    name = "airspace"

    def __init__(self, scenario: LoadedScenario, config: AirspaceConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or AirspaceConfig()
        self.airports = list(scenario.spec.airports)
        cx, cy = [], []
        for a in self.airports:
            x, y = scenario.frame.point(a.lat, a.lon)
            cx.append(x)
            cy.append(y)
        self.centres = np.column_stack([cx, cy]) if self.airports else np.zeros((0, 2))
        self.radius = np.array([a.restriction_radius_m + self.config.margin_m for a in self.airports])
        self.horizon = np.array([a.horizon_s for a in self.airports], dtype=np.float64)
        self.state = {a.id: _Airport() for a in self.airports}
        self.picture: TrackPicture | None = None
        self.threats: dict[str, str] = {}  # track id -> zone id of active threats
        self.entry: dict[str, datetime | None] = {}  # track id -> when it enters its threat's zone
        self.cls: dict[str, str] = {}

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        for ev in events:
            if isinstance(ev, TrackPicture):
                if picture_ok(ev):
                    self.picture = ev
            elif isinstance(ev, ThreatRaised | ThreatUpdated):
                self.threats[ev.track_id] = ev.zone_id
                tz = ev.time_to_zone_s
                self.entry[ev.track_id] = None if tz is None else ev.t + timedelta(seconds=tz)
            elif isinstance(ev, ThreatCleared):
                self.threats.pop(ev.track_id, None)
                self.entry.pop(ev.track_id, None)
            elif isinstance(ev, TrackClassified):
                self.cls[ev.track_id] = ev.cls
            elif isinstance(ev, TrackDropped):
                self.threats.pop(ev.track_id, None)
                self.entry.pop(ev.track_id, None)
                self.cls.pop(ev.track_id, None)
        return self._evaluate(now)

    def _candidates(self, now: datetime) -> tuple[list[str], FloatArray, FloatArray, list[str]]:
        """Track ids, positions and velocities (now, local frame) of the tracks that count."""
        pic = self.picture
        if pic is None or not self.airports:
            return [], np.zeros((0, 2)), np.zeros((0, 2)), []
        classes, threats, known = self.config.classes, self.threats, self.cls
        only = self.config.only_threats
        rows = [
            i
            for i, (tid, c) in enumerate(zip(pic.track_id, pic.cls, strict=True))
            if (not only or tid in threats) and known.get(tid, c) in classes
        ]
        if not rows:
            return [], np.zeros((0, 2)), np.zeros((0, 2)), []
        r = np.asarray(rows)
        e, n = picture_local(self.scenario.frame, pic, r)
        vel = np.column_stack([np.asarray(pic.ve)[r], np.asarray(pic.vn)[r]])
        age = max((now - pic.t).total_seconds(), 0.0)
        pos = np.column_stack([e, n]) + vel * age  # advance a picture older than this tick
        ok = np.isfinite(pos).all(axis=1) & np.isfinite(vel).all(axis=1)
        ids = [pic.track_id[i] for i, good in zip(rows, ok, strict=True) if good]
        cls_of = [self.cls.get(pic.track_id[i], pic.cls[i]) for i, good in zip(rows, ok, strict=True) if good]
        return ids, pos[ok], vel[ok], cls_of

    def _evaluate(self, now: datetime) -> list[Event]:
        out: list[Event] = []
        ids, pos, vel, cls_of = self._candidates(now)
        if ids:
            d, _ = closest_approach(pos, vel, self.centres, self._horizons(now, ids))
            hit = d <= self.radius[None, :]  # (N, A)
        else:
            hit = np.zeros((0, len(self.airports)), dtype=bool)
        for j, a in enumerate(self.airports):
            st = self.state[a.id]
            rows = np.flatnonzero(hit[:, j]) if len(ids) else np.zeros(0, dtype=int)
            if rows.size:
                st.last_threat = now
                if st.since is None:
                    st.since = now
                    reason = self._reason(a.id, j, [ids[k] for k in rows], pos[rows], vel[rows], [cls_of[k] for k in rows])
                    out.append(
                        AirportRestricted(
                            t=now, airport_id=a.id, reason=reason, track_ids=sorted(ids[k] for k in rows)
                        )
                    )
            elif (
                st.since is not None
                and st.last_threat is not None
                and (now - st.last_threat).total_seconds() >= a.quiet_s
            ):
                duration = (now - st.since).total_seconds()
                out.append(AirportLifted(t=now, airport_id=a.id, restricted_since=st.since, duration_s=duration))
                st.since, st.last_threat = None, None
        return out

    def _horizons(self, now: datetime, ids: list[str]) -> FloatArray:
        """(N, A) look-ahead per track and airport: the airport's horizon, cut short for a track
        that will end its flight in the zone it is heading for."""
        hz = np.broadcast_to(self.horizon[None, :], (len(ids), len(self.airports))).copy()
        stop = self.config.stop_in_zone_s
        if stop is None:
            return hz
        for k, tid in enumerate(ids):
            entry = self.entry.get(tid)
            if entry is not None:
                left = max((entry - now).total_seconds(), 0.0) + stop
                hz[k] = np.minimum(hz[k], left)
        return hz

    def _reason(
        self, airport_id: str, j: int, ids: list[str], pos: FloatArray, vel: FloatArray, cls_of: list[str]
    ) -> str:
        a = self.airports[j]
        radius = self.radius[j]
        tin = time_to_radius(pos, vel, self.centres[j], radius)
        k = int(np.argmin(tin))
        rel = pos[k] - self.centres[j]
        side = compass(math.degrees(math.atan2(rel[0], rel[1])))
        what = f"{cls_of[k]} track {ids[k]}"
        where = f"{np.hypot(*rel) / 1000:.0f} km {side} of {a.name}"
        if tin[k] <= 0:
            text = f"{what} inside the {radius / 1000:.0f} km radius ({where})"
        else:
            when = f"{tin[k]:.0f} s" if tin[k] < 90 else f"{tin[k] / 60:.0f} min"
            text = f"{what} predicted within {radius / 1000:.0f} km in {when} ({where})"
        if len(ids) > 1:
            text += f"; {len(ids) - 1} more track{'s' if len(ids) > 2 else ''}"
        return text

    def restricted(self) -> dict[str, datetime]:
        """Airport id -> restricted since, for the airports restricted now."""
        return {aid: st.since for aid, st in self.state.items() if st.since is not None}


# --------------------------------------------------------------------------- the night's summary


@dataclass(frozen=True)
class AirportClosure:
    """One airport's restrictions over a night: ``intervals`` of (start, end); an end of None
    means still restricted at ``until``; ``total_s`` counts open intervals up to ``until``."""

    airport_id: str
    intervals: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    total_s: float = 0.0
    reasons: list[str] = field(default_factory=list)


def closures(events: Iterable[Event], until: datetime | None = None) -> dict[str, AirportClosure]:
    """How long each airport was closed, from the log's ``AirportRestricted``/``AirportLifted``.

    ``until`` closes intervals still open (default: the time of the last event seen).
    Airports are returned sorted by id.

    >>> closures([])
    {}
    """
    opened: dict[str, datetime] = {}
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {}
    reasons: dict[str, list[str]] = {}
    last: datetime | None = None
    for ev in events:
        last = ev.t if last is None or ev.t > last else last
        if isinstance(ev, AirportRestricted):
            if ev.airport_id not in opened:
                opened[ev.airport_id] = ev.t
                reasons.setdefault(ev.airport_id, []).append(ev.reason)
        elif isinstance(ev, AirportLifted):
            start = opened.pop(ev.airport_id, ev.restricted_since)
            spans.setdefault(ev.airport_id, []).append((start, ev.t))
    end = until or last
    for aid, start in opened.items():
        spans.setdefault(aid, []).append((start, None))
    result: dict[str, AirportClosure] = {}
    for aid in sorted(spans):
        iv = sorted(spans[aid], key=lambda s: s[0])
        total = 0.0
        for s, e in iv:
            stop = e if e is not None else end
            if stop is not None:
                total += max((stop - s).total_seconds(), 0.0)
        result[aid] = AirportClosure(aid, iv, total, reasons.get(aid, []))
    return result
