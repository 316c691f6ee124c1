"""Air-danger alerts for the city's districts, as CAP 1.2 messages.

A district is under air danger while the predicted path of a threatening track crosses it within
the horizon. A threatening track is one with an open threat (``ThreatRaised``/``ThreatUpdated``
not yet followed by ``ThreatCleared``) that the last ``TrackPicture`` shows as a drone or an
unknown. Its path is the straight line flown at its current velocity for ``horizon_s``, widened by
``margin_m + sigma_k * sigma_m`` (turns, position uncertainty, falling debris)::

    p(s) = p0 + v * s,   0 <= s <= horizon_s        (local east/north metres)
    danger(d) = any track: distance(path, d) <= margin_m + sigma_k * sigma_m   (the widened path meets d)

Each district's alert follows a lifecycle (a transition table, illegal moves raise
:class:`~skywarden.errors.TransitionError`)::

    clear --raise--> active --update--> active
    active --quiet--> holding --resume--> active      (danger back within the hold time)
    holding --update--> active                        (back, and materially different)
    holding --cancel--> clear                         (quiet for hold_s: the all-clear)

``raise`` publishes a CAP Alert, ``update`` an Update (severity or urgency changed, or the alert
nears its expiry), ``cancel`` a Cancel; Update and Cancel reference every earlier message of the
chain. The area of every message is the district's own public polygon, never a track position;
times pass through the disclosure policy (e.g. rounded down to whole minutes). Identifiers are
deterministic: ``skywarden-<city>-<night date>-<district>-<n>``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from skywarden.assess.threat import picture_local
from skywarden.disclosure import cap
from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.errors import ConfigError, TransitionError
from skywarden.events import (
    AlertIssued,
    Event,
    ThreatCleared,
    ThreatLevel,
    ThreatRaised,
    ThreatUpdated,
    TrackPicture,
)
from skywarden.scenario import LoadedScenario

LEVELS: tuple[ThreatLevel, ...] = ("low", "medium", "high", "critical")
SEVERITY_OF: dict[str, cap.Severity] = {
    "low": "Minor",
    "medium": "Moderate",
    "high": "Severe",
    "critical": "Extreme",
}

AlertState = Literal["clear", "active", "holding"]
Action = Literal["raise", "update", "quiet", "resume", "cancel"]

# (state, action) -> next state; anything else is a TransitionError.
TRANSITIONS: dict[tuple[AlertState, Action], AlertState] = {
    ("clear", "raise"): "active",
    ("active", "update"): "active",
    ("active", "quiet"): "holding",
    ("holding", "resume"): "active",
    ("holding", "update"): "active",
    ("holding", "cancel"): "clear",
}


@dataclass(frozen=True)
class AlertConfig:
    """Settings of the alert stage (times in seconds, lengths in metres)."""

    horizon_s: float = 600.0  # how far ahead a track's path is predicted
    margin_m: float = 1_500.0  # path half-width: turns, debris
    sigma_k: float = 2.0  # plus this many 1-sigma position uncertainties
    hold_s: float = 300.0  # quiet this long before the all-clear (no flapping)
    immediate_s: float = 300.0  # predicted over the district within this: urgency Immediate
    min_update_s: float = 120.0  # de-escalating updates no more often than this
    expires_s: float = 3_600.0  # CAP <expires> after <sent>
    refresh_s: float = 600.0  # re-issue (Update) an active alert this long before it expires
    classes: tuple[str, ...] = ("drone", "unknown")
    min_level: ThreatLevel = "low"
    # "Exercise" unless a deployment says otherwise: a simulated or replayed night must never
    # reach an alert hub as "Actual".
    status: cap.Status = "Exercise"
    sender: str = ""  # default "skywarden@<city>"
    sender_name: str = ""  # default "<City> civil protection"
    contact: str = "112"
    web: str = ""
    languages: tuple[str, ...] = ("en-GB", "ru-RU")

    def __post_init__(self) -> None:
        if self.horizon_s <= 0 or self.hold_s < 0 or self.expires_s <= self.refresh_s:
            raise ConfigError("alerts: need horizon_s > 0, hold_s >= 0 and expires_s > refresh_s")
        if self.min_level not in LEVELS:
            raise ConfigError(f"alerts: min_level {self.min_level!r} is not one of {LEVELS}")
        if self.status not in cap.STATUSES:
            raise ConfigError(f"alerts: status {self.status!r} is not a CAP status")
        bad = [lang for lang in self.languages if lang not in TEXTS]
        if bad or not self.languages:
            raise ConfigError(f"alerts: languages {bad} have no texts; known: {sorted(TEXTS)}")


@dataclass(frozen=True)
class Texts:
    """The wording of one language (``{name}`` is the district, ``{minutes}`` the horizon)."""

    event: str
    headline: str
    headline_cancel: str
    description_expected: str
    description_immediate: str
    description_cancel: str
    instruction: str
    instruction_cancel: str
    sender_name: str


TEXTS: dict[str, Texts] = {
    "en-GB": Texts(
        event="Drone danger",
        headline="Drone danger: {name}",
        headline_cancel="Drone danger over: {name}",
        description_expected=(
            "Drones are approaching. Area: {name}. Danger from the air is expected within the "
            "next {minutes} minutes."
        ),
        description_immediate="Drones may be overhead within minutes. Area: {name}.",
        description_cancel="The drone danger is over. Area: {name}.",
        instruction=(
            "Go indoors now and stay away from windows. Shelter in an inner room without windows, "
            "a basement, an underground station or the nearest shelter. Do not go near, touch or "
            "film drones or debris. Report fallen debris on 112."
        ),
        instruction_cancel="You may leave shelter. Do not go near or touch any debris; report it on 112.",
        sender_name="{city} civil protection",
    ),
    "ru-RU": Texts(
        event="Беспилотная опасность",
        headline="Беспилотная опасность: {name}",
        headline_cancel="Отбой беспилотной опасности: {name}",
        description_expected=(
            "Беспилотники приближаются. Территория: {name}. Опасность с воздуха ожидается "
            "в ближайшие {minutes}."
        ),
        description_immediate="Беспилотники могут появиться в ближайшие минуты. Территория: {name}.",
        description_cancel="Беспилотная опасность миновала. Территория: {name}.",
        instruction=(
            "Немедленно зайдите в помещение и держитесь подальше от окон. Укройтесь во внутренней "
            "комнате без окон, в подвале, на станции метро или в ближайшем укрытии. Не подходите "
            "к беспилотникам и обломкам, не трогайте и не снимайте их. О найденных обломках "
            "сообщайте по номеру 112."
        ),
        instruction_cancel=(
            "Можно покинуть укрытие. Не подходите к обломкам и не трогайте их; сообщайте о них по номеру 112."
        ),
        sender_name="Гражданская защита: {city}",
    ),
}


def minutes_phrase(lang: str, n: int) -> str:
    """``n`` minutes in ``lang``; Russian agrees the noun with the number (1 минуту, 2 минуты, 5 минут)."""
    if not lang.startswith("ru"):
        return str(n)
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} минуту"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return f"{n} минуты"
    return f"{n} минут"


def slug(text: str) -> str:
    """A name as an identifier fragment: ASCII lower-case letters, digits and '_'."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_") or "x"


@dataclass
class DistrictAlert:
    """The alert chain of one district."""

    state: AlertState = "clear"
    sequence: int = 0  # messages issued for this district tonight
    chain: list[cap.Reference] = field(default_factory=list)  # the open chain, oldest first
    severity: cap.Severity = "Unknown"
    urgency: cap.Urgency = "Unknown"
    last_sent: datetime | None = None  # real time of the last message
    quiet_since: datetime | None = None
    expires: datetime | None = None  # <expires> of the open chain's last message

    def go(self, action: Action) -> None:
        nxt = TRANSITIONS.get((self.state, action))
        if nxt is None:
            raise TransitionError("district alert", self.state, action)
        self.state = nxt


@dataclass(frozen=True)
class Danger:
    """What the prediction found for one district."""

    severity: cap.Severity
    urgency: cap.Urgency
    certainty: cap.Certainty


class AlertStage:
    """CAP air-danger alerts per district from threats and the track picture. See the module doc."""

    name = "alerts"

    def __init__(
        self,
        scenario: LoadedScenario,
        config: AlertConfig | None = None,
        policy: DisclosurePolicy | None = None,
    ) -> None:
        self.scenario = scenario
        self.config = config or AlertConfig()
        # the one disclosure policy: every time and text of a CAP document passes through it
        self.policy = policy if policy is not None else DisclosurePolicy.for_scenario(scenario)
        city = scenario.spec.city
        self.city_slug = slug(city.name)
        self.sender = self.config.sender or f"skywarden@{self.city_slug}"
        self.night_tag = scenario.start.astimezone(scenario.tz).strftime("%Y%m%d")
        self.issued = 0  # CAP messages issued tonight, every district
        self.districts = [d for d in scenario.spec.districts if d.id in scenario.district_shapes]
        self._shapes = [scenario.district_shapes[d.id] for d in self.districts]
        from skywarden import polygons  # numba: loaded when a stage is built, not restored

        self._rings, self._ring_starts = polygons.pack_rings(self._shapes)
        self.alerts: dict[str, DistrictAlert] = {d.id: DistrictAlert() for d in self.districts}
        self._threats: dict[str, ThreatLevel] = {}  # track id -> level of its open threat
        self._picture: TrackPicture | None = None

    # ------------------------------------------------------------------ stage

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        self.policy.learn(events)
        for ev in events:
            if isinstance(ev, ThreatRaised | ThreatUpdated):
                self._threats[ev.track_id] = ev.level
            elif isinstance(ev, ThreatCleared):
                self._threats.pop(ev.track_id, None)
            elif isinstance(ev, TrackPicture) and (
                self._picture is None or ev.t >= self._picture.t
            ):
                self._picture = ev
        dangers = self.predict(now)
        out: list[Event] = []
        for d in self.districts:
            danger = dangers.get(d.id)
            if danger is None and self.alerts[d.id].state not in ("active", "holding"):
                continue  # nothing over a district without an alert: nothing to advance
            issued = self._advance(d.id, danger, now)
            if issued is not None:
                out.append(issued)
        return out

    # ------------------------------------------------------------------ prediction

    def predict(self, now: datetime) -> dict[str, Danger]:
        """District id -> the danger predicted over it in ``(now, now + horizon_s]``."""
        pic, cfg = self._picture, self.config
        if pic is None or not self._threats:
            return {}
        floor = LEVELS.index(cfg.min_level)
        # a track with a non-finite position or velocity cannot be predicted: it is skipped
        threats, isfinite = self._threats, math.isfinite
        idx = [
            i
            for i, tid in enumerate(pic.track_id)
            if tid in threats
            and pic.cls[i] in cfg.classes
            and LEVELS.index(threats[tid]) >= floor
            and isfinite(pic.lat[i])
            and isfinite(pic.lon[i])
            and isfinite(pic.ve[i])
            and isfinite(pic.vn[i])
            and isfinite(pic.sigma_m[i])
        ]
        if not idx:
            return {}
        sel = np.asarray(idx)
        e, n = picture_local(self.scenario.frame, pic, sel)
        ve, vn = np.asarray(pic.ve)[sel], np.asarray(pic.vn)[sel]
        # dead-reckon from the picture to now, then fly the horizon: p0 = p + v*dt, p1 = p0 + v*H
        dt = max(0.0, (now - pic.t).total_seconds())
        e0, n0 = e + ve * dt, n + vn * dt
        e1, n1 = e0 + ve * cfg.horizon_s, n0 + vn * cfg.horizon_s
        radius = cfg.margin_m + cfg.sigma_k * np.asarray(pic.sigma_m)[sel]
        speed = np.maximum(np.hypot(ve, vn), 1e-3)
        levels = np.asarray([LEVELS.index(self._threats[pic.track_id[i]]) for i in idx], dtype=np.int64)
        found: dict[str, Danger] = {}
        from skywarden import polygons  # the compiled loops: loaded with the first threat

        near, entry, inside, level = polygons.rings_reached(
            self._rings, self._ring_starts, e0, n0, e1, n1, radius, speed, levels
        )
        for k, d in enumerate(self.districts):
            if not near[k]:
                continue
            entry_s = float(entry[k])
            found[d.id] = Danger(
                severity=SEVERITY_OF[LEVELS[int(level[k])]],
                urgency="Immediate" if entry_s <= cfg.immediate_s else "Expected",
                certainty="Observed" if inside[k] else "Likely",
            )
        return found

    # ------------------------------------------------------------------ lifecycle

    def _advance(self, district: str, danger: Danger | None, now: datetime) -> AlertIssued | None:
        a, cfg = self.alerts[district], self.config
        if danger is None:
            if a.state == "active":
                a.go("quiet")
                a.quiet_since = now
            if a.state == "holding" and (
                (a.quiet_since is not None and (now - a.quiet_since).total_seconds() >= cfg.hold_s)
                or self._expiring(a, now)  # quiet, and about to lapse: say so, never let it lapse
            ):
                a.go("cancel")
                return self._issue(district, "Cancel", None, now)
            return None
        if a.state == "clear":
            a.go("raise")
            return self._issue(district, "Alert", danger, now)
        escalated = (
            SEVERITIES_RANK[danger.severity] > SEVERITIES_RANK[a.severity]
            or URGENCY_RANK[danger.urgency] > URGENCY_RANK[a.urgency]
        )
        changed = (danger.severity, danger.urgency) != (a.severity, a.urgency)
        since = (now - a.last_sent).total_seconds() if a.last_sent else float("inf")
        expiring = self._expiring(a, now)
        if (changed and (escalated or since >= cfg.min_update_s)) or expiring:
            a.go("update")
            a.quiet_since = None
            return self._issue(district, "Update", danger, now)
        if a.state == "holding":
            a.go("resume")
            a.quiet_since = None
        return None

    def _expiring(self, a: DistrictAlert, now: datetime) -> bool:
        """The open alert is within ``refresh_s`` of its expiry (then it is updated, or cancelled
        when quiet, so that no district sits with a lapsed alert and no Cancel)."""
        return a.expires is not None and now >= a.expires - timedelta(seconds=self.config.refresh_s)

    def expiry(self, now: datetime, sent: datetime) -> datetime:
        """The ``<expires>`` of a message issued at ``now`` and dated ``sent`` (rounded down by
        the policy): ``expires_s`` after ``sent``, but never sooner than the policy's
        ``alert_min_valid_s`` after ``now`` (nor so soon that it would be refreshed at once),
        rounded up to the policy's grid so it is published as is."""
        cfg = self.config
        least = max(self.policy.rules.time.alert_min_valid_s, cfg.refresh_s + cfg.min_update_s)
        target = max(sent + timedelta(seconds=cfg.expires_s), now + timedelta(seconds=least))
        on_grid = self.policy.coarsen_time(target)
        if on_grid < target:  # round up: one step of the grid later
            on_grid = self.policy.coarsen_time(
                target + timedelta(minutes=self.policy.rules.time.round_min)
            )
        return on_grid

    def _issue(
        self,
        district: str,
        msg_type: Literal["Alert", "Update", "Cancel"],
        danger: Danger | None,
        now: datetime,
    ) -> AlertIssued:
        a = self.alerts[district]
        a.sequence += 1
        self.issued += 1
        # a neutral counter and the night's date: no name (of a district, a place, anything a
        # policy might withhold) ever reaches an identifier, a file name or a feed id
        identifier = f"skywarden-{self.night_tag}-{self.issued:05d}"
        sent = self.policy.coarsen_time(now)
        if a.chain and sent < a.chain[-1].sent:
            sent = a.chain[-1].sent  # a later message is never dated before the one it updates
        references = tuple(a.chain) if msg_type != "Alert" else ()
        expires = self.expiry(now, sent)
        doc = cap.Alert(
            identifier=identifier,
            sender=self.sender,
            sent=sent,
            status=self.config.status,
            msg_type=msg_type,
            scope="Public",
            references=references,
            infos=tuple(
                self._info(lang, district, msg_type, danger, sent, expires)
                for lang in self.config.languages
            ),
        )
        xml = cap.to_xml(doc)
        if msg_type == "Cancel":
            a.chain.clear()
            a.severity = a.urgency = "Unknown"
            a.expires = None
        else:
            a.chain.append(doc.reference)
            a.expires = expires
            assert danger is not None
            a.severity, a.urgency = danger.severity, danger.urgency
        a.last_sent = now
        return AlertIssued(
            t=now,
            alert_id=identifier,
            district=district,
            msg_type=msg_type,
            references=[str(r) for r in references],
            headline=doc.infos[0].headline,
            cap_xml=xml,
        )

    def _info(
        self,
        lang: str,
        district: str,
        msg_type: str,
        danger: Danger | None,
        sent: datetime,
        expires: datetime,
    ) -> cap.Info:
        tx, cfg = TEXTS[lang], self.config
        spec = next(d for d in self.districts if d.id == district)
        ru = lang.startswith("ru")
        name = (spec.name_ru or spec.name) if ru else spec.name
        city = self.scenario.spec.city
        city_name = (city.name_ru or city.name) if ru else city.name
        minutes = minutes_phrase(lang, int(round(cfg.horizon_s / 60)))
        urgency: cap.Urgency
        severity: cap.Severity
        certainty: cap.Certainty
        if msg_type == "Cancel":
            headline = tx.headline_cancel.format(name=name)
            description = tx.description_cancel.format(name=name)
            instruction = tx.instruction_cancel
            urgency, severity, certainty = "Past", "Minor", "Observed"
            response: cap.ResponseType = "AllClear"
        else:
            assert danger is not None
            headline = tx.headline.format(name=name)
            immediate = danger.urgency == "Immediate"
            template = tx.description_immediate if immediate else tx.description_expected
            description = template.format(name=name, minutes=minutes)
            instruction = tx.instruction
            urgency, severity, certainty = danger.urgency, danger.severity, danger.certainty
            response = "Shelter"

        def public(text: str) -> str:
            # every published text passes the disclosure policy (withheld terms, coordinates...)
            return self.policy.redact(text, "ru" if ru else "en")[0]

        return cap.Info(
            language=lang,
            categories=("Safety", "Security"),
            event=public(tx.event),
            response_types=(response,),
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            expires=expires,
            sender_name=public(cfg.sender_name or tx.sender_name.format(city=city_name)),
            headline=public(headline),
            description=public(description),
            instruction=public(instruction),
            web=cfg.web,
            contact=public(cfg.contact),
            # the district's own public polygon, never a track position
            areas=(cap.Area(desc=public(name), polygons=(tuple(spec.polygon),)),),
        )


SEVERITIES_RANK: dict[str, int] = {
    "Unknown": 0,
    "Minor": 1,
    "Moderate": 2,
    "Severe": 3,
    "Extreme": 4,
}
URGENCY_RANK: dict[str, int] = {"Unknown": 0, "Past": 0, "Future": 1, "Expected": 2, "Immediate": 3}
