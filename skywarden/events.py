"""The vocabulary of the night: one frozen record type per event kind, nothing else.

Every fact is one of these, appended once to the event log. Times are tz-aware UTC
``datetime`` values; positions on the wire are WGS84 (degrees, metres above the ellipsoid),
velocities east/north/up in m/s. Batched kinds (plots, the track picture) carry struct-of-arrays
lists so that one scan is one record, not one record per plot.

Kinds come in two families:

* inputs (``INPUT_KINDS``): what the outside world tells us — sensor plots, cooperative
  reports, kill reports from the air-defence command, crew reports, officers' approvals,
  external claims, and the clock itself (``Tick``). Replay feeds these back in.
* derived: everything a stage computes from inputs. Replaying the inputs through the stages
  must reproduce them exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", omit_defaults=True):
    """Base of every event: ``t`` is when the fact happened (UTC)."""

    t: datetime
    INPUT: ClassVar[bool] = False


class InputEvent(Event, frozen=True, kw_only=True):
    INPUT: ClassVar[bool] = True


# --------------------------------------------------------------------------- inputs: run, clock


class NightOpened(InputEvent, frozen=True, kw_only=True, tag="night_opened"):
    """First record of a log: which scenario and seed, and the tick the runtime uses."""

    scenario: str
    seed: int
    tick_s: float
    timezone: str
    scenario_digest: str = ""
    scenario_path: str = ""  # where the scenario file was read from (replay looks there first)


class Tick(InputEvent, frozen=True, kw_only=True, tag="tick"):
    """The clock as an input: stages run once per tick, on the inputs logged since the last one."""


# --------------------------------------------------------------------------- inputs: sensors

SensorKind = Literal["radar", "rf", "camera", "acoustic", "adsb", "remote_id"]


class PolarPlots(InputEvent, frozen=True, kw_only=True, tag="polar_plots"):
    """One scan of a sensor that measures range/bearing/elevation from a known place.

    ``azimuth_deg`` is clockwise from true north; ``elevation_deg`` above the local horizontal.
    Sigmas are 1-sigma. ``rcs_dbsm`` (radar cross-section) is optional per plot.
    """

    sensor_id: str
    sensor_kind: SensorKind = "radar"
    sensor_lat: float
    sensor_lon: float
    sensor_alt: float
    range_m: list[float]
    azimuth_deg: list[float]
    elevation_deg: list[float]
    sigma_range_m: float
    sigma_azimuth_deg: float
    sigma_elevation_deg: float
    rcs_dbsm: list[float] | None = None
    radial_speed_ms: list[float] | None = None
    # per plot, from sensors that say more than where (absent in logs written before they were
    # added): a cooperative identity (callsign, else the 24-bit Mode S address as 6 hex digits;
    # "" when none) and the sensor's own class ("drone", "bird", "manned_aircraft", "unknown";
    # "" when it gave none)
    identity: list[str] | None = None
    class_hint: list[str] | None = None


class PositionPlots(InputEvent, frozen=True, kw_only=True, tag="position_plots"):
    """One scan of a sensor that reports positions (RF direction-finding, cameras, acoustic)."""

    sensor_id: str
    sensor_kind: SensorKind = "rf"
    lat: list[float]
    lon: list[float]
    alt: list[float]
    sigma_m: list[float]
    signature: list[str] | None = None  # e.g. "drone_c2_link" for an RF detector
    identity: list[str] | None = None  # per plot, as in PolarPlots
    class_hint: list[str] | None = None  # per plot, as in PolarPlots


class AdsbReport(InputEvent, frozen=True, kw_only=True, tag="adsb"):
    icao24: str
    callsign: str
    lat: float
    lon: float
    alt: float
    ve: float | None = None
    vn: float | None = None
    vu: float | None = None


class RemoteIdReport(InputEvent, frozen=True, kw_only=True, tag="remote_id"):
    uas_id: str
    lat: float
    lon: float
    alt: float
    operator_id: str = ""
    ve: float | None = None
    vn: float | None = None
    vu: float | None = None


class SensorStatus(InputEvent, frozen=True, kw_only=True, tag="sensor_status"):
    sensor_id: str
    status: Literal["up", "down", "degraded"]
    detail: str = ""


class ReportRejected(InputEvent, frozen=True, kw_only=True, tag="report_rejected"):
    """A bad report at the ingest edge: counted and kept, never a crash."""

    source: str
    reason: str
    raw: str = ""
    line: int | None = None


# --------------------------------------------------------------------------- inputs: command, crews, people


class KillReported(InputEvent, frozen=True, kw_only=True, tag="kill_reported"):
    """The air-defence command reports a drone destroyed. ``effector`` and ``unit`` are classified."""

    report_id: str
    lat: float
    lon: float
    alt: float | None = None
    track_ref: str | None = None
    unit: str = ""
    effector: str = ""
    reported_by: str = ""  # the officer who entered it in the console (no machine link)


class KillWithdrawn(InputEvent, frozen=True, kw_only=True, tag="kill_withdrawn"):
    report_id: str
    reason: str = ""
    reported_by: str = ""


CrewStatusName = Literal["dispatched", "en_route", "on_site", "wreckage_recovered", "site_closed", "recalled"]


class CrewReported(InputEvent, frozen=True, kw_only=True, tag="crew_reported"):
    crew_id: str
    site_id: str
    status: CrewStatusName
    eta_s: float | None = None
    note: str = ""


class StatementApproved(InputEvent, frozen=True, kw_only=True, tag="statement_approved"):
    statement_id: str
    officer: str
    role: str
    # the SHA-256 of the text approved (skywarden.disclosure.binding); "" binds to none
    text_sha256: str = ""


class StatementRejected(InputEvent, frozen=True, kw_only=True, tag="statement_rejected"):
    statement_id: str
    officer: str
    role: str
    reason: str = ""


class StatementEdited(InputEvent, frozen=True, kw_only=True, tag="statement_edited"):
    statement_id: str
    editor: str
    role: str
    text_en: str
    text_ru: str


class ClaimRecorded(InputEvent, frozen=True, kw_only=True, tag="claim_recorded"):
    """An external claim (press, witness, agency) with structured fields to check against the log."""

    claim_id: str
    source: str
    what: str  # "kill", "drone_sighting", "crash", "airport_closed", "damage", ...
    count: int | None = None
    when_from: datetime | None = None
    when_to: datetime | None = None
    where: str = ""  # district or zone name
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    text: str = ""
    recorded_by: str = ""  # the officer who entered it


# --------------------------------------------------------------------------- inputs: the live service


class OperatorOnDuty(InputEvent, frozen=True, kw_only=True, tag="operator_on_duty"):
    """A person the service lets act this night, under one role (the users file, at start).

    The disclosure stage takes its roster from these (beside the scenario's officers), so a
    served night replays without the users file."""

    user: str
    role: str
    name: str = ""


class AccessAudited(InputEvent, frozen=True, kw_only=True, tag="access_audited"):
    """A login, a failed login, a logout, or a write refused for the user's role."""

    user: str
    role: str = ""
    action: Literal["login", "login_failed", "logout", "refused"]
    target: str = ""  # the request refused, e.g. "POST /api/statements/S-3/approve"
    reason: str = ""
    remote: str = ""
    request_id: str = ""  # unique per request: two identical attempts stay two facts


class ThreatAcknowledged(InputEvent, frozen=True, kw_only=True, tag="threat_acknowledged"):
    incident_id: str
    user: str
    role: str


class CrewOverride(InputEvent, frozen=True, kw_only=True, tag="crew_override"):
    """A dispatcher sends this crew to this crash site, whatever the nearest-crew rule says."""

    crew_id: str
    site_id: str
    user: str
    role: str


class CrewRecalled(InputEvent, frozen=True, kw_only=True, tag="crew_recalled"):
    """A dispatcher calls a crew back from its site (e.g. the kill was withdrawn)."""

    crew_id: str
    user: str
    role: str
    reason: str = ""


class ExerciseControl(InputEvent, frozen=True, kw_only=True, tag="exercise_control"):
    """An exercise paused, resumed or sped up (the service acts on it; the stages do not)."""

    action: Literal["pause", "resume", "speed"]
    speed: float | None = None
    user: str
    role: str


# --------------------------------------------------------------------------- derived: tracking


class TrackPicture(Event, frozen=True, kw_only=True, tag="track_picture"):
    """The confirmed tracks after the last scan of a tick (struct of arrays)."""

    track_id: list[str]
    lat: list[float]
    lon: list[float]
    alt: list[float]
    ve: list[float]
    vn: list[float]
    vu: list[float]
    sigma_m: list[float]  # 1-sigma horizontal position uncertainty
    cls: list[str]
    p_cls: list[float]
    # the same positions in the night's local frame (metres east and north of the scenario's
    # origin), as the tracker holds them: the later stages work in that frame and need not
    # project every picture back (absent in logs written before they were added)
    east_m: list[float] | None = None
    north_m: list[float] | None = None


TrackClass = Literal["drone", "bird", "manned_aircraft", "unknown"]


class TrackConfirmed(Event, frozen=True, kw_only=True, tag="track_confirmed"):
    track_id: str
    lat: float
    lon: float
    alt: float
    sensors: list[str] = []


class TrackDropped(Event, frozen=True, kw_only=True, tag="track_dropped"):
    track_id: str
    reason: str


class TrackClassified(Event, frozen=True, kw_only=True, tag="track_classified"):
    track_id: str
    cls: TrackClass
    p: float
    identity: str = ""  # callsign or Remote ID when a cooperative report matched
    features: dict[str, float] = {}


# --------------------------------------------------------------------------- derived: assessment

ThreatLevel = Literal["low", "medium", "high", "critical"]


class ThreatRaised(Event, frozen=True, kw_only=True, tag="threat_raised"):
    incident_id: str
    track_id: str
    level: ThreatLevel
    zone_id: str
    time_to_zone_s: float | None
    p_entry: float
    cpa_m: float
    reasons: list[str]


class ThreatUpdated(Event, frozen=True, kw_only=True, tag="threat_updated"):
    incident_id: str
    track_id: str
    level: ThreatLevel
    zone_id: str
    time_to_zone_s: float | None
    p_entry: float
    cpa_m: float
    reasons: list[str]


class ThreatCleared(Event, frozen=True, kw_only=True, tag="threat_cleared"):
    incident_id: str
    track_id: str
    reason: str


# --------------------------------------------------------------------------- derived: response


class AirportRestricted(Event, frozen=True, kw_only=True, tag="airport_restricted"):
    airport_id: str
    reason: str
    track_ids: list[str]


class AirportLifted(Event, frozen=True, kw_only=True, tag="airport_lifted"):
    airport_id: str
    restricted_since: datetime
    duration_s: float


class KillNumbered(Event, frozen=True, kw_only=True, tag="kill_numbered"):
    """A reported kill, matched and numbered. ``t`` is the kill time; ``local_time`` is "03:10"."""

    report_id: str
    number: int  # in the night
    day_number: int  # in the local calendar day
    local_time: str
    incident_id: str
    track_id: str | None
    matched_by: Literal["track_ref", "nearest_track", "unmatched"]
    lat: float
    lon: float
    alt: float
    near: str = ""  # the protected zone or district it fell near
    toward: str = ""  # the zone the drone was heading for


class KillDuplicate(Event, frozen=True, kw_only=True, tag="kill_duplicate"):
    report_id: str
    duplicate_of: str


class KillRetracted(Event, frozen=True, kw_only=True, tag="kill_retracted"):
    report_id: str
    number: int
    reason: str


class DebrisPredicted(Event, frozen=True, kw_only=True, tag="debris_predicted"):
    site_id: str
    incident_id: str
    kill_number: int
    lat: float  # most likely impact point
    lon: float
    polygon95: list[tuple[float, float]]  # (lat, lon) ring, 95% containment
    districts: list[str]
    zones: list[str]
    samples: int
    fall_time_s: float


class CrashSiteQueued(Event, frozen=True, kw_only=True, tag="crash_site_queued"):
    site_id: str
    incident_id: str
    priority: int  # lower is more urgent
    reason: str
    queue: list[str]  # site ids waiting, most urgent first


class CrewDispatched(Event, frozen=True, kw_only=True, tag="crew_dispatched"):
    crew_id: str
    site_id: str
    incident_id: str
    crew_kind: str
    eta_s: float
    distance_m: float
    method: Literal["road", "straight_line"]
    route: list[tuple[float, float]]  # (lat, lon) polyline


class CrewStatusChanged(Event, frozen=True, kw_only=True, tag="crew_status_changed"):
    """A crew report accepted into the lifecycle (``CrewReported`` is the raw input)."""

    crew_id: str
    site_id: str
    incident_id: str
    status: CrewStatusName
    eta_s: float | None = None


# --------------------------------------------------------------------------- derived: disclosure


class StatementDrafted(Event, frozen=True, kw_only=True, tag="statement_drafted"):
    statement_id: str
    topic: str  # "kills", "airport", "all_clear", ...
    text_en: str
    text_ru: str
    approvals_needed: int
    about: list[str] = []  # report ids / airport ids / incident ids it speaks of
    event_time: datetime | None = None  # when the thing it reports happened
    supersedes: str = ""  # the unpublished statement this draft replaces (a kill was retracted)


class FlaggedSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A part of an edited text that the statement's facts and the vocabulary do not explain:
    offsets into the text as typed (``lang`` en or ru) and the kind of the check ("word")."""

    lang: str
    start: int
    end: int
    kind: str


class StatementFlagged(Event, frozen=True, kw_only=True, tag="statement_flagged"):
    """An edit the policy lets stand for a second look (``[edit] unexplained = "second_approver"``):
    its unexplained spans, and the approvals its text now needs (one more than the topic's)."""

    statement_id: str
    spans: list[FlaggedSpan]
    approvals_needed: int


class StatementPublished(Event, frozen=True, kw_only=True, tag="statement_published"):
    statement_id: str
    text_en: str
    text_ru: str
    approved_by: list[str]
    delay_s: float  # from the event it reports to publication


class AlertIssued(Event, frozen=True, kw_only=True, tag="alert_issued"):
    """A CAP 1.2 air-danger alert for a district; ``cap_xml`` is the whole document."""

    alert_id: str
    district: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    references: list[str]
    headline: str
    cap_xml: str


class ClaimAssessed(Event, frozen=True, kw_only=True, tag="claim_assessed"):
    claim_id: str
    outcome: Literal["confirmed", "unconfirmed", "contradicted"]
    reason: str
    evidence: list[str] = []  # ids of the events (report ids, statement ids...) behind the verdict


class Delivered(InputEvent, frozen=True, kw_only=True, tag="delivered"):
    """A channel's outcome for one published item (an outside fact, so an input)."""

    channel: str
    item_id: str
    ok: bool
    attempts: int
    detail: str = ""
    dead_letter: bool = False  # the channel cannot take the item: parked for an operator


class InputRefused(Event, frozen=True, kw_only=True, tag="input_refused"):
    """A stage refused an input it cannot apply (an illegal crew status, an approval by the
    wrong role, a report about an unknown item): the refusal is logged and counted, the night goes on.
    """

    stage: str
    input_kind: str
    ref: str  # the id the input spoke of (crew id, statement id, report id)
    reason: str


# --------------------------------------------------------------------------- the registry

EVENT_TYPES: tuple[type[Event], ...] = (
    NightOpened,
    Tick,
    PolarPlots,
    PositionPlots,
    AdsbReport,
    RemoteIdReport,
    SensorStatus,
    ReportRejected,
    KillReported,
    KillWithdrawn,
    CrewReported,
    StatementApproved,
    StatementRejected,
    StatementEdited,
    ClaimRecorded,
    OperatorOnDuty,
    AccessAudited,
    ThreatAcknowledged,
    CrewOverride,
    CrewRecalled,
    ExerciseControl,
    Delivered,
    TrackPicture,
    TrackConfirmed,
    TrackDropped,
    TrackClassified,
    ThreatRaised,
    ThreatUpdated,
    ThreatCleared,
    AirportRestricted,
    AirportLifted,
    KillNumbered,
    KillDuplicate,
    KillRetracted,
    DebrisPredicted,
    CrashSiteQueued,
    CrewDispatched,
    CrewStatusChanged,
    StatementDrafted,
    StatementFlagged,
    StatementPublished,
    AlertIssued,
    ClaimAssessed,
    InputRefused,
)

AnyEvent = (
    NightOpened
    | Tick
    | PolarPlots
    | PositionPlots
    | AdsbReport
    | RemoteIdReport
    | SensorStatus
    | ReportRejected
    | KillReported
    | KillWithdrawn
    | CrewReported
    | StatementApproved
    | StatementRejected
    | StatementEdited
    | ClaimRecorded
    | OperatorOnDuty
    | AccessAudited
    | ThreatAcknowledged
    | CrewOverride
    | CrewRecalled
    | ExerciseControl
    | Delivered
    | TrackPicture
    | TrackConfirmed
    | TrackDropped
    | TrackClassified
    | ThreatRaised
    | ThreatUpdated
    | ThreatCleared
    | AirportRestricted
    | AirportLifted
    | KillNumbered
    | KillDuplicate
    | KillRetracted
    | DebrisPredicted
    | CrashSiteQueued
    | CrewDispatched
    | CrewStatusChanged
    | StatementDrafted
    | StatementFlagged
    | StatementPublished
    | AlertIssued
    | ClaimAssessed
    | InputRefused
)


def _tag(cls: type[Event]) -> str:
    """The kind a class is logged as: its ``tag="..."`` (msgspec also allows int tags; we don't)."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{cls.__name__} needs a str tag, has {tag!r}")
    return tag


KIND_OF: dict[type[Event], str] = {cls: _tag(cls) for cls in EVENT_TYPES}
TYPE_OF: dict[str, type[Event]] = {tag: cls for cls, tag in KIND_OF.items()}
INPUT_KINDS: frozenset[str] = frozenset(tag for cls, tag in KIND_OF.items() if cls.INPUT)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


def encode(event: Event) -> bytes:
    """Canonical JSON bytes of one event (what the log stores and hashes)."""
    return _encoder.encode(event)


def decode(data: bytes | str) -> Event:
    """One event back from its JSON; raises ``msgspec.ValidationError`` on a malformed record."""
    return _decoder.decode(data)


def kind(event: Event) -> str:
    return KIND_OF[type(event)]


def is_input(event: Event) -> bool:
    return type(event).INPUT
