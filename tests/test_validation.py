"""The bounds at every input edge (skywarden/ingest/validate.py): what users sent that stopped or
corrupted a night is now a counted rejection, and what is stored always decodes."""

from __future__ import annotations

import math
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden import events as E
from skywarden.cli import app
from skywarden.errors import LogError
from skywarden.ingest import ReportChecker
from skywarden.ingest.validate import (
    MAX_LINE_BYTES,
    Invalid,
    Window,
    check_encodable,
    check_input,
    guard_inputs,
    reason_key,
    round_trips,
)
from skywarden.log import SqliteLog
from skywarden.tracking import TrackingStage

runner = CliRunner()
NIGHT = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)  # the default scenario's start
T = NIGHT + timedelta(seconds=30)


def polar(**kw: object) -> E.PolarPlots:
    base: dict[str, object] = dict(
        t=T, sensor_id="r1", sensor_lat=55.7, sensor_lon=37.6, sensor_alt=150.0, range_m=[5000.0],
        azimuth_deg=[40.0], elevation_deg=[2.0], sigma_range_m=20.0, sigma_azimuth_deg=0.3, sigma_elevation_deg=0.5,
    )
    base.update(kw)
    return E.PolarPlots(**base)  # type: ignore[arg-type]


def position(**kw: object) -> E.PositionPlots:
    base: dict[str, object] = dict(t=T, sensor_id="rf1", lat=[55.75], lon=[37.62], alt=[200.0], sigma_m=[100.0])
    base.update(kw)
    return E.PositionPlots(**base)  # type: ignore[arg-type]


def line(ev: E.Event, **override: str) -> bytes:
    """The event's JSON with some fields' values replaced by raw JSON text."""
    import json

    obj = json.loads(E.encode(ev))
    for k, v in override.items():
        obj[k] = json.loads(v) if v not in ("NaN", "Infinity") else v
    text = json.dumps(obj)
    for k, v in override.items():
        if v in ("NaN", "Infinity"):
            text = text.replace(f'"{k}": "{v}"', f'"{k}": {v}')
    return text.encode()


KILL = E.KillReported(t=T, report_id="K1", lat=55.75, lon=37.62, alt=300.0)

# the reports users sent (the issue "Trust"), each with the reason key it must be rejected by
USERS_FOUND: dict[str, tuple[bytes, str]] = {
    "alt as the string nan": (line(position(), alt='["nan"]'), "not finite"),
    "alt NaN literal": (line(position(), alt='[NaN]'), "not JSON"),
    "sigma_m 1e308": (line(position(), sigma_m="[1e308]"), "out of range"),
    "sigma_azimuth_deg 1e308": (line(polar(), sigma_azimuth_deg="1e308"), "out of range"),
    "range 1e308": (line(polar(), range_m="[1e308]"), "out of range"),
    "azimuth inf as a string": (line(polar(), azimuth_deg='["inf"]'), "not finite"),
    "kill at 1e308 m": (line(KILL, alt="1e308"), "out of range"),
    "kill alt nan": (line(KILL, alt='"nan"'), "not finite"),
    "100,000 [": (b"[" * 100_000, "too deep"),
    "year 9999": (line(KILL, t='"9999-03-10T21:00:30Z"'), "time"),
    "year 1969": (line(KILL, t='"1969-03-10T21:00:30Z"'), "time"),
    "a 10 MB callsign": (line(E.AdsbReport(t=T, icao24="abc123", callsign="X", lat=55.7, lon=37.6, alt=900.0), callsign='"' + "A" * 10_000_000 + '"'), "too long"),
    "a 1,000-character callsign": (line(E.AdsbReport(t=T, icao24="abc123", callsign="X", lat=55.7, lon=37.6, alt=900.0), callsign='"' + "A" * 1000 + '"'), "too long"),
    "zero sigma": (line(polar(), sigma_range_m="0"), "out of range"),
    "identity list of the wrong length": (line(polar(), identity='["a", "b"]'), "lengths differ"),
    "sigma_m list of the wrong length": (line(position(), sigma_m="[1.0, 2.0]"), "lengths differ"),
    "latitude 91": (line(KILL, lat="91"), "out of range"),
}


@pytest.mark.parametrize("name", list(USERS_FOUND))
def test_what_users_sent_is_a_counted_rejection_with_its_reason(name: str):
    raw, key = USERS_FOUND[name]
    c = ReportChecker(source="t", window=Window.night(NIGHT, NIGHT + timedelta(hours=7)))
    got = c.check(raw, line=3)
    assert isinstance(got, E.ReportRejected), name
    assert reason_key(got.reason) == key, got.reason
    assert c.rejected == 1 and c.accepted == 0
    assert len(got.raw) <= 2000 and got.line == 3
    assert E.decode(E.encode(got)) == got  # the rejection itself is storable


def test_good_reports_pass_and_the_window_is_the_night():
    w = Window.night(NIGHT, NIGHT + timedelta(hours=7))
    c = ReportChecker(source="t", window=w)
    for ev in (polar(), position(), KILL):
        assert c.check(E.encode(ev)) == ev
    late = c.check(E.encode(E.KillReported(t=NIGHT + timedelta(hours=8), report_id="K2", lat=55.7, lon=37.6)))
    assert isinstance(late, E.ReportRejected) and "outside the night" in late.reason
    # without a window, still 2000 to 2100; with a receiving clock, not an hour ahead of it
    free = ReportChecker(source="t")
    ahead = free.check(E.encode(E.KillReported(t=T + timedelta(hours=2), report_id="K3", lat=55.7, lon=37.6)), now=T)
    assert isinstance(ahead, E.ReportRejected) and reason_key(ahead.reason) == "time"


def test_a_huge_line_costs_no_more_than_a_small_multiple_of_itself():
    raw, _ = USERS_FOUND["a 10 MB callsign"]
    c = ReportChecker(source="t")
    tracemalloc.start()
    try:
        got = c.check(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(got, E.ReportRejected)
    assert peak < 4 * 1024 * 1024  # the line is refused by its length before it is parsed


def test_jsonl_file_lines_are_read_bounded(tmp_path: Path):
    path = tmp_path / "r.jsonl"
    with path.open("wb") as fh:
        fh.write(E.encode(KILL) + b"\n")
        fh.write(b"{" + b"x" * (3 * MAX_LINE_BYTES) + b"\n")  # one line of 3 MiB
        fh.write(E.encode(E.KillReported(t=T + timedelta(seconds=1), report_id="K9", lat=55.7, lon=37.6)) + b"\n")
    from skywarden.ingest import JsonlSource

    src = JsonlSource(path)
    kinds = [type(e).__name__ for e in src]
    assert kinds == ["KillReported", "ReportRejected", "KillReported"]
    (rej,) = [e for e in src if isinstance(e, E.ReportRejected)]
    assert rej.line == 2 and reason_key(rej.reason) == "too long"


def test_check_input_covers_every_input_kind_field_by_field():
    bad = [
        E.AdsbReport(t=T, icao24="a", callsign="b", lat=55.0, lon=37.0, alt=1e6),
        E.AdsbReport(t=T, icao24="a", callsign="b", lat=55.0, lon=37.0, alt=100.0, ve=math.inf),
        E.RemoteIdReport(t=T, uas_id="u" * 300, lat=55.0, lon=37.0, alt=100.0),
        E.CrewReported(t=T, crew_id="c", site_id="s", status="en_route", eta_s=-1.0),
        E.ClaimRecorded(t=T, claim_id="c", source="s", what="kill", count=10**9),
        E.ClaimRecorded(t=T, claim_id="c", source="s", what="kill", radius_m=0.0),
        E.ExerciseControl(t=T, action="speed", speed=math.nan, user="u", role="r"),
        E.StatementEdited(t=T, statement_id="s", editor="e", role="r", text_en="x" * 9000, text_ru=""),
        polar(range_m=[1.0] * 5000, azimuth_deg=[1.0] * 5000, elevation_deg=[1.0] * 5000),
        E.KillReported(t=datetime(2025, 3, 10, 21, 0), report_id="K", lat=55.0, lon=37.0),  # noqa: DTZ001 (the naive time under test)
    ]
    for ev in bad:
        with pytest.raises(Invalid):
            check_input(ev)


def test_the_runtime_guard_turns_unencodable_inputs_into_rejections_and_refuses_derived():
    nan_plot = position(alt=[math.nan])
    assert round_trips(nan_plot).startswith("not encodable")
    good = polar()
    out = guard_inputs([good, nan_plot])
    assert out[0] is good and isinstance(out[1], E.ReportRejected) and out[1].source == "runtime"
    assert E.decode(E.encode(out[1])) == out[1]
    with pytest.raises(LogError, match="cannot be stored"):
        check_encodable([E.TrackConfirmed(t=T, track_id="T1", lat=math.nan, lon=37.0, alt=1.0)])


def test_tracking_refuses_what_it_cannot_use_and_goes_on(scenario):
    stage = TrackingStage(scenario)
    tick = E.Tick(t=T)
    evil = [
        polar(sigma_azimuth_deg=1e308),
        polar(range_m=[1e308]),
        position(sigma_m=[1e308]),
        position(alt=[math.nan]),
        E.AdsbReport(t=T, icao24="abc", callsign="X", lat=math.nan, lon=37.0, alt=100.0),
        E.RemoteIdReport(t=T, uas_id="u", lat=55.7, lon=37.6, alt=1e308),
    ]
    out = stage.step(T, [*evil, tick])
    refused = [e for e in out if isinstance(e, E.InputRefused)]
    assert len(refused) >= 3  # whole scans refused; single unusable plots dropped from theirs
    check_encodable(out)
    # and it goes on: a good scan next tick is taken
    nxt = stage.step(T + timedelta(seconds=1), [polar(t=T + timedelta(seconds=1)), E.Tick(t=T + timedelta(seconds=1))])
    assert not any(isinstance(e, E.InputRefused) for e in nxt)


def test_a_recording_of_bad_lines_plays_verifies_and_replays(tmp_path: Path):
    """The users' night: bad lines among good ones; the night plays to its end, the log
    verifies, every record decodes, and replay reproduces it."""
    rec = tmp_path / "reports.jsonl"
    good = [polar(t=NIGHT + timedelta(seconds=5 + k), azimuth_deg=[40.0 + 0.01 * k]) for k in range(30)]
    lines = [E.encode(g) for g in good]
    bad = [raw for name, (raw, _) in USERS_FOUND.items() if name != "a 10 MB callsign"]
    mixed = [x for pair in zip(lines, bad + [b""] * len(lines), strict=False) for x in pair if x]
    rec.write_bytes(b"\n".join(mixed) + b"\n")
    log = tmp_path / "night.sqlite"
    res = runner.invoke(app, ["run", "--log", str(log), "--until", "00:01", "--input", str(rec), "--workers", "1"])
    assert res.exit_code == 0, res.output
    db = SqliteLog(log)
    try:
        evs = [r.event() for r in db.read()]  # every stored record decodes
        assert db.verify().records == len(evs)  # raises TamperError on a broken chain
    finally:
        db.close()
    assert sum(isinstance(e, E.ReportRejected) for e in evs) == len(bad)
    assert sum(isinstance(e, E.PolarPlots) for e in evs) == len(good)
    res = runner.invoke(app, ["replay", str(log)])
    assert res.exit_code == 0, res.output


def test_reports_at_the_edges_of_the_bounds_do_not_stop_the_night(tmp_path: Path):
    """What passes the bounds at their extremes (a kill at the pole at 29,999 m, one at the
    city's antipode below sea level, a claim of a million over a 1,000 km radius, an unknown
    crew, an aircraft at 2,000 m/s) plays through every stage to the end."""
    t = [(NIGHT + timedelta(seconds=s)).isoformat().replace("+00:00", "Z") for s in (10, 20, 30, 40, 50, 55)]
    lines = [
        f'{{"kind":"kill_reported","t":"{t[0]}","report_id":"K1","lat":89.99,"lon":179.99,"alt":29999.0}}',
        f'{{"kind":"kill_reported","t":"{t[1]}","report_id":"K2","lat":-55.75,"lon":-142.38,"alt":-499.0}}',
        f'{{"kind":"kill_reported","t":"{t[2]}","report_id":"K3","lat":55.75,"lon":37.62,"track_ref":"T9999"}}',
        f'{{"kind":"claim_recorded","t":"{t[3]}","claim_id":"C1","source":"press","what":"kill","count":1000000,"lat":-90.0,"lon":-180.0,"radius_m":1000000.0}}',
        f'{{"kind":"crew_reported","t":"{t[4]}","crew_id":"nope","site_id":"nope","status":"en_route","eta_s":86400.0}}',
        f'{{"kind":"adsb","t":"{t[5]}","icao24":"abc","callsign":"X","lat":55.7,"lon":37.6,"alt":49999.0,"ve":1999.0,"vn":-1999.0,"vu":1999.0}}',
    ]
    rec = tmp_path / "extremes.jsonl"
    rec.write_text("\n".join(lines) + "\n")
    log = tmp_path / "night.sqlite"
    res = runner.invoke(app, ["run", "--log", str(log), "--until", "00:01", "--input", str(rec), "--workers", "1"])
    assert res.exit_code == 0, res.output
    db = SqliteLog(log)
    try:
        evs = [r.event() for r in db.read()]
    finally:
        db.close()
    assert not any(isinstance(e, E.ReportRejected) for e in evs)
    assert sum(isinstance(e, E.KillNumbered) for e in evs) == 3
    assert sum(isinstance(e, E.DebrisPredicted) for e in evs) == 3
    assert any(isinstance(e, E.InputRefused) and e.ref == "nope" for e in evs)
