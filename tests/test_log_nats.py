"""NATS JetStream specifics beyond the shared contract: batch commit rules, stream, writers."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from skywarden.errors import LogError, WriterLockError
from skywarden.events import StatementDrafted, encode
from skywarden.log.chain import GENESIS, chain
from tests.test_log_contract import NATS_URL, T0, nats_unavailable, night, publish_raw, with_log

pytest.importorskip("nats")
import nats  # noqa: E402

from skywarden.log import nats as nl  # noqa: E402

# ----------------------------------------------------------------------------- commit rules (no server)


def batch(first_seq: int, n: int, batch_id: str) -> list[tuple[nl.Stamp | None, bytes]]:
    records = list(chain(GENESIS, first_seq, [b"{}"] * n))
    return [(nl.stamp_of(h), d) for d, h in nl.batch_messages(records, batch_id, stream_last=0)]


def committed(msgs: list[tuple[nl.Stamp | None, bytes]]) -> list[int]:
    reader = nl._Committed()
    return [r.seq for s, d in msgs for r in reader.feed(s, d)]


def test_a_batch_counts_only_once_its_last_message_is_there() -> None:
    assert committed(batch(1, 3, "a")) == [1, 2, 3]
    assert committed(batch(1, 3, "a")[:2]) == []


def test_an_aborted_prefix_is_dropped_and_the_retry_counts() -> None:
    msgs = batch(1, 2, "a") + batch(3, 4, "b")[:2] + batch(3, 2, "c")
    assert committed(msgs) == [1, 2, 3, 4]


def test_foreign_messages_and_stray_tails_do_not_count() -> None:
    stray_tail = batch(3, 2, "x")[1:]  # a raced batch whose first message was refused
    foreign: list[tuple[nl.Stamp | None, bytes]] = [(None, b"hello")]
    msgs = batch(1, 2, "a") + stray_tail + foreign + batch(3, 1, "b")
    assert committed(msgs) == [1, 2, 3]


def test_a_message_of_another_batch_breaks_an_unfinished_one() -> None:
    a, b = batch(1, 3, "a"), batch(1, 3, "b")
    assert committed([a[0], b[1], a[2]]) == []


def test_headers_that_do_not_parse_are_not_a_record() -> None:
    good = nl.batch_messages(list(chain(GENESIS, 1, [b"{}"])), "a", 0)[0][1]
    assert nl.stamp_of(good) is not None
    for key, value in [(nl.H_SEQ, "x"), (nl.H_HASH, "00"), (nl.H_FIRST, "5")]:
        assert nl.stamp_of({**good, key: value}) is None
    assert nl.stamp_of(None) is None


def test_the_log_name_comes_from_the_url() -> None:
    assert nl.split_url("nats://h:4222?log=night1") == ("nats://h:4222", "night1")
    assert nl.split_url("nats://h:4222")[1] == "events"
    with pytest.raises(LogError, match="log name"):
        nl.split_url("nats://h:4222?log=a.b")


def test_no_server_is_a_clear_log_error_soon() -> None:
    started = time.monotonic()
    with pytest.raises(LogError, match="cannot reach NATS"):
        nl.NatsLog("nats://127.0.0.1:1?log=x")
    assert time.monotonic() - started < 15


# ----------------------------------------------------------------------------- against the server


@pytest.fixture()
def log() -> Iterator[nl.NatsLog]:
    if reason := nats_unavailable():
        pytest.skip(reason)
    lg = nl.NatsLog(with_log(NATS_URL, f"t{uuid.uuid4().hex[:12]}"))
    try:
        yield lg
    finally:
        lg.close()
        nl.NatsLog(lg.url).drop()


def stream_info(stream: str) -> nats.js.api.StreamInfo:
    async def go() -> nats.js.api.StreamInfo:
        nc = await nats.connect(NATS_URL, connect_timeout=2)
        try:
            return await nc.jetstream().stream_info(stream)
        finally:
            await nc.close()

    return asyncio.run(go())


@pytest.mark.nats
def test_the_stream_keeps_everything_on_file_and_refuses_deletes(log: nl.NatsLog) -> None:
    cfg = stream_info(log.stream).config
    assert cfg.subjects == [log.subject]
    assert cfg.storage == nl.StorageType.FILE
    assert cfg.retention == nl.RetentionPolicy.LIMITS
    assert (cfg.max_msgs, cfg.max_bytes, cfg.max_age) in ((-1, -1, 0), (-1, -1, None))
    assert cfg.deny_delete and cfg.deny_purge


@pytest.mark.nats
def test_each_event_is_one_message_with_its_seq_and_hash(log: nl.NatsLog) -> None:
    events = night(5)
    log.append(events[:2])
    log.append(events[2:])
    msgs = list(log._messages(0))
    records = list(log.read())
    assert [d for _, d in msgs] == [encode(e) for e in events]
    assert [(s.seq, s.hash) for s, _ in msgs if s] == [(r.seq, r.hash) for r in records]
    assert [(s.first, s.last) for s, _ in msgs if s] == [(1, 2)] * 2 + [(3, 5)] * 3


@pytest.mark.nats
def test_an_aborted_batch_stays_in_the_stream_but_not_in_the_log(log: nl.NatsLog) -> None:
    log.append(night(3))
    records = list(chain(log._head, 4, [encode(e) for e in night(5, start=3)]))
    publish_raw(log.subject, nl.batch_messages(records, "dead", log._stream_last)[:2])
    log.close()  # the writer whose batch was cut short is gone
    again = nl.NatsLog(log.url)
    try:
        assert again.last_seq() == 3
        assert again.append(night(2, start=3)) == 5
        assert stream_info(log.stream).state.messages == 7  # 5 records + 2 kept as evidence
        assert again.verify().records == 5
        assert [r.seq for r in again.read(after=2)] == [3, 4, 5]
    finally:
        again.close()


@pytest.mark.nats
def test_read_after_lands_inside_a_big_batch(log: nl.NatsLog) -> None:
    events = night(40)
    log.append(events[:2])
    log.append(events[2:])
    assert [r.event() for r in log.read(after=25)] == events[25:]


@pytest.mark.nats
def test_an_event_over_the_message_limit_writes_nothing(log: nl.NatsLog) -> None:
    huge = StatementDrafted(
        t=T0, statement_id="S", topic="x", text_en="x" * (2 << 20), text_ru="", approvals_needed=1
    )
    log.append(night(1))
    with pytest.raises(LogError, match="at most"):
        log.append([*night(1, start=1), huge])
    assert log.last_seq() == 1
    assert stream_info(log.stream).state.messages == 1


@pytest.mark.nats
def test_racing_writers_one_holds_the_night_and_the_other_writes_nothing(log: nl.NatsLog) -> None:
    """Two writers (own connections) start at once: one takes the night and writes every batch;
    the other is refused at its first append, naming the holder, and stores nothing."""
    writers = [nl.NatsLog(log.url) for _ in range(2)]
    batches = {0: night(3, start=0), 1: night(3, start=100)}
    refused: list[BaseException] = []
    written = [0, 0]
    go = threading.Barrier(2)

    def write(i: int) -> None:
        go.wait()
        try:
            for _ in range(8):
                writers[i].append(batches[i])
                written[i] += 1
        except BaseException as exc:  # checked below, not lost in the thread
            refused.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in writers:
        w.close()
    assert len(refused) == 1 and isinstance(refused[0], WriterLockError), refused
    assert "night is being written by" in str(refused[0])
    assert sorted(written) == [0, 8]
    winner = written.index(8)
    assert log.verify().records == 24
    assert [r.event() for r in log.read()] == batches[winner] * 8


@pytest.mark.nats
def test_close_drains_and_a_reopen_sees_every_acknowledged_event(log: nl.NatsLog) -> None:
    events = night(30)
    log.append(events)
    log.close()
    again = nl.NatsLog(log.url)
    try:
        assert [r.event() for r in again.read()] == events
    finally:
        again.close()


@pytest.mark.nats
def test_last_seq_sees_what_other_writers_appended(log: nl.NatsLog) -> None:
    other = nl.NatsLog(log.url)
    try:
        other.append(night(4))
        assert log.last_seq() == 4
    finally:
        other.close()


@pytest.mark.nats
def test_a_stream_of_the_same_name_that_is_not_a_log_is_refused() -> None:
    if reason := nats_unavailable():
        pytest.skip(reason)
    name = f"t{uuid.uuid4().hex[:12]}"

    async def stream(create: bool) -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=2)
        js = nc.jetstream()
        try:
            if create:
                await js.add_stream(name=f"SKYWARDEN_{name.upper()}", subjects=[f"other.{name}"])
            else:
                await js.delete_stream(f"SKYWARDEN_{name.upper()}")
        finally:
            await nc.close()

    asyncio.run(stream(create=True))
    try:
        with pytest.raises(LogError, match="not a Skywarden log"):
            nl.NatsLog(with_log(NATS_URL, name))
    finally:
        asyncio.run(stream(create=False))


@pytest.mark.nats
def test_a_dead_writers_lease_is_waited_out_and_a_live_ones_refuses_the_wait(log: nl.NatsLog, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hold(wait_s=...)`` (what ``run --resume`` does): a writer that died holding the lease
    (its loop stopped, nothing released) never renews it, and the waiter takes the night once
    it ends; a writer that goes on appending renews it, and the waiter is refused before the
    lease would have ended."""
    monkeypatch.setattr(nl, "LEASE_S", 2.0)
    dead = nl.NatsLog(log.url)
    dead.append(night(2, start=0))  # takes the lease
    dead._lease = None  # killed: its lease is never released (nor renewed) ...
    dead.close()  # ... and its connection is gone
    waiter = nl.NatsLog(log.url)
    try:
        with pytest.raises(WriterLockError, match="being written by"):
            waiter.hold()  # no wait: refused at once, as before
        said: list[str] = []
        t0 = time.monotonic()
        waiter.hold(wait_s=5.0, on_wait=said.append)
        assert 0.5 < time.monotonic() - t0 < 4.0
        assert said and "holds its lease" in said[0]
        waiter.append(night(2, start=10))
        assert waiter.last_seq() == 4
    finally:
        waiter.close()

    alive = nl.NatsLog(log.url)
    stop = threading.Event()

    def keep_writing() -> None:
        n = 100
        while not stop.wait(0.2):
            alive.append(night(1, start=n))
            n += 1

    alive.append(night(1, start=50))
    writing = threading.Thread(target=keep_writing)
    writing.start()
    other = nl.NatsLog(log.url)
    try:
        t0 = time.monotonic()
        with pytest.raises(WriterLockError, match="being written by"):
            other.hold(wait_s=5.0)
        assert time.monotonic() - t0 < 2.5  # refused at the renewal, not after a whole wait
    finally:
        stop.set()
        writing.join(10)
        other.close()
        alive.close()
