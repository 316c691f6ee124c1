"""Stage snapshots (skywarden.snapshot): a tick injected into a played night from the snapshot is
the tick a full replay gives, and a snapshot that is not exactly the log's state is ignored."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from skywarden import runtime, snapshot
from skywarden.events import ClaimAssessed, ClaimRecorded
from skywarden.log import MemoryLog, open_log
from skywarden.pipeline import DEFAULT_ORDER
from skywarden.play import play_night
from skywarden.scenario import LoadedScenario

UNTIL = "00:15"
CAN_SPLIT = hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


def _claim(scenario: LoadedScenario, n: int) -> ClaimRecorded:
    return ClaimRecorded(
        t=scenario.at(UNTIL), claim_id=f"CL-{n:04d}", source="Channel X", what="kill", count=3,
        when_from=scenario.at("00:00"), when_to=scenario.at(UNTIL), where="south-west",
        text="three drones shot down over the south-west",
    )  # fmt: skip


def _play(folder: Path, scenario: LoadedScenario, workers: int) -> Path:
    db = folder / "night.sqlite"
    log = open_log(db)
    try:
        play_night(scenario, log, until=scenario.at(UNTIL), workers=workers)
    finally:
        log.close()
    return db


def _hashes(db: Path) -> list[bytes]:
    log = open_log(db)
    try:
        return [r.hash for r in log.read()]
    finally:
        log.close()


@pytest.fixture(scope="module", params=[1, pytest.param(2, marks=pytest.mark.skipif(
    not CAN_SPLIT, reason="two processes need fork and two cores"))])  # fmt: skip
def played(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, scenario) -> Path:
    return _play(tmp_path_factory.mktemp(f"played{request.param}"), scenario, request.param)


@pytest.fixture()
def no_replay(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the replays inject makes (and still makes them)."""
    calls: list[int] = []
    real = runtime.replay

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime, "replay", counting)
    return calls


def test_an_injected_tick_from_the_snapshot_is_the_replayed_one(
    played: Path, tmp_path: Path, scenario: LoadedScenario, no_replay: list[int]
) -> None:
    assert snapshot.snapshot_path(open_log(played)) == played.with_name("night.sqlite.stages")
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    fast.mkdir(), slow.mkdir()
    shutil.copy(played, fast / "night.sqlite")
    shutil.copy(played.with_name("night.sqlite.stages"), fast / "night.sqlite.stages")
    shutil.copy(played, slow / "night.sqlite")  # no snapshot: inject replays
    claims = [_claim(scenario, 1)]
    got_fast = runtime.inject(str(fast / "night.sqlite"), claims)
    assert no_replay == []
    got_slow = runtime.inject(str(slow / "night.sqlite"), claims)
    assert no_replay == [1]
    assert got_fast == got_slow and any(isinstance(e, ClaimAssessed) for e in got_fast)
    assert _hashes(fast / "night.sqlite") == _hashes(slow / "night.sqlite")
    # each left a snapshot at its new head, and the next tick also needs no replay
    runtime.inject(str(slow / "night.sqlite"), [_claim(scenario, 2)])
    runtime.inject(str(fast / "night.sqlite"), [_claim(scenario, 2)])
    assert no_replay == [1]
    assert _hashes(fast / "night.sqlite") == _hashes(slow / "night.sqlite")


def test_a_snapshot_of_another_head_code_or_damaged_is_ignored(
    tmp_path: Path, scenario: LoadedScenario, monkeypatch: pytest.MonkeyPatch, no_replay: list[int]
) -> None:
    db = _play(tmp_path, scenario, workers=1)
    snap = db.with_name("night.sqlite.stages")
    names = list(DEFAULT_ORDER)
    log = open_log(db)
    try:
        assert snapshot.restore(log, names) is not None
        assert snapshot.restore(log, names[:-1]) is None  # other stages
        with monkeypatch.context() as m:
            m.setattr(snapshot, "code_fingerprint", lambda: "another build")
            assert snapshot.restore(log, names) is None
        good = snap.read_bytes()
        snap.write_bytes(good[:-10] + bytes(b ^ 1 for b in good[-10:]))  # a damaged payload
        assert snapshot.restore(log, names) is None
        snap.write_bytes(b"not a snapshot\n")
        assert snapshot.restore(log, names) is None
        snap.write_bytes(good)
    finally:
        log.close()
    old = snap.read_bytes()
    runtime.inject(str(db), [_claim(scenario, 1)])  # the log moves on; a new snapshot
    assert no_replay == []
    snap.write_bytes(old)  # the snapshot of the earlier head, put back
    log = open_log(db)
    try:
        assert snapshot.restore(log, names) is None
    finally:
        log.close()
    runtime.inject(str(db), [_claim(scenario, 2)])
    assert no_replay == [1]  # so inject replayed


def test_logs_without_a_file_have_no_snapshot(scenario: LoadedScenario) -> None:
    log = MemoryLog()
    play_night(scenario, log, until=scenario.at("00:01"), workers=1)
    assert snapshot.snapshot_path(log) is None
