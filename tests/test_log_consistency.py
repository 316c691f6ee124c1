"""Consistency proofs (RFC 9162 section 2.1.4): the log signed at one size only grew to another.

The prover and verifier in ``skywarden.log.merkle`` are checked against the RFC's definitions
written out plainly here (MTH, SUBPROOF), against the RFC 6962 test vectors, over random sizes
with hypothesis, and against the inclusion proofs of the same trees; then ``log prove
--consistency`` / ``log verify-proof`` on signed logs, a witness included.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from skywarden.cli import app
from skywarden.errors import LogError
from skywarden.log import SqliteLog
from skywarden.log.audit import check_consistency, check_proof, prove, prove_consistency
from skywarden.log.checkpoint import Notary, Signing, load_public, new_keys, read_witness
from skywarden.log.merkle import (
    consistency_proof,
    consistent,
    inclusion_proof,
    leaf_hash,
    root_from_proof,
    root_of,
)
from tests.test_log_contract import night
from tests.test_log_integrity import kill_night, rewrite_a_kill
from tests.test_log_signing import mth, signed_log

# ----------------------------------------------------------------------------- the RFC, plainly


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1, as the RFC states it."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def leaves_of(n: int, salt: str = "") -> list[bytes]:
    return [leaf_hash(f"{salt}record {i}".encode()) for i in range(n)]


# RFC 6962's reference test data (the certificate-transparency project's Merkle tests): eight
# leaves, the tree head of all eight, and three consistency proofs.
VECTOR_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
VECTOR_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
VECTOR_PROOFS = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def test_the_rfc_6962_test_vectors() -> None:
    leaves = [leaf_hash(d) for d in VECTOR_LEAVES]
    assert root_of(leaves).hex() == VECTOR_ROOT_8
    for (m, n), want in VECTOR_PROOFS.items():
        proof = consistency_proof(m, leaves[:n])
        assert [h.hex() for h in proof] == want, (m, n)
        assert consistent(m, n, root_of(leaves[:m]), root_of(leaves[:n]), proof)


def test_every_pair_of_small_sizes_against_the_rfcs_definition() -> None:
    """Exhaustive up to 40 leaves: the proof is SUBPROOF's, at most ceil(log2 n) + 1 hashes,
    and it verifies; equal sizes need an empty proof and equal roots."""
    leaves = leaves_of(40)
    for n in range(1, 41):
        new_root = mth(leaves[:n])
        for m in range(1, n + 1):
            proof = consistency_proof(m, leaves[:n])
            assert proof == subproof(m, leaves[:n], True), (m, n)
            assert len(proof) <= (n - 1).bit_length() + 1
            assert consistent(m, n, mth(leaves[:m]), new_root, proof), (m, n)
    assert consistent(5, 5, b"r" * 32, b"r" * 32, [])
    assert not consistent(5, 5, b"r" * 32, b"s" * 32, [])
    assert not consistent(5, 5, b"r" * 32, b"r" * 32, [b"r" * 32])


def test_sizes_out_of_range_are_refused() -> None:
    leaves = leaves_of(6)
    for m in (0, -1, 7):
        with pytest.raises(ValueError):
            consistency_proof(m, leaves)
    root = root_of(leaves)
    assert not consistent(0, 6, root, root, [])
    assert not consistent(7, 6, root, root, consistency_proof(6, leaves))
    assert not consistent(3, 6, root_of(leaves[:3]), root, [])  # an empty proof proves nothing


sizes = st.integers(min_value=2, max_value=600).flatmap(
    lambda n: st.tuples(st.integers(min_value=1, max_value=n - 1), st.just(n))
)
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(sizes=sizes, data=st.data())
def test_every_valid_proof_verifies_and_any_change_fails(sizes: tuple[int, int], data: st.DataObject) -> None:
    m, n = sizes
    leaves = leaves_of(n, salt=f"{m}/{n}:")
    old_root, new_root = root_of(leaves[:m]), root_of(leaves)
    proof = consistency_proof(m, leaves)
    assert proof == subproof(m, leaves, True)
    assert consistent(m, n, old_root, new_root, proof)

    # one bit of one hash of the proof
    i = data.draw(st.integers(0, len(proof) - 1), label="hash")
    bit = data.draw(st.integers(0, 255), label="bit")
    bad = list(proof)
    bad[i] = bytes(b ^ (1 << (bit % 8)) if j == bit // 8 else b for j, b in enumerate(bad[i]))
    assert not consistent(m, n, old_root, new_root, bad)
    # a hash dropped, one added, two swapped
    assert not consistent(m, n, old_root, new_root, proof[:-1])
    assert not consistent(m, n, old_root, new_root, proof[1:])
    assert not consistent(m, n, old_root, new_root, [*proof, proof[-1]])
    if len(proof) > 1 and proof[0] != proof[1]:
        assert not consistent(m, n, old_root, new_root, [proof[1], proof[0], *proof[2:]])
    # the roots: another tree's, or each other's
    other = root_of(leaves_of(n, salt="other"))
    assert not consistent(m, n, old_root, other, proof)
    assert not consistent(m, n, other, new_root, proof)
    assert not consistent(m, n, new_root, old_root, proof)
    # the old tree changed in one leaf: no proof from the real log fits it
    k = data.draw(st.integers(0, m - 1), label="leaf")
    changed = [*leaves[:k], leaf_hash(b"forged"), *leaves[k + 1 :]]
    assert not consistent(m, n, root_of(changed[:m]), new_root, proof)
    assert not consistent(m, n, old_root, root_of(changed), proof)


@SETTINGS
@given(sizes=sizes, dm=st.integers(-3, 3), dn=st.integers(-3, 3))
def test_a_proof_fails_for_any_other_pair_of_sizes(sizes: tuple[int, int], dm: int, dn: int) -> None:
    """Claimed for other sizes, with those sizes' true roots, a proof never verifies."""
    m, n = sizes
    m2, n2 = m + dm, n + dn
    assume((dm, dn) != (0, 0) and 0 < m2 <= n2)
    leaves = leaves_of(n + 3)
    proof = consistency_proof(m, leaves[:n])
    assert not consistent(m2, n2, root_of(leaves[:m2]), root_of(leaves[:n2]), proof)


def test_no_proof_fits_another_pair_of_sizes_with_their_roots_exhaustively() -> None:
    """Every proof for 1 <= m < n <= 24 against every other pair up to 27, each with its true
    roots: none verifies (an empty proof fits any equal pair, which is why m < n here)."""
    leaves = leaves_of(27)
    roots = [root_of(leaves[:k]) for k in range(28)]
    for n in range(2, 25):
        for m in range(1, n):
            proof = consistency_proof(m, leaves[:n])
            for m2 in range(1, 28):
                for n2 in range(m2, 28):
                    if (m2, n2) != (m, n):
                        assert not consistent(m2, n2, roots[m2], roots[n2], proof), (m, n, m2, n2)


def test_the_sizes_are_bound_by_the_signed_checkpoints_not_by_the_path() -> None:
    """A hash does not say how many leaves are under it, so the path alone does not pin the
    sizes: the proof of 1 -> 2 also fits "2 -> 3" with the same two roots (the old tree read as a
    two-leaf subtree). What pins them is the checkpoints: each size is a signed ``seq``, and
    ``check_consistency`` takes the sizes from the checkpoints (test below: a proof whose sizes
    are not its checkpoints' is refused)."""
    leaves = leaves_of(2)
    proof = consistency_proof(1, leaves)
    old_root, new_root = root_of(leaves[:1]), root_of(leaves)
    assert consistent(1, 2, old_root, new_root, proof)
    assert consistent(2, 3, old_root, new_root, proof)


@SETTINGS
@given(sizes=sizes, data=st.data())
def test_the_roots_a_consistency_proof_joins_are_the_ones_inclusion_proofs_lead_to(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    """The same tree through the inclusion-proof code: a record proved in the old tree and in the
    new one leads to the two roots that the consistency proof joins."""
    m, n = sizes
    leaves = leaves_of(n, salt="incl")
    i = data.draw(st.integers(0, m - 1), label="record")
    old_root = root_from_proof(i, m, leaves[i], inclusion_proof(i, leaves[:m]))
    new_root = root_from_proof(i, n, leaves[i], inclusion_proof(i, leaves))
    assert old_root is not None and new_root is not None
    assert consistent(m, n, old_root, new_root, consistency_proof(m, leaves))
    # a record changed: its inclusion proofs lead to roots the consistency proof does not join
    forged = leaf_hash(b"forged")
    bad_old = root_from_proof(i, m, forged, inclusion_proof(i, leaves[:m]))
    bad_new = root_from_proof(i, n, forged, inclusion_proof(i, leaves))
    assert bad_old is not None and bad_new is not None
    proof = consistency_proof(m, leaves)
    assert not consistent(m, n, bad_old, new_root, proof)
    assert not consistent(m, n, old_root, bad_new, proof)


# ----------------------------------------------------------------------------- signed logs


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return new_keys(tmp_path / "site")


def test_prove_and_check_every_pair_of_checkpoints(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "c.db", keys, every=4)
    for k in range(0, 27, 3):
        log.append(night(3, start=k))
    log.close()
    reader = SqliteLog(tmp_path / "c.db")
    pub = load_public(keys[1])
    seqs = [c.seq for c in reader.checkpoints()]
    assert seqs == [6, 9, 12, 18, 21, 24, 27]
    for a in seqs:
        for b in seqs[seqs.index(a) :]:
            proof = prove_consistency(reader, a, b)
            assert (proof["old_size"], proof["new_size"]) == (a, b)
            assert check_consistency(proof, pub) == "", (a, b)
    assert prove_consistency(reader, 6)["new_size"] == 27  # default: the latest checkpoint
    # the same log's inclusion proofs agree with the roots the consistency proof joins
    proof = prove_consistency(reader, 9, 21)
    incl = prove(reader, 5, at=9)
    assert incl["checkpoint"]["root"] == proof["old_checkpoint"]["root"] and check_proof(incl, pub) == ""
    with pytest.raises(LogError, match="no checkpoint at record 10"):
        prove_consistency(reader, 10)
    with pytest.raises(LogError, match="past the new size"):
        prove_consistency(reader, 21, 9)
    other = new_keys(tmp_path / "other")
    assert "not signed by key" in check_consistency(proof, load_public(other[1]))


def test_a_rewrite_re_signed_with_the_key_is_caught_by_the_witnesss_older_checkpoint(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    """The witness holds the checkpoint at 16; the site rewrites record 11 and re-signs. A proof
    from the rewritten log is consistent in itself, but not with what the witness holds, and
    no proof joins the witness's root to the rewritten log's."""
    path, witness = tmp_path / "w.db", tmp_path / "witness.jsonl"
    log = signed_log(path, keys, every=8, witness=str(witness))
    events = kill_night()
    for k in range(0, 24, 8):
        log.append(events[k : k + 8])
    log.close()
    held = read_witness(str(witness))
    assert [c.seq for c in held] == [8, 16, 24]
    pub = load_public(keys[1])
    honest = prove_consistency(SqliteLog(path), 16, 24)
    assert check_consistency(honest, pub, held) == ""

    rewrite_a_kill(path)  # record 11
    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM checkpoints")
    db.close()
    forger = Notary(Signing(keys[0], 8))
    rewritten = SqliteLog(path)
    for rec in rewritten.read():
        forger.appended(rewritten, rec.seq, [rec.data], rec.hash)
    forged = prove_consistency(rewritten, 16, 24)
    rewritten.close()
    assert check_consistency(forged, pub) == ""  # the key alone is fooled
    assert "the witness holds another checkpoint for record 16" in check_consistency(forged, pub, held)
    # the witness's own checkpoint in place of the forged one: the path no longer fits
    spliced = {**forged, "old_checkpoint": json.loads(held[1].to_json())}
    assert "does not lead from the root signed at record 16" in check_consistency(spliced, pub)


def test_a_malformed_or_mismatched_proof_is_named(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = signed_log(tmp_path / "m.db", keys, every=5)
    log.append(night(5))
    log.append(night(7, start=5))
    log.close()
    proof = prove_consistency(SqliteLog(tmp_path / "m.db"), 5, 12)
    assert "not a consistency proof" in check_consistency({**proof, "path": ["zz"]})
    assert "not a consistency proof" in check_consistency({k: v for k, v in proof.items() if k != "old_checkpoint"})
    assert "are not the checkpoints'" in check_consistency({**proof, "old_size": 4})
    assert "does not lead" in check_consistency({**proof, "path": proof["path"][:-1]})


def test_the_prove_consistency_and_verify_proof_commands(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    db, witness = tmp_path / "cli.db", tmp_path / "witness.jsonl"
    log = signed_log(db, keys, every=6, witness=str(witness))
    log.append(night(6))
    log.append(night(9, start=6))
    log.close()
    runner = CliRunner()
    out = runner.invoke(app, ["log", "prove", str(db), "--consistency", "6"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert (doc["proof"], doc["old_size"], doc["new_size"]) == ("consistency", 6, 15)
    proof = tmp_path / "grew.json"
    proof.write_text(out.stdout)
    ok = runner.invoke(app, ["log", "verify-proof", str(proof), "--key", str(keys[1]), "--witness", str(witness)])
    assert ok.exit_code == 0, ok.output
    assert "first 6 records are the same in its first 15" in ok.output and "witness's checkpoints agree" in ok.output
    assert runner.invoke(app, ["log", "prove", str(db), "--consistency", "6", "15"]).exit_code == 0
    doc["path"][0] = "00" * 32
    proof.write_text(json.dumps(doc))
    bad = runner.invoke(app, ["log", "verify-proof", str(proof), "--key", str(keys[1])])
    assert bad.exit_code == 1 and "FAILED" in bad.output
    missing = runner.invoke(app, ["log", "prove", str(db), "--consistency", "7"])
    assert missing.exit_code == 2 and "no checkpoint at record 7" in missing.output
    neither = runner.invoke(app, ["log", "prove", str(db)])
    assert neither.exit_code == 2 and "--consistency" in neither.output
