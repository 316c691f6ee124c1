"""Publishing channels against the real things: files on disk, an Atom file, a local HTTP server
that fails on purpose, and the SQLite outbox."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from lxml import etree

from skywarden.disclosure import cap
from skywarden.disclosure.alerts import AlertConfig, AlertStage
from skywarden.disclosure.atom import ATOM
from skywarden.disclosure.channels import (
    Channel,
    FeedChannel,
    FolderChannel,
    MemoryChannel,
    Outbox,
    PublishedItem,
    Publisher,
    RetryPolicy,
    WebhookChannel,
    idempotency_key,
)
from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.errors import ConfigError
from skywarden.events import AlertIssued, KillReported, StatementPublished, Tick, TrackPicture
from skywarden.events import ThreatRaised as Raised
from skywarden.scenario import LoadedScenario

MSK = timezone(timedelta(hours=3))
T0 = datetime(2025, 3, 11, 0, 10, tzinfo=MSK)


def item(n: int = 1, kind: str = "statement") -> PublishedItem:
    return PublishedItem(
        id=f"ST-{n}",
        kind=kind,  # type: ignore[arg-type]
        title=f"Statement {n}",
        text_en=f"Air defence destroyed drone number {n}.",
        text_ru=f"Силы ПВО уничтожили беспилотник номер {n}.",
        updated=T0 + timedelta(minutes=n),
    )


# --------------------------------------------------------------------------- a receiver that fails


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that fails on purpose and dedupes by Idempotency-Key.

    The first ``fail_first`` requests get 503; the next ``drop_first`` are processed (the body is
    accepted) and then the connection is closed without an answer, as when a reply is lost.
    """

    def __init__(self, fail_first: int = 0, drop_first: int = 0, port: int = 0) -> None:
        self.fail_first, self.drop_first = fail_first, drop_first
        self.requests = 0
        self.keys: dict[str, bytes] = {}  # idempotency key -> first body
        self.accepted: list[dict[str, object]] = []  # bodies processed, once per key
        self.auth: list[str | None] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    n = receiver.requests
                    receiver.auth.append(self.headers.get("Authorization"))
                    if n <= receiver.fail_first:
                        self._answer(503, b'{"error": "busy"}')
                        return
                    key = self.headers.get("Idempotency-Key") or ""
                    if key not in receiver.keys:
                        receiver.keys[key] = body
                        receiver.accepted.append(json.loads(body))
                    if n <= receiver.fail_first + receiver.drop_first:
                        self.close_connection = True  # processed, but the answer is lost
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                self._answer(200, b'{"ok": true}')

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture()
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


def start(receivers: list[Receiver], **kw: int) -> Receiver:
    r = Receiver(**kw)
    receivers.append(r)
    return r


def hook(url: str, sleeps: list[float], **kw: object) -> WebhookChannel:
    retry = RetryPolicy(attempts=4, base_s=0.5, factor=2.0, max_s=30.0, timeout_s=5.0)
    return WebhookChannel(url, token="s3cret", retry=retry, sleep=sleeps.append, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- webhook


def test_webhook_retries_503_with_backoff_and_delivers_once(receivers: list[Receiver]) -> None:
    r = start(receivers, fail_first=2)
    sleeps: list[float] = []
    ch = hook(r.url, sleeps)
    d = ch.publish(item())
    ch.close()
    assert d.ok and d.attempts == 3
    assert sleeps == [0.5, 1.0]  # 0.5 * 2 ** (k - 1)
    assert r.requests == 3 and len(r.keys) == 1 and len(r.accepted) == 1
    assert r.accepted[0]["id"] == "ST-1" and r.accepted[0]["text_ru"].startswith("Силы ПВО")  # type: ignore[union-attr]
    assert set(r.auth) == {"Bearer s3cret"}


def test_webhook_lost_answer_is_retried_without_a_duplicate(receivers: list[Receiver]) -> None:
    # the first attempt is processed but its answer never arrives; the retry carries the same key
    r = start(receivers, drop_first=1)
    sleeps: list[float] = []
    ch = hook(r.url, sleeps)
    d = ch.publish(item())
    d2 = ch.publish(item())  # published again (say after a restart): still one accepted body
    ch.close()
    assert d.ok and d.attempts == 2 and d2.ok
    assert r.requests == 3
    assert list(r.keys) == [idempotency_key(item())]
    assert len(r.accepted) == 1


def test_webhook_final_client_error_is_not_retried() -> None:
    seen: list[httpx.Request] = []

    def answer(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(400, json={"error": "bad"})

    sleeps: list[float] = []
    ch = hook("https://hub.example.org/hook", sleeps, transport=httpx.MockTransport(answer))
    d = ch.publish(item())
    ch.close()
    assert not d.ok and d.attempts == 1 and d.detail == "HTTP 400" and sleeps == []
    assert seen[0].headers["Idempotency-Key"] == idempotency_key(item())


def test_webhook_honours_retry_after_and_refuses_bad_settings() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(201)])
    sleeps: list[float] = []
    ch = hook(
        "https://hub.example.org/hook",
        sleeps,
        transport=httpx.MockTransport(lambda _: next(answers)),
    )
    assert ch.publish(item()).ok and sleeps == [7.0]
    ch.close()
    with pytest.raises(ConfigError):
        WebhookChannel("ftp://hub.example.org")
    with pytest.raises(ConfigError):  # a token in clear text to another host
        WebhookChannel("http://hub.example.org/hook", token="t")
    with pytest.raises(ConfigError):
        RetryPolicy(attempts=0)


def test_idempotency_keys_are_stable_and_distinct() -> None:
    assert idempotency_key(item(1)) == idempotency_key(item(1))
    assert idempotency_key(item(1)) != idempotency_key(item(2))
    assert idempotency_key(item(1)) != idempotency_key(item(1, kind="alert"))


# --------------------------------------------------------------------------- folder and feed


def test_folder_writes_one_file_per_item(tmp_path: Path) -> None:
    ch = FolderChannel(tmp_path)
    assert ch.publish(item(1)).ok
    text = (tmp_path / "statements" / "ST-1.txt").read_text(encoding="utf-8")
    assert (
        text
        == "Air defence destroyed drone number 1.\n\nСилы ПВО уничтожили беспилотник номер 1.\n"
    )
    doc = cap.Alert("skywarden-x-1", "skywarden@x", T0, "Exercise", "Alert", "Public")
    alert = PublishedItem(
        id="../../skywarden-x-1",
        kind="alert",
        title="t",
        text_en="",
        text_ru="",
        updated=T0,
        cap_xml=cap.to_xml(doc),
    )
    assert ch.publish(alert).ok
    written = list((tmp_path / "alerts").iterdir())
    assert [p.name for p in written] == ["_skywarden-x-1.xml"]  # no escape from the folder
    assert cap.parse(written[0].read_text(encoding="utf-8")) == doc
    assert not ch.publish(
        PublishedItem(id="a", kind="alert", title="", text_en="", text_ru="", updated=T0)
    ).ok
    assert [p.name for p in tmp_path.rglob(".*")] == []  # no temporary file left behind


def test_feed_is_rewritten_atomically_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "pub" / "feed.atom"
    ch = FeedChannel(path)
    for n in (1, 2):
        assert ch.publish(item(n)).ok
        root = etree.fromstring(path.read_bytes())
        assert len(root.findall("{" + ATOM + "}entry")) == n
    assert [p.name for p in path.parent.iterdir()] == ["feed.atom"]
    again = FeedChannel(path)  # a restart reads the index back
    assert again.publish(item(3)).ok
    titles = [
        e.findtext("{" + ATOM + "}title")
        for e in etree.fromstring(path.read_bytes()).iter("{" + ATOM + "}entry")
    ]
    assert titles == ["Statement 3", "Statement 2", "Statement 1"]


def test_every_channel_honours_the_contract(tmp_path: Path, receivers: list[Receiver]) -> None:
    """One suite over all channels: a name, a Delivery per item, and publishing twice is harmless."""
    r = start(receivers)
    chans: list[Channel] = [
        MemoryChannel(),
        FolderChannel(tmp_path / "folder"),
        FeedChannel(tmp_path / "feed.atom"),
        hook(r.url, []),
    ]
    for ch in chans:
        assert isinstance(ch, Channel) and ch.name
        for it in (item(1), item(2), item(1)):
            d = ch.publish(it)
            assert d.ok and d.channel == ch.name and d.item_id == it.id and d.attempts >= 1
    assert len(r.accepted) == 2 and len(chans[0].items) == 2  # type: ignore[attr-defined]
    assert len(list((tmp_path / "folder" / "statements").iterdir())) == 2
    assert (
        len(etree.parse(str(tmp_path / "feed.atom")).getroot().findall("{" + ATOM + "}entry")) == 2
    )
    chans[3].close()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- outbox and publisher


def published(n: int, t: datetime = T0) -> StatementPublished:
    return StatementPublished(
        t=t + timedelta(minutes=n, seconds=17),
        statement_id=f"ST-{n}",
        text_en=f"Air defence destroyed drone number {n}.",
        text_ru=f"Силы ПВО уничтожили беспилотник номер {n}.",
        approved_by=["officer-1"],
        delay_s=120.0,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_receiver_down_entirely_fills_the_outbox_then_gets_everything_once(
    tmp_path: Path, receivers: list[Receiver], scenario: LoadedScenario
) -> None:
    port = free_port()  # nothing listens here yet
    url = f"http://127.0.0.1:{port}/hook"
    policy = DisclosurePolicy.for_scenario(scenario)
    sleeps: list[float] = []
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pub = Publisher([hook(url, sleeps), MemoryChannel()], outbox, policy)
    now = T0 + timedelta(minutes=10)
    first = pub.publish(now, [published(1), Tick(t=now), published(2)])
    by = {(d.channel, d.item_id): d for d in first}
    assert by[("webhook", "ST-1")].ok is False and by[("webhook", "ST-1")].attempts == 4
    assert "outbox" in by[("webhook", "ST-1")].detail
    assert by[("webhook", "ST-2")].attempts == 0  # queued behind ST-1, not tried out of order
    assert by[("memory", "ST-1")].ok and by[("memory", "ST-2")].ok
    assert len(outbox) == 2 and len(sleeps) == 3
    # the next ticks do not hammer a receiver that is down: one round of back-off per 30 s
    assert pub.publish(now + timedelta(seconds=1), [Tick(t=now)]) == [] and len(sleeps) == 3
    again = pub.publish(now + timedelta(seconds=30), [])
    assert [(d.item_id, d.ok) for d in again] == [] and len(sleeps) == 6  # tried ST-1, still down
    pub.close()

    # a restart: a fresh publisher over the same outbox file; the receiver is back
    r = start(receivers, port=port)
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pub = Publisher([hook(url, []), MemoryChannel()], outbox, policy)
    later = now + timedelta(minutes=5)
    again = pub.retry(later)
    assert [(d.channel, d.item_id, d.ok) for d in again] == [
        ("webhook", "ST-1", True),
        ("webhook", "ST-2", True),
    ]
    assert again[0].attempts == 4 + 4 + 1 and again[0].t == later  # every attempt counted
    assert len(outbox) == 0
    assert [b["id"] for b in r.accepted] == ["ST-1", "ST-2"] and len(r.keys) == 2
    # statements' times pass through the policy: rounded down to its grid
    step = policy.rules.time.round_min
    for body in r.accepted:
        t = datetime.fromisoformat(str(body["updated"]))
        assert t.second == 0 and t.minute % step == 0
    assert pub.publish(later, []) == []  # nothing left to do
    pub.close()


def test_the_outbox_keeps_one_row_per_channel_and_item(tmp_path: Path) -> None:
    box = Outbox(":memory:")
    box.put("webhook", item(1), 4, "down")
    box.put("webhook", item(1), 4, "still down")
    box.put("folder", item(1), 1, "disk full")
    assert len(box) == 2
    ((seq, it, attempts),) = box.pending("webhook")
    assert it == item(1) and attempts == 8
    box.remove(seq)
    assert box.pending("webhook") == [] and len(box) == 1
    box.close()


class Exploding:
    name = "exploding"

    def publish(self, item: PublishedItem) -> None:
        raise RuntimeError("boom")


def test_a_channel_that_raises_loses_nothing_and_stops_no_other(scenario: LoadedScenario) -> None:
    mem = MemoryChannel(fail_next=1)
    box = Outbox(":memory:")
    pub = Publisher([Exploding(), mem], box, DisclosurePolicy.for_scenario(scenario))  # type: ignore[list-item]
    out = pub.publish(T0, [published(1)])
    assert [(d.channel, d.ok) for d in out] == [("exploding", False), ("memory", False)]
    assert "RuntimeError: boom" in out[0].detail
    assert pub.publish(T0 + timedelta(seconds=29), []) == []  # a failed channel rests 30 s
    later = T0 + timedelta(seconds=30)
    out = pub.publish(later, [])  # the memory channel now works: its item comes out of the outbox
    assert [(d.channel, d.item_id, d.ok) for d in out] == [("memory", "ST-1", True)]
    assert [i.id for i in mem.items] == ["ST-1"] and len(box) == 1  # the exploding one still waits
    with pytest.raises(ConfigError):
        Publisher([MemoryChannel(), MemoryChannel()], box, pub.policy)
    box.close()


def test_the_publisher_passes_alerts_through_the_policy(
    scenario: LoadedScenario, tmp_path: Path
) -> None:
    stage = AlertStage(scenario, AlertConfig())
    now = scenario.start + timedelta(minutes=7, seconds=13)
    d = scenario.spec.districts[0]
    lat, lon = d.polygon[0]
    pic = TrackPicture(
        t=now, track_id=["T1"], lat=[lat], lon=[lon], alt=[100.0], ve=[0.0], vn=[0.0], vu=[0.0],
        sigma_m=[30.0], cls=["drone"], p_cls=[0.9],
    )  # fmt: skip
    threat = Raised(
        t=now, incident_id="INC-T1", track_id="T1", level="high", zone_id="x", time_to_zone_s=None,
        p_entry=0.5, cpa_m=0.0, reasons=[],
    )  # fmt: skip
    alerts = [a for a in stage.step(now, [Tick(t=now), pic, threat]) if isinstance(a, AlertIssued)]
    assert alerts
    mem = MemoryChannel()
    pub = Publisher(
        [mem, FolderChannel(tmp_path), FeedChannel(tmp_path / "feed.atom")],
        Outbox(":memory:"),
        stage.policy,
    )
    out = pub.publish(now, alerts)
    assert all(x.ok for x in out) and len(mem.items) == len(alerts)
    assert {i.id for i in mem.items} == {a.alert_id for a in alerts}
    assert len(list((tmp_path / "alerts").iterdir())) == len(alerts)
    # an alert whose area is not a district polygon, or whose text names a unit, is withheld
    doc = cap.parse(alerts[0].cap_xml)
    info = doc.infos[0]
    moved = cap.Area(
        info.areas[0].desc, (((lat, lon), (lat + 0.01, lon), (lat, lon + 0.01), (lat, lon)),)
    )
    bad_area = doc.__class__(
        **{
            **_fields(doc),
            "identifier": "bad-1",
            "infos": (info.__class__(**{**_fields(info), "areas": (moved,)}),),
        }
    )
    unit = KillReported(t=now, report_id="K1", lat=lat, lon=lon, unit="Battery Seven", effector="")
    bad_text = doc.__class__(
        **{
            **_fields(doc),
            "identifier": "bad-2",
            "infos": (
                info.__class__(**{**_fields(info), "headline": "Drone shot by Battery Seven"}),
            ),
        }
    )
    wrong = [
        AlertIssued(
            t=now,
            alert_id=x.identifier,
            district=d.id,
            msg_type="Alert",
            references=[],
            headline=x.infos[0].headline,
            cap_xml=cap.to_xml(x),
        )
        for x in (bad_area, bad_text)
    ]
    out = pub.publish(now, [unit, *wrong])
    assert out and all(not x.ok and x.detail.startswith("withheld") for x in out)
    assert {i.id for i in mem.items} == {a.alert_id for a in alerts}
    pub.close()


def _fields(obj: object) -> dict[str, object]:
    return {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[attr-defined]


def test_a_final_refusal_is_parked_and_does_not_block_the_queue(scenario: LoadedScenario) -> None:
    refuse = {"ST-1"}
    bodies: list[str] = []

    def answer(req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        if body["id"] in refuse:
            return httpx.Response(422, json={"error": "unprocessable"})
        bodies.append(body["id"])
        return httpx.Response(200)

    box = Outbox(":memory:")
    ch = hook("https://hub.example.org/hook", [], transport=httpx.MockTransport(answer))
    pub = Publisher([ch], box, DisclosurePolicy.for_scenario(scenario))
    out = pub.publish(T0, [published(1), published(2)])
    assert [(d.item_id, d.ok) for d in out] == [("ST-1", False), ("ST-2", True)]
    assert "parked" in out[0].detail and out[0].attempts == 1  # a final answer is not retried
    assert [it.id for _, it, _ in box.parked()] == ["ST-1"] and box.pending("webhook") == []
    assert pub.publish(T0, []) == []  # parked items are not retried on their own
    refuse.clear()  # the receiver is fixed; an operator requeues the item
    assert box.unpark("webhook", "ST-1") and not box.unpark("webhook", "ST-1")
    out = pub.publish(T0, [])
    assert [(d.item_id, d.ok, d.attempts) for d in out] == [("ST-1", True, 2)]
    assert bodies == ["ST-2", "ST-1"] and len(box) == 0
    pub.close()


def test_the_publisher_is_a_runtime_sink(scenario: LoadedScenario) -> None:
    mem = MemoryChannel()
    pub = Publisher([mem], Outbox(":memory:"), DisclosurePolicy.for_scenario(scenario))
    out = pub.handle([Tick(t=T0), published(1)], T0)
    assert [(type(d).__name__, type(d).INPUT, d.ok) for d in out] == [("Delivered", True, True)]
    assert [i.id for i in mem.items] == ["ST-1"]
    pub.close()


def test_outbox_sees_items_written_here_and_by_another_connection(tmp_path):
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    assert box.pending("atom") == [] and box.pending("atom") == []  # the second answer is remembered
    box.put("atom", item(1), 1, "disk full")
    assert [it.id for _, it, _ in box.pending("atom")] == [item(1).id]
    seq = box.pending("atom")[0][0]
    box.remove(seq)
    assert box.pending("atom") == []
    other = Outbox(path)  # e.g. an operator's tool on the same file
    other.put("atom", item(2), 1, "queued by hand")
    other.close()
    assert [it.id for _, it, _ in box.pending("atom")] == [item(2).id]
    box.close()


def test_the_publisher_looks_at_the_outbox_once_per_retry_period(tmp_path, scenario: LoadedScenario) -> None:
    """Asked every tick, the publisher reads the outbox file once per ``retry_every_s``: an item
    that another process queued is delivered at the next look, not on the next tick."""
    path = tmp_path / "outbox.sqlite"
    mem = MemoryChannel()
    pub = Publisher([mem], Outbox(path), DisclosurePolicy.for_scenario(scenario), retry_every_s=30.0)
    assert pub.publish(T0, []) == []  # looked: nothing waiting
    other = Outbox(path)  # e.g. an operator's tool on the same file
    other.put("memory", item(2), 1, "queued by hand")
    other.close()
    assert pub.publish(T0 + timedelta(seconds=1), []) == [] and mem.items == []
    assert pub.publish(T0 + timedelta(seconds=29), []) == [] and mem.items == []
    out = pub.publish(T0 + timedelta(seconds=30), [])
    assert [(d.item_id, d.ok) for d in out] == [(item(2).id, True)] and [i.id for i in mem.items] == [item(2).id]
    pub.close()
