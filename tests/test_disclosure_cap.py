"""CAP 1.2 documents: built, written, read back and validated against the official OASIS schema."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from skywarden.disclosure import cap

MSK = timezone(timedelta(hours=3))
T0 = datetime(2025, 3, 11, 0, 10, tzinfo=MSK)
RING = ((55.79, 37.62), (55.71, 37.69), (55.71, 37.55), (55.79, 37.62))


def info(lang: str = "en-GB", **kw: object) -> cap.Info:
    base = cap.Info(
        language=lang,
        categories=("Safety", "Security"),
        event="Drone danger",
        urgency="Immediate",
        severity="Severe",
        certainty="Likely",
        response_types=("Shelter",),
        expires=T0 + timedelta(hours=1),
        sender_name="Moscow civil protection",
        headline="Drone danger: Central district",
        description="Drones are approaching.",
        instruction="Go indoors.",
        contact="112",
        areas=(cap.Area("Central district", (RING,)),),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def message(
    msg_type: cap.MsgType = "Alert", n: int = 1, refs: tuple[cap.Reference, ...] = ()
) -> cap.Alert:
    return cap.Alert(
        identifier=f"skywarden-moscow-20250311-central-{n}",
        sender="skywarden@moscow",
        sent=T0 + timedelta(minutes=5 * (n - 1)),
        status="Exercise",
        msg_type=msg_type,
        scope="Public",
        references=refs,
        infos=(
            info(),
            info("ru-RU", event="Беспилотная опасность", headline="Беспилотная опасность"),
        ),
    )


@pytest.fixture(scope="module")
def xsd() -> xmlschema.XMLSchema:
    """A second, independent validator over the same official schema file."""
    return xmlschema.XMLSchema(cap.schema_path())


def test_shipped_schema_is_the_oasis_cap_1_2_schema() -> None:
    text = Path(cap.schema_path()).read_text(encoding="utf-8")
    assert "Copyright OASIS Open 2010" in text
    doc = etree.parse(cap.schema_path())
    assert doc.getroot().get("targetNamespace") == "urn:oasis:names:tc:emergency:cap:1.2"
    enums = {
        el.getparent().getparent().getparent().get("name"): None
        for el in doc.iter("{http://www.w3.org/2001/XMLSchema}enumeration")
    }
    assert {"status", "msgType", "scope", "category", "urgency", "severity", "certainty"} <= set(
        enums
    )

    def values(name: str) -> tuple[str, ...]:
        (el,) = doc.xpath(
            f"//xs:element[@name='{name}']", namespaces={"xs": "http://www.w3.org/2001/XMLSchema"}
        )
        return tuple(
            e.get("value") for e in el.iter("{http://www.w3.org/2001/XMLSchema}enumeration")
        )

    # the typed builder's vocabularies are exactly the schema's
    assert values("status") == cap.STATUSES
    assert values("msgType") == cap.MSG_TYPES
    assert values("scope") == cap.SCOPES
    assert values("category") == cap.CATEGORIES
    assert values("responseType") == cap.RESPONSE_TYPES
    assert values("urgency") == cap.URGENCIES
    assert values("severity") == cap.SEVERITIES
    assert values("certainty") == cap.CERTAINTIES


def test_alert_update_cancel_chain_is_schema_valid_with_references(
    xsd: xmlschema.XMLSchema,
) -> None:
    first = message("Alert", 1)
    update = message("Update", 2, (first.reference,))
    cancel = message("Cancel", 3, (first.reference, update.reference))
    for msg in (first, update, cancel):
        xml = cap.to_xml(msg)
        cap.validate(xml)  # lxml + the specification's extra rules
        assert xsd.is_valid(xml)  # and xmlschema, independently
        assert cap.parse(xml) == msg
    root = etree.fromstring(cap.to_xml(cancel).encode())
    refs = root.findtext(f"{{{cap.NS}}}references").split(" ")
    assert refs == [
        "skywarden@moscow,skywarden-moscow-20250311-central-1,2025-03-11T00:10:00+03:00",
        "skywarden@moscow,skywarden-moscow-20250311-central-2,2025-03-11T00:15:00+03:00",
    ]
    assert [cap.Reference.parse(r) for r in refs] == [first.reference, update.reference]


def test_times_are_written_with_an_offset_and_utc_as_minus_zero() -> None:
    assert cap.format_time(T0) == "2025-03-11T00:10:00+03:00"
    assert (
        cap.format_time(datetime(2025, 3, 10, 21, 10, 7, 500_000, tzinfo=UTC))
        == "2025-03-10T21:10:07-00:00"
    )
    assert cap.parse_time("2025-03-10T21:10:07-00:00") == datetime(
        2025, 3, 10, 21, 10, 7, tzinfo=UTC
    )
    with pytest.raises(cap.CapError):
        cap.parse_time("2025-03-10T21:10:07Z")
    with pytest.raises(cap.CapError):
        cap.format_time(datetime(2025, 3, 10, 21, 10))  # noqa: DTZ001 - naive on purpose


def bad(xml: str, old: str, new: str) -> list[str]:
    assert old in xml and old != new
    return cap.problems(xml.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("<sent>2025-03-11T00:10:00+03:00</sent>", "<sent>2025-03-10T21:10:00Z</sent>", "sent"),
        ("<status>Exercise</status>", "<status>Drill</status>", "status"),
        ("<msgType>Alert</msgType>", "<msgType>Warning</msgType>", "msgType"),
        ("<category>Safety</category>", "<category>Military</category>", "category"),
        ("<urgency>Immediate</urgency>", "<urgency>Now</urgency>", "urgency"),
        ("<severity>Severe</severity>", "<severity>Bad</severity>", "severity"),
        ("<certainty>Likely</certainty>", "<certainty>Sure</certainty>", "certainty"),
        ("<scope>Public</scope>", "", "scope"),
    ],
)
def test_the_schema_rejects_what_cap_forbids(old: str, new: str, why: str) -> None:
    found = bad(cap.to_xml(message()), old, new)
    assert found and any(why in p for p in found), found


def test_the_specification_rules_beyond_the_schema() -> None:
    xml = cap.to_xml(message())
    ring = cap.format_polygon(RING)
    # an open ring, too few pairs, lon/lat swapped out of range, a space inside a pair
    assert bad(xml, ring, ring.rsplit(" ", 1)[0])
    assert bad(xml, ring, "55.79,37.62 55.71,37.69 55.79,37.62")
    assert bad(xml, ring, ring.replace("55.71000,37.69000", "155.71000,37.69000"))
    assert bad(xml, ring, ring.replace(",", ", ", 2))
    assert bad(xml, "<identifier>skywarden-moscow", "<identifier>skywarden moscow")
    assert bad(xml, "<sender>skywarden@moscow", "<sender>skywarden,moscow")
    upd = cap.to_xml(message("Update", 2))  # an Update that names nothing
    assert any("references" in p for p in cap.problems(upd))
    ok = cap.to_xml(message("Update", 2, (message().reference,)))
    assert cap.problems(ok) == []
    assert bad(ok, ",skywarden-moscow-20250311-central-1,", ",,")
    assert bad(cap.to_xml(message()), "<scope>Public</scope>", "<scope>Restricted</scope>")
    assert cap.problems("<alert") and cap.problems("<alert xmlns='urn:x'/>")
    with pytest.raises(cap.CapError, match="invalid CAP"):
        cap.validate(upd)


def test_polygon_text_round_trip() -> None:
    text = cap.format_polygon(RING)
    assert text == "55.79000,37.62000 55.71000,37.69000 55.71000,37.55000 55.79000,37.62000"
    assert cap.parse_polygon(text) == RING
    assert cap.format_polygon(RING[:-1]) == text  # an open ring is closed
    with pytest.raises(cap.CapError):
        cap.parse_polygon("55,37 56,37")


def test_parse_refuses_what_is_not_a_cap_alert() -> None:
    with pytest.raises(cap.CapError, match="not a CAP 1.2"):
        cap.parse("<feed xmlns='http://www.w3.org/2005/Atom'/>")
    with pytest.raises(cap.CapError, match="well-formed"):
        cap.parse("<alert")
    # an external entity is not resolved (no file or network access from a document)
    evil = (
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + cap.to_xml(message()).split("\n", 1)[1].replace("Go indoors.", "&x;")
    )
    parsed = cap.parse(evil)
    assert "root:" not in parsed.infos[0].instruction
