"""Re-tracking a recording: detections CSV in, tracks CSV out.

Input columns (header required, any order, extra columns ignored):

* ``t``: seconds (any epoch) or ISO 8601 UTC (``2025-03-11T00:10:00Z``; no offset = UTC);
* ``sensor_id``;
* either ``x``, ``y`` (and optionally ``z``): metres east/north/up in a local frame,
  or ``lat``, ``lon`` (and optionally ``alt``): WGS84 degrees, metres;
* optional ``sigma``: 1-sigma position error, metres (default from the command line).

Every field is held to bounds (docs/validation.md): ASCII numbers, finite, lat/lon on Earth,
alt and sigma as the JSON lines' (``skywarden.ingest.validate``), x/y/z within 10,000 km, t in
seconds within 1e10 or ISO 8601 from 2000 to 2100, a line at most 4,096 characters, a scan (one
t and sensor_id) at most 4,096 rows. An empty field in a column the header has is an error.

Output: ``t,track_id,x,y[,z],vx,vy[,vz],class,p_class`` in a local frame, or
``t,track_id,lat,lon[,alt],ve,vn[,vu],class,p_class`` for WGS84 input; one row per confirmed
track at every input scan time. Malformed rows are reported by line number and column, and
skipped.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np
from numpy.typing import NDArray

from skywarden.geo import LocalFrame
from skywarden.ingest.validate import BOUNDS, MAX_ID_CHARS, MAX_PLOTS, Bound, check_time
from skywarden.tracking.stage import track_name
from skywarden.tracking.tracker import Scan, Tracker, TrackerConfig, TrackTable

FloatArray = NDArray[np.float64]


class RecordingError(ValueError):
    """A recording that cannot be tracked at all (no header, no usable rows)."""


@dataclass
class Detections:
    """Rows that parsed, as arrays (K,), in file order, plus what was wrong with the rest."""

    geodetic: bool  # lat/lon input
    has_height: bool
    iso_time: bool
    t: FloatArray  # seconds since ``epoch`` (ISO input) or as given
    sensor: list[str]
    a: FloatArray  # x or lat
    b: FloatArray  # y or lon
    c: FloatArray  # z or alt (0 when absent)
    sigma: FloatArray
    epoch: datetime | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    rows_read: int = 0


# bounds of a row (the JSON lines' own for lat/lon/alt/sigma: skywarden.ingest.validate)
MAX_LINE_CHARS = 4096  # one CSV line; a longer one is skipped unread by the csv module
MAX_SCAN_PLOTS = MAX_PLOTS  # rows of one (t, sensor_id) scan: more would make the tracker's
# association matrices quadratic in them (three scans of 50,000 rows asked for 18.6 GiB)
MAX_SECONDS = 1e10  # |t| in seconds of any epoch (a UNIX time until the year 2286)
LOCAL = Bound(-1e7, 1e7)  # x, y, z in metres from the local origin


def _parse_time(text: str) -> tuple[float | None, datetime | None]:
    """Seconds, or an ISO 8601 UTC time; ValueError saying why when it is neither or absurd."""
    s = text.strip()
    if not s.isascii():
        raise ValueError("has characters other than ASCII")
    try:
        sec = float(s)
    except ValueError:
        pass
    else:
        if not (math.isfinite(sec) and abs(sec) <= MAX_SECONDS):
            raise ValueError(f"{sec!r} is not a finite number of seconds within {MAX_SECONDS:g}")
        return sec, None
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)  # raises ValueError
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    check_time(dt, "t", None)  # 2000 to 2100
    return None, dt


def _number(key: str, text: str, bound: Bound) -> float:
    """One numeric field: ASCII digits only (Python's float takes any script's), finite,
    within ``bound``; ValueError naming the column otherwise."""
    s = text.strip()
    if not s:
        raise ValueError(f"column {key}: empty")
    if not s.isascii():
        raise ValueError(f"column {key}: {s[:40]!r} has characters other than ASCII")
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"column {key}: {s[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"column {key}: {v} is not a finite number")
    if not bound.holds(v):
        raise ValueError(f"column {key}: {v:g} is outside {bound}")
    return v


def _capped(fh: TextIO, long_lines: list[int]) -> Iterator[str]:
    """The file's lines, a line over MAX_LINE_CHARS replaced by an empty one (its number kept
    in ``long_lines``): the csv module never holds a huge field."""
    n = 0
    while True:
        text = fh.readline(MAX_LINE_CHARS + 1)
        if not text:
            return
        n += 1
        if len(text) > MAX_LINE_CHARS and not text.endswith("\n"):
            while (rest := fh.readline(1 << 16)) and not rest.endswith("\n"):
                pass
            long_lines.append(n)
            yield "\n"
            continue
        yield text


def read_detections(path: Path, default_sigma: float) -> Detections:
    """Parse the CSV; raises :class:`RecordingError` when nothing can be used."""
    with path.open(newline="", encoding="utf-8") as fh:
        return _read(fh, str(path), default_sigma)


def _read(fh: TextIO, name: str, default_sigma: float) -> Detections:
    long_lines: list[int] = []
    reader = csv.reader(_capped(fh, long_lines))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RecordingError(f"{name}: the file is empty (a header line is needed)") from None
    except csv.Error as exc:
        raise RecordingError(f"{name}:1: the header is not CSV ({exc})") from None
    if long_lines:
        raise RecordingError(f"{name}:1: the header is longer than {MAX_LINE_CHARS} characters")
    col = {h: i for i, h in enumerate(header)}
    missing = [c for c in ("t", "sensor_id") if c not in col]
    geodetic = "lat" in col and "lon" in col
    local = "x" in col and "y" in col
    if missing or not (geodetic or local):
        need = ", ".join(missing + ([] if geodetic or local else ["x,y or lat,lon"]))
        raise RecordingError(f"{name}: the header lacks {need} (found: {', '.join(header)})")
    if geodetic and local:
        raise RecordingError(f"{name}: the header has both x,y and lat,lon; give one frame")
    ka, kb = ("lat", "lon") if geodetic else ("x", "y")
    kc = "alt" if geodetic else "z"
    has_height = kc in col
    t_s: list[float] = []
    sensors: list[str] = []
    va: list[float] = []
    vb: list[float] = []
    vc: list[float] = []
    vs: list[float] = []
    problems: list[tuple[int, str]] = []
    iso: bool | None = None
    epoch: datetime | None = None
    rows = 0
    times_dt: list[datetime] = []
    scan_rows: dict[tuple[str, str], int] = {}
    bounds = {"lat": BOUNDS["lat"], "lon": BOUNDS["lon"], "alt": BOUNDS["alt"], "x": LOCAL, "y": LOCAL, "z": LOCAL, "sigma": BOUNDS["sigma_m"]}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a stray quote, a NUL: that line is skipped, the file goes on
            rows += 1
            problems.append((reader.line_num, f"not CSV: {exc}"))
            continue
        line = reader.line_num
        if long_lines:
            problems.extend((n, f"longer than {MAX_LINE_CHARS} characters") for n in long_lines)
            rows += len(long_lines)
            long_lines.clear()
        if not row or all(not c.strip() for c in row):
            continue
        rows += 1
        if len(row) != len(header):
            problems.append((line, f"{len(row)} fields, the header has {len(header)}"))
            continue

        def num(key: str, row: list[str] = row) -> float:
            return _number(key, row[col[key]], bounds[key])

        try:
            sec, when = _parse_time(row[col["t"]])
        except ValueError as exc:
            problems.append((line, f"column t: {row[col['t']][:40]!r} is neither seconds nor an ISO 8601 time from 2000 to 2100 ({exc})"))
            continue
        kind_iso = when is not None
        if iso is None:
            iso = kind_iso
        elif iso != kind_iso:
            problems.append((line, "t mixes ISO 8601 and seconds within the file"))
            continue
        sid = row[col["sensor_id"]].strip()
        if not sid:
            problems.append((line, "column sensor_id: empty"))
            continue
        if len(sid) > MAX_ID_CHARS:
            problems.append((line, f"column sensor_id: {len(sid)} characters (at most {MAX_ID_CHARS})"))
            continue
        try:
            a, b = num(ka), num(kb)
            c = num(kc) if has_height else 0.0
            sg = num("sigma") if "sigma" in col else default_sigma
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        key = (row[col["t"]].strip(), sid)
        n_scan = scan_rows[key] = scan_rows.get(key, 0) + 1
        if n_scan > MAX_SCAN_PLOTS:
            problems.append((line, f"scan of {sid} at {key[0]} has more than {MAX_SCAN_PLOTS} rows"))
            continue
        if kind_iso:
            assert when is not None
            times_dt.append(when)
            t_s.append(0.0)
        else:
            assert sec is not None
            t_s.append(sec)
        sensors.append(sid)
        va.append(a)
        vb.append(b)
        vc.append(c)
        vs.append(sg)
    if not sensors:
        raise RecordingError(f"{name}: no usable rows ({rows} read, {len(problems)} malformed)")
    t_arr = np.asarray(t_s)
    if iso:
        epoch = min(times_dt)
        t_arr = np.array([(w - epoch).total_seconds() for w in times_dt])
    return Detections(
        geodetic=geodetic,
        has_height=has_height,
        iso_time=bool(iso),
        t=t_arr,
        sensor=sensors,
        a=np.asarray(va),
        b=np.asarray(vb),
        c=np.asarray(vc),
        sigma=np.asarray(vs),
        epoch=epoch,
        problems=problems,
        rows_read=rows,
    )


def scans_of(det: Detections, frame: LocalFrame | None) -> Iterator[Scan]:
    """One scan per (time, sensor), in time order (ties keep file order)."""
    if det.geodetic:
        assert frame is not None
        e, n, _ = frame.to_enu(det.a, det.b)
        z = np.column_stack([e, n, det.c])
    else:
        z = np.column_stack([det.a, det.b, det.c])
    var = det.sigma**2
    # without heights the vertical is pinned near 0 with a modest variance
    var_u = var if det.has_height else np.full_like(var, 25.0)
    R = np.zeros((len(var), 3, 3))
    R[:, 0, 0] = R[:, 1, 1] = var
    R[:, 2, 2] = var_u
    order = np.argsort(det.t, kind="stable")
    keys = [(float(det.t[i]), det.sensor[i]) for i in order]
    start = 0
    for k in range(1, len(order) + 1):
        if k == len(order) or keys[k] != keys[start]:
            rows = order[start:k]
            yield Scan(t=keys[start][0], sensor_id=keys[start][1], z=z[rows], R=R[rows])
            start = k


def retrack(det: Detections, config: TrackerConfig, out: TextIO) -> int:
    """Track the detections and write the tracks CSV; returns the number of rows written."""
    frame = None
    if det.geodetic:
        frame = LocalFrame(float(np.mean(det.a)), float(np.mean(det.b)))
    trk = Tracker(config)
    w = csv.writer(out, lineterminator="\n")
    h = det.has_height
    if det.geodetic:
        w.writerow(
            [
                "t",
                "track_id",
                "lat",
                "lon",
                *(["alt"] if h else []),
                "ve",
                "vn",
                *(["vu"] if h else []),
                "class",
                "p_class",
            ]
        )
    else:
        w.writerow(
            [
                "t",
                "track_id",
                "x",
                "y",
                *(["z"] if h else []),
                "vx",
                "vy",
                *(["vz"] if h else []),
                "class",
                "p_class",
            ]
        )
    written = 0
    pending: float | None = None
    for scan in scans_of(det, frame):
        if pending is not None and scan.t != pending:
            written += _write(w, trk, pending, det, frame)
        trk.process(scan)
        pending = scan.t
    if pending is not None:
        written += _write(w, trk, pending, det, frame)
    return written


class _RowWriter(Protocol):
    """A csv writer, as far as _write uses one."""

    def writerow(self, row: Iterable[str], /) -> object: ...


def _write(w: _RowWriter, trk: Tracker, t: float, det: Detections, frame: LocalFrame | None) -> int:
    trk.classify()
    table: TrackTable = trk.table()
    if len(table) == 0:
        return 0
    dt = t - table.t
    x = table.x
    pos = x[:, :3] + dt * x[:, 3:]  # states rest at the last scan with plots
    if det.iso_time and det.epoch is not None:
        ts = (det.epoch + timedelta(seconds=t)).isoformat().replace("+00:00", "Z")
    else:
        ts = f"{t:.6g}"
    if frame is not None:
        lat, lon, _ = frame.to_wgs84(pos[:, 0], pos[:, 1])
        cols = [lat, lon]
    else:
        cols = [pos[:, 0], pos[:, 1]]
    rows = 0
    for k in range(len(table)):
        vals = (
            [f"{cols[0][k]:.7f}", f"{cols[1][k]:.7f}"]
            if frame is not None
            else [f"{cols[0][k]:.2f}", f"{cols[1][k]:.2f}"]
        )
        if det.has_height:
            vals.append(f"{pos[k, 2]:.2f}")
        vals += [f"{x[k, 3]:.2f}", f"{x[k, 4]:.2f}"]
        if det.has_height:
            vals.append(f"{x[k, 5]:.2f}")
        w.writerow(
            [ts, track_name(int(table.ids[k])), *vals, str(table.cls[k]), f"{table.p_cls[k]:.3f}"]
        )
        rows += 1
    return rows
