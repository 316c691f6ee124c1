"""A few records of a log without decoding it whole: its first event, its latest time, and the
records of some kinds only.

A whole night's log holds tens of thousands of records, most of them radar scans and track
pictures; a command about one statement, claim or incident needs a handful of them. Decoding
every record of the default night takes seconds; these read what they need.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime

from skywarden.events import Event, Tick
from skywarden.log.base import EventLog
from skywarden.log.chain import Record
from skywarden.log.sqlite import SqliteLog

__all__ = ["first_event", "latest_time", "read_kinds"]

TAIL = 64  # records read from the end at first, widened 16-fold until a tick is among them


def first_event(log: EventLog) -> Event | None:
    """The log's first event (a night's ``NightOpened``), or None for an empty log."""
    records = log.read()
    try:
        for rec in records:
            return rec.event()
    finally:
        close = getattr(records, "close", None)  # a generator: let the backend's cursor go
        if close is not None:
            close()
    return None


def latest_time(log: EventLog) -> datetime | None:
    """The latest event time in ``log`` (what ``max(e.t for e in events)`` gives), from its tail.

    The runtime appends a tick as its inputs (times in (previous tick, now]), ``Tick(now)`` and the
    stages' events (times at most now), so no record before the last ``Tick`` is later than it:
    the latest time is among the records from the last ``Tick`` on. None for an empty log.
    """
    last = log.last_seq()
    span = TAIL
    while True:
        start = max(0, last - span)
        times: list[datetime] = []
        for rec in reversed(list(log.read(after=start))):
            ev = rec.event()
            times.append(ev.t)
            if isinstance(ev, Tick):
                return max(times)
        if start == 0:
            return max(times) if times else None
        span *= 16


def read_kinds(log: EventLog, kinds: Collection[str], after: int = 0) -> Iterator[Record]:
    """The records of these kinds (``events.KIND_OF`` names) with seq > ``after``, in order.

    A SQLite log selects them by its ``kind`` column; other logs are read whole, each record
    kept or skipped by the kind its JSON starts with (``{"kind":"...``), never decoded.
    """
    if isinstance(log, SqliteLog):
        yield from log.read_kinds(kinds, after)
        return
    heads = tuple(f'{{"kind":"{k}"'.encode() for k in kinds)
    for rec in log.read(after):
        if rec.data.startswith(heads):
            yield rec
