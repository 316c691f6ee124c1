"""The recording reader's verdicts, row by row: what each malformed line is told, at which line,
and what the good lines give (``skywarden track``'s input; docs/validation.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.tracking.recording import Detections, RecordingError, read_detections
from skywarden.tracking.recording import reader as reader_mod
from skywarden.tracking.recording.writer import fixed

HOSTILE = (
    "t,sensor_id,x,y,z,sigma\n"
    "0,r1,1,2,3,20\n"
    "abc,r1,1,2,3,20\n"
    "1,r1,nan,2,3,20\n"
    "1,,1,2,3,20\n"
    "1,r1,1\n"
    "1,r1,1,2,3,-5\n"
    "1,r1,\u0661\u0662,2,3,20\n"
    "1,r1,1,2,,20\n"
    "1,r1,1e300,2,3,20\n"
    "1,r1,inf,2,3,20\n"
    "1e11,r1,1,2,3,20\n"
    "2025-03-11T00:00:00Z,r1,1,2,3,20\n"
    "1," + "s" * 70 + ",1,2,3,20\n"
    " 2 , r1 , 1_0 , 2 , 3 , 20 \n"
    "\n"
    " , , , , , \n"
    '3,r1,"1",2,3,20\n'
    "3,r1,1\x00,2,3,20\n"
    '3,r1,1,2"x,3,20\n'
    '4,r1,"1\n2",2,3,20\n'
    "5,r1," + "9" * 5000 + ",2,3,20\n"
    "6,r1,1,2,3,20\r\n"
    "7,r1,1,2,3,20\r"
    "8,r1,1,2,3,20\n"
)
HOSTILE_PROBLEMS = [
    (3, "column t: 'abc' is neither seconds nor an ISO 8601 time from 2000 to 2100 (Invalid isoformat string: 'abc')"),
    (4, "column x: nan is not a finite number"),
    (5, "column sensor_id: empty"),
    (6, "3 fields, the header has 6"),
    (7, "column sigma: -5 is outside [0.001, 100000]"),
    (8, "column x: '\u0661\u0662' has characters other than ASCII"),
    (9, "column z: empty"),
    (10, "column x: 1e+300 is outside [-1e+07, 1e+07]"),
    (11, "column x: inf is not a finite number"),
    (12, "column t: '1e11' is neither seconds nor an ISO 8601 time from 2000 to 2100 (100000000000.0 is not a finite number of seconds within 1e+10)"),
    (13, "t mixes ISO 8601 and seconds within the file"),
    (19, "column x: '1\\x00' is not a number"),
    (20, "column y: '2\"x' is not a number"),
    (22, "column x: '1\\n2' is not a number"),
    (23, "longer than 4096 characters"),
]  # fmt: skip


def _read(tmp_path: Path, text: str, name: str = "f.csv") -> Detections:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return read_detections(p, 50.0)


def test_every_kind_of_bad_line_is_named_with_its_line(tmp_path: Path) -> None:
    det = _read(tmp_path, HOSTILE)
    assert det.problems == HOSTILE_PROBLEMS
    assert det.rows_read == 22
    # what was taken: padded fields stripped, 1_0 is Python's 10, a quoted field, CR and CRLF ends
    assert det.t.tolist() == [0.0, 1.0, 2.0, 3.0, 6.0, 7.0, 8.0]
    assert det.a.tolist() == [1.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0]
    assert det.sensor[1] == "s" * 70 and det.sensor[2] == "r1"


def test_iso_times_their_bounds_and_their_mixing(tmp_path: Path) -> None:
    text = (
        "t,sensor_id,lat,lon\n"
        "2025-03-11T00:00:00Z,a,55.7,37.6\n"
        "2025-03-11T00:00:01Z,a,55.7,37.6\n"
        "1999-01-01T00:00:00Z,a,55.7,37.6\n"
        "2025-03-11 00:00:02,a,91,37.6\n"
        "2025-03-11T00:00:02+03:00,a,55.7,181\n"
        "5,a,55.7,37.6\n"
        "2025-13-11T00:00:02Z,a,55.7,37.6\n"
    )
    det = _read(tmp_path, text)
    assert det.problems == [
        (4, "column t: '1999-01-01T00:00:00Z' is neither seconds nor an ISO 8601 time from 2000 to 2100 (time: t 1999-01-01T00:00:00+00:00 is before 2000 or after 2100)"),
        (5, "column lat: 91 is outside [-90, 90]"),
        (6, "column lon: 181 is outside [-180, 180]"),
        (7, "t mixes ISO 8601 and seconds within the file"),
        (8, "column t: '2025-13-11T00:00:02Z' is neither seconds nor an ISO 8601 time from 2000 to 2100 (month must be in 1..12)"),
    ]  # fmt: skip
    assert det.iso_time and det.t.tolist() == [0.0, 1.0]
    assert det.epoch is not None and det.epoch.isoformat() == "2025-03-11T00:00:00+00:00"


def test_a_long_last_line_is_reported(tmp_path: Path) -> None:
    det = _read(tmp_path, "t,sensor_id,x,y\n1,a,1,2\n2,a," + "1" * 5000 + ",2\n")
    assert det.problems == [(3, "longer than 4096 characters")]
    assert det.rows_read == 2


def test_a_scan_is_capped_by_its_t_as_written(tmp_path: Path) -> None:
    det = _read(tmp_path, "t,sensor_id,x,y\n" + "1,a,1,2\n" * 4098 + "1.0,a,1,2\n" + "2,a,1,2\n")
    assert det.problems == [
        (4098, "scan of a at 1 has more than 4096 rows"),
        (4099, "scan of a at 1 has more than 4096 rows"),
    ]
    assert det.rows_read == 4100 and len(det.sensor) == 4098


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t,sensor_id,x," + "y" * 5000 + "\n1,a,1,2\n", "f.csv:1: the header is longer than 4096 characters"),
        ('t,sensor_id,"x,y\n1,a,1,2\n', "f.csv: the header lacks x,y or lat,lon (found: t, sensor_id, x,y\n1,a,1,2)"),
        ("t,sensor_id,x,y\nfoo,a,1,2\n1,a,x,2\n", "f.csv: no usable rows (2 read, 2 malformed)"),
        ("time,sensor,x\n1,a,2\n", "f.csv: the header lacks t, sensor_id, x,y or lat,lon (found: time, sensor, x)"),
        ("t,sensor_id,x,y,lat,lon\n1,a,0,0,1,1\n", "f.csv: the header has both x,y and lat,lon; give one frame"),
        ("", "f.csv: the file is empty (a header line is needed)"),
    ],
)  # fmt: skip
def test_files_that_cannot_be_tracked(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RecordingError) as err:
        _read(tmp_path, text)
    assert str(err.value).replace(str(tmp_path) + "/", "") == message


# ------------------------------------------------------------------ blocks at once, rows one by one


def _random_recording(path: Path, n_scans: int = 120, seed: int = 5, iso: bool = False) -> None:
    """Two sensors, a dozen targets and clutter; times in seconds or ISO 8601."""
    rng = np.random.default_rng(seed)
    start = datetime(2025, 3, 11, tzinfo=UTC)
    lines = ["t,sensor_id,x,y,z,sigma"]
    p0 = rng.uniform(-5000, 5000, (12, 3)) * [1, 1, 0.05] + [0, 0, 500]
    v = rng.uniform(-40, 40, (12, 3)) * [1, 1, 0.02]
    for k in range(n_scans):
        for s, dt in (("r1", 0.0), ("r2", 0.5)):
            t = k + dt
            tt = (start + timedelta(seconds=t)).isoformat().replace("+00:00", "Z") if iso else f"{t:g}"
            q = p0 + t * v + rng.normal(size=p0.shape) * 15
            for x, y, z in q[rng.random(len(q)) < 0.9]:
                lines.append(f"{tt},{s},{x:.2f},{y:.2f},{z:.2f},{rng.uniform(10, 30):.1f}")
            for _ in range(rng.poisson(2)):
                x, y, z = rng.uniform(-8000, 8000), rng.uniform(-8000, 8000), rng.uniform(0, 2000)
                lines.append(f"{tt},{s},{x:.2f},{y:.2f},{z:.2f},25")
    path.write_text("\n".join(lines) + "\n")


def _same(a: Detections, b: Detections) -> None:
    assert a.problems == b.problems and a.rows_read == b.rows_read
    assert a.sensor == b.sensor and a.epoch == b.epoch and a.iso_time == b.iso_time
    for k in ("t", "a", "b", "c", "sigma"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k


@pytest.mark.parametrize("iso", [False, True])
def test_blocks_at_once_give_what_rows_one_by_one_give(tmp_path: Path, iso: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "r.csv"
    _random_recording(p, iso=iso)
    # a few bad rows and a quoted field spread over the file: the blocks around them go row by row
    lines = p.read_text().splitlines()
    for i in (5, 700, 701, 2000):
        lines[i] = lines[i].replace(",r1,", ",r1,nan,", 1).replace(",r2,", ',"r2",', 1)
    p.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(reader_mod, "BLOCK_BYTES", 1 << 15)  # many blocks on a small file
    monkeypatch.setattr(reader_mod, "MIN_BLOCK_BYTES", 1 << 10)
    fast = read_detections(p, 50.0)
    assert fast.problems and len(fast.sensor) > 3000
    monkeypatch.setattr(reader_mod._CsvSource, "_fast", lambda self, data: None)
    _same(fast, read_detections(p, 50.0))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-.eE_ infINFaN\u0661", min_size=0, max_size=12))
def test_a_number_pyarrow_takes_is_the_number_python_takes(text: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        got = pacsv.read_csv(
            pa.BufferReader(f"{text}\n".encode()),
            read_options=pacsv.ReadOptions(column_names=["v"]),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={"v": pa.float64()}, null_values=[]),
        ).column("v")[0].as_py()
    except pa.ArrowInvalid:
        return  # row by row then
    want = float(text.strip())  # pyarrow took it: Python must take it too, as the same number
    assert got == want or (math.isnan(got) and math.isnan(want))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=40), st.sampled_from([2, 3, 7]))
def test_fixed_writes_what_format_writes(values: list[float], decimals: int) -> None:
    v = np.array(values)
    ties = np.array([0.125, -0.125, 2.675, 1.005, 0.0005, -0.0, -0.001, 1e16, 12345678.125])
    for arr in (v, ties):
        assert fixed(arr, decimals).to_pylist() == [f"{x:.{decimals}f}" for x in arr.tolist()]


# ------------------------------------------------------------------------------------ time order


def test_rows_within_the_window_are_put_in_order_and_later_ones_refused(tmp_path: Path) -> None:
    p = tmp_path / "o.csv"
    p.write_text(
        "t,sensor_id,x,y\n"
        "0,a,0,0\n"
        "10,a,1,1\n"
        "5,a,2,2\n"  # 5 s late: put back before t = 10
        "100,a,3,3\n"
        "39.5,a,4,4\n"  # 60.5 s late: refused
        "40,a,5,5\n"  # exactly 60 s: taken
        "101,a,6,6\n"
    )
    det = read_detections(p, 50.0)
    assert det.t.tolist() == [0.0, 5.0, 10.0, 40.0, 100.0, 101.0]
    assert det.a.tolist() == [0.0, 2.0, 1.0, 5.0, 3.0, 6.0]
    assert det.problems == [(6, "out of time order: t 39.5 is 60.5 s before a row above it (at most 60 s is put back in order: --reorder-window)")]
    strict = read_detections(p, 50.0, window_s=0.0)
    assert [line for line, _ in strict.problems] == [4, 6, 7]
    assert strict.t.tolist() == [0.0, 10.0, 100.0, 101.0]


def test_the_order_does_not_depend_on_where_blocks_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    t = np.arange(3000) / 10.0 + rng.uniform(-3, 3, 3000)  # jitter within a 6 s window
    p = tmp_path / "j.csv"
    p.write_text("t,sensor_id,x,y\n" + "".join(f"{x:.3f},s{i % 3},{i},{-i}\n" for i, x in enumerate(t)))
    whole = read_detections(p, 50.0, window_s=10.0)
    assert not whole.problems and np.all(np.diff(whole.t) >= 0)
    order = np.argsort(np.round(t, 3), kind="stable")
    assert whole.a.tolist() == order.astype(float).tolist()  # a global stable sort by t
    monkeypatch.setattr(reader_mod, "BLOCK_BYTES", 1 << 14)
    monkeypatch.setattr(reader_mod, "MIN_BLOCK_BYTES", 1 << 10)
    _same(whole, read_detections(p, 50.0, window_s=10.0))


# -------------------------------------------------------------------------------------- Parquet


def test_parquet_rows_are_held_to_the_same_rules(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({
            "T": pa.array([0.0, 1.0, 1.0, 2.0, 3.0]),
            "Sensor_ID": ["a", "a", "", "a", "a"],
            "x": pa.array([1.0, float("nan"), 1.0, 2.0, None]),
            "y": pa.array([1, 2, 3, 4, 5], pa.int64()),
        }),
        p,
    )
    det = read_detections(p, 50.0)
    assert det.t.tolist() == [0.0, 2.0] and det.b.tolist() == [1.0, 4.0]
    assert det.problems == [(2, "column x: nan is not a finite number"), (3, "column sensor_id: empty"), (5, "column x: empty")]


def test_a_file_that_is_not_utf8_or_a_broken_parquet_is_refused_whole(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_bytes(b"t,sensor_id,x,y\n" + b"1,a,1,2\n" * 10 + b"2,\xff\xfe,1,2\n")
    with pytest.raises(RecordingError, match="not UTF-8"):
        read_detections(p, 50.0)
    q = tmp_path / "b.parquet"
    q.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(RecordingError, match="not a Parquet file"):
        read_detections(q, 50.0)
