"""A served night is the same night: the log it leaves is the one ``run --input`` makes of the
same inputs; killed with SIGKILL mid-night, the server resumes from its log with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import msgspec
import pytest

from skywarden import events as E
from skywarden.ingest.jsonl import JsonlSource, write_jsonl
from skywarden.log import open_log
from skywarden.play import play_night
from skywarden.runtime import SimulatedClock
from skywarden.scenario import LoadedScenario
from skywarden.service.live import Delta, LiveNight
from skywarden.service.picture import TRACK_COLUMNS, TRAIL


def test_a_served_night_and_the_same_inputs_played_by_run_give_the_same_log(
    scenario: LoadedScenario, tmp_path: Path
) -> None:
    served = tmp_path / "served.sqlite"
    live = LiveNight(scenario, str(served), exercise=True, operators=[("anna", "approver", "Anna"), ("boris", "dispatcher", "")])
    live.open()
    live.advance(400)
    # people's inputs between ticks, as the API puts them in the inbox
    live.submit(E.ClaimRecorded(t=scenario.start, claim_id="CLAIM-OPS-1", source="press", what="kill", count=2, recorded_by="anna"))
    live.submit(E.KillReported(t=scenario.start, report_id="OPS-1", lat=55.70, lon=37.45, reported_by="anna"))
    live.submit(E.AccessAudited(t=scenario.start, user="eve", action="login_failed", reason="wrong user or password", request_id="r1"))
    live.advance(1)
    live.submit(E.AccessAudited(t=scenario.start, user="eve", action="login_failed", reason="wrong user or password", request_id="r2"))
    live.advance(300)
    live.stop()

    log = open_log(served)
    records = [r.event() for r in log.read()]
    kinds = {E.kind(e) for e in records}
    assert {"operator_on_duty", "claim_recorded", "kill_reported", "access_audited", "kill_numbered"} <= kinds
    last_tick = max(e.t for e in records if isinstance(e, E.Tick))
    recording = tmp_path / "inputs.jsonl"
    write_jsonl(records, recording)
    log.close()

    played = open_log(tmp_path / "played.sqlite")
    play_night(scenario, played, until=last_tick, clock=SimulatedClock(), source=JsonlSource(recording), workers=1)
    a = [(r.seq, r.data, r.hash) for r in open_log(served).read()]
    b = [(r.seq, r.data, r.hash) for r in played.read()]
    assert len(a) == len(b) and a[-1][2] == b[-1][2]  # the same chain, byte for byte
    assert a == b


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(port: int, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _start(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "skywarden.cli", "serve", "--exercise", "--speed", "40",
           "--log", str(tmp / "night.sqlite"), "--bind", f"127.0.0.1:{port}"]  # fmt: skip
    errors = tmp / "serve.err"
    with errors.open("ab") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=tmp)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {errors.read_text()}")
        try:
            _call(port, "/api/night")
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not answer in 90 s")


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_mid_night_the_server_resumes_from_its_log_with_nothing_lost(tmp_path: Path) -> None:
    port = _start_port = _free_port()
    proc = _start(tmp_path, port)
    try:
        users = {u["user"]: u for u in tomllib.loads((tmp_path / "exercise-users.toml").read_text())["user"]}
        status, login = _call(port, "/api/login", {"user": "admin", "password": users["admin"]["password"]})
        assert status == 200
        token = login["token"]
        deadline = time.monotonic() + 60  # the first ticks load the compiled kernels
        while _call(port, "/api/night", token=token)[1]["ticks"] < 40 and time.monotonic() < deadline:
            time.sleep(0.2)
        status, acc = _call(port, "/api/claims", {"source": "witness", "what": "crash", "where": "north"}, token)
        assert status == 202 and acc["logged"], acc
        _, before = _call(port, "/api/night", token=token)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    log = open_log(tmp_path / "night.sqlite")
    assert log.verify().records == log.last_seq()  # the chain is whole
    logged = [r.event() for r in log.read()]
    log.close()
    assert any(isinstance(e, E.ClaimRecorded) and e.claim_id == acc["ref"] for e in logged)  # answered = logged

    proc = _start(tmp_path, _start_port)
    try:
        status, after = _call(port, "/api/night", token=token)  # the old session still holds
        assert status == 200 and after["ticks"] >= before["ticks"]  # resumed, nothing lost
        deadline = time.monotonic() + 60
        while after["ticks"] <= before["ticks"] + 5 and time.monotonic() < deadline:
            time.sleep(0.2)
            after = _call(port, "/api/night", token=token)[1]
        assert after["ticks"] > before["ticks"] + 5  # and goes on
        _, claims = _call(port, "/api/claims", token=token)
        assert acc["ref"] in [c["claim_id"] for c in claims]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    log = open_log(tmp_path / "night.sqlite")
    assert log.verify().records == log.last_seq()
    log.close()


def test_the_inbox_keeps_a_reports_time_within_its_tick_and_stamps_peoples_inputs() -> None:
    from datetime import UTC, datetime, timedelta

    from skywarden.service.live import Inbox

    t0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
    prev, now = t0, t0 + timedelta(seconds=1)

    def rid(uas: str, t: datetime) -> E.RemoteIdReport:
        return E.RemoteIdReport(t=t, uas_id=uas, lat=55.7, lon=37.6, alt=100.0)

    box = Inbox()
    box.put(rid("in-window", t0 + timedelta(seconds=0.5)), own_time=True)
    box.put(rid("late", t0 - timedelta(seconds=3)), own_time=True)
    box.put(rid("future", t0 + timedelta(seconds=9)), own_time=True)
    box.put(E.ClaimRecorded(t=t0 - timedelta(hours=1), claim_id="C", source="press", what="kill"))
    out = [ev for ev, _ in box.drain(now, prev)]
    assert [getattr(e, "uas_id", "claim") for e in out] == ["late", "in-window", "future", "claim"]
    assert out[0].t == prev + timedelta(microseconds=1)  # late: just after the previous tick
    assert out[1].t == t0 + timedelta(seconds=0.5)  # its own time
    assert out[2].t == now and out[3].t == now  # from the future / a person's: the tick's time
    assert len(box) == 0


def test_a_live_night_begins_when_served_and_replays_exactly(scenario: LoadedScenario, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from skywarden.pipeline import build_stages
    from skywarden.runtime import first_event, replay, scenario_of

    served_at = datetime(2026, 12, 3, 22, 14, 5, 250_000, tzinfo=UTC)
    live = LiveNight(scenario, str(tmp_path / "live.sqlite"), exercise=False, wall=lambda: served_at)
    live.open()
    assert live.scenario.start == served_at.replace(microsecond=0)
    assert live.scenario.end - live.scenario.start == scenario.end - scenario.start
    for k in range(1, 40):  # a camera reports one target flying east, a report a second
        t = live.scenario.start + timedelta(seconds=k - 0.5)
        live.submit(E.PositionPlots(t=t, sensor_id="cam-1", sensor_kind="camera", lat=[55.70], lon=[37.40 + 0.0005 * k],
                                    alt=[300.0], sigma_m=[10.0]), own_time=True)  # fmt: skip
        live.advance(1)
    assert live.picture.confirmed, "the camera's target became a track"
    live.stop()
    log = open_log(tmp_path / "live.sqlite")
    head = first_event(log)
    assert isinstance(head, E.NightOpened) and head.t == live.scenario.start
    report, _ = replay(log, build_stages(scenario_of(head)))
    assert report.identical and report.ticks == 39
    log.close()


def test_an_exercise_pauses_resumes_and_changes_pace_from_the_log(scenario: LoadedScenario, tmp_path: Path) -> None:
    live = LiveNight(scenario, str(tmp_path / "ex.sqlite"), exercise=True, speed=200.0)
    live.open()
    live.start()
    try:
        deadline = time.monotonic() + 20
        while live.picture.ticks < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        live.submit(E.ExerciseControl(t=scenario.start, action="pause", user="ann", role="duty_officer")).result(10)
        time.sleep(0.05)
        assert live.paused
        ticks = live.picture.ticks
        time.sleep(0.5)
        assert live.picture.ticks == ticks  # paused: the night stands still
        live.submit(E.ExerciseControl(t=scenario.start, action="speed", speed=400.0, user="ann", role="duty_officer")).result(10)
        assert live.speed == 400.0 and live.picture.ticks == ticks + 1  # a write while paused: one tick logs it
        live.submit(E.ExerciseControl(t=scenario.start, action="resume", user="ann", role="duty_officer")).result(10)
        deadline = time.monotonic() + 20
        while live.picture.ticks < ticks + 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live.picture.ticks >= ticks + 50 and not live.paused
    finally:
        live.stop()
    log = open_log(tmp_path / "ex.sqlite")
    controls = [r.event() for r in log.read() if r.event().__class__ is E.ExerciseControl]
    log.close()
    assert [c.action for c in controls] == ["pause", "speed", "resume"]  # the audit trail


def test_served_statements_are_published_to_the_channels(scenario: LoadedScenario, tmp_path: Path) -> None:
    from skywarden.cli import _sinks
    from skywarden.disclosure.delivery import journal_url

    db = str(tmp_path / "pub.sqlite")
    live = LiveNight(scenario, db, exercise=True, scripted_officers=True, sinks=_sinks(tmp_path / "out", log_url=db))
    live.open()
    for _ in range(40):
        live.advance(100)
        if live.picture.counts["statement_published"]:
            break
    live.stop()  # (waits for the publishing thread)
    assert live.picture.counts["statement_published"] >= 1
    assert live.picture.counts["delivered"] == 0  # the channels' answers are not in the night's log...
    journal = open_log(journal_url(db))
    answers = [r.event() for r in journal.read()]
    journal.close()
    assert answers and all(isinstance(a, E.Delivered) and a.ok for a in answers)  # ...but in its journal
    assert list((tmp_path / "out").rglob("*.txt")) and (tmp_path / "out" / "feed.atom").exists()


def test_the_first_tick_after_opening_keeps_a_reports_own_time(scenario: LoadedScenario) -> None:
    from datetime import timedelta

    live = LiveNight(scenario, "memory://", exercise=True)
    live.open()
    t = scenario.start + timedelta(seconds=0.25)
    live.submit(E.RemoteIdReport(t=t, uas_id="RID-FIRST", lat=55.75, lon=37.61, alt=50.0), own_time=True)
    live.advance(1)
    logged = [r.event() for r in live.log.read()] if live.log is not None else []
    (rid,) = [e for e in logged if isinstance(e, E.RemoteIdReport) and e.uas_id == "RID-FIRST"]
    assert rid.t == t  # not the tick's time


def test_deltas_carry_no_trails_and_a_client_rebuilds_the_servers_own(scenario: LoadedScenario, tmp_path: Path) -> None:
    """The WebSocket deltas carry the tracks as columns and leave the trails out; extending
    each track's trail with the positions the deltas bring (as the console's feed does) gives
    the server's trails, and the columns hold the server's tracks, property for property."""
    live = LiveNight(scenario, str(tmp_path / "night.sqlite"), exercise=True)
    live.open()
    live.advance(1300)  # to the first drones (00:20)
    held: dict[str, list[list[float]]] = {
        f["properties"]["track_id"]: f["properties"]["trail"] for f in msgspec.json.decode(live.state["tracks"])["features"]
    }
    deltas_with_tracks = 0

    def on_tick(delta: Delta, state: dict[str, Any]) -> None:
        nonlocal held, deltas_with_tracks
        tracks = delta.changed.get("tracks")
        if tracks is None:
            return
        deltas_with_tracks += 1
        assert tracks["type"] == "TrackColumns" and set(tracks) == {"type", *TRACK_COLUMNS}
        rebuilt: dict[str, list[list[float]]] = {}
        for i, tid in enumerate(tracks["track_id"]):
            trail = list(held.get(tid, []))
            at = [tracks["lon"][i], tracks["lat"][i]]
            if not trail or trail[-1] != at:
                trail.append(at)
            rebuilt[tid] = trail[-TRAIL:]
        held = rebuilt
        feats = msgspec.json.decode(state["tracks"])["features"]  # (encoded once, as the reads send it)
        server = {f["properties"]["track_id"]: f["properties"]["trail"] for f in feats}
        assert held == server
        as_read = [{"lon": f["geometry"]["coordinates"][0], "lat": f["geometry"]["coordinates"][1], **f["properties"]} for f in feats]
        for row in as_read:
            del row["trail"]
        assert [dict(zip(TRACK_COLUMNS, r, strict=True)) for r in zip(*(tracks[n] for n in TRACK_COLUMNS), strict=True)] == as_read

    live.on_tick = on_tick
    live.advance(120)
    assert deltas_with_tracks >= 100 and held and any(len(t) == TRAIL for t in held.values())
    # the state's tracks, encoded by the night without a dict per track, are the GeoJSON the
    # picture gives (as a read ?at= builds it), byte for byte
    assert msgspec.json.encode(live.state["tracks"]) == msgspec.json.encode(live.picture.c_tracks())
    live.stop()


def test_a_served_night_signs_its_checkpoints_with_the_site_key(scenario: LoadedScenario, tmp_path: Path) -> None:
    from skywarden.log.audit import audit
    from skywarden.log.checkpoint import Signing, load_public, new_keys
    from skywarden.log.sqlite import SqliteLog

    private, public = new_keys(tmp_path / "site")
    live = LiveNight(scenario, str(tmp_path / "night.sqlite"), exercise=True, signing=Signing(private, every=200))
    live.open()
    live.advance(300)
    live.stop()  # closes the log: the checkpoint at close
    log = SqliteLog(tmp_path / "night.sqlite")
    report = audit(log, load_public(public))
    assert report.ok, report.problems
    assert report.checkpoints >= 2 and report.signed_up_to == log.last_seq()
    log.close()
