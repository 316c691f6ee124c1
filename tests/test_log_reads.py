"""What the commands about one statement, claim or incident read from a night's log instead of
decoding it whole (``skywarden.log.peek``, ``snapshot.restore_stage``, ``incident_events``), held
to what the whole log gives, and the commands' answers on a played night."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden import snapshot
from skywarden.cli import app
from skywarden.disclosure.stage import DisclosureStage, replay_statements
from skywarden.events import (
    KIND_OF,
    ClaimRecorded,
    Event,
    NightOpened,
    StatementDrafted,
    Tick,
    TrackClassified,
    TrackPicture,
)
from skywarden.log import EventLog, MemoryLog, open_log
from skywarden.log.incidents import build_incidents, incident_events
from skywarden.log.peek import first_event, latest_time, read_kinds
from skywarden.pipeline import DEFAULT_ORDER
from skywarden.play import play_night
from skywarden.scenario import LoadedScenario

UNTIL = "00:30"  # kills, debris, crews and statements by then


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory, scenario: LoadedScenario) -> Path:
    """The default night to 00:30 in a SQLite log, with its stage snapshot beside it."""
    db = tmp_path_factory.mktemp("night") / "night.sqlite"
    log = open_log(db)
    try:
        play_night(scenario, log, until=scenario.at(UNTIL), workers=1)
    finally:
        log.close()
    assert db.with_name("night.sqlite.stages").is_file()
    return db


@pytest.fixture()
def copy(night: Path, tmp_path: Path) -> Path:
    """A copy of the night (and its snapshot) that a test may append to."""
    db = tmp_path / "night.sqlite"
    shutil.copy(night, db)
    shutil.copy(night.with_name("night.sqlite.stages"), tmp_path / "night.sqlite.stages")
    return db


def _events(log: EventLog) -> list[Event]:
    return [r.event() for r in log.read()]


def _memory(events: list[Event]) -> MemoryLog:
    log = MemoryLog()
    log.append(events)
    return log


def test_first_event_latest_time_and_kinds_agree_with_the_whole_log(night: Path) -> None:
    log = open_log(night)
    try:
        events = _events(log)
        mem = _memory(events)
        for lg in (log, mem):
            assert first_event(lg) == events[0] and isinstance(events[0], NightOpened)
            assert latest_time(lg) == max(e.t for e in events)
            kinds = [KIND_OF[StatementDrafted], KIND_OF[TrackClassified]]
            got = [r.event() for r in read_kinds(lg, kinds)]
            assert got == [e for e in events if isinstance(e, StatementDrafted | TrackClassified)]
            assert len(got) > 5
            after = len(events) // 2
            assert [r.seq for r in read_kinds(lg, kinds, after)] == [
                r.seq for r in read_kinds(lg, kinds) if r.seq > after
            ]
            assert list(read_kinds(lg, [])) == []
    finally:
        log.close()
    assert first_event(MemoryLog()) is None and latest_time(MemoryLog()) is None


def test_latest_time_looks_back_past_a_long_tail_without_a_tick(scenario: LoadedScenario) -> None:
    """Inputs appended after the last tick (none ticked yet) are later than it: they count."""
    t = scenario.start
    opened = NightOpened(t=t, scenario="moscow", seed=1, tick_s=1.0, timezone="Europe/Moscow")
    claims = [
        ClaimRecorded(t=t + timedelta(seconds=10 + i), claim_id=f"CL-{i:04d}", source="s", what="kill", text="")
        for i in range(300)
    ]
    log = _memory([opened, Tick(t=t + timedelta(seconds=1)), *claims])
    assert latest_time(log) == claims[-1].t
    assert latest_time(_memory([opened])) == t


def test_the_disclosure_stage_alone_is_the_one_the_snapshot_restores(
    copy: Path, scenario: LoadedScenario
) -> None:
    names = list(DEFAULT_ORDER)
    log = open_log(copy)
    try:
        alone = snapshot.restore_stage(log, names, "disclosure")
        whole = snapshot.restore(log, names)
        assert isinstance(alone, DisclosureStage) and whole is not None
        replayed = replay_statements(scenario, _events(log))
        assert alone.statements == replayed and len(replayed) >= 3
        assert alone.statements == next(s for s in whole.stages if isinstance(s, DisclosureStage)).statements
        assert snapshot.restore_stage(log, names, "tracking") is None  # not written alone
        assert snapshot.restore_stage(log, names[:-1], "disclosure") is None  # other stages
        snap = copy.with_name("night.sqlite.stages")
        good = snap.read_bytes()
        mac_end = good.index(b"\n", len(snapshot.MAGIC)) + 1  # the header: its MAC, then its line
        head_end = good.index(b"\n", mac_end) + 1
        damaged = bytearray(good)
        damaged[head_end + 100] ^= 1  # a byte of the disclosure stage's own section
        snap.write_bytes(bytes(damaged))
        assert snapshot.restore_stage(log, names, "disclosure") is None
        assert snapshot.restore(log, names) is not None  # the stages together are intact
        snap.write_bytes(good)
        log.append([Tick(t=scenario.at(UNTIL) + timedelta(seconds=5))])  # the log moves on
        assert snapshot.restore_stage(log, names, "disclosure") is None
    finally:
        log.close()


def test_incident_events_give_the_incidents_of_the_whole_log(night: Path) -> None:
    log = open_log(night)
    try:
        events = _events(log)
        full = build_incidents(events)
        assert len(full) >= 5 and any(i.kills for i in full) and any(i.crews for i in full)
        for lg in (log, _memory(events)):
            read = incident_events(lg)
            assert len(read) < len(events) / 5
            assert build_incidents(read) == full
    finally:
        log.close()


def test_incident_events_keep_pictures_until_a_track_has_a_class(scenario: LoadedScenario) -> None:
    """A track first shown without a class takes its class from the first picture that has one."""
    t = scenario.start
    events: list[Event] = [NightOpened(t=t, scenario="moscow", seed=1, tick_s=1.0, timezone="Europe/Moscow")]
    for k, (cls, lat) in enumerate([("", 55.70), ("", 55.71), ("drone", 55.72), ("bird", 55.73), ("bird", 55.74)]):
        tk = t + timedelta(seconds=k + 1)
        events += [
            Tick(t=tk),
            TrackPicture(t=tk, track_id=["T1", "T2"], lat=[lat, 55.0], lon=[37.6, 37.0], alt=[300.0, 900.0],
                         ve=[0.0, 0.0], vn=[0.0, 0.0], vu=[0.0, 0.0], sigma_m=[30.0, 30.0], cls=[cls, "bird"],
                         p_cls=[0.5, 0.9]),
        ]  # fmt: skip
        if k == 3:
            events.append(TrackClassified(t=tk, track_id="T1", cls="drone", p=0.9))
    log = _memory(events)
    read = incident_events(log)
    pictures = [e for e in read if isinstance(e, TrackPicture)]
    assert [p.lat[0] for p in pictures] == [55.70, 55.71, 55.72, 55.74]  # to the class, and the last
    full = build_incidents(events)
    assert build_incidents(read) == full and [i.incident_id for i in full] == ["INC-T1"]
    assert full[0].cls == "drone" and full[0].last_position == (55.74, 37.6)


def test_the_commands_answer_from_the_reads_as_from_the_whole_log(copy: Path, scenario: LoadedScenario) -> None:
    runner = CliRunner()
    wide = {"COLUMNS": "250"}
    fast = runner.invoke(app, ["statement", "list", "--log", str(copy)], env=wide)
    slow = runner.invoke(app, ["statement", "list", "--log", str(copy), "--scenario", str(scenario.path)], env=wide)
    assert fast.exit_code == 0 and slow.exit_code == 0, fast.output + slow.output
    assert fast.output == slow.output and "ST-0001" in fast.output
    res = runner.invoke(app, ["claim", "add", "--log", str(copy), "--source", "Channel X", "--what", "kill",
                              "--count", "2", "--where", "south", "--text", "two down"], env=wide)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "recorded CL-0001" in res.output
    log = open_log(copy)
    try:
        events = _events(log)
        claim = next(e for e in events if isinstance(e, ClaimRecorded))
        ticks = [e for e in events if isinstance(e, Tick)]
        # the claim is timed at the log's latest time, and ticked one tick after it
        assert claim.t == ticks[-2].t and ticks[-1].t == ticks[-2].t + timedelta(seconds=1)
    finally:
        log.close()
    res = runner.invoke(app, ["claim", "list", "--log", str(copy)], env=wide)
    assert res.exit_code == 0 and "CL-0001" in res.output and "Channel X" in res.output
    res = runner.invoke(app, ["incident", "show", "kill:1", "--log", str(copy)], env=wide)
    assert res.exit_code == 0 and "kill #1 " in res.output, res.output
