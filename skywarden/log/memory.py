"""The in-memory twin of the event log: same contract, nothing on disk (tests, dry runs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from skywarden.errors import LogClosedError
from skywarden.events import Event, encode
from skywarden.log.chain import GENESIS, Record, VerifyReport, chain, verify_records
from skywarden.log.checkpoint import Checkpoint, Notary


class MemoryLog:
    def __init__(self) -> None:
        self.url = "memory://"
        self._records: list[Record] = []
        self._checkpoints: list[Checkpoint] = []
        self._closed = False
        self.notary: Notary | None = None  # one writer by construction: no lock to take

    def append(self, events: Sequence[Event]) -> int:
        if self._closed:
            raise LogClosedError("the log is closed")
        if self.notary is not None:
            self.notary.prepare()
        head = self._records[-1].hash if self._records else GENESIS
        first = len(self._records) + 1
        payloads = [encode(e) for e in events]
        self._records.extend(chain(head, first, payloads))
        if self.notary is not None and payloads:
            self.notary.appended(self, first, payloads, self._records[-1].hash)
        return len(self._records)

    def hold(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """One writer by construction: nothing to take (but the key is read now). ``wait_s`` and
        ``on_wait`` are for leases elsewhere."""
        if self.notary is not None:
            self.notary.prepare()

    def read(self, after: int = 0) -> Iterator[Record]:
        return iter(self._records[after:])

    def last_seq(self) -> int:
        return len(self._records)

    def verify(self) -> VerifyReport:
        return verify_records(self._records)

    def put_checkpoint(self, cp: Checkpoint) -> None:
        self._checkpoints.append(cp)

    def checkpoints(self) -> list[Checkpoint]:
        return list(self._checkpoints)

    def close(self) -> None:
        if not self._closed and self.notary is not None:
            self.notary.close(self)
        self._closed = True
