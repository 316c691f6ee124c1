"""Identifiers, XML-safe texts and dead letters: what every channel can carry, from any night.

Identifiers are neutral counters and the night's date; two nights (or two cities) into one
receiver lose nothing; characters XML 1.0 forbids never reach a channel; an item a channel
cannot take is parked as a dead letter with an operator alert, and the items behind it go on.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec
from lxml import etree

from skywarden.disclosure.alerts import AlertConfig, AlertStage
from skywarden.disclosure.channels import (
    Channel,
    Delivery,
    FeedChannel,
    FolderChannel,
    MemoryChannel,
    Outbox,
    PublishedItem,
    Publisher,
    RetryPolicy,
    WebhookChannel,
    idempotency_key,
    xml_safe,
)
from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage
from skywarden.events import (
    AlertIssued,
    Event,
    KillNumbered,
    StatementApproved,
    StatementEdited,
    StatementPublished,
    ThreatRaised,
    Tick,
    TrackPicture,
)
from skywarden.log.projections import fold
from skywarden.scenario import LoadedScenario


def statement(scenario: LoadedScenario, n: int = 1) -> StatementPublished:
    return StatementPublished(t=scenario.start + timedelta(minutes=10 * n), statement_id=f"ST-{n:04d}",
                              text_en=f"Statement {n}.", text_ru=f"Сообщение {n}.", approved_by=["duty-1"],
                              delay_s=0.0)  # fmt: skip


def next_night(scenario: LoadedScenario) -> LoadedScenario:
    return dataclasses.replace(
        scenario, start=scenario.start + timedelta(days=1), end=scenario.end + timedelta(days=1)
    )


def test_two_nights_into_one_webhook_receiver_lose_nothing(scenario: LoadedScenario) -> None:
    stored: dict[str, bytes] = {}

    def receiver(request: httpx.Request) -> httpx.Response:
        stored.setdefault(request.headers["Idempotency-Key"], request.content)  # dedupes by key
        return httpx.Response(200)

    for night in (scenario, next_night(scenario)):
        hook = WebhookChannel("http://127.0.0.1:9/hook", transport=httpx.MockTransport(receiver),
                              retry=RetryPolicy(attempts=1), sleep=lambda s: None)  # fmt: skip
        pub = Publisher([hook], Outbox(":memory:"), DisclosurePolicy.for_scenario(night))
        out = pub.publish(night.start, [statement(night, 1), statement(night, 2)])
        assert all(d.ok for d in out)
        pub.publish(night.start, [statement(night, 1)])  # a repeat is the same key: stored once
        pub.close()
    assert len(stored) == 4  # ST-0001 and ST-0002 of each night


def test_two_nights_into_one_folder_and_feed_keep_both(scenario: LoadedScenario, tmp_path: Path) -> None:
    for night in (scenario, next_night(scenario)):
        pub = Publisher([FolderChannel(tmp_path), FeedChannel(tmp_path / "feed.atom")],
                        Outbox(":memory:"), DisclosurePolicy.for_scenario(night))  # fmt: skip
        assert all(d.ok for d in pub.publish(night.start, [statement(night, 1)]))
        pub.close()
    files = sorted(p.name for p in (tmp_path / "statements").iterdir())
    assert files == ["2025-03-11_ST-0001.txt", "2025-03-12_ST-0001.txt"]
    root = etree.fromstring((tmp_path / "feed.atom").read_bytes())
    ids = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}id")][1:]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(i.endswith("/statement/ST-0001") for i in ids)
    hrefs = {e.get("href") for e in root.iter("{http://www.w3.org/2005/Atom}link") if e.get("rel") == "alternate"}
    assert hrefs == {f"statements/{f}" for f in files}


def test_keys_differ_by_night_and_city_and_old_items_keep_theirs() -> None:
    from datetime import UTC, datetime

    base = PublishedItem(id="ST-0001", kind="statement", title="", text_en="", text_ru="",
                         updated=datetime(2025, 3, 11, tzinfo=UTC))  # fmt: skip
    keys = {
        idempotency_key(msgspec.structs.replace(base, night=n, origin=o))
        for n, o in (("", ""), ("2025-03-11", "skywarden@moscow"), ("2025-03-12", "skywarden@moscow"),
                     ("2025-03-11", "skywarden@kazan"))  # fmt: skip
    }
    assert len(keys) == 4
    old = "skywarden:statement:ST-0001"  # an item without night and origin keeps its old key
    assert idempotency_key(base) == str(uuid.uuid5(uuid.NAMESPACE_URL, old))


def _alerts(scenario: LoadedScenario) -> list[AlertIssued]:
    stage = AlertStage(scenario, AlertConfig())
    now = scenario.start + timedelta(minutes=7)
    out: list[AlertIssued] = []
    for d in scenario.spec.districts[:3]:
        lat, lon = d.polygon[0]
        pic = TrackPicture(t=now, track_id=["T1"], lat=[lat], lon=[lon], alt=[100.0], ve=[0.0], vn=[0.0],
                           vu=[0.0], sigma_m=[30.0], cls=["drone"], p_cls=[0.9])  # fmt: skip
        threat = ThreatRaised(t=now, incident_id="INC-T1", track_id="T1", level="high", zone_id="x",
                              time_to_zone_s=None, p_entry=0.5, cpa_m=0.0, reasons=[])  # fmt: skip
        out += [a for a in stage.step(now, [Tick(t=now), pic, threat]) if isinstance(a, AlertIssued)]
        now += timedelta(minutes=1)
    return out


def test_identifiers_and_file_names_carry_no_name(scenario: LoadedScenario, tmp_path: Path) -> None:
    alerts = _alerts(scenario)
    assert alerts
    names = {scenario.spec.city.name.lower()} | {d.id for d in scenario.spec.districts} | {
        w.lower() for d in scenario.spec.districts for w in re.findall(r"\w+", d.name)
    }
    mem = MemoryChannel()
    pub = Publisher([mem, FolderChannel(tmp_path)], Outbox(":memory:"), DisclosurePolicy.for_scenario(scenario))
    assert all(d.ok for d in pub.publish(alerts[-1].t, alerts))
    for a, item in zip(alerts, mem.items, strict=True):
        assert re.fullmatch(r"skywarden-\d{8}-\d{5}", a.alert_id)
        for text in (item.id, idempotency_key(item), *(p.name for p in (tmp_path / "alerts").iterdir())):
            assert not any(re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", text.lower()) for n in names if len(n) > 2), text


def test_a_control_character_in_an_approved_edit_reaches_every_channel_without_it(
    scenario: LoadedScenario, tmp_path: Path
) -> None:
    stage = DisclosureStage(scenario, DisclosureConfig(batch_window_s=30.0))
    now = scenario.at("01:00")
    k = KillNumbered(t=now, report_id="R1", number=1, day_number=1, local_time="", incident_id="INC-R1",
                     track_id=None, matched_by="unmatched", lat=55.75, lon=37.62, alt=0.0)  # fmt: skip
    events: list[Event] = []
    for i in range(6):
        now += timedelta(seconds=10)
        events += stage.step(now, ([k] if i == 0 else []) + [Tick(t=now)])
    sid = next(iter(stage.statements))
    en = "01:00. A drone was destroyed.\x07\x0b Stay indoors.\x00"
    ru = "01:00. Беспилотник уничтожен.\x1b"
    now += timedelta(seconds=10)
    got = stage.step(now, [StatementEdited(t=now, statement_id=sid, editor="press-1", role="editor", text_en=en, text_ru=ru),
                           Tick(t=now)])  # fmt: skip
    assert not [e for e in got if type(e).__name__ == "InputRefused"]
    from skywarden.disclosure.binding import text_sha256

    now += timedelta(seconds=10)
    got = stage.step(now, [StatementApproved(t=now, statement_id=sid, officer="duty-1", role="publisher",
                                             text_sha256=text_sha256(en, ru)), Tick(t=now)])  # fmt: skip
    (published,) = [e for e in got if isinstance(e, StatementPublished)]
    mem = MemoryChannel()
    pub = Publisher([mem, FolderChannel(tmp_path), FeedChannel(tmp_path / "feed.atom")], Outbox(":memory:"),
                    stage.policy)  # fmt: skip
    out = pub.publish(now, [published])
    assert all(d.ok for d in out), out
    (item,) = mem.items
    assert item.text_en == "01:00. A drone was destroyed. Stay indoors." and item.text_ru == "01:00. Беспилотник уничтожен."
    assert xml_safe(item.text_en) == item.text_en
    etree.fromstring((tmp_path / "feed.atom").read_bytes())  # well-formed


class Picky:
    """A channel that cannot take one item (it raises), and takes the others."""

    name = "picky"

    def __init__(self, refuses: str) -> None:
        self.refuses, self.items = refuses, []  # type: ignore[var-annotated]

    def publish(self, item: PublishedItem) -> Delivery:
        if item.id == self.refuses:
            raise ValueError("cannot take this one")
        self.items.append(item.id)
        return Delivery(self.name, item.id, ok=True)


def test_an_item_a_channel_cannot_take_is_a_dead_letter_and_blocks_nothing(scenario: LoadedScenario) -> None:
    picky = Picky("ST-0002")
    box = Outbox(":memory:")
    chans: list[Channel] = [picky, MemoryChannel()]
    pub = Publisher(chans, box, DisclosurePolicy.for_scenario(scenario))
    out = pub.publish(scenario.start, [statement(scenario, n) for n in (1, 2, 3)])
    dead = [d for d in out if d.dead_letter]
    assert [(d.channel, d.item_id) for d in dead] == [("picky", "ST-0002")]
    assert "dead letter" in dead[0].detail and "cannot take this one" in dead[0].detail
    assert picky.items == ["ST-0001", "ST-0003"]  # the item behind it went on
    assert [i.id for _, i, _ in box.parked()] == ["ST-0002"] and box.pending("picky") == []
    later = pub.publish(scenario.start + timedelta(minutes=5), [statement(scenario, 4)])
    assert [(d.channel, d.ok) for d in later] == [("picky", True), ("memory", True)]
    view = fold([*out, *later])
    assert view.summary()["dead letters"] == 1
