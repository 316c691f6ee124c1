"""The default event log: one SQLite file, WAL journal, batched appends in one transaction each.

A batch is committed atomically, so a process killed mid-night (SIGKILL included) leaves a log
that reopens at the last committed batch with its chain intact; the runtime then continues it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from skywarden.errors import LogClosedError, LogError
from skywarden.events import KIND_OF, Event, encode
from skywarden.log.chain import GENESIS, Record, VerifyReport, link, verify_records

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq  INTEGER PRIMARY KEY,
    t    TEXT NOT NULL,      -- ISO 8601 UTC as in data, for range queries by eye and by SQL
    kind TEXT NOT NULL,
    data BLOB NOT NULL,      -- the event as canonical JSON (what is hashed)
    hash BLOB NOT NULL       -- sha256(prev hash || seq || data)
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

    def append(self, events: Sequence[Event]) -> int:
        if self._closed:
            raise LogClosedError(f"{self.path} is closed")
        if not events:
            return self._seq
        payloads = [encode(e) for e in events]
        try:
            with self._db:  # one transaction: all or nothing
                # IMMEDIATE takes the write lock now; re-read the head under it, since another
                # writer of the same file may have appended since we last looked.
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (int(row[0]), bytes(row[1])) if row else (0, GENESIS)
                rows = []
                for e, data in zip(events, payloads, strict=True):  # the hot loop: chain, row
                    seq += 1
                    prev = link(prev, seq, data)
                    kind = KIND_OF[type(e)]
                    rows.append((seq, _time_of(kind, data) or e.t.isoformat(), kind, data, prev))
                self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise LogError(f"{self.path}: append failed, nothing written ({exc})") from exc
        self._seq, self._head = seq, prev
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
        return self._seq

    def verify(self) -> VerifyReport:
        return verify_records(self.read())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()
