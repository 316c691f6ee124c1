"""Kills reported by the air-defence command: matched to a track, numbered, corrected.

A ``KillReported`` is matched to a track — the one it names (``track_ref``) or else the nearest
drone/unknown track at the kill's time and place, from the recent ``TrackPicture`` history
(within ``gate_m`` and ``gate_s``) — and numbered: in the night (1, 2, 3 ...) and in the local
calendar day of the scenario's time zone, with its local time ("03:10"). Corrections are appended,
never edits: a ``KillWithdrawn`` retracts a number (``KillRetracted``) that is never given again,
so later kills keep counting up; a second report of a kill already numbered (the same track, or
within ``dup_window_s`` and ``dup_radius_m`` of it when the tracks do not tell them apart) is a
``KillDuplicate`` and gets no number. A withdrawal naming an unknown report is refused
(``InputRefused``).

The report's ``t`` is taken as the kill time.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import shapely

from skywarden.errors import TransitionError
from skywarden.events import (
    Event,
    InputRefused,
    KillDuplicate,
    KillNumbered,
    KillReported,
    KillRetracted,
    KillWithdrawn,
    ThreatRaised,
    ThreatUpdated,
    TrackClassified,
    TrackPicture,
)
from skywarden.geo import CoordinateError, check_lat_lon
from skywarden.scenario.load import LoadedScenario

# The lifecycle of a kill report as data.
KILL_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("reported", "numbered"),
        ("reported", "duplicate"),
        ("numbered", "retracted"),
        ("duplicate", "withdrawn"),
    }
)


def check_transition(current: str, wanted: str) -> None:
    if (current, wanted) not in KILL_TRANSITIONS:
        raise TransitionError("kill report", current, wanted)


@dataclass(frozen=True)
class KillConfig:
    """Settings of the kill stage (metres, seconds)."""

    classes: tuple[str, ...] = ("drone", "unknown")  # tracks a kill can be matched to
    gate_m: float = 3_000.0  # a kill farther than this from every track is unmatched
    gate_s: float = 120.0  # a track last seen longer than this before the kill is not a candidate
    history_s: float = 900.0  # how much track history is kept
    max_extrapolate_s: float = 60.0  # past a track's last sample, dead-reckon at most this long
    dup_window_s: float = 90.0
    dup_radius_m: float = 2_000.0
    near_zone_m: float = 5_000.0  # "near" a zone: inside it or this close to its edge


@dataclass
class _History:
    """One track's recent positions (local frame) and velocities, oldest first."""

    t: deque[float] = field(default_factory=deque)  # POSIX seconds
    x: deque[float] = field(default_factory=deque)
    y: deque[float] = field(default_factory=deque)
    ve: deque[float] = field(default_factory=deque)
    vn: deque[float] = field(default_factory=deque)

    def at(self, ts: float, max_extrapolate_s: float) -> tuple[float, float] | None:
        """Position at POSIX time ``ts``: interpolated inside the history, dead-reckoned at most
        ``max_extrapolate_s`` past its ends."""
        if not self.t:
            return None
        t = list(self.t)
        k = bisect.bisect_left(t, ts)
        if k == 0:
            dt = ts - t[0]
            if -dt > max_extrapolate_s:
                return None
            return self.x[0] + self.ve[0] * dt, self.y[0] + self.vn[0] * dt
        if k == len(t):
            dt = ts - t[-1]
            if dt > max_extrapolate_s:
                return None
            return self.x[-1] + self.ve[-1] * dt, self.y[-1] + self.vn[-1] * dt
        # x = x0 + (x1 - x0) * (t - t0) / (t1 - t0)
        f = (ts - t[k - 1]) / (t[k] - t[k - 1]) if t[k] > t[k - 1] else 0.0
        return (self.x[k - 1] + (self.x[k] - self.x[k - 1]) * f, self.y[k - 1] + (self.y[k] - self.y[k - 1]) * f)


@dataclass
class _Kill:
    report_id: str
    state: str  # reported | numbered | duplicate | retracted | withdrawn
    t: datetime
    x: float
    y: float
    track_id: str | None
    number: int = 0
    duplicate_of: str = ""


class KillStage:
    """Match, number and correct the kills the air-defence command reports."""

    name = "kills"

    def __init__(self, scenario: LoadedScenario, config: KillConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or KillConfig()
        self.history: dict[str, _History] = {}
        self.cls: dict[str, str] = {}
        self.toward: dict[str, str] = {}  # track id -> zone of its last threat
        self.kills: dict[str, _Kill] = {}  # report id -> kill, in report order
        self.numbered_tracks: dict[str, str] = {}  # track id -> report id of its (live) number
        self.number = 0
        self.day_numbers: dict[date, int] = {}
        self.zone_ids = sorted(scenario.zone_shapes, key=lambda z: (self._priority(z), z))

    def _priority(self, zone_id: str) -> int:
        return next(z.priority for z in self.scenario.spec.zones if z.id == zone_id)

    # ------------------------------------------------------------------ stage
    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, TrackPicture):
                self._remember(ev)
            elif isinstance(ev, TrackClassified):
                self.cls[ev.track_id] = ev.cls
            elif isinstance(ev, ThreatRaised | ThreatUpdated):
                self.toward[ev.track_id] = ev.zone_id
            elif isinstance(ev, KillReported):
                out.append(self._report(ev))
            elif isinstance(ev, KillWithdrawn):
                res = self._withdraw(ev)
                if res is not None:
                    out.append(res)
        return out

    def _remember(self, pic: TrackPicture) -> None:
        if not pic.track_id:
            self._forget(pic.t.timestamp())
            return
        e, n, _ = self.scenario.frame.to_enu(pic.lat, pic.lon)
        ts = pic.t.timestamp()
        for i, tid in enumerate(pic.track_id):
            if not (math.isfinite(e[i]) and math.isfinite(n[i])):
                continue
            h = self.history.setdefault(tid, _History())
            if h.t and ts <= h.t[-1]:
                continue
            h.t.append(ts)
            h.x.append(float(e[i]))
            h.y.append(float(n[i]))
            h.ve.append(float(pic.ve[i]))
            h.vn.append(float(pic.vn[i]))
            if pic.cls[i] != "unknown" or tid not in self.cls:
                self.cls[tid] = pic.cls[i]
        self._forget(ts)

    def _forget(self, ts: float) -> None:
        horizon = ts - self.config.history_s
        for tid in sorted(self.history):
            h = self.history[tid]
            while h.t and h.t[0] < horizon:
                for q in (h.t, h.x, h.y, h.ve, h.vn):
                    q.popleft()
            if not h.t:
                del self.history[tid]

    # ------------------------------------------------------------------ matching
    def match(self, t: datetime, x: float, y: float) -> tuple[str | None, float]:
        """The nearest drone/unknown track to (x, y) local metres at ``t`` within the gates,
        not already holding a live number; (None, inf) if none."""
        ts = t.timestamp()
        cfg = self.config
        ids: list[str] = []
        px: list[float] = []
        py: list[float] = []
        for tid in sorted(self.history):
            if self.cls.get(tid, "unknown") not in cfg.classes or tid in self.numbered_tracks:
                continue
            h = self.history[tid]
            if ts - h.t[-1] > cfg.gate_s:
                continue
            p = h.at(ts, max(cfg.max_extrapolate_s, 0.0))
            if p is None:
                p = (h.x[-1], h.y[-1])  # seen within gate_s but beyond the dead-reckoning limit
            ids.append(tid)
            px.append(p[0])
            py.append(p[1])
        if not ids:
            return None, math.inf
        d = np.hypot(np.asarray(px) - x, np.asarray(py) - y)
        k = int(np.argmin(d))
        return (ids[k], float(d[k])) if d[k] <= cfg.gate_m else (None, float(d[k]))

    def _duplicate_of(self, rep: KillReported, x: float, y: float, track_id: str | None) -> str | None:
        if track_id is not None and track_id in self.numbered_tracks:
            return self.numbered_tracks[track_id]
        cfg = self.config
        for k in self.kills.values():
            if k.state != "numbered":
                continue
            if abs((rep.t - k.t).total_seconds()) > cfg.dup_window_s:
                continue
            if math.hypot(k.x - x, k.y - y) > cfg.dup_radius_m:
                continue
            if track_id is not None and k.track_id is not None and k.track_id != track_id:
                continue  # two different tracks: two kills, however close
            return k.report_id
        return None

    # ------------------------------------------------------------------ reports
    def _refuse(self, ev: Event, ref: str, reason: str) -> InputRefused:
        kind = type(ev).__struct_config__.tag  # type: ignore[attr-defined]
        return InputRefused(t=ev.t, stage=self.name, input_kind=str(kind), ref=ref, reason=reason)

    def _report(self, rep: KillReported) -> Event:
        try:
            check_lat_lon(rep.lat, rep.lon)
        except CoordinateError as exc:
            return self._refuse(rep, rep.report_id, str(exc))
        if rep.report_id in self.kills:
            return self._refuse(rep, rep.report_id, "report id already used for another kill report")
        x, y = self.scenario.frame.point(rep.lat, rep.lon)
        track_id: str | None = None
        matched_by = "unmatched"
        if rep.track_ref:
            track_id, matched_by = rep.track_ref, "track_ref"
        else:
            track_id, _ = self.match(rep.t, x, y)
            if track_id is not None:
                matched_by = "nearest_track"
        kill = _Kill(rep.report_id, "reported", rep.t, x, y, track_id)
        self.kills[rep.report_id] = kill
        dup = self._duplicate_of(rep, x, y, track_id)
        if dup is not None:
            check_transition(kill.state, "duplicate")
            kill.state, kill.duplicate_of = "duplicate", dup
            return KillDuplicate(t=rep.t, report_id=rep.report_id, duplicate_of=dup)
        check_transition(kill.state, "numbered")
        self.number += 1
        local = rep.t.astimezone(self.scenario.tz)
        day = self.day_numbers.get(local.date(), 0) + 1
        self.day_numbers[local.date()] = day
        kill.state, kill.number = "numbered", self.number
        if track_id is not None:
            self.numbered_tracks[track_id] = rep.report_id
        alt = rep.alt if rep.alt is not None and math.isfinite(rep.alt) else 0.0
        return KillNumbered(
            t=rep.t,
            report_id=rep.report_id,
            number=self.number,
            day_number=day,
            local_time=local.strftime("%H:%M"),
            incident_id="INC-" + (track_id if track_id is not None else rep.report_id),
            track_id=track_id,
            matched_by=matched_by,  # type: ignore[arg-type]
            lat=rep.lat,
            lon=rep.lon,
            alt=alt,
            near=self.near(x, y),
            toward=self.toward.get(track_id, "") if track_id is not None else "",
        )

    def near(self, x: float, y: float) -> str:
        """The zone the point is in (or within ``near_zone_m`` of, the nearest), else its district."""
        pt = shapely.Point(x, y)
        best, best_d = "", math.inf
        for zid in self.zone_ids:
            d = float(self.scenario.zone_shapes[zid].distance(pt))
            if d <= self.config.near_zone_m and d < best_d:
                best, best_d = zid, d
        if best:
            return best
        for did in sorted(self.scenario.district_shapes):
            if self.scenario.district_shapes[did].contains(pt):
                return did
        return ""

    def _withdraw(self, ev: KillWithdrawn) -> Event | None:
        kill = self.kills.get(ev.report_id)
        if kill is None:
            return self._refuse(ev, ev.report_id, "no kill report with this id")
        if kill.state == "duplicate":
            check_transition(kill.state, "withdrawn")
            kill.state = "withdrawn"
            return None  # a duplicate had no number: nothing to retract
        if kill.state != "numbered":
            return self._refuse(ev, ev.report_id, f"already {kill.state}")
        check_transition(kill.state, "retracted")
        kill.state = "retracted"
        if kill.track_id is not None and self.numbered_tracks.get(kill.track_id) == kill.report_id:
            del self.numbered_tracks[kill.track_id]
        return KillRetracted(t=ev.t, report_id=ev.report_id, number=kill.number, reason=ev.reason or "withdrawn by the command")

    # ------------------------------------------------------------------ views
    def numbered(self) -> list[tuple[int, str]]:
        """(number, report id) of the live (not retracted) kills, in number order."""
        return sorted((k.number, k.report_id) for k in self.kills.values() if k.state == "numbered")

