"""Views of the night folded from the log: the summary, the picture at a moment, track paths.

Every view is a pure fold over events, so it can be rebuilt from any log (and up to any time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from skywarden import events as E


@dataclass
class AirportState:
    airport_id: str
    intervals: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    @property
    def restricted(self) -> bool:
        return bool(self.intervals) and self.intervals[-1][1] is None

    def closed_s(self, until: datetime | None = None) -> float:
        total = 0.0
        for a, b in self.intervals:
            end = b or until
            if end is not None:
                total += (end - a).total_seconds()
        return total


@dataclass
class NightView:
    """Everything a report or a summary needs, folded from the log in one pass."""

    night: E.NightOpened | None = None
    first_t: datetime | None = None
    last_t: datetime | None = None
    ticks: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    confirmed: list[str] = field(default_factory=list)
    track_class: dict[str, str] = field(default_factory=dict)
    track_identity: dict[str, str] = field(default_factory=dict)
    paths: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)  # lat, lon, alt
    picture: E.TrackPicture | None = None
    active_threats: dict[str, E.ThreatRaised | E.ThreatUpdated] = field(default_factory=dict)
    threatened_tracks: set[str] = field(default_factory=set)
    airports: dict[str, AirportState] = field(default_factory=dict)
    kills: dict[str, E.KillNumbered] = field(default_factory=dict)  # report id -> kill
    retracted: list[E.KillRetracted] = field(default_factory=list)
    duplicates: list[E.KillDuplicate] = field(default_factory=list)
    debris: list[E.DebrisPredicted] = field(default_factory=list)
    dispatches: list[E.CrewDispatched] = field(default_factory=list)
    crew_status: dict[str, E.CrewStatusChanged] = field(default_factory=dict)  # site -> latest
    queued: list[E.CrashSiteQueued] = field(default_factory=list)
    drafted: dict[str, E.StatementDrafted] = field(default_factory=dict)
    published: list[E.StatementPublished] = field(default_factory=list)
    alerts: list[E.AlertIssued] = field(default_factory=list)
    claims: dict[str, E.ClaimRecorded] = field(default_factory=dict)
    assessments: dict[str, E.ClaimAssessed] = field(default_factory=dict)
    rejected: list[E.ReportRejected] = field(default_factory=list)
    refused: list[E.InputRefused] = field(default_factory=list)
    deliveries: list[E.Delivered] = field(default_factory=list)

    def add(self, ev: E.Event) -> None:
        self.counts[E.kind(ev)] += 1
        self.first_t = self.first_t or ev.t
        if self.last_t is None or ev.t > self.last_t:
            self.last_t = ev.t
        match ev:
            case E.NightOpened():
                self.night = ev
            case E.Tick():
                self.ticks += 1
            case E.TrackPicture():
                self.picture = ev
                for i, tid in enumerate(ev.track_id):
                    self.paths.setdefault(tid, []).append((ev.lat[i], ev.lon[i], ev.alt[i]))
                    self.track_class.setdefault(tid, ev.cls[i])
            case E.TrackConfirmed():
                self.confirmed.append(ev.track_id)
            case E.TrackClassified():
                self.track_class[ev.track_id] = ev.cls
                if ev.identity:
                    self.track_identity[ev.track_id] = ev.identity
            case E.ThreatRaised() | E.ThreatUpdated():
                self.active_threats[ev.track_id] = ev
                self.threatened_tracks.add(ev.track_id)
            case E.ThreatCleared():
                self.active_threats.pop(ev.track_id, None)
            case E.AirportRestricted():
                st = self.airports.setdefault(ev.airport_id, AirportState(ev.airport_id))
                if not st.restricted:
                    st.intervals.append((ev.t, None))
            case E.AirportLifted():
                st = self.airports.setdefault(ev.airport_id, AirportState(ev.airport_id))
                if st.restricted:
                    st.intervals[-1] = (st.intervals[-1][0], ev.t)
            case E.KillNumbered():
                self.kills[ev.report_id] = ev
            case E.KillRetracted():
                self.retracted.append(ev)
                self.kills.pop(ev.report_id, None)
            case E.KillDuplicate():
                self.duplicates.append(ev)
            case E.DebrisPredicted():
                self.debris.append(ev)
            case E.CrewDispatched():
                self.dispatches.append(ev)
            case E.CrewStatusChanged():
                self.crew_status[ev.site_id] = ev
            case E.CrashSiteQueued():
                self.queued.append(ev)
            case E.StatementDrafted():
                self.drafted[ev.statement_id] = ev
            case E.StatementPublished():
                self.published.append(ev)
            case E.AlertIssued():
                self.alerts.append(ev)
            case E.ClaimRecorded():
                self.claims[ev.claim_id] = ev
            case E.ClaimAssessed():
                self.assessments[ev.claim_id] = ev
            case E.ReportRejected():
                self.rejected.append(ev)
            case E.InputRefused():
                self.refused.append(ev)
            case E.Delivered():
                self.deliveries.append(ev)
            case _:
                pass

    # -- derived figures -------------------------------------------------------------------
    def kills_in_order(self) -> list[E.KillNumbered]:
        return sorted(self.kills.values(), key=lambda k: k.number)

    def classes(self) -> Counter[str]:
        return Counter(self.track_class.get(t, "unknown") for t in self.confirmed)

    def recovered_sites(self) -> list[str]:
        return sorted(
            s for s, st in self.crew_status.items() if st.status in ("wreckage_recovered", "site_closed")
        )

    def summary(self) -> dict[str, object]:
        """The night in figures, as the demo prints it."""
        classes = self.classes()
        kills = self.kills_in_order()
        return {
            "tracks confirmed": len(self.confirmed),
            "drones tracked": classes.get("drone", 0),
            "birds tracked": classes.get("bird", 0),
            "manned aircraft tracked": classes.get("manned_aircraft", 0),
            "unknown tracks": classes.get("unknown", 0),
            "threatening tracks": len(self.threatened_tracks),
            "kills numbered": len(kills),
            "kill reports withdrawn": len(self.retracted),
            "duplicate kill reports": len(self.duplicates),
            "crash sites predicted": len(self.debris),
            "crews dispatched": len(self.dispatches),
            "crash sites queued": len({q.site_id for q in self.queued}),
            "wreckage recovered": len(self.recovered_sites()),
            "airport restrictions": sum(len(a.intervals) for a in self.airports.values()),
            "statements drafted": len(self.drafted),
            "statements published": len(self.published),
            "alerts issued": len(self.alerts),
            "claims assessed": len(self.assessments),
            "reports rejected": len(self.rejected),
            "inputs refused": len(self.refused),
            "dead letters": len({(d.channel, d.item_id) for d in self.deliveries if d.dead_letter}),
        }


def fold(events: Iterable[E.Event], until: datetime | None = None) -> NightView:
    """Fold events (in log order) into a :class:`NightView`, stopping after ``until``."""
    view = NightView()
    for ev in events:
        if until is not None and isinstance(ev, E.Tick) and ev.t > until:
            break
        view.add(ev)
    return view
