"""PatientLog: an append that fails while the server is away waits, then finds out whether the
batch landed, and appends it again only if it did not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from skywarden.errors import LogError
from skywarden.events import Event, Tick
from skywarden.log import MemoryLog
from skywarden.patient import PatientLog, RacedError

T0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)


def ticks(a: int, b: int) -> list[Event]:
    return [Tick(t=T0 + timedelta(seconds=k)) for k in range(a, b)]


class Server:
    """One log "on a server": ``away`` calls fail; ``land_then_fail`` stores the next batch and
    then fails (a commit whose answer was lost)."""

    def __init__(self) -> None:
        self.store = MemoryLog()
        self.away = 0
        self.land_then_fail = False
        self.opened = 0

    def open(self, url: str) -> Client:
        if self.away:
            self.away -= 1
            raise LogError("cannot reach the server")
        self.opened += 1
        return Client(self)


class Client:
    url = "fake://"

    def __init__(self, server: Server) -> None:
        self.server = server

    def append(self, events: Sequence[Event]) -> int:
        s = self.server
        if s.land_then_fail:
            s.land_then_fail = False
            s.store.append(events)
            raise LogError("connection lost before the answer")
        if s.away:
            s.away -= 1
            raise LogError("server away")
        return s.store.append(events)

    def read(self, after: int = 0):  # type: ignore[no-untyped-def]
        return self.server.store.read(after)

    def last_seq(self) -> int:
        return self.server.store.last_seq()

    def verify(self):  # type: ignore[no-untyped-def]
        return self.server.store.verify()

    def close(self) -> None:
        pass


def patient(server: Server, **kw: object) -> PatientLog:
    return PatientLog("fake://", opener=server.open, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def test_a_batch_whose_answer_was_lost_is_not_appended_twice() -> None:
    server = Server()
    log = patient(server)
    log.append(ticks(0, 3))
    server.land_then_fail = True
    assert log.append(ticks(3, 6)) == 6
    assert [r.event() for r in server.store.read()] == ticks(0, 6)
    assert log.waits == 1


def test_a_batch_that_did_not_land_is_appended_once_the_server_is_back() -> None:
    server = Server()
    log = patient(server)
    log.append(ticks(0, 3))
    server.away = 4  # the append and three reopenings fail
    assert log.append(ticks(3, 6)) == 6
    assert [r.event() for r in server.store.read()] == ticks(0, 6)
    log.append(ticks(6, 7))
    assert server.store.verify().records == 7


def test_another_writer_meanwhile_is_an_error_not_a_fork() -> None:
    server = Server()
    log = patient(server)
    log.append(ticks(0, 2))
    server.away = 1
    real_open = server.open

    def open_after_another_wrote(url: str) -> Client:
        server.store.append(ticks(10, 11))  # someone else appended while we waited
        return real_open(url)

    log._open = open_after_another_wrote  # type: ignore[method-assign]
    with pytest.raises(RacedError):
        log.append(ticks(2, 3))


def test_it_gives_up_after_its_patience() -> None:
    server = Server()
    clock = iter(range(0, 10_000, 10))
    log = PatientLog("fake://", opener=server.open, sleep=lambda s: None, patience_s=60,
                     monotonic=lambda: float(next(clock)))  # fmt: skip
    server.away = 10_000
    with pytest.raises(LogError, match="did not come back within 60 s"):
        log.append(ticks(0, 1))


def test_a_read_broken_by_the_servers_absence_goes_on_from_its_last_record() -> None:
    server = Server()
    log = patient(server)
    log.append(ticks(0, 6))
    broken = {"once": True}
    real_read = Client.read

    def read(self: Client, after: int = 0):  # type: ignore[no-untyped-def]
        for rec in real_read(self, after):
            if rec.seq == 3 and broken["once"]:
                broken["once"] = False
                raise LogError("server away mid-read")
            yield rec

    Client.read = read  # type: ignore[method-assign]
    try:
        server.away = 2  # and the first two reopenings fail
        assert [r.event() for r in log.read()] == ticks(0, 6)
    finally:
        Client.read = real_read  # type: ignore[method-assign]
    assert log.waits == 1
