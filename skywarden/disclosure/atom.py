"""An Atom (RFC 4287) index of the current public alerts and statements, as alert hubs read it.

One entry per current item, newest first. Alert entries follow the CAP-feed conventions that
alert hubs consume: a ``<link rel="alternate" type="application/cap+xml">`` to the CAP document
and the key CAP fields repeated in the CAP namespace (``cap:event``, ``cap:msgType``,
``cap:urgency``, ``cap:severity``, ``cap:certainty``, ``cap:areaDesc``, ``cap:sent``,
``cap:expires``), so a hub can triage without fetching the document. An Update replaces the
entries of the messages it references; a Cancel removes them and is not listed itself; an alert
past its ``expires`` leaves too. Statements stay (newest ``max_entries`` kept).

Times are RFC 3339 with an offset; the feed's ``updated`` is the newest item's time (never the
wall clock), so the same items always give the same bytes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from skywarden.disclosure import cap

if TYPE_CHECKING:
    from skywarden.disclosure.channels import PublishedItem

ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_A = "{" + ATOM + "}"
_C = "{" + cap.NS + "}"
CAP_MIME = "application/cap+xml"
# the CAP fields an entry repeats, in this order
CAP_FIELDS = (
    "event",
    "msgType",
    "status",
    "urgency",
    "severity",
    "certainty",
    "areaDesc",
    "sent",
    "expires",
)


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def file_stem(item_id: str, night: str = "") -> str:
    """An item id (and its night's date, when it has one: "2025-03-10_ST-0001") as a safe file
    name: letters, digits, "-" and "_" only (no separators, no dots). The folder channel names
    its files so, and the feed links to them so; ids are neutral counters, never names."""
    return _UNSAFE.sub("_", f"{night}_{item_id}" if night else item_id) or "_"


def entry_key(item_id: str, night: str = "") -> str:
    """An entry's key in the index: its id within its night (two nights' "ST-0001" are two)."""
    return f"{night}/{item_id}" if night else item_id


def rfc3339(t: datetime) -> str:
    """A tz-aware time as RFC 3339 ("2025-03-11T03:10:00+03:00"; UTC as "Z"), whole seconds."""
    if t.utcoffset() is None:
        raise ValueError(f"Atom times need a UTC offset, got the naive time {t.isoformat()}")
    text = t.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class Entry:
    """One entry of the index."""

    item_id: str
    kind: str  # "statement" | "alert"
    title: str
    updated: datetime
    summary: str  # en
    text_en: str
    text_ru: str
    href: str
    mime: str
    cap: tuple[tuple[str, str], ...] = ()  # (CAP field, value), alerts only
    night: str = ""  # the night's date ("2025-03-10"): the entry's id is minted on it

    @property
    def key(self) -> str:
        return entry_key(self.item_id, self.night)

    @property
    def expires(self) -> datetime | None:
        value = dict(self.cap).get("expires")
        return cap.parse_time(value) if value else None


@dataclass
class AtomFeed:
    """The index: apply items as they are published, write it with :meth:`to_xml`.

    ``authority`` and ``date`` make the tag: URIs (RFC 4151) used as ids; ``base_uri`` prefixes
    entry links ("" keeps them relative to the feed, "alerts/<id>.xml" beside it).
    """

    title: str = "Skywarden public alerts and statements"
    authority: str = "skywarden"
    date: str = "2025-01-01"  # the day the feed's ids were minted (YYYY[-MM[-DD]])
    name: str = "city"  # the feed's own name inside the ids
    base_uri: str = ""
    author: str = "Civil protection"
    max_entries: int = 200
    entries: dict[str, Entry] = field(default_factory=dict)
    updated: datetime | None = None
    # each entry's element, built once: the feed is written again on every item published
    _built: dict[str, tuple[Entry, etree._Element]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # ------------------------------------------------------------------ ids and links

    @property
    def feed_id(self) -> str:
        return f"tag:{self.authority},{self.date}:{self.name}/feed"

    def entry_id(self, kind: str, item_id: str, night: str = "") -> str:
        """The entry's tag: URI, minted on the night's date when the item has one (so "ST-0001"
        of two nights are two entries), else on the feed's ``date``."""
        return f"tag:{self.authority},{night or self.date}:{self.name}/{kind}/{item_id}"

    def href(self, kind: str, item_id: str, night: str = "") -> str:
        folder, ext = ("alerts", "xml") if kind == "alert" else ("statements", "txt")
        return f"{self.base_uri}{folder}/{file_stem(item_id, night)}.{ext}"

    # ------------------------------------------------------------------ applying items

    def apply(self, item: PublishedItem) -> None:
        """Bring the index up to date with one published item."""
        if self.updated is None or item.updated > self.updated:
            self.updated = item.updated
        for ref in item.references:
            self.entries.pop(entry_key(ref, item.night), None)
        if item.kind == "alert" and item.msg_type == "Cancel":
            self._expire()
            return
        fields: tuple[tuple[str, str], ...] = ()
        if item.cap_xml:
            fields = _cap_fields(item.cap_xml)
        self.entries[entry_key(item.id, item.night)] = Entry(
            item_id=item.id,
            kind=item.kind,
            title=item.title,
            updated=item.updated,
            summary=item.text_en,
            text_en=item.text_en,
            text_ru=item.text_ru,
            href=self.href(item.kind, item.id, item.night),
            mime=CAP_MIME if item.kind == "alert" else "text/plain",
            cap=fields,
            night=item.night,
        )
        self._expire()

    def _expire(self) -> None:
        if self.updated is None:
            return
        for key in [
            k
            for k, e in self.entries.items()
            if e.expires is not None and e.expires <= self.updated
        ]:
            del self.entries[key]
        for e in self.current()[self.max_entries :]:
            del self.entries[e.key]

    def current(self) -> list[Entry]:
        """The entries, newest first (ties by id, so the order never depends on arrival)."""
        by_id = sorted(self.entries.values(), key=lambda e: e.key)
        return sorted(by_id, key=lambda e: e.updated, reverse=True)

    # ------------------------------------------------------------------ writing

    def to_xml(self) -> bytes:
        """The feed document (UTF-8 with its XML declaration)."""
        root = etree.Element(_A + "feed", nsmap={None: ATOM, "cap": cap.NS})
        _sub(root, "id", self.feed_id)
        _sub(root, "title", self.title)
        updated = self.updated or datetime.fromisoformat(self.date + "T00:00:00+00:00")
        _sub(root, "updated", rfc3339(updated))
        author = etree.SubElement(root, _A + "author")
        _sub(author, "name", self.author)
        etree.SubElement(root, _A + "link", rel="self", href=f"{self.base_uri}feed.atom")
        _sub(root, "generator", "Skywarden")
        current = self.current()
        for e in current:
            root.append(copy.deepcopy(self._entry_element(e)))
        for key in set(self._built) - {e.key for e in current}:
            del self._built[key]
        data: bytes = etree.tostring(
            root, pretty_print=True, xml_declaration=True, encoding="UTF-8"
        )
        return data

    def _entry_element(self, e: Entry) -> etree._Element:
        built = self._built.get(e.key)
        if built is None or built[0] is not e:
            # a detached <entry>: namespaces are declared where the feed root already does
            wrap = etree.Element(_A + "feed", nsmap={None: ATOM, "cap": cap.NS})
            el = etree.SubElement(wrap, _A + "entry")
            _sub(el, "id", self.entry_id(e.kind, e.item_id, e.night))
            _sub(el, "title", e.title)
            _sub(el, "updated", rfc3339(e.updated))
            etree.SubElement(el, _A + "category", term=e.kind)
            etree.SubElement(el, _A + "link", rel="alternate", type=e.mime, href=e.href)
            _sub(el, "summary", e.summary).set(XML_LANG, "en-GB")
            content = etree.SubElement(el, _A + "content", type="xhtml")
            div = etree.SubElement(content, "{" + XHTML + "}div", nsmap={None: XHTML})
            for lang, text in (("en-GB", e.text_en), ("ru-RU", e.text_ru)):
                p = etree.SubElement(div, "{" + XHTML + "}p")
                p.set(XML_LANG, lang)
                p.text = text
            for name, value in e.cap:
                etree.SubElement(el, _C + name).text = value
            built = self._built[e.key] = (e, el)
        return built[1]

    # ------------------------------------------------------------------ reading back

    @classmethod
    def from_xml(cls, data: bytes, like: AtomFeed | None = None) -> AtomFeed:
        """Rebuild the index from a feed this class wrote (so a restart keeps the index);
        the settings (title, ids, links, limits) are those of ``like``."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(data, parser)
        feed = replace(like, entries={}, updated=None) if like is not None else cls()
        text = root.findtext(_A + "updated")
        if text and root.find(_A + "entry") is not None:
            feed.updated = datetime.fromisoformat(text)
        for el in root.findall(_A + "entry"):
            category = el.find(_A + "category")
            kind = category.get("term", "") if category is not None else ""
            entry_id = el.findtext(_A + "id") or ""
            item_id = entry_id.rsplit(f"/{kind}/", 1)[-1]
            minted = entry_id.split(",", 1)[-1].split(":", 1)[0] if "," in entry_id else ""
            link = el.find(_A + "link")
            paras = el.findall(f"{_A}content/{{{XHTML}}}div/{{{XHTML}}}p")
            langs = {p.get(XML_LANG): p.text or "" for p in paras}
            night = minted if minted != feed.date else ""
            feed.entries[entry_key(item_id, night)] = Entry(
                item_id=item_id,
                kind=kind,
                title=el.findtext(_A + "title") or "",
                updated=datetime.fromisoformat(el.findtext(_A + "updated") or ""),
                summary=el.findtext(_A + "summary") or "",
                text_en=langs.get("en-GB", ""),
                text_ru=langs.get("ru-RU", ""),
                href=link.get("href", "") if link is not None else "",
                mime=link.get("type", "") if link is not None else "",
                cap=tuple(
                    (n, el.findtext(_C + n) or "")
                    for n in CAP_FIELDS
                    if el.find(_C + n) is not None
                ),
                night=night,
            )
        return feed


def _sub(parent: etree._Element, tag: str, text: str) -> etree._Element:
    el = etree.SubElement(parent, _A + tag)
    el.text = text
    return el


def _cap_fields(cap_xml: str) -> tuple[tuple[str, str], ...]:
    """The CAP fields an entry repeats, from the document's first info block."""
    alert = cap.parse(cap_xml)
    info = alert.infos[0] if alert.infos else None
    values = {
        "msgType": alert.msg_type,
        "status": alert.status,
        "sent": cap.format_time(alert.sent),
    }
    if info is not None:
        values |= {
            "event": info.event,
            "urgency": info.urgency,
            "severity": info.severity,
            "certainty": info.certainty,
            "areaDesc": "; ".join(a.desc for a in info.areas),
        }
        if info.expires is not None:
            values["expires"] = cap.format_time(info.expires)
    return tuple((name, values[name]) for name in CAP_FIELDS if name in values)
