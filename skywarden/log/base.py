"""The event-log interface every backend implements (SQLite, memory, PostgreSQL, NATS)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

from skywarden.errors import LogError
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


DEFAULT_LOG = "events"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def log_name_of(url: str) -> tuple[list[tuple[str, str]], str]:
    """A server log URL's query without ``log``, and the log's name (``?log=night1``; default
    "events"); raises :class:`LogError` on a name a table or stream could not carry."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    names = [v for k, v in query if k == "log"]
    name = names[-1] if names else DEFAULT_LOG
    if not _NAME.fullmatch(name):
        raise LogError(
            f"log name {name!r}: use 1-40 lowercase letters, digits or '_', starting with a letter"
        )
    return [(k, v) for k, v in query if k != "log"], name
