"""The hash chain that makes the log tamper-evident, shared by every backend.

Each record's hash is ``sha256(previous hash || seq as 8 bytes big-endian || event JSON)``; the
first record chains from 32 zero bytes. Changing any byte of any record (or reordering, or
dropping one) breaks the chain at that record and every later one; ``verify`` names the first.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import msgspec

from skywarden.errors import TamperError
from skywarden.events import Event, decode

GENESIS = bytes(32)


_sha256 = hashlib.sha256
_seq_bytes = struct.Struct(">Q").pack


def link(prev: bytes, seq: int, data: bytes) -> bytes:
    return _sha256(prev + _seq_bytes(seq) + data).digest()


@dataclass(frozen=True, slots=True)
class Record:
    """One stored event: its place in the log, its bytes and its chain hash."""

    seq: int
    data: bytes
    hash: bytes

    def event(self) -> Event:
        return decode(self.data)


@dataclass(frozen=True)
class VerifyReport:
    records: int
    head: bytes  # hash of the last record (GENESIS for an empty log)
    first_time: datetime | None
    last_time: datetime | None


Columns = Mapping[str, object]
"""What a backend stores beside (seq, data, hash) for one record, by column name: SQLite's
``t`` and ``kind``, a NATS message's subject and headers, ..."""

@dataclass(frozen=True)
class AnyOf:
    """An expected column value that may be any of several (an older writer's form, say)."""

    values: tuple[object, ...]

    def accepts(self, value: object) -> bool:
        return value in self.values

    def __repr__(self) -> str:
        return " or ".join(repr(v) for v in dict.fromkeys(self.values) if v != "")


ExpectedColumns = Callable[[Record, Event], Columns]
"""The values those columns must hold for a record, derived from its event alone."""


class ChainWalk:
    """Checks records one at a time, in order, as verify reads them: seq without gaps, the hash
    chain, that the bytes decode, and that every stored column says what the event says."""

    def __init__(self, expected: ExpectedColumns | None = None) -> None:
        self.expected = expected
        self.prev, self.next_seq, self.count = GENESIS, 1, 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self._broken: tuple[int, bytes, bytes] | None = None

    def _name_the_break(self, after: Record | None) -> None:
        assert self._broken is not None
        seq, computed, stored = self._broken
        what = "hash does not match its contents and the record before it"
        column = "data or hash"
        if after is not None and after.seq == seq + 1:
            if link(stored, after.seq, after.data) == after.hash:
                column, what = "data", "contents changed: the stored hash (which the next record chains from) is of other bytes"
            elif link(computed, after.seq, after.data) == after.hash:
                column, what = "hash", "stored hash changed: the next record chains from the hash of these bytes"
        raise TamperError(seq, what, column)

    def feed(self, rec: Record, stored: Columns | None = None) -> Event:
        if self._broken is not None:
            self._name_the_break(rec)
        if rec.seq != self.next_seq:
            raise TamperError(self.next_seq, f"missing: the next record is {rec.seq}", "seq")
        computed = link(self.prev, rec.seq, rec.data)
        if computed != rec.hash:
            # Which column changed shows at the next record: it chains from the stored hash
            # when the data was changed, from the recomputed one when the hash was.
            self._broken = (rec.seq, computed, rec.hash)
        try:
            ev = rec.event()
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TamperError(rec.seq, f"does not decode as an event: {exc}", "data") from exc
        if stored and self.expected is not None and self._broken is None:  # a break comes first
            want = self.expected(rec, ev)
            for column, value in stored.items():
                if column in want and not _fits(want[column], value):
                    raise TamperError(
                        rec.seq, f"stored {value!r}, but the event says {want[column]!r}", column
                    )
        self.first = self.first or ev.t
        self.last = ev.t
        self.prev, self.next_seq, self.count = rec.hash, self.next_seq + 1, self.count + 1
        return ev

    def report(self) -> VerifyReport:
        """The walk's result once every record was fed; raises for a break at the last record."""
        if self._broken is not None:
            self._name_the_break(None)
        return VerifyReport(records=self.count, head=self.prev, first_time=self.first, last_time=self.last)


def _fits(expected: object, stored: object) -> bool:
    return expected.accepts(stored) if isinstance(expected, AnyOf) else expected == stored


def verify_records(records: Iterable[Record]) -> VerifyReport:
    """Walk the chain; raise :class:`TamperError` naming the first record that does not fit."""
    walk = ChainWalk()
    for rec in records:
        walk.feed(rec)
    return walk.report()


def verify_stored(rows: Iterable[tuple[Record, Columns]], expected: ExpectedColumns) -> VerifyReport:
    """:func:`verify_records` over a backend's rows, checking its stored columns too."""
    walk = ChainWalk(expected)
    for rec, stored in rows:
        walk.feed(rec, stored)
    return walk.report()


def chain(prev: bytes, first_seq: int, payloads: Iterable[bytes]) -> Iterator[Record]:
    """Records for consecutive payloads starting at ``first_seq`` after hash ``prev``."""
    seq = first_seq
    for data in payloads:
        prev = link(prev, seq, data)
        yield Record(seq, data, prev)
        seq += 1
