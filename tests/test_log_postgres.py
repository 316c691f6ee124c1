"""PostgreSQL specifics beyond the shared contract: URLs, errors, the append-only guard, writers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from skywarden.errors import LogError, WriterLockError
from tests.test_log_contract import PG_URL, night, pg_unavailable, with_log

psycopg = pytest.importorskip("psycopg")
from skywarden.log import postgres as pg  # noqa: E402


def test_the_log_name_comes_from_the_url_and_the_rest_goes_to_libpq() -> None:
    conninfo, name = pg.split_url("postgresql://u:pw@db.local:5433/city?log=night1&sslmode=require")
    assert name == "night1"
    assert "log=" not in conninfo
    assert "sslmode=require" in conninfo and "connect_timeout=2" in conninfo
    assert pg.split_url("postgresql://h/db")[1] == "events"
    assert "connect_timeout=9" in pg.split_url("postgresql://h/db?connect_timeout=9")[0]


def test_a_libpq_parameter_with_a_space_reaches_libpq_as_a_space() -> None:
    """libpq decodes %20 but takes "+" as itself: options=-c name=value must not become
    "-c+name=value" (the server refuses that connection: unrecognized parameter "+name")."""
    conninfo, _ = pg.split_url("postgresql://h/db?log=n&options=-c%20default_tablespace%3Dsmall")
    assert "options=-c%20default_tablespace%3Dsmall" in conninfo and "+" not in conninfo


@pytest.mark.parametrize("bad", ["Night", "1night", "a-b", "x;drop table y", "n" * 41])
def test_a_log_name_that_is_not_a_plain_identifier_is_refused(bad: str) -> None:
    with pytest.raises(LogError, match="log name"):
        pg.split_url(f"postgresql://h/db?log={bad}")


def test_no_server_is_a_clear_log_error_without_the_password() -> None:
    started = time.monotonic()
    with pytest.raises(LogError, match="cannot reach PostgreSQL") as caught:
        pg.PostgresLog("postgresql://skywarden:secret@127.0.0.1:1/test?log=x")
    assert "secret" not in str(caught.value)
    assert time.monotonic() - started < 10


@pytest.fixture()
def log() -> Iterator[pg.PostgresLog]:
    if reason := pg_unavailable():
        pytest.skip(reason)
    lg = pg.PostgresLog(with_log(PG_URL, f"t{uuid.uuid4().hex[:12]}"))
    try:
        yield lg
    finally:
        pg.PostgresLog(lg.url).drop()
        lg.close()


@pytest.mark.postgres
def test_rows_keep_the_hashed_bytes_and_queryable_time_and_kind(log: pg.PostgresLog) -> None:
    events = night(6)
    log.append(events)
    with psycopg.connect(PG_URL) as db:
        rows = db.execute(
            f"SELECT seq, t, kind, data, hash FROM {log.table} ORDER BY seq"
        ).fetchall()
    assert [r[1] for r in rows] == [e.t for e in events]
    assert [r[2] for r in rows] == [type(e).__struct_config__.tag for e in events]
    assert [bytes(r[3]) for r in rows] == [rec.data for rec in log.read()]
    assert [bytes(r[4]) for r in rows] == [rec.hash for rec in log.read()]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {t} SET kind = 'tick' WHERE seq = 1", "DELETE FROM {t} WHERE seq = 2", "TRUNCATE {t}"],
)
def test_the_table_refuses_rewrites(log: pg.PostgresLog, statement: str) -> None:
    log.append(night(3))
    with (
        psycopg.connect(PG_URL, autocommit=True) as db,
        pytest.raises(psycopg.Error, match="append-only"),
    ):
        db.execute(statement.format(t=log.table))
    assert log.verify().records == 3


@pytest.mark.postgres
def test_reads_stream_in_chunks(log: pg.PostgresLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg, "READ_CHUNK", 4)
    events = night(11)
    log.append(events)
    assert [r.event() for r in log.read(after=1)] == events[1:]


@pytest.mark.postgres
def test_racing_writers_one_holds_the_night_and_the_other_writes_nothing(log: pg.PostgresLog) -> None:
    """Two writers (own connections) start at once: one takes the night and writes every batch;
    the other is refused at its first append, naming the holder, and stores nothing."""
    writers = [pg.PostgresLog(log.url) for _ in range(2)]
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


@pytest.mark.postgres
def test_last_seq_sees_what_other_writers_appended(log: pg.PostgresLog) -> None:
    other = pg.PostgresLog(log.url)
    try:
        other.append(night(4))
        assert log.last_seq() == 4
    finally:
        other.close()


@pytest.mark.postgres
def test_a_lost_connection_fails_one_append_and_the_next_reconnects(log: pg.PostgresLog) -> None:
    log.append(night(2))
    pid = log._db.info.backend_pid
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(LogError, match="connection lost"):
        log.append(night(1, start=2))
    assert log.append(night(1, start=2)) == 3
    assert [r.event() for r in log.read()] == night(3)
