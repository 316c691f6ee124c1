"""OASIS Common Alerting Protocol 1.2: a small typed builder, a parser, and a validator.

A CAP document is built from frozen records (:class:`Alert` > :class:`Info` > :class:`Area`),
written with lxml (:func:`to_xml`), read back (:func:`parse`, so ``parse(to_xml(a)) == a``), and
checked (:func:`validate`) against the official OASIS schema shipped in
``skywarden/disclosure/schema/CAP-v1.2.xsd`` plus the rules of the specification that the
schema cannot express:

* times carry an explicit offset, never "Z" (UTC is written "-00:00", CAP 1.2 §3.3.2);
* ``identifier`` and ``sender`` contain no spaces, commas, "<" or "&";
* ``references`` is a space-separated list of "sender,identifier,sent" triples, and an Update or a
  Cancel names at least one earlier message;
* a polygon is space-separated "lat,lon" pairs (WGS84 degrees), at least four, first == last;
* ``restriction`` is given for scope Restricted and ``addresses`` for scope Private.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from importlib import resources
from typing import Literal, get_args

from lxml import etree

from skywarden.errors import SkywardenError

NS = "urn:oasis:names:tc:emergency:cap:1.2"
_Q = "{" + NS + "}"

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
    "CBRNE", "Other",
]  # fmt: skip
ResponseType = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"
]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

STATUSES: tuple[str, ...] = get_args(Status)
MSG_TYPES: tuple[str, ...] = get_args(MsgType)
SCOPES: tuple[str, ...] = get_args(Scope)
CATEGORIES: tuple[str, ...] = get_args(Category)
RESPONSE_TYPES: tuple[str, ...] = get_args(ResponseType)
URGENCIES: tuple[str, ...] = get_args(Urgency)
SEVERITIES: tuple[str, ...] = get_args(Severity)
CERTAINTIES: tuple[str, ...] = get_args(Certainty)

# CAP 1.2 §3.3.2: the dateTime form every CAP time takes (the schema's own pattern).
CAP_TIME_RE = re.compile(r"\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d")
_ID_FORBIDDEN = re.compile(r"[\s,<&]")
_PAIR = r"-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?"
_POLYGON_RE = re.compile(rf"{_PAIR}(?: {_PAIR}){{3,}}")

LatLon = tuple[float, float]


class CapError(SkywardenError):
    """A CAP document that is malformed or breaks the CAP 1.2 schema or specification."""

    def __init__(self, what: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [what]
        super().__init__(what if not problems else f"{what}: " + "; ".join(problems))


# --------------------------------------------------------------------------- times


def format_time(t: datetime) -> str:
    """A tz-aware time in the CAP form "2025-03-11T03:10:00+03:00" (whole seconds, in ``t``'s
    own offset; UTC as "-00:00" as CAP 1.2 §3.3.2 demands). Sub-second parts are dropped.
    """
    off = t.utcoffset()
    if off is None:
        raise CapError(f"CAP times need a UTC offset, got the naive time {t.isoformat()}")
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes <= 0 else "+"  # zero offset is "-00:00"
    hh, mm = divmod(abs(minutes), 60)
    return f"{t.replace(microsecond=0, tzinfo=None).isoformat()}{sign}{hh:02d}:{mm:02d}"


def parse_time(text: str) -> datetime:
    """A CAP time string back to a tz-aware datetime (keeping its offset)."""
    text = text.strip()
    if not CAP_TIME_RE.fullmatch(text):
        raise CapError(f"not a CAP 1.2 time (YYYY-MM-DDThh:mm:ss±hh:mm, no 'Z'): {text!r}")
    base, sign, hh, mm = text[:19], text[19], int(text[20:22]), int(text[23:25])
    off = timedelta(hours=hh, minutes=mm) * (-1 if sign == "-" else 1)
    return datetime.fromisoformat(base).replace(tzinfo=timezone(off))


# --------------------------------------------------------------------------- the records


@dataclass(frozen=True, slots=True)
class Reference:
    """One earlier message, written "sender,identifier,sent"."""

    sender: str
    identifier: str
    sent: datetime

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{format_time(self.sent)}"

    @classmethod
    def parse(cls, text: str) -> Reference:
        parts = text.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise CapError(f"a reference is 'sender,identifier,sent', got {text!r}")
        return cls(parts[0], parts[1], parse_time(parts[2]))


@dataclass(frozen=True, slots=True)
class Area:
    """An ``<area>``: its description and (lat, lon) rings, each closed (first == last)."""

    desc: str
    polygons: tuple[tuple[LatLon, ...], ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value)


@dataclass(frozen=True, slots=True)
class Info:
    """An ``<info>`` block: one language's account of the event (fields in schema order)."""

    language: str
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response_types: tuple[ResponseType, ...] = ()
    audience: str = ""
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    contact: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """A whole CAP ``<alert>`` message."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    infos: tuple[Info, ...] = ()
    source: str = ""
    restriction: str = ""
    addresses: str = ""
    codes: tuple[str, ...] = ()
    note: str = ""
    references: tuple[Reference, ...] = ()
    incidents: str = ""

    @property
    def reference(self) -> Reference:
        """How a later message refers to this one."""
        return Reference(self.sender, self.identifier, self.sent)


# --------------------------------------------------------------------------- polygons


def format_polygon(ring: tuple[LatLon, ...] | list[LatLon], decimals: int = 5) -> str:
    """A (lat, lon) ring as CAP "lat,lon lat,lon ..." (closed: the first pair is repeated)."""
    pairs = [f"{lat:.{decimals}f},{lon:.{decimals}f}" for lat, lon in ring]
    if pairs and pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    return " ".join(pairs)


def parse_polygon(text: str) -> tuple[LatLon, ...]:
    """CAP polygon text back to a (lat, lon) ring; raises :class:`CapError` if malformed."""
    problem = polygon_problem(text)
    if problem:
        raise CapError(problem)
    return tuple((float(a), float(b)) for a, b in (p.split(",") for p in text.split()))


def polygon_problem(text: str) -> str | None:
    """Why ``text`` is not a CAP 1.2 polygon (§3.2.4), or None when it is one."""
    if not _POLYGON_RE.fullmatch(text.strip()):
        return f"a polygon is at least 4 space-separated 'lat,lon' pairs, got {text[:60]!r}"
    pairs = text.split()
    if pairs[0] != pairs[-1]:
        return "a polygon's first and last pairs must be the same point"
    for p in pairs:
        lat, lon = (float(v) for v in p.split(","))
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return f"polygon point {p} is not a WGS84 latitude,longitude"
    return None


# --------------------------------------------------------------------------- writing


def _sub(parent: etree._Element, tag: str, text: str) -> etree._Element:
    el = etree.SubElement(parent, _Q + tag)
    el.text = text
    return el


def _pairs(parent: etree._Element, tag: str, pairs: tuple[tuple[str, str], ...]) -> None:
    for name, value in pairs:
        el = etree.SubElement(parent, _Q + tag)
        _sub(el, "valueName", name)
        _sub(el, "value", value)


def to_element(alert: Alert) -> etree._Element:
    """The ``<alert>`` element (children in the schema's order)."""
    root = etree.Element(_Q + "alert", nsmap={None: NS})
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", format_time(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    if alert.source:
        _sub(root, "source", alert.source)
    _sub(root, "scope", alert.scope)
    if alert.restriction:
        _sub(root, "restriction", alert.restriction)
    if alert.addresses:
        _sub(root, "addresses", alert.addresses)
    for code in alert.codes:
        _sub(root, "code", code)
    if alert.note:
        _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(str(r) for r in alert.references))
    if alert.incidents:
        _sub(root, "incidents", alert.incidents)
    for info in alert.infos:
        el = etree.SubElement(root, _Q + "info")
        _sub(el, "language", info.language)
        for cat in info.categories:
            _sub(el, "category", cat)
        _sub(el, "event", info.event)
        for rt in info.response_types:
            _sub(el, "responseType", rt)
        _sub(el, "urgency", info.urgency)
        _sub(el, "severity", info.severity)
        _sub(el, "certainty", info.certainty)
        if info.audience:
            _sub(el, "audience", info.audience)
        _pairs(el, "eventCode", info.event_codes)
        for tag, when in (
            ("effective", info.effective),
            ("onset", info.onset),
            ("expires", info.expires),
        ):
            if when is not None:
                _sub(el, tag, format_time(when))
        for tag, text in (
            ("senderName", info.sender_name),
            ("headline", info.headline),
            ("description", info.description),
            ("instruction", info.instruction),
            ("web", info.web),
            ("contact", info.contact),
        ):
            if text:
                _sub(el, tag, text)
        _pairs(el, "parameter", info.parameters)
        for area in info.areas:
            a = etree.SubElement(el, _Q + "area")
            _sub(a, "areaDesc", area.desc)
            for ring in area.polygons:
                _sub(a, "polygon", format_polygon(ring))
            _pairs(a, "geocode", area.geocodes)
    return root


def to_xml(alert: Alert) -> str:
    """The whole document as text, with its XML declaration (UTF-8)."""
    body: str = etree.tostring(to_element(alert), pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


# --------------------------------------------------------------------------- reading


def _root(doc: str | bytes | etree._Element) -> etree._Element:
    if isinstance(doc, etree._Element):
        return doc
    data = doc.encode("utf-8") if isinstance(doc, str) else doc
    try:
        # resolve_entities/no_network: a CAP document from outside must not reach files or the net
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not well-formed XML: {exc}") from exc


def _text(el: etree._Element, tag: str) -> str:
    child = el.find(_Q + tag)
    return (child.text or "") if child is not None else ""


def _all(el: etree._Element, tag: str) -> list[str]:
    return [c.text or "" for c in el.findall(_Q + tag)]


def _time_or_none(el: etree._Element, tag: str) -> datetime | None:
    text = _text(el, tag)
    return parse_time(text) if text else None


def _read_pairs(el: etree._Element, tag: str) -> tuple[tuple[str, str], ...]:
    return tuple((_text(c, "valueName"), _text(c, "value")) for c in el.findall(_Q + tag))


def parse(doc: str | bytes | etree._Element) -> Alert:
    """Read a CAP 1.2 document into an :class:`Alert` (the inverse of :func:`to_xml`).

    Checks the shape it reads, not everything :func:`validate` checks.
    """
    if isinstance(doc, str):
        return _parse_text(doc)
    return _parse(doc)


@lru_cache(maxsize=64)
def _parse_text(doc: str) -> Alert:
    # publishing reads one alert several times (the policy's check, the feed's fields); an
    # Alert is immutable, so the same text may share one
    return _parse(doc)


def _parse(doc: str | bytes | etree._Element) -> Alert:
    root = _root(doc)
    if root.tag != _Q + "alert":
        raise CapError(f"the root element is {root.tag!s}, not a CAP 1.2 <alert>")
    infos = []
    for el in root.findall(_Q + "info"):
        areas = tuple(
            Area(
                desc=_text(a, "areaDesc"),
                polygons=tuple(parse_polygon(p) for p in _all(a, "polygon")),
                geocodes=_read_pairs(a, "geocode"),
            )
            for a in el.findall(_Q + "area")
        )
        infos.append(
            Info(
                language=_text(el, "language") or "en-US",  # the schema's default
                categories=tuple(_all(el, "category")),  # type: ignore[arg-type]  # the text as written; validate() checks it
                event=_text(el, "event"),
                urgency=_text(el, "urgency"),  # type: ignore[arg-type]  # the text as written; validate() checks it
                severity=_text(el, "severity"),  # type: ignore[arg-type]  # the text as written; validate() checks it
                certainty=_text(el, "certainty"),  # type: ignore[arg-type]  # the text as written; validate() checks it
                response_types=tuple(_all(el, "responseType")),  # type: ignore[arg-type]  # the text as written; validate() checks it
                audience=_text(el, "audience"),
                event_codes=_read_pairs(el, "eventCode"),
                effective=_time_or_none(el, "effective"),
                onset=_time_or_none(el, "onset"),
                expires=_time_or_none(el, "expires"),
                sender_name=_text(el, "senderName"),
                headline=_text(el, "headline"),
                description=_text(el, "description"),
                instruction=_text(el, "instruction"),
                web=_text(el, "web"),
                contact=_text(el, "contact"),
                parameters=_read_pairs(el, "parameter"),
                areas=areas,
            )
        )
    refs = _text(root, "references")
    return Alert(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent=parse_time(_text(root, "sent")),
        status=_text(root, "status"),  # type: ignore[arg-type]  # the text as written; validate() checks it
        msg_type=_text(root, "msgType"),  # type: ignore[arg-type]  # the text as written; validate() checks it
        scope=_text(root, "scope"),  # type: ignore[arg-type]  # the text as written; validate() checks it
        infos=tuple(infos),
        source=_text(root, "source"),
        restriction=_text(root, "restriction"),
        addresses=_text(root, "addresses"),
        codes=tuple(_all(root, "code")),
        note=_text(root, "note"),
        references=tuple(Reference.parse(r) for r in refs.split()),
        incidents=_text(root, "incidents"),
    )


# --------------------------------------------------------------------------- validation


def schema_path() -> str:
    """Where the shipped OASIS CAP 1.2 schema lies."""
    return str(resources.files("skywarden.disclosure.schema") / "CAP-v1.2.xsd")


@cache
def schema() -> etree.XMLSchema:
    """The official OASIS CAP 1.2 XML schema, loaded once (on first use, not at import)."""
    return etree.XMLSchema(etree.parse(schema_path()))


def problems(doc: str | bytes | etree._Element) -> list[str]:
    """Every way ``doc`` breaks the CAP 1.2 schema or the specification's rules; [] if none."""
    try:
        root = _root(doc)
    except CapError as exc:
        return exc.problems
    xsd = schema()
    if not xsd.validate(root):
        return [f"line {e.line}: {e.message}" for e in xsd.error_log]
    found: list[str] = []
    for tag in ("identifier", "sender"):
        if _ID_FORBIDDEN.search(_text(root, tag)) or not _text(root, tag):
            found.append(f"<{tag}> must be non-empty, without spaces, commas, '<' or '&'")
    times = [("sent", _text(root, "sent"))]
    for info in root.findall(_Q + "info"):
        times += [(t, _text(info, t)) for t in ("effective", "onset", "expires") if _text(info, t)]
        for poly in info.iterfind(f"{_Q}area/{_Q}polygon"):
            problem = polygon_problem(poly.text or "")
            if problem:
                found.append(problem)
    for tag, text in times:
        if not CAP_TIME_RE.fullmatch(text):
            found.append(f"<{tag}> {text!r} is not a CAP time")
    refs = _text(root, "references").split()
    for r in refs:
        try:
            ref = Reference.parse(r)
        except CapError as exc:
            found.append(str(exc))
            continue
        if _ID_FORBIDDEN.search(ref.sender + ref.identifier):
            found.append(f"reference {r!r} has a malformed sender or identifier")
    msg_type = _text(root, "msgType")
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not refs:
        found.append(f"a {msg_type} message must name the message(s) it refers to in <references>")
    scope = _text(root, "scope")
    if scope == "Restricted" and not _text(root, "restriction"):
        found.append("scope Restricted needs a <restriction>")
    if scope == "Private" and not _text(root, "addresses"):
        found.append("scope Private needs <addresses>")
    return found


def validate(doc: str | bytes | etree._Element | Alert) -> None:
    """Raise :class:`CapError` listing every problem unless ``doc`` is a valid CAP 1.2 message."""
    found = problems(to_element(doc) if isinstance(doc, Alert) else doc)
    if found:
        raise CapError("invalid CAP 1.2 document", found)
