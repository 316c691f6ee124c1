"""Reading a recording of detections as columns, a block at a time, in time order.

A CSV file is read in blocks of whole lines; pyarrow parses a block into columns and numpy
checks every value of it against the row rules at once (:mod:`.rows`). A block that pyarrow
cannot parse, or that holds any value the rules refuse (or anything else out of the ordinary: a
quote, a carriage return, a NUL, a blank or over-long line), is cut into smaller blocks, and the
smallest are read row by row by the csv module with :meth:`RowRules.check`, so every refusal is
the row-by-row reader's, with its line number and message. A Parquet file is read by record
batches, with the same checks (its "lines" are row numbers).

Rows come out in time order: a row may come up to ``window_s`` seconds after rows later than
it (the rows in between are held back until no row can come before them); a row any later is
refused with a counted reason (:meth:`RowRules.late`). So memory holds one block and the rows
of the last ``window_s`` seconds, whatever the file's size.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from skywarden.ingest.validate import EARLIEST, LATEST, MAX_ID_CHARS
from skywarden.tracking.recording.rows import (
    MAX_LINE_CHARS,
    MAX_SCAN_PLOTS,
    MAX_SECONDS,
    US_EPOCH,
    Header,
    RecordingError,
    RowRules,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DEFAULT_WINDOW_S", "RowBlock", "RowReader"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_WINDOW_S = 60.0  # seconds a row may come after later rows and still be put in order
BLOCK_BYTES = 1 << 20  # a CSV block read at once (the largest)
MIN_BLOCK_BYTES = 1 << 14  # a block that fails is cut down to this before it is read row by row
PARQUET_BATCH_ROWS = 1 << 16
# ISO times pyarrow parses exactly as datetime.fromisoformat does (others go row by row)
_ISO = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?Z?$"
_EARLIEST_US = (EARLIEST - US_EPOCH) // timedelta(microseconds=1)
_LATEST_US = (LATEST - US_EPOCH) // timedelta(microseconds=1)


@dataclass
class RowBlock:
    """Rows taken, as columns: ``t`` seconds (since ``epoch`` for ISO times), ``sensor`` codes
    into :attr:`RowReader.sensors`, the position columns (x/y/z or lat/lon/alt; 0 for a missing
    height) and ``sigma`` metres."""

    t: FloatArray
    sensor: IntArray
    a: FloatArray
    b: FloatArray
    c: FloatArray
    sigma: FloatArray

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def take(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> RowBlock:
        return RowBlock(self.t[idx], self.sensor[idx], self.a[idx], self.b[idx], self.c[idx], self.sigma[idx])

    @staticmethod
    def join(blocks: list[RowBlock]) -> RowBlock:
        if len(blocks) == 1:
            return blocks[0]
        return RowBlock(*(np.concatenate([getattr(b, k) for b in blocks]) for k in ("t", "sensor", "a", "b", "c", "sigma")))

    @staticmethod
    def of_rows(rows: list[tuple[float, int, float, float, float, float]]) -> RowBlock:
        if not rows:
            z = np.zeros(0)
            return RowBlock(z, np.zeros(0, dtype=np.int64), z, z, z, z)
        t, s, a, b, c, g = zip(*rows, strict=True)
        f = np.float64
        return RowBlock(np.array(t, f), np.array(s, np.int64), np.array(a, f), np.array(b, f), np.array(c, f), np.array(g, f))


class RowReader:
    """The rows of one recording (CSV or Parquet, told by its first bytes), checked, in time
    order. ``problems``: the first ``keep_problems`` refusals as (line, reason); ``n_problems``
    counts them all. :meth:`blocks` reads the file once; ``done`` / ``size`` tell how far."""

    def __init__(
        self,
        source: Path | BinaryIO,
        default_sigma: float,
        window_s: float = DEFAULT_WINDOW_S,
        keep_problems: int | None = None,
        name: str | None = None,
    ) -> None:
        if window_s < 0 or not math.isfinite(window_s):
            raise ValueError(f"the reorder window must be finite and at least 0 s, not {window_s}")
        self.name = name if name is not None else str(source)
        self._own = isinstance(source, Path)
        self._f: BinaryIO = source.open("rb") if isinstance(source, Path) else source
        self.size = self._f.seek(0, io.SEEK_END)
        self._f.seek(0)
        self.done = 0  # bytes (CSV) or rows (Parquet) read so far, of ``size``
        self.keep_problems = keep_problems
        self.problems: list[tuple[int, str]] = []
        self.n_problems = 0
        self.rows_read = 0
        self.rows_used = 0
        self.sensors: list[str] = []
        self._sensor_code: dict[str, int] = {}
        self.parquet = self._f.read(4) == b"PAR1"
        self._f.seek(0)
        try:
            self._source: _CsvSource | _ParquetSource = (
                _ParquetSource(self) if self.parquet else _CsvSource(self)
            )
        except BaseException:
            self.close()
            raise
        self.header = self._source.header
        self.rules = RowRules(self.header, default_sigma, window_s)

    # -- what the file says
    @property
    def geodetic(self) -> bool:
        return self.header.geodetic

    @property
    def has_height(self) -> bool:
        return self.header.has_height

    @property
    def iso_time(self) -> bool:
        return bool(self.rules.iso)

    def where(self, line: int) -> str:
        """Where a problem is, as the command reports it: ``FILE:LINE`` or ``FILE: row N``."""
        return f"{self.name}: row {line}" if self.parquet else f"{self.name}:{line}"

    def close(self) -> None:
        if self._own:
            self._f.close()

    def __enter__(self) -> RowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- bookkeeping the sources share
    def problem(self, line: int, reason: str) -> None:
        self.n_problems += 1
        if self.keep_problems is None or len(self.problems) < self.keep_problems:
            self.problems.append((line, reason))

    def code(self, sensor_id: str) -> int:
        c = self._sensor_code.get(sensor_id)
        if c is None:
            c = self._sensor_code[sensor_id] = len(self.sensors)
            self.sensors.append(sensor_id)
        return c

    # -- the rows
    def blocks(self) -> Iterator[RowBlock]:
        """The rows taken, in time order (ties in file order); :class:`RecordingError` at the
        end when there were none."""
        window = self.rules.window_s
        held: list[RowBlock] = []
        for blk in self._source.blocks():
            self.rows_used += len(blk)
            if len(blk):
                held.append(blk)
            cutoff = self.rules.newest - window
            if held and min(float(b.t.min()) for b in held) < cutoff:
                rows = RowBlock.join(held)
                early = rows.t < cutoff
                held = [rows.take(~early)] if not early.all() else []
                yield _in_time_order(rows.take(early))
            self.rules.forget_before(cutoff)
        if held:
            yield _in_time_order(RowBlock.join(held))
        if self.rows_used == 0:
            raise RecordingError(f"{self.name}: no usable rows ({self.rows_read} read, {self.n_problems} malformed)")


def _in_time_order(rows: RowBlock) -> RowBlock:
    order = np.argsort(rows.t, kind="stable")
    return rows.take(order)


# ------------------------------------------------------------------------------- columns at once


def _numpy(arr: Any) -> NDArray[Any]:
    """A pyarrow array's values as numpy (a copy where they hold no nulls but need one)."""
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _dictionary(arr: Any) -> tuple[Any, IntArray]:
    """(the distinct values, each row's index into them) of a pyarrow array."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(arr)
    return enc.dictionary, np.asarray(_numpy(enc.indices), dtype=np.int64)


def _floats(arr: pa.Array[Any], lo: float, hi: float, open_lo: bool = False) -> FloatArray | None:
    """The column as float64 when every value is a number within [lo, hi] (or (lo, hi])."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.null_count:
        return None
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            return None
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    v = np.asarray(_numpy(arr), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = (v > lo if open_lo else v >= lo) & (v <= hi)  # NaN fails both
    return v if bool(ok.all()) else None


def _text_of(value: object) -> str:
    """A Parquet value as the text a CSV would hold (what row-by-row checks read)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def _times(arr: pa.Array[Any]) -> tuple[bool, NDArray[Any], IntArray, list[str]] | None:
    """``(iso, values, key codes, key texts)`` of a ``t`` column when every value is a time
    the rules take: seconds within bounds (float64), or ISO times from 2000 to 2100
    (microseconds since 1970, int64); the key texts are the values as written, for the count
    of rows per scan."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.null_count:
        return None
    typ = arr.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        distinct, codes = _dictionary(arr)
        texts = [str(s) for s in distinct.to_pylist()]
        try:
            sec = pc.cast(distinct, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if not bool(pc.all(pc.match_substring_regex(distinct, _ISO)).as_py()):
                return None
            try:
                ts = pc.cast(pc.replace_substring_regex(distinct, "Z$", ""), pa.timestamp("us"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
            us = _numpy(ts).astype("datetime64[us]").astype(np.int64)
            return _checked(True, us[codes], codes, texts)
        v = np.asarray(_numpy(sec), dtype=np.float64)
        return _checked(False, v[codes], codes, texts)
    if pa.types.is_floating(typ) or pa.types.is_integer(typ):
        values = np.asarray(_numpy(pc.cast(arr, pa.float64())), dtype=np.float64)
        if not bool((np.abs(values) <= MAX_SECONDS).all()):  # NaN too
            return None
        uniq, codes = np.unique(values, return_inverse=True)
        raw = pc.unique(arr).to_pylist()  # the values as written (no nulls), for their texts
        by_value = {float(v or 0): _text_of(v) for v in raw}
        return _checked(False, values, codes.astype(np.int64), [by_value[float(u)] for u in uniq])
    if pa.types.is_timestamp(typ):
        us_arr = pc.cast(arr, pa.timestamp("us", tz=typ.tz)) if typ.unit != "us" else arr
        us = np.asarray(_numpy(us_arr.cast(pa.int64())), dtype=np.int64)
        if typ.unit == "ns" and not bool(pc.all(pc.equal(pc.cast(us_arr, typ), arr)).as_py()):
            return None  # sub-microsecond times: row by row
        uniq, codes = np.unique(us, return_inverse=True)
        texts = [_text_of(x) for x in pa.array(uniq, pa.timestamp("us", tz=typ.tz)).to_pylist()]
        return _checked(True, us, codes.astype(np.int64), texts)
    return None


def _checked(
    iso: bool, values: NDArray[Any], codes: IntArray, texts: list[str]
) -> tuple[bool, NDArray[Any], IntArray, list[str]] | None:
    if iso:
        ok = bool(((values >= _EARLIEST_US) & (values < _LATEST_US)).all())
    else:
        ok = bool((np.abs(values) <= MAX_SECONDS).all())  # NaN fails
    return (iso, values, codes, texts) if ok else None


def fast_block(reader: RowReader, cols: dict[str, pa.Array[Any]]) -> RowBlock | None:
    """Every row of the block taken at once, when the rules would take every one of them in
    turn; None (nothing changed) otherwise, and the block is to be read row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rules, h = reader.rules, reader.header
    n = len(cols["t"])
    if n == 0:
        return RowBlock.of_rows([])
    bounds = h.bounds
    ka, kb, kc = h.keys
    values: dict[str, FloatArray] = {}
    for key in (ka, kb, kc, "sigma"):
        if key in cols:
            bd = bounds[key]
            v = _floats(cols[key], bd.lo, bd.hi, bd.open_lo)
            if v is None:
                return None
            values[key] = v
    # sensor ids: as the rules want them (stripped already, not empty, not too long)
    sid = cols["sensor_id"]
    if sid.null_count:
        return None
    if not (pa.types.is_string(sid.type) or pa.types.is_large_string(sid.type)):
        if not pa.types.is_integer(sid.type):
            return None
        sid = pc.cast(sid, pa.string())
    distinct, s_codes = _dictionary(sid)
    names = [str(s) for s in distinct.to_pylist()]
    if any(s != s.strip() or not s or len(s) > MAX_ID_CHARS for s in names):
        return None
    times = _times(cols["t"])
    if times is None:
        return None
    iso, tv, t_codes, t_texts = times
    if rules.iso is not None and rules.iso != iso:
        return None
    epoch_us = rules.epoch_us
    if iso:
        if epoch_us is None:
            epoch_us = int(tv[0])
        t = (tv - epoch_us).astype(np.float64) / 1e6
    else:
        t = tv
    # time order: no row more than the window before the newest row above it
    before = np.maximum.accumulate(np.concatenate([[rules.newest], t[:-1]]))
    if bool((t < before - rules.window_s).any()):
        return None
    # rows per scan (t as written, sensor id), with those counted before
    n_sid = len(names)
    uniq, counts = np.unique(t_codes * n_sid + s_codes, return_counts=True)
    scans = [(t_texts[u // n_sid], names[u % n_sid]) for u in uniq.tolist()]
    for scan, cnt in zip(scans, counts.tolist(), strict=True):
        have = rules.scan_rows.get(scan)
        if (have[0] if have else 0) + cnt > MAX_SCAN_PLOTS:
            return None
    # all taken: carry the state on
    if rules.iso is None:
        rules.iso = iso
    rules.epoch_us = epoch_us
    rules.newest = max(rules.newest, float(t.max()))
    t_of_code = np.zeros(len(t_texts))
    t_of_code[t_codes] = t
    for scan, cnt, u in zip(scans, counts.tolist(), uniq.tolist(), strict=True):
        have = rules.scan_rows.get(scan)
        if have is None:
            rules.scan_rows[scan] = [float(cnt), float(t_of_code[u // n_sid])]
        else:
            have[0] += cnt
    code = np.array([reader.code(s) for s in names], dtype=np.int64)
    zeros = np.zeros(n)
    return RowBlock(
        t=np.asarray(t, dtype=np.float64),
        sensor=code[s_codes],
        a=values[ka],
        b=values[kb],
        c=values.get(kc, zeros),
        sigma=values.get("sigma", np.full(n, rules.default_sigma)),
    )


# ------------------------------------------------------------------------------------------ CSV


class _Consumed:
    """Bytes a text reader has handed out (its lines as UTF-8)."""

    def __init__(self) -> None:
        self.bytes = 0


def _capped(fh: io.TextIOWrapper, long_lines: list[int], used: _Consumed) -> Iterator[str]:
    """The file's lines, a line over MAX_LINE_CHARS replaced by an empty one (its number kept
    in ``long_lines``): the csv module never holds a huge field."""
    n = 0
    while True:
        text = fh.readline(MAX_LINE_CHARS + 1)
        if not text:
            return
        used.bytes += len(text.encode("utf-8"))
        n += 1
        if len(text) > MAX_LINE_CHARS and not text.endswith("\n"):
            while (rest := fh.readline(1 << 16)) and not rest.endswith("\n"):
                used.bytes += len(rest.encode("utf-8"))
            used.bytes += len(rest.encode("utf-8"))
            long_lines.append(n)
            yield "\n"
            continue
        yield text


class _CsvSource:
    """A CSV recording: the header row by row, then blocks of lines."""

    def __init__(self, reader: RowReader) -> None:
        self.r = reader
        self.f = reader._f
        self.pos = 0  # byte offset of the next line to read
        self.lines = 0  # lines before it
        self.block = BLOCK_BYTES
        long_lines: list[int] = []
        used = _Consumed()
        tw = io.TextIOWrapper(self.f, encoding="utf-8", newline="")
        try:
            rows = csv.reader(_capped(tw, long_lines, used))
            try:
                raw = next(rows)
            except StopIteration:
                raise RecordingError(f"{reader.name}: the file is empty (a header line is needed)") from None
            except csv.Error as exc:
                raise RecordingError(f"{reader.name}:1: the header is not CSV ({exc})") from None
            except UnicodeDecodeError as exc:
                raise RecordingError(f"{reader.name}:1: the header is not UTF-8 ({exc.reason})") from None
            if long_lines:
                raise RecordingError(f"{reader.name}:1: the header is longer than {MAX_LINE_CHARS} characters")
            self.lines = rows.line_num
        finally:
            tw.detach()
        self.pos = used.bytes
        self.header = Header.parse(raw, reader.name)
        h = self.header
        self.n_fields = len(h.names)
        ka, kb, kc = h.keys
        self.names = [f"c{i}" for i in range(self.n_fields)]
        self.wanted = {k: h.col[k] for k in ("t", "sensor_id", ka, kb, kc, "sigma") if k in h.col}

    def blocks(self) -> Iterator[RowBlock]:
        r = self.r
        while self.pos < r.size:
            self.f.seek(self.pos)
            buf = self.f.read(self.block)
            cut = buf.rfind(b"\n") + 1
            if cut == 0:  # no whole line in it: one long line, or the last line without its end
                yield self._by_row(self.pos + len(buf))
                continue
            blk = self._fast(buf[:cut])
            if blk is not None:
                self.pos += cut
                self.lines += buf.count(b"\n", 0, cut)
                r.rows_read += len(blk)
                r.done = self.pos
                self.block = min(BLOCK_BYTES, self.block * 4)
                yield blk
            elif self.block > MIN_BLOCK_BYTES:
                self.block = max(MIN_BLOCK_BYTES, self.block // 16)  # find the rows at fault
            else:
                yield self._by_row(self.pos + cut)

    def _fast(self, data: bytes) -> RowBlock | None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if b'"' in data or b"\r" in data or b"\0" in data or data.startswith(b"\n") or b"\n\n" in data:
            return None
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        if int(np.diff(ends, prepend=-1).max()) - 1 > MAX_LINE_CHARS:
            return None
        types = {self.names[i]: (pa.string() if k in ("t", "sensor_id") else pa.float64()) for k, i in self.wanted.items()}
        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=self.names, use_threads=False, block_size=len(data) + 1),
                parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False, newlines_in_values=False, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    include_columns=list(types), column_types=types, null_values=[],
                    strings_can_be_null=False, quoted_strings_can_be_null=False, check_utf8=True,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if table.num_rows != len(ends):
            return None
        cols = {k: table.column(self.names[i]).combine_chunks() for k, i in self.wanted.items()}
        return fast_block(self.r, cols)

    def _by_row(self, end: int) -> RowBlock:
        """The lines from ``pos`` until past ``end``, one row at a time (the csv module, the
        row rules); a quoted field may carry the last row on beyond ``end``."""
        r, rules, base = self.r, self.r.rules, self.lines
        self.f.seek(self.pos)
        used = _Consumed()
        long_lines: list[int] = []
        taken: list[tuple[float, int, float, float, float, float]] = []
        tw = io.TextIOWrapper(self.f, encoding="utf-8", newline="")
        rows = csv.reader(_capped(tw, long_lines, used))
        try:
            while self.pos + used.bytes < end:
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except csv.Error as exc:  # a stray quote, a NUL: that line is skipped, the file goes on
                    r.rows_read += 1
                    r.problem(base + rows.line_num, f"not CSV: {exc}")
                    continue
                line = base + rows.line_num
                if long_lines:
                    for n in long_lines:
                        r.problem(base + n, f"longer than {MAX_LINE_CHARS} characters")
                    r.rows_read += len(long_lines)
                    long_lines.clear()
                if not row or all(not c.strip() for c in row):
                    continue
                r.rows_read += 1
                if len(row) != self.n_fields:
                    r.problem(line, f"{len(row)} fields, the header has {self.n_fields}")
                    continue
                got = rules.check(row)
                if isinstance(got, str):
                    r.problem(line, got)
                else:
                    t, sid, a, b, c, sg = got
                    taken.append((t, r.code(sid), a, b, c, sg))
        except UnicodeDecodeError as exc:
            raise RecordingError(f"{r.name}: not UTF-8 after line {base + rows.line_num} ({exc.reason})") from None
        finally:
            tw.detach()
        self.pos += used.bytes
        self.lines = base + rows.line_num
        r.done = self.pos
        return RowBlock.of_rows(taken)


# -------------------------------------------------------------------------------------- Parquet


class _ParquetSource:
    """A Parquet recording: the schema's names are the header; record batches are blocks."""

    def __init__(self, reader: RowReader) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.r = reader
        try:
            self.file = pq.ParquetFile(reader._f)
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"{reader.name}: not a Parquet file pyarrow can read ({exc})") from None
        names = self.file.schema_arrow.names
        self.header = Header.parse(names, reader.name)
        h = self.header
        ka, kb, kc = h.keys
        self.wanted = {k: h.col[k] for k in ("t", "sensor_id", ka, kb, kc, "sigma") if k in h.col}
        self.raw_names = names
        reader.size = self.file.metadata.num_rows
        self.row = 0

    def blocks(self) -> Iterator[RowBlock]:
        import pyarrow as pa

        r = self.r
        idx = sorted(set(self.wanted.values()))
        try:
            for batch in self.file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[self.raw_names[i] for i in idx], use_threads=False):
                cols = {k: batch.column(idx.index(i)) for k, i in self.wanted.items()}
                blk = fast_block(r, cols)
                if blk is None:
                    blk = self._by_row(cols, batch.num_rows)
                else:
                    r.rows_read += len(blk)
                self.row += batch.num_rows
                r.done = self.row
                yield blk
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"{r.name}: the Parquet file cannot be read past row {self.row} ({exc})") from None

    def _by_row(self, cols: dict[str, pa.Array[Any]], n: int) -> RowBlock:
        r, rules = self.r, self.r.rules
        width = len(self.header.names)
        texts = {self.wanted[k]: [_text_of(v) for v in arr.to_pylist()] for k, arr in cols.items()}
        taken: list[tuple[float, int, float, float, float, float]] = []
        for j in range(n):
            row = [""] * width
            for i, vals in texts.items():
                row[i] = vals[j]
            r.rows_read += 1
            got = rules.check(row)
            if isinstance(got, str):
                r.problem(self.row + j + 1, got)
            else:
                t, sid, a, b, c, sg = got
                taken.append((t, r.code(sid), a, b, c, sg))
        return RowBlock.of_rows(taken)
