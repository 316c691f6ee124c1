"""The recording reader's verdicts, row by row: what each malformed line is told, at which line,
and what the good lines give (``skywarden track``'s input; docs/validation.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywarden.tracking.recording import Detections, RecordingError, read_detections

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
