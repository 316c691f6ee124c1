"""The in-memory twin of the event log: same contract, nothing on disk (tests, dry runs)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from skywarden.errors import LogClosedError
from skywarden.events import Event, encode
from skywarden.log.chain import GENESIS, Record, VerifyReport, chain, verify_records


class MemoryLog:
    def __init__(self) -> None:
        self.url = "memory://"
        self._records: list[Record] = []
        self._closed = False

    def append(self, events: Sequence[Event]) -> int:
        if self._closed:
            raise LogClosedError("the log is closed")
        head = self._records[-1].hash if self._records else GENESIS
        self._records.extend(chain(head, len(self._records) + 1, [encode(e) for e in events]))
        return len(self._records)

    def read(self, after: int = 0) -> Iterator[Record]:
        return iter(self._records[after:])

    def last_seq(self) -> int:
        return len(self._records)

    def verify(self) -> VerifyReport:
        return verify_records(self._records)

    def close(self) -> None:
        self._closed = True
