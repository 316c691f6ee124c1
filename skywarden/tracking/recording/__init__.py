"""Re-tracking a recording: detections in (CSV or Parquet), tracks out (CSV or Parquet).

Input columns (a CSV header, or a Parquet file's column names; any order, extra columns
ignored):

* ``t``: seconds (any epoch) or ISO 8601 UTC (``2025-03-11T00:10:00Z``; no offset = UTC; in
  Parquet also a timestamp column);
* ``sensor_id``;
* either ``x``, ``y`` (and optionally ``z``): metres east/north/up in a local frame,
  or ``lat``, ``lon`` (and optionally ``alt``): WGS84 degrees, metres;
* optional ``sigma``: 1-sigma position error, metres (default from the command line).

Every field is held to bounds (docs/validation.md; :mod:`.rows`). Rows come in time order, give
or take a reorder window (60 s by default): a row later than that is refused and counted, never
dropped unsaid (:mod:`.reader`). The file is read and the tracks written a block at a time, so a
recording of any length runs in the memory of one block and one window.

Output (:mod:`.writer`): one row per confirmed track at every input scan time, in the input's
frame. Malformed rows are reported by line number (Parquet: row number) and skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from skywarden.geo import LocalFrame
from skywarden.tracking.recording.reader import DEFAULT_WINDOW_S, FloatArray, RowBlock, RowReader
from skywarden.tracking.recording.rows import MAX_LINE_CHARS, MAX_SCAN_PLOTS, RecordingError
from skywarden.tracking.recording.writer import Format, TrackSink
from skywarden.tracking.tracker import Scan, Tracker, TrackerConfig

__all__ = [
    "DEFAULT_WINDOW_S",
    "MAX_LINE_CHARS",
    "MAX_SCAN_PLOTS",
    "Detections",
    "RecordingError",
    "RowReader",
    "TrackSink",
    "format_of",
    "open_sink",
    "origin_of",
    "read_detections",
    "retrack",
    "scans_of",
]

Progress = Callable[[int, int], None]  # (done, of): bytes of a CSV, rows of a Parquet file


def format_of(path: Path) -> Format:
    """The output format a file name asks for: Parquet for ``.parquet`` / ``.pq``, else CSV."""
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


def origin_of(
    source: Path | BinaryIO, default_sigma: float, window_s: float = DEFAULT_WINDOW_S
) -> tuple[float, float]:
    """The mean latitude and longitude of the rows a WGS84 recording's reader takes (the local
    frame's origin): one pass over the file, summed exactly (``math.fsum``)."""
    with RowReader(source, default_sigma, window_s, keep_problems=0) as rd:
        lat: list[float] = []
        lon: list[float] = []
        n = 0
        for blk in rd.blocks():
            lat.append(math.fsum(blk.a))
            lon.append(math.fsum(blk.b))
            n += len(blk)
        if not isinstance(source, Path):
            source.seek(0)
    return math.fsum(lat) / n, math.fsum(lon) / n


def scans_of(reader: RowReader, frame: LocalFrame | None) -> Iterator[Scan]:
    """One scan per (time, sensor) run of rows, in time order (ties keep file order)."""
    for blk in reader.blocks():
        if not len(blk):
            continue
        if reader.geodetic:
            assert frame is not None
            e, n, _ = frame.to_enu(blk.a, blk.b)
            z = np.column_stack([e, n, blk.c])
        else:
            z = np.column_stack([blk.a, blk.b, blk.c])
        var = blk.sigma**2
        # without heights the vertical is pinned near 0 with a modest variance
        var_u = var if reader.has_height else np.full_like(var, 25.0)
        R = np.zeros((len(var), 3, 3))
        R[:, 0, 0] = R[:, 1, 1] = var
        R[:, 2, 2] = var_u
        cut = np.flatnonzero((blk.t[1:] != blk.t[:-1]) | (blk.sensor[1:] != blk.sensor[:-1])) + 1
        bounds = [0, *cut.tolist(), len(blk)]
        names = reader.sensors
        for s, e_ in zip(bounds[:-1], bounds[1:], strict=True):
            yield Scan(t=float(blk.t[s]), sensor_id=names[int(blk.sensor[s])], z=z[s:e_], R=R[s:e_])


def retrack(
    reader: RowReader, config: TrackerConfig, sink: TrackSink, frame: LocalFrame | None,
    progress: Progress | None = None,
) -> int:
    """Track the reader's scans and give the sink the confirmed tracks at every scan time;
    returns the rows written."""
    trk = Tracker(config)
    pending: float | None = None

    def flush(t: float) -> None:
        # the kind of time is known once rows have been read
        sink.epoch = reader.rules.epoch if reader.iso_time else None
        trk.classify()
        sink.add(t, trk.table())

    for scan in scans_of(reader, frame):
        if pending is not None and scan.t != pending:
            flush(pending)
            if progress is not None:
                progress(reader.done, reader.size)
        trk.process(scan)
        pending = scan.t
    if pending is not None:
        flush(pending)
    return sink.rows


def open_sink(out: BinaryIO, fmt: Format, reader: RowReader, frame: LocalFrame | None) -> TrackSink:
    """A sink for the tracks of ``reader``'s recording, in its frame (:func:`retrack` tells it
    the kind of time once the first rows are read)."""
    return TrackSink(out, fmt, geodetic=reader.geodetic, has_height=reader.has_height, epoch=None, frame=frame)


@dataclass
class Detections:
    """A whole recording's rows, as arrays (K,) in time order (ties in file order), plus what was
    wrong with the rest: :func:`read_detections`, for small files and tests."""

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


def read_detections(
    path: Path, default_sigma: float, window_s: float = DEFAULT_WINDOW_S
) -> Detections:
    """Read a whole recording into memory; raises :class:`RecordingError` when nothing can be
    used. (``skywarden track`` streams instead: :class:`RowReader`.)"""
    with RowReader(path, default_sigma, window_s) as rd:
        rows = RowBlock.join(list(rd.blocks()))
        return Detections(
            geodetic=rd.geodetic,
            has_height=rd.has_height,
            iso_time=rd.iso_time,
            t=rows.t,
            sensor=[rd.sensors[int(i)] for i in rows.sensor],
            a=rows.a,
            b=rows.b,
            c=rows.c,
            sigma=rows.sigma,
            epoch=rd.rules.epoch if rd.iso_time else None,
            problems=rd.problems,
            rows_read=rd.rows_read,
        )
