"""Writing the tracks of a re-tracked recording: CSV or Parquet, as columns, a batch at a time.

CSV: ``t,track_id,x,y[,z],vx,vy[,vz],class,p_class`` (local frame) or
``t,track_id,lat,lon[,alt],ve,vn[,vu],class,p_class`` (WGS84), positions to the centimetre
(``%.2f``, degrees ``%.7f``), velocities ``%.2f`` m/s, ``p_class`` ``%.3f``; ``t`` as the input
gave it (ISO 8601 UTC, or seconds). The numbers are formatted by pyarrow's string kernels from
integers numpy rounds: exactly what Python's ``format`` writes (a value within rounding error of
a tie is formatted by Python itself).

Parquet: the same columns, typed: ``t`` float64 seconds or timestamp[us, UTC], ``track_id`` and
``class`` strings, the rest float64 at full precision; one row group per batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np
from numpy.typing import NDArray

from skywarden.geo import LocalFrame
from skywarden.tracking.tracker import TrackTable

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TrackSink", "fixed", "join", "seconds_text"]

FloatArray = NDArray[np.float64]
Format = Literal["csv", "parquet"]
CSV_BATCH_ROWS = 1 << 14  # a batch formats in some 10 MB
PARQUET_BATCH_ROWS = 1 << 14  # rows per row group


def join(*parts: Any) -> Any:
    """pyarrow's ``binary_join_element_wise``: arrays and plain strings alike, the last one the
    separator (its stubs take arrays of one type only)."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts)


def seconds_text(t: float) -> str:
    """A scan time in seconds as the CSV writes it: six significant digits, or every digit
    when six would write another time (a UNIX time)."""
    s = f"{t:.6g}"
    return s if float(s) == t else repr(t)


def fixed(v: FloatArray, decimals: int) -> pa.Array[Any]:
    """``f"{x:.{decimals}f}"`` of every value, as a pyarrow string array, without a Python
    call per value: numpy rounds ``x * 10**decimals`` to an integer and pyarrow writes its
    digits. Where the product lies within its own rounding error of a tie (or is not finite,
    or too large for the integers) Python formats the value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    v = np.asarray(v, dtype=np.float64)
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        m = v * scale
        r = np.rint(m)
        tie = np.abs(np.abs(m - np.floor(m)) - 0.5) <= np.abs(m) * 1e-15 + 1e-300
        python = ~np.isfinite(m) | (np.abs(m) >= 1e15) | tie
    r[python] = 0.0
    q = np.abs(r).astype(np.int64)
    whole, part = np.divmod(q, np.int64(round(scale)))
    text: pa.Array[Any] = join(
        pc.if_else(pa.array(np.signbit(v)), "-", ""),
        pc.cast(pa.array(whole), pa.string()),
        ".",
        pc.utf8_lpad(pc.cast(pa.array(part), pa.string()), width=decimals, padding="0"),
        "",
    )
    if python.any():
        items = text.to_pylist()
        for i in np.flatnonzero(python).tolist():
            items[i] = f"{v[i]:.{decimals}f}"
        text = pa.array(items, pa.string())
    return text


class TrackSink:
    """Takes the confirmed tracks at each scan time (:meth:`add`) and writes them in batches to
    ``out`` as CSV or Parquet; :meth:`close` writes what is left (and the Parquet footer)."""

    def __init__(
        self,
        out: BinaryIO,
        fmt: Format,
        *,
        geodetic: bool,
        has_height: bool,
        epoch: datetime | None,
        frame: LocalFrame | None,
    ) -> None:
        self.out, self.fmt = out, fmt
        self.geodetic, self.has_height, self.epoch, self.frame = geodetic, has_height, epoch, frame
        pos = ["lat", "lon", "alt"] if geodetic else ["x", "y", "z"]
        vel = ["ve", "vn", "vu"] if geodetic else ["vx", "vy", "vz"]
        n = 3 if has_height else 2
        self.columns = ["t", "track_id", *pos[:n], *vel[:n], "class", "p_class"]
        self.rows = 0
        self._pending = 0
        self._t: list[float] = []
        self._n: list[int] = []
        self._ids: list[NDArray[np.int64]] = []
        self._num: list[FloatArray] = []  # (N, 2n) positions then velocities
        self._cls: list[NDArray[np.str_]] = []
        self._p: list[FloatArray] = []
        self._writer: object = None  # pyarrow.parquet.ParquetWriter, once the first batch comes
        self._names: dict[int, str] = {}
        if fmt == "csv":
            out.write((",".join(self.columns) + "\n").encode())

    def add(self, t: float, table: TrackTable) -> int:
        """The confirmed tracks at scan time ``t``, their states carried from the table's time
        along their velocities; returns the rows added."""
        k = len(table)
        if k == 0:
            return 0
        x = table.x
        pos = x[:, :3] + (t - table.t) * x[:, 3:]  # states rest at the last scan with plots
        if self.frame is not None:
            lat, lon, _ = self.frame.to_wgs84(pos[:, 0], pos[:, 1])
            a, b = lat, lon
        else:
            a, b = pos[:, 0], pos[:, 1]
        cols = [a, b, pos[:, 2]] if self.has_height else [a, b]
        cols += [x[:, 3], x[:, 4], x[:, 5]] if self.has_height else [x[:, 3], x[:, 4]]
        self._t.append(t)
        self._n.append(k)
        self._ids.append(np.asarray(table.ids, dtype=np.int64))
        self._num.append(np.column_stack(cols))
        self._cls.append(np.asarray(table.cls))
        self._p.append(np.asarray(table.p_cls, dtype=np.float64))
        self._pending += k
        self.rows += k
        if self._pending >= (CSV_BATCH_ROWS if self.fmt == "csv" else PARQUET_BATCH_ROWS):
            self._flush()
        return k

    def close(self) -> None:
        self._flush()
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            if self._writer is None:  # no tracks at all: a file with the columns and no rows
                self._writer = pq.ParquetWriter(self.out, self._schema())
            assert isinstance(self._writer, pq.ParquetWriter)
            self._writer.close()

    # -- one batch
    def _track_names(self, ids: NDArray[np.int64]) -> pa.Array[Any]:
        import pyarrow as pa

        uniq, inv = np.unique(ids, return_inverse=True)
        names = self._names
        return pa.array([names.get(i) or names.setdefault(i, f"T{i:04d}") for i in uniq.tolist()], pa.string()).take(inv)

    def _schema(self) -> pa.Schema:
        import pyarrow as pa

        t_type = pa.timestamp("us", tz="UTC") if self.epoch is not None else pa.float64()
        fields = [pa.field("t", t_type), pa.field("track_id", pa.string())]
        fields += [pa.field(c, pa.float64()) for c in self.columns[2:-2]]
        fields += [pa.field("class", pa.string()), pa.field("p_class", pa.float64())]
        return pa.schema(fields)

    def _flush(self) -> None:
        if not self._pending:
            return
        import pyarrow as pa

        counts = np.asarray(self._n)
        per_row = np.repeat(np.arange(len(counts)), counts)
        ids = np.concatenate(self._ids)
        num = np.concatenate(self._num)
        cls = pa.array(np.concatenate(self._cls), pa.string())
        p = np.concatenate(self._p)
        track = self._track_names(ids)
        if self.fmt == "csv":
            if self.epoch is not None:
                epoch = self.epoch
                ts = [(epoch + timedelta(seconds=t)).isoformat().replace("+00:00", "Z") for t in self._t]
            else:
                ts = [seconds_text(t) for t in self._t]
            pos_dec = 7 if self.geodetic else 2
            n_pos = (num.shape[1]) // 2
            cols = [pa.array(ts, pa.string()).take(per_row), track]
            cols += [fixed(num[:, j], pos_dec if j < 2 else 2) for j in range(n_pos)]
            cols += [fixed(num[:, j], 2) for j in range(n_pos, num.shape[1])]
            cols += [cls, fixed(p, 3)]
            lines = join(join(*cols, ","), "\n", "")
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=4 * lines.offset)
            data = lines.buffers()[2]
            assert data is not None
            self.out.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
        else:
            import pyarrow.parquet as pq

            schema = self._schema()
            if self.epoch is not None:
                epoch_us = (self.epoch - datetime(1970, 1, 1, tzinfo=self.epoch.tzinfo)) // timedelta(microseconds=1)
                t_col = pa.array(epoch_us + np.rint(np.asarray(self._t) * 1e6).astype(np.int64), pa.int64()).cast(schema.field("t").type)
            else:
                t_col = pa.array(np.asarray(self._t, dtype=np.float64))
            arrays = [t_col.take(per_row), track, *(pa.array(num[:, j]) for j in range(num.shape[1])), cls, pa.array(p)]
            batch = pa.record_batch(arrays, schema=schema)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.out, schema)
            assert isinstance(self._writer, pq.ParquetWriter)
            self._writer.write_batch(batch, row_group_size=len(batch))
        self._t, self._n, self._ids, self._num, self._cls, self._p = [], [], [], [], [], []
        self._pending = 0
