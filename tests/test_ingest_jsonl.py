from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skywarden import events as E
from skywarden.ingest import JsonlSource, ReportChecker, write_jsonl

T = datetime(2025, 3, 11, 0, 10, tzinfo=UTC)


def kill(i: int, dt: float = 0.0, **kw: object) -> E.KillReported:
    return E.KillReported(t=T + timedelta(seconds=dt), report_id=f"R{i}", lat=55.7, lon=37.6, **kw)  # type: ignore[arg-type]


def test_good_lines_become_events():
    c = ReportChecker(source="test")
    ev = c.check(E.encode(kill(1)))
    assert ev == kill(1) and c.accepted == 1 and c.rejected == 0


def test_each_kind_of_bad_input_is_a_counted_rejection():
    c = ReportChecker(source="test")
    bad = {
        "not json": b"{oops",
        "not an object": b"[1,2]",
        "unknown kind": b'{"kind":"teleport","t":"2025-03-11T00:10:00Z"}',
        "derived kind": E.encode(E.TrackDropped(t=T, track_id="T1", reason="x")),
        "unknown field": E.encode(kill(2))[:-1] + b',"colour":"red"}',
        "impossible coordinate": E.encode(E.KillReported(t=T, report_id="R3", lat=123.0, lon=37.6)),
        "wrong type": b'{"kind":"kill_reported","t":"2025-03-11T00:10:00Z","report_id":"R4","lat":"north","lon":37.6}',
        "naive time": b'{"kind":"kill_reported","t":"2025-03-11T00:10:00","report_id":"R5","lat":55.7,"lon":37.6}',
    }
    reasons = {}
    for name, raw in bad.items():
        ev = c.check(raw, line=7)
        assert isinstance(ev, E.ReportRejected), name
        assert ev.line == 7 and ev.source == "test"
        reasons[name] = ev.reason
    assert c.rejected == len(bad)
    assert "unknown field" in reasons["unknown field"] and "colour" in reasons["unknown field"]
    assert reasons["impossible coordinate"].startswith("out of range: lat 123")
    assert "cannot come from outside" in reasons["derived kind"]
    assert "zone" in reasons["naive time"]


def test_duplicates_and_out_of_order_are_rejected():
    c = ReportChecker(source="test", reorder_tolerance_s=5)
    assert isinstance(c.check(E.encode(kill(1, 10))), E.KillReported)
    dup = c.check(E.encode(kill(1, 10)))
    assert isinstance(dup, E.ReportRejected) and "duplicate" in dup.reason
    late_ok = c.check(E.encode(kill(2, 7)))  # 3 s late: within tolerance
    assert isinstance(late_ok, E.KillReported)
    too_late = c.check(E.encode(kill(3, 0)))
    assert isinstance(too_late, E.ReportRejected) and "out of order" in too_late.reason


def test_polar_plot_lengths_checked():
    c = ReportChecker(source="test")
    p = E.PolarPlots(
        t=T, sensor_id="r", sensor_lat=55.7, sensor_lon=37.6, sensor_alt=0, range_m=[1000.0, 2000.0],
        azimuth_deg=[1.0], elevation_deg=[1.0, 2.0], sigma_range_m=10, sigma_azimuth_deg=0.1, sigma_elevation_deg=0.1,
    )
    ev = c.check(E.encode(p))
    assert isinstance(ev, E.ReportRejected) and "lengths" in ev.reason


def test_file_source_releases_in_time_and_keeps_rejections(tmp_path):
    good = [kill(i, 2 * i) for i in range(5)]
    path = tmp_path / "reports.jsonl"
    assert write_jsonl(good, path) == 5
    with path.open("ab") as fh:
        fh.write(b"garbage line\n\n")
    src = JsonlSource(path)
    assert src.checker.accepted == 5 and src.checker.rejected == 1
    first = src.poll(T + timedelta(seconds=3))
    assert [type(e).__name__ for e in first].count("KillReported") == 2
    rest = src.poll(T + timedelta(seconds=60))
    assert [type(e).__name__ for e in rest].count("KillReported") == 3
    # a rejection carries the time of the last good report read before it, and its line number
    (rej,) = [e for e in rest if isinstance(e, E.ReportRejected)]
    assert rej.line == 6 and rej.t == T + timedelta(seconds=8) and rej.raw == "garbage line"
    assert src.poll(T + timedelta(seconds=90)) == []
