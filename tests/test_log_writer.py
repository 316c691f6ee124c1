"""One writer per night, across processes: a second writer gets a clear WriterLockError naming
the holder, readers never wait, and a crashed writer's lock does not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.errors import WriterLockError
from skywarden.log import open_log
from tests.test_log_contract import (
    NATS_URL,
    PG_URL,
    nats_unavailable,
    night,
    pg_unavailable,
    with_log,
)

HOLD = """
import sys, time
from skywarden.log import open_log
from tests.test_log_contract import night
log = open_log(sys.argv[1], signing=None)
log.append(night(3))
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture()
def holder() -> Iterator[object]:
    """Start a process that appends to a log and keeps it open; yields a starter."""
    procs: list[subprocess.Popen[str]] = []

    def start(url: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        p = subprocess.Popen(
            [sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True, env=env
        )
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "holding"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(10)
        if p.stdout:
            p.stdout.close()


def second_writer_is_refused_until_the_first_dies(url: str, holder: object, needs_pid: bool = True) -> None:
    child = holder(url)  # type: ignore[operator]
    log = open_log(url, signing=None)
    try:
        with pytest.raises(WriterLockError, match="night is being written by") as refused:
            log.append(night(2, start=3))
        if needs_pid:
            assert f"pid {child.pid} on host" in str(refused.value)
        assert log.last_seq() == 3 and log.verify().records == 3  # reading never waits
        child.send_signal(signal.SIGKILL)  # the writer crashes: its lock must not outlive it
        child.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert log.append(night(2, start=3)) == 5
                break
            except WriterLockError:  # the server may take a moment to see the session end
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert log.verify().records == 5
    finally:
        log.close()


def test_sqlite_a_second_process_cannot_write_a_night_being_written(tmp_path: Path, holder: object) -> None:
    second_writer_is_refused_until_the_first_dies(str(tmp_path / "night.db"), holder)


@pytest.mark.postgres
def test_postgres_a_second_process_cannot_write_a_night_being_written(holder: object) -> None:
    if reason := pg_unavailable():
        pytest.skip(reason)
    url = with_log(PG_URL, f"t{uuid.uuid4().hex[:12]}")
    try:
        second_writer_is_refused_until_the_first_dies(url, holder)
    finally:
        last = open_log(url, signing=None)
        last.drop()  # type: ignore[attr-defined]


@pytest.mark.nats
def test_nats_a_lease_holds_the_night_and_a_dead_writers_lease_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    if reason := nats_unavailable():
        pytest.skip(reason)
    from skywarden.log import nats as nl

    monkeypatch.setattr(nl, "LEASE_S", 1.0)
    url = with_log(NATS_URL, f"t{uuid.uuid4().hex[:12]}")
    first, second = nl.NatsLog(url), nl.NatsLog(url)
    try:
        first.append(night(3))
        with pytest.raises(WriterLockError, match=f"night is being written by pid {os.getpid()}"):
            second.append(night(2, start=3))
        time.sleep(1.2)  # the first writer went quiet past its lease (as a crashed one does)
        assert second.append(night(2, start=3)) == 5  # takes over the expired lease
        with pytest.raises(WriterLockError, match="lease was taken"):
            first.append(night(1, start=5))  # the old writer is fenced off
        assert second.verify().records == 5
    finally:
        first.close()
        second.drop()


def test_claim_add_against_a_night_being_written_is_refused(tmp_path: Path, holder: object, scenario: object) -> None:
    """A person's write (``claim add``) while another process runs the night: a clear error."""
    from skywarden.cli import app
    from skywarden.runtime import night_opened

    db = tmp_path / "night.db"
    log = open_log(db, signing=None)
    log.append([night_opened(scenario)])  # type: ignore[arg-type]
    log.close()
    child = holder(str(db))
    res = CliRunner().invoke(
        app,
        ["claim", "add", "--log", str(db), "--source", "Channel X", "--what", "kill", "--count", "2",
         "--text", "two drones"],
    )  # fmt: skip
    assert res.exit_code != 0
    assert f"night is being written by pid {child.pid}" in " ".join(res.output.split())


def test_a_second_run_resume_is_refused_before_it_replays(tmp_path: Path, holder: object) -> None:
    from skywarden.cli import app

    db = tmp_path / "night.db"
    child = holder(str(db))
    res = CliRunner().invoke(app, ["run", "--log", str(db), "--resume"])
    assert res.exit_code != 0
    assert f"night is being written by pid {child.pid}" in " ".join(res.output.split())
