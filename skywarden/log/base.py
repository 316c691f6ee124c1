"""The event-log interface every backend implements (SQLite, memory, PostgreSQL, NATS)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from skywarden.events import Event
from skywarden.log.chain import Record, VerifyReport


@runtime_checkable
class EventLog(Protocol):
    """Append-only, hash-chained, read back in order.

    ``append`` is atomic per call: after a crash either the whole batch is there or none of it.
    """

    url: str

    def append(self, events: Sequence[Event]) -> int:
        """Append in order; return the seq of the last one (0 for an empty log and no events)."""
        ...

    def read(self, after: int = 0) -> Iterator[Record]:
        """Records with seq > ``after``, in order."""
        ...

    def last_seq(self) -> int: ...

    def verify(self) -> VerifyReport:
        """Re-walk the whole chain; raise ``TamperError`` naming the first bad record."""
        ...

    def close(self) -> None: ...
