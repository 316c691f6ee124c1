"""Kills reported by the air-defence command: matched to a track, numbered, corrected.

A ``KillReported`` comes some seconds after the kill it reports (its ``t`` is the report's time)
and some hundred metres off. It is matched to a track — the one it names (``track_ref``) or else
the drone/unknown track whose recent path (the ``TrackPicture`` history over the last
``lookback_s``, dead-reckoned past its last sample) came nearest to the reported point, within
``gate_m`` — and numbered in report order: in the night (1, 2, 3 ...) and in the local calendar
day of the scenario's time zone. The kill time is when the matched track was nearest the reported
point (the report's time when unmatched); ``local_time`` ("03:10") and the day follow from it.

Corrections are appended, never edits: a ``KillWithdrawn`` retracts a number (``KillRetracted``)
that is never given again, so later kills keep counting up. A second report of a kill already
numbered — within ``dup_window_s`` and ``dup_radius_m`` of it, unless the tracks tell the two
apart (the new report's track is another one, and the earlier kill's track is more than
``ambiguity_m`` farther from the new point) — is a ``KillDuplicate`` and gets no number. A
withdrawal naming an unknown report is refused (``InputRefused``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
import shapely

from skywarden.assess.threat import picture_local, picture_ok
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
    TrackDropped,
    TrackPicture,
)
from skywarden.geo import CoordinateError, LocalFrame, check_lat_lon
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
    gate_m: float = 3_000.0  # a kill farther than this from every track's recent path is unmatched
    lookback_s: float = 120.0  # the report comes this long after the kill at most
    history_s: float = 900.0  # how much track history is kept
    max_extrapolate_s: float = 30.0  # past a track's last sample, dead-reckon at most this long
    dup_window_s: float = 90.0  # between the reports of one kill
    dup_radius_m: float = 2_000.0
    ambiguity_m: float = 500.0  # tracks closer than this to each other do not tell two kills apart
    ended_bonus_m: float = 1_000.0  # a track that ended near the kill is preferred to a flying one
    coexist_s: float = 60.0  # two tracks seen together this long are two drones, not a broken track
    near_zone_m: float = 5_000.0  # "near" a zone: inside it or this close to its edge


def nearest_approach(
    t: np.ndarray, xs: np.ndarray, ys: np.ndarray, ve: list[float], vn: list[float],
    x: float, y: float, ts: float, lookback_s: float, max_extrapolate_s: float,
) -> tuple[float, float]:
    """(distance m, POSIX time) where one track's path over [ts - lookback_s, ts] came nearest to
    (x, y): its samples (times ``t``, ascending; positions ``xs``, ``ys``; velocities ``ve``,
    ``vn``), and the ray dead-reckoned from the last sample before ``ts`` for at most
    ``max_extrapolate_s``. (inf, nan) if it has no sample in or before the window."""
    last = int(np.searchsorted(t, ts, side="right")) - 1
    if last < 0 or ts - t[last] > lookback_s + max_extrapolate_s:
        return math.inf, math.nan
    win = (t >= ts - lookback_s) & (t <= ts)
    best_d, best_t = math.inf, math.nan
    if win.any():
        d = np.hypot(xs[win] - x, ys[win] - y)
        k = int(np.argmin(d))
        best_d, best_t = float(d[k]), float(t[win][k])
    # s* = clip(((k - p) . v) / |v|^2, 0, s_max): the ray's nearest point to the kill
    v_e, v_n = ve[last], vn[last]
    vv = v_e * v_e + v_n * v_n
    s_max = min(ts - t[last], max_extrapolate_s)
    if vv > 1e-9 and s_max > 0:
        s = min(max(((x - xs[last]) * v_e + (y - ys[last]) * v_n) / vv, 0.0), s_max)
        d_ray = math.hypot(xs[last] + v_e * s - x, ys[last] + v_n * s - y)
        if d_ray < best_d and t[last] + s >= ts - lookback_s:
            best_d, best_t = d_ray, float(t[last] + s)
    return best_d, best_t


@dataclass
class _Kept:
    """One picture kept for matching; its local-frame positions are worked out only when a kill
    report needs them (a picture comes every tick, a kill report a few times an hour)."""

    ts: float  # POSIX seconds
    pic: TrackPicture
    en: tuple[list[float], list[float]] | None = None

    def local(self, frame: LocalFrame) -> tuple[list[float], list[float]]:
        if self.en is None:
            e, n = picture_local(frame, self.pic)
            self.en = (e.tolist(), n.tolist())
        return self.en


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
    kill_t: datetime | None = None


class KillStage:
    """Match, number and correct the kills the air-defence command reports."""

    name = "kills"

    def __init__(self, scenario: LoadedScenario, config: KillConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or KillConfig()
        # the pictures of the last history_s, oldest first, and when each track was last in one
        # (with a finite position): enough to match a kill, and cheap to keep on every tick
        self.kept: deque[_Kept] = deque()
        self.last_seen: dict[str, float] = {}
        self.dropped: set[str] = set()
        self.latest: float | None = None  # POSIX time of the latest picture
        self.cls: dict[str, str] = {}
        self.toward: dict[str, str] = {}  # track id -> zone of its last threat
        self.kills: dict[str, _Kill] = {}  # report id -> kill, in report order
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
                if picture_ok(ev):
                    self._remember(ev)
            elif isinstance(ev, TrackClassified):
                self.cls[ev.track_id] = ev.cls
            elif isinstance(ev, TrackDropped):
                self.dropped.add(ev.track_id)
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
        ts = pic.t.timestamp()
        if self.latest is not None and ts <= self.latest:
            return  # the tracker's pictures come in time order: a late one adds nothing
        self.latest = ts
        isfinite, cls, seen = math.isfinite, self.cls, self.last_seen
        for tid, lat, lon, c in zip(pic.track_id, pic.lat, pic.lon, pic.cls, strict=True):
            if not (isfinite(lat) and isfinite(lon)):
                continue
            seen[tid] = ts
            if c != "unknown" or tid not in cls:
                cls[tid] = c
        self.kept.append(_Kept(ts, pic))
        self._forget(ts)

    def _forget(self, ts: float) -> None:
        horizon = ts - self.config.history_s
        if self.kept[0].ts >= horizon:
            return
        while self.kept and self.kept[0].ts < horizon:
            self.kept.popleft()
        # a track with no sample left is forgotten (and no longer counts as dropped)
        for tid in [tid for tid, last in self.last_seen.items() if last < horizon]:
            del self.last_seen[tid]
            self.dropped.discard(tid)

    def _samples(self, since: float, until: float) -> dict[str, tuple[list[float], ...]]:
        """Track id -> (times, x, y, ve, vn) of its samples with ``since <= t <= until``."""
        out: dict[str, tuple[list[float], ...]] = {}
        isfinite = math.isfinite
        for k in self.kept:
            if k.ts < since or k.ts > until:
                continue
            e, n = k.local(self.scenario.frame)
            p = k.pic
            for tid, x, y, ve, vn in zip(p.track_id, e, n, p.ve, p.vn, strict=True):
                if not (isfinite(x) and isfinite(y)):
                    continue
                h = out.get(tid)
                if h is None:
                    h = out[tid] = ([], [], [], [], [])
                h[0].append(k.ts)
                h[1].append(x)
                h[2].append(y)
                h[3].append(float(ve))
                h[4].append(float(vn))
        return out

    # ------------------------------------------------------------------ matching
    def candidates(self, t: datetime, x: float, y: float) -> dict[str, tuple[float, float]]:
        """Track id -> (distance m, POSIX time) of each drone/unknown track's nearest approach to
        (x, y) (local metres) over the ``lookback_s`` before ``t``; sorted by track id."""
        ts = t.timestamp()
        cfg = self.config
        samples = self._samples(ts - cfg.lookback_s - cfg.max_extrapolate_s, ts)
        out: dict[str, tuple[float, float]] = {}
        for tid in sorted(samples):
            if self.cls.get(tid, "unknown") not in cfg.classes:
                continue
            st, sx, sy, sve, svn = samples[tid]
            d, when = nearest_approach(
                np.asarray(st), np.asarray(sx), np.asarray(sy), sve, svn,
                x, y, ts, cfg.lookback_s, cfg.max_extrapolate_s,
            )  # fmt: skip
            if math.isfinite(d):
                out[tid] = (d, when)
        return out

    def ended(self, tid: str) -> bool:
        """The track is gone: dropped, or missing from the latest picture."""
        last = self.last_seen.get(tid)
        return tid in self.dropped or last is None or (self.latest is not None and last < self.latest)

    def coexisted(self, a: str, b: str) -> float:
        """Seconds both tracks were in the picture together (overlap of their kept histories)."""
        la, lb = self.last_seen.get(a), self.last_seen.get(b)
        if la is None or lb is None:
            return 0.0
        return max(0.0, min(la, lb) - max(self._first_kept(a), self._first_kept(b)))

    def _first_kept(self, tid: str) -> float:
        """When the track's oldest kept sample was taken."""
        isfinite = math.isfinite
        for k in self.kept:
            p = k.pic
            for t_id, lat, lon in zip(p.track_id, p.lat, p.lon, strict=True):
                if t_id == tid and isfinite(lat) and isfinite(lon):
                    return k.ts
        return math.inf

    def live_tracks(self, t: datetime | None = None, window_s: float = math.inf) -> set[str]:
        """Tracks holding a live (not retracted) kill number, reported within ``window_s`` of ``t``."""
        return {
            k.track_id
            for k in self.kills.values()
            if k.state == "numbered"
            and k.track_id is not None
            and (t is None or abs((k.t - t).total_seconds()) <= window_s)
        }

    def choose(self, t: datetime, cands: dict[str, tuple[float, float]]) -> str | None:
        """The track a kill report made at ``t`` is about, among the candidates within ``gate_m``:
        the least ``cost = d - ended_bonus_m [ended] + ambiguity_m [numbered lately]``.

        A kill ends a track, so a track that has ended near the point beats one still flying
        (e.g. the next drone of the wave, passing the same spot a little later); a track whose
        kill was reported within ``dup_window_s`` is already counted, so a fresh track that ended
        there too beats it unless it is much nearer."""
        cfg = self.config
        inside = {tid: c for tid, c in cands.items() if c[0] <= cfg.gate_m}
        if not inside:
            return None
        recent = self.live_tracks(t, cfg.dup_window_s)

        def cost(tid: str) -> tuple[float, str]:
            c = inside[tid][0]
            c -= cfg.ended_bonus_m if self.ended(tid) else 0.0
            c += cfg.ambiguity_m if tid in recent else 0.0
            return c, tid

        return min(sorted(inside), key=cost)

    def match(self, t: datetime, x: float, y: float) -> tuple[str | None, float]:
        """The track a kill at (x, y) local metres reported at ``t`` is about (see :meth:`choose`)
        and its distance; (None, distance of the nearest or inf) when none is within the gate."""
        cands = self.candidates(t, x, y)
        tid = self.choose(t, cands)
        if tid is not None:
            return tid, cands[tid][0]
        return None, min((c[0] for c in cands.values()), default=math.inf)

    def _duplicate_of(
        self,
        rep: KillReported,
        x: float,
        y: float,
        track_id: str | None,
        cands: dict[str, tuple[float, float]],
        ended: bool,
    ) -> str | None:
        cfg = self.config
        for k in self.kills.values():
            if k.state != "numbered":
                continue
            if abs((rep.t - k.t).total_seconds()) > cfg.dup_window_s:
                continue
            if track_id is not None and k.track_id == track_id:
                return k.report_id
            if math.hypot(k.x - x, k.y - y) > cfg.dup_radius_m:
                continue
            if (
                track_id is not None
                and k.track_id is not None
                and ended
                and track_id not in self.live_tracks(rep.t, cfg.dup_window_s)
                and self.coexisted(track_id, k.track_id) >= cfg.coexist_s
            ):
                continue  # another drone, flying beside that one, whose track ended here: another kill
            if track_id is not None and k.track_id is not None:
                if rep.track_ref:
                    continue  # the command names another track: another kill
                d_new = cands.get(track_id, (math.inf, 0.0))[0]
                d_old = cands.get(k.track_id, (math.inf, 0.0))[0]
                if d_old > d_new + cfg.ambiguity_m:
                    continue  # the tracks tell the two kills apart
            return k.report_id
        return None

    # ------------------------------------------------------------------ reports
    def _refuse(self, ev: Event, ref: str, reason: str) -> InputRefused:
        kind = type(ev).__struct_config__.tag
        return InputRefused(t=ev.t, stage=self.name, input_kind=str(kind), ref=ref, reason=reason)

    def _report(self, rep: KillReported) -> Event:
        try:
            check_lat_lon(rep.lat, rep.lon)
        except CoordinateError as exc:
            return self._refuse(rep, rep.report_id, str(exc))
        if rep.report_id in self.kills:
            return self._refuse(rep, rep.report_id, "report id already used for another kill report")
        x, y = self.scenario.frame.point(rep.lat, rep.lon)
        cands = self.candidates(rep.t, x, y)
        track_id: str | None = None
        matched_by: Literal["track_ref", "nearest_track", "unmatched"] = "unmatched"
        if rep.track_ref:
            track_id, matched_by = rep.track_ref, "track_ref"
        else:
            track_id = self.choose(rep.t, cands)
            if track_id is not None:
                matched_by = "nearest_track"
        # the kill happened when the track was nearest the reported point (before the report)
        kill_t = rep.t
        if track_id in cands and math.isfinite(cands[track_id][1]):
            kill_t = min(rep.t, datetime.fromtimestamp(cands[track_id][1], tz=UTC))
        kill = _Kill(rep.report_id, "reported", rep.t, x, y, track_id, kill_t=kill_t)
        self.kills[rep.report_id] = kill
        dup = self._duplicate_of(rep, x, y, track_id, cands, ended=track_id is not None and self.ended(track_id))
        if dup is not None:
            check_transition(kill.state, "duplicate")
            kill.state, kill.duplicate_of = "duplicate", dup
            return KillDuplicate(t=rep.t, report_id=rep.report_id, duplicate_of=dup)
        check_transition(kill.state, "numbered")
        self.number += 1
        local = kill_t.astimezone(self.scenario.tz)
        day = self.day_numbers.get(local.date(), 0) + 1
        self.day_numbers[local.date()] = day
        kill.state, kill.number = "numbered", self.number
        alt = rep.alt if rep.alt is not None and math.isfinite(rep.alt) else 0.0
        return KillNumbered(
            t=kill_t,
            report_id=rep.report_id,
            number=self.number,
            day_number=day,
            local_time=local.strftime("%H:%M"),
            incident_id="INC-" + (track_id if track_id is not None else rep.report_id),
            track_id=track_id,
            matched_by=matched_by,
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
        return KillRetracted(t=ev.t, report_id=ev.report_id, number=kill.number, reason=ev.reason or "withdrawn by the command")

    # ------------------------------------------------------------------ views
    def numbered(self) -> list[tuple[int, str]]:
        """(number, report id) of the live (not retracted) kills, in number order."""
        return sorted((k.number, k.report_id) for k in self.kills.values() if k.state == "numbered")

