"""Verify checks every stored column and names it, on every backend; the PostgreSQL and NATS
cases are marked and skip (saying why) when no server answers."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skywarden.errors import TamperError
from skywarden.events import Event, KillNumbered, encode
from skywarden.log import SqliteLog, open_log
from skywarden.log.chain import GENESIS, VerifyReport, link
from tests.test_log_contract import (
    NATS_URL,
    PG_URL,
    T0,
    nats_unavailable,
    night,
    pg_unavailable,
    with_log,
)


def named(verify: Callable[[], object]) -> tuple[int, str | None]:
    with pytest.raises(TamperError) as caught:
        verify()
    return caught.value.seq, caught.value.column


def flip(data: bytes) -> bytes:
    i = next(i for i, c in enumerate(data) if chr(c).isdigit())
    d = bytearray(data)
    d[i] = ord("1") if d[i] != ord("1") else ord("2")
    return bytes(d)


# ----------------------------------------------------------------------------- SQLite


def sqlite_night(tmp_path: Path) -> Path:
    path = tmp_path / "night.db"
    log = SqliteLog(path)
    log.append(night(6))
    log.append(night(6, start=6))
    log.close()
    return path


def verifier(path: Path) -> Callable[[], VerifyReport]:
    """A fresh reader's verify, closed once it ran."""

    def run() -> VerifyReport:
        log = SqliteLog(path)
        try:
            return log.verify()
        finally:
            log.close()

    return run


def sql(path: Path, statement: str, *args: object) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute(statement, args)
    db.close()


@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE events SET kind = 'tick' WHERE seq = 5", "kind"),
        ("UPDATE events SET t = '2000-01-01T00:00:00Z' WHERE seq = 5", "t"),
        ("UPDATE events SET hash = zeroblob(32) WHERE seq = 5", "hash"),
        ("DELETE FROM events WHERE seq = 5", "seq"),
        ("UPDATE events SET seq = 105 WHERE seq = 5", "seq"),
    ],
)
def test_sqlite_each_stored_column_changed_is_named(tmp_path: Path, statement: str, column: str) -> None:
    path = sqlite_night(tmp_path)
    assert verifier(path)().records == 12
    sql(path, statement)
    assert named(verifier(path)) == (5, column)


def test_sqlite_changed_data_is_named_as_data(tmp_path: Path) -> None:
    path = sqlite_night(tmp_path)
    db = sqlite3.connect(path)
    (data,) = db.execute("SELECT data FROM events WHERE seq = 5").fetchone()
    db.close()
    sql(path, "UPDATE events SET data = ? WHERE seq = 5", flip(data))
    assert named(verifier(path)) == (5, "data")


def test_sqlite_a_changed_last_record_is_named_even_without_a_next_one(tmp_path: Path) -> None:
    path = sqlite_night(tmp_path)
    sql(path, "UPDATE events SET hash = zeroblob(32) WHERE seq = 12")
    assert named(verifier(path)) == (12, "data or hash")


def test_sqlite_a_reordered_pair_is_named(tmp_path: Path) -> None:
    path = sqlite_night(tmp_path)
    sql(path, "UPDATE events SET seq = -1 WHERE seq = 7")
    sql(path, "UPDATE events SET seq = 7 WHERE seq = 8")
    sql(path, "UPDATE events SET seq = 8 WHERE seq = -1")
    seq, column = named(verifier(path))
    assert seq == 7 and column in ("data", "data or hash")


# ----------------------------------------------------------------------------- PostgreSQL


@pytest.fixture()
def pg_log() -> Iterator[object]:
    if reason := pg_unavailable():
        pytest.skip(reason)
    from skywarden.log.postgres import PostgresLog

    lg = PostgresLog(with_log(PG_URL, f"t{uuid.uuid4().hex[:12]}"))
    try:
        lg.append(night(6))
        lg.append(night(6, start=6))
        yield lg
    finally:
        PostgresLog(lg.url).drop()
        lg.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE {t} SET kind = 'tick' WHERE seq = 5", "kind"),
        ("UPDATE {t} SET t = '2000-01-01T00:00:00Z' WHERE seq = 5", "t"),
        ("UPDATE {t} SET hash = decode(repeat('00', 32), 'hex') WHERE seq = 5", "hash"),
        ("UPDATE {t} SET data = overlay(data placing '9' from 30 for 1) WHERE seq = 5", "data"),
        ("DELETE FROM {t} WHERE seq = 5", "seq"),
    ],
)
def test_postgres_each_stored_column_changed_is_named(pg_log: object, statement: str, column: str) -> None:
    import psycopg

    from skywarden.log.postgres import PostgresLog

    assert isinstance(pg_log, PostgresLog)
    with psycopg.connect(PG_URL, autocommit=True) as db:
        # the append-only triggers refuse this; an attacker who can disable them is who verify is for
        db.execute(f"ALTER TABLE {pg_log.table} DISABLE TRIGGER USER")  # type: ignore[arg-type]  # test-only SQL
        db.execute(statement.format(t=pg_log.table))  # type: ignore[arg-type]  # test-only SQL
        db.execute(f"ALTER TABLE {pg_log.table} ENABLE TRIGGER USER")  # type: ignore[arg-type]  # test-only SQL
    checker = PostgresLog(pg_log.url)
    try:
        assert named(checker.verify) == (5, column)
    finally:
        checker.close()


# ----------------------------------------------------------------------------- NATS JetStream


Alter = Callable[[int, str, dict[str, str], bytes], tuple[str, dict[str, str], bytes]]


@pytest.fixture()
def nats_pair() -> Iterator[tuple[object, Callable[[Alter], object]]]:
    """A good NATS log of 12 records, and a maker of forged copies: its messages republished
    into a fresh stream with one thing changed (messages cannot be edited in place)."""
    if reason := nats_unavailable():
        pytest.skip(reason)
    from skywarden.log.nats import NatsLog

    made: list[NatsLog] = []
    good = NatsLog(with_log(NATS_URL, f"t{uuid.uuid4().hex[:12]}"))
    made.append(good)
    good.append(night(6))
    good.append(night(6, start=6))

    def forge(alter: Alter) -> NatsLog:
        copy = NatsLog(with_log(NATS_URL, f"t{uuid.uuid4().hex[:12]}"))
        made.append(copy)
        other = copy.subject.replace(".events", ".other")
        msgs = []
        for pos, subject, headers, data in good._raw(0):
            h = {k: v for k, v in (headers or {}).items() if not k.startswith("Nats-Expected")}
            msgs.append(alter(pos, subject.replace(good.subject, copy.subject), h, data))

        async def go() -> None:
            import nats

            nc = await nats.connect(NATS_URL)
            js = nc.jetstream()
            info = await js.stream_info(copy.stream)
            await js.update_stream(info.config.evolve(subjects=[copy.subject, other]))
            for subject, headers, data in msgs:
                await js.publish(subject.replace(".events#", ".other"), data, headers=headers)
            await nc.drain()

        asyncio.run(go())
        return copy

    try:
        yield good, forge
    finally:
        for lg in made:
            lg.drop()


def _at(n: int, f: Callable[[str, dict[str, str], bytes], tuple[str, dict[str, str], bytes]]) -> Alter:
    return lambda pos, s, h, d: f(s, h, d) if pos == n else (s, h, d)


@pytest.mark.nats
@pytest.mark.parametrize(
    ("alter", "column"),
    [
        (_at(5, lambda s, h, d: (s, h, flip(d))), "data"),
        (_at(5, lambda s, h, d: (s, {**h, "Skywarden-Hash": "00" * 32}, d)), "hash"),
        (_at(5, lambda s, h, d: (s, {**h, "Skywarden-Seq": "4"}, d)), "Skywarden-Seq"),
        (_at(5, lambda s, h, d: (s, {k: v for k, v in h.items() if k != "Skywarden-Batch"}, d)), "Skywarden-Batch"),
        (_at(5, lambda s, h, d: (s, {**h, "Nats-Msg-Id": "x.1"}, d)), "Nats-Msg-Id"),
        (_at(5, lambda s, h, d: (s + "#", h, d)), "subject"),
    ],
    ids=["data", "hash", "seq-header", "batch-header", "msg-id", "subject"],
)
def test_nats_each_stored_field_changed_is_named(
    nats_pair: tuple[object, Callable[[Alter], object]], alter: Alter, column: str
) -> None:
    from skywarden.log.nats import NatsLog

    good, forge = nats_pair
    assert isinstance(good, NatsLog) and good.verify().records == 12
    copy = forge(alter)
    assert isinstance(copy, NatsLog)
    seq, col = named(copy.verify)
    assert (seq, col) == (5, column)


@pytest.mark.nats
def test_nats_an_unaltered_copy_verifies(nats_pair: tuple[object, Callable[[Alter], object]]) -> None:
    good, forge = nats_pair
    copy = forge(lambda pos, s, h, d: (s, h, d))
    assert copy.verify().records == 12  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- the rewrite


def rewrite_a_kill(path: Path) -> int:
    """Change a kill's number in the stored JSON and recompute every later hash with the
    documented formula, as someone who can write the file but holds no key would."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()
    target = next(seq for seq, data in rows if b'"kill_numbered"' in bytes(data))
    prev = GENESIS
    with db:
        for seq, data in rows:
            data = bytes(data)
            if seq == target:
                data = data.replace(b'"number":1,', b'"number":2,')
            prev = link(prev, seq, data)
            db.execute("UPDATE events SET data = ?, hash = ? WHERE seq = ?", (data, prev, seq))
    db.close()
    return int(target)


def kill_night(n: int = 40) -> list[Event]:
    evs = night(n)
    evs[10] = KillNumbered(
        t=T0, report_id="R1", number=1, day_number=1, local_time="00:00", incident_id="I1",
        track_id="T1", matched_by="track_ref", lat=55.7, lon=37.6, alt=300.0,
    )
    return evs


def test_a_recomputed_chain_passes_the_chain_alone(tmp_path: Path) -> None:
    """What the chain cannot catch without a key (and the checkpoints do, test_log_signing)."""
    path = tmp_path / "night.db"
    log = open_log(path, signing=None)
    log.append(kill_night())
    log.close()
    assert b'"number":1,' in encode(kill_night()[10])
    rewrite_a_kill(path)
    assert verifier(path)().records == 40


def test_sqlite_t_column_holds_the_jsons_text_or_an_older_writers(tmp_path: Path) -> None:
    """An older writer stored isoformat()'s text (``+00:00``): still fits. The same instant in
    another zone's text does not: SQL range queries compare the text."""
    path = sqlite_night(tmp_path)
    sql(path, "UPDATE events SET t = '2025-03-10T21:00:00+00:00' WHERE seq = 1")
    assert verifier(path)().records == 12
    sql(path, "UPDATE events SET t = '2025-03-11T00:00:00+03:00' WHERE seq = 1")
    assert named(verifier(path)) == (1, "t")
