"""Signed checkpoints of the event log: a site's Ed25519 key signs (records, chain head, Merkle
root, time) every N records and at close, beside the log, and a witness keeps a copy.

The chain alone has no secret: whoever can write the storage can change a record and recompute
every later hash. A checkpoint signed with the site's key pins the log up to its ``seq``; a copy
held by a witness (a second file, another server) means a rewrite must also get past the
witness. See docs/event-log.md ("Signed checkpoints").

Checkpoints live *beside* the chain (a table, a stream or a list per backend, see
``put_checkpoint`` / ``checkpoints``), never in it: the records of a night are the same whether
it was signed or not, served live or played again, and replay never sees a checkpoint.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from skywarden.errors import ConfigError, LogError
from skywarden.log.chain import Record
from skywarden.log.merkle import Frontier, leaf_hash

ENV_KEY = "SKYWARDEN_KEY"  # path of the site's private key (site.key)
ENV_EVERY = "SKYWARDEN_CHECKPOINT_EVERY"  # records between checkpoints
ENV_WITNESS = "SKYWARDEN_WITNESS"  # a JSON-lines file or an http(s) URL
ENV_PUBLIC_KEY = "SKYWARDEN_PUBLIC_KEY"  # the site's public key, for who checks without the private one
DEFAULT_EVERY = 1000
_MAGIC = b"skywarden checkpoint v1\n"


# ----------------------------------------------------------------------------- keys


def key_id_of(public: Ed25519PublicKey) -> str:
    """16 hex digits naming a public key (sha256 of its 32 raw bytes)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_keys(out: str | Path) -> tuple[Path, Path]:
    """Write a new key pair: ``<out>.key`` (PKCS#8 PEM, mode 0600) and ``<out>.pub``; refuses
    to overwrite either."""
    base = Path(out)
    key_path, pub_path = base.with_name(base.name + ".key"), base.with_name(base.name + ".pub")
    for p in (key_path, pub_path):
        if p.exists():
            raise ConfigError(f"{p} exists: not overwritten (a site's key is not replaced by accident)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key_path, pub_path


def load_private(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: cannot read the site's signing key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 private key")
    return key


def load_public(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path}: not an Ed25519 public key")
    return key


# ----------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The log up to record ``seq``: its chain head, the Merkle root of records 1..seq (tree
    size = seq), when it was signed (UTC, wall clock), by which key, and the signature.

    ``frontier`` (the Merkle tree's right edge at ``seq``, :meth:`Frontier.hashes`) is kept
    beside it by the writer so that the next writer starts its tree there instead of rereading
    the log. It is not signed and need not be: it folds to ``root``, which is, and a resumed
    writer uses it only when it does (``Notary``). Older checkpoints have none."""

    seq: int
    head: bytes
    root: bytes
    time: str
    key_id: str
    signature: bytes
    frontier: tuple[bytes, ...] = ()

    def message(self) -> bytes:
        """The signed bytes: one field per line, so that no two checkpoints sign alike."""
        return _MAGIC + (
            f"{self.seq}\n{self.head.hex()}\n{self.root.hex()}\n{self.time}\n{self.key_id}\n"
        ).encode()

    def signed_by(self, public: Ed25519PublicKey) -> bool:
        if self.key_id != key_id_of(public):
            return False
        try:
            public.verify(self.signature, self.message())
        except InvalidSignature:
            return False
        return True

    def to_json(self, with_frontier: bool = False) -> str:
        """One JSON line: what the witness gets and a proof carries (``with_frontier``: also the
        frontier, as a backend that keeps checkpoints as JSON stores them)."""
        d: dict[str, object] = {
            "seq": self.seq,
            "head": self.head.hex(),
            "root": self.root.hex(),
            "time": self.time,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }
        if with_frontier and self.frontier:
            d["frontier"] = [h.hex() for h in self.frontier]
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        try:
            d = json.loads(text)
            return cls(
                seq=int(d["seq"]),
                head=bytes.fromhex(d["head"]),
                root=bytes.fromhex(d["root"]),
                time=str(d["time"]),
                key_id=str(d["key_id"]),
                signature=base64.b64decode(d["signature"], validate=True),
                frontier=tuple(bytes.fromhex(h) for h in d.get("frontier") or ()),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LogError(f"not a checkpoint: {exc}") from exc


def pack_frontier(frontier: Sequence[bytes]) -> bytes:
    """A checkpoint's frontier as one column value: the 32-byte hashes end to end."""
    return b"".join(frontier)


def unpack_frontier(blob: bytes | None) -> tuple[bytes, ...]:
    """Back from :func:`pack_frontier`; () for none (an older checkpoint) or a damaged value,
    which a resumed writer then does without (it rereads the log)."""
    if not blob or len(blob) % 32:
        return ()
    b = bytes(blob)
    return tuple(b[i : i + 32] for i in range(0, len(b), 32))


def sign(key: Ed25519PrivateKey, seq: int, head: bytes, root: bytes, now: datetime) -> Checkpoint:
    unsigned = Checkpoint(
        seq=seq,
        head=head,
        root=root,
        time=now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        key_id=key_id_of(key.public_key()),
        signature=b"",
    )
    return dataclasses.replace(unsigned, signature=key.sign(unsigned.message()))


class CheckpointStore(Protocol):
    """What a backend offers the notary: its records and a place for checkpoints beside them."""

    url: str

    def read(self, after: int = 0) -> Iterator[Record]: ...

    def put_checkpoint(self, cp: Checkpoint) -> None: ...

    def checkpoints(self) -> list[Checkpoint]: ...


def _close(records: Iterator[Record]) -> None:
    """Let a reader's cursor go (a generator left half-read holds it until collected)."""
    close = getattr(records, "close", None)
    if close is not None:
        close()


# ----------------------------------------------------------------------------- witness


def read_witness(where: str) -> list[Checkpoint]:
    """The checkpoints a witness holds: a JSON-lines file, or what ``GET <url>`` returns
    (JSON lines too). A line that is not a checkpoint is a LogError naming it."""
    if where.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(where, timeout=10) as resp:  # noqa: S310 - a configured URL
                text = resp.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            raise LogError(f"witness {where}: {exc}") from exc
    else:
        try:
            text = Path(where).read_text()
        except OSError as exc:
            raise LogError(f"witness {where}: {exc}") from exc
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(Checkpoint.from_json(line))
            except LogError as exc:
                raise LogError(f"witness {where} line {n}: {exc}") from exc
    return out


def _deliver(where: str, cp: Checkpoint) -> None:
    line = cp.to_json() + "\n"
    if where.startswith(("http://", "https://")):
        req = urllib.request.Request(
            where, data=line.encode(), method="POST", headers={"Content-Type": "application/jsonl"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - a configured URL
            if resp.status >= 300:
                raise OSError(f"HTTP {resp.status}")
    else:
        with open(where, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


class WitnessSender:
    """Sends checkpoints to a witness from a thread of its own, so that a slow or dead witness
    never holds up the tick loop: ``send`` only queues. A failed delivery is counted and retried
    (backing off up to ``max_wait_s``), in order; nothing is dropped while the process lives."""

    def __init__(
        self, where: str, *, deliver: Callable[[str, Checkpoint], None] = _deliver, max_wait_s: float = 30.0
    ) -> None:
        self.where = where
        self.failures = 0  # deliveries that failed (each retried)
        self.refused = 0  # checkpoints the witness refused (HTTP 400/409: not retried)
        self.sent = 0
        self.last_error = ""
        self._deliver, self._max_wait = deliver, max_wait_s
        self._queue: queue.Queue[Checkpoint | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="skywarden-witness", daemon=True)
        self._thread.start()

    def send(self, cp: Checkpoint) -> None:
        self._queue.put_nowait(cp)

    @property
    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def _loop(self) -> None:
        while True:
            cp = self._queue.get()
            if cp is None:
                self._queue.task_done()
                return
            wait = 0.2
            while True:
                try:
                    self._deliver(self.where, cp)
                    self.sent += 1
                    break
                except urllib.error.HTTPError as exc:
                    if exc.code in (400, 409):  # the witness refuses it: sending again won't help
                        self.refused += 1
                        self.last_error = f"refused: HTTP {exc.code} {exc.read()[:200]!r}"
                        break
                    self.failures += 1
                    self.last_error = f"HTTP {exc.code}"
                    if self._stop.wait(wait):
                        break
                    wait = min(wait * 2, self._max_wait)
                except Exception as exc:  # any other failure of the witness: count, wait, retry
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if self._stop.wait(wait):
                        break  # closing: what is left stays unsent (reported by close)
                    wait = min(wait * 2, self._max_wait)
            self._queue.task_done()

    def close(self, timeout_s: float = 2.0) -> int:
        """Wait up to ``timeout_s`` for queued checkpoints; return how many stayed unsent."""
        deadline = time.monotonic() + timeout_s
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        left = self.pending
        self._stop.set()
        self._queue.put_nowait(None)
        self._thread.join(0.5)
        return left


# ----------------------------------------------------------------------------- the writer's side


@dataclass(frozen=True)
class Signing:
    """The site's signing settings: key file, records between checkpoints, witness."""

    key: Path
    every: int = DEFAULT_EVERY
    witness: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Signing | None:
        """From ``SKYWARDEN_KEY``, ``SKYWARDEN_CHECKPOINT_EVERY``, ``SKYWARDEN_WITNESS``; None
        when no key is configured (nights are then unsigned, and verify says so)."""
        e = os.environ if env is None else env
        key = e.get(ENV_KEY, "").strip()
        if not key:
            return None
        every_text = e.get(ENV_EVERY, "").strip() or str(DEFAULT_EVERY)
        try:
            every = int(every_text)
        except ValueError:
            every = 0
        if every < 1:
            raise ConfigError(f"{ENV_EVERY}={every_text!r}: give a whole number of records >= 1")
        return cls(Path(key), every, e.get(ENV_WITNESS, "").strip() or None)


class Notary:
    """Watches a log being written and signs checkpoints: when a batch crosses a multiple of
    ``every`` records, and at close if anything was appended since the last one.

    It keeps the Merkle frontier of the records written (one extra sha256 per record) and
    stores it with each checkpoint. On the first append to an existing log it starts from the
    latest checkpoint that this key signed and whose frontier folds to its root and whose head is
    still the log's record there, and hashes only the records after it; a log without one (older
    checkpoints, another key, none at all) is read from the start (``resumed_from`` says which).
    """

    def __init__(self, signing: Signing) -> None:
        self.signing = signing
        self._key: Ed25519PrivateKey | None = None  # read when this process starts writing
        self.witness: WitnessSender | None = None
        self._frontier: Frontier | None = None
        self._head = b""
        self._signed = 0  # seq of the last checkpoint written by this notary
        self.written = 0  # checkpoints written
        self.failed = 0  # checkpoints that could not be written (retried with the next one)
        self.unsent = 0  # checkpoints the witness had not received at close
        self.last_error = ""
        self.resumed_from = 0  # the checkpoint's seq the frontier was taken from (0: none)
        self.rehashed = 0  # records read and hashed to rebuild the frontier

    def prepare(self) -> None:
        """Read the key and start the witness sender: called by the backend when it takes the
        night's writer lock, before anything is written (a reader never reads the key, which
        only the writer's account may be able to)."""
        if self._key is None:
            self._key = load_private(self.signing.key)
            if self.signing.witness:
                self.witness = WitnessSender(self.signing.witness)

    @property
    def key_id(self) -> str:
        self.prepare()
        assert self._key is not None
        return key_id_of(self._key.public_key())

    def sign_bytes(self, message: bytes) -> tuple[str, bytes]:
        """``(key id, Ed25519 signature)`` of ``message`` with the site's key, for what else the
        writer vouches for with it (the stage snapshot, ``skywarden.snapshot``)."""
        self.prepare()
        assert self._key is not None
        return key_id_of(self._key.public_key()), self._key.sign(message)

    def appended(self, log: CheckpointStore, first_seq: int, payloads: Sequence[bytes], head: bytes) -> None:
        """Called by the backend after a batch is stored: records first_seq.. hold ``payloads``.

        The batch is in the log whatever happens here: a checkpoint that cannot be written is
        counted (``failed``) and comes with the next one, never an append that seems to fail."""
        try:
            f = self._frontier
            if f is None or f.size != first_seq - 1:
                self._frontier = None  # until rebuilt whole
                stored = log.checkpoints()
                f = self._rebuild(log, first_seq - 1, stored)
                self._signed = max((c.seq for c in stored), default=0)
                self._frontier = f
            for data in payloads:
                f.append(leaf_hash(data))
            self._head = head
            every = self.signing.every
            if f.size // every > (first_seq - 1) // every:
                self.checkpoint(log)
        except LogError as exc:
            self.failed += 1
            self.last_error = str(exc)

    def _rebuild(self, log: CheckpointStore, upto: int, stored: Sequence[Checkpoint]) -> Frontier:
        """The frontier of records 1..upto: from the latest usable checkpoint, then the records
        after it (all of them when none is usable)."""
        f = self._resume_point(log, upto, stored) if upto else Frontier()
        self.resumed_from = f.size
        start = f.size
        if upto > start:
            records = log.read(after=start)
            try:
                for rec in records:
                    if rec.seq > upto:
                        break
                    f.append(leaf_hash(rec.data))
            finally:
                _close(records)
        self.rehashed = f.size - start
        if f.size != upto:
            raise LogError(f"{log.url}: {f.size} records found before record {upto + 1}")
        return f

    def _resume_point(self, log: CheckpointStore, upto: int, stored: Sequence[Checkpoint]) -> Frontier:
        """The frontier stored with the latest checkpoint at or before ``upto`` that can be
        trusted without rereading the records it covers: signed by this writer's key (so its
        root was computed from those records by a writer of this site), its frontier folding to
        that root, and its head the hash the log holds for its record today (so the chain up to
        it is the one signed; verify still rechecks everything). An empty frontier if none."""
        self.prepare()
        assert self._key is not None
        public = self._key.public_key()
        for cp in sorted(stored, key=lambda c: c.seq, reverse=True):
            if not cp.frontier or not 0 < cp.seq <= upto:
                continue
            try:
                f = Frontier.restore(cp.seq, cp.frontier)
            except ValueError:
                continue
            if f.root() != cp.root or not cp.signed_by(public):
                continue
            records = log.read(after=cp.seq - 1)
            try:
                rec = next(iter(records), None)
            finally:
                _close(records)
            if rec is not None and rec.seq == cp.seq and rec.hash == cp.head:
                return f
        return Frontier()

    def checkpoint(self, log: CheckpointStore) -> Checkpoint | None:
        """Sign the log as it is now (nothing if nothing was appended since the last one)."""
        f = self._frontier
        if f is None or f.size == self._signed:
            return None
        self.prepare()
        assert self._key is not None
        cp = sign(self._key, f.size, self._head, f.root(), datetime.now(UTC))
        cp = dataclasses.replace(cp, frontier=f.hashes())  # beside the signature, not in it
        log.put_checkpoint(cp)
        self._signed = cp.seq
        self.written += 1
        if self.witness is not None:
            self.witness.send(cp)
        return cp

    def close(self, log: CheckpointStore) -> None:
        """The closing checkpoint, then the witness's queue (bounded wait)."""
        try:
            self.checkpoint(log)
        finally:
            if self.witness is not None:
                self.unsent = self.witness.close()

    def summary(self) -> str:
        """One line for the operator: what was signed, and how the witness fared."""
        if self._key is None:
            return "nothing signed (nothing appended)"
        out = f"{self.written} checkpoints signed with key {self.key_id}"
        if self.failed:
            out += f", {self.failed} could not be written ({self.last_error})"
        w = self.witness
        if w is not None:
            out += f"; witness {w.where}: {w.sent} sent"
            if w.failures or w.refused or self.unsent:
                out += f", {w.failures} failed deliveries (retried), {w.refused} refused, {self.unsent} unsent at close"
                out += f" (last: {w.last_error})" if w.last_error else ""
        return out
