"""The default event log: one SQLite file, WAL journal, batched appends in one transaction each.

A batch is committed atomically, so a process killed mid-night (SIGKILL included) leaves a log
that reopens at the last committed batch with its chain intact; the runtime then continues it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

from skywarden.errors import LogClosedError, LogError
from skywarden.events import KIND_OF, Event, encode
from skywarden.log.chain import GENESIS, AnyOf, Columns, Record, VerifyReport, link, verify_stored
from skywarden.log.checkpoint import Checkpoint, Notary, pack_frontier, unpack_frontier
from skywarden.log.writer import FileLock, changed_under_writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq  INTEGER PRIMARY KEY,
    t    TEXT NOT NULL,      -- ISO 8601 UTC as in data, for range queries by eye and by SQL
    kind TEXT NOT NULL,
    data BLOB NOT NULL,      -- the event as canonical JSON (what is hashed)
    hash BLOB NOT NULL       -- sha256(prev hash || seq || data)
);
CREATE TABLE IF NOT EXISTS checkpoints (  -- beside the chain, not in it (skywarden.log.checkpoint)
    seq       INTEGER NOT NULL,  -- records 1..seq; the Merkle tree's size
    head      BLOB NOT NULL,     -- hash of record seq
    root      BLOB NOT NULL,     -- Merkle root of records 1..seq
    time      TEXT NOT NULL,     -- when it was signed, UTC
    key_id    TEXT NOT NULL,
    signature BLOB NOT NULL,     -- Ed25519 over Checkpoint.message()
    frontier  BLOB               -- the Merkle frontier at seq (32-byte hashes), not signed
);
"""


# the canonical JSON starts with the kind and then the time: {"kind":"tick","t":"2025-...Z",...
_HEAD = {kind: f'{{"kind":"{kind}","t":"'.encode() for kind in KIND_OF.values()}


def _time_of(kind: str, data: bytes) -> str:
    """The event's time as its JSON writes it (ISO 8601, UTC), or "" if the bytes do not start
    as expected. Read off the bytes, it costs less than half of formatting the datetime again."""
    head = _HEAD[kind]
    if not data.startswith(head):
        return ""
    end = data.find(b'"', len(head))
    return data[len(head) : end].decode("ascii") if end > 0 else ""


class SqliteLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # 16 KiB pages for a new file (an existing one keeps its own): a track picture or a
            # radar scan is a few kB, which in 4 KiB pages spills into overflow pages; appends
            # went from 61-77,000/s to 87-113,000/s in alternating runs (docs/benchmarks.md)
            self._db.execute("PRAGMA page_size=16384")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: not a Skywarden event log ({exc})") from exc
        row = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        self._seq, self._head = (int(row[0]), bytes(row[1])) if row else (0, GENESIS)
        self._closed = False
        # one writer per night: an OS lock on a sidecar file, taken at the first append
        self._writer = FileLock(self.path.with_name(self.path.name + ".writer"))
        self.notary: Notary | None = None  # signs checkpoints when the site has a key

    def hold(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the night's writer lock now (the first append takes it anyway), so that a
        command fails before its work, not after; raises WriterLockError. ``wait_s``
        and ``on_wait`` are for leases: this lock ends with its holder's process."""
        if not self._writer.held:
            self._take_writer_lock()

    def _take_writer_lock(self) -> None:
        if self.notary is not None:
            self.notary.prepare()  # a key that cannot be read stops the writer before it writes
        self._writer.acquire(str(self.path))
        row = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        self._seq, self._head = (int(row[0]), bytes(row[1])) if row else (0, GENESIS)

    def append(self, events: Sequence[Event]) -> int:
        if self._closed:
            raise LogClosedError(f"{self.path} is closed")
        if not events:
            return self._seq
        payloads = [encode(e) for e in events]
        if not self._writer.held:
            self._take_writer_lock()
        try:
            with self._db:  # one transaction: all or nothing
                # Fencing: under SQLite's write lock, the log must still end where this writer
                # left it (a process that ignored the writer lock would show here).
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (int(row[0]), bytes(row[1])) if row else (0, GENESIS)
                if (seq, prev) != (self._seq, self._head):
                    raise changed_under_writer(str(self.path), self._seq, seq)
                rows = []
                for e, data in zip(events, payloads, strict=True):  # the hot loop: chain, row
                    seq += 1
                    prev = link(prev, seq, data)
                    kind = KIND_OF[type(e)]
                    rows.append((seq, _time_of(kind, data) or e.t.isoformat(), kind, data, prev))
                self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise LogError(f"{self.path}: append failed, nothing written ({exc})") from exc
        first = self._seq + 1
        self._seq, self._head = seq, prev
        if self.notary is not None:
            self.notary.appended(self, first, payloads, prev)
        return self._seq

    def read(self, after: int = 0) -> Iterator[Record]:
        cur = self._db.execute("SELECT seq, data, hash FROM events WHERE seq > ? ORDER BY seq", (after,))
        while batch := cur.fetchmany(4096):
            for seq, data, h in batch:
                yield Record(int(seq), bytes(data), bytes(h))

    def read_kinds(self, kinds: Collection[str], after: int = 0) -> Iterator[Record]:
        """Records of these kinds only (``skywarden.log.peek.read_kinds``): the rows are picked
        by the ``kind`` column, so the others' data is never read out."""
        wanted = sorted(set(kinds))
        if not wanted:
            return
        marks = ", ".join("?" * len(wanted))  # placeholders only: the kinds are bound, not spliced
        cur = self._db.execute(
            f"SELECT seq, data, hash FROM events WHERE seq > ? AND kind IN ({marks}) ORDER BY seq",
            (after, *wanted),
        )
        while batch := cur.fetchmany(4096):
            for seq, data, h in batch:
                yield Record(int(seq), bytes(data), bytes(h))

    def last_seq(self) -> int:
        if not self._writer.held and not self._closed:  # a reader: the log as it is now
            row = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            self._seq, self._head = (int(row[0]), bytes(row[1])) if row else (0, GENESIS)
        return self._seq

    def stored_rows(self, after: int = 0) -> Iterator[tuple[Record, Columns]]:
        """Every stored column of every record, for verify."""
        cur = self._db.execute("SELECT seq, t, kind, data, hash FROM events WHERE seq > ? ORDER BY seq", (after,))
        while batch := cur.fetchmany(4096):
            for seq, t, kind, data, h in batch:
                yield Record(int(seq), bytes(data), bytes(h)), {"t": t, "kind": kind}

    @staticmethod
    def expected_columns(rec: Record, ev: Event) -> Columns:
        kind = KIND_OF[type(ev)]
        # the JSON's own text; logs written before the column held it have isoformat()'s text.
        # Nothing else: range queries compare the text, so the same instant written otherwise
        # would sort elsewhere.
        return {"kind": kind, "t": AnyOf((_time_of(kind, rec.data), ev.t.isoformat()))}

    def verify(self) -> VerifyReport:
        return verify_stored(self.stored_rows(), self.expected_columns)

    def _has_frontier_column(self) -> bool:
        """Whether the checkpoints table has the ``frontier`` column (files written before it
        do not, until their next writer adds it)."""
        return any(row[1] == "frontier" for row in self._db.execute("PRAGMA table_info(checkpoints)"))

    def put_checkpoint(self, cp: Checkpoint) -> None:
        try:
            with self._db:
                if not self._has_frontier_column():  # an older file: its writer adds the column
                    self._db.execute("ALTER TABLE checkpoints ADD COLUMN frontier BLOB")
                self._db.execute(
                    "INSERT INTO checkpoints (seq, head, root, time, key_id, signature, frontier)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (cp.seq, cp.head, cp.root, cp.time, cp.key_id, cp.signature, pack_frontier(cp.frontier) or None),
                )
        except sqlite3.Error as exc:
            raise LogError(f"{self.path}: checkpoint not written ({exc})") from exc

    def checkpoints(self) -> list[Checkpoint]:
        frontier = "frontier" if self._has_frontier_column() else "NULL"
        rows = self._db.execute(
            f"SELECT seq, head, root, time, key_id, signature, {frontier} FROM checkpoints ORDER BY rowid"  # noqa: S608 - a column name or NULL, not input
        )
        return [
            Checkpoint(int(s), bytes(h), bytes(r), t, k, bytes(sig), unpack_frontier(fr))
            for s, h, r, t, k, sig, fr in rows
        ]

    def close(self) -> None:
        if not self._closed:
            try:
                if self.notary is not None and self._writer.held:
                    self.notary.close(self)
            finally:
                self._closed = True
                self._db.close()
                self._writer.release()
