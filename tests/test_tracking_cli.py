"""``skywarden track`` through typer's CliRunner, and the CSV reader's errors."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from skywarden.geo import LocalFrame
from skywarden.tracking.cli import track
from skywarden.tracking.recording import RecordingError, read_detections


def app() -> typer.Typer:
    a = typer.Typer()
    a.command("track")(track)

    @a.command("noop")
    def noop() -> None:  # a second command keeps "track" a named subcommand
        pass

    return a


def runner() -> CliRunner:
    return CliRunner()


def write_local(
    path: Path, heights: bool, seconds: int = 40, extra: str = ""
) -> list[tuple[float, float, float]]:
    """Two targets, one sensor each second, plus a couple of false plots."""
    rng = np.random.default_rng(0)
    truth = [((0.0, 0.0, 500.0), (40.0, 10.0, 0.0)), ((5000.0, 3000.0, 300.0), (-20.0, 30.0, 0.0))]
    lines = ["t,sensor_id,x,y" + (",z" if heights else "") + ",sigma"]
    for k in range(seconds):
        for p, v in truth:
            q = np.array(p) + k * np.array(v) + rng.normal(size=3) * 20
            lines.append(
                f"{k},cam," + f"{q[0]:.1f},{q[1]:.1f}" + (f",{q[2]:.1f}" if heights else "") + ",20"
            )
    path.write_text("\n".join(lines) + "\n" + extra)
    return [tuple(np.array(p) + (seconds - 1) * np.array(v)) for p, v in truth]


def read_out(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("heights", [False, True])
def test_retracks_a_local_frame_recording(tmp_path: Path, heights: bool) -> None:
    inp, out = tmp_path / "det.csv", tmp_path / "tracks.csv"
    final = write_local(inp, heights)
    res = runner().invoke(app(), ["track", "--input", str(inp), "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = read_out(out)
    cols = ["t", "track_id", "x", "y", "z", "vx", "vy", "vz", "class", "p_class"]
    if not heights:
        cols = [c for c in cols if c not in ("z", "vz")]
    assert list(rows[0].keys()) == cols
    last = [r for r in rows if r["t"] == "39"]
    assert sorted(r["track_id"] for r in last) == ["T0001", "T0002"]
    for r in last:
        d = min(math.hypot(float(r["x"]) - f[0], float(r["y"]) - f[1]) for f in final)
        assert d < 60.0
        assert (
            r["class"] in ("drone", "bird", "manned_aircraft", "unknown")
            and 0 <= float(r["p_class"]) <= 1
        )
    times = sorted({float(r["t"]) for r in rows})
    assert times == [float(t) for t in range(int(times[0]), 40)]  # every scan time once confirmed


def test_latlon_and_iso_times_round_trip(tmp_path: Path) -> None:
    f = LocalFrame(55.75, 37.62)
    rng = np.random.default_rng(1)
    lines = ["t,sensor_id,lat,lon,alt"]
    for k in range(30):
        e, n = 45.0 * k + rng.normal() * 10, 10.0 * k + rng.normal() * 10
        lat, lon = f.latlon(e, n)
        lines.append(f"2025-03-11T00:00:{k:02d}Z,rf,{lat:.7f},{lon:.7f},400")
    inp, out = tmp_path / "d.csv", tmp_path / "o.csv"
    inp.write_text("\n".join(lines) + "\n")
    res = runner().invoke(app(), ["track", "-i", str(inp), "-o", str(out), "--sigma", "15"])
    assert res.exit_code == 0, res.output
    rows = read_out(out)
    assert list(rows[0].keys()) == [
        "t",
        "track_id",
        "lat",
        "lon",
        "alt",
        "ve",
        "vn",
        "vu",
        "class",
        "p_class",
    ]
    last = rows[-1]
    assert last["t"] == "2025-03-11T00:00:29Z"
    e, n = f.point(float(last["lat"]), float(last["lon"]))
    assert math.hypot(e - 45.0 * 29, n - 10.0 * 29) < 40.0
    assert float(last["ve"]) == pytest.approx(45.0, abs=4.0)


def test_malformed_rows_are_reported_by_line_and_skipped(tmp_path: Path) -> None:
    inp, out = tmp_path / "det.csv", tmp_path / "tracks.csv"
    write_local(
        inp, False, extra="abc,cam,1,2,20\n40,cam,nan,1,20\n40,,1,2,20\n40,cam,1\n40,cam,1,2,-5\n"
    )
    res = runner().invoke(app(), ["track", "--input", str(inp), "--output", str(out)])
    assert res.exit_code == 0
    err = res.stderr if hasattr(res, "stderr") else res.output
    for line in (82, 83, 84, 85, 86):
        assert f"det.csv:{line}: skipped" in err
    assert "5 malformed skipped" in err
    assert read_out(out)


def test_no_usable_rows_exits_2(tmp_path: Path) -> None:
    inp = tmp_path / "bad.csv"
    inp.write_text("t,sensor_id,x,y\nfoo,a,1,2\n1,a,x,2\n")
    res = runner().invoke(
        app(), ["track", "--input", str(inp), "--output", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2
    assert "no usable rows" in (res.stderr if hasattr(res, "stderr") else res.output)


def test_missing_columns_and_missing_file_exit_2(tmp_path: Path) -> None:
    inp = tmp_path / "h.csv"
    inp.write_text("time,sensor,x\n1,a,2\n")
    res = runner().invoke(
        app(), ["track", "--input", str(inp), "--output", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2 and "lacks" in res.output
    res = runner().invoke(
        app(), ["track", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2 and "cannot read" in res.output
    res = runner().invoke(
        app(),
        ["track", "--input", str(inp), "--output", str(tmp_path / "o.csv"), "--confirm-m", "9"],
    )
    assert res.exit_code == 2


def test_reader_rejects_mixed_time_formats_and_both_frames(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("t,sensor_id,x,y\n1,a,0,0\n2025-03-11T00:00:00Z,a,0,0\n")
    det = read_detections(p, 50.0)
    assert len(det.sensor) == 1 and "mixes" in det.problems[0][1] and det.problems[0][0] == 3
    p.write_text("t,sensor_id,x,y,lat,lon\n1,a,0,0,1,1\n")
    with pytest.raises(RecordingError, match="both"):
        read_detections(p, 50.0)
    p.write_text("")
    with pytest.raises(RecordingError, match="empty"):
        read_detections(p, 50.0)


def test_docstring_carries_an_example() -> None:
    assert track.__doc__ is not None and "skywarden track --input" in track.__doc__
