"""The hash chain that makes the log tamper-evident, shared by every backend.

Each record's hash is ``sha256(previous hash || seq as 8 bytes big-endian || event JSON)``; the
first record chains from 32 zero bytes. Changing any byte of any record (or reordering, or
dropping one) breaks the chain at that record and every later one; ``verify`` names the first.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
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


def verify_records(records: Iterable[Record]) -> VerifyReport:
    """Walk the chain; raise :class:`TamperError` naming the first record that does not fit."""
    prev, expected, n = GENESIS, 1, 0
    first: datetime | None = None
    last: datetime | None = None
    for rec in records:
        if rec.seq != expected:
            raise TamperError(expected, f"missing: the next record is {rec.seq}")
        if link(prev, rec.seq, rec.data) != rec.hash:
            raise TamperError(rec.seq, "hash does not match its contents and the record before it")
        try:
            ev = rec.event()
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TamperError(rec.seq, f"does not decode as an event: {exc}") from exc
        first = first or ev.t
        last = ev.t
        prev, expected, n = rec.hash, expected + 1, n + 1
    return VerifyReport(records=n, head=prev, first_time=first, last_time=last)


def chain(prev: bytes, first_seq: int, payloads: Iterable[bytes]) -> Iterator[Record]:
    """Records for consecutive payloads starting at ``first_seq`` after hash ``prev``."""
    seq = first_seq
    for data in payloads:
        prev = link(prev, seq, data)
        yield Record(seq, data, prev)
        seq += 1
