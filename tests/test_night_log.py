"""The night on the real stages and simulator: determinism, replay equivalence, tamper detection,
and a run killed with SIGKILL that reopens intact and continues to the same log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.cli import app
from skywarden.log import MemoryLog, SqliteLog
from skywarden.pipeline import build_stages
from skywarden.play import play_night
from skywarden.runtime import replay

UNTIL = "00:45"  # the first wave is airborne and tracked by then; keeps the tests quick


def _play(scenario, seed: int | None = None) -> MemoryLog:  # type: ignore[no-untyped-def]
    log = MemoryLog()
    play_night(scenario, log, until=scenario.at(UNTIL), seed=seed)
    return log


@pytest.fixture(scope="module")
def night(scenario) -> MemoryLog:  # type: ignore[no-untyped-def]
    return _play(scenario)


def test_same_seed_same_log(scenario, night):
    again = _play(scenario)
    assert night.last_seq() == again.last_seq() > 1000
    assert [r.hash for r in night.read()] == [r.hash for r in again.read()]


def test_other_seed_other_log(scenario, night):
    other = _play(scenario, seed=scenario.spec.night.seed + 1)
    assert [r.hash for r in other.read()][-1] != [r.hash for r in night.read()][-1]


def test_replay_reproduces_every_derived_event(scenario, night):
    report, _ = replay(night, build_stages(scenario))
    assert report.derived_logged > 100
    assert report.identical, report.first_difference


def test_tampering_one_byte_is_named(scenario, night, tmp_path):
    path = tmp_path / "night.sqlite"
    log = SqliteLog(path)
    log.append([r.event() for r in night.read()])
    log.close()
    runner = CliRunner()
    ok = runner.invoke(app, ["log", "verify", str(path)])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    target = 777
    db = sqlite3.connect(path)
    (data,) = db.execute("SELECT data FROM events WHERE seq = ?", (target,)).fetchone()
    flipped = bytearray(data)
    i = flipped.index(b'"t":"') + 8  # the last digit of the year
    flipped[i] = ord("9") if flipped[i] != ord("9") else ord("8")
    db.execute("UPDATE events SET data = ? WHERE seq = ?", (bytes(flipped), target))
    db.commit()
    db.close()
    bad = runner.invoke(app, ["log", "verify", str(path)])
    assert bad.exit_code == 1
    assert f"record {target}, column data:" in " ".join(bad.output.split())


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "skywarden.cli", *args]


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []  # no /proc children list here: nothing to check


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left


def test_sigkill_mid_night_reopens_intact_and_continues(scenario, tmp_path):
    until = "00:40"
    killed = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    errlog = tmp_path / "stderr.txt"
    with errlog.open("wb") as errfh:
        proc = subprocess.Popen(_cli("run", "--log", str(killed), "--until", until), env=env, stdout=subprocess.DEVNULL, stderr=errfh)
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if killed.exists():
            try:
                with sqlite3.connect(f"file:{killed}?mode=ro", uri=True) as db:
                    seen = db.execute("SELECT count(*) FROM events").fetchone()[0]
            except sqlite3.Error:
                continue
            if seen > 3000:
                break
    assert proc.poll() is None, f"the run ended before it could be killed: {errlog.read_text()}"
    workers = _children(proc.pid)  # the tracking worker of a night on two processes
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "the worker outlived the killed run"
    log = SqliteLog(killed)
    rep = log.verify()
    assert rep.records >= seen
    partial = rep.records
    log.close()
    res = subprocess.run(_cli("run", "--log", str(killed), "--until", until, "--resume"), env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "resumed after" in res.stdout
    # the continued log is exactly the log of a run that was never interrupted
    whole = tmp_path / "whole.sqlite"
    res2 = subprocess.run(_cli("run", "--log", str(whole), "--until", until), env=env, capture_output=True, text=True, timeout=300)
    assert res2.returncode == 0, res2.stderr
    a, b = SqliteLog(killed), SqliteLog(whole)
    assert a.verify().records > partial
    assert [r.hash for r in a.read()] == [r.hash for r in b.read()]
    a.close()
    b.close()


def test_a_log_holding_a_night_refuses_a_fresh_start(scenario, tmp_path):
    path = tmp_path / "n.sqlite"
    log = SqliteLog(path)
    play_night(scenario, log, until=scenario.at("00:02"))
    from skywarden.errors import LogError

    with pytest.raises(LogError, match="--resume"):
        play_night(scenario, log, until=scenario.at("00:03"))
    log.close()
