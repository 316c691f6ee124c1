"""``skywarden track`` through typer's CliRunner, and the CSV reader's errors."""

from __future__ import annotations

import csv
import math
import os
import stat
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


# --------------------------------------------------------------------------- formats in and out


def _to_parquet(csv_path: Path, parquet_path: Path, iso: bool = False) -> None:
    """The same detections as a typed Parquet file (t a timestamp column when ISO)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types={"t": pa.string(), "sensor_id": pa.string()}))
    if iso:
        t = pa.compute.cast(pa.compute.replace_substring_regex(table.column("t"), "Z$", ""), pa.timestamp("us"))
        table = table.set_column(0, "t", pa.compute.cast(t, pa.timestamp("us", tz="UTC")))
    else:
        table = table.set_column(0, "t", pa.compute.cast(table.column("t"), pa.float64()))
    pq.write_table(table, parquet_path, row_group_size=200)  # several row groups


@pytest.mark.parametrize("iso", [False, True])
def test_csv_and_parquet_in_and_out_give_the_same_tracks(tmp_path: Path, iso: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    inp = tmp_path / "det.csv"
    write_local(inp, True)
    if iso:
        text = inp.read_text().splitlines()
        inp.write_text("\n".join([text[0]] + [f"2025-03-11T00:00:{int(r.split(',')[0]):02d}Z," + r.split(",", 1)[1] for r in text[1:]]) + "\n")
    pin = tmp_path / "det.parquet"
    _to_parquet(inp, pin, iso)
    outs = {}
    for src in (inp, pin):
        for suffix in (".csv", ".parquet"):
            out = tmp_path / f"tracks-{src.suffix[1:]}{suffix}"
            res = runner().invoke(app(), ["track", "-i", str(src), "-o", str(out)])
            assert res.exit_code == 0, res.output
            outs[src.suffix, suffix] = out
    # the same tracks from either input, to the byte
    assert outs[".csv", ".csv"].read_bytes() == outs[".parquet", ".csv"].read_bytes()
    a = pq.read_table(outs[".csv", ".parquet"])
    assert a.equals(pq.read_table(outs[".parquet", ".parquet"]))
    # Parquet out: the CSV's columns, typed, the values the CSV rounds
    assert a.column_names == ["t", "track_id", "x", "y", "z", "vx", "vy", "vz", "class", "p_class"]
    want_t = pa.timestamp("us", tz="UTC") if iso else pa.float64()
    assert [f.type for f in a.schema] == [want_t, pa.string()] + [pa.float64()] * 6 + [pa.string(), pa.float64()]
    rows = read_out(outs[".csv", ".csv"])
    assert len(rows) == a.num_rows > 0
    got = a.to_pylist()
    for r, g in zip(rows, got, strict=True):
        assert r["track_id"] == g["track_id"] and r["class"] == g["class"]
        assert r["x"] == f"{g['x']:.2f}" and r["vz"] == f"{g['vz']:.2f}" and r["p_class"] == f"{g['p_class']:.3f}"
        if iso:
            assert r["t"] == g["t"].isoformat().replace("+00:00", "Z")
        else:
            assert float(r["t"]) == g["t"]


def test_a_failed_run_leaves_the_output_as_it_was(tmp_path: Path) -> None:
    inp, out = tmp_path / "bad.csv", tmp_path / "o.csv"
    inp.write_text("t,sensor_id,x,y\n" + "1,a,nan,2\n" * 50)
    out.write_text("earlier tracks\n")
    res = runner().invoke(app(), ["track", "-i", str(inp), "-o", str(out)])
    assert res.exit_code == 2 and "no usable rows" in res.output
    assert out.read_text() == "earlier tracks\n" and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "o.csv"]
    write_local(inp, False)
    res = runner().invoke(app(), ["track", "-i", str(inp), "-o", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("t,track_id,x,y,vx,vy,class,p_class\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # as a file opened for writing


def test_rows_out_of_time_order_are_put_back_or_reported(tmp_path: Path) -> None:
    inp = tmp_path / "det.csv"
    write_local(inp, False)
    rows = inp.read_text().splitlines()
    shuffled = [rows[0], *rows[1:41], *rows[45:61], *rows[41:45], *rows[61:]]  # 2 scans 8 s late
    (tmp_path / "late.csv").write_text("\n".join(shuffled) + "\n")
    outs = []
    for name in ("det.csv", "late.csv"):
        res = runner().invoke(app(), ["track", "-i", str(tmp_path / name), "-o", str(tmp_path / f"{name}.out")])
        assert res.exit_code == 0 and "0 malformed skipped" in res.output
        outs.append((tmp_path / f"{name}.out").read_bytes())
    assert outs[0] == outs[1]
    res = runner().invoke(app(), ["track", "-i", str(tmp_path / "late.csv"), "-o", str(tmp_path / "o"), "--reorder-window", "5"])
    assert res.exit_code == 0 and "4 malformed skipped" in res.output
    for line in (58, 59, 60, 61):
        assert f"late.csv:{line}: skipped: out of time order" in res.output


# -------------------------------------------------------------------------- memory and progress

RUN = """
import sys
from skywarden.cli import app

def status(key):
    with open("/proc/self/status") as fh:
        return int(fh.read().split(key + ":")[1].split()[0]) // 1024

def run(inp, out):
    sys.argv = ["skywarden", "track", "-i", inp, "-o", out]
    try:
        app()
    except SystemExit as exc:
        assert not exc.code, exc.code

small, big, folder = sys.argv[1:4]
for fmt in ("csv", "parquet"):  # every module and kernel loaded once
    run(small, f"{folder}/small-tracks.{fmt}")
for fmt in ("csv", "parquet"):
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the peak (VmHWM) starts again from here
    start = status("VmRSS")
    run(big, f"{folder}/tracks.{fmt}")
    print(fmt, status("VmHWM") - start)
"""
ROOT = Path(__file__).resolve().parents[1]


def _padded(path: Path, scans: int, per_scan: int = 300, pad: int = 2000) -> int:
    """A recording made large by a column the reader ignores: ``scans`` seconds of
    ``per_scan`` targets; returns its size in MB."""
    rng = np.random.default_rng(0)
    p0, v = rng.uniform(-20000, 20000, (per_scan, 2)), rng.uniform(-30, 30, (per_scan, 2))
    tail = "," + "p" * pad + "\n"
    with path.open("w") as fh:
        fh.write("t,sensor_id,x,y,pad\n")
        for k in range(scans):
            q = p0 + k * v
            fh.write("".join(f"{k},r,{x:.1f},{y:.1f}{tail}" for x, y in q))
    return path.stat().st_size >> 20


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
def test_a_recording_larger_than_the_memory_it_may_use_streams_through(tmp_path: Path) -> None:
    import subprocess
    import sys

    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _padded(small, 10)
    size_mb = _padded(big, 240)
    allowed = 32  # MB the run may grow by, after a run on a small file; the file is over 4 times that
    assert size_mb >= 4 * allowed
    res = subprocess.run([sys.executable, "-c", RUN, str(small), str(big), str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    growth = dict(line.split() for line in res.stdout.splitlines())
    assert set(growth) == {"csv", "parquet"}
    for fmt, mb in growth.items():
        assert int(mb) < allowed, (fmt, mb, size_mb)
    assert (tmp_path / "tracks.parquet").stat().st_size > 0 and (tmp_path / "tracks.csv").stat().st_size > 0
    big.unlink()


def test_no_progress_bar_unless_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    inp = tmp_path / "det.csv"
    _padded(inp, 40, per_scan=100, pad=0)
    cmd = [sys.executable, "-m", "skywarden.cli", "track", "-i", str(inp), "-o", str(tmp_path / "o.csv")]
    env = {**os.environ, "SKYWARDEN_PROGRESS_AFTER_S": "0"}
    piped = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert piped.stderr.splitlines() == [f"4000 rows read, 4000 used, 0 malformed skipped; {len(read_out(tmp_path / 'o.csv'))} track rows written to {tmp_path / 'o.csv'}"]

    def on_a_terminal(*extra: str) -> str:
        master, slave = pty.openpty()
        with subprocess.Popen([*cmd, *extra], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=slave) as proc:
            os.close(slave)
            seen = b""
            while True:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            proc.wait(timeout=120)
        os.close(master)
        return seen.decode(errors="replace")

    shown = on_a_terminal()
    assert "tracking det.csv" in shown and "4000 rows read" in shown
    quiet = on_a_terminal("--quiet")
    assert "tracking det.csv" not in quiet and "4000 rows read" in quiet
