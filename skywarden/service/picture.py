"""The live picture: the projection of the log that the API reads and the WebSocket sends.

``LivePicture.apply_tick(events)`` folds one tick (its inputs, the ``Tick``, what the stages
derived) into collections of plain JSON-ready values, and says which collections changed. The
live service calls it once per tick; a read ``?at=`` folds the log again up to that moment from
the nearest checkpoint (a pickled picture). Nothing here reads the clock or the stages: the
picture is a function of the log (and the scenario that names things), so a moment of the past
shows what it showed then.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import numpy as np

from skywarden import events as E
from skywarden.disclosure.binding import text_sha256
from skywarden.response.incidents import build_incidents, find_incident
from skywarden.scenario import LoadedScenario

TRAIL = 10  # positions kept per track for its trail (at 1 Hz scans: the last ten seconds)
POSITION_DECIMALS = 5  # of a degree, about a metre: finer than any sensor's accuracy
# a track's properties, in the order of the GeoJSON's (and the columns of the WebSocket deltas)
TRACK_COLUMNS = (
    "track_id", "lon", "lat", "cls", "p_cls", "alt_m", "speed_ms", "heading_deg", "sigma_m", "identity", "threat",
)  # fmt: skip
COLLECTIONS = (
    "night", "tracks", "threats", "airports", "kills", "crews", "sites", "statements", "alerts",
    "claims", "sensors",
)  # fmt: skip

# the events an incident's story is told from (incidents.build_incidents); kept, small
_STORY = (
    E.TrackConfirmed, E.TrackClassified, E.TrackDropped, E.ThreatRaised, E.ThreatUpdated,
    E.ThreatCleared, E.AirportRestricted, E.AirportLifted, E.KillReported, E.KillNumbered,
    E.KillDuplicate, E.KillRetracted, E.DebrisPredicted, E.CrashSiteQueued, E.CrewDispatched,
    E.CrewStatusChanged, E.StatementDrafted, E.StatementPublished, E.NightOpened,
    E.ThreatAcknowledged, E.CrewOverride, E.CrewRecalled,
)  # fmt: skip

# which collections an event kind changes
_TOUCHES: dict[type[E.Event], tuple[str, ...]] = {
    E.TrackPicture: ("tracks",),
    E.TrackClassified: ("tracks",),
    E.TrackDropped: ("tracks",),
    E.ThreatRaised: ("threats", "tracks"),
    E.ThreatUpdated: ("threats",),
    E.ThreatCleared: ("threats", "tracks"),
    E.ThreatAcknowledged: ("threats",),
    E.AirportRestricted: ("airports",),
    E.AirportLifted: ("airports",),
    E.KillNumbered: ("kills",),
    E.KillRetracted: ("kills", "crews", "sites"),
    E.DebrisPredicted: ("sites",),
    E.CrashSiteQueued: ("sites",),
    E.CrewDispatched: ("crews", "sites"),
    E.CrewStatusChanged: ("crews", "sites"),
    E.StatementDrafted: ("statements",),
    E.StatementApproved: ("statements",),
    E.StatementRejected: ("statements",),
    E.StatementEdited: ("statements",),
    E.StatementPublished: ("statements",),
    E.StatementFlagged: ("statements",),
    E.AlertIssued: ("alerts",),
    E.ClaimRecorded: ("claims",),
    E.ClaimAssessed: ("claims",),
    E.SensorStatus: ("sensors",),
    E.InputRefused: ("statements",),
}


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _num(x: float | None, nd: int = 1) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, nd)


@dataclass
class _Statement:
    drafted: E.StatementDrafted
    state: str = "drafted"
    text_en: str = ""
    text_ru: str = ""
    approved_by: list[str] = field(default_factory=list)
    editor: str = ""
    published_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)  # the current text's unexplained words

    @property
    def needed(self) -> int:
        return self.drafted.approvals_needed + (1 if self.flagged else 0)


@dataclass
class LivePicture:
    """Every collection the console shows, folded from the log one tick at a time."""

    scenario: LoadedScenario
    seq: int = 0
    night: E.NightOpened | None = None
    now: datetime | None = None
    ticks: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    picture: E.TrackPicture | None = None
    trails: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)  # (lon, lat), oldest first
    track_cls: dict[str, tuple[str, float]] = field(default_factory=dict)
    identity: dict[str, str] = field(default_factory=dict)
    confirmed: set[str] = field(default_factory=set)
    threats: dict[str, E.ThreatRaised | E.ThreatUpdated] = field(default_factory=dict)
    threat_since: dict[str, datetime] = field(default_factory=dict)
    threatened: set[str] = field(default_factory=set)
    acked: dict[str, list[str]] = field(default_factory=dict)  # incident -> users
    restricted: dict[str, list[list[datetime | None]]] = field(default_factory=dict)
    kills: dict[str, E.KillNumbered] = field(default_factory=dict)
    withdrawn: set[str] = field(default_factory=set)
    reported_by: dict[str, str] = field(default_factory=dict)
    duplicates: int = 0
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    crews: dict[str, dict[str, Any]] = field(default_factory=dict)
    statements: dict[str, _Statement] = field(default_factory=dict)
    alerts: list[E.AlertIssued] = field(default_factory=list)
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    sensors: dict[str, dict[str, Any]] = field(default_factory=dict)
    story: list[E.Event] = field(default_factory=list)
    rejected: int = 0
    refused: int = 0
    audit: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2_000))
    _pending: list[tuple[str, str, E.Event]] = field(default_factory=list)  # (sid, kind, input)
    # what the disclosure policy would do to a statement's text now (release time, redactions);
    # the live night sets it from its disclosure stage; a picture of the past has none
    explain: Callable[[str, str, datetime | None, str], dict[str, Any]] | None = None
    # seconds of the quiet period an airport still needs before it is lifted (the airspace
    # stage's own count: the last threat is not an event); the head only, like ``explain``
    quiet_left: Callable[[str], float | None] | None = None

    def __post_init__(self) -> None:
        for st in self.scenario.spec.stations:
            for c in st.crews:
                self.crews[c.id] = {
                    "crew_id": c.id, "name": f"{st.name} {c.kind}", "kind": c.kind,
                    "station": st.id, "status": "available" if c.available else "off_duty",
                    "site_id": None, "incident_id": None, "eta_s": None, "route": [],
                    "recall_offered": False,
                }  # fmt: skip
        for s in self.scenario.spec.sensors:
            self.sensors[s.id] = {
                "sensor_id": s.id, "kind": s.kind, "status": "unknown", "detail": "",
                "last_t": None, "reports": 0,
            }  # fmt: skip

    # ------------------------------------------------------------------ folding

    def apply_tick(self, events: Iterable[E.Event], seq: int) -> set[str]:
        """Fold one tick's events (the last of which has log sequence ``seq``); returns the
        names of the collections that changed (``night`` always: the clock moved)."""
        changed = {"night", "summary"}
        for ev in events:
            changed.update(self._apply(ev))
        if self.quiet_left is not None and any(iv and iv[-1][1] is None for iv in self.restricted.values()):
            changed.add("airports")  # a restricted airport's quiet period counts down every tick
        self._settle()
        self.seq = seq
        return changed

    def _apply(self, ev: E.Event) -> tuple[str, ...]:
        self.counts[E.kind(ev)] += 1
        if isinstance(ev, _STORY):
            self.story.append(ev)
        match ev:
            case E.NightOpened():
                self.night = ev
            case E.Tick():
                self.now, self.ticks = ev.t, self.ticks + 1
            case E.PolarPlots() | E.PositionPlots():
                s = self.sensors.get(ev.sensor_id)
                if s is not None:
                    s["last_t"], s["reports"] = ev.t, s["reports"] + 1
                    if s["status"] == "unknown":
                        s["status"] = "up"
                return ("sensors",) if s is not None else ()
            case E.SensorStatus():
                s = self.sensors.setdefault(ev.sensor_id, {"sensor_id": ev.sensor_id, "kind": "", "reports": 0, "last_t": None})
                s["status"], s["detail"], s["last_t"] = ev.status, ev.detail, ev.t
            case E.TrackPicture():
                self.picture = ev
                live = set(ev.track_id)
                # trail points as the tracks' positions are sent (1e-5 degree, about a metre), a
                # point only where the track moved: a client that extends the trails from the
                # deltas' positions (which carry none) keeps the same ones
                lon = np.round(np.asarray(ev.lon), POSITION_DECIMALS).tolist()
                lat = np.round(np.asarray(ev.lat), POSITION_DECIMALS).tolist()
                for i, tid in enumerate(ev.track_id):
                    trail = self.trails.get(tid)
                    if trail is None:
                        trail = self.trails[tid] = deque(maxlen=TRAIL)
                    point = (lon[i], lat[i])  # a tuple of floats: the collector stops following it
                    if not trail or trail[-1] != point:
                        trail.append(point)
                for tid in [t for t in self.trails if t not in live]:
                    del self.trails[tid]
            case E.TrackConfirmed():
                self.confirmed.add(ev.track_id)
            case E.TrackClassified():
                self.track_cls[ev.track_id] = (ev.cls, ev.p)
                if ev.identity:
                    self.identity[ev.track_id] = ev.identity
            case E.TrackDropped():
                self.trails.pop(ev.track_id, None)
            case E.ThreatRaised() | E.ThreatUpdated():
                self.threats[ev.track_id] = ev
                self.threat_since.setdefault(ev.track_id, ev.t)
                self.threatened.add(ev.track_id)
            case E.ThreatCleared():
                self.threats.pop(ev.track_id, None)
                self.threat_since.pop(ev.track_id, None)
            case E.ThreatAcknowledged():
                users = self.acked.setdefault(ev.incident_id, [])
                if ev.user not in users:
                    users.append(ev.user)
            case E.AirportRestricted():
                iv = self.restricted.setdefault(ev.airport_id, [])
                if not iv or iv[-1][1] is not None:
                    iv.append([ev.t, None])
            case E.AirportLifted():
                iv = self.restricted.setdefault(ev.airport_id, [])
                if iv and iv[-1][1] is None:
                    iv[-1][1] = ev.t
            case E.KillReported():
                if ev.reported_by:
                    self.reported_by[ev.report_id] = ev.reported_by
            case E.KillNumbered():
                self.kills[ev.report_id] = ev
            case E.KillRetracted():
                self.withdrawn.add(ev.report_id)
                site = self.sites.get("SITE-" + ev.report_id)
                if site is not None:
                    site["withdrawn"] = True
                    crew = self.crews.get(site["crew_id"] or "")
                    if crew is not None and crew["site_id"] == site["site_id"]:
                        crew["recall_offered"] = True
            case E.KillDuplicate():
                self.duplicates += 1
            case E.DebrisPredicted():
                self.sites[ev.site_id] = {
                    "site_id": ev.site_id, "incident_id": ev.incident_id,
                    "kill_number": ev.kill_number, "lat": ev.lat, "lon": ev.lon,
                    "footprint": [[round(lo, 6), round(la, 6)] for la, lo in ev.polygon95],
                    "districts": ev.districts, "zones": ev.zones, "status": "predicted",
                    "crew_id": None, "t": ev.t, "withdrawn": False,
                }  # fmt: skip
            case E.CrashSiteQueued():
                site = self.sites.get(ev.site_id)
                if site is not None:
                    site["status"] = "withdrawn" if ev.site_id not in ev.queue else "queued"
                    site["priority"] = ev.priority
            case E.CrewDispatched():
                crew = self.crews.setdefault(ev.crew_id, {"crew_id": ev.crew_id, "name": ev.crew_id, "kind": ev.crew_kind, "station": ""})
                crew.update(
                    status="dispatched", site_id=ev.site_id, incident_id=ev.incident_id,
                    eta_s=_num(ev.eta_s), route=[[round(lo, 6), round(la, 6)] for la, lo in ev.route],
                    recall_offered=("SITE-" in ev.site_id and ev.site_id[5:] in self.withdrawn),
                )  # fmt: skip
                site = self.sites.get(ev.site_id)
                if site is not None:
                    site["status"], site["crew_id"] = "assigned", ev.crew_id
            case E.CrewStatusChanged():
                crew = self.crews.get(ev.crew_id)
                site = self.sites.get(ev.site_id)
                if crew is not None:
                    if ev.status in ("site_closed", "recalled"):
                        crew.update(status="available", site_id=None, incident_id=None, eta_s=None, route=[], recall_offered=False)
                    else:
                        crew.update(status=ev.status, eta_s=_num(ev.eta_s))
                if site is not None:
                    if ev.status == "recalled":
                        site["status"], site["crew_id"] = "uncovered", None
                    else:
                        site["status"] = ev.status
            case E.StatementDrafted():
                self.statements[ev.statement_id] = _Statement(ev, text_en=ev.text_en, text_ru=ev.text_ru)
                self.statements[ev.statement_id].history.append({"t": iso(ev.t), "action": "drafted", "officer": "", "role": ""})
            case E.StatementApproved() | E.StatementRejected() | E.StatementEdited() | E.StatementFlagged():
                self._pending.append((ev.statement_id, E.kind(ev), ev))
            case E.InputRefused():
                self.refused += 1
                for i, (sid, k, _) in enumerate(self._pending):
                    if sid == ev.ref and k == ev.input_kind:
                        del self._pending[i]
                        break
                self.audit.append({"t": iso(ev.t), "kind": "input_refused", "stage": ev.stage, "input_kind": ev.input_kind, "ref": ev.ref, "reason": ev.reason})
            case E.StatementPublished():
                self._settle()
                st = self.statements.get(ev.statement_id)
                if st is not None:
                    st.state, st.published_at = "published", ev.t
                    st.text_en, st.text_ru = ev.text_en, ev.text_ru
                    st.history.append({"t": iso(ev.t), "action": "published", "officer": "", "role": ""})
            case E.AlertIssued():
                self.alerts.append(ev)
            case E.ClaimRecorded():
                self.claims[ev.claim_id] = {
                    "claim_id": ev.claim_id, "t": iso(ev.t), "source": ev.source, "what": ev.what,
                    "where": ev.where, "text": ev.text, "count": ev.count, "outcome": None, "reason": "",
                }  # fmt: skip
            case E.ClaimAssessed():
                c = self.claims.get(ev.claim_id)
                if c is not None:
                    c["outcome"], c["reason"] = ev.outcome, ev.reason
            case E.ReportRejected():
                self.rejected += 1
            case E.AccessAudited():
                self.audit.append({"t": iso(ev.t), "kind": "access_audited", "user": ev.user, "role": ev.role, "action": ev.action, "target": ev.target, "reason": ev.reason, "remote": ev.remote})
            case _:
                pass
        return _TOUCHES.get(type(ev), ())

    def _settle(self) -> None:
        """Apply the officers' inputs of the tick that the disclosure stage did not refuse."""
        for sid, _, ev in self._pending:
            st = self.statements.get(sid)
            if st is None or st.state in ("published", "rejected"):
                continue
            if isinstance(ev, E.StatementApproved):
                st.approved_by.append(ev.officer)
                st.state = "approved" if len(st.approved_by) >= st.needed else "partially_approved"
                st.history.append({"t": iso(ev.t), "action": "approved", "officer": ev.officer, "role": ev.role})
            elif isinstance(ev, E.StatementRejected):
                st.state = "rejected"
                st.history.append({"t": iso(ev.t), "action": "rejected", "officer": ev.officer, "role": ev.role, "reason": ev.reason})
            elif isinstance(ev, E.StatementEdited):
                st.text_en, st.text_ru, st.editor = ev.text_en, ev.text_ru, ev.editor
                st.approved_by, st.state, st.flagged = [], "drafted", []
                st.history.append({"t": iso(ev.t), "action": "edited", "officer": ev.editor, "role": ev.role})
            elif isinstance(ev, E.StatementFlagged):  # after its edit, in the same tick
                st.flagged = [{"lang": x.lang, "start": x.start, "end": x.end, "kind": x.kind} for x in ev.spans]
        self._pending.clear()

    # ------------------------------------------------------------------ the collections

    def local(self, t: datetime | None) -> str | None:
        return None if t is None else self.scenario.local(t).strftime("%H:%M:%S")

    def collection(self, name: str) -> Any:
        return self.summary() if name == "summary" else getattr(self, "c_" + name)()

    def c_night(self) -> dict[str, Any]:
        scn = self.scenario
        return {
            "scenario": scn.name, "timezone": scn.spec.night.timezone, "start": iso(scn.start),
            "end": iso(scn.end), "tick_s": scn.spec.night.tick_s, "now": iso(self.now),
            "local_now": self.local(self.now), "seq": self.seq, "ticks": self.ticks,
        }  # fmt: skip

    def c_tracks(self) -> dict[str, Any]:
        """The tracks as GeoJSON, each with its trail (the last positions), as the reads and the
        snapshot have them: ``tracks_raw`` decoded (one way of building them, not two)."""
        out: dict[str, Any] = msgspec.json.decode(self.tracks_raw())
        return out

    def tracks_raw(self, cols: dict[str, Any] | None = None) -> msgspec.Raw:
        """The tracks as encoded GeoJSON with their trails (``tracks_body``), from ``cols`` when
        the caller has built this tick's columns already."""
        return msgspec.Raw(tracks_body(self.track_columns() if cols is None else cols, self.trails))

    def track_columns(self) -> dict[str, Any]:
        """The tracks as columns, one list per property (``TRACK_COLUMNS``): what the WebSocket
        deltas carry (about a quarter of the GeoJSON's bytes, and no trails: a client extends
        its own with the positions each delta brings). Built every tick for up to thousands of
        tracks, so the numbers are computed as arrays and rounded once; a non-finite one
        encodes as null."""
        pic = self.picture
        if pic is None or not pic.track_id:
            return {"type": "TrackColumns", **{name: [] for name in TRACK_COLUMNS}}
        ve, vn = np.asarray(pic.ve), np.asarray(pic.vn)
        p_pic = np.round(np.asarray(pic.p_cls), 3).tolist()
        known = [self.track_cls.get(tid) for tid in pic.track_id]
        threat = [self.threats.get(tid) for tid in pic.track_id]
        return {
            "type": "TrackColumns",
            "track_id": list(pic.track_id),
            "lon": np.round(np.asarray(pic.lon), POSITION_DECIMALS).tolist(),
            "lat": np.round(np.asarray(pic.lat), POSITION_DECIMALS).tolist(),
            "cls": [k[0] if k else c for k, c in zip(known, pic.cls, strict=True)],
            "p_cls": [round(k[1], 3) if k else p for k, p in zip(known, p_pic, strict=True)],
            "alt_m": np.round(np.asarray(pic.alt)).tolist(),
            "speed_ms": np.round(np.hypot(ve, vn), 1).tolist(),
            "heading_deg": np.round(np.degrees(np.arctan2(ve, vn)) % 360.0).tolist(),
            "sigma_m": np.round(np.asarray(pic.sigma_m)).tolist(),
            "identity": [self.identity.get(tid, "") for tid in pic.track_id],
            "threat": [t.level if t else None for t in threat],
        }  # fmt: skip

    def c_threats(self) -> list[dict[str, Any]]:
        rows = [
            {
                "incident_id": t.incident_id, "track_id": t.track_id, "level": t.level,
                "zone_id": t.zone_id, "time_to_zone_s": _num(t.time_to_zone_s, 0),
                "p_entry": _num(t.p_entry, 3), "cpa_m": _num(t.cpa_m, 0), "reasons": t.reasons,
                "since": iso(self.threat_since.get(tid)), "acknowledged_by": self.acked.get(t.incident_id, []),
            }
            for tid, t in self.threats.items()
        ]  # fmt: skip
        return sorted(rows, key=lambda r: (r["time_to_zone_s"] is None, r["time_to_zone_s"] or 0.0, r["track_id"]))

    def c_airports(self) -> list[dict[str, Any]]:
        out = []
        for a in self.scenario.spec.airports:
            iv = self.restricted.get(a.id, [])
            restricted = bool(iv) and iv[-1][1] is None
            closed = sum(((b or self.now or a_) - a_).total_seconds() for a_, b in iv if a_ is not None)
            out.append({
                "airport_id": a.id, "name": a.name, "name_ru": a.name_ru, "lat": a.lat, "lon": a.lon,
                "radius_m": a.restriction_radius_m, "quiet_s": a.quiet_s, "restricted": restricted,
                "quiet_left_s": self.quiet_left(a.id) if restricted and self.quiet_left is not None else None,
                "restricted_since": iso(iv[-1][0]) if restricted else None, "closed_s": round(closed),
                "intervals": [[iso(x), iso(y)] for x, y in iv],
            })  # fmt: skip
        return out

    def c_kills(self) -> list[dict[str, Any]]:
        return [
            {
                "number": k.number, "report_id": k.report_id, "t": iso(k.t), "local_time": k.local_time,
                "near": k.near, "toward": k.toward, "incident_id": k.incident_id, "track_id": k.track_id,
                "lat": k.lat, "lon": k.lon, "withdrawn": k.report_id in self.withdrawn,
                "reported_by": self.reported_by.get(k.report_id, ""),
            }
            for k in sorted(self.kills.values(), key=lambda k: (k.number, k.report_id))
        ]  # fmt: skip

    def c_crews(self) -> list[dict[str, Any]]:
        return list(self.crews.values())

    def c_sites(self) -> list[dict[str, Any]]:
        return [{**s, "t": iso(s["t"])} for s in self.sites.values()]

    def c_statements(self) -> list[dict[str, Any]]:
        return [
            {
                "statement_id": sid, "topic": s.drafted.topic, "state": s.state,
                "text_en": s.text_en, "text_ru": s.text_ru, "text_sha256": text_sha256(s.text_en, s.text_ru), "draft_en": s.drafted.text_en,
                "draft_ru": s.drafted.text_ru, "approvals_needed": s.needed, "flagged": s.flagged,
                "approved_by": s.approved_by, "editor": s.editor, "drafted_at": iso(s.drafted.t),
                "published_at": iso(s.published_at), "supersedes": s.drafted.supersedes,
                "history": s.history,
                "policy": self.explain(s.text_en, s.text_ru, s.drafted.event_time or s.drafted.t, s.drafted.topic)
                if self.explain is not None and s.state not in ("published", "rejected") else None,
            }
            for sid, s in self.statements.items()
        ]  # fmt: skip

    def c_alerts(self) -> list[dict[str, Any]]:
        return [
            {"alert_id": a.alert_id, "t": iso(a.t), "district": a.district, "msg_type": a.msg_type,
             "headline": a.headline, "references": a.references}
            for a in self.alerts
        ]  # fmt: skip

    def c_claims(self) -> list[dict[str, Any]]:
        return list(self.claims.values())

    def c_sensors(self) -> list[dict[str, Any]]:
        return [{**s, "last_t": iso(s["last_t"])} for s in self.sensors.values()]

    def summary(self) -> dict[str, Any]:
        classes = Counter(self.track_cls.get(t, ("unknown", 0.0))[0] for t in self.confirmed)
        live = [k for k in self.kills if k not in self.withdrawn]
        return {
            "ticks": self.ticks, "tracks confirmed": len(self.confirmed),
            "drones tracked": classes.get("drone", 0), "birds tracked": classes.get("bird", 0),
            "manned aircraft tracked": classes.get("manned_aircraft", 0),
            "threatening tracks": len(self.threatened), "kills numbered": len(live),
            "kill reports withdrawn": len(self.withdrawn), "duplicate kill reports": self.duplicates,
            "crash sites predicted": len(self.sites), "crews dispatched": self.counts["crew_dispatched"],
            "airport restrictions": sum(len(v) for v in self.restricted.values()),
            "statements drafted": len(self.statements),
            "statements published": sum(1 for s in self.statements.values() if s.state == "published"),
            "alerts issued": len(self.alerts), "claims assessed": self.counts["claim_assessed"],
            "reports rejected": self.rejected, "inputs refused": self.refused,
        }  # fmt: skip

    def incidents(self) -> list[dict[str, Any]]:
        return [
            {"incident_id": i.incident_id, "track_id": i.track_id, "cls": i.cls, "status": i.status,
             "first_t": iso(i.first_t), "last_t": iso(i.last_t), "kill_number": i.kill_number,
             "kill_time": i.kill_time, "zones": i.zones}
            for i in build_incidents(list(self.story))
        ]  # fmt: skip

    def incident(self, key: str) -> dict[str, Any] | None:
        inc = find_incident(build_incidents(list(self.story)), key)
        if inc is None:
            return None
        return {
            "incident_id": inc.incident_id, "track_id": inc.track_id, "cls": inc.cls,
            "status": inc.status, "kill_number": inc.kill_number, "kill_time": inc.kill_time,
            "sites": inc.sites, "crews": inc.crews, "statements": inc.statements,
            "timeline": [{"t": iso(e.t), "local_time": self.local(e.t), "text": e.text} for e in inc.timeline],
        }  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {name: self.collection(name) for name in COLLECTIONS} | {"summary": self.summary()}


class _Point(msgspec.Struct, gc=False, tag_field="type", tag="Point"):
    coordinates: tuple[Any, Any]


class _TrackProperties(msgspec.Struct, gc=False):
    track_id: str
    cls: str
    p_cls: Any
    alt_m: Any
    speed_ms: Any
    heading_deg: Any
    sigma_m: Any
    identity: str
    threat: Any
    trail: tuple[tuple[float, float], ...]


class _TrackFeature(msgspec.Struct, gc=False, tag_field="type", tag="Feature"):
    geometry: _Point
    properties: _TrackProperties


_enc = msgspec.json.Encoder()


def tracks_body(cols: dict[str, Any], trails: dict[str, deque[tuple[float, float]]]) -> bytes:
    """Track columns (``LivePicture.track_columns``) as an encoded GeoJSON FeatureCollection of
    Points, each with its trail (as ``GET /api/tracks`` gives them), made every tick for
    thousands of tracks without a dict or list per track: objects the garbage collector does
    not follow, and so no collection of the whole heap every few ticks for them (tens of ms)."""
    c = cols
    rows = zip(
        c["track_id"], c["lon"], c["lat"], c["cls"], c["p_cls"], c["alt_m"], c["speed_ms"],
        c["heading_deg"], c["sigma_m"], c["identity"], c["threat"], strict=True,
    )  # fmt: skip
    feats = [
        _TrackFeature(_Point((lon, lat)), _TrackProperties(tid, cls, p, alt, speed, heading, sigma, ident, threat, tuple(trails.get(tid, ()))))
        for tid, lon, lat, cls, p, alt, speed, heading, sigma, ident, threat in rows
    ]
    return _enc.encode({"type": "FeatureCollection", "features": feats})


def tick_groups(records: Iterable[tuple[int, E.Event]]) -> Iterator[tuple[list[E.Event], int, datetime | None]]:
    """Group log records into ticks: (events, seq of the last one, the tick's time). A group is
    the inputs, the ``Tick`` and the derived events after it; trailing inputs without their tick
    (a crash came between) come last with ``None``."""
    group: list[E.Event] = []
    last_seq, t = 0, None
    after_tick = False
    for seq, ev in records:
        if E.is_input(ev) and after_tick:
            yield group, last_seq, t
            group, after_tick, t = [], False, None
        group.append(ev)
        last_seq = seq
        if isinstance(ev, E.Tick):
            after_tick, t = True, ev.t
    if group:
        yield group, last_seq, t


def within(t: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or t >= since) and (until is None or t <= until)


__all__ = ["COLLECTIONS", "TRACK_COLUMNS", "LivePicture", "iso", "tick_groups", "tracks_body", "within"]
