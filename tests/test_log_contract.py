"""One contract for every event-log backend: memory, SQLite, PostgreSQL, NATS JetStream.

The server backends are marked ``postgres`` / ``nats`` and skip, saying why, when nothing answers
at ``SKYWARDEN_TEST_PG`` (default postgresql://127.0.0.1:5432/test) or ``SKYWARDEN_TEST_NATS``
(default nats://127.0.0.1:4222). Each test uses a throwaway log (fresh table or stream) and
drops it afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from skywarden.errors import LogClosedError, LogError, TamperError, WriterLockError
from skywarden.events import (
    Event,
    KillReported,
    PolarPlots,
    SensorStatus,
    StatementDrafted,
    Tick,
    TrackPicture,
    decode,
    encode,
)
from skywarden.log import GENESIS, EventLog, MemoryLog, Record, SqliteLog, link, open_log

PG_URL = os.environ.get("SKYWARDEN_TEST_PG", "postgresql://127.0.0.1:5432/test")
NATS_URL = os.environ.get("SKYWARDEN_TEST_NATS", "nats://127.0.0.1:4222")
PROBE_TIMEOUT_S = 2


# ----------------------------------------------------------------------------- servers


@functools.cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(PG_URL, connect_timeout=PROBE_TIMEOUT_S).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL answers at {PG_URL} ({str(exc).strip().splitlines()[0]})"
    return None


@functools.cache
def nats_unavailable() -> str | None:
    """Why NATS JetStream cannot be used for tests, or None when it answers."""
    try:
        import nats
    except ImportError:
        return "nats-py is not installed"

    async def probe() -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=PROBE_TIMEOUT_S, allow_reconnect=False)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), PROBE_TIMEOUT_S * 2))
    except Exception as exc:  # any failure of the probe means: skip, and say why
        detail = str(exc) or f"no answer within {PROBE_TIMEOUT_S * 2} s"
        return f"no NATS JetStream answers at {NATS_URL} ({type(exc).__name__}: {detail})"
    return None


def with_log(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}log={name}"


# ----------------------------------------------------------------------------- backends


@dataclass
class Backend:
    """How the contract reaches one backend: open, reopen, tamper, crash a writer, clean up."""

    name: str
    tmp: Path
    url: str = ""
    opened: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        log = f"t{uuid.uuid4().hex[:12]}"
        self.url = {
            "memory": "memory://",
            "sqlite": str(self.tmp / "night.db"),
            "postgres": with_log(PG_URL, log),
            "nats": with_log(NATS_URL, log),
        }[self.name]

    @property
    def persistent(self) -> bool:
        return self.name != "memory"

    def open(self) -> EventLog:
        log = open_log(self.url)
        self.opened.append(log)
        return log

    def tamper(self, log: EventLog) -> int:
        """Change history behind the log's back; return the seq verify must name."""
        if self.name == "memory":
            assert isinstance(log, MemoryLog)
            r = log._records[2]
            log._records[2] = Record(r.seq, flip_one_byte(r.data), r.hash)
            return 3
        if self.name == "sqlite":
            db = sqlite3.connect(self.url)
            (data,) = db.execute("SELECT data FROM events WHERE seq = 3").fetchone()
            with db:
                db.execute("UPDATE events SET data = ? WHERE seq = 3", (flip_one_byte(data),))
            db.close()
            return 3
        if self.name == "postgres":
            import psycopg

            table = f"skywarden_{self.url.rsplit('log=', 1)[1]}"
            with psycopg.connect(PG_URL, autocommit=True) as pgdb:
                (data,) = pgdb.execute(f"SELECT data FROM {table} WHERE seq = 3").fetchone()  # type: ignore[misc]
                # The append-only trigger refuses UPDATE; an attacker with the rights to
                # disable it is exactly who verify is for.
                pgdb.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                pgdb.execute(
                    f"UPDATE {table} SET data = %s WHERE seq = 3", (flip_one_byte(bytes(data)),)
                )
                pgdb.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            return 3
        # NATS: messages cannot be edited in place, so forge one: a well-formed record appended
        # out of band, in the right place, with a hash that does not chain.
        from skywarden.log.nats import NatsLog, batch_messages

        assert isinstance(log, NatsLog)
        seq = log.last_seq() + 1
        forged = Record(seq, encode(Tick(t=T0)), bytes(32))
        msgs = batch_messages([forged], uuid.uuid4().hex[:16], log._stream_last)
        publish_raw(log.subject, msgs)
        return seq

    def crash_midway(self, log: EventLog, events: list[Event], stored: int) -> None:
        """A writer appends ``events`` and fails after storing ``stored`` of them."""
        if self.name == "sqlite":
            bad = log.last_seq() + stored + 1
            db = sqlite3.connect(self.url)
            db.execute(
                f"CREATE TRIGGER crash BEFORE INSERT ON events WHEN NEW.seq = {bad} "
                "BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
            )
            db.commit()
            try:
                with pytest.raises(LogError, match="disk gone"):
                    log.append(events)
            finally:
                db.execute("DROP TRIGGER crash")
                db.commit()
                db.close()
        elif self.name == "postgres":
            import psycopg

            table = f"skywarden_{self.url.rsplit('log=', 1)[1]}"
            bad = log.last_seq() + stored + 1
            with psycopg.connect(PG_URL, autocommit=True) as pgdb:
                pgdb.execute(
                    f"CREATE FUNCTION {table}_crash() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN IF NEW.seq = {bad} THEN RAISE EXCEPTION 'disk gone'; END IF; "
                    "RETURN NEW; END $$"
                )
                pgdb.execute(
                    f"CREATE TRIGGER crash BEFORE INSERT ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {table}_crash()"
                )
                try:
                    with pytest.raises(LogError, match="disk gone"):
                        log.append(events)
                finally:
                    pgdb.execute(f"DROP TRIGGER crash ON {table}")
                    pgdb.execute(f"DROP FUNCTION {table}_crash()")
        elif self.name == "nats":
            # A writer killed after ``stored`` acknowledged messages: the prefix of its batch
            # is in the stream, its last (committing) message never is.
            from skywarden.log.chain import chain
            from skywarden.log.nats import NatsLog, batch_messages

            assert isinstance(log, NatsLog)
            records = list(chain(log._head, log.last_seq() + 1, [encode(e) for e in events]))
            msgs = batch_messages(records, uuid.uuid4().hex[:16], log._stream_last)
            publish_raw(log.subject, msgs[:stored])
        else:
            pytest.skip("the in-memory twin has no storage that can fail midway")

    def cleanup(self) -> None:
        for log in self.opened:
            log.close()
        if self.name in ("postgres", "nats"):
            last = open_log(self.url)
            last.drop()  # type: ignore[attr-defined]


def publish_raw(subject: str, msgs: list[tuple[bytes, dict[str, str]]]) -> None:
    """Publish messages to the stream with a client of its own (an outside writer)."""
    import nats

    async def go() -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=PROBE_TIMEOUT_S)
        js = nc.jetstream()
        for data, headers in msgs:
            await js.publish(subject, data, headers=headers)
        await nc.drain()

    asyncio.run(go())


def flip_one_byte(data: bytes) -> bytes:
    """The same record with one digit changed (still plausible JSON, different bytes)."""
    i = next(i for i, c in enumerate(data) if chr(c).isdigit())
    d = bytearray(data)
    d[i] = ord("1") if d[i] != ord("1") else ord("2")
    return bytes(d)


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("nats", marks=pytest.mark.nats),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    why = {"postgres": pg_unavailable, "nats": nats_unavailable}.get(request.param)
    if why is not None and (reason := why()):
        pytest.skip(reason)
    b = Backend(request.param, tmp_path)
    try:
        yield b
    finally:
        b.cleanup()


# ----------------------------------------------------------------------------- events

T0 = datetime.fromisoformat("2025-03-10T21:00:00+00:00")


def night(n: int, start: int = 0) -> list[Event]:
    """``n`` events of several kinds, times rising by 0.5 s from ``start``: a plausible mix."""
    out: list[Event] = []
    for i in range(start, start + n):
        t = T0 + timedelta(seconds=0.5 * i)
        match i % 6:
            case 0:
                out.append(Tick(t=t))
            case 1:
                out.append(
                    PolarPlots(
                        t=t,
                        sensor_id="R-1",
                        sensor_lat=55.75,
                        sensor_lon=37.62,
                        sensor_alt=150.0,
                        range_m=[1000.0 + i, 2000.5],
                        azimuth_deg=[10.25, 200.0],
                        elevation_deg=[1.5, 2.0],
                        sigma_range_m=15.0,
                        sigma_azimuth_deg=0.3,
                        sigma_elevation_deg=0.5,
                        rcs_dbsm=[-20.0, 5.0],
                    )
                )
            case 2:
                out.append(
                    TrackPicture(
                        t=t,
                        track_id=["T1", "T2"],
                        lat=[55.7, 55.8],
                        lon=[37.5, 37.6],
                        alt=[300.0, 1200.0],
                        ve=[12.0, -3.0],
                        vn=[1.0, 40.0],
                        vu=[0.0, 0.5],
                        sigma_m=[30.0, 55.0],
                        cls=["drone", "unknown"],
                        p_cls=[0.9, 0.4],
                    )
                )
            case 3:
                out.append(SensorStatus(t=t, sensor_id="R-1", status="degraded", detail="rain"))
            case 4:
                out.append(KillReported(t=t, report_id=f"K{i}", lat=55.71, lon=37.41, alt=800.0))
            case _:
                out.append(
                    StatementDrafted(
                        t=t,
                        statement_id=f"S{i}",
                        topic="kills",
                        text_en="Air defence destroyed a drone — «Подмосковье»",
                        text_ru="Силы ПВО уничтожили беспилотник",
                        approvals_needed=1,
                        event_time=t - timedelta(seconds=30),
                    )
                )
    return out


def head_of(events: list[Event]) -> bytes:
    """The chain head computed here, independently of any backend."""
    h = GENESIS
    for seq, e in enumerate(events, 1):
        h = link(h, seq, encode(e))
    return h


# ----------------------------------------------------------------------------- the contract


def test_an_empty_log_reads_nothing_and_verifies(backend: Backend) -> None:
    log = backend.open()
    assert isinstance(log, EventLog)
    assert log.last_seq() == 0
    assert list(log.read()) == []
    assert log.append([]) == 0
    rep = log.verify()
    assert (rep.records, rep.head, rep.first_time, rep.last_time) == (0, GENESIS, None, None)


def test_events_read_back_equal_and_in_order(backend: Backend) -> None:
    log = backend.open()
    events = night(14)
    assert log.append(events[:5]) == 5
    assert log.append(events[5:6]) == 6
    assert log.append(events[6:]) == 14
    records = list(log.read())
    assert [r.seq for r in records] == list(range(1, 15))
    assert [r.event() for r in records] == events
    assert [r.data for r in records] == [encode(e) for e in events]
    assert [r.seq for r in log.read(after=9)] == [10, 11, 12, 13, 14]
    assert list(log.read(after=14)) == []
    assert log.last_seq() == 14


def test_verify_walks_the_chain_it_should(backend: Backend) -> None:
    log = backend.open()
    events = night(9)
    log.append(events[:4])
    log.append(events[4:])
    rep = log.verify()
    assert rep.records == 9
    assert rep.head == head_of(events)
    assert rep.first_time == events[0].t
    assert rep.last_time == events[-1].t
    assert [r.hash for r in log.read()][-1] == rep.head


def test_reopen_recovers_last_seq_and_head(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("the in-memory twin keeps nothing across reopen")
    events = night(12)
    log = backend.open()
    log.append(events[:7])
    log.close()
    again = backend.open()
    assert again.last_seq() == 7
    assert again.append(events[7:]) == 12
    assert again.verify().head == head_of(events)
    assert [r.event() for r in again.read()] == events


def test_a_batch_that_cannot_be_encoded_writes_nothing(backend: Backend) -> None:
    log = backend.open()
    log.append(night(3))
    bad: list[Any] = [*night(2, start=3), object(), *night(2, start=5)]
    with pytest.raises(TypeError):
        log.append(bad)
    assert log.last_seq() == 3
    assert [r.seq for r in log.read()] == [1, 2, 3]
    assert log.append(night(2, start=3)) == 5
    assert log.verify().records == 5


def test_a_writer_failing_midway_leaves_the_log_as_before(backend: Backend) -> None:
    log = backend.open()
    first = night(4)
    log.append(first)
    backend.crash_midway(log, night(6, start=4), stored=3)
    again = backend.open()  # what a restarted process finds
    assert again.last_seq() == 4
    assert [r.event() for r in again.read()] == first
    assert again.verify().records == 4
    # the failed writer carries on from the last complete batch
    assert log.append(night(2, start=4)) == 6
    log.close()  # and a restarted writer after it
    assert again.append(night(1, start=6)) == 7
    assert again.verify().head == head_of(night(7))


def test_tampering_is_caught_and_names_the_record(backend: Backend) -> None:
    log = backend.open()
    log.append(night(6))
    assert log.verify().records == 6
    seq = backend.tamper(log)
    checker = log if backend.name == "memory" else backend.open()
    with pytest.raises(TamperError) as caught:
        checker.verify()
    assert caught.value.seq == seq
    assert f"record {seq}" in str(caught.value)


def test_one_writer_at_a_time_and_readers_never_wait(backend: Backend) -> None:
    """The first append takes the night; a second writer is refused, naming the holder where
    the backend knows it, and writes nothing; readers read throughout; close hands it on."""
    if not backend.persistent:
        pytest.skip("the in-memory twin has a single writer by construction")
    a, b, reader = backend.open(), backend.open(), backend.open()
    events = night(10)
    a.append(events[:3])
    with pytest.raises(WriterLockError, match="night is being written by") as refused:
        b.append(events[3:5])
    if backend.name != "postgres" or "pid" in str(refused.value):
        assert f"pid {os.getpid()}" in str(refused.value)
    assert reader.last_seq() == 3 and reader.verify().records == 3
    a.append(events[3:8])  # the holder carries on
    a.close()
    assert b.append(events[8:]) == 10  # and hands over at close: b chains from a's records
    for log in (b, reader):
        rep = log.verify()
        assert rep.records == 10
        assert rep.head == head_of(events)
        assert [r.event() for r in log.read()] == events


def test_append_after_close_raises(backend: Backend) -> None:
    log = backend.open()
    log.append(night(1))
    log.close()
    with pytest.raises(LogClosedError):
        log.append(night(1, start=1))
    log.close()  # closing twice is harmless


def test_a_new_sqlite_log_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:

    new = SqliteLog(tmp_path / "new.sqlite")
    new.close()
    old_path = tmp_path / "old.sqlite"
    db = sqlite3.connect(old_path)
    db.execute("PRAGMA page_size=4096")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    old = SqliteLog(old_path)
    old.append([Tick(t=datetime(2025, 3, 10, 21, 0, tzinfo=UTC))])
    old.close()
    sizes = [sqlite3.connect(p).execute("PRAGMA page_size").fetchone()[0] for p in (tmp_path / "new.sqlite", old_path)]
    assert sizes == [16384, 4096]


def test_sqlite_time_and_kind_columns_say_what_the_record_says(tmp_path):
    """The SQL convenience columns agree with the stored event: t as the JSON writes it (read
    off the bytes, with and without a fraction of a second) and the kind tag."""
    log = SqliteLog(tmp_path / "cols.sqlite")
    evs = [
        Tick(t=datetime(2025, 3, 10, 21, 0, tzinfo=UTC)),
        KillReported(t=datetime(2025, 3, 10, 21, 0, 1, 250_000, tzinfo=UTC), report_id="R1", lat=55.7, lon=37.6),
    ]
    log.append(evs)
    log.close()
    rows = sqlite3.connect(tmp_path / "cols.sqlite").execute("SELECT t, kind, data FROM events ORDER BY seq").fetchall()
    assert [(t, k) for t, k, _ in rows] == [
        ("2025-03-10T21:00:00Z", "tick"),
        ("2025-03-10T21:00:01.250000Z", "kill_reported"),
    ]
    for t, _, data in rows:
        assert f'"t":"{t}"'.encode() in bytes(data)
        assert datetime.fromisoformat(t) == decode(bytes(data)).t
