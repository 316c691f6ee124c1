"""The Atom index: structure (RFC 4287), CAP-feed conventions, and which items are current."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import msgspec
from lxml import etree

from skywarden.disclosure import cap
from skywarden.disclosure.atom import ATOM, CAP_MIME, XHTML, AtomFeed, rfc3339
from skywarden.disclosure.channels import PublishedItem

MSK = timezone(timedelta(hours=3))
T0 = datetime(2025, 3, 11, 0, 10, tzinfo=MSK)
A = "{" + ATOM + "}"
C = "{" + cap.NS + "}"
RING = ((55.79, 37.62), (55.71, 37.69), (55.71, 37.55), (55.79, 37.62))
# RFC 3339 date-time (section 5.6)
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def alert_item(
    n: int,
    msg_type: cap.MsgType = "Alert",
    refs: tuple[cap.Alert, ...] = (),
    minutes: int = 0,
    district: str = "central",
) -> tuple[PublishedItem, cap.Alert]:
    doc = cap.Alert(
        identifier=f"skywarden-moscow-20250311-{district}-{n}",
        sender="skywarden@moscow",
        sent=T0 + timedelta(minutes=minutes),
        status="Exercise",
        msg_type=msg_type,
        scope="Public",
        references=tuple(r.reference for r in refs),
        infos=(
            cap.Info(
                language="en-GB", categories=("Safety",), event="Drone danger", urgency="Immediate",
                severity="Severe", certainty="Likely", expires=T0 + timedelta(minutes=minutes + 60),
                headline=f"Drone danger: {district}", areas=(cap.Area(f"{district} district", (RING,)),),
            ),
        ),
    )  # fmt: skip
    item = PublishedItem(
        id=doc.identifier,
        kind="alert",
        title=f"Drone danger: {district}",
        text_en="Drones are approaching. Go indoors.",
        text_ru="Беспилотники приближаются. Зайдите в помещение.",
        updated=doc.sent,
        cap_xml=cap.to_xml(doc),
        msg_type=msg_type,
        references=[r.identifier for r in doc.references],
    )
    return item, doc


def statement(n: int, minutes: int) -> PublishedItem:
    return PublishedItem(
        id=f"ST-{n}",
        kind="statement",
        title=f"Statement {n}",
        text_en=f"Air defence destroyed drone number {n} over the region.",
        text_ru=f"Силы ПВО уничтожили беспилотник номер {n} над областью.",
        updated=T0 + timedelta(minutes=minutes),
    )


def parse(feed: AtomFeed) -> etree._Element:
    return etree.fromstring(feed.to_xml())


def check_structure(root: etree._Element) -> None:
    """What RFC 4287 demands of a feed and its entries."""
    assert root.tag == A + "feed"
    for el in [root, *root.findall(A + "entry")]:
        assert len(el.findall(A + "id")) == 1 and el.findtext(A + "id")
        assert len(el.findall(A + "title")) == 1
        assert len(el.findall(A + "updated")) == 1 and RFC3339.fullmatch(
            el.findtext(A + "updated") or ""
        )
    assert root.find(f"{A}author/{A}name") is not None  # so entries need no author of their own
    assert root.find(f"{A}link[@rel='self']") is not None
    ids = [e.findtext(A + "id") for e in root.findall(A + "entry")] + [root.findtext(A + "id")]
    assert len(ids) == len(set(ids))
    for e in root.findall(A + "entry"):
        # an entry without content would need rel=alternate; ours have both
        assert e.find(f"{A}link[@rel='alternate']") is not None
        assert e.find(A + "content").get("type") == "xhtml"
        assert e.find(f"{A}content/{{{XHTML}}}div") is not None


def test_feed_lists_current_alerts_and_statements_newest_first() -> None:
    feed = AtomFeed(
        authority="skywarden",
        date="2025-03-11",
        name="moscow",
        base_uri="https://alerts.example.org/",
    )
    a1, _ = alert_item(1)
    feed.apply(a1)
    feed.apply(statement(1, minutes=5))
    b1, _ = alert_item(1, district="north", minutes=10)
    feed.apply(b1)
    root = parse(feed)
    check_structure(root)
    entries = root.findall(A + "entry")
    assert [e.findtext(A + "title") for e in entries] == [
        "Drone danger: north",
        "Statement 1",
        "Drone danger: central",
    ]
    assert (
        root.findtext(A + "updated") == "2025-03-11T00:20:00+03:00"
    )  # the newest item, not a clock
    alert = entries[0]
    assert (
        alert.findtext(A + "id")
        == "tag:skywarden,2025-03-11:moscow/alert/skywarden-moscow-20250311-north-1"
    )
    link = alert.find(f"{A}link[@rel='alternate']")
    assert link.get("type") == CAP_MIME
    assert (
        link.get("href")
        == "https://alerts.example.org/alerts/skywarden-moscow-20250311-north-1.xml"
    )
    assert alert.findtext(C + "msgType") == "Alert" and alert.findtext(C + "severity") == "Severe"
    assert alert.findtext(C + "areaDesc") == "north district"
    assert alert.findtext(C + "expires") == "2025-03-11T01:20:00+03:00"
    st = entries[1]
    assert st.find(f"{A}link[@rel='alternate']").get("href").endswith("statements/ST-1.txt")
    langs = {
        p.get("{http://www.w3.org/XML/1998/namespace}lang"): p.text
        for p in st.iter("{" + XHTML + "}p")
    }
    assert langs["en-GB"].startswith("Air defence") and langs["ru-RU"].startswith("Силы ПВО")


def test_update_replaces_and_cancel_removes_the_chain() -> None:
    feed = AtomFeed()
    a1, d1 = alert_item(1)
    feed.apply(a1)
    a2, d2 = alert_item(2, "Update", (d1,), minutes=5)
    feed.apply(a2)
    assert list(feed.entries) == [a2.id]
    feed.apply(statement(1, minutes=6))
    a3, _ = alert_item(3, "Cancel", (d1, d2), minutes=15)
    feed.apply(a3)
    root = parse(feed)
    check_structure(root)
    assert [e.findtext(A + "title") for e in root.findall(A + "entry")] == ["Statement 1"]
    assert root.findtext(A + "updated") == rfc3339(a3.updated)


def test_alerts_past_their_expiry_leave_the_index() -> None:
    feed = AtomFeed()
    a1, _ = alert_item(1)  # expires T0 + 60 min
    feed.apply(a1)
    feed.apply(statement(1, minutes=61))
    assert [e.item_id for e in feed.current()] == ["ST-1"]


def test_the_index_is_rebuilt_from_its_own_file() -> None:
    feed = AtomFeed(name="moscow", max_entries=3)
    for n in range(5):
        feed.apply(statement(n, minutes=n))
    a1, _ = alert_item(1, minutes=10)
    feed.apply(a1)
    assert [e.item_id for e in feed.current()] == [a1.id, "ST-4", "ST-3"]  # the newest 3
    again = AtomFeed.from_xml(feed.to_xml(), like=AtomFeed(name="moscow", max_entries=3))
    assert again.to_xml() == feed.to_xml()
    assert again.current() == feed.current()


def test_same_items_give_the_same_bytes_whatever_the_arrival_order() -> None:
    items = [statement(1, 5), statement(2, 5), alert_item(1)[0]]
    one, two = AtomFeed(), AtomFeed()
    for i in items:
        one.apply(i)
    for i in reversed(items):
        two.apply(i)
    assert one.to_xml() == two.to_xml()


def test_rfc3339_times() -> None:
    assert rfc3339(T0) == "2025-03-11T00:10:00+03:00"
    assert rfc3339(T0.astimezone(UTC)) == "2025-03-10T21:10:00Z"
    empty = parse(AtomFeed(date="2025-03-11"))
    check_structure(empty)
    assert empty.findall(A + "entry") == []


def test_an_entry_written_again_after_it_changed_shows_its_new_text() -> None:
    """Entries are built once and reused while they stay the same: a statement published again
    under its id with a new text shows the new one, and the bytes are those of a fresh feed."""
    feed = AtomFeed(date="2025-03-10")
    feed.apply(statement(1, 5))
    first = feed.to_xml()
    changed = msgspec.structs.replace(statement(1, 5), text_en="Corrected: one drone destroyed.")
    feed.apply(changed)
    again = feed.to_xml()
    assert b"Corrected: one drone destroyed." in again and first != again
    fresh = AtomFeed(date="2025-03-10")
    fresh.apply(changed)
    assert fresh.to_xml() == again
