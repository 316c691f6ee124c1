"""Threat assessment: which drone or unknown tracks are heading for which protected zone.

Every ``TrackPicture`` the stage predicts, for each drone/unknown track and each protected zone,
the time to the zone, the probability of entry and the closest approach (``predict.py``, arrays
of tracks x zones x time samples). A score per (track, zone) combines them::

    score = w_priority(zone) * urgency * min(1, p_entry / p_full)
    urgency = 1 - (1 - urgency_floor) * min(t_ref / horizon, 1)

with ``t_ref`` the time to the zone (or to the closest approach when the mean path misses it): a
likely entry (``p_entry >= p_full``) scores by its urgency alone, a less likely one in proportion.
Scores are smoothed per track and zone over ``smoothing_s`` (an exponential moving average,
``s += (1 - exp(-dt / tau)) * (raw - s)``), because a weaving drone swings its straight-line
prediction across a zone's edge. The track's threat is about its best-scoring zone.

A threat is an incident ("INC-" + track id) with a small lifecycle and hysteresis, so that a
wobbling track does not flap:

* raised when the score reaches ``raise_score``;
* updated (``ThreatUpdated``) only when the level, the zone or the time band changes materially:
  a level rises at once but falls only ``level_margin`` below its threshold and after
  ``level_hold_s`` there; a new zone must beat
  the current one by ``zone_margin``; a time band changes only when the time to the zone leaves
  the band by ``band_margin_s``;
* cleared when the score stays below ``clear_score`` for ``hold_s`` (turned away), or at once when
  the track is dropped, lost from the picture for ``stale_s``, killed (``KillNumbered`` naming
  it) or classified as a bird or a manned aircraft.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import shapely

from skywarden.assess.predict import Circle, EntryPrediction, MotionModel, predict_entries
from skywarden.errors import TransitionError
from skywarden.events import (
    Event,
    KillNumbered,
    KillRetracted,
    ThreatCleared,
    ThreatLevel,
    ThreatRaised,
    ThreatUpdated,
    TrackClassified,
    TrackDropped,
    TrackPicture,
)
from skywarden.geo import LocalFrame, compass
from skywarden.scenario.load import LoadedScenario

LEVELS: tuple[ThreatLevel, ...] = ("low", "medium", "high", "critical")

# The threat lifecycle as data: (from, to) pairs that are allowed.
THREAT_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("none", "active"),
        ("active", "active"),
        ("active", "cleared"),
        ("cleared", "active"),
        ("none", "killed"),
        ("active", "killed"),
        ("cleared", "killed"),
        ("killed", "killed"),  # a second kill reported of the same track (e.g. after a decoy hit)
        ("killed", "cleared"),  # a retracted kill: the track may be assessed again
    }
)


def check_transition(current: str, wanted: str) -> None:
    """Raise :class:`TransitionError` unless the threat lifecycle allows ``current -> wanted``."""
    if (current, wanted) not in THREAT_TRANSITIONS:
        raise TransitionError("threat", current, wanted)


@dataclass(frozen=True)
class ThreatConfig:
    """Settings of the threat stage (seconds, metres, scores in [0, 1])."""

    motion: MotionModel = field(default_factory=MotionModel)
    classes: tuple[str, ...] = ("drone", "unknown")  # track classes that are assessed
    every_s: float = 2.0  # assess the picture at most this often (drops, kills act at once)
    min_age_s: float = 10.0  # a track younger than this raises nothing: velocity and class not settled
    cooperative_is_threat: bool = False  # a drone identified by Remote ID is not a threat
    smoothing_s: float = 30.0  # time constant of the score's moving average (0: none)
    p_full: float = 0.6  # an entry this likely counts in full
    urgency_floor: float = 0.4  # the urgency of an entry at the horizon (1 at zero time)
    raise_score: float = 0.40
    clear_score: float = 0.25
    hold_s: float = 60.0  # below clear_score this long before clearing
    stale_s: float = 30.0  # missing from the picture this long: the track is lost
    # score thresholds of medium, high, critical (below the first: low)
    # (priority 1, p >= p_full: medium within ~11 min, high ~6 min, critical ~2.5 min)
    level_thresholds: tuple[float, float, float] = (0.55, 0.75, 0.9)
    level_margin: float = 0.1
    level_hold_s: float = 90.0  # a lower level must hold this long before the threat steps down
    zone_margin: float = 0.10
    # edges (s) of the bands of the time to the zone (or to the closest approach): < 1 min,
    # 1-2 min, 2-5 min, 5-10 min, 10+ min
    band_edges_s: tuple[float, ...] = (60.0, 120.0, 300.0, 600.0)
    band_margin_s: float = 30.0
    # weight of a zone by its priority (1 = highest); priorities past the end take the last
    priority_weights: tuple[float, ...] = (1.0, 0.95, 0.9, 0.85)

    def __post_init__(self) -> None:
        if not 0.0 <= self.clear_score < self.raise_score <= 1.0:
            raise ValueError("need 0 <= clear_score < raise_score <= 1 (hysteresis)")
        if list(self.level_thresholds) != sorted(self.level_thresholds):
            raise ValueError("level_thresholds must increase")
        if self.hold_s < 0 or self.stale_s <= 0:
            raise ValueError("hold_s must be >= 0 and stale_s > 0")


def picture_ok(pic: TrackPicture) -> bool:
    """The picture's columns all have one entry per track (a malformed picture is skipped)."""
    n = len(pic.track_id)
    cols = (pic.lat, pic.lon, pic.alt, pic.ve, pic.vn, pic.vu, pic.sigma_m, pic.cls, pic.p_cls)
    local = (pic.east_m, pic.north_m)
    return all(len(c) == n for c in cols) and all(c is None or len(c) == n for c in local)


def picture_local(frame: LocalFrame, pic: TrackPicture, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """East and north (m, the scenario's local frame) of the picture's tracks, or of its
    ``rows``: as the picture carries them, else projected from its lat/lon."""
    if pic.east_m is not None and pic.north_m is not None:
        e, n = np.asarray(pic.east_m, dtype=np.float64), np.asarray(pic.north_m, dtype=np.float64)
        return (e, n) if rows is None else (e[rows], n[rows])
    lat, lon = np.asarray(pic.lat, dtype=np.float64), np.asarray(pic.lon, dtype=np.float64)
    if rows is not None:
        lat, lon = lat[rows], lon[rows]
    e, n, _ = frame.to_enu(lat, lon)
    return e, n


def band_of(tz: float | None, edges: Sequence[float]) -> int:
    """Index of the time band of a time to zone (None: the last band, "no entry")."""
    if tz is None:
        return len(edges) + 1
    return int(np.searchsorted(np.asarray(edges), tz, side="right"))


def band_name(band: int, edges: Sequence[float]) -> str:
    if band == len(edges) + 1:
        return "no entry predicted"
    lo = 0.0 if band == 0 else edges[band - 1]
    if band == len(edges):
        return f"{lo / 60:g}+ min"
    return f"{lo / 60:g}-{edges[band] / 60:g} min"


def level_of(score: float, thresholds: Sequence[float]) -> int:
    return int(np.searchsorted(np.asarray(thresholds), score, side="right"))


def level_with_hysteresis(current: int, score: float, thresholds: Sequence[float], margin: float) -> int:
    """Rise at once to the score's level; fall only when the score is ``margin`` below the
    threshold of the current level."""
    raw = level_of(score, thresholds)
    if raw >= current:
        return raw
    return min(current, level_of(score + margin, thresholds))


def band_with_hysteresis(current: int, tz: float | None, edges: Sequence[float], margin: float) -> int:
    """Keep the current band until the time to zone leaves it by more than ``margin`` seconds."""
    new = band_of(tz, edges)
    if new == current or tz is None or current == len(edges) + 1:
        return new
    lo = -math.inf if current == 0 else edges[current - 1]
    hi = math.inf if current >= len(edges) else edges[current]
    return current if lo - margin <= tz < hi + margin else new


def fmt_minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


@dataclass
class _Track:
    """What the stage remembers of one track."""

    cls: str = "unknown"
    p_cls: float = 0.0
    identity: str = ""  # Remote ID or callsign when a cooperative report matched
    p_drone: float | None = None  # the drone probability at the last classification
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    state: str = "none"  # none | active | cleared | killed
    zone: str = ""
    level: int = 0
    band: int = 0
    below_since: datetime | None = None
    lower_since: datetime | None = None  # since when the score has pointed to a lower level
    ema: np.ndarray | None = None  # (Z,) smoothed scores
    ema_t: datetime | None = None


@dataclass(frozen=True)
class _Assessment:
    zone: str
    score: float
    p: float
    tz: float | None
    cpa: float
    t_cpa: float

    @property
    def t_ref(self) -> float:
        """Time to the zone, or to the closest approach when the mean path misses it (s)."""
        return self.tz if self.tz is not None else self.t_cpa


class ThreatStage:
    """Raise, update and clear threats of drone/unknown tracks against the protected zones."""

    name = "threat"

    def __init__(self, scenario: LoadedScenario, config: ThreatConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or ThreatConfig()
        zones = sorted(scenario.spec.zones, key=lambda z: (z.priority, z.id))
        self.zone_ids = [z.id for z in zones]
        self.zone_names = {z.id: z.name for z in zones}
        # a zone drawn as a circle is assessed as the circle (closed form, see predict.py)
        self.shapes: list[shapely.Polygon | Circle] = [
            Circle(*scenario.zone_circles[z]) if z in scenario.zone_circles else scenario.zone_shapes[z]
            for z in self.zone_ids
        ]
        w = self.config.priority_weights
        self.weights = np.array([w[min(max(z.priority, 1), len(w)) - 1] for z in zones], dtype=np.float64)
        self.tracks: dict[str, _Track] = {}
        self.kill_track: dict[int, str] = {}  # kill number -> track id
        self.last_assessed: datetime | None = None

    # ------------------------------------------------------------------ stage
    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, TrackPicture):
                if picture_ok(ev):
                    out.extend(self._picture(ev))
            elif isinstance(ev, TrackClassified):
                tr = self.tracks.setdefault(ev.track_id, _Track())
                tr.cls, tr.p_cls, tr.identity = ev.cls, ev.p, ev.identity
                tr.p_drone = ev.features.get("p_drone")
                if not self._assessed(tr) and tr.state == "active":
                    out.append(self._clear(ev.t, ev.track_id, tr, self._why_not(tr)))
            elif isinstance(ev, TrackDropped):
                gone = self.tracks.pop(ev.track_id, None)
                if gone is not None and gone.state == "active":
                    out.append(self._clear(ev.t, ev.track_id, gone, f"track dropped: {ev.reason}"))
            elif isinstance(ev, KillNumbered) and ev.track_id is not None:
                self.kill_track[ev.number] = ev.track_id
                tr = self.tracks.setdefault(ev.track_id, _Track())
                was_active = tr.state == "active"
                check_transition(tr.state, "killed")
                tr.state = "killed"
                if was_active:
                    reason = f"killed: kill #{ev.number} at {ev.local_time}"
                    out.append(ThreatCleared(t=ev.t, incident_id=_incident(ev.track_id), track_id=ev.track_id, reason=reason))
            elif isinstance(ev, KillRetracted):
                tid = self.kill_track.pop(ev.number, None)
                still_killed = tid in self.kill_track.values()  # another live number on it
                if tid is not None and not still_killed and tid in self.tracks and self.tracks[tid].state == "killed":
                    check_transition("killed", "cleared")
                    self.tracks[tid].state = "cleared"
        # Tracks missing from the picture for stale_s are lost (TrackDropped normally comes first).
        cutoff = now - timedelta(seconds=self.config.stale_s)
        stale = [tid for tid, tr in self.tracks.items() if tr.last_seen is not None and tr.last_seen < cutoff]
        for tid in sorted(stale):
            tr = self.tracks.pop(tid)
            if tr.state == "active":
                out.append(self._clear(now, tid, tr, "track lost from the picture"))
        return out

    # ------------------------------------------------------------------ assessment
    def assess(self, pic: TrackPicture) -> tuple[list[int], EntryPrediction, np.ndarray]:
        """Rows of the picture that are assessed (drone/unknown tracks with finite numbers), their
        entry predictions and (N, Z) raw scores."""
        lat = np.asarray(pic.lat, dtype=np.float64)
        lon = np.asarray(pic.lon, dtype=np.float64)
        ve = np.asarray(pic.ve, dtype=np.float64)
        vn = np.asarray(pic.vn, dtype=np.float64)
        sig = np.asarray(pic.sigma_m, dtype=np.float64)
        finite = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(ve) & np.isfinite(vn) & np.isfinite(sig)
        finite &= (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
        rows = [
            i
            for i, tid in enumerate(pic.track_id)
            if finite[i] and self._cls(tid, pic.cls[i]) in self.config.classes
        ]
        if not rows:
            empty = np.zeros((0, len(self.zone_ids)))
            return rows, EntryPrediction(empty, empty, empty, empty), empty
        r = np.asarray(rows)
        e, n = picture_local(self.scenario.frame, pic, r)
        pos = np.column_stack([e, n])
        vel = np.column_stack([ve[r], vn[r]])
        sigma0 = np.maximum(sig[r], 0.0)
        pred = predict_entries(pos, vel, sigma0, self.shapes, self.config.motion)
        horizon = self.config.motion.horizon_s
        t_ref = np.where(np.isnan(pred.time_to_zone_s), pred.t_cpa_s, pred.time_to_zone_s)
        cfg = self.config
        urgency = 1.0 - (1.0 - cfg.urgency_floor) * np.minimum(t_ref / horizon, 1.0)
        score = self.weights[None, :] * urgency * np.minimum(pred.p_entry / cfg.p_full, 1.0)
        return rows, pred, score

    def _cls(self, tid: str, pic_cls: str) -> str:
        tr = self.tracks.get(tid)
        if tr is not None and tr.identity and not self.config.cooperative_is_threat:
            return "cooperative"
        if tr is not None and tr.cls != "unknown":
            return tr.cls
        return pic_cls

    def _assessed(self, tr: _Track) -> bool:
        if tr.identity and not self.config.cooperative_is_threat:
            return False
        return tr.cls in self.config.classes

    @staticmethod
    def _why_not(tr: _Track) -> str:
        if tr.identity and tr.cls in ("drone", "unknown"):
            return f"cooperative: identified as {tr.identity}"
        return f"classified as {tr.cls.replace('_', ' ')}"

    def _picture(self, pic: TrackPicture) -> list[Event]:
        out: list[Event] = []
        tracks = self.tracks
        for i, tid in enumerate(pic.track_id):
            tr = tracks.get(tid)
            if tr is None:  # (not setdefault: that would build a _Track per track per tick)
                tr = tracks[tid] = _Track()
            tr.first_seen = tr.first_seen or pic.t
            tr.last_seen = pic.t
            if pic.cls[i] != "unknown" or tr.cls == "unknown":
                tr.cls, tr.p_cls = pic.cls[i], pic.p_cls[i]
            if tr.state == "active" and not self._assessed(tr):
                out.append(self._clear(pic.t, tid, tr, self._why_not(tr)))
        if self.last_assessed is not None and (pic.t - self.last_assessed).total_seconds() < self.config.every_s:
            return out
        self.last_assessed = pic.t
        rows, pred, score = self.assess(pic)
        for k, i in enumerate(rows):
            tid = pic.track_id[i]
            tr = self.tracks[tid]
            raw = score[k]
            if tr.ema is None or tr.ema_t is None or self.config.smoothing_s <= 0:
                tr.ema = raw.copy()
            else:
                dt = max((pic.t - tr.ema_t).total_seconds(), 0.0)
                # s += (1 - exp(-dt / tau)) * (raw - s)
                tr.ema = tr.ema + (1.0 - math.exp(-dt / self.config.smoothing_s)) * (raw - tr.ema)
            tr.ema_t = pic.t
            if tr.state == "killed":
                continue
            ev = self._update(pic, i, tid, tr, pred, tr.ema, k)
            if ev is not None:
                out.append(ev)
        return out

    def _best(self, k: int, pred: EntryPrediction, s: np.ndarray, current: str) -> _Assessment:
        """The zone of row ``k`` with the best (smoothed) score ``s`` (Z,), sticking to ``current``
        unless another beats it by ``zone_margin``."""
        j = int(np.argmax(s))  # zones are sorted by (priority, id): ties go to the higher priority
        if current in self.zone_ids:
            jc = self.zone_ids.index(current)
            if s[j] < s[jc] + self.config.zone_margin:
                j = jc
        tz = pred.time_to_zone_s[k, j]
        return _Assessment(
            zone=self.zone_ids[j],
            score=float(s[j]),
            p=float(pred.p_entry[k, j]),
            tz=None if math.isnan(tz) else float(tz),
            cpa=float(pred.cpa_m[k, j]),
            t_cpa=float(pred.t_cpa_s[k, j]),
        )

    def _update(
        self, pic: TrackPicture, i: int, tid: str, tr: _Track, pred: EntryPrediction, s: np.ndarray, k: int
    ) -> Event | None:
        cfg = self.config
        a = self._best(k, pred, s, tr.zone if tr.state == "active" else "")
        if tr.state != "active":
            young = tr.first_seen is not None and (pic.t - tr.first_seen).total_seconds() < cfg.min_age_s
            if a.score < cfg.raise_score or young:
                return None
            check_transition(tr.state, "active")
            tr.state, tr.zone, tr.below_since = "active", a.zone, None
            tr.level = level_of(a.score, cfg.level_thresholds)
            tr.band = band_of(a.t_ref, cfg.band_edges_s)
            return self._event(ThreatRaised, pic, i, tid, tr, a)
        # active: clear after hold_s below clear_score
        if a.score < cfg.clear_score:
            tr.below_since = tr.below_since or pic.t
            if (pic.t - tr.below_since).total_seconds() >= cfg.hold_s:
                name = self.zone_names[tr.zone]
                why = f"turned away from {name}: p={a.p:.2f}, closest approach {a.cpa / 1000:.1f} km"
                if a.zone != tr.zone:
                    why = f"turned away from {name}"
                return self._clear(pic.t, tid, tr, why)
            return None
        tr.below_since = None
        level = level_with_hysteresis(tr.level, a.score, cfg.level_thresholds, cfg.level_margin)
        if level < tr.level:
            # step down only once the lower level has held (a weaving drone swings its score)
            tr.lower_since = tr.lower_since or pic.t
            if (pic.t - tr.lower_since).total_seconds() < cfg.level_hold_s:
                level = tr.level
        else:
            tr.lower_since = None
        if a.zone != tr.zone:
            band = band_of(a.t_ref, cfg.band_edges_s)
        else:
            band = band_with_hysteresis(tr.band, a.t_ref, cfg.band_edges_s, cfg.band_margin_s)
        if level == tr.level and band == tr.band and a.zone == tr.zone:
            return None
        if level < tr.level:
            tr.lower_since = None
        tr.level, tr.band, tr.zone = level, band, a.zone
        return self._event(ThreatUpdated, pic, i, tid, tr, a)

    def _event(
        self,
        kind: type[ThreatRaised] | type[ThreatUpdated],
        pic: TrackPicture,
        i: int,
        tid: str,
        tr: _Track,
        a: _Assessment,
    ) -> ThreatRaised | ThreatUpdated:
        name = self.zone_names[a.zone]
        speed = math.hypot(pic.ve[i], pic.vn[i])
        reasons = [f"heading toward {name}" if a.tz is not None else f"passing near {name}"]
        if a.tz is not None:
            reasons.append("inside the zone" if a.tz <= 0 else f"{fmt_minutes(a.tz)} to the zone")
        else:
            reasons.append(f"closest approach {a.cpa / 1000:.1f} km in {fmt_minutes(a.t_cpa)}")
        reasons.append(f"p={a.p:.2f}")
        if speed > 1.0:
            came_from = compass(math.degrees(math.atan2(-pic.ve[i], -pic.vn[i])))
            reasons.append(f"{speed:.0f} m/s from the {came_from}")
        if tr.cls == "unknown":
            # not told apart from an aircraft or a bird: assessed as a possible drone, and said so
            why = "class unknown" if tr.p_drone is None else f"class unknown (p_drone={tr.p_drone:.2f})"
            reasons.append(why)
        else:
            reasons.append(f"{tr.cls.replace('_', ' ')} (p={tr.p_cls:.2f})")
        reasons.append(f"zone priority {self._priority(a.zone)}")
        return kind(
            t=pic.t,
            incident_id=_incident(tid),
            track_id=tid,
            level=LEVELS[tr.level],
            zone_id=a.zone,
            time_to_zone_s=None if a.tz is None else round(a.tz, 1),
            p_entry=round(a.p, 3),
            cpa_m=round(a.cpa, 1),
            reasons=reasons,
        )

    def _priority(self, zone_id: str) -> int:
        return next(z.priority for z in self.scenario.spec.zones if z.id == zone_id)

    def _clear(self, t: datetime, tid: str, tr: _Track, reason: str) -> ThreatCleared:
        check_transition(tr.state, "cleared")
        tr.state, tr.below_since = "cleared", None
        return ThreatCleared(t=t, incident_id=_incident(tid), track_id=tid, reason=reason)

    def active(self) -> dict[str, str]:
        """Track id -> zone id of every active threat (sorted by track id)."""
        return {tid: tr.zone for tid, tr in sorted(self.tracks.items()) if tr.state == "active"}


def _incident(track_id: str) -> str:
    return "INC-" + track_id
