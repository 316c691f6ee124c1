"""Signed checkpoints, the witness and Merkle inclusion proofs (docs/event-log.md)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.cli import app
from skywarden.errors import ConfigError
from skywarden.events import encode
from skywarden.log import EventLog, MemoryLog, SqliteLog, open_log
from skywarden.log.audit import audit, check_proof, prove
from skywarden.log.checkpoint import (
    Checkpoint,
    Notary,
    Signing,
    WitnessSender,
    load_private,
    load_public,
    new_keys,
    read_witness,
    sign,
)
from skywarden.log.merkle import Frontier, inclusion_proof, leaf_hash, node_hash, root_from_proof
from tests.test_log_contract import (
    NATS_URL,
    PG_URL,
    nats_unavailable,
    night,
    pg_unavailable,
    with_log,
)
from tests.test_log_integrity import kill_night, rewrite_a_kill

# ----------------------------------------------------------------------------- Merkle tree


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162's MTH, written as the RFC states it (the reference for the frontier)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def test_the_frontier_root_is_rfc_9162s_tree_head_at_every_size() -> None:
    leaves = [leaf_hash(f"record {i}".encode()) for i in range(70)]
    f = Frontier()
    assert f.root() == mth([])
    for n in range(1, 71):
        f.append(leaves[n - 1])
        assert f.root() == mth(leaves[:n]), n


def test_every_inclusion_proof_leads_to_the_root_and_no_other_leaf_does() -> None:
    for n in (1, 2, 3, 5, 8, 13, 33):
        leaves = [leaf_hash(f"{n}/{i}".encode()) for i in range(n)]
        root = mth(leaves)
        for i in range(n):
            path = inclusion_proof(i, leaves)
            assert len(path) <= max(1, (n - 1).bit_length())
            assert root_from_proof(i, n, leaves[i], path) == root
            if n > 1:
                assert root_from_proof((i + 1) % n, n, leaves[i], path) != root
                assert root_from_proof(i, n, leaf_hash(b"other"), path) != root


# ----------------------------------------------------------------------------- keys


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return new_keys(tmp_path / "site")


def test_keys_new_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "new", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    key, pub = tmp_path / "site.key", tmp_path / "site.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert load_private(key).public_key().public_bytes_raw() == load_public(pub).public_bytes_raw()
    again = CliRunner().invoke(app, ["keys", "new", "--out", str(tmp_path / "site")])
    assert again.exit_code != 0 and "not overwritten" in again.output


def test_a_checkpoint_signature_covers_every_field(keys: tuple[Path, Path]) -> None:
    from datetime import UTC, datetime

    key, pub = load_private(keys[0]), load_public(keys[1])
    cp = sign(key, 7, b"h" * 32, b"r" * 32, datetime(2025, 3, 10, 21, tzinfo=UTC))
    assert cp.signed_by(pub)
    assert Checkpoint.from_json(cp.to_json()) == cp
    import dataclasses

    for change in ({"seq": 8}, {"head": b"x" * 32}, {"root": b"x" * 32}, {"time": "2025-03-10T21:00:01.000Z"}):
        assert not dataclasses.replace(cp, **change).signed_by(pub)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- checkpoints


def signed_log(path: Path, keys: tuple[Path, Path], every: int = 5, witness: str | None = None) -> EventLog:
    return open_log(path, Signing(keys[0], every, witness))


def test_checkpoints_every_n_records_and_at_close(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "n.db", keys)
    for k in range(4):
        log.append(night(3, start=3 * k))
    assert [c.seq for c in log.checkpoints()] == [6, 12]  # type: ignore[attr-defined]
    log.append(night(1, start=12))
    log.close()
    again = SqliteLog(tmp_path / "n.db")
    assert [c.seq for c in again.checkpoints()] == [6, 12, 13]
    rep = audit(again, load_public(keys[1]))
    assert rep.ok, rep.problems
    assert rep.signed_up_to == 13 and rep.checkpoints == 3


def test_a_reader_writes_no_checkpoint(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "r.db", keys)
    log.append(night(3))
    log.close()
    reader = signed_log(tmp_path / "r.db", keys)
    assert reader.verify().records == 3
    reader.close()
    assert len(SqliteLog(tmp_path / "r.db").checkpoints()) == 1


def test_signed_and_unsigned_nights_hold_the_same_records(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    """Checkpoints live beside the chain: signing changes no record, so replay is unaffected."""
    a, b = signed_log(tmp_path / "a.db", keys, every=4), open_log(tmp_path / "b.db", signing=None)
    for k in range(5):
        a.append(night(3, start=3 * k))
        b.append(night(3, start=3 * k))
    assert list(a.read()) == list(b.read())
    a.close()
    b.close()


def test_a_resumed_writer_keeps_signing_the_same_tree(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "res.db", keys, every=4)
    log.append(night(5))
    log.close()
    again = signed_log(tmp_path / "res.db", keys, every=4)
    again.append(night(6, start=5))  # rebuilds the frontier from the 5 records before
    again.close()
    rep = audit(SqliteLog(tmp_path / "res.db"), load_public(keys[1]))
    assert rep.ok, rep.problems
    assert rep.signed_up_to == 11


def test_a_recomputed_chain_is_caught_by_the_signed_checkpoints(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "rw.db"
    log = signed_log(path, keys, every=8)
    log.append(kill_night())
    log.close()
    target = rewrite_a_kill(path)
    assert SqliteLog(path).verify().records == 40  # the chain alone passes
    rep = audit(SqliteLog(path), load_public(keys[1]))
    assert not rep.ok
    assert any(f"at record {max(target, 8)}" not in p or "changed" in p for p in rep.problems)
    assert "the log was changed at or before it" in rep.problems[0]
    result = CliRunner().invoke(app, ["log", "verify", str(path), "--key", str(keys[1])])
    assert result.exit_code == 1
    assert "PROBLEM" in result.output


def test_an_unsigned_tail_a_foreign_key_and_a_stripped_log_are_flagged(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "tail.db"
    log = signed_log(path, keys, every=100)
    log.append(night(6))
    log.close()
    extra = open_log(path, signing=None)  # a writer without the key
    extra.append(night(2, start=6))
    extra.close()
    pub = load_public(keys[1])
    rep = audit(SqliteLog(path), pub)
    assert rep.signed_up_to == 6
    assert rep.problems == ["records 7..8 come after the last valid checkpoint (record 6): unsigned"]

    other = new_keys(tmp_path / "other")
    rep = audit(SqliteLog(path), load_public(other[1]))
    assert any("not by" in p for p in rep.problems) and rep.signed_up_to == 0

    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM checkpoints")
    db.close()
    rep = audit(SqliteLog(path), pub)
    assert "no signed checkpoint: the log is unsigned" in rep.problems
    result = CliRunner().invoke(app, ["log", "verify", str(path)])
    assert result.exit_code == 0 and "unsigned" in result.output


def test_records_removed_from_the_end_are_caught_by_the_last_checkpoint(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = tmp_path / "cut.db"
    log = signed_log(path, keys, every=100)
    log.append(night(9))
    log.close()
    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM events WHERE seq > 7")
    db.close()
    rep = audit(SqliteLog(path), load_public(keys[1]))
    assert any("the log ends at record 7" in p for p in rep.problems)


# ----------------------------------------------------------------------------- witness


def test_the_witness_catches_a_rewrite_re_signed_with_the_stolen_key(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path, witness = tmp_path / "w.db", tmp_path / "witness.jsonl"
    log = signed_log(path, keys, every=8, witness=str(witness))
    events = kill_night()
    for k in range(0, 40, 8):
        log.append(events[k : k + 8])
    log.close()
    held = read_witness(str(witness))
    assert [c.seq for c in held] == [8, 16, 24, 32, 40]
    # the attacker holds the key: rewrite, recompute the chain, re-sign every checkpoint
    rewrite_a_kill(path)
    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM checkpoints")
    db.close()
    forger = Notary(Signing(keys[0], 8))
    rewritten = SqliteLog(path)
    for rec in rewritten.read():
        forger.appended(rewritten, rec.seq, [rec.data], rec.hash)
    rewritten.close()
    pub = load_public(keys[1])
    assert audit(SqliteLog(path), pub).ok  # the key alone is fooled
    rep = audit(SqliteLog(path), pub, held)
    assert not rep.ok
    assert all(p.startswith("witness's checkpoint") for p in rep.problems)
    result = CliRunner().invoke(app, ["log", "verify", str(path), "--key", str(keys[1]), "--witness", str(witness)])
    assert result.exit_code == 1


def test_a_dead_witness_never_holds_up_appends_and_is_retried(tmp_path: Path) -> None:
    calls: list[str] = []
    alive = {"now": False}

    def deliver(where: str, cp: Checkpoint) -> None:
        calls.append(where)
        if not alive["now"]:
            time.sleep(0.05)
            raise ConnectionRefusedError("witness down")

    sender = WitnessSender("http://witness.invalid/", deliver=deliver, max_wait_s=0.1)
    from datetime import UTC, datetime

    key, _ = new_keys(tmp_path / "k")
    started = time.monotonic()
    for i in range(1, 21):
        sender.send(sign(load_private(key), i, bytes(32), bytes(32), datetime.now(UTC)))
    assert time.monotonic() - started < 0.5  # queued, not sent on the caller's time
    deadline = time.monotonic() + 5
    while sender.failures < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sender.failures >= 3 and sender.sent == 0 and "witness down" in sender.last_error
    alive["now"] = True
    assert sender.close(timeout_s=5) == 0
    assert sender.sent == 20


def test_the_http_witness_keeps_checkpoints_and_refuses_contradictions(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    import threading

    from skywarden.log.witness import WitnessFile, serve_witness

    store = WitnessFile(tmp_path / "held.jsonl", load_public(keys[1]))
    server = serve_witness(store, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        log = signed_log(tmp_path / "h.db", keys, every=4, witness=url)
        log.append(night(5))
        log.append(night(5, start=5))
        log.close()
        held = read_witness(url)
        assert [c.seq for c in held] == [5, 10]
        assert audit(SqliteLog(tmp_path / "h.db"), load_public(keys[1]), held).ok
        # a re-signed rewrite cannot replace what the witness holds, nor can another key add to it
        from datetime import UTC, datetime

        forged = sign(load_private(keys[0]), 10, b"f" * 32, b"f" * 32, datetime.now(UTC))
        other = sign(load_private(new_keys(tmp_path / "o")[0]), 11, b"o" * 32, b"o" * 32, datetime.now(UTC))
        sender = WitnessSender(url)
        sender.send(forged)
        sender.send(other)
        sender.send(held[0])  # the same one again (a retried delivery) is fine
        assert sender.close(timeout_s=5) == 0
        assert (sender.refused, sender.sent) == (2, 1)
        assert [c.seq for c in read_witness(url)] == [5, 10]
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- inclusion proofs


def test_prove_and_check_every_record_of_a_small_night(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "p.db", keys, every=7)
    log.append(night(7))  # a checkpoint at 7
    log.append(night(16, start=7))  # one at 23 (crossing 14 and 21 in one batch)
    log.close()
    reader = SqliteLog(tmp_path / "p.db")
    pub = load_public(keys[1])
    for seq in range(1, 24):
        proof = prove(reader, seq)
        assert proof["tree_size"] == 23
        assert check_proof(proof, pub) == ""
        assert proof["data"].encode() == encode(night(23)[seq - 1])
    early = prove(reader, 3, at=7)
    assert early["tree_size"] == 7 and check_proof(early, pub) == ""
    forged = {**prove(reader, 5), "data": prove(reader, 6)["data"]}
    assert "another root" in check_proof(forged, pub)
    other = new_keys(tmp_path / "other")
    assert "not signed by" in check_proof(prove(reader, 5), load_public(other[1]))


def test_the_prove_and_verify_proof_commands(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "c.db", keys, every=100)
    log.append(night(12))
    log.close()
    runner = CliRunner()
    out = runner.invoke(app, ["log", "prove", str(tmp_path / "c.db"), "4"])
    assert out.exit_code == 0, out.output
    proof = tmp_path / "p.json"
    proof.write_text(out.stdout)
    assert json.loads(out.stdout)["seq"] == 4
    ok = runner.invoke(app, ["log", "verify-proof", str(proof), "--key", str(keys[1])])
    assert ok.exit_code == 0 and "OK record 4" in ok.output
    doc = json.loads(out.stdout)
    doc["seq"] = 5
    proof.write_text(json.dumps(doc))
    assert runner.invoke(app, ["log", "verify-proof", str(proof), "--key", str(keys[1])]).exit_code == 1


def test_no_key_configured_means_an_unsigned_night(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKYWARDEN_KEY", raising=False)
    assert Signing.from_env() is None
    log = open_log("memory://")
    assert isinstance(log, MemoryLog) and log.notary is None
    with pytest.raises(ConfigError):
        Signing.from_env({"SKYWARDEN_KEY": "k", "SKYWARDEN_CHECKPOINT_EVERY": "0"})


# ----------------------------------------------------------------------------- server backends


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


def test_server_backends_keep_checkpoints_beside_the_log(server_url: str, keys: tuple[Path, Path]) -> None:
    log = open_log(server_url, Signing(keys[0], 4))
    log.append(night(5))
    log.append(night(5, start=5))
    log.close()
    reader = open_log(server_url, signing=None)
    try:
        assert [c.seq for c in reader.checkpoints()] == [5, 10]  # type: ignore[attr-defined]
        rep = audit(reader, load_public(keys[1]))
        assert rep.ok, rep.problems
        assert rep.signed_up_to == 10
        assert check_proof(prove(reader, 3), load_public(keys[1])) == ""
    finally:
        reader.close()


def test_a_checkpoint_that_cannot_be_written_never_fails_the_append(keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from skywarden.errors import LogError

    log = open_log("memory://", Signing(keys[0], 2))
    assert isinstance(log, MemoryLog) and log.notary is not None
    real = log.put_checkpoint

    def down(cp: Checkpoint) -> None:
        raise LogError("checkpoint table unreachable")

    monkeypatch.setattr(log, "put_checkpoint", down)
    assert log.append(night(3)) == 3  # the batch is in, the checkpoint is not
    assert (log.notary.failed, log.checkpoints()) == (1, [])
    monkeypatch.setattr(log, "put_checkpoint", real)
    log.append(night(2, start=3))  # the next crossing signs everything so far
    assert [c.seq for c in log.checkpoints()] == [5]
    assert audit(log, load_public(keys[1])).ok


def test_a_reader_never_reads_the_key_and_a_writer_without_it_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    log = open_log(path, signing=None)
    log.append(night(3))
    log.close()
    missing = Signing(tmp_path / "nowhere.key", 5)
    reader = open_log(path, missing)  # verify, tail, report: the key is not theirs to read
    assert reader.verify().records == 3
    reader.close()
    writer = open_log(path, missing)
    with pytest.raises(ConfigError, match="signing key"):
        writer.append(night(1, start=3))
    writer.close()
    assert SqliteLog(path).last_seq() == 3
