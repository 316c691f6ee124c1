"""A resumed writer takes its Merkle state from the last checkpoint's stored frontier and hashes
only the records after it; older logs (no stored frontier), another key's checkpoints and a
damaged frontier fall back to reading the log, and verify rechecks everything either way."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.cli import app
from skywarden.log import EventLog, SqliteLog, open_log
from skywarden.log.audit import audit
from skywarden.log.checkpoint import Signing, load_public, new_keys
from skywarden.log.merkle import Frontier, leaf_hash, root_of
from tests.test_log_contract import (
    NATS_URL,
    PG_URL,
    nats_unavailable,
    night,
    pg_unavailable,
    with_log,
)
from tests.test_log_signing import mth


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return new_keys(tmp_path / "site")


def test_a_frontier_restored_from_its_hashes_is_the_same_tree_at_every_size() -> None:
    leaves = [leaf_hash(f"r{i}".encode()) for i in range(80)]
    f = Frontier()
    for n in range(1, 81):
        f.append(leaves[n - 1])
        g = Frontier.restore(n, f.hashes())
        assert len(f.hashes()) == bin(n).count("1")
        assert g.root() == f.root() == mth(leaves[:n])
        g.append(leaf_hash(b"next"))  # and it grows on as the original would
        assert g.root() == mth([*leaves[:n], leaf_hash(b"next")])
    with pytest.raises(ValueError):
        Frontier.restore(7, f.hashes())  # 80 = 64 + 16: two roots; 7 = 4 + 2 + 1 needs three
    with pytest.raises(ValueError):
        Frontier.restore(6, [b"x" * 32])  # 6 = 4 + 2: two roots
    with pytest.raises(ValueError):
        Frontier.restore(1, [b"short"])


class Reads:
    """Counts what a log's reads start from (``read(after)``) and how many records they yield."""

    def __init__(self, log: EventLog) -> None:
        self.starts: list[int] = []
        self.records = 0
        real = log.read

        def read(after: int = 0) -> Iterator[object]:
            self.starts.append(after)
            for rec in real(after):
                self.records += 1
                yield rec

        log.read = read  # type: ignore[method-assign]  # a spy on this one object


def write(path: Path | str, keys: tuple[Path, Path], batches: list[int], every: int = 10, start: int = 0) -> int:
    log = open_log(path, Signing(keys[0], every))
    for n in batches:
        log.append(night(n, start=start))
        start += n
    log.close()
    return start


def test_a_resumed_writer_hashes_only_the_records_after_the_last_checkpoint(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "r.db"
    end = write(path, keys, [7] * 6, every=10)  # 42 records; checkpoints at 14, 21, 35, 42 (close)
    assert [c.seq for c in SqliteLog(path).checkpoints()] == [14, 21, 35, 42]
    assert all(len(c.frontier) == bin(c.seq).count("1") for c in SqliteLog(path).checkpoints())
    log = open_log(path, Signing(keys[0], 10))
    reads = Reads(log)
    log.append(night(5, start=end))
    assert log.notary is not None  # type: ignore[attr-defined]
    assert (log.notary.resumed_from, log.notary.rehashed) == (42, 0)  # type: ignore[attr-defined]
    assert reads.starts == [41] and reads.records == 1  # the checkpoint's own record, for its head
    log.close()
    # a log the writer left unsigned at its end (killed before the closing checkpoint)
    cut = open_log(path, signing=None)
    cut.append(night(4, start=end + 5))
    cut.close()
    log = open_log(path, Signing(keys[0], 10))
    reads = Reads(log)
    log.append(night(2, start=end + 9))
    assert (log.notary.resumed_from, log.notary.rehashed) == (47, 4)  # type: ignore[attr-defined]
    assert reads.starts == [46, 47]
    log.close()
    # the same tree as a writer that never stopped: every root at the same seqs
    whole = tmp_path / "whole.db"
    ref = open_log(whole, signing=None)
    ref.append(night(end + 11))
    ref.close()
    leaves = [leaf_hash(r.data) for r in SqliteLog(whole).read()]
    for cp in SqliteLog(path).checkpoints():
        assert cp.root == root_of(leaves[: cp.seq]), cp.seq
    rep = audit(SqliteLog(path), load_public(keys[1]))
    assert rep.ok and rep.signed_up_to == end + 11, rep.problems


def drop_frontier_column(path: Path) -> None:
    """The checkpoints table as logs written before the frontier was stored have it."""
    db = sqlite3.connect(path)
    with db:
        db.execute("ALTER TABLE checkpoints DROP COLUMN frontier")
    db.close()


def test_an_older_log_without_stored_frontiers_resumes_and_verifies_as_before(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "old.db"
    end = write(path, keys, [6, 6, 6], every=5)
    drop_frontier_column(path)
    runner = CliRunner()
    before = runner.invoke(app, ["log", "verify", str(path), "--key", str(keys[1])])
    assert before.exit_code == 0, before.output
    assert all(c.frontier == () for c in SqliteLog(path).checkpoints())
    log = open_log(path, Signing(keys[0], 5))
    reads = Reads(log)
    log.append(night(6, start=end))
    assert (log.notary.resumed_from, log.notary.rehashed) == (0, end)  # type: ignore[attr-defined]
    assert reads.starts == [0]  # the whole log, once
    log.close()
    cps = SqliteLog(path).checkpoints()
    assert [c.frontier == () for c in cps] == [True, True, True, False]  # its writer added the column
    rep = audit(SqliteLog(path), load_public(keys[1]))
    assert rep.ok and rep.signed_up_to == end + 6, rep.problems
    after = runner.invoke(app, ["log", "verify", str(path), "--key", str(keys[1])])
    assert after.exit_code == 0, after.output
    for out, n in ((before, end), (after, end + 6)):
        text = " ".join(out.output.split())  # the console wraps long lines
        assert text.startswith(f"OK {path}: {n} records, chain intact, every stored column agrees")
        assert f"up to record {n} (" in text
    # and the next writer resumes from the new checkpoint
    log = open_log(path, Signing(keys[0], 5))
    log.append(night(1, start=end + 6))
    assert log.notary.resumed_from == end + 6  # type: ignore[attr-defined]
    log.close()


def set_frontier(path: Path, seq: int, blob: bytes | None) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE checkpoints SET frontier = ? WHERE seq = ?", (blob, seq))
    db.close()


def test_a_frontier_that_does_not_fold_to_its_signed_root_is_not_used(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "f.db"
    end = write(path, keys, [6, 6, 6], every=5)  # checkpoints at 6, 12, 18
    last = SqliteLog(path).checkpoints()[-1]
    forged = bytes(32) + b"".join(last.frontier[1:])
    set_frontier(path, 18, forged)
    set_frontier(path, 12, b"not 32 bytes")
    log = open_log(path, Signing(keys[0], 5))
    log.append(night(3, start=end))
    assert (log.notary.resumed_from, log.notary.rehashed) == (6, 12)  # type: ignore[attr-defined]
    log.close()
    rep = audit(SqliteLog(path), load_public(keys[1]))
    assert rep.ok and rep.signed_up_to == end + 3, rep.problems


def test_another_keys_checkpoint_or_a_changed_record_is_not_resumed_from(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "k.db"
    end = write(path, keys, [6, 6], every=5)
    other = new_keys(tmp_path / "other")
    log = open_log(path, Signing(other[0], 5))  # the site's key was replaced
    log.append(night(3, start=end))
    assert (log.notary.resumed_from, log.notary.rehashed) == (0, end)  # type: ignore[attr-defined]
    log.close()

    path2 = tmp_path / "h.db"
    end2 = write(path2, keys, [6, 6], every=5)
    db = sqlite3.connect(path2)
    with db:  # the record at the last checkpoint no longer has the signed head
        db.execute("UPDATE events SET hash = zeroblob(32) WHERE seq = 12")
    db.close()
    log = open_log(path2, Signing(keys[0], 5))
    log.append(night(1, start=end2))
    assert log.notary.resumed_from == 6  # type: ignore[attr-defined]
    log.close()
    with pytest.raises(Exception, match="12"):
        audit(SqliteLog(path2), load_public(keys[1]))  # verify still walks everything


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("nats", marks=pytest.mark.nats)]
)
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    why = {"postgres": pg_unavailable, "nats": nats_unavailable}[request.param]
    if reason := why():
        pytest.skip(reason)
    url = with_log(PG_URL if request.param == "postgres" else NATS_URL, f"t{uuid.uuid4().hex[:12]}")
    try:
        yield url
    finally:
        last = open_log(url, signing=None)
        last.drop()  # type: ignore[attr-defined]


def test_server_backends_store_the_frontier_and_resume_from_it(server_url: str, keys: tuple[Path, Path]) -> None:
    end = write(server_url, keys, [5, 5, 5], every=4)
    reader = open_log(server_url, signing=None)
    try:
        cps = reader.checkpoints()  # type: ignore[attr-defined]
        assert [len(c.frontier) for c in cps] == [bin(c.seq).count("1") for c in cps]
    finally:
        reader.close()
    log = open_log(server_url, Signing(keys[0], 4))
    log.append(night(2, start=end))
    assert (log.notary.resumed_from, log.notary.rehashed) == (end, 0)  # type: ignore[attr-defined]
    log.close()
    reader = open_log(server_url, signing=None)
    try:
        rep = audit(reader, load_public(keys[1]))
        assert rep.ok and rep.signed_up_to == end + 2, rep.problems
    finally:
        reader.close()


@pytest.mark.postgres
def test_a_postgres_log_from_before_the_frontier_column_gets_it_and_resumes(keys: tuple[Path, Path]) -> None:
    if reason := pg_unavailable():
        pytest.skip(reason)
    import psycopg

    from skywarden.log.postgres import PostgresLog, split_url

    url = with_log(PG_URL, f"t{uuid.uuid4().hex[:12]}")
    try:
        end = write(url, keys, [5, 5], every=4)
        conninfo, name = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE skywarden_{name}_checkpoints DROP COLUMN frontier")  # as logs before it
        log = open_log(url, Signing(keys[0], 4))  # opening adds the column back, empty
        assert [c.frontier for c in log.checkpoints()] == [(), ()]  # type: ignore[attr-defined]
        log.append(night(3, start=end))
        assert (log.notary.resumed_from, log.notary.rehashed) == (0, end)  # type: ignore[attr-defined]
        log.close()
        reader = open_log(url, signing=None)
        try:
            assert len(reader.checkpoints()[-1].frontier) == bin(end + 3).count("1")  # type: ignore[attr-defined]
            assert audit(reader, load_public(keys[1])).ok
        finally:
            reader.close()
    finally:
        last = open_log(url, signing=None)
        assert isinstance(last, PostgresLog)
        last.drop()
