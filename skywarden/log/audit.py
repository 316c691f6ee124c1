"""Verify a log against its signed checkpoints and a witness; prove one record's inclusion, or
that the log signed at one size only grew to another (consistency).

``audit`` walks the log once: the chain and every stored column (``ChainWalk``), the Merkle
frontier beside it, and at each checkpoint's seq whether the checkpoint's head and root are the
log's. With the site's public key it checks every signature and says up to which record the log
is signed; records after the last signed checkpoint are flagged as an unsigned tail.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from skywarden.errors import LogError
from skywarden.log.base import EventLog
from skywarden.log.chain import ChainWalk, Columns, Record, VerifyReport
from skywarden.log.checkpoint import Checkpoint, key_id_of
from skywarden.log.merkle import (
    Frontier,
    consistency_proof,
    consistent,
    inclusion_proof,
    leaf_hash,
    root_from_proof,
    root_of,
)


@dataclass
class AuditReport:
    chain: VerifyReport
    checkpoints: int = 0  # stored beside the log
    witnessed: int = 0  # held by the witness
    signed_up_to: int = 0  # the last record covered by a checkpoint that checks out
    key_id: str | None = None  # the key signatures were checked with (None: not checked)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(log: EventLog) -> Iterator[tuple[Record, Columns]]:
    stored = getattr(log, "stored_rows", None)
    if stored is not None:
        rows: Iterator[tuple[Record, Columns]] = stored()
        yield from rows
    else:
        for rec in log.read():
            yield rec, {}


def stored_checkpoints(log: EventLog) -> list[Checkpoint]:
    get = getattr(log, "checkpoints", None)
    return list(get()) if get is not None else []


def audit(
    log: EventLog, public: Ed25519PublicKey | None = None, witness: list[Checkpoint] | None = None
) -> AuditReport:
    """Walk ``log`` once; raise ``TamperError`` for a record that does not fit, and list what
    is wrong with its checkpoints (and the witness's) in the report's ``problems``."""
    stored = stored_checkpoints(log)
    held = witness or []
    due: dict[int, list[tuple[str, Checkpoint]]] = defaultdict(list)
    for cp in stored:
        due[cp.seq].append(("checkpoint", cp))
    for cp in held:
        due[cp.seq].append(("witness's checkpoint", cp))
    walk = ChainWalk(getattr(log, "expected_columns", None))
    frontier = Frontier()
    problems: list[str] = []
    good: list[int] = []
    rows = _rows(log)
    try:
        for rec, columns in rows:
            walk.feed(rec, columns)
            frontier.append(leaf_hash(rec.data))
            for who, cp in due.pop(rec.seq, ()):
                bad = _check(cp, rec.hash, frontier.root(), public)
                if bad:
                    problems.append(f"{who} at record {cp.seq} ({cp.time}): {bad}")
                elif who == "checkpoint":
                    good.append(cp.seq)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    report = walk.report()
    for seq in sorted(due):
        for who, cp in due[seq]:
            problems.append(
                f"{who} at record {seq} ({cp.time}): the log ends at record {report.records} "
                "(records were removed from its end)"
            )
    signed = max(good, default=0)
    if public is not None:
        if not stored:
            problems.append("no signed checkpoint: the log is unsigned")
        elif signed < report.records:
            problems.append(
                f"records {signed + 1}..{report.records} come after the last valid checkpoint "
                f"(record {signed}): unsigned"
            )
    if held and stored:
        last_held = max(cp.seq for cp in held)
        if last_held < max(cp.seq for cp in stored):
            problems.append(
                f"the witness's last checkpoint is at record {last_held}; the log's checkpoints "
                "after it were never witnessed"
            )
    return AuditReport(
        chain=report,
        checkpoints=len(stored),
        witnessed=len(held),
        signed_up_to=signed,
        key_id=key_id_of(public) if public is not None else None,
        problems=problems,
    )


def _check(cp: Checkpoint, head: bytes, root: bytes, public: Ed25519PublicKey | None) -> str:
    if public is not None and not cp.signed_by(public):
        if cp.key_id != key_id_of(public):
            return f"signed by key {cp.key_id}, not by {key_id_of(public)}"
        return "the signature does not verify"
    if cp.head != head:
        return "its head is not the hash of that record: the log was changed at or before it"
    if cp.root != root:
        return "its Merkle root is not the log's: the log was changed at or before it"
    return ""


# ----------------------------------------------------------------------------- inclusion proofs


def prove(log: EventLog, seq: int, at: int | None = None) -> dict[str, Any]:
    """An inclusion proof of record ``seq`` against a stored checkpoint (the latest one, or
    the one at record ``at``): the record's bytes, the audit path and the signed checkpoint."""
    cps = sorted(stored_checkpoints(log), key=lambda c: c.seq)
    usable = [c for c in cps if c.seq >= seq and (at is None or c.seq == at)]
    if not usable:
        where = f"at record {at}" if at is not None else f"covering record {seq}"
        raise LogError(f"{log.url}: no checkpoint {where} (the log has {len(cps)} checkpoints)")
    cp = usable[-1]
    leaves: list[bytes] = []
    data = b""
    records = log.read()
    try:
        for rec in records:
            if rec.seq > cp.seq:
                break
            leaves.append(leaf_hash(rec.data))
            if rec.seq == seq:
                data = rec.data
            if rec.seq == cp.seq and rec.hash != cp.head:
                raise LogError(f"{log.url}: record {cp.seq} is not the checkpoint's head: verify the log")
    finally:
        with contextlib.suppress(AttributeError):
            records.close()  # type: ignore[attr-defined]  # a generator: let the cursor go
    if len(leaves) != cp.seq or not 1 <= seq <= cp.seq:
        raise LogError(f"{log.url}: record {seq} is not in the log up to record {cp.seq}")
    if root_of(leaves) != cp.root:
        raise LogError(f"{log.url}: the records up to {cp.seq} are not the checkpoint's tree: verify the log")
    return {
        "seq": seq,
        "data": data.decode("utf-8"),  # the event's canonical JSON, as hashed
        "tree_size": cp.seq,
        "path": [h.hex() for h in inclusion_proof(seq - 1, leaves)],
        "checkpoint": json.loads(cp.to_json()),
    }


def check_proof(proof: dict[str, Any], public: Ed25519PublicKey | None = None) -> str:
    """What is wrong with an inclusion proof ("" when it holds): the path must lead from the
    record's bytes to the checkpoint's root, and the checkpoint must be signed by ``public``."""
    try:
        cp = Checkpoint.from_json(json.dumps(proof["checkpoint"]))
        seq, size = int(proof["seq"]), int(proof["tree_size"])
        data = str(proof["data"]).encode("utf-8")
        path = [bytes.fromhex(h) for h in proof["path"]]
    except (KeyError, TypeError, ValueError, LogError) as exc:
        return f"not an inclusion proof ({exc})"
    if size != cp.seq:
        return f"tree size {size} is not the checkpoint's ({cp.seq})"
    root = root_from_proof(seq - 1, size, leaf_hash(data), path)
    if root is None:
        return f"the path does not fit record {seq} in a tree of {size}"
    if root != cp.root:
        return "the path leads to another root: the record is not the one signed"
    if public is not None and not cp.signed_by(public):
        return f"the checkpoint is not signed by key {key_id_of(public)} (it names {cp.key_id})"
    return ""


# ----------------------------------------------------------------------------- consistency proofs

CONSISTENCY = "consistency"  # a proof document's "proof" field; inclusion proofs have none


def prove_consistency(log: EventLog, old: int, new: int | None = None) -> dict[str, Any]:
    """A consistency proof (RFC 9162 section 2.1.4) that the log signed at record ``old`` is a
    prefix of the log signed at record ``new`` (default: the latest checkpoint): both signed
    checkpoints, and the hashes that lead from the old root to the new one."""
    cps = sorted(stored_checkpoints(log), key=lambda c: c.seq)
    if not cps:
        raise LogError(f"{log.url}: no checkpoints (an unsigned log proves nothing)")
    at = {c.seq: c for c in cps}  # the last one stored for each record
    size = cps[-1].seq if new is None else new
    for n, what in ((old, "old"), (size, "new")):
        if n not in at:
            seqs = ", ".join(str(s) for s in sorted(at))
            raise LogError(f"{log.url}: no checkpoint at record {n} (the {what} size); checkpoints are at {seqs}")
    if old > size:
        raise LogError(f"{log.url}: the old size {old} is past the new size {size}")
    first, last = at[old], at[size]
    leaves: list[bytes] = []
    records = log.read()
    try:
        for rec in records:
            if rec.seq > size:
                break
            leaves.append(leaf_hash(rec.data))
            for cp in (first, last):
                if rec.seq == cp.seq and rec.hash != cp.head:
                    raise LogError(f"{log.url}: record {cp.seq} is not the checkpoint's head: verify the log")
    finally:
        with contextlib.suppress(AttributeError):
            records.close()  # type: ignore[attr-defined]  # a generator: let the cursor go
    if len(leaves) != size:
        raise LogError(f"{log.url}: the log ends at record {len(leaves)}, before its checkpoint at {size}")
    for cp in (first, last):
        if root_of(leaves[: cp.seq]) != cp.root:
            raise LogError(f"{log.url}: the records up to {cp.seq} are not the checkpoint's tree: verify the log")
    return {
        "proof": CONSISTENCY,
        "old_size": old,
        "new_size": size,
        "path": [h.hex() for h in consistency_proof(old, leaves)],
        "old_checkpoint": json.loads(first.to_json()),
        "new_checkpoint": json.loads(last.to_json()),
    }


def check_consistency(
    proof: dict[str, Any], public: Ed25519PublicKey | None = None, held: list[Checkpoint] | None = None
) -> str:
    """What is wrong with a consistency proof ("" when it holds): the path must lead from the
    old checkpoint's root to the new one's (RFC 9162 section 2.1.4.2), both signed by
    ``public``; and where a witness's checkpoints are given (``held``), those it holds for
    either size must be the proof's."""
    try:
        old = Checkpoint.from_json(json.dumps(proof["old_checkpoint"]))
        new = Checkpoint.from_json(json.dumps(proof["new_checkpoint"]))
        old_size, new_size = int(proof["old_size"]), int(proof["new_size"])
        path = [bytes.fromhex(h) for h in proof["path"]]
    except (KeyError, TypeError, ValueError, LogError) as exc:
        return f"not a consistency proof ({exc})"
    if (old_size, new_size) != (old.seq, new.seq):
        return f"sizes {old_size} and {new_size} are not the checkpoints' ({old.seq} and {new.seq})"
    if not 0 < old_size <= new_size:
        return f"no tree of {old_size} records is a prefix of one of {new_size}"
    if not consistent(old_size, new_size, old.root, new.root, path):
        return (
            f"the path does not lead from the root signed at record {old_size} to the root signed at "
            f"record {new_size}: the first {old_size} records are not the same in both"
        )
    if public is not None:
        for cp in (old, new):
            if not cp.signed_by(public):
                return f"the checkpoint at record {cp.seq} is not signed by key {key_id_of(public)} (it names {cp.key_id})"
    if held is not None:
        found = [cp for cp in held if cp.seq in (old.seq, new.seq)]
        if not found:
            return f"the witness holds no checkpoint at record {old_size} or {new_size}"
        for theirs in found:
            ours = old if theirs.seq == old.seq else new
            if theirs.root != ours.root or theirs.head != ours.head:
                return f"the witness holds another checkpoint for record {theirs.seq} (signed {theirs.time}): the log was rewritten"
    return ""
