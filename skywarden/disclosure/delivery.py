"""Publishing beside the tick loop: the channels on a thread of their own, their answers in a
delivery journal beside the night's log.

The runtime hands each tick's events to :class:`DeliveryWorker` (a runtime ``Sink``), which only
puts them on a queue and returns at once; its thread gives them, in order, to the
:class:`~skywarden.disclosure.channels.Publisher` (policy, channels, outbox, retries and back-off),
so a receiver that is slow, down or hanging delays deliveries, never a tick.

Where the outcome goes. A delivery's answer comes when the receiver gives it, on the wall clock,
so a ``Delivered`` logged among the night's inputs would land in whichever tick was current then:
the same night played twice, or killed and resumed, would log different bytes. The night's log
therefore holds what was published (``statement_published``, ``alert_issued``: derived, replayed
exactly), and the outcomes go to the night's **delivery journal**, an event log of its own
beside it (:func:`journal_url`: ``night.deliveries.sqlite`` beside ``night.sqlite``, the log
name with ``_deliveries`` on a server), hash-chained and verified like any log: one
``Delivered`` per (channel, item) answer, stamped with the wall-clock time of the answer.

Exactly once, across restarts. Every item has an idempotency key (``channels.idempotency_key``)
and the outbox keeps, per channel and in order, what a channel has not taken. On start
:meth:`DeliveryWorker.catch_up` gives the worker, before the first tick, every published item of
the log that the journal has no answer for (those that were still on the queue when the process
stopped); an item posted but not yet journaled when it stopped is posted again under the same
key, which the receiver answers without acting twice.
"""

from __future__ import annotations

import contextlib
import copy
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from skywarden.disclosure.channels import Publisher
from skywarden.errors import SkywardenError
from skywarden.events import (
    KIND_OF,
    AlertIssued,
    Delivered,
    Event,
    InputEvent,
    KillReported,
    PolarPlots,
    PositionPlots,
    SensorStatus,
    StatementPublished,
    TrackConfirmed,
)
from skywarden.log.base import EventLog, log_name_of

JOURNAL_SUFFIX = "deliveries"
# what the publisher reads: the items, and what its policy learns the names to withhold from
_PUBLISHED = (StatementPublished, AlertIssued)
_LEARNT = (KillReported, PolarPlots, PositionPlots, SensorStatus, TrackConfirmed)


def journal_url(log_url: str) -> str:
    """The delivery journal of the night logged at ``log_url``: beside it, same backend."""
    if log_url.startswith("memory://"):
        return "memory://"
    if log_url.startswith(("postgresql://", "postgres://", "nats://")):
        parts = urlsplit(log_url)
        query, name = log_name_of(log_url)
        name = f"{name[: 40 - len(JOURNAL_SUFFIX) - 1]}_{JOURNAL_SUFFIX}"
        return urlunsplit(parts._replace(query=urlencode([*query, ("log", name)])))
    path = log_url.removeprefix("sqlite:///")
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        return f"{path}.{JOURNAL_SUFFIX}.sqlite"
    return f"{stem}.{JOURNAL_SUFFIX}.{ext}"


def _ref(ev: StatementPublished | AlertIssued) -> str:
    return ev.statement_id if isinstance(ev, StatementPublished) else ev.alert_id


_STOP = object()


class DeliveryWorker:
    """A runtime sink that publishes on its own thread (see the module doc).

    ``publisher``: its policy must be its own (``policy_of`` makes a copy of the stages'): it
    learns, on this thread, from the events handed over. ``journal``: where the answers go
    (None: nowhere). ``idle_s``: how often, with no tick to publish, the outbox is tried
    (the publisher rests a failed channel ``retry_every_s`` between tries). ``wall``: the clock
    the answers are stamped with and the retries paced by (injectable: a test compresses it).
    """

    def __init__(
        self,
        publisher: Publisher,
        journal: EventLog | None,
        *,
        idle_s: float = 1.0,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.publisher, self.journal = publisher, journal
        self.idle_s, self.wall = idle_s, wall
        self._queue: queue.Queue[object] = queue.Queue()
        self._unjournaled: list[Delivered] = []
        self._seen: set[tuple[type[Event], str]] = set()  # plots' sensors already handed over
        self.error: BaseException | None = None
        self.delivered = 0  # answers journaled
        self._waiting = 0  # items waiting in the outbox, as the worker last counted them
        self._thread = threading.Thread(target=self._run, name="skywarden-delivery", daemon=True)
        self._thread.start()

    @staticmethod
    def policy_of(publisher: Publisher) -> Publisher:
        """``publisher`` with a policy of its own: a copy of the one it shares with the stages
        (the stages teach theirs on the tick thread; this one learns on the worker's)."""
        shared = publisher.policy
        publisher.policy = copy.deepcopy(shared, {id(shared.scenario): shared.scenario, id(shared.rules): shared.rules})
        return publisher

    # ------------------------------------------------------------------ the tick's side

    def handle(self, events: Sequence[Event], now: datetime) -> list[InputEvent]:
        """Queue what the publisher needs of a tick's events; never waits, returns nothing to
        log (the answers go to the journal)."""
        wanted: list[Event] = []
        for ev in events:
            if isinstance(ev, _PUBLISHED):
                wanted.append(ev)
            elif isinstance(ev, _LEARNT):
                if isinstance(ev, PolarPlots | PositionPlots):  # hundreds a minute, one sensor each
                    key = (type(ev), ev.sensor_id)
                    if key in self._seen:
                        continue
                    self._seen.add(key)
                wanted.append(ev)
        if wanted:
            self._queue.put(wanted)
        return []

    def catch_up(self, log: EventLog) -> int:
        """Queue the log's published items that the journal has no answer for (call before the
        first tick of a resumed night); returns how many."""
        from skywarden.log.peek import read_kinds

        answered: set[str] = set()
        if self.journal is not None:
            for rec in self.journal.read():
                ev = rec.event()
                if isinstance(ev, Delivered):
                    answered.add(ev.item_id)
        missing: list[Event] = []
        for rec in read_kinds(log, [KIND_OF[k] for k in _PUBLISHED]):
            ev = rec.event()
            if isinstance(ev, _PUBLISHED) and _ref(ev) not in answered:
                missing.append(ev)
        if missing:
            self._queue.put(missing)
        return len(missing)

    def pending(self) -> int:
        """Ticks handed over and not yet published, plus the items waiting in the outbox
        (parked dead letters, which wait for an operator, not counted)."""
        return self._queue.unfinished_tasks + self._waiting

    def drain(self, timeout_s: float) -> bool:
        """Wait until every handed-over tick is published and the outbox is empty, at most
        ``timeout_s``; whether it got there."""
        deadline = time.monotonic() + timeout_s
        while self.pending() and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        return self.pending() == 0

    def close(self, timeout_s: float = 10.0) -> int:
        """Drain for up to ``timeout_s``, then stop the thread and close the channels and the
        outbox. Returns what was left: items in the outbox stay there (durable) and those not yet
        published are found again by ``catch_up`` on the next start."""
        self.drain(timeout_s)
        left = self.pending()
        self._queue.put(_STOP)
        self._thread.join(timeout=1.0)  # (a thread still in a delivery is a daemon: left to the exit)
        if not self._thread.is_alive():
            self._flush_journal()
            self.publisher.close()
        return left

    # ------------------------------------------------------------------ the worker's side

    def _run(self) -> None:
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.idle_s)
                except queue.Empty:
                    self._record(self.publisher.retry(self.wall()))
                    continue
                try:
                    if item is _STOP:
                        return
                    assert isinstance(item, list)
                    self._record(self.publisher.publish(self.wall(), item))
                finally:
                    self._queue.task_done()
        except BaseException as exc:  # say it; the night goes on, the outbox and catch_up keep the items
            self.error = exc
            print(f"skywarden: the delivery thread stopped: {exc!r}", file=sys.stderr)

    def _record(self, answers: list[Delivered]) -> None:
        self._unjournaled += answers
        self._flush_journal()
        if answers or self._waiting:
            outbox = self.publisher.outbox
            self._waiting = sum(len(outbox.pending(ch.name)) for ch in self.publisher.channels)

    def _flush_journal(self) -> None:
        if not self._unjournaled or self.journal is None:
            self._unjournaled.clear()
            return
        with contextlib.suppress(SkywardenError):  # the journal's server away: kept, tried again
            self.journal.append(self._unjournaled)
            self.delivered += len(self._unjournaled)
            self._unjournaled = []


class Publishing:
    """The publishing sinks of a night, as ``run``, ``demo`` and ``serve`` set them up: a folder
    and its Atom feed in ``out`` (and a webhook if given) behind one publisher on a
    :class:`DeliveryWorker`, answering into the journal of the log at ``log_url`` (none when not
    given). Called with the built stages (``play_night``'s ``sinks``); :meth:`close` after the
    night."""

    def __init__(self, out: Path, webhook: str | None = None, token: str | None = None, *, log_url: str | None = None) -> None:
        self.out, self.webhook, self.token, self.log_url = out, webhook, token, log_url
        self.workers: list[DeliveryWorker] = []
        self.journal: EventLog | None = None

    def __call__(self, stages: Sequence[object]) -> list[DeliveryWorker]:
        from skywarden.disclosure.alerts import AlertStage
        from skywarden.disclosure.channels import (
            Channel,
            FeedChannel,
            FolderChannel,
            Outbox,
            WebhookChannel,
        )
        from skywarden.log import open_log

        alert_stage = next((s for s in stages if isinstance(s, AlertStage)), None)
        if alert_stage is None:
            return []
        channels: list[Channel] = [FolderChannel(self.out), FeedChannel(self.out / "feed.atom")]
        if self.webhook:
            channels.append(WebhookChannel(self.webhook, token=self.token or ""))
        publisher = DeliveryWorker.policy_of(Publisher(channels, Outbox(self.out / "outbox.sqlite"), alert_stage.policy))
        if self.log_url is not None and self.journal is None:
            self.journal = open_log(journal_url(self.log_url))
        worker = DeliveryWorker(publisher, self.journal)
        if self.log_url is not None:
            night = open_log(self.log_url)
            try:
                worker.catch_up(night)
            finally:
                night.close()
        self.workers.append(worker)
        return [worker]

    def close(self, timeout_s: float = 10.0) -> int:
        """Close the workers (each drains up to ``timeout_s``) and the journal; what was left."""
        left = sum(w.close(timeout_s) for w in self.workers)
        self.workers = []
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        return left


__all__ = ["DeliveryWorker", "Publishing", "journal_url"]
