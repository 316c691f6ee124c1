"""Publishing channels: where approved statements and CAP alerts go, and how none is lost.

A :class:`Channel` takes one :class:`PublishedItem` and answers a :class:`Delivery`; it never
raises for a delivery failure. The real channels:

* :class:`FolderChannel` — one file per item: ``statements/<id>.txt`` (English, then Russian)
  and ``alerts/<id>.xml`` (the CAP document), each written atomically;
* :class:`FeedChannel` — the Atom index (:mod:`skywarden.disclosure.atom`), rewritten atomically
  (temp file, then ``os.replace``) on every publish and rebuilt from its file on start;
* :class:`WebhookChannel` — an HTTP POST of the item as JSON (httpx), with a bearer token,
  retries with exponential back-off, and an ``Idempotency-Key`` derived from the item id, so a
  retry after a lost answer is recognised by the receiver and the item is not posted twice;
* :class:`MemoryChannel` — the in-memory twin, for tests and dry runs.

:class:`Publisher` turns ``StatementPublished``/``AlertIssued`` events into items, passes each
through the disclosure policy (the one place that decides what may be published), fans it out
to every channel, and returns a ``Delivered`` input event per channel and item. What a channel
still refuses after its retries goes to the durable :class:`Outbox` (SQLite) and is retried, in
order and before anything newer for that channel, on the next publish call and at start-up.

Retry schedule of the webhook (attempt k = 1, 2, ...)::

    wait_k = min(max_s, base_s * factor ** (k - 1))   (or the server's Retry-After, capped)
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import httpx
import msgspec

from skywarden.disclosure import cap
from skywarden.disclosure.alerts import slug
from skywarden.disclosure.atom import AtomFeed, file_stem
from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.errors import ConfigError
from skywarden.events import AlertIssued, Delivered, Event, InputEvent, StatementPublished

ItemKind = Literal["statement", "alert"]


class PublishedItem(msgspec.Struct, frozen=True, kw_only=True):
    """One public item as channels see it. ``updated`` is tz-aware (already policy-rounded).

    Alerts also carry ``msg_type`` (Alert/Update/Cancel) and ``references``: the identifiers of
    the earlier messages of their chain, which an Update replaces and a Cancel withdraws.
    """

    id: str
    kind: ItemKind
    title: str
    text_en: str
    text_ru: str
    updated: datetime
    cap_xml: str | None = None
    msg_type: str = ""
    references: list[str] = []
    # the night (its local date, "2025-03-10") and the city's sender ("skywarden@moscow"): with
    # the id they make an item unique across nights and cities (idempotency keys, feed ids)
    night: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Delivery:
    """One channel's answer for one item."""

    channel: str
    item_id: str
    ok: bool
    attempts: int = 1
    detail: str = ""
    final: bool = False  # refused for good (e.g. HTTP 400): retrying the same item cannot help


@runtime_checkable
class Channel(Protocol):
    name: str

    def publish(self, item: PublishedItem) -> Delivery:
        """Deliver ``item``; report failure in the Delivery, never by raising."""
        ...


# --------------------------------------------------------------------------- helpers


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half:
    a temporary file in the same folder, flushed to disk, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def idempotency_key(item: PublishedItem) -> str:
    """The same key for the same item on every attempt, from any process: a UUID-5 of its
    origin, night, kind and id (two nights, or two cities, into one receiver never share a key;
    an item without night and origin keeps the key of its id alone)."""
    if item.night or item.origin:
        name = f"skywarden:{item.origin}:{item.night}:{item.kind}:{item.id}"
    else:
        name = f"skywarden:{item.kind}:{item.id}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


# what XML 1.0 forbids (§2.2 Char): C0 controls but tab, LF, CR; surrogates; U+FFFE, U+FFFF
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, so every channel (the Atom feed, CAP,
    a receiver's XML) can carry it."""
    return _XML_FORBIDDEN.sub("", text)


# --------------------------------------------------------------------------- channels


@dataclass
class MemoryChannel:
    """The in-memory twin: keeps what it was given; ``fail_next`` failures first, on purpose."""

    name: str = "memory"
    fail_next: int = 0
    items: list[PublishedItem] = field(default_factory=list)

    def publish(self, item: PublishedItem) -> Delivery:
        if self.fail_next > 0:
            self.fail_next -= 1
            return Delivery(self.name, item.id, ok=False, detail="failing on purpose")
        if all(i.id != item.id for i in self.items):  # idempotent, like the real ones
            self.items.append(item)
        return Delivery(self.name, item.id, ok=True)


@dataclass
class FolderChannel:
    """One file per item under ``root``: statements/<id>.txt, alerts/<id>.xml."""

    root: Path
    name: str = "folder"

    def path_of(self, item: PublishedItem) -> Path:
        stem = file_stem(item.id, item.night)
        if item.kind == "alert":
            return Path(self.root) / "alerts" / f"{stem}.xml"
        return Path(self.root) / "statements" / f"{stem}.txt"

    def publish(self, item: PublishedItem) -> Delivery:
        if item.kind == "alert":
            if not item.cap_xml:
                why = "an alert without a CAP document"
                return Delivery(self.name, item.id, ok=False, detail=why, final=True)
            data = item.cap_xml.encode("utf-8")
        else:
            data = f"{item.text_en.strip()}\n\n{item.text_ru.strip()}\n".encode()
        try:
            write_atomic(self.path_of(item), data)
        except OSError as exc:
            return Delivery(self.name, item.id, ok=False, detail=f"cannot write: {exc}")
        return Delivery(self.name, item.id, ok=True, detail=str(self.path_of(item)))


class FeedChannel:
    """The Atom index at ``path``, rewritten atomically on each publish.

    ``feed`` carries the feed's settings (title, ids, base URI); if ``path`` already holds a feed,
    its entries are read back so a restart continues the same index.
    """

    def __init__(self, path: Path, feed: AtomFeed | None = None, name: str = "atom") -> None:
        self.path, self.name = Path(path), name
        self.feed = feed if feed is not None else AtomFeed()
        if self.path.exists():
            self.feed = AtomFeed.from_xml(self.path.read_bytes(), like=self.feed)

    def publish(self, item: PublishedItem) -> Delivery:
        try:
            self.feed.apply(item)
            write_atomic(self.path, self.feed.to_xml())
        except (OSError, cap.CapError) as exc:
            return Delivery(self.name, item.id, ok=False, detail=f"feed not written: {exc}")
        except ValueError as exc:  # lxml: a string XML cannot carry; the same item never will
            self.feed.entries.pop(item.id, None)
            why = f"feed cannot carry the item: {exc}"
            return Delivery(self.name, item.id, ok=False, detail=why, final=True)
        return Delivery(self.name, item.id, ok=True, detail=f"{len(self.feed.entries)} entries")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently the webhook retries (seconds)."""

    attempts: int = 5
    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_s < 0 or self.factor < 1 or self.timeout_s <= 0:
            raise ConfigError("retry: need attempts >= 1, base_s >= 0, factor >= 1, timeout_s > 0")

    def wait(self, attempt: int) -> float:
        """The pause after failed attempt ``attempt`` (1-based)."""
        return float(min(self.max_s, self.base_s * self.factor ** (attempt - 1)))


# answers worth retrying: the receiver is busy, down or overloaded; any other non-2xx is final
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookChannel:
    """POST each item as JSON to ``url`` (see the module doc for retries and idempotency).

    ``sleep`` is injectable so tests do not wait; ``transport`` lets a test use httpx's
    ``MockTransport``. A token, when given, is sent as ``Authorization: Bearer <token>``.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        name: str = "webhook",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook url must be http(s), got {url!r}")
        if token and url.startswith("http://") and not _is_loopback(url):
            raise ConfigError("refusing to send a bearer token over plain http to another host")
        self.url, self.name = url, name
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        headers = {"Content-Type": "application/json", "User-Agent": "skywarden"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            headers=headers, timeout=self.retry.timeout_s, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def body(self, item: PublishedItem) -> bytes:
        return msgspec.json.encode(item)

    def publish(self, item: PublishedItem) -> Delivery:
        headers = {"Idempotency-Key": idempotency_key(item)}
        body = self.body(item)
        detail = ""
        for attempt in range(1, self.retry.attempts + 1):
            wait = self.retry.wait(attempt)
            try:
                r = self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:  # refused, reset, dropped, timed out
                detail = f"{type(exc).__name__}: {exc}"
            else:
                if r.is_success:
                    return Delivery(
                        self.name,
                        item.id,
                        ok=True,
                        attempts=attempt,
                        detail=f"HTTP {r.status_code}",
                    )
                detail = f"HTTP {r.status_code}"
                if r.status_code not in RETRY_STATUS:
                    return Delivery(
                        self.name, item.id, ok=False, attempts=attempt, detail=detail, final=True
                    )
                after = _retry_after(r.headers.get("Retry-After"))
                if after is not None:
                    wait = min(self.retry.max_s, after)
            if attempt < self.retry.attempts:
                self._sleep(wait)
        return Delivery(self.name, item.id, ok=False, attempts=self.retry.attempts, detail=detail)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: keep our own schedule rather than read the wall clock


def _is_loopback(url: str) -> bool:
    host = httpx.URL(url).host
    return host in ("127.0.0.1", "localhost", "::1")


# --------------------------------------------------------------------------- the outbox


class Outbox:
    """Items a channel has not taken yet, kept in SQLite until it does (per channel, in order).

    ``path`` is a file (durable across restarts) or ":memory:" for tests. One row per
    (channel, item): queueing an item twice keeps one row. A row is *waiting* (retried in order,
    and nothing newer for its channel overtakes it) or *parked*: refused with a final answer
    (say HTTP 400), kept for an operator, not retried and not blocking the channel, until
    :meth:`unpark` puts it back in the queue.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # (made on one thread, used on the delivery worker's: one thread at a time)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        with self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " channel TEXT NOT NULL, item_id TEXT NOT NULL, item BLOB NOT NULL,"
                " attempts INTEGER NOT NULL, last_error TEXT NOT NULL,"
                " parked INTEGER NOT NULL DEFAULT 0,"
                " UNIQUE (channel, item_id))"
            )
        # channels known to have nothing waiting, valid while no connection writes: the
        # publisher asks every tick, and almost always the answer is "nothing"
        self._idle: set[str] = set()
        self._version = self._data_version()
        self.writes = 0  # writes through this object (a publisher looks again after one)

    def _data_version(self) -> int:
        # changes when another connection commits to the file (never for our own commits)
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _changed(self) -> None:
        self._idle.clear()
        self.writes += 1

    def put(
        self, channel: str, item: PublishedItem, attempts: int, error: str, parked: bool = False
    ) -> None:
        self._changed()
        with self._db:
            self._db.execute(
                "INSERT INTO outbox (channel, item_id, item, attempts, last_error, parked)"
                " VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (channel, item_id) DO UPDATE SET"
                " attempts = attempts + excluded.attempts, last_error = excluded.last_error,"
                " parked = excluded.parked",
                (channel, item.id, msgspec.json.encode(item), attempts, error, int(parked)),
            )

    def pending(self, channel: str) -> list[tuple[int, PublishedItem, int]]:
        """(seq, item, attempts so far) waiting for ``channel``, oldest first."""
        version = self._data_version()
        if version != self._version:
            self._version = version
            self._changed()
        if channel in self._idle:
            return []
        rows = self._rows("WHERE channel = ? AND parked = 0", (channel,))
        if not rows:
            self._idle.add(channel)
        return rows

    def parked(self) -> list[tuple[int, PublishedItem, int]]:
        """(seq, item, attempts so far) of every parked row, oldest first."""
        return self._rows("WHERE parked = 1", ())

    def _rows(self, where: str, args: tuple[str, ...]) -> list[tuple[int, PublishedItem, int]]:
        rows = self._db.execute(
            f"SELECT seq, item, attempts FROM outbox {where} ORDER BY seq", args
        ).fetchall()
        return [(seq, msgspec.json.decode(blob, type=PublishedItem), n) for seq, blob, n in rows]

    def note_failure(self, seq: int, attempts: int, error: str, park: bool = False) -> None:
        self._changed()
        with self._db:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + ?, last_error = ?, parked = ? WHERE seq = ?",
                (attempts, error, int(park), seq),
            )

    def unpark(self, channel: str, item_id: str) -> bool:
        """Queue a parked item again (after the receiver was fixed); False if none was parked."""
        self._changed()
        with self._db:
            cur = self._db.execute(
                "UPDATE outbox SET parked = 0 WHERE channel = ? AND item_id = ? AND parked = 1",
                (channel, item_id),
            )
        return cur.rowcount == 1

    def remove(self, seq: int) -> None:
        self._changed()
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self._db.close()


# --------------------------------------------------------------------------- the publisher


class Withheld(Exception):
    """An item the policy will not let out as it stands (not raised outside this module)."""


class Publisher:
    """Fans published statements and alerts out to the channels; see the module doc.

    ``publish(now, events)`` returns one ``Delivered`` per (channel, item) tried, stamped ``now``
    (the runtime's clock); ``handle(events, now)`` is the same as the runtime's sink. Call
    ``retry(now)`` at start-up to drain the outbox. Give it the policy object the stages use
    (``AlertStage.policy``): the stages see every input and teach it the names to withhold.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        outbox: Outbox,
        policy: DisclosurePolicy,
        *,
        retry_every_s: float = 30.0,
    ) -> None:
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ConfigError(f"channel names must be unique, got {names}")
        if not retry_every_s >= 0:
            raise ConfigError(f"retry_every_s must be >= 0, got {retry_every_s}")
        self.channels, self.outbox, self.policy = list(channels), outbox, policy
        self._districts: set[tuple[tuple[float, float], ...]] | None = None
        self.retry_every_s = retry_every_s
        # channel -> earliest time its outbox is tried again (the caller's clock, never the wall's)
        self._next_try: dict[str, datetime] = {}
        # when the outbox is looked at again: it is asked on every tick, and is almost always empty
        self._next_look: datetime | None = None
        self._writes_seen = -1

    def close(self) -> None:
        """Close the channels that hold connections, and the outbox."""
        for ch in self.channels:
            closer = getattr(ch, "close", None)
            if callable(closer):
                closer()
        self.outbox.close()

    # ------------------------------------------------------------------ items

    def item_of(self, event: StatementPublished | AlertIssued) -> PublishedItem:
        """The public item for an event, after the disclosure policy."""
        red = self.policy.redact
        scn = self.policy.scenario
        night = scn.start.astimezone(scn.tz).date().isoformat()
        if isinstance(event, StatementPublished):
            en = xml_safe(red(event.text_en, "en")[0])
            ru = xml_safe(red(event.text_ru, "ru")[0])
            return PublishedItem(
                id=event.statement_id,
                kind="statement",
                title=_title(en),
                text_en=en,
                text_ru=ru,
                updated=self.policy.coarsen_time(event.t),
                night=night,
                origin=f"skywarden@{slug(scn.spec.city.name)}",
            )
        doc = cap.parse(event.cap_xml)
        problems = self.alert_problems(doc)
        if problems:
            raise Withheld("; ".join(problems))

        def body(lang: str) -> str:
            info = next((i for i in doc.infos if i.language.startswith(lang)), None)
            return " ".join(x for x in (info.description, info.instruction) if x) if info else ""

        return PublishedItem(
            id=doc.identifier,
            kind="alert",
            title=xml_safe(red(event.headline, "en")[0]),
            text_en=xml_safe(body("en")),
            text_ru=xml_safe(body("ru")),
            updated=doc.sent,
            cap_xml=event.cap_xml,
            msg_type=doc.msg_type,
            references=[r.identifier for r in doc.references],
            night=night,
            origin=doc.sender,
        )

    def _district_polygons(self) -> set[tuple[tuple[float, float], ...]]:
        """The scenario's district polygons as CAP writes them (computed once)."""
        if self._districts is None:
            self._districts = {
                tuple(cap.parse_polygon(cap.format_polygon(d.polygon)))
                for d in self.policy.scenario.spec.districts
            }
        return self._districts

    def alert_problems(self, doc: cap.Alert) -> list[str]:
        """What in a CAP document the policy would not let out (empty: publishable).

        Texts must pass the policy's check; every time must be on the policy's grid; every area
        polygon must be one of the scenario's district polygons (public and coarse).
        """
        found: list[str] = []
        districts = self._district_polygons()
        times = [doc.sent]
        for info in doc.infos:
            times += [t for t in (info.effective, info.onset, info.expires) if t is not None]
            for text in (
                info.event, info.sender_name, info.headline, info.description,
                info.instruction, info.contact, *(a.desc for a in info.areas),
            ):  # fmt: skip
                found += [f"{v.kind} {v.found!r}" for v in self.policy.check(text)]
            for area in info.areas:
                found += [
                    f"area {area.desc!r} is not a district polygon"
                    for p in area.polygons
                    if p not in districts
                ]
        for t in times:
            if self.policy.coarsen_time(t) != t:
                found.append(f"time {cap.format_time(t)} is finer than the policy allows")
        return found

    # ------------------------------------------------------------------ fan-out

    def publish(self, now: datetime, events: Iterable[Event]) -> list[Delivered]:
        """Deliver every StatementPublished/AlertIssued in ``events``; earlier outbox items first.

        Other events are read too: the policy learns from them what it must withhold (unit and
        effector names, sensor ids).
        """
        events = list(events)
        self.policy.learn(events)  # units, effectors, sensor ids the log has revealed so far
        out = self.retry(now)
        for ev in events:
            if not isinstance(ev, StatementPublished | AlertIssued):
                continue
            try:
                item = self.item_of(ev)
            except (Withheld, cap.CapError) as exc:
                ref = ev.statement_id if isinstance(ev, StatementPublished) else ev.alert_id
                out += [
                    Delivered(
                        t=now,
                        channel=c.name,
                        item_id=ref,
                        ok=False,
                        attempts=0,
                        detail=f"withheld: {exc}",
                    )
                    for c in self.channels
                ]
                continue
            for ch in self.channels:
                if self.outbox.pending(ch.name):
                    # keep the channel's order: nothing overtakes an item still waiting
                    self.outbox.put(ch.name, item, 0, "queued behind earlier items")
                    out.append(
                        Delivered(
                            t=now,
                            channel=ch.name,
                            item_id=item.id,
                            ok=False,
                            attempts=0,
                            detail="queued in the outbox behind earlier items",
                        )
                    )
                    continue
                d = _attempt(ch, item)
                if not d.ok:
                    self.outbox.put(ch.name, item, d.attempts, d.detail, parked=d.final)
                    if not d.final:
                        self._next_try[ch.name] = now + timedelta(seconds=self.retry_every_s)
                out.append(_delivered(now, d))
        return out

    def handle(self, events: Sequence[Event], now: datetime) -> list[InputEvent]:
        """The runtime's sink interface: :meth:`publish` over a tick's derived events."""
        return list(self.publish(now, events))

    def retry(self, now: datetime) -> list[Delivered]:
        """Try the outbox again, oldest first per channel; stop a channel at its first failure.

        A channel that failed is tried again no sooner than ``retry_every_s`` later, so a
        receiver that stays down costs one round of back-off per period, not one per tick. The
        outbox is looked at once per ``retry_every_s``, when a failed channel is due, and after a
        write through this outbox (an ``unpark`` here); what another process queued meanwhile
        waits at most ``retry_every_s``.
        """
        if self._next_look is not None and now < self._next_look and self.outbox.writes == self._writes_seen:
            return []
        out: list[Delivered] = []
        for ch in self.channels:
            due = self._next_try.get(ch.name)
            if due is not None and now < due:
                continue
            self._next_try.pop(ch.name, None)
            for seq, item, before in self.outbox.pending(ch.name):
                d = _attempt(ch, item)
                total = before + d.attempts
                if d.ok:
                    self.outbox.remove(seq)
                    out.append(
                        Delivered(
                            t=now,
                            channel=ch.name,
                            item_id=item.id,
                            ok=True,
                            attempts=total,
                            detail=f"from the outbox: {d.detail}",
                        )
                    )
                    continue
                self.outbox.note_failure(seq, d.attempts, d.detail, park=d.final)
                if d.final:
                    out.append(_delivered(now, d))
                    continue  # parked: it no longer holds the others back
                self._next_try[ch.name] = now + timedelta(seconds=self.retry_every_s)
                break
        self._next_look = min([now + timedelta(seconds=self.retry_every_s), *self._next_try.values()])
        self._writes_seen = self.outbox.writes
        return out


def _attempt(ch: Channel, item: PublishedItem) -> Delivery:
    """A channel's delivery; a channel that raises is a failed delivery, not a stopped night.

    A channel reports a failure in its Delivery; one that raises instead cannot take this item
    as it is: the item is a dead letter (parked in the outbox for an operator, final), so it
    neither stops the others nor holds back the items behind it on that channel."""
    try:
        return ch.publish(item)
    except Exception as exc:  # a broken channel must not lose the item or stop the others
        why = f"{type(exc).__name__}: {exc}"
        return Delivery(ch.name, item.id, ok=False, detail=why, final=True)


def _delivered(now: datetime, d: Delivery) -> Delivered:
    if d.ok:
        detail = d.detail
    elif d.final:
        detail = f"dead letter, parked in the outbox for an operator: {d.detail}"
    else:
        detail = f"queued in the outbox: {d.detail}"
    return Delivered(
        t=now,
        channel=d.channel,
        item_id=d.item_id,
        ok=d.ok,
        attempts=d.attempts,
        detail=detail,
        dead_letter=not d.ok and d.final,
    )


def _title(text: str, limit: int = 90) -> str:
    """A headline from a statement: its first sentence, shortened on a word boundary."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    if len(first) <= limit:
        return first
    return first[: limit - 1].rsplit(" ", 1)[0] + "…"
