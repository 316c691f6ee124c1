"""The event log on PostgreSQL: one append-only table per log, one transaction per batch.

URL: ``postgresql://user@host:5432/db?log=night1`` — every libpq parameter is passed through
except ``log``, the log's name (default ``events``), which picks the table ``skywarden_<log>``.
Several nights can share a database; a test can drop its own log with :meth:`PostgresLog.drop`.

Table (one row per event)::

    seq  bigint PRIMARY KEY   1, 2, 3, ... without gaps
    t    timestamptz          the event's time (for SQL range queries)
    kind text                 the event's tag (for SQL filters)
    data bytea                the event's canonical JSON, exactly the bytes that were hashed
    hash bytea                sha256(previous hash || seq || data), 32 bytes

Writers: each batch is one transaction that first takes a transaction-scoped advisory lock on
the log and re-reads the head (seq, hash) *inside* it, so two processes appending to the same
log serialise and each chains from the other's last record; the chain never forks. A trigger
refuses UPDATE, DELETE and TRUNCATE, so history can only be changed by someone who can also
disable triggers — which ``verify`` then catches.

Readers: :meth:`PostgresLog.read` streams through a server-side cursor on its own connection,
so reading a whole night never loads it into memory and never holds the writer's transaction.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from skywarden.errors import LogClosedError, LogError, WriterLockError
from skywarden.events import KIND_OF, Event, encode
from skywarden.log.base import log_name_of
from skywarden.log.chain import GENESIS, Columns, Record, VerifyReport, chain, verify_stored
from skywarden.log.checkpoint import Checkpoint, Notary, pack_frontier, unpack_frontier
from skywarden.log.writer import changed_under_writer, writer_identity

CONNECT_TIMEOUT_S = 2
READ_CHUNK = 4096  # rows per round trip of the server-side cursor
# Advisory-lock namespace: pg_advisory_xact_lock(namespace, hashtext(table)) serialises writers
# of one log without blocking writers of another.
_LOCK_NAMESPACE = 0x5357  # "SW"
# The writer's session-level lock (one writer per night), in a namespace of its own: held from
# the first append to close, dropped by the server when the writer's connection ends.
_WRITER_NAMESPACE = 0x5358

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    seq  bigint PRIMARY KEY CHECK (seq > 0),
    t    timestamptz NOT NULL,
    kind text NOT NULL,
    data bytea NOT NULL,
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX IF NOT EXISTS {kind_index} ON {table} (kind);
CREATE TABLE IF NOT EXISTS {checkpoints} (
    seq       bigint NOT NULL,
    head      bytea NOT NULL,
    root      bytea NOT NULL,
    time      text NOT NULL,
    key_id    text NOT NULL,
    signature bytea NOT NULL,
    id        bigserial PRIMARY KEY
);
DO $$ BEGIN  -- the Merkle frontier at seq, not signed; added to logs from before it (looked up
             -- first: ALTER TABLE would lock the table at every open)
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass({checkpoints_name})
                   AND attname = 'frontier' AND NOT attisdropped) THEN
        ALTER TABLE {checkpoints} ADD COLUMN frontier bytea;
    END IF;
END $$;
CREATE OR REPLACE FUNCTION skywarden_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the Skywarden event log % is append-only', TG_TABLE_NAME;
END $$;
DO $$ BEGIN
    CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION skywarden_refuse_rewrite();
    CREATE TRIGGER {trigger_truncate} BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION skywarden_refuse_rewrite();
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""


def split_url(url: str) -> tuple[str, str]:
    """``(libpq conninfo URL without 'log', log name)``; raises :class:`LogError` on a bad name."""
    parts = urlsplit(url)
    rest, name = log_name_of(url)
    if not any(k == "connect_timeout" for k, _ in rest):
        rest.append(("connect_timeout", str(CONNECT_TIMEOUT_S)))
    # quote, not urlencode's default quote_plus: libpq reads "+" as itself, not a space
    # (options=-c%20name%3Dvalue would reach the server as "-c+name=value")
    return urlunsplit(parts._replace(query=urlencode(rest, quote_via=quote))), name


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresLog:
    """Hash-chained event log in one PostgreSQL table (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conninfo, self.name = split_url(url)
        self.table = f"skywarden_{self.name}"
        self._tbl = sql.Identifier(self.table)
        self._cps = sql.Identifier(f"{self.table}_checkpoints")
        self._writing = False  # holds the writer lock on self._db
        self.notary: Notary | None = None
        self._lock = threading.RLock()
        self._lock_key = sql.SQL("pg_advisory_xact_lock({ns}, hashtext({name}))").format(
            ns=sql.Literal(_LOCK_NAMESPACE), name=sql.Literal(self.table)
        )
        self._db = self._connect()
        try:
            with self._db.transaction():
                # The trigger function is shared by every log: create it under one global lock.
                self._db.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_NAMESPACE,))
                self._db.execute(
                    sql.SQL(_SCHEMA).format(
                        table=self._tbl,
                        kind_index=sql.Identifier(f"{self.table}_kind"),
                        trigger=sql.Identifier(f"{self.table}_append_only"),
                        trigger_truncate=sql.Identifier(f"{self.table}_no_truncate"),
                        checkpoints=self._cps,
                        checkpoints_name=sql.Literal(f"{self.table}_checkpoints"),
                    )
                )
            self._seq, self._head = self._read_head()
        except psycopg.Error as exc:
            self._db.close()
            raise LogError(f"{_redacted(url)}: cannot open the event log ({exc})") from exc
        self._closed = False

    # ----------------------------------------------------------------------------- plumbing

    def _connect(self, autocommit: bool = True) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            # application_name tells a second writer who holds the night (pg_stat_activity)
            return psycopg.connect(
                self._conninfo, autocommit=autocommit, application_name=f"skywarden {writer_identity()}"[:63]
            )
        except psycopg.Error as exc:
            raise LogError(
                f"cannot reach PostgreSQL at {_redacted(self.url)}: {str(exc).strip()}"
            ) from exc

    def _lock_sql(self) -> sql.Composed:
        return sql.SQL("SELECT {}").format(self._lock_key)

    def hold(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the night's writer lock now (the first append takes it anyway). ``wait_s`` and
        ``on_wait`` are for leases: this lock ends with its holder's session."""
        with self._lock:
            if not self._writing:
                try:
                    self._take_writer_lock(fence=False)
                except psycopg.Error as exc:
                    raise LogError(f"{_redacted(self.url)}: cannot take the writer lock ({exc})") from exc

    def _take_writer_lock(self, fence: bool) -> None:
        """The night's writer lock on this connection; with ``fence``, the log must also still
        end where this writer left it (after a reconnect)."""
        if self.notary is not None:
            self.notary.prepare()  # a key that cannot be read stops the writer before it writes
        key = (_WRITER_NAMESPACE, self.table)
        row = self._db.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", key).fetchone()
        if not (row and row[0]):
            holder = self._db.execute(
                "SELECT a.application_name, a.client_addr::text FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.classid = %s AND l.objid::bigint = (hashtext(%s)::bigint & 4294967295) "
                "AND l.objsubid = 2",
                key,
            ).fetchone()
            who = (
                f"{str(holder[0]).removeprefix('skywarden ') or 'a client'} (from {holder[1] or 'a local socket'})"
                if holder
                else "another process"
            )
            raise WriterLockError(f"{_redacted(self.url)}: night is being written by {who}")
        self._writing = True
        seq, head = self._read_head()
        if fence and (seq, head) != (self._seq, self._head):
            raise changed_under_writer(_redacted(self.url), self._seq, seq)
        self._seq, self._head = seq, head

    def _read_head(self) -> tuple[int, bytes]:
        row = self._db.execute(
            sql.SQL("SELECT seq, hash FROM {} ORDER BY seq DESC LIMIT 1").format(self._tbl)
        ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else (0, GENESIS)

    # ----------------------------------------------------------------------------- EventLog

    def append(self, events: Sequence[Event]) -> int:
        """Append in order, all or nothing; return the seq of the last record."""
        with self._lock:  # one connection, one transaction at a time
            return self._append(events)

    def _append(self, events: Sequence[Event]) -> int:
        if self._closed:
            raise LogClosedError(f"{_redacted(self.url)} is closed")
        if not events:
            return self.last_seq()
        payloads = [encode(e) for e in events]
        if self._db.broken or self._db.closed:
            # The server went away under a previous call (that call raised LogError). Not
            # retried there: a lost COMMIT may have landed, and only a fresh look can tell.
            self._db = self._connect()
            self._writing = False  # the lock went with the old connection
            fence = True
        else:
            fence = self._writing
        if not self._writing:
            try:
                self._take_writer_lock(fence)
            except psycopg.Error as exc:
                raise LogError(f"{_redacted(self.url)}: cannot take the writer lock ({exc})") from exc
        copy = sql.SQL("COPY {} (seq, t, kind, data, hash) FROM STDIN (FORMAT BINARY)").format(
            self._tbl
        )
        try:
            with self._db.transaction():
                # Serialise with anyone appending without the writer lock, and fence: the log
                # must still end where this writer left it.
                self._db.execute(self._lock_sql())
                seq, head = self._read_head()
                if (seq, head) != (self._seq, self._head):
                    raise changed_under_writer(_redacted(self.url), self._seq, seq)
                records = list(chain(head, seq + 1, payloads))
                with self._db.cursor() as cur, cur.copy(copy) as cp:
                    cp.set_types(["int8", "timestamptz", "text", "bytea", "bytea"])
                    for r, e in zip(records, events, strict=True):
                        cp.write_row((r.seq, e.t, type(e).__struct_config__.tag, r.data, r.hash))
        except psycopg.Error as exc:
            lost = (
                " (connection lost: last_seq() tells whether the batch landed)"
                if self._db.broken
                else ""
            )
            raise LogError(
                f"{_redacted(self.url)}: append failed, the transaction wrote nothing{lost}: {exc}"
            ) from exc
        self._seq, self._head = records[-1].seq, records[-1].hash
        if self.notary is not None:
            self.notary.appended(self, records[0].seq, payloads, self._head)
        return self._seq

    def read(self, after: int = 0) -> Generator[Record, None, None]:
        """Records with seq > ``after`` in order, streamed through a server-side cursor."""
        conn = self._connect(autocommit=False)  # a server-side cursor lives in a transaction
        conn.read_only = True
        try:
            with conn.cursor(name="skywarden_read") as cur:
                cur.itersize = READ_CHUNK
                cur.execute(
                    sql.SQL("SELECT seq, data, hash FROM {} WHERE seq > %s ORDER BY seq").format(
                        self._tbl
                    ),
                    (after,),
                )
                for seq, data, h in cur:
                    yield Record(int(seq), bytes(data), bytes(h))
        except psycopg.Error as exc:
            raise LogError(f"{_redacted(self.url)}: read failed ({exc})") from exc
        finally:
            conn.close()

    def stored_rows(self, after: int = 0) -> Generator[tuple[Record, Columns], None, None]:
        """Every stored column of every record (t, kind beside the chain), for verify."""
        conn = self._connect(autocommit=False)
        conn.read_only = True
        try:
            with conn.cursor(name="skywarden_verify") as cur:
                cur.itersize = READ_CHUNK
                cur.execute(
                    sql.SQL(
                        "SELECT seq, t, kind, data, hash FROM {} WHERE seq > %s ORDER BY seq"
                    ).format(self._tbl),
                    (after,),
                )
                for seq, t, kind, data, h in cur:
                    yield Record(int(seq), bytes(data), bytes(h)), {"t": t, "kind": kind}
        except psycopg.Error as exc:
            raise LogError(f"{_redacted(self.url)}: read failed ({exc})") from exc
        finally:
            conn.close()

    @staticmethod
    def expected_columns(rec: Record, ev: Event) -> Columns:
        return {"t": ev.t, "kind": KIND_OF[type(ev)]}

    def put_checkpoint(self, cp: Checkpoint) -> None:
        with self._lock:
            try:
                if self._db.broken or self._db.closed:
                    self._db = self._connect()
                    self._writing = False
                self._db.execute(
                    sql.SQL(
                        "INSERT INTO {} (seq, head, root, time, key_id, signature, frontier)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    ).format(self._cps),
                    (cp.seq, cp.head, cp.root, cp.time, cp.key_id, cp.signature, pack_frontier(cp.frontier) or None),
                )
            except psycopg.Error as exc:
                raise LogError(f"{_redacted(self.url)}: checkpoint not written ({exc})") from exc

    def checkpoints(self) -> list[Checkpoint]:
        conn = self._connect()
        try:
            rows = conn.execute(
                sql.SQL("SELECT seq, head, root, time, key_id, signature, frontier FROM {} ORDER BY id").format(self._cps)
            ).fetchall()
        except psycopg.Error as exc:
            raise LogError(f"{_redacted(self.url)}: cannot read checkpoints ({exc})") from exc
        finally:
            conn.close()
        return [
            Checkpoint(int(q), bytes(h), bytes(r), str(t), str(k), bytes(sg), unpack_frontier(fr))
            for q, h, r, t, k, sg, fr in rows
        ]

    def last_seq(self) -> int:
        """The seq of the last record as the server has it now (other writers included)."""
        if self._closed:
            return self._seq
        try:
            with self._lock:
                if self._db.broken or self._db.closed:
                    self._db = self._connect()
                    self._writing = False  # the writer lock went with the old session
                self._seq, self._head = self._read_head()
        except psycopg.Error as exc:
            raise LogError(f"{_redacted(self.url)}: cannot read the head ({exc})") from exc
        return self._seq

    def verify(self) -> VerifyReport:
        # closing(): a TamperError must not leave the reader's cursor open until GC.
        with contextlib.closing(self.stored_rows()) as rows:
            return verify_stored(rows, self.expected_columns)

    def close(self) -> None:
        if not self._closed:
            try:
                if self.notary is not None and self._writing:
                    self.notary.close(self)
            finally:
                self._closed = True
                if self._writing and not (self._db.broken or self._db.closed):
                    # unlock before closing: the server ends a session a moment after the
                    # client hangs up, and the next writer should not see it still held
                    with contextlib.suppress(psycopg.Error):
                        self._db.execute(
                            "SELECT pg_advisory_unlock(%s, hashtext(%s))", (_WRITER_NAMESPACE, self.table)
                        )
                self._writing = False
                self._db.close()  # ends the session: the writer lock goes with it in any case

    # ----------------------------------------------------------------------------- admin

    def drop(self) -> None:
        """Delete this log's table and everything in it (tests and throwaway nights)."""
        conn = self._connect()
        try:
            # A reader left open elsewhere would make DROP wait forever: say so instead.
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(self._tbl, self._cps))
        except psycopg.Error as exc:
            raise LogError(f"{_redacted(self.url)}: cannot drop {self.table} ({exc})") from exc
        finally:
            conn.close()
        self.close()
