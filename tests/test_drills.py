"""The drills (bench/drills.py) at test scale: a night killed, starved of disk, cut from its log
server, publishing to a receiver that is down or hangs, and on a wall clock that jumps."""

from __future__ import annotations

import os
import resource
from datetime import timedelta
from pathlib import Path

import pytest

from bench.drills import (
    DrillResult,
    Receiver,
    drill_clock,
    drill_disk_full,
    drill_disk_full_nats,
    drill_disk_full_postgres,
    drill_restart,
    drill_server,
    drill_sigkill,
    drill_webhook,
    nats_disk_full_unavailable,
    pg_disk_full_unavailable,
    play_publishing,
    restart_unavailable,
)
from skywarden.scenario import LoadedScenario
from tests.test_log_contract import NATS_URL, PG_URL, nats_unavailable, pg_unavailable

UNTIL = "00:02"


@pytest.fixture(scope="module")
def ref_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], float]:
    """The uninterrupted night every drill compares with (run once for the module)."""
    from bench.drills import reference

    return reference(tmp_path_factory.mktemp("reference"), UNTIL)


def _passed(res: DrillResult) -> None:
    assert res.trials > 0
    assert res.passes == res.trials, "\n".join(res.failures)


def test_sigkill_anywhere_in_a_night_resumes_to_the_same_log(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    _passed(drill_sigkill(3, UNTIL, seed=7, folder=tmp_path, ref_run=ref_run))


def test_a_kill_in_the_first_tick_leaves_one_opening(tmp_path: Path, scenario: LoadedScenario) -> None:
    """The window users hit: the night's opening logged, its first tick not yet. The opening now
    comes in the first tick's batch; a log written before that (the opening alone) resumes to
    the uninterrupted log all the same, without a second opening."""
    from skywarden.log import open_log
    from skywarden.play import play_night
    from skywarden.runtime import night_opened

    whole = open_log(tmp_path / "whole.sqlite")
    play_night(scenario, whole, until=scenario.at("00:01"), workers=1)
    first = next(iter(whole.read()))
    second = list(whole.read(after=1))[0]
    assert first.event().__class__.__name__ == "NightOpened" and second.event().__class__.__name__ != "NightOpened"
    killed = open_log(tmp_path / "killed.sqlite")
    killed.append([night_opened(scenario)])  # what a kill at that moment left before
    play_night(scenario, killed, until=scenario.at("00:01"), resume=True, workers=1)
    assert [r.hash for r in killed.read()] == [r.hash for r in whole.read()]
    whole.close()
    killed.close()


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_is_a_clear_error_and_the_night_resumes(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    _passed(drill_disk_full([192 * 1024, 448 * 1024], UNTIL, folder=tmp_path, ref_run=ref_run))


@pytest.mark.postgres
def test_sigkill_on_postgres_resumes_to_the_same_log(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    """Killed mid-transaction, the server rolls the batch back and drops the writer's lock with
    the session: the resumed night is the uninterrupted one."""
    if reason := pg_unavailable():
        pytest.skip(reason)
    _passed(drill_sigkill(2, UNTIL, seed=11, folder=tmp_path, ref_run=ref_run, backend="postgres", base_url=PG_URL))


@pytest.mark.nats
def test_sigkill_on_nats_resumes_to_the_same_log(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    """Killed at a random moment; the resume waits out the killed writer's lease (30 s) and
    continues from the last complete batch."""
    if reason := nats_unavailable():
        pytest.skip(reason)
    _passed(drill_sigkill(1, UNTIL, seed=12, folder=tmp_path, ref_run=ref_run, backend="nats", base_url=NATS_URL))


@pytest.mark.postgres
def test_a_full_disk_on_the_postgres_server_the_night_waits_and_goes_on(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    """The log's tablespace on a small file system: the server refuses the batch with "No
    space left on device"; the night says so, waits, and goes on once there is room."""
    if reason := pg_unavailable() or pg_disk_full_unavailable(PG_URL):
        pytest.skip(reason)
    _passed(drill_disk_full_postgres([128 * 1024, 256 * 1024], PG_URL, UNTIL, folder=tmp_path, ref_run=ref_run))


@pytest.mark.nats
def test_a_full_disk_on_the_nats_server_the_night_waits_and_goes_on(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    """A NATS server of the test's own, its JetStream store on a 300 KiB tmpfs: JetStream's
    reservation fills mid-night and the server refuses the batch ("insufficient resources");
    the night says so, waits, and goes on once the disk grew and the server restarted. (The
    bench adds the disk itself filling, which NATS 2.9 answers with silence: a 70 s wait.)"""
    if reason := nats_disk_full_unavailable():
        pytest.skip(reason)
    res = drill_disk_full_nats([(300 * 1024, True)], UNTIL, folder=tmp_path, ref_run=ref_run)
    _passed(res)
    assert "insufficient resources" in res.figures["said (1)"]


@pytest.mark.postgres
def test_a_postgres_server_restarted_or_crashed_mid_night_the_night_goes_on(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    """A PostgreSQL cluster of the test's own (initdb, its own port), stopped ("fast") and
    killed ("immediate": it recovers from its WAL) once the night has logged some records."""
    if reason := restart_unavailable("postgres"):
        pytest.skip(reason)
    res = drill_restart("postgres", [False, True], UNTIL, folder=tmp_path, ref_run=ref_run)
    _passed(res)
    assert all(0 < int(n) < len(ref_run[1]) for n in res.figures["records when restarted"].split("/"))


@pytest.mark.nats
def test_a_nats_server_restarted_or_killed_mid_night_the_night_goes_on(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    if reason := restart_unavailable("nats"):
        pytest.skip(reason)
    res = drill_restart("nats", [False, True], UNTIL, folder=tmp_path, ref_run=ref_run)
    _passed(res)
    assert all(0 < int(n) < len(ref_run[1]) for n in res.figures["records when restarted"].split("/"))


@pytest.mark.postgres
def test_postgres_away_mid_night_the_night_waits(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    if reason := pg_unavailable():
        pytest.skip(reason)
    _passed(drill_server("postgres", PG_URL, 1, UNTIL, down_s=3.0, folder=tmp_path, ref_run=ref_run))


@pytest.mark.nats
def test_nats_away_mid_night_the_night_waits(tmp_path: Path, ref_run) -> None:  # type: ignore[no-untyped-def]
    if reason := nats_unavailable():
        pytest.skip(reason)
    _passed(drill_server("nats", NATS_URL, 1, UNTIL, down_s=3.0, folder=tmp_path, ref_run=ref_run))


def test_a_receiver_down_ten_minutes_gets_every_item_once_in_order(tmp_path: Path, scenario: LoadedScenario) -> None:
    res = drill_webhook(scenario, down_min=10.0, factor=400.0, items=12, folder=tmp_path)
    _passed(res)
    assert res.figures["refused while down"] > 0  # it was down, and was tried while down


def test_a_hanging_receiver_does_not_hold_the_tick_loop(tmp_path: Path, scenario: LoadedScenario) -> None:
    """The night ends while the receiver still holds the first item's request unanswered: no
    tick waited for it. Released, it gets every item, once, in order."""
    import time
    from datetime import UTC, datetime

    hanging = Receiver()
    hanging.hang.clear()
    try:
        _, worker, log = play_publishing(scenario, hanging.url, 200, 20, wall=lambda: datetime.now(UTC),
                                         sleep=time.sleep, folder=tmp_path, timeout_s=60.0)  # fmt: skip
        assert hanging.stored == {}  # the night is over, and the receiver has answered nothing
        deadline = time.monotonic() + 10
        while hanging.held < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert hanging.held == 1  # the first item's request, held unanswered
        assert log.last_seq() > 200 and not any(r.data.startswith(b'{"kind":"delivered"') for r in log.read())
        hanging.hang.set()
        assert worker.drain(60)
        worker.close(5)
    finally:
        hanging.stop()
    assert hanging.order == [f"ST-{n:04d}" for n in range(1, 11)]
    assert set(hanging.stored.values()) == {1}


def test_catch_up_delivers_what_a_stopped_process_left_unpublished(tmp_path: Path, scenario: LoadedScenario) -> None:
    """Items the night logged as published whose delivery never started (they were on the queue
    when the process stopped): on the next start, catch_up delivers them, and not the others."""
    import time
    from datetime import UTC, datetime

    from skywarden.disclosure.channels import MemoryChannel, Outbox, Publisher
    from skywarden.disclosure.delivery import DeliveryWorker
    from skywarden.disclosure.policy import DisclosurePolicy
    from skywarden.log import MemoryLog

    receiver = Receiver()
    try:
        _, worker, log = play_publishing(scenario, receiver.url, 100, 20, wall=lambda: datetime.now(UTC),
                                         sleep=time.sleep, folder=tmp_path / "a")  # fmt: skip
        assert worker.drain(30)
        journal = worker.journal
        worker.close(5)
    finally:
        receiver.stop()
    assert journal is not None and receiver.order == [f"ST-{n:04d}" for n in range(1, 6)]
    kept = MemoryLog()  # a journal that lost its last two answers (the process stopped first)
    answers = [r.event() for r in journal.read()]
    kept.append([a for a in answers if a.item_id not in ("ST-0004", "ST-0005")])
    mem = MemoryChannel()
    again = DeliveryWorker(Publisher([mem], Outbox(":memory:"), DisclosurePolicy.for_scenario(scenario)), kept,
                           wall=lambda: datetime.now(UTC))  # fmt: skip
    assert again.catch_up(log) == 2
    assert again.drain(10)
    again.close(5)
    assert [i.id for i in mem.items] == ["ST-0004", "ST-0005"]


def test_a_wall_clock_set_back_and_forward_moves_no_tick(tmp_path: Path, scenario: LoadedScenario) -> None:
    _passed(drill_clock(scenario, seconds=2.0, folder=tmp_path))


def test_a_live_night_resumed_after_the_clock_was_set_back_goes_on_after_its_last_tick(
    tmp_path: Path, scenario: LoadedScenario
) -> None:
    from datetime import UTC, datetime

    from skywarden.service.live import LiveNight

    t = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    live = LiveNight(scenario, str(tmp_path / "n.sqlite"), exercise=False, wall=lambda: t)
    live.open()
    live.advance(5)
    last = live.rt.last_tick if live.rt else None
    live.stop()
    assert last is not None
    again = LiveNight(scenario, str(tmp_path / "n.sqlite"), exercise=False, wall=lambda: t - timedelta(hours=1))
    again.open()
    assert again.live_now() >= last
    again.stop()


def test_the_drills_bench_prints_per_drill(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.drills import main

    os.environ.setdefault("SKYWARDEN_CONFIG_DIR", str(Path.cwd()))
    assert main(["clock"]) == 0
    out = capsys.readouterr().out
    assert "clock: 1 of 1 passed" in out and "ticks" in out


def test_run_with_a_hanging_webhook_ends_on_time_and_resume_delivers(tmp_path: Path) -> None:
    """`run --publish --webhook` to a receiver that holds every request: the night ends (the
    undelivered item is said to wait), its log holds no delivery; resumed with the receiver
    answering, the item is delivered, once by its key, and journaled."""
    from bench.drills import hashes, run_cli
    from skywarden.disclosure.delivery import journal_url
    from skywarden.events import Delivered
    from skywarden.log import open_log

    night, out = tmp_path / "night.sqlite", tmp_path / "public"
    receiver = Receiver()
    receiver.hang.clear()
    try:
        res = run_cli("run", "--log", str(night), "--until", "00:20", "--publish", str(out),
                      "--webhook", receiver.url, "--deliver-wait", "1")  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert "not delivered yet" in res.stderr
        assert receiver.held >= 1 and receiver.order == []
        assert not any(k == "delivered" for k in _kinds(night))
        ref = hashes(str(night))
        receiver.hang.set()
        # (the default night publishes its first statement, ST-0001, at 00:22)
        res = run_cli("run", "--log", str(night), "--until", "00:23", "--resume", "--publish", str(out),
                      "--webhook", receiver.url)  # fmt: skip
        assert res.returncode == 0, res.stderr
    finally:
        receiver.stop()
    assert hashes(str(night))[: len(ref)] == ref
    assert "ST-0001" in receiver.order and len(receiver.order) == len(set(receiver.order))
    journal = open_log(journal_url(str(night)))
    answers = [r.event() for r in journal.read()]
    journal.close()
    assert any(isinstance(a, Delivered) and a.ok and a.item_id == "ST-0001" and a.channel == "webhook" for a in answers)
    assert (out / "statements").is_dir()


def _kinds(path: Path) -> list[str]:
    from bench.drills import kinds

    return kinds(str(path))
