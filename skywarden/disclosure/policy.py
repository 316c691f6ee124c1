"""The disclosure policy: the one place where what may be published is decided.

Every public text (statements, CAP alerts, feed entries) goes through :class:`DisclosurePolicy`
just before it leaves: :meth:`DisclosurePolicy.apply` (a statement draft) or
:meth:`DisclosurePolicy.redact` (any one text). Drafting uses the same object to coarsen places
(:meth:`coarsen_place`) and times (:meth:`time_text`), and to know when a statement may be
released (:meth:`release_time`). :meth:`check` finds anything a text must not contain:

* withheld terms: the scenario's sensor ids and names, sensor ids seen in the log, the unit and
  effector strings of the command's kill reports, and the policy's extra terms (whole words,
  case-insensitive);
* coordinates: a number with more fractional digits than ``place.max_decimals``, or degrees with
  minutes ("55°45");
* times finer than allowed: a clock time with seconds, or whose minutes are not a multiple of
  ``time.round_min``;
* the count of drones still airborne ("5 drones are still in the air").

The rules live in a TOML file (the shipped ``data/policy.toml`` or the scenario's ``policy``
file), validated on load: an error names the file, the key and the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from skywarden.disclosure.normalise import Normalised, Token, normalise, tokens
from skywarden.disclosure.terms import TermMatcher
from skywarden.errors import ScenarioError
from skywarden.events import (
    Event,
    KillReported,
    PolarPlots,
    PositionPlots,
    SensorStatus,
    TrackConfirmed,
)
from skywarden.geo import bearing_deg, compass, distance_m
from skywarden.scenario.load import LoadedScenario, _line_of, read_toml

DEFAULT_POLICY = "policy.toml"
# the scenario's officer roles, then the live service's (skywarden.service.users.ROLES)
ROLES = (
    "publisher", "editor", "duty_officer", "viewer",
    "dispatcher", "press_officer", "approver", "admin",
)  # fmt: skip


def default_policy_path() -> Path:
    """The shipped default policy file."""
    return Path(str(resources.files("skywarden.disclosure") / "data" / DEFAULT_POLICY))


# --------------------------------------------------------------------------- the rules (file)


class _Base(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class PlaceRules(_Base, frozen=True, kw_only=True):
    """How places are coarsened. ``distance_bands_km``: band edges in km from the city centre."""

    mode: Literal["district", "direction", "city"] = "district"
    distance_bands_km: Annotated[list[Annotated[float, Meta(ge=0.0, le=20_000.0)]], Meta(max_length=100)] = msgspec.field(
        default_factory=lambda: [0.0, 10.0, 20.0, 30.0, 50.0, 100.0]
    )
    max_decimals: int = 1


class TimeRules(_Base, frozen=True, kw_only=True):
    """``round_min``: published clock times rounded down to N minutes; ``release_delay_s``: the
    earliest release after the latest event a statement reports (s); ``delay_by_topic``: topics
    released after another delay (airport notices at once, say); ``alert_min_valid_s``: a CAP
    alert expires no sooner than this after it is issued or updated, whatever the rounding."""

    round_min: int = 5
    # bounds (docs/validation.md): a delay within a day, an alert valid at most a week
    release_delay_s: Annotated[float, Meta(ge=0.0, le=86_400.0)] = 0.0
    delay_by_topic: Annotated[dict[str, float], Meta(max_length=100)] = {}  # each checked in check_rules (its key named)
    alert_min_valid_s: Annotated[float, Meta(ge=0.0, le=604_800.0)] = 1800.0


class WithholdRules(_Base, frozen=True, kw_only=True):
    sensors: bool = True
    units: bool = True
    effectors: bool = True
    airborne_count: bool = True
    terms: Annotated[list[str], Meta(max_length=10_000)] = []


class ApprovalRules(_Base, frozen=True, kw_only=True):
    """``approvers``: distinct officers needed; ``by_topic``: topics that need another number."""

    approvers: int = 1
    roles: list[str] = msgspec.field(default_factory=lambda: ["publisher"])
    edit_roles: list[str] = msgspec.field(default_factory=lambda: ["editor", "publisher"])
    by_topic: dict[str, int] = {}

    def needed(self, topic: str) -> int:
        return self.by_topic.get(topic, self.approvers)


class EditRules(_Base, frozen=True, kw_only=True):
    """How officers' edits are read (:mod:`skywarden.disclosure.allowlist`): ``max_chars``, the
    longest text of an edit (a longer one is refused unread); ``vocabulary``, the file of
    ordinary words an edit may use, beside the policy file ("": the shipped one);
    ``unexplained``, what becomes of an edit whose only fault is words outside the vocabulary:
    "refuse" it, or let it stand for a "second_approver" (one more approval than the topic needs,
    from officers who see the words marked). Withheld terms, units, equipment, coordinates,
    times, numbers, places and airborne counts are refused either way."""

    max_chars: int = 2000
    vocabulary: str = ""
    unexplained: Literal["refuse", "second_approver"] = "refuse"


class PolicyRules(_Base, frozen=True, kw_only=True):
    """The whole policy file."""

    place: PlaceRules = PlaceRules()
    time: TimeRules = TimeRules()
    withhold: WithholdRules = WithholdRules()
    approval: ApprovalRules = ApprovalRules()
    edit: EditRules = EditRules()


def load_rules(path: str | Path | None = None) -> PolicyRules:
    """Read and check a policy file. Raises :class:`ScenarioError` naming file, key and line."""
    p = Path(path) if path is not None else default_policy_path()
    text, rules = read_toml(p, PolicyRules)
    check_rules(rules, str(p), text)
    return rules


def check_rules(rules: PolicyRules, file: str = "<policy>", text: str = "") -> None:
    """The checks that need more than one field's type; raises :class:`ScenarioError`."""

    def fail(where: str, what: str) -> ScenarioError:
        return ScenarioError(file, where, what, _line_of(text, "$." + where) if text else None)

    bands = rules.place.distance_bands_km
    if len(bands) < 2 or bands[0] != 0.0:
        raise fail("place.distance_bands_km", "needs at least two edges, the first 0")
    if any(not math.isfinite(b) or b2 <= b for b, b2 in zip(bands, bands[1:], strict=False)):
        raise fail("place.distance_bands_km", f"edges must increase strictly, got {bands}")
    if not 0 <= rules.place.max_decimals <= 3:
        raise fail("place.max_decimals", "must be 0..3 (2 decimals of a degree is ~1 km)")
    if not 1 <= rules.time.round_min <= 60 or 60 % rules.time.round_min:
        raise fail(
            "time.round_min", f"must divide 60 (1, 2, 5, 10, 15, 30...), got {rules.time.round_min}"
        )
    if not (math.isfinite(rules.time.alert_min_valid_s) and rules.time.alert_min_valid_s >= 0):
        raise fail("time.alert_min_valid_s", "must be a non-negative number of seconds")
    if not (math.isfinite(rules.time.release_delay_s) and rules.time.release_delay_s >= 0):
        raise fail("time.release_delay_s", "must be a non-negative number of seconds")
    for topic, d in rules.time.delay_by_topic.items():
        if not (math.isfinite(d) and 0 <= d <= 86_400):
            raise fail(f"time.delay_by_topic.{topic}", "must be a number of seconds from 0 to 86,400")
    for i, term in enumerate(rules.withhold.terms):
        if len(term.strip()) < 2:
            raise fail(f"withhold.terms[{i}]", f"term {term!r} is too short to match safely")
    if not 1 <= rules.edit.max_chars <= 65536:
        raise fail("edit.max_chars", f"must be 1..65536, got {rules.edit.max_chars}")
    a = rules.approval
    if not 1 <= a.approvers <= 3:
        raise fail("approval.approvers", f"must be 1..3, got {a.approvers}")
    for topic, n in a.by_topic.items():
        if not 1 <= n <= 3:
            raise fail(f"approval.by_topic.{topic}", f"must be 1..3, got {n}")
    for key, roles in (("roles", a.roles), ("edit_roles", a.edit_roles)):
        if not roles:
            raise fail(f"approval.{key}", "needs at least one role")
        for role in roles:
            if role not in ROLES:
                raise fail(f"approval.{key}", f"unknown role {role!r} (known: {list(ROLES)})")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Place:
    """A coarsened place, ready for a sentence: ``en``/``ru`` are noun phrases."""

    en: str
    ru: str
    district: str | None = None  # district id when the policy names districts
    direction: str = ""  # 8-point compass from the centre
    band_km: tuple[float, float | None] = (0.0, None)


# term, coordinate, time, airborne: what the policy withholds (check); number, place, word, unit,
# equipment, length: what the facts of a statement do not explain (the allowlist)
ViolationKind = Literal[
    "term", "coordinate", "time", "airborne", "number", "place", "word", "unit", "equipment", "length"
]


@dataclass(frozen=True, slots=True)
class Violation:
    """Something a text must not contain: ``kind`` is term/coordinate/time/airborne."""

    kind: ViolationKind
    category: str  # sensor, unit, effector, term; or what the pattern saw
    start: int
    end: int
    found: str


@dataclass(frozen=True, slots=True)
class Draft:
    """What drafting or an editor wrote, before the policy."""

    text_en: str
    text_ru: str
    event_time: datetime | None = None
    topic: str = ""


@dataclass(frozen=True, slots=True)
class Public:
    """What may be published: clean texts, the earliest release time, and what was redacted."""

    text_en: str
    text_ru: str
    release_at: datetime | None
    redacted: tuple[Violation, ...] = ()


# --------------------------------------------------------------------------- the policy

_COMPASS_RU = {
    "north": "к северу",
    "north-east": "к северо-востоку",
    "east": "к востоку",
    "south-east": "к юго-востоку",
    "south": "к югу",
    "south-west": "к юго-западу",
    "west": "к западу",
    "north-west": "к северо-западу",
}

# HH:MM[:SS[.fff]] not inside a longer run of digits
_TIME_RE = re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:[.,]\d+)?)?(?!\d)")
# a run of digit groups joined by "." or "," ("55.7512", "55,7512", "55.7512,37.6184"); a group
# after a separator longer than ``max_decimals`` digits makes the run a coordinate
_DECIMAL_RE = re.compile(r"(?<!\d)\d*(?:[.,]\d+)+")
_GROUP_RE = re.compile(r"[.,](\d+)")
# degrees with minutes (and seconds): 55°45′, 55° 45' 12" N
_DMS_RE = re.compile(
    r"\d{1,3}(?:[.,]\d+)?\s*°\s*\d{1,2}(?:[.,]\d+)?\s*['′]?(?:\s*\d{1,2}(?:[.,]\d+)?\s*[\"″])?(?:\s*[NSEWСЮВЗ]\b)?"
)
_AIRBORNE_RE = (
    # (a count needs a number: "stay indoors while drones may still be in the air" gives none)
    re.compile(r"\b\d+\b[^.;!?\n]*\b(?:in the air|airborne|inbound|still flying)\b", re.IGNORECASE),
    re.compile(r"\d+[^.;!?\n]*(?:в воздухе|на подл[её]те)", re.IGNORECASE),
    re.compile(r"(?:в воздухе|на подл[её]те)[^.;!?\n]*\d+", re.IGNORECASE),
)


@dataclass
class DisclosurePolicy:
    """The rules of one policy file applied to one scenario.

    The policy also learns withheld terms from the log (:meth:`learn`): unit and effector strings
    of ``KillReported``, sensor ids of plots and sensor status reports. A stage feeds it every
    event it sees; learning is order-independent (terms are kept sorted), so replay is exact.
    """

    rules: PolicyRules
    scenario: LoadedScenario
    source: str = ""
    _terms: dict[str, str] = field(default_factory=dict, repr=False)  # casefolded -> category
    _matcher: TermMatcher | None = field(default=None, repr=False)
    _checked: dict[str, tuple[Violation, ...]] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, object]:
        # a snapshot keeps the rules and terms, not the remembered answers of check()
        return {**self.__dict__, "_checked": {}}

    def __post_init__(self) -> None:
        w = self.rules.withhold
        if w.sensors:
            for s in self.scenario.spec.sensors:
                self.add_term(s.id, "sensor")
                self.add_term(s.name, "sensor")
        for t in w.terms:
            self.add_term(t, "term")

    @classmethod
    def for_scenario(
        cls, scenario: LoadedScenario, path: str | Path | None = None
    ) -> DisclosurePolicy:
        """The policy named by ``path``, else the scenario's ``policy`` file, else the default."""
        if path is None and scenario.spec.policy:
            path = scenario.path.parent / scenario.spec.policy
        p = Path(path) if path is not None else default_policy_path()
        return cls(load_rules(p), scenario, str(p))

    # ---------------------------------------------------------------- withheld terms

    def add_term(self, term: str, category: str) -> None:
        """Withhold ``term`` (whole word, any case). Terms under 2 characters are ignored."""
        key = term.strip().casefold()
        if len(key) < 2 or key in self._terms:
            return
        self._terms[key] = category
        self._matcher = None
        self._checked.clear()

    def learn(self, events: Iterable[Event]) -> None:
        """Withhold what the log reveals: units, effectors, sensor ids."""
        w = self.rules.withhold
        for e in events:
            if isinstance(e, KillReported):
                if w.units and e.unit:
                    self.add_term(e.unit, "unit")
                if w.effectors and e.effector:
                    self.add_term(e.effector, "effector")
            elif w.sensors and isinstance(e, PolarPlots | PositionPlots | SensorStatus):
                self.add_term(e.sensor_id, "sensor")
            elif w.sensors and isinstance(e, TrackConfirmed):
                for s in e.sensors:
                    self.add_term(s, "sensor")

    @property
    def withheld_terms(self) -> list[tuple[str, str]]:
        """(casefolded term, category), sorted."""
        return sorted(self._terms.items())

    def find_terms(
        self, n: Normalised, toks: list[Token] | None = None
    ) -> list[tuple[int, int, str]]:
        """(start, end, category) of every withheld term in a normalised text, in any script,
        spelling or spacing (:mod:`skywarden.disclosure.terms`); offsets of ``n.text``."""
        if self._matcher is None:
            self._matcher = TermMatcher(self._terms)
        return self._matcher.find(n, tokens(n) if toks is None else toks)

    # ---------------------------------------------------------------- coarsening

    def coarsen_place(self, lat: float, lon: float) -> Place:
        """A public name for a point: district, or direction and distance band, or the city."""
        sc = self.scenario
        city = sc.spec.city
        mode = self.rules.place.mode
        if mode == "city":
            return Place(en=city.name, ru=city.name_ru or city.name)
        if mode == "district":
            did = sc.district_at(lat, lon)
            if did is not None:
                d = next(d for d in sc.spec.districts if d.id == did)
                return Place(en=d.name, ru=d.name_ru or d.name, district=did)
        d_km = distance_m(city.lat, city.lon, lat, lon) / 1000.0
        direction = compass(bearing_deg(city.lat, city.lon, lat, lon), 8)
        bands = self.rules.place.distance_bands_km
        lo, hi = bands[-1], None
        for a, b in zip(bands, bands[1:], strict=False):
            if a <= d_km < b:
                lo, hi = a, b
                break
        if hi is None:
            en = f"more than {lo:g} km {direction} of the centre"
            ru = f"более чем в {lo:g} км {_COMPASS_RU[direction]} от центра"
        elif lo == 0.0:
            en = f"within {hi:g} km {direction} of the centre"
            ru = f"в пределах {hi:g} км {_COMPASS_RU[direction]} от центра"
        else:
            en = f"{lo:g}-{hi:g} km {direction} of the centre"
            ru = f"в {lo:g}–{hi:g} км {_COMPASS_RU[direction]} от центра"
        return Place(en=en, ru=ru, direction=direction, band_km=(lo, hi))

    def coarsen_time(self, t: datetime) -> datetime:
        """``t`` in local time, rounded down to ``round_min`` minutes (never later than ``t``)."""
        local = t.astimezone(self.scenario.tz)
        n = self.rules.time.round_min
        return local.replace(minute=local.minute - local.minute % n, second=0, microsecond=0)

    def time_text(self, t: datetime) -> str:
        """The coarsened local clock time as published, "03:10"."""
        return self.coarsen_time(t).strftime("%H:%M")

    def release_time(self, event_time: datetime, topic: str = "") -> datetime:
        """The earliest publication of a statement (of ``topic``) about something that happened
        at ``event_time``."""
        tr = self.rules.time
        return event_time + timedelta(seconds=tr.delay_by_topic.get(topic, tr.release_delay_s))

    # ---------------------------------------------------------------- checking and applying

    def check(self, text: str) -> list[Violation]:
        """Everything in ``text`` the policy withholds, in text order (empty: publishable)."""
        # the same texts come back often (alert templates, every tick's redaction): remember
        # the answers until a term is added
        done = self._checked.get(text)
        if done is None:
            if len(self._checked) >= 4096:
                self._checked.clear()
            done = self._checked[text] = tuple(self._check(text))
        return list(done)

    def _check(self, text: str) -> list[Violation]:
        found: list[Violation] = []
        if self._terms:
            norm = normalise(text)
            for a, b, cat in self.find_terms(norm):
                s, e = norm.span(a, b)
                found.append(Violation("term", cat, s, e, text[s:e]))
        maxd = self.rules.place.max_decimals
        for m in _DECIMAL_RE.finditer(text):
            if any(len(g) > maxd for g in _GROUP_RE.findall(m.group(0))):
                found.append(Violation("coordinate", "decimal", m.start(), m.end(), m.group(0)))
        for m in _DMS_RE.finditer(text):
            found.append(Violation("coordinate", "degrees", m.start(), m.end(), m.group(0)))
        n = self.rules.time.round_min
        for m in _TIME_RE.finditer(text):
            if m.group(3) is not None:
                found.append(Violation("time", "seconds", m.start(), m.end(), m.group(0)))
            elif int(m.group(2)) % n:
                found.append(
                    Violation("time", f"finer than {n} min", m.start(), m.end(), m.group(0))
                )
        if self.rules.withhold.airborne_count:
            for rx_a in _AIRBORNE_RE:
                for m in rx_a.finditer(text):
                    found.append(Violation("airborne", "count", m.start(), m.end(), m.group(0)))
        found.sort(key=lambda v: (v.start, v.end))
        return found

    def redact(self, text: str, lang: Literal["en", "ru"] = "en") -> tuple[str, list[Violation]]:
        """``text`` made publishable, and what was taken out.

        Withheld terms, coordinates and airborne counts become "[withheld]" ("[скрыто]"); a clock
        time finer than allowed is rounded down to ``round_min`` minutes. The result passes
        :meth:`check` (redaction repeats until it does).
        """
        mark = "[скрыто]" if lang == "ru" else "[withheld]"
        taken: list[Violation] = []
        for _ in range(4):
            found = self.check(text)
            if not found:
                return text, taken
            taken.extend(found)
            out, pos = [], 0
            for v in found:
                if v.start < pos:  # overlaps a span already replaced
                    continue
                out.append(text[pos : v.start])
                out.append(self._replacement(v, mark))
                pos = v.end
            out.append(text[pos:])
            text = "".join(out)
        raise AssertionError(f"redaction did not converge on {text!r}")  # pragma: no cover

    def _replacement(self, v: Violation, mark: str) -> str:
        if v.kind == "time":
            m = _TIME_RE.fullmatch(v.found)
            if m is not None:
                n = self.rules.time.round_min
                minute = int(m.group(2))
                return f"{int(m.group(1)):02d}:{minute - minute % n:02d}"
        return mark

    def apply(self, draft: Draft) -> Public:
        """The publishable form of a draft: both texts redacted, the release time set."""
        en, r_en = self.redact(draft.text_en, "en")
        ru, r_ru = self.redact(draft.text_ru, "ru")
        release = (
            self.release_time(draft.event_time, draft.topic)
            if draft.event_time is not None
            else None
        )
        return Public(text_en=en, text_ru=ru, release_at=release, redacted=tuple(r_en + r_ru))


__all__ = [
    "ApprovalRules",
    "DisclosurePolicy",
    "Draft",
    "EditRules",
    "Place",
    "PlaceRules",
    "PolicyRules",
    "Public",
    "TimeRules",
    "Violation",
    "ViolationKind",
    "WithholdRules",
    "check_rules",
    "default_policy_path",
    "load_rules",
]
