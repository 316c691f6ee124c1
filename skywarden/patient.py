"""A night that waits for its log server: appends that outlast a PostgreSQL or NATS restart.

A server log's ``append`` raises ``LogError`` when the server goes away mid-call and retries
nothing itself, because a lost commit may have landed (docs/event-log.md). The night should
neither die nor log a tick twice, so :class:`PatientLog` wraps such a log for the runtime: on a
failed append it waits (back-off up to ``max_wait_s``), opens the log afresh (the NATS client
gives up reconnecting after a few tries; a fresh one finds the head again) and asks the server
where the log ends:

* at the records the batch would have made, with their bytes: the batch landed; done;
* where it ended before the call: nothing landed; the batch is appended again;
* anywhere else: another writer appended meanwhile; that is an error (the night stops; its log
  is whole, and ``--resume`` continues it).

While it waits the tick loop waits with it (the sources' inputs wait in their buffers: the
simulator's are computed, a listener's sit in the inbox), so nothing is lost or duplicated; after
``patience_s`` without the server it gives up with the last error. SQLite files are not wrapped:
their failures (a full disk) do not pass by waiting, and a clear error is the answer there.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

from skywarden.errors import LogClosedError, LogError, WriterLockError
from skywarden.events import Event, encode
from skywarden.log import FROM_ENV, EventLog, Record, VerifyReport, hold_writer, open_log
from skywarden.log.checkpoint import Signing

SERVER_SCHEMES = ("postgresql://", "postgres://", "nats://")


class RacedError(LogError):
    """Another writer appended to the log while this one waited for its server."""


def is_server_url(url: str) -> bool:
    return url.startswith(SERVER_SCHEMES)


class PatientLog:
    """An ``EventLog`` on a server whose appends wait out the server's absence (module doc)."""

    def __init__(
        self,
        url: str,
        log: EventLog | None = None,
        *,
        patience_s: float = 600.0,
        max_wait_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        on_wait: Callable[[str], None] | None = None,
        opener: Callable[[str], EventLog] | None = None,
        signing: Signing | None | str = FROM_ENV,
    ) -> None:
        self.url = url
        self._open = opener or (lambda u: open_log(u, signing))  # the same signing when reopened
        self.holding = False  # the writer lock taken: taken again on every reopen (a server
        # drops a session's advisory lock with its connection)
        self.inner = log if log is not None else self._open(url)
        self.patience_s, self.max_wait_s = patience_s, max_wait_s
        self._sleep, self._monotonic, self.on_wait = sleep, monotonic, on_wait
        self.waits = 0  # appends that had to wait (a drill's figure)
        self.waited_s = 0.0
        self._seq = self.last_seq()

    def append(self, events: Sequence[Event]) -> int:
        before = self._seq
        try:
            self._seq = self.inner.append(events)
            return self._seq
        except LogClosedError:
            raise
        except LogError as exc:
            first = exc
        self.waits += 1
        started = self._monotonic()
        delay, last = 0.1, first
        if self.on_wait is not None:
            self.on_wait(f"the log server is away or refused the append ({first}); the night waits for it")
        while self._monotonic() - started < self.patience_s:
            self._sleep(delay)
            delay = min(self.max_wait_s, delay * 2)
            try:
                self._reopen()
                now = self.inner.last_seq()
                if now == before + len(events) and self._landed(before, events):
                    self._seq = now
                elif now == before:
                    self._seq = self.inner.append(events)
                else:
                    raise RacedError(
                        f"{self.url}: the log ends at record {now}, not {before} nor {before + len(events)}: "
                        "another writer appended while the server was away"
                    )
            except (LogClosedError, RacedError, WriterLockError):
                raise
            except LogError as exc:
                last = exc
                continue
            self.waited_s += self._monotonic() - started
            return self._seq
        self.waited_s += self._monotonic() - started
        raise LogError(f"{self.url}: the server did not come back within {self.patience_s:.0f} s ({last})") from last

    def hold(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the night's writer lock (``skywarden.log.hold_writer``, waiting as it says), now
        and after every reopen; another writer that took it while the server was away is an
        error."""
        hold_writer(self.inner, wait_s, on_wait)
        self.holding = True

    @property
    def notary(self) -> object | None:
        """The signer of the log as open now (None: unsigned)."""
        return getattr(self.inner, "notary", None)

    def _reopen(self) -> None:
        token = getattr(self.inner, "lease_token", None)  # a NATS writer's lease: still ours
        with contextlib.suppress(Exception):  # the old client may be half gone; it is dropped anyway
            self.inner.close()
        self.inner = self._open(self.url)
        if token is not None and hasattr(self.inner, "lease_token"):
            self.inner.lease_token = token
        if self.holding:
            hold_writer(self.inner)

    def _landed(self, before: int, events: Sequence[Event]) -> bool:
        """Whether the records after ``before`` are ``events``, byte for byte."""
        want = [encode(e) for e in events]
        got = [r.data for r in self.inner.read(after=before)][: len(want)]
        return got == want

    def read(self, after: int = 0) -> Iterator[Record]:
        """The records after ``after``; a read the server's absence breaks goes on, once it is
        back, from the last record it gave."""
        last = after
        while True:
            try:
                for rec in self.inner.read(last):
                    yield rec
                    last = rec.seq
                return
            except LogClosedError:
                raise
            except LogError as exc:
                self._wait_for_server(exc)

    def last_seq(self) -> int:
        while True:
            try:
                return self.inner.last_seq()
            except LogClosedError:
                raise
            except LogError as exc:
                self._wait_for_server(exc)

    def _wait_for_server(self, exc: LogError) -> None:
        """Wait (with back-off) until the log opens again; give up after ``patience_s``."""
        self.waits += 1
        if self.on_wait is not None:
            self.on_wait(f"the log server is away ({exc}); the night waits for it")
        started, delay = self._monotonic(), 0.1
        while self._monotonic() - started < self.patience_s:
            self._sleep(delay)
            delay = min(self.max_wait_s, delay * 2)
            try:
                self._reopen()
            except WriterLockError:
                raise
            except LogError as again:
                exc = again
                continue
            self.waited_s += self._monotonic() - started
            return
        raise LogError(f"{self.url}: the server did not come back within {self.patience_s:.0f} s ({exc})") from exc

    def verify(self) -> VerifyReport:
        return self.inner.verify()

    def close(self) -> None:
        # every append returned was stored; a client the server's absence broke may fail to
        # drain, which loses nothing
        with contextlib.suppress(LogError):
            self.inner.close()


__all__ = ["PatientLog", "RacedError", "is_server_url"]
